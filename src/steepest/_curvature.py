"""Second derivatives of Tensor code for ``minimize`` and the diagnostics: exact Hessians and
Hessian-vector products from the engine's higher-order transforms
(:func:`steepest.autodiff.hessian`, :func:`steepest.autodiff.hvp`), on float64 arrays."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import autodiff as _autodiff
from .autodiff.tensor import Tensor

__all__ = ["hessian", "hvp"]

Expression = Callable[[Tensor], Tensor]


def hessian(expression: Expression, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> (n, n)`` Hessian of the Tensor code ``expression`` (which takes arrays of
    ``shape``) at the flat point ``x``: reverse over reverse, exact."""
    n = int(np.prod(shape))
    on_flat = expression if len(shape) == 1 else (lambda z: expression(z.reshape(shape)))
    transform = _autodiff.hessian(on_flat)
    return lambda x: np.asarray(transform(np.asarray(x, dtype=np.float64).reshape(n)),
                                dtype=np.float64).reshape(n, n)


def hvp(expression: Expression, shape: tuple[int, ...]
        ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``(x, v) -> H v`` of the Tensor code ``expression``, on arrays of ``shape``, without
    forming ``H``."""
    transform = _autodiff.hvp(expression)
    return lambda x, v: np.asarray(transform(np.asarray(x, dtype=np.float64).reshape(shape),
                                             np.asarray(v, dtype=np.float64).reshape(shape)),
                                   dtype=np.float64)
