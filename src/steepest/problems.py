"""Test functions with known minimisers, for watching optimisers work.

Every problem is a :class:`Problem`: the objective written once with Tensor operations (so that
:func:`steepest.minimize` can differentiate it), a NumPy value and a hand-derived NumPy gradient
(fast, and checked against the engine in the tests), its minimiser(s) and minimum, a sensible
starting point, and for 2-D problems a plotting window.

Examples
--------
>>> import steepest as st
>>> p = st.problems.get("rosenbrock")
>>> p.value(p.minimizers[0]), p.grad(p.x0)
(0.0, array([-215.6,  -88. ]))
>>> q = st.problems.get("quadratic", dim=10, kappa=100)
>>> q.L / q.mu
100.0
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validation import check_choice, check_int, check_real
from .autodiff import ops
from .autodiff.tensor import Tensor, as_array

__all__ = [
    "Problem", "NAMES", "get", "quadratic", "rosenbrock", "beale", "himmelblau", "saddle",
    "monkey_saddle", "rastrigin", "logistic_regression",
]

Window = tuple[tuple[float, float], tuple[float, float]]


class Problem:
    """An objective :math:`f: \\mathbb{R}^d \\to \\mathbb{R}` with what is known about it.

    Parameters
    ----------
    name : str
    dim : int
    expression : callable
        The objective on a Tensor of shape ``(dim,)``, returning a scalar Tensor.
    value : callable
        The objective on an ndarray of shape ``(dim,)`` (a float) or ``(dim, *grid)`` (an array of
        shape ``grid``, for contour plots).
    gradient : callable
        The gradient on an ndarray of shape ``(dim,)``.
    minimizers : sequence of array_like
        The global minimisers (empty when ``f`` is unbounded below).
    f_min : float
        The minimum value (``-inf`` when unbounded below).
    x0 : array_like
        A sensible starting point.
    window : ((xmin, xmax), (ymin, ymax)), optional
        Plotting window of a 2-D problem.
    L, mu : float, optional
        Lipschitz constant of the gradient and strong-convexity constant, where known.
    saddle_points : sequence of array_like, optional
        Known saddle points.
    description : str, optional
        The formula and its reference.

    Attributes
    ----------
    name, dim, minimizers, f_min, x0, window, L, mu, saddle_points, description
        As given; arrays are float64 and read-only.
    """

    def __init__(self, name: str, dim: int, expression: Callable[[Tensor], Tensor],
                 value: Callable[[np.ndarray], Any], gradient: Callable[[np.ndarray], np.ndarray],
                 *, minimizers: Sequence[Any], f_min: float, x0: Any, window: Window | None = None,
                 L: float | None = None, mu: float | None = None,
                 saddle_points: Sequence[Any] = (), description: str = "") -> None:
        self.name = name
        self.dim = dim
        self._expression = expression
        self._value = value
        self._gradient = gradient
        self.minimizers = [_frozen(m) for m in minimizers]
        self.f_min = float(f_min)
        self.x0 = _frozen(x0)
        self.window = window
        self.L = L
        self.mu = mu
        self.saddle_points = [_frozen(s) for s in saddle_points]
        self.description = description

    def f(self, x: Any) -> Tensor:
        """The objective as a scalar Tensor (recording the graph when ``x`` requires grad).

        ``x`` may be a Tensor or anything array-like, which is read as float64.
        """
        if not isinstance(x, Tensor):
            x = Tensor(as_array(x, np.float64))
        self._check_point(x.data.shape, "f")
        return self._expression(x)

    __call__ = f

    def value(self, x: Any) -> float | np.ndarray:
        """The objective in NumPy: a float for ``x`` of shape ``(dim,)``; for ``x`` of shape
        ``(dim, *grid)`` an array of shape ``grid`` (one value per grid point)."""
        x = as_array(x, np.float64)
        if x.ndim == 0 or x.shape[0] != self.dim:
            raise ValueError(f"{self.name}.value: x must have shape ({self.dim},) or "
                             f"({self.dim}, ...), got {x.shape}")
        out = self._value(x)
        return float(out) if x.ndim == 1 else np.asarray(out)

    def grad(self, x: Any) -> np.ndarray:
        """The gradient in NumPy at ``x`` of shape ``(dim,)``."""
        x = as_array(x, np.float64)
        self._check_point(x.shape, "grad")
        return self._gradient(x)

    def value_and_grad(self, x: Any) -> tuple[float, np.ndarray]:
        """``(value(x), grad(x))`` for ``x`` of shape ``(dim,)``."""
        x = as_array(x, np.float64)
        self._check_point(x.shape, "value_and_grad")
        return float(self._value(x)), self._gradient(x)

    def distance(self, x: Any) -> float:
        """Euclidean distance from ``x`` to the nearest minimiser (``inf`` if there is none)."""
        x = as_array(x, np.float64)
        self._check_point(x.shape, "distance")
        if not self.minimizers:
            return math.inf
        return min(float(np.linalg.norm(x - m)) for m in self.minimizers)

    def _check_point(self, shape: tuple[int, ...], method: str) -> None:
        if shape != (self.dim,):
            raise ValueError(f"{self.name}.{method}: x must have shape ({self.dim},), got {shape}")

    def __repr__(self) -> str:
        known = f", L={self.L:.6g}, mu={self.mu:.6g}" if self.L is not None else ""
        return (f"Problem({self.name!r}, dim={self.dim}, f_min={self.f_min:.6g}, "
                f"minimizers={len(self.minimizers)}{known})")


def _frozen(x: Any) -> np.ndarray:
    array = np.array(x, dtype=np.float64)
    array.setflags(write=False)
    return array


def _cos(x: Any) -> Any:
    return x.cos() if isinstance(x, Tensor) else np.cos(x)


# --------------------------------------------------------------------------- quadratic
def quadratic(dim: int = 2, kappa: float = 10.0, mu: float = 1.0, center: Any = None,
              seed: int = 0) -> Problem:
    """A strongly convex quadratic with a chosen condition number.

    .. math:: f(x) = \\tfrac12 (x - c)^T A (x - c), \\qquad A = Q \\Lambda Q^T

    The eigenvalues of :math:`A` are spaced geometrically from :math:`\\mu` to :math:`L = \\kappa
    \\mu` (both included), and :math:`Q` is a random rotation drawn from ``seed`` (the library's
    generator is not touched). ``L``, ``mu`` and the minimiser :math:`c` are exact; :math:`f^* =
    0`. The start lies on the diagonal of the eigenbasis, so every eigen-direction (the slowest
    one included) carries error.

    Parameters
    ----------
    dim : int, default 2
    kappa : float, default 10
        Condition number :math:`L / \\mu`, at least 1 (exactly 1 when ``dim`` is 1).
    mu : float, default 1
        Smallest eigenvalue, positive.
    center : array_like of shape (dim,), optional
        The minimiser (zeros by default).
    seed : int, default 0
        Seed of the rotation.

    Returns
    -------
    Problem
        With two more attributes: ``A`` (the Hessian) and ``eigenvalues`` (its spectrum,
        increasing).
    """
    dim = check_int("quadratic", "dim", dim, low=1)
    kappa = check_real("quadratic", "kappa", kappa, low=1.0)
    mu = check_real("quadratic", "mu", mu, low=0.0, low_open=True)
    seed = check_int("quadratic", "seed", seed, low=0)
    if dim == 1 and kappa != 1.0:
        raise ValueError(f"quadratic: kappa must be 1 when dim is 1 (one eigenvalue), got {kappa!r}")
    c = np.zeros(dim) if center is None else as_array(center, np.float64).copy()
    if c.shape != (dim,) or not np.isfinite(c).all():
        raise ValueError(f"quadratic: center must be a finite array of shape ({dim},), "
                         f"got {np.asarray(center)!r}")
    L = kappa * mu
    eigenvalues = np.geomspace(mu, L, dim)
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    Q = Q * np.sign(np.diag(R))  # a unique (Haar-distributed) rotation for the seed
    A = (Q * eigenvalues) @ Q.T
    A = 0.5 * (A + A.T)
    A_tensor = Tensor(A)

    def expression(x: Tensor) -> Tensor:
        d = x - c
        return 0.5 * (d * (A_tensor @ d)).sum()

    def value(x: np.ndarray) -> Any:
        d = (x - c.reshape((dim,) + (1,) * (x.ndim - 1))).reshape(dim, -1)
        return 0.5 * np.einsum("ij,ij->j", d, A @ d).reshape(x.shape[1:])

    def gradient(x: np.ndarray) -> np.ndarray:
        return A @ (x - c)

    x0 = c + Q @ np.full(dim, 2.0)
    reach = 1.5 * float(np.max(np.abs(x0 - c)))
    problem = Problem(
        "quadratic", dim, expression, value, gradient, minimizers=[c], f_min=0.0, x0=x0,
        window=_window_around(c, reach) if dim == 2 else None, L=L, mu=mu,
        description=f"0.5 (x-c)^T A (x-c), eigenvalues of A geometric in [{mu:g}, {L:g}]",
    )
    problem.A = _frozen(A)
    problem.eigenvalues = _frozen(eigenvalues)
    return problem


def _window_around(c: np.ndarray, reach: float) -> Window:
    return ((float(c[0] - reach), float(c[0] + reach)), (float(c[1] - reach), float(c[1] + reach)))


# --------------------------------------------------------------------------- Rosenbrock
def rosenbrock(dim: int = 2, b: float = 100.0) -> Problem:
    """Rosenbrock's banana valley in any dimension (Rosenbrock 1960; the chained form).

    .. math:: f(x) = \\sum_{i=1}^{d-1} b\\,(x_{i+1} - x_i^2)^2 + (1 - x_i)^2

    The global minimiser is :math:`(1, \\dots, 1)` with :math:`f^* = 0`; the start is the
    classic :math:`(-1.2, 1, -1.2, \\dots)`.
    """
    dim = check_int("rosenbrock", "dim", dim, low=2)
    b = check_real("rosenbrock", "b", b, low=0.0, low_open=True)

    def expression(x: Any) -> Any:
        head = x[:-1]
        return (b * (x[1:] - head * head) ** 2 + (1.0 - head) ** 2).sum(axis=0)

    def gradient(x: np.ndarray) -> np.ndarray:
        head = x[:-1]
        r = x[1:] - head * head
        g = np.zeros_like(x)
        g[:-1] = -4.0 * b * head * r - 2.0 * (1.0 - head)
        g[1:] += 2.0 * b * r
        return g

    x0 = np.where(np.arange(dim) % 2 == 0, -1.2, 1.0)
    # the window is a 2-D plotting box: None in other dimensions, as for quadratic and rastrigin
    window = ((-2.0, 2.0), (-1.0, 3.0)) if dim == 2 else None
    return Problem("rosenbrock", dim, expression, expression, gradient,
                   minimizers=[np.ones(dim)], f_min=0.0, x0=x0, window=window,
                   description=f"sum {b:g} (x[i+1] - x[i]^2)^2 + (1 - x[i])^2")


# --------------------------------------------------------------------------- 2-D classics
def beale() -> Problem:
    """Beale's function (Beale 1958), a flat valley between steep walls.

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Global minimiser :math:`(3, 0.5)`, :math:`f^* = 0`.
    """
    def expression(v: Any) -> Any:
        x, y = v[0], v[1]
        return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2
                + (2.625 - x + x * y * y * y) ** 2)

    def gradient(v: np.ndarray) -> np.ndarray:
        x, y = v
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y ** 3
        return np.array([
            2.0 * (t1 * (y - 1.0) + t2 * (y * y - 1.0) + t3 * (y ** 3 - 1.0)),
            2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y * y * t3),
        ])

    return Problem("beale", 2, expression, expression, gradient, minimizers=[[3.0, 0.5]],
                   f_min=0.0, x0=[1.0, 1.0], window=((-4.5, 4.5), (-4.5, 4.5)),
                   description="(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2")


#: Himmelblau's four global minimisers; all but (3, 2) refined by Newton's method to rounding.
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286169),
    (3.5844283403304917, -1.8481265269644034),
)


def himmelblau() -> Problem:
    """Himmelblau's function (Himmelblau 1972): four global minima of value 0.

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2
    """
    def expression(v: Any) -> Any:
        x, y = v[0], v[1]
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def gradient(v: np.ndarray) -> np.ndarray:
        x, y = v
        a, b = x * x + y - 11.0, x + y * y - 7.0
        return np.array([4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b])

    return Problem("himmelblau", 2, expression, expression, gradient,
                   minimizers=_HIMMELBLAU_MINIMA, f_min=0.0, x0=[0.0, 0.0],
                   window=((-5.0, 5.0), (-5.0, 5.0)), description="(x^2 + y - 11)^2 + (x + y^2 - 7)^2")


def saddle() -> Problem:
    """The saddle :math:`f(x, y) = x^2 - y^2`: a stationary point at the origin with Hessian
    eigenvalues 2 and -2, unbounded below (no minimiser, :math:`f^* = -\\infty`).

    The start lies just off the stable axis :math:`y = 0`, so that gradient descent first slides
    towards the saddle and then escapes along :math:`y`.
    """
    def expression(v: Any) -> Any:
        return v[0] * v[0] - v[1] * v[1]

    def gradient(v: np.ndarray) -> np.ndarray:
        return np.array([2.0 * v[0], -2.0 * v[1]])

    return Problem("saddle", 2, expression, expression, gradient, minimizers=[], f_min=-math.inf,
                   x0=[1.0, 1e-3], window=((-1.5, 1.5), (-1.5, 1.5)), saddle_points=[[0.0, 0.0]],
                   description="x^2 - y^2")


def monkey_saddle() -> Problem:
    """The monkey saddle :math:`f(x, y) = x^3 - 3xy^2`: a degenerate stationary point at the
    origin (the Hessian is zero there), three valleys, unbounded below."""
    def expression(v: Any) -> Any:
        x, y = v[0], v[1]
        return x * x * x - 3.0 * x * y * y

    def gradient(v: np.ndarray) -> np.ndarray:
        x, y = v
        return np.array([3.0 * (x * x - y * y), -6.0 * x * y])

    return Problem("monkey_saddle", 2, expression, expression, gradient, minimizers=[],
                   f_min=-math.inf, x0=[1.0, 0.1], window=((-1.5, 1.5), (-1.5, 1.5)),
                   saddle_points=[[0.0, 0.0]], description="x^3 - 3 x y^2")


def rastrigin(dim: int = 2, amplitude: float = 10.0) -> Problem:
    """Rastrigin's function (Rastrigin 1974): a bowl covered in local minima near the integers.

    .. math:: f(x) = A d + \\sum_{i=1}^{d} \\left(x_i^2 - A \\cos(2 \\pi x_i)\\right)

    Global minimiser :math:`0`, :math:`f^* = 0`.
    """
    dim = check_int("rastrigin", "dim", dim, low=1)
    amplitude = check_real("rastrigin", "amplitude", amplitude, low=0.0)
    two_pi = 2.0 * math.pi

    def expression(x: Any) -> Any:
        return (x * x - amplitude * _cos(two_pi * x)).sum(axis=0) + amplitude * dim

    def gradient(x: np.ndarray) -> np.ndarray:
        return 2.0 * x + two_pi * amplitude * np.sin(two_pi * x)

    x0 = np.where(np.arange(dim) % 2 == 0, -2.7, 3.3)
    return Problem("rastrigin", dim, expression, expression, gradient,
                   minimizers=[np.zeros(dim)], f_min=0.0, x0=x0,
                   window=((-5.12, 5.12), (-5.12, 5.12)) if dim == 2 else None,
                   description=f"{amplitude:g} d + sum x[i]^2 - {amplitude:g} cos(2 pi x[i])")


# --------------------------------------------------------------------------- logistic regression
@functools.lru_cache(maxsize=1)
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Standardised breast-cancer features with a column of ones, and 0/1 labels."""
    from .data import Standardizer, load_dataset

    dataset = load_dataset("breast_cancer")
    features = Standardizer().fit_transform(dataset.X)
    design = np.hstack([features, np.ones((features.shape[0], 1))])
    design.setflags(write=False)
    labels = dataset.y.astype(np.float64)
    labels.setflags(write=False)
    return design, labels


