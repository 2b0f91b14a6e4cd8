"""Convergence diagnostics: rate fits, curvature estimates, oscillation, saddles, Robbins-Monro."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_h

from steepest import diagnostics as D
from steepest import problems, schedules


# --------------------------------------------------------------------------- theoretical rates
def test_theoretical_rates_and_parameters():
    assert D.gd_rate(1) == 0.0
    assert D.gd_rate(10) == pytest.approx(9 / 11)
    assert D.heavy_ball_rate(100) == pytest.approx(9 / 11)
    assert D.gd_optimal_lr(10.0, 1.0) == pytest.approx(2 / 11)
    alpha, beta = D.heavy_ball_parameters(100.0, 1.0)
    assert alpha == pytest.approx(4 / 121) and beta == pytest.approx((9 / 11) ** 2)
    with pytest.raises(ValueError, match=r"gd_rate: kappa must be in \[1, inf\), got 0.5"):
        D.gd_rate(0.5)
    with pytest.raises(ValueError, match=r"heavy_ball_parameters: mu must be in \(0, 1\]"):
        D.heavy_ball_parameters(1.0, 2.0)


# --------------------------------------------------------------------------- observed_rate
@given(rate=st_h.floats(0.05, 0.995), scale=st_h.floats(1e-3, 1e3))
@settings(max_examples=40, deadline=None)
def test_observed_rate_recovers_a_geometric_sequence(rate, scale):
    n = int(40 / -math.log(rate)) + 5  # enough terms to fall below 1e-12 of the first
    fit = D.observed_rate(scale * rate ** np.arange(n))
    assert fit.rate == pytest.approx(rate, rel=1e-9)
    assert fit.residual < 1e-9 and fit.n_points >= 3
    assert float(fit) == fit.rate


def test_observed_rate_band_and_polynomial_factor():
    k = np.arange(2000)
    errors = (1 + k) * 0.95 ** k + 1e-14  # k rho^k with a round-off floor
    plain = D.observed_rate(errors)
    assert plain.rate > 0.95 * 1.001  # the k factor biases a plain fit upwards
    corrected = D.observed_rate(errors, k_power=1)
    assert corrected.rate == pytest.approx(0.95, rel=2e-4)
    assert errors[corrected.start] <= 1e-3 * errors[0]
    assert errors[corrected.stop - 1] >= 1e-12 * errors[0]
    # function values with f_min subtracted
    fvals = 3.0 + 0.5 ** np.arange(60)
    assert D.observed_rate(fvals, f_min=3.0).rate == pytest.approx(0.5)


def test_observed_rate_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="only 0 errors lie between 0.001 and 1e-12"):
        D.observed_rate(np.ones(10))
    with pytest.raises(ValueError, match="first error must be positive"):
        D.observed_rate([0.0, 1.0])
    with pytest.raises(ValueError, match=r"lower must be in \(0, 0.001\)"):
        D.observed_rate([1.0, 0.5], lower=0.1)


# --------------------------------------------------------------------------- curvature
@pytest.mark.parametrize("dim,kappa", [(2, 10.0), (10, 1000.0), (40, 100.0)])
def test_lanczos_finds_the_whole_spectrum_of_a_small_quadratic(dim, kappa):
    q = problems.quadratic(dim=dim, kappa=kappa, mu=0.5)
    np.testing.assert_allclose(D.hessian_eigenvalues(q.grad, q.x0), q.eigenvalues, rtol=1e-6)
    assert D.lipschitz_estimate(q.grad, q.x0) == pytest.approx(q.L, rel=1e-6)
    assert D.strong_convexity_estimate(q.grad, q.x0) == pytest.approx(q.mu, rel=1e-6)


def test_lanczos_in_high_dimension_finds_l_and_bounds_mu_from_above():
    q = problems.quadratic(dim=150, kappa=100.0)
    values = D.hessian_eigenvalues(q.grad, q.x0)
    assert values.size == 60
    assert values[-1] == pytest.approx(q.L, rel=1e-6)
    assert q.mu <= values[0] < 1.5 * q.mu  # a Ritz value never undershoots


def test_curvature_on_rosenbrock_matches_the_analytic_hessian():
    r = problems.rosenbrock()
    x = np.array([-0.5, 0.8])
    hessian = np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]], [-400 * x[0], 200.0]])
    np.testing.assert_allclose(D.hessian_eigenvalues(r.grad, x), np.linalg.eigvalsh(hessian),
                               rtol=1e-6)
    assert D.strong_convexity_estimate(r.grad, [0.0, 1.0]) < 0  # not convex there


def test_hessian_eigenvalues_on_a_matrix_shaped_point_and_errors():
    M = np.diag([1.0, 2.0, 3.0, 4.0])
    values = D.hessian_eigenvalues(lambda X: (M @ X.reshape(-1)).reshape(2, 2), np.ones((2, 2)))
    np.testing.assert_allclose(values, [1, 2, 3, 4], rtol=1e-6)
    with pytest.raises(FloatingPointError, match="not finite"):
        D.hessian_eigenvalues(lambda x: np.full_like(x, np.inf), np.zeros(2))
    with pytest.raises(ValueError, match="x must be a non-empty finite array"):
        D.lipschitz_estimate(lambda x: x, [np.nan])
    with pytest.raises(ValueError, match=r"k must be in \[1, 2\], got 3"):
        D.hessian_eigenvalues(lambda x: x, np.zeros(2), k=3)


# --------------------------------------------------------------------------- oscillation
def gd_gradients(problem, lr, n):
    x, grads = problem.x0.copy(), []
    for _ in range(n):
        g = problem.grad(x)
        grads.append(g)
        x = x - lr * g
    return np.array(grads)


def test_oscillation_is_detected_above_two_over_mu_plus_l_and_not_below():
    q = problems.quadratic(kappa=10)
    zigzag = D.detect_oscillation(gd_gradients(q, 1.9 / q.L, 60))
    assert zigzag.oscillating and zigzag.fraction == 1.0 and zigzag.mean_cosine < -0.9
    assert bool(zigzag) and "oscillating" in zigzag.message
    calm = D.detect_oscillation(gd_gradients(q, 0.5 / q.L, 60))
    assert not calm.oscillating and calm.fraction == 0.0


def test_oscillation_on_scalars_and_degenerate_input():
    assert D.detect_oscillation([1.0, -1.0, 1.0, -1.0]).oscillating
    report = D.detect_oscillation(np.zeros((5, 2)))
    assert not report.oscillating and report.n_pairs == 0
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        D.detect_oscillation([1.0, 2.0], threshold=0.0)


# --------------------------------------------------------------------------- saddles
def test_saddle_detection():
    s = problems.saddle()
    report = D.detect_saddle(s.grad, [0.0, 0.0])
    assert report.is_saddle is True
    assert report.min_eigenvalue == pytest.approx(-2.0) and report.max_eigenvalue == pytest.approx(2)
    assert "Hessian eigenvalue -2" in report.reason
    moving = D.detect_saddle(s.grad, [1.0, 0.0])
    assert moving.is_saddle is False and "not a stationary point" in moving.reason
    r = problems.rosenbrock()
    minimum = D.detect_saddle(r.grad, [1.0, 1.0], r.value)
    assert minimum.is_saddle is False and "local minimum" in minimum.reason


def test_degenerate_monkey_saddle_needs_probing():
    m = problems.monkey_saddle()
    assert D.detect_saddle(m.grad, [0.0, 0.0]).is_saddle is None
    probed = D.detect_saddle(m.grad, [0.0, 0.0], m.value)
    assert probed.is_saddle is True and "decreases" in probed.reason
    flat_minimum = D.detect_saddle(lambda x: 4 * x ** 3, [0.0, 0.0], lambda x: float(np.sum(x ** 4)))
    assert flat_minimum.is_saddle is None and "no descent" in flat_minimum.reason


# --------------------------------------------------------------------------- Robbins-Monro
@given(p=st_h.floats(0.0, 2.0), lr0=st_h.floats(1e-4, 10.0))
@settings(max_examples=60, deadline=None)
def test_robbins_monro_inverse_power_is_exact(p, lr0):
    result = D.robbins_monro(schedules.inverse_power(lr0, p=p))
    assert result.verdict is (0.5 < p <= 1.0)
    assert result.method == "exact" and bool(result) is result.verdict


@pytest.mark.parametrize("schedule,verdict", [
    (schedules.inverse_power(1.0, p=1.0), True),
    (schedules.inverse_power(0.1, p=0.5), False),
    (schedules.inverse_power(0.0, p=0.7), False),
    (schedules.inverse_time(0.1, 0.01), True),
    (schedules.constant(0.1), False),
    (schedules.exponential(0.1, 0.99), False),
    (schedules.step(0.1, 30, 0.5), False),
    (schedules.cosine(0.1, 100), False),
    (schedules.cosine(0.1, 100, lr_min=1e-3), False),
    (schedules.warmup(schedules.inverse_power(0.1, p=0.6), 10), True),
    (schedules.piecewise([0.1, schedules.inverse_power(1.0, p=0.75)], [100]), True),
    (schedules.parse("1/t"), True),
    (0.01, False),
])
def test_robbins_monro_built_in_families(schedule, verdict):
    result = D.robbins_monro(schedule)
    assert result.verdict is verdict and result.method == "exact"
    assert result.reason


@pytest.mark.parametrize("function,verdict", [
    (lambda t: 0.3 / t, True),
    (lambda t: 2.0 / t ** 0.75, True),
    (lambda t: 1.0 / (10.0 + t), True),
    (lambda t: 0.1 / t ** 0.4, False),
    (lambda t: 1.0 / math.sqrt(t), False),
    (lambda t: 1.0 / t ** 1.5, False),
    (lambda t: 0.9 ** t, False),
    (lambda t: 0.05, False),
    (lambda t: 1.0 / (t * math.log(t + 1)), None),       # diverges, but only like log log t
    (lambda t: 1.0 / (t * math.log(t + 1) ** 2), None),  # converges: indistinguishable
    (lambda t: -1.0 / t, False),
])
def test_robbins_monro_numerically_for_any_callable(function, verdict):
    result = D.robbins_monro(function)
    assert result.verdict is verdict, result.reason
    assert result.method == "numerical"
    if verdict is None:
        assert "undecided" in result.reason and not result


def test_robbins_monro_on_a_custom_schedule_falls_back_to_numbers():
    custom = schedules.as_schedule(lambda t: 0.5 / t ** 0.9)
    result = D.robbins_monro(custom)
    assert result.verdict is True and result.method == "numerical"
    assert "t^-0.9 over" in result.reason  # the fitted exponent, to the digits that matter


def test_robbins_monro_rejects_non_schedules():
    with pytest.raises(TypeError, match="schedule must be a schedule, a callable"):
        D.robbins_monro("1/t")
    with pytest.raises(ValueError, match=r"robbins_monro: schedule must be in \[0, inf\)"):
        D.robbins_monro(-0.1)


def test_divergence_warning_is_a_runtime_warning():
    assert issubclass(D.DivergenceWarning, RuntimeWarning)


@pytest.mark.parametrize("p, verdict", [(1.000001, False), (1.0000001, False),
                                        (0.500001, True), (0.5000001, True), (1.0, True),
                                        (0.5, False)])
def test_robbins_monro_tells_exponents_next_to_the_boundaries(p, verdict):
    # a fitted exponent within 1e-6 of 1 (or 1/2) had been taken for it: t^-1.000001, whose
    # sum converges, passed, and t^-0.500001 failed; an exact power law fits to ~1e-15
    result = D.robbins_monro(lambda t: 0.1 * t ** -p)
    assert result.verdict is verdict and result.method == "numerical", result.reason


def test_detect_saddle_calls_a_maximum_a_maximum():
    from scipy.optimize import fsolve
    p = problems.himmelblau()
    peak = fsolve(p.grad, (-0.27, -0.92))  # the local maximum near (-0.27, -0.92)
    report = D.detect_saddle(p.grad, peak)
    assert report.is_saddle is False and report.max_eigenvalue < 0
    assert report.reason.startswith("local maximum, not a saddle")
