"""The buffer pool (issue 18 item 2): reuse only of buffers nobody holds, bitwise the same steps.

The hazards tested: a buffer still reachable (a Tensor's data or grad kept by the user, a
NumPy view, a memoryview, a node's saved arrays) is never handed out again; training steps give
bitwise the same parameters with the pool on and off; dropped gradients and activations are
reused by the next step; small arrays never enter the pool.
"""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import steepest as st
from steepest import kernels
from steepest.autodiff import ops, pool

F32 = np.dtype(np.float32)
BIG = (256, 512)  # 131072 elements, above the pool's threshold


@pytest.fixture(autouse=True)
def fresh_pool():
    """Each test starts with an empty pool, switched on, and leaves it so."""
    pool.set_pool(True)
    pool.clear()
    yield
    pool.set_pool(True)
    pool.clear()


# ---------------------------------------------------------------------------- take


def test_a_held_buffer_is_never_handed_out_again():
    a = pool.take(BIG, F32)
    b = pool.take(BIG, F32)
    assert a is not b and not np.shares_memory(a, b)
    assert a.shape == BIG and a.dtype == F32 and a.flags.c_contiguous


def test_a_dropped_buffer_is_reused():
    a = pool.take(BIG, F32)
    ref = weakref.ref(a)
    del a
    assert pool.take(BIG, F32) is ref()


def _hold(holder: str, a: np.ndarray):
    """Something other than ``a`` itself through which ``a``'s memory can still be reached."""
    if holder == "view":
        return a.reshape(-1)
    if holder == "slice":
        return a[3:5, ::2]
    if holder == "transpose":
        return a.T
    if holder == "memoryview":
        return memoryview(a)
    if holder == "frombuffer":
        return np.frombuffer(a, dtype=np.uint8)
    if holder == "list":
        return [a]
    return st.from_numpy(a)


@pytest.mark.parametrize("holder", ["view", "slice", "transpose", "memoryview", "frombuffer",
                                    "list", "tensor"])
def test_anything_that_reaches_the_buffer_keeps_it(holder):
    a = pool.take(BIG, F32)
    a[...] = 7
    ref = weakref.ref(a)
    keep = _hold(holder, a)
    del a
    for _ in range(3):
        b = pool.take(BIG, F32)
        assert b is not ref()
        b[...] = -1
    assert np.all(ref() == 7)
    del keep


def test_keys_are_shape_and_dtype():
    a = pool.take(BIG, F32)
    ref = weakref.ref(a)
    del a
    assert pool.take(BIG, np.dtype(np.float64)) is not ref()
    assert pool.take((512, 256), F32) is not ref()
    assert pool.take(BIG, F32) is ref()


def test_at_most_per_key_buffers_are_kept():
    held = [pool.take(BIG, F32) for _ in range(pool.PER_KEY + 3)]
    assert pool.kept() == pool.PER_KEY
    assert len({id(a) for a in held}) == len(held)


def test_switch_and_clear():
    assert pool.enabled()
    with pool.disabled():
        assert not pool.enabled()
        x = st.tensor(np.ones(BIG, np.float32), requires_grad=True)
        ops.relu(x)
        assert pool.kept() == 0
    assert pool.enabled()
    pool.take(BIG, F32)
    assert pool.kept() == 1
    pool.clear()
    assert pool.kept() == 0
    with pytest.raises(TypeError):
        pool.set_pool(1)


def test_small_arrays_never_enter_the_pool():
    model = st.nn.Sequential(st.nn.Linear(64, 128), st.nn.ReLU(), st.nn.Linear(128, 10))
    x = np.random.default_rng(0).standard_normal((64, 64))
    y = np.arange(64) % 10
    for _ in range(2):
        model.zero_grad()
        st.nn.functional.cross_entropy(model(st.tensor(x)), st.tensor(y)).backward()
    assert pool.kept() == 0


# ---------------------------------------------------------------------------- bitwise


def _operands(dtype, layout):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 257)).astype(dtype)
    b = rng.standard_normal((257, 400)).astype(dtype)
    if layout == "transposed":
        a, b = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    elif layout == "strided":
        a = rng.standard_normal((600, 257)).astype(dtype)[::2]
        b = rng.standard_normal((257, 800)).astype(dtype)[:, 1::2]
    return a, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_matmul_into_a_buffer_gives_the_same_bits(dtype, layout):
    a, b = _operands(dtype, layout)
    out = np.empty((a.shape[0], b.shape[1]), dtype)
    np.testing.assert_array_equal(np.matmul(a, b, out=out), a @ b)
    np.testing.assert_array_equal(ops._pool_matmul(a, b), a @ b)


