"""Newton, BFGS, L-BFGS and nonlinear conjugate gradients: one iteration at a time.

Each method is a small class whose :meth:`~Method.step` takes the current point (flat float64
vectors ``x``, ``f``, ``g``) and returns the next one found by a line search along its
direction, with the evaluations it spent. :func:`steepest.minimize` drives them
(``method="newton"``, ``"bfgs"``, ``"lbfgs"``, ``"cg"``) and keeps the trace; the line searches
are those of :mod:`steepest.optim.line_search`.

Reference for all four: Nocedal and Wright, *Numerical Optimization*, 2nd ed., Springer 2006
(chapters 3, 5, 6 and 7).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_int
from .optim import line_search as _line_search

__all__ = ["METHODS", "Step", "StepFailure", "Method", "Newton", "BFGS", "LBFGSMethod",
           "ConjugateGradient", "create"]

#: The second-order and quasi-Newton methods of :func:`steepest.minimize`.
METHODS: tuple[str, ...] = ("newton", "bfgs", "lbfgs", "cg")

_EPS = float(np.finfo(np.float64).eps)
FunAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
Hessian = Callable[[np.ndarray], np.ndarray]


@dataclass
class Step:
    """One accepted iteration: the new point, the step length along the direction, the cost."""

    x: np.ndarray
    fun: float
    grad: np.ndarray
    alpha: float
    nfev: int
    njev: int


class StepFailure(Exception):
    """No next iterate: ``status`` is minimize's code (3 non-finite, 6 line search failed)."""

    def __init__(self, status: int, message: str, nfev: int = 0, njev: int = 0) -> None:
        super().__init__(message)
        self.status, self.nfev, self.njev = status, nfev, njev


def _first_trial(g: np.ndarray) -> float:
    """A first trial step of length 1 along ``-g`` (and never above 1): there is no curvature
    information yet to scale the gradient with."""
    norm = float(np.linalg.norm(g))
    return min(1.0, 1.0 / norm) if norm > 0 else 1.0


class Method:
    """Shared by the four methods: the line search, and the step along a direction."""

    name = ""

    def __init__(self, evaluate: FunAndGrad, search: Any) -> None:
        self.evaluate = evaluate
        self.search = search
        self.steepest = False  # whether this iteration's direction is -g

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def trial(self, f: float, g: np.ndarray, d: np.ndarray) -> float:
        return 1.0

    def step(self, x: np.ndarray, f: float, g: np.ndarray) -> Step:
        """The next iterate ``x + alpha d``; raises :class:`StepFailure` when there is none."""
        self.steepest = False
        d = self.direction(x, f, g)
        if not np.vdot(g, d) < 0:  # rounding made it no descent direction: fall back to -g
            d = self.restart(g)
        found = self._search(x, d, f, g, self.trial(f, g, d))
        nfev, njev = found.nfev, found.njev
        if not found.success and not self.steepest:
            # A poor model (quasi-Newton matrix, modified Hessian) can give a direction along
            # which no acceptable step exists; -g always has one for smooth f.
            d = self.restart(g)
            found = self._search(x, d, f, g, _first_trial(g))
            nfev, njev = nfev + found.nfev, njev + found.njev
        if not found.success:
            raise StepFailure(6, found.message, nfev, njev)
        x_new = x + found.step * d
        g_new = np.asarray(found.grad, dtype=np.float64)
        self.update(x, f, g, x_new, g_new, found.step, d)
        return Step(x_new, float(found.fun), g_new, float(found.step), nfev, njev)

    def _search(self, x: np.ndarray, d: np.ndarray, f: float, g: np.ndarray,
                alpha0: float) -> Any:
        search = self.search
        if isinstance(search, _line_search.StrongWolfe | _line_search.Armijo):
            alpha0 = min(alpha0 * search.alpha0, getattr(search, "alpha_max", math.inf))
            if isinstance(search, _line_search.StrongWolfe):
                return _line_search.strong_wolfe(self.evaluate, x, d, f, g, alpha0=alpha0,
                                                 c1=search.c1, c2=search.c2,
                                                 max_evals=search.max_evals,
                                                 alpha_max=search.alpha_max)
            return _line_search.armijo(self.evaluate, x, d, f, g, alpha0=alpha0, c1=search.c1,
                                       shrink=search.shrink, max_evals=search.max_evals)
        return search.search(self.evaluate, x, d, f, g)  # a user's own search object

    def restart(self, g: np.ndarray) -> np.ndarray:
        """Forget the curvature model and return the steepest-descent direction."""
        self.steepest = True
        return -g

    def update(self, x: np.ndarray, f: float, g: np.ndarray, x_new: np.ndarray,
               g_new: np.ndarray, alpha: float, d: np.ndarray) -> None:
        """Learn from the accepted step (nothing, for Newton)."""


