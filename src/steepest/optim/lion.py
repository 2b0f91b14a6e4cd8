"""Lion: the sign of an interpolated momentum, with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_betas, check_flags, check_lr, check_nonnegative

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion, "evolved sign momentum" (Chen et al., "Symbolic discovery of optimization
    algorithms", NeurIPS 2023, Algorithm 2), which ``torch.optim`` lacks; checked against
    ``optax.lion``.

    With :math:`g_t = \pm\nabla f(x_{t-1})`, all operations elementwise:

    .. math::

        c_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        x_t = x_{t-1} - \alpha_t \bigl(\operatorname{sign}(c_t) + \lambda x_{t-1}\bigr), \qquad
        m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t.

    Every coordinate moves by exactly :math:`\pm\alpha_t` (plus the decay), so the update has
    a larger norm than Adam's: the paper uses a learning rate 3-10x smaller than AdamW's and a
    weight decay 3-10x larger. The momentum that enters the step (:math:`\beta_1`) is shorter
    than the one that is kept (:math:`\beta_2`). One buffer per parameter (``exp_avg``), half
    of Adam's memory.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-4
        :math:`\alpha_t \ge 0`, or a schedule ``t -> lr``.
    betas : (float, float), default (0.9, 0.99)
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, decoupled (as AdamW's; optax's ``lion`` defaults to 1e-3).
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay,
                                  "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        # the decay is decoupled: only the sign (and dtype) of the gradient is handled here
        g = self._grad_with_decay(p, grad, {"maximize": group["maximize"]})
        exp_avg = state["exp_avg"]
        direction = np.sign((1.0 - beta1) * g + beta1 * exp_avg)
        if group["weight_decay"] != 0:
            direction += group["weight_decay"] * p.data
        p.data -= lr * direction
        exp_avg *= beta2
        exp_avg += (1.0 - beta2) * g
