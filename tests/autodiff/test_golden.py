"""Composite expressions against PyTorch 2.13 (golden values from tools/make_autodiff_golden.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import ops

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "autodiff" / "composites.npz"


def mlp_cross_entropy(x, w1, b1, w2, b2, *, target):
    hidden = st.tanh(x @ w1.T + b1)
    logits = hidden @ w2.T + b2
    return ops.cross_entropy(logits, target)


def softmax_cross_entropy(logits, *, target):
    log_p = st.log_softmax(logits, axis=1)
    return -log_p[np.arange(len(target)), target].mean()


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def indexing_with_repeats(x, w, *, index, mask):
    picked = x[index] * w
    return picked.sum() + (x[mask] ** 2).sum() + x[1:, ::2].sum()


def broadcasting_chain(a, b, c, d):
    y = (a * b + c) / (1 + st.exp(d))
    z = st.sin(y) * st.maximum(a, c) - st.sqrt(st.abs(b) + 1) ** 1.5
    return z.max(axis=-1, keepdims=True).mean() + ((z - y).sum(axis=(0, 2)) ** 2).sum()


def stable_logsumexp(x):
    return st.logsumexp(x, axis=1).sum() + st.softmax(x, axis=0)[0].sum()


def matmul_shapes(a, b, v, m):
    return st.tanh(a @ b).sum() + ((v @ m) ** 2).sum() + (m.T @ v).sum()


def joins_and_selects(x, y):
    joined = st.concatenate([x, y * 2], axis=0)
    stacked = st.stack([x, y], axis=1)
    chosen = st.where(x > 0, x, y)
    return (joined.clip(-0.5, 0.8).sum() + stacked.min(axis=1).sum()
            + chosen.sum() + st.minimum(x, y).sum() + st.log(x * x + 1).mean())


CASES = {f.__name__: f for f in (mlp_cross_entropy, softmax_cross_entropy, rosenbrock,
                                 indexing_with_repeats, broadcasting_chain, stable_logsumexp,
                                 matmul_shapes, joins_and_selects)}


def _load_case(name: str) -> tuple[dict, dict, np.ndarray, dict]:
    with np.load(GOLDEN, allow_pickle=False) as golden:
        pick = {k: golden[k] for k in golden.files if k.startswith(name + "/")}
    part = lambda kind: {k.split("/")[2]: v for k, v in pick.items() if k.split("/")[1] == kind}  # noqa: E731
    return part("input"), part("const"), pick[f"{name}/value"], part("grad")


def test_every_case_has_golden_values():
    with np.load(GOLDEN, allow_pickle=False) as golden:
        names = {k.split("/")[0] for k in golden.files}
    assert names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradients_match_pytorch(name):
    inputs, constants, value, grads = _load_case(name)
    tensors = {k: st.tensor(v, requires_grad=True) for k, v in inputs.items()}
    out = CASES[name](**tensors, **constants)
    out.backward()
    np.testing.assert_allclose(out.data, value, rtol=1e-10, atol=1e-10)
    for k, t in tensors.items():
        assert t.grad.shape == inputs[k].shape
        np.testing.assert_allclose(t.grad, grads[k], rtol=1e-10, atol=1e-10, err_msg=f"d/d{k}")