# --------------------------------------------------------------------------- Newton
@dataclass
class _Curvature:
    """What Newton saw of the Hessian over a run, for the diagnostics."""

    indefinite: list[tuple[int, float]] = field(default_factory=list)  # (iteration, lambda_min)
    singular: list[int] = field(default_factory=list)


class Newton(Method):
    r"""Newton's method with an eigenvalue modification and a line search.

    At :math:`x_k` the Hessian :math:`H_k = Q \Lambda Q^\top` is modified to
    :math:`\tilde H_k = Q \max(|\Lambda|, \delta) Q^\top` with
    :math:`\delta = \max(n, 10)\,\epsilon \max_i |\lambda_i|` (:math:`\epsilon` the machine
    epsilon: eigenvalues below this are rounding noise of the eigensolver), and

    .. math::

        d_k = -\tilde H_k^{-1} \nabla f(x_k), \qquad x_{k+1} = x_k + \alpha_k d_k,

    with :math:`\alpha_k` from a strong Wolfe (or Armijo) search that tries the full step
    :math:`\alpha = 1` first. Where :math:`H_k` is positive definite (near a non-degenerate
    minimum) this is the pure Newton step, and convergence is quadratic; where it is indefinite,
    taking absolute values of the eigenvalues (Greenstadt, "On the relative efficiencies of
    gradient methods", Math. Comp. 1967; Nocedal and Wright sec. 3.4) keeps :math:`d_k` a
    descent direction that moves *away* from a saddle along negative curvature, and raising
    tiny eigenvalues to :math:`\delta` keeps a singular Hessian from making the step infinite.
    Each modified iteration is counted and reported in the run's diagnostics.

    Parameters
    ----------
    evaluate : callable
        ``x -> (f, grad)`` on flat vectors.
    hessian : callable
        ``x -> (n, n)`` Hessian on flat vectors.
    search : line search object
    """

    name = "newton"

    def __init__(self, evaluate: FunAndGrad, hessian: Hessian, search: Any) -> None:
        super().__init__(evaluate, search)
        self.hessian = hessian
        self.nhev = 0
        self.iteration = 0
        self.curvature = _Curvature()
        self.last_eigenvalues: np.ndarray | None = None

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        H = np.asarray(self.hessian(x), dtype=np.float64)
        self.nhev += 1
        k, self.iteration = self.iteration, self.iteration + 1
        n = x.size
        if H.shape != (n, n):
            raise ValueError(f"minimize: the Hessian must have shape ({n}, {n}) for x of {n} "
                             f"entries, got {H.shape}")
        if not np.isfinite(H).all():
            raise StepFailure(3, f"the Hessian is not finite at iteration {k}")
        values, vectors = np.linalg.eigh(0.5 * (H + H.T))  # finite and symmetric: eigh converges
        self.last_eigenvalues = values
        scale = float(np.max(np.abs(values)))
        if scale == 0.0:  # no curvature at all: a gradient step, scaled by the line search
            self.curvature.singular.append(k)
            return self.restart(g)
        delta = max(n, 10) * _EPS * scale  # the size below which eigh cannot resolve one
        if values[0] < -delta:
            self.curvature.indefinite.append((k, float(values[0])))
        elif values[0] < delta:
            self.curvature.singular.append(k)
        modified = np.maximum(np.abs(values), delta)
        return -(vectors @ ((vectors.T @ g) / modified))

    def trial(self, f: float, g: np.ndarray, d: np.ndarray) -> float:
        return _first_trial(g) if self.steepest else 1.0

    def report(self) -> list[str]:
        """The diagnostics: where the Hessian was indefinite or singular, and what was done."""
        notes = []
        bad = self.curvature.indefinite
        if bad:
            where = ", ".join(str(k) for k, _ in bad[:8]) + (", ..." if len(bad) > 8 else "")
            low = min(v for _, v in bad)
            notes.append(f"the Hessian was indefinite at {len(bad)} of {self.iteration} "
                         f"iterations ({where}; smallest eigenvalue {low:.3g}): Newton used "
                         "the absolute values of its eigenvalues there (eigenvalue "
                         "modification), a descent direction away from the saddle")
        flat = self.curvature.singular
        if flat:
            where = ", ".join(str(k) for k in flat[:8]) + (", ..." if len(flat) > 8 else "")
            notes.append(f"the Hessian was singular at {len(flat)} of {self.iteration} "
                         f"iterations ({where}): eigenvalues below rounding level (about 1e-15 "
                         "of the largest) were raised to that level; expect linear, not "
                         "quadratic, convergence near a singular minimum")
        values = self.last_eigenvalues
        if values is not None and not flat and values[-1] > 0 and \
                abs(values[0]) < 1e-6 * abs(values[-1]):
            notes.append(f"the Hessian is nearly singular at the last iterate (smallest "
                         f"eigenvalue {values[0]:.3g}, largest {values[-1]:.3g}): Newton "
                         "converges only linearly near a singular minimum")
        return notes


