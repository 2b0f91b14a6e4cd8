"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import (
    LR,
    Optimizer,
    ParamsT,
    check_betas,
    check_flags,
    check_lr,
    check_nonnegative,
    lerp_,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015,
    section 7.1), with ``torch.optim.Adamax``'s arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}`, all operations elementwise:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        u_t = \max(\beta_2 u_{t-1},\ |g_t| + \epsilon), \\
        x_t = x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t} \frac{m_t}{u_t}.

    Relation to the paper's form: the paper takes :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)`;
    PyTorch adds :math:`\epsilon` inside the maximum so that :math:`u_t > 0`, as here.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 2e-3
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    betas : (float, float), default (0.9, 0.999)
        Each in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_inf": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        g = self._grad_with_decay(p, grad, group)
        beta1, beta2 = group["betas"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        lerp_(exp_avg, g, 1.0 - beta1)
        exp_inf *= beta2
        bound = np.abs(g)
        bound += group["eps"]
        np.maximum(exp_inf, bound, out=exp_inf)
        clr = lr / (1.0 - beta1 ** state["step"])
        p.data += (-clr * exp_avg) / exp_inf
