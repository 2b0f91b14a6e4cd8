"""Regenerate tests/golden/nn/norm_losses.npz: PyTorch 2.13 golden values of the layers and
losses added for issue 14 (LayerNorm, BatchNorm1d, L1/SmoothL1/Huber/NLL losses,
CrossEntropyLoss with class weights and ignore_index).

Everything is float64. Run from the repository root::

    python tools/make_nn_more_golden.py

Keys (plain arrays, ``allow_pickle=False``):

* ``layer_norm/<case>/{x, cot, weight, bias, out, grad_x, grad_weight, grad_bias}``: the output
  and the gradients of ``sum(out * cot)``.
* ``batch_norm/<case>/...``: a ``BatchNorm1d`` trained on three batches ``x0 x1 x2`` (the
  output and gradients of the first, ``state<k>/<name>`` the state dict after batch k), then
  the evaluation-mode output on ``x_eval``.
* ``mlp/...``: a ``Linear, BatchNorm1d, ReLU, Linear, LayerNorm`` network's torch state dict
  (``param/<name>``, buffers included), its training-mode output, the cross-entropy and every
  gradient, and its evaluation-mode output: the state dict must load into steepest's network.
* ``loss/<case>/{input, target, cot, loss, grad}``: each loss and the gradient of
  ``sum(loss * cot)`` with respect to the input (``cot`` is 1 for reduced losses).
"""

from __future__ import annotations

import pathlib

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "nn" / "norm_losses.npz"


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def layer_norm(rng: np.random.Generator, out: dict) -> None:
    for name, shape, normalized, affine in [("2d", (4, 6), (6,), True),
                                            ("3d", (3, 2, 5), (2, 5), True),
                                            ("plain", (5, 4), (4,), False)]:
        x = torch.tensor(rng.normal(size=shape) * 2 + 0.5, requires_grad=True)
        layer = nn.LayerNorm(normalized, elementwise_affine=affine)
        if affine:
            with torch.no_grad():
                layer.weight.copy_(torch.tensor(rng.normal(size=normalized)))
                layer.bias.copy_(torch.tensor(rng.normal(size=normalized)))
        cot = torch.tensor(rng.normal(size=shape))
        y = layer(x)
        (y * cot).sum().backward()
        key = f"layer_norm/{name}"
        out.update({f"{key}/x": _np(x), f"{key}/cot": _np(cot), f"{key}/out": _np(y),
                    f"{key}/grad_x": _np(x.grad)})
        if affine:
            out.update({f"{key}/weight": _np(layer.weight), f"{key}/bias": _np(layer.bias),
                        f"{key}/grad_weight": _np(layer.weight.grad),
                        f"{key}/grad_bias": _np(layer.bias.grad)})


def batch_norm(rng: np.random.Generator, out: dict) -> None:
    for name, shape, momentum in [("2d", (8, 4), 0.1), ("3d", (6, 4, 5), 0.3),
                                  ("cumulative", (5, 4), None)]:
        layer = nn.BatchNorm1d(4, momentum=momentum)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(rng.normal(size=4)))
            layer.bias.copy_(torch.tensor(rng.normal(size=4)))
        key = f"batch_norm/{name}"
        out[f"{key}/weight"], out[f"{key}/bias"] = _np(layer.weight), _np(layer.bias)
        for k in range(3):
            x = torch.tensor(rng.normal(size=shape) * 3 + 1.0, requires_grad=True)
            y = layer(x)
            if k == 0:
                cot = torch.tensor(rng.normal(size=shape))
                (y * cot).sum().backward()
                out.update({f"{key}/cot": _np(cot), f"{key}/out": _np(y),
                            f"{key}/grad_x": _np(x.grad),
                            f"{key}/grad_weight": _np(layer.weight.grad),
                            f"{key}/grad_bias": _np(layer.bias.grad)})
            out[f"{key}/x{k}"] = _np(x)
            for state_name, value in layer.state_dict().items():
                out[f"{key}/state{k}/{state_name}"] = _np(value)
        layer.eval()
        x = torch.tensor(rng.normal(size=shape) * 3 + 1.0)
        out[f"{key}/x_eval"], out[f"{key}/out_eval"] = _np(x), _np(layer(x))


