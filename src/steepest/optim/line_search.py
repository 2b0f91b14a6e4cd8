"""Line searches along a descent direction: Armijo backtracking and strong Wolfe (with zoom).

Both work on plain arrays through ``fun_and_grad(x) -> (f(x), grad f(x))`` and look for a step
:math:`\\alpha > 0` along a direction :math:`d` with :math:`\\nabla f(x)^T d < 0`. Writing
:math:`\\phi(\\alpha) = f(x + \\alpha d)`, the conditions are

.. math::

    \\text{sufficient decrease (Armijo):}\\quad
        \\phi(\\alpha) \\le \\phi(0) + c_1 \\alpha \\phi'(0),

    \\text{strong curvature:}\\quad |\\phi'(\\alpha)| \\le c_2 |\\phi'(0)|,

with :math:`0 < c_1 < c_2 < 1` (Nocedal and Wright, *Numerical Optimization*, 2nd ed., 2006,
section 3.1; the strong Wolfe search is their Algorithms 3.5 and 3.6).

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
           "Armijo", "StrongWolfe", "get"]

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
        Whether the accepted step satisfies the search's conditions.
    message : str
        What happened, in words.
    """

    step: float
    fun: float
    grad: np.ndarray
    nfev: int
    njev: int
    success: bool
    message: str


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
               message: str) -> LineSearchResult:
        return LineSearchResult(alpha, f, g, self.evals, self.evals, success, message)


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


_NAMES = {"armijo": Armijo, "wolfe": StrongWolfe, "strong_wolfe": StrongWolfe}


def get(spec: str | Armijo | StrongWolfe | None, owner: str = "line_search"
        ) -> Armijo | StrongWolfe | Any | None:
    """Turn a ``line_search=`` argument into a search object.

    Parameters
    ----------
    spec : {"armijo", "wolfe", "strong_wolfe"}, search object or None
        A name gives the search with default parameters; an object with a ``search`` method
        (:class:`Armijo`, :class:`StrongWolfe` or your own with the same signature) is returned
        as it is; ``None`` means no line search.
    owner : str
        Who asks, for the error message.

    Returns
    -------
    Armijo, StrongWolfe, the given object, or None
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec.lower() not in _NAMES:
            raise ValueError(f"{owner}: line_search must be one of 'armijo', 'wolfe', "
                             f"'strong_wolfe', an Armijo/StrongWolfe object or None; got {spec!r}")
        return _NAMES[spec.lower()]()
    if callable(getattr(spec, "search", None)):
        return spec
    raise TypeError(f"{owner}: line_search must be 'armijo', 'wolfe', an Armijo/StrongWolfe "
                    f"object or None; got {spec!r}")
