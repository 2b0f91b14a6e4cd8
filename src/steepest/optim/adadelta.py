"""Adadelta: step sizes from the ratio of moving RMS of updates and of gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr, check_nonnegative

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, "ADADELTA: an adaptive learning rate method", 2012), with
    ``torch.optim.Adadelta``'s arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}`, all operations elementwise and
    both accumulators starting at zero:

    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad
        \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t, \\
        u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2, \qquad
        x_t = x_{t-1} - \alpha_t \Delta_t.

    Relation to the tutorial form: Zeiler's method has no learning rate (:math:`\alpha = 1`, the
    default here); PyTorch's ``lr`` scales the update :math:`\Delta_t` (not the accumulated
    :math:`u_t`).

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1.0
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    rho : float, default 0.9
        :math:`\rho`, in ``[0, 1]``.
    eps : float, default 1e-6
        :math:`\epsilon > 0`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["rho"] = check_real(owner, "rho", group["rho"], 0.0, 1.0)
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": np.zeros_like(p.data),
                "acc_delta": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        g = self._grad_with_decay(p, grad, group)
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1.0 - rho) * g * g
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= g
        acc_delta *= rho
        acc_delta += (1.0 - rho) * delta * delta
        p.data += -lr * delta
