"""Reductions and scans of a 0-d tensor over dim 0 or -1, which NumPy and PyTorch both accept (a
scalar is its own reduction), found by a randomized comparison with PyTorch 2.13. The forward
pass had worked and backward crashed with ``ZeroDivisionError: integer modulo by zero``; mean,
var and std raised ``IndexError: tuple index out of range``; cumsum returned shape (1,) where
PyTorch returns a 0-d tensor. Expected values by hand: each is the identity of the scalar (or
its variance 0 with correction=0)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st

REDUCTIONS = {
    "sum": (lambda t, d, k: t.sum(d, k), 1.5, 1.0),
    "sum_dim": (lambda t, d, k: t.sum(dim=d, keepdim=k), 1.5, 1.0),
    "mean": (lambda t, d, k: t.mean(d, k), 1.5, 1.0),
    "max": (lambda t, d, k: t.max(d, k), 1.5, 1.0),
    "min": (lambda t, d, k: t.min(d, k), 1.5, 1.0),
    "logsumexp": (lambda t, d, k: t.logsumexp(d, k), 1.5, 1.0),
    "norm2": (lambda t, d, k: t.norm(2, d, k), 1.5, 1.0),
    "norm1": (lambda t, d, k: t.norm(1, d, k), 1.5, 1.0),
    "norminf": (lambda t, d, k: t.norm(math.inf, d, k), 1.5, 1.0),
    "prod": (lambda t, d, k: t.prod(d, k), 1.5, 1.0),
    "var0": (lambda t, d, k: t.var(d, keepdim=k, correction=0), 0.0, 0.0),
    "std0": (lambda t, d, k: t.std(d, keepdim=k, correction=0), 0.0, 0.0),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reducing_a_scalar_over_dim_0_is_the_scalar(name, dim, keepdim):
    reduce, value, slope = REDUCTIONS[name]
    x = st.tensor(1.5, requires_grad=True)
    out = reduce(x, dim, keepdim)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), value, rtol=1e-15)
    out.backward(np.array(2.0))
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad, 2.0 * slope, rtol=1e-15)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp", "norm2", "prod"])
def test_second_order_through_a_scalar_reduced_over_dim_0(name):
    reduce = REDUCTIONS[name][0]
    x = st.tensor(1.5, requires_grad=True)
    (g,) = st.autodiff.grad(reduce(x * x, 0, False), x, create_graph=True)
    np.testing.assert_allclose(g.item(), 3.0, rtol=1e-15)  # d(x^2)/dx at 1.5
    (h,) = st.autodiff.grad(g, x)
    np.testing.assert_allclose(h.item(), 2.0, rtol=1e-15)


@pytest.mark.parametrize("dim", [0, -1])
def test_cumsum_of_a_scalar_is_a_scalar(dim):
    x = st.tensor(1.5, requires_grad=True)
    out = x.cumsum(dim)
    assert out.shape == () and out.item() == 1.5
    out.backward(np.array(3.0))
    assert x.grad.shape == () and x.grad == 3.0
    (g,) = st.autodiff.grad((x * x).cumsum(dim), x, create_graph=True)
    (h,) = st.autodiff.grad(g, x)
    assert g.item() == 3.0 and h.item() == 2.0
    out.data[()] = 7.0  # a new tensor, as in PyTorch: not a view of x
    assert x.item() == 1.5


def test_a_scalar_dim_out_of_range_is_still_refused():
    x = st.tensor(1.5, requires_grad=True)
    with pytest.raises((IndexError, ValueError)):
        x.sum(1)
    with pytest.raises(IndexError, match="cumsum: dim must be an int in"):
        x.cumsum(1)
