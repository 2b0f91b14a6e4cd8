"""nn.mlp: the layer order, the activation names, the initialisation draws, the checks."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest._random import get_rng_state


def layer_names(model: nn.Sequential) -> list[str]:
    return [type(layer).__name__ for layer in model]


def assert_same_weights(first: nn.Module, second: nn.Module) -> None:
    a, b = first.state_dict(), second.state_dict()
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name])


def test_layers_alternate_linear_and_activation_with_a_plain_output_layer():
    model = nn.mlp(4, [8, 6], 3)
    assert isinstance(model, nn.Sequential)
    assert layer_names(model) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    shapes = [(p.shape, p.dtype) for p in model.parameters()]
    assert shapes == [((8, 4), np.float32), ((8,), np.float32), ((6, 8), np.float32),
                      ((6,), np.float32), ((3, 6), np.float32), ((3,), np.float32)]
    assert model(np.ones((5, 4), dtype=np.float32)).shape == (5, 3)


def test_no_hidden_layer_is_a_linear_model():
    model = nn.mlp(4, [], 2)
    assert layer_names(model) == ["Linear"]
    assert model[0].weight.shape == (2, 4)


@pytest.mark.parametrize("name, layer", [("relu", "ReLU"), ("leaky_relu", "LeakyReLU"),
                                         ("tanh", "Tanh"), ("sigmoid", "Sigmoid"),
                                         ("logistic", "Sigmoid"), ("gelu", "GELU")])
def test_every_activation_name_gives_its_layer(name, layer):
    assert layer_names(nn.mlp(3, [5], 2, activation=name)) == ["Linear", layer, "Linear"]


def test_the_activation_table_has_pytorch_and_scikit_learn_names():
    assert set(nn.ACTIVATIONS) == {"relu", "leaky_relu", "tanh", "sigmoid", "gelu",
                                   "logistic", "identity"}
    assert nn.ACTIVATIONS["logistic"] is nn.Sigmoid and nn.ACTIVATIONS["identity"] is None


def test_identity_adds_no_layer_so_parameter_names_stay_consecutive():
    model = nn.mlp(3, [5, 4], 2, activation="identity")
    assert layer_names(model) == ["Linear", "Linear", "Linear"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                        "2.weight", "2.bias"]


def test_dropout_follows_each_hidden_activation_only():
    model = nn.mlp(3, [5, 4], 2, activation="tanh", dropout=0.25)
    assert layer_names(model) == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout",
                                  "Linear"]
    assert all(layer.p == 0.25 for layer in model if isinstance(layer, nn.Dropout))
    assert "Dropout" not in layer_names(nn.mlp(3, [5], 2, dropout=0.0))


def test_dtype_sets_every_parameter():
    model = nn.mlp(3, [5], 2, dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert all(p.dtype == np.float64 for p in nn.mlp(3, [5], 2, dtype=np.dtype("float64"))
               .parameters())


@pytest.mark.parametrize("activation, dropout, dtype", [("relu", 0.0, np.float32),
                                                        ("identity", 0.0, np.float64),
                                                        ("gelu", 0.5, np.float32)])
def test_same_draws_as_the_layers_built_by_hand(activation, dropout, dtype):
    """The network is exactly the Sequential one would write, layer by layer, under one seed."""
    st.manual_seed(7)
    built = nn.mlp(6, [9, 4], 3, activation=activation, dropout=dropout, dtype=dtype)
    st.manual_seed(7)
    layers: list[nn.Module] = []
    for width_in, width_out in ((6, 9), (9, 4)):
        layers.append(nn.Linear(width_in, width_out, dtype=dtype))
        if nn.ACTIVATIONS[activation] is not None:
            layers.append(nn.ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(4, 3, dtype=dtype))
    by_hand = nn.Sequential(*layers)
    assert layer_names(built) == layer_names(by_hand)
    assert_same_weights(built, by_hand)


def test_one_seed_gives_one_network():
    st.manual_seed(3)
    first = nn.mlp(5, [7], 2)
    st.manual_seed(3)
    assert_same_weights(first, nn.mlp(5, [7], 2))
    later = nn.mlp(5, [7], 2)  # the generator moved on
    assert not np.array_equal(first[0].weight.data, later[0].weight.data)


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((3, [5], 2), {"activation": "swish"}, ValueError, "mlp: activation must be one of 'relu'"),
    ((3, [5], 2), {"dropout": 1.0}, ValueError, r"mlp: dropout must be in \[0, 1\)"),
    ((3, [5], 2), {"dropout": -0.1}, ValueError, "mlp: dropout"),
    ((0, [5], 2), {}, ValueError, "mlp: n_inputs must be in"),
    ((3, [5, 0], 2), {}, ValueError, r"mlp: hidden\[1\] must be in"),
    ((3, [5], 0), {}, ValueError, "mlp: n_outputs must be in"),
    ((3, [5.0], 2), {}, TypeError, r"mlp: hidden\[0\] must be an integer"),
])
def test_bad_arguments_are_named_and_draw_nothing(args, kwargs, error, match):
    st.manual_seed(0)
    before = get_rng_state()
    with pytest.raises(error, match=match):
        nn.mlp(*args, **kwargs)
    assert get_rng_state() == before  # checked before any layer was initialised
