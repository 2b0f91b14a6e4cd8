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
    "Warmup", "Piecewise", "Custom", "Linear", "Polynomial", "WarmRestarts", "Cyclic", "OneCycle",
    "constant", "inverse_power", "inverse_time", "step", "exponential", "cosine", "warmup",
    "piecewise", "linear", "polynomial", "warm_restarts", "cyclic", "one_cycle",
    "as_schedule", "from_dict", "parse", "parse_rate", "SYNTAX",
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


class Linear(Schedule):
    r"""A straight line from ``lr0`` to ``lr_end`` over ``total_steps`` updates, then constant
    (``LinearLR``'s curve, written in rates rather than factors).

    .. math::

        \alpha_t = \alpha_0 + (\alpha_{\text{end}} - \alpha_0)\,
                    \frac{\min(t - 1, T)}{T}

    Never Robbins–Monro: the tail is the constant :math:`\alpha_{\text{end}}`, whose squares
    sum to infinity (or, for :math:`\alpha_{\text{end}} = 0`, the steps stop and their sum is
    finite).

    Parameters
    ----------
    lr0 : float
        The first rate, ``>= 0``.
    lr_end : float, default 0.0
        The rate from update ``T + 1`` on, ``>= 0`` (above ``lr0`` makes a warm-up).
    total_steps : int, default 1000
        ``T >= 1``.
    """

    def __init__(self, lr0: float, lr_end: float = 0.0, total_steps: int = 1000) -> None:
        self.lr0 = check_real("linear", "lr0", lr0, 0.0)
        self.lr_end = check_real("linear", "lr_end", lr_end, 0.0)
        self.total_steps = check_int("linear", "total_steps", total_steps, 1)

    def value(self, t: int) -> float:
        return self.lr0 + (self.lr_end - self.lr0) * min(t - 1, self.total_steps) / self.total_steps

    def to_dict(self) -> dict[str, Any]:
        return {"type": "linear", "lr0": self.lr0, "lr_end": self.lr_end,
                "total_steps": self.total_steps}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"linear(lr0={self.lr0!r}, lr_end={self.lr_end!r}, "
                f"total_steps={self.total_steps!r})")


class Polynomial(Schedule):
    r"""Polynomial decay to 0 over ``total_steps`` updates (``PolynomialLR``).

    .. math:: \alpha_t = \alpha_0 \Bigl(1 - \frac{\min(t - 1, T)}{T}\Bigr)^{p}

    Update 1 uses :math:`\alpha_0`, as epoch 0 of PyTorch's ``PolynomialLR``. Never
    Robbins–Monro: every rate after update ``T`` is 0, so :math:`\sum \alpha_t` is finite
    (unlike :func:`inverse_power`, whose :math:`t^{-p}` never reaches 0).

    Parameters
    ----------
    lr0 : float
        ``>= 0``.
    total_steps : int
        ``T >= 1``.
    power : float, default 1.0
        ``p >= 0``.
    """

    def __init__(self, lr0: float, total_steps: int, power: float = 1.0) -> None:
        self.lr0 = check_real("polynomial", "lr0", lr0, 0.0)
        self.total_steps = check_int("polynomial", "total_steps", total_steps, 1)
        self.power = check_real("polynomial", "power", power, 0.0)

    def value(self, t: int) -> float:
        return self.lr0 * (1.0 - min(t - 1, self.total_steps) / self.total_steps) ** self.power

    def to_dict(self) -> dict[str, Any]:
        return {"type": "polynomial", "lr0": self.lr0, "total_steps": self.total_steps,
                "power": self.power}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"polynomial(lr0={self.lr0!r}, total_steps={self.total_steps!r}, "
                f"power={self.power!r})")


