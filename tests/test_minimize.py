"""``st.minimize``: every method, the trace, stopping rules, the three ways to give f, errors."""

import importlib
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import diagnostics, optim, problems, schedules

minimize_module = importlib.import_module("steepest.minimize")
METHOD_LRS = {"gd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.5, "rmsprop": 0.01,
              "adam": 0.05, "adamw": 0.05, "adadelta": 1.0, "adamax": 0.05, "nadam": 0.05,
              "radam": 0.05, "rprop": 0.01, "asgd": 0.05, "adafactor": 0.05, "lion": 0.01,
              "schedule_free_adamw": 0.05}


@pytest.fixture
def quad():
    return problems.quadratic(dim=3, kappa=10.0)


def sphere(x):
    return ((x - 1.0) * (x - 1.0)).sum()


# --------------------------------------------------------------------------- methods
def test_methods_are_listed():
    assert minimize_module.FIRST_ORDER == ("gd", "momentum", "nesterov", "adagrad", "rmsprop",
                                           "adam", "adamw", "adadelta", "adamax", "nadam",
                                           "radam", "rprop", "asgd", "adafactor", "lion",
                                           "schedule_free_adamw")
    assert minimize_module.SECOND_ORDER == ("newton", "bfgs", "lbfgs", "cg")
    assert minimize_module.METHODS == minimize_module.FIRST_ORDER + minimize_module.SECOND_ORDER
    assert st.minimize.METHODS == minimize_module.METHODS
    assert set(METHOD_LRS) == set(minimize_module.FIRST_ORDER)


@pytest.mark.parametrize("method", list(METHOD_LRS))
def test_every_method_follows_its_optimizer_exactly(method, quad):
    """minimize is the optimizer's own loop: the same iterates, bit for bit."""
    lr = METHOD_LRS[method]
    result = st.minimize(quad.f, quad.x0, method=method, lr=lr, max_iter=40, gtol=0.0)
    name, fixed, defaults = minimize_module._OPTIMIZERS[method]
    x = st.tensor(quad.x0, requires_grad=True)
    optimizer = optim.OPTIMIZERS[name]([x], lr=lr, **defaults, **fixed)
    expected = [x.data.copy()]
    for _ in range(40):
        x.grad = None
        quad.f(x).backward()
        optimizer.step()
        expected.append(x.data.copy())
    np.testing.assert_array_equal(result.path, np.array(expected))
    assert result.method == method and result.nit == 40
    np.testing.assert_array_equal(result.lrs, np.full(40, lr))


@pytest.mark.parametrize("method", list(METHOD_LRS))
def test_every_method_makes_progress_on_rosenbrock(method):
    r = problems.rosenbrock()
    lr = {"gd": 1e-3, "momentum": 2e-4, "nesterov": 2e-4, "adadelta": 1.0, "asgd": 1e-3,
          "radam": 1e-3}.get(method, 1e-2)
    result = st.minimize(r, r.x0, method=method, lr=lr, max_iter=2000)
    assert result.fun < 0.5 * r.value(r.x0)
    assert not result.diverged


def test_options_reach_the_optimizer(quad):
    a = st.minimize(quad, quad.x0, method="momentum", lr=0.05, momentum=0.5, max_iter=5)
    x = st.tensor(quad.x0, requires_grad=True)
    opt = optim.SGD([x], lr=0.05, momentum=0.5)
    for _ in range(5):
        x.grad = quad.grad(x.data)
        opt.step()
    np.testing.assert_array_equal(a.x, x.data)
    b = st.minimize(quad, quad.x0, method="adam", lr=0.1, betas=(0.5, 0.9), amsgrad=True,
                    max_iter=5)
    c = st.minimize(quad, quad.x0, method="adam", lr=0.1, max_iter=5)
    assert not np.array_equal(b.x, c.x)
    n = st.minimize(quad, quad.x0, method="nesterov", lr=0.05, max_iter=5)
    m = st.minimize(quad, quad.x0, method="momentum", lr=0.05, max_iter=5)
    assert not np.array_equal(n.x, m.x)


