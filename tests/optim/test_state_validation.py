"""Issue 10.4: an optimizer state dict with impossible values is refused, all or nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest.optim.base import NONNEGATIVE_BUFFERS

OPTIMIZERS = {
    "Adam": dict(amsgrad=True), "AdamW": {}, "RMSprop": {}, "Adagrad": {}, "Adadelta": {},
    "Adamax": {}, "NAdam": {},
}


def _trained(name):
    ws = [st.tensor([1.0, -2.0], requires_grad=True), st.tensor([[0.5, 1.5]], requires_grad=True)]
    opt = getattr(st.optim, name)(ws, lr=0.1, **OPTIMIZERS[name])
    for _ in range(2):
        opt.zero_grad()
        (ws[0] * ws[0]).sum().backward()
        (ws[1] ** 3).sum().backward()
        opt.step()
    return opt


def _snapshot(opt):
    return copy.deepcopy(opt.state_dict())


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for x, y in zip(a["state"], b["state"], strict=True):
        assert x.keys() == y.keys()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    assert a["param_groups"] == b["param_groups"]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_negative_second_moments_are_refused(name):
    opt = _trained(name)
    before = _snapshot(opt)
    keys = sorted(set(before["state"][1]) & NONNEGATIVE_BUFFERS)
    assert keys, name
    for key in keys:
        bad = copy.deepcopy(before)
        bad["state"][1][key] = np.array([[0.1, -1e-30]])
        with pytest.raises(ValueError, match=rf"state\[1\]\['{key}'\] holds -1e-30"):
            opt.load_state_dict(bad)
        _assert_same(_snapshot(opt), before)


@pytest.mark.parametrize("step", [-1, 1.5, -0.0001, float("nan"), float("inf")])
def test_impossible_step_counts_are_refused(step):
    opt = _trained("Adam")
    before = _snapshot(opt)
    bad = copy.deepcopy(before)
    bad["state"][0]["step"] = step
    with pytest.raises(ValueError, match=r"state\[0\]\['step'\] must be a whole number >= 0"):
        opt.load_state_dict(bad)
    _assert_same(_snapshot(opt), before)


def test_whole_float_step_is_accepted_as_an_int():
    opt = _trained("Adam")
    good = _snapshot(opt)
    good["state"][0]["step"] = 2.0
    opt.load_state_dict(good)
    assert opt.state_dict()["state"][0]["step"] == 2
    assert type(opt.state_dict()["state"][0]["step"]) is int


@settings(max_examples=40, deadline=None)
@given(name=hs.sampled_from(sorted(OPTIMIZERS)), which=hs.integers(0, 1),
       damage=hs.sampled_from(["negative", "shape", "step", "string"]), seed=hs.integers(0, 2**16))
def test_damaged_state_leaves_the_optimizer_exactly_as_before(name, which, damage, seed):
    rng = np.random.default_rng(seed)
    opt = _trained(name)
    before = _snapshot(opt)
    bad = copy.deepcopy(before)
    entry = bad["state"][which]
    keys = sorted(k for k in entry if isinstance(entry[k], np.ndarray))
    key = keys[int(rng.integers(len(keys)))]
    if damage == "negative":
        key = sorted(set(entry) & NONNEGATIVE_BUFFERS)[0]
        entry[key] = entry[key] - (entry[key].max() + 1.0)
    elif damage == "shape":
        entry[key] = np.zeros(entry[key].size + 1)
    elif damage == "step":
        entry["step"] = -int(rng.integers(1, 100))
    else:
        entry[key] = "zeros"
    with pytest.raises((ValueError, TypeError)):
        opt.load_state_dict(bad)
    _assert_same(_snapshot(opt), before)
