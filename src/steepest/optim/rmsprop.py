"""RMSprop: step sizes from a moving average of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr, check_nonnegative, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Srivastava and Swersky, Coursera "Neural networks for machine learning",
    lecture 6e, 2012; centered variant from Graves, "Generating sequences with recurrent neural
    networks", 2013), with ``torch.optim.RMSprop``'s arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}`, all operations elementwise:

    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad
        \bar g_t = \rho \bar g_{t-1} + (1 - \rho) g_t \ \text{(centered only)}, \\
        \sigma_t = \sqrt{v_t} + \epsilon \quad\text{or, centered,}\quad
        \sigma_t = \sqrt{v_t - \bar g_t^2} + \epsilon, \\
        b_t = \mu b_{t-1} + g_t / \sigma_t, \quad x_t = x_{t-1} - \alpha_t b_t
        \quad\text{(momentum } \mu > 0\text{), else}\quad
        x_t = x_{t-1} - \alpha_t g_t / \sigma_t,

    where :math:`\rho` = ``alpha`` (all buffers start at zero). Relation to the tutorial form:
    the tutorial writes :math:`x_t = x_{t-1} - \alpha g_t / \sqrt{v_t + \epsilon}`; PyTorch adds
    :math:`\epsilon` after the root, as here, and its momentum accumulates the normalised step.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-2
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    alpha : float, default 0.99
        Smoothing constant :math:`\rho`, in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`.
    momentum : float, default 0
        :math:`\mu`, in ``[0, 1)``.
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False, *, flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["alpha"] = check_real(owner, "alpha", group["alpha"], 0.0, 1.0, high_open=True)
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay")
        group["momentum"] = check_real(owner, "momentum", group["momentum"], 0.0, 1.0,
                                       high_open=True)
        check_flags(owner, group, "centered", "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "square_avg": np.zeros_like(p.data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p.data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p.data)
        return state

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        if group["momentum"] > 0 and "momentum_buffer" not in state \
                or group["centered"] and "grad_avg" not in state:
            # momentum or centering switched on after the first step (a KeyError before, as in
            # torch): the buffer starts from zero, as it would have from the first step
            for key, wanted in (("momentum_buffer", group["momentum"] > 0),
                                ("grad_avg", group["centered"])):
                if wanted:
                    state.setdefault(key, np.zeros_like(p.data))
        if kernels.fused:  # one fused loop: decay, maximize and cast included
            kernels.get_kernels().rmsprop_(
                p.data, grad, state["square_avg"], state.get("grad_avg"),
                state.get("momentum_buffer"), lr, group["alpha"], group["eps"],
                group["weight_decay"], group["momentum"], group["centered"], group["maximize"])
            return
        g = self._grad_with_decay(p, grad, group)
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1.0 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1.0 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += g / avg
            p.data -= lr * buffer
        else:
            p.data += (-lr * g) / avg
