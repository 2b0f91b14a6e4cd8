"""Declarative parameter checks shared by every public constructor and function.

Each check raises an error that names the owner, the parameter, the value and what is allowed::

    ValueError: Adam: betas[0] must be in [0, 1), got 1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

__all__ = ["check_real", "check_int", "check_choice", "check_bool", "interval"]


def interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """Write an interval as ``[0, 1)``, ``(0, inf)`` and so on."""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def check_real(owner: str, name: str, value: Any, low: float | None = None,
               high: float | None = None, *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite real number in the interval.

    ``low``/``high`` of ``None`` mean unbounded; ``low_open``/``high_open`` exclude the bound.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    inside = math.isfinite(value)
    if inside and low is not None:
        inside = value > low if low_open else value >= low
    if inside and high is not None:
        inside = value < high if high_open else value <= high
    if not inside:
        raise ValueError(f"{owner}: {name} must be in {interval(low, high, low_open, high_open)}, "
                         f"got {value!r}")
    return value


def check_int(owner: str, name: str, value: Any, low: int | None = None,
              high: int | None = None) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{owner}: {name} must be in {interval(low, high, False, False)}, "
                         f"got {value!r}")
    return value


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` after checking it is one of ``choices``."""
    choices = tuple(choices)
    # Compare each choice as a whole: ``array(["mean"]) in ("mean",)`` is True elementwise, and
    # an array (or any object whose == is not a plain bool) must not pass for a choice.
    if not any(value is choice or (type(value) is type(choice) and value == choice)
               or (isinstance(value, str) and isinstance(choice, str) and value == choice)
               for choice in choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {allowed}; got {value!r}")
    return value


def check_bool(owner: str, name: str, value: Any) -> bool:
    """Return ``value`` after checking it is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value
