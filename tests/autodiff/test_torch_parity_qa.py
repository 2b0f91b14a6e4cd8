"""Cases a randomized comparison with PyTorch 2.13 found (2026-12-03), each checked here against
values derived by hand (PyTorch is a tool dependency, never a test one)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st
from steepest.nn import functional as F


# ----------------------------------------------------------------------------- transpose
def test_transpose_of_two_dimensions_swaps_them_as_in_pytorch():
    x = st.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    np.testing.assert_array_equal(x.transpose(0, 1).data, x.data.T)  # NumPy: the identity
    np.testing.assert_array_equal(x.transpose(1, 0).data, x.data.T)
    cube = st.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    swapped = cube.transpose(1, 2)
    np.testing.assert_array_equal(swapped.data, np.swapaxes(cube.data, 1, 2))
    np.testing.assert_array_equal(cube.transpose(-1, 0).data, np.swapaxes(cube.data, -1, 0))
    (swapped * np.arange(12.0).reshape(1, 4, 3)).sum().backward()
    np.testing.assert_array_equal(cube.grad, np.broadcast_to(
        np.swapaxes(np.arange(12.0).reshape(1, 4, 3), 1, 2), (2, 3, 4)))


def test_transpose_keeps_numpys_reversal_and_permutations():
    cube = st.tensor(np.zeros((2, 3, 4)))
    assert cube.transpose().shape == (4, 3, 2)
    assert cube.transpose(2, 0, 1).shape == (4, 2, 3)
    assert cube.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert cube.T.shape == (4, 3, 2)


def test_transpose_names_dimensions_out_of_range():
    with pytest.raises(IndexError, match=r"transpose: cannot swap dimensions \(0, 3\)"):
        st.tensor(np.zeros((2, 3, 4))).transpose(0, 3)


# ----------------------------------------------------------------------------- std, pow
def test_std_gradient_is_zero_where_every_deviation_is_zero():
    data = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    x = st.tensor(data, requires_grad=True)
    x.std(1).sum().backward()
    second = data[1]
    deviation = second - second.mean()
    expected = deviation / (2 * np.sqrt((deviation ** 2).sum() / 2))
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 0.0], expected], rtol=1e-14, atol=0)
    np.testing.assert_allclose(x.std(1).data, data.std(axis=1, ddof=1), rtol=1e-15)
    assert math.isnan(st.tensor([1.0]).std().item())  # N - correction = 0, as PyTorch


def test_power_gradient_in_the_exponent_at_a_zero_base():
    base = st.tensor([0.0, 0.0, 2.0], requires_grad=True)
    exponent = st.tensor([-1.0, 2.0, 1.5], requires_grad=True)
    with np.errstate(divide="ignore"):
        (base ** exponent).sum().backward()
    # x^y log x: 0 * -inf is taken as 0 (y >= 0); inf * -inf = -inf (y < 0), as PyTorch
    np.testing.assert_array_equal(exponent.grad, [-np.inf, 0.0, 2.0 ** 1.5 * np.log(2.0)])


# ----------------------------------------------------------------------------- sigmoid, log-softmax
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_its_far_left_tail(dtype):
    x = np.array([-20.0, -40.0, -80.0, 0.0, 30.0], dtype)
    with np.errstate(all="raise"):
        out = st.sigmoid(st.tensor(x)).data
    exact = np.exp(x.astype(np.float64)) / (1 + np.exp(x.astype(np.float64)))
    np.testing.assert_allclose(out, exact, rtol=4 * np.finfo(dtype).eps)
    with np.errstate(all="raise"):
        assert st.sigmoid(st.tensor(np.array([-1e4], dtype))).item() == 0.0  # the limit


def test_log_of_sigmoid_of_a_large_negative_input_is_finite():
    x = st.tensor([-40.0], requires_grad=True)
    y = st.log(st.sigmoid(x))
    y.sum().backward()
    np.testing.assert_allclose(y.data, [-40.0], rtol=1e-15)
    np.testing.assert_allclose(x.grad, [1.0], rtol=1e-15)


def test_log_softmax_does_not_round_at_the_size_of_the_largest_logit():
    logits = np.array([1e4, 1e4, -1e4], np.float32)
    out = st.log_softmax(st.tensor(logits)).data
    np.testing.assert_allclose(out, [-np.log(2), -np.log(2), -2e4 - np.log(2)], rtol=1e-7)
    near = np.array([300.1, 300.0, -5.0])
    top = near - near.max()
    exact = top - np.log(np.exp(top).sum())
    np.testing.assert_allclose(st.log_softmax(st.tensor(near)).data, exact, rtol=1e-15)


# ----------------------------------------------------------------------------- losses
def test_cross_entropy_with_every_target_ignored_has_a_zero_gradient():
    for smoothing in (0.0, 0.1):
        logits = st.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
        loss = F.cross_entropy(logits, np.full(4, -100), label_smoothing=smoothing)
        loss.backward()
        assert math.isnan(loss.item())  # 0/0, as PyTorch
        np.testing.assert_array_equal(logits.grad, np.zeros((4, 3)))


def test_compiled_cross_entropy_recomputes_an_all_ignored_batch():
    weight = st.tensor(np.random.default_rng(1).standard_normal((3, 2)), requires_grad=True)

    def loss_of(x, target):
        return F.cross_entropy(x @ weight, target, ignore_index=-1)

    compiled = st.compile(loss_of)
    x = np.random.default_rng(2).standard_normal((4, 3))
    for target in (np.array([0, 1, -1, 1]), np.full(4, -1), np.array([1, 1, 0, -1])):
        got, expected = compiled(x, target), loss_of(x, target)
        np.testing.assert_array_equal(got.data, expected.data)


@pytest.mark.parametrize("option", ["weight", "ignore_index", "nll"])
def test_a_minus_infinite_logit_of_another_class_leaves_the_loss_finite(option):
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]])
    target = np.array([0, 1])
    weight = np.array([1.0, 2.0, 3.0])
    x = st.tensor(logits, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    picked = log_probs[[0, 1], target]
    if option == "weight":
        loss, expected = F.cross_entropy(x, target, weight=weight), \
            -(weight[target] * picked).sum() / weight[target].sum()
    elif option == "ignore_index":
        loss, expected = F.cross_entropy(x, target, ignore_index=2), -picked.mean()
    else:
        loss, expected = F.nll_loss(st.log_softmax(x, axis=1), target), -picked.mean()
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    assert np.isfinite(x.grad).all()


def test_nll_loss_refuses_a_weight_of_the_wrong_length():
    log_probs = st.log_softmax(st.tensor(np.zeros((2, 3))), axis=1)
    with pytest.raises(ValueError, match="nll_loss: weight has 5 entries but the input has 3"):
        F.nll_loss(log_probs, np.array([0, 1]), weight=np.ones(5))


# ----------------------------------------------------------------------------- empty axes
def test_reductions_over_an_empty_axis():
    empty = st.tensor(np.zeros((0, 3)), requires_grad=True)
    np.testing.assert_array_equal(st.logsumexp(empty, axis=0).data, [-np.inf] * 3)
    assert st.softmax(st.tensor(np.zeros((2, 0))), axis=1).shape == (2, 0)
    assert st.log_softmax(st.tensor(np.zeros((2, 0))), axis=1).shape == (2, 0)
    nothing = st.tensor(np.zeros(0), requires_grad=True)
    product = nothing.prod()
    product.backward()
    assert product.item() == 1.0 and nothing.grad.shape == (0,)


def test_an_empty_list_index_selects_nothing():
    x = st.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    picked = x[[]]
    assert picked.shape == (0, 2)
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 2)))
