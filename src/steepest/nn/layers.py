"""Layers: :class:`Linear`, the activations (:class:`PReLU` with a learnable slope),
:class:`Dropout`, the normalisations.

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
from .functional import (
    GELU_APPROXIMATIONS,
    SELU_ALPHA,
    SELU_SCALE,
    _batch_norm,
    _check_prelu_weight,
    _check_trailing,
    _dropout,
    _layer_norm,
    _normalized_shape,
    _prelu,
    hardsigmoid,
    hardswish,
    logsigmoid,
    mish,
    silu,
    softsign,
)
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax",
           "LogSoftmax", "Dropout", "Flatten", "LayerNorm", "BatchNorm1d", "Softplus", "ELU",
           "SELU", "CELU", "SiLU", "Mish", "Softsign", "Hardtanh", "ReLU6", "LogSigmoid",
           "Hardsigmoid", "Hardswish", "PReLU"]

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

    # st.compile guards a module's plain settings; this forward reads only the weight and
    # bias (whose shapes are guarded), not these (a subclass is guarded on all of them again)
    _forward_ignores = ("in_features", "out_features")

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
    """Returns its input unchanged (a placeholder, e.g. for an optional layer).

    Any constructor arguments are accepted and ignored, as by ``torch.nn.Identity``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

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
        self.start_dim = check_int("Flatten", "start_dim", start_dim)
        self.end_dim = check_int("Flatten", "end_dim", end_dim)

    def forward(self, x: Any) -> Any:
        shape = x.shape
        # An axis outside [-n, n) is refused as by torch (a 0-d input counts as one axis):
        # reducing it modulo n silently flattened other axes (Flatten(0, 3) of a 3-D input was
        # the identity).
        n = max(len(shape), 1)
        for name, dim in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -n <= dim < n:
                raise IndexError(f"Flatten: {name}={dim} is out of range [{-n}, {n - 1}] for an "
                                 f"input of shape {shape}")
        start, end = self.start_dim % n, self.end_dim % n
        if not shape:
            return x.reshape((1,))
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for an input of shape {shape}")
        merged = int(np.prod(shape[start:end + 1]))
        return x.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


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


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` axes of each sample, as
    ``torch.nn.LayerNorm`` (Ba, Kiros and Hinton, "Layer normalization", 2016).

    .. math:: y = \frac{x - \mathrm E[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta

    (biased variance); the same in training and evaluation mode.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float, default 1e-5
    elementwise_affine : bool, default True
        Learn :math:`\gamma` (``weight``, ones) and :math:`\beta` (``bias``, zeros).
    bias : bool, default True
        Learn :math:`\beta` (with ``elementwise_affine``).
    dtype : floating-point dtype, default numpy.float32
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps = check_real("LayerNorm", "eps", eps, 0.0, low_open=True)
        self.elementwise_affine = check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        check_bool("LayerNorm", "bias", bias)
        dtype = _float_dtype("LayerNorm", dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        """Normalise ``x`` of shape ``(..., *normalized_shape)``."""
        _check_trailing("LayerNorm", x, self.normalized_shape)
        return _layer_norm(x, len(self.normalized_shape), self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class BatchNorm1d(Module):
    r"""Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs per channel, as
    ``torch.nn.BatchNorm1d`` (Ioffe and Szegedy, "Batch normalization", ICML 2015).

    .. math:: y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta

    In training mode :math:`\mu, \sigma^2` are the batch's per-channel mean and biased
    variance, and the running statistics move towards them:
    :math:`\hat\mu \leftarrow (1 - m)\hat\mu + m\mu`,
    :math:`\hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 + m\,\tfrac{n}{n-1}\sigma^2`
    (unbiased, over the :math:`n` values per channel), with :math:`m` = ``momentum`` or, for
    ``momentum=None``, :math:`1/k` at the :math:`k`-th batch (a cumulative average). In
    evaluation mode (:meth:`~Module.eval`) the running statistics are used and nothing
    changes. A training batch with one value per channel raises, as in PyTorch.

    The buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` (int64) are in
    :meth:`~Module.state_dict` under PyTorch's names, so a torch state dict loads.

    Parameters
    ----------
    num_features : int
        :math:`C`.
    eps : float, default 1e-5
    momentum : float or None, default 0.1
    affine : bool, default True
        Learn :math:`\gamma` (``weight``, ones) and :math:`\beta` (``bias``, zeros).
    track_running_stats : bool, default True
        Keep running statistics; without them batch statistics are used in both modes.
    dtype : floating-point dtype, default numpy.float32
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_features = check_int("BatchNorm1d", "num_features", num_features, low=1)
        self.eps = check_real("BatchNorm1d", "eps", eps, 0.0, low_open=True)
        self.momentum = None if momentum is None else check_real("BatchNorm1d", "momentum",
                                                                 momentum, 0.0, 1.0)
        self.affine = check_bool("BatchNorm1d", "affine", affine)
        self.track_running_stats = check_bool("BatchNorm1d", "track_running_stats",
                                              track_running_stats)
        dtype = _float_dtype("BatchNorm1d", dtype)
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean.fill(0)
            self.running_var.fill(1)
            self.num_batches_tracked.fill(0)

    def forward(self, x: Any) -> Tensor:
        """Normalise ``x`` of shape ``(N, C)`` or ``(N, C, L)``."""
        shape = x.data.shape if isinstance(x, Tensor) else np.shape(x)
        if len(shape) not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected a 2-D (N, C) or 3-D (N, C, L) input, got "
                             f"shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: the input has {shape[1]} channels (axis 1 of shape "
                             f"{shape}); this layer has num_features={self.num_features}")
        use_batch = self.training or not self.track_running_stats
        running = self.training and self.track_running_stats
        if running and not (shape[0] * (shape[2] if len(shape) == 3 else 1) > 1):
            raise ValueError(f"BatchNorm1d: expected more than 1 value per channel when "
                             f"training, got an input of shape {shape}")
        # momentum None: a cumulative average, 1 / num_batches_tracked after counting this batch
        return _batch_norm("BatchNorm1d", x, self.running_mean if running or not use_batch
                           else None, self.running_var if running or not use_batch else None,
                           self.weight, self.bias, use_batch, self.momentum, self.eps,
                           self.num_batches_tracked if running else None)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


