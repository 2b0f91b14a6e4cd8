"""Line searches along a descent direction: Armijo backtracking, strong Wolfe (with zoom), and
Moré and Thuente's search (the one L-BFGS-B runs).

All work on plain arrays through ``fun_and_grad(x) -> (f(x), grad f(x))`` and look for a step
:math:`\\alpha > 0` along a direction :math:`d` with :math:`\\nabla f(x)^T d < 0`. Writing
:math:`\\phi(\\alpha) = f(x + \\alpha d)`, the conditions are

.. math::

    \\text{sufficient decrease (Armijo):}\\quad
        \\phi(\\alpha) \\le \\phi(0) + c_1 \\alpha \\phi'(0),

    \\text{strong curvature:}\\quad |\\phi'(\\alpha)| \\le c_2 |\\phi'(0)|,

with :math:`0 < c_1 < c_2 < 1` (Nocedal and Wright, *Numerical Optimization*, 2nd ed., 2006,
section 3.1; the strong Wolfe search is their Algorithms 3.5 and 3.6). Moré and Thuente's
search (:func:`more_thuente`, ACM TOMS 20(3), 1994) looks for the same two conditions with
safeguarded interpolation and, as L-BFGS-B, also takes the point where it stops with a warning
(rounding errors, ``xtol``, a bound on the step); its ``status`` says which.

A search that finds no acceptable step says so: ``success=False``, ``step=0.0`` and ``fun``/
``grad`` those of the starting point, so that a caller who ignores the flag at least does not
move. A non-finite function value counts as "too far" and makes the search step back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int, check_real

__all__ = ["LineSearchResult", "LineSearchError", "LineSearchWarning", "armijo", "strong_wolfe",
           "more_thuente", "Armijo", "StrongWolfe", "MoreThuente", "get"]

FunAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class LineSearchResult:
    """The outcome of a line search.

    Attributes
    ----------
    step : float
        The accepted step :math:`\\alpha` (``0.0`` when the search failed).
    fun : float
        :math:`f(x + \\alpha d)` (``f0`` when the search failed).
    grad : numpy.ndarray
        :math:`\\nabla f(x + \\alpha d)` (``g0`` when the search failed).
    nfev, njev : int
        Function and gradient evaluations spent (each call of ``fun_and_grad`` counts once in
        both).
    success : bool
        Whether the search accepted a step: for :func:`armijo` and :func:`strong_wolfe`, one
        that satisfies their conditions; for :func:`more_thuente`, also a point it stops at
        with a warning (as L-BFGS-B takes it), which ``status`` names.
    message : str
        What happened, in words.
    status : str or None
        The exit :func:`more_thuente` took: ``"convergence"`` (both conditions hold), the
        warnings ``"rounding_errors"``, ``"xtol"``, ``"alpha_max"``, ``"alpha_min"`` (the step is
        taken all the same), or the failures ``"max_evals"``, ``"not_descent"`` and
        ``"non_finite"`` (and ``"zero_direction"``, a trivial success). ``None`` for the other
        searches.
    """

    step: float
    fun: float
    grad: np.ndarray
    nfev: int
    njev: int
    success: bool
    message: str
    status: str | None = None


class LineSearchError(RuntimeError):
    """A line search found no acceptable step; its ``result`` attribute holds the failed search."""

    def __init__(self, message: str, result: LineSearchResult) -> None:
        super().__init__(message)
        self.result = result


class LineSearchWarning(RuntimeWarning):
    """Warned (instead of :class:`LineSearchError`) when a caller asked for warnings."""


class _Phi:
    """:math:`\\phi(\\alpha) = f(x + \\alpha d)` and its slope, counting evaluations."""

    def __init__(self, fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray) -> None:
        self.fun_and_grad = fun_and_grad
        self.x = x
        self.direction = direction
        self.evals = 0

    def __call__(self, alpha: float) -> tuple[float, np.ndarray, float]:
        self.evals += 1
        f, g = self.fun_and_grad(self.x + alpha * self.direction)
        f = float(f)
        g = np.asarray(g)
        if g.shape != self.x.shape:
            raise ValueError(f"line search: fun_and_grad returned a gradient of shape {g.shape} "
                             f"for x of shape {self.x.shape}")
        return f, g, float(np.vdot(g, self.direction))

    def result(self, alpha: float, f: float, g: np.ndarray, success: bool,
               message: str, status: str | None = None) -> LineSearchResult:
        return LineSearchResult(alpha, f, g, self.evals, self.evals, success, message, status)


def _check_point(owner: str, x: Any, direction: Any, f0: Any, g0: Any
                 ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    x, direction, g0 = np.asarray(x), np.asarray(direction), np.asarray(g0)
    for name, array in (("x", x), ("direction", direction), ("g0", g0)):
        if array.dtype.kind not in "fiu":
            raise TypeError(f"{owner}: {name} must be a real array, got dtype {array.dtype}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{owner}: {name} must be finite, got {array!r}")
    if direction.shape != x.shape or g0.shape != x.shape:
        raise ValueError(f"{owner}: x, direction and g0 must have one shape, got {x.shape}, "
                         f"{direction.shape} and {g0.shape}")
    f0 = check_real(owner, "f0", f0)
    return x, direction, f0, g0


def _not_descending(phi: _Phi, f0: float, g0: np.ndarray, slope0: float) -> LineSearchResult | None:
    """The result to return at once when the direction is zero or not a descent direction."""
    if not np.any(phi.direction):
        return phi.result(0.0, f0, g0, True, "the direction is zero: nothing to search")
    if not slope0 < 0:
        return phi.result(0.0, f0, g0, False,
                          f"the direction is not a descent direction: g0 . direction = "
                          f"{slope0:.6g} >= 0")
    return None


def armijo(fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
           g0: np.ndarray, alpha0: float = 1.0, c1: float = 1e-4, shrink: float = 0.5,
           max_evals: int = 30) -> LineSearchResult:
    """Backtracking line search for the Armijo (sufficient decrease) condition.

    Tries :math:`\\alpha = \\alpha_0, \\rho\\alpha_0, \\rho^2\\alpha_0, \\dots` (``rho = shrink``)
    and accepts the first step with

    .. math:: f(x + \\alpha d) \\le f(x) + c_1 \\alpha \\nabla f(x)^T d.

    Reference: Armijo, "Minimization of functions having Lipschitz continuous first partial
    derivatives", Pacific J. Math. 16 (1966); Nocedal and Wright (2006), Algorithm 3.1.

    Parameters
    ----------
    fun_and_grad : callable
        ``x -> (f(x), grad f(x))`` on arrays of ``x``'s shape.
    x, direction : numpy.ndarray
        The start and the search direction (of one shape).
    f0 : float
        ``f(x)``.
    g0 : numpy.ndarray
        ``grad f(x)``; ``g0 . direction`` must be negative.
    alpha0 : float, default 1.0
        The first trial step, ``> 0``.
    c1 : float, default 1e-4
        Sufficient-decrease constant, in ``(0, 1)``.
    shrink : float, default 0.5
        Factor applied to a rejected step, in ``(0, 1)``.
    max_evals : int, default 30
        Evaluations allowed, ``>= 1``.

    Returns
    -------
    LineSearchResult
        ``success=False`` (and ``step=0.0``) when the direction does not descend or no trial
        within ``max_evals`` satisfies the condition.
    """
    x, direction, f0, g0 = _check_point("armijo", x, direction, f0, g0)
    alpha = check_real("armijo", "alpha0", alpha0, 0.0, low_open=True)
    c1 = check_real("armijo", "c1", c1, 0.0, 1.0, low_open=True, high_open=True)
    shrink = check_real("armijo", "shrink", shrink, 0.0, 1.0, low_open=True, high_open=True)
    max_evals = check_int("armijo", "max_evals", max_evals, 1)
    phi = _Phi(fun_and_grad, x, direction)
    slope0 = float(np.vdot(g0, direction))
    early = _not_descending(phi, f0, g0, slope0)
    if early is not None:
        return early
    while phi.evals < max_evals:
        f, g, _ = phi(alpha)
        if math.isfinite(f) and f <= f0 + c1 * alpha * slope0:
            return phi.result(alpha, f, g, True, "the Armijo condition holds")
        alpha *= shrink
    return phi.result(0.0, f0, g0, False,
                      f"no step satisfied the Armijo condition within max_evals={max_evals} "
                      f"evaluations (the last step tried was {alpha / shrink:.6g})")


def _interpolate(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> float:
    """The minimiser of the cubic through both ends (value and slope), kept inside the interval.

    Falls back to bisection when the cubic has no minimiser, an end is not finite, or the
    minimiser lies within 10% of the interval's length of either end (Nocedal and Wright,
    eq. 3.59, with the usual safeguard).
    """
    (a0, f0, d0), (a1, f1, d1) = lo, hi
    middle = 0.5 * (a0 + a1)
    if not all(math.isfinite(v) for v in (f0, d0, f1, d1)):
        return middle
    e1 = d0 + d1 - 3.0 * (f0 - f1) / (a0 - a1)
    radicand = e1 * e1 - d0 * d1
    if radicand < 0:
        return middle
    e2 = math.copysign(math.sqrt(radicand), a1 - a0)
    denominator = d1 - d0 + 2.0 * e2
    if denominator == 0:
        return middle
    alpha = a1 - (a1 - a0) * (d1 + e2 - e1) / denominator
    low, high = min(a0, a1), max(a0, a1)
    margin = 0.1 * (high - low)
    if not (math.isfinite(alpha) and low + margin <= alpha <= high - margin):
        return middle
    return alpha


def strong_wolfe(fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
                 g0: np.ndarray, alpha0: float = 1.0, c1: float = 1e-4, c2: float = 0.9,
                 max_evals: int = 30, alpha_max: float = 1e10) -> LineSearchResult:
    """Line search for the strong Wolfe conditions: bracketing, then zoom.

    Accepts a step with

    .. math::

        f(x + \\alpha d) \\le f(x) + c_1 \\alpha \\nabla f(x)^T d, \\qquad
        |\\nabla f(x + \\alpha d)^T d| \\le c_2 |\\nabla f(x)^T d|.

    The bracketing phase doubles the step from ``alpha0`` (up to ``alpha_max``) until it passes
    a minimiser of :math:`\\phi`; ``zoom`` then shrinks the bracket by safeguarded cubic
    interpolation. Reference: Nocedal and Wright (2006), Algorithms 3.5 and 3.6.

    Parameters
    ----------
    fun_and_grad : callable
        ``x -> (f(x), grad f(x))``.
    x, direction : numpy.ndarray
        The start and the search direction (of one shape).
    f0 : float
        ``f(x)``.
    g0 : numpy.ndarray
        ``grad f(x)``; ``g0 . direction`` must be negative.
    alpha0 : float, default 1.0
        The first trial step, in ``(0, alpha_max]``.
    c1, c2 : float, default 1e-4 and 0.9
        ``0 < c1 < c2 < 1``.
    max_evals : int, default 30
        Evaluations allowed, ``>= 1``.
    alpha_max : float, default 1e10
        The largest step tried.

    Returns
    -------
    LineSearchResult
        ``success=False`` (and ``step=0.0``) when the direction does not descend, the budget
        runs out, the bracket collapses, or ``alpha_max`` is reached without a bracket.
    """
    x, direction, f0, g0 = _check_point("strong_wolfe", x, direction, f0, g0)
    c1, c2 = _check_wolfe_constants("strong_wolfe", c1, c2)
    alpha_max = check_real("strong_wolfe", "alpha_max", alpha_max, 0.0, low_open=True)
    alpha = check_real("strong_wolfe", "alpha0", alpha0, 0.0, alpha_max, low_open=True)
    max_evals = check_int("strong_wolfe", "max_evals", max_evals, 1)
    phi = _Phi(fun_and_grad, x, direction)
    slope0 = float(np.vdot(g0, direction))
    early = _not_descending(phi, f0, g0, slope0)
    if early is not None:
        return early
    search = _Wolfe(phi, f0, g0, slope0, c1, c2, max_evals)
    previous = (0.0, f0, slope0)
    while phi.evals < max_evals:
        f, g, slope = phi(alpha)
        current = (alpha, f, slope)
        if not search.decreases(alpha, f) or (phi.evals > 1 and f >= previous[1]):
            return search.zoom(previous, current)
        if search.flat(slope):
            return phi.result(alpha, f, g, True, "the strong Wolfe conditions hold")
        if slope >= 0:
            return search.zoom(current, previous)
        if alpha >= alpha_max:
            return search.fail(f"reached alpha_max={alpha_max:g} with the function still "
                               "decreasing (unbounded below along the direction?)")
        previous = current
        alpha = min(2.0 * alpha, alpha_max)
    return search.fail(f"no bracket of acceptable steps within max_evals={max_evals} evaluations")


class _Wolfe:
    """The conditions and the zoom phase of :func:`strong_wolfe`."""

    def __init__(self, phi: _Phi, f0: float, g0: np.ndarray, slope0: float, c1: float, c2: float,
                 max_evals: int) -> None:
        self.phi, self.f0, self.g0, self.slope0 = phi, f0, g0, slope0
        self.c1, self.c2, self.max_evals = c1, c2, max_evals

    def decreases(self, alpha: float, f: float) -> bool:
        return math.isfinite(f) and f <= self.f0 + self.c1 * alpha * self.slope0

    def flat(self, slope: float) -> bool:
        return abs(slope) <= -self.c2 * self.slope0

    def fail(self, reason: str) -> LineSearchResult:
        return self.phi.result(0.0, self.f0, self.g0, False, reason)

    def zoom(self, lo: tuple[float, float, float], hi: tuple[float, float, float]
             ) -> LineSearchResult:
        """Shrink ``[lo, hi]``: ``lo`` is the best step satisfying sufficient decrease so far
        and ``phi'(lo) (hi - lo) < 0``, so the bracket holds a strong Wolfe step."""
        phi = self.phi
        while phi.evals < self.max_evals:
            if abs(hi[0] - lo[0]) <= 1e-12 * max(abs(lo[0]), abs(hi[0])):
                return self.fail(f"the bracket [{min(lo[0], hi[0]):.6g}, "
                                 f"{max(lo[0], hi[0]):.6g}] shrank to rounding level without a "
                                 "strong Wolfe step (is the gradient consistent with f?)")
            alpha = _interpolate(lo, hi)
            f, g, slope = phi(alpha)
            if not self.decreases(alpha, f) or f >= lo[1]:
                hi = (alpha, f, slope)
                continue
            if self.flat(slope):
                return phi.result(alpha, f, g, True, "the strong Wolfe conditions hold")
            if slope * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = (alpha, f, slope)
        return self.fail(f"zoom found no strong Wolfe step within max_evals={self.max_evals} "
                         f"evaluations (bracket [{min(lo[0], hi[0]):.6g}, "
                         f"{max(lo[0], hi[0]):.6g}])")