# --------------------------------------------------------------------------- BFGS
class BFGS(Method):
    r"""BFGS: a dense inverse-Hessian approximation updated from gradient differences.

    With :math:`s_k = x_{k+1} - x_k`, :math:`y_k = \nabla f_{k+1} - \nabla f_k` and
    :math:`\rho_k = 1/y_k^\top s_k`,

    .. math::

        d_k = -H_k \nabla f(x_k), \qquad
        H_{k+1} = (I - \rho_k s_k y_k^\top) H_k (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top

    (Nocedal and Wright, Algorithm 6.1), with a strong Wolfe search (which makes
    :math:`y_k^\top s_k > 0`), :math:`H_0 = I` rescaled to
    :math:`(y_0^\top s_0 / y_0^\top y_0) I` before the first update (their eq. 6.20), and the
    update skipped when :math:`y_k^\top s_k \le \epsilon \lVert s_k\rVert \lVert y_k\rVert`.
    Convergence is superlinear near a minimum with a positive definite Hessian.
    """

    name = "bfgs"

    def __init__(self, evaluate: FunAndGrad, search: Any, n: int) -> None:
        super().__init__(evaluate, search)
        self.H = np.eye(n)
        self.updates = 0
        self.skipped = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        self.steepest = self.updates == 0  # H is still the identity
        return -(self.H @ g)

    def trial(self, f: float, g: np.ndarray, d: np.ndarray) -> float:
        return _first_trial(g) if self.updates == 0 else 1.0

    def restart(self, g: np.ndarray) -> np.ndarray:
        self.H = np.eye(g.size)
        self.updates = 0
        return super().restart(g)

    def update(self, x: np.ndarray, f: float, g: np.ndarray, x_new: np.ndarray,
               g_new: np.ndarray, alpha: float, d: np.ndarray) -> None:
        s, y = x_new - x, g_new - g
        ys = float(y @ s)
        if not ys > _EPS * float(np.linalg.norm(s) * np.linalg.norm(y)):
            self.skipped += 1
            return
        if self.updates == 0:
            self.H *= ys / float(y @ y)
        rho = 1.0 / ys
        Hy = self.H @ y
        # The update expanded, O(n^2): H + (rho^2 y'Hy + rho) ss' - rho (Hy s' + s y'H).
        self.H += (rho * rho * float(y @ Hy) + rho) * np.outer(s, s) \
            - rho * (np.outer(Hy, s) + np.outer(s, Hy))
        self.updates += 1


