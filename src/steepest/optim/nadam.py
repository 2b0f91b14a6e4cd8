"""NAdam: Adam with Nesterov momentum and a momentum schedule."""

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

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016 workshop), with
    ``torch.optim.NAdam``'s arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}` (the :math:`\lambda` term only
    without decoupled decay; with it :math:`x_{t-1} \leftarrow (1 - \alpha_t\lambda) x_{t-1}`
    first), :math:`\psi` = ``momentum_decay``, all operations elementwise:

    .. math::

        \mu_t = \beta_1 \bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \qquad
        \Pi_t = \textstyle\prod_{k \le t} \mu_k, \\
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        \sigma_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon, \\
        x_t = x_{t-1} - \alpha_t \frac{1 - \mu_t}{1 - \Pi_t} \frac{g_t}{\sigma_t}
                      - \alpha_t \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} \frac{m_t}{\sigma_t}.

    Relation to the tutorial's Adam: the first moment is replaced by a Nesterov look-ahead mix
    of the current gradient and :math:`m_t`, with the momentum warming up through
    :math:`\mu_t`.

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
        :math:`\lambda \ge 0`.
    momentum_decay : float, default 4e-3
        :math:`\psi \ge 0`.
    decoupled_weight_decay : bool, default False
        Decay the weights directly (as AdamW, "NAdamW") instead of adding :math:`\lambda x` to
        the gradient.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.

    Notes
    -----
    **Departure from PyTorch (float64).** ``torch.optim.NAdam`` keeps ``mu_product`` (and
    ``step``) as a 0-d tensor of torch's *default* dtype, float32 unless
    ``torch.set_default_dtype(torch.float64)``, even for float64 parameters, so the product of the
    momentum schedule is rounded to float32 (relative error up to ~6e-8 per factor). steepest
    keeps it as a Python float (float64) and does not copy that rounding. Measured against
    torch 2.13 with its float32 default, on float64 parameters: up to 1.8e-8 relative on a
    coordinate after 10 steps (``lr=0.1, momentum_decay=0.02``), and over 100 steps a largest
    difference of 5e-11 (defaults) to 4e-9 (those settings) of the parameters' largest
    magnitude; with torch's default dtype set to float64 they agree to rounding (the
    golden tests, ``tools/make_optim_golden.py`` and ``tools/make_optim_scalar_golden.py``, make
    their references that way). For float32 parameters only the rounding of ``mu_product``
    differs (float32 arithmetic in torch, float64 rounded once to float32 here).
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay", "momentum_decay")
        check_flags(owner, group, "decoupled_weight_decay", "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(p.data),
                "exp_avg_sq": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        if group["weight_decay"] != 0 and group["decoupled_weight_decay"]:
            p.data *= 1.0 - lr * group["weight_decay"]
        g = self._grad_with_decay(p, grad, group)
        decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, g, 1.0 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * g * g
        denom = np.sqrt(exp_avg_sq / (1.0 - beta2 ** step))
        denom += group["eps"]
        p.data += (-lr * (1.0 - mu) / (1.0 - mu_product) * g) / denom
        p.data += ((-lr * mu_next) / (1.0 - mu_product * mu_next) * exp_avg) / denom
