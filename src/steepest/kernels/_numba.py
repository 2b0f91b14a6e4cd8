"""The fused kernels, compiled with numba: one pass over memory per update, both cores on large
arrays.

Importing this module configures numba's threads *before* numba starts them, because both
settings are read once, when the thread pool is created:

* **The OpenMP threading layer.** numba's default "workqueue" layer costs about 100 us per
  parallel call (issue 18's measurement), as much as a whole update of a million weights; the
  OpenMP layer starts a parallel region in a few microseconds. Where numba cannot load its OpenMP
  layer, the TBB layer (if installed) or the workqueue is used, with one warning.
* **Passive waiting.** OpenBLAS runs the matrix products of the same step on its own threads.
  OpenMP threads that spin after a parallel region keep both cores busy, so OpenBLAS's threads
  and numba's fight for them and the whole step ran 2.6-3.5x slower. ``OMP_WAIT_POLICY=PASSIVE``
  (GNU and LLVM OpenMP) and ``KMP_BLOCKTIME=0`` (Intel's) make idle threads sleep at once. They
  are set only where the user has not set them, and only in this process's environment.

Rounding. Every kernel performs the operations of its reference in
:mod:`steepest.kernels._numpy` in the same order, on values of the array's dtype (Python scalars
are rounded to it first, as NumPy 2 does), with ``fastmath=False`` so that LLVM neither fuses a
multiply and an add into one FMA (which rounds once instead of twice) nor reorders sums. The
updates, the ReLU and tanh backward, the softmax backward and the bias gradient are therefore
bitwise equal to NumPy's. Sums over classes and over the batch follow NumPy's pairwise order.
Only ``exp`` and ``log`` differ: the kernels call the C library's (glibc: below 1 ulp of the exact
value), while NumPy's SIMD float32 ``exp``/``log`` are up to 2 and 3 ulp from it on this CPU, so
the loss and the softmax agree with the NumPy path to a few ulp, and within 1 ulp of the same
arithmetic done with the C library's ``exp``/``log`` (tests/kernels). (A loss near 0, from a
row sum near 1, can differ from NumPy's by more ulp of the loss: ``log`` turns the few ulp of the
sum into an absolute error of a few ulp of 1; tests/kernels/test_cross_entropy_kernel.py.)

``relu_backward`` and ``tanh_backward`` write into ``result`` when it is given (a buffer of
``steepest.autodiff.pool``); the cross-entropy kernels take ``reduction`` (``"mean"``,
``"sum"``, ``"none"``) as ``ops.cross_entropy`` does.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from . import _numpy as _reference

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numba  # noqa: E402  (after the OpenMP environment, which numba's pool reads at start)
from numba import njit, prange  # noqa: E402


def _choose_layer() -> str:
    """The first threading layer numba can load, in order of preference (omp, tbb, workqueue)."""
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return os.environ["NUMBA_THREADING_LAYER"]
    for layer, module in (("omp", "omppool"), ("tbb", "tbbpool")):
        try:
            __import__(f"numba.np.ufunc.{module}")
        except ImportError:
            continue
        if layer != "omp":
            break
        return layer
    else:
        layer = "workqueue"
    warnings.warn(f"steepest.kernels: numba's OpenMP threading layer is not available; using "
                  f"{layer!r}, whose parallel calls cost ~100 us each (large arrays only gain "
                  "from it)", RuntimeWarning, stacklevel=3)
    return layer


THREADING_LAYER = _choose_layer()
numba.config.THREADING_LAYER = THREADING_LAYER


def _start_threads() -> None:
    # Start the pool now, with the settings above: kernels loaded from numba's cache would
    # otherwise start it at their first parallel call, after OpenBLAS may have spun up.
    try:
        from numba.np.ufunc.parallel import _launch_threads
    except ImportError:  # a numba without this (private) hook starts the pool on first use
        return
    _launch_threads()


_start_threads()

#: Arrays of at least this many elements are updated on all of numba's threads; smaller ones on
#: one (a parallel region costs a few microseconds, about the time of 16K elements).
PARALLEL_MIN = 1 << 16
BIAS_PARALLEL_MIN = 1 << 20

_OPTIONS = {"fastmath": False, "error_model": "numpy", "cache": True, "nogil": True}


def _compile(function):
    """The same loop compiled twice: serial (``prange`` runs as ``range``) and parallel."""
    return njit(**_OPTIONS)(function), njit(parallel=True, **_OPTIONS)(function)


def _pick(pair, size: int):
    return pair[1] if size >= PARALLEL_MIN else pair[0]


# ---------------------------------------------------------------------------- optimizer updates


def _sgd_loop(x, grad, buf, lr, momentum, weight, wd, nesterov, maximize, has_momentum, first):
    for i in prange(x.size):
        g = -grad[i] if maximize else grad[i]
        if wd != 0:
            g = g + wd * x[i]
        if not has_momentum:
            x[i] = x[i] - lr * g
            continue
        if first:
            b = g
        else:
            b = buf[i] * momentum
            b = b + weight * g
        buf[i] = b
        x[i] = x[i] - lr * (g + momentum * b if nesterov else b)


_SGD = _compile(_sgd_loop)


def _adam_loop(x, grad, m, v, vmax, decay, wd, w1, w1c, low, c2, beta2, root2, eps, neg_step,
               decoupled, amsgrad, maximize):
    for i in prange(x.size):
        if decoupled:
            x[i] = x[i] * decay
        g = -grad[i] if maximize else grad[i]
        if wd != 0 and not decoupled:
            g = g + wd * x[i]
        mi = m[i] + w1 * (g - m[i]) if low else g - (g - m[i]) * w1c
        m[i] = mi
        vi = v[i] * beta2
        vi = vi + (c2 * g) * g
        v[i] = vi
        if amsgrad:
            top = vmax[i]
            if top >= vi or top != top:  # np.maximum(top, vi), NaN included
                vi = top
            vmax[i] = vi
        denom = np.sqrt(vi) / root2
        denom = denom + eps
        x[i] = x[i] + (neg_step * mi) / denom


_ADAM = _compile(_adam_loop)


def _rmsprop_loop(x, grad, sq, gavg, buf, alpha, c, w, low, w_c, wd, eps, momentum, neg_lr, lr,
                  centered, has_momentum, maximize):
    for i in prange(x.size):
        g = -grad[i] if maximize else grad[i]
        if wd != 0:
            g = g + wd * x[i]
        s = sq[i] * alpha
        s = s + (c * g) * g
        sq[i] = s
        if centered:
            a = gavg[i] + w * (g - gavg[i]) if low else g - (g - gavg[i]) * w_c
            gavg[i] = a
            avg = np.sqrt(s - a * a)
        else:
            avg = np.sqrt(s)
        avg = avg + eps
        if has_momentum:
            b = buf[i] * momentum
            b = b + g / avg
            buf[i] = b
            x[i] = x[i] - lr * b
        else:
            x[i] = x[i] + (neg_lr * g) / avg


_RMSPROP = _compile(_rmsprop_loop)


def _adagrad_loop(x, grad, total, neg_lr, eps, wd, maximize):
    for i in prange(x.size):
        g = -grad[i] if maximize else grad[i]
        if wd != 0:
            g = g + wd * x[i]
        s = total[i] + g * g
        total[i] = s
        std = np.sqrt(s)
        std = std + eps
        x[i] = x[i] + (neg_lr * g) / std


_ADAGRAD = _compile(_adagrad_loop)


# ---------------------------------------------------------------------------- backward passes


def _relu_backward_loop(grad, out, result, zero, one):
    for i in prange(grad.size):
        # grad * True or grad * False, as NumPy: keeps -0.0 and NaN where out <= 0
        result[i] = grad[i] * (one if out[i] > zero else zero)


def _tanh_backward_loop(grad, out, result, one):
    for i in prange(grad.size):
        result[i] = grad[i] * (one - out[i] * out[i])


_RELU_BACKWARD = _compile(_relu_backward_loop)
_TANH_BACKWARD = _compile(_tanh_backward_loop)


def _bias_grad_loop(g, out, columns_per_task):
    rows, columns = g.shape
    tasks = (columns + columns_per_task - 1) // columns_per_task
    for task in prange(tasks):
        start = task * columns_per_task
        stop = min(columns, start + columns_per_task)
        for j in range(start, stop):
            out[j] = 0
        part = out[start:stop]
        for r in range(rows):  # row after row, as NumPy accumulates an axis-0 reduction
            row = g[r, start:stop]
            for j in range(stop - start):  # 1-D views: LLVM vectorises this loop
                part[j] = part[j] + row[j]


_BIAS_GRAD = _compile(_bias_grad_loop)


@njit(**_OPTIONS)
def _pairwise_leaf(a, start, n):
    """NumPy's pairwise sum of ``a[start:start+n]`` for ``n <= 128`` (its unrolled block)."""
    if n < 8:  # NumPy starts from +0.0: only the sign of a zero sum can tell
        total = a[start]
        for i in range(1, n):
            total = total + a[start + i]
        return abs(total) if total == 0 else total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total = total + a[start + i]
        i += 1
    return total


