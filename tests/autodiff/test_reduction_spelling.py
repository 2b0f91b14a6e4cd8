"""Reductions take NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim`` alike, and
``max``/``min`` with ``dim=`` are ``torch.max(x, dim)``: values and indices, the gradient going
to the picked entry alone (QA: ``x.sum(dim=1)`` raised an unhelpful TypeError)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st

SHAPES = hs.lists(hs.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _array(shape, seed):
    # integers in a small range: ties are common, which is where max(dim) and amax differ
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(np.float64)


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
@pytest.mark.parametrize("keep", [False, True])
def test_dim_and_keepdim_mean_axis_and_keepdims(name, keep):
    a = _array((3, 4, 2), 0)
    numpy_spelling = getattr(st.tensor(a), name)(axis=1, keepdims=keep)
    torch_spelling = getattr(st.tensor(a), name)(dim=1, keepdim=keep)
    function = getattr(st, name)(st.tensor(a), dim=1, keepdim=keep)
    assert torch_spelling.shape == numpy_spelling.shape == function.shape
    np.testing.assert_array_equal(torch_spelling.data, numpy_spelling.data)
    np.testing.assert_array_equal(function.data, numpy_spelling.data)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_dim(name):
    a = _array((3, 4), 1)
    np.testing.assert_array_equal(getattr(st.tensor(a), name)(dim=0).data,
                                  getattr(st.tensor(a), name)(axis=0).data)
    np.testing.assert_array_equal(getattr(st.tensor(a), name)().data,
                                  getattr(st.tensor(a), name)(-1).data)


@pytest.mark.parametrize("call, message", [
    (lambda x: x.sum(axis=0, dim=1), "axis= .* or dim="),
    (lambda x: x.mean(keepdims=True, keepdim=True), "keepdims= .* or keepdim="),
    (lambda x: x.softmax(0, dim=1), "axis= .* or dim="),
    (lambda x: x.max(0, dim=1), "axis= .* or dim="),
])
def test_both_spellings_at_once_are_refused(call, message):
    with pytest.raises(TypeError, match=message):
        call(st.tensor(np.ones((2, 3))))


@settings(max_examples=60, deadline=None)
@given(shape=SHAPES, seed=hs.integers(0, 10_000), data=hs.data(), keep=hs.booleans(),
       which=hs.sampled_from(["max", "min"]))
def test_max_min_with_dim_pick_one_entry_as_torch(shape, seed, data, keep, which):
    a = _array(shape, seed)
    dim = data.draw(hs.integers(-len(shape), len(shape) - 1))
    x = st.tensor(a, requires_grad=True)
    out = getattr(x, which)(dim=dim, keepdim=keep)
    values, indices = out  # a named tuple, as torch.return_types.max
    arg = np.argmax if which == "max" else np.argmin
    expected_indices = arg(a, axis=dim, keepdims=True)
    expected = np.take_along_axis(a, expected_indices, axis=dim)
    if not keep:
        expected, expected_indices = (np.squeeze(expected, dim), np.squeeze(expected_indices, dim))
    np.testing.assert_array_equal(values.data, expected)
    np.testing.assert_array_equal(indices.data, expected_indices)
    assert out.values is values and out.indices is indices
    weights = np.random.default_rng(seed + 1).normal(size=values.shape)
    (values * st.tensor(weights)).sum().backward()
    grad = np.zeros_like(a)  # the whole upstream gradient at the picked entry, 0 elsewhere
    np.put_along_axis(grad, arg(a, axis=dim, keepdims=True),
                      weights if keep else np.expand_dims(weights, dim), axis=dim)
    np.testing.assert_allclose(x.grad, grad)


def test_max_without_dim_still_shares_ties_evenly():
    x = st.tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5]])


def test_st_max_with_dim_returns_values_and_indices():
    values, indices = st.max(st.tensor(np.array([[1.0, 7.0], [9.0, 2.0]])), dim=1)
    np.testing.assert_array_equal(values.data, [7.0, 9.0])
    np.testing.assert_array_equal(indices.data, [1, 0])


@pytest.mark.parametrize("dim, error, message", [
    (2, IndexError, r"dim must be in \[-2, 1\]"),
    (1.0, TypeError, "dim"),
])
def test_max_with_a_bad_dim_says_which(dim, error, message):
    with pytest.raises(error, match=message):
        st.tensor(np.ones((2, 3))).max(dim=dim)


def test_max_along_an_empty_dim_is_refused():
    with pytest.raises(IndexError, match="empty"):
        st.tensor(np.ones((2, 0))).max(dim=1)
