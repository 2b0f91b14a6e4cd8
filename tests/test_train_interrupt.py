"""Ctrl-C during fit loses nothing (issue 10, item 6), and tampered training checkpoints are
refused with CheckpointError, all or nothing (item 5)."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import steepest as st
from steepest import data, nn, optim, train
from steepest.io import CheckpointError


@pytest.fixture(scope="module")
def iris():
    ds = data.load_dataset("iris")
    split = data.train_val_test_split(ds.X, ds.y, val=0.2, test=0.2, seed=0)
    scaler = data.Standardizer().fit(split.X_train)
    return ((scaler.transform(split.X_train), split.y_train),
            (scaler.transform(split.X_val), split.y_val))


def mlp(seed=0):
    st.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


class CtrlC(train.Callback):
    """Sends a real SIGINT to this process after a given batch, and records every batch seen."""

    def __init__(self, epoch, batch):
        self.at, self.seen, self.weights = (epoch, batch), [], None

    def on_batch_end(self, state, batch, loss):
        self.seen.append((state.epoch, batch))
        if (state.epoch, batch) == self.at:
            self.weights = {k: v.copy() for k, v in state.model.state_dict().items()}
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_after_the_batch_and_attaches_the_history(iris, tmp_path):
    model = mlp()
    ctrl_c = CtrlC(3, 2)
    with pytest.raises(KeyboardInterrupt) as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), iris[0],
                  epochs=10, batch_size=16, progress=False, callbacks=[ctrl_c])
    assert ctrl_c.seen[-1] == (3, 2)  # nothing ran after the interrupted batch
    history = info.value.history
    assert isinstance(history, train.History)
    assert history.interrupted and len(history) == 2 and history["epoch"] == [1, 2]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_checkpoints_then_restores_the_best_weights(iris, tmp_path):
    model = mlp()
    ctrl_c = CtrlC(4, 3)
    stopper = train.EarlyStopping(patience=50)
    path = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt) as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                  iris[0], validation=iris[1], epochs=10, batch_size=16, progress=False,
                  callbacks=[stopper, ctrl_c], checkpoint=path)
    saved = st.load(path)
    assert saved["epoch"] == 3 and saved["history"]["interrupted"] is True
    for key, value in ctrl_c.weights.items():  # the checkpoint holds the weights of the moment
        np.testing.assert_array_equal(saved["model"][key], value)
    best = stopper.best_weights
    for key, value in model.state_dict().items():  # the model holds the best epoch's weights
        np.testing.assert_array_equal(value, best[key])
    assert info.value.history.best_epoch == stopper.best_epoch
    # and the run resumes from the interrupt checkpoint to its end
    resumed = mlp()
    history = train.fit(resumed, nn.CrossEntropyLoss(), optim.Adam(resumed.parameters(), lr=0.01),
                        iris[0], validation=iris[1], epochs=5, batch_size=16, progress=False,
                        callbacks=[train.EarlyStopping(patience=50), CtrlC(-1, -1)], resume=path)
    assert history["epoch"] == [1, 2, 3, 4, 5]


def test_ctrl_c_inside_an_epoch_keeps_the_finished_epochs_files(iris, tmp_path):
    # with an {epoch} pattern the interrupt's weights (from the middle of epoch 4) had been
    # written over ck_003.npz, whose history says 3 epochs: the epoch-3 snapshot was lost
    pattern = str(tmp_path / "ck_{epoch:03d}.npz")
    straight = mlp()
    train.fit(straight, nn.CrossEntropyLoss(), optim.SGD(straight.parameters(), lr=0.1),
              iris[0], epochs=3, batch_size=16, shuffle=False, progress=False,
              checkpoint=str(tmp_path / "straight.npz"))
    model = mlp()
    ctrl_c = CtrlC(4, 2)
    with pytest.raises(KeyboardInterrupt) as info:
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), iris[0],
                  epochs=10, batch_size=16, shuffle=False, progress=False, callbacks=[ctrl_c],
                  checkpoint=pattern)
    third, moment = st.load(tmp_path / "ck_003.npz"), tmp_path / "ck_003.interrupted.npz"
    assert info.value.checkpoint == str(moment) and moment.is_file()
    for key, value in st.load(tmp_path / "straight.npz")["model"].items():
        np.testing.assert_array_equal(third["model"][key], value)  # epoch 3's, untouched
    interrupted = st.load(moment)
    assert interrupted["epoch"] == 3 and interrupted["history"]["interrupted"] is True
    for key, value in ctrl_c.weights.items():
        np.testing.assert_array_equal(interrupted["model"][key], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ck_001.npz", "ck_002.npz", "ck_003.interrupted.npz", "ck_003.npz", "straight.npz"]


def test_fit_runs_outside_the_main_thread(iris):
    model = mlp()
    result = {}

    def work():
        result["h"] = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                                iris[0], epochs=2, progress=False)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert len(result["h"]) == 2


# --------------------------------------------------------------------------- tampered checkpoints
def _checkpoint(iris, tmp_path):
    model = mlp()
    path = tmp_path / "c.npz"
    train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), iris[0],
              epochs=2, progress=False, callbacks=[train.EarlyStopping("loss")], checkpoint=path)
    return path


def _tamper_history(c):
    c["history"]["history"]["loss"].append(1.0)


def _wrong_shape(c):
    c["model"]["0.weight"] = np.zeros((3, 3))


def _bad_callback_state(c):
    c["callbacks"][0]["state"] = {"best": 1.0}


def _bad_optimizer(c):
    c["optimizer"] = {"state": "x", "param_groups": 3}


TAMPERS = {
    "negative epoch": lambda c: c.__setitem__("epoch", -5),
    "epoch beyond history": lambda c: c.__setitem__("epoch", 7),
    "float epoch": lambda c: c.__setitem__("epoch", 2.0),
    "missing field": lambda c: c.pop("rng"),
    "extra field": lambda c: c.__setitem__("extra", 1),
    "version": lambda c: c.__setitem__("version", 99),
    "stop_training": lambda c: c.__setitem__("stop_training", "no"),
    "history length": _tamper_history,
    "best_epoch": lambda c: c["history"].__setitem__("best_epoch", -1),
    "callbacks": lambda c: c.__setitem__("callbacks", {"a": 1}),
    "rng": lambda c: c.__setitem__("rng", {"bit_generator": "MT19937"}),
    "wrong weight shape": _wrong_shape,
    "callback state": _bad_callback_state,
    "optimizer": _bad_optimizer,
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampered_training_checkpoints_raise_checkpoint_error_and_change_nothing(iris, tmp_path,
                                                                                 tamper):
    path = _checkpoint(iris, tmp_path)
    content = st.load(path)
    TAMPERS[tamper](content)
    st.save(content, path)
    model = mlp(seed=5)
    opt = optim.Adam(model.parameters(), lr=0.01)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng_before = st._random.get_rng_state()
    opt_before = opt.state_dict()["state"]
    with pytest.raises(CheckpointError):
        train.fit(model, nn.CrossEntropyLoss(), opt, iris[0], epochs=4, progress=False,
                  callbacks=[train.EarlyStopping("loss")], resume=path)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert opt.state_dict()["state"] == opt_before
    assert st._random.get_rng_state() == rng_before
