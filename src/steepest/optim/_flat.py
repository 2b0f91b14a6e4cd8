"""Flat optimizer buffers: one contiguous array per state buffer of a parameter group.

An elementwise optimizer (Adam's update of one element depends only on that element's
parameter, gradient and buffers, and on numbers shared by the group) gives the same bits whether
it runs once per parameter or once on all of a group's parameters laid end to end. On a small
network the per-parameter form is dominated by the cost of each NumPy call (about a microsecond
whatever the size): Adam on the six tensors of a 2-16-16-1 network makes 84 calls per step, the
flat form 21 (13 for the update, 2 to gather, 6 to copy the parameters back), 14 with the
parameters as views. :class:`FlatGroup` keeps, for one group:

* ``state``: the dict the optimizer's ``_update`` sees on a flat step. Each array buffer is one
  1-D array of the group's total size, and ``optimizer.state[p][name]`` is a view into it (so the
  per-parameter reads, ``state_dict`` and the per-parameter update all see the same numbers);
  each non-array entry (``"step"``, NAdam's ``"mu_product"``, ...) is one value, written back
  into every parameter's dict after each flat step, the same object in each.
* ``param``: a stand-in parameter whose ``.data`` is the flat parameter vector. Either *gathered*
  (copied from every ``p.data`` before the update and back after it: the parameters' arrays are
  never replaced), or, with ``flat="views"``, the parameters' ``.data`` are views into it from the
  first flat step on (no copies, but ``p.data`` is a new array then).
* ``grad``: the flat gradient, gathered every step.

Everything the record assumed is checked again at every step (the same parameters and arrays,
every state entry still the view or value it wrote); when anything changed, the record is rebuilt
from the per-parameter state, which is always the truth, or the step goes per parameter.
"""

from __future__ import annotations

import numbers
from itertools import repeat
from operator import attrgetter, is_
from typing import Any

import numpy as np

__all__ = ["FLAT_MEAN_SIZE", "FlatGroup", "FlatParam", "check_flat"]

#: ``flat=None`` lays a group flat when its parameters have at most this many elements on
#: average. A NumPy call costs about a microsecond whatever its size, about the time of streaming
#: a few arrays of this size through memory: for smaller parameters the calls the flat step saves
#: outweigh the copies it adds (three passes: gradients and parameters in, parameters out), for
#: larger ones the update is memory traffic, which copies only add to (benchmarks/flat_ab.py:
#: with six parameters Adam broke even near 20000 elements each, SGD with momentum near 5000,
#: and with four near 2400, hence a quarter of this for SGD: ``SGD._flat_mean_size``).
FLAT_MEAN_SIZE = 4096
#: The values of an optimizer's ``flat`` option.
FLAT_MODES = (None, False, True, "views")

# The checks of every flat step run as C-level loops (map over these), not Python ones: with a
# few parameters they are a good part of what a flat step costs besides its NumPy calls.
_DATA = attrgetter("data")
_GRAD = attrgetter("grad")
_GRAD_DTYPE = attrgetter("grad.dtype")


def check_flat(owner: str, flat: Any, supported: bool) -> Any:
    """``flat`` checked: one of :data:`FLAT_MODES`, and None or False for an optimizer whose
    update is not elementwise."""
    if not any(flat is mode for mode in FLAT_MODES[:3]) and not (isinstance(flat, str)
                                                                 and flat == "views"):
        raise ValueError(f"{owner}: flat must be None (where it pays), True, False or 'views', "
                         f"got {flat!r}")
    if not supported and flat not in (None, False):
        raise ValueError(f"{owner}: flat={flat!r}: this optimizer's update is not elementwise "
                         "(it uses whole-tensor quantities), so it has no flat form")
    return flat


class FlatParam:
    """What ``_update`` sees as the parameter on a flat step: ``.data`` is the flat vector."""

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray) -> None:
        self.data = data


def _views(flat: np.ndarray, params: list[Any]) -> list[np.ndarray]:
    """Views into ``flat``, one per parameter, shaped like it, in order."""
    views, start = [], 0
    for p in params:
        stop = start + p.data.size
        views.append(flat[start:stop].reshape(p.data.shape))
        start = stop
    return views


def _overlapping(arrays: list[np.ndarray]) -> bool:
    """Whether two of ``arrays`` may share memory (tied weights: a flat copy would untie them)."""
    if len({id(a) for a in arrays}) < len(arrays):
        return True
    views = [a for a in arrays if a.base is not None]
    return any(a is not b and np.may_share_memory(a, b) for a in views for b in arrays)


