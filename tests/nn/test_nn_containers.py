"""ModuleList, ModuleDict and Flatten: torch's names, parameter registration and errors."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import nn


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 2)})

    def forward(self, x):
        for block in self.blocks:
            x = st.tanh(block(x))
        return self.heads["a"](x), self.heads["b"](x)


def test_parameters_are_registered_under_torchs_names():
    model = Tower()
    # the keys torch.nn gives the same module tree
    assert list(model.state_dict()) == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]
    a, b = model(st.tensor(np.ones((5, 3))))
    (a.sum() + b.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_module_list_editing_renumbers():
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers.append(nn.Tanh()).extend([nn.Linear(1, 2)])
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Tanh", "Linear"]
    del layers[1]
    assert list(layers.state_dict()) == ["2.weight", "2.bias"]
    assert isinstance(layers[-1], nn.Linear) and len(layers[1:]) == 2
    with pytest.raises(IndexError, match="out of range"):
        layers[7]
    with pytest.raises(TypeError, match="Module"):
        layers.extend([nn.Linear(1, 1), "not a module"])
    assert len(layers) == 3  # nothing appended by the refused extend
    with pytest.raises(NotImplementedError, match="forward"):
        layers(st.tensor([1.0]))


def test_module_dict_protocol_and_errors():
    heads = nn.ModuleDict([("x", nn.Linear(2, 2))])
    heads["y"] = nn.ReLU()
    assert "y" in heads and heads.keys() == ["x", "y"] and len(heads) == 2
    assert isinstance(heads.pop("y"), nn.ReLU) and list(heads) == ["x"]
    with pytest.raises(KeyError, match="has no module 'z'"):
        heads["z"]
    with pytest.raises(TypeError, match="strings"):
        heads.update({1: nn.ReLU()})


@pytest.mark.parametrize(("start", "end", "shape"), [(1, -1, (2, 12)), (0, -1, (24,)),
                                                     (1, 1, (2, 3, 4)), (0, 1, (6, 4))])
def test_flatten_shapes_and_gradient(start, end, shape):
    x = st.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten(start, end)(x)
    assert y.shape == shape
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_flatten_refuses_reversed_axes():
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(2, 1)(st.tensor(np.zeros((2, 3, 4))))
