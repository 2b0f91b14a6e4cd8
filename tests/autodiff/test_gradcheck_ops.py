"""Every registered op's gradient against central finite differences, over hypothesis shapes.

Each op's block in ops.py supplies ``sample(rng, shape)``: valid inputs built around a drawn
shape (broadcasting partners, reduction axes, repeated indices...). Any op added to the table is
checked here automatically; an op without a sampler fails the first test.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import array_shapes

import steepest as st
from steepest.autodiff.ops import OPS

shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


def test_every_op_states_its_check_domain():
    missing = [name for name, op in OPS.items() if op.sample is None]
    assert not missing, f"ops without a gradient-check sampler: {missing}"


def _sample(op, shape, seed):
    args, params = op.sample(np.random.default_rng(seed), shape)
    return [np.asarray(a) if isinstance(a, np.generic) else a for a in args], params


def _differentiable_positions(op, args) -> list[int]:
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and op.differentiable(i)]


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=hs.integers(0, 2**32 - 1))
def test_op_gradient_matches_finite_differences(name, shape, seed):
    op = OPS[name]
    args, params = _sample(op, shape, seed)
    positions = _differentiable_positions(op, args)
    assert positions, f"{name}: the sampler produced no differentiable input"

    def f(*tensors):
        full = list(args)
        for i, t in zip(positions, tensors, strict=True):
            full[i] = t
        return op(*full, **params)

    st.gradcheck(f, tuple(args[i] for i in positions), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=hs.integers(0, 2**32 - 1))
def test_op_gradient_keeps_input_shape_and_float32_dtype(name, shape, seed):
    op = OPS[name]
    args, params = _sample(op, shape, seed)
    positions = _differentiable_positions(op, args)
    tensors = {i: st.tensor(args[i].astype(np.float32), requires_grad=True) for i in positions}
    full = [tensors.get(i, a) for i, a in enumerate(args)]
    out = op(*full, **params)
    expected = np.dtype(params["dtype"]) if name == "cast" else np.float32  # cast's job is the dtype
    assert out.dtype == expected, f"{name} turned float32 into {out.dtype}"
    out.backward(np.ones(out.shape, dtype=np.float32))
    for i, t in tensors.items():
        assert t.grad is not None and t.grad.shape == args[i].shape
        assert t.grad.dtype == np.float32
