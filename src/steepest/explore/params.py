"""Strict validation of what the explorer's page sends: every field named, typed and bounded.

A request is a JSON object (or a query string); :func:`validate` checks it against a spec, a
mapping from field name to :class:`Real`, :class:`Integer`, :class:`Choice`, :class:`Point` or
:class:`Widths`. Unknown fields, wrong types, NaN, infinities and values out of range raise
:class:`ParamError`, which the server turns into an HTTP 400 with a JSON message naming the
parameter, the value and what is allowed. The bounds are what keep each request's work small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_choice, check_int, check_real

__all__ = ["ParamError", "Real", "Integer", "Choice", "Point", "Widths", "validate"]

OWNER = "explore"


class ParamError(ValueError):
    """A bad request parameter: ``parameter`` names it, ``str(error)`` says what is allowed."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _from_text(name: str, value: Any, convert: Callable[[str], Any]) -> Any:
    """A query-string value as a number (strings only; JSON values arrive typed)."""
    if not isinstance(value, str):
        return value
    try:
        return convert(value)
    except ValueError:
        raise ParamError(name, f"{OWNER}: {name} must be a number, got {value!r}") from None


@dataclass(frozen=True)
class Real:
    """A finite real number in ``[low, high]``."""

    low: float
    high: float
    default: float

    def check(self, name: str, value: Any) -> float:
        return check_real(OWNER, name, _from_text(name, value, float), self.low, self.high)


@dataclass(frozen=True)
class Integer:
    """An integer in ``[low, high]`` (``2.0`` is refused: the page sends integers as integers)."""

    low: int
    high: int
    default: int

    def check(self, name: str, value: Any) -> int:
        return check_int(OWNER, name, _from_text(name, value, int), self.low, self.high)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names (``options`` may be a callable, read at each request, for
    lists that other parts of the library extend at import time)."""

    options: Sequence[str] | Callable[[], Sequence[str]]
    default: str

    def names(self) -> tuple[str, ...]:
        return tuple(self.options() if callable(self.options) else self.options)

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{OWNER}: {name} must be a string, one of {', '.join(self.names())}; "
                            f"got {value!r}")
        return check_choice(OWNER, name, value, self.names())


@dataclass(frozen=True)
class Point:
    """``[x, y]``: two finite numbers of absolute value at most ``bound``, or None."""

    bound: float
    default: None = None

    def check(self, name: str, value: Any) -> list[float] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, Sequence) or len(value) != 2:
            raise ParamError(name, f"{OWNER}: {name} must be two numbers [x, y], got {value!r}")
        return [check_real(OWNER, f"{name}[{i}]", _from_text(name, v, float), -self.bound,
                           self.bound) for i, v in enumerate(value)]


@dataclass(frozen=True)
class Widths:
    """Hidden-layer widths: at most ``max_layers`` integers in ``[1, max_width]``."""

    max_layers: int
    max_width: int
    default: tuple[int, ...]

    def check(self, name: str, value: Any) -> list[int]:
        if isinstance(value, str):
            value = [_from_text(name, part, int) for part in value.split(",") if part.strip()]
        if not isinstance(value, Sequence) or len(value) > self.max_layers:
            raise ParamError(name, f"{OWNER}: {name} must be a list of at most {self.max_layers} "
                                   f"widths, got {value!r}")
        return [check_int(OWNER, f"{name}[{i}]", v, 1, self.max_width) for i, v in enumerate(value)]


Field = Real | Integer | Choice | Point | Widths


def validate(spec: Mapping[str, Field], data: Any) -> dict[str, Any]:
    """Check ``data`` against ``spec``; return every field of the spec (defaults filled in).

    Parameters
    ----------
    spec : mapping of str to field
    data : mapping
        The request's JSON object or query parameters.

    Raises
    ------
    ParamError
        For a body that is not an object, an unknown field, or a bad value (naming it).
    """
    if not isinstance(data, Mapping):
        raise ParamError("body", f"{OWNER}: the request must be a JSON object, got "
                                 f"{type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in spec)
    if unknown:
        raise ParamError(unknown[0], f"{OWNER}: unknown parameter {unknown[0]!r}; the parameters "
                                     f"are: {', '.join(spec)}")
    values: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in data:
            default = field.default
            values[name] = list(default) if isinstance(default, tuple) else default
            continue
        try:
            values[name] = field.check(name, data[name])
        except ParamError:
            raise
        except (TypeError, ValueError) as error:
            raise ParamError(name, str(error)) from None
    return values


def finite_json(value: Any) -> Any:
    """Reject NaN and infinities anywhere in parsed JSON (Python's json accepts ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError("body", f"{OWNER}: numbers must be finite, got {value!r}")
    if isinstance(value, Mapping):
        for item in value.values():
            finite_json(item)
    elif isinstance(value, list):
        for item in value:
            finite_json(item)
    return value

