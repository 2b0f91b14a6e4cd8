"""Rprop: a step size per coordinate, grown or shrunk by the sign agreement of the gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller and Braun, "A direct adaptive method for faster
    backpropagation learning: the RPROP algorithm", ICNN 1993), with ``torch.optim.Rprop``'s
    arguments, defaults and update rule (the variant without weight backtracking, "Rprop-").

    Each coordinate keeps its own step :math:`\Delta_t`, started at ``lr``; only the *sign* of
    the gradient :math:`g_t = \pm\nabla f(x_{t-1})` is used. Elementwise, with
    :math:`s = g_t\, g_{t-1}`:

    .. math::

        \Delta_t = \operatorname{clip}\Bigl(\Delta_{t-1} \cdot
            \begin{cases} \eta^+ & s > 0 \\ \eta^- & s < 0 \\ 1 & s = 0 \end{cases},\
            \Delta_{\min}, \Delta_{\max}\Bigr), \qquad
        \tilde g_t = \begin{cases} 0 & s < 0 \\ g_t & \text{otherwise} \end{cases}, \\
        x_t = x_{t-1} - \operatorname{sign}(\tilde g_t)\, \Delta_t, \qquad
        g_{t-1} \leftarrow \tilde g_t.

    After a sign change the coordinate does not move, and its stored gradient is 0, so the
    next step neither grows nor shrinks it. A NaN gradient does not move its coordinate either
    (``torch.sign`` of NaN is 0): its step is kept and the NaN stored, so that the next step
    keeps the step size too, as in PyTorch. Rprop is meant for full-batch gradients: the signs
    of minibatch gradients disagree by chance.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-2
        The initial step :math:`\Delta_0 \ge 0` of every coordinate. Only the value of the
        first update is used (a schedule's ``lr(1)``): afterwards the steps adapt themselves,
        and changing ``lr`` has no effect, as in PyTorch.
    etas : (float, float), default (0.5, 1.2)
        :math:`(\eta^-, \eta^+)` with :math:`0 < \eta^- < 1 < \eta^+`.
    step_sizes : (float, float), default (1e-6, 50)
        :math:`(\Delta_{\min}, \Delta_{\max})`, with :math:`0 \le \Delta_{\min} \le
        \Delta_{\max}`.
    maximize : bool, default False
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays; see :class:`~steepest.optim.Optimizer`. The same iterates either way.
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *,
                 maximize: bool = False, flat: bool | str | None = None) -> None:
        super().__init__(params, {"lr": lr, "etas": etas, "step_sizes": step_sizes,
                                  "maximize": maximize}, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        minus, plus = _pair(owner, "etas", group["etas"])
        if not 0.0 < minus < 1.0 < plus:
            raise ValueError(f"{owner}: etas must be (eta_minus, eta_plus) with 0 < eta_minus < 1 "
                             f"< eta_plus, got {group['etas']!r}")
        group["etas"] = (minus, plus)
        low, high = _pair(owner, "step_sizes", group["step_sizes"])
        if not 0.0 <= low <= high:
            raise ValueError(f"{owner}: step_sizes must be (min, max) with 0 <= min <= max, got "
                             f"{group['step_sizes']!r}")
        group["step_sizes"] = (low, high)
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # step_size is filled with the lr of the first update (group["lr"] may be a schedule)
        return {"step": 0, "prev": np.zeros_like(p.data), "step_size": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        if state["step"] == 0:
            state["step_size"].fill(lr)
        state["step"] += 1
        g = self._grad_with_decay(p, grad, group)
        eta_minus, eta_plus = group["etas"]
        step_min, step_max = group["step_sizes"]
        prev, step_size = state["prev"], state["step_size"]
        agreement = g * prev
        flipped = agreement < 0  # computed once: the step's factor and the zeroed gradient
        # the factors in the step sizes' dtype, as torch writes them into a tensor of the
        # gradient's (a float64 factor rounds a float32 step size otherwise, 1 ulp at times)
        kind = step_size.dtype.type
        factor = np.where(agreement > 0, kind(eta_plus), np.where(flipped, kind(eta_minus), kind(1)))
        step_size *= factor
        np.clip(step_size, step_min, step_max, out=step_size)
        g = np.where(flipped, 0.0, g).astype(p.data.dtype, copy=False)
        move = np.sign(g, out=np.empty_like(g))  # an array, also for a 0-d parameter
        move *= step_size
        # torch.sign(nan) is 0 where np.sign(nan) is NaN: as in torch.optim.Rprop, a NaN
        # gradient leaves its coordinate where it is, prev keeps the NaN and the step size
        # its value (the agreement is NaN: neither > 0 nor < 0, a factor of 1)
        np.copyto(move, 0.0, where=np.isnan(move))
        p.data -= move
        prev[...] = g


def _pair(owner: str, name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, str) or not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair of numbers, got {value!r}")
    return tuple(check_real(owner, f"{name}[{i}]", v) for i, v in enumerate(value))
