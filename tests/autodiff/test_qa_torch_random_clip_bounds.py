"""clip with Tensor bounds, found by a randomized comparison with PyTorch 2.13 (torch.clamp takes
tensor min/max): the forward pass worked and backward crashed with "unsupported operand type(s)
for &=: 'numpy.ndarray' and 'Tensor'". A bound that is a constant Tensor now acts as its array;
a bound that requires grad is refused with a message naming it, since steepest does not
differentiate the bounds (PyTorch does)."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st


@pytest.mark.parametrize("spelling", ["function", "method"])
def test_constant_tensor_bounds_clip_and_pass_the_gradient_inside(spelling):
    x = st.tensor([[-2.0, 0.5, 2.0], [0.0, -0.5, 3.0]], requires_grad=True)
    low, high = st.tensor([-1.0, 0.0, -1.0]), st.tensor([[1.0], [2.0]])
    out = st.clip(x, low, high) if spelling == "function" else x.clip(min=low, max=high)
    np.testing.assert_array_equal(out.data, [[-1.0, 0.5, 1.0], [0.0, 0.0, 2.0]])
    out.backward(np.arange(1.0, 7.0).reshape(2, 3))
    # the gradient passes where low <= x <= high (bounds included), as for number bounds
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 0.0], [4.0, 0.0, 0.0]])


def test_one_tensor_bound_and_second_order():
    x = st.tensor([-2.0, 0.5], requires_grad=True)
    (g,) = st.autodiff.grad((x.clip(min=st.tensor(0.0)) ** 2).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 1.0])
    (h,) = st.autodiff.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [0.0, 2.0])


@pytest.mark.parametrize("which", ["min", "max"])
def test_a_bound_that_requires_grad_is_refused_by_name(which):
    x = st.tensor([0.5, 2.0], requires_grad=True)
    bound = st.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=f"clip: {which} is a Tensor that requires grad"):
        st.clip(x, **{which: bound})
    with pytest.raises(TypeError, match=f"clip: {which} is a Tensor that requires grad"):
        x.clip(**{which: bound})
    with st.no_grad():  # nothing is differentiated: the values are used
        np.testing.assert_array_equal(st.clip(x, **{which: bound}).data, [1.0, 2.0] if which == "min"
                                      else [0.5, 1.0])
    np.testing.assert_array_equal(st.clip(x, **{which: bound.detach()}).data,
                                  [1.0, 2.0] if which == "min" else [0.5, 1.0])