def _is_value(value: Any) -> bool:
    """A state entry that may be shared by all parameters: an immutable number, None, a str."""
    return value is None or isinstance(value, str | numbers.Number)


class FlatGroup:
    """The flat buffers of one parameter group and what they were built from.

    Built in two stages: the *layout* (:meth:`__init__`: which parameters, their arrays, dtype,
    total size, whether a flat form is possible at all) and the *buffers* (:meth:`adopt`: the flat
    state, parameter and gradient vectors), made only when a flat step is wanted.
    """

    __slots__ = ("group", "params", "datas", "dtype", "total", "possible", "views", "pstates",
                 "state", "arrays", "others", "nkeys", "param", "grad", "copy_back", "cells",
                 "lengths", "array_cells")

    def __init__(self, group: dict[str, Any], views: bool, previous: FlatGroup | None) -> None:
        params = list(group["params"])
        self.group = group
        self.params = params
        self.dtype = params[0].data.dtype
        self.total = sum(p.data.size for p in params)
        self.views = views
        self.pstates: list[dict[str, Any]] | None = None
        self.state: dict[str, Any] = {}
        #: (name, flat buffer, the per-parameter views into it) of every array buffer
        self.arrays: list[tuple[str, np.ndarray, list[np.ndarray]]] = []
        self.others: tuple[str, ...] = ()
        self.nkeys = 0
        #: every (state dict, key) a flat step relies on, and the object it must hold there
        self.cells: tuple[list[dict[str, Any]], list[str], list[Any]] = ([], [], [])
        self.lengths: list[int] = []
        self.array_cells = 0
        self.copy_back: list[tuple[np.ndarray, np.ndarray]] = []
        reuse = (views and previous is not None and previous.views
                 and previous.param is not None and previous.same_arrays(params))
        self.possible = reuse or (len(params) > 1 and all(p.data.dtype == self.dtype for p in params)
                                  and not _overlapping([p.data for p in params]))
        self.param = previous.param if reuse else None
        self.datas = [p.data for p in params]
        self.grad: np.ndarray | None = previous.grad if reuse else None

    # ------------------------------------------------------------------ checks
    def same_arrays(self, params: list[Any]) -> bool:
        """The same parameters, each with the same ``.data`` array as when this was built."""
        return (len(params) == len(self.params) and all(map(is_, params, self.params))
                and all(map(is_, map(_DATA, params), self.datas)))

    def current(self, state: Any) -> bool:
        """Whether the buffers still are the parameters' state: every parameter's state dict the
        one it was, holding exactly the views and values this record wrote (anything else, a
        per-parameter step, a loaded state dict, a buffer replaced by hand, means a rebuild)."""
        pstates = self.pstates
        if pstates is None:
            return False
        dicts, keys, expected = self.cells
        return (all(map(is_, map(state.get, self.params), pstates))
                and list(map(len, pstates)) == self.lengths
                and all(map(is_, map(dict.get, dicts, keys), expected)))

    def grads_match(self) -> bool:
        """Every gradient has the parameters' dtype (otherwise the step casts per parameter)."""
        dtype = self.dtype
        return (all(map(is_, map(_GRAD_DTYPE, self.params), repeat(dtype)))  # dtypes are shared
                or all(grad_dtype == dtype for grad_dtype in map(_GRAD_DTYPE, self.params)))

    # ------------------------------------------------------------------ building
    def adopt(self, pstates: list[dict[str, Any]]) -> bool:
        """Make the flat buffers from the parameters' state dicts ``pstates`` (one per parameter,
        already initialised); returns False, changing nothing, when they cannot be laid flat
        (different keys, differing step counts, buffers of another shape or dtype)."""
        params, dtype = self.params, self.dtype
        keys = list(pstates[0])
        if any(len(d) != len(keys) or any(key not in d for key in keys) for d in pstates):
            return False
        arrays, others = [], []
        for key in keys:
            values = [d[key] for d in pstates]
            if all(isinstance(v, np.ndarray) and v.shape == p.data.shape and v.dtype == dtype
                   for v, p in zip(values, params, strict=True)):
                arrays.append((key, values))
            elif all(_is_value(v) and type(v) is type(values[0]) and v == values[0]
                     for v in values):
                others.append((key, values[0]))
            else:
                return False
        self.state = {}
        self.arrays = []
        for key, values in arrays:
            self._bind(key, np.concatenate(values, axis=None), pstates)
        for key, value in others:
            self.state[key] = value
            for d in pstates:
                d[key] = value
        self.others = tuple(key for key, _ in others)
        self.nkeys = len(keys)
        self.pstates = pstates
        self._index()
        self._allocate()
        return True

    def _index(self) -> None:
        """List the cells :meth:`current` checks: each view, then each shared value."""
        pstates, n = self.pstates, len(self.params)
        dicts, keys, expected = [], [], []
        for key, _, views in self.arrays:
            dicts += pstates
            keys += [key] * n
            expected += views
        self.array_cells = len(expected)
        for key in self.others:
            dicts += pstates
            keys += [key] * n
            expected += [self.state[key]] * n
        self.cells = (dicts, keys, expected)
        self.lengths = [self.nkeys] * n

    def _bind(self, key: str, flat: np.ndarray, pstates: list[dict[str, Any]]) -> None:
        """Make ``flat`` the buffer ``key`` and every parameter's entry a view into it."""
        views = _views(flat, self.params)
        for d, view in zip(pstates, views, strict=True):
            d[key] = view
        self.state[key] = flat
        self.arrays.append((key, flat, views))

    def _allocate(self) -> None:
        if self.grad is None:
            self.grad = np.empty(self.total, self.dtype)
        if self.param is not None:
            return
        params = self.params
        if self.views:  # the parameters' arrays become views into the flat vector, once
            flat = np.concatenate(self.datas, axis=None)
            for p, view in zip(params, _views(flat, params), strict=True):
                p.data = view
            self.datas = [p.data for p in params]
        else:
            flat = np.empty(self.total, self.dtype)
            self.copy_back = list(zip(self.datas, _views(flat, params), strict=True))
        self.param = FlatParam(flat)

    # ------------------------------------------------------------------ stepping
    def gather(self) -> None:
        """Copy the gradients (and, unless the parameters are views, the parameters) in."""
        np.concatenate(list(map(_GRAD, self.params)), axis=None, out=self.grad)
        if not self.views:
            np.concatenate(self.datas, axis=None, out=self.param.data)

    def scatter(self) -> None:
        """After the update: the parameters back (unless they are views), new buffers bound,
        the values (step counts) written into every parameter's state."""
        for data, view in self.copy_back:
            data[...] = view  # a little cheaper than np.copyto
        flat = self.state
        if (len(flat) != self.nkeys or any(flat[key] is not buffer for key, buffer, _ in self.arrays)
                or any(isinstance(flat[key], np.ndarray) for key in self.others)):
            self._rebind()
        others = self.others
        if others:
            pstates = self.pstates
            for key in others:
                value = flat[key]
                for d in pstates:
                    d[key] = value
            self.cells[2][self.array_cells:] = [flat[key] for key in others for _ in pstates]

    def _rebind(self) -> None:
        """``_update`` created or replaced a buffer (SGD's momentum on its first update): bind it
        like the others; anything but a flat array of the group's size and dtype is a bug."""
        self.arrays = [entry for entry in self.arrays if self.state.get(entry[0]) is entry[1]]
        known = {key for key, _, _ in self.arrays}
        others = []
        for key, value in list(self.state.items()):
            if isinstance(value, np.ndarray):
                if key in known:
                    continue
                if value.shape != (self.total,) or value.dtype != self.dtype or \
                        not value.flags.c_contiguous:
                    raise RuntimeError(f"flat optimizer step: state buffer {key!r} came back with "
                                       f"shape {value.shape} and dtype {value.dtype}, not as a "
                                       f"flat ({self.total},) {self.dtype} array; this "
                                       "optimizer's update is not elementwise")
                if np.may_share_memory(value, self.grad) or np.may_share_memory(value,
                                                                            self.param.data):
                    value = value.copy()  # a buffer must not be the gradient or parameter vector
                self._bind(key, value, self.pstates)
            elif _is_value(value):
                others.append(key)
            else:
                raise RuntimeError(f"flat optimizer step: state entry {key!r} is a "
                                   f"{type(value).__name__}, which cannot be shared")
        for d in self.pstates:  # an entry _update dropped goes from every parameter too
            for key in [key for key in d if key not in self.state]:
                del d[key]
        self.others = tuple(others)
        self.nkeys = len(self.state)
        self._index()
