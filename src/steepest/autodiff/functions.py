"""The public functions of the engine (``st.sum``, ``st.softmax``, ...) with their signatures.

Each is a thin wrapper that passes parameters to its op in :mod:`.ops` by keyword, so that
``st.sum(x, 1)`` and ``st.concatenate([a, b])`` read as they do in NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_int
from . import ops
from .ops import abs, cos, exp, log, matmul, maximum, minimum, relu, sigmoid, sin, sqrt, tanh
from .tensor import Tensor

__all__ = [
    "abs", "cos", "exp", "log", "matmul", "maximum", "minimum", "relu", "sigmoid", "sin", "sqrt",
    "tanh", "sum", "mean", "max", "min", "reshape", "transpose", "where", "clip", "softmax",
    "log_softmax", "logsumexp", "concatenate", "stack", "leaky_relu", "MaxMin",
]

Axis = int | Sequence[int] | None


def _axis(axis: Axis) -> int | tuple[int, ...] | None:
    return tuple(axis) if isinstance(axis, list) else axis


#: The default axis of softmax and log_softmax, the last; a sentinel so that an axis given
#: next to PyTorch's dim= is refused (and axis=None stays an error, not "all axes" as in SciPy).
_LAST: Any = type("Last", (), {"__repr__": lambda self: "-1"})()


class MaxMin(NamedTuple):
    """``x.max(dim=d)`` / ``x.min(dim=d)``: the values and their indices along ``d``, as
    ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


def _torch_spelling(who: str, axis: Axis, keepdims: bool, dim: Axis, keepdim: bool | None,
                    ) -> tuple[Axis, bool]:
    """The axis and keepdims of a reduction given in NumPy's spelling (``axis``, ``keepdims``)
    or in PyTorch's (``dim``, ``keepdim``); both at once would be ambiguous."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{who}: give axis= (NumPy's name) or dim= (PyTorch's), not both")
        axis = dim
    if keepdim is not None:
        if keepdims is not False:
            raise TypeError(f"{who}: give keepdims= (NumPy's name) or keepdim= (PyTorch's), "
                            "not both")
        keepdims = keepdim
    return axis, keepdims


def sum(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None) -> Tensor:
    """Sum over ``axis`` (all axes by default); ``dim``/``keepdim`` are PyTorch's names."""
    if dim is not None or keepdim is not None:
        axis, keepdims = _torch_spelling("sum", axis, keepdims, dim, keepdim)
    return ops.sum(x, axis=_axis(axis), keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
         keepdim: bool | None = None) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default); ``dim``/``keepdim`` as in PyTorch."""
    if dim is not None or keepdim is not None:
        axis, keepdims = _torch_spelling("mean", axis, keepdims, dim, keepdim)
    return ops.mean(x, axis=_axis(axis), keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None) -> Tensor | MaxMin:
    """Maximum over ``axis``. Ties share the gradient evenly: k equal maxima get g/k each.

    With PyTorch's ``dim=`` it is ``torch.max(x, dim)``: a :class:`MaxMin` of the values and
    their indices (the first maximum along ``dim``), the gradient going to that entry alone.
    """
    if dim is None:
        if keepdim is not None:
            axis, keepdims = _torch_spelling("max", axis, keepdims, None, keepdim)
        return ops.max(x, axis=_axis(axis), keepdims=keepdims)
    return _extreme_along("max", np.argmax, x, axis, keepdims, dim, keepdim)


def min(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None) -> Tensor | MaxMin:
    """Minimum over ``axis``. Ties share the gradient evenly: k equal minima get g/k each.

    With PyTorch's ``dim=`` it is ``torch.min(x, dim)``: a :class:`MaxMin` of the values and
    their indices (the first minimum along ``dim``), the gradient going to that entry alone.
    """
    if dim is None:
        if keepdim is not None:
            axis, keepdims = _torch_spelling("min", axis, keepdims, None, keepdim)
        return ops.min(x, axis=_axis(axis), keepdims=keepdims)
    return _extreme_along("min", np.argmin, x, axis, keepdims, dim, keepdim)


def _extreme_along(who: str, arg: Any, x: Any, axis: Axis, keepdims: bool, dim: Any,
                   keepdim: bool | None) -> MaxMin:
    """PyTorch's ``max(dim)``/``min(dim)``: the entries that ``arg`` (argmax or argmin) picks
    along one axis, taken by indexing so that only they receive the gradient."""
    axis, keepdims = _torch_spelling(who, axis, keepdims, dim, keepdim)
    x = x if isinstance(x, Tensor) else Tensor(x)
    axis = check_int(who, "dim", axis)
    if not -x.ndim <= axis < x.ndim:
        raise IndexError(f"{who}: dim must be in [{-x.ndim}, {x.ndim - 1}] for a tensor of "
                         f"shape {x.shape}, got {axis}")
    axis %= x.ndim
    if x.shape[axis] == 0:
        raise IndexError(f"{who}: dim {axis} of a tensor of shape {x.shape} is empty; it has "
                         "no maximum or minimum")
    indices = arg(x.data, axis=axis, keepdims=True)
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = indices
    values = x[tuple(grid)]
    if not keepdims:
        values, indices = ops.reshape(values, shape=_without(values.shape, axis)), \
            np.squeeze(indices, axis=axis)
    return MaxMin(values, Tensor._constant(np.asarray(indices)))


def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1:]


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
              keepdim: bool | None = None) -> Tensor:
    r""":math:`\log \sum_i e^{x_i}` over ``axis``, computed after subtracting the maximum;
    ``dim``/``keepdim`` are PyTorch's names."""
    if dim is not None or keepdim is not None:
        axis, keepdims = _torch_spelling("logsumexp", axis, keepdims, dim, keepdim)
    return ops.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


