"""Checks for the tutorials' exercises: a student's answer against the library's own code.

Each ``check_*`` function runs the student's function and steepest's implementation side by side
on the same inputs for a few steps and returns a :class:`CheckResult`: whether they agree (to a
relative tolerance that allows for rounding), and if not, the first place where they differ, with
both values. Nothing is printed; ``print(result)`` gives the verdict in words.

Examples
--------
>>> import numpy as np
>>> from steepest import exercises
>>> def my_gd(x, g, state, t, lr):
...     return x - lr * g
>>> exercises.check_update(my_gd, "sgd", lr=0.1).passed
True
>>> def wrong(x, g, state, t, lr):
...     return x + lr * g
>>> result = exercises.check_update(wrong, "sgd", lr=0.1)
>>> result.passed, result.step
(False, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_choice, check_int
from .autodiff import Tensor, tensor
from .autodiff.functional import grad

__all__ = ["CheckResult", "check_update", "check_gradient", "check_schedule"]

#: A student's update: ``update(x, g, state, t, **hyper) -> new x``, with ``state`` a dict kept
#: between calls (for momentum buffers and moment estimates) and ``t`` = 1, 2, ...
StudentUpdate = Callable[..., Any]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check.

    Attributes
    ----------
    passed : bool
        Whether every compared value agreed.
    what : str
        What was compared ("the iterates of sgd", "the gradient", ...).
    step : int or None
        The first step (or point index, from 1) at which the values differ; None if they agree.
    expected, got : numpy.ndarray or None
        The library's value and the student's at that step.
    detail : str
        A sentence on the difference (largest error, index), or on what ran.
    """

    passed: bool
    what: str
    step: int | None = None
    expected: np.ndarray | None = field(default=None, repr=False)
    got: np.ndarray | None = field(default=None, repr=False)
    detail: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"correct: {self.what} agree ({self.detail})"
        return (f"not yet: {self.what} first differ at step {self.step}: expected "
                f"{np.array2string(self.expected, precision=6)}, got "
                f"{np.array2string(self.got, precision=6)} ({self.detail})")


def _compare(what: str, index: int, expected: Any, got: Any, rtol: float, atol: float
             ) -> CheckResult | None:
    """None when ``got`` matches ``expected``, else the failed result that says where."""
    expected = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as error:
        return CheckResult(False, what, index, expected, None,
                           f"the answer is not an array of numbers: {error}")
    if got.shape != expected.shape:
        return CheckResult(False, what, index, expected, got,
                           f"shape {got.shape}, expected {expected.shape}")
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if close.all():
        return None
    worst = int(np.argmax(np.where(close, 0, np.abs(got - expected))))
    return CheckResult(False, what, index, expected, got,
                       f"largest difference {np.abs(got - expected).flat[worst]:.3g} at element "
                       f"{tuple(int(i) for i in np.unravel_index(worst, expected.shape))}")


def _quadratic_gradient(x: np.ndarray) -> np.ndarray:
    # f(x) = 0.5 * sum(c_i x_i^2) with curvatures 1..10: ill-conditioned enough that a wrong
    # momentum or bias correction shows within a few steps.
    return np.linspace(1.0, 10.0, x.size) * x


