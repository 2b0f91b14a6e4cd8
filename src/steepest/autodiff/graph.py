"""The recorded graph made visible: :func:`to_dot` writes it as Graphviz DOT source.

Reverse mode walks this graph backwards: the output's gradient is 1, and each op hands its
output's gradient to its inputs through its vector-Jacobian product; a tensor used twice gets
the sum of what both uses send it. :func:`structure` gives the nodes and edges as plain data
(:func:`steepest.plot.graph` draws them); nothing here needs Graphviz or any other package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["to_dot", "retain_grads", "structure", "GraphNode", "Graph"]

#: Tensors with at most this many elements show their values and gradients.
SMALL = 6


@dataclass
class GraphNode:
    """One node: a recorded op's output, a leaf, a constant input, or a summary of many nodes."""

    id: str
    kind: str  # "op", "leaf", "constant" or "summary"
    label: str  # op name, given name, or "leaf"/"constant"
    shape: tuple[int, ...]
    value: str | None = None
    grad: str | None = None


@dataclass
class Graph:
    """Nodes in data-flow order (inputs first) and edges ``(source id, target id)``."""

    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    omitted: int = 0


def _small(array: Any, small: int) -> str | None:
    if array is None:
        return None
    array = np.asarray(array)
    if array.size > small:
        return None
    if array.ndim == 0:
        return f"{array.item():.4g}"
    return np.array2string(array, precision=3, separator=", ", suppress_small=True)


def _inputs(node: Tensor) -> list[Any]:
    """Parents that require grad, and (while the graph holds them) constant Tensor inputs."""
    parents = list(node._parents)
    saved = node._saved
    if saved is not None:
        args = saved[2]
        for i, parent in enumerate(parents):
            if parent is None and i < len(args) and isinstance(args[i], Tensor):
                parents[i] = args[i]
    return [p for p in parents if p is not None]


def structure(tensor: Tensor, names: Mapping[str, Tensor] | None = None,
              max_nodes: int = 200, small: int = SMALL) -> Graph:
    """The graph that produced ``tensor`` as plain data (see :func:`to_dot` for the arguments)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be an int >= 1, got {max_nodes!r}")
    given = {id(t): name for name, t in (names or {}).items()}
    # Breadth first from the output: the nodes nearest it are kept when the graph is summarised.
    order: list[Tensor] = [tensor]
    seen = {id(tensor)}
    k = 0
    while k < len(order):
        for parent in _inputs(order[k]):
            if id(parent) not in seen:
                seen.add(id(parent))
                order.append(parent)
        k += 1
    kept = order[:max_nodes]
    kept_ids = {id(t): f"n{i}" for i, t in enumerate(kept)}
    graph = Graph(omitted=len(order) - len(kept))
    for t in reversed(kept):  # data-flow order: inputs before the ops that use them
        if t._op is not None:
            kind, label = "op", t._op.name
        else:
            kind = "leaf" if t.requires_grad else "constant"
            label = kind
        label = given.get(id(t), label) if kind != "op" else (
            f"{given[id(t)]} = {label}" if id(t) in given else label)
        graph.nodes.append(GraphNode(kept_ids[id(t)], kind, label, tuple(t.shape),
                                     _small(t.data, small), _small(t.grad, small)))
    summary_needed = False
    for t in reversed(kept):
        for parent in _inputs(t):
            if id(parent) in kept_ids:
                graph.edges.append((kept_ids[id(parent)], kept_ids[id(t)]))
            elif ("summary", kept_ids[id(t)]) not in graph.edges:
                summary_needed = True
                graph.edges.append(("summary", kept_ids[id(t)]))
    if summary_needed:
        ops: dict[str, int] = {}
        for t in order[max_nodes:]:
            name = t._op.name if t._op is not None else ("leaf" if t.requires_grad else "constant")
            ops[name] = ops.get(name, 0) + 1
        counts = ", ".join(f"{n} x{c}" for n, c in sorted(ops.items(), key=lambda kv: -kv[1])[:6])
        graph.nodes.insert(0, GraphNode("summary", "summary",
                                        f"{graph.omitted} more nodes ({counts})", ()))
    return graph


def retain_grads(tensor: Tensor) -> Tensor:
    """Make every recorded op in the graph of ``tensor`` keep its gradient in the next backward
    (``retain_grad`` on each), so that :func:`to_dot` can show them; returns ``tensor``."""
    order, seen = [tensor], {id(tensor)}
    for node in order:
        if node._op is not None:
            node.retain_grad()
        for parent in node._parents:
            if parent is not None and id(parent) not in seen:
                seen.add(id(parent))
                order.append(parent)
    return tensor


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, names: Mapping[str, Tensor] | None = None, *, max_nodes: int = 200,
           small: int = SMALL) -> str:
    """The recorded graph that produced ``tensor``, as Graphviz DOT source.

    One node per recorded op (its name and output shape) and one per leaf and constant input;
    edges run the way data flows, from inputs to the ops that use them. Tensors with at most
    ``small`` elements show their value and, after a backward pass, their gradient (on the
    edges they leave, micrograd-style). Render it with ``dot -Tsvg`` or
    :func:`steepest.plot.graph`.

    Parameters
    ----------
    tensor : Tensor
        The output (a leaf gives a one-node graph).
    names : mapping str -> Tensor, optional
        Labels for tensors, e.g. ``{"x": x, "w": w}``.
    max_nodes : int, default 200
        A larger graph keeps the ``max_nodes`` nodes nearest the output and summarises the
        rest in one node (op counts), so that a huge graph never makes a huge drawing.
    small : int, default 6
        The largest number of elements whose values are shown.

    Returns
    -------
    str

    Examples
    --------
    >>> import steepest as st
    >>> x = st.tensor(2.0, requires_grad=True)
    >>> print(st.autodiff.to_dot(x * x + 1, {"x": x}).splitlines()[0])
    digraph steepest {
    """
    graph = structure(tensor, names, max_nodes, small)
    grads = {node.id: node.grad for node in graph.nodes}
    values = {node.id: node.value for node in graph.nodes}
    lines = ["digraph steepest {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", '
             'fontsize=9];']
    shapes = {"op": "ellipse", "leaf": "box", "constant": "box", "summary": "note"}
    for node in graph.nodes:
        text = node.label if node.kind == "summary" else f"{node.label}\nshape {node.shape}"
        if (node.kind != "op" or node.id == "n0") and node.value is not None:
            text += f"\nvalue {node.value}"
        if node.grad is not None and (node.kind == "leaf" or node.id == "n0"):
            text += f"\ngrad {node.grad}"
        style = {"leaf": ', style=filled, fillcolor="#dbeafe"',
                 "constant": ', style=filled, fillcolor="#f1f5f9"',
                 "summary": ', style=filled, fillcolor="#fef3c7"'}.get(node.kind, "")
        lines.append(f"  {node.id} [label={_quote(text)}, shape={shapes[node.kind]}{style}];")
    for source, target in graph.edges:
        parts = []
        if values.get(source) is not None:
            parts.append(values[source])
        if grads.get(source) is not None:
            parts.append(f"grad {grads[source]}")
        label = f" [label={_quote(chr(10).join(parts))}]" if parts else ""
        lines.append(f"  {source} -> {target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"
