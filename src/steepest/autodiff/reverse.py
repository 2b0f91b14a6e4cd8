"""``autodiff.grad``: gradients of outputs with respect to chosen inputs, as ``torch.autograd.grad``.

Unlike :meth:`Tensor.backward`, nothing is accumulated into ``.grad``: the gradients are returned.
With ``create_graph=True`` the backward pass calls each op's second-order rules (its VJP rules
written with ops, :func:`~steepest.autodiff.ops.defvjp_graph`) on Tensors, so that the gradients
it returns are themselves recorded and can be differentiated again, to any order. The ordinary
``backward()`` (in :mod:`.tensor`) is a separate loop and never pays for any of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import _hooks
from . import tensor as _tensor_module
from .tensor import Tensor, _check_versions, _set_grad_enabled, as_array

__all__ = ["grad"]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    r"""The sum of the vector-Jacobian products of ``outputs`` with respect to each of ``inputs``.

    For outputs :math:`y_k` with cotangents :math:`v_k` (``grad_outputs``), the gradient for
    input :math:`x_i` is

    .. math::

        \bar x_i = \sum_k v_k^T \frac{\partial y_k}{\partial x_i},

    as ``torch.autograd.grad`` computes it. Nothing is added to any ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
        What to differentiate; each must require grad.
    inputs : Tensor or sequence of Tensor
        With respect to what; each must require grad (leaves or intermediate results).
    grad_outputs : array_like, Tensor or sequence of them, optional
        One cotangent per output, of its shape; ``None`` (or a ``None`` entry) means 1 and is
        allowed for one-element outputs only. A Tensor that requires grad stays in the recorded
        graph when ``create_graph=True`` (the result is then differentiable in it too).
    retain_graph : bool, optional
        Keep the arrays the graph saved so that it can be differentiated again; defaults to
        ``create_graph``, as in PyTorch.
    create_graph : bool, default False
        Record the backward pass, so that the returned gradients require grad (where they depend
        on a tensor that does) and derivatives of any order can be taken. Every op has a
        second-order rule; an op registered without one raises ``RuntimeError`` naming it.
    allow_unused : bool, default False
        Return ``None`` for an input the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Tensor or None
        One gradient per input, of its shape and dtype.

    Examples
    --------
    >>> import steepest as st
    >>> x = st.tensor(2.0, requires_grad=True)
    >>> (dx,) = st.autodiff.grad(x ** 3, x, create_graph=True)
    >>> (ddx,) = st.autodiff.grad(dx, x, create_graph=True)
    >>> (dddx,) = st.autodiff.grad(ddx, x)
    >>> dx.item(), ddx.item(), dddx.item()
    (12.0, 12.0, 6.0)
    """
    # st.compile cannot replay it: the step runs eagerly
    if _hooks.recorder is not None and _hooks.recorder.here():
        _hooks.recorder.unsupported("autodiff.grad (a gradient returned instead of accumulated)")
    outs = _tensors("outputs", outputs)
    ins = _tensors("inputs", inputs)
    if not isinstance(create_graph, bool | np.bool_):
        raise TypeError(f"autodiff.grad: create_graph must be a bool, got {create_graph!r}")
    for i, t in enumerate(outs):
        if not t.requires_grad:
            raise RuntimeError(f"autodiff.grad: outputs[{i}] (shape {t.shape}) does not require "
                               "grad: nothing that requires grad went into it (or it was made "
                               "under no_grad())")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"autodiff.grad: inputs[{i}] (shape {t.shape}) does not require grad")
    seeds = _seeds(outs, grad_outputs, bool(create_graph))
    retain = bool(create_graph) if retain_graph is None else bool(retain_graph)
    with _set_grad_enabled(bool(create_graph)):
        found = _backward(outs, seeds, ins, retain, bool(create_graph))
        results: list[Tensor | None] = []
        handed_out: set[int] = set()
        for i, t in enumerate(ins):
            g = found.get(id(t))
            if g is None:
                if not allow_unused:
                    raise RuntimeError(
                        f"autodiff.grad: inputs[{i}] (shape {t.shape}) was not used to compute the "
                        "outputs; pass allow_unused=True to get None for it")
                results.append(None)
                continue
            results.append(_result(g, t, bool(create_graph), handed_out))
    return tuple(results)


def _tensors(name: str, value: Any) -> tuple[Tensor, ...]:
    items = (value,) if isinstance(value, Tensor) else value
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise TypeError(f"autodiff.grad: {name} must be a Tensor or a non-empty sequence of "
                        f"Tensors, got {type(value).__name__}")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"autodiff.grad: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return tuple(items)


def _seeds(outs: tuple[Tensor, ...], grad_outputs: Any, create_graph: bool) -> list[Any]:
    if grad_outputs is None or isinstance(grad_outputs, Tensor | np.ndarray):
        given = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        given = list(grad_outputs)
    if len(given) != len(outs):
        raise ValueError(f"autodiff.grad: grad_outputs has {len(given)} entries for {len(outs)} "
                         "outputs")
    seeds = []
    for i, (out, v) in enumerate(zip(outs, given, strict=True)):
        if v is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"autodiff.grad: outputs[{i}] has shape {out.shape}; a cotangent of 1 is "
                    "implied only for one-element outputs, so pass grad_outputs of that shape")
            array = np.ones(out.shape, dtype=out.dtype)
        else:
            array = as_array(v)
            if array.shape != out.shape:
                raise ValueError(f"autodiff.grad: grad_outputs[{i}] has shape {array.shape} but "
                                 f"outputs[{i}] has shape {out.shape}")
            if array.dtype.kind == "c" and out.dtype.kind != "c":
                raise TypeError(f"autodiff.grad: grad_outputs[{i}] is complex ({array.dtype}) but "
                                f"outputs[{i}] is real ({out.dtype})")
        if create_graph:
            seeds.append(v if isinstance(v, Tensor) and v.dtype == out.dtype
                         else Tensor._constant(array.astype(out.dtype, copy=True)))
        else:
            seeds.append(array.astype(out.dtype, copy=True))
    return seeds


def reaching(roots: Sequence[Tensor], wanted: set[int]) -> dict[int, Tensor]:
    """The nodes of the graph below ``roots`` from which a tensor in ``wanted`` (ids) is reached,
    by id: only through them does a gradient (or a tangent) have to travel."""
    memo: dict[int, bool] = {}
    nodes: dict[int, Tensor] = {}
    for root in roots:
        stack = [root]
        while stack:
            node = stack[-1]
            key = id(node)
            if key in memo:
                stack.pop()
                continue
            pending = [p for p in node._parents if p is not None and id(p) not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            hit = key in wanted or any(memo[id(p)] for p in node._parents if p is not None)
            memo[key] = hit
            if hit:
                nodes[key] = node
    return nodes


def _backward(roots: tuple[Tensor, ...], seeds: list[Any], inputs: tuple[Tensor, ...],
              retain_graph: bool, create_graph: bool) -> dict[int, Any]:
    """Propagate the seeds down to ``inputs`` by decreasing creation number, as ``backward``
    does, visiting only nodes through which an input is reached; returns gradients by id."""
    wanted = {id(t) for t in inputs}
    needed = reaching(roots, wanted)
    grads: dict[int, Any] = {}
    found: dict[int, Any] = {}
    heap: list = []

    def arrive(node: Tensor, g: Any) -> None:
        key = id(node)
        previous = grads.get(key)
        if previous is not None:
            grads[key] = previous + g
            return
        grads[key] = g
        if node._op is not None:
            heappush(heap, (-node._seq, node))

    for root, seed in zip(roots, seeds, strict=True):
        if id(root) in needed:
            arrive(root, seed)
    while heap:
        node = heappop(heap)[1]
        key = id(node)
        g = grads.pop(key)
        if key in wanted:
            found[key] = g
        op = node._op
        saved = node._saved
        if saved is None:
            raise RuntimeError(
                f"autodiff.grad: backward through the graph a second time: the arrays saved by "
                f"'{op.name}' were freed after the first backward. Pass retain_graph=True to the "
                "first call")
        arrays, kwargs, args, epoch = saved
        if _tensor_module._EPOCH[0] != epoch:
            _check_versions(node, args, epoch)
        need = [p is not None and id(p) in needed for p in node._parents]
        if create_graph:
            parts = _graph_vjps(node, g, need)
        else:
            parts = _array_vjps(node, g, need)
        for parent, gi, wanted_here in zip(node._parents, parts, need, strict=True):
            if wanted_here:
                arrive(parent, gi)
        if not retain_graph:
            node._saved = None
    for key, node in needed.items():
        if node._op is None and key in wanted:
            found[key] = grads.get(key)
    return found


def _array_vjps(node: Tensor, g: np.ndarray, need: list[bool]) -> list[Any]:
    """The VJPs of one node by its NumPy rules (what backward computes)."""
    op = node._op
    arrays, kwargs, _, _ = node._saved
    if op.multi_rule is not None:
        return op.multi_rule(need, g, node.data, arrays, **kwargs)
    return [op.vjp(i, g, node.data, arrays, kwargs) if n else None for i, n in enumerate(need)]


def _graph_vjps(node: Tensor, g: Tensor, need: list[bool]) -> list[Any]:
    """The VJPs of one node by its second-order rules, on Tensors: recorded as a graph."""
    op = node._op
    if op.graph_rules is None and op.graph_multi is None:
        raise RuntimeError(
            f"autodiff.grad(create_graph=True): op '{op.name}' has no second-order rule, so the "
            f"backward pass through it cannot be recorded (give it one with ops.defvjp_graph); "
            "use create_graph=False for first derivatives")
    arrays, kwargs, args, _ = node._saved
    # Inputs that require grad enter as themselves (the recorded backward depends on them);
    # the others as the arrays the node saved.
    inputs = tuple(a if isinstance(a, Tensor) and p is not None else x
                   for a, x, p in zip(args, arrays, node._parents, strict=True))
    for i, (a, x, p) in enumerate(zip(args, arrays, node._parents, strict=True)):
        if p is not None and a.data is not x and not np.array_equal(a.data, x):
            # the node kept a private copy of a shared array (from_numpy) that has changed since
            raise RuntimeError(
                f"autodiff.grad(create_graph=True): input {i} of '{op.name}' (shape {a.shape}) "
                "shares its array with NumPy and was written to after it was recorded; the "
                "recorded backward would use the new values. Recompute the forward pass")
    if op.graph_multi is not None:
        return op.graph_multi(need, g, node, inputs, **kwargs)
    parts: list[Any] = []
    for i, n in enumerate(need):
        if not n:
            parts.append(None)
            continue
        gi = op.graph_rules[i](g, node, *inputs, **kwargs)
        if not isinstance(gi, Tensor):
            gi = Tensor._constant(np.asarray(gi))
        if op.broadcasts and gi.shape != arrays[i].shape:
            from .ops import unbroadcast_graph

            gi = unbroadcast_graph(gi, arrays[i].shape)
        parts.append(gi)
    return parts


def _result(g: Any, t: Tensor, create_graph: bool, handed_out: set[int]) -> Tensor:
    """The gradient for input ``t``: its shape and dtype, never a buffer shared with another."""
    dtype = t.data.dtype
    if create_graph:
        from . import ops

        if not isinstance(g, Tensor):
            g = Tensor._constant(np.asarray(g))
        if g.dtype.kind == "c" and dtype.kind != "c":
            raise TypeError(f"autodiff.grad: the gradient reaching a real input of shape "
                            f"{t.shape} is complex ({g.dtype}); it is never cast to real")
        if g.shape != t.shape:
            g = ops.expand(g, shape=t.shape)
        if g.dtype != dtype:
            g = ops.cast(g, dtype=dtype)
        return g
    g = np.asarray(g)
    if g.dtype.kind == "c" and dtype.kind != "c":
        raise TypeError(f"autodiff.grad: the gradient reaching a real input of shape {t.shape} is "
                        f"complex ({g.dtype}); it is never cast to real")
    if g.shape != t.shape:
        g = np.broadcast_to(g, t.shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    if g.base is not None or id(g) in handed_out or not g.flags.writeable:
        g = g.copy()
    handed_out.add(id(g))
    return Tensor._constant(g)
