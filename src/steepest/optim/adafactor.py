"""Adafactor: Adam-like steps from a factored (row and column) estimate of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..autodiff.tensor import Tensor
from .base import LR, Optimizer, ParamsT, check_flags, check_lr, check_nonnegative, lerp_

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer and Stern, "Adafactor: adaptive learning rates with sublinear memory
    cost", ICML 2018), with ``torch.optim.Adafactor``'s arguments, defaults and update rule
    (no first moment, relative step sizes, update clipping).

    With :math:`G_t = \pm\nabla f(x_{t-1})`, :math:`\hat\beta_{2,t} = 1 - t^{\tau}` and
    :math:`n` the number of entries of :math:`x`:

    .. math::

        \rho_t = \min\bigl(\gamma_t, 1/\sqrt t\bigr), \qquad
        a_t = \max\bigl(\epsilon_2,\ \lVert x_{t-1}\rVert_2 / \sqrt n\bigr)\, \rho_t, \qquad
        x_{t-1} \leftarrow (1 - \gamma_t \lambda)\, x_{t-1}.

    For a matrix (the last two axes of a parameter of two or more axes), row and column means
    of :math:`G_t^2` are averaged, and their outer product, divided by the mean of the row
    factor, estimates the second moment (:math:`O(m + n)` memory instead of :math:`O(mn)`):

    .. math::

        R_t = \hat\beta_{2,t} R_{t-1} + (1 - \hat\beta_{2,t})\, \operatorname{mean}_j G_{t,ij}^2,
        \qquad
        C_t = \hat\beta_{2,t} C_{t-1} + (1 - \hat\beta_{2,t})\, \operatorname{mean}_i G_{t,ij}^2,
        \\
        \hat V_t = \frac{R_t C_t}{\max(\operatorname{mean}_i R_{t,i},\ \epsilon_1)};

    for a vector :math:`\hat V_t = \hat\beta_{2,t} \hat V_{t-1} + (1 - \hat\beta_{2,t}) G_t^2`.
    Then

    .. math::

        U_t = G_t / \sqrt{\max(\hat V_t, \epsilon_1^2)}, \qquad
        x_t = x_{t-1} - \frac{a_t}{\max\bigl(1,\ \lVert U_t\rVert_2 / (\sqrt n\, d)\bigr)}\, U_t.

    Relation to the paper: PyTorch (and this class) uses the relative step size
    :math:`a_t` and the decay :math:`\hat\beta_{2,t} = 1 - t^{-0.8}` of the paper's
    experiments, omits the first moment, and places :math:`\epsilon_1` as above.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float or callable, default 1e-2
        :math:`\gamma_t \ge 0`, or a schedule ``t -> lr``; it caps the relative step
        :math:`\rho_t`.
    beta2_decay : float, default -0.8
        :math:`\tau \le 0`.
    eps : (float or None, float), default (None, 1e-3)
        :math:`(\epsilon_1, \epsilon_2)`, each ``>= 0``; :math:`\epsilon_1 = ` ``None`` means the
        machine epsilon of the parameter's dtype.
    d : float, default 1.0
        The clipping threshold :math:`d \ge 1` of the root-mean-square of :math:`U_t`.
    weight_decay : float, default 0
        :math:`\lambda \ge 0` (decoupled: applied to the weights, not the gradient).
    maximize : bool, default False
    """

    def __init__(self, params: ParamsT, lr: LR = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["beta2_decay"] = check_real(owner, "beta2_decay", group["beta2_decay"], high=0.0)
        eps = group["eps"]
        if isinstance(eps, str) or not isinstance(eps, tuple | list) or len(eps) != 2:
            raise ValueError(f"{owner}: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        eps1 = None if eps[0] is None else check_real(owner, "eps[0]", eps[0], 0.0)
        group["eps"] = (eps1, check_real(owner, "eps[1]", eps[1], 0.0))
        group["d"] = check_real(owner, "d", group["d"], 1.0)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "maximize")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        if p.data.ndim > 1:
            return {"step": 0,
                    "row_var": np.zeros(p.shape[:-1] + (1,), dtype=p.dtype),
                    "col_var": np.zeros(p.shape[:-2] + (1, p.shape[-1]), dtype=p.dtype)}
        return {"step": 0, "variance": np.zeros_like(p.data)}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        # the decay is decoupled: only the sign (and dtype) of the gradient is handled here
        g = self._grad_with_decay(p, grad, {"maximize": group["maximize"]})
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        state["step"] += 1
        step = float(state["step"])
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1.0 / step ** 0.5)
        x = p.data
        alpha = max(eps2, float(np.linalg.norm(x)) / x.size ** 0.5) * rho
        if group["weight_decay"] != 0:
            x *= 1.0 - lr * group["weight_decay"]
        if g.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            lerp_(row_var, np.square(g).sum(axis=-1, keepdims=True) / g.shape[-1],
                  one_minus_beta2)
            lerp_(col_var, np.square(g).sum(axis=-2, keepdims=True) / g.shape[-2],
                  one_minus_beta2)
            estimate = row_var @ col_var
            estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]
            lerp_(variance, g * g, one_minus_beta2)
            estimate = variance.copy()
        np.maximum(estimate, eps1 * eps1, out=estimate)
        update = 1.0 / np.sqrt(estimate)  # torch's rsqrt, then the product, for its rounding
        update *= g
        denom = max(1.0, float(np.linalg.norm(update)) / (update.size ** 0.5 * group["d"]))
        x += (-alpha / denom) * update


    def _loaded_state(self, owner: str, saved_state: Any, groups: list[dict[str, Any]]) -> Any:
        # The base class restores buffers of the parameter's shape; the factors of a matrix are
        # smaller, so they are checked here and stand aside (as zeros of the parameter's shape)
        # while the base class checks everything else.
        pairs = [(p, group) for group in groups for p in group["params"]]
        factors: dict[tuple[int, str], np.ndarray] = {}
        if isinstance(saved_state, list | tuple) and len(saved_state) == len(pairs):
            standing_in = []
            for i, ((p, group), saved) in enumerate(zip(pairs, saved_state, strict=True)):
                if isinstance(saved, dict) and p.data.ndim > 1:
                    fresh, saved = self._init_state(p, group), dict(saved)
                    for key in _FACTORS & set(saved):
                        factors[i, key] = _factor(f"{owner}: state[{i}][{key!r}]", saved[key],
                                                  fresh[key])
                        saved[key] = np.zeros_like(p.data)
                standing_in.append(saved)
            saved_state = standing_in
        state = super()._loaded_state(owner, saved_state, groups)
        for (i, key), value in factors.items():
            state[pairs[i][0]][key] = value
        return state


_FACTORS = frozenset({"row_var", "col_var"})


def _factor(where: str, value: Any, fresh: np.ndarray) -> np.ndarray:
    """A saved row or column factor, refused unless it has the factor's shape and holds
    numbers >= 0 (averages of squares)."""
    array = np.asarray(value)
    if array.shape != fresh.shape:
        raise ValueError(f"{where} has shape {array.shape}; this parameter's factor has shape "
                         f"{fresh.shape}")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{where} has dtype {array.dtype}; expected real numbers")
    if array.size and not np.min(array) >= 0:  # NaN fails too
        raise ValueError(f"{where} holds {float(np.min(array))!r}; it averages squares, so every "
                         "entry must be a number >= 0")
    return array.astype(fresh.dtype, copy=True)
