"""jacobian, jvp, vjp, hessian, hvp and third derivatives against PyTorch 2.13
(golden values from tools/make_functional_golden.py: torch.autograd.functional and torch.func)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import ops

GOLDEN = np.load(Path(__file__).resolve().parents[1] / "golden" / "autodiff" / "functional.npz")
DATA, TARGET = GOLDEN["data"], GOLDEN["target"]
SHAPES = ((4, 3), (4,), (2, 4), (2,))


def unpack(w):
    parts, start = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        parts.append(w[start:start + size].reshape(shape))
        start += size
    return parts


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def mlp_tanh_cross_entropy(w):
    w1, b1, w2, b2 = unpack(w)
    hidden = st.tanh(ops.linear(DATA, w1, b1))
    return ops.cross_entropy(ops.linear(hidden, w2, b2), TARGET)


def mlp_gelu_mse(w):
    w1, b1, w2, b2 = unpack(w)
    hidden = ops.gelu(DATA @ w1.T + b1)
    out = hidden @ w2.T + b2
    return ops.mse_loss(out, DATA[:, :2]) + ops.bce_with_logits(out[:, 0], TARGET.astype(np.float64))


def smooth_mix(x):
    soft = st.softmax(x.reshape(2, 3), axis=1)
    return (st.logsumexp(x * soft.reshape(-1), axis=0) + st.sigmoid(x).prod() + ops.norm(x)
            + ops.erf(x / 2).sum() + (ops.cumsum(x, axis=0) ** 2).mean()
            + (st.sqrt(x * x + 1) / st.exp(-x)).sum() + st.log_softmax(x, axis=0)[1])


def trig_and_powers(x):
    return st.sin(x[0] * x[1]) + x[1] ** 3 * st.log(x[2]) + st.cos(x).sum() * x[0] + x[2] ** x[0]


def softmax_layer(x):
    return st.softmax(DATA[:4] @ st.tanh(x), axis=0)


def stacked_pieces(x):
    return st.concatenate([st.stack([x.max(), x.min(), (x * x).sum()]), st.relu(x) * 2,
                           st.maximum(x, 0.3 * x), st.clip(x, -0.5, 0.5) ** 2])


SCALAR = [rosenbrock, mlp_tanh_cross_entropy, mlp_gelu_mse, smooth_mix, trig_and_powers]
VECTOR = [softmax_layer, stacked_pieces]


def third_derivatives(f, x0):
    """d^3 f / dx_i dx_j dx_k, by differentiating the gradient twice (create_graph twice)."""
    x = st.tensor(x0, requires_grad=True)
    (g,) = st.autodiff.grad(f(x), x, create_graph=True)
    n = x0.size
    out = np.zeros((n, n, n))
    for i in range(n):
        (h,) = st.autodiff.grad(g[i], x, create_graph=True, retain_graph=True)
        for j in range(n):
            (t,) = st.autodiff.grad(h[j], x, retain_graph=True, allow_unused=True)
            out[i, j] = 0.0 if t is None else t.data
    return out


@pytest.mark.parametrize("f", SCALAR, ids=lambda f: f.__name__)
def test_hessian_hvp_and_third_derivatives_match_pytorch(f):
    name = f.__name__
    x, v = GOLDEN[f"{name}/x"], GOLDEN[f"{name}/v"]
    np.testing.assert_allclose(f(st.tensor(x)).data, GOLDEN[f"{name}/value"], rtol=1e-12)
    np.testing.assert_allclose(st.hessian(f)(x), GOLDEN[f"{name}/hessian"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st.hvp(f)(x, v), GOLDEN[f"{name}/hvp"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(third_derivatives(f, x), GOLDEN[f"{name}/third"], rtol=1e-9,
                               atol=1e-11)


@pytest.mark.parametrize("f", VECTOR, ids=lambda f: f.__name__)
def test_jacobian_jvp_and_vjp_match_pytorch(f):
    name = f.__name__
    x, v, u = GOLDEN[f"{name}/x"], GOLDEN[f"{name}/v"], GOLDEN[f"{name}/u"]
    np.testing.assert_allclose(st.jacobian(f)(x), GOLDEN[f"{name}/jacobian"], rtol=1e-12, atol=1e-14)
    value, tangent = st.jvp(f)(x, v)
    np.testing.assert_allclose(value, GOLDEN[f"{name}/value"], rtol=1e-12)
    np.testing.assert_allclose(tangent, GOLDEN[f"{name}/jvp"], rtol=1e-12, atol=1e-14)
    value, cotangent = st.vjp(f)(x, u)
    np.testing.assert_allclose(cotangent, GOLDEN[f"{name}/vjp"], rtol=1e-12, atol=1e-14)
