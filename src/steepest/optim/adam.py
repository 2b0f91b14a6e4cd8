"""Adam and AdamW: bias-corrected moving averages of the gradient and of its square."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import (
    LR,
    Optimizer,
    ParamsT,
    blockwise,
    check_betas,
    check_flags,
    check_lr,
    check_nonnegative,
    lerp_,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015), with
    ``torch.optim.Adam``'s arguments, defaults and update rule, AMSGrad (Reddi, Kale and Kumar,
    "On the convergence of Adam and beyond", ICLR 2018) and decoupled weight decay (AdamW).

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}` (the :math:`\lambda` term only
    without decoupled decay), all operations elementwise:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \\
        \hat v_t = \max(\hat v_{t-1}, v_t) \ \text{(AMSGrad) or } v_t, \\
        x_t = x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t}\,
              \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}.

    Decoupled weight decay first shrinks :math:`x_{t-1} \leftarrow (1 - \alpha_t\lambda)
    x_{t-1}`. Relation to the tutorial form: the tutorial writes
    :math:`\hat m_t = m_t / (1 - \beta_1^t)`, :math:`\hat v_t = v_t / (1 - \beta_2^t)`,
    :math:`x_t = x_{t-1} - \alpha \hat m_t / (\sqrt{\hat v_t} + \epsilon)`; this is the same
    update, arranged as PyTorch arranges it.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-3
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    betas : (float, float), default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`.
    amsgrad : bool, default False
    maximize : bool, default False
    decoupled_weight_decay : bool, default False
        Decay the weights directly (AdamW) instead of adding :math:`\lambda x` to the gradient.
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "amsgrad", "maximize", "decoupled_weight_decay")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        return state

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        if kernels.fused:  # one fused loop: decay, maximize and cast included
            kernels.get_kernels().adam_(
                p.data, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
                step, lr, beta1, beta2, group["eps"], group["weight_decay"],
                group["decoupled_weight_decay"], group["amsgrad"], group["maximize"])
            return
        if group["weight_decay"] != 0 and group["decoupled_weight_decay"]:
            p.data *= 1.0 - lr * group["weight_decay"]
        g = self._grad_with_decay(p, grad, group)
        exp_avg_sq = state["exp_avg_sq"]
        amsgrad = group["amsgrad"]
        second_moment = state["max_exp_avg_sq"] if amsgrad else exp_avg_sq
        # Python floats, as PyTorch's scalars: betas or eps written into the group as NumPy
        # scalars would promote each pass of a float32 update to float64 (NEP 50)
        beta1, beta2, eps = float(beta1), float(beta2), float(group["eps"])
        step_size = lr / (1.0 - beta1 ** step)
        bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
        blockwise(_adam_update, (p.data, g, state["exp_avg"], exp_avg_sq, second_moment),
                  beta1, beta2, eps, step_size, bias_correction2_sqrt, amsgrad, work=2)


def _adam_update(x: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                 second_moment: np.ndarray, work: np.ndarray | None, denom: np.ndarray | None,
                 beta1: float, beta2: float, eps: float, step_size: float,
                 bias_correction2_sqrt: float, amsgrad: bool) -> None:
    """Adam's update of ``x`` and its moments, in place, elementwise (``second_moment`` is
    AMSGrad's running maximum of ``exp_avg_sq``, or ``exp_avg_sq`` itself), its intermediate
    results written into ``work`` and ``denom`` (None: new arrays). The passes, in order::

        exp_avg += (1 - beta1) * (g - exp_avg)            # lerp_
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        denom = sqrt(second_moment) / bias_correction2_sqrt + eps
        x += (-step_size * exp_avg) / denom
    """
    lerp_(exp_avg, g, 1.0 - beta1, work)
    exp_avg_sq *= beta2
    term = np.multiply(g, 1.0 - beta2, out=work)
    term *= g
    exp_avg_sq += term
    if amsgrad:
        np.maximum(second_moment, exp_avg_sq, out=second_moment)
    denom = np.sqrt(second_moment, out=denom)
    denom /= bias_correction2_sqrt
    denom += eps
    term = np.multiply(exp_avg, -step_size, out=work)
    term /= denom
    x += term


class AdamW(Adam):
    r"""AdamW (Loshchilov and Hutter, "Decoupled weight decay regularization", ICLR 2019), with
    ``torch.optim.AdamW``'s arguments, defaults and update rule: :class:`Adam` with
    ``decoupled_weight_decay=True`` and ``weight_decay=1e-2``.

    .. math::

        x_{t-1} \leftarrow (1 - \alpha_t \lambda)\, x_{t-1}, \qquad
        x_t = x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t}\,
              \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_t, \hat v_t` as in :class:`Adam` on the raw gradient (the decay does not pass
    through the moving averages, unlike L2 regularisation in Adam).

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
    amsgrad : bool, default False
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    def __init__(self, params: ParamsT, lr: LR = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, flat: bool | str | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        if group.get("decoupled_weight_decay") is not True:
            raise ValueError(f"{owner}: AdamW always decouples its weight decay; got "
                             f"decoupled_weight_decay={group.get('decoupled_weight_decay')!r} "
                             "(use Adam for L2 regularisation)")
        return super()._check_group(owner, group)
