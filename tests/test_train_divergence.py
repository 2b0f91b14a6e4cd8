"""fit never returns a diverged run as a success (issue 10, item 2)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

import steepest as st
from steepest import nn, optim, train
from steepest.train.divergence import DivergenceWatch, estimate_curvature


def _regression(n=32, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, -2.0, 0.5])[:d] + 0.1 * rng.normal(size=n)
    return X, y


def _true_curvature(X):
    """Largest eigenvalue of the Hessian of mean((Xw + b - y)^2) over (w, b)."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return float(np.linalg.eigvalsh(2.0 * A.T @ A / X.shape[0]).max())


def _linear64(d):
    st.manual_seed(0)
    model = nn.Linear(d, 1)
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    return model


def test_growth_of_a_finite_loss_raises_with_the_lr_and_a_stable_suggestion():
    X, y = _regression()
    model = _linear64(3)
    L = _true_curvature(X)
    lr = 20.0 / L  # far beyond 2/L: the loss grows geometrically, staying finite for a while
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), (X, y),
                  epochs=200, batch_size=8, shuffle=False, progress=False)
    error = info.value
    assert error.reason == "growth"
    assert error.epoch <= 2 and 1 <= error.batch <= 4
    assert error.lr == pytest.approx(lr)
    assert error.loss > 1e6 * max(error.start_loss, 1.0)
    rows = slice(8 * (error.batch - 1), 8 * error.batch)
    L_batch = _true_curvature(X[rows])
    assert error.curvature == pytest.approx(L_batch, rel=0.05)
    assert error.suggested_lr < 2.0 / L_batch
    assert f"{lr:.4g}" in str(error) and f"epoch {error.epoch}, batch {error.batch}" in str(error)
    # the parameters were restored after the curvature probes
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


def test_the_suggested_lr_trains():
    X, y = _regression()
    model = _linear64(3)
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=5.0 / _true_curvature(X)),
                  (X, y), epochs=200, batch_size=32, shuffle=False, progress=False)
    model = _linear64(3)
    history = train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(),
                                                        lr=info.value.suggested_lr),
                        (X, y), epochs=200, batch_size=32, shuffle=False, progress=False)
    assert history["loss"][-1] < 0.05


def test_a_parameter_overflowing_on_the_last_step_is_refused():
    X, y = _regression()
    model = _linear64(3)
    with pytest.raises(train.NonFiniteError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e308), (X, y),
                  epochs=1, batch_size=32, progress=False)
    assert info.value.reason == "nonfinite"
    assert info.value.tensor.startswith("parameter")
    assert (info.value.epoch, info.value.batch) == (1, 1)
    assert info.value.lr == 1e308
    assert isinstance(info.value, train.DivergenceError)


def test_loss_rising_with_the_gradient_norm_for_several_epochs_raises():
    X, y = _regression()
    model = _linear64(3)
    L = _true_curvature(X)
    lr = 2.2 / L  # |1 - lr L| = 1.2: slow, steady divergence along the sharpest direction
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), (X, y),
                  epochs=100, batch_size=32, shuffle=False, progress=False)
    assert info.value.reason == "rising"
    assert info.value.loss < 1e6
    assert info.value.suggested_lr < 2.0 / L


def test_divergence_none_turns_the_growth_tests_off():
    X, y = _regression()
    model = _linear64(3)
    history = train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(),
                                                        lr=2.2 / _true_curvature(X)),
                        (X, y), epochs=12, batch_size=32, shuffle=False, progress=False,
                        divergence=None)
    assert len(history) == 12


def test_divergence_factor_is_validated():
    X, y = _regression()
    model = _linear64(3)
    with pytest.raises(ValueError, match="divergence"):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
                  divergence=0.5, progress=False)


def test_nonfinite_loss_error_reports_the_lr_and_a_suggestion():
    X, y = _regression()
    model = _linear64(3)
    with pytest.raises(train.NonFiniteError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e150), (X, y),
                  epochs=3, batch_size=32, progress=False, divergence=None)
    assert info.value.lr == 1e150
    assert info.value.suggested_lr is not None and info.value.suggested_lr <= 1e149


