"""Issue 10.7: no accidental quadratic cost in backward, bounded by counting calls, not time.

Before, the rule of ``stack``/``concatenate`` was called once per input with all n inputs
unpacked into its arguments, and ``concatenate`` summed the widths of the inputs before each
one: O(n^2) for n inputs (32,000 inputs took 12.7 s and 59 s).
"""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import ops


class _Counting:
    """Wrap a multi-input rule: count its calls and the inputs handed to it."""

    def __init__(self, rule):
        self.rule, self.calls, self.inputs = rule, 0, 0

    def __call__(self, needed, g, ans, xs, **kwargs):
        self.calls += 1
        self.inputs += len(xs)
        return self.rule(needed, g, ans, xs, **kwargs)


@pytest.mark.parametrize("op, combine", [
    (ops.stack, lambda xs: st.stack(xs)),
    (ops.concatenate, lambda xs: st.concatenate(xs)),
])
@pytest.mark.parametrize("n", [1, 10, 2000])
def test_backward_of_n_inputs_calls_the_rule_once_with_n_inputs(monkeypatch, op, combine, n):
    counting = _Counting(op.multi_rule)
    monkeypatch.setattr(op, "multi_rule", counting)
    xs = [st.tensor(np.full(2, float(i)), requires_grad=(i % 3 != 1)) for i in range(n)]
    out = combine(xs)
    weights = np.arange(out.size, dtype=float).reshape(out.shape)
    (out * weights).sum().backward()
    assert (counting.calls, counting.inputs) == (1, n)
    for i, x in enumerate(xs):
        if x.requires_grad:
            np.testing.assert_array_equal(x.grad, weights[i] if op is ops.stack
                                          else weights[2 * i:2 * i + 2])
        else:
            assert x.grad is None


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_and_concatenate_gradients_along_any_axis(axis):
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((2, 3)) for _ in range(4)]
    for combine in (st.stack, st.concatenate):
        def f(x, combine=combine):
            return (combine([x[i] for i in range(4)], axis=axis) ** 2).sum()
        st.gradcheck(f, np.stack(parts))


def test_fan_out_calls_each_rule_once_per_node(monkeypatch):
    # one tensor used by many ops: one rule call per consumer, one accumulation per edge
    calls = []
    rule = ops.mul.rules[0]
    monkeypatch.setattr(ops.mul, "rules", (lambda *a: calls.append(1) or rule(*a), ops.mul.rules[1]))
    w = st.tensor([1.0, 2.0], requires_grad=True)
    total = st.stack([w * float(k) for k in range(500)]).sum()
    total.backward()
    assert len(calls) == 500
    np.testing.assert_array_equal(w.grad, np.full(2, sum(range(500))))


def test_rows_of_one_tensor_share_one_gradient_buffer(monkeypatch):
    # n getitem nodes on one input: one buffer of the input's shape, not n (that was O(n^2))
    made = []
    real_zeros = np.zeros

    def counting_zeros(shape, *args, **kwargs):
        made.append(shape)
        return real_zeros(shape, *args, **kwargs)

    monkeypatch.setattr(np, "zeros", counting_zeros)
    n = 300
    x = st.tensor(np.arange(2.0 * n).reshape(n, 2), requires_grad=True)
    total = x[0] * 0.0
    for i in range(n):
        total = total + x[i] * float(i)
    (total.sum() + (x * 2.0).sum() + x[np.array([0, 0])].sum()).backward()
    assert sum(1 for shape in made if shape == (n, 2)) == 1
    expected = np.arange(n, dtype=float)[:, None] * np.ones((1, 2)) + 2.0
    expected[0] += 2.0
    np.testing.assert_array_equal(x.grad, expected)
