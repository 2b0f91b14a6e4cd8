"""Every numba kernel against its NumPy reference, and every reference against the library.

The claims (see steepest.kernels._numba): the updates, ReLU/tanh backward, softmax backward and
bias gradient are bitwise equal to the NumPy reference; the cross-entropy forward is within 1 ulp
of the reference computed with the C library's exp/log, which the kernel calls. The references
themselves are bitwise what steepest.optim and steepest.autodiff.ops compute, so the kernels
follow the golden PyTorch trajectories wherever the optimizers do.
"""

import ctypes
import ctypes.util

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import ops
from steepest.kernels import _numpy as ref

nb = pytest.importorskip("steepest.kernels._numba")

SIZES = (1, 7, 1000, nb.PARALLEL_MIN + 13)  # serial and parallel paths
DTYPES = (np.float32, np.float64)


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


def assert_bitwise(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    differ = _bits(actual) != _bits(expected)
    assert not differ.any(), (f"{differ.sum()} of {differ.size} differ, e.g. "
                              f"{actual[differ][:3]} vs {expected[differ][:3]}")


def ulps(actual, expected) -> int:
    a, b = _bits(np.asarray(actual)).astype(np.int64), _bits(np.asarray(expected)).astype(np.int64)
    # map the sign-magnitude integers onto a line, so that -0 and +0 are neighbours
    a = np.where(a < 0, np.iinfo(np.int64).min - a if actual.dtype == np.float64 else
                 -(a & 0x7FFFFFFF), a)
    b = np.where(b < 0, np.iinfo(np.int64).min - b if expected.dtype == np.float64 else
                 -(b & 0x7FFFFFFF), b)
    return int(np.max(np.abs(a - b))) if a.size else 0


def _arrays(rng, size, dtype, count):
    return [rng.standard_normal(size).astype(dtype) for _ in range(count)]


def _run_both(update, make_state, config, size, dtype, steps=4):
    """Take ``steps`` updates with the reference and the kernel from the same start."""
    rng = np.random.default_rng(size)
    x0 = rng.standard_normal(size).astype(dtype)
    grads = _arrays(rng, size, dtype, steps)
    results = []
    for module in (ref, nb):
        x, state = x0.copy(), make_state(x0)
        for t, g in enumerate(grads, start=1):
            g_before = g.copy()
            out = update(module, x, g, state, t, config)
            assert_bitwise(g, g_before)  # the gradient is never written
            if out is not None:
                state["momentum_buffer"] = out
        results.append((x, state))
    (x_ref, s_ref), (x_nb, s_nb) = results
    assert_bitwise(x_nb, x_ref)
    for key in s_ref:
        if s_ref[key] is not None:
            assert_bitwise(s_nb[key], s_ref[key])


SGD_CONFIGS = [
    {}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, {"momentum": 0.5, "dampening": 0.3},
    {"weight_decay": 0.01}, {"momentum": 0.9, "weight_decay": 0.1, "maximize": True},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3, "maximize": True},
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd(config, dtype, size):
    def update(module, x, g, state, t, config):
        return module.sgd_(x, g, state["momentum_buffer"], 0.05, **config)

    _run_both(update, lambda x: {"momentum_buffer": None}, config, size, dtype)


ADAM_CONFIGS = [
    {}, {"amsgrad": True}, {"weight_decay": 0.01}, {"weight_decay": 0.01,
                                                    "decoupled_weight_decay": True},
    {"maximize": True, "amsgrad": True, "weight_decay": 0.1},
    {"beta1": 0.3, "beta2": 0.5},  # lerp's other branch (weight >= 0.5)
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=str)
def test_adam(config, dtype, size):
    config = {"beta1": 0.9, "beta2": 0.999, **config}

    def update(module, x, g, state, t, config):
        module.adam_(x, g, state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"], t,
                     1e-3, eps=1e-8, **config)

    _run_both(update, lambda x: {"exp_avg": np.zeros_like(x), "exp_avg_sq": np.zeros_like(x),
                                 "max_exp_avg_sq": np.zeros_like(x)}, config, size, dtype)


RMSPROP_CONFIGS = [
    {}, {"centered": True}, {"momentum": 0.9}, {"momentum": 0.9, "centered": True,
                                                "weight_decay": 0.1},
    {"maximize": True, "alpha": 0.3}, {"alpha": 0.3, "centered": True},
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", RMSPROP_CONFIGS, ids=str)
def test_rmsprop(config, dtype, size):
    def update(module, x, g, state, t, config):
        module.rmsprop_(x, g, state["square_avg"], state["grad_avg"], state["momentum_buffer2"],
                        0.01, **config)

    _run_both(update, lambda x: {"square_avg": np.zeros_like(x), "grad_avg": np.zeros_like(x),
                                 "momentum_buffer2": np.zeros_like(x)}, config, size, dtype)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [{}, {"lr_decay": 0.1, "weight_decay": 0.01},
                                    {"maximize": True, "eps": 1e-3}], ids=str)
def test_adagrad(config, dtype, size):
    def update(module, x, g, state, t, config):
        module.adagrad_(x, g, state["sum"], t, 0.1, **config)

    _run_both(update, lambda x: {"sum": np.full_like(x, 0.1)}, config, size, dtype)


def test_non_contiguous_and_mixed_dtypes_fall_back_to_the_reference():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 10)).astype(np.float32)
    g = rng.standard_normal((10, 20)).astype(np.float64).T  # transposed and float64
    x_ref = x.copy()
    ref.sgd_(x_ref, g, None, 0.1, weight_decay=0.1)
    nb.sgd_(x, g, None, 0.1, weight_decay=0.1)
    assert_bitwise(x, x_ref)


