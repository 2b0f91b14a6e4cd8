"""Layers and losses as functions (the analogue of ``torch.nn.functional``).

Each function checks its parameters and runs the fused op of :mod:`steepest.autodiff.ops`
(``linear``, ``cross_entropy``, ``bce_with_logits``, ``mse_loss``, ``gelu``, ``softplus``,
``elu``, ``hardtanh``, ``binary_cross_entropy``) so that forward and backward are one NumPy
computation each, or composes ops where that form is stable and exact (``silu``,
``logsigmoid``, ``kl_div``, ...). Inputs may be Tensors or arrays; class targets may
be NumPy integer arrays, lists or Tensors.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from .._random import generator
from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff import _hooks, ops
from ..autodiff._hooks import replayed
from ..autodiff.tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "log_softmax", "erf",
    "dropout", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "layer_norm", "batch_norm",
    "softplus", "elu", "selu", "celu", "silu", "mish", "softsign", "hardtanh", "relu6",
    "logsigmoid", "hardsigmoid", "hardswish", "prelu",
    "binary_cross_entropy", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
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


# ----------------------------------------------------------------------------- more activations
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""Smooth ReLU, with PyTorch's linear region for numerical stability.

    .. math:: \mathrm{Softplus}(x) = \begin{cases} \frac1\beta \log(1 + e^{\beta x})
              & \beta x \le \text{threshold} \\ x & \beta x > \text{threshold} \end{cases}

    Parameters
    ----------
    beta : float, default 1.0
        Nonzero (PyTorch returns infinities for 0).
    threshold : float, default 20.0
        Above ``beta * x > threshold`` the result is ``x``.
    """
    beta = check_real("softplus", "beta", beta)
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero, got 0.0")
    threshold = check_real("softplus", "threshold", threshold)
    return ops.softplus(input, beta=beta, threshold=threshold)


def elu(input: Any, alpha: float = 1.0) -> Tensor:
    r"""Exponential linear unit (Clevert, Unterthiner and Hochreiter, ICLR 2016).

    .. math:: \mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^x - 1) & x \le 0
              \end{cases}

    computed with ``expm1`` so that small negative inputs keep their precision. The gradient
    at 0 is :math:`\alpha` (the left piece) and the second derivative there 0 (the right
    piece's), as in PyTorch (whose double backward masks with :math:`x < 0`); the same holds
    for :func:`selu` and :func:`celu`.

    Parameters
    ----------
    alpha : float, default 1.0
    """
    alpha = check_real("elu", "alpha", alpha)
    return ops.elu(input, alpha=alpha)


def selu(input: Any) -> Tensor:
    r"""Scaled ELU (Klambauer et al., "Self-normalizing neural networks", NeurIPS 2017).

    .. math:: \mathrm{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha\,(e^x - 1) & x \le 0
              \end{cases}

    with :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507` (PyTorch's constants).
    """
    return ops.elu(input, alpha=SELU_ALPHA, scale=SELU_SCALE)


def celu(input: Any, alpha: float = 1.0) -> Tensor:
    r"""Continuously differentiable ELU (Barron, 2017).

    .. math:: \mathrm{CELU}(x) = \max(0, x) + \min\left(0, \alpha\,(e^{x/\alpha} - 1)\right)

    Parameters
    ----------
    alpha : float, default 1.0
        Nonzero.
    """
    alpha = check_real("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero (it divides x), got 0.0")
    return ops.elu(input, alpha=alpha, input_scale=1.0 / alpha)


def silu(input: Any) -> Tensor:
    r"""Sigmoid linear unit, also called swish (Elfwing, Uchibe and Doya, 2018).

    .. math:: \mathrm{SiLU}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}
    """
    return ops.mul(input, ops.sigmoid(input))


def mish(input: Any) -> Tensor:
    r"""Mish (Misra, 2019).

    .. math:: \mathrm{Mish}(x) = x \tanh(\mathrm{Softplus}(x))
    """
    return ops.mul(input, ops.tanh(ops.softplus(input)))


def softsign(input: Any) -> Tensor:
    r""":math:`\mathrm{Softsign}(x) = x / (1 + |x|)` (the gradient at 0 is 1)."""
    return ops.div(input, ops.add(ops.abs(input), 1))


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    r"""Clip to ``[min_val, max_val]``.

    .. math:: \mathrm{HardTanh}(x) = \min(\max(x, \text{min\_val}), \text{max\_val})

    The gradient is 1 strictly inside and 0 from the bounds on (0 *at* the bounds too, as in
    PyTorch; ``st.clip`` passes the gradient at its bounds).

    Parameters
    ----------
    min_val, max_val : float, default -1.0 and 1.0
        ``min_val <= max_val``.
    """
    low = check_real("hardtanh", "min_val", min_val)
    high = check_real("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={low!r} "
                         f"and max_val={high!r}")
    return ops.hardtanh(input, min_val=low, max_val=high)


def relu6(input: Any) -> Tensor:
    r""":math:`\mathrm{ReLU6}(x) = \min(\max(0, x), 6)`; the gradient is 0 at 0 and at 6."""
    return ops.hardtanh(input, min_val=0.0, max_val=6.0)


