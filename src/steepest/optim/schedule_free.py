"""Schedule-free AdamW: momentum replaced by interpolation and averaging, no decay schedule."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_real
from ..autodiff.tensor import Tensor
from .base import (
    LR,
    Optimizer,
    ParamsT,
    bump_versions,
    check_betas,
    check_flags,
    check_lr,
    check_nonnegative,
)

__all__ = ["ScheduleFreeAdamW"]


class ScheduleFreeAdamW(Optimizer):
    r"""Schedule-free AdamW (Defazio et al., "The road less scheduled", NeurIPS 2024), which
    ``torch.optim`` lacks; the arguments and defaults of the authors' ``AdamWScheduleFree``,
    checked against ``optax.contrib.schedule_free_adamw``.

    Three sequences: :math:`z_t` takes AdamW-like steps, :math:`x_t` is a weighted average of
    the :math:`z`'s (the point to *evaluate* at), and the gradient is taken at their
    interpolation :math:`y_t`, which is what the parameters hold while training. With
    :math:`\alpha_t` the learning rate (times :math:`t / T_w` during ``warmup_steps``
    :math:`T_w`), :math:`g_t = \pm\nabla f(y_{t-1})`, elementwise:

    .. math::

        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        z_t = z_{t-1} - \alpha_t \Bigl(\frac{g_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}
                                       + \lambda y_{t-1}\Bigr), \\
        w_t = t^r \bigl(\max_{k \le t} \alpha_k\bigr)^{p}, \qquad
        c_t = \frac{w_t}{\sum_{k \le t} w_k}, \qquad
        x_t = (1 - c_t)\, x_{t-1} + c_t z_t, \qquad
        y_t = \beta_1 x_t + (1 - \beta_1) z_t,

    starting from :math:`x_0 = y_0 = z_0`. With a constant rate the average is uniform
    (:math:`c_t = 1/t`); no decay schedule is needed, since averaging does its work. Only
    :math:`z` and :math:`v` are stored (``state[p]["z"]``, ``["exp_avg_sq"]``):
    :math:`x = (y - (1 - \beta_1) z) / \beta_1`.

    Evaluate at :math:`x`: call :meth:`eval` before evaluating or saving the model (the
    parameters then hold :math:`x`) and :meth:`train` before training again (back to
    :math:`y`); :meth:`step` refuses to run in evaluation mode. The weighting's sums
    (``weight_sum``, ``lr_max``) are kept per parameter, and are the same for every parameter
    of a group.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 0.0025
        :math:`\alpha_t \ge 0`, or a schedule ``t -> lr``.
    betas : (float, float), default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`; :math:`\beta_1` in ``(0, 1)`` (it divides in the recovery of
        :math:`x`), :math:`\beta_2` in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, applied at :math:`y` as in the reference implementation.
    warmup_steps : int, default 0
        :math:`T_w \ge 0`: the rate grows linearly over the first :math:`T_w` updates.
    r : float, default 0.0
        :math:`r \ge 0`: weights later iterates more in the average.
    weight_lr_power : float, default 2.0
        :math:`p \ge 0`.
    maximize : bool, default False
    """

    def __init__(self, params: ParamsT, lr: LR = 0.0025,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0,
                 *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "warmup_steps": warmup_steps, "r": r,
                                  "weight_lr_power": weight_lr_power, "maximize": maximize,
                                  "train_mode": True})

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["betas"] = check_betas(owner, group["betas"])
        if group["betas"][0] == 0:
            raise ValueError(f"{owner}: betas[0] must be in (0, 1) for ScheduleFreeAdamW (x is "
                             "recovered by dividing by it), got 0.0")
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_nonnegative(owner, group, "weight_decay", "r", "weight_lr_power")
        group["warmup_steps"] = check_int(owner, "warmup_steps", group["warmup_steps"], low=0)
        check_flags(owner, group, "maximize", "train_mode")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "z": p.data.copy(), "exp_avg_sq": np.zeros_like(p.data),
                "weight_sum": 0.0, "lr_max": 0.0}

    def step(self, closure: Any = None) -> Any:
        """Take one update of every parameter that has a gradient (in training mode only).

        Raises
        ------
        RuntimeError
            After :meth:`eval` without :meth:`train`: the parameters hold the average
            :math:`x`, not the point :math:`y` where gradients are taken.
        """
        for index, group in enumerate(self.param_groups):
            if not group["train_mode"]:
                raise RuntimeError(f"ScheduleFreeAdamW: param group {index} is in evaluation "
                                   "mode (its parameters hold the average x); call opt.train() "
                                   "before step()")
        return super().step(closure)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        warmup = group["warmup_steps"]
        if step <= warmup:  # step / warmup, as optax's warmup_constant_schedule
            lr = lr * step / warmup
        state["lr_max"] = lr_max = max(state["lr_max"], lr)
        weight = step ** group["r"] * lr_max ** group["weight_lr_power"]
        state["weight_sum"] += weight
        ck = weight / state["weight_sum"] if state["weight_sum"] > 0 else 0.0
        g = self._grad_with_decay(p, grad, {"maximize": group["maximize"]})
        y, z, exp_avg_sq = p.data, state["z"], state["exp_avg_sq"]
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * g * g
        direction = g / (np.sqrt(exp_avg_sq / (1.0 - beta2 ** step)) + group["eps"])
        if group["weight_decay"] != 0:
            direction += group["weight_decay"] * y
        x = (y - (1.0 - beta1) * z) / beta1  # the previous average, before z moves
        z -= lr * direction
        x *= 1.0 - ck
        x += ck * z
        np.add(beta1 * x, (1.0 - beta1) * z, out=y)

    # ------------------------------------------------------------------ modes
    def eval(self) -> None:
        """Put the average :math:`x` into the parameters (to evaluate, predict or save)."""
        self._set_mode(False)

    def train(self) -> None:
        """Put the gradient point :math:`y` back into the parameters (to continue training)."""
        self._set_mode(True)

    def _set_mode(self, train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == train:
                continue
            beta1 = group["betas"][0]
            changed = []
            for p in group["params"]:
                state = self.state.get(p)
                if not state:
                    continue  # never updated: x = y = z
                z = state["z"]
                if train:  # y = beta1 x + (1 - beta1) z
                    p.data[...] = beta1 * p.data + (1.0 - beta1) * z
                else:  # x = (y - (1 - beta1) z) / beta1
                    p.data[...] = (p.data - (1.0 - beta1) * z) / beta1
                changed.append(p)
            bump_versions(changed)
            group["train_mode"] = train
