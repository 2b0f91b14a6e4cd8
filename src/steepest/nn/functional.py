"""Layers and losses as functions (the analogue of ``torch.nn.functional``).

Each function checks its parameters and runs the fused op of :mod:`steepest.autodiff.ops`
(``linear``, ``cross_entropy``, ``bce_with_logits``, ``mse_loss``, ``gelu``) so that forward
and backward are one NumPy computation each. Inputs may be Tensors or arrays; class targets may
be NumPy integer arrays, lists or Tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import generator
from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff import ops
from ..autodiff.tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "log_softmax", "erf",
    "dropout", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
]

REDUCTIONS = ("mean", "sum", "none")
GELU_APPROXIMATIONS = ("none", "tanh")


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    r"""Affine map :math:`y = x W^T + b` in one op, with ``weight`` of shape ``(out, in)``.

    Parameters
    ----------
    input : Tensor or array, shape ``(..., in)``
    weight : Tensor or array, shape ``(out, in)``
    bias : Tensor or array, shape ``(out,)``, optional
    """
    return ops.linear(input, weight, bias)


def relu(input: Any) -> Tensor:
    r""":math:`\max(x, 0)`; the gradient at 0 is 0, as in PyTorch."""
    return ops.relu(input)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:
    r""":math:`x` where :math:`x > 0`, else :math:`\text{negative\_slope} \cdot x`."""
    slope = check_real("leaky_relu", "negative_slope", negative_slope)
    return ops.leaky_relu(input, negative_slope=slope)


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return ops.tanh(input)


def sigmoid(input: Any) -> Tensor:
    r"""Logistic function :math:`1 / (1 + e^{-x})`, without overflow for large :math:`|x|`."""
    return ops.sigmoid(input)


def erf(input: Any) -> Tensor:
    r"""The error function :math:`\frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt`, accurate to 1e-15."""
    return ops.erf(input)


def gelu(input: Any, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit.

    .. math:: \mathrm{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}(x/\sqrt2)\right)

    or, with ``approximate="tanh"``,
    :math:`\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715 x^3)\right)\right)`.

    Reference: Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", 2016.

    Parameters
    ----------
    approximate : {"none", "tanh"}
    """
    check_choice("gelu", "approximate", approximate, GELU_APPROXIMATIONS)
    return ops.gelu(input, approximate=approximate)


