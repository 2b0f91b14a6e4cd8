"""Forward mode: tangents pushed from the inputs to an output, one JVP rule per op.

The function is run once, recording its graph as usual; the tangents then travel through the
recorded nodes in creation order (every node after its inputs), each op turning the tangents of
its inputs into its output's with its forward-mode rule (:func:`~steepest.autodiff.ops.defjvp`).
That is forward-mode differentiation (one pass, the cost of a few forward evaluations, a
Jacobian-vector product :math:`J v` without any transposition), run over the recorded trace
rather than interleaved with the evaluation, so that the ops' hot path carries no tangent slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .reverse import reaching
from .tensor import Tensor

__all__ = ["push_tangents"]


def push_tangents(output: Tensor, inputs: Sequence[Tensor],
                  tangents: Sequence[np.ndarray]) -> np.ndarray:
    """The tangent of ``output`` given a tangent (an array of its shape) for each input."""
    wanted = {id(t): v for t, v in zip(inputs, tangents, strict=True)}
    nodes = reaching([output], set(wanted))
    order = sorted((n for n in nodes.values() if n._op is not None), key=lambda n: n._seq)
    tangent: dict[int, np.ndarray] = dict(wanted)
    for node in order:
        if id(node) in wanted:  # an intermediate input: its tangent is given
            continue
        tangent[id(node)] = _node_tangent(node, tangent)
    result = tangent.get(id(output))
    if result is None:
        return np.zeros(output.shape, dtype=output.dtype)
    return np.array(result, dtype=output.dtype, copy=True)


def _node_tangent(node: Tensor, tangent: dict[int, np.ndarray]) -> np.ndarray:
    op = node._op
    if op.jvp_rules is None and op.jvp_kind is None:
        raise RuntimeError(f"forward mode (jvp): op '{op.name}' has no forward-mode rule; give "
                           "it one with ops.defjvp")
    saved = node._saved
    if saved is None:
        raise RuntimeError(f"forward mode (jvp): the arrays saved by '{op.name}' were freed by a "
                           "backward pass without retain_graph=True")
    arrays, kwargs, _, _ = saved
    ans = node.data
    given = [None if p is None else tangent.get(id(p)) for p in node._parents]
    if op.jvp_kind == "linear":  # the op applied to the tangents, zeros for the others
        filled = [np.zeros_like(a) if t is None and isinstance(a, np.ndarray) and
                  a.dtype.kind in "fc" and op.differentiable(i) else (a if t is None else t)
                  for i, (a, t) in enumerate(zip(arrays, given, strict=True))]
        total = np.asarray(op.forward(*filled, **kwargs))
    else:
        total = None
        for i, t in enumerate(given):
            if t is None:
                continue
            part = _input_tangent(op, i, t, ans, arrays, kwargs)
            total = part if total is None else total + part
    if total is None:
        return np.zeros(ans.shape, dtype=ans.dtype)
    total = np.asarray(total)
    if total.shape != ans.shape:
        total = np.broadcast_to(total, ans.shape)
    return total


def _input_tangent(op: Any, i: int, t: np.ndarray, ans: np.ndarray, arrays: Any,
                   kwargs: dict) -> np.ndarray:
    kind = op.jvp_kind
    if kind is None:
        return op.jvp_rules[i](t, ans, *arrays, **kwargs)
    if kind == "vjp":  # a diagonal (or symmetric) Jacobian: the VJP rule is the JVP rule
        return op.rules[i](t, ans, *arrays, **kwargs)
    if kind == "multilinear":
        return op.forward(*(t if j == i else a for j, a in enumerate(arrays)), **kwargs)
    # "reduction": the weights d ans / d x from the VJP of ones, summed against t
    weights = op.rules[i](np.ones(ans.shape, dtype=ans.dtype), ans, *arrays, **kwargs)
    return np.sum(t * weights, axis=kwargs.get("axis"), keepdims=kwargs.get("keepdims", False))