# ----------------------------------------------------------------- the references are the library


def _optimizer_trajectory(make, size, dtype, kernel_update, steps=4):
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(size).astype(dtype)
    grads = _arrays(rng, size, dtype, steps)
    p = st.tensor(x0.copy(), requires_grad=True)
    opt = make([p])
    x, state = x0.copy(), {}
    for t, g in enumerate(grads, start=1):
        p.grad = g.copy()
        opt.step()
        kernel_update(x, g, state, t)
    return p.data, x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", (5, 300_000))  # the optimizers' whole-array and blocked paths
def test_kernels_follow_the_optimizers_bit_for_bit(dtype, size):
    def sgd(x, g, s, t):
        s["b"] = nb.sgd_(x, g, s.get("b"), 0.05, momentum=0.9, nesterov=True, weight_decay=0.01)

    def adam(x, g, s, t):
        for key in ("m", "v"):
            s.setdefault(key, np.zeros_like(x))
        nb.adam_(x, g, s["m"], s["v"], None, t, 1e-3, 0.9, 0.999, 1e-8, weight_decay=0.01,
                 decoupled_weight_decay=True)

    def rms(x, g, s, t):
        for key in ("sq", "ga", "b"):
            s.setdefault(key, np.zeros_like(x))
        nb.rmsprop_(x, g, s["sq"], s["ga"], s["b"], 0.01, 0.99, 1e-8, 0.0, 0.9, True)

    def adagrad(x, g, s, t):
        s.setdefault("sum", np.zeros_like(x))
        nb.adagrad_(x, g, s["sum"], t, 0.1, lr_decay=0.01)

    cases = [
        (lambda ps: st.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), sgd),
        (lambda ps: st.optim.AdamW(ps, lr=1e-3), adam),
        (lambda ps: st.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True), rms),
        (lambda ps: st.optim.Adagrad(ps, lr=0.1, lr_decay=0.01), adagrad),
    ]
    for make, update in cases:
        library, kernel = _optimizer_trajectory(make, size, dtype, update)
        assert_bitwise(kernel, library)


