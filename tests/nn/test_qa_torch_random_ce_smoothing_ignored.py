"""Cross-entropy with label smoothing: an ignored sample counts for nothing, whatever its logits.

A logit of -inf in a sample whose target is ``ignore_index`` made the smoothing term
``-sum_c log p_c = inf`` and then ``inf * 0 = NaN``: the whole mean and sum were NaN where
PyTorch (which masks the ignored samples' smoothing term with ``masked_fill``) gives finite
values. The reference values below are torch 2.x's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn
from steepest.nn import functional as F

X = np.array([[-np.inf, 1.0, 2.0], [0.5, 0.2, 0.1], [3.0, -1.0, 0.0]])
T = np.array([0, 1, 2])  # the first sample (with the -inf logit) is ignored (ignore_index=0)
W = np.array([1.0, 2.0, 0.5])

# torch.nn.functional.cross_entropy(x, t, weight, ignore_index=0, label_smoothing=0.2, ...)
TORCH = {
    ("mean", False): 2.04965809, ("mean", True): 1.60876315,
    ("sum", False): 4.09931618, ("sum", True): 4.02190787,
    ("none", False): [0.0, 1.16676561, 2.93255057], ("none", True): [0.0, 2.14684807, 1.87505981],
}
TORCH_GRAD_MEAN = {  # d loss / dx for reduction="mean"
    False: [[0.0, 0.0, 0.0], [0.1740376, -0.27970917, 0.10567156],
            [0.43478644, -0.02475942, -0.41002702]],
    True: [[0.0, 0.0, 0.0], [0.27747737, -0.46801789, 0.19054051],
           [0.21051402, -0.04898922, -0.1615248]],
}
TORCH_GRAD_SUM = {  # d sum(loss) / dx for reduction="sum" or "none"
    False: [[0.0, 0.0, 0.0], [0.34807521, -0.55941833, 0.21134312],
            [0.86957289, -0.04951884, -0.82005404]],
    True: [[0.0, 0.0, 0.0], [0.69369343, -1.17004472, 0.47635128],
           [0.52628505, -0.12247304, -0.40381201]],
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_an_ignored_sample_with_a_minus_inf_logit_matches_torch(reduction, weighted):
    x = st.tensor(X, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction, 0.2, weight=W if weighted else None,
                               ignore_index=0)(x, T)
    np.testing.assert_allclose(loss.data, TORCH[reduction, weighted], rtol=1e-7, atol=1e-8)
    loss.sum().backward()
    grad = (TORCH_GRAD_MEAN if reduction == "mean" else TORCH_GRAD_SUM)[weighted]
    np.testing.assert_allclose(x.grad, grad, rtol=1e-7, atol=1e-8)


def test_the_class_axis_1_form_matches_torch():
    x3 = np.array([[[0.1, -np.inf], [0.4, 2.0], [1.0, -0.5]]])  # (N=1, C=3, d=2)
    x = st.tensor(x3, requires_grad=True)
    loss = F.cross_entropy(x, np.array([[2, 1]]), label_smoothing=0.3, ignore_index=1)
    np.testing.assert_allclose(loss.item(), 0.8205852106527807, rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad, [[[0.10792347, 0.0], [0.18066732, 0.0],
                                         [-0.28859079, 0.0]]], rtol=1e-7, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(seed=hs.integers(0, 2**32 - 1), reduction=hs.sampled_from(["mean", "sum", "none"]),
       smoothing=hs.sampled_from([0.1, 0.5, 1.0]), weighted=hs.booleans(),
       junk=hs.sampled_from([-np.inf, -1e300, 1e300, 0.0]))
def test_the_logits_of_ignored_samples_do_not_matter(seed, reduction, smoothing, weighted, junk):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    logits = rng.standard_normal((n, c))
    target = rng.integers(0, c, n)
    target[0] = -100  # sample 0 ignored (the default ignore_index)
    weight = rng.uniform(0.1, 2.0, c) if weighted else None
    junked = logits.copy()
    junked[0, int(rng.integers(c))] = junk
    a, b = st.tensor(logits, requires_grad=True), st.tensor(junked, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction, smoothing, weight=weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp/log of the junk row itself
        la, lb = loss(a, target), loss(b, target)
        np.testing.assert_allclose(lb.data, la.data, rtol=1e-12, atol=1e-12)
        la.sum().backward()
        lb.sum().backward()
    np.testing.assert_allclose(b.grad, a.grad, rtol=1e-12, atol=1e-12)
    assert not b.grad[0].any()
