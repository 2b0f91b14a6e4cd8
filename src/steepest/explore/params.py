"""Strict validation of what the explorer's page sends: every field named, typed and bounded.

A request is a JSON object (or a query string); :func:`validate` checks it against a spec, a
mapping from field name to :class:`Real`, :class:`Integer`, :class:`Choice`, :class:`Point` or
:class:`Widths`. Unknown fields, wrong types, NaN, infinities and values out of range raise
:class:`ParamError`, which the server turns into an HTTP 400 with a JSON message naming the
parameter, the value and what is allowed. The bounds are what keep each request's work small.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_choice, check_int, check_real

__all__ = ["ParamError", "Real", "Integer", "Choice", "Point", "Widths", "validate", "bounds",
           "parse_json", "finite_json", "nesting_depth", "MAX_DEPTH"]

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
    """Hidden-layer widths: at most ``max_layers`` integers in ``[1, max_width]``, as a list or
    as the text the page's field holds (``"8,8"``; empty for none). The messages speak of the
    field, since that is what the user typed."""

    max_layers: int
    max_width: int
    default: tuple[int, ...]

    def check(self, name: str, value: Any) -> list[int]:
        shown = _shown(value)
        widths = _width_list(value)
        if widths is None:
            raise ParamError(name, f"{OWNER}: hidden widths must be comma-separated positive "
                                   f"integers such as \"8,8\" (empty for none), got {shown}")
        if len(widths) > self.max_layers:
            raise ParamError(name, f"{OWNER}: hidden widths may name at most {self.max_layers} "
                                   f"layers, got {len(widths)} in {shown}")
        wide = [w for w in widths if not 1 <= w <= self.max_width]
        if wide:
            raise ParamError(name, f"{OWNER}: each hidden width must be from 1 to "
                                   f"{self.max_width}, got {wide[0]} in {shown}")
        return widths


_WIDTHS_TEXT = re.compile(r"\s*([0-9]+(\s*,\s*[0-9]+)*)?\s*")


def _shown(value: Any, limit: int = 60) -> str:
    """``value`` as the message quotes it: text in double quotes, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _width_list(value: Any) -> list[int] | None:
    """The widths as integers, or None where ``value`` is neither "8, 8"-like text nor a list of
    integers (booleans and 8.0 are not integers here)."""
    if isinstance(value, str):
        if len(value) > 200 or not _WIDTHS_TEXT.fullmatch(value):
            return None  # the length bound keeps int() off huge digit strings
        return [int(part) for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return list(value)


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


def bounds(spec: Mapping[str, Field]) -> dict[str, dict[str, Any]]:
    """The ``low``, ``high`` and ``default`` of each number field of ``spec``: what the page is
    told (``GET /api/meta``), so that its sliders span, and it refuses, what :func:`validate`
    does."""
    return {name: {"low": field.low, "high": field.high, "default": field.default}
            for name, field in spec.items() if isinstance(field, Real | Integer)}


#: Deepest nesting of arrays and objects a request may have (the page sends at most 2).
MAX_DEPTH = 8
#: Largest magnitude of an integer in a request (every integer field is far below it).
MAX_INT = 2**63
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text``, found without recursion (strings
    are skipped, so brackets inside them do not count)."""
    depth = deepest = 0
    for match in re.finditer(r"[\[\]{}]", _STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(raw: bytes) -> Any:
    """A request body as JSON: UTF-8, at most :data:`MAX_DEPTH` levels of nesting, integers of
    magnitude at most :data:`MAX_INT`, finite numbers only.

    Raises
    ------
    ParamError
        For the parameter ``body``, saying what is wrong.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParamError("body", f"{OWNER}: the request body is not valid JSON ({error})") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise ParamError("body", f"{OWNER}: the request body nests arrays and objects more than "
                                 f"{MAX_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except RecursionError:  # cannot happen below MAX_DEPTH; kept as a second line of defence
        raise ParamError("body", f"{OWNER}: the request body nests too deeply") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise ParamError("body", f"{OWNER}: the request body is not valid JSON "
                                 f"({' '.join(str(error).split())[:200]})") from None
    return finite_json(value)


def finite_json(value: Any) -> Any:
    """Reject NaN, infinities and integers beyond :data:`MAX_INT` anywhere in parsed JSON
    (Python's json accepts ``NaN``); walks the value without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ParamError("body", f"{OWNER}: numbers must be finite, got {item!r}")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            raise ParamError("body", f"{OWNER}: integers must be at most 2**63 in magnitude, got "
                                     f"one of {len(str(abs(item)))} digits")
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value

