"""fit(compile=True) trains bitwise as fit(compile=False): same history, same weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim, train
from steepest.autodiff.capture import CaptureWarning


def _data(classes: bool, n: int = 70, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    if classes:
        y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
        return X, y
    return X, (X @ np.array([0.5, -1.0, 2.0, 0.1]) + 0.1 * rng.standard_normal(n))[:, None]


def _run(compile_: bool, classes: bool, build, **fit_kwargs):
    st.manual_seed(0)
    model, opt = build()
    X, y = _data(classes)
    Xv, yv = _data(classes, n=20, seed=1)
    loss = nn.CrossEntropyLoss() if classes else nn.MSELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        history = train.fit(model, loss, opt, (X, y), validation=(Xv, yv), epochs=6,
                            batch_size=16, progress=False, compile=compile_, **fit_kwargs)
    return history, model, opt


def _assert_same_runs(a, b):
    (h1, m1, o1), (h2, m2, o2) = a, b
    keys = sorted(h1.history)
    assert keys == sorted(h2.history) and len(h1["loss"]) == len(h2["loss"]) == 6
    for key in keys:
        if key != "time":
            assert h1[key] == h2[key], key
    for (name, p), q in zip(m1.named_parameters(), m2.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    for (name, b1), b2 in zip(m1.named_buffers(), m2.buffers(), strict=True):
        np.testing.assert_array_equal(b1, b2, err_msg=name)
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        for key, value in o1.state[p1].items():
            np.testing.assert_array_equal(value, o2.state[p2][key], err_msg=key)


def _regressor():
    model = nn.Sequential(nn.Linear(4, 16, dtype=np.float64), nn.Tanh(),
                          nn.Linear(16, 1, dtype=np.float64))
    return model, optim.Adam(model.parameters(), lr=1e-2)


def _schedule_free():
    model = nn.Sequential(nn.Linear(4, 16, dtype=np.float64), nn.ReLU(),
                          nn.Linear(16, 1, dtype=np.float64))
    return model, optim.ScheduleFreeAdamW(model.parameters(), lr=1e-2)


def test_schedule_free_compiled_is_bitwise_eager():
    """The optimizer switches between its gradient and its average point every epoch."""
    _assert_same_runs(_run(False, False, _schedule_free), _run(True, False, _schedule_free))


def _classifier():
    model = nn.Sequential(nn.Linear(4, 16, dtype=np.float32), nn.BatchNorm1d(16), nn.ReLU(),
                          nn.Dropout(0.2), nn.Linear(16, 3, dtype=np.float32))
    return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def test_regression_compiled_is_bitwise_eager(monkeypatch):
    from steepest.train import loop

    made = []
    original = loop._compiled_batch
    monkeypatch.setattr(loop, "_compiled_batch", lambda *a: made.append(original(*a)) or made[-1])
    _assert_same_runs(_run(False, False, _regressor), _run(True, False, _regressor))
    (step,) = made
    # both batch shapes (16 rows and the last 6) were recorded, verified and replayed
    assert len(step._table) == 2
    assert all(e.verified for entries in step._table.values() for e in entries)


@pytest.mark.parametrize("clip", [{}, {"clip_grad_norm": 0.5, "clip_grad_value": 0.3}])
def test_classification_compiled_is_bitwise_eager(clip):
    """BatchNorm, dropout (seeded), momentum, a partial last batch, clipping."""
    _assert_same_runs(_run(False, True, _classifier, metrics=["accuracy"], **clip),
                      _run(True, True, _classifier, metrics=["accuracy"], **clip))


def test_compiled_fit_still_reports_divergence():
    def build():
        model = nn.Sequential(nn.Linear(4, 1, dtype=np.float64))
        return model, optim.SGD(model.parameters(), lr=50.0)

    with pytest.raises(train.DivergenceError) as eager:
        _run(False, False, build)
    with pytest.raises(train.DivergenceError) as compiled:
        _run(True, False, build)
    assert (eager.value.epoch, eager.value.batch) == (compiled.value.epoch, compiled.value.batch)


def test_fit_checks_the_compile_flag():
    model, opt = _regressor()
    with pytest.raises((TypeError, ValueError), match="compile"):
        train.fit(model, nn.MSELoss(), opt, _data(False), epochs=1, progress=False, compile=1)
