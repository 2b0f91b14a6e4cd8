"""``st.minimize`` against ``scipy.optimize.minimize``: the same answers and scipy's API (args, tol,
options, method names, bounds, callbacks, result fields)."""

import inspect

import numpy as np
import pytest

import steepest as st

so = pytest.importorskip("scipy.optimize")

PAIRS = {"bfgs": "BFGS", "lbfgs": "L-BFGS-B", "cg": "CG"}


def random_quadratic(seed, n, kappa):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1.0, kappa, n)) @ Q.T
    b = rng.normal(size=n)
    return (lambda x: 0.5 * x @ A @ x - b @ x), (lambda x: A @ x - b), A, np.linalg.solve(A, b)


def centred_quadratic(seed, n, kappa):
    """``random_quadratic`` written as 0.5 (x - x*)' A (x - x*), whose minimum is 0: a line
    search compares values of f accurate to their own size, so it still sees a decrease at
    gradients of 1e-10 (near f* = -5 the round-off of f, 1e-15, hides it below about 1e-8,
    and whether BFGS reached gtol = 1e-10 then hung on the BLAS kernels' rounding)."""
    _, _, A, x_star = random_quadratic(seed, n, kappa)
    return (lambda x: 0.5 * (x - x_star) @ A @ (x - x_star)), (lambda x: A @ (x - x_star))


# --------------------------------------------------------------------------- the same answers
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", sorted(PAIRS))
def test_random_quadratics_agree_with_scipy(seed, method):
    n = 3 + 4 * seed
    f, g, A, solution = random_quadratic(seed, n, kappa=10.0 ** (seed % 3 + 1))
    x0 = np.random.default_rng(100 + seed).normal(size=n)
    # tol is scipy's mapping for BFGS and CG (gtol); for L-BFGS-B it sets ftol as well, so
    # that one is given both, as its own options, in both libraries
    kw = ({"options": {"gtol": 1e-8, "ftol": 1e-14}} if method == "lbfgs"
          else {"tol": 1e-7, "options": {"maxiter": 5000}})
    ours = st.minimize(f, x0, method=PAIRS[method], jac=g, **kw)
    theirs = so.minimize(f, x0, method=PAIRS[method], jac=g, **kw)
    assert ours.method == method
    # where steepest's line search gives up at rounding level, scipy's gives up too
    assert ours.status in (0, 1) or not theirs.success
    np.testing.assert_allclose(ours.x, solution, atol=1e-6)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)
    assert ours.fun == pytest.approx(theirs.fun, abs=1e-10)


@pytest.mark.parametrize("n", [2, 5, 10])
@pytest.mark.parametrize("method", sorted(PAIRS) + ["newton"])
def test_rosenbrock_agrees_with_scipy(n, method):
    x0 = np.array([-1.2, 1.0]) if n == 2 else np.full(n, -1.2)
    extra = {"hess": so.rosen_hess} if method == "newton" else {}
    ours = st.minimize(so.rosen, x0, method=method, jac=so.rosen_der, gtol=1e-8,
                       max_iter=5000, **extra)
    scipy_method = PAIRS.get(method, "trust-exact")
    theirs = so.minimize(so.rosen, x0, method=scipy_method, jac=so.rosen_der, **extra,
                         options={"maxiter": 5000, "gtol": 1e-8})
    assert ours.success and theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-5)
    np.testing.assert_allclose(ours.x, np.ones(n), atol=1e-6)


# --------------------------------------------------------------------------- args
def test_args_reach_fun_jac_and_hess_as_in_scipy():
    f, g, A, _ = random_quadratic(7, 4, 50.0)
    shift = np.arange(4.0)
    seen = {"fun": [], "jac": [], "hess": []}

    def fun(x, c, scale):
        seen["fun"].append((c is shift, scale))
        return scale * f(x - c)

    def jac(x, c, scale):
        seen["jac"].append((c is shift, scale))
        return scale * g(x - c)

    def hess(x, c, scale):
        seen["hess"].append((c is shift, scale))
        return scale * A

    x0 = np.zeros(4)
    for method, extra in (("BFGS", {}), ("newton", {"hess": hess}), ("CG", {})):
        ours = st.minimize(fun, x0, args=(shift, 2.0), method=method, jac=jac, gtol=1e-9, **extra)
        scipy_method = "trust-exact" if method == "newton" else method
        theirs = so.minimize(fun, x0, args=(shift, 2.0), method=scipy_method, jac=jac,
                             options={"gtol": 1e-9}, **extra)
        np.testing.assert_allclose(ours.x, theirs.x, atol=1e-7)
    assert seen["fun"] and seen["jac"] and seen["hess"]
    assert all(record == (True, 2.0) for records in seen.values() for record in records)


