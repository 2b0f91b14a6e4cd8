"""Second derivatives of Tensor code for ``minimize`` and the diagnostics: Hessians and
Hessian-vector products on flat float64 vectors.

Exact ones come from the engine's higher-order transforms (``st.autodiff.hessian`` and
``st.autodiff.hvp``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import autodiff as _autodiff
from .autodiff.tensor import Tensor

__all__ = ["hessian", "hvp", "exact"]

Expression = Callable[[Tensor], Tensor]


def exact() -> bool:
    """Whether the engine has higher-order transforms (else the fallback below is used)."""
    return hasattr(_autodiff, "hessian") and hasattr(_autodiff, "hvp")


def _on_shape(expression: Expression, shape: tuple[int, ...]) -> Callable[[Tensor], Tensor]:
    """``expression`` on a flat Tensor, reshaped to the shape ``fun`` expects."""
    if len(shape) == 1:
        return expression
    return lambda z: expression(z.reshape(shape))


def hessian(expression: Expression, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> (n, n)`` Hessian of the Tensor code ``expression`` at the flat point ``x``."""
    f = _on_shape(expression, shape)
    if exact():
        transform = _autodiff.hessian(f)
        n = int(np.prod(shape))
        return lambda x: np.asarray(transform(np.asarray(x, dtype=np.float64)),
                                    dtype=np.float64).reshape(n, n)
    return _differenced_hessian(f)


def hvp(expression: Expression, shape: tuple[int, ...]
        ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``(x, v) -> H v`` of the Tensor code ``expression``, on arrays of ``shape``."""
    if exact():
        transform = _autodiff.hvp(expression)
        return lambda x, v: np.asarray(transform(np.asarray(x, dtype=np.float64),
                                                 np.asarray(v, dtype=np.float64)),
                                       dtype=np.float64)
    gradient = _autodiff.grad(expression)
    return lambda x, v: _differenced_hvp(gradient, np.asarray(x, dtype=np.float64),
                                         np.asarray(v, dtype=np.float64))


# TEMPORARY FALLBACK, until the engine's st.hessian / st.hvp land (issue 12 item 2): central
# differences of the engine's exact gradient. Not exact (error ~ eps^(2/3)); removed as soon as
# exact() is True on main.
def _differenced_hessian(f: Callable[[Tensor], Tensor]) -> Callable[[np.ndarray], np.ndarray]:
    gradient = _autodiff.grad(f)

    def H(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = x.size
        columns = [_differenced_hvp(gradient, x, np.eye(n)[i]) for i in range(n)]
        M = np.array(columns, dtype=np.float64).reshape(n, n)
        return 0.5 * (M + M.T)

    return H


def _differenced_hvp(gradient: Callable[[Any], np.ndarray], x: np.ndarray,
                     v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if norm == 0:
        return np.zeros_like(x)
    h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.linalg.norm(x))) / norm
    with np.errstate(invalid="ignore", over="ignore"):
        return (gradient(x + h * v) - gradient(x - h * v)) / (2.0 * h)
