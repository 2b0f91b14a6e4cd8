"""Large elementwise NumPy work split across cores.

NumPy runs matrix products on all cores (through its BLAS) but every ufunc on one. In a training
step of a large network the elementwise work (activations and their gradients, the bias add,
the parameter update, Adam's moments) then takes a fair share of the time while one core idles.
NumPy releases the GIL inside a ufunc's inner loop, so plain threads can share that work:
:func:`split` cuts a flat index range into contiguous parts and runs a kernel on each part at the
same time, one part in the calling thread and one in each worker.

Each part is run block by block (32K elements): a kernel of several ufuncs (Adam's update is
thirteen passes) then reads and writes each block while it is still in the core's cache
instead of streaming whole arrays through memory once per pass, which alone makes a
one-million-element Adam update 1.6x faster on one core.

Elementwise results do not depend on how the range is cut, so a split computation is bitwise
equal to the whole one; only elementwise work is ever split here (never a reduction, whose
rounding depends on the order of the sums).

Small arrays are not split: handing work to a thread costs ~10-20 us, more than a ufunc on fewer
than ~100,000 elements. The number of threads is that of the cores this process may run on
(``STEEPEST_NUM_THREADS`` or :func:`set_num_threads` to change it; 1 turns splitting off).
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from collections.abc import Callable

__all__ = ["get_num_threads", "set_num_threads", "split", "MIN_ELEMENTS", "MIN_BLOCKED"]

#: Ranges shorter than this run in one piece (the hand-over costs more than it saves).
MIN_ELEMENTS = 1 << 17
#: No part is made smaller than this many elements.
_MIN_PART = 1 << 16
#: Elements a kernel handles per call: a few arrays of this many float32/float64 stay in L2.
_BLOCK = 1 << 15
#: Ranges shorter than this are one block (cutting them would only add calls).
MIN_BLOCKED = 2 * _BLOCK

Kernel = Callable[[slice], None]


def _default_threads() -> int:
    text = os.environ.get("STEEPEST_NUM_THREADS", "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        warnings.warn(f"STEEPEST_NUM_THREADS must be a positive integer, got {text!r}; "
                      "using one thread per available core", RuntimeWarning, stacklevel=2)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Pool:
    """Worker threads that each take one part of a split at a time."""

    def __init__(self, workers: int) -> None:
        self.inboxes: list[queue.SimpleQueue] = []
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        for index in range(workers):
            inbox: queue.SimpleQueue = queue.SimpleQueue()
            thread = threading.Thread(target=self._work, args=(inbox,), daemon=True,
                                      name=f"steepest-worker-{index}")
            thread.start()
            self.inboxes.append(inbox)

    def _work(self, inbox: queue.SimpleQueue) -> None:
        while True:
            job = inbox.get()
            if job is None:
                return
            kernel, start, stop = job
            try:
                _run_blocks(kernel, start, stop)
            except BaseException as error:  # handed to the caller, which re-raises it
                self.done.put(error)
            else:
                self.done.put(None)

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)


_num_threads = _default_threads()
_pool: _Pool | None = None
# Held while a split is in flight: a second split at the same time (another Python thread, or a
# kernel that splits again) runs in one piece instead of waiting for the workers.
_busy = threading.Lock()


def get_num_threads() -> int:
    """The number of threads that share large elementwise work (1: no splitting)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Set how many threads share large elementwise work (like ``torch.set_num_threads``).

    Parameters
    ----------
    n : int
        At least 1; 1 runs everything in the calling thread. Matrix products are not affected:
        they use NumPy's BLAS threads (see threadpoolctl to change those).
    """
    global _num_threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an integer >= 1, got {n!r}")
    with _busy:
        if _pool is not None and len(_pool.inboxes) != n - 1:
            _pool.close()
            _pool = None
        _num_threads = n


def split(kernel: Kernel, size: int) -> None:
    """Run ``kernel(block)`` over contiguous blocks (slices) that cover ``range(size)``.

    The kernel must only do elementwise work on the block it is given, through flat views of
    its arrays (``a.reshape(-1)[block]``), so that the blocks may run in any order and at the
    same time. Large ranges are shared between the threads; small ones run in the calling
    thread, in one call when ``size`` is below ``2 * 32768``. An exception raised by any block
    is raised here once the other threads have finished their parts.
    """
    threads = min(_num_threads, size // _MIN_PART)
    if size < MIN_ELEMENTS or threads < 2 or not _busy.acquire(blocking=False):
        _run_blocks(kernel, 0, size)
        return
    try:
        pool = _get_pool()
        bounds = [size * i // threads for i in range(threads + 1)]
        for inbox, start, stop in zip(pool.inboxes, bounds[1:-1], bounds[2:], strict=False):
            inbox.put((kernel, start, stop))
        errors: list[BaseException] = []
        try:
            _run_blocks(kernel, 0, bounds[1])
        except BaseException as error:
            errors.append(error)
        for _ in range(threads - 1):
            error = pool.done.get()
            if error is not None:
                errors.append(error)
        if errors:
            raise errors[0]
    finally:
        _busy.release()


def _run_blocks(kernel: Kernel, start: int, stop: int) -> None:
    if stop - start < MIN_BLOCKED:
        kernel(slice(start, stop))
        return
    for first in range(start, stop, _BLOCK):
        kernel(slice(first, min(first + _BLOCK, stop)))


def _get_pool() -> _Pool:
    global _pool
    if _pool is None or len(_pool.inboxes) != _num_threads - 1:
        _pool = _Pool(_num_threads - 1)
    return _pool


def _forget_pool_after_fork() -> None:
    # A forked child has none of the parent's threads: start new ones when first needed.
    global _pool, _busy
    _pool = None
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
