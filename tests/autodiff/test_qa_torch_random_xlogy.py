"""xlogy's gradient in its first argument, found by a randomized comparison with PyTorch 2.13;
checked here against the derivative worked out by hand and central differences (PyTorch is a
tool dependency, never a test one)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest.autodiff import ops


def test_xlogy_gradient_in_x_is_log_y_at_x_zero():
    # d(x log y)/dx = log y everywhere, x = 0 included (PyTorch: 0.6931 for y = 2). Only where
    # log y is not finite (y <= 0) and x == 0 is it taken as 0, with the value's x log x = 0.
    x = st.tensor([0.0, 0.0, 0.0, 0.0, 1.0], requires_grad=True)
    y = st.tensor([2.0, 0.5, 0.0, -1.0, 2.0], requires_grad=True)
    ops.xlogy(x, y).sum().backward()
    np.testing.assert_allclose(x.grad, [np.log(2.0), np.log(0.5), 0.0, 0.0, np.log(2.0)],
                               rtol=1e-15)
    np.testing.assert_array_equal(y.grad, [0.0, 0.0, np.nan, -0.0, 0.5])  # x / y (0/0 is NaN)


def test_xlogy_gradient_with_a_scalar_second_argument():
    x = st.tensor([0.0, 3.0], requires_grad=True)
    ops.xlogy(x, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [np.log(2.0)] * 2, rtol=1e-15)


def test_xlogy_second_order_and_forward_mode_agree_at_x_zero():
    point = np.array([0.0, 0.0, 1.5])
    y = np.array([3.0, 0.0, 2.0])
    x = st.tensor(point, requires_grad=True)
    (gx,) = st.autodiff.grad(ops.xlogy(x, y).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.data, [np.log(3.0), 0.0, np.log(2.0)], rtol=1e-15)
    _, tangent = st.jvp(lambda v: ops.xlogy(v, y).sum())(point, np.ones(3))
    np.testing.assert_allclose(tangent, np.log(3.0) + np.log(2.0), rtol=1e-15)


@settings(max_examples=40, deadline=None)
@given(x=hs.floats(-3, 3), y=hs.floats(0.05, 5), zero=hs.booleans())
def test_xlogy_gradient_matches_central_differences(x, y, zero):
    x = 0.0 if zero else x
    h = 1e-6
    xt = st.tensor(x, requires_grad=True)
    yt = st.tensor(y, requires_grad=True)
    ops.xlogy(xt, yt).backward()
    numeric_x = ((x + h) * np.log(y) - (x - h) * np.log(y)) / (2 * h)
    numeric_y = (x * np.log(y + h) - x * np.log(y - h)) / (2 * h)
    np.testing.assert_allclose(xt.grad, numeric_x, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(yt.grad, numeric_y, rtol=1e-6, atol=1e-8)
