"""Regressions: a resume from a checkpoint of a run with other settings is refused (naming the
differences), old checkpoints still resume with a warning, the {epoch} pattern is checked before
training, a non-finite regression target is reported as such (not as a learning rate); and
train_network takes a left-out lr for the optimizer's default when resuming, and names the
checkpoint file it wrote (not its {epoch} pattern) when interrupted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim, train
from steepest.io import CheckpointError


def data(seed=0, n=48):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return X, (X[:, 0] > 0).astype(np.int64)


def go(tmp_path, epochs, data_xy=None, **kwargs):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = train.fit(model, nn.CrossEntropyLoss(), opt, data_xy or data(), epochs=epochs,
                        batch_size=kwargs.pop("batch_size", 16), progress=False, **kwargs)
    return model, history


def test_resume_with_another_batch_size_is_refused(tmp_path):
    go(tmp_path, 2, checkpoint=tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match=r"other settings: batch_size 16 there, 8 here"):
        go(tmp_path, 4, resume=tmp_path / "c.npz", batch_size=8)


def test_resume_on_other_training_data_is_refused(tmp_path):
    go(tmp_path, 2, checkpoint=tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match=r"train_data sha256 [0-9a-f]{12}\.\.\. there"):
        go(tmp_path, 4, data(seed=1), resume=tmp_path / "c.npz")


def test_resume_with_other_caller_settings_lists_each_difference(tmp_path):
    go(tmp_path, 2, checkpoint=tmp_path / "c.npz", settings={"seed": 0, "activation": "relu"})
    with pytest.raises(CheckpointError) as info:
        go(tmp_path, 4, resume=tmp_path / "c.npz", settings={"seed": 7, "activation": "tanh"})
    message = str(info.value)
    assert "seed 0 there, 7 here" in message and "activation 'relu' there, 'tanh' here" in message
    assert "only the number of epochs may change" in message


def test_resume_with_the_same_settings_and_more_epochs_equals_one_run(tmp_path):
    straight, h_straight = go(tmp_path, 4, settings={"seed": 0, "betas": (0.9, 0.999)})
    go(tmp_path, 2, checkpoint=tmp_path / "c.npz", settings={"seed": 0, "betas": (0.9, 0.999)})
    resumed, h_resumed = go(tmp_path, 4, resume=tmp_path / "c.npz",
                            settings={"seed": 0, "betas": [0.9, 0.999]})
    assert h_resumed.loss == h_straight.loss
    for name, value in straight.state_dict().items():
        np.testing.assert_array_equal(value, resumed.state_dict()[name])


def test_checkpoint_records_the_settings_in_its_metadata(tmp_path):
    go(tmp_path, 1, checkpoint=tmp_path / "c.npz", settings={"seed": 3})
    state = st.load(tmp_path / "c.npz")
    assert state["version"] == 2
    assert state["settings"]["seed"] == 3 and state["settings"]["batch_size"] == 16
    assert len(state["settings"]["train_data"]) == 64


def test_a_checkpoint_without_settings_resumes_with_a_warning(tmp_path):
    go(tmp_path, 2, checkpoint=tmp_path / "c.npz")
    state = st.load(tmp_path / "c.npz")
    del state["settings"]
    state["version"] = 1  # as steepest wrote it before settings were recorded
    st.save(state, tmp_path / "old.npz")
    straight, h_straight = go(tmp_path, 4)
    with pytest.warns(UserWarning, match="did not record the run's settings"):
        _, h_resumed = go(tmp_path, 4, resume=tmp_path / "old.npz")
    assert h_resumed.loss == h_straight.loss


def test_settings_must_be_plain_values(tmp_path):
    with pytest.raises(TypeError, match=r"settings\['f'\] must be None, a bool"):
        go(tmp_path, 1, checkpoint=tmp_path / "c.npz", settings={"f": object()})
    with pytest.raises(ValueError, match="recorded by fit itself"):
        go(tmp_path, 1, checkpoint=tmp_path / "c.npz", settings={"batch_size": 3})


@pytest.mark.parametrize("pattern", ["ck_{epoch}_{x}.npz", "ck_{epoch!z}.npz", "ck_{epoch[0]}.npz"])
def test_a_bad_epoch_pattern_fails_before_training(tmp_path, pattern):
    epochs_run = []
    with pytest.raises(ValueError, match="cannot be formatted as a file name"):
        go(tmp_path, 2, checkpoint=str(tmp_path / pattern),
           callbacks=[lambda epoch, logs: epochs_run.append(epoch)])
    assert epochs_run == []


def test_epoch_pattern_with_a_format_spec_still_works(tmp_path):
    go(tmp_path, 2, checkpoint=str(tmp_path / "ck_{epoch:03d}.npz"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck_001.npz", "ck_002.npz"]


def test_nan_regression_target_is_named_not_blamed_on_the_lr():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    y = X[:, 0].copy()
    y[40] = np.nan
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    for policy in ("raise", "skip"):
        with pytest.raises(ValueError, match=r"train target y is not finite at row 40 \(nan"):
            train.fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=1e-2), (X, y),
                      epochs=1, batch_size=16, progress=False, nonfinite=policy)
    with pytest.raises(ValueError, match=r"validation target y is not finite at row 2 \(inf"):
        y_val = X[:5, 0].copy()
        y_val[2] = np.inf
        train.fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=1e-2),
                  (X, X[:, 0]), validation=(X[:5], y_val), epochs=1, progress=False)


def test_target_overflowing_the_model_dtype_is_named():
    X = np.ones((10, 2))
    y = np.ones(10)
    y[3] = 1e300  # finite in float64, inf in the float32 model
    model = nn.Sequential(nn.Linear(2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"row 3 \(inf after conversion to the model's "
                                             r"float32, from 1e\+300"):
            train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
                      progress=False)


# ------------------------------------------------------------ train_network: lr, files, epochs
def iris_run(epochs, **kwargs):
    from steepest import data, experiments
    return experiments.train_network(data.load_dataset("iris"), hidden=(8,), epochs=epochs,
                                     progress=False, **kwargs)


def test_train_network_equates_a_left_out_lr_with_the_default_only(tmp_path):
    checkpoint = str(tmp_path / "c.npz")
    iris_run(2, checkpoint=checkpoint)
    assert iris_run(3, resume=checkpoint, lr=0.001).metrics["epochs"] == 3
    assert iris_run(3, resume=checkpoint, lr="1e-3").metrics["epochs"] == 3
    # a schedule starting at the default is another run, as is another number
    for other in ("cosine:0.001", 0.0011):
        with pytest.raises(CheckpointError, match=r"lr None there, (0\.0011|'cosine:0\.001') "
                                                  r"here"):
            iris_run(3, resume=checkpoint, lr=other)


def test_train_network_interrupted_names_the_checkpoint_file_written(tmp_path, monkeypatch):
    from steepest import experiments

    fit = train.fit

    def ctrl_c_after_epoch_2(*args, callbacks=(), **kwargs):
        def stop(epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt
        return fit(*args, callbacks=[*callbacks, stop], **kwargs)

    monkeypatch.setattr(train, "fit", ctrl_c_after_epoch_2)
    with pytest.raises(experiments.TrainingInterrupted) as info:
        iris_run(5, checkpoint=str(tmp_path / "ck_{epoch:03d}.npz"))
    written = str(tmp_path / "ck_002.npz")
    assert info.value.what() == f"after epoch 2 of 5; checkpoint {written} (continue with --resume)"
    assert info.value.summary.metrics["checkpoint"] == written
    assert (tmp_path / "ck_002.npz").is_file()