def _check_wolfe_constants(owner: str, c1: Any, c2: Any) -> tuple[float, float]:
    c1 = check_real(owner, "c1", c1, 0.0, 1.0, low_open=True, high_open=True)
    c2 = check_real(owner, "c2", c2, 0.0, 1.0, low_open=True, high_open=True)
    if not c1 < c2:
        raise ValueError(f"{owner}: needs 0 < c1 < c2 < 1, got c1={c1!r} and c2={c2!r}")
    return c1, c2


# ----------------------------------------------------------------------------- Moré-Thuente
#: How far an unbracketed trial step extrapolates: into
#: ``[step + XTRAPL (step - best), step + XTRAPU (step - best)]`` (Moré and Thuente, section 4).
_XTRAPL, _XTRAPU = 1.1, 4.0
#: A bracket that did not shrink below this fraction of its width of two trials before is
#: bisected (the paper's :math:`\\delta = 0.66`); case 3 also keeps its trial this far in.
_SHRINK = 0.66

Point = tuple[float, float, float]  # (step, value, slope) along the search direction


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN for a zero denominator (the caller then safeguards)."""
    return numerator / denominator if denominator != 0 else math.nan


def _cubic_terms(trial: Point, other: Point) -> tuple[float, float]:
    """:math:`\\theta` and :math:`|\\gamma|` of the cubic that interpolates two points (values and
    slopes), scaled by their largest magnitude against overflow:
    :math:`\\theta = 3 (f_o - f_t) / (t - o) + f'_o + f'_t`,
    :math:`\\gamma^2 = \\theta^2 - f'_o f'_t` (clipped at 0 where rounding makes it negative)."""
    (t, ft, dt), (o, fo, do) = trial, other
    theta = _ratio(3.0 * (fo - ft), t - o) + do + dt
    if not math.isfinite(theta):
        return theta, math.nan
    scale = max(abs(theta), abs(do), abs(dt))
    if scale == 0:  # a flat line: no curvature
        return theta, 0.0
    radicand = (theta / scale) ** 2 - (do / scale) * (dt / scale)
    return theta, scale * math.sqrt(max(radicand, 0.0))


def _safeguarded_step(best: Point, other: Point, trial: Point, bracketed: bool, low: float,
                      high: float) -> tuple[Point, Point, float, bool]:
    """One update of Moré and Thuente's interval of uncertainty and the next trial step.

    ``best`` is the end with the lowest value so far, ``other`` the far end (meaningful once
    ``bracketed``), ``trial`` the point just evaluated; ``[low, high]`` bounds the next step.
    The four cases of the paper's section 4 (with :math:`c` the minimiser of the cubic through
    ``best`` and ``trial``, :math:`q` of the quadratic through both values and ``best``'s slope,
    :math:`s` the secant step, the zero of the linear interpolation of the slopes):

    1. the value rises (:math:`f_t > f_x`): a minimiser lies between; take :math:`c` if it is
       closer to ``best`` than :math:`q`, else their midpoint;
    2. the slopes have opposite signs: take the one of :math:`c` and :math:`s` farther from
       ``trial``;
    3. the slope shrinks in magnitude: the cubic's minimiser if it lies beyond ``trial``
       (else the bound); once bracketed the closer of it and :math:`s`, kept within 66% of the
       way to ``other``, before that the farther, inside ``[low, high]``;
    4. the slope does not shrink: the minimiser of the cubic through ``trial`` and ``other``
       once bracketed, else the bound ``low`` or ``high``.

    Returns ``(best, other, next_step, bracketed)`` after the interval update: ``trial``
    replaces ``other`` when its value rose, else it becomes ``best`` (and the old ``best``
    becomes ``other`` when the slopes had opposite signs).
    """
    (sx, fx, dx), (sy, _, dy), (st, ft, dt) = best, other, trial
    opposite = (dt < 0 < dx) or (dx < 0 < dt)
    if ft > fx:  # case 1
        theta, gamma = _cubic_terms(trial, best)
        if st < sx:
            gamma = -gamma
        cubic = sx + _ratio((gamma - dx) + theta, ((gamma - dx) + gamma) + dt) * (st - sx)
        quadratic = sx + (_ratio(dx, _ratio(fx - ft, st - sx) + dx) / 2.0) * (st - sx)
        if abs(cubic - sx) < abs(quadratic - sx):
            step = cubic
        else:
            step = cubic + (quadratic - cubic) / 2.0
        bracketed = True
    elif opposite:  # case 2
        theta, gamma = _cubic_terms(trial, best)
        if st > sx:
            gamma = -gamma
        cubic = st + _ratio((gamma - dt) + theta, ((gamma - dt) + gamma) + dx) * (sx - st)
        secant = st + _ratio(dt, dt - dx) * (sx - st)
        step = cubic if abs(cubic - st) > abs(secant - st) else secant
        bracketed = True
    elif abs(dt) < abs(dx):  # case 3
        theta, gamma = _cubic_terms(trial, best)
        if st > sx:
            gamma = -gamma
        r = _ratio((gamma - dt) + theta, (gamma + (dx - dt)) + gamma)
        if r < 0 and gamma != 0:  # the cubic has its minimiser beyond the trial
            cubic = st + r * (sx - st)
        else:  # it tends to -inf that way: go to the bound
            cubic = high if st > sx else low
        secant = st + _ratio(dt, dt - dx) * (sx - st)
        if bracketed:
            step = cubic if abs(cubic - st) < abs(secant - st) else secant
            inner = st + _SHRINK * (sy - st)
            step = min(inner, step) if st > sx else max(inner, step)
        else:
            step = cubic if abs(cubic - st) > abs(secant - st) else secant
            step = max(low, min(high, step))
    elif bracketed:  # case 4, within the bracket
        theta, gamma = _cubic_terms(trial, other)
        if st > sy:
            gamma = -gamma
        step = st + _ratio((gamma - dt) + theta, ((gamma - dt) + gamma) + dy) * (sy - st)
    else:  # case 4, extrapolating
        step = high if st > sx else low
    if ft > fx:
        other = trial
    else:
        if opposite:
            other = best
        best = trial
    if not math.isfinite(step):  # a degenerate interpolation (a zero denominator): bisect
        step = 0.5 * (best[0] + other[0]) if bracketed else (high if st > sx else low)
    return best, other, step, bracketed


class _MoreThuente:
    """The state of Moré and Thuente's search between trial steps (:func:`more_thuente`).

    Stage 1 works on :math:`\\psi(\\alpha) = \\phi(\\alpha) - \\phi(0) - c_1 \\alpha \\phi'(0)`
    until a trial has :math:`\\psi \\le 0` and :math:`\\phi' \\ge 0`; stage 2 on :math:`\\phi`.
    """

    def __init__(self, f0: float, slope0: float, alpha0: float, c1: float, c2: float,
                 xtol: float, alpha_min: float, alpha_max: float) -> None:
        self.f0, self.slope0, self.c2, self.xtol = f0, slope0, c2, xtol
        self.alpha_min, self.alpha_max = alpha_min, alpha_max
        self.test = c1 * slope0  # the slope of the sufficient-decrease line
        self.best: Point = (0.0, f0, slope0)
        self.other: Point = (0.0, f0, slope0)
        self.bracketed = False
        self.stage_one = True
        self.width = alpha_max - alpha_min
        self.width_before = self.width / 0.5
        self.low, self.high = 0.0, alpha0 + _XTRAPU * alpha0

    def stop(self, alpha: float, f: float, slope: float) -> str | None:
        """Why the search stops at ``alpha`` (convergence or a warning), or None."""
        line = self.f0 + alpha * self.test
        if self.stage_one and f <= line and slope >= 0:
            self.stage_one = False
        if f <= line and abs(slope) <= self.c2 * (-self.slope0):
            return "convergence"
        if alpha == self.alpha_min and (f > line or slope >= self.test):
            return "alpha_min"
        if alpha == self.alpha_max and f <= line and slope <= self.test:
            return "alpha_max"
        if self.bracketed and self.high - self.low <= self.xtol * self.high:
            return "xtol"
        if self.bracketed and (alpha <= self.low or alpha >= self.high):
            return "rounding_errors"
        return None

    def next_step(self, alpha: float, f: float, slope: float) -> float:
        """Update the interval with the trial ``(alpha, f, slope)``; the step to try next."""
        test = self.test
        if self.stage_one and f <= self.best[1] and f > self.f0 + alpha * test:
            # psi rose above 0 but not above psi(best): interpolate psi, whose slopes are
            # phi' - c1 phi'(0), and map the ends back to phi
            def shifted(p: Point) -> Point:
                return (p[0], p[1] - p[0] * test, p[2] - test)

            best, other, step, self.bracketed = _safeguarded_step(
                shifted(self.best), shifted(self.other), shifted((alpha, f, slope)),
                self.bracketed, self.low, self.high)
            self.best = (best[0], best[1] + best[0] * test, best[2] + test)
            self.other = (other[0], other[1] + other[0] * test, other[2] + test)
        else:
            self.best, self.other, step, self.bracketed = _safeguarded_step(
                self.best, self.other, (alpha, f, slope), self.bracketed, self.low, self.high)
        sx, sy = self.best[0], self.other[0]
        if self.bracketed:
            if abs(sy - sx) >= _SHRINK * self.width_before:  # too slow: bisect
                step = sx + 0.5 * (sy - sx)
            self.width_before, self.width = self.width, abs(sy - sx)
            self.low, self.high = min(sx, sy), max(sx, sy)
        else:
            self.low = step + _XTRAPL * (step - sx)
            self.high = step + _XTRAPU * (step - sx)
        step = min(max(step, self.alpha_min), self.alpha_max)
        if self.bracketed and (step <= self.low or step >= self.high
                               or self.high - self.low <= self.xtol * self.high):
            step = sx  # no progress possible: end at the best point (stop() then says why)
        return step


_WARNINGS = {
    "rounding_errors": "rounding errors prevent progress: the next trial step would leave the "
                       "interval of uncertainty, so the search stops at its best point",
    "xtol": "the interval of uncertainty is narrower than xtol relative to its upper end",
    "alpha_max": "the step reached alpha_max with the function still decreasing",
    "alpha_min": "the step reached alpha_min without sufficient decrease or with the slope "
                 "still too negative",
}


def more_thuente(fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
                 g0: np.ndarray, alpha0: float = 1.0, c1: float = 1e-3, c2: float = 0.9,
                 xtol: float = 0.1, alpha_min: float = 0.0, alpha_max: float = 1e10,
                 max_evals: int = 20) -> LineSearchResult:
    """Moré and Thuente's line search, the one L-BFGS-B runs (MINPACK-2's ``dcsrch``).

    With :math:`\\phi(\\alpha) = f(x + \\alpha d)`, it looks for a step satisfying

    .. math::

        \\phi(\\alpha) \\le \\phi(0) + c_1 \\alpha \\phi'(0), \\qquad
        |\\phi'(\\alpha)| \\le c_2 |\\phi'(0)|,

    by keeping an interval of uncertainty :math:`[\\alpha_l, \\alpha_u]` (ends in either order)
    that contains such steps once a trial brackets them, and trying a safeguarded cubic,
    quadratic or secant step each time (``_safeguarded_step``: four cases, a bisection
    whenever the interval did not shrink to 66% of its width two trials before, and
    extrapolation to :math:`[\\alpha + 1.1 (\\alpha - \\alpha_l), \\alpha + 4 (\\alpha -
    \\alpha_l)]` before a bracket exists). Until a trial has :math:`\\psi(\\alpha) \\le 0` and
    :math:`\\phi'(\\alpha) \\ge 0` it works on the auxiliary function

    .. math:: \\psi(\\alpha) = \\phi(\\alpha) - \\phi(0) - c_1 \\alpha \\phi'(0)

    where :math:`\\psi(\\alpha) > 0` but :math:`\\psi(\\alpha) \\le \\psi(\\alpha_l)`, and on
    :math:`\\phi` otherwise.

    It stops, and the step is taken (``success=True``), when both conditions hold
    (``status="convergence"``) or with one of L-BFGS-B's warnings, at the last step tried:
    ``"rounding_errors"`` (the next trial would fall outside the open interval, so the best
    point is evaluated again and returned), ``"xtol"`` (:math:`\\alpha_{\\max} - \\alpha_{\\min}
    \\le` ``xtol`` :math:`\\alpha_{\\max}` over the interval's ends), ``"alpha_max"`` (reached
    with sufficient decrease and :math:`\\phi'(\\alpha) \\le c_1 \\phi'(0)`) or ``"alpha_min"``
    (reached without sufficient decrease or with :math:`\\phi'(\\alpha) \\ge c_1 \\phi'(0)`).
    A non-finite :math:`\\phi` or :math:`\\phi'` means "too far": the trial steps back halfway
    to the best step so far, and no later trial reaches that far again.

    Reference: J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient
    decrease", ACM Trans. Math. Software 20(3), 286-307 (1994); the rules and constants are
    those of MINPACK-2's ``dcsrch``/``dcstep`` (Averick, Carter and Moré, 1993), which
    L-BFGS-B (and SciPy) use, and ``tests/optim/test_more_thuente.py`` checks the trial steps
    against SciPy's port.

    Parameters
    ----------
    fun_and_grad : callable
        ``x -> (f(x), grad f(x))``.
    x, direction : numpy.ndarray
        The start and the search direction (of one shape).
    f0 : float
        ``f(x)``.
    g0 : numpy.ndarray
        ``grad f(x)``; ``g0 . direction`` must be negative.
    alpha0 : float, default 1.0
        The first trial step, in ``[alpha_min, alpha_max]`` and ``> 0``.
    c1, c2 : float, default 1e-3 and 0.9
        ``0 < c1 < c2 < 1`` (L-BFGS-B's ``ftol`` and ``gtol``).
    xtol : float, default 0.1
        Relative width of the interval below which the search stops, in ``[0, 1)``.
    alpha_min, alpha_max : float, default 0.0 and 1e10
        Bounds on the step, ``0 <= alpha_min < alpha_max``.
    max_evals : int, default 20
        Evaluations allowed, ``>= 1`` (L-BFGS-B's 20): a search that would need another fails.

    Returns
    -------
    LineSearchResult
        With ``status`` naming the exit; ``success=False`` (``step=0.0``, ``f0`` and ``g0``)
        when the direction does not descend (``"not_descent"``), the budget runs out
        (``"max_evals"``), or :math:`\\phi` is not finite down to ``alpha_min``
        (``"non_finite"``).
    """
    owner = "more_thuente"
    x, direction, f0, g0 = _check_point(owner, x, direction, f0, g0)
    c1, c2 = _check_wolfe_constants(owner, c1, c2)
    xtol = check_real(owner, "xtol", xtol, 0.0, 1.0, high_open=True)
    alpha_min = check_real(owner, "alpha_min", alpha_min, 0.0)
    alpha_max = check_real(owner, "alpha_max", alpha_max, alpha_min, low_open=True)
    alpha = check_real(owner, "alpha0", alpha0, alpha_min, alpha_max)
    if not alpha > 0:
        raise ValueError(f"{owner}: alpha0 must be > 0, got {alpha!r}")
    max_evals = check_int(owner, "max_evals", max_evals, 1)
    phi = _Phi(fun_and_grad, x, direction)
    slope0 = float(np.vdot(g0, direction))
    early = _not_descending(phi, f0, g0, slope0)
    if early is not None:
        status = "zero_direction" if early.success else "not_descent"
        return phi.result(early.step, early.fun, early.grad, early.success, early.message, status)
    search = _MoreThuente(f0, slope0, alpha, c1, c2, xtol, alpha_min, alpha_max)
    too_far = math.inf  # the smallest step where phi or phi' was not finite
    while phi.evals < max_evals:
        f, g, slope = phi(alpha)
        if not (math.isfinite(f) and math.isfinite(slope)):
            too_far = min(too_far, alpha)
            back = max(search.best[0] + 0.5 * (alpha - search.best[0]), alpha_min)
            if not back < alpha:
                return phi.result(0.0, f0, g0, False,
                                  f"the function or its slope is not finite at alpha={alpha:.6g} "
                                  f"and no smaller step is left (alpha_min={alpha_min:g})",
                                  "non_finite")
            alpha = back
            continue
        status = search.stop(alpha, f, slope)
        if status == "convergence":
            return phi.result(alpha, f, g, True, "sufficient decrease and the curvature condition "
                              "hold", status)
        if status is not None:
            return phi.result(alpha, f, g, True, f"warning: {_WARNINGS[status]}", status)
        alpha = search.next_step(alpha, f, slope)
        if alpha >= too_far:
            alpha = max(search.best[0] + 0.5 * (too_far - search.best[0]), alpha_min)
    return phi.result(0.0, f0, g0, False, f"no acceptable step within max_evals={max_evals} "
                      f"evaluations (interval [{search.low:.6g}, {search.high:.6g}])", "max_evals")


class Armijo:
    """Armijo backtracking with fixed parameters; see :func:`armijo`.

    Parameters
    ----------
    c1 : float, default 1e-4
        In ``(0, 1)``.
    shrink : float, default 0.5
        In ``(0, 1)``.
    max_evals : int, default 30
        ``>= 1``.
    alpha0 : float, default 1.0
        The first trial step, ``> 0``. (On :class:`~steepest.optim.SGD` it multiplies the
        learning rate: the first trial step is ``alpha0 * lr``.)
    """

    def __init__(self, c1: float = 1e-4, shrink: float = 0.5, max_evals: int = 30,
                 alpha0: float = 1.0) -> None:
        self.c1 = check_real("Armijo", "c1", c1, 0.0, 1.0, low_open=True, high_open=True)
        self.shrink = check_real("Armijo", "shrink", shrink, 0.0, 1.0, low_open=True,
                                 high_open=True)
        self.max_evals = check_int("Armijo", "max_evals", max_evals, 1)
        self.alpha0 = check_real("Armijo", "alpha0", alpha0, 0.0, low_open=True)

    def search(self, fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
               g0: np.ndarray) -> LineSearchResult:
        """Run :func:`armijo` from ``x`` along ``direction`` with these parameters."""
        return armijo(fun_and_grad, x, direction, f0, g0, alpha0=self.alpha0, c1=self.c1,
                      shrink=self.shrink, max_evals=self.max_evals)

    def __repr__(self) -> str:
        return (f"Armijo(c1={self.c1!r}, shrink={self.shrink!r}, max_evals={self.max_evals!r}, "
                f"alpha0={self.alpha0!r})")


class StrongWolfe:
    """Strong Wolfe line search with fixed parameters; see :func:`strong_wolfe`.

    Parameters
    ----------
    c1, c2 : float, default 1e-4 and 0.9
        ``0 < c1 < c2 < 1``.
    max_evals : int, default 30
        ``>= 1``.
    alpha_max : float, default 1e10
        The largest step tried.
    alpha0 : float, default 1.0
        The first trial step, in ``(0, alpha_max]``. (On :class:`~steepest.optim.SGD` it
        multiplies the learning rate.)
    """

    def __init__(self, c1: float = 1e-4, c2: float = 0.9, max_evals: int = 30,
                 alpha_max: float = 1e10, alpha0: float = 1.0) -> None:
        self.c1, self.c2 = _check_wolfe_constants("StrongWolfe", c1, c2)
        self.max_evals = check_int("StrongWolfe", "max_evals", max_evals, 1)
        self.alpha_max = check_real("StrongWolfe", "alpha_max", alpha_max, 0.0, low_open=True)
        self.alpha0 = check_real("StrongWolfe", "alpha0", alpha0, 0.0, self.alpha_max,
                                 low_open=True)

    def search(self, fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
               g0: np.ndarray) -> LineSearchResult:
        """Run :func:`strong_wolfe` from ``x`` along ``direction`` with these parameters."""
        return strong_wolfe(fun_and_grad, x, direction, f0, g0, alpha0=self.alpha0, c1=self.c1,
                            c2=self.c2, max_evals=self.max_evals, alpha_max=self.alpha_max)

    def __repr__(self) -> str:
        return (f"StrongWolfe(c1={self.c1!r}, c2={self.c2!r}, max_evals={self.max_evals!r}, "
                f"alpha_max={self.alpha_max!r}, alpha0={self.alpha0!r})")


class MoreThuente:
    """Moré and Thuente's line search with fixed parameters; see :func:`more_thuente`.

    Parameters
    ----------
    c1, c2 : float, default 1e-3 and 0.9
        ``0 < c1 < c2 < 1`` (L-BFGS-B's values).
    xtol : float, default 0.1
        In ``[0, 1)``.
    alpha_min, alpha_max : float, default 0.0 and 1e10
        ``0 <= alpha_min < alpha_max``.
    max_evals : int, default 20
        ``>= 1``.
    alpha0 : float, default 1.0
        The first trial step, in ``[alpha_min, alpha_max]`` and ``> 0``. (On
        :class:`~steepest.optim.SGD` it multiplies the learning rate.)
    """

    def __init__(self, c1: float = 1e-3, c2: float = 0.9, xtol: float = 0.1,
                 alpha_min: float = 0.0, alpha_max: float = 1e10, max_evals: int = 20,
                 alpha0: float = 1.0) -> None:
        owner = "MoreThuente"
        self.c1, self.c2 = _check_wolfe_constants(owner, c1, c2)
        self.xtol = check_real(owner, "xtol", xtol, 0.0, 1.0, high_open=True)
        self.alpha_min = check_real(owner, "alpha_min", alpha_min, 0.0)
        self.alpha_max = check_real(owner, "alpha_max", alpha_max, self.alpha_min, low_open=True)
        self.max_evals = check_int(owner, "max_evals", max_evals, 1)
        self.alpha0 = check_real(owner, "alpha0", alpha0, self.alpha_min, self.alpha_max)
        if not self.alpha0 > 0:
            raise ValueError(f"{owner}: alpha0 must be > 0, got {self.alpha0!r}")

    def search(self, fun_and_grad: FunAndGrad, x: np.ndarray, direction: np.ndarray, f0: float,
               g0: np.ndarray) -> LineSearchResult:
        """Run :func:`more_thuente` from ``x`` along ``direction`` with these parameters."""
        return more_thuente(fun_and_grad, x, direction, f0, g0, alpha0=self.alpha0, c1=self.c1,
                            c2=self.c2, xtol=self.xtol, alpha_min=self.alpha_min,
                            alpha_max=self.alpha_max, max_evals=self.max_evals)

    def __repr__(self) -> str:
        return (f"MoreThuente(c1={self.c1!r}, c2={self.c2!r}, xtol={self.xtol!r}, "
                f"alpha_min={self.alpha_min!r}, alpha_max={self.alpha_max!r}, "
                f"max_evals={self.max_evals!r}, alpha0={self.alpha0!r})")


_NAMES = {"armijo": Armijo, "wolfe": StrongWolfe, "strong_wolfe": StrongWolfe,
          "more-thuente": MoreThuente, "more_thuente": MoreThuente}


def get(spec: str | Armijo | StrongWolfe | MoreThuente | None, owner: str = "line_search"
        ) -> Armijo | StrongWolfe | MoreThuente | Any | None:
    """Turn a ``line_search=`` argument into a search object.

    Parameters
    ----------
    spec : {"armijo", "wolfe", "strong_wolfe", "more-thuente", "more_thuente"}, search object or None
        A name gives the search with default parameters (any case); an object with a ``search``
        method (:class:`Armijo`, :class:`StrongWolfe`, :class:`MoreThuente` or your own with the
        same signature) is returned as it is; ``None`` means no line search.
    owner : str
        Who asks, for the error message.

    Returns
    -------
    Armijo, StrongWolfe, MoreThuente, the given object, or None
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec.lower() not in _NAMES:
            raise ValueError(f"{owner}: line_search must be one of 'armijo', 'wolfe', "
                             f"'strong_wolfe', 'more-thuente', an Armijo/StrongWolfe/MoreThuente "
                             f"object or None; got {spec!r}")
        return _NAMES[spec.lower()]()
    if callable(getattr(spec, "search", None)):
        return spec
    raise TypeError(f"{owner}: line_search must be 'armijo', 'wolfe', 'more-thuente', a search "
                    f"object or None; got {spec!r}")
