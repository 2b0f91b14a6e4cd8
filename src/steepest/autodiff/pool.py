"""A pool of large array buffers, reused across training steps instead of freed and reallocated.

Why. A training step of a large network makes and drops multi-megabyte temporaries (the
activations, the ReLU masks, the gradients). glibc serves allocations that large with ``mmap``
(or from the top of the heap, which it trims) and gives them back to the kernel when they are
freed, so in a process of its own every step pays a page fault per 4 KiB again: 4,600-6,100
minor faults per step of a 784-1024-1024-10 network at batch 512 (issue 18;
benchmarks/pool_ab.py). Keeping those buffers here, alive, and writing into them with ``out=``
takes the faults (0 per step) and the ``munmap`` of ``zero_grad`` (~2 ms) out of the step, with
no allocator tuning and no environment variable.

Who takes buffers (``autodiff.ops`` and the backward pass in ``autodiff.tensor``): the linear
and 2-D matmul forwards and gradients, ReLU's forward, mask and gradient, tanh's gradient (and
the numba kernels' ``result``), the private copy of a NumPy input batch, sums of gradient
contributions, and a large cross-entropy's shifted logits, ``exp`` and softmax gradient; and,
from the layer above, the work buffers of an optimizer's update (``optim.base.blockwise``:
Adam's passes).

How. Buffers are kept per ``(shape, dtype)``, for arrays of at least :data:`threshold`
elements (256 KiB of float32); smaller arrays never come here, and the ops decide that with one
integer compare. :func:`take` hands out a kept buffer only when **nobody else holds a reference
to it**, which CPython's reference count tells exactly:

* the pool's own list holds one reference, :func:`take`'s loop variable and the argument of
  ``sys.getrefcount`` one each (:data:`_FREE` is measured at import, not assumed);
* whatever can still read or write the buffer holds at least one more: a Tensor's ``data`` or
  ``grad``, a node's saved arrays, a local variable, a container, and every NumPy **view**
  (a view's ``base`` is the array that owns the memory, so a view alive keeps the owner's
  count up), ``memoryview`` and array made with ``np.frombuffer`` included.

So a buffer is reused only once no Python object can reach it: an activation Tensor, or a
``.grad`` array, that the user keeps across steps keeps its values, and a graph's buffers
become reusable as the graph is freed (backward drops each node's saved arrays; the loss going
out of scope drops the rest). What the count cannot see is a raw pointer taken out of Python
(``a.ctypes.data`` kept while ``a`` is dropped), which is as unsafe with NumPy's own allocator.
Two threads calling :func:`take` at once see each other's loop variable and both allocate anew:
contention costs a new buffer, never a shared one. Free-threaded CPython counts references
differently (and PyPy has no counts to read), so the pool is off there.

Bounds. At most :data:`PER_KEY` buffers are kept per key (the rest are plain arrays, freed as
usual), so the pool holds at most what the largest step used at one time, shape by shape: the
peak memory of a step does not grow, and between steps the process keeps one step's
temporaries instead of handing them back. Shapes that change from step to step (sequences of
varying length) would leave buffers of old shapes behind: when the kept buffers would exceed
:data:`MAX_BYTES`, every free one is dropped first (and a buffer that still does not fit is not
kept). :func:`clear` drops them all; :func:`set_pool` (or
the context manager :func:`disabled`) turns the pool off, which makes every op allocate as
before, with bitwise the same results (tests/autodiff/test_pool.py runs training steps both
ways).

Examples
--------
>>> import numpy as np
>>> from steepest.autodiff import pool
>>> a = pool.take((512, 1024), np.dtype(np.float32))
>>> b = pool.take((512, 1024), np.dtype(np.float32))
>>> a is b                    # a is still held: b is another buffer
False
>>> del a
>>> c = pool.take((512, 1024), np.dtype(np.float32))
>>> c.base is None and pool.kept() >= 2
True
>>> pool.clear()
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np

__all__ = ["threshold", "PER_KEY", "MAX_BYTES", "take", "copy", "clear", "kept", "kept_bytes", "set_pool",
           "enabled", "disabled"]

#: The smallest array (in elements) that comes from the pool: 256 KiB of float32.
DEFAULT_THRESHOLD = 1 << 16
_OFF = sys.maxsize  # no array has this many elements: the ops' one compare then always fails

#: Arrays with at least this many elements come from the pool; :data:`_OFF` while it is off.
#: The ops read it on every call (``size >= pool.threshold``): that compare is all a small
#: array pays.
threshold = DEFAULT_THRESHOLD

#: At most this many buffers are kept per (shape, dtype).
PER_KEY = 8

#: At most this many bytes of buffers are kept, free or in use (see Bounds above).
MAX_BYTES = 1 << 30

_kept: dict[tuple, list[np.ndarray]] = {}
_bytes = 0  # the bytes of the buffers in _kept
_getrefcount = getattr(sys, "getrefcount", None)  # CPython's; without it there is no pool


def _measure_free() -> int:
    """The reference count :func:`take` sees on a buffer only the pool holds (same loop)."""
    if _getrefcount is None:
        return -1
    buffers = [np.empty(1)]
    for buffer in buffers:
        return _getrefcount(buffer)
    raise AssertionError("not reached")


_FREE = _measure_free()


def take(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` that nobody else holds.

    A kept buffer of that key whose only reference is the pool's, else a new array (kept if
    fewer than :data:`PER_KEY` are). The caller overwrites all of it (an ``out=`` argument).
    """
    key = (shape, dtype)
    buffers = _kept.get(key)
    if buffers is None:
        buffers = _kept[key] = []
    for buffer in buffers:
        if _getrefcount(buffer) == _FREE:
            return buffer
    buffer = np.empty(shape, dtype)
    if len(buffers) < PER_KEY:
        _keep(buffers, buffer)
    return buffer