# --------------------------------------------------------------------------- the trace
def test_trace_is_complete_and_consistent(quad):
    result = st.minimize(quad.f, quad.x0, lr=0.05, max_iter=30, gtol=0.0)
    assert result.path.shape == (31, 3) and result.fvals.shape == (31,)
    assert result.grad_norms.shape == (31,) and result.lrs.shape == (30,)
    np.testing.assert_array_equal(result.path[0], quad.x0)
    np.testing.assert_array_equal(result.path[-1], result.x)
    np.testing.assert_allclose(result.fvals, [quad.value(p) for p in result.path], rtol=1e-13)
    np.testing.assert_allclose(result.grad_norms,
                               [np.linalg.norm(quad.grad(p)) for p in result.path], rtol=1e-12)
    np.testing.assert_allclose(result.grad, quad.grad(result.x), rtol=1e-13)
    assert result.fun == result.fvals[-1]
    # GD's recorded steps are the updates actually made
    np.testing.assert_allclose(np.diff(result.path, axis=0),
                               -0.05 * np.array([quad.grad(p) for p in result.path[:-1]]),
                               rtol=1e-12, atol=1e-15)
    assert result.nfev == result.njev == 31


def test_the_callers_x0_is_not_modified(quad):
    x0 = quad.x0.copy()
    st.minimize(quad.f, x0, lr=0.1, max_iter=10)
    np.testing.assert_array_equal(x0, quad.x0)


def test_matrix_shaped_parameters():
    target = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = st.minimize(lambda W: ((W - target) * (W - target)).sum(), np.zeros((2, 2)),
                         lr=0.25, gtol=1e-10)
    assert result.x.shape == (2, 2) and result.grad.shape == (2, 2)
    assert result.path.shape == (result.nit + 1, 4)
    np.testing.assert_allclose(result.x, target, atol=1e-10)


def test_schedules_and_their_steps(quad):
    result = st.minimize(quad, quad.x0, lr=schedules.inverse_power(0.1, p=0.6), max_iter=20)
    np.testing.assert_allclose(result.lrs, 0.1 * np.arange(1, 21) ** -0.6)
    parsed = st.minimize(quad, quad.x0, lr="0.1/t^0.6", max_iter=20)
    np.testing.assert_array_equal(parsed.path, result.path)
    custom = st.minimize(quad, quad.x0, lr=lambda t: 0.1 * t ** -0.6, max_iter=20)
    np.testing.assert_array_equal(custom.path, result.path)


def test_default_lr_is_the_optimizers(quad):
    result = st.minimize(quad, quad.x0, method="adagrad", max_iter=3)
    np.testing.assert_array_equal(result.lrs, [1e-2] * 3)  # torch.optim.Adagrad's default


# --------------------------------------------------------------------------- line search
@pytest.mark.parametrize("search", ["armijo", "wolfe", optim.line_search.Armijo(c1=0.3),
                                    optim.line_search.StrongWolfe(c2=0.5)])
def test_line_search_converges_and_records_accepted_steps(search, quad):
    result = st.minimize(quad.f, quad.x0, line_search=search, max_iter=500, gtol=1e-8)
    assert result.success and quad.distance(result.x) < 1e-7
    assert result.nfev >= result.nit + 1 and result.nfev == result.njev
    steps = np.diff(result.path, axis=0)
    grads = np.array([quad.grad(p) for p in result.path[:-1]])
    np.testing.assert_allclose(steps, -result.lrs[:, None] * grads, rtol=1e-10, atol=1e-14)
    assert np.all(np.diff(result.fvals) < 0)  # sufficient decrease at every step


def test_line_search_lr_scales_the_first_trial_step(quad):
    a = st.minimize(quad, quad.x0, line_search=optim.line_search.Armijo(), lr=0.01, max_iter=1)
    assert a.lrs[0] == pytest.approx(0.01)  # 0.01 is small enough: accepted at once


