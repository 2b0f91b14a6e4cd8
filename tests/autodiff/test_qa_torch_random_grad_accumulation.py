"""``.grad`` of a 0-d tensor stays a 0-d array when backward passes accumulate into it (the
contract: ``.grad`` is an ndarray of the tensor's shape and dtype). Adding two 0-d arrays gives a
NumPy scalar, so the second backward had left ``np.float64(7.0)`` there, and code writing into
the gradient in place (``g *= c``, ``np.clip(g, out=g)``, as clip_grad_norm_ does) silently
changed nothing or crashed. Reported by the nn QA (tests/nn/test_qa_torch_random_clip_scalar_grad.py)."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_accumulated_scalar_gradient_is_a_writable_0d_array(dtype):
    x = st.tensor(np.array(1.0, dtype=dtype), requires_grad=True)
    (x * 3).backward()
    (x * 4).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.dtype == dtype
    assert x.grad == 7.0
    x.grad *= 0.5  # in place, as an optimizer or a clipping utility writes it
    assert x.grad == 3.5


def test_a_retained_scalar_gradient_accumulates_as_an_array():
    x = st.tensor(2.0, requires_grad=True)
    y = x * x
    y.retain_grad()
    y.backward(retain_graph=True)
    y.backward()
    assert type(y.grad) is np.ndarray and y.grad.shape == () and y.grad == 2.0
    assert type(x.grad) is np.ndarray and x.grad == 8.0


def test_an_element_of_a_vector_accumulates_into_an_array_of_its_shape():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    x[0].backward()
    x[0].backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0])


def test_a_compiled_step_accumulates_a_scalar_gradient_as_an_array():
    w = st.tensor(1.5, requires_grad=True)

    def step(x):
        loss = w * x  # no zero_grad: the gradients add up across steps
        loss.backward()
        return loss

    compiled = st.compile(step)
    for _ in range(4):
        compiled(np.array(2.0))
    assert type(w.grad) is np.ndarray and w.grad.shape == ()
    assert w.grad == 8.0
