"""Step-size schedules: callables ``t -> lr`` with ``t = 1, 2, ...`` the number of the update.

Every schedule here is a :class:`Schedule`: it can be called, has a readable ``repr`` (that is
also the Python expression that rebuilds it), serialises to plain data with :meth:`~Schedule.to_dict`
(read back by :func:`from_dict`, so that optimizer state dicts stay plain data), and gives the
exact Robbins–Monro verdict for its family with :meth:`~Schedule.robbins_monro`.

A learning rate :math:`\\alpha_t` satisfies the Robbins–Monro conditions when

.. math::

    \\sum_{t=1}^\\infty \\alpha_t = \\infty, \\qquad \\sum_{t=1}^\\infty \\alpha_t^2 < \\infty,

the classical sufficient condition for stochastic gradient descent to converge (Robbins and
Monro, "A stochastic approximation method", 1951). The tutorial step :math:`\\alpha_t = 1/t` is
:func:`inverse_power` with ``p = 1``.

:func:`parse` reads the command-line syntax (``0.1``, ``1/t``, ``0.1/t^0.6``, ``cosine:0.1:1000``,
``warmup:100:cosine:0.1``, ...).

The lower-case names (``constant``, ``inverse_power``, ...) are the documented constructors; they
are the classes themselves, so ``isinstance(s, schedules.cosine)`` works too.
"""

from __future__ import annotations

import math
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validation import check_int, check_real

__all__ = [
    "Schedule", "Constant", "InversePower", "InverseTime", "StepDecay", "Exponential", "Cosine",
    "Warmup", "Piecewise", "Custom",
    "constant", "inverse_power", "inverse_time", "step", "exponential", "cosine", "warmup",
    "piecewise", "as_schedule", "from_dict", "parse", "SYNTAX",
]


def _check_t(t: Any) -> int:
    # numbers.Integral admits NumPy integers; bool is refused as in every other check.
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(f"schedule: t must be an integer >= 1 (the number of the update), got {t!r}")
    return int(t)


class Schedule(ABC):
    """A learning rate as a function of the update number ``t = 1, 2, ...``.

    Subclasses implement :meth:`value` (for a checked ``t``), :meth:`to_dict` and, when their
    family allows an exact answer, :meth:`robbins_monro`.
    """

    def __call__(self, t: int) -> float:
        """The learning rate of update ``t`` (``t >= 1``)."""
        return self.value(_check_t(t))

    @abstractmethod
    def value(self, t: int) -> float:
        """The learning rate of update ``t``; ``t`` is a Python int >= 1, already checked."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The schedule as plain data (``{"type": ..., parameters...}``) for :func:`from_dict`."""

    def robbins_monro(self) -> bool | None:
        """Whether ``sum alpha_t = inf`` and ``sum alpha_t^2 < inf``; ``None`` when unknown."""
        return None

    def values(self, n: int) -> np.ndarray:
        """The first ``n`` learning rates, ``[self(1), ..., self(n)]``, as a float64 array."""
        n = check_int(type(self).__name__ + ".values", "n", n, 0)
        return np.array([self.value(t) for t in range(1, n + 1)], dtype=np.float64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule) or type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))


class Constant(Schedule):
    """A constant learning rate.

    .. math:: \\alpha_t = \\alpha

    Never Robbins–Monro: :math:`\\sum \\alpha^2` diverges (or :math:`\\sum \\alpha = 0` when
    :math:`\\alpha = 0`).

    Parameters
    ----------
    lr : float
        The learning rate, ``>= 0``.
    """

    def __init__(self, lr: float) -> None:
        self.lr = check_real("constant", "lr", lr, 0.0)

    def value(self, t: int) -> float:
        return self.lr

    def to_dict(self) -> dict[str, Any]:
        return {"type": "constant", "lr": self.lr}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"constant(lr={self.lr!r})"


