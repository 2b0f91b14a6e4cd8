"""Gradient norms and clipping."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from .._validation import check_real
from ..autodiff.tensor import Tensor


# --------------------------------------------------------------------------- gradients
def clip_grad_norm_(parameters: Iterable[Tensor], max_norm: float, norm_type: float = 2.0
                    ) -> float:
    """Scale gradients in place so that their global norm is at most ``max_norm`` (as
    ``torch.nn.utils.clip_grad_norm_``).

    .. math::
        \\|g\\| = \\Big(\\sum_p \\|g_p\\|_q^q\\Big)^{1/q}, \\qquad
        g_p \\leftarrow g_p \\cdot \\min\\Big(1, \\frac{\\text{max\\_norm}}{\\|g\\| + 10^{-6}}\\Big)

    Parameters
    ----------
    parameters : iterable of Tensor
        Tensors whose ``grad`` is clipped; those without a gradient are skipped.
    max_norm : float
        Positive bound on the global norm.
    norm_type : float, default 2.0
        The :math:`q` of the norm; ``inf`` for the largest absolute entry.

    Returns
    -------
    float
        The global norm before clipping (``inf`` or ``nan`` if a gradient is not finite, in which
        case nothing is scaled).
    """
    max_norm = check_real("clip_grad_norm_", "max_norm", max_norm, 0.0, low_open=True)
    if norm_type != math.inf:
        norm_type = check_real("clip_grad_norm_", "norm_type", norm_type, 0.0, low_open=True)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = _global_norm(grads, norm_type)
    if math.isfinite(total):
        coefficient = max_norm / (total + 1e-6)
        if coefficient < 1.0:
            for g in grads:
                g *= g.dtype.type(coefficient)
    return total


def _global_norm(grads: Sequence[np.ndarray], norm_type: float = 2.0) -> float:
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    if norm_type == 2.0:
        # One BLAS dot per tensor on its flat view; a float32 dot overflows for entries near
        # 1e19, so an infinite result is recomputed in float64 before it is believed.
        total = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)
        if not math.isfinite(total) and all(np.all(np.isfinite(g)) for g in grads):
            wide = (g.ravel().astype(np.float64) for g in grads)
            total = sum(float(np.dot(w, w)) for w in wide)
        return math.sqrt(total)
    total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
    return total ** (1.0 / norm_type)