# --------------------------------------------------------------------------- L-BFGS
class LBFGSMethod(Method):
    r"""Limited-memory BFGS: the last ``history_size`` pairs instead of a dense matrix.

    The direction :math:`d_k = -H_k \nabla f(x_k)` comes from the two-loop recursion over the
    last :math:`m` pairs :math:`(s_i, y_i)`, :math:`\rho_i = 1/y_i^\top s_i`, with
    :math:`H_k^0 = \gamma_k I`, :math:`\gamma_k = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1}`
    (Nocedal, Math. Comp. 1980; Nocedal and Wright, Algorithm 7.4), implicitly applying

    .. math::

        H_{i+1} = (I - \rho_i s_i y_i^\top) H_i (I - \rho_i y_i s_i^\top)
                  + \rho_i s_i s_i^\top, \qquad x_{k+1} = x_k + \alpha_k d_k,

    with :math:`\alpha_k` from a strong Wolfe search started at 1 (at :math:`1/\lVert g_0\rVert`
    on the first iteration). Memory and work per iteration are :math:`O(m n)`. A pair is kept
    when :math:`y^\top s > \epsilon \lVert y\rVert \lVert s\rVert`, a test relative to the
    sizes of the vectors. (:class:`steepest.optim.LBFGS` keeps PyTorch's absolute test
    :math:`y^\top s > 10^{-10}` for parity, which drops every pair, and so all curvature, on a
    problem whose values are small, e.g. Moré–Garbow–Hillstrom's Gaussian, f ~ 1e-8.)
    """

    name = "lbfgs"

    def __init__(self, evaluate: FunAndGrad, search: Any, history_size: int) -> None:
        super().__init__(evaluate, search)
        self.history_size = history_size
        self.pairs: list[tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, rho), oldest first

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        self.steepest = not self.pairs
        if not self.pairs:
            return -g
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            alphas.append(a)
            q -= a * y
        s, y, _ = self.pairs[-1]
        r = q * (float(s @ y) / float(y @ y))
        for (s, y, rho), a in zip(self.pairs, reversed(alphas), strict=True):
            r += (a - rho * float(y @ r)) * s
        return -r

    def trial(self, f: float, g: np.ndarray, d: np.ndarray) -> float:
        return _first_trial(g) if not self.pairs else 1.0

    def restart(self, g: np.ndarray) -> np.ndarray:
        self.pairs = []
        return super().restart(g)

    def update(self, x: np.ndarray, f: float, g: np.ndarray, x_new: np.ndarray,
               g_new: np.ndarray, alpha: float, d: np.ndarray) -> None:
        s, y = x_new - x, g_new - g
        ys = float(y @ s)
        if ys > _EPS * float(np.linalg.norm(y) * np.linalg.norm(s)):
            if len(self.pairs) == self.history_size:
                del self.pairs[0]
            self.pairs.append((s, y, 1.0 / ys))


# --------------------------------------------------------------------------- CG
class ConjugateGradient(Method):
    r"""Nonlinear conjugate gradients, Polak–Ribière+ with restarts.

    .. math::

        d_0 = -g_0, \qquad d_{k+1} = -g_{k+1} + \beta_{k+1} d_k, \qquad
        \beta_{k+1} = \max\Bigl(0, \frac{g_{k+1}^\top (g_{k+1} - g_k)}{g_k^\top g_k}\Bigr)

    (Polak and Ribière 1969; the ``max`` is Powell's PR+, Nocedal and Wright eq. 5.45). The
    method restarts with :math:`d = -g` every ``restart`` iterations (the dimension by
    default), when successive gradients are far from orthogonal,
    :math:`|g_{k+1}^\top g_k| \ge 0.2\, g_{k+1}^\top g_{k+1}` (Powell 1977), and when
    :math:`d_{k+1}` is not a descent direction. Steps come from a strong Wolfe search with
    :math:`c_2 = 0.1` (the usual choice for CG), started at
    :math:`\min(1, 2.02 (f_k - f_{k-1}) / g_k^\top d_k)` (Nocedal and Wright eq. 3.60).
    """

    name = "cg"

    def __init__(self, evaluate: FunAndGrad, search: Any, restart_every: int) -> None:
        super().__init__(evaluate, search)
        self.restart_every = restart_every
        self.d: np.ndarray | None = None
        self.since_restart = 0
        self.f_previous: float | None = None
        self.restarts = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        if self.d is None:
            return self.restart(g)
        return self.d

    def trial(self, f: float, g: np.ndarray, d: np.ndarray) -> float:
        slope = float(g @ d)
        if self.f_previous is None:
            self.f_previous = f + 0.5 * float(np.linalg.norm(g))
        guess = 2.02 * (f - self.f_previous) / slope
        return min(1.0, guess) if guess > 0 and math.isfinite(guess) else 1.0

    def restart(self, g: np.ndarray) -> np.ndarray:
        self.since_restart = 0
        self.restarts += 1
        return super().restart(g)

    def update(self, x: np.ndarray, f: float, g: np.ndarray, x_new: np.ndarray,
               g_new: np.ndarray, alpha: float, d: np.ndarray) -> None:
        self.f_previous = f
        self.since_restart += 1
        gg = float(g @ g)
        g_new_sq = float(g_new @ g_new)
        if (self.since_restart >= self.restart_every or gg == 0.0
                or abs(float(g_new @ g)) >= 0.2 * g_new_sq):
            self.d = None
            return
        beta = max(0.0, float(g_new @ (g_new - g)) / gg)
        d_new = -g_new + beta * d
        self.d = d_new if float(g_new @ d_new) < 0 else None


