"""nn.backprop_trace: the written-out recursion against the autodiff engine, in float64, for
random MLPs and every activation; and the errors it gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn

ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.1), "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "gelu_tanh": lambda: nn.GELU("tanh"),
    "softmax": nn.Softmax, "log_softmax": nn.LogSoftmax, "identity": nn.Identity,
}
LOSSES = {
    "mse": lambda: nn.MSELoss(), "mse_sum": lambda: nn.MSELoss(reduction="sum"),
    "ce": lambda: nn.CrossEntropyLoss(), "ce_smooth": lambda: nn.CrossEntropyLoss(label_smoothing=0.2),
    # class weights and ignore_index: the trace used to leave both out (its loss and every
    # gradient differed from the engine's and torch's)
    "ce_weight": lambda: nn.CrossEntropyLoss(weight=np.array([0.3, 2.5])),
    "ce_ignore": lambda: nn.CrossEntropyLoss(ignore_index=1),
    "ce_all": lambda: nn.CrossEntropyLoss(weight=np.array([1.5, 0.2]), ignore_index=0,
                                          label_smoothing=0.3),
    "ce_weight_sum": lambda: nn.CrossEntropyLoss(weight=np.array([0.3, 2.5]), reduction="sum",
                                                 label_smoothing=0.1),
    "ceprob_weight": lambda: nn.CrossEntropyLoss(weight=np.array([0.3, 2.5]),
                                                 label_smoothing=0.2),
    "bce": lambda: nn.BCEWithLogitsLoss(),
    "bce_pos": lambda: nn.BCEWithLogitsLoss(pos_weight=np.array([2.0, 0.5])),
}


def build(widths, activation, final_activation, seed):
    st.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b, bias=bool((seed + k) % 3), dtype=np.float64))
        if k < len(widths) - 2 or final_activation:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def targets(loss_name, rng, n, n_out):
    if loss_name.startswith("ceprob"):
        return rng.dirichlet(np.ones(n_out), n)
    if loss_name.startswith("ce"):
        return rng.integers(0, n_out, n)
    if loss_name.startswith("bce"):
        return (rng.random((n, n_out)) > 0.5).astype(np.float64)
    return rng.standard_normal((n, n_out))


def engine(model, loss, X, y):
    """The engine's gradients, with every Linear output's gradient (delta) retained."""
    h = st.tensor(X)
    outs = []
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear):
            h.retain_grad()
            outs.append(h)
    value = loss(h, y)
    value.backward()
    return value.item(), outs


@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 10_000), activation=hs.sampled_from(sorted(ACTIVATIONS)),
       loss_name=hs.sampled_from(sorted(LOSSES)), hidden=hs.lists(hs.integers(1, 5), max_size=3),
       n=hs.integers(1, 6), final=hs.booleans())
def test_trace_equals_the_engine(seed, activation, loss_name, hidden, n, final):
    rng = np.random.default_rng(seed)
    n_out = 2
    widths = [3, *hidden, n_out]
    model = build(widths, activation, final and not loss_name.startswith("ce"), seed)
    X = rng.standard_normal((n, 3)) * 2
    y = targets(loss_name, rng, n, n_out)
    loss = LOSSES[loss_name]()
    trace = nn.backprop_trace(model, loss, X, y)
    value, outs = engine(model, loss, X, y)
    if np.isnan(value):  # every target ignored: NaN, as PyTorch's mean, and zero gradients
        assert np.isnan(trace.loss)
    else:
        assert trace.loss == pytest.approx(value, rel=1e-12, abs=1e-12)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(trace.layers) == len(linears)
    for layer, module, out in zip(trace.layers, linears, outs, strict=True):
        np.testing.assert_allclose(layer.z, out.data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.delta, out.grad, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.dW, module.weight.grad, rtol=1e-9, atol=1e-12)
        if module.bias is None:
            assert layer.db is None
        else:
            np.testing.assert_allclose(layer.db, module.bias.grad, rtol=1e-9, atol=1e-12)
    for first, second in zip(trace.layers[:-1], trace.layers[1:], strict=True):
        assert second.a_in is first.a
    np.testing.assert_array_equal(trace.layers[0].a_in, X)


def test_dW_is_delta_T_a_in_and_step_lowers_the_loss():
    st.manual_seed(0)
    model = nn.mlp(2, [3, 2], 1, "tanh", dtype=np.float64)
    X = np.random.default_rng(0).standard_normal((8, 2))
    y = np.sin(X[:, :1])
    trace = nn.backprop_trace(model, nn.MSELoss(), X, y)
    for layer in trace.layers:
        np.testing.assert_array_equal(layer.dW, layer.delta.T @ layer.a_in)
        np.testing.assert_array_equal(layer.db, layer.delta.sum(axis=0))
    after = trace.step(0.1)
    assert after.loss < trace.loss
    np.testing.assert_allclose(after.layers[0].W, trace.layers[0].W - 0.1 * trace.layers[0].dW)
    assert model[0].weight.data is not after.layers[0].W  # the model is untouched
    np.testing.assert_array_equal(model[0].weight.data, trace.layers[0].W)
    # first order: L(W - a dW) ~ L - a |dW|^2 for a small step
    squared = sum(np.sum(layer.dW ** 2) + np.sum(layer.db ** 2) for layer in trace.layers)
    a = 1e-6
    assert (trace.loss - trace.step(a).loss) / a == pytest.approx(squared, rel=1e-4)


def test_text_names_every_step():
    st.manual_seed(0)
    model = nn.mlp(2, [3], 2, "relu", dtype=np.float64)
    trace = nn.backprop_trace(model, nn.CrossEntropyLoss(), np.ones((3, 2)), np.array([0, 1, 1]))
    text = trace.text()
    for needle in ("z1 = a0 @ W1.T + b1", "a1 = relu(z1)", "loss L = CrossEntropyLoss(mean)",
                   "delta2 = dL/da2", "delta1 = (delta2 @ W2) * f'(z1)", "dW1 = delta1.T @ a0",
                   "db2 = delta2.sum(axis=0)"):
        assert needle in text
    assert f"{trace.loss:.6g}" in text


def test_float32_model_is_traced_in_float64():
    st.manual_seed(1)
    model = nn.mlp(3, [4], 2, "sigmoid")
    X = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    trace = nn.backprop_trace(model, nn.MSELoss(), X, np.zeros((5, 2), np.float32))
    assert trace.layers[0].dW.dtype == np.float64
    value, _ = engine(model, nn.MSELoss(), X, np.zeros((5, 2), np.float32))
    np.testing.assert_allclose(trace.layers[0].dW, model[0].weight.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model, message", [
    (lambda: nn.Linear(2, 1), "must be an nn.Sequential"),
    (lambda: nn.Sequential(nn.Tanh(), nn.Linear(2, 1)), "before the first Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)), "model.eval()"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Flatten(), nn.Linear(3, 1)), "is a Flatten"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), "takes 4 inputs"),
    (lambda: nn.Sequential(nn.ReLU()), "before the first Linear"),
])
def test_refuses_models_it_does_not_cover(model, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        nn.backprop_trace(model(), nn.MSELoss(), np.ones((2, 2)), np.ones((2, 1)))


def test_dropout_in_eval_mode_is_skipped():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.Dropout(0.5),
                          nn.Linear(3, 1, dtype=np.float64))
    model.eval()
    assert len(nn.backprop_trace(model, nn.MSELoss(), np.ones((2, 2)), np.ones((2, 1))).layers) == 2


@pytest.mark.parametrize("X, y, message", [
    (np.ones((3, 2)), np.ones((2, 1)), "X has 3 rows but y has 2 rows"),
    (np.ones((3, 5)), np.ones((3, 1)), "X has 5 features"),
    (np.ones(2), np.ones((1, 1)), "X must be a 2-D"),
    (np.array([[1.0, np.nan]]), np.ones((1, 1)), "X has 1 non-finite"),
    (np.ones((1, 2)), np.array([[np.inf]]), "y has 1 non-finite"),
    (np.ones((2, 2)), np.ones((2,)), "y has shape \\(2,\\) but the output has shape \\(2, 1\\)"),
])
def test_bad_data(X, y, message):
    model = nn.mlp(2, [3], 1, "tanh", dtype=np.float64)
    with pytest.raises(ValueError, match=message):
        nn.backprop_trace(model, nn.MSELoss(), X, y)


def test_bad_loss_and_targets():
    model = nn.mlp(2, [3], 2, dtype=np.float64)
    with pytest.raises(TypeError, match="loss must be"):
        nn.backprop_trace(model, lambda a, b: a, np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.backprop_trace(model, nn.MSELoss(reduction="none"), np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"class targets must lie in \[0, 2\)"):
        nn.backprop_trace(model, nn.CrossEntropyLoss(), np.ones((2, 2)), np.array([0, 2]))
    with pytest.raises(ValueError, match="lr must be"):
        nn.backprop_trace(model, nn.MSELoss(), np.ones((2, 2)), np.ones((2, 2))).step(-1.0)


@pytest.mark.parametrize("loss_name", ["ce_weight", "ce_ignore", "ce_all", "ce_weight_sum",
                                       "ceprob_weight"])
def test_weighted_and_ignoring_cross_entropy_is_traced_as_the_engine_computes_it(loss_name):
    st.manual_seed(1)
    model = nn.mlp(3, [4], 2, "tanh", dtype=np.float64)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 3))
    y = np.array([0, 1, 1, 0, 1, 0]) if not loss_name.startswith("ceprob") else \
        rng.dirichlet(np.ones(2), 6)
    loss = LOSSES[loss_name]()
    trace = nn.backprop_trace(model, loss, X, y)
    value, outs = engine(model, loss, X, y)
    assert trace.loss == pytest.approx(value, rel=1e-12)
    for layer, out in zip(trace.layers, outs, strict=True):
        np.testing.assert_allclose(layer.delta, out.grad, rtol=1e-10, atol=1e-14)


def test_a_batch_whose_targets_are_all_ignored_traces_nan_and_no_gradient():
    st.manual_seed(1)
    model = nn.mlp(3, [4], 2, "relu", dtype=np.float64)
    trace = nn.backprop_trace(model, nn.CrossEntropyLoss(ignore_index=1),
                              np.ones((3, 3)), np.array([1, 1, 1]))
    assert np.isnan(trace.loss)
    assert all(not np.any(layer.dW) for layer in trace.layers)


def test_text_of_a_layer_without_bias_has_no_bias_term():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1))
    text = nn.backprop_trace(model, nn.MSELoss(), np.ones((2, 2)), np.zeros((2, 1))).text()
    assert "z1 = a0 @ W1.T   W1: 3x2" in text and "b1" not in text and "db1" not in text
    assert "z2 = a1 @ W2.T + b2" in text and "db2 = delta2.sum(axis=0)" in text


def test_text_of_stacked_activations_names_each_factors_argument():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1),
                          nn.ReLU(), nn.Sigmoid(), nn.Tanh())
    trace = nn.backprop_trace(model, nn.MSELoss(), np.ones((2, 2)), np.zeros((2, 1)))
    text = trace.text()
    assert "a1 = tanh(u1), u1 = relu(z1)" in text
    assert ("f'(z) = tanh'(u) · relu'(z), u = relu(z); relu'(z) = 1 if z > 0 else 0; "
            "tanh'(u) = 1 − tanh(u)²") in text  # tanh's factor is at relu's output, not z
    assert "a2 = tanh(u2_2), u2_1 = relu(z2), u2_2 = sigmoid(u2_1)" in text
    assert "sigmoid'(u1) = σ(u1) (1 − σ(u1)); tanh'(u2) = 1 − tanh(u2)²" in text
    # the numbers are the chain the text describes
    layer = trace.layers[0]
    u = np.maximum(layer.z, 0)
    upstream = trace.layers[1].delta @ trace.layers[1].W
    np.testing.assert_allclose(layer.delta, upstream * (1 - np.tanh(u) ** 2) * (layer.z > 0))
