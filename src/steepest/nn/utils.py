"""Gradient clipping and flat parameter vectors (as ``torch.nn.utils``).

The training loop (:func:`steepest.train.fit`) and the scikit-learn estimators clip through
:func:`clip_grad_norm_`; second-order and black-box optimizers see a model as one vector through
:func:`parameters_to_vector` and :func:`vector_to_parameters`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._validation import check_real
from ..autodiff._hooks import replayed
from ..autodiff.tensor import Tensor, as_array

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    """One tensor or an iterable of them, as torch accepts (a generator is consumed once)."""
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grad_arrays(parameters: list[Tensor]) -> list[np.ndarray]:
    """The gradients to clip in place, each made an ndarray first: a 0-d tensor's accumulated
    gradient can be a NumPy scalar (or a number set by hand), and ``g *= c`` on a scalar only
    rebinds a name, so the gradient would silently stay unclipped."""
    grads = []
    for p in parameters:
        if p.grad is None:
            continue
        if not isinstance(p.grad, np.ndarray):
            p.grad = np.array(p.grad)
        grads.append(p.grad)
    return grads


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Scale gradients in place so that their global norm is at most ``max_norm`` (as
    ``torch.nn.utils.clip_grad_norm_``).

    .. math::
        \\|g\\| = \\Big(\\sum_p \\|g_p\\|_q^q\\Big)^{1/q}, \\qquad
        g_p \\leftarrow g_p \\cdot \\min\\Big(1, \\frac{\\text{max\\_norm}}{\\|g\\| + 10^{-6}}\\Big)

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
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

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> w = st.tensor(np.zeros(2), requires_grad=True)
    >>> w.grad = np.array([3.0, 4.0])
    >>> st.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> np.round(w.grad, 6)
    array([0.6, 0.8])
    """
    max_norm = check_real("clip_grad_norm_", "max_norm", max_norm, 0.0, low_open=True)
    if norm_type != math.inf:
        norm_type = check_real("clip_grad_norm_", "norm_type", norm_type, 0.0, low_open=True)
    return _clip_norm(_as_list(parameters), max_norm, norm_type)


@replayed  # st.compile clips again on every replay (the gradients it finds then)
def _clip_norm(parameters: list[Tensor], max_norm: float, norm_type: float) -> float:
    grads = _grad_arrays(parameters)
    total = global_norm(grads, norm_type)
    if math.isfinite(total):
        coefficient = max_norm / (total + 1e-6)
        if coefficient < 1.0:
            for g in grads:
                g *= g.dtype.type(coefficient)
    return total


def global_norm(grads: Sequence[np.ndarray], norm_type: float = 2.0) -> float:
    """The :math:`q`-norm of all the arrays ``grads`` taken together, as one flat vector."""
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    if norm_type == 2.0:
        # One BLAS dot per tensor on its flat view; a float32 dot overflows for entries near
        # 1e19, so an infinite result is recomputed in float64 before it is believed.
        total = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)
        if not math.isfinite(total) and all(np.all(np.isfinite(g)) for g in grads):
            with np.errstate(over="ignore"):
                wide = (g.ravel().astype(np.float64) for g in grads)
                total = sum(float(np.dot(w, w)) for w in wide)
        return math.sqrt(total)
    total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
    return total ** (1.0 / norm_type)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient entry to :math:`[-c, c]` in place (as
    ``torch.nn.utils.clip_grad_value_``).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Tensors whose ``grad`` is clipped; those without a gradient are skipped.
    clip_value : float
        The bound :math:`c > 0`.

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> w = st.tensor(np.zeros(3), requires_grad=True)
    >>> w.grad = np.array([-5.0, 0.5, 2.0])
    >>> st.nn.utils.clip_grad_value_(w, 1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    c = check_real("clip_grad_value_", "clip_value", clip_value, 0.0, low_open=True)
    _clip_value(_as_list(parameters), c)


@replayed  # st.compile clips again on every replay (the gradients it finds then)
def _clip_value(parameters: list[Tensor], c: float) -> None:
    for g in _grad_arrays(parameters):
        np.clip(g, -c, c, out=g)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All the parameters' values as one flat vector (a copy), in iteration order (as
    ``torch.nn.utils.parameters_to_vector``).

    Parameters
    ----------
    parameters : iterable of Tensor

    Returns
    -------
    Tensor
        Of shape ``(sum of the sizes,)``, not recording a graph.

    Raises
    ------
    TypeError
        When the parameters have different dtypes (torch refuses that too).
    """
    params = _as_list(parameters)
    dtypes = {p.data.dtype for p in params}
    if len(dtypes) > 1:
        raise TypeError(f"parameters_to_vector: the parameters have different dtypes "
                        f"{sorted(map(str, dtypes))}; convert them to one first")
    if not params:
        return Tensor(np.zeros(0))
    return Tensor(np.concatenate([p.data.ravel() for p in params]))


def vector_to_parameters(vec: Any, parameters: Iterable[Tensor]) -> None:
    """Copy the entries of a flat vector into the parameters, in iteration order (as
    ``torch.nn.utils.vector_to_parameters``).

    Each parameter is updated in place, so its version counter moves: a graph recorded before
    refuses to backpropagate with the new values (see :class:`steepest.Tensor`).

    Parameters
    ----------
    vec : Tensor or array_like
        A 1-D vector with exactly as many entries as the parameters have together.
    parameters : iterable of Tensor

    Raises
    ------
    ValueError
        When ``vec`` is not 1-D or its length differs from the parameters' total size; nothing is
        written then.
    """
    values = as_array(vec)
    params = _as_list(parameters)
    total = sum(p.data.size for p in params)
    if values.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {values.shape}")
    if values.size != total:
        raise ValueError(f"vector_to_parameters: vec has {values.size} entries but the "
                         f"parameters have {total}")
    if values.dtype.kind == "c" and any(p.data.dtype.kind != "c" for p in params):
        raise TypeError("vector_to_parameters: complex values for real parameters")
    start = 0
    for p in params:
        size = p.data.size
        p.data[...] = values[start:start + size].reshape(p.data.shape)
        p._bump()
        start += size
