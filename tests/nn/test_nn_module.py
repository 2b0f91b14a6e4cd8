"""Module, Parameter and Sequential: registration, traversal, modes, state dicts, repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import steepest as st
from steepest import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.inner = nn.Linear(3, 2, dtype=np.float64)
        self.note = "not registered"
        self.offset = nn.Parameter(np.zeros(2))

    def forward(self, x):
        return self.inner(x * self.scale) + self.offset


def test_parameter_is_a_tensor_requiring_grad_that_shares_its_array():
    array = np.zeros((2, 3), dtype=np.float32)
    p = nn.Parameter(array)
    assert isinstance(p, st.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is array and p.dtype == np.float32
    assert nn.Parameter(st.tensor([1.0, 2.0])).shape == (2,)
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))
    with pytest.raises(AttributeError):  # __slots__: no per-instance dict
        p.extra = 1


def test_attributes_register_parameters_and_modules_in_assignment_order():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "offset", "inner.weight", "inner.bias"]
    assert [name for name, _ in block.named_parameters(recurse=False)] == ["scale", "offset"]
    assert [name for name, _ in block.named_parameters(prefix="m")][0] == "m.scale"
    assert list(block.children()) == [block.inner]
    assert [name for name, _ in block.named_modules()] == ["", "inner"]
    assert len(list(block.parameters())) == 4
    assert len(list(block.parameters(recurse=False))) == 2
    assert block.note == "not registered"


def test_shared_parameters_are_listed_once_but_saved_under_each_name():
    first = nn.Linear(2, 2)
    model = nn.Sequential(first, nn.ReLU(), first)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_parameter_cache_follows_changes_anywhere_in_the_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(list(model.parameters())) == 2
    model[0].extra = nn.Parameter(np.ones(1))  # a grandchild changes: the parent must notice
    assert [name for name, _ in model.named_parameters()][-1] == "0.extra"
    model.append(nn.Linear(3, 1))
    assert len(list(model.parameters())) == 5
    del model[0].extra
    assert "0.extra" not in dict(model.named_parameters())
    model[0].bias = None
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "2.weight", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "2.weight", "2.bias"]


def test_registered_names_keep_their_kind():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign ndarray to parameter 'weight'"):
        layer.weight = np.zeros((2, 2))
    model = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="sub-module"):
        setattr(model, "0", 3)
    with pytest.raises(TypeError, match="Parameter or None"):
        layer.register_parameter("w", np.zeros(2))
    with pytest.raises(ValueError, match="without '.'"):
        layer.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Module or None"):
        layer.add_module("x", "relu")


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_buffers_are_saved_restored_and_converted():
    module = nn.Module()
    module.register_buffer("running", np.arange(3.0))
    module.register_buffer("count", np.array(5))
    assert list(module.state_dict()) == ["running", "count"]
    module.load_state_dict({"running": np.ones(3), "count": np.array(7)})
    np.testing.assert_array_equal(module.running, np.ones(3))
    assert module.count == 7
    module.running = [4.0, 5.0, 6.0]  # reassigning a buffer keeps it registered, as an array
    assert isinstance(module.running, np.ndarray) and module.state_dict()["running"][0] == 4.0
    assert [name for name, _ in module.named_buffers()] == ["running", "count"]
    module.to(np.float32)
    assert module.running.dtype == np.float32 and module.count.dtype.kind == "i"


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="mode must be True or False"):
        model.train("no")


def test_state_dict_holds_copies_under_torch_names():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, bias=False))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight"]
    assert state["0.weight"].shape == (4, 3) and state["0.weight"].dtype == np.float32
    state["0.weight"][...] = 0
    assert np.all(model[0].weight.data != 0)


def test_load_state_dict_copies_into_the_existing_arrays_and_casts():
    source = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 2))
    target = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    weight_param, weight_array = target[0].weight, target[0].weight.data
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target[0].weight is weight_param and target[0].weight.data is weight_array
    assert weight_array.dtype == np.float32
    np.testing.assert_array_equal(weight_array, source[0].weight.data.astype(np.float32))
    target.load_state_dict({**target.state_dict(), "2.bias": [1, 2]})  # lists, ints
    np.testing.assert_array_equal(target[2].bias.data, [1.0, 2.0])
    target.load_state_dict({**target.state_dict(), "2.bias": st.tensor([3.0, 4.0])})
    np.testing.assert_array_equal(target[2].bias.data, [3.0, 4.0])


def test_load_state_dict_names_missing_unexpected_and_misshapen_keys_and_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = model.state_dict()
    bad = model.state_dict()
    del bad["2.bias"]
    bad["extra"] = np.zeros(1)
    bad["0.weight"] = np.ones((3, 4))
    bad["0.bias"] = np.ones(4)  # valid, but must not be written since the load fails
    with pytest.raises(ValueError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    assert "missing keys: '2.bias'" in message
    assert "unexpected keys: 'extra'" in message
    assert "'0.weight': expected shape (4, 3), got (3, 4)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_non_strict_reports_instead_of_refusing_but_still_checks_shapes():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    partial = {"0.weight": np.ones((4, 3)), "surplus": np.zeros(2)}
    result = model.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"]
    assert result.unexpected_keys == ["surplus"]
    np.testing.assert_array_equal(model[0].weight.data, 1.0)
    with pytest.raises(ValueError, match="expected shape"):
        model.load_state_dict({"0.weight": np.ones(3)}, strict=False)


def test_load_state_dict_refuses_unconvertible_values():
    layer = nn.Linear(2, 1)
    state = layer.state_dict()
    with pytest.raises(ValueError, match="cannot convert dtype complex128 to float32"):
        layer.load_state_dict({**state, "weight": np.ones((1, 2), dtype=complex)})
    with pytest.raises(ValueError, match="'bias': .*string"):
        layer.load_state_dict({**state, "bias": np.array(["a"])})
    with pytest.raises(TypeError, match="mapping"):
        layer.load_state_dict([("weight", np.ones((1, 2)))])


def test_optimizer_style_update_survives_a_load():
    """A reference to the Parameter (what an optimizer keeps) sees the loaded values."""
    model = nn.Linear(2, 2, dtype=np.float64)
    params = list(model.parameters())
    model.load_state_dict({"weight": np.eye(2), "bias": np.zeros(2)})
    out = model(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(out.data, [[1.0, 2.0]])
    assert params[0].data is model.weight.data


def test_zero_grad_and_to():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    loss = model(np.ones((3, 2), dtype=np.float32)).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    weight = model[0].weight
    assert model.to(np.float64) is model
    assert model[0].weight is weight and weight.dtype == np.float64
    assert model(np.ones((1, 2))).dtype == np.float64
    with pytest.raises(TypeError, match="floating-point"):
        model.to(np.int32)


def test_apply_visits_children_first_then_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_repr_is_readable_and_nested():
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(0.1),
                          nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(8, 3, bias=False)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): GELU(approximate='none')\n"
        "  (2): Dropout(p=0.1)\n"
        "  (3): Sequential(\n"
        "    (0): LeakyReLU(negative_slope=0.2)\n"
        "    (1): Linear(in_features=8, out_features=3, bias=False)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == (
        "CrossEntropyLoss(reduction='mean', label_smoothing=0.1)")


def test_sequential_indexing_iteration_and_named_layers():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head.state_dict()) == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    with pytest.raises(TypeError, match="integers or slices"):
        model["0"]
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    assert named.hidden is named[0]
    with pytest.raises(TypeError, match="layer 1 must be a Module"):
        nn.Sequential(nn.ReLU(), np.tanh)


def test_sequential_forward_matches_composition():
    st.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = model[2](model[1](model[0](x)))
    np.testing.assert_array_equal(model(x).data, expected.data)
    assert nn.Sequential()(x) is x


def test_deepcopy_gives_an_independent_model():
    import copy

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    list(model.parameters())  # fill the cache before copying
    clone = copy.deepcopy(model)
    for original, copied in zip(model.parameters(), clone.parameters(), strict=True):
        assert copied is not original and copied.data is not original.data
        np.testing.assert_array_equal(copied.data, original.data)
    clone[0].weight.data[...] = 0
    assert np.any(model[0].weight.data != 0)
    clone.append(nn.Tanh())
    assert len(clone) == 4 and len(model) == 3


def test_custom_module_trains_end_to_end():
    block = Block()
    x = st.tensor(np.ones((5, 3)))
    loss = (block(x) ** 2).mean()
    loss.backward()
    assert {name for name, p in block.named_parameters() if p.grad is not None} == {
        "scale", "offset", "inner.weight", "inner.bias"}
