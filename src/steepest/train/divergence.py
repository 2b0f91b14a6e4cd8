"""Divergence detection for :func:`~steepest.train.fit`, and the curvature behind its remedy.

Two tests run on numbers the loop computes anyway (the batch loss and the gradient norm):

* **growth**: a batch loss above :math:`\\ell_0 + c \\max(|\\ell_0|, 1)`, with :math:`\\ell_0`
  the run's first batch loss and :math:`c` the ``divergence`` factor (``1e6`` by default);
* **rising**: the epoch loss rose in each of the last :data:`RISING_EPOCHS` epochs, the mean
  gradient norm rose with it, the loss grew by a factor of at least :data:`RISING_FACTOR`
  over that window, and it ended above the first epoch's loss (Adam wobbling near a minimum
  raises the loss for a few epochs too, but not above where the run began).

The suggested learning rate comes from the largest curvature :math:`L` of the loss on the
offending batch: plain gradient descent on a quadratic is stable only for :math:`\\eta < 2/L`.
:math:`L` is estimated by power iteration on Hessian-vector products taken as central finite
differences of the gradient, starting along the gradient:

.. math::
    H v \\approx \\frac{\\nabla\\ell(\\theta + \\epsilon v) - \\nabla\\ell(\\theta - \\epsilon v)}
    {2\\epsilon}, \\qquad v \\leftarrow \\frac{H v}{\\|H v\\|}, \\qquad
    L \\approx \\|H v\\|.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor

#: Epochs in a row that the loss and the gradient norm must both rise for the "rising" test.
RISING_EPOCHS = 5
#: How much the epoch loss must have grown over those epochs.
RISING_FACTOR = 2.0
#: Power-iteration steps of the curvature estimate.
POWER_STEPS = 4


class DivergenceWatch:
    """Keeps what the two tests need: the first batch loss, the epoch losses and gradient norms."""

    def __init__(self, factor: float | None) -> None:
        self.factor = factor
        self.start: float | None = None
        self.epoch_losses: list[float] = []
        self.epoch_norms: list[float] = []

    def grown(self, value: float) -> bool:
        """Whether a batch loss is orders of magnitude above the run's first one."""
        if self.start is None:
            self.start = value
            return False
        if self.factor is None:
            return False
        return value > self.start + self.factor * max(abs(self.start), 1.0)

    def rising(self, loss: float, grad_norm: float) -> bool:
        """Record an epoch's mean loss and gradient norm; whether both kept rising."""
        self.epoch_losses.append(loss)
        self.epoch_norms.append(grad_norm)
        if self.factor is None or len(self.epoch_losses) <= RISING_EPOCHS:
            return False
        losses = self.epoch_losses[-RISING_EPOCHS - 1:]
        norms = self.epoch_norms[-RISING_EPOCHS - 1:]
        up = all(b > a for a, b in zip(losses, losses[1:], strict=False))
        norms_up = all(b > a for a, b in zip(norms, norms[1:], strict=False))
        worse = losses[-1] > self.epoch_losses[0]  # worse than the first epoch: not a wobble
        return up and norms_up and worse and losses[-1] >= RISING_FACTOR * max(losses[0], 1e-300)


def estimate_curvature(model: Any, loss_fn: Callable[..., Tensor], params: Sequence[Tensor],
                       xb: np.ndarray, yb: Any, direction: Sequence[np.ndarray] | None = None,
                       steps: int = POWER_STEPS) -> float | None:
    """Largest Hessian eigenvalue (in magnitude) of ``loss_fn(model(xb), yb)`` at the current
    parameters, or None when it cannot be estimated (non-finite parameters or gradients).

    The model runs in evaluation mode (no dropout draws, so the random generator is untouched);
    parameters, their gradients and the training mode are put back exactly as they were.
    """
    base = [p.data.copy() for p in params]
    saved_grads = [None if p.grad is None else p.grad.copy() for p in params]
    was_training = bool(getattr(model, "training", True))
    model.eval()
    try:
        if not all(np.all(np.isfinite(b)) for b in base):
            return None
        v = _start_direction(model, loss_fn, params, xb, yb, direction)
        if v is None:
            return None
        scale = math.sqrt(sum(float(np.vdot(b, b).real) for b in base))
        eps = math.sqrt(np.finfo(base[0].dtype).eps) * (1.0 + scale)
        estimate = None
        for _ in range(steps):
            plus = _gradient_at(model, loss_fn, params, base, v, eps, xb, yb)
            minus = _gradient_at(model, loss_fn, params, base, v, -eps, xb, yb)
            if plus is None or minus is None:
                return estimate
            hv = [(a - b) / (2.0 * eps) for a, b in zip(plus, minus, strict=True)]
            norm = _norm(hv)
            if not math.isfinite(norm) or norm == 0.0:
                return estimate
            estimate = norm
            v = [h / norm for h in hv]
        return estimate
    finally:
        for p, b, g in zip(params, base, saved_grads, strict=True):
            p.data[...] = b
            p.grad = g
        if was_training:
            model.train()


