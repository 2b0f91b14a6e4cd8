"""Cross-entropy differentiates a probability target on every path, as torch does.

With label smoothing, class weights or extra dimensions the target's array was smoothed,
weighted or transposed in NumPy, which cut it out of the graph: ``p.grad`` stayed None.
The expected figures are torch 2.13's, computed once and embedded.
"""

import numpy as np
import pytest

import steepest as st
from steepest.nn import functional as F

X = np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
P = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
W = np.array([0.5, 1.0, 2.0])
# torch.nn.functional.cross_entropy(x, p, ...).backward(): p.grad
TORCH_P_GRAD = {
    "smoothing": [[0.4747, 1.1497, 0.2497], [0.1502, 0.7802, 1.0052]],
    "weight": [[0.2637, 1.2775, 0.555], [0.0834, 0.8669, 2.2337]],
}


def _pgrad(**kwargs):
    x = st.tensor(X, requires_grad=True)
    p = st.tensor(P, requires_grad=True)
    F.cross_entropy(x, p, **kwargs).backward()
    return x, p


@pytest.mark.parametrize("case, kwargs", [("smoothing", {"label_smoothing": 0.1}),
                                          ("weight", {"weight": W})])
def test_a_smoothed_or_weighted_probability_target_gets_its_gradient(case, kwargs):
    _, p = _pgrad(**kwargs)
    assert p.grad is not None
    np.testing.assert_allclose(p.grad, TORCH_P_GRAD[case], atol=5e-5)


def test_a_probability_target_with_extra_dimensions_gets_its_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    p = rng.random((2, 3, 4))
    p /= p.sum(axis=1, keepdims=True)
    xs, ps = st.tensor(x, requires_grad=True), st.tensor(p, requires_grad=True)
    F.cross_entropy(xs, ps).backward()
    log_softmax = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(ps.grad, -log_softmax / 8)  # the mean over N * d1 = 8 terms
    # and the logits' gradient is the plain path's
    plain = st.tensor(x, requires_grad=True)
    F.cross_entropy(plain, p).backward()
    np.testing.assert_allclose(xs.grad, plain.grad, rtol=1e-12)
