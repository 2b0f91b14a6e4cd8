"""The gradient of cross_entropy in a probability target, found missing by a randomized
comparison with PyTorch 2.13 (which differentiates soft targets, as in distillation); checked
here against the derivative worked out by hand, -log softmax(x) times the reduction's scale,
and central differences (PyTorch is a tool dependency, never a test one)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest.autodiff import ops


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_probability_target_that_requires_grad_gets_its_gradient(reduction):
    rng = np.random.default_rng(0)
    logits, probabilities = rng.standard_normal((4, 3)), rng.random((4, 3))
    upstream = rng.standard_normal(4) if reduction == "none" else np.array(1.7)
    x = st.tensor(logits, requires_grad=True)
    p = st.tensor(probabilities, requires_grad=True)
    ops.cross_entropy(x, p, reduction=reduction).backward(upstream)
    scale = upstream[:, None] if reduction == "none" else upstream / (4 if reduction == "mean" else 1)
    np.testing.assert_allclose(p.grad, -_log_softmax(logits) * scale, rtol=1e-13)
    softmax = np.exp(_log_softmax(logits))
    np.testing.assert_allclose(x.grad, (softmax * probabilities.sum(-1, keepdims=True)
                                        - probabilities) * scale, rtol=1e-13)


def test_the_target_gradient_of_one_sample_and_of_large_logits():
    x = st.tensor([1e4, 0.0, -1e4], requires_grad=True)  # log softmax is finite where exp is 0
    p = st.tensor([0.2, 0.3, 0.5], requires_grad=True)
    ops.cross_entropy(x, p).backward()
    np.testing.assert_allclose(p.grad, [0.0, 1e4, 2e4], rtol=1e-15, atol=0)


def test_the_target_gradient_to_second_order_and_in_forward_mode():
    rng = np.random.default_rng(1)
    logits, probabilities = rng.standard_normal((2, 3)), rng.random((2, 3))
    x = st.tensor(logits, requires_grad=True)
    p = st.tensor(probabilities, requires_grad=True)
    (gp,) = st.autodiff.grad(ops.cross_entropy(x, p, reduction="sum"), p, create_graph=True)
    np.testing.assert_allclose(gp.data, -_log_softmax(logits), rtol=1e-13)
    # d/dx of sum(gp * v) = -(v - softmax * sum(v)) for each row
    v = rng.standard_normal((2, 3))
    (gx,) = st.autodiff.grad((gp * v).sum(), x)
    softmax = np.exp(_log_softmax(logits))
    np.testing.assert_allclose(gx.data, -(v - softmax * v.sum(-1, keepdims=True)), rtol=1e-12)
    # and the other cross term: d/dp of sum(gx * v) with gx = softmax * sum(p) - p
    x = st.tensor(logits, requires_grad=True)
    p = st.tensor(probabilities, requires_grad=True)
    (gx,) = st.autodiff.grad(ops.cross_entropy(x, p, reduction="sum"), x, create_graph=True)
    (gp,) = st.autodiff.grad((gx * v).sum(), p)
    np.testing.assert_allclose(gp.data, (softmax * v).sum(-1, keepdims=True) - v, rtol=1e-12)
    t = rng.standard_normal((2, 3))
    _, tangent = st.jvp(lambda q: ops.cross_entropy(logits, q, reduction="sum"))(probabilities, t)
    np.testing.assert_allclose(tangent, -(_log_softmax(logits) * t).sum(), rtol=1e-13)


@settings(max_examples=25, deadline=None)
@given(seed=hs.integers(0, 2**32 - 1), classes=hs.integers(1, 5), batch=hs.integers(1, 4),
       reduction=hs.sampled_from(["mean", "sum"]))
def test_the_target_gradient_matches_central_differences(seed, classes, batch, reduction):
    rng = np.random.default_rng(seed)
    logits, probabilities = rng.standard_normal((batch, classes)) * 3, rng.random((batch, classes))
    p = st.tensor(probabilities, requires_grad=True)
    ops.cross_entropy(logits, p, reduction=reduction).backward()

    def loss(q):
        return ops.cross_entropy(logits, q, reduction=reduction).item()

    h, numeric = 1e-6, np.zeros_like(probabilities)
    for i in np.ndindex(probabilities.shape):
        step = np.zeros_like(probabilities)
        step[i] = h
        numeric[i] = (loss(probabilities + step) - loss(probabilities - step)) / (2 * h)
    np.testing.assert_allclose(p.grad, numeric, rtol=1e-6, atol=1e-8)
