"""Loss modules and functions: formulas on any shape, stability, validation, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn
from steepest.nn import functional as F


def _reference_cross_entropy(logits, classes, smoothing=0.0):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    target = np.eye(logits.shape[-1])[classes] * (1 - smoothing) + smoothing / logits.shape[-1]
    return -(target * log_p).sum(axis=-1)


@settings(max_examples=40, deadline=None)
@given(n=hs.integers(1, 6), c=hs.integers(2, 6), seed=hs.integers(0, 2**32 - 1),
       smoothing=hs.sampled_from([0.0, 0.05, 0.3]))
def test_cross_entropy_matches_the_formula(n, c, seed, smoothing):
    rng = np.random.default_rng(seed)
    logits, classes = rng.standard_normal((n, c)) * 3, rng.integers(0, c, n)
    expected = _reference_cross_entropy(logits, classes, smoothing)
    for reduction, value in (("none", expected), ("sum", expected.sum()), ("mean", expected.mean())):
        loss = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)(logits, classes)
        np.testing.assert_allclose(loss.data, value, rtol=1e-12, atol=1e-14)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4 + 2]])
    loss = nn.CrossEntropyLoss(reduction="none")(st.tensor(logits, requires_grad=True),
                                                 np.array([1, 2]))
    np.testing.assert_allclose(loss.data, [1e4, 0.0], atol=1e-9)
    loss.sum().backward()
    assert np.all(np.isfinite(loss.data))


def test_cross_entropy_single_sample_and_float32():
    loss = nn.CrossEntropyLoss()(np.zeros(4, dtype=np.float32), np.array(2))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(np.log(4), rel=1e-6)
    assert nn.CrossEntropyLoss()(st.tensor([[0.0, 0.0]]), [1]).item() == pytest.approx(np.log(2))


@pytest.mark.parametrize("module", [nn.CrossEntropyLoss(), nn.CrossEntropyLoss(label_smoothing=0.2)])
def test_cross_entropy_target_errors_are_clear(module):
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match="out of range|in \\[0, 4\\)"):
        module(logits, np.array([0, 4, 1]))
    with pytest.raises(TypeError, match="integers"):
        module(logits, np.array([0.0, 1.0, 2.0]))


def test_cross_entropy_gradients_agree_with_finite_differences():
    rng = np.random.default_rng(4)
    logits, classes = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    for smoothing in (0.0, 0.25):
        loss = nn.CrossEntropyLoss(label_smoothing=smoothing)
        st.gradcheck(lambda x, loss=loss: loss(x, classes), logits)
    classes3 = rng.integers(0, 3, (2, 4))  # class axis 1, as in PyTorch
    st.gradcheck(lambda x: F.cross_entropy(x, classes3, reduction="sum"), rng.standard_normal((2, 3, 4)))


def test_mse_loss_formula_and_shape_guard():
    x, y = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    squared = (x - y) ** 2
    assert nn.MSELoss()(x, y).item() == squared.mean()
    assert nn.MSELoss(reduction="sum")(x, y).item() == squared.sum()
    np.testing.assert_array_equal(F.mse_loss(x, y, reduction="none").data, squared)
    with pytest.raises(ValueError, match=r"input shape \(2, 1\) and target shape \(2,\) differ"):
        nn.MSELoss()(np.ones((2, 1)), np.ones(2))
    st.gradcheck(lambda a, b: nn.MSELoss()(a, b), (x, y))


def test_bce_with_logits_is_stable_and_weighted():
    x = np.array([-800.0, -3.0, 0.0, 3.0, 800.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    expected = np.logaddexp(0, x) - x * y
    loss = nn.BCEWithLogitsLoss(reduction="none")(st.tensor(x, requires_grad=True), y)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-14)
    weighted = nn.BCEWithLogitsLoss(reduction="none", pos_weight=3.0)(x, y)
    np.testing.assert_allclose(weighted.data, 3 * y * np.logaddexp(0, -x)
                               + (1 - y) * np.logaddexp(0, x), rtol=1e-14)
    # the derivative at x = 0 with y = 1 is -pos_weight / 2 (no kink from |x| in the formula)
    st.gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, y, pos_weight=np.array(3.0)), x / 400)
    with pytest.raises(ValueError, match="differ"):
        nn.BCEWithLogitsLoss()(np.ones((3, 1)), np.ones(3))


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.MSELoss(reduction="avg"), ValueError,
     "MSELoss: reduction must be one of 'mean', 'sum', 'none'; got 'avg'"),
    (lambda: nn.CrossEntropyLoss(reduction=None), ValueError, "CrossEntropyLoss: reduction"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ValueError,
     r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda: nn.BCEWithLogitsLoss(reduction="batchmean"), ValueError, "BCEWithLogitsLoss"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[[1.0]]), ValueError, "pos_weight must be"),
    (lambda: F.cross_entropy(np.zeros((1, 2)), [0], reduction="avg"), ValueError, "cross_entropy"),
    (lambda: F.mse_loss(np.zeros(1), np.zeros(1), reduction="max"), ValueError, "mse_loss"),
    (lambda: F.binary_cross_entropy_with_logits(np.zeros(1), np.zeros(1), reduction=""),
     ValueError, "binary_cross_entropy_with_logits"),
])
def test_loss_arguments_are_validated(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_losses_train_a_model():
    """One step down the gradient of each loss lowers it (the pieces fit together)."""
    st.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4))
    cases = [(nn.CrossEntropyLoss(), 3, rng.integers(0, 3, 32)),
             (nn.MSELoss(), 2, rng.standard_normal((32, 2))),
             (nn.BCEWithLogitsLoss(), 2, (rng.random((32, 2)) < 0.5).astype(float))]
    for loss_fn, outputs, target in cases:
        model = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.Tanh(),
                              nn.Linear(8, outputs, dtype=np.float64))
        before = loss_fn(model(x), target)
        before.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        assert loss_fn(model(x), target).item() < before.item()
