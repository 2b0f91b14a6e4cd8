"""The softmax-cross-entropy kernel (issue 18 item 5) and its wiring into ops.cross_entropy.

Rounding, as documented in steepest.kernels._numba: the forward calls the C library's exp/log,
so it is bitwise the reference computed with those (the exp and the row sums) and within 1 ulp
of it (the loss); against the NumPy path (NumPy's SIMD exp/log) it is a few ulp off. The
backward performs the reference's operations in its order: bitwise equal to it and to the
engine's rule. Probability targets, logits other than 2-D float32/float64 stay on the NumPy path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import kernels
from steepest.autodiff import ops
from steepest.kernels import _numpy as ref

nb = pytest.importorskip("steepest.kernels._numba")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_kernels_equal import _libm_pair, assert_bitwise, ulps  # noqa: E402

DTYPES = (np.float32, np.float64)
SHAPES = [(512, 10), (1, 3), (100, 7), (20, 300), (4, 1), (nb.PARALLEL_MIN // 8 + 3, 10)]
REDUCTIONS = ("mean", "sum", "none")


@pytest.fixture
def numba_kernels():
    kernels.set_kernels("numba")
    try:
        yield
    finally:
        kernels.set_kernels("numpy")


def _case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed + shape[0])
    logits = (rng.standard_normal(shape) * 3).astype(dtype)
    return logits, rng.integers(0, shape[1], shape[0])


def _upstream(reduction, n, dtype, seed=1):
    rng = np.random.default_rng(seed)
    if reduction == "none":
        return rng.standard_normal(n).astype(dtype)
    return np.asarray(rng.standard_normal() + 1.5, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_against_the_reference(shape, dtype, reduction):
    logits, target = _case(shape, dtype)
    libm_exp, libm_log = _libm_pair(dtype)
    loss_r, exp_r, total_r = ref.softmax_cross_entropy(logits, target, reduction, exp=libm_exp,
                                                       log=libm_log)
    loss_k, exp_k, total_k = nb.softmax_cross_entropy(logits, target, reduction)
    assert_bitwise(exp_k, exp_r)
    assert ulps(total_k, total_r) == 0
    assert loss_k.shape == loss_r.shape and loss_k.dtype == loss_r.dtype
    assert ulps(loss_k, loss_r) <= 1
    loss_n, exp_n, total_n = ref.softmax_cross_entropy(logits, target, reduction)  # NumPy's
    assert ulps(exp_k, exp_n) <= 4
    if reduction == "none":
        # A loss near 0 has total near 1, where log turns a few ulp of the total (a few ulp of
        # exp, summed) into many ulp of the loss: bound the error by the total's ulp instead.
        bound = 8 * (np.spacing(total_n[:, 0]) + np.spacing(np.abs(loss_n)))
        assert np.all(np.abs(loss_k - loss_n) <= bound)
    else:
        assert ulps(loss_k, loss_n) <= 8
    loss_e, (exp_e, _) = ops._cross_entropy(logits, target, reduction)  # the engine's NumPy path
    assert_bitwise(np.asarray(loss_e), loss_n)
    assert_bitwise(exp_e, exp_n)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_is_bitwise_the_reference_and_the_engine_rule(shape, dtype, reduction):
    logits, target = _case(shape, dtype)
    _, exp, total = ref.softmax_cross_entropy(logits, target, reduction)
    g = _upstream(reduction, shape[0], dtype)
    expected = ops._cross_entropy_rule(g, None, logits, target, reduction,
                                       residual=(exp.copy(), total))
    assert_bitwise(ref.softmax_cross_entropy_backward(exp, total, target, g, reduction), expected)
    assert_bitwise(nb.softmax_cross_entropy_backward(exp, total, target, g, reduction), expected)


def test_kernel_fallbacks_are_the_reference():
    logits, target = _case((30, 5), np.float64)
    strided = np.asfortranarray(logits)  # not C-contiguous: the reference, bit for bit
    for reduction in REDUCTIONS:
        for got, want in zip(nb.softmax_cross_entropy(strided, target, reduction),
                             ref.softmax_cross_entropy(strided, target, reduction), strict=True):
            assert_bitwise(got, want)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nb.softmax_cross_entropy(logits, target, "average")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nb.softmax_cross_entropy_backward(*ref.softmax_cross_entropy(logits, target)[1:], target,
                                          np.asarray(1.0), "average")


# ---------------------------------------------------------------------------- wiring


def _loss_and_grad(logits, target, reduction, seed_grad=None):
    x = st.tensor(logits, requires_grad=True)
    loss = ops.cross_entropy(x, st.tensor(target), reduction=reduction)
    loss.backward(seed_grad)
    return loss.data, x.grad


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_cross_entropy_runs_the_kernel_when_fused(numba_kernels, monkeypatch, dtype, reduction):
    logits, target = _case((64, 10), dtype)
    seed = _upstream(reduction, 64, dtype) if reduction == "none" else None
    calls = []
    for name in ("softmax_cross_entropy", "softmax_cross_entropy_backward"):
        kernel = getattr(nb, name)
        monkeypatch.setattr(nb, name, lambda *a, kernel=kernel, name=name, **k: (
            calls.append(name), kernel(*a, **k))[1])
    loss, grad = _loss_and_grad(logits, target, reduction, seed)
    assert calls == ["softmax_cross_entropy", "softmax_cross_entropy_backward"]
    loss_k, exp_k, total_k = nb.softmax_cross_entropy(logits, target, reduction)
    assert_bitwise(loss, loss_k)
    g = seed if seed is not None else np.asarray(1.0, dtype)
    assert_bitwise(grad, nb.softmax_cross_entropy_backward(exp_k, total_k, target, g, reduction))
    kernels.set_kernels("numpy")
    loss_n, grad_n = _loss_and_grad(logits, target, reduction, seed)
    assert ulps(loss, loss_n) <= 8 and np.allclose(grad, grad_n, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", ["probabilities", "3-d", "float16", "int32 targets"])
def test_other_inputs_stay_on_the_numpy_path_or_agree(numba_kernels, case):
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((6, 4))
    target = rng.integers(0, 4, 6)
    if case == "probabilities":
        target = rng.dirichlet(np.ones(4), 6)
    elif case == "3-d":
        logits, target = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    elif case == "float16":
        logits = logits.astype(np.float16)
    fused = _loss_and_grad(logits, target.astype(np.int32) if case == "int32 targets" else target,
                           "mean")
    kernels.set_kernels("numpy")
    plain = _loss_and_grad(logits, target, "mean")
    if case == "int32 targets":  # the kernel runs (any integer targets): a few ulp
        assert ulps(fused[0], plain[0]) <= 8
        return
    for a, b in zip(fused, plain, strict=True):  # the same bits (float16 included)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_fused_errors_are_the_engines(numba_kernels):
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"class target 3 is out of range for 3 classes"):
        ops.cross_entropy(st.tensor(logits), st.tensor(np.array([0, 3])))
    with pytest.raises(ValueError, match="reduction must be one of"):
        ops.cross_entropy(st.tensor(logits), st.tensor(np.array([0, 1])), reduction="average")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_gradient_passes_gradcheck(numba_kernels, reduction):
    logits, target = _case((5, 4), np.float64)
    assert st.gradcheck(lambda x: ops.cross_entropy(x, target, reduction=reduction), logits)