def softmax(x: Any, axis: Any = _LAST, *, dim: int | None = None) -> Tensor:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``axis``, the last by default (``dim`` is
    PyTorch's name)."""
    if dim is not None:
        axis, _ = _torch_spelling("softmax", None if axis is _LAST else axis, False, dim, None)
    axis = -1 if axis is _LAST else axis
    return ops.softmax(x, axis=check_int("softmax", "axis", axis))


def log_softmax(x: Any, axis: Any = _LAST, *, dim: int | None = None) -> Tensor:
    r""":math:`x_i - \log \sum_j e^{x_j}` along ``axis``, stable for inputs of any magnitude;
    ``axis`` is the last by default (``dim`` is PyTorch's name)."""
    if dim is not None:
        axis, _ = _torch_spelling("log_softmax", None if axis is _LAST else axis, False, dim, None)
    axis = -1 if axis is _LAST else axis
    return ops.log_softmax(x, axis=check_int("log_softmax", "axis", axis))


def _check_sequence(who: str, tensors: Any) -> None:
    if isinstance(tensors, Tensor | np.ndarray) or not hasattr(tensors, "__len__"):
        raise TypeError(f"{who}: tensors must be a sequence (list or tuple) of tensors, got "
                        f"{type(tensors).__name__}")


def reshape(x: Any, shape: int | Sequence[int]) -> Tensor:
    """The same values in a new shape (one entry may be -1)."""
    return ops.reshape(x, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them by default)."""
    return ops.transpose(x, axes=None if axes is None else tuple(axes))


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise ``x`` where ``condition`` holds, else ``y``; the condition gets no gradient."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return ops.where(condition, x, y)


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``.

    The bounds are numbers, arrays or Tensors that do not require grad: they get no gradient.
    """
    return ops.clip(x, min=ops._clip_bound("min", min), max=ops._clip_bound("max", max))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    _check_sequence("concatenate", tensors)
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return ops.concatenate(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    _check_sequence("stack", tensors)
    if len(tensors) == 0:
        raise ValueError("stack needs at least one tensor")
    return ops.stack(*tensors, axis=axis)