def test_line_search_failure_is_reported():
    # a gradient that lies (points uphill) makes every trial step fail the Armijo test
    result = st.minimize(lambda x: float(np.sum(x ** 2)), [1.0, 1.0], jac=lambda x: -x,
                         line_search=optim.line_search.Armijo(max_evals=3))
    assert result.status == 6 and not result.success
    assert "line search failed at iteration 0" in result.message
    assert result.nit == 0


# --------------------------------------------------------------------------- stopping rules
def test_gtol_ftol_and_max_iter(quad):
    converged = st.minimize(quad, quad.x0, lr=0.05, gtol=1e-4, max_iter=10_000)
    assert converged.status == 0 and converged.success
    assert converged.grad_norms[-1] <= 1e-4 < converged.grad_norms[-2]
    assert "||grad||" in converged.message and converged.message.startswith("converged")
    flat = st.minimize(quad, quad.x0, lr=0.05, gtol=0.0, ftol=1e-6, max_iter=10_000)
    assert flat.status == 1 and flat.success and flat.nit < 10_000
    assert abs(flat.fvals[-2] - flat.fvals[-1]) <= 1e-6 * max(1.0, abs(flat.fvals[-2]))
    capped = st.minimize(quad, quad.x0, lr=1e-4, max_iter=7)
    assert capped.status == 2 and not capped.success and capped.nit == 7
    assert any("max_iter = 7" in note for note in capped.diagnostics)
    zero = st.minimize(quad, quad.x0, max_iter=0)
    assert zero.nit == 0 and zero.path.shape == (1, 3) and zero.lrs.shape == (0,)


def test_start_at_a_minimum_stops_at_once():
    result = st.minimize(sphere, [1.0, 1.0])
    assert result.status == 0 and result.nit == 0 and not result.saddle


def test_constant_function_has_zero_gradient():
    result = st.minimize(lambda x: st.tensor(3.0) + 0.0 * x.sum(), [1.0, 2.0])
    assert result.status == 0 and result.fun == 3.0
    result = st.minimize(lambda x: st.tensor(3.0), [1.0, 2.0])
    assert result.status == 0 and np.array_equal(result.grad, [0.0, 0.0])


def test_callback_sees_each_iterate_and_may_stop(quad):
    seen = []

    def callback(intermediate):
        seen.append((intermediate.nit, intermediate.fun, intermediate.x.copy(), intermediate.lr))
        return intermediate.nit == 4

    result = st.minimize(quad.f, quad.x0, lr=0.05, callback=callback)
    assert result.status == 5 and result.nit == 4 and not result.success
    assert "callback asked to stop at iteration 4" in result.message
    assert [s[0] for s in seen] == [0, 1, 2, 3, 4]
    assert seen[0][3] is None and seen[1][3] == 0.05
    np.testing.assert_array_equal(seen[-1][2], result.x)

    def stop(intermediate):
        raise StopIteration

    assert st.minimize(quad.f, quad.x0, callback=stop).nit == 0


# --------------------------------------------------------------------------- ways to give f
def test_numpy_fun_with_jac_and_with_jac_true_match_the_engine(quad):
    by_engine = st.minimize(quad.f, quad.x0, method="adam", lr=0.1, max_iter=50)
    by_jac = st.minimize(quad.value, quad.x0, method="adam", lr=0.1, max_iter=50, jac=quad.grad)
    by_pair = st.minimize(quad.value_and_grad, quad.x0, method="adam", lr=0.1, max_iter=50,
                          jac=True)
    by_problem = st.minimize(quad, quad.x0, method="adam", lr=0.1, max_iter=50)
    for other in (by_jac, by_pair, by_problem):
        np.testing.assert_allclose(other.path, by_engine.path, rtol=1e-12, atol=1e-14)


