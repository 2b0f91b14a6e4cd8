"""Newton, BFGS, L-BFGS and CG in ``st.minimize``: convergence, their orders, the trace, the
Hessian's pathologies, errors, and the Moré–Garbow–Hillstrom claim against scipy (a subset)."""

import importlib
import os
import sys
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import diagnostics, problems

minimize_module = importlib.import_module("steepest.minimize")
SECOND = ("newton", "bfgs", "lbfgs", "cg")


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


# --------------------------------------------------------------------------- convergence, trace
@pytest.mark.parametrize("method", SECOND)
def test_every_method_solves_rosenbrock_with_the_full_trace(method):
    result = st.minimize(rosenbrock, [-1.2, 1.0], method=method, gtol=1e-8)
    assert result.success and result.status == 0, result.message
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-7)
    n = result.nit
    assert result.path.shape == (n + 1, 2) and result.fvals.shape == (n + 1,)
    assert result.grad_norms.shape == (n + 1,) and result.lrs.shape == (n,)
    np.testing.assert_array_equal(result.path[0], [-1.2, 1.0])
    p = problems.rosenbrock()
    np.testing.assert_allclose(result.fvals, [p.value(x) for x in result.path], rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(result.grad_norms, [np.linalg.norm(p.grad(x))
                                                   for x in result.path], rtol=1e-10)
    assert np.all(result.lrs > 0)
    # every iterate was evaluated, plus the line searches' extra trials
    assert result.nfev >= n + 1 and result.njev == result.nfev
    assert np.all(np.diff(result.fvals) <= 0)  # line searches with sufficient decrease


def test_newton_converges_quadratically_and_bfgs_superlinearly_gd_linearly():
    p = problems.rosenbrock()
    newton = st.minimize(p.f, p.x0, method="newton", gtol=1e-12)
    order = diagnostics.convergence_order(np.linalg.norm(newton.path - 1.0, axis=1))
    assert order.kind == "quadratic" and order.order > 1.7
    # the digits of accuracy (about) double per step at the end
    assert order.digits[-1] > 1.5 * order.digits[-2]
    bfgs = st.minimize(p.f, p.x0, method="bfgs", gtol=1e-12)
    assert diagnostics.convergence_order(
        np.linalg.norm(bfgs.path - 1.0, axis=1)).kind in ("superlinear", "quadratic")
    q = problems.quadratic(dim=2, kappa=10.0)
    gd = st.minimize(q.f, q.x0, lr=2 / (q.L + q.mu), gtol=1e-12, max_iter=500)
    linear = diagnostics.convergence_order(np.linalg.norm(gd.path - q.minimizers[0], axis=1))
    assert linear.kind == "linear"
    assert linear.rate == pytest.approx(diagnostics.gd_rate(10.0), rel=1e-3)


def test_newton_takes_one_step_on_a_quadratic():
    q = problems.quadratic(dim=5, kappa=100.0)
    result = st.minimize(q.f, q.x0, method="newton", gtol=1e-9)
    assert result.nit == 1 and result.nhev == 1 and result.lrs[0] == 1.0  # the exact Hessian
    np.testing.assert_allclose(result.x, q.minimizers[0], atol=1e-9)


@pytest.mark.parametrize("method", ("bfgs", "lbfgs", "cg"))
def test_quasi_newton_and_cg_are_exact_on_a_quadratic_in_few_steps(method):
    q = problems.quadratic(dim=4, kappa=50.0)
    result = st.minimize(q.f, q.x0, method=method, gtol=1e-8, max_iter=200)
    assert result.success
    assert result.nit <= 25  # gradient descent needs hundreds at kappa = 50


def test_lbfgs_history_size_is_an_option():
    p = problems.rosenbrock(dim=6)
    short = st.minimize(p.f, p.x0, method="lbfgs", history_size=1, gtol=1e-8, max_iter=2000)
    long = st.minimize(p.f, p.x0, method="lbfgs", history_size=20, gtol=1e-8, max_iter=2000)
    assert short.success and long.success
    assert short.nit != long.nit


def test_cg_restart_is_an_option():
    p = problems.rosenbrock()
    every = st.minimize(p.f, p.x0, method="cg", restart=1, gtol=1e-6, max_iter=20000)
    default = st.minimize(p.f, p.x0, method="cg", gtol=1e-6)
    assert every.success and default.success and every.nfev > default.nfev  # restart=1 is GD


def test_second_order_methods_work_with_jac_and_a_shaped_x0():
    target = np.arange(6.0).reshape(2, 3)

    def f(x):
        return float(np.sum((x - target) ** 2 * (1 + np.arange(6.0).reshape(2, 3))))

    def g(x):
        return 2 * (x - target) * (1 + np.arange(6.0).reshape(2, 3))

    def h(x):
        return np.diag(2 * (1 + np.arange(6.0)))

    for method in SECOND:
        extra = {"hess": h} if method == "newton" else {}
        result = st.minimize(f, np.zeros((2, 3)), method=method, jac=g, gtol=1e-9, **extra)
        assert result.success and result.x.shape == (2, 3)
        np.testing.assert_allclose(result.x, target, atol=1e-8)


def test_newton_uses_the_engines_hessian_for_a_problem_and_tensor_code():
    p = problems.beale()
    a = st.minimize(p, p.x0, method="newton", gtol=1e-10)
    b = st.minimize(p.f, p.x0, method="newton", gtol=1e-10)
    assert a.success and b.success
    np.testing.assert_allclose(a.x, [3.0, 0.5], atol=1e-8)
    np.testing.assert_allclose(a.path, b.path, atol=1e-10)


def test_newton_with_armijo():
    p = problems.rosenbrock()
    result = st.minimize(p.f, p.x0, method="newton", line_search="armijo", gtol=1e-9)
    assert result.success and np.allclose(result.x, 1.0)


# --------------------------------------------------------------------------- the Hessian's faults
def double_well(x):
    return x[0] ** 4 - x[0] ** 2 + x[1] ** 2


def test_an_indefinite_hessian_is_modified_and_reported():
    # at x = (0.1, 1) the Hessian is diag(12 x^2 - 2, 2): indefinite; pure Newton would step
    # to the saddle at the origin
    result = st.minimize(double_well, [0.1, 1.0], method="newton", gtol=1e-10)
    assert result.success and not result.saddle
    np.testing.assert_allclose(np.abs(result.x), [2 ** -0.5, 0.0], atol=1e-8)
    assert any("indefinite" in note and "eigenvalue modification" in note
               for note in result.diagnostics)


def test_a_singular_hessian_is_reported_never_a_linalg_error():
    # f = x^4 + y^2: the Hessian diag(12 x^2, 2) is singular at the minimiser
    result = st.minimize(lambda x: x[0] ** 4 + x[1] ** 2, [1.0, 1.0], method="newton",
                         max_iter=200, gtol=1e-12)
    assert any("nearly singular at the last iterate" in note for note in result.diagnostics)
    assert abs(result.x[0]) < 1e-3 and abs(result.x[1]) < 1e-12
    zero = st.minimize(lambda x: (x * 0.0).sum() + 3.0 * x[0], [1.0, 2.0], method="newton",
                       max_iter=5)  # a zero Hessian: linear f, unbounded below
    assert not zero.success
    assert any("singular" in note for note in zero.diagnostics)


def test_a_non_finite_hessian_stops_with_a_message():
    result = st.minimize(lambda x: float(np.sum(x ** 2)), [1.0, 1.0], method="newton",
                         jac=lambda x: 2 * x, hess=lambda x: np.full((2, 2), np.nan))
    assert result.status == 3 and not result.success
    assert "Hessian is not finite at iteration 0" in result.message
    np.testing.assert_array_equal(result.x, [1.0, 1.0])


def test_a_saddle_point_reached_by_bfgs_is_detected_with_exact_products():
    # started on the stable manifold of the saddle of x^2 - y^2 + y^4/4, BFGS stops there
    result = st.minimize(lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4 / 4, [1.0, 0.0],
                         method="bfgs", gtol=1e-10)
    assert result.saddle and result.status == 7
    assert result.min_hessian_eigenvalue == pytest.approx(-2.0, rel=1e-6)


# --------------------------------------------------------------------------- errors
def test_newton_on_numpy_code_without_hess_says_what_it_needs():
    with pytest.raises(ValueError, match=r"method 'newton' needs a Hessian, but fun is NumPy "
                                         r"code given with jac=.*pass hess="):
        st.minimize(lambda x: float(np.sum(x ** 2)), [1.0], method="newton",
                    jac=lambda x: 2 * x)


@pytest.mark.parametrize("kwargs,error,pattern", [
    ({"method": "newton", "lr": 0.1}, ValueError, "chooses each step by a line search.*no lr"),
    ({"method": "bfgs", "history_size": 5}, TypeError,
     "method 'bfgs' takes no option 'history_size'; it takes none"),
    ({"method": "lbfgs", "restart": 5}, TypeError,
     "method 'lbfgs' takes no option 'restart'; its options are: history_size"),
    ({"method": "lbfgs", "history_size": 0}, ValueError, r"history_size must be in \[1, inf\)"),
    ({"method": "cg", "restart": 0}, ValueError, r"restart must be in \[1, inf\)"),
    ({"method": "bfgs", "line_search": "armijo"}, ValueError,
     "needs a line search that enforces the curvature condition"),
    ({"method": "bfgs", "hess": lambda x: np.eye(1)}, ValueError,
     "hess is used by method='newton' only"),
    ({"method": "newton", "hess": 3}, TypeError, "hess must be a callable"),
    ({"method": "newton", "hess": lambda x: np.eye(2)}, ValueError,
     r"hess must return an array of shape \(1, 1\)"),
])
def test_bad_arguments_are_named(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        st.minimize(lambda x: (x * x).sum(), [1.0], **kwargs)


# --------------------------------------------------------------------------- issue 11.4
def test_early_steps_above_two_over_l_warn_even_when_the_run_recovers():
    q = problems.quadratic(dim=2, kappa=10.0)  # curvatures 1 and 10
    with pytest.warns(diagnostics.UnstableStepWarning, match=r"exceeded 2/L = 0.2 .* t = 1..4"):
        result = st.minimize(q.f, q.x0, lr="1/t", max_iter=100)
    assert result.success and result.unstable_steps == [1, 2, 3, 4]
    assert any("unstable early steps" in note for note in result.diagnostics)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calm = st.minimize(q.f, q.x0, lr="0.1/t^0.6", max_iter=100)
    assert "unstable_steps" not in calm


def test_a_constant_step_above_two_over_l_is_called_diverging_not_recovered():
    # max_iter ends the run before the divergence check fires; f is still growing
    q = problems.quadratic(dim=2, kappa=10.0)
    with pytest.warns(diagnostics.UnstableStepWarning) as caught:
        result = st.minimize(q.f, q.x0, lr=0.21, max_iter=30)
    message = str(caught[0].message)
    assert "recovered" not in message
    assert "lr = 0.21 stays above 2/L = 0.2" in message and "diverging" in message
    assert "use lr <= 0.1" in message and result.fvals[-1] > result.fvals[0]


# --------------------------------------------------------------------------- diagnostics
def test_exact_hvp_gives_the_spectrum_and_curvature():
    q = problems.quadratic(dim=6, kappa=40.0)
    hvp = st.hvp(q._expression)  # the engine's exact products
    values = diagnostics.hessian_eigenvalues(None, q.x0, hvp=hvp)
    np.testing.assert_allclose(values, np.sort(q.eigenvalues), rtol=1e-6)
    estimate = diagnostics.curvature(None, q.x0, hvp=hvp)
    assert estimate.exact and estimate.kappa == pytest.approx(40.0, rel=1e-6)
    assert estimate.suggested_lr == pytest.approx(1 / q.L, rel=1e-6)
    assert estimate.optimal_lr == pytest.approx(2 / (q.L + q.mu), rel=1e-6)
    differenced = diagnostics.curvature(q.grad, q.x0)
    assert not differenced.exact and differenced.L == pytest.approx(q.L, rel=1e-5)
    with pytest.raises(TypeError, match="give grad .* or hvp"):
        diagnostics.hessian_eigenvalues(None, q.x0)


@pytest.mark.parametrize("errors,kind", [
    (0.5 ** (2.0 ** np.arange(6)), "quadratic"),
    (np.exp(-np.arange(8) ** 1.6), "superlinear"),
    (0.7 ** np.arange(60), "linear"),
    (1.0 / np.arange(1, 200), "sublinear"),
    ([1.0, 1e-20], "undetermined"),
])
def test_convergence_order_classifies(errors, kind):
    assert diagnostics.convergence_order(errors).kind == kind


def test_convergence_order_reads_a_two_step_pattern():
    # CG on Rosenbrock: a big step, then one that barely moves, in turn; the one-step ratios
    # (1, 0.06, 1, 0.004, ...) had been fitted as 'linear', the two-step ones are quadratic
    errors = np.repeat(0.5 ** (2.0 ** np.arange(5)), 2) * np.tile([1.0, 0.999], 5)
    order = diagnostics.convergence_order(errors)
    assert order.kind == "quadratic" and order.order == pytest.approx(2.0, abs=0.05)
    assert "every 2 steps" in order.message


def test_convergence_order_of_an_oscillating_error_is_its_peaks_rate():
    # heavy ball spirals in: the error swings while its peaks decay by 0.95 per step; four
    # errors falling into a trough had read 'superlinear (order 2.25)'
    k = np.arange(120)
    spiral = 0.95 ** k * (0.2 + np.abs(np.cos(0.45 * k)))
    troughs = np.flatnonzero((spiral[1:-1] < spiral[:-2]) & (spiral[1:-1] < spiral[2:])) + 1
    order = diagnostics.convergence_order(spiral[:troughs[-1] + 1])  # stopped in a trough
    assert order.kind == "linear" and order.rate == pytest.approx(0.95, abs=0.005)
    assert "peaks of an error that oscillates" in order.message


def test_convergence_order_leaves_out_a_lone_last_drop():
    # a run stopped by its tolerance stops where its error dipped: one fast last step after
    # a steady 0.97 had read 'quadratic, order 76'
    errors = np.r_[0.97 ** np.arange(30), 0.97 ** 29 * 0.01]
    order = diagnostics.convergence_order(errors)
    assert order.kind == "linear" and order.rate == pytest.approx(0.97)
    assert "one step is not a trend" in order.message


def test_convergence_order_says_irregular_ratios_fit_no_order():
    errors = np.cumprod([1.0, 0.9, 1e-3, 0.5, 0.95, 2e-3, 0.9, 0.02, 0.8, 0.9])
    order = diagnostics.convergence_order(errors)
    assert order.kind == "undetermined" and np.isnan(order.order)
    assert "irregular (from 0.02 to 0.9)" in order.message  # not 'linear, rate 0.24'


# --------------------------------------------------------------------------- MGH against scipy
def test_mgh_subset_solves_what_scipy_solves():
    pytest.importorskip("scipy")
    pytest.importorskip("sympy")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    try:
        mgh = importlib.import_module("mgh")
    finally:
        sys.path.pop(0)
    table = mgh.run_all([5, 7, 12, 14, 21, 22, 9])
    for number, row in table.items():
        for method, others in mgh.PAIRS.items():
            for other in others:
                if row[other].solved:
                    assert row[method].solved, (number, method, other, row[method])
                    assert row[method].nfev <= 3 * row[other].nfev + 10, (number, method, other)


# --------------------------------------------------------------------------- the CLI
def test_cli_minimize_and_compare_offer_the_second_order_methods(capsys):
    from steepest import cli
    assert cli.main(["minimize", "rosenbrock", "--method", "newton"]) == 0
    assert "converged" in capsys.readouterr().out
    assert cli.main(["compare", "rosenbrock", "--methods", "gd,bfgs,newton", "--lr", "1e-3",
                     "--max-iter", "300"]) == 0
    out = capsys.readouterr().out
    assert "observed order of convergence" in out
    assert "newton: quadratic convergence" in out
    assert "bfgs" in out and "line search" in out  # not tuned: it takes no lr


# --------------------------------------------------------------------------- the demo's data
def test_the_second_order_figure_and_its_orders():
    pytest.importorskip("matplotlib")
    from steepest import experiments, plot
    runs = experiments.second_order_runs(max_iter=300)
    headers, rows = experiments.second_order_rows(runs)
    kinds = {(row[0].split(",")[0], row[1]): row[4] for row in rows}
    assert kinds[("Rosenbrock", "newton")].startswith("quadratic")
    assert kinds[("Rosenbrock", "bfgs")].startswith(("superlinear", "quadratic"))
    assert kinds[("Rosenbrock", "cg")].startswith("quadratic")  # n-step quadratic, n = 2
    assert kinds[("quadratic", "newton")] == "exact in one step"
    gd = next(row for row in rows if row[0].startswith("quadratic") and row[1] == "gd")
    assert gd[4].startswith("linear") and float(gd[5]) == pytest.approx(float(gd[6]), rel=1e-3)
    fig = plot.convergence_by_cost(runs)
    assert len(fig.axes) == 4


def test_callback_and_ftol_stop_second_order_runs():
    p = problems.rosenbrock()
    seen = []
    stopped = st.minimize(p.f, p.x0, method="bfgs",
                          callback=lambda r: seen.append(r.nit) or r.nit == 5)
    assert stopped.status == 5 and stopped.nit == 5 and seen == list(range(6))
    assert stopped.lrs.shape == (5,)
    pair = st.minimize(lambda x: (float(np.sum((x - 2) ** 2)), 2 * (x - 2)), [0.0, 0.0],
                       method="cg", jac=True, ftol=1e-12, gtol=0.0)
    assert pair.status in (0, 1) and np.allclose(pair.x, 2.0)
