"""Regenerate tests/golden/autodiff/composites.npz from PyTorch (a tool dependency, never a test one).

Each case evaluates one composite expression in float64 with PyTorch autograd and stores its
inputs, its value and the gradient of every input. tests/autodiff/test_golden.py evaluates the
same expressions with steepest and compares to 1e-10.

Usage::

    pip install torch==2.13.0
    python tools/make_autodiff_golden.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "autodiff" / "composites.npz"


def mlp_cross_entropy(x, w1, b1, w2, b2, *, target):
    hidden = torch.tanh(x @ w1.T + b1)
    logits = hidden @ w2.T + b2
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(target))


def softmax_cross_entropy(logits, *, target):
    log_p = torch.log_softmax(logits, dim=1)
    return -log_p[torch.arange(len(target)), torch.as_tensor(target)].mean()


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def indexing_with_repeats(x, w, *, index, mask):
    picked = x[torch.as_tensor(index)] * w
    return picked.sum() + (x[torch.as_tensor(mask)] ** 2).sum() + x[1:, ::2].sum()


def broadcasting_chain(a, b, c, d):
    y = (a * b + c) / (1 + torch.exp(d))
    z = torch.sin(y) * torch.maximum(a, c) - torch.sqrt(torch.abs(b) + 1) ** 1.5
    return z.amax(dim=-1, keepdim=True).mean() + (z - y).sum(dim=(0, 2)).pow(2).sum()


def stable_logsumexp(x):
    return torch.logsumexp(x, dim=1).sum() + torch.softmax(x, dim=0)[0].sum()


def matmul_shapes(a, b, v, m):
    return ((a @ b).tanh().sum() + (v @ m).pow(2).sum() + (m.T @ v).sum())


def joins_and_selects(x, y):
    joined = torch.cat([x, y * 2], dim=0)
    stacked = torch.stack([x, y], dim=1)
    chosen = torch.where(x > 0, x, y)
    return (joined.clamp(-0.5, 0.8).sum() + stacked.min(dim=1).values.sum()
            + chosen.sum() + torch.minimum(x, y).sum() + torch.log(x * x + 1).mean())


def case_inputs(rng: np.random.Generator) -> dict[str, tuple]:
    """name -> (function, differentiable inputs, constant keyword inputs)."""
    return {
        "mlp_cross_entropy": (mlp_cross_entropy, {
            "x": rng.standard_normal((8, 4)), "w1": rng.standard_normal((5, 4)) * 0.5,
            "b1": rng.standard_normal(5) * 0.1, "w2": rng.standard_normal((3, 5)) * 0.5,
            "b2": rng.standard_normal(3) * 0.1}, {"target": rng.integers(0, 3, 8)}),
        "softmax_cross_entropy": (softmax_cross_entropy, {
            "logits": rng.standard_normal((6, 5)) * 3}, {"target": rng.integers(0, 5, 6)}),
        "rosenbrock": (rosenbrock, {"x": rng.uniform(-2, 2, 5)}, {}),
        "indexing_with_repeats": (indexing_with_repeats, {
            "x": rng.standard_normal((4, 3)), "w": rng.standard_normal((6, 3))},
            {"index": np.array([0, 2, 2, 3, 0, 2]), "mask": rng.random((4, 3)) < 0.5}),
        "broadcasting_chain": (broadcasting_chain, {
            "a": rng.standard_normal((3, 1, 4)), "b": rng.standard_normal((2, 1)),
            "c": rng.standard_normal(4), "d": rng.standard_normal(1)}, {}),
        "stable_logsumexp": (stable_logsumexp, {
            "x": rng.standard_normal((3, 4)) * 1e4}, {}),
        "matmul_shapes": (matmul_shapes, {
            "a": rng.standard_normal((2, 3, 4)), "b": rng.standard_normal((4, 5)),
            "v": rng.standard_normal(4), "m": rng.standard_normal((4, 3))}, {}),
        "joins_and_selects": (joins_and_selects, {
            "x": rng.standard_normal((3, 4)), "y": rng.standard_normal((3, 4))}, {}),
    }


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20261128)
    arrays: dict[str, np.ndarray] = {}
    for name, (function, inputs, constants) in case_inputs(rng).items():
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inputs.items()}
        value = function(**tensors, **constants)
        value.backward()
        arrays[f"{name}/value"] = value.detach().numpy()
        for k, v in inputs.items():
            arrays[f"{name}/input/{k}"] = v
            arrays[f"{name}/grad/{k}"] = tensors[k].grad.numpy()
        for k, v in constants.items():
            arrays[f"{name}/const/{k}"] = np.asarray(v)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f"wrote {len(arrays)} arrays for {len(case_inputs(rng))} cases to {OUT} "
          f"(torch {torch.__version__})")


if __name__ == "__main__":
    main()