def check_update(student: StudentUpdate, optimizer: str, *, steps: int = 5, dim: int = 3,
                 gradient: Callable[[np.ndarray], np.ndarray] | None = None,
                 x0: Any = None, rtol: float = 1e-7, atol: float = 1e-10,
                 **hyper: Any) -> CheckResult:
    """Compare a student's update rule with the optimizer ``optimizer`` of :mod:`steepest.optim`.

    Both start from ``x0`` and take ``steps`` updates on the same objective; the student's
    iterate after each update is compared with the library's.

    Parameters
    ----------
    student : callable
        ``student(x, g, state, t, **hyper) -> new x``: ``x`` the current iterate (a copy),
        ``g`` the gradient there, ``state`` a dict kept between calls, ``t`` the number of the
        update (1, 2, ...), and the hyperparameters as keywords.
    optimizer : str
        A name of :data:`steepest.optim.OPTIMIZERS` (``"sgd"``, ``"adam"``, ...).
    steps : int, default 5
        How many updates to compare, ``>= 1``.
    dim : int, default 3
        The dimension of the default objective.
    gradient : callable, optional
        The gradient of the objective, ``ndarray -> ndarray``. Default: a quadratic with
        curvatures spread over [1, 10].
    x0 : array_like, optional
        The start. Default: ``[1, -2, 3, ...]`` of length ``dim``.
    rtol, atol : float
        Tolerances of :func:`numpy.isclose`.
    **hyper
        The optimizer's hyperparameters (``lr=0.1, momentum=0.9``): passed to both.

    Returns
    -------
    CheckResult
    """
    from .optim import OPTIMIZERS, create

    check_choice("exercises.check_update", "optimizer", optimizer, OPTIMIZERS)
    # steps < 1 compared nothing and still reported "correct", even for a wrong rule
    steps = check_int("exercises.check_update", "steps", steps, low=1)
    if not callable(student):
        raise TypeError(f"exercises.check_update: student must be a function, got {student!r}")
    gradient = gradient or _quadratic_gradient
    start = (np.arange(1.0, dim + 1) * (-1.0) ** np.arange(dim) if x0 is None
             else np.array(x0, dtype=float))
    w = tensor(start.copy(), requires_grad=True)
    reference = create(optimizer, [w], **hyper)
    x, state = start.copy(), {}
    what = f"the iterates of {optimizer}"
    for t in range(1, steps + 1):
        w.grad = gradient(w.data.copy())
        reference.step()
        x = student(x.copy(), gradient(x.copy()), state, t, **hyper)
        failure = _compare(what, t, w.data, x, rtol, atol)
        if failure is not None:
            return failure
    return CheckResult(True, what, detail=f"{steps} steps from x0 = {start.tolist()}")


def check_gradient(student: Callable[[np.ndarray], Any], f: Callable[[Tensor], Tensor],
                   points: Any, *, rtol: float = 1e-6, atol: float = 1e-9) -> CheckResult:
    """Compare a hand-derived gradient with steepest's reverse-mode gradient of ``f``.

    Parameters
    ----------
    student : callable
        ``student(x) -> gradient`` on an ndarray.
    f : callable
        The function, written with steepest operations (Tensor in, scalar Tensor out).
    points : array_like
        One point per row (or a single point) at which to compare; at least one.
    rtol, atol : float
        Tolerances of :func:`numpy.isclose`.

    Returns
    -------
    CheckResult
    """
    points = np.atleast_2d(np.asarray(points, dtype=float))
    if points.size == 0:  # no point compared nothing and still reported "correct"
        raise ValueError(f"exercises.check_gradient: points must hold at least one point with at "
                         f"least one coordinate, got an array of shape {points.shape}")
    exact = grad(f)
    for i, x in enumerate(points, start=1):
        failure = _compare("the gradients", i, exact(x.copy()), student(x.copy()), rtol, atol)
        if failure is not None:
            return failure
    return CheckResult(True, "the gradients", detail=f"at {len(points)} points")


def check_schedule(student: Callable[[int], float], schedule: Callable[[int], float], *,
                   steps: int = 100, rtol: float = 1e-9) -> CheckResult:
    """Compare a student's learning-rate schedule ``t -> lr`` with one of :mod:`steepest.schedules`.

    Parameters
    ----------
    student, schedule : callable
        ``t -> lr`` for t = 1, 2, ...; ``schedule`` is the library's (``schedules.cosine(0.1,
        100)``, say).
    steps : int, default 100
        The number of steps compared, ``>= 1``.
    rtol : float
        Relative tolerance.

    Returns
    -------
    CheckResult
    """
    # steps < 1 compared nothing and still reported "correct", even for a wrong schedule
    steps = check_int("exercises.check_schedule", "steps", steps, low=1)
    for t in range(1, steps + 1):
        failure = _compare("the learning rates", t, schedule(t), student(t), rtol, 0.0)
        if failure is not None:
            return failure
    return CheckResult(True, "the learning rates", detail=f"t = 1..{steps}")
