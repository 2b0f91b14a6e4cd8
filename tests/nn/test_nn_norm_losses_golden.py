"""LayerNorm, BatchNorm1d and the issue-14 losses against PyTorch 2.13 (tests/golden/nn/
norm_losses.npz, made by tools/make_nn_more_golden.py): outputs and gradients to 1e-10 in
float64, running statistics, and torch state dicts (buffers included) loading."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.nn import functional as F

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "nn" / "norm_losses.npz"
RTOL, ATOL = 1e-10, 1e-12


@cache
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def _grad_of_weighted_sum(out: st.Tensor, cot: np.ndarray) -> None:
    (out * cot).sum().backward()


@pytest.mark.parametrize("name", ["2d", "3d", "plain"])
def test_layer_norm_matches_pytorch(name):
    g = {k.split("/")[-1]: v for k, v in golden().items() if k.startswith(f"layer_norm/{name}/")}
    shape = g["x"].shape[1:] if name != "3d" else g["x"].shape[1:]
    affine = "weight" in g
    layer = nn.LayerNorm(shape, elementwise_affine=affine, dtype=np.float64)
    if affine:
        layer.load_state_dict({"weight": g["weight"], "bias": g["bias"]})
    x = st.tensor(g["x"], requires_grad=True)
    out = layer(x)
    close(out.data, g["out"])
    _grad_of_weighted_sum(out, g["cot"])
    close(x.grad, g["grad_x"])
    if affine:
        close(layer.weight.grad, g["grad_weight"])
        close(layer.bias.grad, g["grad_bias"])
        functional = F.layer_norm(g["x"], shape, g["weight"], g["bias"])
        close(functional.data, g["out"])


@pytest.mark.parametrize("name", ["2d", "3d", "cumulative"])
def test_batch_norm_matches_pytorch_in_training_and_evaluation(name):
    key = f"batch_norm/{name}/"
    g = {k[len(key):]: v for k, v in golden().items() if k.startswith(key)}
    momentum = None if name == "cumulative" else (0.1 if name == "2d" else 0.3)
    layer = nn.BatchNorm1d(4, momentum=momentum, dtype=np.float64)
    layer.load_state_dict({"weight": g["weight"], "bias": g["bias"]}, strict=False)
    for k in range(3):
        x = st.tensor(g[f"x{k}"], requires_grad=True)
        out = layer(x)
        if k == 0:
            close(out.data, g["out"])
            _grad_of_weighted_sum(out, g["cot"])
            close(x.grad, g["grad_x"])
            close(layer.weight.grad, g["grad_weight"])
            close(layer.bias.grad, g["grad_bias"])
        state = layer.state_dict()
        for state_name in ("running_mean", "running_var", "num_batches_tracked", "weight", "bias"):
            close(state[state_name], g[f"state{k}/{state_name}"])
        assert state["num_batches_tracked"].dtype == np.int64
    layer.eval()
    before = layer.state_dict()
    close(layer(g["x_eval"]).data, g["out_eval"])
    for state_name, value in layer.state_dict().items():  # evaluation changes nothing
        np.testing.assert_array_equal(value, before[state_name])


def _steepest_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 8, dtype=np.float64), nn.BatchNorm1d(8, dtype=np.float64),
                         nn.ReLU(), nn.Linear(8, 3, dtype=np.float64),
                         nn.LayerNorm(3, dtype=np.float64))


def test_a_torch_state_dict_with_buffers_loads_and_the_network_matches():
    g = golden()
    torch_state = {k[len("mlp/param/"):]: v for k, v in g.items() if k.startswith("mlp/param/")}
    model = _steepest_mlp()
    assert list(model.state_dict()) == list(torch_state)  # torch's names, in torch's order
    model.load_state_dict(torch_state)
    x = st.tensor(g["mlp/x"], requires_grad=True)
    logits = model(x)
    close(logits.data, g["mlp/out"])
    loss = F.cross_entropy(logits, g["mlp/y"])
    close(loss.item(), g["mlp/loss"])
    loss.backward()
    close(x.grad, g["mlp/input_grad"])
    for name, p in model.named_parameters():
        close(p.grad, g[f"mlp/grad/{name}"])
    model.eval()
    close(model(g["mlp/x_eval"]).data, g["mlp/out_eval"])


LOSSES = {
    "l1": lambda a, b, r: F.l1_loss(a, b, r),
    "smooth_l1": lambda a, b, r: F.smooth_l1_loss(a, b, r),
    "smooth_l1_beta0.5": lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.5),
    "smooth_l1_beta0": lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.0),
    "huber": lambda a, b, r: F.huber_loss(a, b, r),
    "huber_delta2": lambda a, b, r: F.huber_loss(a, b, r, delta=2.0),
    "nll": lambda a, b, r: F.nll_loss(a, b, reduction=r),
    "nll_weight": lambda a, b, r: F.nll_loss(a, b, weight=golden()["loss/weight"], reduction=r),
    "nll_ignore": lambda a, b, r: F.nll_loss(a, b, weight=golden()["loss/weight"], reduction=r),
    "nll_3d": lambda a, b, r: F.nll_loss(F.log_softmax(a, dim=1), b, reduction=r,
                                         weight=golden()["loss/weight"]),
    "ce_weight": lambda a, b, r: F.cross_entropy(a, b, r, weight=golden()["loss/weight"]),
    "ce_weight_smoothing": lambda a, b, r: F.cross_entropy(a, b, r, 0.2,
                                                           weight=golden()["loss/weight"]),
    "ce_ignore": lambda a, b, r: F.cross_entropy(a, b, r),
    "ce_ignore_smoothing": lambda a, b, r: F.cross_entropy(a, b, r, 0.1,
                                                           weight=golden()["loss/weight"]),
    "ce_weight_probabilities": lambda a, b, r: F.cross_entropy(a, b, r, 0.1,
                                                               weight=golden()["loss/weight"]),
    "ce_weight_3d": lambda a, b, r: F.cross_entropy(a, b, r, weight=golden()["loss/weight"]),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_and_its_gradient_match_pytorch(name, reduction):
    key = f"loss/{name}-{reduction}/"
    g = {k[len(key):]: v for k, v in golden().items() if k.startswith(key)}
    x = st.tensor(g["input"], requires_grad=True)
    value = LOSSES[name](x, g["target"], reduction)
    close(value.data, g["loss"])
    (value * g["cot"]).sum().backward()
    close(x.grad, g["grad"])


@pytest.mark.parametrize("module, function", [
    (nn.L1Loss, "l1"), (nn.SmoothL1Loss, "smooth_l1"), (nn.HuberLoss, "huber"),
    (nn.NLLLoss, "nll")])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_are_their_functions(module, function, reduction):
    g = golden()
    key = f"loss/{function}-{reduction}/"
    close(module(reduction=reduction)(g[key + "input"], g[key + "target"]).data, g[key + "loss"])


def test_cross_entropy_module_takes_weight_and_ignore_index():
    g = golden()
    key = "loss/ce_ignore_smoothing-mean/"
    loss = nn.CrossEntropyLoss(label_smoothing=0.1, weight=g["loss/weight"])
    close(loss(g[key + "input"], g[key + "target"]).item(), g[key + "loss"])
    key = "loss/ce_ignore-sum/"
    close(nn.CrossEntropyLoss(reduction="sum")(g[key + "input"], g[key + "target"]).item(),
          g[key + "loss"])
