"""clip_grad_norm_ / clip_grad_value_ on a 0-d parameter whose gradient was accumulated.

Two backward passes into a 0-d tensor leave ``.grad`` a NumPy scalar (``np.float64``), not a 0-d
array (see the report: autodiff's ``_sum`` of two 0-d arrays). The in-place ``g *= c`` of
clip_grad_norm_ then rebound a local name only: it returned the norm (7.0) but left the gradient
unclipped, where torch scales it to 1.0; clip_grad_value_ crashed inside ``np.clip(out=...)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st
from steepest.nn import utils


def _accumulated_scalar(dtype=np.float64):
    x = st.tensor(np.array(1.0, dtype=dtype), requires_grad=True)
    (x * 3).backward()
    (x * 4).backward()  # grad 7
    return x


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_scales_an_accumulated_scalar_gradient(norm_type):
    x = _accumulated_scalar()
    y = st.tensor(np.zeros(2), requires_grad=True)
    y.grad = np.array([0.0, 0.0])
    total = utils.clip_grad_norm_([x, y], max_norm=1.0, norm_type=norm_type)
    assert total == pytest.approx(7.0)
    # torch.nn.utils.clip_grad_norm_: grad * 1 / (7 + 1e-6)
    np.testing.assert_allclose(x.grad, 7.0 / (7.0 + 1e-6), rtol=1e-12)
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == ()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_clamps_an_accumulated_scalar_gradient(dtype):
    x = _accumulated_scalar(dtype)
    utils.clip_grad_value_(x, 2.5)
    np.testing.assert_array_equal(x.grad, 2.5)
    assert isinstance(x.grad, np.ndarray) and x.grad.dtype == dtype


def test_a_gradient_set_by_hand_as_a_number_is_clipped_too():
    w = st.tensor(np.zeros(()), requires_grad=True)
    w.grad = 10.0
    assert utils.clip_grad_norm_(w, 2.0) == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad, 2.0 * 10.0 / (10.0 + 1e-6), rtol=1e-12)
