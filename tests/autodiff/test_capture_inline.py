"""st.compile's in-line lines: ops written as NumPy expressions, plain SGD written out.

A replay writes the forward and derivative rules of linear, relu, tanh and mse as the NumPy
lines their functions evaluate (``autodiff._inline``), and plain SGD's update as lines under a
live condition (``SGD._replay_form``). These tests check that the lines are really used (the
source shows them), that every step stays bitwise the eager step, and that each way out (a
writer that does not match its function, a condition that stops holding) falls back to the call
without changing a result.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import kernels, nn, optim, schedules
from steepest.autodiff import _inline
from steepest.autodiff.capture import CaptureWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_capture import _assert_same, _compare, _mse_step, _replays  # noqa: E402

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _versions(model):
    return [p._vc[0] for p in model.parameters()]  # [1] is a process-wide epoch


def _pair(build, steps, batches, between=None):
    """Run ``steps`` on two copies of ``build()``: eagerly and compiled; compare every step
    bitwise (losses, parameters, gradients, optimizer state, version counters). ``between(i,
    parts)`` may change both copies' settings before step ``i``. Returns the compiled step."""
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        copies.append(build())
    (m1, o1), (m2, o2) = copies
    eager, compiled = steps(m1, o1), st.compile(steps(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for i, (x, y) in enumerate(batches):
            if between is not None:
                between(i, (m1, o1))
                between(i, (m2, o2))
            a, b = eager(x, y), compiled(x, y)
            _assert_same(a, b, f"loss of step {i}")
            _compare(m1, m2, o1, o2)
            assert _versions(m1) == _versions(m2), f"version counters after step {i}"
            for g1, g2 in zip(o1.param_groups, o2.param_groups, strict=True):
                assert (g1["num_updates"], g1["last_lr"]) == (g2["num_updates"], g2["last_lr"])
    assert _replays(compiled)
    return compiled


_plain_step = _mse_step  # zero_grad, MSE loss, backward, step: as a user writes it


def _accumulating_step(model, opt):
    """The step without zero_grad: each gradient is a sum over the steps so far."""
    return _mse_step(model, opt, zero_grad=lambda: None)


def _data(n_in, n_out, dtype, sizes, seed=3, target_shape=None):
    rng = np.random.default_rng(seed)
    for n in sizes:
        x = rng.standard_normal((n, n_in)).astype(dtype)
        y = rng.standard_normal(target_shape(n) if target_shape else (n, n_out)).astype(dtype)
        yield x, y


def _network(sizes, activation, dtype, bias=True):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b, bias=bias, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- ops in line
@settings(max_examples=25, deadline=None)
@given(widths=hs.lists(hs.integers(1, 9), min_size=2, max_size=4),
       batch=hs.integers(1, 7), activation=hs.sampled_from(sorted(ACTIVATIONS)),
       dtype=hs.sampled_from([np.float32, np.float64]), bias=hs.booleans(),
       optimizer=hs.sampled_from(["sgd", "adam"]))
def test_inlined_networks_replay_the_eager_step_bitwise(widths, batch, activation, dtype, bias,
                                                        optimizer):
    def build():
        model = _network(widths, activation, dtype, bias)
        make = optim.SGD if optimizer == "sgd" else optim.Adam
        return model, make(model.parameters(), lr=0.05)

    step = _pair(build, _plain_step, _data(widths[0], widths[-1], dtype, [batch] * 5))
    source = step.source
    for call in ("F_linear", "R0_linear", "R1_linear", "F_mse_loss", "R0_mse_loss",
                 "R0_tanh", "R0_relu", "F_relu"):
        assert call not in source, f"{call} was not written in line"
    assert ".T @" in source


def test_mse_against_a_broadcast_target_stays_bitwise():
    # ops.mse_loss broadcasts (nn.MSELoss refuses): (n, 1) outputs and a (1, n) target give
    # (n, n) differences, which the lines take as the function takes them
    def build():
        model = _network([3, 4, 1], "tanh", np.float64)
        return model, optim.SGD(model.parameters(), lr=0.01)

    def steps(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = st.autodiff.ops.mse_loss(model(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss
        return step

    step = _pair(build, steps, _data(3, 1, np.float64, [5] * 4, target_shape=lambda n: (1, n)))
    assert "R0_mse_loss" not in step.source


def test_a_writer_that_does_not_match_its_function_keeps_the_call(monkeypatch):
    wrong = lambda out, names, values, kwargs, new: [f"{out} = _np_maximum({names[0]}, 1)"]  # noqa: E731
    monkeypatch.setitem(_inline._FORWARDS, "relu", wrong)

    def build():
        model = _network([3, 6, 2], "relu", np.float64)
        return model, optim.SGD(model.parameters(), lr=0.05)

    step = _pair(build, _plain_step, _data(3, 2, np.float64, [4] * 5))
    assert "F_relu(" in step.source and "_np_maximum(" not in step.source


def test_large_arrays_keep_the_pooled_calls():
    from steepest.autodiff import pool

    def build():
        model = _network([pool.threshold // 8 + 1, 8, 2], "relu", np.float32)
        return model, optim.SGD(model.parameters(), lr=0.01)

    step = _pair(build, _plain_step, _data(pool.threshold // 8 + 1, 2, np.float32, [16] * 3))
    assert "F_linear(" in step.source  # the input is above the pool's threshold


@pytest.mark.skipif(not kernels.numba_available(), reason="numba is not installed")
def test_kernels_keep_the_calls():
    def build():
        model = _network([3, 6, 2], "relu", np.float32)
        return model, optim.SGD(model.parameters(), lr=0.05)

    before = kernels.current()
    kernels.set_kernels("numba")
    try:
        step = _pair(build, _plain_step, _data(3, 2, np.float32, [4] * 4))
    finally:
        kernels.set_kernels(before)
    assert "R0_relu(" in step.source and "bump(" not in step.source


# --------------------------------------------------------------------------- SGD in line
def _sgd(lr=0.05, **options):
    def build():
        model = _network([3, 5, 2], "tanh", np.float64)
        return model, optim.SGD(model.parameters(), lr=lr, **options)
    return build


def _batches(n=8):
    return _data(3, 2, np.float64, [4] * n)


def test_plain_sgd_is_written_out_and_bitwise():
    step = _pair(_sgd(), _plain_step, _batches())
    assert "_bump(" in step.source and "if " in step.source


def test_sgd_reads_its_rate_live():
    def between(i, parts):
        parts[1].param_groups[0]["lr"] = 0.05 / (1 + i)
    _pair(_sgd(), _plain_step, _batches(), between)


def test_sgd_settings_changed_after_recording_take_the_call():
    changes = {3: ("momentum", 0.9), 5: ("weight_decay", 0.01), 6: ("maximize", True)}

    def between(i, parts):
        if i in changes:
            key, value = changes[i]
            parts[1].param_groups[0][key] = value
    _pair(_sgd(), _plain_step, _batches(), between)


def test_sgd_with_a_scheduler_and_a_state_dict_reload():
    def build():
        model, opt = _sgd()()
        return model, opt

    def steps(model, opt):
        scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        inner = _plain_step(model, opt)

        def step(x, y):
            loss = inner(x, y)
            scheduler.step()
            return loss
        return step

    def between(i, parts):
        if i == 4:  # a checkpoint reloaded: new group and state objects
            parts[1].load_state_dict(parts[1].state_dict())
    _pair(build, steps, _batches(), between)


def test_sgd_with_a_schedule_and_flat_buffers_take_the_call():
    step = _pair(_sgd(lr=schedules.Exponential(0.05, 0.9)), _plain_step, _batches(5))
    assert "_bump(" not in step.source
    step = _pair(_sgd(flat=True), _plain_step, _batches(5))
    assert "_bump(" not in step.source


def test_sgd_accumulating_gradients_takes_the_call():
    _pair(_sgd(lr=0.01), _accumulating_step, _batches())


def test_sgd_on_float64_gradients_of_float32_parameters_takes_the_call():
    # eager SGD casts such a gradient to the parameter's dtype before the update; written out,
    # the update would compute in float64: the lines apply only to the backward's own arrays
    def build():
        model = _network([3, 5, 2], "tanh", np.float32)
        for p in model.parameters():
            p.grad = np.zeros(p.shape, np.float64)
        return model, optim.SGD(model.parameters(), lr=0.05)

    _pair(build, _accumulating_step, _data(3, 2, np.float32, [4] * 6))  # float64 sums


def test_sgd_with_a_parameter_the_loss_does_not_reach():
    def build():
        model = _network([3, 5, 2], "tanh", np.float64)
        spare = st.Tensor(np.ones(3), requires_grad=True)
        return model, optim.SGD([*model.parameters(), spare], lr=0.05)
    step = _pair(build, _plain_step, _batches(5))
    assert "_bump(" not in step.source  # eager skips the spare parameter: so does the call


def test_sgd_with_a_parameter_swapped_in_its_group():
    def between(i, parts):
        if i == 4:
            params = parts[1].param_groups[0]["params"]
            params[0] = st.Tensor(params[0].data.copy(), requires_grad=True)
    _pair(_sgd(), _plain_step, _batches(), between)


def test_a_subclass_of_sgd_keeps_its_own_step():
    class HalvingSGD(optim.SGD):  # an override the written-out update would skip
        def step(self, closure=None):
            for p in self.param_groups[0]["params"]:
                p.grad = p.grad * 0.5
            return super().step(closure)

    def build():
        model = _network([3, 5, 2], "tanh", np.float64)
        return model, HalvingSGD(model.parameters(), lr=0.05)

    step = _pair(build, _plain_step, _batches(5))
    assert "_bump(" not in step.source  # the subclass's step is called on every replay
