"""Removing modules from a ModuleDict or ModuleList removes their parameters from
``parameters()`` / ``named_parameters()`` at once, in the container and in its parents.

``ModuleDict.pop``, ``del d[name]`` and ``clear()``, and a ModuleList emptied by ``del``, did not
mark the module tree as changed, so the cached parameter list kept the removed modules'
parameters: an optimizer built afterwards trained them, and ``named_parameters()`` disagreed
with ``state_dict()``. torch lists only what is left.
"""

from __future__ import annotations

import pytest

from steepest import nn


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 1)})
        self.blocks = nn.ModuleList([nn.Linear(3, 3)])


def _names(model):
    return [name for name, _ in model.named_parameters()]


@pytest.mark.parametrize("remove", [
    lambda m: m.heads.pop("a"),
    lambda m: m.heads.__delitem__("a"),
])
def test_a_module_taken_out_of_a_module_dict_leaves_parameters(remove):
    model = _Model()
    assert len(list(model.parameters())) == 6  # fills the cache
    remove(model)
    # torch: ['heads.b.weight', 'heads.b.bias', 'blocks.0.weight', 'blocks.0.bias']
    assert _names(model) == ["heads.b.weight", "heads.b.bias", "blocks.0.weight",
                             "blocks.0.bias"]
    assert _names(model) == list(model.state_dict())
    assert len(list(model.heads.parameters())) == 2


def test_clear_and_emptying_a_module_list():
    model = _Model()
    assert len(list(model.heads.parameters())) == 4 and len(list(model.parameters())) == 6
    model.heads.clear()
    assert list(model.heads.parameters()) == []
    del model.blocks[0]
    assert list(model.blocks.parameters()) == []
    assert _names(model) == [] == list(model.state_dict())
