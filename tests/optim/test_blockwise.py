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
    "radam": lambda p: optim.RAdam(p, lr=1e-2),  # rectified from its 6th step on
    "radamw": lambda p: optim.RAdam(p, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
}


def _trajectory(make_optimizer, shape, dtype, steps=7):
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
    shape = (5 * base.BLOCK // 400 + 1, 400)  # five blocks and a short one
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


def test_work_buffers_match_each_block():
    seen = []

    def double(part, work):
        assert work.shape == part.shape and work.dtype == part.dtype
        np.multiply(part, 2, out=work)
        part[...] = work
        seen.append(part.size)

    values = np.arange(3 * base.BLOCK + 5, dtype=np.float32)
    base.blockwise(double, (values,), work=1)
    np.testing.assert_array_equal(values, 2 * np.arange(values.size, dtype=np.float32))
    assert seen == [base.BLOCK, base.BLOCK, base.BLOCK, 5]


@pytest.mark.parametrize("name", ["adam", "adamw", "radam", "radamw"])  # no L2 decay: its
# gradient plus decay is a new array (pooling it measured slower than the temporary)
@pytest.mark.parametrize("size", [200_000, 3 * base.BLOCK + 17])  # one call; four blocks
def test_large_updates_allocate_no_temporaries_after_their_first_step(name, size):
    import tracemalloc

    rng = np.random.default_rng(4)
    w = st.tensor(rng.standard_normal(size).astype(np.float32), requires_grad=True)
    w.grad = rng.standard_normal(size).astype(np.float32)
    opt = OPTIMIZERS[name]([w])
    for _ in range(6):  # the moments, the pooled work buffers, RAdam's rectified step
        opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a temporary per pass (these updates before their work buffers) shows as a block or more
    assert peak < 64 * 1024, peak


def test_small_updates_get_no_work_buffers():
    got = []
    base.blockwise(lambda part, work: got.append(work), (np.zeros(100),), work=1)
    assert got == [None]


@pytest.mark.parametrize("scalar", [np.float64, np.float32])
def test_adam_rounds_numpy_scalars_as_python_floats(scalar):
    def run(convert):
        rng = np.random.default_rng(5)
        w = st.tensor(rng.standard_normal((40, 30)).astype(np.float32), requires_grad=True)
        opt = optim.Adam([w], lr=convert(1e-2), betas=(convert(0.9), convert(0.999)),
                         eps=convert(1e-8))
        for group in opt.param_groups:  # as a schedule might set them
            group["lr"], group["betas"] = convert(1e-2), (convert(0.9), convert(0.999))
        for _ in range(3):
            w.grad = rng.standard_normal((40, 30)).astype(np.float32)
            opt.step()
        return w.data

    # the same values as Python floats (np.float32(0.9) is not 0.9)
    np.testing.assert_array_equal(run(scalar), run(lambda value: float(scalar(value))))