def test_args_with_jac_true_tensor_code_and_a_single_value():
    pair = st.minimize(lambda x, a: (float(np.sum((x - a) ** 2)), 2 * (x - a)), [0.0, 0.0],
                       args=(3.0,), jac=True, method="bfgs")
    np.testing.assert_allclose(pair.x, [3.0, 3.0])
    tensor = st.minimize(lambda x, a: ((x - a) * (x - a)).sum(), [0.0, 0.0], args=(3.0,),
                         method="bfgs")
    np.testing.assert_allclose(tensor.x, [3.0, 3.0])
    single = st.minimize(lambda x, a: float(np.sum((x - a) ** 2)), [0.0], args=3.0,
                         jac=lambda x, a: 2 * (x - a), method="bfgs")  # not a tuple: one value
    np.testing.assert_allclose(single.x, [3.0])
    with pytest.raises(ValueError, match="fun is a Problem, which takes no extra arguments"):
        p = st.problems.rosenbrock()
        st.minimize(p, p.x0, args=(1.0,))


# --------------------------------------------------------------------------- tol and options
def test_tol_is_the_gradient_tolerance_and_gtol_wins():
    f, g = centred_quadratic(3, 6, 100.0)
    x0 = np.ones(6)
    for method in ("bfgs", "gd", "cg"):
        kw = {"lr": 0.005, "max_iter": 50_000} if method == "gd" else {}
        tight = st.minimize(f, x0, method=method, jac=g, tol=1e-10, **kw)
        assert tight.status == 0 and tight.grad_norms[-1] <= 1e-10
        assert "gtol = 1e-10" in tight.message
        loose = st.minimize(f, x0, method=method, jac=g, tol=1e-10, gtol=1e-3, **kw)
        assert loose.status == 0 and "gtol = 0.001" in loose.message


def test_tol_also_sets_ftol_for_lbfgs_as_for_l_bfgs_b():
    # a loose tol stops L-BFGS on the relative change of f (status 1), as scipy's L-BFGS-B
    loose = st.minimize(so.rosen, [-1.2, 1.0], method="L-BFGS-B", jac=so.rosen_der, tol=1e-4)
    theirs = so.minimize(so.rosen, [-1.2, 1.0], method="L-BFGS-B", jac=so.rosen_der, tol=1e-4)
    assert loose.status == 1 and "ftol = 0.0001" in loose.message
    assert loose.fun == pytest.approx(theirs.fun, abs=1e-3)
    # gd has no ftol from tol
    gd = st.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, lr=1e-3, tol=1e-4, max_iter=50)
    assert gd.status == 2