def test_a_gradient_sharing_memory_with_x_is_safe():
    # f = |x|^2 / 2 with jac returning x itself: the in-place update must not corrupt it
    result = st.minimize(lambda x: 0.5 * float(x @ x), [2.0, -4.0], jac=lambda x: x, lr=0.5,
                         max_iter=3, gtol=0.0)
    np.testing.assert_allclose(result.path, [[2, -4], [1, -2], [0.5, -1], [0.25, -0.5]])


# --------------------------------------------------------------------------- failures
def test_non_finite_values_stop_the_run_and_name_the_iteration():
    # x - log(x) is fine until GD overshoots to x < 0: from 3, the first step lands on -1/3
    with np.errstate(invalid="ignore"):
        result = st.minimize(lambda x: (x - x.log()).sum(), [3.0], lr=5.0, max_iter=100)
    assert result.status == 3 and not result.success and result.nit == 1
    assert result.message == "stopped: f is nan at iteration 1"
    assert not np.isfinite(result.fvals[-1]) and np.isfinite(result.fvals[:-1]).all()
    np.testing.assert_array_equal(result.x, result.path[-2])  # the last finite iterate
    assert result.fun == result.fvals[-2]


def test_non_finite_at_the_start():
    with np.errstate(divide="ignore"):
        result = st.minimize(lambda x: float(np.log(x[0] - 1.0)), [1.0], jac=lambda x: 1 / (x - 1))
    assert result.status == 3 and result.nit == 0 and "iteration 0" in result.message


def test_divergence_of_an_adaptive_method_suggests_a_smaller_lr():
    r = problems.rosenbrock()
    with pytest.warns(diagnostics.DivergenceWarning, match="adam moves each coordinate"):
        result = st.minimize(r, [3.0, -3.0], method="adam", lr=1e4, max_iter=500)
    assert result.diverged and result.suggested_lr == pytest.approx(1e3)


