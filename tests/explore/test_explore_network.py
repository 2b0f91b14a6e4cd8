"""The network view's trace of one example: right by finite differences, and equal to
nn.backprop_trace where that exists."""

from __future__ import annotations

import numpy as np
import pytest

from steepest import nn
from steepest.autodiff.tensor import Tensor, no_grad
from steepest.explore import network
from steepest.explore.params import validate


def _session(**settings) -> network.TrainingSession:
    session = network.TrainingSession(validate(network.SESSION_SPEC, settings))
    session.train(10)
    return session


def test_the_engine_trace_matches_finite_differences() -> None:
    s = _session(hidden=[5, 4], activation="tanh")
    x, y = s.X[3:4], s.y[3:4]
    layers, loss, _ = s._engine_trace(x, y)

    def example_loss() -> float:
        with no_grad():
            return s.loss_fn(s.model(Tensor(x)).reshape(-1), Tensor(y)).item()
    assert loss == pytest.approx(example_loss(), rel=1e-12)
    linears = [layer for layer in s.model if isinstance(layer, nn.Linear)]
    h = 1e-6
    for trace, linear in zip(layers, linears, strict=True):
        W = linear.weight.data
        numeric = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            keep = W[idx]
            W[idx] = keep + h
            up = example_loss()
            W[idx] = keep - h
            down = example_loss()
            W[idx] = keep
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(trace["dW"], numeric, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(trace["dW"], np.outer(trace["delta"], trace["a_in"]),
                                   rtol=1e-10, atol=1e-14)
    assert all(p.grad is None or not np.any(p.grad) for p in s.model.parameters())


def test_a_step_traces_the_weights_before_the_update() -> None:
    s = _session()
    before = [p.data.copy() for p in s.model.parameters()]
    frame = s.step()
    trace = frame["trace"]
    fresh = network.TrainingSession(s.settings)  # same seed: rebuild and replay
    fresh.train(10)
    assert all(np.array_equal(a.data, b) for a, b in zip(fresh.model.parameters(), before,
                                                          strict=True))
    x = fresh.X[trace["index"]:trace["index"] + 1]
    y = fresh.y[trace["index"]:trace["index"] + 1]
    layers, loss, _ = fresh._engine_trace(x, y)
    assert loss == pytest.approx(trace["loss"], rel=1e-12)
    assert frame["updates"] == 11


@pytest.mark.skipif(not hasattr(nn, "backprop_trace"), reason="nn.backprop_trace not merged yet")
def test_backprop_trace_and_the_engine_agree() -> None:
    s = _session(hidden=[6, 3], activation="relu")
    x, y = s.X[:1], s.y[:1]
    engine, loss_e, _ = s._engine_trace(x, y)
    traced, loss_t, source = network._from_backprop_trace(nn.backprop_trace, s.model, s.loss_fn,
                                                          x, y)
    assert source == "steepest.nn.backprop_trace"
    assert loss_t == pytest.approx(loss_e, rel=1e-10)
    for a, b in zip(engine, traced, strict=True):
        for key in ("a_in", "z", "a", "delta", "dW", "db"):
            np.testing.assert_allclose(np.asarray(b[key]), np.asarray(a[key]), rtol=1e-9,
                                       atol=1e-12)


def test_inactive_units_are_those_no_gradient_reaches() -> None:
    s = _session(hidden=[8, 6], activation="relu")
    s.model[0].bias.data[[1, 5]] = -100.0  # never positive on the data: two dead ReLUs
    inactive = s.inactive_units()
    assert {1, 5} <= set(inactive[0]) and len(inactive) == 2
    frame = s.frame([])
    assert frame["inactive"] == inactive and frame["widths"] == [8, 6]
    # what "inactive" promises: their incoming weights get no gradient from any minibatch
    loss = s._gradients(s.X, s.y)
    assert np.isfinite(loss.item())
    weight_grad = s.model[0].weight.grad
    assert not np.any(weight_grad[inactive[0]]) and not np.any(s.model[0].bias.grad[inactive[0]])
    live = sorted(set(range(8)) - set(inactive[0]))
    assert np.all(np.any(weight_grad[live] != 0, axis=1))  # and the others do
    assert all(p.grad is None or p.grad.shape == p.shape for p in s.model.parameters())


def test_saturated_tanh_units_are_inactive_and_leaky_relus_never() -> None:
    s = _session(hidden=[4], activation="tanh")
    assert s.inactive_units() == [[]]
    s.model[0].bias.data[2] = 50.0  # tanh'(z) < 1e-40 on every point
    assert s.inactive_units() == [[2]]
    leaky = _session(hidden=[4], activation="leaky_relu")
    leaky.model[0].bias.data[:] = -100.0  # slope 0.01 everywhere: small, but not below 0.01
    assert leaky.inactive_units() == [[]]
    linear = _session(hidden=[3], activation="identity")  # no activation layers at all
    assert linear.inactive_units() == [[]]
    assert _session(hidden=[], activation="relu").inactive_units() == []