def logsigmoid(input: Any) -> Tensor:
    r""":math:`\log\sigma(x)`, computed as PyTorch does without overflow or loss of precision:

    .. math:: \log\sigma(x) = \min(x, 0) - \log\left(1 + e^{-|x|}\right)
    """
    return ops.sub(ops.minimum(input, 0.0), ops.log1p(ops.exp(ops.neg(ops.abs(input)))))


def hardsigmoid(input: Any) -> Tensor:
    r"""Piecewise-linear sigmoid.

    .. math:: \mathrm{Hardsigmoid}(x) = \min(\max(x + 3, 0), 6) / 6

    The gradient is 1/6 strictly between -3 and 3, 0 elsewhere (at ±3 too, as in PyTorch).
    """
    return ops.div(ops.hardtanh(ops.add(input, 3.0), min_val=0.0, max_val=6.0), 6.0)


def hardswish(input: Any) -> Tensor:
    r"""Hard swish (Howard et al., "Searching for MobileNetV3", ICCV 2019).

    .. math:: \mathrm{Hardswish}(x) = x\,\min(\max(x + 3, 0), 6) / 6

    The gradient is :math:`x/3 + 1/2` strictly between -3 and 3, 0 from -3 down and 1 from 3
    up, as in PyTorch.
    """
    return ops.div(ops.mul(input, ops.hardtanh(ops.add(input, 3.0), min_val=0.0, max_val=6.0)),
                   6.0)


def prelu(input: Any, weight: Any) -> Tensor:
    r"""Parametric ReLU (He et al., ICCV 2015) with a learnable slope per channel.

    .. math:: \mathrm{PReLU}(x) = \begin{cases} x & x > 0 \\ a_c\, x & x \le 0 \end{cases}

    where :math:`c` is the channel (axis 1) of each element, as in PyTorch.

    Parameters
    ----------
    input : Tensor or array
    weight : Tensor or array of 1 or ``C`` entries, 0-D or 1-D
        One slope for every element, or one per channel of axis 1 (an input of fewer than two
        axes has one channel).
    """
    _check_prelu_weight("prelu", input, weight)
    return _prelu(input, weight)


def _check_prelu_weight(owner: str, input: Any, weight: Any) -> None:
    w_shape, in_shape = _shape(weight), _shape(input)
    if len(w_shape) > 1:
        raise ValueError(f"{owner}: weight must be a scalar or a 1-D array, got shape {w_shape}")
    count = int(np.prod(w_shape))
    if count != 1:
        channels = in_shape[1] if len(in_shape) > 1 else 1
        if channels != count:
            raise ValueError(f"{owner}: weight has {count} parameters but the input of shape "
                             f"{in_shape} has {channels} channel(s) (axis 1); give one slope or "
                             f"one per channel")


def _prelu(input: Any, weight: Any) -> Tensor:
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    count = int(np.prod(_shape(weight)))
    slope = ops.reshape(weight, shape=() if count == 1 else (count, *(1,) * (data.ndim - 2)))
    return ops.where(_positive(data), input, ops.mul(slope, input))


@replayed  # a mask of the input's values: st.compile computes it again on every replay
def _positive(data: np.ndarray) -> np.ndarray:
    return data > 0


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
    return ops.mul(input, _dropout_mask(data.shape, p, dtype))