def mlp(rng: np.random.Generator, out: dict) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3),
                          nn.LayerNorm(3))
    x = torch.tensor(rng.normal(size=(10, 5)))
    y = torch.tensor(rng.integers(0, 3, size=10))
    model(x)  # one training batch, so that the running statistics are not the initial ones
    for name, value in model.state_dict().items():
        out[f"mlp/param/{name}"] = _np(value)
    x2 = torch.tensor(rng.normal(size=(10, 5)), requires_grad=True)
    logits = model(x2)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out.update({"mlp/x": _np(x2), "mlp/y": y.numpy().copy(), "mlp/out": _np(logits),
                "mlp/loss": _np(loss), "mlp/input_grad": _np(x2.grad)})
    for name, p in model.named_parameters():
        out[f"mlp/grad/{name}"] = _np(p.grad)
    model.eval()
    x3 = torch.tensor(rng.normal(size=(4, 5)))
    out["mlp/x_eval"], out["mlp/out_eval"] = _np(x3), _np(model(x3))


def _loss(out: dict, name: str, fn, x: np.ndarray, target: np.ndarray, reduction: str,
          rng: np.random.Generator) -> None:
    xt = torch.tensor(x, requires_grad=True)
    value = fn(xt, torch.tensor(target), reduction)
    cot = torch.tensor(rng.normal(size=value.shape)) if reduction == "none" \
        else torch.ones(())
    (value * cot).sum().backward()
    key = f"loss/{name}-{reduction}"
    out.update({f"{key}/input": x, f"{key}/target": target, f"{key}/cot": _np(cot),
                f"{key}/loss": _np(value), f"{key}/grad": _np(xt.grad)})


def losses(rng: np.random.Generator, out: dict) -> None:
    x = rng.normal(size=(6, 4)) * 2
    y = rng.normal(size=(6, 4)) * 2
    classes = rng.integers(0, 4, size=6)
    ignored = classes.copy()
    ignored[[1, 4]] = -100
    probabilities = rng.dirichlet(np.ones(4), size=6)
    x3 = rng.normal(size=(3, 4, 5))
    classes3 = rng.integers(0, 4, size=(3, 5))
    weight = np.array([0.5, 2.0, 1.0, 3.0])
    log_probs = F.log_softmax(torch.tensor(x), dim=1).numpy()
    cases = {
        "l1": (lambda a, b, r: F.l1_loss(a, b, reduction=r), x, y),
        "smooth_l1": (lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r), x, y),
        "smooth_l1_beta0.5": (lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.5), x, y),
        "smooth_l1_beta0": (lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.0), x, y),
        "huber": (lambda a, b, r: F.huber_loss(a, b, reduction=r), x, y),
        "huber_delta2": (lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=2.0), x, y),
        "nll": (lambda a, b, r: F.nll_loss(a, b, reduction=r), log_probs, classes),
        "nll_weight": (lambda a, b, r: F.nll_loss(a, b, weight=torch.tensor(weight), reduction=r),
                       log_probs, classes),
        "nll_ignore": (lambda a, b, r: F.nll_loss(a, b, weight=torch.tensor(weight),
                                                  reduction=r), log_probs, ignored),
        "nll_3d": (lambda a, b, r: F.nll_loss(F.log_softmax(a, dim=1), b, reduction=r,
                                              weight=torch.tensor(weight)), x3, classes3),
        "ce_weight": (lambda a, b, r: F.cross_entropy(a, b, weight=torch.tensor(weight),
                                                      reduction=r), x, classes),
        "ce_weight_smoothing": (lambda a, b, r: F.cross_entropy(
            a, b, weight=torch.tensor(weight), reduction=r, label_smoothing=0.2), x, classes),
        "ce_ignore": (lambda a, b, r: F.cross_entropy(a, b, reduction=r), x, ignored),
        "ce_ignore_smoothing": (lambda a, b, r: F.cross_entropy(
            a, b, reduction=r, label_smoothing=0.1, weight=torch.tensor(weight)), x, ignored),
        "ce_weight_probabilities": (lambda a, b, r: F.cross_entropy(
            a, b, weight=torch.tensor(weight), reduction=r, label_smoothing=0.1), x,
            probabilities),
        "ce_weight_3d": (lambda a, b, r: F.cross_entropy(a, b, weight=torch.tensor(weight),
                                                         reduction=r), x3, classes3),
    }
    out["loss/weight"] = weight
    for name, (fn, inp, target) in cases.items():
        for reduction in ("mean", "sum", "none"):
            _loss(out, name, fn, inp, target, reduction, rng)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(1414)
    out: dict[str, np.ndarray] = {}
    layer_norm(rng, out)
    batch_norm(rng, out)
    mlp(rng, out)
    losses(rng, out)
    np.savez(OUT, **out)
    print(f"wrote {OUT} ({len(out)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
