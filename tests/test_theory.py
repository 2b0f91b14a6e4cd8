"""The theory of gradient descent, measured on runs of ``st.minimize``.

* GD with the Robbins-Monro step alpha_n = 1/n converges on strictly convex functions.
* GD with alpha = 2/(mu + L) contracts at (kappa - 1)/(kappa + 1) on a quadratic, and heavy-ball
  momentum with Polyak's optimal parameters at (sqrt(kappa) - 1)/(sqrt(kappa) + 1), each within 2%
  (and, more strictly, within 2% in log-rate, the number of digits gained per iteration).
* GD with a constant step above 2/L diverges and is reported as such, with a step that works.
* GD started on the stable axis of a saddle stops at the saddle, which is reported as a saddle.
"""

import math
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import diagnostics, problems, schedules

KAPPAS = [10.0, 100.0, 1000.0]


def errors(result, problem):
    return np.linalg.norm(result.path - problem.minimizers[0], axis=1)


def assert_rate(observed, theory):
    assert observed == pytest.approx(theory, rel=0.02)
    # the log-rate (digits per iteration) is the stricter comparison when rho is close to 1
    assert math.log(observed) == pytest.approx(math.log(theory), rel=0.02)


def iterations_for(rate, digits):
    return int(digits * math.log(10) / -math.log(rate)) + 50


# --------------------------------------------------------------------------- Robbins-Monro steps
def test_gd_with_one_over_n_steps_converges_on_a_strictly_convex_quadratic():
    q = problems.quadratic(dim=5, kappa=4.0, mu=1.5)  # curvatures in [1.5, 6]
    lr = schedules.inverse_power(1.0, p=1.0)
    assert diagnostics.robbins_monro(lr).verdict is True
    result = st.minimize(q, q.x0, method="gd", lr=lr, max_iter=20_000, gtol=1e-10)
    e = errors(result, q)
    np.testing.assert_allclose(result.lrs[:4], [1.0, 0.5, 1 / 3, 0.25])
    assert e[-1] < 1e-6 * e[0]
    # after the first few steps (which overshoot, 1/n > 2/L) the error only decreases
    assert np.all(np.diff(e[20:]) <= 0)


def test_gd_with_one_over_n_steps_converges_on_a_strictly_convex_nonquadratic_function():
    # f(x) = sum 2 log cosh(x - c) + |x|^2: Hessian between 2I and 4I; minimiser by Newton
    c = np.array([2.0, -1.0, 0.5])

    def f(x):
        d = x - c
        return 2.0 * ((d.exp() + (-d).exp()) * 0.5).log().sum() + (x * x).sum()

    x_star = np.zeros(3)
    for _ in range(50):
        t = np.tanh(x_star - c)
        x_star -= (t + x_star) / (2.0 - t ** 2)
    result = st.minimize(f, [5.0, 5.0, -5.0], method="gd", lr="1/t", max_iter=3000, gtol=1e-10)
    e = np.linalg.norm(result.path - x_star, axis=1)
    assert e[-1] < 1e-6
    assert np.all(np.diff(e[10:]) <= 0)


# --------------------------------------------------------------------------- linear rates
@pytest.mark.parametrize("kappa", KAPPAS)
def test_gd_with_the_optimal_step_contracts_at_kappa_minus_one_over_kappa_plus_one(kappa):
    q = problems.quadratic(dim=10, kappa=kappa)
    theory = diagnostics.gd_rate(kappa)
    result = st.minimize(q, q.x0, method="gd", lr=diagnostics.gd_optimal_lr(q.L, q.mu),
                         max_iter=iterations_for(theory, 13), gtol=0.0)
    fit = diagnostics.observed_rate(errors(result, q), upper=1e-3, lower=1e-12)
    assert fit.n_points > 50
    assert_rate(fit.rate, theory)


