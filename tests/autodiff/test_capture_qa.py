"""st.compile regressions from a QA round: Python values a replay used to keep stale, silently.

Each test runs an eager and a compiled copy of one step side by side and changes something
between calls that the eager step sees: the compiled one must see it too (record anew), or fall
back to eager with a CaptureWarning; it must never give other numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.autodiff.capture import CaptureWarning

RNG = np.random.default_rng(3)
X = RNG.standard_normal((8, 3))
Y = RNG.standard_normal((8, 1))


def _copies(build):
    out = []
    for _ in range(2):
        st.manual_seed(0)
        out.append(build())
    return out


def _linear():
    model = nn.Linear(3, 1, dtype=np.float64)
    return model, optim.SGD(model.parameters(), lr=0.1)


def _params(model):
    return [p.data.copy() for p in model.parameters()]


def _run(make_step, build=_linear, calls=6, change=None, expect=None):
    """Eager and compiled copies; ``change(i, copy_index)`` runs before call i."""
    (m1, o1), (m2, o2) = _copies(build)
    eager, compiled = make_step(m1, o1, 0), st.compile(make_step(m2, o2, 1))
    eager_out, compiled_out = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(calls):
            if change is not None:
                change(i, 0, m1, o1)
                change(i, 1, m2, o2)
            st.manual_seed(1000 + i)  # the same dropout masks in both copies
            eager_out.append(eager(X, Y))
            st.manual_seed(1000 + i)
            compiled_out.append(compiled(X, Y))
    assert eager_out == compiled_out
    for a, b in zip(_params(m1), _params(m2), strict=True):
        np.testing.assert_array_equal(a, b)
    messages = [str(w.message) for w in caught if issubclass(w.category, CaptureWarning)]
    if expect is None:
        assert messages == []
    else:
        assert any(expect in m for m in messages), messages
    return compiled


WEIGHT = [1.0, 1.0]  # one loss weight per copy, rebound as a global number would be


def test_a_closure_number_rebound_between_calls_records_anew():
    # the replay wrote `scale` as a literal; the compiled copy trained on with 1.0

    def make(model, opt, k):
        def step(x, y):
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y) * scale
            loss.backward()
            opt.step()
            return loss.item()
        scale = 1.0

        def rebind(value):
            nonlocal scale
            scale = value
        step.rebind = rebind
        return step

    (m1, o1), (m2, o2) = _copies(_linear)
    eager, raw = make(m1, o1, 0), make(m2, o2, 1)
    compiled = st.compile(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        out = []
        for i in range(6):
            if i == 3:
                eager.rebind(100.0)
                raw.rebind(100.0)
            out.append((eager(X, Y), compiled(X, Y)))
    assert all(a == b for a, b in out), out
    for a, b in zip(_params(m1), _params(m2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_global_number_rebound_between_calls_records_anew():
    def make(model, opt, k):
        def step(x, y):
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y) * GLOBAL_SCALE
            loss.backward()
            opt.step()
            return loss.item()
        return step

    def change(i, k, model, opt):
        global GLOBAL_SCALE
        GLOBAL_SCALE = 100.0 if i >= 3 else 1.0

    _run(make, change=change)


GLOBAL_SCALE = 1.0


class _Parts:
    """A network, its layers by name and its loss (a plain object: not a module tree)."""

    def __init__(self, net, parts, loss):
        self.net, self.parts, self.loss = net, parts, loss

    def parameters(self):
        return self.net.parameters()


@pytest.mark.parametrize("setting, value", [
    ("dropout.p", 0.0), ("leaky.negative_slope", 0.3), ("norm.eps", 1.0),
    ("loss.reduction", "sum"), ("loss.delta", 0.01), ("batchnorm.momentum", 0.9),
    ("batchnorm.momentum", None),
])
def test_a_module_setting_changed_between_calls_records_anew(setting, value):
    # the replay kept Dropout.p, HuberLoss.delta, MSELoss.reduction... of the recording
    def build():
        parts = {"dropout": nn.Dropout(0.5), "leaky": nn.LeakyReLU(0.01),
                 "norm": nn.LayerNorm(4, dtype=np.float64),
                 "batchnorm": nn.BatchNorm1d(4, dtype=np.float64)}
        net = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), parts["batchnorm"],
                            parts["leaky"], parts["norm"], parts["dropout"],
                            nn.Linear(4, 1, dtype=np.float64))
        return _Parts(net, parts, nn.HuberLoss(delta=1.0)), optim.SGD(net.parameters(), lr=0.1)

    def make(model, opt, k):
        def step(x, y):
            opt.zero_grad()
            loss = model.loss(model.net(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    owner, name = setting.split(".")

    def change(i, k, model, opt):
        if i == 3:
            target = model.loss if owner == "loss" else model.parts[owner]
            setattr(target, name, value)

    _run(make, build=build, change=change)


def test_a_loss_weight_array_rebound_between_calls_records_anew():
    def build():
        net = nn.Linear(3, 4, dtype=np.float64)
        loss = nn.CrossEntropyLoss(weight=np.ones(4))
        return _Parts(net, {}, loss), optim.SGD(net.parameters(), lr=0.1)
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])

    def make(model, opt, k):
        def step(x, y):
            opt.zero_grad()
            loss = model.loss(model.net(st.Tensor(x)), labels)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    def change(i, k, model, opt):
        if i == 3:
            model.loss.weight = np.array([1.0, 5.0, 0.2, 1.0])

    _run(make, build=build, change=change)


def test_an_lr_written_inside_the_step_from_a_variable_falls_back():
    # the same value written on the first two calls slipped past the verification
    config = [{"lr": 0.1}, {"lr": 0.1}]

    def make(model, opt, k):
        def step(x, y):
            opt.param_groups[0]["lr"] = config[k]["lr"]
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    def change(i, k, model, opt):
        if i == 3:
            config[k]["lr"] = 0.0

    _run(make, change=change, expect="the step's own code writes param_groups[...]['lr']")


@pytest.mark.parametrize("write", [
    lambda g: g.update(lr=0.1), lambda g: g.setdefault("extra", 1), lambda g: g.pop("extra", 0),
])
def test_other_writes_to_a_param_group_inside_the_step_fall_back(write):
    def make(model, opt, k):
        def step(x, y):
            write(opt.param_groups[0])
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    _run(make, calls=4, expect="the step's own code writes param_groups")


@pytest.mark.parametrize("branch", [
    lambda v, thr: v < thr, lambda v, thr: v * 2.0 < 2 * thr, lambda v, thr: max(v, thr) == v,
    lambda v, thr: bool(v > thr), lambda v, thr: round(v, 1) > thr, lambda v, thr: int(v) > 0,
    lambda v, thr: abs(-v) >= thr,
])
def test_a_branch_on_an_item_value_falls_back(branch):
    # `if loss.item() < thr: opt.step()` was frozen at the branch of the first two calls
    batches = [(RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1)) * s)
               for s in (0.1, 0.1, 0.1, 5.0, 0.1, 5.0)]
    (m1, o1), (m2, o2) = _copies(_linear)

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            if branch(loss.item(), 1.0):
                opt.step()
            return loss.item()
        return step

    eager, compiled = make(m1, o1), st.compile(make(m2, o2))
    with pytest.warns(CaptureWarning, match="a number read from a step value"):
        out = [(eager(x, y), compiled(x, y)) for x, y in batches]
    assert all(a == b for a, b in out)
    for a, b in zip(_params(m1), _params(m2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_item_value_returned_or_logged_still_replays():
    (model, opt), = _copies(_linear)[:1]
    seen = []

    @st.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x)), y)
        loss.backward()
        opt.step()
        value = loss.item()
        seen.append(value)  # logging: no comparison, no branch
        return {"loss": value, "pair": (value, 1)}

    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        results = [step(X, Y) for _ in range(5)]
    assert any(e.verified for entries in step._table.values() for e in entries)
    assert all(type(r["loss"]) is float and type(r["pair"][0]) is float for r in results)
    assert results[4]["loss"] < results[0]["loss"]


def test_arithmetic_on_an_item_value_used_in_an_op_falls_back():
    (m1, o1), (m2, o2) = _copies(_linear)

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            scaled = loss / (loss.item() * 2.0)  # a number from item(), changed in Python
            scaled.backward()
            opt.step()
            return loss.item()
        return step

    eager, compiled = make(m1, o1), st.compile(make(m2, o2))
    batches = [(RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1)) * s)
               for s in (1.0, 2.0, 3.0, 4.0)]
    with pytest.warns(CaptureWarning, match="computed from a step value"):
        out = [(eager(x, y), compiled(x, y)) for x, y in batches]
    assert all(a == b for a, b in out)
