"""steepest.nn against PyTorch: state dicts taken from torch models load and give the same
outputs, losses and gradients (golden values from tools/make_nn_golden.py; no torch here)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.nn import functional as F

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "nn"
TOL = dict(rtol=1e-10, atol=1e-10)


def _golden(name: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _group(data: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix):]: value for key, value in data.items() if key.startswith(prefix)}


ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "softmax": lambda: nn.Softmax(dim=1),
}


def _run(model: nn.Module, x: np.ndarray, y: np.ndarray):
    xt = st.tensor(x, requires_grad=True)
    logits = model(xt)
    loss = nn.CrossEntropyLoss()(logits, y)
    loss.backward()
    return xt, logits, loss


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_torch_state_dict_gives_torch_outputs_losses_and_gradients(activation):
    data = _golden("mlp_activations")
    make = ACTIVATIONS[activation]
    model = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), make(),
                          nn.Linear(8, 8, dtype=np.float64), make(),
                          nn.Linear(8, 3, dtype=np.float64))
    state = _group(data, f"{activation}/param/")
    assert model.load_state_dict(state) == ([], [])
    xt, logits, loss = _run(model, data[f"{activation}/x"], data[f"{activation}/y"])
    np.testing.assert_allclose(logits.data, data[f"{activation}/output"], **TOL)
    np.testing.assert_allclose(loss.item(), data[f"{activation}/loss"], **TOL)
    np.testing.assert_allclose(xt.grad, data[f"{activation}/input_grad"], **TOL)
    expected_grads = _group(data, f"{activation}/grad/")
    assert [name for name, _ in model.named_parameters()] == list(expected_grads)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, expected_grads[name], **TOL, err_msg=name)


def test_64_128_10_relu_network_matches_torch_in_float64():
    data = _golden("mlp_64_128_10")
    model = nn.Sequential(nn.Linear(64, 128, dtype=np.float64), nn.ReLU(),
                          nn.Linear(128, 10, dtype=np.float64))
    model.load_state_dict(_group(data, "float32/param/"))  # float32 arrays widened on load
    assert model[0].weight.dtype == np.float64
    xt, logits, loss = _run(model, data["float32/x"].astype(np.float64), data["float64/y"])
    np.testing.assert_allclose(logits.data, data["float64/output"], **TOL)
    np.testing.assert_allclose(loss.item(), data["float64/loss"], **TOL)
    np.testing.assert_allclose(xt.grad, data["float64/input_grad"], **TOL)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, data[f"float64/grad/{name}"], **TOL, err_msg=name)


def test_64_128_10_relu_network_matches_torch_in_float32():
    data = _golden("mlp_64_128_10")
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    state = _group(data, "float32/param/")
    model.load_state_dict(state)
    for name, value in model.state_dict().items():  # float32 -> float32 is an exact copy
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, state[name])
    logits = model(data["float32/x"])
    loss = nn.CrossEntropyLoss()(logits, data["float64/y"])
    assert logits.dtype == np.float32 and loss.dtype == np.float32
    np.testing.assert_allclose(logits.data, data["float32/output"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loss.item(), data["float32/loss"], rtol=1e-5)


# --------------------------------------------------------------------------- losses

def _check_loss(data, key, fn, input, target):
    it = st.tensor(input, requires_grad=True)
    loss = fn(it, target)
    expected = data[f"{key}/loss"]
    np.testing.assert_allclose(loss.data, expected, **TOL, err_msg=key)
    assert loss.shape == expected.shape
    (loss * data[f"{key}/cotangent"]).sum().backward()
    np.testing.assert_allclose(it.grad, data[f"{key}/input_grad"], **TOL, err_msg=key)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction):
    data = _golden("losses")
    for fn in (nn.MSELoss(reduction=reduction), lambda a, b: F.mse_loss(a, b, reduction=reduction)):
        _check_loss(data, f"mse/{reduction}", fn, data["mse/input"], data["mse/target"])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("targets", ["classes", "probabilities"])
def test_cross_entropy_matches_torch(reduction, smoothing, targets):
    data = _golden("losses")
    key = f"ce/{targets}/{reduction}/{smoothing}"
    target = data[f"ce/{targets}"]
    module = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    _check_loss(data, key, module, data["ce/logits"], target)
    _check_loss(data, key, module, data["ce/logits"], st.tensor(target))  # a Tensor target
    _check_loss(data, key, lambda a, b: F.cross_entropy(a, b, reduction=reduction,
                                                        label_smoothing=smoothing),
                data["ce/logits"], target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_class_axis_1_matches_torch(reduction, smoothing):
    data = _golden("losses")
    module = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    _check_loss(data, f"ce3/{reduction}/{smoothing}", module, data["ce3/logits"],
                data["ce3/classes"])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_torch(reduction):
    data = _golden("losses")
    logits, target = data["bce/logits"], data["bce/target"]
    _check_loss(data, f"bce/{reduction}", nn.BCEWithLogitsLoss(reduction=reduction), logits, target)
    weighted = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=data["bce/pos_weight"])
    _check_loss(data, f"bce_pos_weight/{reduction}", weighted, logits, target)
    _check_loss(data, f"bce_pos_weight/{reduction}",
                lambda a, b: F.binary_cross_entropy_with_logits(
                    a, b, reduction=reduction, pos_weight=st.tensor(data["bce/pos_weight"])),
                logits, target)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_on_a_wide_grid(approximate):
    data = _golden("gelu")
    x = st.tensor(data["x"], requires_grad=True)
    y = nn.GELU(approximate=approximate)(x)
    y.sum().backward()
    np.testing.assert_allclose(y.data, data[f"{approximate}/value"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, data[f"{approximate}/derivative"], rtol=1e-10, atol=1e-12)
