"""RAdam, Rprop, ASGD, Adafactor, Lion and ScheduleFreeAdamW: argument checks and behaviour the
golden trajectories (tests/optim/test_optim_golden.py) do not show."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import optim


def _w(shape=(3,)):
    return st.tensor(np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape) + 0.3,
                     requires_grad=True)


@pytest.mark.parametrize("cls, kwargs, message", [
    (optim.RAdam, {"betas": (0.9, 1.0)}, r"RAdam: betas\[1\] must be in \[0, 1\)"),
    (optim.RAdam, {"eps": 0.0}, "RAdam: eps must be in"),
    (optim.RAdam, {"weight_decay": -1.0}, "RAdam: weight_decay must be in"),
    (optim.Rprop, {"etas": (1.2, 0.5)}, "Rprop: etas must be .* 0 < eta_minus < 1 < eta_plus"),
    (optim.Rprop, {"etas": (0.5, 1.0)}, "eta_plus"),
    (optim.Rprop, {"step_sizes": (1.0, 0.1)}, r"Rprop: step_sizes must be \(min, max\)"),
    (optim.Rprop, {"step_sizes": 3}, "Rprop: step_sizes must be a pair"),
    (optim.ASGD, {"lambd": -1.0}, "ASGD: lambd must be in"),
    (optim.ASGD, {"t0": -1.0}, "ASGD: t0 must be in"),
    (optim.Adafactor, {"beta2_decay": 0.5}, r"Adafactor: beta2_decay must be in \(-inf, 0\]"),
    (optim.Adafactor, {"eps": (-1.0, 1e-3)}, r"Adafactor: eps\[0\] must be in"),
    (optim.Adafactor, {"eps": 1e-3}, "Adafactor: eps must be a pair"),
    (optim.Adafactor, {"d": 0.5}, r"Adafactor: d must be in \[1"),
    (optim.Lion, {"betas": (1.0, 0.99)}, r"Lion: betas\[0\] must be in \[0, 1\)"),
    (optim.Lion, {"lr": -1.0}, "Lion: lr must be in"),
    (optim.ScheduleFreeAdamW, {"betas": (0.0, 0.999)}, r"betas\[0\] must be in \(0, 1\)"),
    (optim.ScheduleFreeAdamW, {"warmup_steps": -1}, "warmup_steps must be in"),
    (optim.ScheduleFreeAdamW, {"warmup_steps": 1.5}, "warmup_steps must be an integer"),
])
def test_bad_hyperparameters_name_the_parameter(cls, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cls([_w()], **kwargs)


def _steps(opt, w, n):
    for _ in range(n):
        opt.zero_grad()
        ((w - 1.0) ** 2).sum().backward()
        opt.step()


def test_rprop_starts_from_the_first_lr_and_ignores_later_changes():
    w = _w()
    opt = optim.Rprop([w], lr=st.schedules.parse("0.1/t"))
    _steps(opt, w, 1)
    np.testing.assert_allclose(opt.state[w]["step_size"], 0.1)  # lr(1), before any growth
    _steps(opt, w, 1)
    np.testing.assert_allclose(opt.state[w]["step_size"], 0.12)  # grown by eta_plus, not lr(2)


def test_rprop_does_not_move_a_coordinate_whose_gradient_changed_sign():
    w = st.tensor([0.95], requires_grad=True)
    opt = optim.Rprop([w], lr=0.1)
    _steps(opt, w, 1)  # 0.95 -> 1.05: overshoots
    _steps(opt, w, 1)
    assert w.data[0] == pytest.approx(1.05) and opt.state[w]["prev"][0] == 0.0


def test_asgd_average_is_the_iterate_before_t0_and_an_average_after():
    w = _w()
    opt = optim.ASGD([w], lr=0.05, t0=3.0)
    seen = []
    for _ in range(8):
        _steps(opt, w, 1)
        seen.append(w.data.copy())
    # update t uses mu_t = 1 / max(1, t - 1 - t0): 1 up to update t0 + 2 = 5 (the average is
    # the iterate), then 1/2, 1/3, 1/4: the mean of iterates 5 to 8
    np.testing.assert_allclose(opt.state[w]["ax"], np.mean(seen[4:], axis=0), rtol=1e-12)


def test_adafactor_keeps_factors_for_a_matrix_and_a_full_buffer_for_a_vector():
    matrix, vector = _w((4, 3)), _w((5,))
    opt = optim.Adafactor([matrix, vector])
    _steps(opt, matrix, 1)
    opt.zero_grad()
    ((vector - 1.0) ** 2).sum().backward()
    opt.step()
    assert opt.state[matrix]["row_var"].shape == (4, 1)
    assert opt.state[matrix]["col_var"].shape == (1, 3)
    assert set(opt.state[vector]) == {"step", "variance"}


def test_adafactor_refuses_a_saved_factor_of_the_wrong_shape():
    w = _w((4, 3))
    opt = optim.Adafactor([w])
    _steps(opt, w, 2)
    saved = opt.state_dict()
    saved["state"][0]["row_var"] = np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"state\[0\]\['row_var'\] has shape \(3, 1\); this "
                                         r"parameter's factor has shape \(4, 1\)"):
        optim.Adafactor([_w((4, 3))]).load_state_dict(saved)
    saved["state"][0]["row_var"] = -np.ones((4, 1))
    with pytest.raises(ValueError, match="averages squares"):
        optim.Adafactor([_w((4, 3))]).load_state_dict(saved)


def test_lion_moves_every_coordinate_by_exactly_lr():
    w = _w()
    before = w.data.copy()
    opt = optim.Lion([w], lr=0.01)
    _steps(opt, w, 1)
    np.testing.assert_allclose(np.abs(w.data - before), 0.01, rtol=1e-12)


def test_schedule_free_state_dict_keeps_the_mode_and_the_average():
    w = _w()
    opt = optim.ScheduleFreeAdamW([w], lr=0.05)
    _steps(opt, w, 5)
    opt.eval()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["train_mode"] is False
    fresh_w = _w()
    fresh_w.data[...] = w.data
    other = optim.ScheduleFreeAdamW([fresh_w], lr=0.05)
    other.load_state_dict(saved)
    other.train()
    opt.train()
    np.testing.assert_array_equal(fresh_w.data, w.data)


@pytest.mark.parametrize("name", ["radam", "rprop", "asgd", "adafactor", "lion",
                                  "schedule_free_adamw"])
def test_float32_parameters_stay_float32(name):
    w = st.tensor(np.array([[0.5, -1.0], [2.0, 0.1]], dtype=np.float32), requires_grad=True)
    opt = optim.create(name, [w])
    _steps(opt, w, 3)
    assert w.data.dtype == np.float32
    for value in opt.state[w].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
