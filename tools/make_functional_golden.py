"""Regenerate tests/golden/autodiff/functional.npz from PyTorch (a tool dependency, never a test one).

Each case is a function written with PyTorch ops (tests/autodiff/test_functional_golden.py writes
the same function with steepest ops). For each, in float64: the Jacobian
(``torch.autograd.functional.jacobian``), a JVP and a VJP (``torch.func.jvp``, ``torch.func.vjp``)
for vector functions; the Hessian (``torch.autograd.functional.hessian``), a Hessian-vector
product (``torch.autograd.functional.hvp``) and the third-derivative tensor
(``torch.func.jacfwd(torch.func.hessian(f))``) for scalar ones.

Usage::

    pip install torch==2.13.0
    python tools/make_functional_golden.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "autodiff" / "functional.npz"

RNG = np.random.default_rng(20261202)
DATA = RNG.standard_normal((7, 3))
TARGET = RNG.integers(0, 2, 7)
SHAPES = ((4, 3), (4,), (2, 4), (2,))  # a 3-4-2 MLP: w1, b1, w2, b2


def unpack(w):
    parts, start = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        parts.append(w[start:start + size].reshape(shape))
        start += size
    return parts


# ----------------------------------------------------------------- scalar functions
def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def mlp_tanh_cross_entropy(w):
    w1, b1, w2, b2 = unpack(w)
    hidden = torch.tanh(F.linear(torch.as_tensor(DATA), w1, b1))
    return F.cross_entropy(F.linear(hidden, w2, b2), torch.as_tensor(TARGET))


def mlp_gelu_mse(w):
    w1, b1, w2, b2 = unpack(w)
    hidden = F.gelu(torch.as_tensor(DATA) @ w1.T + b1)
    out = hidden @ w2.T + b2
    return F.mse_loss(out, torch.as_tensor(DATA[:, :2])) + F.binary_cross_entropy_with_logits(
        out[:, 0], torch.as_tensor(TARGET, dtype=torch.float64))


def smooth_mix(x):
    soft = torch.softmax(x.reshape(2, 3), dim=1)
    return (torch.logsumexp(x * soft.reshape(-1), dim=0) + torch.sigmoid(x).prod()
            + torch.linalg.vector_norm(x) + torch.erf(x / 2).sum() + torch.cumsum(x, 0).pow(2).mean()
            + (torch.sqrt(x * x + 1) / torch.exp(-x)).sum() + torch.log_softmax(x, 0)[1])


def trig_and_powers(x):
    return (torch.sin(x[0] * x[1]) + x[1] ** 3 * torch.log(x[2]) + torch.cos(x).sum() * x[0]
            + x[2] ** x[0])


SCALAR = {
    "rosenbrock": (rosenbrock, RNG.uniform(-1.5, 1.5, 5)),
    "mlp_tanh_cross_entropy": (mlp_tanh_cross_entropy, RNG.standard_normal(26) * 0.7),
    "mlp_gelu_mse": (mlp_gelu_mse, RNG.standard_normal(26) * 0.7),
    "smooth_mix": (smooth_mix, RNG.standard_normal(6) * 0.8),
    "trig_and_powers": (trig_and_powers, np.array([0.4, -0.9, 1.6])),
}


# ----------------------------------------------------------------- vector functions
def softmax_layer(x):
    w = torch.as_tensor(DATA[:4])  # (4, 3)
    return torch.softmax(w @ torch.tanh(x), dim=0)


def stacked_pieces(x):
    return torch.cat([torch.stack([x.max(), x.min(), (x * x).sum()]), torch.relu(x) * 2,
                      torch.maximum(x, 0.3 * x), torch.clamp(x, -0.5, 0.5) ** 2])


VECTOR = {
    "softmax_layer": (softmax_layer, RNG.standard_normal(3)),
    "stacked_pieces": (stacked_pieces, RNG.standard_normal(5)),
}


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays: dict[str, np.ndarray] = {}
    for name, (f, x) in SCALAR.items():
        xt = torch.tensor(x)
        v = RNG.standard_normal(x.shape)
        arrays[f"{name}/x"], arrays[f"{name}/v"] = x, v
        arrays[f"{name}/value"] = f(xt).detach().numpy()
        arrays[f"{name}/hessian"] = torch.autograd.functional.hessian(f, xt).numpy()
        arrays[f"{name}/hvp"] = torch.autograd.functional.hvp(f, xt, torch.tensor(v))[1].numpy()
        arrays[f"{name}/third"] = torch.func.jacfwd(torch.func.hessian(f))(xt).detach().numpy()
    for name, (f, x) in VECTOR.items():
        xt = torch.tensor(x)
        out = f(xt)
        v, u = RNG.standard_normal(x.shape), RNG.standard_normal(tuple(out.shape))
        arrays[f"{name}/x"], arrays[f"{name}/v"], arrays[f"{name}/u"] = x, v, u
        arrays[f"{name}/value"] = out.detach().numpy()
        arrays[f"{name}/jacobian"] = torch.autograd.functional.jacobian(f, xt).numpy()
        arrays[f"{name}/jvp"] = torch.func.jvp(f, (xt,), (torch.tensor(v),))[1].detach().numpy()
        _, pullback = torch.func.vjp(f, xt)
        arrays[f"{name}/vjp"] = pullback(torch.tensor(u))[0].detach().numpy()
    arrays["data"], arrays["target"] = DATA, TARGET
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f"wrote {len(arrays)} arrays to {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
