"""Tensor factories as in PyTorch: ``st.zeros``, ``st.randn``, ... (issue 14).

The dtype defaults to float64, steepest's default (NumPy's), where PyTorch's is float32; pass
``dtype=np.float32`` for PyTorch's. ``rand``, ``randn`` and ``randn_like`` draw from the library's
one generator, so that :func:`steepest.manual_seed` makes them reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _random
from .tensor import Tensor, from_numpy

__all__ = ["zeros", "ones", "full", "empty", "eye", "arange", "linspace", "rand", "randn",
           "zeros_like", "ones_like", "randn_like", "from_numpy"]


def _shape(name: str, size: tuple) -> tuple[int, ...]:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else tuple(size)
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
            raise ValueError(f"{name}: sizes must be ints >= 0, got {shape!r}")
    return tuple(int(s) for s in shape)


def _made(array: np.ndarray, requires_grad: bool) -> Tensor:
    out = Tensor._constant(array)  # a fresh array: no copy needed
    out._vc = [0, 0]
    if requires_grad is not False:
        out.requires_grad_(requires_grad)
    return out


def zeros(*size: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size``."""
    return _made(np.zeros(_shape("zeros", size), dtype=dtype), requires_grad)


def ones(*size: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size``."""
    return _made(np.ones(_shape("ones", size), dtype=dtype), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred from it by default)."""
    shape = _shape("full", (size,) if isinstance(size, tuple | list) else (size,))
    if dtype is None:
        dtype = np.float64 if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _made(np.full(shape, fill_value, dtype=dtype), requires_grad)


def empty(*size: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of shape ``size`` (its values are whatever memory held)."""
    return _made(np.empty(_shape("empty", size), dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity (square by default)."""
    rows, cols = _shape("eye", (n, n if m is None else m))
    return _made(np.eye(rows, cols, dtype=dtype), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)`` is ``0..n-1``), as ``torch.arange``."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    return _made(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = np.float64,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    (count,) = _shape("linspace", (steps,))
    return _made(np.linspace(start, end, count, dtype=dtype), requires_grad)


def rand(*size: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the generator :func:`steepest.manual_seed` seeds."""
    values = _random.generator().random(_shape("rand", size))
    return _made(np.asarray(values, dtype=dtype), requires_grad)


def randn(*size: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the generator :func:`steepest.manual_seed` seeds."""
    values = _random.generator().standard_normal(_shape("randn", size))
    return _made(np.asarray(values, dtype=dtype), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype."""
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _made(np.zeros(data.shape, dtype=dtype or data.dtype), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype."""
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _made(np.ones(data.shape, dtype=dtype or data.dtype), requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal values of ``t``'s shape and dtype (seeded by manual_seed)."""
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return randn(*data.shape, dtype=dtype or data.dtype, requires_grad=requires_grad)