def test_divergence_with_momentum():
    q = problems.quadratic(kappa=10.0)
    # heavy ball is stable for lr < 2 (1 + m) / L = 0.38 here; Nesterov for lr < 0.138
    with pytest.warns(diagnostics.DivergenceWarning, match=r"2\(1\+m\)/L with momentum m=0.9 = "
                                                           r"0.38 .*try lr <= 0.19"):
        result = st.minimize(q, q.x0, method="momentum", lr=0.4, momentum=0.9, max_iter=2000)
    assert result.diverged and result.suggested_lr == pytest.approx(0.19, rel=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", diagnostics.DivergenceWarning)
        stable = st.minimize(q, q.x0, method="momentum", lr=0.37, momentum=0.9, max_iter=5000)
    assert stable.success
    with pytest.warns(diagnostics.DivergenceWarning, match=r"= 0.136"):
        nesterov = st.minimize(q, q.x0, method="nesterov", lr=0.14, max_iter=5000)
    assert nesterov.diverged
    assert st.minimize(q, q.x0, method="nesterov", lr=0.135, max_iter=5000).success


def test_overflow_to_inf_counts_as_divergence():
    # exp grows so fast that f jumps from finite to inf without passing the 1e6 threshold first
    with pytest.warns(diagnostics.DivergenceWarning), np.errstate(over="ignore"):
        result = st.minimize(lambda x: (x * x).exp().sum(), [1.0], lr=100.0, max_iter=50)
    assert result.status == 3 and result.diverged


def test_a_run_falling_without_bound_at_max_iter_is_not_told_to_raise_max_iter():
    # f fell to -1e73 on the saddle (gd) or linearly (adam); 'raise max_iter or tune lr'
    # sent the user after a minimum that does not exist
    p = problems.saddle()
    for method, lr, why in (("gd", 0.1, "its f_min is -inf"), ("adam", 0.1, "its f_min is -inf")):
        result = st.minimize(p, [1.0, 1e-3], method=method, lr=lr, max_iter=500)
        note = result.diagnostics[-1]
        assert result.status == 2 and "unbounded below" in note and why in note
        assert "no minimum to converge to" in note and "raise max_iter or tune lr" not in note
    result = st.minimize(lambda x: x[0] ** 2 - x[1] ** 2, [1.0, 1e-3], method="gd", lr=0.1,
                         max_iter=500)
    assert "the function appears to be unbounded below" in result.diagnostics[-1]
    bounded = st.minimize(problems.rosenbrock(), [-1.2, 1.0], method="gd", lr=1e-4, max_iter=50)
    assert bounded.diagnostics[-1].endswith("raise max_iter or tune lr")


def test_unbounded_below_is_named():
    result = st.minimize(lambda x: -(x * x * x * x).sum(), [1.0], lr=0.1, max_iter=1000)
    assert result.status == 3 and not result.diverged
    assert any("unbounded below" in note for note in result.diagnostics)


def test_diagnose_false_spends_no_extra_evaluations():
    q = problems.quadratic(kappa=10.0)
    result = st.minimize(q, q.x0, lr=0.1, gtol=1e-8, diagnose=False)
    assert result.nfev == result.nit + 1 and "min_hessian_eigenvalue" not in result
    checked = st.minimize(q.value, q.x0, jac=q.grad, lr=0.1, gtol=1e-8)
    # the saddle check of a NumPy f: the gradient at x, then two gradients per Lanczos step
    assert checked.nfev == checked.nit + 1 + 5
    exact = st.minimize(q, q.x0, lr=0.1, gtol=1e-8)
    # a Problem is Tensor code: Hessian-vector products from the engine, the gradient at x only
    assert exact.nfev == exact.nit + 1 + 1
    assert exact.min_hessian_eigenvalue == pytest.approx(q.mu, rel=1e-6)


def test_oscillation_is_reported_when_a_run_does_not_converge():
    q = problems.quadratic(kappa=100.0)
    result = st.minimize(q, q.x0, lr=1.98 / q.L, max_iter=300)
    assert result.status == 2
    assert any(note.startswith("oscillating") for note in result.diagnostics)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,error,pattern", [
    ({"x0": [1.0, np.nan]}, ValueError, r"x0 must be finite, but x0\[1\] = nan"),
    ({"x0": []}, ValueError, "x0 must not be empty"),
    ({"x0": ["a", "b"]}, TypeError, "x0 must be a real array"),
    ({"method": "sr1"}, ValueError, r"method must be one of 'gd', 'momentum', .*'nadam', .*"
                                    r"'newton', 'bfgs', 'lbfgs', 'cg'; got 'sr1'"),
    ({"lr": -0.1}, ValueError, r"minimize: lr must be in \(0, inf\), got -0.1"),
    ({"lr": 0}, ValueError, r"minimize: lr must be in \(0, inf\), got 0.0"),
    ({"lr": "fast"}, ValueError, "cannot read 'fast'"),
    ({"lr": [0.1]}, TypeError, "lr must be a positive number, a schedule"),
    ({"max_iter": -1}, ValueError, r"max_iter must be in \[0, inf\), got -1"),
    ({"max_iter": 1.5}, TypeError, "max_iter must be an integer"),
    ({"gtol": -1e-3}, ValueError, r"gtol must be in \[0, inf\)"),
    ({"ftol": math.nan}, ValueError, "ftol must be in"),
    ({"callback": 3}, TypeError, "callback must be callable or None, got 3"),
    ({"jac": "2-point"}, TypeError, "jac must be None .*, True .* or a callable"),
    ({"line_search": "golden"}, ValueError, "line_search must be one of 'armijo', 'wolfe'"),
    ({"method": "adam", "line_search": "armijo"}, ValueError,
     "line_search works with method='gd' .* and with newton, bfgs, lbfgs, cg; got "
     "method='adam'"),
    ({"line_search": "armijo", "lr": "1/t"}, ValueError, "lr is a number that scales"),
    ({"method": "adam", "momentum": 0.9}, TypeError,
     r"method 'adam' \(Adam\) takes no option 'momentum'; its options are: betas, eps, "),
    ({"method": "gd", "momentum": 0.9}, TypeError,
     r"method 'gd' takes no option 'momentum' \(use method='momentum' or 'nesterov'\)"),
    ({"maximize": True}, TypeError, "maximize is not an option"),
    ({"method": "momentum", "momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\)"),
    ({"diagnose": 1}, TypeError, "diagnose must be True or False"),
])
def test_bad_arguments_are_named(kwargs, error, pattern):
    arguments = {"fun": sphere, "x0": [0.0, 0.0], **kwargs}
    with pytest.raises(error, match=pattern):
        st.minimize(**arguments)


