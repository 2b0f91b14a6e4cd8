"""NumPy lines for the commonest ops, written into a replay (``st.compile``) instead of a call.

A replay calls each op's forward and each derivative rule as the Python function the eager
engine calls. On small arrays that call, with the checks the function makes to choose its path
(pooled buffers, numba kernels, shapes it reshapes), costs about as much as the NumPy work. For
the ops every fully connected network uses, this module writes the NumPy expression the function
evaluates on the recording's inputs, in line: the same ufuncs and BLAS calls on the same
operands, so the same bits. It is used only where the function's own path is the plain one:
the NumPy path (no kernels chosen), float arrays below the pool's threshold.

Each writer takes the replay's names for the result and for the arguments (a rule's also for the
incoming gradient and the forward's result), and the recording's values of the arguments; it
returns the lines, or ``None`` to leave the call. The recorder then
runs the lines on the recording's values and keeps them only if they give the function's
result bitwise (``capture._Recorder._inlined``), so a writer that does not match its function
costs speed, never a result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import kernels
from . import pool as _pool

__all__ = ["HELPERS", "forward", "rule"]

#: The functions the written lines call, by the names they use.
HELPERS: dict[str, Any] = {
    "_np_maximum": np.maximum,
    "_np_subtract": np.subtract,
    "_np_add_reduce": np.add.reduce,
    "_np_asarray": np.asarray,
}

#: np.mean's exact arithmetic (one pairwise sum, one division) up to this many elements, as
#: ``ops._reduce_loss`` takes it.
_EXACT_COUNT = 2**24

Writer = Callable[..., "list[str] | None"]


def _plain(values: list[Any]) -> bool:
    """Whether the function's plain NumPy path is the one taken: no kernels, and every array a
    float array below the pool's threshold (no pooled buffers)."""
    if kernels.fused:
        return False
    for v in values:
        if type(v) is np.ndarray:
            if v.dtype.kind != "f" or v.size >= _pool.threshold:
                return False
        elif v is not None:
            return False
    return True


# --------------------------------------------------------------------------- forwards
def _linear(out: str, names: list[str], values: list[Any], kwargs: dict[str, Any],
            new: Callable[[], str]) -> list[str] | None:
    if kwargs or len(values) not in (2, 3) or values[1] is None or values[1].ndim != 2:
        return None
    lines = [f"{out} = {names[0]} @ {names[1]}.T"]  # ops._linear: x @ weight.T (+= bias)
    if len(values) == 3 and values[2] is not None:
        lines.append(f"{out} += {names[2]}")
    return lines


def _relu(out: str, names: list[str], values: list[Any], kwargs: dict[str, Any],
          new: Callable[[], str]) -> list[str] | None:
    return None if kwargs else [f"{out} = _np_maximum({names[0]}, 0)"]


def _mean_of_squares(out: str, diff: str, size: int, dtype: np.dtype) -> list[str] | None:
    if dtype.char not in "fd" or not 0 < size <= _EXACT_COUNT:
        return None
    return [f"{diff} *= {diff}",
            f"{out} = _np_asarray(_np_add_reduce({diff}, axis=None) / {size})"]


def _mse_loss(out: str, names: list[str], values: list[Any], kwargs: dict[str, Any],
              new: Callable[[], str]) -> list[str] | None:
    if len(values) != 2 or kwargs.get("reduction", "mean") != "mean" or set(kwargs) - {"reduction"}:
        return None
    x, y = values
    shape = np.broadcast_shapes(x.shape, y.shape)
    diff = new()
    tail = _mean_of_squares(out, diff, int(np.prod(shape)), np.result_type(x, y))
    return None if tail is None else [f"{diff} = {names[0]} - {names[1]}", *tail]


_FORWARDS: dict[str, Writer] = {"linear": _linear, "relu": _relu, "mse_loss": _mse_loss}


# --------------------------------------------------------------------------- derivative rules
def _linear_rule(index: int, out: str, g: str, ans: str, names: list[str], gv: np.ndarray,
                 values: list[Any], kwargs: dict[str, Any]) -> list[str] | None:
    x, weight = values[0], values[1]
    if kwargs or weight is None or weight.ndim != 2:
        return None
    if index == 0:
        return [f"{out} = {g} @ {names[1]}"]
    if gv.ndim != 2 or (index == 1 and x.ndim != 2):
        return None
    if index == 1:
        return [f"{out} = {g}.T @ {names[0]}"]
    return [f"{out} = _np_add_reduce({g}, axis=0)"]


def _relu_rule(index: int, out: str, g: str, ans: str, names: list[str], gv: np.ndarray,
               values: list[Any], kwargs: dict[str, Any]) -> list[str] | None:
    return None if kwargs else [f"{out} = {g} * ({ans} > 0)"]


def _tanh_rule(index: int, out: str, g: str, ans: str, names: list[str], gv: np.ndarray,
               values: list[Any], kwargs: dict[str, Any]) -> list[str] | None:
    if kwargs or gv.shape != values[0].shape or gv.dtype != values[0].dtype:
        return None
    # g * (1 - ans * ans), the product's operands swapped (IEEE products commute) so that every
    # step writes into the one new array
    return [f"{out} = {ans} * {ans}", f"_np_subtract(1, {out}, out={out})", f"{out} *= {g}"]


def _mse_rule(index: int, out: str, g: str, ans: str, names: list[str], gv: np.ndarray,
              values: list[Any], kwargs: dict[str, Any]) -> list[str] | None:
    if index != 0 or kwargs.get("reduction", "mean") != "mean" or gv.ndim != 0:
        return None
    x, y = values
    size = int(np.prod(np.broadcast_shapes(x.shape, y.shape)))
    # ops._mse_rule: (x - y) * (2 * (g[()] / n))
    return [f"{out} = {names[0]} - {names[1]}", f"{out} *= 2 * ({g}[()] / {size})"]


_RULES: dict[str, Writer] = {"linear": _linear_rule, "relu": _relu_rule, "tanh": _tanh_rule,
                             "mse_loss": _mse_rule}


def forward(op_name: str, out: str, names: list[str], values: list[Any],
            kwargs: dict[str, Any], new: Callable[[], str]) -> list[str] | None:
    """The lines computing ``op_name``'s forward into ``out``, or None (call the function)."""
    writer = _FORWARDS.get(op_name)
    if writer is None or not _plain(values):
        return None
    return writer(out, names, values, kwargs, new)


def rule(op_name: str, index: int, out: str, g: str, ans: str, names: list[str],
         gv: Any, ansv: Any, values: list[Any], kwargs: dict[str, Any]) -> list[str] | None:
    """The lines computing the ``index``-th derivative rule of ``op_name`` into ``out`` (from
    the incoming gradient ``g`` and the forward's result ``ans``), or None (call the rule)."""
    writer = _RULES.get(op_name)
    if writer is None or type(gv) is not np.ndarray or not _plain([gv, ansv, *values]):
        return None
    return writer(index, out, g, ans, names, gv, values, kwargs)
