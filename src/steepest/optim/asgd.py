"""ASGD: stochastic gradient descent with decaying steps and a running (Polyak) average."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr, check_nonnegative

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak and Juditsky, "Acceleration of stochastic
    approximation by averaging", SIAM J. Control Optim. 1992), with ``torch.optim.ASGD``'s
    arguments, defaults and update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda_w x_{t-1}` (``weight_decay``
    :math:`\lambda_w`), step :math:`\eta_t` (:math:`\eta_1 = \alpha`) and averaging weight
    :math:`\mu_t` (:math:`\mu_1 = 1`):

    .. math::

        x_t = (1 - \lambda \eta_t)\, x_{t-1} - \eta_t g_t, \qquad
        \bar x_t = \bar x_{t-1} + \mu_t (x_t - \bar x_{t-1}), \\
        \eta_{t+1} = \frac{\alpha_t}{(1 + \lambda \alpha_t t)^{a}}, \qquad
        \mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}.

    The iterates :math:`x_t` are the parameters; the average :math:`\bar x_t` is kept in
    ``state[p]["ax"]`` (an average over the iterates after update :math:`t_0`, the last
    iterate before). The step :math:`\eta_t` decays as :math:`t^{-a}`, which with
    :math:`1/2 < a < 1` satisfies the Robbins-Monro conditions, and the average then converges
    at the optimal rate. To evaluate at the average, copy it in:
    ``p.data[...] = opt.state[p]["ax"]``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-2
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``; it enters :math:`\eta_{t+1}`
        (and :math:`\eta_1` is the first update's value).
    lambd : float, default 1e-4
        :math:`\lambda \ge 0`, the decay term (and the speed of the step's decay).
    alpha : float, default 0.75
        :math:`a \ge 0`, the power of the step's decay.
    t0 : float, default 1e6
        :math:`t_0 \ge 0`, the update after which averaging starts.
    weight_decay : float, default 0
        :math:`\lambda_w \ge 0`.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.

    Notes
    -----
    **Departure from PyTorch (float64).** ``torch.optim.ASGD`` keeps ``eta`` and ``mu`` (and
    ``step``) as 0-d tensors of torch's *default* dtype, float32 unless
    ``torch.set_default_dtype(torch.float64)``, even for float64 parameters, so its float64
    updates use a step rounded to float32 (relative error up to ~6e-8). steepest keeps them as
    Python floats (float64) and does not copy that rounding. Measured against torch 2.13 with
    its float32 default, on float64 parameters: up to 5e-7 relative on a coordinate after 10
    steps (``lr=0.2, lambd=0.01, t0=2``), and over 100 steps a largest difference of 5e-9
    (defaults) to 3e-8 (those settings) of the parameters' largest magnitude; with torch's
    default dtype set to float64 the two agree to ~1e-15 (the golden tests,
    ``tools/make_optim_more_golden.py`` and ``tools/make_optim_scalar_golden.py``, make their
    references that way). For float32 parameters only the rounding of these scalars differs
    (float32 arithmetic in torch, float64 rounded once to float32 here).
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, *, maximize: bool = False,
                 flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        # torch leaves lambd, alpha and t0 unchecked; negative values make the step grow
        check_nonnegative(owner, group, "lambd", "alpha", "t0", "weight_decay")
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # eta is set to the lr of the first update (group["lr"] may be a schedule)
        return {"step": 0, "eta": 0.0, "mu": 1.0, "ax": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        if state["step"] == 0:
            state["eta"] = lr
        state["step"] += 1
        step = state["step"]
        lambd = group["lambd"]
        g = self._grad_with_decay(p, grad, group)
        eta = state["eta"]
        p.data *= 1.0 - lambd * eta
        p.data -= eta * g
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (p.data - ax) * state["mu"]
        else:
            ax[...] = p.data
        state["eta"] = lr / (1.0 + lambd * lr * step) ** group["alpha"]
        state["mu"] = 1.0 / max(1.0, step - group["t0"])