@pytest.mark.parametrize("kappa", KAPPAS)
def test_heavy_ball_with_polyak_parameters_contracts_at_the_accelerated_rate(kappa):
    q = problems.quadratic(dim=10, kappa=kappa)
    alpha, beta = diagnostics.heavy_ball_parameters(q.L, q.mu)
    theory = diagnostics.heavy_ball_rate(kappa)
    result = st.minimize(q, q.x0, method="momentum", lr=alpha, momentum=beta,
                         max_iter=iterations_for(theory, 14), gtol=0.0)
    # the extreme curvatures give a double eigenvalue: e_k ~ k rho^k, so remove the k factor
    fit = diagnostics.observed_rate(errors(result, q), upper=1e-3, lower=1e-12, k_power=1)
    assert fit.n_points > 20
    assert_rate(fit.rate, theory)
    assert fit.rate < diagnostics.gd_rate(kappa)  # faster than the best plain GD


def test_the_rate_through_the_autodiff_engine_is_the_same():
    q = problems.quadratic(dim=10, kappa=100.0)
    lr = diagnostics.gd_optimal_lr(q.L, q.mu)
    via_engine = st.minimize(q.f, q.x0, method="gd", lr=lr, max_iter=1500, gtol=0.0)
    fit = diagnostics.observed_rate(errors(via_engine, q))
    assert_rate(fit.rate, diagnostics.gd_rate(100.0))


# --------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("kappa", KAPPAS)
def test_gd_above_two_over_l_diverges_and_is_reported(kappa):
    q = problems.quadratic(dim=10, kappa=kappa)
    lr = 2.2 / q.L
    with pytest.warns(diagnostics.DivergenceWarning, match=r"> 2/L = .*try lr <= "):
        result = st.minimize(q, q.x0, method="gd", lr=lr, max_iter=5000)
    assert result.diverged and not result.success and result.status == 4
    assert f"by iteration {result.nit}" in result.message
    assert result.suggested_lr == pytest.approx(1.0 / q.L, rel=1e-4)
    assert result.fvals[-1] > 1e6 * result.fvals[0]
    # the suggested step works
    with warnings.catch_warnings():
        warnings.simplefilter("error", diagnostics.DivergenceWarning)
        fixed = st.minimize(q, q.x0, method="gd", lr=result.suggested_lr, max_iter=200_000,
                            gtol=1e-8)
    assert fixed.success and q.distance(fixed.x) < 1e-6


def test_gd_just_below_two_over_l_does_not_diverge():
    q = problems.quadratic(dim=4, kappa=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", diagnostics.DivergenceWarning)
        result = st.minimize(q, q.x0, method="gd", lr=1.95 / q.L, max_iter=5000, gtol=1e-9)
    assert result.success and not result.diverged


# --------------------------------------------------------------------------- saddles
def test_gd_on_the_stable_axis_stops_at_the_saddle_and_says_so():
    saddle = problems.saddle()
    result = st.minimize(saddle.f, [1.0, 0.0], method="gd", lr=0.1, gtol=1e-6)
    assert np.linalg.norm(result.x) < 1e-6  # it did reach the stationary point...
    assert result.saddle and not result.success and result.status == 7
    assert "saddle point (Hessian eigenvalue -2), not a minimum" in result.message
    assert result.min_hessian_eigenvalue == pytest.approx(-2.0, rel=1e-6)


def test_gd_off_the_stable_axis_escapes_the_saddle():
    saddle = problems.saddle()
    result = st.minimize(saddle, saddle.x0, method="gd", lr=0.1, max_iter=100)
    assert not result.saddle
    assert abs(result.x[1]) > 10 and result.fun < -100  # slid off along y, downhill


def test_a_true_minimum_is_not_called_a_saddle():
    h = problems.himmelblau()
    result = st.minimize(h, h.x0, method="gd", lr=0.01, gtol=1e-8, max_iter=5000)
    assert result.success and not result.saddle
    assert result.min_hessian_eigenvalue > 0
    assert h.distance(result.x) < 1e-8