class InversePower(Schedule):
    """The polynomially decaying step of stochastic approximation.

    .. math:: \\alpha_t = \\alpha_0 \\, t^{-p}

    ``p = 1`` is the tutorial's :math:`\\alpha_t = \\alpha_0 / t`. Robbins–Monro holds exactly
    when :math:`\\alpha_0 > 0` and :math:`1/2 < p \\le 1` (p-series: :math:`\\sum t^{-p}` diverges
    iff :math:`p \\le 1`, :math:`\\sum t^{-2p}` converges iff :math:`p > 1/2`).

    Parameters
    ----------
    lr0 : float
        The first learning rate, ``>= 0``.
    p : float, default 1.0
        The decay exponent, ``>= 0`` (``p = 0`` is a constant).
    """

    def __init__(self, lr0: float, p: float = 1.0) -> None:
        self.lr0 = check_real("inverse_power", "lr0", lr0, 0.0)
        self.p = check_real("inverse_power", "p", p, 0.0)

    def value(self, t: int) -> float:
        return self.lr0 * float(t) ** -self.p

    def to_dict(self) -> dict[str, Any]:
        return {"type": "inverse_power", "lr0": self.lr0, "p": self.p}

    def robbins_monro(self) -> bool:
        return self.lr0 > 0 and 0.5 < self.p <= 1.0

    def __repr__(self) -> str:
        return f"inverse_power(lr0={self.lr0!r}, p={self.p!r})"


class InverseTime(Schedule):
    """Inverse-time decay.

    .. math:: \\alpha_t = \\frac{\\alpha_0}{1 + \\text{decay}\\cdot t}

    Behaves like :math:`\\alpha_0 / (\\text{decay}\\, t)` for large ``t``, so Robbins–Monro holds
    exactly when :math:`\\alpha_0 > 0` and ``decay > 0`` (``decay = 0`` is a constant).

    Parameters
    ----------
    lr0 : float
        Scale of the learning rate, ``>= 0`` (the rate at ``t = 0``; ``t = 1`` gives
        ``lr0 / (1 + decay)``).
    decay : float
        ``>= 0``.
    """

    def __init__(self, lr0: float, decay: float) -> None:
        self.lr0 = check_real("inverse_time", "lr0", lr0, 0.0)
        self.decay = check_real("inverse_time", "decay", decay, 0.0)

    def value(self, t: int) -> float:
        return self.lr0 / (1.0 + self.decay * t)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "inverse_time", "lr0": self.lr0, "decay": self.decay}

    def robbins_monro(self) -> bool:
        return self.lr0 > 0 and self.decay > 0

    def __repr__(self) -> str:
        return f"inverse_time(lr0={self.lr0!r}, decay={self.decay!r})"