class WarmRestarts(Schedule):
    r"""Cosine annealing with warm restarts, SGDR (Loshchilov and Hutter, 2017;
    ``CosineAnnealingWarmRestarts``).

    .. math::

        \alpha_t = \alpha_{\min} + \tfrac12(\alpha_0 - \alpha_{\min})
                    \Bigl(1 + \cos\frac{\pi T_{cur}}{T_i}\Bigr)

    where update ``t`` falls :math:`T_{cur}` updates into the :math:`i`-th period, of length
    :math:`T_i = T_0 T_{mult}^i` (update 1 starts period 0 at :math:`\alpha_0`). Never
    Robbins–Monro: every restart returns to :math:`\alpha_0`, and each period spends half its
    length above :math:`(\alpha_0 + \alpha_{\min})/2`, so :math:`\sum \alpha_t^2 = \infty`
    whenever :math:`\alpha_0 > 0` (and every step is 0 otherwise).

    Parameters
    ----------
    lr0 : float
        The rate at each restart, ``>= 0``.
    T_0 : int
        The first period, ``>= 1``.
    T_mult : int, default 1
        Growth of the period at each restart, ``>= 1``.
    lr_min : float, default 0.0
        In ``[0, lr0]``.
    """

    def __init__(self, lr0: float, T_0: int, T_mult: int = 1, lr_min: float = 0.0) -> None:
        self.lr0 = check_real("warm_restarts", "lr0", lr0, 0.0)
        self.T_0 = check_int("warm_restarts", "T_0", T_0, 1)
        self.T_mult = check_int("warm_restarts", "T_mult", T_mult, 1)
        self.lr_min = check_real("warm_restarts", "lr_min", lr_min, 0.0, self.lr0)

    def value(self, t: int) -> float:
        t_cur, period = t - 1, self.T_0
        if self.T_mult == 1:
            t_cur %= period
        else:
            while t_cur >= period:  # periods grow geometrically: a few dozen iterations at most
                t_cur -= period
                period *= self.T_mult
        return self.lr_min + (self.lr0 - self.lr_min) * (1 + math.cos(math.pi * t_cur / period)) / 2

    def to_dict(self) -> dict[str, Any]:
        return {"type": "warm_restarts", "lr0": self.lr0, "T_0": self.T_0, "T_mult": self.T_mult,
                "lr_min": self.lr_min}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"warm_restarts(lr0={self.lr0!r}, T_0={self.T_0!r}, T_mult={self.T_mult!r}, "
                f"lr_min={self.lr_min!r})")


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class Cyclic(Schedule):
    r"""A cyclical learning rate (Smith, "Cyclical learning rates for training neural networks",
    2017; ``CyclicLR``): up from ``base_lr`` to ``max_lr`` in ``step_size_up`` updates and back
    down in ``step_size_down``.

    With :math:`e = t - 1`, :math:`S` the cycle length, :math:`c = \lfloor 1 + e/S \rfloor`,
    :math:`x = 1 + e/S - c` and :math:`r` = ``step_size_up / S``,

    .. math::

        \alpha_t = \alpha_b + (\alpha_{\max} - \alpha_b)\, h(x)\, s, \qquad
        h(x) = \begin{cases} x / r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases}

    with the scale :math:`s = 1` (``"triangular"``), :math:`2^{1 - c}` (``"triangular2"``) or
    :math:`\gamma^{e}` (``"exp_range"``).

    **Never Robbins–Monro, by design.** A cyclical rate is meant to keep returning to large
    steps, so it does not decay like :math:`1/t`. ``"triangular"`` climbs back to
    :math:`\alpha_{\max}` in every cycle: infinitely many steps above
    :math:`\alpha_{\max}/2`, so :math:`\sum \alpha_t^2 = \infty`. The two decaying modes
    shrink the amplitude geometrically, so the rate tends to :math:`\alpha_b`: a constant tail
    (:math:`\sum \alpha_t^2 = \infty`) when :math:`\alpha_b > 0`, and a geometric series
    (:math:`\sum \alpha_t < \infty`) when :math:`\alpha_b = 0`. Either way one of the two
    conditions fails; stochastic gradient descent with it does not converge to a point, it keeps
    exploring, which is the point of a cycle.

    Parameters
    ----------
    base_lr, max_lr : float
        The bounds, ``>= 0``.
    step_size_up : int, default 2000
        ``>= 1``.
    step_size_down : int, optional
        Defaults to ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
    gamma : float, default 1.0
        The base of ``"exp_range"``, in ``(0, 1]``.
    """

    def __init__(self, base_lr: float, max_lr: float, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0) -> None:
        self.base_lr = check_real("cyclic", "base_lr", base_lr, 0.0)
        self.max_lr = check_real("cyclic", "max_lr", max_lr, 0.0)
        self.step_size_up = check_int("cyclic", "step_size_up", step_size_up, 1)
        self.step_size_down = (None if step_size_down is None else
                               check_int("cyclic", "step_size_down", step_size_down, 1))
        if mode not in _CYCLIC_MODES:
            raise ValueError(f"cyclic: mode must be one of {', '.join(_CYCLIC_MODES)}; got "
                             f"{mode!r}")
        self.mode = mode
        self.gamma = check_real("cyclic", "gamma", gamma, 0.0, 1.0, low_open=True)

    def value(self, t: int) -> float:
        e = t - 1
        up = float(self.step_size_up)
        total = up + (float(self.step_size_down) if self.step_size_down is not None else up)
        ratio = up / total
        cycle = math.floor(1 + e / total)
        x = 1.0 + e / total - cycle
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma ** e
        return self.base_lr + (self.max_lr - self.base_lr) * height * scale

    def to_dict(self) -> dict[str, Any]:
        return {"type": "cyclic", "base_lr": self.base_lr, "max_lr": self.max_lr,
                "step_size_up": self.step_size_up, "step_size_down": self.step_size_down,
                "mode": self.mode, "gamma": self.gamma}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"cyclic(base_lr={self.base_lr!r}, max_lr={self.max_lr!r}, "
                f"step_size_up={self.step_size_up!r}, step_size_down={self.step_size_down!r}, "
                f"mode={self.mode!r}, gamma={self.gamma!r})")