# ----------------------------------------------------------------------------- more activations
class Softplus(Module):
    r""":math:`\frac1\beta\log(1 + e^{\beta x})`, and :math:`x` where :math:`\beta x >`
    ``threshold`` (see :func:`steepest.nn.functional.softplus`).

    Parameters
    ----------
    beta : float, default 1.0
        Nonzero.
    threshold : float, default 20.0
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = check_real("Softplus", "beta", beta)
        if self.beta == 0:
            raise ValueError("Softplus: beta must be nonzero, got 0.0")
        self.threshold = check_real("Softplus", "threshold", threshold)

    def forward(self, x: Any) -> Tensor:
        return ops.softplus(x, beta=self.beta, threshold=self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    r""":math:`x` for :math:`x > 0`, :math:`\alpha(e^x - 1)` otherwise (see
    :func:`steepest.nn.functional.elu`).

    Parameters
    ----------
    alpha : float, default 1.0
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_real("ELU", "alpha", alpha)

    def forward(self, x: Any) -> Tensor:
        return ops.elu(x, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    r"""Scaled ELU :math:`\lambda\,\mathrm{ELU}_\alpha(x)` with PyTorch's constants (see
    :func:`steepest.nn.functional.selu`)."""

    def forward(self, x: Any) -> Tensor:
        return ops.elu(x, alpha=SELU_ALPHA, scale=SELU_SCALE)


class CELU(Module):
    r""":math:`\max(0, x) + \min(0, \alpha(e^{x/\alpha} - 1))` (see
    :func:`steepest.nn.functional.celu`).

    Parameters
    ----------
    alpha : float, default 1.0
        Nonzero.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_real("CELU", "alpha", alpha)
        if self.alpha == 0:
            raise ValueError("CELU: alpha must be nonzero (it divides x), got 0.0")

    def forward(self, x: Any) -> Tensor:
        return ops.elu(x, alpha=self.alpha, input_scale=1.0 / self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SiLU(Module):
    r""":math:`x\,\sigma(x)` (swish)."""

    def forward(self, x: Any) -> Tensor:
        return silu(x)


class Mish(Module):
    r""":math:`x \tanh(\mathrm{Softplus}(x))`."""

    def forward(self, x: Any) -> Tensor:
        return mish(x)


class Softsign(Module):
    r""":math:`x / (1 + |x|)`."""

    def forward(self, x: Any) -> Tensor:
        return softsign(x)


class Hardtanh(Module):
    r"""Clip to ``[min_val, max_val]``, gradient 0 at and beyond the bounds (see
    :func:`steepest.nn.functional.hardtanh`).

    Parameters
    ----------
    min_val, max_val : float, default -1.0 and 1.0
        ``min_val < max_val`` (as ``torch.nn.Hardtanh`` asserts).
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        self.min_val = check_real(type(self).__name__, "min_val", min_val)
        self.max_val = check_real(type(self).__name__, "max_val", max_val)
        if not self.max_val > self.min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({self.max_val}) must be greater "
                             f"than min_val ({self.min_val})")

    def forward(self, x: Any) -> Tensor:
        return ops.hardtanh(x, min_val=self.min_val, max_val=self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    r""":math:`\min(\max(0, x), 6)`, gradient 0 at 0 and at 6 (as ``torch.nn.ReLU6``, a
    :class:`~steepest.nn.Hardtanh` on [0, 6])."""

    def __init__(self) -> None:
        super().__init__(0.0, 6.0)

    def extra_repr(self) -> str:
        return ""


class LogSigmoid(Module):
    r""":math:`\log\sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`, stable for any :math:`x`."""

    def forward(self, x: Any) -> Tensor:
        return logsigmoid(x)


class Hardsigmoid(Module):
    r""":math:`\min(\max(x + 3, 0), 6) / 6`."""

    def forward(self, x: Any) -> Tensor:
        return hardsigmoid(x)


class Hardswish(Module):
    r""":math:`x\,\min(\max(x + 3, 0), 6) / 6`."""

    def forward(self, x: Any) -> Tensor:
        return hardswish(x)


class PReLU(Module):
    r"""Parametric ReLU with a learnable slope :math:`a` (He et al., "Delving deep into
    rectifiers", ICCV 2015).

    .. math:: \mathrm{PReLU}(x) = \begin{cases} x & x > 0 \\ a_c\,x & x \le 0 \end{cases}

    with one slope for every element or one per channel (axis 1), as ``torch.nn.PReLU``;
    the parameter ``weight`` has shape ``(num_parameters,)``.

    Parameters
    ----------
    num_parameters : int, default 1
        1, or the number of channels of the input.
    init : float, default 0.25
        The initial slope.
    dtype : floating-point dtype, default numpy.float32
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_parameters = check_int("PReLU", "num_parameters", num_parameters, low=0)
        self.init = check_real("PReLU", "init", init)
        dtype = _float_dtype("PReLU", dtype)
        self.weight = Parameter(np.full(self.num_parameters, self.init, dtype=dtype))

    def reset_parameters(self) -> None:
        """Set every slope back to ``init``."""
        self.weight.data.fill(self.init)

    def forward(self, x: Any) -> Tensor:
        _check_prelu_weight("PReLU", x, self.weight)
        return _prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
