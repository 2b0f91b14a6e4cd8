"""RAdam: Adam whose adaptive step is switched on only once its variance is well estimated."""

from __future__ import annotations

from typing import Any

import numpy as np

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

__all__ = ["RAdam"]

#: The rectified (adaptive) step is taken once the length of the approximated simple moving
#: average exceeds this (Liu et al.'s threshold, as in PyTorch); before, RAdam is SGD with
#: bias-corrected momentum.
RHO_THRESHOLD = 5.0


class RAdam(Optimizer):
    r"""RAdam (Liu et al., "On the variance of the adaptive learning rate and beyond", ICLR 2020),
    with ``torch.optim.RAdam``'s arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}` (the :math:`\lambda` term only
    without decoupled decay; with it :math:`x_{t-1} \leftarrow (1 - \alpha_t\lambda) x_{t-1}`
    first), all operations elementwise:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        \hat m_t = m_t / (1 - \beta_1^t), \\
        \rho_\infty = \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \\
        x_t = \begin{cases}
          x_{t-1} - \alpha_t\, \hat m_t\, r_t\, \dfrac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}
            & \rho_t > 5, \quad
            r_t = \sqrt{\dfrac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                              {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
          x_{t-1} - \alpha_t\, \hat m_t & \text{otherwise.}
        \end{cases}

    :math:`\rho_t` is the length of the simple moving average that the exponential average
    :math:`v_t` approximates; while it is short, the variance of the adaptive step is
    unbounded, so RAdam takes plain momentum steps (a built-in warm-up) and rescales the
    adaptive step by :math:`r_t` afterwards.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-3
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    betas : (float, float), default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0` (PyTorch also accepts 0, which divides 0 by 0 for a coordinate
        whose gradient has always been 0).
    weight_decay : float, default 0
        :math:`\lambda \ge 0`.
    decoupled_weight_decay : bool, default False
        Decay the weights directly (as AdamW, "RAdamW") instead of adding :math:`\lambda x` to
        the gradient.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "decoupled_weight_decay", "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        if group["weight_decay"] != 0 and group["decoupled_weight_decay"]:
            p.data *= 1.0 - lr * group["weight_decay"]
        g = self._grad_with_decay(p, grad, group)
        # Python floats, as in Adam: NumPy scalars in the group would promote float32 passes
        beta1, beta2 = float(beta1), float(beta2)
        bias_correction1 = 1.0 - beta1 ** step
        bias_correction2 = 1.0 - beta2 ** step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * beta2 ** step / bias_correction2
        rect = None
        if rho_t > RHO_THRESHOLD:
            rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
        blockwise(_radam_update, (p.data, g, state["exp_avg"], state["exp_avg_sq"]), beta1,
                  beta2, float(group["eps"]), lr, bias_correction1, bias_correction2, rect,
                  work=2)


def _radam_update(x: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                  work: np.ndarray | None, denom: np.ndarray | None, beta1: float, beta2: float,
                  eps: float, lr: float, bias_correction1: float, bias_correction2: float,
                  rect: float | None) -> None:
    """RAdam's update of ``x`` and its moments, in place, elementwise, its intermediate results
    written into ``work`` and ``denom`` (None: new arrays); ``rect`` None before the rectified
    step is taken. The factors in PyTorch's order, so that the rounding agrees::

        exp_avg += (1 - beta1) * (g - exp_avg)            # lerp_
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        change = exp_avg / bias_correction1 * lr
        x -= change * (sqrt(bias_correction2) / (sqrt(exp_avg_sq) + eps)) * rect
        x -= change                                       # (rect None)
    """
    lerp_(exp_avg, g, 1.0 - beta1, work)
    exp_avg_sq *= beta2
    term = np.multiply(g, 1.0 - beta2, out=work)
    term *= g
    exp_avg_sq += term
    change = np.divide(exp_avg, bias_correction1, out=work)
    change *= lr
    if rect is not None:
        root = np.sqrt(exp_avg_sq, out=denom)
        root += eps
        # out=denom, not root: of a 0-d array NumPy returns a scalar, which cannot be an out=
        adaptive = np.divide(bias_correction2 ** 0.5, root, out=denom)
        change *= adaptive
        change *= rect
    x -= change