class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` updates (``StepLR``).

    .. math:: \\alpha_t = \\alpha_0 \\, \\gamma^{\\lfloor (t - 1) / s \\rfloor}

    Updates ``1..s`` use :math:`\\alpha_0`, as the first ``s`` epochs of PyTorch's ``StepLR``.
    Never Robbins–Monro: a geometric sequence has a finite sum (``gamma < 1``), a constant an
    infinite sum of squares (``gamma = 1``).

    Parameters
    ----------
    lr0 : float
        ``>= 0``.
    step_size : int
        Updates per stage, ``>= 1``.
    gamma : float, default 0.1
        Factor per stage, in ``(0, 1]``.
    """

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr0 = check_real("step", "lr0", lr0, 0.0)
        self.step_size = check_int("step", "step_size", step_size, 1)
        self.gamma = check_real("step", "gamma", gamma, 0.0, 1.0, low_open=True)

    def value(self, t: int) -> float:
        return self.lr0 * self.gamma ** ((t - 1) // self.step_size)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "step", "lr0": self.lr0, "step_size": self.step_size, "gamma": self.gamma}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"step(lr0={self.lr0!r}, step_size={self.step_size!r}, gamma={self.gamma!r})"


class Exponential(Schedule):
    """Exponential decay (``ExponentialLR``).

    .. math:: \\alpha_t = \\alpha_0 \\, \\gamma^{t - 1}

    Never Robbins–Monro (geometric: finite sum for ``gamma < 1``; constant for ``gamma = 1``).

    Parameters
    ----------
    lr0 : float
        ``>= 0``.
    gamma : float
        Factor per update, in ``(0, 1]``.
    """

    def __init__(self, lr0: float, gamma: float) -> None:
        self.lr0 = check_real("exponential", "lr0", lr0, 0.0)
        self.gamma = check_real("exponential", "gamma", gamma, 0.0, 1.0, low_open=True)

    def value(self, t: int) -> float:
        return self.lr0 * self.gamma ** (t - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "exponential", "lr0": self.lr0, "gamma": self.gamma}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"exponential(lr0={self.lr0!r}, gamma={self.gamma!r})"


class Cosine(Schedule):
    """Cosine annealing from ``lr0`` to ``lr_min`` over ``total_steps`` updates.

    .. math::

        \\alpha_t = \\alpha_{\\min} + \\tfrac12(\\alpha_0 - \\alpha_{\\min})
                    \\Bigl(1 + \\cos\\frac{\\pi (t - 1)}{T}\\Bigr), \\quad 1 \\le t \\le T + 1,

    and :math:`\\alpha_t = \\alpha_{\\min}` after that (no restart). Update 1 uses
    :math:`\\alpha_0`, as epoch 0 of PyTorch's ``CosineAnnealingLR`` (Loshchilov and Hutter,
    "SGDR", 2017). Never Robbins–Monro: the tail is the constant :math:`\\alpha_{\\min}`.

    Parameters
    ----------
    lr0 : float
        ``>= 0``.
    total_steps : int
        Length ``T`` of the annealing, ``>= 1``.
    lr_min : float, default 0.0
        In ``[0, lr0]``.
    """

    def __init__(self, lr0: float, total_steps: int, lr_min: float = 0.0) -> None:
        self.lr0 = check_real("cosine", "lr0", lr0, 0.0)
        self.total_steps = check_int("cosine", "total_steps", total_steps, 1)
        self.lr_min = check_real("cosine", "lr_min", lr_min, 0.0, self.lr0)

    def value(self, t: int) -> float:
        if t > self.total_steps:
            return self.lr_min
        progress = (t - 1) / self.total_steps
        return self.lr_min + 0.5 * (self.lr0 - self.lr_min) * (1.0 + math.cos(math.pi * progress))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "cosine", "lr0": self.lr0, "total_steps": self.total_steps,
                "lr_min": self.lr_min}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"cosine(lr0={self.lr0!r}, total_steps={self.total_steps!r}, "
                f"lr_min={self.lr_min!r})")


class Warmup(Schedule):
    """Linear warm-up in front of any schedule.

    .. math::

        \\alpha_t = \\begin{cases}
            s + (\\beta_1 - s)\\, t / W & t \\le W \\\\
            \\beta_{t - W} & t > W
        \\end{cases}

    where :math:`\\beta` is the wrapped schedule, ``W = warmup_steps`` and ``s = start``: the
    ramp is the line through :math:`(0, s)` and :math:`(W, \\beta_1)`, so the first update already
    moves (``start = 0`` gives :math:`\\beta_1 / W`), and the wrapped schedule then runs on its own
    clock from ``t = 1`` (a cosine keeps its full length after the warm-up). A finite prefix
    changes neither sum, so the Robbins–Monro verdict is the wrapped schedule's.

    Parameters
    ----------
    schedule : Schedule or float
        The schedule after the warm-up (a number means a constant).
    warmup_steps : int
        ``W >= 1``.
    start : float, default 0.0
        The value the ramp starts from (at ``t = 0``), ``>= 0``.
    """

    def __init__(self, schedule: Schedule | float, warmup_steps: int, start: float = 0.0) -> None:
        self.schedule = _wrapped("warmup", "schedule", schedule)
        self.warmup_steps = check_int("warmup", "warmup_steps", warmup_steps, 1)
        self.start = check_real("warmup", "start", start, 0.0)

    def value(self, t: int) -> float:
        if t <= self.warmup_steps:
            target = self.schedule.value(1)
            return self.start + (target - self.start) * (t / self.warmup_steps)
        return self.schedule.value(t - self.warmup_steps)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "warmup", "schedule": self.schedule.to_dict(),
                "warmup_steps": self.warmup_steps, "start": self.start}

    def robbins_monro(self) -> bool | None:
        return self.schedule.robbins_monro()

    def __repr__(self) -> str:
        return (f"warmup({self.schedule!r}, warmup_steps={self.warmup_steps!r}, "
                f"start={self.start!r})")


class Piecewise(Schedule):
    """Schedules joined end to end at update boundaries.

    With boundaries :math:`b_1 < b_2 < \\dots < b_k` (and :math:`b_0 = 0`), segment ``i`` covers
    :math:`b_i < t \\le b_{i+1}` and runs schedule ``i`` on its own clock:

    .. math:: \\alpha_t = \\text{schedules}_i(t - b_i).

    The Robbins–Monro verdict is the last schedule's (a finite prefix changes neither sum).

    Parameters
    ----------
    schedules : sequence of Schedule or float
        ``k + 1`` schedules (numbers mean constants).
    boundaries : sequence of int
        ``k`` strictly increasing update numbers ``>= 1``.
    """

    def __init__(self, schedules: Sequence[Schedule | float], boundaries: Sequence[int]) -> None:
        if isinstance(schedules, Schedule | str) or not isinstance(schedules, Sequence):
            raise TypeError(f"piecewise: schedules must be a list of schedules, got {schedules!r}")
        if not isinstance(boundaries, Sequence) or isinstance(boundaries, str):
            raise TypeError(f"piecewise: boundaries must be a list of integers, got {boundaries!r}")
        self.schedules = [_wrapped("piecewise", f"schedules[{i}]", s)
                          for i, s in enumerate(schedules)]
        self.boundaries = [check_int("piecewise", f"boundaries[{i}]", b, 1)
                           for i, b in enumerate(boundaries)]
        if len(self.schedules) != len(self.boundaries) + 1:
            raise ValueError(
                f"piecewise: needs one more schedule than boundaries, got {len(self.schedules)} "
                f"schedules and {len(self.boundaries)} boundaries")
        for i in range(1, len(self.boundaries)):
            if self.boundaries[i] <= self.boundaries[i - 1]:
                raise ValueError(f"piecewise: boundaries must be strictly increasing, got "
                                 f"{self.boundaries}")

    def value(self, t: int) -> float:
        offset = 0
        for schedule, boundary in zip(self.schedules, self.boundaries, strict=False):
            if t <= boundary:
                return schedule.value(t - offset)
            offset = boundary
        return self.schedules[-1].value(t - offset)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "piecewise", "schedules": [s.to_dict() for s in self.schedules],
                "boundaries": list(self.boundaries)}

    def robbins_monro(self) -> bool | None:
        return self.schedules[-1].robbins_monro()

    def __repr__(self) -> str:
        return f"piecewise({self.schedules!r}, boundaries={self.boundaries!r})"


class Custom(Schedule):
    """Any callable ``t -> lr`` dressed as a :class:`Schedule`.

    Its values are checked (finite, ``>= 0``) on every call. It cannot be serialised
    (:meth:`to_dict` raises ``TypeError``) and its Robbins–Monro verdict is ``None``.

    Parameters
    ----------
    function : callable
        Maps an update number ``t >= 1`` to a learning rate.
    """

    def __init__(self, function: Callable[[int], float]) -> None:
        if not callable(function):
            raise TypeError(f"Custom: function must be callable, got {function!r}")
        self.function = function

    def value(self, t: int) -> float:
        lr = self.function(t)
        try:
            return check_real("schedule", f"lr at t={t}", lr, 0.0)
        except TypeError as error:
            raise TypeError(f"{error} (returned by {self.function!r})") from None
        except ValueError as error:
            raise ValueError(f"{error} (returned by {self.function!r})") from None

    def to_dict(self) -> dict[str, Any]:
        raise TypeError(f"{self!r} wraps an arbitrary Python callable and cannot be serialised; "
                        "use a built-in schedule from steepest.schedules")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.function is self.function

    def __hash__(self) -> int:
        return hash(id(self.function))

    def __repr__(self) -> str:
        return f"Custom({self.function!r})"


constant = Constant
inverse_power = InversePower
inverse_time = InverseTime
step = StepDecay
exponential = Exponential
cosine = Cosine
warmup = Warmup
piecewise = Piecewise


def as_schedule(lr: Schedule | Callable[[int], float] | float) -> Schedule:
    """Return ``lr`` as a :class:`Schedule`: numbers become :class:`Constant`, other callables
    :class:`Custom`, schedules are returned unchanged.

    Parameters
    ----------
    lr : Schedule, callable or float

    Returns
    -------
    Schedule
    """
    if isinstance(lr, Schedule):
        return lr
    if isinstance(lr, numbers.Real) and not isinstance(lr, bool):
        return Constant(lr)
    if callable(lr):
        return Custom(lr)
    raise TypeError(f"as_schedule: lr must be a number, a Schedule or a callable t -> lr, "
                    f"got {lr!r}")


def _wrapped(owner: str, name: str, schedule: Any) -> Schedule:
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool):
        return Constant(schedule)
    raise TypeError(f"{owner}: {name} must be a Schedule or a number, got {schedule!r}")


_TYPES: dict[str, tuple[type[Schedule], tuple[str, ...]]] = {
    "constant": (Constant, ("lr",)),
    "inverse_power": (InversePower, ("lr0", "p")),
    "inverse_time": (InverseTime, ("lr0", "decay")),
    "step": (StepDecay, ("lr0", "step_size", "gamma")),
    "exponential": (Exponential, ("lr0", "gamma")),
    "cosine": (Cosine, ("lr0", "total_steps", "lr_min")),
    "warmup": (Warmup, ("schedule", "warmup_steps", "start")),
    "piecewise": (Piecewise, ("schedules", "boundaries")),
}


def from_dict(data: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_dict`'s plain data.

    Parameters
    ----------
    data : dict
        ``{"type": name, parameters...}``; nested schedules (warm-up, piecewise) are dicts too.

    Returns
    -------
    Schedule

    Examples
    --------
    >>> from steepest import schedules
    >>> schedules.from_dict(schedules.inverse_power(0.1, p=0.6).to_dict())
    inverse_power(lr0=0.1, p=0.6)
    """
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError(f"schedules.from_dict: expected a dict with a 'type' key, got {data!r}")
    kind = data["type"]
    if kind not in _TYPES:
        raise ValueError(f"schedules.from_dict: type must be one of {', '.join(_TYPES)}; "
                         f"got {kind!r}")
    cls, names = _TYPES[kind]
    unknown = set(data) - set(names) - {"type"}
    missing = [name for name in names if name not in data]
    if unknown or missing:
        raise ValueError(f"schedules.from_dict: a {kind!r} schedule has the keys "
                         f"{', '.join(names)}; got {sorted(data)}")
    params = {name: data[name] for name in names}
    if kind == "warmup":
        params["schedule"] = from_dict(params["schedule"])
    elif kind == "piecewise":
        if not isinstance(params["schedules"], list):
            raise ValueError(f"schedules.from_dict: piecewise schedules must be a list, got "
                             f"{params['schedules']!r}")
        params["schedules"] = [from_dict(s) for s in params["schedules"]]
    return cls(**params)


SYNTAX = """\
accepted schedule syntax:
  0.1                      constant 0.1            (also const:0.1)
  1/t, 0.5/t (or 1/n)      inverse_power(lr0, p=1); n and t both name the update number
  0.1/t^0.6, 0.1/t**0.6    inverse_power(0.1, p=0.6); 0.1/sqrt(t) is p=0.5
  power:0.1:0.6            inverse_power(0.1, p=0.6)
  invtime:0.1:0.01         inverse_time(0.1, decay=0.01)
  step:0.1:30[:0.5]        step(0.1, step_size=30, gamma=0.5; default gamma 0.1)
  exp:0.1:0.99             exponential(0.1, gamma=0.99)
  cosine:0.1[:1000[:0.001]]  cosine(0.1, total_steps=1000, lr_min=0.001)
  warmup:100:<schedule>    warmup(<schedule>, warmup_steps=100), e.g. warmup:100:cosine:0.1"""

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
# The update number is written t or n (the tutorial writes alpha_n = 1/n): the same schedule.
_INVERSE_POWER = re.compile(
    rf"^(?P<lr0>{_NUMBER})?/(?:[tn]|sqrt\([tn]\)|[tn](?:\^|\*\*)(?P<p>{_NUMBER}))$")


def parse(text: str, total_steps: int | None = None) -> Schedule:
    """Read a schedule written in the command-line syntax.

    Parameters
    ----------
    text : str
        One of the forms listed in :data:`SYNTAX` (``0.1``, ``1/t``, ``0.1/t^0.6``,
        ``cosine:0.1:1000``, ``exp:0.1:0.99``, ``step:0.1:30:0.5``, ``warmup:100:cosine:0.1``, ...).
        Spaces are ignored; names are case-insensitive.
    total_steps : int, optional
        The run's length, used by ``cosine:LR0`` when the text gives no length.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        On anything malformed, with the accepted syntax in the message.

    Examples
    --------
    >>> from steepest import schedules
    >>> schedules.parse("0.1/t^0.6")
    inverse_power(lr0=0.1, p=0.6)
    >>> schedules.parse("warmup:10:cosine:0.1:100")
    warmup(cosine(lr0=0.1, total_steps=100, lr_min=0.0), warmup_steps=10, start=0.0)
    """
    if not isinstance(text, str):
        raise TypeError(f"schedules.parse: text must be a string, got {text!r}\n{SYNTAX}")
    cleaned = re.sub(r"\s+", "", text).lower()
    try:
        return _parse(cleaned, total_steps)
    except (ValueError, TypeError) as error:
        raise ValueError(f"schedules.parse: cannot read {text!r}: {error}\n{SYNTAX}") from None


def _number(text: str, what: str) -> float:
    if not re.fullmatch(rf"[-+]?{_NUMBER}", text):
        raise ValueError(f"{what} must be a number, got {text!r}")
    return float(text)


def _integer(text: str, what: str) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f"{what} must be a positive integer, got {text!r}")
    return int(text)


def _parse(text: str, total_steps: int | None) -> Schedule:
    if not text:
        raise ValueError("empty schedule")
    match = _INVERSE_POWER.match(text)
    if match:
        lr0 = float(match["lr0"]) if match["lr0"] else 1.0
        p = float(match["p"]) if match["p"] else (0.5 if "sqrt" in text else 1.0)
        return InversePower(lr0, p)
    name, _, rest = text.partition(":")
    if not rest:
        if ":" in text:
            raise ValueError(f"{name!r} needs arguments")
        return Constant(_number(text, "a constant learning rate"))
    if name == "warmup":
        steps, _, inner = rest.partition(":")
        if not inner:
            raise ValueError("warmup needs a number of steps and a schedule, e.g. warmup:100:0.1")
        return Warmup(_parse(inner, total_steps), _integer(steps, "warmup steps"))
    args = rest.split(":")
    arities = {"const": (1, 1), "power": (2, 2), "invtime": (2, 2), "step": (2, 3),
               "exp": (2, 2), "cosine": (1, 3)}
    if name not in arities:
        raise ValueError(f"unknown schedule name {name!r}")
    low, high = arities[name]
    if not low <= len(args) <= high:
        raise ValueError(f"{name} takes {low}" + (f" to {high}" if high > low else "")
                         + f" arguments, got {len(args)}")
    if name == "const":
        return Constant(_number(args[0], "lr"))
    if name == "power":
        return InversePower(_number(args[0], "lr0"), _number(args[1], "p"))
    if name == "invtime":
        return InverseTime(_number(args[0], "lr0"), _number(args[1], "decay"))
    if name == "step":
        gamma = _number(args[2], "gamma") if len(args) == 3 else 0.1
        return StepDecay(_number(args[0], "lr0"), _integer(args[1], "step_size"), gamma)
    if name == "exp":
        return Exponential(_number(args[0], "lr0"), _number(args[1], "gamma"))
    lr0 = _number(args[0], "lr0")
    if len(args) >= 2:
        length = _integer(args[1], "total_steps")
    elif total_steps is not None:
        length = total_steps
    else:
        raise ValueError("cosine needs its length: write cosine:LR0:TOTAL_STEPS or pass "
                         "total_steps=")
    lr_min = _number(args[2], "lr_min") if len(args) == 3 else 0.0
    return Cosine(lr0, length, lr_min)
