"""Functional transforms: gradients, Jacobians, Hessians, Jacobian- and Hessian-vector products
of functions written with Tensor ops, and a finite-difference gradient check.

``x`` is array-like everywhere and every result is NumPy. Reverse mode (``vjp``, ``jacobian``,
``hessian``, ``hvp``) goes through :func:`steepest.autodiff.grad`, the Hessian ones with
``create_graph=True`` (reverse over reverse); ``jvp`` is forward mode
(:mod:`steepest.autodiff.forward`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_real
from .forward import push_tangents
from .reverse import grad as _autograd
from .tensor import Tensor, as_array

__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp", "vjp", "gradcheck",
           "GradcheckError"]


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


def _check_callable(who: str, f: Any) -> None:
    if not callable(f):
        raise TypeError(f"{who}: f must be callable, got {type(f).__name__}")


def _tensor_output(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: f must return a Tensor, got {type(out).__name__}")
    return out


def _direction(who: str, name: str, value: Any, shape: tuple[int, ...], of: str) -> np.ndarray:
    array = _float_input(value)
    if array.shape != shape:
        raise ValueError(f"{who}: {name} must have the shape of {of}, {shape}; got {array.shape}")
    return array


def _gradient_of(out: Tensor, x: Tensor, grad_outputs: Any = None, create_graph: bool = False,
                 retain_graph: bool | None = None) -> Tensor | None:
    """The VJP of ``out`` at ``x`` (None where ``out`` does not depend on ``x``)."""
    if not out.requires_grad:
        return None
    return _autograd(out, x, grad_outputs=grad_outputs, create_graph=create_graph,
                     retain_graph=retain_graph, allow_unused=True)[0]


def _rows(out: Tensor, x: Tensor) -> np.ndarray:
    """d out / d x as an array of shape out.shape + x.shape, one reverse pass per output entry."""
    rows = np.zeros((out.data.size, x.data.size), dtype=np.result_type(out.dtype, x.dtype))
    seed = np.zeros(out.shape, dtype=out.dtype)
    for k in range(out.data.size):
        seed.flat[k] = 1
        g = _gradient_of(out, x, seed, retain_graph=True)
        seed.flat[k] = 0
        if g is not None:
            rows[k] = g.data.reshape(-1)
    return rows.reshape(out.shape + x.shape)


def jacobian(f: Callable[[Tensor], Tensor]) -> Callable[[Any], np.ndarray]:
    r"""Make a function returning the Jacobian :math:`J_{ij} = \partial f_i / \partial x_j`.

    Parameters
    ----------
    f : callable
        Maps a Tensor to a Tensor of any shape.

    Returns
    -------
    callable
        ``x -> J``, an array of shape ``f(x).shape + x.shape`` (as ``torch.autograd.functional
        .jacobian``). Built row by row with reverse mode when ``f(x)`` has at most as many
        entries as ``x``, column by column with forward mode otherwise.

    Examples
    --------
    >>> import steepest as st
    >>> st.jacobian(lambda x: x ** 2)([1.0, 3.0])
    array([[2., 0.],
           [0., 6.]])
    """
    _check_callable("jacobian", f)

    def jacobian_f(x: Any) -> np.ndarray:
        xt = Tensor(_float_input(x), requires_grad=True)
        out = _tensor_output(f(xt), "jacobian")
        if not out.requires_grad:
            return np.zeros(out.shape + xt.shape, dtype=np.result_type(out.dtype, xt.dtype))
        if out.data.size <= xt.data.size:
            return _rows(out, xt)
        columns = np.zeros((out.data.size, xt.data.size), dtype=np.result_type(out.dtype, xt.dtype))
        tangent = np.zeros(xt.shape, dtype=xt.dtype)
        for j in range(xt.data.size):
            tangent.flat[j] = 1
            columns[:, j] = push_tangents(out, [xt], [tangent]).reshape(-1)
            tangent.flat[j] = 0
        return columns.reshape(out.shape + xt.shape)
    return jacobian_f


def hessian(f: Callable[[Tensor], Tensor]) -> Callable[[Any], np.ndarray]:
    r"""Make a function returning the Hessian :math:`H_{ij} = \partial^2 f / \partial x_i \partial x_j`
    of a scalar ``f``.

    The gradient is computed with ``create_graph=True`` and differentiated again, one reverse
    pass per entry of ``x`` (reverse over reverse).

    Returns
    -------
    callable
        ``x -> H``, an array of shape ``x.shape + x.shape``. A non-scalar ``f`` raises
        ``ValueError`` naming its output shape.

    Examples
    --------
    >>> import steepest as st
    >>> st.hessian(lambda x: x[0] ** 2 * x[1])([1.0, 2.0])
    array([[4., 2.],
           [2., 0.]])
    """
    _check_callable("hessian", f)

    def hessian_f(x: Any) -> np.ndarray:
        xt = Tensor(_float_input(x), requires_grad=True)
        out = _hessian_output(f(xt))
        g = _gradient_of(out, xt, create_graph=True)
        if g is None or not g.requires_grad:
            return np.zeros(xt.shape + xt.shape, dtype=xt.dtype)
        return _rows(g, xt)
    return hessian_f


def _hessian_output(out: Any, who: str = "hessian") -> Tensor:
    out = _tensor_output(out, who)
    if out.data.size != 1:
        raise ValueError(f"{who}: f must return a scalar (a Hessian is the second derivative of a "
                         f"scalar function), got a tensor of shape {out.shape}; reduce it, or "
                         "use jacobian of its gradient")
    return out


def hvp(f: Callable[[Tensor], Tensor]) -> Callable[[Any, Any], np.ndarray]:
    r"""Make a function returning the Hessian-vector product :math:`H(x)\,v` of a scalar ``f``,
    without forming :math:`H`.

    .. math::

        H v = \nabla_x \left( \nabla f(x)^T v \right),

    one backward pass with ``create_graph=True`` and one through the recorded backward pass: a
    few gradients' cost, whatever the size of ``x``.

    Returns
    -------
    callable
        ``(x, v) -> H v``, an array of ``x``'s shape (``v`` must have that shape).

    Examples
    --------
    >>> import steepest as st
    >>> st.hvp(lambda x: (x ** 3).sum())([1.0, 2.0], [1.0, 1.0])
    array([ 6., 12.])
    """
    _check_callable("hvp", f)

    def hvp_f(x: Any, v: Any) -> np.ndarray:
        xt = Tensor(_float_input(x), requires_grad=True)
        v = _direction("hvp", "v", v, xt.shape, "x")
        out = _hessian_output(f(xt), "hvp")
        g = _gradient_of(out, xt, create_graph=True)
        hv = None if g is None else _gradient_of(g, xt, v.astype(g.dtype))
        return np.zeros(xt.shape, dtype=xt.dtype) if hv is None else hv.data
    return hvp_f


def jvp(f: Callable[[Tensor], Tensor]) -> Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]:
    r"""Make a function returning ``(f(x), J v)`` by forward mode.

    The tangent :math:`v` travels from ``x`` to the output through the recorded graph, each op
    applying its forward-mode rule (``ops.defjvp``): one pass, no reverse sweep, as
    ``torch.func.jvp``.

    Returns
    -------
    callable
        ``(x, v) -> (value, tangent)``: ``value`` is ``f(x)`` as an array, ``tangent`` has its
        shape; ``v`` must have the shape of ``x``.

    Examples
    --------
    >>> import steepest as st
    >>> st.jvp(lambda x: x ** 2)([1.0, 3.0], [1.0, 0.5])
    (array([1., 9.]), array([2., 3.]))
    """
    _check_callable("jvp", f)

    def jvp_f(x: Any, v: Any) -> tuple[np.ndarray, np.ndarray]:
        xt = Tensor(_float_input(x), requires_grad=True)
        v = _direction("jvp", "v", v, xt.shape, "x")
        out = _tensor_output(f(xt), "jvp")
        if not out.requires_grad:
            return out.data.copy(), np.zeros(out.shape, dtype=out.dtype)
        return out.data.copy(), push_tangents(out, [xt], [v.astype(xt.dtype)])
    return jvp_f


def vjp(f: Callable[[Tensor], Tensor]) -> Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]:
    r"""Make a function returning ``(f(x), u^T J)`` by reverse mode (one backward pass).

    Returns
    -------
    callable
        ``(x, u) -> (value, cotangent)``: ``u`` must have the shape of ``f(x)``; the cotangent
        has the shape of ``x``.

    Examples
    --------
    >>> import steepest as st
    >>> st.vjp(lambda x: x ** 2)([1.0, 3.0], [1.0, 0.5])
    (array([1., 9.]), array([2., 3.]))
    """
    _check_callable("vjp", f)

    def vjp_f(x: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
        xt = Tensor(_float_input(x), requires_grad=True)
        out = _tensor_output(f(xt), "vjp")
        u = _direction("vjp", "u", u, out.shape, "f(x)")
        g = _gradient_of(out, xt, u.astype(out.dtype))
        return out.data.copy(), np.zeros_like(xt.data) if g is None else g.data
    return vjp_f


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