def _norm(arrays: Sequence[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.vdot(a, a).real) for a in arrays))


def _start_direction(model: Any, loss_fn: Callable[..., Tensor], params: Sequence[Tensor],
                     xb: np.ndarray, yb: Any, direction: Sequence[np.ndarray] | None
                     ) -> list[np.ndarray] | None:
    if direction is None or not all(np.all(np.isfinite(d)) for d in direction):
        direction = _gradient_at(model, loss_fn, params, None, None, 0.0, xb, yb)
        if direction is None:
            return None
    norm = _norm(direction)
    if not math.isfinite(norm) or norm == 0.0:
        return None
    return [np.asarray(d, dtype=np.float64) / norm for d in direction]


def _gradient_at(model: Any, loss_fn: Callable[..., Tensor], params: Sequence[Tensor],
                 base: Sequence[np.ndarray] | None, v: Sequence[np.ndarray] | None, eps: float,
                 xb: np.ndarray, yb: Any) -> list[np.ndarray] | None:
    """The gradient at ``base + eps * v`` (at the current parameters when ``base`` is None)."""
    if base is not None and v is not None:
        for p, b, d in zip(params, base, v, strict=True):
            p.data[...] = b + eps * d
    for p in params:
        p.grad = None
    with np.errstate(all="ignore"):
        loss = loss_fn(model(Tensor(xb)), yb)
        if not math.isfinite(float(loss.data)):
            return None
        loss.backward()
    grads = [np.zeros_like(p.data, dtype=np.float64) if p.grad is None
             else p.grad.astype(np.float64) for p in params]
    return grads if all(np.all(np.isfinite(g)) for g in grads) else None


def stable_limit(optimizer: Any, curvature: float | None) -> tuple[float, str, str] | None:
    r"""The largest constant lr that is stable on a quadratic of curvature ``L`` for this
    optimizer, with its formula and the method it holds for (``"plain gradient descent"``,
    ``"SGD with momentum m=0.9"``); None where the curvature does not bound the step.

    On an eigen-direction of curvature :math:`\lambda`, with :math:`a = \text{lr}\,\lambda`,
    the iteration is stable iff :math:`a < 2` (gradient descent), :math:`a (1 - \tau) <
    2 (1 + \mu)` (heavy ball with momentum :math:`\mu`, dampening :math:`\tau`) or
    :math:`a < 2 (1 + \mu) / (1 + 2 \mu)` (PyTorch's Nesterov form), by the Jury conditions
    on the 2x2 iteration matrix. Adam, RMSprop, Adagrad and the other adaptive methods divide
    the step by a running size of the gradient, and Lion and Rprop use its sign: each
    parameter moves by about lr whatever the curvature, so no such bound exists for them (the
    2/L of gradient descent had been quoted for Adam). L-BFGS scales its own steps.
    """
    from ..optim import ASGD, SGD
    if curvature is None or not (curvature > 0.0 and math.isfinite(curvature)):
        return None
    plain = 2.0 / curvature, "2/L", "plain gradient descent"
    if isinstance(optimizer, ASGD):
        return plain
    if not isinstance(optimizer, SGD):  # (both momentum forms: the same iterates at one lr)
        return None
    group = optimizer.param_groups[0]
    mu, tau = float(group.get("momentum", 0.0)), float(group.get("dampening", 0.0))
    if mu == 0.0:
        return plain
    if group.get("nesterov", False):
        return (2.0 * (1 + mu) / ((1 + 2 * mu) * curvature), "2(1+m)/((1+2m)L)",
                f"SGD with Nesterov momentum m={mu:g}")
    if tau >= 1.0:
        return None
    if tau == 0.0:
        return 2.0 * (1 + mu) / curvature, "2(1+m)/L", f"SGD with momentum m={mu:g}"
    return (2.0 * (1 + mu) / ((1 - tau) * curvature), "2(1+m)/((1-d)L)",
            f"SGD with momentum m={mu:g} and dampening d={tau:g}")


def suggest_lr(lr: float | None, curvature: float | None,
               optimizer: Any = None) -> float | None:
    """``min(limit / 2, lr / 10)``: inside the optimizer's stable range (``lr < 2 / L`` for
    plain gradient descent, see :func:`stable_limit`; without an optimizer, that one), and at
    least ten times below the rate that diverged. For an adaptive optimizer, whose step the
    curvature does not bound, ``lr / 10``."""
    candidates = []
    if optimizer is None:
        bound = None if curvature is None or not (curvature > 0.0 and math.isfinite(curvature)) \
            else (2.0 / curvature,)
    else:
        bound = stable_limit(optimizer, curvature)
    if bound is not None:
        candidates.append(bound[0] / 2.0)
    if lr is not None and lr > 0.0 and math.isfinite(lr):
        candidates.append(lr / 10.0)
    return min(candidates) if candidates else None
