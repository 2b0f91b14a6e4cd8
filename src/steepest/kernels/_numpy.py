"""The NumPy reference of every fused kernel: the arithmetic the optimizers and ops use today.

Each function here performs, call for call, what ``steepest.optim`` and ``steepest.autodiff.ops``
compute on the same arrays (same operations, same order, Python scalars rounded to the array's
dtype as NumPy 2 does), so that wiring a kernel in with the ``"numpy"`` backend changes no bit.
:mod:`steepest.kernels._numba` implements the same signatures in one pass over memory.

Updates are in place on ``param`` and the state arrays; ``grad`` is never modified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "sgd_", "adam_", "rmsprop_", "adagrad_", "relu_backward", "tanh_backward",
    "softmax_cross_entropy", "softmax_cross_entropy_backward", "bias_grad",
]

EXACT_COUNT = 2**24  # a float32 count divides exactly up to here (as in autodiff.ops)


def _effective_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float,
                    maximize: bool) -> np.ndarray:
    """``±grad + weight_decay * param`` as ``Optimizer._grad_with_decay`` computes it."""
    if grad.dtype != param.dtype:
        grad = grad.astype(param.dtype)
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    return grad


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)``, rounded as ``torch.lerp`` (and ``optim.base.lerp_``)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1.0 - weight), out=start)


def sgd_(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, lr: float,
         momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
         nesterov: bool = False, maximize: bool = False) -> np.ndarray | None:
    r"""One ``torch.optim.SGD`` update of ``param`` in place.

    .. math::

        v_1 = g_1,\quad v_t = \mu v_{t-1} + (1-\tau) g_t,\quad
        x_t = x_{t-1} - \alpha (g_t + \mu v_t \text{ (Nesterov) or } v_t)

    Returns the momentum buffer (created from the first gradient when ``momentum_buffer`` is
    None and ``momentum != 0``, as torch does), or None without momentum.
    """
    g = _effective_grad(param, grad, weight_decay, maximize)
    if momentum == 0:
        param -= lr * g
        return None
    if momentum_buffer is None:
        momentum_buffer = g.copy()
    else:
        momentum_buffer *= momentum
        momentum_buffer += (1.0 - dampening) * g
    param -= lr * (g + momentum * momentum_buffer if nesterov else momentum_buffer)
    return momentum_buffer


def adam_(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
          max_exp_avg_sq: np.ndarray | None, step: int, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
          amsgrad: bool = False, maximize: bool = False) -> None:
    r"""One ``torch.optim.Adam`` (``AdamW`` with ``decoupled_weight_decay``) update in place.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
        \quad x_t = x_{t-1} - \frac{\alpha}{1-\beta_1^t}\,
        \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    ``step`` is the number of this update (1 for the first); ``max_exp_avg_sq`` is AMSGrad's
    running maximum :math:`\hat v_t` (None without AMSGrad, where :math:`\hat v_t = v_t`).
    """
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1.0 - lr * weight_decay
    g = _effective_grad(param, grad, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    second = max_exp_avg_sq if amsgrad else exp_avg_sq
    step_size = lr / (1.0 - beta1 ** step)
    root_bias2 = (1.0 - beta2 ** step) ** 0.5
    _lerp_(exp_avg, g, 1.0 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1.0 - beta2) * g * g
    if amsgrad:
        np.maximum(second, exp_avg_sq, out=second)
    denom = np.sqrt(second) / root_bias2
    denom += eps
    param += (-step_size * exp_avg) / denom


def rmsprop_(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
             grad_avg: np.ndarray | None, momentum_buffer: np.ndarray | None, lr: float,
             alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
             momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None:
    r"""One ``torch.optim.RMSprop`` update in place.

    .. math::

        v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad \sigma_t = \sqrt{v_t - \bar g_t^2} + \epsilon
        \text{ (centered) or } \sqrt{v_t} + \epsilon,\quad
        b_t = \mu b_{t-1} + g_t/\sigma_t,\quad x_t = x_{t-1} - \alpha b_t

    (without momentum :math:`x_t = x_{t-1} - \alpha g_t / \sigma_t`; ``grad_avg`` is
    :math:`\bar g_t`, needed when ``centered``; ``momentum_buffer`` when ``momentum > 0``).
    """
    g = _effective_grad(param, grad, weight_decay, maximize)
    square_avg *= alpha
    square_avg += (1.0 - alpha) * g * g
    if centered:
        _lerp_(grad_avg, g, 1.0 - alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param += (-lr * g) / avg


def adagrad_(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, step: int, lr: float,
             lr_decay: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0,
             maximize: bool = False) -> None:
    r"""One ``torch.optim.Adagrad`` update in place (``step`` counts from 1).

    .. math::

        G_t = G_{t-1} + g_t^2,\quad
        x_t = x_{t-1} - \frac{\alpha}{1 + (t-1)\eta}\,\frac{g_t}{\sqrt{G_t} + \epsilon}
    """
    g = _effective_grad(param, grad, weight_decay, maximize)
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    std = np.sqrt(state_sum)
    std += eps
    param += (-decayed_lr * g) / std


def relu_backward(grad: np.ndarray, out: np.ndarray, result: np.ndarray | None = None
                  ) -> np.ndarray:
    """The gradient through ``out = relu(x)``: ``grad`` where ``out > 0``, else 0 (as torch).

    ``result``, if given, is an array of ``grad``'s shape and dtype to write it into (a buffer
    of ``autodiff.pool``)."""
    return np.multiply(grad, out > 0, out=result)


def tanh_backward(grad: np.ndarray, out: np.ndarray, result: np.ndarray | None = None
                  ) -> np.ndarray:
    r"""The gradient through ``out = tanh(x)``: :math:`g (1 - \tanh^2 x)` (into ``result``,
    if given, as :func:`relu_backward`)."""
    return np.multiply(grad, 1 - out * out, out=result)


REDUCTIONS = ("mean", "sum", "none")


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, reduction: str = "mean", *,
                          checked: bool = False, exp: Any = np.exp, log: Any = np.log
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Softmax cross-entropy of 2-D ``logits (N, C)`` against integer classes ``(N,)``.

    With :math:`s = x - \max_c x_c`, the per-sample losses are :math:`\ell_i = \log\sum_c
    e^{s_{ic}} - s_{i y_i}`, reduced as ``reduction`` says: their mean :math:`\frac1N\sum_i
    \ell_i` (a pairwise sum, then one division), their sum, or ``"none"`` (the ``(N,)``
    losses). Returns ``(loss, exp, total)``: the loss (0-d unless ``"none"``), :math:`e^s` and
    its row sums ``(N, 1)``, which the backward pass needs (the residual of
    ``ops.cross_entropy``). ``exp`` and ``log`` may be replaced by other elementwise functions
    (the tests pass the C library's, which the numba kernel calls). ``checked`` (the caller has
    refused targets out of ``[0, C)``) is the numba kernel's; here indexing raises for them.
    """
    shifted = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
    exps = exp(shifted)
    total = np.add.reduce(exps, axis=-1, keepdims=True)
    losses = log(total)[:, 0] - shifted[np.arange(len(target)), target]
    if reduction == "none":
        return losses, exps, total
    if reduction == "sum":
        return np.asarray(np.sum(losses)), exps, total
    if reduction != "mean":
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if losses.size <= EXACT_COUNT:
        loss = np.add.reduce(losses, axis=None) / losses.size
    else:
        loss = np.mean(losses)
    return np.asarray(loss), exps, total


def softmax_cross_entropy_backward(exp: np.ndarray, total: np.ndarray, target: np.ndarray,
                                   g: np.ndarray | float, reduction: str = "mean") -> np.ndarray:
    r"""The gradient of the cross-entropy, from the forward's residual ``exp, total``:
    :math:`(\mathrm{softmax}(x) - e_y)` times :math:`g/N` (``"mean"``), :math:`g` (``"sum"``,
    ``g`` 0-d) or :math:`g_i` per row (``"none"``, ``g`` of shape ``(N,)``).

    ``g`` is rounded to the dtype of ``exp`` first (``ops.cross_entropy``'s rule calls this only
    with a ``g`` of that dtype, where both compute the same).
    """
    p = exp / total
    p[np.arange(len(target)), target] -= 1
    g = np.asarray(g, dtype=exp.dtype)
    if reduction == "none":
        p *= np.expand_dims(g, -1)
    elif reduction == "sum":
        p *= g[()]
    elif reduction == "mean":
        p *= g[()] / len(target)
    else:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return p


def bias_grad(g: np.ndarray) -> np.ndarray:
    """The gradient of a bias added to every row of ``g (N, F)``: its column sums."""
    return np.add.reduce(g, axis=0)