def softmax(input: Any, dim: int = -1) -> Tensor:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``dim``."""
    return ops.softmax(input, axis=check_int("softmax", "dim", dim))


def log_softmax(input: Any, dim: int = -1) -> Tensor:
    r""":math:`x_i - \log\sum_j e^{x_j}` along ``dim``, stable for inputs of any magnitude."""
    return ops.log_softmax(input, axis=check_int("log_softmax", "dim", dim))


def dropout(input: Any, p: float = 0.5, training: bool = True) -> Tensor:
    r"""Inverted dropout: zero each element with probability ``p``, scale the rest by
    :math:`1/(1-p)` so that the expected value is unchanged; the identity when not training.

    .. math:: y = x \odot m / (1 - p), \quad m_i \sim \mathrm{Bernoulli}(1 - p)

    The mask is drawn from the library generator (see :func:`steepest.manual_seed`).
    Reference: Srivastava et al., "Dropout", JMLR 2014.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of zeroing an element.
    training : bool, default True
    """
    p = check_real("dropout", "p", p, 0.0, 1.0, high_open=True)
    check_bool("dropout", "training", training)
    return _dropout(input, p, training)


def _dropout(input: Any, p: float, training: bool) -> Any:
    if not training or p == 0.0:
        return input
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    keep = generator().random(data.shape, dtype=draw_dtype) >= p
    mask = keep * dtype.type(1.0 / (1.0 - p))
    return ops.mul(input, mask)


def _shape(x: Any) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)  # np.shape alone costs ~1 us


def _check_same_shape(owner: str, input: Any, target: Any) -> None:
    # Broadcasting a (n, 1) prediction against an (n,) target silently averages n*n errors;
    # refuse it instead.
    if _shape(input) != _shape(target):
        raise ValueError(f"{owner}: input shape {_shape(input)} and target shape "
                         f"{_shape(target)} differ; reshape one of them (e.g. "
                         f"target.reshape(input.shape))")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    r"""Mean squared error.

    .. math:: \ell_i = (x_i - y_i)^2, \quad \text{reduced by mean (default), sum or none}

    Parameters
    ----------
    input, target : Tensor or array of one shape
    reduction : {"mean", "sum", "none"}
    """
    check_choice("mse_loss", "reduction", reduction, REDUCTIONS)
    _check_same_shape("mse_loss", input, target)
    return ops.mse_loss(input, target, reduction=reduction)


def cross_entropy(input: Any, target: Any, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    r"""Softmax cross-entropy of logits against class indices (or class probabilities).

    .. math:: \ell_i = -\log \frac{e^{x_{i,y_i}}}{\sum_c e^{x_{i,c}}}
                     = \log\sum_c e^{x_{i,c}} - x_{i,y_i}

    computed through a log-sum-exp shifted by the maximum, so logits of any size are safe.
    With label smoothing :math:`\varepsilon` the target distribution is
    :math:`(1 - \varepsilon)\,\mathrm{onehot}(y_i) + \varepsilon / C`.

    Parameters
    ----------
    input : Tensor or array, shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``
        Logits, with the class axis 1 (or 0 for a single sample), as in PyTorch.
    target : integer array or Tensor, shape ``(N,)``, ``()`` or ``(N, d1, ...)``
        Class indices in ``[0, C)``; or float class probabilities of ``input``'s shape.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]
    """
    check_choice("cross_entropy", "reduction", reduction, REDUCTIONS)
    smoothing = check_real("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    return _cross_entropy(input, target, reduction, smoothing)


def _cross_entropy(input: Any, target: Any, reduction: str, label_smoothing: float) -> Tensor:
    if np.ndim(input) > 2:  # PyTorch puts the classes on axis 1; the op wants them last
        input = ops.transpose(input, axes=(0, *range(2, np.ndim(input)), 1))
        target = _classes_last(target, np.ndim(input))
    if label_smoothing:
        target = _smoothed(input, target, label_smoothing)
    return ops.cross_entropy(input, target, reduction=reduction)


def _classes_last(target: Any, ndim: int) -> Any:
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target.ndim == ndim and target.dtype.kind == "f":  # probabilities: move their class axis
        return np.moveaxis(target, 1, -1)
    return target


def _smoothed(logits: Any, target: Any, smoothing: float) -> np.ndarray:
    """The smoothed class distribution for the (class-axis-last) logits."""
    data = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    classes = data.shape[-1]
    if target.shape == data.shape and target.dtype.kind == "f":
        probabilities = target
    else:
        if target.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: class targets must be integers, got dtype "
                            f"{target.dtype}")
        if target.shape != data.shape[:-1]:
            raise ValueError(f"cross_entropy: targets of shape {target.shape} do not match logits "
                             f"of shape {data.shape} (expected {data.shape[:-1]})")
        if target.size and (target.min() < 0 or target.max() >= classes):
            raise ValueError(f"cross_entropy: class targets must be in [0, {classes}), got "
                             f"values from {target.min()} to {target.max()}")
        probabilities = np.eye(classes, dtype=data.dtype)[target]
    return probabilities * (1.0 - smoothing) + smoothing / classes


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    r"""Binary cross-entropy of :math:`\sigma(x)` against targets :math:`y \in [0, 1]`.

    .. math:: \ell_i = -\left[p\, y_i \log\sigma(x_i) + (1 - y_i)\log(1 - \sigma(x_i))\right]

    with :math:`p` the ``pos_weight`` (1 by default), computed from the logits without
    forming :math:`\sigma(x)`, so that no exponential overflows.

    Parameters
    ----------
    input : Tensor or array
        Logits.
    target : Tensor or array of ``input``'s shape
        Probabilities (usually 0 or 1).
    reduction : {"mean", "sum", "none"}
    pos_weight : array_like, optional
        Weight of the positive term, broadcast along the last axis (one per class).
    """
    owner = "binary_cross_entropy_with_logits"
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    _check_same_shape(owner, input, target)
    if pos_weight is not None:
        pos_weight = _pos_weight_array(owner, pos_weight)
        _check_pos_weight_fits(owner, pos_weight, input)
    return _bce_with_logits(input, target, reduction, pos_weight)


def _pos_weight_array(owner: str, pos_weight: Any) -> np.ndarray:
    weight = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight)
    if weight.dtype.kind not in "iuf" or weight.ndim > 1 or weight.size == 0:
        raise ValueError(f"{owner}: pos_weight must be a number or a non-empty 1-D array of "
                         f"numbers, got {pos_weight!r}")
    if not (np.isfinite(weight).all() and (weight >= 0).all()):
        raise ValueError(f"{owner}: pos_weight must be finite and >= 0, got {pos_weight!r}")
    return weight


def _check_pos_weight_fits(owner: str, pos_weight: np.ndarray, input: Any) -> None:
    # One weight per class along the last axis (or a single weight): refuse anything else here,
    # with the parameter named, rather than as a broadcasting error inside the engine.
    shape = _shape(input)
    classes = shape[-1] if shape else 1
    if pos_weight.ndim == 1 and pos_weight.size not in (1, classes):
        raise ValueError(f"{owner}: pos_weight has {pos_weight.size} entries but the input has "
                         f"{classes} along its last axis (shape {shape}); give one weight per "
                         f"class or a single number")


def _bce_with_logits(input: Any, target: Any, reduction: str, pos_weight: Any) -> Tensor:
    if pos_weight is None:
        return ops.bce_with_logits(input, target, reduction=reduction)
    # l = (1 - y) x + (1 + (p - 1) y) softplus(-x)  =  bce(x, y) + (p - 1) y softplus(-x),
    # and softplus(-x) is bce(x, 1): both terms go through the stable fused op.
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    extra_weight = pos_weight.astype(dtype) - 1
    softplus_minus_x = ops.bce_with_logits(input, np.ones(data.shape, dtype), reduction="none")
    losses = (ops.bce_with_logits(input, target, reduction="none")
              + softplus_minus_x * target * extra_weight)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses
