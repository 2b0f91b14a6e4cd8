"""st.compile against eager when a user changes arrays in place between calls (QA).

A compiled step must give the eager step's bits or fall back with a CaptureWarning. The last
three were silent differences found in QA and fixed: the replay now reads a loss's
weights changed in place, and verifies again at the first call whose inputs differ from the
recording's when the first two calls had equal ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.autodiff.capture import CaptureWarning

RNG = np.random.default_rng(11)
X = RNG.standard_normal((8, 3))
CLASSES = RNG.integers(0, 4, 8)
PROBABILITIES = RNG.random((8, 2))
REGRESSION = RNG.standard_normal((8, 1))


def _pair(build, change=None, inputs=None, calls=6):
    """Eager and compiled copies, call by call; True when they agree bitwise (or the compiled
    one said it fell back)."""
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        copies.append(build())
    steps = [copies[0][-1], st.compile(copies[1][-1])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(calls):
            args = inputs(i)
            results = []
            for copy, step in zip(copies, steps, strict=True):
                if change is not None:
                    change(i, *copy[:-1])
                st.manual_seed(100 + i)
                results.append(np.float64(step(*args)).tobytes())
            same = results[0] == results[1] and all(
                a.data.tobytes() == b.data.tobytes()
                for a, b in zip(copies[0][0].parameters(), copies[1][0].parameters(), strict=True))
            if not same:
                return any(issubclass(w.category, CaptureWarning) for w in caught)
    return True


def _training_step(model, opt, loss):
    """zero_grad, forward, loss, backward, update: the step every test here compiles."""
    def step(x, y):
        opt.zero_grad()
        value = loss(model(st.Tensor(x)), y)
        value.backward()
        opt.step()
        return value.item()

    return step


def _linear_step(loss_fn, n_out, final=None, dtype=np.float64, make_opt=None):
    def build():
        layers = [nn.Linear(3, n_out, dtype=dtype)] + ([final] if final is not None else [])
        model = nn.Sequential(*layers)
        opt = (make_opt or (lambda p: optim.SGD(p, lr=0.1)))(model.parameters())
        loss = loss_fn()
        return model, opt, loss, _training_step(model, opt, loss)

    return build


def _scale_in_place(attribute):
    def change(i, model, opt, loss):
        if i == 3:
            getattr(loss, attribute)[...] *= 3.0
    return change


@pytest.mark.parametrize("build, attribute, target", [
    (_linear_step(lambda: nn.CrossEntropyLoss(weight=np.ones(4)), 4), "weight", CLASSES),
    (_linear_step(lambda: nn.CrossEntropyLoss(weight=np.ones(4), ignore_index=1), 4), "weight",
     CLASSES),
    (_linear_step(lambda: nn.NLLLoss(weight=np.ones(4)), 4, nn.LogSoftmax()), "weight", CLASSES),
    (_linear_step(lambda: nn.BCELoss(weight=np.ones(2)), 2, nn.Sigmoid()), "weight",
     PROBABILITIES),
], ids=["cross_entropy", "cross_entropy_ignore_index", "nll", "bce"])
def test_a_loss_weight_scaled_in_place_is_seen(build, attribute, target):
    assert _pair(build, _scale_in_place(attribute), lambda i: (X, target))


def test_bce_with_logits_pos_weight_scaled_in_place_is_seen():
    build = _linear_step(lambda: nn.BCEWithLogitsLoss(pos_weight=np.ones(2)), 2)
    assert _pair(build, _scale_in_place("pos_weight"), lambda i: (X, PROBABILITIES))


def test_cross_entropy_weight_with_label_smoothing_scaled_in_place_is_seen():
    build = _linear_step(lambda: nn.CrossEntropyLoss(weight=np.ones(4), label_smoothing=0.1), 4)
    assert _pair(build, _scale_in_place("weight"), lambda i: (X, CLASSES))


def test_numpy_on_the_input_outside_ops_with_a_repeated_first_batch():
    def build():
        model = nn.Linear(3, 1, dtype=np.float64)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            value = nn.functional.mse_loss(model(st.Tensor(x / 2)), y)
            value.backward()
            opt.step()
            return value.item()

        return model, opt, None, step

    assert _pair(build, inputs=lambda i: (X * (1 if i < 2 else i), REGRESSION))


def test_batchnorm_running_statistics_moved_between_eval_calls_are_seen():
    def build():
        model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64),
                              nn.Linear(4, 1, dtype=np.float64))
        opt = optim.Adam(model.parameters(), lr=0.01)
        model.eval()
        return model, opt, None, _training_step(model, opt, nn.functional.mse_loss)

    def change(i, model, opt, loss):
        if i >= 2:  # an eager forward in train mode between the calls moves the statistics
            model.train()
            with st.no_grad():
                model(st.Tensor(X * (i + 1)))
            model.eval()
        if i == 4:
            model[1].reset_running_stats()

    assert _pair(build, change, lambda i: (X, REGRESSION))


def test_large_arrays_of_the_buffer_pool_and_kept_outputs():
    """Arrays past the pool's threshold (64K elements): the same bits, and an output Tensor a
    caller keeps is not overwritten by later calls (eager or compiled)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 40)).astype(np.float32)
    y = rng.standard_normal((300, 1)).astype(np.float32)
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        model = nn.Sequential(nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.Tanh(),
                              nn.Linear(256, 1))
        opt = optim.Adam(model.parameters(), lr=1e-3, flat="views")
        copies.append((model, opt))

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            out = model(st.Tensor(x))
            value = nn.functional.mse_loss(out, y)
            value.backward()
            opt.step()
            return value.item(), out
        return step

    steps = [make(*copies[0]), st.compile(make(*copies[1]))]
    kept = [[], []]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for i in range(5):
            for c, step in enumerate(steps):
                value, out = step(x * (1 + i), y)
                kept[c].append((value, out, out.data.copy()))
    for eager, compiled in zip(*kept, strict=True):
        assert eager[0] == compiled[0]
        assert eager[2].tobytes() == compiled[2].tobytes()
    for c in range(2):
        assert all(out.data.tobytes() == copy.tobytes() for _, out, copy in kept[c])
    for a, b in zip(copies[0][0].parameters(), copies[1][0].parameters(), strict=True):
        assert a.data.tobytes() == b.data.tobytes()


def test_plain_sgd_settings_changed_outside_the_step():
    """The written-out plain SGD update gives way to optimizer.step() once momentum, decay,
    maximize or nesterov are set between calls."""
    def build():
        model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.ReLU(),
                              nn.Linear(8, 1, dtype=np.float64))
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model, opt, None, _training_step(model, opt, nn.functional.mse_loss)

    def change(i, model, opt, loss):
        group = opt.param_groups[0]
        group.update({3: {"momentum": 0.9}, 4: {"weight_decay": 0.01}, 5: {"maximize": True},
                      6: {"nesterov": True}, 7: {"lr": 0.05}}.get(i, {}))

    assert _pair(build, change, lambda i: (X * (1 + i % 2), REGRESSION), calls=9)
