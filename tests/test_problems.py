"""Test problems: values, gradients (three ways), minimisers, and what each problem claims."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_h

import steepest as st
from steepest import problems

SMALL = {"quadratic": {"dim": 4, "kappa": 50.0}, "rosenbrock": {"dim": 5},
         "rastrigin": {"dim": 3}}


def make(name):
    return problems.get(name, **SMALL.get(name, {}))


@pytest.fixture(scope="module")
def logistic():
    return problems.get("logistic_regression")


def central_differences(value, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (value(x + e) - value(x - e)) / (2 * eps)
    return g


def points(problem, n=5, seed=0):
    """Random points around the start and the minimisers."""
    rng = np.random.default_rng(seed)
    centres = [problem.x0, *problem.minimizers]
    return [centres[i % len(centres)] + rng.normal(scale=0.7, size=problem.dim)
            for i in range(n)]


def test_names_and_registry():
    assert set(problems.NAMES) == {"quadratic", "rosenbrock", "beale", "himmelblau", "saddle",
                                   "monkey_saddle", "rastrigin", "logistic_regression"}
    with pytest.raises(ValueError, match="name must be one of .*'rosenbrock'.*got 'banana'"):
        problems.get("banana")
    with pytest.raises(TypeError, match="rosenbrock takes no parameter 'kappa'.*dim, b"):
        problems.get("rosenbrock", kappa=3)
    with pytest.raises(TypeError, match="beale takes no parameter 'dim'; its parameters are: none"):
        problems.get("beale", dim=3)


@pytest.mark.parametrize("name", [n for n in problems.NAMES if n != "logistic_regression"])
def test_gradient_matches_autodiff_and_finite_differences(name):
    problem = make(name)
    for x in points(problem):
        analytic = problem.grad(x)
        value, backprop = st.value_and_grad(problem.f)(x)
        np.testing.assert_allclose(backprop, analytic, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(central_differences(problem.value, x), analytic,
                                   rtol=1e-6, atol=1e-5)
        assert value == pytest.approx(problem.value(x), rel=1e-14, abs=1e-12)
        v2, g2 = problem.value_and_grad(x)
        assert v2 == problem.value(x)
        np.testing.assert_array_equal(g2, analytic)


def test_logistic_gradient_three_ways(logistic):
    for x in points(logistic, n=3):
        analytic = logistic.grad(x)
        value, backprop = st.value_and_grad(logistic.f)(x)
        np.testing.assert_allclose(backprop, analytic, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(central_differences(logistic.value, x), analytic,
                                   rtol=1e-5, atol=1e-8)
        assert value == pytest.approx(logistic.value(x), rel=1e-13)


@pytest.mark.parametrize("name", problems.NAMES)
def test_minimisers_are_stationary_with_value_f_min(name, logistic):
    problem = logistic if name == "logistic_regression" else make(name)
    assert problem.x0.shape == (problem.dim,)
    assert np.isfinite(problem.value(problem.x0))
    for m in problem.minimizers:
        assert problem.value(m) == pytest.approx(problem.f_min, abs=1e-12)
        assert np.linalg.norm(problem.grad(m)) < 1e-10
        assert problem.distance(m) == 0.0
        # a minimiser, not just a stationary point: f is no lower anywhere nearby
        rng = np.random.default_rng(1)
        for _ in range(20):
            assert problem.value(m + 1e-3 * rng.standard_normal(problem.dim)) >= problem.f_min
    for s in problem.saddle_points:
        assert np.linalg.norm(problem.grad(s)) == 0.0


@pytest.mark.parametrize("name", [n for n in problems.NAMES if n != "logistic_regression"])
def test_two_dimensional_problems_have_a_window_holding_start_and_minimisers(name):
    problem = problems.get(name)
    if problem.dim != 2:
        assert problem.window is None
        return
    (x_lo, x_hi), (y_lo, y_hi) = problem.window
    for p in [problem.x0, *problem.minimizers, *problem.saddle_points]:
        assert x_lo < p[0] < x_hi and y_lo < p[1] < y_hi


@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "beale", "himmelblau", "rastrigin",
                                  "saddle", "monkey_saddle"])
def test_value_on_a_grid_matches_pointwise(name):
    problem = problems.get(name)
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 4), np.linspace(-1, 3, 3)))
    values = problem.value(grid)
    assert values.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert values[i, j] == pytest.approx(problem.value(grid[:, i, j]), rel=1e-14)


def test_logistic_value_on_several_points_at_once(logistic):
    W = np.random.default_rng(0).standard_normal((logistic.dim, 3))
    np.testing.assert_allclose(logistic.value(W), [logistic.value(w) for w in W.T], rtol=1e-14)


@given(dim=st_h.integers(2, 12), kappa=st_h.floats(1.0, 1e4), mu=st_h.floats(1e-3, 10.0),
       seed=st_h.integers(0, 100))
@settings(max_examples=30, deadline=None)
def test_quadratic_has_the_exact_spectrum_asked_for(dim, kappa, mu, seed):
    q = problems.quadratic(dim=dim, kappa=kappa, mu=mu, seed=seed)
    assert q.L == kappa * mu and q.mu == mu
    eigenvalues = np.linalg.eigvalsh(q.A)
    np.testing.assert_allclose(eigenvalues, np.geomspace(mu, kappa * mu, dim), rtol=1e-10)
    np.testing.assert_allclose(q.A, q.A.T)
    # the start carries error along the slowest and the fastest eigen-direction
    _, vectors = np.linalg.eigh(q.A)
    components = vectors.T @ (q.x0 - q.minimizers[0])
    if kappa > 1.01:
        assert abs(components[0]) > 0.1 and abs(components[-1]) > 0.1


def test_quadratic_center_and_validation():
    q = problems.quadratic(dim=3, kappa=5, center=[1.0, -2.0, 3.0])
    np.testing.assert_array_equal(q.minimizers[0], [1.0, -2.0, 3.0])
    assert q.value([1.0, -2.0, 3.0]) == 0.0
    assert problems.quadratic(dim=1, kappa=1).L == 1.0
    with pytest.raises(ValueError, match="kappa must be 1 when dim is 1"):
        problems.quadratic(dim=1, kappa=10)
    with pytest.raises(ValueError, match=r"quadratic: kappa must be in \[1, inf\), got 0.5"):
        problems.quadratic(kappa=0.5)
    with pytest.raises(ValueError, match=r"quadratic: mu must be in \(0, inf\), got -1.0"):
        problems.quadratic(mu=-1)
    with pytest.raises(ValueError, match="center must be a finite array of shape"):
        problems.quadratic(dim=2, center=[np.nan, 0.0])
    with pytest.raises(ValueError, match=r"dim must be in \[1, inf\), got 0"):
        problems.quadratic(dim=0)


def test_quadratic_is_deterministic_and_leaves_the_library_generator_alone():
    st.manual_seed(3)
    expected = st._random.generator().standard_normal(3)
    st.manual_seed(3)
    a, b = problems.quadratic(dim=5, seed=7), problems.quadratic(dim=5, seed=7)
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_array_equal(st._random.generator().standard_normal(3), expected)
    assert not np.array_equal(a.A, problems.quadratic(dim=5, seed=8).A)


def test_rosenbrock_in_any_dimension():
    r = problems.rosenbrock(dim=6)
    np.testing.assert_array_equal(r.minimizers[0], np.ones(6))
    np.testing.assert_array_equal(r.x0, [-1.2, 1, -1.2, 1, -1.2, 1])
    # three (x, y) = (-1.2, 1) terms of 24.2 and two (1, -1.2) terms of 484
    assert r.value([-1.2, 1.0, -1.2, 1.0, -1.2, 1.0]) == pytest.approx(3 * 24.2 + 2 * 484)
    with pytest.raises(ValueError, match="rosenbrock: dim must be in"):
        problems.rosenbrock(dim=1)


def test_himmelblau_has_four_distinct_strict_minima():
    h = problems.himmelblau()
    assert len(h.minimizers) == 4
    assert min(np.linalg.norm(a - b) for i, a in enumerate(h.minimizers)
               for b in h.minimizers[i + 1:]) > 1.0
    for m in h.minimizers:
        hessian = np.array([central_differences(lambda z, i=i: h.grad(z)[i], m)
                            for i in range(2)])
        assert np.linalg.eigvalsh(0.5 * (hessian + hessian.T)).min() > 1.0


def test_unbounded_problems_say_so():
    for name, far in (("saddle", [0.0, 50.0]), ("monkey_saddle", [-50.0, 0.0])):
        p = problems.get(name)
        assert p.f_min == -math.inf and p.minimizers == [] and p.distance([0.0, 0.0]) == math.inf
        assert p.value(far) < -1e3  # unbounded below
    assert problems.saddle().grad(np.array([1.0, 1.0])).tolist() == [2.0, -2.0]


@given(st_h.lists(st_h.floats(-5.12, 5.12), min_size=3, max_size=3))
@settings(max_examples=50, deadline=None)
def test_rastrigin_minimum_is_global(x):
    r = problems.rastrigin(dim=3)
    assert r.value(x) >= -1e-12


def test_logistic_regression_matches_scikit_learn_and_its_curvature_bounds(logistic):
    from sklearn.linear_model import LogisticRegression

    X, y = problems._breast_cancer()
    n = X.shape[0]
    assert logistic.dim == 31 and logistic.mu == 0.01
    # sklearn minimises 0.5 |w|^2 + C sum(loss); with C = 1/(n l2) that is f / (C n)
    model = LogisticRegression(C=1.0 / (n * 0.01), fit_intercept=False, tol=1e-12,
                               max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.coef_[0], logistic.minimizers[0], atol=2e-6)
    assert logistic.value(model.coef_[0]) >= logistic.f_min
    rng = np.random.default_rng(0)
    for w in [logistic.minimizers[0], *rng.normal(scale=2.0, size=(3, 31))]:
        p = 1 / (1 + np.exp(-(X @ w)))
        hessian = (X.T * (p * (1 - p))) @ X / n + 0.01 * np.eye(31)
        eigenvalues = np.linalg.eigvalsh(hessian)
        assert logistic.mu <= eigenvalues[0] * (1 + 1e-9)
        assert eigenvalues[-1] <= logistic.L * (1 + 1e-9)


def test_f_accepts_tensors_and_arrays():
    p = problems.beale()
    x = st.tensor([1.0, 2.0], requires_grad=True)
    out = p.f(x)
    out.backward()
    np.testing.assert_allclose(x.grad, p.grad(np.array([1.0, 2.0])))
    assert p([1.0, 2.0]).item() == p.value([1.0, 2.0])
    assert not p.f(np.array([1.0, 2.0])).requires_grad


def test_shape_errors_name_the_problem_and_the_shapes():
    r = problems.rosenbrock(dim=3)
    with pytest.raises(ValueError, match=r"rosenbrock.grad: x must have shape \(3,\), got \(2,\)"):
        r.grad([1.0, 2.0])
    with pytest.raises(ValueError, match=r"rosenbrock.f: x must have shape \(3,\)"):
        r.f(np.zeros(4))
    with pytest.raises(ValueError, match=r"rosenbrock.value: x must have shape \(3,\) or \(3, ...\)"):
        r.value(np.zeros((2, 5)))


def test_repr_and_arrays_are_read_only():
    q = problems.quadratic(kappa=100)
    assert repr(q) == "Problem('quadratic', dim=2, f_min=0, minimizers=1, L=100, mu=1)"
    with pytest.raises(ValueError):
        q.x0[0] = 5.0
    with pytest.raises(ValueError):
        q.minimizers[0][0] = 5.0


def test_import_does_not_load_scikit_learn():
    code = ("import sys, steepest.problems as p; p.get('rosenbrock'); "
            "assert 'sklearn' not in sys.modules, 'sklearn imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
