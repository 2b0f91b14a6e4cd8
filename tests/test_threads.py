"""Large elementwise work split across threads: same bits as one call, errors surface, settings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import steepest as st
from steepest import _threads, optim
from steepest.autodiff import ops


@pytest.fixture
def two_threads():
    before = _threads.get_num_threads()
    _threads.set_num_threads(2)
    yield
    _threads.set_num_threads(before)


@pytest.mark.parametrize("size", [0, 1, 1000, _threads.MIN_BLOCKED - 1, _threads.MIN_BLOCKED,
                                  _threads.MIN_ELEMENTS, 3 * _threads.MIN_ELEMENTS + 7])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_split_covers_the_range_exactly_once(size, threads):
    before = _threads.get_num_threads()
    _threads.set_num_threads(threads)
    try:
        hits = np.zeros(size, dtype=np.int64)
        lock = threading.Lock()

        def kernel(block: slice) -> None:
            with lock:
                hits[block] += 1

        _threads.split(kernel, size)
        assert np.all(hits == 1)
    finally:
        _threads.set_num_threads(before)


def test_split_raises_the_error_of_a_worker_and_stays_usable(two_threads):
    size = 4 * _threads.MIN_ELEMENTS

    def kernel(block: slice) -> None:
        if block.start >= size // 2:
            raise FloatingPointError(f"bad block {block}")

    with pytest.raises(FloatingPointError, match="bad block"):
        _threads.split(kernel, size)
    seen = []
    _threads.split(lambda block: seen.append(block), size)
    assert sum(b.stop - b.start for b in seen) == size


def test_nested_split_runs_inline_instead_of_deadlocking(two_threads):
    size = 2 * _threads.MIN_ELEMENTS
    total = np.zeros(1, dtype=np.int64)
    lock = threading.Lock()

    def inner(block: slice) -> None:
        with lock:
            total[0] += block.stop - block.start

    def outer(block: slice) -> None:
        _threads.split(inner, size)

    _threads.split(outer, size)
    assert total[0] > 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        _threads.set_num_threads(bad)


def test_public_thread_settings_round_trip():
    before = st.get_num_threads()
    try:
        st.set_num_threads(1)
        assert st.get_num_threads() == 1
    finally:
        st.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_and_backward_split_equal_one_call(two_threads, dtype):
    rng = np.random.default_rng(0)
    x = st.tensor(rng.standard_normal((513, 517)).astype(dtype), requires_grad=True)
    seed = rng.standard_normal(x.shape).astype(dtype)
    y = ops.relu(x)
    y.backward(seed)
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_array_equal(y.data, np.maximum(x.data, 0))
    np.testing.assert_array_equal(x.grad, seed * (x.data > 0))


def _trajectory(make_optimizer, threads: int, shape=(700, 300), steps: int = 4):
    before = _threads.get_num_threads()
    _threads.set_num_threads(threads)
    try:
        rng = np.random.default_rng(1)
        w = st.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        opt = make_optimizer([w])
        for _ in range(steps):
            w.grad = rng.standard_normal(shape).astype(np.float32)
            opt.step()
        return w.data.copy(), {k: np.copy(v) for k, v in opt.state[w].items()}
    finally:
        _threads.set_num_threads(before)


@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01),
    lambda p: optim.Adam(p, lr=1e-2),
    lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=0.1),
    lambda p: optim.AdamW(p, lr=1e-2),
], ids=["sgd", "momentum", "nesterov", "dampening-decay", "adam", "amsgrad", "adamw"])
def test_large_updates_are_bitwise_those_of_one_thread_and_of_small_blocks(make_optimizer):
    one_thread, state_one = _trajectory(make_optimizer, threads=1)
    two_threads_, state_two = _trajectory(make_optimizer, threads=2)
    np.testing.assert_array_equal(one_thread, two_threads_)
    for key in state_one:
        np.testing.assert_array_equal(state_one[key], state_two[key])


def test_large_adam_update_equals_the_whole_array_formula():
    rng = np.random.default_rng(2)
    shape = (400, 400)  # above the block size: updated block by block
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
    base = rng.standard_normal((600, 600)).astype(np.float32)
    w = st.tensor(base, requires_grad=True)
    w.data = base.T  # a transposed view: not C-contiguous
    g = rng.standard_normal((600, 600)).astype(np.float32)
    expected = base.T - 0.5 * g
    w.grad = g
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w.data, expected)
