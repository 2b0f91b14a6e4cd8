"""Regenerate the PyTorch golden values of ``steepest.nn`` (tests/golden/nn/*.npz).

The tests load these arrays into steepest models of the same architecture and compare outputs,
losses and every gradient in float64 (to 1e-10); they never import torch. Run from the
repository root::

    python tools/make_nn_golden.py

Files written (plain ``.npz``, readable with ``allow_pickle=False``):

* ``mlp_activations.npz``: for each activation ``A`` a 4-8-8-3 network
  ``Linear, A, Linear, A, Linear`` in float64 with its state dict (``A/param/<name>``), a batch
  ``A/x`` with class targets ``A/y``, the logits ``A/output``, the cross-entropy ``A/loss`` and
  the gradient of the loss for every parameter (``A/grad/<name>``) and for the input
  (``A/input_grad``).
* ``mlp_64_128_10.npz``: a 64-128-10 ReLU network as PyTorch initialises it (float32 state dict
  ``float32/param/<name>``), a batch of 64 (``float32/x``, ``float64/y``), the float32 logits and
  loss, and the logits, loss and gradients computed in float64 from the same arrays widened.
* ``losses.npz``: MSE, cross-entropy (reductions, label smoothing, probability targets, class
  axis 1 of a 3-D input) and BCE with logits (reductions, ``pos_weight``): the loss and the
  gradient of ``sum(loss * cotangent)`` with respect to the input.
* ``gelu.npz``: exact and tanh GELU and their derivatives on a grid covering the tails.
"""

from __future__ import annotations

import pathlib

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "nn"

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "softmax": lambda: nn.Softmax(dim=1),
}


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _record_model(prefix: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  out: dict[str, np.ndarray]) -> None:
    """Store the state dict, the forward output, the loss and every gradient of ``model``."""
    for name, value in model.state_dict().items():
        out[f"{prefix}/param/{name}"] = _numpy(value)
    x = x.clone().requires_grad_(True)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out[f"{prefix}/x"] = _numpy(x)
    out[f"{prefix}/y"] = _numpy(y)
    out[f"{prefix}/output"] = _numpy(logits)
    out[f"{prefix}/loss"] = _numpy(loss)
    out[f"{prefix}/input_grad"] = _numpy(x.grad)
    for name, param in model.named_parameters():
        out[f"{prefix}/grad/{name}"] = _numpy(param.grad)


def make_activations() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i, (name, make) in enumerate(ACTIVATIONS.items()):
        torch.manual_seed(100 + i)
        model = nn.Sequential(nn.Linear(4, 8), make(), nn.Linear(8, 8), make(),
                              nn.Linear(8, 3)).double()
        x = torch.randn(16, 4, dtype=torch.float64) * 2
        y = torch.randint(0, 3, (16,))
        _record_model(name, model, x, y, out)
    return out


def make_mlp() -> dict[str, np.ndarray]:
    torch.manual_seed(7)
    model32 = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    x32 = torch.randn(64, 64)
    y = torch.randint(0, 10, (64,))
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        logits32 = model32(x32)
        out["float32/output"] = _numpy(logits32)
        out["float32/loss"] = _numpy(F.cross_entropy(logits32, y))
    # The float64 record starts from the float32 state dict and batch, widened exactly.
    model64 = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).double()
    model64.load_state_dict({k: v.double() for k, v in model32.state_dict().items()})
    _record_model("float64", model64, x32.double(), y, out)
    # float64/param and float64/x are the float32 arrays widened: keep only the float32 ones.
    for key in [k for k in out if k.startswith(("float64/param/", "float64/x"))]:
        del out[key]
    for name, value in model32.state_dict().items():  # the float32 state dict as torch made it
        out[f"float32/param/{name}"] = _numpy(value)
    out["float32/x"] = _numpy(x32)
    return out


def _loss_record(out: dict[str, np.ndarray], key: str, fn, input: torch.Tensor,
                 target: torch.Tensor) -> None:
    input = input.clone().requires_grad_(True)
    loss = fn(input, target)
    cotangent = torch.linspace(0.5, 1.5, loss.numel(), dtype=torch.float64).reshape(loss.shape)
    (loss * cotangent).sum().backward()
    out[f"{key}/loss"] = _numpy(loss)
    out[f"{key}/cotangent"] = _numpy(cotangent)
    out[f"{key}/input_grad"] = _numpy(input.grad)


