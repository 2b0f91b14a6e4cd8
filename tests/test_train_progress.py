"""fit's progress in a notebook: one display for the run, no TqdmWarning (issue 11)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim, train
from steepest.train import progress as prog


def _fit(**kwargs):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    X = np.random.default_rng(0).normal(size=(40, 2))
    return train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
                     (X, X.sum(axis=1)), epochs=4, batch_size=8, **kwargs)


@pytest.fixture
def notebook(monkeypatch):
    monkeypatch.setattr(prog, "_in_notebook", lambda: True)
    monkeypatch.setattr(prog._Progress, "interval", 0.0)


def test_notebook_without_ipywidgets_is_one_updating_line_and_no_warning(notebook, monkeypatch,
                                                                         capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(prog, "_has_ipywidgets", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TqdmWarning would fail the test
        _fit(progress=True)
    err = capsys.readouterr().err
    assert err.count("\n") <= 1 and "\r" in err
    assert "epoch 4/4" in err and "20/20" in err  # one bar over all 4 x 5 batches


def test_notebook_with_ipywidgets_uses_tqdm_auto(notebook, monkeypatch):
    monkeypatch.setattr(prog, "_has_ipywidgets", lambda: True)
    tqdm_auto = pytest.importorskip("tqdm.auto")
    assert prog._import_tqdm(notebook=True) is tqdm_auto.tqdm
    bar = prog._make_progress(True, 3, 5)
    assert isinstance(bar, prog._RunProgress)
    bar.close()


def test_notebook_without_tqdm_plain_bar_is_one_line(notebook, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(prog, "_import_tqdm", lambda notebook: None)
    bar = prog._make_progress(True, 3, 2)
    assert isinstance(bar, prog._PlainProgress) and bar.live and bar.one_line
    bar.stream = stream
    for epoch in (1, 2, 3):
        bar.epoch_begin(epoch)
        bar.batch(1, 1.0, {}, 4)
        bar.epoch_end({"epoch": epoch, "loss": 0.5})
    bar.close()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and "epoch 3/3" in text


def test_terminal_keeps_one_line_per_epoch(monkeypatch):
    monkeypatch.setattr(prog, "_in_notebook", lambda: False)
    bar = prog._make_progress("plain", 3, 2)
    assert isinstance(bar, prog._PlainProgress) and not bar.one_line


def test_resumed_run_bar_starts_at_the_finished_epochs(notebook, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(prog, "_has_ipywidgets", lambda: False)
    bar = prog._make_progress(True, 10, 5, first_epoch=4)
    assert bar.bar.n == 20 and bar.bar.total == 50
    bar.close()


def test_in_notebook_is_false_in_plain_python():
    assert prog._in_notebook() is False