class OneCycle(Schedule):
    r"""The 1cycle policy (Smith and Topin, "Super-convergence", 2018; ``OneCycleLR``): up from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of the run, then down to
    ``max_lr / (div_factor * final_div_factor)``.

    Within a phase from update :math:`a` to :math:`b` (counted from 0, :math:`e = t - 1`), with
    :math:`p = (e - a)/(b - a)`, the rate goes from :math:`\alpha_s` to :math:`\alpha_f` by

    .. math::

        \alpha_t = \alpha_f + \tfrac12(\alpha_s - \alpha_f)(1 + \cos \pi p)
        \quad\text{("cos")}, \qquad
        \alpha_t = \alpha_s + (\alpha_f - \alpha_s)\, p \quad\text{("linear")};

    the phases end at :math:`\text{pct\_start}\cdot N - 1` and :math:`N - 1`
    (``three_phase``: back to the initial rate by :math:`2\,\text{pct\_start}\cdot N - 2`,
    then down to the minimum). After update ``N`` the rate stays at the minimum. Never
    Robbins–Monro: the schedule is built for a finite run, and its tail is the constant minimum
    (:math:`\sum \alpha_t^2 = \infty`; all zero when ``max_lr = 0``).

    Parameters
    ----------
    max_lr : float
        ``>= 0``.
    total_steps : int
        ``N >= 1``.
    pct_start : float, default 0.3
        In ``[0, 1]``.
    anneal_strategy : {"cos", "linear"}, default "cos"
    div_factor : float, default 25.0
        ``> 0``.
    final_div_factor : float, default 1e4
        ``> 0``.
    three_phase : bool, default False
    """

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        self.max_lr = check_real("one_cycle", "max_lr", max_lr, 0.0)
        self.total_steps = check_int("one_cycle", "total_steps", total_steps, 1)
        self.pct_start = check_real("one_cycle", "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"one_cycle: anneal_strategy must be one of cos, linear; got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.div_factor = check_real("one_cycle", "div_factor", div_factor, 0.0, low_open=True)
        self.final_div_factor = check_real("one_cycle", "final_div_factor", final_div_factor,
                                           0.0, low_open=True)
        if not isinstance(three_phase, bool):
            raise TypeError(f"one_cycle: three_phase must be a bool, got {three_phase!r}")
        self.three_phase = three_phase

    def _phases(self) -> list[tuple[float, float, float]]:
        """(end step, start rate, end rate) of each phase."""
        n, high = self.total_steps, self.max_lr
        initial = high / self.div_factor
        low = initial / self.final_div_factor
        rise = float(self.pct_start * n) - 1
        if not self.three_phase:
            return [(rise, initial, high), (n - 1, high, low)]
        return [(rise, initial, high), (float(2 * self.pct_start * n) - 2, high, initial),
                (n - 1, initial, low)]

    def value(self, t: int) -> float:
        phases = self._phases()
        if t > self.total_steps:
            return phases[-1][2]
        e, start = t - 1, 0.0
        for i, (end, lr_start, lr_end) in enumerate(phases):
            if e <= end or i == len(phases) - 1:
                # a phase of zero length (pct_start * N == 1 puts the rise's end at update 0) is
                # at its end rate; torch's formula divides 0 by 0 there (ZeroDivisionError at t=1)
                pct = (e - start) / (end - start) if end != start else 1.0
                if self.anneal_strategy == "cos":
                    return lr_end + (lr_start - lr_end) / 2.0 * (math.cos(math.pi * pct) + 1)
                return (lr_end - lr_start) * pct + lr_start
            start = end
        raise AssertionError("unreachable: the last phase always matches")

    def to_dict(self) -> dict[str, Any]:
        return {"type": "one_cycle", "max_lr": self.max_lr, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "anneal_strategy": self.anneal_strategy,
                "div_factor": self.div_factor, "final_div_factor": self.final_div_factor,
                "three_phase": self.three_phase}

    def robbins_monro(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"one_cycle(max_lr={self.max_lr!r}, total_steps={self.total_steps!r}, "
                f"pct_start={self.pct_start!r}, anneal_strategy={self.anneal_strategy!r}, "
                f"div_factor={self.div_factor!r}, final_div_factor={self.final_div_factor!r}, "
                f"three_phase={self.three_phase!r})")


constant = Constant
inverse_power = InversePower
inverse_time = InverseTime
step = StepDecay
exponential = Exponential
cosine = Cosine
warmup = Warmup
piecewise = Piecewise
linear = Linear
polynomial = Polynomial
warm_restarts = WarmRestarts
cyclic = Cyclic
one_cycle = OneCycle


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
    "linear": (Linear, ("lr0", "lr_end", "total_steps")),
    "polynomial": (Polynomial, ("lr0", "total_steps", "power")),
    "warm_restarts": (WarmRestarts, ("lr0", "T_0", "T_mult", "lr_min")),
    "cyclic": (Cyclic, ("base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma")),
    "one_cycle": (OneCycle, ("max_lr", "total_steps", "pct_start", "anneal_strategy",
                             "div_factor", "final_div_factor", "three_phase")),
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
  linear:0.1[:0.001[:1000]]  linear(0.1, lr_end=0.001, total_steps=1000)
  poly:0.1[:1000[:2]]      polynomial(0.1, total_steps=1000, power=2)
  sgdr:0.1:50[:2[:0.001]]  warm_restarts(0.1, T_0=50, T_mult=2, lr_min=0.001)
  cyclic:0.001:0.1:200[:triangular2|exp_range[:0.999]]  cyclic(base_lr, max_lr, step_size_up)
  onecycle:0.1[:1000[:0.3]]  one_cycle(max_lr=0.1, total_steps=1000, pct_start=0.3)
  warmup:100:<schedule>    warmup(<schedule>, warmup_steps=100), e.g. warmup:100:cosine:0.1"""

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
# The update number is written t or n (the tutorial writes alpha_n = 1/n): the same schedule.
_INVERSE_POWER = re.compile(
    rf"^(?P<lr0>{_NUMBER})?/(?:[tn]|sqrt\([tn]\)|[tn](?:\^|\*\*)(?P<p>{_NUMBER}))$")


def parse_rate(text: str, total_steps: int | None = None) -> float | Schedule:
    """A learning rate written as text: a positive number (returned as a float) or a schedule.

    Parameters
    ----------
    text : str
        A number (``"0.01"``) or any form :func:`parse` reads.
    total_steps : int, optional
        As in :func:`parse`.

    Raises
    ------
    ValueError
        For a number that is not finite and positive, or malformed schedule text.

    Examples
    --------
    >>> from steepest import schedules
    >>> schedules.parse_rate("0.05")
    0.05
    >>> schedules.parse_rate("1/t")
    inverse_power(lr0=1.0, p=1.0)
    """
    try:
        value = float(text)
    except (TypeError, ValueError):
        return parse(text, total_steps=total_steps)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a learning rate must be a positive number or a schedule, got {text!r}")
    return value


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
               "exp": (2, 2), "cosine": (1, 3), "linear": (1, 3), "poly": (1, 3),
               "sgdr": (2, 4), "cyclic": (3, 5), "onecycle": (1, 3)}
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
    if name in _NEW_FAMILIES:
        return _NEW_FAMILIES[name](args, total_steps)
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


def _run_length(args: list[str], index: int, total_steps: int | None, name: str) -> int:
    """The length argument at ``index``, else the run's ``total_steps``."""
    if len(args) > index:
        return _integer(args[index], "total_steps")
    if total_steps is not None:
        return total_steps
    raise ValueError(f"{name} needs its length: give it in the text or pass total_steps=")


def _parse_linear(args: list[str], total_steps: int | None) -> Schedule:
    lr_end = _number(args[1], "lr_end") if len(args) >= 2 else 0.0
    return Linear(_number(args[0], "lr0"), lr_end, _run_length(args, 2, total_steps, "linear"))


def _parse_poly(args: list[str], total_steps: int | None) -> Schedule:
    power = _number(args[2], "power") if len(args) == 3 else 1.0
    return Polynomial(_number(args[0], "lr0"), _run_length(args, 1, total_steps, "poly"), power)


def _parse_sgdr(args: list[str], total_steps: int | None) -> Schedule:
    t_mult = _integer(args[2], "T_mult") if len(args) >= 3 else 1
    lr_min = _number(args[3], "lr_min") if len(args) == 4 else 0.0
    return WarmRestarts(_number(args[0], "lr0"), _integer(args[1], "T_0"), t_mult, lr_min)


def _parse_cyclic(args: list[str], total_steps: int | None) -> Schedule:
    mode = args[3] if len(args) >= 4 else "triangular"
    gamma = _number(args[4], "gamma") if len(args) == 5 else 1.0
    return Cyclic(_number(args[0], "base_lr"), _number(args[1], "max_lr"),
                  _integer(args[2], "step_size_up"), mode=mode, gamma=gamma)


def _parse_onecycle(args: list[str], total_steps: int | None) -> Schedule:
    pct = _number(args[2], "pct_start") if len(args) == 3 else 0.3
    return OneCycle(_number(args[0], "max_lr"), _run_length(args, 1, total_steps, "onecycle"),
                    pct)


_NEW_FAMILIES: dict[str, Callable[[list[str], int | None], Schedule]] = {
    "linear": _parse_linear, "poly": _parse_poly, "sgdr": _parse_sgdr, "cyclic": _parse_cyclic,
    "onecycle": _parse_onecycle,
}
