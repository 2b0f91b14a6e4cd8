"""Tests for steepest.train: the fit loop, callbacks, checkpoints, progress, non-finite policy."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import steepest as st
from steepest import data, nn, optim, schedules, train


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def iris():
    ds = data.load_dataset("iris")
    split = data.train_val_test_split(ds.X, ds.y, val=0.2, test=0.2, seed=0)
    scaler = data.Standardizer().fit(split.X_train)
    return ((scaler.transform(split.X_train), split.y_train),
            (scaler.transform(split.X_val), split.y_val))


def mlp(seed=0, dropout=0.0, n_in=4, n_out=3, width=16):
    st.manual_seed(seed)
    layers = [nn.Linear(n_in, width), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert np.array_equal(sa[key], sb[key]), key


# --------------------------------------------------------------------------- basic training
def test_fit_learns_iris_and_records_history(iris):
    train_data, val_data = iris
    model = mlp()
    history = train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02),
                        train_data, validation=val_data, epochs=25, batch_size=16,
                        metrics=["accuracy"], progress=False)
    assert len(history) == 25
    assert history["epoch"] == list(range(1, 26))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"):
        assert len(history[key]) == 25, key
    assert history.loss is history["loss"] is history.history["loss"]
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.val_accuracy[-1] >= 0.85  # 3 classes: chance is 1/3
    assert all(lr == 0.02 for lr in history.lr)
    assert all(t > 0 for t in history.time)
    with pytest.raises(KeyError, match="History has no 'val_mse'"):
        history["val_mse"]
    with pytest.raises(AttributeError, match="History has no 'f1'"):
        history.f1  # noqa: B018


def test_fit_accepts_a_dataset_and_casts_to_model_dtype():
    ds = data.load_dataset("wine")
    ds = data.Dataset(data.Standardizer().fit_transform(ds.X), ds.y, task="classification")
    model = mlp(n_in=13)
    history = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                        ds, epochs=3, batch_size=32, progress=False)
    assert model[0].weight.dtype == np.float32  # float64 data did not promote the weights
    assert history.loss[-1] < history.loss[0]


def test_regression_with_column_output_and_1d_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    st.manual_seed(0)
    model = nn.Linear(3, 1)
    history = train.fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.05), (X, y),
                        validation=(X[:50], y[:50]), epochs=60, batch_size=20,
                        metrics=["mse", "mae"], progress=False)
    assert history.loss[-1] < 1e-3 and history.val_mse[-1] < 1e-3
    np.testing.assert_allclose(model.weight.data.ravel(), [1.0, -2.0, 0.5], atol=0.02)


def test_schedule_lr_is_recorded_per_epoch():
    X, y = np.zeros((8, 4)), np.arange(8) % 3
    model = mlp()
    sched = schedules.inverse_power(0.1, p=1.0)
    history = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=sched),
                        (X, y), epochs=3, batch_size=4, shuffle=False, progress=False)
    # two updates per epoch: the last update of epoch k is update 2k
    np.testing.assert_allclose(history.lr, [0.1 / 2, 0.1 / 4, 0.1 / 6])


def test_digits_small_network_beats_chance_by_far():
    ds = data.load_dataset("digits")
    split = data.train_val_test_split(ds.X, ds.y, val=0.15, test=0.15, seed=3)
    scaler = data.Standardizer().fit(split.X_train)
    model = mlp(seed=3, n_in=64, n_out=10, width=32)
    train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3),
              (scaler.transform(split.X_train), split.y_train), epochs=12, batch_size=64,
              progress=False)
    result = train.evaluate(model, nn.CrossEntropyLoss(),
                            (scaler.transform(split.X_test), split.y_test), metrics=["accuracy"])
    assert result["accuracy"] > 0.9  # chance is 0.1


# --------------------------------------------------------------------------- reproducibility
def run(iris, epochs, seed=1, **kwargs):
    train_data, val_data = iris
    model = mlp(seed=seed, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=schedules.inverse_time(0.05, 0.01))
    history = train.fit(model, nn.CrossEntropyLoss(), opt, train_data, validation=val_data,
                        epochs=epochs, batch_size=16, progress=False, **kwargs)
    return model, opt, history


def test_manual_seed_makes_runs_bit_identical(iris):
    a, _, ha = run(iris, 3)
    b, _, hb = run(iris, 3)
    assert_same_weights(a, b)
    assert ha.loss == hb.loss
    c, _, _ = run(iris, 3, seed=2)
    assert not np.array_equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])


def test_resume_is_bit_for_bit_equal_to_uninterrupted_run(iris, tmp_path):
    def callbacks():
        return [train.EarlyStopping(patience=100), train.LambdaCallback(lambda e, logs: None)]

    straight, straight_opt, h_straight = run(iris, 4, callbacks=callbacks())
    rng_after_straight = st._random.get_rng_state()
    path = tmp_path / "run.npz"
    run(iris, 2, callbacks=callbacks(), checkpoint=path)
    st.manual_seed(12345)  # the checkpoint's generator state must win over the current one
    resumed, resumed_opt, h_resumed = run(iris, 4, seed=99, callbacks=callbacks(), resume=path)
    assert_same_weights(straight, resumed)
    sa, sb = straight_opt.state_dict(), resumed_opt.state_dict()
    for s1, s2 in zip(sa["state"], sb["state"], strict=True):
        for key in s1:
            assert np.array_equal(s1[key], s2[key]), key
    assert sa["param_groups"][0]["num_updates"] == sb["param_groups"][0]["num_updates"]
    assert h_resumed.loss == h_straight.loss
    assert h_resumed.val_loss == h_straight.val_loss
    assert h_resumed.lr == h_straight.lr
    assert st._random.get_rng_state() == rng_after_straight  # later draws agree too


def test_resume_with_plateau_and_numeric_lr(iris, tmp_path):
    def go(epochs, **kwargs):
        train_data, val_data = iris
        model = mlp(seed=4, dropout=0.2)
        opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        plateau = train.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                          threshold=0.5)
        history = train.fit(model, nn.CrossEntropyLoss(), opt, train_data, validation=val_data,
                            epochs=epochs, batch_size=32, progress=False, callbacks=[plateau],
                            **kwargs)
        return model, history

    a, ha = go(5)
    assert ha.lr[-1] < ha.lr[0]  # the demanding threshold forces reductions
    go(3, checkpoint=tmp_path / "c.npz")
    b, hb = go(5, resume=tmp_path / "c.npz")
    assert_same_weights(a, b)
    assert ha.lr == hb.lr


def test_checkpoint_every_and_epoch_names(iris, tmp_path):
    run(iris, 5, checkpoint=tmp_path / "ck-{epoch}.npz", checkpoint_every=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck-2.npz", "ck-4.npz", "ck-5.npz"]
    state = st.load(tmp_path / "ck-4.npz")
    assert state["epoch"] == 4 and len(state["history"]["history"]["loss"]) == 4


def test_resume_errors(iris, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        run(iris, 2, resume=tmp_path / "missing.npz")
    st.save({"a": 1}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a steepest training checkpoint"):
        run(iris, 2, resume=tmp_path / "other.npz")
    run(iris, 1, checkpoint=tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"written with callbacks \[\]; pass the same"):
        run(iris, 2, resume=tmp_path / "c.npz", callbacks=[train.EarlyStopping()])


def test_resume_after_completion_trains_nothing_more(iris, tmp_path):
    model, _, _ = run(iris, 2, checkpoint=tmp_path / "c.npz")
    again, _, history = run(iris, 2, seed=7, resume=tmp_path / "c.npz")
    assert_same_weights(model, again)
    assert len(history) == 2


# --------------------------------------------------------------------------- callbacks
def test_early_stopping_stops_and_restores_best_weights(iris):
    train_data, val_data = iris
    model = mlp(seed=5)
    snapshots = {}

    def remember(epoch, logs):
        snapshots[epoch] = weights(model)

    stopper = train.EarlyStopping(monitor="val_loss", patience=3)
    # a large constant step makes validation loss stall and bounce quickly
    history = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.8),
                        train_data, validation=val_data, epochs=200, batch_size=8,
                        callbacks=[remember, stopper], progress=False)
    assert history.stopped_epoch == len(history) < 200
    best = int(np.argmin(history.val_loss)) + 1
    assert history.best_epoch == stopper.best_epoch == best
    assert len(history) == best + 3
    for key, value in model.state_dict().items():
        assert np.array_equal(value, snapshots[best][key])


def test_early_stopping_mode_and_validation():
    assert train.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert train.EarlyStopping(monitor="loss").mode == "min"
    with pytest.raises(ValueError, match="patience must be in"):
        train.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be one of"):
        train.EarlyStopping(mode="up")
    model = mlp()
    with pytest.raises(KeyError, match=r"monitor='val_loss' is not recorded.*pass validation="):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
                  (np.zeros((4, 4)), np.array([0, 1, 2, 0])), epochs=2,
                  callbacks=[train.EarlyStopping()], progress=False)


class FakeState:
    def __init__(self, lr):
        self.optimizer = type("Opt", (), {"param_groups": [{"lr": lr}, {"lr": lr / 2}]})()
        self.epoch = 0


def test_reduce_lr_on_plateau_follows_torch_rules():
    plateau = train.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1,
                                      min_lr=0.02)
    state = FakeState(0.1)
    plateau.on_train_begin(state)
    lrs = []
    # improve, then flat: bad epochs 1, 2, 3 -> reduce on the 3rd (> patience), cooldown 1
    for value in [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]:
        state.epoch += 1
        plateau.on_epoch_end(state, {"loss": value})
        lrs.append(state.optimizer.param_groups[0]["lr"])
    assert lrs == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025]
    # the second group: 0.05 -> 0.025 -> 0.02 (min_lr)
    assert state.optimizer.param_groups[1]["lr"] == 0.02


def test_reduce_lr_on_plateau_refuses_schedules():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=schedules.constant(0.1))
    with pytest.raises(TypeError, match="needs a numeric learning rate"):
        train.fit(model, nn.CrossEntropyLoss(), opt, (np.zeros((4, 4)), np.array([0, 1, 2, 0])),
                  callbacks=[train.ReduceLROnPlateau(monitor="loss")], progress=False)
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        train.ReduceLROnPlateau(factor=1.0)


def test_callback_hooks_order_and_counts():
    events = []

    class Recorder(train.Callback):
        def on_train_begin(self, state):
            events.append("train_begin")

        def on_epoch_begin(self, state):
            events.append(f"epoch_begin {state.epoch}")

        def on_batch_end(self, state, batch, loss):
            assert math.isfinite(loss)
            events.append(f"batch {batch}")

        def on_epoch_end(self, state, logs):
            assert logs["epoch"] == state.epoch and "loss" in logs
            events.append(f"epoch_end {state.epoch}")

        def on_train_end(self, state):
            events.append("train_end")

    model = mlp()
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
              (np.zeros((5, 4)), np.array([0, 1, 2, 0, 1])), epochs=2, batch_size=2,
              callbacks=[Recorder()], progress=False)
    assert events == ["train_begin", "epoch_begin 1", "batch 1", "batch 2", "batch 3",
                      "epoch_end 1", "epoch_begin 2", "batch 1", "batch 2", "batch 3",
                      "epoch_end 2", "train_end"]


def test_function_callback_can_stop_training():
    model = mlp()
    history = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
                        (np.zeros((4, 4)), np.array([0, 1, 2, 0])), epochs=10,
                        callbacks=[lambda epoch, logs: epoch == 3], progress=False)
    assert len(history) == 3 and history.stopped_epoch == 3
    with pytest.raises(TypeError, match="each callback must be"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
                  (np.zeros((4, 4)), np.array([0, 1, 2, 0])), callbacks=[3], progress=False)


# --------------------------------------------------------------------------- gradient clipping
@settings(max_examples=40, deadline=None)
@given(shapes=hst.lists(hst.tuples(hst.integers(1, 4), hst.integers(1, 4)), min_size=1,
                        max_size=4),
       max_norm=hst.floats(1e-3, 10.0), seed=hst.integers(0, 1000))
def test_clip_grad_norm_bounds_the_global_norm(shapes, max_norm, seed):
    rng = np.random.default_rng(seed)
    params = [st.tensor(rng.normal(size=s), requires_grad=True) for s in shapes]
    for p in params:
        p.grad = rng.normal(size=p.shape) * rng.uniform(0.01, 10)
    before = [p.grad.copy() for p in params]
    expected = math.sqrt(sum(float((g ** 2).sum()) for g in before))
    total = train.clip_grad_norm_(params, max_norm)
    assert total == pytest.approx(expected, rel=1e-12)
    after = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    assert after <= max_norm * (1 + 1e-9) or after == pytest.approx(expected)
    scale = min(1.0, max_norm / (expected + 1e-6))
    for g0, p in zip(before, params, strict=True):
        np.testing.assert_allclose(p.grad, g0 * scale, rtol=1e-12)


def test_clip_grad_norm_inf_norm_and_nonfinite():
    p = st.tensor([1.0, 2.0], requires_grad=True)
    p.grad = np.array([3.0, -4.0])
    assert train.clip_grad_norm_([p], 2.0, norm_type=math.inf) == 4.0
    np.testing.assert_allclose(p.grad, [3.0 * 2 / (4 + 1e-6), -4.0 * 2 / (4 + 1e-6)])
    p.grad = np.array([np.inf, 1.0])
    assert train.clip_grad_norm_([p], 1.0) == math.inf
    assert p.grad[1] == 1.0  # nothing scaled
    with pytest.raises(ValueError, match=r"max_norm must be in \(0, inf\)"):
        train.clip_grad_norm_([p], 0.0)


@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")
def test_clip_grad_norm_survives_float32_overflow_of_the_square():
    p = st.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    p.grad = np.array([3e20, 4e20], dtype=np.float32)  # finite, but 9e40 overflows float32
    assert train.clip_grad_norm_([p], 1.0) == pytest.approx(5e20, rel=1e-6)
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)


def test_fit_clips_gradients():
    seen = []
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.0)
    original_step = opt.step

    def recording_step(closure=None):
        seen.append(math.sqrt(sum(float((p.grad ** 2).sum()) for p in model.parameters())))
        return original_step(closure)

    opt.step = recording_step
    X = np.random.default_rng(0).normal(size=(16, 4)) * 100
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, np.arange(16) % 3), epochs=1,
              batch_size=4, clip_grad_norm=0.01, progress=False)
    assert len(seen) == 4 and max(seen) <= 0.01 * (1 + 1e-5)


# --------------------------------------------------------------------------- non-finite policy
def nan_data():
    X = np.random.default_rng(0).normal(size=(12, 4))
    X[9, 2] = np.nan  # batch 3 of size 4 when unshuffled
    return X, np.arange(12) % 3


def test_nonfinite_input_raises_with_epoch_batch_and_tensor():
    model = mlp()
    with pytest.raises(train.NonFiniteError, match="input batch is not finite at epoch 1, "
                                                   "batch 3") as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), nan_data(),
                  epochs=2, batch_size=4, shuffle=False, progress=False)
    assert (info.value.epoch, info.value.batch, info.value.tensor) == (1, 3, "input batch")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_run_names_the_parameter_or_loss():
    model = mlp()
    X = np.random.default_rng(0).normal(size=(64, 4)) * 1e3
    with pytest.raises(train.NonFiniteError) as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30),
                  (X, np.arange(64) % 3), epochs=5, batch_size=8, progress=False)
    error = info.value
    assert error.tensor.startswith(("parameter", "gradient of", "loss"))
    assert f"epoch {error.epoch}, batch {error.batch}" in str(error)
    assert "clip_grad_norm" in str(error)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_gradient_is_named():
    class KinkAtZero(nn.Module):
        """Finite outputs, but d sqrt(p)/dp is infinite at p = 0."""

        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(4, 3)
            self.kink = nn.Parameter(np.zeros(1, dtype=np.float32))

        def forward(self, x):
            return self.inner(x) + st.sqrt(self.kink) * np.array([1.0, 0.0, 0.0], np.float32)

    st.manual_seed(0)
    model = KinkAtZero()
    with pytest.raises(train.NonFiniteError) as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
                  (np.ones((4, 4)), np.array([0, 1, 2, 0])), epochs=1, progress=False)
    assert info.value.tensor == "gradient of 'kink'"
    assert "gradient of 'kink' is not finite at epoch 1, batch 1" in str(info.value)


def test_nonfinite_skip_policy():
    model = mlp()
    before = weights(model)
    X, y = nan_data()
    history = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                        (X, y), epochs=2, batch_size=4, shuffle=False, nonfinite="skip",
                        max_skipped=2, progress=False)
    assert history.skipped_steps == 2
    assert all(math.isfinite(v) for v in history.loss)
    assert all(np.all(np.isfinite(v)) for v in model.state_dict().values())
    assert not np.array_equal(before["0.weight"], model.state_dict()["0.weight"])
    with pytest.raises(train.NonFiniteError, match=r"1 updates were skipped already"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  (X, y), epochs=2, batch_size=4, shuffle=False, nonfinite="skip",
                  max_skipped=1, progress=False)


# --------------------------------------------------------------------------- progress display
def test_plain_progress_on_a_stream(monkeypatch):
    stream = io.StringIO()
    bar = train.progress._PlainProgress(epochs=2, n_batches=3, stream=stream)
    bar.epoch_begin(1)
    for i in range(1, 4):
        bar.batch(i, 0.5 * 4 * i, {"accuracy": 3.0 * i}, 4 * i)
    bar.epoch_end({"epoch": 1, "loss": 0.5, "accuracy": 0.75, "lr": 0.1, "time": 0.1})
    text = stream.getvalue()
    assert "\r" not in text  # not a terminal: only the epoch line
    assert text.startswith("epoch 1/2 [") and "3/3" in text
    assert "loss 0.5" in text and "accuracy 0.75" in text and text.endswith("\n")


def test_plain_progress_on_a_terminal_redraws():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = train.progress._PlainProgress(epochs=10, n_batches=4, stream=stream)
    bar.epoch_begin(3)
    bar.batch(1, 9.0, {"accuracy": 2.0}, 4)
    bar.epoch_end({"epoch": 3, "loss": 2.0})
    text = stream.getvalue()
    assert text.startswith("\repoch  3/10 [") and "1/4 loss 2.25  accuracy 0.5" in text
    assert text.count("\r") == 2 and text.endswith("\n")
    final = text.split("\r")[-1]
    assert final.rstrip().endswith("loss 2")
    assert len(final) > len(text.split("\r")[1])  # padded over the longer batch line


def test_fit_progress_modes(capsys):
    model = mlp()
    args = (model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
            (np.zeros((6, 4)), np.array([0, 1, 2, 0, 1, 2])))
    train.fit(*args, epochs=2, batch_size=3, progress=False)
    assert capsys.readouterr().err == ""
    train.fit(*args, epochs=2, batch_size=3, progress="plain")
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "2/2" in err
    train.fit(*args, epochs=2, batch_size=3, progress="tqdm")
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss" in err
    with pytest.raises(ValueError, match="progress must be one of"):
        train.fit(*args, progress="fancy")


# --------------------------------------------------------------------------- evaluate / predict
def test_evaluate_and_predict_agree_with_manual_computation(iris):
    _, (X, y) = iris
    model = mlp(dropout=0.5)
    model.train()
    logits = train.predict(model, X)
    assert model.training  # mode restored
    np.testing.assert_array_equal(train.predict(model, X, batch_size=7), logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected_loss = -log_p[np.arange(len(y)), y].mean()
    result = train.evaluate(model, nn.CrossEntropyLoss(), (X, y), batch_size=7,
                            metrics=["accuracy", lambda out, t: 1.0])
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    assert result["<lambda>"] == pytest.approx(1.0)


def test_accuracy_metric_shapes():
    assert train.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert train.accuracy(np.array([[2.0], [-1.0]]), np.array([1.0, 1.0])) == 0.5
    assert train.accuracy(np.array([[0.1, 0.9]]), np.array([[0.0, 1.0]])) == 1.0


# --------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 0}, ValueError, r"fit: epochs must be in \[1, inf\), got 0"),
    ({"batch_size": 2.5}, TypeError, "fit: batch_size must be an integer"),
    ({"nonfinite": "ignore"}, ValueError, "fit: nonfinite must be one of 'raise', 'skip'"),
    ({"clip_grad_norm": -1.0}, ValueError, r"fit: clip_grad_norm must be in \(0, inf\)"),
    ({"metrics": ["f1"]}, ValueError, "fit: metrics must be one of"),
    ({"drop_last": True, "batch_size": 64}, ValueError, "drop_last=True with batch_size=64"),
    ({"checkpoint_every": 0}, ValueError, "checkpoint_every must be in"),
])
def test_fit_argument_errors(kwargs, error, message):
    model = mlp()
    with pytest.raises(error, match=message):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()),
                  (np.zeros((6, 4)), np.zeros(6, dtype=int)), progress=False, **kwargs)


def test_fit_data_errors():
    model = mlp()
    args = (model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    with pytest.raises(ValueError, match="one row per sample"):
        train.fit(*args, (np.zeros((6, 4)), np.zeros(5, dtype=int)), progress=False)
    with pytest.raises(TypeError, match=r"train must be an \(X, y\) pair or a Dataset"):
        train.fit(*args, np.zeros((6, 4)), progress=False)
    with pytest.raises(ValueError, match="train is empty"):
        train.fit(*args, (np.zeros((0, 4)), np.zeros(0, dtype=int)), progress=False)


def test_schedule_free_is_evaluated_at_its_average():
    # ScheduleFreeAdamW takes gradients at y and is judged at the average x: fit validates at x,
    # leaves x in the model, and a second fit goes back to y before its first update
    import steepest as st
    from steepest import nn, train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    st.manual_seed(0)
    model = nn.mlp(2, [8], 2, "tanh", dtype=np.float64)
    opt = st.optim.ScheduleFreeAdamW(model.parameters(), lr=0.01)
    history = train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), (X, y), epochs=3,
                        batch_size=30)
    assert opt.param_groups[0]["train_mode"] is False
    with st.no_grad():
        at_x = float(nn.CrossEntropyLoss()(model(st.tensor(X)), y).data)
    assert at_x == pytest.approx(history["val_loss"][-1], rel=1e-12)
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=30)
    assert opt.param_groups[0]["train_mode"] is False
