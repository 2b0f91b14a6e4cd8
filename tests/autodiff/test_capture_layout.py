"""st.compile's fast paths: the flat layout of plain SGD groups (``autodiff._layout``),
guards that cost less, and the hot call (the last replay's key, checked without building it).

A replayed plain-SGD step writes each weight gradient into a view of one flat gradient array
and updates the whole group in two NumPy calls, on parameters whose arrays are views into one
flat array. These tests check that this happens where nothing outside holds the arrays, that it
never happens where something does (a kept ``p.data``, a gradient kept from the last step), and
that every step stays bitwise the eager step either way.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn, optim
from steepest.autodiff.capture import CaptureWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_capture import _assert_same, _compare, _replays  # noqa: E402
from test_capture_inline import _data, _network, _pair, _plain_step  # noqa: E402


def _flat_base(model):
    """The one array every parameter's array is a view of, or None."""
    bases = {id(p.data.base) if p.data.base is not None else None for p in model.parameters()}
    if len(bases) != 1 or None in bases:
        return None
    return next(iter(model.parameters())).data.base


def _copies(build, n=2, seed=0):
    """``n`` copies of ``build()`` from the same seed: one to run eagerly, one compiled."""
    copies = []
    for _ in range(n):
        st.manual_seed(seed)
        copies.append(build())
    return copies


