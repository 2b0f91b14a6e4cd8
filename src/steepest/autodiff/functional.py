"""Functional transforms: the gradient of a function, and a finite-difference gradient check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_real
from .tensor import Tensor, as_array

__all__ = ["grad", "value_and_grad", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


def _float_input(x: Any) -> np.ndarray:
    array = as_array(x)
    if array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    return array


def _scalar_output(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: f must return a scalar Tensor, got {type(out).__name__}")
    if out.data.size != 1:
        raise ValueError(f"{who}: f must return a scalar, got a tensor of shape {out.shape}")
    return out


def value_and_grad(f: Callable[[Tensor], Tensor]) -> Callable[[Any], tuple[float, np.ndarray]]:
    """Make a function returning ``(f(x), grad f(x))`` for a scalar ``f`` written with Tensor ops.

    Parameters
    ----------
    f : callable
        Maps a Tensor of any shape to a scalar Tensor.

    Returns
    -------
    callable
        ``x -> (value, gradient)``: ``x`` is array-like (list, scalar, array; integers are read
        as float64), ``value`` a Python float and ``gradient`` a NumPy array of ``x``'s shape.

    Examples
    --------
    >>> import steepest as st
    >>> st.value_and_grad(lambda x: (x ** 2).sum())([1.0, 2.0])
    (5.0, array([2., 4.]))
    """
    if not callable(f):
        raise TypeError(f"value_and_grad: f must be callable, got {type(f).__name__}")

    def value_and_grad_f(x: Any) -> tuple[float, np.ndarray]:
        xt = Tensor(_float_input(x), requires_grad=True)
        out = _scalar_output(f(xt), "value_and_grad")
        if not out.requires_grad:  # f does not depend on x
            return out.item(), np.zeros_like(xt.data)
        out.backward()
        return out.item(), xt.grad if xt.grad is not None else np.zeros_like(xt.data)
    return value_and_grad_f


def grad(f: Callable[[Tensor], Tensor]) -> Callable[[Any], np.ndarray]:
    """Make a function returning the gradient of a scalar ``f``: see :func:`value_and_grad`.

    Examples
    --------
    >>> import steepest as st
    >>> st.grad(lambda x: (x ** 3).sum())(2.0)
    array(12.)
    """
    if not callable(f):
        raise TypeError(f"grad: f must be callable, got {type(f).__name__}")
    value_and_grad_f = value_and_grad(f)
    return lambda x: value_and_grad_f(x)[1]


def gradcheck(f: Callable[..., Tensor], x: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare the backpropagated gradient of ``f`` with central finite differences in float64.

    For a non-scalar output the check runs on :math:`v^T f(x)` with a fixed random cotangent
    :math:`v`, which tests the vector-Jacobian product the engine computes. The numerical
    derivative of each coordinate is :math:`(F(x + \\epsilon e_i) - F(x - \\epsilon e_i)) / 2\\epsilon`.

    Parameters
    ----------
    f : callable
        Maps Tensors to a Tensor.
    x : array_like or tuple of array_like
        The point; a tuple is read as several inputs, ``f(*x)``.
    eps, atol, rtol : float
        Step of the differences and tolerances: each entry must satisfy
        ``|analytic - numeric| <= atol + rtol * |numeric|``.
    seed : int
        Seed of the random cotangent.

    Returns
    -------
    bool
        True when every entry agrees.

    Raises
    ------
    GradcheckError
        With the largest absolute and relative error and the index where each occurs.
    """
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, got {type(f).__name__}")
    eps = check_real("gradcheck", "eps", eps, 0.0, low_open=True)
    atol = check_real("gradcheck", "atol", atol, 0.0)
    rtol = check_real("gradcheck", "rtol", rtol, 0.0)
    inputs = [_float_input(a).astype(np.float64) for a in (x if isinstance(x, tuple) else (x,))]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    out = f(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)

    def projected(*arrays: np.ndarray) -> float:
        return float(np.sum(f(*(Tensor(a) for a in arrays)).data * cotangent))

    if out.requires_grad:
        out.backward(cotangent)
    for k, (array, t) in enumerate(zip(inputs, tensors, strict=True)):
        analytic = t.grad if t.grad is not None else np.zeros_like(array)
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            shifted = [a.copy() for a in inputs]
            shifted[k][idx] = array[idx] + eps
            up = projected(*shifted)
            shifted[k][idx] = array[idx] - eps
            numeric[idx] = (up - projected(*shifted)) / (2 * eps)
        _compare(analytic, numeric, atol, rtol, k if len(inputs) > 1 else None)
    return True


def _compare(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float,
             which: int | None) -> None:
    error = np.abs(analytic - numeric)
    if analytic.shape != numeric.shape:
        raise GradcheckError(f"gradient shape {analytic.shape} differs from input shape {numeric.shape}")
    bad = ~(error <= atol + rtol * np.abs(numeric))
    if not bad.any():
        return
    relative = error / np.maximum(np.abs(numeric), np.finfo(np.float64).tiny)
    worst_abs = np.unravel_index(np.nanargmax(np.where(np.isnan(error), np.inf, error)), error.shape)
    worst_rel = np.unravel_index(np.nanargmax(np.where(np.isnan(relative), np.inf, relative)),
                                 error.shape)
    where = "" if which is None else f" of input {which}"
    raise GradcheckError(
        f"gradient{where} disagrees with finite differences at {int(bad.sum())} of "
        f"{bad.size} entries: largest absolute error {error[worst_abs]:.3g} at index "
        f"{tuple(int(i) for i in worst_abs)} (analytic {analytic[worst_abs]:.6g}, numeric "
        f"{numeric[worst_abs]:.6g}); largest relative error {relative[worst_rel]:.3g} at index "
        f"{tuple(int(i) for i in worst_rel)}"
    )
