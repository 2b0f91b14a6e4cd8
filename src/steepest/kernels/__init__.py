"""Fused elementwise kernels: the optimizer updates and the hot spots of a training step.

Two backends with the same functions (see :data:`FUNCTIONS`):

* ``"numpy"`` (the default and the reference): the arithmetic the optimizers and ops use,
  written with NumPy, one pass per operation;
* ``"numba"`` (``pip install "steepest[fast]"``): each kernel compiled with numba as one loop
  over memory, on all of numba's threads for large arrays (OpenMP layer, passive waiting; see
  ``steepest.kernels._numba``). The updates, ReLU/tanh backward, softmax backward and bias
  gradient are bitwise equal to the NumPy backend; the cross-entropy's ``exp``/``log`` come from
  the C library (a few ulp from NumPy's SIMD ones).

With the numba kernels chosen (``kernels.fused``), ``autodiff.ops`` runs the ReLU and tanh backward,
the bias gradient and the softmax cross-entropy (forward and backward; ``"mean"``, ``"sum"`` and
``"none"``; integer class targets of 2-D float32/float64 logits; probability targets and other
shapes stay on the NumPy path) through them.

Choose with :func:`set_kernels` or the ``STEEPEST_KERNELS`` environment variable (read on the
first :func:`get_kernels` call that :func:`set_kernels` has not preceded). numba is imported only
when its backend is asked for, so ``import steepest`` stays NumPy-only.

Examples
--------
>>> import numpy as np
>>> from steepest import kernels
>>> k = kernels.get_kernels()            # the NumPy backend unless asked otherwise
>>> x, g = np.ones(3), np.full(3, 0.5)
>>> k.sgd_(x, g, None, lr=0.1)
>>> x
array([0.95, 0.95, 0.95])
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["BACKENDS", "FUNCTIONS", "set_kernels", "get_kernels", "current", "numba_available"]

BACKENDS = ("numpy", "numba")
FUNCTIONS = ("sgd_", "adam_", "rmsprop_", "adagrad_", "relu_backward", "tanh_backward",
             "softmax_cross_entropy", "softmax_cross_entropy_backward", "bias_grad")
ENVIRONMENT_VARIABLE = "STEEPEST_KERNELS"

_chosen: str | None = None
#: True while the numba kernels are chosen: the one check on the hot path (an attribute read, so
#: that the NumPy default pays nothing measurable per op). STEEPEST_KERNELS=numba sets it when
#: this module is imported; numba itself is imported on the first kernel call.
fused: bool = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "numba"


def _check(name: object, where: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"{where} must be one of {', '.join(map(repr, BACKENDS))}, got {name!r}")
    return name.lower()


def numba_available() -> bool:
    """Whether numba can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def _load(name: str) -> ModuleType:
    if name == "numpy":
        from . import _numpy

        return _numpy
    if not numba_available():
        raise ImportError("steepest.kernels: the 'numba' kernels need numba; install them with "
                          "pip install \"steepest[fast]\" (or pip install numba)")
    from . import _numba

    return _numba


def set_kernels(name: str) -> None:
    """Use the ``"numpy"`` or ``"numba"`` kernels from now on (numba is imported here).

    Parameters
    ----------
    name : {"numpy", "numba"}

    Raises
    ------
    ValueError
        For another name.
    ImportError
        For ``"numba"`` when numba is not installed (nothing changes then).
    """
    global _chosen, fused
    name = _check(name, "set_kernels: name")
    _load(name)
    _chosen = name
    fused = name == "numba"


def get_kernels() -> ModuleType:
    """The module of the chosen backend, whose functions are :data:`FUNCTIONS`.

    The first call without a preceding :func:`set_kernels` reads ``STEEPEST_KERNELS``
    (``numpy`` when unset or empty).
    """
    global _chosen, fused
    if _chosen is None:
        value = os.environ.get(ENVIRONMENT_VARIABLE, "") or "numpy"
        name = _check(value, f"the environment variable {ENVIRONMENT_VARIABLE}")
        module = _load(name)
        _chosen = name
        fused = name == "numba"
        return module
    return _load(_chosen)


def current() -> str:
    """The name of the backend :func:`get_kernels` returns."""
    get_kernels()
    return _chosen  # type: ignore[return-value]
