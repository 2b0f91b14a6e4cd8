"""Flatten against torch.nn.Flatten: axes out of range are refused, never wrapped around.

``start_dim``/``end_dim`` were reduced modulo the number of axes, so ``Flatten(0, 3)`` of a 3-D
input (end 3 -> 0) returned it unchanged, ``Flatten(5)`` flattened nothing, and ``Flatten()`` of
a 1-D sample passed it through; torch raises ``IndexError: Dimension out of range`` for each.
Shapes below are torch 2.x's.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn


@pytest.mark.parametrize(("shape", "start", "end"), [
    ((2, 3, 4), 0, 3), ((2, 3, 4), 5, -1), ((2, 3, 4), -4, -1), ((2, 3, 4), 1, -4),
    ((5,), 1, -1), ((), 1, -1),
])
def test_an_axis_out_of_range_is_refused_as_by_torch(shape, start, end):
    with pytest.raises(IndexError, match=r"Flatten: .*out of range.*shape"):
        nn.Flatten(start, end)(st.tensor(np.zeros(shape)))


def test_a_zero_dimensional_input_counts_as_one_axis_as_in_torch():
    assert nn.Flatten(0, -1)(st.tensor(np.float64(3.0))).shape == (1,)
    assert nn.Flatten(-1, 0)(st.tensor(np.float64(3.0))).shape == (1,)


def test_the_constructor_checks_its_axes():
    with pytest.raises(TypeError, match="Flatten: start_dim"):
        nn.Flatten(1.5)
    with pytest.raises(TypeError, match="Flatten: end_dim"):
        nn.Flatten(1, "2")


def test_repr_names_the_axes_as_torch():
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def _torch_flatten_shape(shape, start, end):
    """torch.flatten's shape rule, with torch's range check (a 0-d tensor has one axis)."""
    n = max(len(shape), 1)
    if not (-n <= start < n and -n <= end < n):
        return None
    s, e = start % n, end % n
    if not shape:
        return (1,)
    return shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]


@settings(max_examples=60, deadline=None)
@given(shape=hs.lists(hs.integers(1, 3), max_size=4).map(tuple),
       start=hs.integers(-6, 6), end=hs.integers(-6, 6))
def test_random_axes_match_torch_or_raise(shape, start, end):
    expected = _torch_flatten_shape(shape, start, end)
    x = st.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
    n = max(len(shape), 1)
    if expected is None:
        with pytest.raises(IndexError, match="out of range"):
            nn.Flatten(start, end)(x)
        return
    if start % n > end % n:
        with pytest.raises(ValueError, match="start_dim"):
            nn.Flatten(start, end)(x)
        return
    y = nn.Flatten(start, end)(x)
    assert y.shape == expected
    np.testing.assert_array_equal(y.data.ravel(), x.data.ravel())
