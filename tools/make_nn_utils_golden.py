"""Regenerate the PyTorch golden values of ``steepest.nn.utils`` (tests/golden/nn/utils.npz).

For random gradients of three parameters (float64), the file holds what
``torch.nn.utils.clip_grad_norm_`` returns and leaves in the gradients for several ``max_norm``
and ``norm_type`` values, what ``clip_grad_value_`` leaves, and ``parameters_to_vector``.
Run from the repository root::

    python tools/make_nn_utils_golden.py
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "nn" / "utils.npz"
SHAPES = [(4, 3), (3,), (2, 2, 2)]
CASES = [(0.5, 2.0), (100.0, 2.0), (1.0, 1.0), (0.3, math.inf), (2.0, 3.0)]


def main() -> None:
    rng = np.random.default_rng(7)
    arrays: dict[str, np.ndarray] = {}
    for i, shape in enumerate(SHAPES):
        arrays[f"param{i}"] = rng.normal(size=shape)
        arrays[f"grad{i}"] = rng.normal(size=shape) * 2.0
    arrays["cases"] = np.array(CASES)
    for k, (max_norm, norm_type) in enumerate(CASES):
        params = _torch_params(arrays)
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        arrays[f"norm/{k}/total"] = np.array(float(total))
        for i, p in enumerate(params):
            arrays[f"norm/{k}/grad{i}"] = p.grad.numpy().copy()
    params = _torch_params(arrays)
    torch.nn.utils.clip_grad_value_(params, 0.7)
    for i, p in enumerate(params):
        arrays[f"value/grad{i}"] = p.grad.numpy().copy()
    arrays["vector"] = torch.nn.utils.parameters_to_vector(_torch_params(arrays)).detach().numpy()
    np.savez(OUT, **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays, torch {torch.__version__})")


def _torch_params(arrays: dict[str, np.ndarray]) -> list[torch.Tensor]:
    params = []
    for i in range(len(SHAPES)):
        p = torch.tensor(arrays[f"param{i}"], requires_grad=True)
        p.grad = torch.tensor(arrays[f"grad{i}"])
        params.append(p)
    return params


if __name__ == "__main__":
    main()