def make_losses() -> dict[str, np.ndarray]:
    torch.manual_seed(11)
    out: dict[str, np.ndarray] = {}
    logits = torch.randn(12, 5, dtype=torch.float64) * 3
    classes = torch.randint(0, 5, (12,))
    probabilities = torch.softmax(torch.randn(12, 5, dtype=torch.float64), dim=1)
    logits3 = torch.randn(6, 4, 3, dtype=torch.float64)
    classes3 = torch.randint(0, 4, (6, 3))
    regression = torch.randn(10, 3, dtype=torch.float64)
    regression_target = torch.randn(10, 3, dtype=torch.float64)
    binary_logits = torch.randn(10, 3, dtype=torch.float64) * 4
    binary_target = (torch.rand(10, 3, dtype=torch.float64) < 0.4).double()
    pos_weight = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64)
    out.update({
        "ce/logits": _numpy(logits), "ce/classes": _numpy(classes),
        "ce/probabilities": _numpy(probabilities),
        "ce3/logits": _numpy(logits3), "ce3/classes": _numpy(classes3),
        "mse/input": _numpy(regression), "mse/target": _numpy(regression_target),
        "bce/logits": _numpy(binary_logits), "bce/target": _numpy(binary_target),
        "bce/pos_weight": _numpy(pos_weight),
    })
    for reduction in ("mean", "sum", "none"):
        _loss_record(out, f"mse/{reduction}", lambda a, b, r=reduction: F.mse_loss(a, b, reduction=r),
                     regression, regression_target)
        for smoothing in (0.0, 0.1):
            tag = f"{reduction}/{smoothing}"
            _loss_record(out, f"ce/classes/{tag}", lambda a, b, r=reduction, s=smoothing:
                         F.cross_entropy(a, b, reduction=r, label_smoothing=s), logits, classes)
            _loss_record(out, f"ce/probabilities/{tag}", lambda a, b, r=reduction, s=smoothing:
                         F.cross_entropy(a, b, reduction=r, label_smoothing=s), logits, probabilities)
            _loss_record(out, f"ce3/{tag}", lambda a, b, r=reduction, s=smoothing:
                         F.cross_entropy(a, b, reduction=r, label_smoothing=s), logits3, classes3)
        _loss_record(out, f"bce/{reduction}", lambda a, b, r=reduction:
                     F.binary_cross_entropy_with_logits(a, b, reduction=r),
                     binary_logits, binary_target)
        _loss_record(out, f"bce_pos_weight/{reduction}", lambda a, b, r=reduction:
                     F.binary_cross_entropy_with_logits(a, b, reduction=r, pos_weight=pos_weight),
                     binary_logits, binary_target)
    return out


def make_gelu() -> dict[str, np.ndarray]:
    x = torch.cat([torch.linspace(-12, 12, 961, dtype=torch.float64),
                   torch.tensor([-40.0, -25.0, -1e-8, 0.0, 1e-8, 25.0, 40.0], dtype=torch.float64)])
    out = {"x": _numpy(x)}
    for approximate in ("none", "tanh"):
        xg = x.clone().requires_grad_(True)
        y = F.gelu(xg, approximate=approximate)
        y.sum().backward()
        out[f"{approximate}/value"] = _numpy(y)
        out[f"{approximate}/derivative"] = _numpy(xg.grad)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for name, make in (("mlp_activations", make_activations), ("mlp_64_128_10", make_mlp),
                       ("losses", make_losses), ("gelu", make_gelu)):
        arrays = make()
        np.savez(OUT / f"{name}.npz", **arrays)
        with np.load(OUT / f"{name}.npz", allow_pickle=False) as check:  # plain arrays only
            assert sorted(check.files) == sorted(arrays)
        print(f"wrote {OUT / name}.npz ({len(arrays)} arrays)")


if __name__ == "__main__":
    main()
