"""One flat array for the parameters of a replayed group, and one for their gradients.

A replay of ``zero_grad(); loss.backward(); SGD.step()`` on a small network spends a good part
of its time on the update: two NumPy calls per parameter (``lr * g``, then ``p -= ...``), about a
microsecond each whatever the size. With every parameter's array a view into one flat array, and
every weight gradient written (``matmul(..., out=view)``) into a view of another, the update is
two calls for the whole group, and gives the same bits: it is the same elementwise arithmetic.
``st.compile`` lays a group out so (:class:`FlatLayout`) only where that changes nothing a user
can see:

* the parameters' arrays are replaced by views only when nothing but the parameter holds them
  (a ``w = p.data`` kept elsewhere, a view of it, or the array a Parameter was made from would
  otherwise stop seeing the updates); the views hold the same values, and ``p.data`` stays an
  ndarray of the same shape and dtype, updated in place from then on, as with
  ``SGD(flat="views")``;
* a step's gradients go into the flat gradient array only when nothing else holds its views
  or the array (a ``.grad`` that ``zero_grad(set_to_none=False)`` left in place, a ``g =
  p.grad`` kept from the previous step, a slice of one): otherwise this step gets a new flat
  array, as eagerly every step gets new gradient arrays. A ``.grad`` still set when the
  backward pass ends is added to, as eagerly (and the update then runs eagerly).

Everything is checked at every replay, with C-level loops (reference counts, identities).
"""

from __future__ import annotations

from operator import attrgetter, is_
from sys import getrefcount
from typing import Any
from weakref import getweakrefcount

import numpy as np

__all__ = ["FlatLayout"]

_DATA = attrgetter("data")
_WRITEABLE = attrgetter("flags.writeable")
#: Bytes each view starts on a multiple of.
_ALIGN = 64


class _Slot:
    __slots__ = ("data",)


def _sole_count() -> int:
    """``getrefcount(p.data)`` of an array that only ``p`` (a slotted object) holds."""
    holder = _Slot()
    holder.data = np.empty(1)
    return getrefcount(holder.data)


_SOLE = _sole_count()
#: Replays between two looks at parameters whose arrays were held elsewhere.
_RETRY_AFTER = 64


class FlatLayout:
    """The flat parameter and gradient arrays of one group of a replay (see the module).

    Each view starts on a 64-byte boundary (as large allocations do), so that a product reads
    and writes it as it would a fresh array of its own; the gaps between views hold zeros, which
    the flat update keeps zero.

    Parameters
    ----------
    params : list of Tensor
        The group's parameters, in the order of the flat arrays (distinct, one dtype).
    dtype : numpy.dtype
    """

    __slots__ = ("params", "dtype", "shapes", "offsets", "total", "flat_p", "p_views", "flat_g",
                 "g_views", "active", "_free", "_free_flat", "_retry", "_backoff")

    def __init__(self, params: list[Any], dtype: np.dtype) -> None:
        self.params = list(params)
        self.dtype = np.dtype(dtype)
        self.shapes = [p.data.shape for p in params]
        step = max(1, _ALIGN // self.dtype.itemsize)
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append(total)
            total += -(-p.data.size // step) * step  # rounded up to the next boundary
        self.total = total
        self.flat_p: np.ndarray | None = None
        self.p_views: list[np.ndarray] = []
        self.flat_g: np.ndarray | None = None
        self.g_views: list[np.ndarray] = []
        self.active = False
        self._free: list[int] = []
        self._free_flat = 0
        self._retry = 0
        self._backoff = 0

    def adopt(self) -> None:
        """At the start of a replay (no local holds a parameter's array yet): the parameters'
        arrays are the flat array's views, or become them if nothing else holds them. A view
        made read-only since (``p.data.flags.writeable = False``) turns the flat update off: the
        update then refuses it as eagerly."""
        if self.flat_p is not None and all(map(is_, map(_DATA, self.params), self.p_views)):
            self.active = all(map(_WRITEABLE, self.p_views))
            return
        self.active = False
        if self._retry > 0:  # held elsewhere a moment ago: look again now and then, not always
            self._retry -= 1
            return
        if self._lay_out():
            self._backoff = 0
        else:  # 0, 1, 3, 7, ... replays between looks (the verification's snapshot holds them)
            self._retry = self._backoff
            self._backoff = min(2 * self._backoff + 1, _RETRY_AFTER)

    def ready(self) -> list[np.ndarray] | None:
        """At the start of the backward pass: the views this step's gradients are written
        into, or None (parameters not laid out: the backward makes new arrays, as eagerly).

        A view that anything holds besides this layout (a ``.grad`` that ``zero_grad`` left in
        place, or that a user kept, even by a weak reference) is never written: then the step
        gets a new flat array, as eagerly it gets new gradient arrays, and a ``.grad`` still
        set is added to as eagerly."""
        if not self.active:
            return None
        if list(map(getrefcount, self.g_views)) != self._free \
                or getrefcount(self.flat_g.base) != self._free_flat \
                or any(map(getweakrefcount, self.g_views)):
            self._new_grads()
        return self.g_views

    def _lay_out(self) -> bool:
        """Make the parameters' arrays views into one flat array, if nothing else holds them
        (not even a weak reference) and each is a C-ordered, writeable array of its own (a view
        is C-ordered: an F-ordered weight would be multiplied in another memory order)."""
        params = self.params
        for p, shape in zip(params, self.shapes, strict=True):
            data = p.data
            if type(data) is not np.ndarray or data.dtype != self.dtype or data.shape != shape \
                    or data.base is not None or not data.flags.writeable \
                    or not data.flags.c_contiguous or getweakrefcount(data):
                return False
            del data
            if getrefcount(p.data) != _SOLE:
                return False
        flat = _aligned_zeros(self.total, self.dtype)
        views = self._views(flat)
        for p, view in zip(params, views, strict=True):
            np.copyto(view, p.data)
            p.data = view
        self.flat_p, self.p_views, self.active = flat, views, True
        if self.flat_g is None:
            self._new_grads()
        return True

    def _new_grads(self) -> None:
        self.flat_g = _aligned_zeros(self.total, self.dtype)
        self.g_views = self._views(self.flat_g)
        self._free = list(map(getrefcount, self.g_views))
        # the array that owns the memory (every view's base): a slice of a view refers to it
        self._free_flat = getrefcount(self.flat_g.base)

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[start:start + int(np.prod(shape, dtype=np.int64))].reshape(shape)
                for start, shape in zip(self.offsets, self.shapes, strict=True)]


def _aligned_zeros(size: int, dtype: np.dtype) -> np.ndarray:
    """``np.zeros(size, dtype)`` starting on a :data:`_ALIGN`-byte boundary."""
    spare = _ALIGN // dtype.itemsize + 1
    raw = np.zeros(size + spare, dtype)
    skip = (-raw.ctypes.data % _ALIGN) // dtype.itemsize
    return raw[skip:skip + size]
