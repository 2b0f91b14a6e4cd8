"""Loss modules: :class:`MSELoss`, :class:`CrossEntropyLoss`, :class:`BCEWithLogitsLoss`,
:class:`L1Loss`, :class:`SmoothL1Loss`, :class:`HuberLoss`, :class:`NLLLoss`, :class:`BCELoss`,
:class:`KLDivLoss`, :class:`PoissonNLLLoss`, :class:`GaussianNLLLoss`.

Each is called as ``loss(input, target)`` (:class:`GaussianNLLLoss` as ``loss(input, target,
var)``) and runs the ops of its function in :mod:`steepest.nn.functional` (one fused op where
there is one), whose formulas it follows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff import ops
from ..autodiff.tensor import Tensor
from .functional import (
    _KL_MEAN_WARNING,
    KL_REDUCTIONS,
    REDUCTIONS,
    _bce_weight,
    _bce_with_logits,
    _check_pos_weight_fits,
    _check_same_shape,
    _check_weight_fits,
    _class_weight,
    _cross_entropy,
    _gaussian_nll,
    _ignores,
    _kl_div,
    _poisson_nll,
    _pos_weight_array,
    _weighted_cross_entropy,
    huber_loss,
    l1_loss,
    nll_loss,
    smooth_l1_loss,
)
from .module import Module

__all__ = ["MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss",
           "HuberLoss", "NLLLoss", "BCELoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss"]

_cross_entropy_op = ops.cross_entropy


class _Loss(Module):
    def __init__(self, reduction: str) -> None:
        super().__init__()
        self.reduction = check_choice(type(self).__name__, "reduction", reduction, REDUCTIONS)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    r"""Mean squared error :math:`\ell_i = (x_i - y_i)^2`, averaged (default), summed or kept.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"

    Notes
    -----
    ``input`` and ``target`` must have the same shape (PyTorch only warns; a ``(n, 1)``
    prediction broadcast against an ``(n,)`` target would silently average ``n * n`` errors).
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        _check_same_shape("MSELoss", input, target)
        return ops.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    r"""Softmax cross-entropy of logits against class indices, log-sum-exp stable.

    .. math:: \ell_i = \log\sum_c e^{x_{i,c}} - x_{i,y_i}

    With ``label_smoothing`` :math:`\varepsilon` the target is
    :math:`(1-\varepsilon)\,\mathrm{onehot}(y_i) + \varepsilon / C`. See
    :func:`steepest.nn.functional.cross_entropy` for the accepted shapes (class axis 1, as in
    PyTorch) and for probability targets.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    label_smoothing : float in [0, 1], default 0
    weight : array_like of shape ``(C,)``, optional
        One weight per class; the mean is then weighted (see
        :func:`steepest.nn.functional.cross_entropy`). Keyword-only (PyTorch's first
        positional argument).
    ignore_index : int, default -100
        Class targets equal to it count for nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import nn
    >>> loss = nn.CrossEntropyLoss()
    >>> round(loss(np.zeros((4, 3)), np.array([0, 1, 2, 0])).item(), 6)  # log 3
    1.098612
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0, *,
                 weight: Any = None, ignore_index: int = -100) -> None:
        super().__init__(reduction)
        self.label_smoothing = check_real("CrossEntropyLoss", "label_smoothing", label_smoothing,
                                          0.0, 1.0)
        self.weight = _class_weight("CrossEntropyLoss", weight)
        self.ignore_index = check_int("CrossEntropyLoss", "ignore_index", ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        if self.weight is not None or _ignores(target, self.ignore_index):
            return _weighted_cross_entropy(input, target, self.weight, self.ignore_index,
                                           self.reduction, self.label_smoothing)
        if not self.label_smoothing:  # the common case goes straight to the fused op
            ndim = input.data.ndim if isinstance(input, Tensor) else np.ndim(input)
            if ndim <= 2:
                return _cross_entropy_op(input, target, reduction=self.reduction)
        return _cross_entropy(input, target, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra + (f", label_smoothing={self.label_smoothing}" if self.label_smoothing else "")


class BCEWithLogitsLoss(_Loss):
    r"""Binary cross-entropy on logits, :math:`-[p\,y\log\sigma(x) + (1-y)\log(1-\sigma(x))]`,
    computed without overflow (see :func:`steepest.nn.functional.binary_cross_entropy_with_logits`).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    pos_weight : array_like, optional
        Weight :math:`p` of the positive examples, one per class (last axis), e.g.
        ``n_negative / n_positive`` to balance classes.
    """

    def __init__(self, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.pos_weight = (None if pos_weight is None
                           else _pos_weight_array("BCEWithLogitsLoss", pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        _check_same_shape("BCEWithLogitsLoss", input, target)
        if self.pos_weight is not None:
            _check_pos_weight_fits("BCEWithLogitsLoss", self.pos_weight, input)
        return _bce_with_logits(input, target, self.reduction, self.pos_weight)


class L1Loss(_Loss):
    r"""Mean absolute error :math:`\ell_i = |x_i - y_i|` (see
    :func:`steepest.nn.functional.l1_loss`).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    r"""Quadratic for :math:`|x_i - y_i| < \beta`, absolute beyond (see
    :func:`steepest.nn.functional.smooth_l1_loss`).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    beta : float, default 1.0
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = check_real("SmoothL1Loss", "beta", beta, 0.0)

    def forward(self, input: Any, target: Any) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    r"""Huber's loss: :math:`\tfrac12 d^2` for :math:`|d| < \delta`, :math:`\delta(|d| -
    \tfrac12\delta)` beyond (see :func:`steepest.nn.functional.huber_loss`).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    delta : float, default 1.0
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = check_real("HuberLoss", "delta", delta, 0.0, low_open=True)

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)


class NLLLoss(_Loss):
    r"""Negative log-likelihood :math:`\ell_i = -w_{y_i} x_{i,y_i}` of log-probabilities (see
    :func:`steepest.nn.functional.nll_loss`); after :class:`~steepest.nn.LogSoftmax` it is
    :class:`CrossEntropyLoss`.

    Parameters
    ----------
    weight : array_like of shape ``(C,)``, optional
    ignore_index : int, default -100
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _class_weight("NLLLoss", weight)
        self.ignore_index = check_int("NLLLoss", "ignore_index", ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    r"""Binary cross-entropy of probabilities,
    :math:`\ell_i = -w_i[y_i\log x_i + (1 - y_i)\log(1 - x_i)]` with the logarithms floored at
    -100 as in PyTorch (see :func:`steepest.nn.functional.binary_cross_entropy`; on logits
    :class:`~steepest.nn.BCEWithLogitsLoss` is the stable form).

    Parameters
    ----------
    weight : array_like, optional
        Weights that broadcast to the input's shape.
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _bce_weight("BCELoss", weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        _check_same_shape("BCELoss", input, target)
        _check_weight_fits("BCELoss", self.weight, input)
        return ops.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class KLDivLoss(Module):
    r"""Kullback-Leibler divergence :math:`\ell_i = y_i(\log y_i - x_i)` of the target from
    log-probabilities ``input`` (see :func:`steepest.nn.functional.kl_div`).

    Parameters
    ----------
    reduction : {"mean", "batchmean", "sum", "none"}, default "mean"
        ``"batchmean"`` is the KL divergence per sample; ``"mean"`` (PyTorch's default) divides
        by the number of elements and warns, as in PyTorch.
    log_target : bool, default False
        The target holds log-probabilities.
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        self.reduction = check_choice("KLDivLoss", "reduction", reduction, KL_REDUCTIONS)
        self.log_target = check_bool("KLDivLoss", "log_target", log_target)

    def forward(self, input: Any, target: Any) -> Tensor:
        _check_same_shape("KLDivLoss", input, target)
        if self.reduction == "mean":
            warnings.warn(_KL_MEAN_WARNING, UserWarning, stacklevel=3)
        return _kl_div(input, target, self.reduction, self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class PoissonNLLLoss(_Loss):
    r"""Poisson negative log-likelihood, :math:`e^{x} - y x` (``log_input``) or
    :math:`x - y\log(x + \epsilon)` (see :func:`steepest.nn.functional.poisson_nll_loss`).

    Parameters
    ----------
    log_input : bool, default True
    full : bool, default False
        Add Stirling's approximation of :math:`\log y!` where :math:`y > 1`.
    eps : float, default 1e-8
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input = check_bool("PoissonNLLLoss", "log_input", log_input)
        self.full = check_bool("PoissonNLLLoss", "full", full)
        self.eps = check_real("PoissonNLLLoss", "eps", eps, 0.0)

    def forward(self, input: Any, target: Any) -> Tensor:
        _check_same_shape("PoissonNLLLoss", input, target)
        return _poisson_nll(input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    r"""Gaussian negative log-likelihood
    :math:`\frac12(\log\max(\sigma^2, \epsilon) + (x - y)^2 / \max(\sigma^2, \epsilon))`,
    called as ``loss(input, target, var)`` (see
    :func:`steepest.nn.functional.gaussian_nll_loss` for the shapes ``var`` may have).

    Parameters
    ----------
    full : bool, default False
        Add :math:`\frac12\log 2\pi`.
    eps : float, default 1e-6
    reduction : {"mean", "sum", "none"}, default "mean"

    All keyword-only, as in PyTorch.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full = check_bool("GaussianNLLLoss", "full", full)
        self.eps = check_real("GaussianNLLLoss", "eps", eps, 0.0)

    def forward(self, input: Any, target: Any, var: Any) -> Tensor:
        _check_same_shape("GaussianNLLLoss", input, target)
        return _gaussian_nll("GaussianNLLLoss", input, target, var, self.full, self.eps,
                             self.reduction)