def _run(build, steps, batches, keep=None):
    """Eager and compiled copies of ``build()``, stepped through ``batches``, compared bitwise
    after every step; ``keep(i, model)`` runs on both after step ``i``. Returns both models
    and the compiled step."""
    (m1, o1), (m2, o2) = _copies(build)
    eager, compiled = steps(m1, o1), st.compile(steps(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for i, (x, y) in enumerate(batches):
            _assert_same(eager(x, y), compiled(x, y), f"loss of step {i}")
            _compare(m1, m2, o1, o2)
            if keep is not None:
                keep(i, m1)
                keep(i, m2)
    assert _replays(compiled)
    return m1, m2, compiled


def _sgd_net(sizes=(3, 5, 4, 2), dtype=np.float64, bias=True, lr=0.05):
    def build():
        model = _network(list(sizes), "tanh", dtype, bias)
        return model, optim.SGD(model.parameters(), lr=lr)
    return build


@settings(max_examples=25, deadline=None)
@given(widths=hs.lists(hs.integers(1, 9), min_size=2, max_size=4), batch=hs.integers(1, 7),
       activation=hs.sampled_from(["tanh", "relu"]), bias=hs.booleans(),
       dtype=hs.sampled_from([np.float32, np.float64]))
def test_plain_sgd_is_laid_out_flat_and_stays_bitwise(widths, batch, activation, bias, dtype):
    def build():
        model = _network(widths, activation, dtype, bias)
        return model, optim.SGD(model.parameters(), lr=0.05)

    m1, m2, step = _run(build, _plain_step, _data(widths[0], widths[-1], dtype, [batch] * 6))
    flat = _flat_base(m2)
    assert flat is not None and flat.dtype == dtype, "the compiled copy was not laid out"
    assert all(p.grad.base is not None for p in m2.parameters()), "gradients not written flat"
    assert _flat_base(m1) is None  # eager SGD keeps its arrays
    assert ".ready()" in step.source and "out=" in step.source


def test_a_parameter_array_held_elsewhere_is_never_replaced():
    held = []

    def keep_first(model_opt):
        model, opt = model_opt
        held.append(model[0].weight.data)  # a user's reference to the array
        return model, opt

    build = _sgd_net()
    m1, m2, _ = _run(lambda: keep_first(build()), _plain_step, _data(3, 2, np.float64, [4] * 8))
    assert held[1] is m2[0].weight.data, "the array a user holds was replaced"
    assert np.array_equal(held[1], held[0])  # and it saw every update, as eagerly
    assert _flat_base(m2) is None


def test_gradients_kept_from_the_last_step_are_left_as_they_were():
    kept = {}

    def keep(i, model):
        snapshots = kept.setdefault(id(model), [])
        snapshots.append([(p.grad, p.grad.copy()) for p in model.parameters()])

    m1, m2, _ = _run(_sgd_net(), _plain_step, _data(3, 2, np.float64, [4] * 8), keep)
    for model in (m1, m2):
        for step in kept[id(model)]:
            for array, values in step:
                assert np.array_equal(array, values), "a kept gradient changed afterwards"
    assert _flat_base(m2) is not None  # laid out all the same (new gradient arrays each step)


def test_a_step_that_returns_a_gradient():
    def steps(model, opt):
        inner = _plain_step(model, opt)

        def step(x, y):
            inner(x, y)
            return model[0].weight.grad
        return step

    build = _sgd_net()
    (m1, o1), (m2, o2) = _copies(build)
    eager, compiled = steps(m1, o1), st.compile(steps(m2, o2))
    returned = []
    for x, y in _data(3, 2, np.float64, [4] * 8):
        a, b = eager(x, y), compiled(x, y)
        _assert_same(a, b, "returned gradient")
        returned.append((b, b.copy()))
        _compare(m1, m2, o1, o2)
    for array, values in returned:
        assert np.array_equal(array, values)


def test_zero_grad_to_zeros_and_clipping_between_backward_and_step():
    def steps(model, opt):
        def step(x, y):
            opt.zero_grad(set_to_none=False)
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            return loss
        return step

    _run(_sgd_net(), steps, _data(3, 2, np.float64, [4] * 8))

    def clipped(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            return loss
        return step

    _, m2, _ = _run(_sgd_net(), clipped, _data(3, 2, np.float64, [4] * 8))
    assert _flat_base(m2) is not None


def test_two_groups_and_a_group_of_two_dtypes():
    def build():
        model = _network([3, 5, 2], "tanh", np.float64)
        first, second = model[0], model[2]
        return model, optim.SGD([{"params": first.parameters()},
                                 {"params": second.parameters(), "lr": 0.01}], lr=0.05)

    _, m2, _ = _run(build, _plain_step, _data(3, 2, np.float64, [4] * 6))
    first, second = m2[0], m2[2]
    assert first.weight.data.base is first.bias.data.base is not None
    assert second.weight.data.base is second.bias.data.base is not None
    assert first.weight.data.base is not second.weight.data.base

    def mixed():
        model = _network([3, 5, 2], "tanh", np.float64)
        model[2].bias.data = model[2].bias.data.astype(np.float32)
        return model, optim.SGD(model.parameters(), lr=0.05)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32 + float64 promotion is NumPy's
        _, m2, _ = _run(mixed, _plain_step, _data(3, 2, np.float64, [4] * 6))
    assert _flat_base(m2) is None


def test_reloaded_weights_and_a_changed_rate_stay_bitwise():
    def between(i, parts):
        model, opt = parts
        if i == 3:  # a checkpoint's weights: load_state_dict may give the arrays anew
            model.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
        if i == 5:
            opt.param_groups[0]["lr"] = 0.01
        if i == 6:
            model[0].weight.data = model[0].weight.data.copy()  # a user rebinds an array

    step = _pair(_sgd_net(), _plain_step, _data(3, 2, np.float64, [4] * 10), between)
    assert ".ready()" in step.source


def test_the_layout_survives_an_eager_step_in_between():
    build = _sgd_net()
    (m1, o1), (m2, o2) = _copies(build)
    e1, compiled = _plain_step(m1, o1), st.compile(_plain_step(m2, o2))
    e2 = _plain_step(m2, o2)
    for i, (x, y) in enumerate(_data(3, 2, np.float64, [4] * 10)):
        a = e1(x, y)
        b = e2(x, y) if i % 3 == 2 else compiled(x, y)  # an eager step on the laid-out model
        _assert_same(a, b, f"loss of step {i}")
        _compare(m1, m2, o1, o2)
    assert _flat_base(m2) is not None


# --------------------------------------------------------------------------- cheaper guards
def test_linear_sizes_are_not_guards_but_a_subclass_reading_them_is_guarded():
    class Scaled(nn.Linear):
        def forward(self, x):  # reads in_features: a setting its replay must guard
            return super().forward(x) * (1.0 / self.in_features)

    for layer_type, guarded in ((nn.Linear, False), (Scaled, True)):
        st.manual_seed(0)
        model = nn.Sequential(layer_type(3, 2, dtype=np.float64))
        opt = optim.SGD(model.parameters(), lr=0.05)
        step = st.compile(_plain_step(model, opt))
        for x, y in _data(3, 2, np.float64, [4] * 3):
            step(x, y)
        assert ("in_features" in step.source) is guarded, layer_type
        model[0].in_features = 7  # a user's edit: steers only the subclass's forward
        with warnings.catch_warnings():
            warnings.simplefilter("error", CaptureWarning)
            x, y = next(_data(3, 2, np.float64, [4]))
            before = [e for group in step._table.values() for e in group]
            step(x, y)
            after = [e for group in step._table.values() for e in group]
        assert (len(after) > len(before)) is guarded, "re-recorded when a guarded size changed"


# --------------------------------------------------------------------------- the hot call
def test_the_hot_call_hands_over_when_the_signature_or_grad_mode_changes():
    build = _sgd_net()
    (m1, o1), (m2, o2) = _copies(build)
    eager, compiled = _plain_step(m1, o1), st.compile(_plain_step(m2, o2))
    rng = np.random.default_rng(0)
    plan = [4, 4, 4, 4, 3, 3, 3, 4, 4, "f32", "f32", 4, "no_grad", 4, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        warnings.filterwarnings("ignore", "element 0 of tensors does not require grad")
        for i, what in enumerate(plan):
            n = 4 if not isinstance(what, int) else what
            dtype = np.float32 if what == "f32" else np.float64
            x = rng.standard_normal((n, 3)).astype(dtype)
            y = rng.standard_normal((n, 2)).astype(dtype)
            if what == "no_grad":  # backward then refuses, eagerly and compiled alike
                with st.no_grad():
                    errors = []
                    for step in (eager, compiled):
                        try:
                            step(x, y)
                        except RuntimeError as error:
                            errors.append(str(error))
                    assert len(errors) in (0, 2), errors
            else:
                _assert_same(eager(x, y), compiled(x, y), f"loss of step {i}")
            _compare(m1, m2, o1, o2)
    assert compiled._hot is not None and compiled._hot.arrays[0][0] == (4, 3)
    assert len(compiled._table) >= 3  # (4, 3), (3, 3) and float32 recorded apart