def test_bad_functions_are_named():
    with pytest.raises(ValueError, match=r"fun must return a scalar, got a Tensor of shape \(2,\)"):
        st.minimize(lambda x: x * 2.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="fun must return a scalar Tensor .* it returned float"):
        st.minimize(lambda x: float(x.data.sum()), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"fun must return a scalar, got an array of shape \(2,\)"):
        st.minimize(lambda x: x, [1.0, 2.0], jac=lambda x: x)
    with pytest.raises(ValueError, match=r"jac must return an array of shape \(2,\) .*got \(3,\)"):
        st.minimize(lambda x: 0.0, [1.0, 2.0], jac=lambda x: np.zeros(3))
    with pytest.raises(TypeError, match=r"with jac=True, fun must return a pair \(f, grad\)"):
        st.minimize(lambda x: 1.0, [1.0], jac=True)
    with pytest.raises(TypeError, match="fun must be callable"):
        st.minimize(42, [1.0])
    with pytest.raises(ValueError, match="x0 has 3 entries but the problem 'beale' has "
                                         "dimension 2"):
        st.minimize(problems.beale(), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="fun is a Problem, which brings its own gradient"):
        st.minimize(problems.beale(), [1.0, 1.0], jac=True)


# --------------------------------------------------------------------------- the result object
def test_optimize_result_is_a_dict_with_attributes(quad):
    result = st.minimize(quad, quad.x0, lr=0.1, max_iter=5)
    assert isinstance(result, dict) and result["nit"] == result.nit == 5
    for key in ("x", "fun", "grad", "nit", "nfev", "njev", "success", "status", "message",
                "path", "fvals", "grad_norms", "lrs", "method", "diagnostics", "saddle",
                "diverged", "suggested_lr"):
        assert key in result and key in dir(result)
    result.note = "hello"
    assert result["note"] == "hello"
    del result.note
    with pytest.raises(AttributeError):
        result.note  # noqa: B018
    text = repr(result)
    assert "message:" in text and "path: array of shape (6, 3)" in text
    summary = result.summary()
    assert summary.startswith("gd: stopped: max_iter = 5 reached")
    assert "f(x)" in summary and "! not converged" in summary
    assert repr(minimize_module.OptimizeResult()) == "OptimizeResult()"


def test_status_codes_are_documented():
    assert set(minimize_module.STATUS) == set(range(8))


