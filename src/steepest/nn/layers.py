"""Layers: :class:`Linear`, the activations, :class:`Dropout`.

Parameters are checked once, in the constructor; ``forward`` only runs the op, because a small
network pays per call (see DESIGN.md, "Engine principles").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff import ops
from ..autodiff.tensor import Tensor
from . import init
from .functional import GELU_APPROXIMATIONS, _dropout
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax",
           "LogSoftmax", "Dropout"]

_linear = ops.linear
_relu = ops.relu
_tanh = ops.tanh
_sigmoid = ops.sigmoid


class Linear(Module):
    r"""Affine layer :math:`y = x W^T + b`, one fused op forward and backward.

    The weight :math:`W` has shape ``(out_features, in_features)`` (PyTorch's layout) and both
    :math:`W` and :math:`b` start from PyTorch's default distribution,
    :math:`U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})` (``kaiming_uniform_`` with
    :math:`a = \sqrt 5`), drawn from the library generator (see :func:`steepest.manual_seed`).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample (at least 1).
    bias : bool, default True
        Learn an additive bias.
    dtype : floating-point dtype, default numpy.float32

    Notes
    -----
    An input of another floating dtype is not converted: NumPy's promotion applies (a float64
    batch through a float32 layer gives float64 outputs, and float32 gradients for the layer).

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import nn
    >>> layer = nn.Linear(3, 2)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    >>> layer(np.ones((5, 3), dtype=np.float32)).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = check_int("Linear", "in_features", in_features, low=1)
        self.out_features = check_int("Linear", "out_features", out_features, low=1)
        check_bool("Linear", "bias", bias)
        dtype = _float_dtype("Linear", dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights from PyTorch's default distribution (weight first, then bias)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        """``x @ weight.T + bias`` for ``x`` of shape ``(..., in_features)``."""
        return _linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _float_dtype(owner: str, dtype: Any) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: dtype must be a NumPy floating-point dtype, got "
                        f"{dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"{owner}: dtype must be a floating-point dtype (float32, float64), "
                        f"got {dtype}")
    return dtype


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for an optional layer)."""

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flatten the axes ``start_dim`` to ``end_dim`` into one (as ``torch.nn.Flatten``; by
    default every axis but the batch axis).

    Parameters
    ----------
    start_dim, end_dim : int, default 1 and -1
        The first and last axis merged (negative counts from the end).

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> st.nn.Flatten()(st.tensor(np.zeros((2, 3, 4)))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Any:
        shape = x.shape
        start = self.start_dim % len(shape) if shape else 0
        end = self.end_dim % len(shape) if shape else 0
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for an input of shape {shape}")
        merged = int(np.prod(shape[start:end + 1]))
        return x.reshape(shape[:start] + (merged,) + shape[end + 1:])


class ReLU(Module):
    r"""Rectified linear unit :math:`\max(x, 0)` (gradient 0 at 0, as in PyTorch)."""

    def forward(self, x: Any) -> Tensor:
        return _relu(x)


class LeakyReLU(Module):
    r""":math:`x` for :math:`x > 0`, :math:`\text{negative\_slope} \cdot x` otherwise.

    Parameters
    ----------
    negative_slope : float, default 0.01
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Any) -> Tensor:
        return ops.leaky_relu(x, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, x: Any) -> Tensor:
        return _tanh(x)


class Sigmoid(Module):
    r"""Logistic function :math:`1 / (1 + e^{-x})`."""

    def forward(self, x: Any) -> Tensor:
        return _sigmoid(x)


class GELU(Module):
    r"""Gaussian error linear unit :math:`x\,\Phi(x)`: see :func:`steepest.nn.functional.gelu`.

    Parameters
    ----------
    approximate : {"none", "tanh"}, default "none"
        ``"none"`` is the exact erf form (PyTorch's default).
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice("GELU", "approximate", approximate, GELU_APPROXIMATIONS)

    def forward(self, x: Any) -> Tensor:
        return ops.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    Parameters
    ----------
    dim : int, default -1
        The axis that sums to one.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = check_int("Softmax", "dim", dim)

    def forward(self, x: Any) -> Tensor:
        return ops.softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    r""":math:`x_i - \log\sum_j e^{x_j}` along ``dim`` (stable).

    Parameters
    ----------
    dim : int, default -1
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = check_int("LogSoftmax", "dim", dim)

    def forward(self, x: Any) -> Tensor:
        return ops.log_softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    r"""Inverted dropout in training mode, the identity in evaluation mode.

    .. math:: y = x \odot m / (1 - p), \quad m_i \sim \mathrm{Bernoulli}(1 - p)

    Masks come from the library generator, so ``st.manual_seed`` makes them reproducible.
    Reference: Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 2014.

    Parameters
    ----------
    p : float in [0, 1), default 0.5
        Probability of zeroing each element.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_real("Dropout", "p", p, 0.0, 1.0, high_open=True)

    def forward(self, x: Any) -> Any:
        return _dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
