"""The theory of gradient descent, made measurable.

* Rates: :func:`observed_rate` fits the linear rate of a run; :func:`gd_rate` and
  :func:`heavy_ball_rate` give the theoretical ones on a quadratic of condition number
  :math:`\\kappa`, with the step sizes that achieve them (:func:`gd_optimal_lr`,
  :func:`heavy_ball_parameters`).
* Curvature: :func:`hessian_eigenvalues` runs Lanczos on Hessian-vector products, exact ones
  (``hvp=st.hvp(f)``) where ``f`` is Tensor code, else central differences of the gradient;
  :func:`lipschitz_estimate`, :func:`strong_convexity_estimate` and :func:`curvature` (L, mu,
  kappa, suggested and optimal step) read the extreme eigenvalues off it.
* Orders: :func:`convergence_order` says whether a run converges linearly (with its rate),
  superlinearly or quadratically (digits doubling per step).
* Pathologies: :func:`detect_oscillation` (successive gradients or steps pointing against each
  other), :func:`detect_saddle` (small gradient, negative curvature), the
  :class:`DivergenceWarning` that :func:`steepest.minimize` raises with a concrete remedy, and
  the :class:`UnstableStepWarning` for early steps above 2/L that a schedule later hides.
* Step-size rules: :func:`robbins_monro` checks :math:`\\sum \\alpha_t = \\infty`,
  :math:`\\sum \\alpha_t^2 < \\infty`, exactly for the built-in schedule families and numerically,
  with an honest "undecided", for anything else.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_int, check_real

__all__ = [
    "DivergenceWarning", "RateEstimate", "observed_rate", "gd_rate", "heavy_ball_rate",
    "gd_optimal_lr", "heavy_ball_parameters", "hessian_eigenvalues", "lipschitz_estimate",
    "strong_convexity_estimate", "OscillationReport", "detect_oscillation", "SaddleReport",
    "detect_saddle", "RobbinsMonroResult", "robbins_monro", "UnstableStepWarning",
    "CurvatureEstimate", "curvature", "OrderEstimate", "convergence_order",
]

Gradient = Callable[[np.ndarray], np.ndarray]
HVP = Callable[[np.ndarray, np.ndarray], np.ndarray]


class DivergenceWarning(RuntimeWarning):
    """A run's objective grew by orders of magnitude (or overflowed): the step is too large."""


class UnstableStepWarning(RuntimeWarning):
    """Early steps exceeded the stable limit (2/L for gradient descent) and ``f`` grew, even
    though the run later recovered as the schedule's steps fell: the result hides a blow-up."""


# --------------------------------------------------------------------------- theoretical rates
def _check_kappa(owner: str, kappa: float) -> float:
    return check_real(owner, "kappa", kappa, low=1.0)


def gd_rate(kappa: float) -> float:
    """Contraction factor of gradient descent with the optimal constant step on a quadratic.

    With :math:`\\alpha = 2/(\\mu + L)` the error obeys :math:`\\lVert x_{k+1} - x^*\\rVert \\le
    \\rho \\lVert x_k - x^*\\rVert` with

    .. math:: \\rho = \\frac{\\kappa - 1}{\\kappa + 1}, \\qquad \\kappa = L / \\mu,

    and the bound is attained along the eigenvectors of :math:`\\mu` and :math:`L` (Polyak,
    *Introduction to Optimization*, 1987, sec. 1.4).

    Parameters
    ----------
    kappa : float
        Condition number, ``>= 1``.
    """
    kappa = _check_kappa("gd_rate", kappa)
    return (kappa - 1.0) / (kappa + 1.0)


def heavy_ball_rate(kappa: float) -> float:
    """Asymptotic rate of Polyak's heavy-ball method with its optimal parameters on a quadratic.

    .. math:: \\rho = \\frac{\\sqrt\\kappa - 1}{\\sqrt\\kappa + 1}

    The iteration matrix has a double eigenvalue at the extreme curvatures, so the error decays
    like :math:`k \\rho^k`, not :math:`\\rho^k` (fit it with ``observed_rate(..., k_power=1)``).
    Reference: Polyak, "Some methods of speeding up the convergence of iteration methods", 1964.
    """
    root = math.sqrt(_check_kappa("heavy_ball_rate", kappa))
    return (root - 1.0) / (root + 1.0)


def _check_curvatures(owner: str, L: float, mu: float) -> tuple[float, float]:
    L = check_real(owner, "L", L, low=0.0, low_open=True)
    mu = check_real(owner, "mu", mu, low=0.0, high=L, low_open=True)
    return L, mu


def gd_optimal_lr(L: float, mu: float) -> float:
    """The constant step :math:`2/(\\mu + L)` that gives gradient descent its best rate
    :func:`gd_rate` on a quadratic with curvatures in :math:`[\\mu, L]`."""
    L, mu = _check_curvatures("gd_optimal_lr", L, mu)
    return 2.0 / (mu + L)


def heavy_ball_parameters(L: float, mu: float) -> tuple[float, float]:
    """Polyak's optimal heavy-ball step and momentum for curvatures in :math:`[\\mu, L]`.

    .. math::

        x_{k+1} = x_k - \\alpha \\nabla f(x_k) + \\beta (x_k - x_{k-1}), \\qquad
        \\alpha = \\frac{4}{(\\sqrt L + \\sqrt\\mu)^2}, \\quad
        \\beta = \\Bigl(\\frac{\\sqrt\\kappa - 1}{\\sqrt\\kappa + 1}\\Bigr)^2

    PyTorch's momentum SGD (``v = beta v + g; x -= lr v``) is the same iteration with
    ``lr = alpha`` and ``momentum = beta``.

    Returns
    -------
    (alpha, beta) : tuple of float
    """
    L, mu = _check_curvatures("heavy_ball_parameters", L, mu)
    alpha = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    return alpha, heavy_ball_rate(L / mu) ** 2


# --------------------------------------------------------------------------- observed rates
@dataclass(frozen=True)
class RateEstimate:
    """A linear rate fitted to a run by :func:`observed_rate`.

    Attributes
    ----------
    rate : float
        The fitted factor :math:`\\rho` per iteration.
    start, stop : int
        The iterations used: ``values[start:stop]``.
    n_points : int
        ``stop - start``.
    residual : float
        Root-mean-square residual of the fit in natural-log units (0 for an exact geometric
        sequence).
    k_power : float
        The polynomial factor allowed for (:math:`e_k \\approx C k^{m} \\rho^k`).
    """

    rate: float
    start: int
    stop: int
    n_points: int
    residual: float
    k_power: float

    def __float__(self) -> float:
        return self.rate