def test_the_module_and_the_function_are_both_callable():
    code = ("import steepest.minimize as m, steepest as st, numpy as np; "
            "r1 = m([1.0], lambda x: x * 0 + 1.0, jac=lambda x: np.zeros(1)) "
            "if False else m(lambda x: (x * x).sum(), [1.0], lr=0.5); "
            "r2 = st.minimize(lambda x: (x * x).sum(), [1.0], lr=0.5); "
            "assert r1.x == r2.x == 0.0, (r1.x, r2.x); "
            "assert st.minimize.METHODS[0] == 'gd'; "
            "import sys; assert 'sklearn' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_warnings_on_a_clean_run(quad):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st.minimize(quad.f, quad.x0, method="nadam", lr=0.05, max_iter=100)


def test_schedule_free_reports_its_average_point():
    p = problems.quadratic(dim=3, kappa=10.0)
    r = st.minimize(p, p.x0, method="schedule_free_adamw", lr=0.05, max_iter=200, gtol=0.0)
    # the path holds the gradient points y; the method is judged at the average x
    assert r.x_average.shape == r.x.shape and not np.array_equal(r.x_average, r.x)
    assert r.fun_average == pytest.approx(float(p.value(r.x_average)), rel=1e-12)
    assert any("x_average" in line for line in r.diagnostics)
    assert "x_average" not in st.minimize(p, p.x0, method="adam", lr=0.05, max_iter=5)


# --------------------------------------------------------------------------- overflowing starts
def _huge_square_numpy(x):
    return float(np.sum(x * x))


@pytest.mark.parametrize("method", ["gd", "bfgs", "newton", "adam"])
@pytest.mark.parametrize("kind", ["tensor", "numpy"])
@pytest.mark.parametrize("x0", [[1e200], [1e308, 1e308], [1e160]])
def test_an_overflowing_start_is_status_3_not_a_crash(method, kind, x0):
    # f(x0) overflows to inf; the diagnostics used to difference around x0 with an infinite
    # step and raise "hessian_eigenvalues: h must be in (0, inf), got inf"
    kwargs = {"lr": 0.1} if method in ("gd", "adam") else {}
    if kind == "tensor":
        fun, extra = (lambda x: (x * x).sum()), {}
    else:
        fun, extra = _huge_square_numpy, {"jac": lambda x: 2 * x}
        if method == "newton":
            extra["hess"] = lambda x: 2 * np.eye(x.size)
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", diagnostics.DivergenceWarning)
        checked = st.minimize(fun, x0, method=method, **kwargs, **extra)
        lean = st.minimize(fun, x0, method=method, diagnose=False, **kwargs, **extra)
    for result in (checked, lean):
        assert result.status == 3 and not result.success and result.nit == 0
        assert result.message == "stopped: f is inf at iteration 0"
        assert not result.diverged and result.suggested_lr is None


def test_divergence_from_a_start_whose_norm_overflows_is_reported():
    # f(x0) = |1e-150 x0|^2 = 2e100 is finite but |x0| overflows: the remedy cannot estimate
    # the curvature at x0, and says so instead of raising
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.warns(diagnostics.DivergenceWarning, match="could not be estimated"):
        result = st.minimize(lambda x: ((1e-150 * x) * (1e-150 * x)).sum(), [1e200, 1e200],
                             lr=1e308, max_iter=10, gtol=0.0)
    assert result.diverged and result.status == 4 and result.suggested_lr is None
    assert math.isfinite(result.fvals[0])


# --------------------------------------------------------------------------- later evaluations
def _after(n, good, bad):
    """good(x) for the first n calls, bad(x) from then on."""
    calls = [0]

    def function(x):
        calls[0] += 1
        return good(x) if calls[0] <= n else bad(x)

    return function


def _f(x):
    return float(np.sum((x - 3.0) ** 2))


def _g(x):
    return 2 * (x - 3.0)


@pytest.mark.parametrize("method", ["gd", "bfgs"])
@pytest.mark.parametrize("make,error,pattern", [
    (lambda: (_after(2, _f, lambda x: np.array([_f(x), 0.0])), _g), ValueError,
     r"^minimize: fun must return a scalar, got an array of shape \(2,\)$"),
    (lambda: (_after(2, _f, lambda x: None), _g), TypeError,
     "^minimize: fun must return a real scalar, got None$"),
    (lambda: (_after(2, _f, lambda x: "1.0"), _g), TypeError,
     "^minimize: fun must return a real scalar"),
    (lambda: (_f, _after(2, _g, lambda x: np.append(_g(x), 0.0))), ValueError,
     r"^minimize: jac must return an array of shape \(2,\) \(the shape of x0\), got \(3,\)$"),
    (lambda: (_f, _after(2, _g, lambda x: _g(x)[:1])), ValueError,
     r"^minimize: jac must return an array of shape \(2,\)"),
    (lambda: (_f, _after(2, _g, lambda x: _g(x) + 1j)), TypeError,
     "^minimize: jac must return a real array, got dtype complex128$"),
    (lambda: (_f, _after(2, _g, lambda x: None)), TypeError,
     r"^minimize: jac must return a real array of shape \(2,\) \(the shape of x0\), got None$"),
], ids=["fun-shape", "fun-None", "fun-str", "jac-long", "jac-short", "jac-complex", "jac-None"])
def test_every_evaluation_is_checked_not_only_the_first(method, make, error, pattern):
    # the first evaluations are fine; a bad return later gets the same error as at the start
    # (it used to be NumPy's 'can only convert an array of size 1', SGD's shape message, or a
    # complex gradient silently truncated to its real part with a ComplexWarning)
    fun, jac = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=pattern):
            st.minimize(fun, [0.0, 0.0], jac=jac, method=method,
                        **({"lr": 0.1} if method == "gd" else {}))


