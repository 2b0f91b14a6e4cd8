"""Armijo and strong Wolfe line searches, on their own and inside SGD."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import optim
from steepest.optim import line_search as ls


class Counted:
    """A fun_and_grad that counts its calls."""

    def __init__(self, fun_and_grad):
        self.fun_and_grad = fun_and_grad
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fun_and_grad(x)


def quadratic(matrix, vector):
    def fun_and_grad(x):
        return 0.5 * x @ matrix @ x - vector @ x, matrix @ x - vector
    return fun_and_grad


def rosenbrock(x):
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return f, g


def random_quadratic(seed: int, dim: int, kappa: float):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    matrix = (q * np.geomspace(1.0, kappa, dim)) @ q.T
    return quadratic(matrix, rng.standard_normal(dim)), rng.standard_normal(dim)


def descent_direction(g, seed):
    # The negative gradient bent by noise, kept a descent direction.
    noise = np.random.default_rng(seed).standard_normal(g.shape) * np.linalg.norm(g) * 0.5
    d = -g + noise
    return d if d @ g < 0 else -g


def assert_armijo(fun_and_grad, x, d, f0, g0, result, c1):
    assert result.success, result.message
    f, g = fun_and_grad(x + result.step * d)
    assert result.step > 0
    assert f <= f0 + c1 * result.step * (g0 @ d)
    assert result.fun == pytest.approx(f, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(result.grad, g, rtol=1e-12, atol=1e-12)


def assert_strong_wolfe(fun_and_grad, x, d, f0, g0, result, c1, c2):
    assert_armijo(fun_and_grad, x, d, f0, g0, result, c1)
    _, g = fun_and_grad(x + result.step * d)
    assert abs(g @ d) <= c2 * abs(g0 @ d)


# ---------------------------------------------------------------------- conditions hold
@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 2**20), dim=hs.integers(1, 6), kappa=hs.floats(1.0, 1e4),
       alpha0=hs.floats(1e-3, 1e3), c1=hs.floats(1e-4, 0.5), shrink=hs.floats(0.1, 0.9))
def test_armijo_step_satisfies_sufficient_decrease(seed, dim, kappa, alpha0, c1, shrink):
    fun_and_grad, x = random_quadratic(seed, dim, kappa)
    f0, g0 = fun_and_grad(x)
    assume(np.linalg.norm(g0) > 1e-8)
    d = descent_direction(g0, seed)
    counted = Counted(fun_and_grad)
    result = ls.armijo(counted, x, d, f0, g0, alpha0=alpha0, c1=c1, shrink=shrink, max_evals=2000)
    assert_armijo(fun_and_grad, x, d, f0, g0, result, c1)
    assert result.nfev == result.njev == counted.calls
    # Backtracking: the step is alpha0 * shrink^k and the previous trial was rejected.
    k = round(np.log(result.step / alpha0) / np.log(shrink))
    assert result.step == pytest.approx(alpha0 * shrink ** k, rel=1e-9)
    if k > 0:
        previous = result.step / shrink
        assert fun_and_grad(x + previous * d)[0] > f0 + c1 * previous * (g0 @ d)


@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 2**20), dim=hs.integers(1, 6), kappa=hs.floats(1.0, 1e4),
       alpha0=hs.floats(1e-4, 1e3), c1=hs.floats(1e-4, 0.3), gap=hs.floats(0.05, 0.6))
def test_strong_wolfe_step_satisfies_both_conditions_on_quadratics(seed, dim, kappa, alpha0, c1,
                                                                  gap):
    c2 = c1 + gap
    fun_and_grad, x = random_quadratic(seed, dim, kappa)
    f0, g0 = fun_and_grad(x)
    assume(np.linalg.norm(g0) > 1e-8)
    d = descent_direction(g0, seed)
    counted = Counted(fun_and_grad)
    result = ls.strong_wolfe(counted, x, d, f0, g0, alpha0=alpha0, c1=c1, c2=c2, max_evals=60)
    assert_strong_wolfe(fun_and_grad, x, d, f0, g0, result, c1, c2)
    assert result.nfev == counted.calls


@settings(max_examples=60, deadline=None)
@given(start=hs.lists(hs.floats(-2.0, 2.0), min_size=2, max_size=5),
       alpha0=hs.floats(1e-5, 1.0), c2=hs.sampled_from([0.1, 0.5, 0.9]))
def test_strong_wolfe_on_rosenbrock(start, alpha0, c2):
    x = np.array(start)
    f0, g0 = rosenbrock(x)
    assume(np.linalg.norm(g0) > 1e-6)
    result = ls.strong_wolfe(rosenbrock, x, -g0, f0, g0, alpha0=alpha0, c2=c2, max_evals=80)
    assert_strong_wolfe(rosenbrock, x, -g0, f0, g0, result, 1e-4, c2)


def test_searches_step_back_from_non_finite_values():
    # f(y) = -log(1 + y) decreases in y; past y = 3 we make it +inf (with a NaN gradient), so a
    # long first step lands where the function is not finite.
    def walled(y):
        if y[0] >= 3:
            return np.inf, np.array([np.nan])
        return -np.log(1 + y[0]), np.array([-1 / (1 + y[0])])

    y = np.array([0.0])
    f0, g0 = walled(y)
    for search in (ls.Armijo(alpha0=100.0), ls.StrongWolfe(alpha0=100.0, c2=0.9)):
        result = search.search(walled, y, -g0, f0, g0)
        assert result.success and np.isfinite(result.fun) and 0 < result.step < 3, result


# ---------------------------------------------------------------------- failures are reported
def test_ascent_direction_is_reported_without_evaluating():
    fun_and_grad = quadratic(np.eye(2), np.zeros(2))
    x = np.array([1.0, 1.0])
    f0, g0 = fun_and_grad(x)
    counted = Counted(fun_and_grad)
    for search in (ls.armijo, ls.strong_wolfe):
        result = search(counted, x, g0, f0, g0)
        assert not result.success and result.step == 0.0 and result.fun == f0
        assert "not a descent direction" in result.message and result.nfev == 0
    assert counted.calls == 0


def test_zero_direction_is_a_trivial_success():
    fun_and_grad = quadratic(np.eye(2), np.zeros(2))
    x = np.zeros(2)
    f0, g0 = fun_and_grad(x)
    result = ls.strong_wolfe(fun_and_grad, x, np.zeros(2), f0, g0)
    assert result.success and result.step == 0.0 and result.nfev == 0


def test_armijo_out_of_evaluations_fails_and_does_not_move():
    fun_and_grad = quadratic(np.eye(3), np.zeros(3))
    x = np.ones(3)
    f0, g0 = fun_and_grad(x)
    result = ls.armijo(fun_and_grad, x, -g0, f0, g0, alpha0=1e6, shrink=0.5, max_evals=5)
    assert not result.success and result.nfev == 5
    assert result.step == 0.0 and result.fun == f0 and result.grad is g0
    assert "max_evals=5" in result.message


def test_strong_wolfe_reports_an_unbounded_direction():
    def linear(x):
        return float(np.sum(x)), np.ones_like(x)

    x = np.zeros(2)
    f0, g0 = linear(x)
    result = ls.strong_wolfe(linear, x, -g0, f0, g0, alpha_max=100.0)
    assert not result.success and "alpha_max=100" in result.message and result.step == 0.0


def test_strong_wolfe_reports_a_gradient_inconsistent_with_f():
    # The gradient claims descent along d, the function rises: zoom must give up, not accept.
    def liar(x):
        return float(x @ x), -2.0 * x

    x = np.ones(2)
    f0, g0 = liar(x)
    result = ls.strong_wolfe(liar, x, -g0, f0, g0, max_evals=40)
    assert not result.success and result.step == 0.0 and result.fun == f0
    assert result.nfev <= 40


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize("kwargs, message", [
    ({"c1": 0.5, "c2": 0.5}, "needs 0 < c1 < c2 < 1, got c1=0.5 and c2=0.5"),
    ({"c1": 0.9, "c2": 0.1}, "needs 0 < c1 < c2 < 1"),
    ({"c1": 0.0}, r"c1 must be in \(0, 1\)"),
    ({"c2": 1.0}, r"c2 must be in \(0, 1\)"),
    ({"max_evals": 0}, r"max_evals must be in \[1, inf\), got 0"),
    ({"alpha0": 0.0}, "alpha0 must be in"),
    ({"alpha0": 10.0, "alpha_max": 1.0}, r"alpha0 must be in \(0, 1\]"),
])
def test_strong_wolfe_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match="StrongWolfe: " + message):
        ls.StrongWolfe(**kwargs)
    fun_and_grad = quadratic(np.eye(1), np.zeros(1))
    with pytest.raises(ValueError, match="strong_wolfe: " + message):
        ls.strong_wolfe(fun_and_grad, np.ones(1), -np.ones(1), 0.5, np.ones(1), **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"c1": 1.0}, r"c1 must be in \(0, 1\)"),
    ({"shrink": 1.0}, r"shrink must be in \(0, 1\)"),
    ({"shrink": 0.0}, r"shrink must be in \(0, 1\)"),
    ({"max_evals": -1}, "max_evals must be in"),
    ({"alpha0": -1.0}, "alpha0 must be in"),
])
def test_armijo_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match="Armijo: " + message):
        ls.Armijo(**kwargs)
    fun_and_grad = quadratic(np.eye(1), np.zeros(1))
    with pytest.raises(ValueError, match="armijo: " + message):
        ls.armijo(fun_and_grad, np.ones(1), -np.ones(1), 0.5, np.ones(1), **kwargs)


def test_inputs_are_checked():
    fun_and_grad = quadratic(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="must have one shape"):
        ls.armijo(fun_and_grad, np.ones(2), -np.ones(3), 1.0, np.ones(2))
    with pytest.raises(ValueError, match=r"armijo: f0 must be in \(?\[?-inf"):
        ls.armijo(fun_and_grad, np.ones(2), -np.ones(2), np.nan, np.ones(2))
    with pytest.raises(ValueError, match="direction must be finite"):
        ls.strong_wolfe(fun_and_grad, np.ones(2), np.array([np.inf, 0.0]), 1.0, np.ones(2))


def test_get_resolves_names_and_objects():
    assert isinstance(ls.get("armijo"), ls.Armijo)
    assert isinstance(ls.get("wolfe"), ls.StrongWolfe)
    assert isinstance(ls.get("Strong_Wolfe"), ls.StrongWolfe)
    custom = ls.Armijo(c1=0.3)
    assert ls.get(custom) is custom and ls.get(None) is None
    with pytest.raises(ValueError, match="line_search must be one of 'armijo', 'wolfe'"):
        ls.get("backtrack")
    with pytest.raises(TypeError, match="line_search must be"):
        ls.get(0.5)
    assert "c1=0.3" in repr(custom) and repr(ls.StrongWolfe()).startswith("StrongWolfe(")


def test_objects_run_their_function_with_their_parameters():
    fun_and_grad, x = random_quadratic(3, 4, 100.0)
    f0, g0 = fun_and_grad(x)
    a = ls.Armijo(c1=0.2, shrink=0.3, alpha0=5.0).search(fun_and_grad, x, -g0, f0, g0)
    b = ls.armijo(fun_and_grad, x, -g0, f0, g0, alpha0=5.0, c1=0.2, shrink=0.3)
    assert (a.step, a.fun, a.nfev) == (b.step, b.fun, b.nfev)


# ---------------------------------------------------------------------- inside SGD
A = np.diag([1.0, 3.0, 10.0])
B = np.array([1.0, -1.0, 2.0])


def closure_for(opt, x, sign=1.0):
    def closure():
        loss = sign * (0.5 * (x @ (A @ x)) - x @ B)
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("search", ["armijo", "wolfe", ls.StrongWolfe(c2=0.1)])
def test_sgd_with_line_search_accepts_only_valid_steps_and_converges(search):
    x = st.tensor(np.zeros(3), requires_grad=True)
    opt = optim.SGD([x], lr=0.15, line_search=search)
    closure = closure_for(opt, x)
    losses = []
    for _ in range(500):
        before = x.data.copy()
        g0 = A @ before - B
        if np.linalg.norm(g0) < 1e-6:  # much below, f differences become rounding noise
            break
        losses.append(opt.step(closure).item())
        result = opt.last_line_search
        assert result.success
        step = opt.param_groups[0]["last_lr"]
        assert step == pytest.approx(0.15 * result.step)
        np.testing.assert_allclose(x.data, before - step * g0, rtol=1e-12, atol=1e-15)
        f = lambda z: 0.5 * z @ A @ z - z @ B  # noqa: E731
        assert f(x.data) <= f(before) - 1e-4 * step * (g0 @ g0) + 1e-15
        np.testing.assert_allclose(x.grad, A @ x.data - B, atol=1e-12)  # at the new point
    np.testing.assert_allclose(x.data, np.linalg.solve(A, B), atol=1e-5)
    assert losses == sorted(losses, reverse=True) and len(losses) < 500


def test_sgd_line_search_with_weight_decay_and_maximize_descends_the_right_objective():
    x = st.tensor(np.zeros(3), requires_grad=True)
    opt = optim.SGD([x], lr=1.0, weight_decay=0.5, maximize=True, line_search="wolfe")
    closure = closure_for(opt, x, sign=-1.0)  # maximise -f: minimise f + 0.25 |x|^2
    solution = np.linalg.solve(A + 0.5 * np.eye(3), B)
    for _ in range(200):
        if np.linalg.norm((A + 0.5 * np.eye(3)) @ x.data - B) < 1e-6:
            break
        opt.step(closure)
    np.testing.assert_allclose(x.data, solution, atol=1e-5)


def test_sgd_line_search_over_groups_scales_each_group_by_its_lr():
    a = st.tensor([1.0, 1.0], requires_grad=True)
    b = st.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}],
                    line_search=ls.Armijo(alpha0=1.0))

    def closure():
        loss = (a * a).sum() + (b * b).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.last_line_search.step == 1.0  # the first trial is accepted
    np.testing.assert_allclose(a.data, [0.8, 0.8])
    np.testing.assert_allclose(b.data, [0.98])
    assert [g["last_lr"] for g in opt.param_groups] == [0.1, 0.01]


def lying_closure(x):
    def closure():
        loss = (x * x).sum()
        (-loss).backward()  # the gradient points uphill: no step can satisfy Armijo
        return loss
    return closure


def test_failed_line_search_raises_and_leaves_everything_unchanged():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([x], lr=0.1, line_search=ls.Armijo(max_evals=8))
    x.grad = np.array([5.0, 5.0])
    # The closure's gradient is the negated true gradient: -g . g < 0 looks like descent, but
    # every trial step goes uphill.
    with pytest.raises(ls.LineSearchError, match="SGD: the line search .* failed after 8 "
                                                 "evaluations: no step satisfied") as caught:
        opt.step(lying_closure(x))
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(x.grad, [-2.0, -4.0])  # the gradient the closure gave at x
    assert caught.value.result is opt.last_line_search and not caught.value.result.success
    assert opt.param_groups[0]["num_updates"] == 0 and opt.param_groups[0]["last_lr"] is None


def test_failed_line_search_can_warn_instead():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([x], lr=0.1, line_search="wolfe", on_line_search_failure="warn")
    with pytest.warns(ls.LineSearchWarning, match="parameters were left unchanged"):
        loss = opt.step(lying_closure(x))
    assert loss.item() == 5.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_sgd_line_search_needs_a_closure_and_no_momentum():
    x = st.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="line_search needs step\\(closure\\)"):
        optim.SGD([x], line_search="armijo").step()
    with pytest.raises(ValueError, match="line_search needs momentum=0"):
        optim.SGD([x], momentum=0.9, line_search="armijo")
    with pytest.raises(ValueError, match="on_line_search_failure must be one of"):
        optim.SGD([x], line_search="armijo", on_line_search_failure="ignore")


def test_sgd_line_search_keeps_float32_and_ignores_stale_gradients():
    x = st.tensor([3.0, -1.0], requires_grad=True, dtype=np.float32)
    opt = optim.SGD([x], lr=0.5, line_search="armijo")
    x.grad = np.full(2, 1e6, dtype=np.float32)  # stale: must not leak into the search

    def closure():
        loss = (x * x).sum()  # no zero_grad here on purpose
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            opt.step(closure)
    assert x.data.dtype == np.float32
    np.testing.assert_allclose(x.data, [0.0, 0.0], atol=1e-6)
