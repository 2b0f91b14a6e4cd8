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
from ..autodiff import _hooks, ops
from ..autodiff._hooks import replayed
from ..autodiff.tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "log_softmax", "erf",
    "dropout", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "layer_norm", "batch_norm",
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
    if weight is not None or _ignores(target, ignore_index):
        return _weighted_cross_entropy(input, target, weight, ignore_index, reduction, smoothing)
    return _cross_entropy(input, target, reduction, smoothing)


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
        per_class = np.ones(classes, mask.dtype) if weight is None else weight.astype(mask.dtype)
        keep = _kept(target_array, ignore_index, mask.dtype)
        smooth = ops.neg(ops.sum(ops.mul(log_probs, per_class), axis=-1))
        smooth = ops.mul(smooth, keep)
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
def _kept(target: Any, ignore_index: int, dtype: np.dtype) -> np.ndarray:
    """1 for the samples whose target is not ``ignore_index``, else 0."""
    return (np.asarray(target) != ignore_index).astype(dtype)


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
        probabilities = probabilities * weight.reshape(shape)
    return probabilities


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
