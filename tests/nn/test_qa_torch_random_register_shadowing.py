"""A module, parameter or buffer cannot be registered under the name of an existing attribute
that is none of them (a method such as ``keys``/``train``/``parameters``, or ``training``),
as torch refuses with ``KeyError: "attribute 'keys' already exists"``.

``nn.ModuleDict({"keys": ...})`` or ``{"train": ...}`` was accepted and the instance attribute
hid the method: ``heads.keys()`` or ``model.train()`` then called ``Linear.forward()`` and
failed with "missing 1 required positional argument: 'x'"; ``{"training": ...}`` replaced the
training flag by a Linear layer.
"""

from __future__ import annotations

import numpy as np
import pytest

from steepest import nn


@pytest.mark.parametrize("key", ["keys", "items", "train", "eval", "parameters", "forward",
                                 "training", "update", "state_dict"])
def test_a_module_dict_key_that_names_an_attribute_is_refused(key):
    with pytest.raises(KeyError, match=f"attribute '{key}' already exists"):
        nn.ModuleDict({key: nn.Linear(2, 2)})


def test_add_module_register_parameter_and_register_buffer_refuse_it_too():
    layer = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="attribute 'in_features' already exists"):
        layer.add_module("in_features", nn.ReLU())
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        layer.register_parameter("forward", None)
    with pytest.raises(KeyError, match="attribute 'extra_repr' already exists"):
        layer.register_buffer("extra_repr", np.zeros(2))
    assert layer.in_features == 2 and callable(layer.forward)


def test_re_registering_a_registered_name_still_works():
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["a"] = nn.Linear(2, 3)  # replace, as torch
    heads.update({"a": nn.Linear(2, 4)})
    assert heads["a"].out_features == 4 and heads.keys() == ["a"]
    layer = nn.Linear(2, 2)
    layer.register_parameter("bias", None)
    assert layer.bias is None
    norm = nn.BatchNorm1d(2)
    norm.register_buffer("running_mean", np.ones(2))
    np.testing.assert_array_equal(norm.running_mean, 1.0)