# ----------------------------------------------------------------- backward passes and the loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (512, 1024), (1, 1)])
def test_activation_backward(dtype, shape):
    rng = np.random.default_rng(1)
    g = rng.standard_normal(shape).astype(dtype)
    pre = rng.standard_normal(shape).astype(dtype)
    relu_out, tanh_out = np.maximum(pre, 0), np.tanh(pre)
    assert_bitwise(nb.relu_backward(g, relu_out), ref.relu_backward(g, relu_out))
    assert_bitwise(nb.tanh_backward(g, tanh_out), ref.tanh_backward(g, tanh_out))
    # the references are the engine's derivative rules
    assert_bitwise(ref.relu_backward(g, relu_out), ops.relu.rules[0](g, relu_out, pre))
    assert_bitwise(ref.tanh_backward(g, tanh_out), ops.tanh.rules[0](g, tanh_out, pre))


def test_relu_backward_keeps_signed_zeros_and_nan():
    g = np.array([-1.0, np.nan, 2.0, -3.0], np.float32)
    out = np.array([0.0, 0.0, 1.0, 0.0], np.float32)
    assert_bitwise(nb.relu_backward(g, out), ref.relu_backward(g, out))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(512, 1024), (1024, 1100), (64, 128), (1, 10), (300, 1)])
def test_bias_grad(dtype, shape):
    g = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    assert_bitwise(nb.bias_grad(g), ref.bias_grad(g))
    x, w = np.ones((shape[0], 2), dtype), np.ones((shape[1], 2), dtype)
    assert_bitwise(ref.bias_grad(g), ops.linear.rules[2](g, None, x, w, np.ones(shape[1], dtype)))


def _libm_pair(dtype):
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    kind = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    suffix = "f" if dtype == np.float32 else ""
    functions = []
    for name in ("exp", "log"):
        f = getattr(libm, name + suffix)
        f.restype, f.argtypes = kind, [kind]
        functions.append(np.frompyfunc(f, 1, 1))
    return [lambda a, f=f: f(a).astype(dtype) for f in functions]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(512, 10), (64, 10), (1, 3), (100, 7), (20, 300), (4, 1)])
def test_softmax_cross_entropy(dtype, shape):
    rng = np.random.default_rng(shape[0])
    logits = (rng.standard_normal(shape) * 3).astype(dtype)
    target = rng.integers(0, shape[1], shape[0])
    libm_exp, libm_log = _libm_pair(dtype)
    loss_r, exp_r, total_r = ref.softmax_cross_entropy(logits, target, exp=libm_exp, log=libm_log)
    loss_k, exp_k, total_k = nb.softmax_cross_entropy(logits, target)
    assert_bitwise(exp_k, exp_r)  # the C library's exp, as the kernel calls it
    assert ulps(total_k, total_r) == 0  # NumPy's pairwise order over the classes
    assert ulps(loss_k, loss_r) <= 1
    # against the NumPy path as it is (NumPy's SIMD exp/log): a few ulp
    loss_n, exp_n, total_n = ref.softmax_cross_entropy(logits, target)
    assert ulps(exp_k, exp_n) <= 4 and ulps(loss_k, loss_n) <= 8
    # the reference is the engine's op (forward and backward), bit for bit
    loss_e, (exp_e, total_e) = ops._cross_entropy(logits, target)
    assert_bitwise(loss_n, np.asarray(loss_e))
    assert_bitwise(exp_n, exp_e)
    g = np.asarray(1.0, dtype)
    grad_e = ops._cross_entropy_rule(g, None, logits, target, residual=(exp_e.copy(), total_e))
    grad_r = ref.softmax_cross_entropy_backward(exp_n, total_n, target, g)
    assert_bitwise(grad_r, grad_e)
    assert_bitwise(nb.softmax_cross_entropy_backward(exp_n, total_n, target, g), grad_r)


def test_softmax_cross_entropy_refuses_bad_targets():
    with pytest.raises(ValueError, match=r"class targets must be in \[0, 3\), got values from 0 "
                                         "to 3"):
        nb.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("n", [1, 5, 8, 9, 10, 127, 128, 129, 255, 256, 257, 1000, 4097, 70001])
def test_pairwise_sum_is_numpys(n):
    a = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    assert np.float32(nb._pairwise_sum(a)).tobytes() == np.add.reduce(a).tobytes()