@njit(**_OPTIONS)
def _pairwise_sum(a):
    """``np.add.reduce`` of a 1-D array, in NumPy's order: halves (rounded to multiples of 8)
    until a part has at most 128 elements. Iterative: numba compiles no recursion here."""
    n = a.size
    if n <= 128:
        return _pairwise_leaf(a, 0, n)
    starts = np.empty(128, np.int64)
    sizes = np.empty(128, np.int64)
    stage = np.empty(128, np.int64)  # 0: not split yet, 1: left half summed
    partial = np.empty(128, a.dtype)
    values = np.empty(128, a.dtype)
    depth, count = 0, 0
    starts[0], sizes[0], stage[0] = 0, n, 0
    while depth >= 0:
        s, size = starts[depth], sizes[depth]
        half = size // 2
        half -= half % 8
        if stage[depth] == 0:
            stage[depth] = 1
            if half <= 128:
                partial[depth] = _pairwise_leaf(a, s, half)
            else:
                depth += 1
                starts[depth], sizes[depth], stage[depth] = s, half, 0
                continue
        if stage[depth] == 1:
            stage[depth] = 2
            if size - half <= 128:
                right = _pairwise_leaf(a, s + half, size - half)
            else:
                depth += 1
                starts[depth], sizes[depth], stage[depth] = s + half, size - half, 0
                continue
        else:  # stage 2: the right half came back from the level below
            right = values[count - 1]
            count -= 1
        done = partial[depth] + right
        depth -= 1
        if depth >= 0:
            if stage[depth] == 1:
                partial[depth] = done
            else:
                values[count] = done
                count += 1
        else:
            return done
    return a[0]  # not reached