def observed_rate(values: Any, f_min: float | None = None, *, upper: float = 1e-3,
                  lower: float = 1e-12, k_power: float = 0.0) -> RateEstimate:
    """Fit the linear convergence rate of a run.

    The errors :math:`e_k` (``values``, or ``values - f_min``) are fitted by least squares as

    .. math:: \\log e_k - m \\log k = c + k \\log \\rho

    over the stretch where :math:`\\text{lower} \\cdot e_0 \\le e_k \\le \\text{upper} \\cdot e_0`:
    late enough for the slowest mode to dominate, early enough to stay clear of round-off. Use
    ``k_power = 1`` for a method whose error decays like :math:`k\\rho^k` (heavy ball at its
    optimal parameters). Note that function gaps :math:`f_k - f^*` of a quadratic decay at
    :math:`\\rho^2` when distances decay at :math:`\\rho`.

    Parameters
    ----------
    values : array_like of shape (n,)
        Non-negative errors (distances to the minimiser, gradient norms, ...) or, with
        ``f_min``, function values.
    f_min : float, optional
        Subtracted from ``values`` first.
    upper, lower : float
        The band of errors, relative to ``e_0``, used for the fit; ``0 < lower < upper <= 1``.
    k_power : float, default 0
        The polynomial factor :math:`m` to remove.

    Returns
    -------
    RateEstimate

    Raises
    ------
    ValueError
        When fewer than 3 errors fall in the band.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest.diagnostics import observed_rate
    >>> round(observed_rate(0.9 ** np.arange(400)).rate, 12)
    0.9
    """
    try:
        errors = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"observed_rate: values must be a 1-D array of numbers, got "
                        f"{_short_repr(values)}") from None
    if errors.ndim != 1:
        # A 2-D input is usually a path of iterates (n, d): flattening it would fit a rate to
        # interleaved coordinates. Ask for the errors instead.
        raise ValueError(f"observed_rate: values must be 1-D (one error per iteration), got shape "
                         f"{errors.shape}; for a path of iterates pass e.g. "
                         f"np.linalg.norm(path - x_star, axis=1)")
    if f_min is not None:
        errors = errors - check_real("observed_rate", "f_min", f_min)
    upper = check_real("observed_rate", "upper", upper, 0.0, 1.0, low_open=True)
    lower = check_real("observed_rate", "lower", lower, 0.0, upper, low_open=True, high_open=True)
    k_power = check_real("observed_rate", "k_power", k_power)
    if errors.size == 0 or not errors[0] > 0 or not math.isfinite(errors[0]):
        first = errors[0] if errors.size else "nothing"
        raise ValueError(f"observed_rate: the first error must be positive and finite, got {first}")
    start, stop = _band(errors, upper * errors[0], lower * errors[0])
    if stop - start < 3:
        raise ValueError(
            f"observed_rate: only {stop - start} errors lie between {upper:g} and {lower:g} times "
            f"the first one ({errors[0]:.3g}); run longer or widen the band")
    k = np.arange(start, stop, dtype=np.float64)
    log_e = np.log(errors[start:stop])
    if k_power:
        if start == 0:
            k, log_e, start = k[1:], log_e[1:], 1
        log_e = log_e - k_power * np.log(k)
    slope, intercept = np.polyfit(k, log_e, 1)
    residual = float(np.sqrt(np.mean((log_e - (intercept + slope * k)) ** 2)))
    return RateEstimate(float(np.exp(slope)), start, stop, stop - start, residual, k_power)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _band(errors: np.ndarray, high: float, low: float) -> tuple[int, int]:
    """The first contiguous stretch with ``low <= e <= high`` once ``e`` has come below ``high``."""
    below_high = np.flatnonzero(errors <= high)
    if below_high.size == 0:
        return 0, 0
    start = int(below_high[0])
    outside = np.flatnonzero(~(errors[start:] >= low))  # also stops at NaN and non-positive
    stop = start + int(outside[0]) if outside.size else errors.size
    return start, stop


# --------------------------------------------------------------------------- curvature
def _flat_gradient(grad: Gradient, x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    shape = x.shape
    return lambda z: np.asarray(grad(z.reshape(shape)), dtype=np.float64).reshape(-1)


def _check_point(owner: str, x: Any) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"{owner}: x must be a non-empty finite array, got {x!r}")
    return x


def hessian_eigenvalues(grad: Gradient | None, x: Any, k: int | None = None,
                        h: float | None = None, seed: int = 0, return_vectors: bool = False,
                        *, hvp: HVP | None = None) -> Any:
    """Estimate the extreme eigenvalues of the Hessian at ``x``.

    Lanczos iteration (with full reorthogonalisation) on Hessian-vector products: exact ones
    from ``hvp`` where ``f`` is Tensor code (``hvp=st.hvp(f)``), else taken by central
    differences of the gradient,

    .. math:: H v \\approx \\frac{\\nabla f(x + h v) - \\nabla f(x - h v)}{2 h},

    whose Ritz values approach the extreme eigenvalues first (Lanczos 1950; Golub and Van Loan,
    *Matrix Computations*, sec. 10.1). With ``k = dim`` steps they are the whole spectrum (up
    to the differencing error, without ``hvp``). Each step costs one ``hvp`` or two gradient
    evaluations.

    Parameters
    ----------
    grad : callable or None
        ``x -> gradient`` on arrays of ``x``'s shape (unused, and may be None, with ``hvp``).
    x : array_like
        The point.
    k : int, optional
        Number of Lanczos steps; ``min(dim, 60)`` by default. The largest eigenvalue converges
        in few steps; the smallest can need more when the low end of the spectrum is crowded,
        and a Ritz value is never below the true smallest eigenvalue.
    h : float, optional
        Differencing step; ``eps**(1/3) * max(1, ||x||)`` by default.
    seed : int, default 0
        Seed of the random start vector (the library's generator is not touched).
    return_vectors : bool, default False
        Also return the Ritz vectors (columns, flattened to ``x.size``).
    hvp : callable, optional
        ``(x, v) -> H v`` on arrays of ``x``'s shape, exact (``st.hvp(f)``); ``h`` is then
        unused.

    Returns
    -------
    numpy.ndarray
        Ritz values in increasing order (``[0]`` estimates the smallest eigenvalue, ``[-1]`` the
        largest); with ``return_vectors``, the pair ``(values, vectors)``.
    """
    x = _check_point("hessian_eigenvalues", x)
    n = x.size
    k = min(n, 60) if k is None else check_int("hessian_eigenvalues", "k", k, low=1, high=n)
    if h is None:
        h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.linalg.norm(x)))
    h = check_real("hessian_eigenvalues", "h", h, low=0.0, low_open=True)
    product = _products(grad, x, h, hvp)
    rng = np.random.default_rng(check_int("hessian_eigenvalues", "seed", seed, low=0))
    values, vectors = _lanczos(product, n, k, rng)
    return (values, vectors) if return_vectors else values


