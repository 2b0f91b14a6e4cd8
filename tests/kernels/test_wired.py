"""The optimizers with ``set_kernels("numba")``: the same iterates as the NumPy path, bitwise,
and still PyTorch's golden trajectories."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import kernels

pytest.importorskip("numba")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "optim"))
from _optim_cases import arrays, case, cases, make_optimizer, make_params, manifest, run  # noqa: E402
from test_optim_golden import assert_trajectory  # noqa: E402

WIRED = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")

#: Option combinations per optimizer (each run with a constant lr and with a schedule).
COMBINATIONS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"momentum": 0.8, "dampening": 0.3, "maximize": True}),
    ("SGD", {"weight_decay": 0.1, "maximize": True}),
    ("SGD", {"momentum": 0.9, "momentum_form": "textbook"}),  # stays NumPy
    ("Adam", {}),
    ("Adam", {"weight_decay": 0.01, "amsgrad": True}),
    ("Adam", {"maximize": True, "betas": (0.3, 0.5)}),
    ("Adam", {"weight_decay": 0.05, "decoupled_weight_decay": True}),
    ("AdamW", {"amsgrad": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"momentum": 0.5, "maximize": True, "alpha": 0.3}),
    ("Adagrad", {}),
    ("Adagrad", {"lr_decay": 0.01, "weight_decay": 0.1, "maximize": True}),
]


@pytest.fixture
def backend():
    """Switches the kernels; always back to NumPy afterwards."""
    try:
        yield kernels.set_kernels
    finally:
        kernels.set_kernels("numpy")


def _trajectory(name: str, options: dict, dtype, steps: int = 25, lr=0.01,
                grad_dtype=None, strided: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3000,)]  # small, and above the blocked/threaded thresholds
    targets = [rng.standard_normal(s).astype(dtype) for s in shapes]
    params = [st.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    opt = getattr(st.optim, name)(params, lr=lr, **options)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        for p, t in zip(params, targets, strict=True):
            grad = (p.data - t) * (1.0 + p.data * p.data)  # a non-quadratic gradient
            if options.get("maximize"):
                grad = -grad  # ascend on the negated objective: the iterates stay finite
            if grad_dtype is not None:
                grad = grad.astype(grad_dtype)
            if strided:
                grad = np.repeat(grad[..., None], 2, axis=-1)[..., 0]  # not contiguous
            p.grad = grad
        opt.step()
        out.append(np.concatenate([p.data.ravel() for p in params]))
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lr", [0.01, lambda t: 0.05 / (1 + t)], ids=["constant", "schedule"])
@pytest.mark.parametrize(("name", "options"), COMBINATIONS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(COMBINATIONS)])
def test_numba_steps_equal_numpy_steps_bitwise(backend, name, options, dtype, lr):
    backend("numpy")
    expected = _trajectory(name, options, dtype, lr=lr)
    backend("numba")
    actual = _trajectory(name, options, dtype, lr=lr)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype and np.isfinite(e).all()
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize(("name", "options"), [COMBINATIONS[2], COMBINATIONS[7],
                                               COMBINATIONS[12], COMBINATIONS[15]])
@pytest.mark.parametrize("kind", ["float32-grad", "strided-grad"])
def test_the_fallbacks_are_the_numpy_results(backend, name, options, kind):
    # A float32 gradient on float64 parameters, or a non-contiguous one: NumPy, silently.
    extra = {"grad_dtype": np.float32} if kind == "float32-grad" else {"strided": True}
    backend("numpy")
    expected = _trajectory(name, options, np.float64, steps=5, **extra)
    backend("numba")
    actual = _trajectory(name, options, np.float64, steps=5, **extra)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, e)


def test_the_comparison_can_fail(backend):
    # Guard against a vacuous test: a different option must change the trajectory.
    backend("numba")
    a = _trajectory("Adam", {}, np.float64, steps=3)
    b = _trajectory("Adam", {"amsgrad": True, "betas": (0.9, 0.9)}, np.float64, steps=3)
    assert not np.array_equal(a[-1], b[-1])


@pytest.mark.parametrize("name", [c["name"] for c in cases() if c["optimizer"] in WIRED])
def test_golden_trajectories_hold_with_the_numba_kernels(backend, name):
    backend("numba")
    spec = case(name)
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    trajectory, _ = run(spec, params, opt, manifest()["steps"])
    assert_trajectory(trajectory, arrays()[f"{name}/params"])
    assert kernels.current() == "numba"


def test_the_backend_is_numpy_again_after_each_test():
    assert kernels.current() == "numpy"


@pytest.mark.parametrize(("name", "options", "kernel"), [
    ("SGD", {}, "sgd_"), ("SGD", {"momentum": 0.9}, "sgd_"), ("SGD", {"maximize": True}, "sgd_"),
    ("Adam", {}, "adam_"), ("AdamW", {}, "adam_"), ("RMSprop", {}, "rmsprop_"),
    ("Adagrad", {}, "adagrad_")])
def test_each_update_goes_through_its_kernel(backend, monkeypatch, name, options, kernel):
    # Without this the bitwise tests would also pass with nothing wired.
    backend("numba")
    module = kernels.get_kernels()
    calls = []
    original = getattr(module, kernel)

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, kernel, spy)
    _trajectory(name, options, np.float64, steps=2)
    assert calls == [(7, 5), (5,), (3000,)] * 2


def test_textbook_momentum_stays_numpy(backend, monkeypatch):
    backend("numba")
    module = kernels.get_kernels()
    monkeypatch.setattr(module, "sgd_", lambda *a, **k: pytest.fail("sgd_ called"))
    _trajectory("SGD", {"momentum": 0.9, "momentum_form": "textbook"}, np.float64, steps=2)


def _mlp_grads(activation: str, dtype, batch: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    sizes = [(20, 48), (48, 48), (48, 3)]
    weights = [st.tensor(rng.standard_normal((o, i)).astype(dtype) / i ** 0.5, requires_grad=True)
               for i, o in sizes]
    biases = [st.tensor(rng.standard_normal(o).astype(dtype), requires_grad=True)
              for _, o in sizes]
    h = st.tensor(rng.standard_normal((batch, 20)).astype(dtype))
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = st.nn.functional.linear(h, w, b)
        if k < len(sizes) - 1:
            h = getattr(st.nn.functional, activation)(h)
    (h * h).mean().backward()
    return [p.grad.copy() for p in weights + biases]


@pytest.mark.parametrize("batch", [64, 3000])  # 3000 x 48: the threaded kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_backward_through_relu_tanh_and_bias_is_bitwise_the_numpy_one(backend, activation,
                                                                      dtype, batch):
    backend("numpy")
    expected = _mlp_grads(activation, dtype, batch)
    backend("numba")
    actual = _mlp_grads(activation, dtype, batch)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype and np.isfinite(e).all()
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize(("activation", "kernel"), [("relu", "relu_backward"),
                                                    ("tanh", "tanh_backward"),
                                                    ("relu", "bias_grad")])
def test_the_derivative_rules_go_through_their_kernels(backend, monkeypatch, activation, kernel):
    backend("numba")
    module = kernels.get_kernels()
    calls = []
    original = getattr(module, kernel)

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, kernel, spy)
    _mlp_grads(activation, np.float64)
    assert len(calls) == (3 if kernel == "bias_grad" else 2)