def _network(seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = (300, 512, 512, 10)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layer = st.nn.Linear(n_in, n_out, dtype=np.float32)
        layer.weight.data = rng.uniform(-0.05, 0.05, (n_out, n_in)).astype(np.float32)
        layer.bias.data = rng.uniform(-0.05, 0.05, n_out).astype(np.float32)
        layers.append(layer)
        if i == 0:
            layers.append(st.nn.ReLU())
        elif i == 1:
            layers.append(st.nn.Tanh())
    return st.nn.Sequential(*layers)


def _train(steps: int = 20, on: bool = True, momentum: float = 0.9) -> list[np.ndarray]:
    pool.set_pool(on)
    model = _network()
    opt = st.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.standard_normal((256, 300)).astype(np.float32)
        y = rng.integers(0, 10, 256)
        opt.zero_grad()
        loss = st.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_twenty_steps_are_bitwise_the_same_with_and_without_the_pool(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    kernels.set_kernels(backend)
    try:
        with_pool = _train(on=True)
        assert pool.kept() > 0  # the pool was used
        without = _train(on=False)
        assert pool.kept() == 0
    finally:
        kernels.set_kernels("numpy")
    for a, b in zip(with_pool, without, strict=True):
        np.testing.assert_array_equal(a, b)


def _engine_grads(on: bool) -> list[np.ndarray]:
    """matmul, two branches summed (fan-in) and a pass-through add: every pooled engine path."""
    pool.set_pool(on)
    rng = np.random.default_rng(5)
    w1 = st.tensor(rng.standard_normal((300, 512)).astype(np.float32) * 0.05, requires_grad=True)
    w2 = st.tensor(rng.standard_normal((512, 512)).astype(np.float32) * 0.05, requires_grad=True)
    x = rng.standard_normal((256, 300)).astype(np.float32)
    grads = []
    for _ in range(3):
        w1.grad = w2.grad = None
        h = ops.matmul(x, w1)
        branch = ops.relu(h) + ops.tanh(h)  # h fans out twice: gradient sums
        out = ops.matmul(branch, w2) + h @ w2  # w2 fans in too
        (out * out).sum().backward(retain_graph=True)
        (out * 0.5).sum().backward()  # accumulates into existing .grad
        grads += [w1.grad.copy(), w2.grad.copy()]
    return grads


def test_engine_paths_are_bitwise_the_same():
    for a, b in zip(_engine_grads(True), _engine_grads(False), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- reuse and hazards


def test_dropped_gradients_are_reused_by_the_next_backward():
    model = _network()
    x = np.random.default_rng(2).standard_normal((256, 300)).astype(np.float32)
    y = np.arange(256) % 10
    st.nn.functional.cross_entropy(model(x), y).backward()
    weight = model[2].weight  # 512x512
    first = weakref.ref(weight.grad)
    model.zero_grad()
    st.nn.functional.cross_entropy(model(x), y).backward()
    assert weight.grad is first()  # zero_grad's dropped array came back from the pool


def test_kept_tensors_and_grads_keep_their_values_across_steps():
    model = _network()
    opt = st.optim.SGD(model.parameters(), lr=0.05)
    rng = np.random.default_rng(4)
    kept_activation = kept_grad = kept_array = None
    for step in range(6):
        x = rng.standard_normal((256, 300)).astype(np.float32)
        y = rng.integers(0, 10, 256)
        opt.zero_grad()
        hidden = model[1](model[0](st.tensor(x)))  # the first ReLU's output: a pooled array
        loss = st.nn.functional.cross_entropy(model[4](model[3](model[2](hidden))), y)
        loss.backward()
        opt.step()
        if step == 1:
            kept_activation, activation_values = hidden, hidden.data.copy()
            kept_grad = model[2].weight.grad  # the array only: zero_grad drops the attribute
            grad_values = kept_grad.copy()
            kept_array = model[0](st.tensor(x)).data  # the array of a Tensor dropped at once
            array_values = kept_array.copy()
    np.testing.assert_array_equal(kept_activation.data, activation_values)
    np.testing.assert_array_equal(kept_grad, grad_values)
    np.testing.assert_array_equal(kept_array, array_values)


def test_a_retained_graph_gives_the_same_gradients_twice():
    rng = np.random.default_rng(6)
    w = st.tensor(rng.standard_normal((300, 512)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal((256, 300)).astype(np.float32)
    loss = ops.relu(ops.matmul(x, w)).sum()
    loss.backward(retain_graph=True)
    first = w.grad
    w.grad = None
    for _ in range(3):  # churn the pool between the two backward passes
        ops.relu(ops.matmul(rng.standard_normal((256, 300)).astype(np.float32), w)).sum().backward()
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(w.grad, first)


def test_a_forward_input_written_after_the_op_does_not_change_the_gradient():
    rng = np.random.default_rng(7)
    w = st.tensor(rng.standard_normal((300, 512)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal((256, 300)).astype(np.float32)
    expected = x.T @ np.ones((256, 512), np.float32)
    loss = ops.matmul(x, w).sum()  # x is the caller's array: the node keeps a (pooled) copy
    x[...] = 0
    loss.backward()
    np.testing.assert_array_equal(w.grad, expected)


def test_the_pool_stays_within_its_byte_budget(monkeypatch):
    one = np.empty(BIG, F32).nbytes
    monkeypatch.setattr(pool, "MAX_BYTES", 3 * one)
    held = pool.take(BIG, F32)
    held[...] = 3
    for rows in range(1, 9):  # a new shape each time, as varying sequence lengths would give
        pool.take((BIG[0] + rows, BIG[1]), F32)
        assert pool.kept_bytes() <= 3 * one
    assert any(b is held for b in pool._kept[(BIG, F32)])  # in use: kept, never swept
    assert pool.take(BIG, F32) is not held and np.all(held == 3)
    big = [pool.take((4 * BIG[0], BIG[1]), F32) for _ in range(2)]  # over budget: plain arrays
    assert pool.kept_bytes() <= 3 * one and all(b.shape == (4 * BIG[0], BIG[1]) for b in big)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probabilities", [False, True])
def test_a_large_cross_entropy_is_bitwise_the_same(reduction, probabilities):
    rng = np.random.default_rng(8)
    logits = (rng.standard_normal((64, 3000)) * 3).astype(np.float32)  # 192K elements
    target = rng.dirichlet(np.ones(3000), 64).astype(np.float32) if probabilities else \
        rng.integers(0, 3000, 64)
    results = []
    for on in (True, False):
        pool.set_pool(on)
        x = st.tensor(logits, requires_grad=True)
        loss = ops.cross_entropy(x, st.tensor(target), reduction=reduction)
        loss.backward(np.ones(64, np.float32) if reduction == "none" else None)
        results.append((loss.data.copy(), x.grad.copy()))
        assert pool.kept() == (2 if on else 0)  # shifted and exp; the gradient reuses shifted
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