def _products(grad: Gradient | None, x: np.ndarray, h: float, hvp: HVP | None
              ) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> H v`` on flat vectors at ``x``: exact through ``hvp``, else differenced."""
    shape, x_flat = x.shape, x.reshape(-1)
    if hvp is not None:
        if not callable(hvp):
            raise TypeError(f"hessian_eigenvalues: hvp must be a callable (x, v) -> H v, got "
                            f"{hvp!r}")
        return lambda v: np.asarray(hvp(x, v.reshape(shape)), dtype=np.float64).reshape(-1)
    if grad is None:
        raise TypeError("hessian_eigenvalues: give grad (x -> gradient) or hvp ((x, v) -> H v)")
    flat_grad = _flat_gradient(grad, x)

    def differenced(v: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite results are refused later
            return (flat_grad(x_flat + h * v) - flat_grad(x_flat - h * v)) / (2.0 * h)

    return differenced


def _lanczos(hvp: Callable[[np.ndarray], np.ndarray], n: int, k: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    basis = np.zeros((k, n))
    q = rng.standard_normal(n)
    q /= np.linalg.norm(q)
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(k):
        basis[j] = q
        w = hvp(q)
        if not np.isfinite(w).all():
            raise FloatingPointError("hessian_eigenvalues: the gradient is not finite near x")
        alphas.append(float(w @ q))
        # Full reorthogonalisation, twice ("twice is enough"), keeps the basis orthonormal
        # despite rounding and the noise of the differenced products.
        for _ in range(2):
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(np.linalg.norm(w))
        scale = max(max(abs(a) for a in alphas), max(betas, default=0.0))
        if j == k - 1 or beta <= 1e-8 * scale or beta == 0.0:
            break  # done, or an invariant subspace: its Ritz values are exact eigenvalues
        betas.append(beta)
        q = w / beta
    m = len(alphas)
    T = np.diag(alphas) + np.diag(betas[: m - 1], 1) + np.diag(betas[: m - 1], -1)
    values, ritz = np.linalg.eigh(T)
    return values, basis[:m].T @ ritz


def lipschitz_estimate(grad: Gradient | None, x: Any, k: int | None = None,
                       h: float | None = None, seed: int = 0, *, hvp: HVP | None = None) -> float:
    """Estimate the local Lipschitz constant of the gradient, :math:`L \\approx \\max |\\lambda(H)|`
    at ``x`` (the global constant for a quadratic); exact products with ``hvp``. See
    :func:`hessian_eigenvalues`."""
    values = hessian_eigenvalues(grad, x, k=k, h=h, seed=seed, hvp=hvp)
    return float(max(abs(values[0]), abs(values[-1])))


def strong_convexity_estimate(grad: Gradient | None, x: Any, k: int | None = None,
                              h: float | None = None, seed: int = 0, *,
                              hvp: HVP | None = None) -> float:
    """Estimate the local strong-convexity constant, :math:`\\mu \\approx \\lambda_{\\min}(H)` at
    ``x`` (the global constant for a quadratic). A negative value means ``f`` is not convex
    near ``x``. See :func:`hessian_eigenvalues`: its default of at most 60 Lanczos steps can
    leave the estimate above the true value in more than 60 dimensions (0.305 for mu = 0.3 on
    a 100-D quadratic of condition number 1000); ``k=dim`` makes it exact for a quadratic."""
    return float(hessian_eigenvalues(grad, x, k=k, h=h, seed=seed, hvp=hvp)[0])


@dataclass(frozen=True)
class CurvatureEstimate:
    """The curvature at a point, from :func:`curvature`.

    Attributes
    ----------
    L, mu : float
        Largest absolute and smallest Hessian eigenvalue (``mu < 0``: not convex there).
    kappa : float
        ``L / mu`` (``inf`` when ``mu <= 0``).
    suggested_lr : float
        ``1/L``, safely inside gradient descent's stable range ``(0, 2/L)``.
    optimal_lr : float or None
        ``2/(mu + L)``, the best constant step on a quadratic (None when ``mu <= 0``).
    exact : bool
        Whether exact Hessian-vector products were used.
    """

    L: float
    mu: float
    kappa: float
    suggested_lr: float
    optimal_lr: float | None
    exact: bool


def curvature(grad: Gradient | None, x: Any, k: int | None = None, seed: int = 0, *,
              hvp: HVP | None = None) -> CurvatureEstimate:
    """L, mu, kappa and step sizes at ``x`` from one Lanczos run (:func:`hessian_eigenvalues`).

    .. math:: L = \\max_i |\\lambda_i(H)|, \\quad \\mu = \\lambda_{\\min}(H), \\quad
              \\kappa = L / \\mu, \\quad \\alpha = 1/L

    Give ``hvp=st.hvp(f)`` where ``f`` is Tensor code for exact products; ``grad`` alone means
    differenced gradients.
    """
    values = hessian_eigenvalues(grad, x, k=k, seed=seed, hvp=hvp)
    L = float(max(abs(values[0]), abs(values[-1])))
    mu = float(values[0])
    kappa = L / mu if mu > 0 else math.inf
    suggested = 1.0 / L if L > 0 else math.inf
    optimal = 2.0 / (mu + L) if mu > 0 else None
    return CurvatureEstimate(L, mu, kappa, suggested, optimal, hvp is not None)


# --------------------------------------------------------------------------- orders
@dataclass(frozen=True)
class OrderEstimate:
    """The observed order of convergence of a run, from :func:`convergence_order`.

    Attributes
    ----------
    kind : {"quadratic", "superlinear", "linear", "sublinear", "undetermined"}
    order : float
        The fitted :math:`q` in :math:`e_{k+1} \\approx C e_k^q` (NaN when undetermined).
    rate : float
        The last ratios' geometric mean :math:`e_{k+1}/e_k` over the fitted stretch (for a
        linear run its rate; tending to 0 for superlinear and quadratic ones).
    ratios : tuple of float
        :math:`e_{k+1}/e_k` over the stretch.
    digits : tuple of float
        Correct digits :math:`-\\log_{10}(e_k / e_0)` over the stretch: they grow by a constant
        per step for linear convergence and double per step for quadratic.
    start, stop : int
        The iterations used.
    message : str
    """

    kind: str
    order: float
    rate: float
    ratios: tuple[float, ...]
    digits: tuple[float, ...]
    start: int
    stop: int
    message: str


def convergence_order(values: Any, f_min: float | None = None, *, floor: float = 1e-13,
                      window: int = 4) -> OrderEstimate:
    """Measure how fast errors go to zero: linear, superlinear or quadratic.

    With errors :math:`e_k > 0` (distances to the minimiser, gradient norms, or ``values -
    f_min``), the order :math:`q` and the ratio :math:`\\rho` are read off the last ``window``
    errors above round-off (:math:`e_k > \\text{floor} \\cdot e_0`):

    .. math:: \\log e_{k+1} \\approx q \\log e_k + c, \\qquad
              \\rho = \\bigl(e_{b-1} / e_a\\bigr)^{1/(b - a - 1)}

    over the errors :math:`e_a, \\dots, e_{b-1}`

    (least squares for :math:`q`). Quadratic: :math:`q \\ge 1.7` (the digits of accuracy double
    per step, as Newton's near a non-degenerate minimum); superlinear: the ratios fall toward 0
    (:math:`q > 1.15`, or ratios decreasing below 0.1, as BFGS's); linear: steady ratios below
    1 (gradient descent, whose rate on a quadratic is :math:`(\\kappa - 1)/(\\kappa + 1)` at its
    best step, see :func:`gd_rate`); sublinear: ratios above 0.99 and still rising toward 1 (as
    for :math:`1/k`; a linear run still in its transient can look the same over a short
    window).

    Ratios that jump down and back up by more than a factor 10 fit no order. Then the errors
    every 2 steps are tried (conjugate gradients restarted every n steps, a search that
    alternates long and short steps: CG on 2-D Rosenbrock is quadratic over every 2 steps),
    then the mean ratios of the earlier and later half of the last ``2 * window`` errors
    (superlinear when they fall by half to below 0.5, linear when they hold within 25 %, as for
    BFGS, whose distance to the minimiser may grow for a step). When none of these fits, the
    kind is ``"undetermined"`` and the message says the ratios are irregular, rather than
    naming an order that a least-squares line happens to give.

    An error that oscillates over the last ``16 * window`` errors (at least 16 of them, and a
    tenth of the steps rising by over 5 %: heavy ball, Nesterov and Adam spiral into a
    minimum) is linear at the rate of its peaks, fitted by least squares, unless its last
    two ratios are both below 0.5 (a superlinear collapse at the end, as Newton's gradient
    norm on Rosenbrock). A single fast last step after slow ones is left out: a run stopped
    by a tolerance stops at the step whose error happened to dip below it.

    Parameters
    ----------
    values : array_like of shape (n,)
        Errors, or function values with ``f_min``.
    f_min : float, optional
        Subtracted from ``values``.
    floor : float, default 1e-13
        Errors below ``floor * e_0`` are round-off and are not used.
    window : int, default 4
        The most trailing errors used (at least 3 are needed).

    Returns
    -------
    OrderEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from steepest.diagnostics import convergence_order
    >>> convergence_order(0.5 ** (2.0 ** np.arange(6))).kind
    'quadratic'
    >>> linear = convergence_order(0.9 ** np.arange(100))
    >>> linear.kind, round(linear.rate, 6)
    ('linear', 0.9)
    """
    try:
        errors = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"convergence_order: values must be a 1-D array of numbers, got "
                        f"{_short_repr(values)}") from None
    if f_min is not None:
        errors = errors - check_real("convergence_order", "f_min", f_min)
    floor = check_real("convergence_order", "floor", floor, 0.0, 1.0, high_open=True)
    window = check_int("convergence_order", "window", window, low=3)
    if errors.size == 0 or not (errors[0] > 0 and math.isfinite(errors[0])):
        return _undetermined("the first error is not positive and finite", 0, 0)
    usable = np.isfinite(errors) & (errors > floor * errors[0])
    stop = int(np.argmin(usable)) if not usable.all() else errors.size  # first unusable
    if stop < 3:
        return _undetermined(f"only {stop} errors above round-off ({floor:g} e_0): too few "
                             "to measure an order", 0, stop)
    # An error that oscillates (heavy ball, Adam) is measured on its peaks, unless its last
    # steps collapse superlinearly (Newton's gradient norm on Rosenbrock rises and falls on
    # the way, then its digits double).
    swinging = _envelope(errors, stop, 16 * window)
    # Every `period` steps, for methods whose error falls in alternate big and small steps
    # (conjugate gradients restarted every n steps, a line search that alternates): their
    # one-step ratios jump between ~1 and ~0, which fits no order, but the n-step ones do.
    irregular = None
    for period in range(1, min(_MAX_PERIOD, (stop - 1) // 2) + 1):
        index = np.arange(stop - 1, -1, -period)[:window][::-1]
        if index.size < 3:
            break
        found = _fit_order(errors, index, period)
        fast = found.kind in ("quadratic", "superlinear")
        if fast and max(found.ratios[-2:]) < 0.5:
            return found
        if found.kind == "irregular":
            irregular = irregular or found
            continue
        if swinging is not None:
            return swinging
        if fast and _lone_last_drop(found.ratios) and stop > 3:
            # A run that stops at a tolerance stops at the first error below it: one that
            # oscillates stops where it dipped, and that one fast step is no trend
            again = convergence_order(errors[:stop - 1], floor=floor, window=window)
            return dataclasses.replace(again, message=f"{again.message}; the last step's "
                                       f"drop by {found.ratios[-1]:.3g} is left out (one "
                                       "step is not a trend)")
        if found.kind == "undetermined" and period == 1:
            # no decrease over the last few errors; the errors may still fall over a longer
            # stretch
            return _trend(errors, stop, 4 * window) or found
        return found
    assert irregular is not None
    trend = swinging or _trend(errors, stop, 2 * window)
    return trend or _undetermined(irregular.message, irregular.start, irregular.stop)


_MAX_PERIOD = 2  # the longest step pattern looked for (alternating big and small steps)


def _fit_order(errors: np.ndarray, index: np.ndarray, period: int) -> OrderEstimate:
    """The order over ``errors[index]`` (every ``period`` steps); kind ``"irregular"`` when
    the ratios vary too much for any order to describe them."""
    e = errors[index]
    start, stop = int(index[0]), int(index[-1]) + 1
    ratios = e[1:] / e[:-1]
    if _irregular(ratios):
        return OrderEstimate("irregular", math.nan, math.nan, tuple(map(float, ratios)), (),
                             start, stop, f"the ratios e[k+{period}]/e[k] over iterations "
                             f"{start} to {stop - 1} are irregular ({_span(ratios)}): no "
                             "single order fits them" if period > 1 else
                             f"the ratios e[k+1]/e[k] over iterations {start} to {stop - 1} "
                             f"are irregular ({_span(ratios)}): no single order fits them")
    rate = float((e[-1] / e[0]) ** (1.0 / (e.size - 1)))
    logs = np.log(e)
    q = float(np.polyfit(logs[:-1], logs[1:], 1)[0]) if np.ptp(logs[:-1]) > 0 else math.nan
    digits = tuple(float(-np.log10(v / errors[0])) for v in e)
    kind = _order_kind(q, ratios, rate)
    message = _order_message(kind, q, rate, digits)
    if period > 1:
        rate = float(rate ** (1.0 / period))  # per step, as for period 1
        message += f" (over every {period} steps, as the error falls in a {period}-step pattern)"
    return OrderEstimate(kind, q, rate, tuple(float(r) for r in ratios), digits, start, stop,
                         message)


def _trend(errors: np.ndarray, stop: int, length: int) -> OrderEstimate | None:
    """Over the last ``length`` errors, the mean ratio of the earlier half against the later:
    falling by half or more to below 0.5 is superlinear, holding within 25 % below 1 is
    linear, on average (a quasi-Newton run's distance to the minimiser can grow for a step on
    its way to superlinear convergence). None when neither holds."""
    e = errors[max(0, stop - length):stop]
    if e.size < 5:
        return None
    half = (e.size - 1) // 2
    early = (e[half] / e[0]) ** (1.0 / half)
    late = (e[-1] / e[half]) ** (1.0 / (e.size - 1 - half))
    start, digits = stop - e.size, tuple(float(-np.log10(v / errors[0])) for v in e)
    rate = float((e[-1] / e[0]) ** (1.0 / (e.size - 1)))
    ratios = tuple(float(r) for r in e[1:] / e[:-1])
    shown = ", ".join(f"{d:.1f}" for d in digits)
    if late < 0.5 and late <= 0.5 * early:
        return OrderEstimate("superlinear", math.nan, rate, ratios, digits, start, stop,
                             f"superlinear convergence on average: the mean error ratio fell "
                             f"from {early:.3g} to {late:.3g} per step over iterations {start} "
                             f"to {stop - 1}, with irregular single steps (digits {shown})")
    if max(early, late) < 1 and max(early, late) <= 1.25 * min(early, late):
        return OrderEstimate("linear", 1.0, rate, ratios, digits, start, stop,
                             f"linear convergence on average, rate {rate:.4g} per step over "
                             f"iterations {start} to {stop - 1}, with irregular single steps "
                             f"(digits {shown})")
    return None


def _envelope(errors: np.ndarray, stop: int, length: int) -> OrderEstimate | None:
    """The rate of an oscillating error, fitted to its peaks; None when it does not oscillate.

    Heavy ball, Nesterov and Adam spiral into a minimum: their gradient norm and f - f* rise
    and fall every few steps while the peaks decay geometrically. A window of four errors
    then reads a chance stretch of the swing (a fall into a trough read as 'quadratic,
    order 10.8'). Oscillating here: at least 16 errors, and at least 3 and a tenth of the
    steps rising by over 5 %.
    """
    e = errors[max(0, stop - length):stop]
    rises = int(np.sum(e[1:] > 1.05 * e[:-1]))
    if e.size < 16 or rises < max(3, 0.1 * (e.size - 1)):
        return None
    inner = np.flatnonzero((e[1:-1] >= e[:-2]) & (e[1:-1] >= e[2:])) + 1
    peaks = np.concatenate([[0], inner]) if e[0] >= e[1] else inner
    start = stop - e.size
    if peaks.size < 2:
        return None
    slope = float(np.polyfit(peaks, np.log(e[peaks]), 1)[0])
    rate = math.exp(slope)
    digits = tuple(float(-np.log10(v / errors[0])) for v in e[peaks])
    ratios = tuple(float(r) for r in e[1:] / e[:-1])
    where = (f"fitted to the {peaks.size} peaks of an error that oscillates ({rises} of "
             f"{e.size - 1} steps rise) over iterations {start} to {stop - 1}")
    if rate < 1:
        return OrderEstimate("linear", 1.0, rate, ratios, digits, start, stop,
                             f"linear convergence with rate {rate:.4g} per step, {where}")
    return OrderEstimate("undetermined", math.nan, rate, ratios, digits, start, stop,
                         f"order undetermined: no convergence (peaks grow by {rate:.4g} per "
                         f"step), {where}")


def _lone_last_drop(ratios: tuple[float, ...]) -> bool:
    """Only the last ratio is fast: the one before it is still above 0.5."""
    return len(ratios) >= 2 and ratios[-2] >= 0.5 and ratios[-1] < 0.1


def _irregular(ratios: np.ndarray) -> bool:
    """Ratios that neither hold steady (linear) nor keep falling (superlinear): a jump down
    by a factor over 10 followed by a rise by a factor over 10 (one-step ratios 0.996,
    4.7e-5, 0.27 of CG on Rosenbrock had been fitted as 'linear, q = 0.63')."""
    logs = np.log(np.maximum(ratios, np.finfo(np.float64).tiny))
    rises = np.diff(logs)
    return bool(np.any(rises > math.log(10.0)) and np.ptp(logs) > math.log(10.0))


def _span(ratios: np.ndarray) -> str:
    return f"from {np.min(ratios):.3g} to {np.max(ratios):.3g}"


def _undetermined(why: str, start: int, stop: int) -> OrderEstimate:
    return OrderEstimate("undetermined", math.nan, math.nan, (), (), start, stop,
                         f"order undetermined: {why}")


def _order_kind(q: float, ratios: np.ndarray, rate: float) -> str:
    if not rate < 1:
        return "sublinear" if rate <= 1 + 1e-12 else "undetermined"
    falling = bool(np.all(np.diff(ratios) < 0)) and ratios[-1] < 0.1
    if math.isfinite(q) and q >= 1.7 and ratios[-1] < 0.1:
        return "quadratic"
    if falling or (math.isfinite(q) and q > 1.15 and ratios[-1] < 0.5):
        return "superlinear"
    if ratios[-1] > 0.99 and bool(np.all(np.diff(ratios) > 1e-12)):
        return "sublinear"  # ratios still creeping up toward 1, as for 1/k
    return "linear"


def _order_message(kind: str, q: float, rate: float, digits: tuple[float, ...]) -> str:
    shown = ", ".join(f"{d:.1f}" for d in digits)
    if kind == "quadratic":
        return (f"quadratic convergence (order {q:.2f}): the digits of accuracy roughly double "
                f"per step ({shown})")
    if kind == "superlinear":
        return (f"superlinear convergence (order {q:.2f}): the error ratio falls toward 0 "
                f"(digits {shown})")
    if kind == "linear":
        return f"linear convergence with rate {rate:.4g} per step (digits {shown})"
    if kind == "sublinear":
        return f"sublinear convergence (ratio {rate:.4g} per step, still rising toward 1)"
    return f"no convergence over the last steps (ratio {rate:.4g} per step)"


# --------------------------------------------------------------------------- oscillation
@dataclass(frozen=True)
class OscillationReport:
    """The verdict of :func:`detect_oscillation`.

    Attributes
    ----------
    oscillating : bool
    fraction : float
        Share of successive pairs at an obtuse angle (negative cosine).
    mean_cosine : float
        Mean cosine between successive vectors.
    n_pairs : int
        Pairs examined.
    message : str
    """

    oscillating: bool
    fraction: float
    mean_cosine: float
    n_pairs: int
    message: str

    def __bool__(self) -> bool:
        return self.oscillating


def detect_oscillation(vectors: Any, window: int = 50, threshold: float = 0.5) -> OscillationReport:
    """Detect zig-zagging: successive gradients (or steps) pointing against each other.

    The cosine between successive vectors,

    .. math:: \\cos\\theta_k = \\frac{\\langle g_k, g_{k+1} \\rangle}{\\lVert g_k \\rVert
              \\lVert g_{k+1} \\rVert},

    is negative when a step overshoots the valley floor; gradient descent with a step between
    :math:`2/(\\mu + L)` and :math:`2/L` does that at every iteration.

    Parameters
    ----------
    vectors : array_like of shape (n, d) or (n,)
        The gradients (or steps ``x_{k+1} - x_k``) of a run, in order.
    window : int, default 50
        Look at the last ``window`` pairs only.
    threshold : float, default 0.5
        Report oscillation when at least this share of pairs has a negative cosine.

    Returns
    -------
    OscillationReport
    """
    window = check_int("detect_oscillation", "window", window, low=1)
    threshold = check_real("detect_oscillation", "threshold", threshold, 0.0, 1.0, low_open=True)
    v = np.array(vectors, dtype=np.float64)
    v = v.reshape(v.shape[0], -1) if v.ndim else v.reshape(1, 1)
    v = v[-(window + 1):]
    norms = np.linalg.norm(v, axis=1)
    keep = np.isfinite(norms) & (norms > 0)
    pairs = keep[:-1] & keep[1:]
    if not pairs.any():
        return OscillationReport(False, 0.0, math.nan, 0, "no pair of non-zero vectors to compare")
    cosines = np.einsum("ij,ij->i", v[:-1], v[1:])[pairs] / (norms[:-1] * norms[1:])[pairs]
    fraction = float(np.mean(cosines < 0))
    mean_cosine = float(np.mean(cosines))
    oscillating = fraction >= threshold
    message = (f"successive directions point against each other in {fraction:.0%} of the last "
               f"{cosines.size} pairs (mean cosine {mean_cosine:+.2f})")
    if oscillating:
        message = "oscillating: " + message + "; the step may be too large for the curvature"
    return OscillationReport(oscillating, fraction, mean_cosine, int(cosines.size), message)


# --------------------------------------------------------------------------- saddles
@dataclass(frozen=True)
class SaddleReport:
    """The verdict of :func:`detect_saddle`.

    Attributes
    ----------
    is_saddle : bool or None
        True for a stationary point with negative curvature (or, where the Hessian vanishes,
        with a descent direction found by probing); False for a local minimum or a point that
        is not stationary; None when the second-order test is inconclusive.
    grad_norm : float
    min_eigenvalue, max_eigenvalue : float
        The extreme Hessian eigenvalues estimated at the point (NaN when not computed).
    reason : str
    """

    is_saddle: bool | None
    grad_norm: float
    min_eigenvalue: float
    max_eigenvalue: float
    reason: str


def detect_saddle(grad: Gradient, x: Any, fun: Callable[[np.ndarray], float] | None = None, *,
                  gtol: float | None = 1e-4, tol: float = 1e-6, atol: float | None = None,
                  k: int | None = None, seed: int = 0, hvp: HVP | None = None) -> SaddleReport:
    """Decide whether ``x`` is a saddle point: a small gradient and negative curvature.

    The extreme Hessian eigenvalues come from :func:`hessian_eigenvalues`. The point is a saddle
    when :math:`\\lambda_{\\min} < -z`, a strict local minimum when :math:`\\lambda_{\\min} > z`,
    with :math:`z = \\max(\\text{tol} \\cdot \\max |\\lambda|, \\text{atol})` the level below
    which an eigenvalue counts as zero (the differencing error). In between the Hessian is
    (nearly) singular and the second-order test says nothing; if ``fun`` is given, ``f`` is then
    probed at :math:`x \\pm r u` along the flattest Ritz vectors :math:`u` and the coordinate
    axes, and any clear decrease proves a saddle (as at the monkey saddle's origin, where the
    Hessian is zero).

    Parameters
    ----------
    grad : callable
        ``x -> gradient``.
    x : array_like
        The point, e.g. where a run stopped.
    fun : callable, optional
        ``x -> f(x)`` for probing degenerate points.
    gtol : float or None, default 1e-4
        Gradient norms above this mean "not a stationary point" (``is_saddle`` False); None
        skips this test (the caller knows the point is stationary).
    tol : float, default 1e-6
        Relative threshold for calling an eigenvalue non-zero.
    atol : float, optional
        Absolute threshold for the same: 1e-8 by default (differences of a gradient cannot
        resolve curvature much below this), 1e-12 with exact products (``hvp``).
    k : int, optional
        Lanczos steps (see :func:`hessian_eigenvalues`).
    seed : int, default 0
    hvp : callable, optional
        ``(x, v) -> H v``, exact (``st.hvp(f)``), instead of differenced gradients.

    Returns
    -------
    SaddleReport
    """
    x = _check_point("detect_saddle", x)
    if gtol is not None:
        gtol = check_real("detect_saddle", "gtol", gtol, low=0.0)
    tol = check_real("detect_saddle", "tol", tol, low=0.0)
    atol = check_real("detect_saddle", "atol", (1e-8 if hvp is None else 1e-12)
                      if atol is None else atol, low=0.0)
    grad_norm = float(np.linalg.norm(np.asarray(grad(x), dtype=np.float64)))
    if gtol is not None and not grad_norm <= gtol:
        return SaddleReport(False, grad_norm, math.nan, math.nan,
                            f"not a stationary point: ||grad|| = {grad_norm:.3g} > gtol = {gtol:g}")
    values, vectors = hessian_eigenvalues(grad, x, k=k, seed=seed, return_vectors=True, hvp=hvp)
    low, high = float(values[0]), float(values[-1])
    zero = max(tol * max(abs(low), abs(high)), atol)
    if high < -zero:  # every eigenvalue negative: a maximum (it had been called a saddle)
        return SaddleReport(False, grad_norm, low, high,
                            f"local maximum, not a saddle: every Hessian eigenvalue is negative "
                            f"(largest {high:.3g})")
    if low < -zero:
        return SaddleReport(True, grad_norm, low, high,
                            f"saddle point: Hessian eigenvalue {low:.3g} < 0 at a point with "
                            f"||grad|| = {grad_norm:.3g}")
    if low > zero:
        return SaddleReport(False, grad_norm, low, high,
                            f"local minimum: every Hessian eigenvalue is positive (smallest "
                            f"{low:.3g})")
    degenerate = f"degenerate stationary point: the smallest Hessian eigenvalue is {low:.3g}"
    if fun is None:
        return SaddleReport(None, grad_norm, low, high,
                            degenerate + "; the second-order test is inconclusive (pass fun= to "
                            "probe f around the point)")
    flat = vectors[:, np.abs(values) <= zero]
    descent = _probe_descent(fun, x, flat)
    if descent is not None:
        return SaddleReport(True, grad_norm, low, high,
                            degenerate + f", and f decreases by {descent:.3g} a short step away: "
                            "a (higher-order) saddle point")
    return SaddleReport(None, grad_norm, low, high,
                        degenerate + "; probing found no descent direction, so it may be a flat "
                        "minimum or a higher-order saddle")


def _probe_descent(fun: Callable[[np.ndarray], float], x: np.ndarray,
                   directions: np.ndarray) -> float | None:
    """The largest clear decrease of ``fun`` at ``x +- r u``, or None if there is none."""
    shape, flat = x.shape, x.reshape(-1)
    f0 = float(fun(x))
    r = 1e-3 * max(1.0, float(np.linalg.norm(flat)))
    candidates = np.hstack([directions, np.eye(flat.size)]) if flat.size <= 100 else directions
    best = 0.0
    for u in candidates.T:
        for sign in (1.0, -1.0):
            drop = f0 - float(fun((flat + sign * r * u).reshape(shape)))
            best = max(best, drop)
    return best if best > 1e-10 * max(1.0, abs(f0)) else None


# --------------------------------------------------------------------------- Robbins-Monro
@dataclass(frozen=True)
class RobbinsMonroResult:
    """The verdict of :func:`robbins_monro`.

    Attributes
    ----------
    verdict : bool or None
        True when :math:`\\sum \\alpha_t = \\infty` and :math:`\\sum \\alpha_t^2 < \\infty`,
        False when either fails, None when undecided.
    reason : str
    method : {"exact", "numerical"}
        "exact" for a built-in schedule family's closed-form answer.

    ``bool(result)`` is True only for a positive verdict (undecided counts as not satisfied).
    """

    verdict: bool | None
    reason: str
    method: str

    def __bool__(self) -> bool:
        return self.verdict is True


def robbins_monro(schedule: Any, horizon: float = 1e12) -> RobbinsMonroResult:
    """Check the Robbins–Monro conditions on a step-size schedule.

    .. math:: \\sum_{t=1}^\\infty \\alpha_t = \\infty, \\qquad
              \\sum_{t=1}^\\infty \\alpha_t^2 < \\infty

    (Robbins and Monro, "A stochastic approximation method", 1951). A built-in schedule (see
    :mod:`steepest.schedules`) answers exactly through its ``robbins_monro()`` method, e.g.
    :math:`\\alpha_0 t^{-p}` holds iff :math:`1/2 < p \\le 1`. Any other callable is sampled on a
    logarithmic grid up to ``horizon``: a tail that vanishes, or decays like a power
    :math:`t^{-p}` with a steady exponent, gets a numerical verdict; exponents that drift near
    the boundaries 1/2 or 1 (log factors) leave it undecided (``None``), because no finite
    sample can tell :math:`1/(t \\log t)` from :math:`1/(t \\log^2 t)`.

    Parameters
    ----------
    schedule : Schedule, callable or float
        A schedule, any callable ``t -> lr`` (called with ints ``t >= 1``), or a constant.
    horizon : float, default 1e12
        Largest ``t`` sampled by the numerical check.

    Returns
    -------
    RobbinsMonroResult

    Examples
    --------
    >>> from steepest import schedules
    >>> from steepest.diagnostics import robbins_monro
    >>> robbins_monro(schedules.inverse_power(0.5, p=0.6)).verdict
    True
    >>> robbins_monro(lambda t: 0.1 / t ** 0.4).verdict
    False
    """
    horizon = check_real("robbins_monro", "horizon", horizon, low=1e6)
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool):
        return _constant_verdict(check_real("robbins_monro", "schedule", schedule, low=0.0))
    if not callable(schedule):
        raise TypeError(f"robbins_monro: schedule must be a schedule, a callable t -> lr or a "
                        f"number, got {schedule!r}")
    exact = getattr(schedule, "robbins_monro", None)
    verdict = exact() if callable(exact) else None
    if verdict is not None:
        return RobbinsMonroResult(bool(verdict), _family_reason(schedule, bool(verdict)), "exact")
    return _numerical_verdict(schedule, horizon)


def _constant_verdict(lr: float) -> RobbinsMonroResult:
    if lr == 0:
        return RobbinsMonroResult(False, "alpha_t = 0: sum alpha_t = 0 is finite", "exact")
    return RobbinsMonroResult(False, f"constant step {lr:g}: sum alpha_t^2 = inf", "exact")


def _family_reason(schedule: Any, verdict: bool) -> str:
    """Explain a built-in family's exact verdict from its parameters."""
    try:
        spec = schedule.to_dict()
    except (AttributeError, TypeError):
        spec = {}
    kind = spec.get("type")
    if kind == "constant":
        return _constant_verdict(spec["lr"]).reason
    if kind == "inverse_power":
        lr0, p = spec["lr0"], spec["p"]
        if lr0 == 0:
            return "lr0 = 0: every step is 0, so sum alpha_t is finite"
        if p > 1:
            return f"alpha_t = {lr0:g} t^-{p:g}: sum alpha_t converges since p > 1"
        if p <= 0.5:
            return f"alpha_t = {lr0:g} t^-{p:g}: sum alpha_t^2 diverges since 2p <= 1"
        return (f"alpha_t = {lr0:g} t^-{p:g} with 1/2 < p <= 1: sum t^-p diverges and "
                "sum t^-2p converges")
    if kind == "inverse_time":
        if spec["lr0"] == 0:
            return "lr0 = 0: every step is 0, so sum alpha_t is finite"
        if spec["decay"] == 0:
            return _constant_verdict(spec["lr0"]).reason
        return ("alpha_t ~ lr0 / (decay t): the harmonic series diverges and sum 1/t^2 "
                "converges")
    if kind in ("step", "exponential"):
        if spec["gamma"] == 1 or spec["lr0"] == 0:
            return _constant_verdict(spec["lr0"]).reason
        return f"geometric decay (gamma = {spec['gamma']:g} < 1): sum alpha_t is finite"
    if kind == "cosine":
        if spec["lr_min"] == 0:
            return (f"alpha_t = 0 after {spec['total_steps']} steps: sum alpha_t is finite")
        return f"the tail is the constant lr_min = {spec['lr_min']:g}: sum alpha_t^2 = inf"
    if kind == "warmup":
        return ("a finite warm-up changes neither sum; the wrapped schedule decides: "
                + _family_reason(schedule.schedule, verdict))
    if kind == "piecewise":
        return ("a finite prefix changes neither sum; the last piece decides: "
                + _family_reason(schedule.schedules[-1], verdict))
    holds = "holds" if verdict else "fails"
    return f"{schedule!r}: Robbins-Monro {holds} for its family (the schedule's own verdict)"


#: A fitted tail exponent this close to 1 (or 1/2) is that exponent (a tolerance of 1e-6 had
#: taken t^-1.000001, whose sum converges, for 1/t).
_EXPONENT_TIE = 1e-9


def _numerical_verdict(schedule: Callable[[int], Any], horizon: float) -> RobbinsMonroResult:
    ts = np.unique(np.round(np.geomspace(1.0, horizon, 20 * int(math.log10(horizon)) + 1)))
    alphas = np.empty(ts.size)
    for i, t in enumerate(ts):
        try:
            alphas[i] = float(schedule(int(t)))
        except (ValueError, TypeError, ArithmeticError) as error:
            if isinstance(error, ValueError) and "must be in" in str(error):
                return RobbinsMonroResult(False, f"invalid step at t={int(t)}: {error}",
                                          "numerical")
            return RobbinsMonroResult(None, f"could not evaluate the schedule at t={int(t)}: "
                                            f"{error}", "numerical")
    bad = np.flatnonzero(~np.isfinite(alphas) | (alphas < 0))
    if bad.size:
        i = int(bad[0])
        return RobbinsMonroResult(False, f"alpha_t must be finite and >= 0; alpha_{int(ts[i])} = "
                                         f"{alphas[i]!r}", "numerical")
    where = f"(sampled up to t = {horizon:.0e})"
    if alphas[-1] == 0:
        zero_from = int(ts[np.flatnonzero(alphas > 0)[-1] + 1]) if (alphas > 0).any() else 1
        return RobbinsMonroResult(False, f"alpha_t = 0 from t ~ {zero_from} on {where}: "
                                         "sum alpha_t is finite", "numerical")
    late = ts >= horizon / 1e3
    early = (ts >= horizon / 1e6) & ~late
    if (alphas[early | late] == 0).any():
        return RobbinsMonroResult(None, f"alpha_t returns to 0 at times {where}; the tail is not "
                                        "a power law", "numerical")
    p_early, p_late = (_tail_exponent(ts[m], alphas[m]) for m in (early, late))
    steady = abs(p_late - p_early) < 1e-4
    p = p_late
    # The fit of an exact power law is good to ~1e-15: t^-1.000001 is told from 1/t (its sum
    # converges), and shown with the digits that tell them apart
    described = (f"alpha_t ~ t^-{p:.9g} over t in [{horizon / 1e6:.0e}, {horizon:.0e}]"
                 if steady else f"the tail exponent drifts from {p_early:.3f} to {p_late:.3f} "
                                f"{where}")
    if steady and abs(p - 1.0) < _EXPONENT_TIE:
        return RobbinsMonroResult(True, described + ": like 1/t, sum alpha_t diverges and "
                                                    "sum alpha_t^2 converges", "numerical")
    if steady and abs(p - 0.5) < _EXPONENT_TIE:
        return RobbinsMonroResult(False, described + ": like 1/sqrt(t), sum alpha_t^2 diverges",
                                  "numerical")
    margin = 0.0 if steady else 0.1
    if p_late > 3.0 and p_late > p_early + 0.5:
        return RobbinsMonroResult(False, described + ": faster than any power, so sum alpha_t "
                                                     "is finite", "numerical")
    for low, high, verdict, why in (
        (-math.inf, 0.5, False, "sum alpha_t^2 diverges (p <= 1/2)"),
        (0.5, 1.0, True, "sum alpha_t diverges and sum alpha_t^2 converges (1/2 < p <= 1)"),
        (1.0, math.inf, False, "sum alpha_t converges (p > 1)"),
    ):
        inside = [low + margin < q < high - margin for q in (p_early, p_late)]
        if all(inside):
            return RobbinsMonroResult(verdict, described + ": " + why, "numerical")
    return RobbinsMonroResult(None, described + ": too close to p = 1/2 or p = 1 for a finite "
                                                "sample to decide (log factors?); undecided",
                              "numerical")


def _tail_exponent(ts: np.ndarray, alphas: np.ndarray) -> float:
    """The p of a least-squares fit alpha ~ C t^-p."""
    slope = np.polyfit(np.log(ts), np.log(alphas), 1)[0]
    return float(-slope)
