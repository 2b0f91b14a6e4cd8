"""The numba kernels against the NumPy reference on random arrays (QA).

Random float32/float64 arrays of odd sizes, on both sides of the parallel threshold, contiguous
and not (strided, transposed: the kernels' fallback), with wide exponents, zeros and -0.0:
the optimizer updates (three steps), the ReLU/tanh backward, the bias gradient and NumPy's
pairwise sum are bitwise equal; the softmax cross-entropy is bitwise the reference computed
with the C library's exp/log, its backward bitwise NumPy's, and its mean/sum loss within 1 ulp
of the NumPy path (the per-sample losses, near 0, within the total's spacing).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

from steepest.kernels import _numba as nb  # noqa: E402
from steepest.kernels import _numpy as ref  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_kernels_equal import _libm_pair  # noqa: E402

SIZES = (1, 3, 7, 17, 129, 1000, 65535, 65536, 70001)


def ulps(a, b) -> int:
    a, b = np.atleast_1d(np.asarray(a)), np.atleast_1d(np.asarray(b))
    assert a.dtype == b.dtype and a.shape == b.shape
    kind = np.int32 if a.dtype.itemsize == 4 else np.int64
    ia, ib = a.view(kind).astype(np.int64), b.view(kind).astype(np.int64)
    low = np.iinfo(kind).min
    ia, ib = np.where(ia < 0, low - ia, ia), np.where(ib < 0, low - ib, ib)
    d = np.abs(ia - ib)
    d[np.isnan(a) & np.isnan(b)] = 0
    return int(d.max()) if d.size else 0


def _maker(rng, n, dtype, layout, kind):
    def values(shape, k=kind):
        a = rng.standard_normal(shape)
        if k == "wide":
            a *= 10.0 ** rng.integers(-30, 30, shape)
        elif k == "zeros":
            u = rng.random(shape)
            a[u < 0.05] = 0.0
            a[(u > 0.05) & (u < 0.08)] = -0.0
        return a.astype(dtype)

    def make(k=kind):
        if layout == "strided":
            return values((2 * n,), k)[::2]
        if layout == "transposed":
            return values((n, 3), k).T
        return values((n,), k)

    return make


def _cases(count):
    rng = np.random.default_rng(2024)
    for seed in range(count):
        yield (seed, [np.float32, np.float64][seed % 2], int(rng.choice(SIZES)),
               str(rng.choice(["contiguous", "contiguous", "strided", "transposed"])),
               str(rng.choice(["normal", "wide", "zeros"])))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("seed, dtype, n, layout, kind", list(_cases(48)))
def test_updates_and_activation_gradients_bitwise(seed, dtype, n, layout, kind):
    rng = np.random.default_rng(seed)
    make = _maker(rng, n, dtype, layout, kind)
    p, g = make(), make()
    momentum = float(rng.choice([0.0, 0.9, 0.5]))
    sgd = dict(lr=float(10 ** rng.uniform(-4, 0)), momentum=momentum,
               dampening=float(rng.choice([0, 0.1])), weight_decay=float(rng.choice([0, 1e-2])),
               nesterov=bool(momentum and rng.random() < 0.5), maximize=bool(rng.random() < 0.3))
    buffer = None if momentum == 0 or rng.random() < 0.3 else make("normal")
    out = []
    for module in (ref, nb):
        x, b = p.copy(), None if buffer is None else buffer.copy()
        for _ in range(3):
            b = module.sgd_(x, g, b, **sgd)
        out.append((x, b))
    assert ulps(out[0][0], out[1][0]) == 0
    assert (out[0][1] is None) == (out[1][1] is None)
    if out[0][1] is not None:
        assert ulps(out[0][1], out[1][1]) == 0

    amsgrad = bool(rng.random() < 0.4)
    adam = dict(lr=float(10 ** rng.uniform(-4, -1)), beta1=float(rng.choice([0.9, 0.3, 0.0])),
                beta2=float(rng.choice([0.999, 0.9, 0.5])), eps=float(rng.choice([1e-8, 1e-3])),
                weight_decay=float(rng.choice([0, 1e-2])),
                decoupled_weight_decay=bool(rng.random() < 0.5), amsgrad=amsgrad,
                maximize=bool(rng.random() < 0.3))
    state = [p, make("normal"), np.abs(make("normal")),
             np.abs(make("normal")) if amsgrad else None]
    out = []
    for module in (ref, nb):
        s = [None if a is None else a.copy() for a in state]
        for step in range(1, 4):
            module.adam_(s[0], g * step, s[1], s[2], s[3], step, **adam)
        out.append(s)
    assert all(ulps(a, b) == 0 for a, b in zip(*out, strict=True) if a is not None)

    centered, rms_momentum = bool(rng.random() < 0.5), float(rng.choice([0.0, 0.5]))
    rmsprop = dict(lr=float(10 ** rng.uniform(-4, -1)), alpha=float(rng.choice([0.99, 0.3, 0.7])),
                   eps=float(rng.choice([1e-8, 1e-2])), weight_decay=float(rng.choice([0, 1e-2])),
                   momentum=rms_momentum, centered=centered, maximize=bool(rng.random() < 0.3))
    state = [p, np.abs(make("normal")) + 1, make("normal") * 0.1 if centered else None,
             make("normal") if rms_momentum else None]
    out = []
    for module in (ref, nb):
        s = [None if a is None else a.copy() for a in state]
        for _ in range(3):
            module.rmsprop_(s[0], g, s[1], s[2], s[3], **rmsprop)
        out.append(s)
    assert all(ulps(a, b) == 0 for a, b in zip(*out, strict=True) if a is not None)

    adagrad = dict(lr=float(10 ** rng.uniform(-4, -1)), lr_decay=float(rng.choice([0, 0.1])),
                   eps=float(rng.choice([1e-10, 1e-3])), weight_decay=float(rng.choice([0, 1e-2])),
                   maximize=bool(rng.random() < 0.3))
    total = np.abs(make("normal"))
    out = []
    for module in (ref, nb):
        s = [p.copy(), total.copy()]
        for step in range(1, 4):
            module.adagrad_(s[0], g, s[1], step, **adagrad)
        out.append(s)
    assert all(ulps(a, b) == 0 for a, b in zip(*out, strict=True))

    relu_out, tanh_out = make("zeros"), np.tanh(make("normal"))
    assert ulps(ref.relu_backward(g, relu_out), nb.relu_backward(g, relu_out)) == 0
    assert ulps(ref.tanh_backward(g, tanh_out), nb.tanh_backward(g, tanh_out)) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, columns", [(0, 5), (1, 1), (2, 3), (7, 17), (129, 1), (1000, 2),
                                           (1000, 1100), (5000, 3), (64, 256)])
def test_bias_gradient_bitwise(rows, columns, dtype):
    rng = np.random.default_rng(rows * 31 + columns)
    g = (rng.standard_normal((rows, columns))
         * 10.0 ** rng.integers(-3, 3, (rows, columns))).astype(dtype)
    assert ulps(ref.bias_grad(g), nb.bias_grad(g)) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_sum_is_numpys_order(dtype):
    rng = np.random.default_rng(7)
    for n in [1, 2, 7, 8, 9, 127, 128, 129, 255, 256, 257, 1000, 8191, 8192, 8193,
              *rng.integers(1, 300_000, 12)]:
        a = (rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5, n)).astype(dtype)
        assert ulps(np.add.reduce(a), dtype(nb._pairwise_sum(a))) == 0, n


@pytest.mark.parametrize("seed", range(60))
def test_softmax_cross_entropy_random(seed):
    rng = np.random.default_rng(seed)
    dtype = [np.float32, np.float64][seed % 2]
    rows = int(rng.choice([1, 2, 5, 33, 257, 2000]))
    classes = int(rng.choice([1, 2, 3, 7, 8, 9, 10, 127, 128, 129, 300]))
    logits = (rng.standard_normal((rows, classes)) * float(rng.choice([0.1, 1, 10, 100])))
    logits = logits.astype(dtype)
    target = rng.integers(0, classes, rows).astype(str(rng.choice(["int64", "int32"])))
    reduction = str(rng.choice(["mean", "sum", "none"]))
    libm_exp, libm_log = _libm_pair(dtype)
    loss_c, exp_c, total_c = ref.softmax_cross_entropy(logits, target, reduction, exp=libm_exp,
                                                       log=libm_log)
    loss_k, exp_k, total_k = nb.softmax_cross_entropy(logits, target, reduction)
    loss_n, exp_n, total_n = ref.softmax_cross_entropy(logits, target, reduction)
    assert ulps(exp_k, exp_c) == 0 and ulps(total_k, total_c) == 0
    assert ulps(loss_k, loss_c) <= 1
    if reduction == "none":  # near 0 the loss is log(total ~ 1): bounded by the total's spacing
        bound = 8 * (np.spacing(total_n[:, 0]) + np.spacing(np.abs(loss_n)))
        assert np.all(np.abs(loss_k - loss_n) <= bound)
    else:
        assert ulps(loss_k, loss_n) <= 1
    shape = (rows,) if reduction == "none" else ()
    g = np.asarray(rng.standard_normal(shape), dtype)
    assert ulps(ref.softmax_cross_entropy_backward(exp_k, total_k, target, g, reduction),
                nb.softmax_cross_entropy_backward(exp_k, total_k, target, g, reduction)) == 0