def _ce_forward_loop(logits, target, exp, total, losses):
    rows, classes = logits.shape
    for r in prange(rows):
        top = logits[r, 0]
        for c in range(1, classes):
            top = max(top, logits[r, c])
        for c in range(classes):
            exp[r, c] = np.exp(logits[r, c] - top)
        t = _pairwise_leaf(exp[r], 0, classes) if classes <= 128 else _pairwise_sum(exp[r])
        total[r, 0] = t
        losses[r] = np.log(t) - (logits[r, target[r]] - top)


def _ce_backward_loop(exp, total, target, scale, one, p):
    rows, classes = exp.shape
    for r in prange(rows):
        for c in range(classes):
            p[r, c] = exp[r, c] / total[r, 0]
        p[r, target[r]] = p[r, target[r]] - one
        for c in range(classes):
            p[r, c] = p[r, c] * scale


def _ce_backward_rows_loop(exp, total, target, scales, one, p):
    """As ``_ce_backward_loop`` with one scale per row (``reduction="none"``)."""
    rows, classes = exp.shape
    for r in prange(rows):
        for c in range(classes):
            p[r, c] = exp[r, c] / total[r, 0]
        p[r, target[r]] = p[r, target[r]] - one
        scale = scales[r]
        for c in range(classes):
            p[r, c] = p[r, c] * scale