def copy(array: np.ndarray) -> np.ndarray:
    """``array.copy()`` (C-contiguous, same dtype), written into a buffer from :func:`take`."""
    out = take(array.shape, array.dtype)
    np.copyto(out, array, casting="no")
    return out


def _keep(buffers: list[np.ndarray], buffer: np.ndarray) -> None:
    """Add ``buffer`` to its key's list if the pool stays within :data:`MAX_BYTES`."""
    global _bytes
    if _bytes + buffer.nbytes > MAX_BYTES:
        _sweep()
    if _bytes + buffer.nbytes <= MAX_BYTES:
        buffers.append(buffer)
        _bytes += buffer.nbytes


def _sweep() -> None:
    """Drop every free buffer of every key (the loop of :func:`take`, so :data:`_FREE` holds)."""
    global _bytes
    total = 0
    for key in list(_kept):
        held = []
        for buffer in _kept[key]:
            if _getrefcount(buffer) != _FREE:
                held.append(buffer)
                total += buffer.nbytes
        if held:
            _kept[key] = held
        else:
            del _kept[key]
    _bytes = total


def clear() -> None:
    """Forget every kept buffer (those still in use live on as ordinary arrays)."""
    global _bytes
    _kept.clear()
    _bytes = 0


def kept() -> int:
    """How many buffers the pool keeps (free or in use)."""
    return sum(len(buffers) for buffers in _kept.values())


def kept_bytes() -> int:
    """The bytes of the buffers the pool keeps (free or in use)."""
    return _bytes


def enabled() -> bool:
    """Whether the ops take their large arrays from the pool."""
    return threshold != _OFF


def set_pool(on: bool) -> None:
    """Turn the pool on or off; off, every op allocates its arrays as NumPy does (and the
    kept buffers are dropped)."""
    global threshold
    if not isinstance(on, bool):
        raise TypeError(f"set_pool: expected a bool, got {on!r}")
    threshold = DEFAULT_THRESHOLD if on and _SUPPORTED else _OFF
    if not on:
        clear()


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """A context in which the pool is off (the previous state comes back after it)."""
    was = enabled()
    set_pool(False)
    try:
        yield
    finally:
        set_pool(was)


# Reference counts mean something else without the GIL (free-threaded CPython), and other
# interpreters have none to read: no pool there.
_SUPPORTED = _getrefcount is not None and getattr(sys, "_is_gil_enabled", lambda: True)()
if not _SUPPORTED:
    threshold = _OFF
