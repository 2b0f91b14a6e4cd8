"""Cross-entropy of float32 logits against float32 class probabilities with a class ``weight``
stays float32, as without the weight and as in torch.

The weight (a float64 or integer array, as users write it) multiplied the probabilities
un-cast, so the loss came back float64: the only loss whose constant weight changed the
result's dtype (NLL, BCE and pos_weight cast theirs).
"""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.nn import functional as F

X = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4], [-0.7, 0.9, 0.2], [0.0, 0.5, -2.0]],
             dtype=np.float32)
P = np.array([[1, 0, 0], [0, 0, 1], [0.2, 0.5, 0.3], [0, 1, 0]], dtype=np.float32)
W = np.array([1.0, 2.0, 3.0])
# torch.nn.functional.cross_entropy(X, P, weight=W, label_smoothing=s, reduction=r), float32
TORCH = {(0.0, "mean"): 2.9282804, (0.0, "sum"): 11.713121, (0.1, "mean"): 2.9507382}


@pytest.mark.parametrize("weight", [W, np.array([1, 2, 3]), W.astype(np.float32)])
@pytest.mark.parametrize(("smoothing", "reduction"), sorted(TORCH))
def test_the_loss_keeps_the_float32_of_logits_and_targets(weight, smoothing, reduction):
    x = st.tensor(X, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction, smoothing, weight=weight)(x, P)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), TORCH[smoothing, reduction], rtol=1e-6)
    loss.backward()
    assert x.grad.dtype == np.float32


def test_reduction_none_and_the_function_too():
    loss = F.cross_entropy(X, P, reduction="none", weight=W)
    assert loss.dtype == np.float32 and loss.shape == (4,)