_CE_FORWARD = _compile(_ce_forward_loop)
_CE_BACKWARD = _compile(_ce_backward_loop)
_CE_BACKWARD_ROWS = _compile(_ce_backward_rows_loop)


# ---------------------------------------------------------------------------- public wrappers


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


def _usable(*arrays: np.ndarray | None) -> bool:
    """The kernels take C-contiguous float32/float64 arrays of one dtype and size."""
    first = arrays[0]
    return first.dtype.char in "fd" and all(
        a is None or (a.flags.c_contiguous and a.dtype == first.dtype and a.size == first.size)
        for a in arrays)


def _dummy(param: np.ndarray) -> np.ndarray:
    return np.empty(1, param.dtype)


def sgd_(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
         nesterov=False, maximize=False):
    if not _usable(param, grad, momentum_buffer):
        return _reference.sgd_(param, grad, momentum_buffer, lr, momentum, dampening,
                               weight_decay, nesterov, maximize)
    dt = param.dtype.type
    first = momentum != 0 and momentum_buffer is None
    if first:
        momentum_buffer = np.empty_like(param)
    buf = _dummy(param) if momentum == 0 else _flat(momentum_buffer)
    _pick(_SGD, param.size)(_flat(param), _flat(grad), buf, dt(lr), dt(momentum),
                            dt(1.0 - dampening), dt(weight_decay), bool(nesterov),
                            bool(maximize), momentum != 0, first)
    return momentum_buffer if momentum != 0 else None


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
          weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, maximize=False):
    if not _usable(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None):
        return _reference.adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr,
                                beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                                amsgrad, maximize)
    dt = param.dtype.type
    decoupled = bool(decoupled_weight_decay and weight_decay != 0)
    w1 = 1.0 - beta1
    step_size = lr / (1.0 - beta1 ** step)
    root2 = (1.0 - beta2 ** step) ** 0.5
    vmax = _flat(max_exp_avg_sq) if amsgrad else _dummy(param)
    _pick(_ADAM, param.size)(
        _flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), vmax,
        dt(1.0 - lr * weight_decay), dt(0.0 if decoupled_weight_decay else weight_decay),
        dt(w1), dt(1.0 - w1), w1 < 0.5, dt(1.0 - beta2), dt(beta2), dt(root2), dt(eps),
        dt(-step_size), decoupled, bool(amsgrad), bool(maximize))


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha=0.99, eps=1e-8,
             weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    if not _usable(param, grad, square_avg, grad_avg if centered else None,
                   momentum_buffer if momentum > 0 else None):
        return _reference.rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr,
                                   alpha, eps, weight_decay, momentum, centered, maximize)
    dt = param.dtype.type
    w = 1.0 - alpha
    _pick(_RMSPROP, param.size)(
        _flat(param), _flat(grad), _flat(square_avg),
        _flat(grad_avg) if centered else _dummy(param),
        _flat(momentum_buffer) if momentum > 0 else _dummy(param),
        dt(alpha), dt(1.0 - alpha), dt(w), w < 0.5, dt(1.0 - w), dt(weight_decay), dt(eps),
        dt(momentum), dt(-lr), dt(lr), bool(centered), momentum > 0, bool(maximize))


def adagrad_(param, grad, state_sum, step, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
             maximize=False):
    if not _usable(param, grad, state_sum):
        return _reference.adagrad_(param, grad, state_sum, step, lr, lr_decay, eps,
                                   weight_decay, maximize)
    dt = param.dtype.type
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    _pick(_ADAGRAD, param.size)(_flat(param), _flat(grad), _flat(state_sum), dt(-decayed_lr),
                                dt(eps), dt(weight_decay), bool(maximize))


def _result(grad, result):
    """``result`` if it can hold the kernel's output (C-contiguous, ``grad``'s shape and dtype),
    else a new array."""
    if (result is None or result.shape != grad.shape or result.dtype != grad.dtype
            or not result.flags.c_contiguous):
        return np.empty(grad.shape, grad.dtype)
    return result