# --------------------------------------------------------------------------- construction
_DEFAULT_C2 = {"newton": 0.9, "bfgs": 0.9, "lbfgs": 0.9, "cg": 0.1}


def create(method: str, evaluate: FunAndGrad, n: int, *, line_search: Any = None,
           hessian: Hessian | None = None, options: dict[str, Any] | None = None) -> Method:
    """Build one of :data:`METHODS` for flat vectors of ``n`` entries.

    Parameters
    ----------
    method : {"newton", "bfgs", "lbfgs", "cg"}
    evaluate : callable
        ``x -> (f, grad)`` on flat float64 vectors.
    n : int
        The dimension.
    line_search : {"wolfe", "strong_wolfe", "armijo"}, search object or None
        Default: strong Wolfe with :math:`c_1 = 10^{-4}` and :math:`c_2 = 0.9` (0.1 for CG).
        Armijo backtracking suits Newton only: the quasi-Newton updates and CG need the
        curvature condition.
    hessian : callable, optional
        ``x -> (n, n)`` array; required by ``newton``.
    options : dict, optional
        ``history_size`` (lbfgs, default 10) and ``restart`` (cg, default ``n``).

    Returns
    -------
    Method
    """
    options = dict(options or {})
    allowed = {"newton": (), "bfgs": (), "lbfgs": ("history_size",), "cg": ("restart",)}[method]
    for key in options:
        if key not in allowed:
            takes = f"its options are: {', '.join(allowed)}" if allowed else "it takes none"
            raise TypeError(f"minimize: method {method!r} takes no option {key!r}; {takes}")
    search = _search(method, line_search)
    if method == "newton":
        assert hessian is not None
        return Newton(evaluate, hessian, search)
    if method == "bfgs":
        return BFGS(evaluate, search, n)
    if method == "lbfgs":
        size = check_int("minimize", "history_size", options.get("history_size", 10), low=1)
        return LBFGSMethod(evaluate, search, size)
    every = check_int("minimize", "restart", options.get("restart", n), low=1)
    return ConjugateGradient(evaluate, search, every)


def _search(method: str, line_search: Any) -> Any:
    if line_search is None:
        return _line_search.StrongWolfe(c2=_DEFAULT_C2[method])
    search = _line_search.get(line_search, owner="minimize")
    if isinstance(search, _line_search.Armijo) and method != "newton":
        raise ValueError(f"minimize: method {method!r} needs a line search that enforces the "
                         "curvature condition (line_search='wolfe'); Armijo backtracking suits "
                         "method='newton' only")
    if isinstance(line_search, str) and isinstance(search, _line_search.StrongWolfe):
        search = _line_search.StrongWolfe(c2=_DEFAULT_C2[method])
    return search


def check_lr(method: str, lr: Any) -> None:
    """Second-order methods choose their own steps: a learning rate is an error, not ignored."""
    if lr is not None:
        raise ValueError(f"minimize: method {method!r} chooses each step by a line search (the "
                         f"full step first); it takes no lr, got lr={lr!r}")