def test_curvature_estimate_matches_the_exact_hessian_and_restores_everything():
    X, y = _regression(seed=3)
    model = _linear64(3)
    params = list(model.parameters())
    before = [p.data.copy() for p in params]
    estimate = estimate_curvature(model, nn.MSELoss(), params, X, y.reshape(-1, 1), steps=20)
    assert estimate == pytest.approx(_true_curvature(X), rel=1e-3)
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)
        assert p.grad is None


def test_watch_rising_needs_the_norm_to_rise_too():
    watch = DivergenceWatch(1e6)
    for k in range(8):
        assert not watch.rising(1.0 * 1.3 ** k, 1.0)  # flat gradient norm: no verdict
    watch = DivergenceWatch(1e6)
    verdicts = [watch.rising(1.3 ** k, 1.1 ** k) for k in range(8)]
    assert verdicts[:5] == [False] * 5 and verdicts[-1]


def test_watch_growth_is_relative_to_the_start():
    watch = DivergenceWatch(1e6)
    assert not watch.grown(2.0)
    assert not watch.grown(1e6)
    assert watch.grown(3e6)
    negative = DivergenceWatch(10.0)
    assert not negative.grown(-5.0)
    assert not negative.grown(40.0) and negative.grown(50.1)


@settings(max_examples=15, deadline=None)
@given(log_lr=st_.floats(-3.0, 3.0))
def test_a_run_that_returns_is_finite_and_not_blown_up(log_lr):
    X, y = _regression()
    model = _linear64(3)
    try:
        history = train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=10 ** log_lr),
                            (X, y), epochs=15, batch_size=8, progress=False)
    except train.DivergenceError as error:
        assert error.epoch >= 1 and error.batch >= 1 and error.lr == pytest.approx(10 ** log_lr)
        return
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert all(math.isfinite(v) for v in history["loss"])
    assert max(history["loss"]) < 1e6 * max(history["loss"][0], 1.0) * 10


def test_momentum_sgd_is_told_its_own_stable_limit():
    X, y = _regression()
    model = _linear64(3)
    L = _true_curvature(X)
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=20.0 / L, momentum=0.9),
                  (X, y), epochs=200, batch_size=32, shuffle=False, progress=False)
    error = info.value
    limit = 2.0 * 1.9 / error.curvature  # heavy ball: lr L < 2 (1 + m)
    assert "SGD with momentum m=0.9 is stable only for lr < 2(1+m)/L" in str(error)
    assert f"{limit:.4g}" in str(error) and "2/L" not in str(error)
    assert error.suggested_lr == pytest.approx(min(limit / 2, error.lr / 10))


@pytest.mark.parametrize("make", [lambda p: optim.RMSprop(p, lr=100.0),
                                  lambda p: optim.Adagrad(p, lr=1e4)])
def test_an_adaptive_optimizer_is_not_given_gradient_descents_bound(make):
    # each parameter moves by about lr whatever the curvature: 2/L says nothing about them
    X, y = _regression()
    model = _linear64(3)
    optimizer = make(model.parameters())
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, nn.MSELoss(), optimizer, (X, y), epochs=200, batch_size=8,
                  shuffle=False, progress=False)
    error = info.value
    assert "2/L" not in str(error) and "stable only for" not in str(error)
    assert f"{type(optimizer).__name__} scales each parameter's step itself" in str(error)
    assert error.suggested_lr == pytest.approx(error.lr / 10)


def test_stable_limit_per_optimizer():
    from steepest.train.divergence import stable_limit
    w = [st.Tensor(np.zeros(2), requires_grad=True)]
    assert stable_limit(optim.SGD(w, lr=0.1), 4.0) == (0.5, "2/L", "plain gradient descent")
    nesterov = stable_limit(optim.SGD(w, lr=0.1, momentum=0.5, nesterov=True), 4.0)
    assert nesterov[0] == pytest.approx(2 * 1.5 / (2.0 * 4.0))
    assert stable_limit(optim.SGD(w, lr=0.1, momentum=0.5, dampening=0.5), 4.0)[0] == \
        pytest.approx(2 * 1.5 / (0.5 * 4.0))
    assert stable_limit(optim.Adam(w), 4.0) is None and stable_limit(optim.SGD(w, lr=1), None) is None