def relu_backward(grad, out, result=None):
    if grad.shape != out.shape or not _usable(grad, out):
        return _reference.relu_backward(grad, out, result)
    result = _result(grad, result)
    dt = grad.dtype.type
    _pick(_RELU_BACKWARD, grad.size)(_flat(grad), _flat(out), _flat(result), dt(0), dt(1))
    return result


def tanh_backward(grad, out, result=None):
    if grad.shape != out.shape or not _usable(grad, out):
        return _reference.tanh_backward(grad, out, result)
    result = _result(grad, result)
    _pick(_TANH_BACKWARD, grad.size)(_flat(grad), _flat(out), _flat(result), grad.dtype.type(1))
    return result


def bias_grad(g):
    if g.ndim != 2 or not _usable(g):
        return _reference.bias_grad(g)
    out = np.empty(g.shape[1], g.dtype)
    if g.shape[1] == 1:  # NumPy drops the unit axis and sums the column pairwise
        out[0] = _pairwise_sum(g[:, 0].copy()) if g.shape[0] else 0
        return out
    # Contiguous column blocks, one task per thread on large inputs. One pass of adds over
    # 512x1024 takes ~30 us on one core, about what waking the other thread costs: so threads
    # only from BIAS_PARALLEL_MIN elements.
    parallel = g.size >= BIAS_PARALLEL_MIN
    per_task = max(1, -(-g.shape[1] // numba.get_num_threads())) if parallel else g.shape[1]
    _BIAS_GRAD[1 if parallel else 0](g, out, per_task)
    return out


def _ce_usable(logits, target) -> bool:
    return (logits.ndim == 2 and target.ndim == 1 and target.shape[0] == logits.shape[0]
            and target.dtype.kind in "iu" and logits.shape[0] > 0 and logits.shape[1] > 0
            and _usable(logits) and target.flags.c_contiguous)


def softmax_cross_entropy(logits, target, reduction="mean", *, checked=False):
    """The reference's softmax cross-entropy in one pass per row (``checked=True``: the caller
    has already refused targets out of ``[0, C)``, as ``ops.cross_entropy`` does)."""
    target = np.asarray(target)
    if (reduction not in _reference.REDUCTIONS or not _ce_usable(logits, target)
            or logits.shape[0] > _reference.EXACT_COUNT):
        return _reference.softmax_cross_entropy(logits, target, reduction)
    if not checked and target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError(f"softmax_cross_entropy: class targets must be in [0, "
                         f"{logits.shape[1]}), got values from {target.min()} to {target.max()}")
    exp = np.empty_like(logits)
    total = np.empty((logits.shape[0], 1), logits.dtype)
    losses = np.empty(logits.shape[0], logits.dtype)
    _pick(_CE_FORWARD, logits.size)(logits, target, exp, total, losses)
    if reduction == "none":
        return losses, exp, total
    dt = logits.dtype.type  # numba hands a float32 back as a Python float: round it back first
    loss = dt(_pairwise_sum(losses))  # np.sum and np.add.reduce of a 1-D array: pairwise
    return np.asarray(loss if reduction == "sum" else loss / dt(losses.size)), exp, total


def softmax_cross_entropy_backward(exp, total, target, g, reduction="mean"):
    target = np.asarray(target)
    g = np.asarray(g, dtype=exp.dtype)
    rows = reduction == "none"
    if (reduction not in _reference.REDUCTIONS or not _ce_usable(exp, target) or not _usable(total)
            or total.shape != (exp.shape[0], 1)
            or g.shape != ((exp.shape[0],) if rows else ())):
        return _reference.softmax_cross_entropy_backward(exp, total, target, g, reduction)
    dt = exp.dtype.type
    p = np.empty_like(exp)
    if rows:
        _pick(_CE_BACKWARD_ROWS, exp.size)(exp, total, target, np.ascontiguousarray(g), dt(1), p)
        return p
    scale = g[()] / len(target) if reduction == "mean" else g[()]
    _pick(_CE_BACKWARD, exp.size)(exp, total, target, dt(scale), dt(1), p)
    return p
