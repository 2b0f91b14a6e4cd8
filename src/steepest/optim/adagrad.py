"""Adagrad: per-coordinate step sizes from the sum of squared gradients."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr, check_nonnegative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan and Singer, "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 2011), with ``torch.optim.Adagrad``'s arguments, defaults and
    update rule.

    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}` and :math:`G_0` =
    ``initial_accumulator_value``:

    .. math::

        \tilde\alpha_t = \frac{\alpha_t}{1 + (t - 1)\,\eta}, \qquad
        G_t = G_{t-1} + g_t^2, \qquad
        x_t = x_{t-1} - \tilde\alpha_t \frac{g_t}{\sqrt{G_t} + \epsilon}

    (:math:`\eta` = ``lr_decay``; squares, roots and quotients elementwise). Relation to the
    tutorial form: the tutorial's AdaGrad divides by :math:`\sqrt{G_t + \epsilon}`; PyTorch adds
    :math:`\epsilon` after the root, which is what this class does.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-2
        :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    lr_decay : float, default 0
        :math:`\eta \ge 0`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`.
    initial_accumulator_value : float, default 0
        :math:`G_0 \ge 0`, for every parameter group: as in PyTorch (2.x), a group's own
        ``initial_accumulator_value`` is kept in the group but not used; every accumulator starts
        from the constructor's value (``defaults``), also for a group added later. A group
        whose value differs from the constructor's gets a ``UserWarning`` when it is added.
    eps : float, default 1e-10
        :math:`\epsilon > 0`.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False, flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "maximize": maximize}, flat=flat)
        self._warn_level = 2  # add_param_group's warning points at the caller's line

    _warn_level = 4  # during construction: the line that built the optimizer

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        check_nonnegative(owner, group, "lr_decay", "weight_decay", "initial_accumulator_value")
        group["eps"] = check_real(owner, "eps", group["eps"], 0.0, low_open=True)
        check_flags(owner, group, "maximize")
        return group

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (see :meth:`Optimizer.add_param_group`); a group's own
        ``initial_accumulator_value`` that differs from the constructor's warns that it is not
        used (PyTorch ignores it too)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        value, used = group["initial_accumulator_value"], self.defaults["initial_accumulator_value"]
        if value != used:
            warnings.warn(f"Adagrad: param group {len(self.param_groups) - 1} sets "
                          f"initial_accumulator_value={value!r}, but as in torch.optim.Adagrad "
                          f"every accumulator starts from the constructor's value ({used!r}); "
                          "the group's own value is not used", UserWarning,
                          stacklevel=self._warn_level)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # the constructor's value for every group, as torch.optim.Adagrad (it reads
        # self.defaults["initial_accumulator_value"], never the group's)
        return {"step": 0, "sum": np.full_like(p.data, self.defaults["initial_accumulator_value"])}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        state["step"] += 1
        if kernels.fused:  # one fused loop: decay, maximize and cast included
            kernels.get_kernels().adagrad_(
                p.data, grad, state["sum"], state["step"], lr, group["lr_decay"], group["eps"],
                group["weight_decay"], group["maximize"])
            return
        g = self._grad_with_decay(p, grad, group)
        decayed_lr = lr / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += g * g
        std = np.sqrt(total)
        std += group["eps"]
        p.data += (-decayed_lr * g) / std