@replayed  # st.compile draws a new mask on every replay, from the generator in force then
def _dropout_mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    """The kept entries (probability ``1 - p``) scaled by ``1 / (1 - p)``, drawn from the
    library generator."""
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    keep = generator().random(shape, dtype=draw_dtype) >= p
    return keep * dtype.type(1.0 / (1.0 - p))


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
                  label_smoothing: float = 0.0, *, weight: Any = None,
                  ignore_index: int = -100) -> Tensor:
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
    weight : array_like of shape ``(C,)``, optional
        The weight :math:`w_c \ge 0` of each class: :math:`\ell_i` is multiplied by
        :math:`w_{y_i}` and the mean divides by :math:`\sum_i w_{y_i}` (PyTorch's weighted
        mean; for probability targets :math:`\ell_i = -\sum_c w_c p_{ic} \log s_{ic}` and the
        mean divides by the number of samples). Keyword-only here, third positional in PyTorch.
    ignore_index : int, default -100
        Class targets equal to it count for nothing (nor in the mean's denominator).
    """
    check_choice("cross_entropy", "reduction", reduction, REDUCTIONS)
    smoothing = check_real("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    ignore_index = check_int("cross_entropy", "ignore_index", ignore_index)
    weight = _class_weight("cross_entropy", weight)
    if (isinstance(target, Tensor) and target.requires_grad
            and (smoothing or weight is not None or np.ndim(input) > 2)
            and _is_probability_target(input, target)):
        return _differentiable_target_cross_entropy(input, target, weight, reduction, smoothing)
    if weight is not None or _ignores(target, ignore_index):
        return _weighted_cross_entropy(input, target, weight, ignore_index, reduction, smoothing)
    return _cross_entropy(input, target, reduction, smoothing)


def _differentiable_target_cross_entropy(input: Any, target: Tensor, weight: np.ndarray | None,
                                         reduction: str, smoothing: float) -> Tensor:
    r""":math:`\ell_i = -\sum_c w_c q_{ic} \log s_{ic}`, :math:`q = (1 - \varepsilon) p +
    \varepsilon / C`, in Tensor ops, for probability targets that require grad.

    The other paths smooth, weight or move the class axis of the target's array, which cuts
    the target out of the graph (``p.grad`` stayed None where torch gives it); the fused op
    differentiates a target only in the plain (N, C) case.
    """
    axis = 1 if np.ndim(input) > 1 else 0
    classes = _shape(input)[axis]
    q = target
    if smoothing:
        q = ops.add(ops.mul(q, 1.0 - smoothing), smoothing / classes)
    if weight is not None:
        _class_weight("cross_entropy", weight, classes)
        shape = [1] * np.ndim(input)
        shape[axis] = classes
        q = ops.mul(q, weight.astype(target.dtype).reshape(shape))
    log_probs = ops.log_softmax(input, axis=axis)
    return _reduce(ops.neg(ops.sum(ops.mul(log_probs, q), axis=axis)), reduction)


def _ignores(target: Any, ignore_index: int) -> bool:
    """Whether some class target is ``ignore_index`` (then the weighted path is needed)."""
    array = target.data if isinstance(target, Tensor) else np.asarray(target)
    ignores = _class_present(array, ignore_index)
    # st.compile: a replay checks the inputs take this path
    if _hooks.recorder is not None and _hooks.recorder.here():
        _hooks.recorder.branch(_class_present, (target, ignore_index), ignores)
    return ignores


def _class_present(array: np.ndarray, value: int) -> bool:
    """Whether the integer array ``array`` holds ``value`` (False for any other dtype).

    Class targets lie in ``[0, C)`` and the default ``ignore_index`` is -100: one minimum
    (a single reduction, a third of what ``(array == value).any()`` costs) answers that case.
    """
    if array.dtype.kind not in "iu" or array.size == 0:
        return False
    if value < np.minimum.reduce(array, axis=None) or value > np.maximum.reduce(array, axis=None):
        return False
    return bool((array == value).any())


def _cross_entropy(input: Any, target: Any, reduction: str, label_smoothing: float) -> Tensor:
    if np.ndim(input) > 2:  # PyTorch puts the classes on axis 1; the op wants them last
        input = ops.transpose(input, axes=(0, *range(2, np.ndim(input)), 1))
        target = _classes_last(target.data if isinstance(target, Tensor) else target,
                               np.ndim(input))
    if label_smoothing:
        data = input.data if isinstance(input, Tensor) else np.asarray(input)
        target = _smoothed(data, target.data if isinstance(target, Tensor) else target,
                           label_smoothing)
    return ops.cross_entropy(input, target, reduction=reduction)


@replayed  # NumPy on the target: st.compile calls it again on every replay
def _classes_last(target: Any, ndim: int) -> Any:
    target = np.asarray(target)
    if target.ndim == ndim and target.dtype.kind == "f":  # probabilities: move their class axis
        return np.moveaxis(target, 1, -1)
    return target


@replayed  # NumPy on the target: st.compile calls it again on every replay
def _smoothed(data: np.ndarray, target: Any, smoothing: float) -> np.ndarray:
    """The smoothed class distribution for the (class-axis-last) logits' array ``data``."""
    target = np.asarray(target)
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


@replayed  # NumPy on the loss's weight: a replay reads the weight as it is then (in place)
def _less_one(pos_weight: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``pos_weight - 1`` in the input's dtype."""
    return pos_weight.astype(dtype) - 1


@replayed  # NumPy on the loss's weight: a replay reads the weight as it is then (in place)
def _class_weights(weight: np.ndarray | None, classes: int, dtype: np.dtype) -> np.ndarray:
    """Each class's weight in ``dtype`` (ones without a weight)."""
    return np.ones(classes, dtype) if weight is None else weight.astype(dtype)


def _bce_with_logits(input: Any, target: Any, reduction: str, pos_weight: Any) -> Tensor:
    if pos_weight is None:
        return ops.bce_with_logits(input, target, reduction=reduction)
    # l = (1 - y) x + (1 + (p - 1) y) softplus(-x)  =  bce(x, y) + (p - 1) y softplus(-x),
    # and softplus(-x) is bce(x, 1): both terms go through the stable fused op.
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    extra_weight = _less_one(pos_weight, dtype)
    softplus_minus_x = ops.bce_with_logits(input, np.ones(data.shape, dtype), reduction="none")
    losses = (ops.bce_with_logits(input, target, reduction="none")
              + softplus_minus_x * target * extra_weight)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


# ----------------------------------------------------------------------------- issue 14 losses
def _reduce(losses: Any, reduction: str) -> Any:
    if reduction == "mean":
        return ops.mean(losses)
    return ops.sum(losses) if reduction == "sum" else losses


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error.

    .. math:: \ell_i = |x_i - y_i|, \quad \text{reduced by mean (default), sum or none}

    The gradient at :math:`x_i = y_i` is 0, as in PyTorch.

    Parameters
    ----------
    input, target : Tensor or array of one shape
    reduction : {"mean", "sum", "none"}
    """
    check_choice("l1_loss", "reduction", reduction, REDUCTIONS)
    _check_same_shape("l1_loss", input, target)
    return _reduce(ops.abs(ops.sub(input, target)), reduction)


def _piecewise(input: Any, target: Any, threshold: float, quadratic_scale: float,
               linear_scale: float) -> Tensor:
    """``quadratic_scale * d^2 / 2`` where ``|d| < threshold``, else
    ``linear_scale * (|d| - threshold / 2)``, with ``d = input - target``."""
    diff = ops.sub(input, target)
    size = ops.abs(diff)
    inside = _below(size.data if isinstance(size, Tensor) else np.asarray(size), threshold)
    quadratic = ops.mul(ops.mul(diff, diff), 0.5 * quadratic_scale)
    linear = ops.mul(ops.sub(size, 0.5 * threshold), linear_scale)
    return ops.where(inside, quadratic, linear)


@replayed  # a mask of step values: st.compile computes it again on every replay
def _below(data: np.ndarray, threshold: float) -> np.ndarray:
    return data < threshold


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""Smooth L1 loss: quadratic near zero, absolute beyond ``beta``.

    .. math:: \ell_i = \begin{cases} \tfrac12 d_i^2 / \beta & |d_i| < \beta \\
                                     |d_i| - \tfrac12 \beta & \text{otherwise,} \end{cases}
              \qquad d_i = x_i - y_i;

    ``beta = 0`` is :func:`l1_loss`. :func:`huber_loss` is :math:`\beta` times this loss
    (Girshick, "Fast R-CNN", ICCV 2015).

    Parameters
    ----------
    input, target : Tensor or array of one shape
    reduction : {"mean", "sum", "none"}
    beta : float, default 1.0
        ``>= 0``.
    """
    check_choice("smooth_l1_loss", "reduction", reduction, REDUCTIONS)
    beta = check_real("smooth_l1_loss", "beta", beta, 0.0)
    _check_same_shape("smooth_l1_loss", input, target)
    if beta == 0:
        return _reduce(ops.abs(ops.sub(input, target)), reduction)
    return _reduce(_piecewise(input, target, beta, 1.0 / beta, 1.0), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss (Huber, "Robust estimation of a location parameter", 1964).

    .. math:: \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
                                     \delta\,(|d_i| - \tfrac12 \delta) & \text{otherwise,}
                       \end{cases} \qquad d_i = x_i - y_i.

    Parameters
    ----------
    input, target : Tensor or array of one shape
    reduction : {"mean", "sum", "none"}
    delta : float, default 1.0
        ``> 0``.
    """
    check_choice("huber_loss", "reduction", reduction, REDUCTIONS)
    delta = check_real("huber_loss", "delta", delta, 0.0, low_open=True)
    _check_same_shape("huber_loss", input, target)
    return _reduce(_piecewise(input, target, delta, 1.0, delta), reduction)


def _class_weight(owner: str, weight: Any, classes: int | None = None) -> np.ndarray | None:
    if weight is None:
        return None
    array = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if array.dtype.kind not in "iuf" or array.ndim != 1 or array.size == 0:
        raise ValueError(f"{owner}: weight must be a 1-D array of one number per class, got "
                         f"{weight!r}")
    if not (np.isfinite(array).all() and (array >= 0).all()):
        raise ValueError(f"{owner}: weight must be finite and >= 0, got {weight!r}")
    if classes is not None and array.size != classes:
        raise ValueError(f"{owner}: weight has {array.size} entries but the input has {classes} "
                         "classes")
    return array


def _classes_last_input(input: Any) -> Any:
    ndim = np.ndim(input.data if isinstance(input, Tensor) else input)
    if ndim > 2:  # PyTorch puts the classes on axis 1
        return ops.transpose(input, axes=(0, *range(2, ndim), 1))
    return input


@replayed  # NumPy on the target: st.compile calls it again on every replay
def _target_mask(owner: str, logits: np.ndarray, target: Any, weight: np.ndarray | None,
                 ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(..., C)`` array holding each sample's class weight at its target class (0 for an
    ignored sample), for class-axis-last ``logits``, where it is not 0, and the weighted
    mean's denominator and offset (see :func:`_mean_denominator`)."""
    target = np.asarray(target)
    classes = logits.shape[-1]
    if target.dtype.kind not in "iu":
        raise TypeError(f"{owner}: class targets must be integers, got dtype {target.dtype}")
    if target.shape != logits.shape[:-1]:
        raise ValueError(f"{owner}: targets of shape {target.shape} do not match an input of "
                         f"{classes} classes (expected targets of shape {logits.shape[:-1]})")
    valid = target != ignore_index
    picked = target[valid]
    if picked.size and (picked.min() < 0 or picked.max() >= classes):
        raise ValueError(f"{owner}: class targets must be in [0, {classes}) (or ignore_index="
                         f"{ignore_index}), got values from {picked.min()} to {picked.max()}")
    dtype = logits.dtype if logits.dtype.kind == "f" else np.dtype(np.float64)
    per_class = np.ones(classes, dtype) if weight is None else weight.astype(dtype)
    mask = np.zeros(logits.shape, dtype)
    index = np.where(valid, target, 0)
    np.put_along_axis(mask, index[..., None], per_class[index][..., None], axis=-1)
    mask *= valid[..., None]
    return (mask, mask != 0, *_mean_denominator(mask.sum(), dtype))


def _mean_denominator(total: Any, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(denominator, offset)`` of the weighted mean ``sum / denominator + offset``.

    With every sample ignored (a weight total of 0), PyTorch's mean is 0/0 = NaN but its
    gradient is 0: then the denominator is 1 and the offset NaN. Otherwise the offset is 0,
    and ``x + 0.0`` is ``x``.
    """
    if total == 0:
        return np.asarray(1, dtype), np.asarray(np.nan, dtype)
    return np.asarray(total, dtype), np.asarray(0, dtype)


def _weighted_nll(owner: str, log_probs: Any, target: Any, weight: np.ndarray | None,
                  ignore_index: int, reduction: str, label_smoothing: float = 0.0) -> Tensor:
    log_probs = _classes_last_input(log_probs)
    data = log_probs.data if isinstance(log_probs, Tensor) else np.asarray(log_probs)
    if data.ndim == 0:
        raise ValueError(f"{owner}: input must have a class axis, got a scalar")
    if weight is not None and weight.size != data.shape[-1]:
        raise ValueError(f"{owner}: weight has {weight.size} entries but the input has "
                         f"{data.shape[-1]} classes")
    target_array = target.data if isinstance(target, Tensor) else target
    mask, picked, total_weight, offset = _target_mask(owner, data, target_array, weight,
                                                      ignore_index)
    # Only the target's log-probability counts: where() first, since a masked class may have
    # log-probability -inf (a logit of -inf), and -inf * 0 is NaN.
    losses = ops.neg(ops.sum(ops.mul(ops.where(picked, log_probs, 0.0), mask), axis=-1))
    if label_smoothing:
        classes = data.shape[-1]
        per_class = _class_weights(weight, classes, mask.dtype)
        smooth = ops.neg(ops.sum(ops.mul(log_probs, per_class), axis=-1))
        # where(), not * 0: an ignored sample's smoothing term is inf when one of its logits is
        # -inf, and inf * 0 is NaN; PyTorch masks it to 0 (masked_fill) like its NLL term.
        smooth = ops.where(_kept(target_array, ignore_index), smooth, 0.0)
        if reduction == "mean":
            nll = ops.div(ops.sum(losses), total_weight)
            return ops.add(ops.add(ops.mul(nll, 1.0 - label_smoothing),
                                   ops.mul(ops.div(ops.sum(smooth), total_weight),
                                           label_smoothing / classes)), offset)
        losses = ops.add(ops.mul(losses, 1.0 - label_smoothing),
                         ops.mul(smooth, label_smoothing / classes))
        return ops.sum(losses) if reduction == "sum" else losses
    if reduction == "mean":
        return ops.add(ops.div(ops.sum(losses), total_weight), offset)
    return ops.sum(losses) if reduction == "sum" else losses


@replayed  # NumPy on the target: st.compile calls it again on every replay
def _kept(target: Any, ignore_index: int) -> np.ndarray:
    """True for the samples whose target is not ``ignore_index``."""
    return np.asarray(target) != ignore_index


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of class targets, given log-probabilities.

    .. math:: \ell_i = -w_{y_i}\, x_{i, y_i}, \qquad
              \text{mean: } \sum_i \ell_i \Big/ \sum_i w_{y_i}

    (the mean is weighted, as in PyTorch); samples whose target is ``ignore_index`` count
    for nothing. ``nll_loss(log_softmax(x, dim=1), y)`` is ``cross_entropy(x, y)``.

    Parameters
    ----------
    input : Tensor or array, shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``
        Log-probabilities, the class axis 1 (or 0 for a single sample).
    target : integer array or Tensor, shape ``(N,)``, ``()`` or ``(N, d1, ...)``
    weight : array_like of shape ``(C,)``, optional
        The weight :math:`w_c \ge 0` of each class (1 by default).
    ignore_index : int, default -100
    reduction : {"mean", "sum", "none"}
    """
    check_choice("nll_loss", "reduction", reduction, REDUCTIONS)
    ignore_index = check_int("nll_loss", "ignore_index", ignore_index)
    weight = _class_weight("nll_loss", weight)
    return _weighted_nll("nll_loss", input, target, weight, ignore_index, reduction)


def _is_probability_target(input: Any, target: Any) -> bool:
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    return target.dtype.kind == "f" and target.shape == _shape(input)


def _weighted_cross_entropy(input: Any, target: Any, weight: np.ndarray | None,
                            ignore_index: int, reduction: str, label_smoothing: float) -> Tensor:
    """Cross-entropy with class weights or ignored targets (the path the fused op lacks)."""
    ndim = np.ndim(input.data if isinstance(input, Tensor) else input)
    classes = _shape(input)[1 if ndim > 1 else 0]
    if weight is not None:
        _class_weight("cross_entropy", weight, classes)
    log_probs = ops.log_softmax(input, axis=1 if ndim > 1 else 0)
    if not _is_probability_target(input, target):
        return _weighted_nll("cross_entropy", log_probs, target, weight, ignore_index, reduction,
                             label_smoothing)
    probabilities = _weighted_probabilities(target.data if isinstance(target, Tensor) else target,
                                            label_smoothing, weight, ndim, classes)
    losses = ops.neg(ops.sum(ops.mul(log_probs, probabilities), axis=1 if ndim > 1 else 0))
    return _reduce(losses, reduction)


@replayed  # NumPy on the target: st.compile calls it again on every replay
def _weighted_probabilities(target: Any, label_smoothing: float, weight: np.ndarray | None,
                            ndim: int, classes: int) -> np.ndarray:
    """Probability targets, smoothed and weighted per class along the class axis."""
    probabilities = np.asarray(target)
    if label_smoothing:
        probabilities = probabilities * (1.0 - label_smoothing) + label_smoothing / classes
    if weight is not None:  # the weight of class c along the class axis
        shape = [1] * ndim
        shape[1 if ndim > 1 else 0] = classes
        # In the targets' dtype: a float64 (or integer) weight must not make a float32 loss
        # float64 (NLL, BCE and pos_weight cast their weights likewise).
        probabilities = probabilities * weight.astype(probabilities.dtype).reshape(shape)
    return probabilities


# ----------------------------------------------------------------------------- probabilistic losses
KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")
_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size. "
    "'batchmean' divides only by the batch size, and aligns with the KL div math definition. "
    "'mean' will be changed to behave the same as 'batchmean' in the next major release.")


def _bce_weight(owner: str, weight: Any) -> np.ndarray | None:
    if weight is None:
        return None
    array = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise ValueError(f"{owner}: weight must be a number or an array of numbers, got "
                         f"{weight!r}")
    if not np.isfinite(array).all():
        raise ValueError(f"{owner}: weight must be finite, got {weight!r}")
    return array


def _check_weight_fits(owner: str, weight: np.ndarray | None, input: Any) -> None:
    if weight is None:
        return
    shape = _shape(input)
    try:
        fits = np.broadcast_shapes(weight.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{owner}: weight of shape {weight.shape} does not broadcast to the "
                         f"input's shape {shape}")


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy of probabilities :math:`x \in [0, 1]` against targets
    :math:`y \in [0, 1]`.

    .. math:: \ell_i = -w_i\left[y_i \max(\log x_i, -100) + (1 - y_i)\max(\log(1 - x_i), -100)
              \right]

    The logarithms are floored at -100 as in PyTorch, so that 0 and 1 give finite losses; the
    gradient :math:`w_i (x_i - y_i) / \max(x_i(1 - x_i), 10^{-12})` is floored likewise. On
    logits, :func:`~steepest.nn.functional.binary_cross_entropy_with_logits` is the stable form.

    Parameters
    ----------
    input : Tensor or array
        Probabilities; any value outside [0, 1] (or NaN) raises ``ValueError``.
    target : Tensor or array of ``input``'s shape
        Probabilities in [0, 1].
    weight : array_like, optional
        Weights :math:`w` that broadcast to ``input``'s shape (not differentiated).
    reduction : {"mean", "sum", "none"}
    """
    owner = "binary_cross_entropy"
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    _check_same_shape(owner, input, target)
    weight = _bce_weight(owner, weight)
    _check_weight_fits(owner, weight, input)
    return ops.binary_cross_entropy(input, target, weight, reduction=reduction)


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    r"""Kullback-Leibler divergence of ``target`` from the distribution whose log-probabilities
    are ``input``.

    .. math:: \ell_i = y_i (\log y_i - x_i) \quad\text{(0 where } y_i = 0\text{)}, \qquad
              \ell_i = e^{y_i} (y_i - x_i) \text{ with log\_target}

    ``"batchmean"`` sums and divides by the batch size (``input.shape[0]``): the
    mathematical KL divergence per sample. ``"mean"`` divides by the number of elements and, as
    in PyTorch, warns (``UserWarning``) that this is not the KL divergence.

    Parameters
    ----------
    input : Tensor or array
        Log-probabilities.
    target : Tensor or array of ``input``'s shape
        Probabilities (log-probabilities with ``log_target``).
    reduction : {"mean", "batchmean", "sum", "none"}
    log_target : bool, default False
    """
    check_choice("kl_div", "reduction", reduction, KL_REDUCTIONS)
    check_bool("kl_div", "log_target", log_target)
    _check_same_shape("kl_div", input, target)
    if reduction == "mean":
        warnings.warn(_KL_MEAN_WARNING, UserWarning, stacklevel=2)
    return _kl_div(input, target, reduction, log_target)


def _kl_div(input: Any, target: Any, reduction: str, log_target: bool) -> Tensor:
    if log_target:
        losses = ops.mul(ops.exp(target), ops.sub(target, input))
    else:
        losses = ops.sub(ops.xlogy(target, target), ops.mul(target, input))
    if reduction == "batchmean":
        total = ops.sum(losses)
        shape = _shape(input)
        return ops.div(total, shape[0]) if shape else total
    return _reduce(losses, reduction)


def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of a Poisson distribution of rate :math:`\lambda` for the
    counts ``target``.

    .. math:: \ell_i = e^{x_i} - y_i x_i \ \ (\lambda = e^x,\ \text{log\_input}), \qquad
              \ell_i = x_i - y_i \log(x_i + \epsilon) \ \ (\lambda = x)

    With ``full`` Stirling's approximation of :math:`\log y!`,
    :math:`y \log y - y + \frac12 \log(2\pi y)`, is added where :math:`y > 1`.

    Parameters
    ----------
    input : Tensor or array
        The rate's logarithm (``log_input``) or the rate.
    target : Tensor or array of ``input``'s shape
    log_input : bool, default True
    full : bool, default False
    eps : float, default 1e-8
        ``>= 0``; keeps :math:`\log` finite at a rate of 0 (without ``log_input``).
    reduction : {"mean", "sum", "none"}
    """
    owner = "poisson_nll_loss"
    check_bool(owner, "log_input", log_input)
    check_bool(owner, "full", full)
    eps = check_real(owner, "eps", eps, 0.0)
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    _check_same_shape(owner, input, target)
    return _poisson_nll(input, target, log_input, full, eps, reduction)


def _poisson_nll(input: Any, target: Any, log_input: bool, full: bool, eps: float,
                 reduction: str) -> Tensor:
    if log_input:
        losses = ops.sub(ops.exp(input), ops.mul(target, input))
    else:
        losses = ops.sub(input, ops.mul(target, ops.log(ops.add(input, eps))))
    if full:
        small = _at_most_one(target.data if isinstance(target, Tensor) else np.asarray(target))
        safe = ops.where(small, 1.0, target)  # no log(0) where the term is dropped anyway
        stirling = ops.add(ops.sub(ops.mul(safe, ops.log(safe)), safe),
                           ops.mul(ops.log(ops.mul(safe, 2 * math.pi)), 0.5))
        losses = ops.add(losses, ops.where(small, 0.0, stirling))
    return _reduce(losses, reduction)


@replayed  # a mask of the target's values: st.compile computes it again on every replay
def _at_most_one(data: np.ndarray) -> np.ndarray:
    return data <= 1


def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and
    variance ``var``.

    .. math:: \ell_i = \frac12\left(\log\max(\sigma^2_i, \epsilon)
              + \frac{(x_i - y_i)^2}{\max(\sigma^2_i, \epsilon)}\right)
              \ \left(+ \tfrac12 \log 2\pi \text{ with full}\right)

    The clamp at :math:`\epsilon` is not differentiated (the gradient passes as if it were
    not there), as in PyTorch.

    Parameters
    ----------
    input : Tensor or array
        The expectations.
    target : Tensor or array of ``input``'s shape
    var : Tensor, array or float
        Variances, all ``>= 0``: of ``input``'s shape (heteroscedastic), or of that shape
        without its last axis, or with one axis of size 1 (broadcast), or one number.
    full : bool, default False
        Add the constant :math:`\frac12 \log 2\pi`.
    eps : float, default 1e-6
        ``>= 0``.
    reduction : {"mean", "sum", "none"}
    """
    owner = "gaussian_nll_loss"
    check_bool(owner, "full", full)
    eps = check_real(owner, "eps", eps, 0.0)
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    _check_same_shape(owner, input, target)
    return _gaussian_nll(owner, input, target, var, full, eps, reduction)


def _gaussian_nll(owner: str, input: Any, target: Any, var: Any, full: bool, eps: float,
                  reduction: str) -> Tensor:
    shape = tuple(_shape(input))
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        value = check_real(owner, "var", var)
        if value < 0:
            raise ValueError(f"{owner}: var has negative entry/entries, got {value!r}")
        data = input.data if isinstance(input, Tensor) else np.asarray(input)
        var = np.full(shape, value, data.dtype if data.dtype.kind == "f" else np.float64)
    else:
        if not isinstance(var, Tensor):
            var = np.asarray(var)
        _check_variances(owner, var.data if isinstance(var, Tensor) else var)
        var_shape = tuple(_shape(var))
        if var_shape != shape:
            if shape[:-1] == var_shape:  # one variance per sample: broadcast over the last axis
                var = ops.reshape(var, shape=(*var_shape, 1))
            elif not (len(var_shape) == len(shape) and [v for s, v in zip(shape, var_shape,
                                                                          strict=True)
                                                         if s != v] == [1]):
                raise ValueError(f"{owner}: var is of incorrect size: shape {var_shape} for an "
                                 f"input of shape {shape} (give var the input's shape, that "
                                 f"shape without its last axis, or with one axis of size 1)")
    data = var.data if isinstance(var, Tensor) else var
    clamped = ops.maximum(data, eps)
    if isinstance(var, Tensor) and var.requires_grad:
        var = ops.add(ops.sub(var, data), clamped)  # the clamp's value, the identity's gradient
    else:
        var = clamped
    diff = ops.sub(input, target)
    losses = ops.mul(ops.add(ops.log(var), ops.div(ops.pow(diff, 2), var)), 0.5)
    if full:
        losses = ops.add(losses, 0.5 * math.log(2 * math.pi))
    return _reduce(losses, reduction)


@replayed  # checks the variances' values again on every replay of st.compile
def _check_variances(owner: str, data: np.ndarray) -> None:
    if data.dtype.kind not in "iuf":
        raise TypeError(f"{owner}: var must be numbers, got dtype {data.dtype}")
    if (data < 0).any():
        raise ValueError(f"{owner}: var has negative entry/entries (smallest {data.min()!r})")


# ----------------------------------------------------------------------------- normalisation
def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    r"""Normalise over the last axes (Ba, Kiros and Hinton, "Layer normalization", 2016).

    .. math:: y = \frac{x - \mathrm E[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta

    with mean and *biased* variance over the trailing ``normalized_shape`` axes of each sample.

    Parameters
    ----------
    input : Tensor or array, shape ``(..., *normalized_shape)``
    normalized_shape : int or tuple of int
    weight, bias : Tensor or array of shape ``normalized_shape``, optional
        :math:`\gamma` and :math:`\beta`.
    eps : float, default 1e-5
    """
    shape = _normalized_shape("layer_norm", normalized_shape)
    eps = check_real("layer_norm", "eps", eps, 0.0, low_open=True)
    _check_trailing("layer_norm", input, shape)
    return _layer_norm(input, len(shape), weight, bias, eps)


def _normalized_shape(owner: str, normalized_shape: Any) -> tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, int | np.integer) \
        else tuple(normalized_shape)
    if not shape:
        raise ValueError(f"{owner}: normalized_shape must name at least one axis, got "
                         f"{normalized_shape!r}")
    return tuple(check_int(owner, "normalized_shape", n, low=1) for n in shape)


def _check_trailing(owner: str, input: Any, shape: tuple[int, ...]) -> None:
    actual = _shape(input)
    if tuple(actual[len(actual) - len(shape):]) != shape or len(actual) < len(shape):
        raise ValueError(f"{owner}: an input of shape {actual} does not end with "
                         f"normalized_shape {shape}")


def _layer_norm(input: Any, axes: int, weight: Any, bias: Any, eps: float) -> Tensor:
    over = tuple(range(-axes, 0))
    centred = ops.sub(input, ops.mean(input, axis=over, keepdims=True))
    variance = ops.mean(ops.mul(centred, centred), axis=over, keepdims=True)
    out = ops.div(centred, ops.sqrt(ops.add(variance, eps)))
    if weight is not None:
        out = ops.mul(out, weight)
    return out if bias is None else ops.add(out, bias)


def batch_norm(input: Any, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation over the batch axis (and the length axis of ``(N, C, L)``), as
    ``torch.nn.functional.batch_norm`` (Ioffe and Szegedy, ICML 2015).

    .. math:: y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta

    In training (or without running statistics), :math:`\mu, \sigma^2` are the batch's mean and
    *biased* variance per channel, and the running statistics (if given) are updated in place:
    :math:`\hat\mu \leftarrow (1 - m)\hat\mu + m\mu`,
    :math:`\hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 + m\,\sigma^2 \frac{n}{n - 1}` (the
    *unbiased* variance, over :math:`n` values per channel). Otherwise the running statistics
    are used.

    Parameters
    ----------
    input : Tensor or array, shape ``(N, C)`` or ``(N, C, L)``
    running_mean, running_var : ndarray of shape ``(C,)``, or None
    weight, bias : shape ``(C,)``, optional
    training : bool, default False
    momentum : float, default 0.1
    eps : float, default 1e-5
    """
    check_bool("batch_norm", "training", training)
    momentum = check_real("batch_norm", "momentum", momentum, 0.0, 1.0)
    eps = check_real("batch_norm", "eps", eps, 0.0, low_open=True)
    return _batch_norm("batch_norm", input, running_mean, running_var, weight, bias,
                       training or running_mean is None, momentum, eps)


def _batch_norm(owner: str, input: Any, running_mean: Any, running_var: Any, weight: Any,
                bias: Any, use_batch: bool, momentum: float | None, eps: float,
                tracked: np.ndarray | None = None) -> Tensor:
    """Batch normalisation; ``tracked`` (BatchNorm1d's ``num_batches_tracked``) counts the
    batch, and ``momentum=None`` then means the cumulative average ``1 / count``."""
    shape = _shape(input)
    if len(shape) not in (2, 3):
        raise ValueError(f"{owner}: expected a 2-D (N, C) or 3-D (N, C, L) input, got shape "
                         f"{shape}")
    over = (0,) if len(shape) == 2 else (0, 2)
    per_channel = (1, shape[1]) if len(shape) == 2 else (1, shape[1], 1)
    if use_batch:
        count = shape[0] * (shape[2] if len(shape) == 3 else 1)
        if count <= 1:
            raise ValueError(f"{owner}: expected more than 1 value per channel when training, got "
                             f"an input of shape {shape}")
        mean = ops.mean(input, axis=over, keepdims=True)
        centred = ops.sub(input, mean)
        variance = ops.mean(ops.mul(centred, centred), axis=over, keepdims=True)
        if running_mean is not None:
            _update_running_stats(running_mean, running_var,
                                  mean.data if isinstance(mean, Tensor) else mean,
                                  variance.data if isinstance(variance, Tensor) else variance,
                                  momentum, count, tracked)
        out = ops.div(centred, ops.sqrt(ops.add(variance, eps)))
    else:
        shift, scale = _running_affine(running_mean, running_var, eps, per_channel)
        out = ops.mul(ops.sub(input, shift), scale)
    if weight is not None:
        out = ops.mul(out, ops.reshape(weight, shape=per_channel))
    return out if bias is None else ops.add(out, ops.reshape(bias, shape=per_channel))


@replayed  # st.compile moves the running statistics again on every replay
def _update_running_stats(running_mean: np.ndarray, running_var: np.ndarray,
                          batch_mean: np.ndarray, batch_var: np.ndarray, momentum: float | None,
                          count: int, tracked: np.ndarray | None) -> None:
    """Move the running statistics towards the batch's (in place); count the batch first in
    ``tracked`` if given (``momentum=None``: the cumulative average)."""
    if tracked is not None:
        np.add(tracked, 1, out=tracked)
        if momentum is None:
            momentum = 1.0 / int(tracked)
    running_mean *= 1.0 - momentum
    running_mean += momentum * batch_mean.reshape(-1)
    running_var *= 1.0 - momentum
    running_var += momentum * batch_var.reshape(-1) * (count / (count - 1))


@replayed  # from the running statistics as they are at each replay
def _running_affine(running_mean: np.ndarray, running_var: np.ndarray, eps: float,
                    per_channel: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The shift and scale of evaluation mode, shaped to broadcast over the channels."""
    scale = 1.0 / np.sqrt(running_var + eps)
    return running_mean.reshape(per_channel), scale.reshape(per_channel)
