"""ModuleList: ``del layers[i:j]`` removes a slice and renumbers, as torch.nn.ModuleList does.

It raised ``TypeError: ModuleList indices must be integers or slices, got slice``, a message
that contradicts itself; assigning to a slice (which torch refuses too) said the same.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from steepest import nn


def _layers(n):
    return nn.ModuleList([nn.Linear(i + 1, 1) for i in range(n)])


def test_deleting_a_slice_renumbers_like_torch():
    layers = _layers(5)
    del layers[1:3]
    assert [m.in_features for m in layers] == [1, 4, 5]
    # torch: ['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']
    assert [name for name, _ in layers.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]


@settings(max_examples=50, deadline=None)
@given(n=hs.integers(0, 6), start=hs.none() | hs.integers(-8, 8),
       stop=hs.none() | hs.integers(-8, 8), step=hs.none() | hs.integers(-3, 3).filter(bool))
def test_any_slice_deletes_what_a_list_would(n, start, stop, step):
    layers, expected = _layers(n), list(range(1, n + 1))
    del layers[start:stop:step]
    del expected[start:stop:step]
    assert [m.in_features for m in layers] == expected
    assert list(layers._modules) == [str(i) for i in range(len(expected))]


def test_assigning_to_a_slice_is_refused_with_a_clear_message():
    layers = _layers(3)
    with pytest.raises(TypeError, match="ModuleList: assignment takes an integer index, got "
                                        "slice"):
        layers[0:2] = nn.ReLU()
    with pytest.raises(TypeError, match="got str"):
        del layers["0"]