def test_a_later_bad_pair_with_jac_true_is_named():
    pair = _after(2, lambda x: (_f(x), _g(x)), lambda x: _f(x))
    with pytest.raises(TypeError, match=r"with jac=True, fun must return a pair \(f, grad\); it "
                                        "returned float"):
        st.minimize(pair, [0.0, 0.0], jac=True, lr=0.1)
    pair = _after(2, lambda x: (_f(x), _g(x)), lambda x: (_f(x), _g(x) + 1j))
    with pytest.raises(TypeError, match="fun's gradient must return a real array, got dtype "
                                        "complex128"):
        st.minimize(pair, [0.0, 0.0], jac=True, method="bfgs")
    # lists and float32 gradients stay accepted at every evaluation, as at the first
    pair = _after(2, lambda x: (_f(x), _g(x)), lambda x: [np.float32(_f(x)), list(_g(x))])
    result = st.minimize(pair, [0.0, 0.0], jac=True, lr=0.1, max_iter=10_000)
    assert result.success and result.grad.dtype == np.float64


def test_a_later_bad_tensor_return_is_named():
    def later(bad):
        return _after(2, lambda x: ((x - 3.0) * (x - 3.0)).sum(), bad)

    with pytest.raises(ValueError, match=r"^minimize: fun must return a scalar, got a Tensor of "
                                         r"shape \(2,\)$"):
        st.minimize(later(lambda x: x * 2.0), [0.0, 0.0], lr=0.1)
    with pytest.raises(TypeError, match="^minimize: fun must return a scalar Tensor .* it "
                                        "returned float$"):
        st.minimize(later(lambda x: float(x.data.sum())), [0.0, 0.0], method="bfgs")


def test_a_tensor_fun_that_is_constant_in_places_has_zero_gradient_there():
    # f = 0 (a constant Tensor) for x < 0, x^2 elsewhere: the constant branch is fine at any
    # evaluation, and the run goes on where f depends on x
    def fun(x):
        return st.tensor(0.0) if x.data[0] < 0 else (x * x).sum()

    result = st.minimize(fun, [-1.0], lr=0.1)
    assert result.status == 0 and result.nit == 0
    result = st.minimize(fun, [1.0], lr=0.1, max_iter=3, gtol=0.0)
    np.testing.assert_allclose(result.path.ravel(), [1.0, 0.8, 0.64, 0.512])
    # into the constant branch after the first step (backward on it used to raise)
    result = st.minimize(fun, [1.0], lr=1.0)
    assert result.status == 0 and result.nit == 1 and result.x.tolist() == [-1.0]


def test_a_complex_hessian_is_refused():
    with pytest.raises(TypeError, match="hess must return a real array, got dtype complex128"):
        st.minimize(_f, [0.0, 0.0], jac=_g, hess=lambda x: 2 * np.eye(2) + 0j, method="newton")


def test_numpy_code_meeting_a_tensor_gets_the_clear_message():
    # np.sum(tensor) calls Tensor.sum(out=...): the engine's TypeError used to surface alone
    with pytest.raises(TypeError, match=r"minimize: fun received a Tensor .*; if fun is NumPy "
                                        r"code, pass jac= .* or write fun with steepest ops"):
        st.minimize(lambda x: np.sum((x - 3.0) ** 2), [0.0, 0.0])
