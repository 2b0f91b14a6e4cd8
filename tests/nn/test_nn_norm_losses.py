"""LayerNorm, BatchNorm1d, the issue-14 losses and initialisers: errors and properties the
golden values (test_nn_norm_losses_golden.py) do not show."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn
from steepest.nn import functional as F
from steepest.nn import init


def test_batch_norm_refuses_a_batch_of_one_in_training_as_torch_does():
    layer = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel when training, got an "
                                         r"input of shape \(1, 3\)"):
        layer(np.ones((1, 3), dtype=np.float32))
    assert int(layer.num_batches_tracked) == 0  # refused before anything changed
    layer.eval()
    assert layer(np.ones((1, 3), dtype=np.float32)).shape == (1, 3)


def test_batch_norm_names_a_wrong_channel_count_and_dimension():
    layer = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="the input has 4 channels .* num_features=3"):
        layer(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"expected a 2-D \(N, C\) or 3-D \(N, C, L\) input"):
        layer(np.ones((5, 3, 2, 2)))


def test_batch_norm_without_running_stats_uses_the_batch_in_both_modes():
    layer = nn.BatchNorm1d(2, track_running_stats=False, dtype=np.float64)
    assert list(layer.state_dict()) == ["weight", "bias"]
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    train_out = layer(x).data
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, train_out)


def test_batch_norm_buffers_follow_to_and_load_in_place():
    layer = nn.BatchNorm1d(2)
    running = layer.running_mean
    layer.load_state_dict({**layer.state_dict(), "running_mean": np.array([1.0, 2.0])})
    assert layer.running_mean is running and running.tolist() == [1.0, 2.0]
    layer.to(np.float64)
    assert layer.running_mean.dtype == np.float64
    assert layer.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype


def test_layer_norm_names_a_shape_that_does_not_end_in_normalized_shape():
    with pytest.raises(ValueError, match=r"an input of shape \(2, 5\) does not end with "
                                         r"normalized_shape \(4,\)"):
        nn.LayerNorm(4)(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="LayerNorm: eps must be in"):
        nn.LayerNorm(4, eps=0.0)


@settings(max_examples=20, deadline=None)
@given(rows=hs.integers(2, 5), cols=hs.integers(2, 5), seed=hs.integers(0, 1000))
def test_layer_norm_and_batch_norm_gradients_match_finite_differences(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, cols)) * 2
    w = rng.normal(size=(rows, cols))
    ln = nn.LayerNorm(cols, dtype=np.float64)
    bn = nn.BatchNorm1d(cols, dtype=np.float64, track_running_stats=False)
    for layer in (ln, bn):
        assert st.gradcheck(lambda t, layer=layer: (layer(t) * w).sum(), x)


@pytest.mark.parametrize("call, message", [
    (lambda: F.huber_loss(np.ones(2), np.ones(2), delta=0.0), "huber_loss: delta must be in"),
    (lambda: F.smooth_l1_loss(np.ones(2), np.ones(2), beta=-1.0), "smooth_l1_loss: beta"),
    (lambda: F.l1_loss(np.ones(2), np.ones(3)), r"l1_loss: input shape \(2,\) and target"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0, 3])), r"class targets must be in \[0, 3\)"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0.0, 1.0])), "class targets must be integers"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=[1.0, 2.0]),
     "weight has 2 entries but the input has 3 classes"),
    (lambda: nn.CrossEntropyLoss(weight=[1.0, -2.0]), "weight must be finite and >= 0"),
    (lambda: nn.NLLLoss(reduction="avg"), "NLLLoss: reduction must be one of"),
])
def test_bad_loss_arguments_say_what_and_where(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_cross_entropy_without_weight_or_ignored_targets_keeps_the_fused_path():
    x, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 2, 1, 0])
    fused = F.cross_entropy(x, y)
    weighted = F.cross_entropy(x, y, weight=np.ones(3))
    np.testing.assert_allclose(weighted.item(), fused.item(), rtol=1e-14)


@pytest.mark.parametrize("shape, gain", [((3, 5), 1.0), ((5, 3), 2.0), ((4, 2, 3), 0.5)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape, gain):
    st.manual_seed(1)
    w = init.orthogonal_(np.empty(shape), gain=gain).reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="orthogonal_: only tensors with 2 or more dimensions"):
        init.orthogonal_(np.empty(3))


def test_trunc_normal_stays_inside_and_has_the_truncated_mean():
    st.manual_seed(2)
    w = init.trunc_normal_(np.empty(200_000), mean=0.5, std=1.0, a=-1.0, b=1.0)
    assert w.min() >= -1.0 and w.max() <= 1.0
    # the mean of N(0.5, 1) truncated to [-1, 1]: mu + (phi(alpha) - phi(beta)) / Z * sigma
    phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    from math import erf, sqrt
    cdf = lambda z: 0.5 * (1 + erf(z / sqrt(2)))  # noqa: E731
    alpha, beta = -1.5, 0.5
    expected = 0.5 + (phi(alpha) - phi(beta)) / (cdf(beta) - cdf(alpha))
    assert abs(w.mean() - expected) < 5 * w.std() / np.sqrt(w.size)
    with pytest.raises(ValueError, match=r"holds .* of the probability"):
        init.trunc_normal_(np.empty(3), mean=0.0, std=1.0, a=10.0, b=11.0)


def test_zeros_and_ones_fill_in_place():
    p = nn.Parameter(np.full((2, 2), 3.0))
    assert init.zeros_(p) is p and not p.data.any()
    assert init.ones_(p) is p and (p.data == 1).all()


def test_identity_accepts_and_ignores_arguments():
    x = np.ones(3)
    assert nn.Identity(54, unused="x")(x) is x
