"""PyTorch's tensor protocol on :class:`~steepest.Tensor` (issue 14): the methods made of ops.

Iteration over the first axis, shape methods (``view unsqueeze squeeze flatten permute expand``),
``pow norm std var cumsum prod argmax argmin`` and dtype/device conversion. Each is written with
the primitive ops of :mod:`.ops`, so each has the gradient of the ops it is made of; the ops
with rules of their own (``expand``, ``norm``, ``cumsum``, ``prod``, ``cast``) are blocks there,
covered by the gradient check of every registered op.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import functions, ops
from .tensor import Tensor

__all__ = ["install"]

_DEVICES = ("cpu",)
_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64, "float": np.float32,
                 "double": np.float64, "float16": np.float16, "half": np.float16}


def _sizes(args: tuple) -> tuple[int, ...]:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else tuple(args)


def _dim(t: Tensor, dim: Any, name: str, extra: int = 0) -> int:
    """Check an axis of ``t`` (``extra`` more allowed, for unsqueeze) and make it non-negative."""
    n = t.ndim + extra
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not -max(n, 1) <= dim < max(n, 1):
        raise IndexError(f"{name}: dim must be an int in [{-max(n, 1)}, {max(n, 1) - 1}] for a "
                         f"tensor of shape {t.shape}, got {dim!r}")
    return int(dim) % max(n, 1)


def __iter__(self: Tensor) -> Iterator[Tensor]:
    """Iterate over the first axis (each row keeps its gradient), as ``torch.Tensor``."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(len(self)))


def view(self: Tensor, *shape: Any) -> Tensor:
    """The same values in another shape (one size may be -1); as ``torch.Tensor.view``."""
    sizes = _sizes(shape)
    known = math.prod(s for s in sizes if s != -1)
    free = sum(1 for s in sizes if s == -1)
    fits = (known == self.size) if free == 0 else (free == 1 and known > 0 and self.size % known == 0)
    if not fits or any((not isinstance(s, int | np.integer)) or s < -1 for s in sizes):
        raise ValueError(f"view: shape {sizes} is invalid for a tensor of shape {self.shape} "
                         f"({self.size} elements)")
    return ops.reshape(self, shape=sizes)


def unsqueeze(self: Tensor, dim: int) -> Tensor:
    """Insert an axis of length 1 at ``dim``."""
    dim = _dim(self, dim, "unsqueeze", extra=1)
    return ops.reshape(self, shape=self.shape[:dim] + (1,) + self.shape[dim:])


def squeeze(self: Tensor, dim: int | None = None) -> Tensor:
    """Remove axes of length 1 (only ``dim`` if given; a longer one is kept, as PyTorch)."""
    if dim is None:
        return ops.reshape(self, shape=tuple(s for s in self.shape if s != 1))
    if self.ndim == 0:
        return ops.reshape(self, shape=())
    dim = _dim(self, dim, "squeeze")
    if self.shape[dim] != 1:
        return ops.reshape(self, shape=self.shape)
    return ops.reshape(self, shape=self.shape[:dim] + self.shape[dim + 1:])


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim..end_dim`` into one."""
    if self.ndim == 0:
        return ops.reshape(self, shape=(1,))
    start, end = _dim(self, start_dim, "flatten"), _dim(self, end_dim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
                         f"{self.shape}")
    merged = math.prod(self.shape[start:end + 1])
    return ops.reshape(self, shape=self.shape[:start] + (merged,) + self.shape[end + 1:])


def permute(self: Tensor, *dims: Any) -> Tensor:
    """Reorder the axes: axis ``i`` of the result is axis ``dims[i]`` of this tensor."""
    order = _sizes(dims)
    if sorted(_dim(self, d, "permute") for d in order) != list(range(self.ndim)):
        raise ValueError(f"permute: dims {order} are not a permutation of the {self.ndim} axes of "
                         f"shape {self.shape}")
    return ops.transpose(self, axes=order)


def expand(self: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` (-1 keeps an axis); a view, as ``torch.Tensor.expand``."""
    sizes = _sizes(sizes)
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {self.shape}")
    target = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return ops.expand(self, shape=target)


def pow(self: Tensor, exponent: Any) -> Tensor:
    return ops.pow(self, exponent)


