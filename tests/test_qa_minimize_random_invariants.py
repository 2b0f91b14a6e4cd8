"""QA: st.minimize on random problems (convex quadratics of dimension 1-30 with condition
numbers up to 1e6, Rosenbrock), checked for the contract a scipy user relies on: fun is f(x),
jac is the gradient at x, x is the last iterate of path, success means the gradient norm is
at most gtol, and the counts are the calls made."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize as so

import steepest as st


def _quadratic(rng, n, condition):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.logspace(0, np.log10(condition), n)) @ Q.T
    return (A + A.T) / 2, rng.normal(size=n)


def _check(result, f, g, calls, gtol=1e-6):
    assert result.fun == pytest.approx(f(result.x), rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(result.jac, g(result.x), rtol=1e-10, atol=1e-300)
    np.testing.assert_array_equal(result.path[-1].reshape(result.x.shape), result.x)
    assert len(result.path) == result.nit + 1
    if result.success and result.status == 0:
        assert np.linalg.norm(g(result.x)) <= gtol
    assert result.nfev == calls["f"] and result.njev == calls["g"]


def _counted(f, g):
    calls = {"f": 0, "g": 0}

    def fun(x, *args):
        calls["f"] += 1
        return f(x, *args)

    def jac(x, *args):
        calls["g"] += 1
        return g(x, *args)

    return fun, jac, calls


def _value(x, A, b):
    return 0.5 * x @ A @ x - b @ x


def _gradient(x, A, b):
    return A @ x - b


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "cg", "newton"])
def test_random_quadratics_keep_the_contract(method):
    rng = np.random.default_rng(0)
    for _ in range(6):
        n = int(rng.integers(1, 31))
        A, b = _quadratic(rng, n, 10 ** rng.uniform(0, 6))
        fun, jac, calls = _counted(_value, _gradient)
        extra = {"hess": lambda x, A, b: A} if method == "newton" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = st.minimize(fun, rng.normal(size=n) * 10, method=method, jac=jac,
                                 args=(A, b), max_iter=3000, **extra)
        _check(result, _bind(_value, A, b), _bind(_gradient, A, b), dict(calls))
        if result.success:  # a quadratic's stationary point is its minimum
            assert np.linalg.norm(A @ result.x - b) <= 1e-6


def _bind(function, A, b):
    return lambda x: function(x, A, b)


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "cg", "newton"])
@pytest.mark.parametrize("n", [2, 5, 10])
def test_rosenbrock_reaches_the_minimum_as_scipy(method, n):
    x0 = np.random.default_rng(n).normal(size=n)
    f, g, calls = _counted(so.rosen, so.rosen_der)
    extra = {"hess": so.rosen_hess} if method == "newton" else {}
    result = st.minimize(f, x0, method=method, jac=g, max_iter=5000, **extra)
    _check(result, so.rosen, so.rosen_der, dict(calls))
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(n), atol=1e-5)
