"""autodiff.to_dot: DOT source that parses (a small parser here, and Graphviz when installed),
one node per op and per leaf, edges along the data flow, and a summary for huge graphs."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import graph, retain_grads, to_dot

_NODE = re.compile(r'^\s*(n\d+|summary) \[label="((?:[^"\\]|\\.)*)", shape=\w+.*\];$')
_EDGE = re.compile(r'^\s*(n\d+|summary) -> (n\d+)( \[label="((?:[^"\\]|\\.)*)"\])?;$')


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str, str | None]]]:
    """A strict parser of the subset of DOT that to_dot writes: every line must match."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph steepest {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if line.strip() in ("rankdir=LR;",) or line.strip().startswith(("node [", "edge [")):
            continue
        if m := _NODE.match(line):
            assert m.group(1) not in nodes, f"duplicate node {m.group(1)}"
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
        elif m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(4)))
        else:
            raise AssertionError(f"not DOT that to_dot writes: {line!r}")
    for source, target, _ in edges:
        assert source in nodes and target in nodes
    return nodes, edges


def neuron():
    x = st.tensor([1.0, -2.0], requires_grad=True)
    w = st.tensor([0.5, 0.25], requires_grad=True)
    b = st.tensor(0.1, requires_grad=True)
    out = st.tanh((w * x).sum() + b)
    return out, {"x": x, "w": w, "b": b}


def test_one_node_per_op_and_leaf_and_edges_follow_the_data():
    out, names = neuron()
    nodes, edges = parse(to_dot(out, names))
    labels = sorted(text.split("\n")[0] for text in nodes.values())
    assert labels == ["add", "b", "mul", "sum", "tanh", "w", "x"]
    by_label = {text.split("\n")[0]: key for key, text in nodes.items()}
    pairs = {(nodes[s].split("\n")[0], nodes[t].split("\n")[0]) for s, t, _ in edges}
    assert pairs == {("x", "mul"), ("w", "mul"), ("mul", "sum"), ("sum", "add"), ("b", "add"),
                     ("add", "tanh")}
    assert "shape (2,)" in nodes[by_label["mul"]] and "shape ()" in nodes[by_label["tanh"]]


def test_values_and_gradients_are_shown_after_backward():
    out, names = neuron()
    retain_grads(out)
    out.backward()
    nodes, edges = parse(to_dot(out, names))
    x_node = next(k for k, v in nodes.items() if v.startswith("x\n"))
    assert "value [ 1., -2.]" in nodes[x_node]
    expected = names["w"].data * (1 - np.tanh(0.1) ** 2)  # d tanh(w.x + b)/dx = w (1 - out^2)
    assert f"grad {np.array2string(expected, precision=3, separator=', ')}" in nodes[x_node]
    labelled = [label for s, _, label in edges if s == x_node]
    assert labelled and "grad" in labelled[0]


def test_large_tensors_show_no_values():
    x = st.tensor(np.ones((4, 4)), requires_grad=True)
    nodes, _ = parse(to_dot((x * 2).sum()))
    assert not any("value [" in v for v in nodes.values())


def test_a_leaf_is_one_node():
    nodes, edges = parse(to_dot(st.tensor([1.0, 2.0], requires_grad=True)))
    assert len(nodes) == 1 and edges == []
    nodes, _ = parse(to_dot(st.tensor(3.0)))
    assert list(nodes.values())[0].startswith("constant")


def test_constant_inputs_appear_while_the_graph_holds_them():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse(to_dot(x * st.tensor([3.0, 4.0])))
    assert sorted(v.split("\n")[0] for v in nodes.values()) == ["constant", "leaf", "mul"]
    assert len(edges) == 2


def test_a_huge_graph_is_summarised_quickly():
    x = st.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    started = time.perf_counter()
    dot = to_dot(y, max_nodes=200)
    assert time.perf_counter() - started < 30  # generous: the point is that it ends
    nodes, edges = parse(dot)
    assert len(nodes) == 201
    summary = nodes["summary"]
    assert re.match(r"\d+ more nodes \((add|mul) x\d+", summary)
    assert int(summary.split()[0]) == 10001 - 200
    assert any(s == "summary" for s, _, _ in edges)


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        to_dot(np.ones(2))
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(st.tensor(1.0), max_nodes=0)


def test_quotes_and_backslashes_are_escaped():
    x = st.tensor(1.0, requires_grad=True)
    nodes, _ = parse(to_dot(x * 2, {'a "quoted" \\ name': x}))
    assert any(v.startswith('a \\"quoted\\" \\\\ name') for v in nodes.values())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_renders_it(tmp_path):
    out, names = neuron()
    retain_grads(out)
    out.backward()
    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(out, names), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout and done.stdout.count('class="node"') == 7
    assert graph.structure(out).nodes[-1].id == "n0"