def norm(self: Tensor, p: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    r"""The vector :math:`p`-norm over ``dim`` (all elements by default), p in {1, 2, inf}.

    Its gradient at a zero norm is 0 (as PyTorch), where :math:`x / \lVert x\rVert_2` is 0/0.
    """
    if p in ("fro",):
        p = 2
    if p not in (1, 2, math.inf):
        raise ValueError(f"norm: p must be 1, 2 or inf, got {p!r}")
    return ops.norm(self, p=p, axis=tuple(dim) if isinstance(dim, list) else dim, keepdims=keepdim)


def var(self: Tensor, dim: Any = None, *, correction: int = 1, keepdim: bool = False) -> Tensor:
    r"""Variance over ``dim`` with PyTorch's default ``correction=1`` (Bessel's correction).

    .. math:: \operatorname{var}(x) = \frac{1}{\max(0,\, N - c)} \sum_i (x_i - \bar x)^2

    NumPy's ``np.var`` defaults to ``ddof=0`` (c = 0, the biased estimate): ``t.var()`` is
    ``np.var(t.data, ddof=1)``, and ``t.var(correction=0)`` is ``np.var(t.data)``.

    Where :math:`N - c \le 0` (one element with the default correction, say) the divisor is 0,
    as in PyTorch: the variance is ``inf``, or ``nan`` where every deviation is 0, and so is
    its gradient (see ``_var_without_dof``).
    """
    axis, dof = _dof(self, dim, correction)
    if dof <= 0:
        return _var_without_dof(self, axis, keepdim)
    centred = self - ops.mean(self, axis=axis, keepdims=True)
    total = ops.sum(centred * centred, axis=axis, keepdims=keepdim)
    return total / dof


def std(self: Tensor, dim: Any = None, *, correction: int = 1, keepdim: bool = False) -> Tensor:
    r"""Standard deviation, :math:`\lVert x - \bar x \rVert_2 / \sqrt{N - c}` (the square root
    of :func:`var`); ``correction=1`` by default as in PyTorch.

    Written through the norm so that its gradient is 0 where every deviation is 0, as in
    PyTorch (``sqrt(var)`` would give 0/0 there). Where :math:`N - c \le 0` it is the square
    root of :func:`var` (``inf`` or ``nan``), with a ``nan`` gradient, as in PyTorch.
    """
    axis, dof = _dof(self, dim, correction)
    if dof <= 0:
        return ops.sqrt(_var_without_dof(self, axis, keepdim))
    centred = self - ops.mean(self, axis=axis, keepdims=True)
    norm = ops.norm(centred, p=2, axis=axis, keepdims=keepdim)
    return norm / math.sqrt(dof)


def _dof(self: Tensor, dim: Any, correction: int) -> tuple[Any, int]:
    """The axis of a var or std and its degrees of freedom N - c."""
    axis = tuple(dim) if isinstance(dim, list) else dim
    count = self.size if axis is None or self.ndim == 0 else math.prod(
        self.shape[a] for a in ((axis,) if isinstance(axis, int) else axis))
    return axis, count - correction


def _var_without_dof(self: Tensor, axis: Any, keepdim: bool) -> Tensor:
    r"""PyTorch's variance where :math:`N - c \le 0`: the sum of squares over
    :math:`\max(0, N - c) = 0`, so ``inf`` (``nan`` where the sum is 0), with PyTorch's
    gradients (``torch.autograd`` 2.13, ``var_backward``):

    - over all elements (``dim=None``, or a 0-d tensor): :math:`g \cdot \infty` where
      :math:`x_i \ne \bar x` whatever the sign of the deviation, ``nan`` where
      :math:`x_i = \bar x`;
    - along ``dim``: :math:`(2 / 0)\, g\, (x_i - \bar x)`, so :math:`\pm\infty` by the sign of
      :math:`g (x_i - \bar x)`, ``nan`` where it is 0. PyTorch's gradient there divides by the
      unclamped :math:`N - c`, so that with :math:`c > N` it is finite (and of the opposite
      sign) for a variance that is ``inf``; here the divisor is 0 there too, as in its forward.

    Neither has a term through the mean (PyTorch's formula leaves it out: the deviations sum
    to 0 where the divisor is not 0), so the mean is a constant here: through it, the
    infinite gradients of the deviations would cancel to ``nan`` everywhere.
    """
    centred = self - ops.mean(self.detach(), axis=axis, keepdims=True)
    if axis is None or self.ndim == 0:
        size = ops.abs(centred.detach())  # |x - mean|, a constant
        # the value |x - mean| again, with a gradient of 1: its square is size * size, its
        # gradient (g * inf) * size, without the sign of the deviation
        squares = ((self - self.detach()) + size) * size
    else:
        squares = centred * centred
    with np.errstate(invalid="ignore"):  # 0 * inf: the nan of a sum of squares of 0
        return ops.sum(squares, axis=axis, keepdims=keepdim) * math.inf


def cumsum(self: Tensor, dim: int) -> Tensor:
    """Cumulative sums along ``dim``."""
    axis = _dim(self, dim, "cumsum")
    if self.ndim == 0:  # np.cumsum would give shape (1,); PyTorch keeps the scalar's shape ()
        return ops.reshape(ops.cumsum(ops.reshape(self, shape=(1,)), axis=0), shape=())
    return ops.cumsum(self, axis=axis)


def prod(self: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Product over ``dim`` (all elements by default); its gradient is exact at zeros."""
    axis = None if dim is None else _dim(self, dim, "prod")
    return ops.prod(self, axis=axis, keepdims=keepdim)


def argmax(self: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest entry (of the flattened tensor without ``dim``); no gradient."""
    if dim is None:
        return Tensor._constant(np.asarray(np.argmax(self.data)))
    return Tensor._constant(np.argmax(self.data, axis=_dim(self, dim, "argmax"), keepdims=keepdim))


def argmin(self: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest entry (of the flattened tensor without ``dim``); no gradient."""
    if dim is None:
        return Tensor._constant(np.asarray(np.argmin(self.data)))
    return Tensor._constant(np.argmin(self.data, axis=_dim(self, dim, "argmin"), keepdims=keepdim))


def _as_dtype(self: Tensor, dtype: Any) -> Tensor:
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if self.requires_grad and dtype.kind not in "fc":
        raise TypeError(f"to: a tensor that requires grad can only become floating point, got {dtype}")
    return ops.cast(self, dtype=dtype)


def to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``to(dtype)``, ``to("cpu")`` (a no-op) or ``to("cpu", dtype)``; other devices are refused."""
    for arg in args:
        if isinstance(arg, str) and arg.split(":")[0] not in _FLOAT_DTYPES:
            device = arg
        else:
            dtype = arg
    if device is not None:
        name = str(device)
        if name.split(":")[0] not in _DEVICES:
            raise ValueError(f"to: steepest runs on the CPU only (NumPy); device {name!r} is not "
                             f"available, use 'cpu'")
    if dtype is None:
        return self
    return _as_dtype(self, _FLOAT_DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)


def float_(self: Tensor) -> Tensor:
    """A float32 copy (``self`` if already float32), with a gradient, as ``torch.Tensor.float``."""
    return _as_dtype(self, np.float32)


def double(self: Tensor) -> Tensor:
    """A float64 copy (``self`` if already float64), with a gradient."""
    return _as_dtype(self, np.float64)


def cpu(self: Tensor) -> Tensor:
    """``self``: every tensor lives on the CPU."""
    return self


def install() -> None:
    """Attach the protocol's methods to :class:`Tensor`."""
    methods = {"__iter__": __iter__, "view": view, "unsqueeze": unsqueeze, "squeeze": squeeze,
               "flatten": flatten, "permute": permute, "expand": expand, "pow": pow, "norm": norm,
               "var": var, "std": std, "cumsum": cumsum, "prod": prod, "argmax": argmax,
               "argmin": argmin, "to": to, "float": float_, "double": double, "cpu": cpu,
               "dim": lambda self: self.ndim, "numel": lambda self: self.size,
               # the reductions take NumPy's axis/keepdims and PyTorch's dim/keepdim alike
               **{name: getattr(functions, name) for name in (
                   "sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax")}}
    for name, method in methods.items():
        setattr(Tensor, name, method)