def test_options_are_merged_with_scipy_names():
    f, g = centred_quadratic(1, 5, 1e3)
    x0 = np.ones(5)
    five = st.minimize(f, x0, jac=g, method="bfgs", options={"maxiter": 5})
    assert five.nit == 5 and five.status == 2
    assert st.minimize(f, x0, jac=g, method="bfgs", options={"max_iter": 3}).nit == 3
    tight = st.minimize(f, x0, jac=g, method="bfgs", options={"gtol": 1e-9})
    assert tight.status == 0 and "gtol = 1e-09" in tight.message
    # method options travel in the dict too, and scipy's maxcor is lbfgs's history_size
    adam = st.minimize(f, x0, jac=g, method="adam", lr=0.01, max_iter=5,
                       options={"betas": (0.5, 0.9)})
    reference = st.minimize(f, x0, jac=g, method="adam", lr=0.01, max_iter=5, betas=(0.5, 0.9))
    np.testing.assert_array_equal(adam.path, reference.path)
    maxcor = st.minimize(f, x0, jac=g, method="lbfgs", options={"maxcor": 2})
    history = st.minimize(f, x0, jac=g, method="lbfgs", history_size=2)
    np.testing.assert_array_equal(maxcor.path, history.path)
    # a value given twice agrees, or raises
    assert st.minimize(f, x0, jac=g, method="bfgs", max_iter=4, options={"maxiter": 4}).nit == 4
    with pytest.raises(ValueError, match=r"max_iter is given twice, as max_iter=4 and "
                                         r"options\['maxiter'\]=5"):
        st.minimize(f, x0, jac=g, method="bfgs", max_iter=4, options={"maxiter": 5})
    with pytest.raises(ValueError, match="options sets max_iter twice"):
        st.minimize(f, x0, jac=g, method="bfgs", options={"maxiter": 5, "max_iter": 5})
    with pytest.raises(ValueError, match="option 'betas' is given twice"):
        st.minimize(f, x0, jac=g, method="adam", betas=(0.5, 0.9), options={"betas": (0.5, 0.9)})
    with pytest.raises(TypeError, match="'norm' is an option of scipy.optimize.minimize that "
                                        "steepest's 'bfgs' does not have"):
        st.minimize(f, x0, jac=g, method="bfgs", options={"norm": np.inf})
    with pytest.raises(TypeError, match="options must be a dict"):
        st.minimize(f, x0, jac=g, method="bfgs", options=[("maxiter", 5)])
    with pytest.raises(TypeError, match="'hessp' is an option of scipy"):
        st.minimize(f, x0, jac=g, method="newton", hessp=lambda x, p: p)


def test_disp_prints_a_short_summary_and_return_all_keeps_the_iterates(capsys):
    f, g, _, _ = random_quadratic(2, 3, 10.0)
    result = st.minimize(f, np.ones(3), jac=g, method="BFGS",
                         options={"disp": True, "return_all": True})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == result.message
    assert out[1].strip() == f"Current function value: {result.fun:.6f}"
    assert out[2].strip() == f"Iterations: {result.nit}"
    assert out[3].strip() == f"Function evaluations: {result.nfev}"
    assert len(result.allvecs) == result.nit + 1
    np.testing.assert_array_equal(result.allvecs[0], np.ones(3))
    st.minimize(f, np.ones(3), jac=g, method="bfgs", disp=True)
    assert "Iterations:" in capsys.readouterr().out
    st.minimize(f, np.ones(3), jac=g, method="bfgs")
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- method names
@pytest.mark.parametrize("name,expected", [("BFGS", "bfgs"), ("bfgs", "bfgs"),
                                           ("L-BFGS-B", "lbfgs"), ("l-bfgs-b", "lbfgs"),
                                           ("CG", "cg"), ("Newton", "newton"), ("GD", "gd"),
                                           ("Adam", "adam")])
def test_method_names_in_any_case_and_scipys(name, expected):
    kw = {"lr": 0.1} if expected in ("gd", "adam") else {}
    result = st.minimize(lambda x: ((x - 1.0) * (x - 1.0)).sum(), [0.0, 0.0], method=name,
                         max_iter=2000, **kw)
    assert result.method == expected and result.success


@pytest.mark.parametrize("name", ["Newton-CG", "trust-ncg", "trust-exact", "Nelder-Mead",
                                  "SLSQP", "Powell"])
def test_scipy_methods_without_a_counterpart_are_refused(name):
    with pytest.raises(ValueError, match=rf"scipy's method '{name}' is .*which steepest does not "
                                         r"have;.* steepest's methods are gd, momentum, .*cg"):
        st.minimize(lambda x: (x * x).sum(), [1.0], method=name)


def test_scipy_positional_args_are_caught():
    with pytest.raises(TypeError, match="method must be a string.*pass args= by keyword"):
        st.minimize(lambda x, a: (x * x).sum(), [1.0], (3.0,))


def test_bounds_and_constraints_are_not_supported():
    sq = lambda x: (x * x).sum()  # noqa: E731
    for method in ("L-BFGS-B", "lbfgs", "gd"):
        with pytest.raises(NotImplementedError, match="bounds are not supported"):
            st.minimize(sq, [1.0, 1.0], method=method, bounds=[(0, 1), (0, 1)])
    with pytest.raises(NotImplementedError, match="bounds are not supported"):
        st.minimize(sq, [1.0, 1.0], method="bfgs", bounds=so.Bounds([0, 0], [1, 1]))
    with pytest.raises(NotImplementedError, match="constraints are not supported"):
        st.minimize(sq, [1.0, 1.0], method="bfgs",
                    constraints={"type": "eq", "fun": lambda x: x[0] - 1})
    # bounds that bound nothing are fine
    for bounds in ([(None, None), (None, None)], [(-np.inf, np.inf)] * 2,
                   so.Bounds(-np.inf, np.inf)):
        assert st.minimize(sq, [1.0, 1.0], method="L-BFGS-B", bounds=bounds).success
    assert st.minimize(sq, [1.0, 1.0], method="bfgs", constraints=[]).success