def logistic_regression(l2: float = 1e-2) -> Problem:
    """L2-regularised logistic regression on the breast-cancer dataset (569 tumours, 30
    standardised features plus an intercept: ``dim`` 31).

    .. math:: f(w) = \\frac1n \\sum_{i=1}^n \\left(\\log(1 + e^{z_i}) - y_i z_i\\right)
              + \\frac{\\lambda}{2} \\lVert w \\rVert^2, \\qquad z = \\tilde X w

    The penalty covers the intercept too, so that ``f`` is :math:`\\lambda`-strongly convex
    everywhere: ``mu = l2`` and ``L = l2 + lambda_max(X^T X) / (4 n)`` are the global bounds on
    the Hessian. The minimiser and ``f_min`` come from Newton's method run until the gradient
    norm is below 1e-12 (damped by backtracking, so small ``l2`` converge too; they are exact up
    to rounding, not closed-form). Needs
    scikit-learn, which bundles the data; it is imported on the first call only.

    Parameters
    ----------
    l2 : float, default 1e-2
        The penalty weight :math:`\\lambda`, positive.
    """
    l2 = check_real("logistic_regression", "l2", l2, low=0.0, low_open=True)
    X, y = _breast_cancer()
    n, dim = X.shape
    X_tensor, y_tensor = Tensor(X), Tensor(y)

    def expression(w: Tensor) -> Tensor:
        loss = ops.bce_with_logits(X_tensor @ w, y_tensor, reduction="mean")
        return loss + (0.5 * l2) * (w * w).sum()

    def value(w: np.ndarray) -> Any:
        W = w.reshape(dim, -1)
        z = X @ W
        loss = np.mean(np.logaddexp(0.0, z) - y[:, None] * z, axis=0)
        return (loss + 0.5 * l2 * np.einsum("ij,ij->j", W, W)).reshape(w.shape[1:])

    def gradient(w: np.ndarray) -> np.ndarray:
        p = _sigmoid(X @ w)
        return X.T @ (p - y) / n + l2 * w

    w_star = _newton_logistic(X, y, l2)
    L = l2 + float(np.linalg.eigvalsh(X.T @ X / (4.0 * n))[-1])
    return Problem("logistic_regression", dim, expression, value, gradient,
                   minimizers=[w_star], f_min=float(value(w_star)), x0=np.zeros(dim), L=L, mu=l2,
                   description=f"breast-cancer logistic regression, L2 penalty {l2:g} (Newton "
                               "minimiser)")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: no overflow for either sign
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _newton_logistic(X: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Newton's method with Armijo backtracking; f is strongly convex and smooth, so it converges
    from zero (quadratically near the minimiser, where the full step is taken).

    The damping matters for small ``l2``: the data are nearly separable, so a full step from
    zero overshoots into the region where the sigmoid saturates, the Hessian falls to
    ``l2 * I`` and the next step is ``g / l2``. Undamped Newton then wandered off (for
    ``l2 <= 1e-9``, a "minimiser" with a gradient norm of 2 and f_min = 2e9) with no error.
    """
    n, dim = X.shape

    def objective(w: np.ndarray) -> float:
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w))

    w = np.zeros(dim)
    f = objective(w)
    for _ in range(200):
        p = _sigmoid(X @ w)
        g = X.T @ (p - y) / n + l2 * w
        if np.linalg.norm(g) < 1e-12:
            return w
        H = (X.T * (p * (1.0 - p))) @ X / n + l2 * np.eye(dim)
        direction = np.linalg.solve(H, g)
        decrease, s = float(g @ direction), 1.0
        while s > 1e-12:
            w_new = w - s * direction
            f_new = objective(w_new)
            if f_new <= f - 1e-4 * s * decrease:
                break
            s *= 0.5
        else:
            break  # no step decreases f: as close as rounding allows
        w, f = w_new, f_new
    # a wrong minimiser must not pass silently as the truth the tests and plots measure against
    g = X.T @ (_sigmoid(X @ w) - y) / n + l2 * w
    if not np.linalg.norm(g) < 1e-8:
        raise RuntimeError(f"logistic_regression: Newton's method did not converge for l2={l2!r} "
                           f"(gradient norm {float(np.linalg.norm(g)):.3g})")
    return w


# --------------------------------------------------------------------------- registry
_FACTORIES: dict[str, Callable[..., Problem]] = {
    "quadratic": quadratic, "rosenbrock": rosenbrock, "beale": beale, "himmelblau": himmelblau,
    "saddle": saddle, "monkey_saddle": monkey_saddle, "rastrigin": rastrigin,
    "logistic_regression": logistic_regression,
}

#: Names accepted by :func:`get`.
NAMES: tuple[str, ...] = tuple(_FACTORIES)


def get(name: str, **kwargs: Any) -> Problem:
    """Build a problem by name, e.g. ``get("quadratic", dim=10, kappa=100)``.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.
    **kwargs
        The parameters of that problem's factory function (``quadratic``, ``rosenbrock``, ...).
    """
    check_choice("problems.get", "name", name, NAMES)
    factory = _FACTORIES[name]
    accepted = list(inspect.signature(factory).parameters)
    unknown = [key for key in kwargs if key not in accepted]
    if unknown:
        allowed = ", ".join(accepted) if accepted else "none"
        raise TypeError(f"problems.get: {name} takes no parameter {unknown[0]!r}; "
                        f"its parameters are: {allowed}")
    return factory(**kwargs)
