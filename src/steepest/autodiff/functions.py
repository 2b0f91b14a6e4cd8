"""The public functions of the engine (``st.sum``, ``st.softmax``, ...) with their signatures.

Each is a thin wrapper that passes parameters to its op in :mod:`.ops` by keyword, so that
``st.sum(x, 1)`` and ``st.concatenate([a, b])`` read as they do in NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_int
from . import ops
from .ops import abs, cos, exp, log, matmul, maximum, minimum, relu, sigmoid, sin, sqrt, tanh
from .tensor import Tensor

__all__ = [
    "abs", "cos", "exp", "log", "matmul", "maximum", "minimum", "relu", "sigmoid", "sin", "sqrt",
    "tanh", "sum", "mean", "max", "min", "reshape", "transpose", "where", "clip", "softmax",
    "log_softmax", "logsumexp", "concatenate", "stack", "leaky_relu",
]

Axis = int | Sequence[int] | None


def _axis(axis: Axis) -> int | tuple[int, ...] | None:
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes by default)."""
    return ops.sum(x, axis=_axis(axis), keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    return ops.mean(x, axis=_axis(axis), keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``. Ties share the gradient evenly: k equal maxima get g/k each."""
    return ops.max(x, axis=_axis(axis), keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``. Ties share the gradient evenly: k equal minima get g/k each."""
    return ops.min(x, axis=_axis(axis), keepdims=keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    r""":math:`\log \sum_i e^{x_i}` over ``axis``, computed after subtracting the maximum."""
    return ops.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


def softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``axis`` (an int, as torch's ``dim``)."""
    return ops.softmax(x, axis=check_int("softmax", "axis", axis))


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`x_i - \log \sum_j e^{x_j}` along ``axis``, stable for inputs of any magnitude."""
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
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    return ops.clip(x, min=min, max=max)


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
