"""Large parameters are updated block by block: bitwise the update of one whole-array call."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import optim
from steepest.optim import base

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "dampening-decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3,
                                           weight_decay=0.01),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "amsgrad": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "adam-maximize": lambda p: optim.Adam(p, lr=1e-2, maximize=True),
}


def _trajectory(make_optimizer, shape, dtype, steps=4):
    rng = np.random.default_rng(1)
    w = st.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    opt = make_optimizer([w])
    for _ in range(steps):
        w.grad = rng.standard_normal(shape).astype(dtype)
        opt.step()
    return w.data.copy(), {key: np.copy(value) for key, value in opt.state[w].items()}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("shape", [(2 * base.BLOCK,), (3 * base.BLOCK + 17,), (301, 700)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_update_is_bitwise_the_whole_array_update(monkeypatch, name, shape, dtype):
    blocked, blocked_state = _trajectory(OPTIMIZERS[name], shape, dtype)
    monkeypatch.setattr(base, "BLOCK", 10**9)  # every array is one block
    whole, whole_state = _trajectory(OPTIMIZERS[name], shape, dtype)
    np.testing.assert_array_equal(blocked, whole)
    assert blocked.dtype == dtype
    assert blocked_state.keys() == whole_state.keys()
    for key in whole_state:
        np.testing.assert_array_equal(blocked_state[key], whole_state[key])


def test_blocked_adam_equals_the_textbook_arrangement_of_torch():
    rng = np.random.default_rng(2)
    shape = (400, 400)  # five blocks
    data = rng.standard_normal(shape).astype(np.float32)
    w = st.tensor(data.copy(), requires_grad=True)
    opt = optim.Adam([w], lr=1e-2)
    m = np.zeros_like(data)
    v = np.zeros_like(data)
    for t in range(1, 4):
        g = rng.standard_normal(shape).astype(np.float32)
        w.grad = g
        opt.step()
        m += 0.1 * (g - m)
        v *= 0.999
        v += 0.001 * g * g
        denom = np.sqrt(v) / (1 - 0.999 ** t) ** 0.5
        denom += 1e-8
        data += (-(1e-2 / (1 - 0.9 ** t)) * m) / denom
    np.testing.assert_array_equal(w.data, data)


def test_non_contiguous_parameters_are_updated_whole():
    rng = np.random.default_rng(3)
    base_array = rng.standard_normal((600, 600)).astype(np.float32)
    w = st.tensor(base_array, requires_grad=True)
    w.data = base_array.T  # a transposed view: not C-contiguous
    g = rng.standard_normal((600, 600)).astype(np.float32)
    expected = base_array.T - 0.5 * g
    w.grad = g
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w.data, expected)


def test_blockwise_visits_every_element_once():
    hits = np.zeros(5 * base.BLOCK + 3, dtype=np.int64)

    def count(part):
        part += 1

    base.blockwise(count, (hits,))
    assert np.all(hits == 1)