# --------------------------------------------------------------------------- result fields
def test_result_carries_scipys_fields():
    f, g, A, _ = random_quadratic(5, 4, 20.0)
    ours = st.minimize(f, np.ones(4), jac=g, method="BFGS")
    theirs = so.minimize(f, np.ones(4), jac=g, method="BFGS")
    assert set(theirs.keys()) <= set(ours.keys())
    assert ours.jac is ours.grad
    for key in ("nit", "nfev", "njev", "status"):
        assert type(ours[key]) is int
    assert type(ours.success) is bool and type(ours.fun) is float
    H = ours.hess_inv
    assert H.shape == (4, 4) and np.allclose(H, H.T)
    assert np.all(np.linalg.eigvalsh(H) > 0)
    # the BFGS update makes H satisfy the secant equation on the last step
    s = ours.path[-1] - ours.path[-2]
    y = g(ours.path[-1]) - g(ours.path[-2])
    np.testing.assert_allclose(H @ y, s, rtol=1e-6, atol=1e-12)
    assert "hess_inv" not in st.minimize(f, np.ones(4), jac=g, method="lbfgs")
    assert "jac" in st.minimize(f, np.ones(4), jac=g, lr=0.01, max_iter=3)


# --------------------------------------------------------------------------- callbacks
def test_an_intermediate_result_callback_is_called_as_scipy_calls_it():
    f, g, _, _ = random_quadratic(4, 5, 30.0)
    x0 = np.ones(5)
    ours_seen, theirs_seen = [], []

    def ours_callback(intermediate_result):
        ours_seen.append((intermediate_result.nit, intermediate_result.x.copy(),
                          intermediate_result.fun))

    def theirs_callback(intermediate_result):
        theirs_seen.append(intermediate_result.x.copy())

    for method in ("BFGS", "CG", "L-BFGS-B"):
        ours_seen.clear()
        theirs_seen.clear()
        ours = st.minimize(f, x0, jac=g, method=method, callback=ours_callback)
        theirs = so.minimize(f, x0, jac=g, method=method, callback=theirs_callback)
        # after each iteration, x0 excluded: one call per iteration, in both libraries
        assert len(theirs_seen) == theirs.nit
        assert [k for k, _, _ in ours_seen] == list(range(1, ours.nit + 1))
        np.testing.assert_array_equal(ours_seen[-1][1], ours.x)
        assert ours_seen[-1][2] == ours.fun


def test_a_steepest_callback_still_sees_x0_first():
    f, g, _, _ = random_quadratic(4, 5, 30.0)
    seen = []
    result = st.minimize(f, np.ones(5), jac=g, method="bfgs",
                         callback=lambda intermediate: seen.append(intermediate.nit))
    assert seen == list(range(result.nit + 1))

    def xk_style(xk):  # scipy's legacy name: steepest still passes its OptimizeResult
        seen.append(xk)

    seen.clear()
    st.minimize(f, np.ones(5), jac=g, method="bfgs", callback=xk_style)
    assert isinstance(seen[0], st.OptimizeResult) and seen[0].nit == 0


def test_stop_iteration_stops_with_steepests_status_5():
    f, g, _, _ = random_quadratic(4, 5, 30.0)

    def stop(intermediate_result):
        raise StopIteration

    ours = st.minimize(f, np.ones(5), jac=g, method="bfgs", callback=stop)
    theirs = so.minimize(f, np.ones(5), jac=g, method="BFGS", callback=stop)
    assert ours.status == 5 and ours.nit == 1 and not ours.success  # scipy: status 99
    assert theirs.nit == 1 and not theirs.success


def test_the_signature_names_scipys_keywords():
    parameters = inspect.signature(st.minimize).parameters
    for name in ("args", "tol", "options", "bounds", "constraints", "callback", "jac", "hess"):
        assert name in parameters
