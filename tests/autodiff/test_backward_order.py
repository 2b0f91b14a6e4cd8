"""Backward visits nodes by decreasing creation number (a heap, no topological sort): check it on
random graphs with shared subexpressions against central finite differences, and its edge cases
(a leaf as the root, retained intermediates, partial graphs, a second backward)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import steepest as st

# Each step applies one of these to earlier nodes (leaves included), so values are reused by
# several later ops and the graph is a DAG with many diamonds.
UNARY = {"tanh": lambda a: a.tanh(), "sin": lambda a: a.sin(), "square": lambda a: a * a,
         "scale": lambda a: a * 0.5}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}

step = hst.one_of(
    hst.tuples(hst.sampled_from(sorted(UNARY)), hst.integers(0, 100)),
    hst.tuples(hst.sampled_from(sorted(BINARY)), hst.integers(0, 100), hst.integers(0, 100)),
)
program = hst.tuples(
    hst.integers(1, 3),                          # number of leaves
    hst.lists(step, min_size=1, max_size=12),    # the ops, operands picked among earlier nodes
    hst.lists(hst.integers(0, 100), min_size=1, max_size=4),  # nodes summed into the loss
    hst.integers(0, 2**32 - 1),                  # seed of the leaves' values
)


def _run(leaves: list, steps: list, outputs: list) -> st.Tensor:
    nodes = list(leaves)
    for name, *operands in steps:
        args = [nodes[i % len(nodes)] for i in operands]
        nodes.append(UNARY[name](*args) if name in UNARY else BINARY[name](*args))
    loss = nodes[outputs[0] % len(nodes)].sum()
    for i in outputs[1:]:
        loss = loss + nodes[i % len(nodes)].sum()
    return loss


def _numeric_gradient(values: list[np.ndarray], steps: list, outputs: list, which: int,
                      eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(values[which])
    for index in np.ndindex(values[which].shape):
        shifted = []
        for sign in (1.0, -1.0):
            trial = [v.copy() for v in values]
            trial[which][index] += sign * eps
            with st.no_grad():
                shifted.append(_run([st.tensor(v) for v in trial], steps, outputs).item())
        grad[index] = (shifted[0] - shifted[1]) / (2 * eps)
    return grad


@settings(max_examples=60, deadline=None)
@given(program)
def test_random_graphs_with_shared_nodes_match_finite_differences(case):
    n_leaves, steps, outputs, seed = case
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-1.0, 1.0, 3) for _ in range(n_leaves)]
    leaves = [st.tensor(v, requires_grad=True) for v in values]
    _run(leaves, steps, outputs).backward()
    for which, leaf in enumerate(leaves):
        expected = _numeric_gradient(values, steps, outputs, which)
        got = np.zeros(3) if leaf.grad is None else leaf.grad
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_gradient_waits_for_a_consumer_created_much_later():
    # y feeds an early short branch and a late long one: y must not be processed before the
    # long branch has passed its gradient back, although the short branch reaches it first.
    x = st.tensor(0.3, requires_grad=True)
    y = x * 2.0
    short = y + 1.0
    long = y
    for _ in range(20):
        long = long * 1.1
    (short + long).backward()
    assert x.grad == pytest.approx(2.0 + 2.0 * 1.1**20)


def test_a_leaf_as_the_root_gets_the_seed():
    x = st.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0
    x.backward(np.array(3.0))
    assert x.grad == 4.0


def test_retained_intermediate_and_leaf_both_receive_their_gradients():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    z = (y * 3.0 + y).sum()
    z.backward()
    np.testing.assert_array_equal(y.grad, [4.0, 4.0])
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])


def test_backward_from_an_intermediate_leaves_the_rest_of_the_graph_alone():
    x = st.tensor(1.5, requires_grad=True)
    w = st.tensor(2.0, requires_grad=True)
    y = x * w
    z = y * y  # not reached by y.backward(): its saved arrays stay usable
    y.backward(retain_graph=True)  # as in PyTorch, z's backward passes through y's node again
    assert (x.grad, w.grad) == (2.0, 1.5)
    z.backward()
    assert x.grad == pytest.approx(2.0 + 2 * 3.0 * 2.0)
    assert w.grad == pytest.approx(1.5 + 2 * 3.0 * 1.5)


def test_retain_graph_gives_the_same_gradients_twice():
    x = st.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x + x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)
