"""steepest.optim against PyTorch: trajectories of tests/golden/optim, and state-dict round trips.

The golden files hold 100 steps of torch.optim (float64) for every optimizer with default and
non-default hyperparameters, two parameter groups and schedules, on a quadratic, Rosenbrock and a
small MLP (see tools/make_optim_golden.py, which also refuses cases too sensitive to rounding).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _optim_cases import arrays, case, cases, make_optimizer, make_params, manifest, run

import steepest as st

RTOL = 1e-9
OPTIMIZERS = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax", "NAdam"]
#: Added for issue 14 (tools/make_optim_more_golden.py): torch's, then Lion (optax) and
#: schedule-free AdamW (its authors' implementation, one case from optax).
MORE_OPTIMIZERS = ["RAdam", "Rprop", "ASGD", "Adafactor", "Lion", "ScheduleFreeAdamW"]


def assert_trajectory(actual: np.ndarray, expected: np.ndarray) -> None:
    # Relative 1e-9 per coordinate; the absolute floor (1e-12 of the trajectory's scale) only
    # matters for coordinates passing through zero.
    atol = 1e-12 * float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


def test_golden_set_covers_every_optimizer_problem_and_feature():
    names = {c["name"] for c in cases()}
    assert manifest()["steps"] == 100
    assert manifest()["torch_version"].startswith("2.")
    for optimizer in OPTIMIZERS:
        for problem in ("quadratic", "rosenbrock", "mlp"):
            assert f"{optimizer}-default-{problem}" in names
            assert f"{optimizer}-groups-{problem}" in names
    flags = {key for c in cases() for key, value in c["defaults"].items() if value is True}
    for c in cases():
        flags |= {key for key, value in (c["group1"] or {}).items() if value is True}
    assert {"nesterov", "amsgrad", "centered", "maximize", "decoupled_weight_decay"} <= flags
    assert any(isinstance(c["defaults"].get("lr"), dict) for c in cases())


@pytest.mark.parametrize("name", [c["name"] for c in cases()])
def test_trajectory_matches_pytorch(name):
    spec = case(name)
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    trajectory, losses = run(spec, params, opt, manifest()["steps"])
    assert_trajectory(trajectory, arrays()[f"{name}/params"])
    np.testing.assert_allclose(losses, arrays()[f"{name}/loss"][:-1], rtol=RTOL,
                               atol=1e-12 * float(np.max(np.abs(losses))))
    for p in params.values():
        assert p.data.dtype == np.float64


@pytest.mark.parametrize("name", ["SGD-momentum-quadratic", "SGD-groups-mlp",
                                  "SGD-momentum-rosenbrock"])
def test_textbook_momentum_equals_pytorch_form_under_a_constant_lr(name):
    spec = copy.deepcopy(case(name))
    spec["defaults"]["momentum_form"] = "textbook"
    params = make_params(spec["problem"])
    trajectory, _ = run(spec, params, make_optimizer(spec, params), 100)
    assert_trajectory(trajectory, arrays()[f"{name}/params"])


def _resumed(name: str, reload) -> tuple[np.ndarray, np.ndarray]:
    """40 uninterrupted steps, and 20 + (save, load into a fresh optimizer) + 20 steps."""
    spec = case(name)
    params = make_params(spec["problem"])
    straight, _ = run(spec, params, make_optimizer(spec, params), 40)

    params = make_params(spec["problem"])
    first = make_optimizer(spec, params)
    run(spec, params, first, 20)
    saved = reload(first.state_dict())
    fresh_params = make_params(spec["problem"])
    for fresh, trained in zip(fresh_params.values(), params.values(), strict=True):
        fresh.data[...] = trained.data
    second = make_optimizer(spec, fresh_params)
    second.load_state_dict(saved)
    resumed, _ = run(spec, fresh_params, second, 20)
    return straight, resumed


@pytest.mark.parametrize("name", [c["name"] for c in cases()
                                  if c["problem"] == "mlp" and "-default-" not in c["name"]])
def test_state_dict_round_trip_continues_the_run_exactly(name):
    straight, resumed = _resumed(name, copy.deepcopy)
    np.testing.assert_array_equal(resumed, straight[20:])
    assert_trajectory(straight, arrays()[f"{name}/params"][:41])


@pytest.mark.parametrize("optimizer", OPTIMIZERS + MORE_OPTIMIZERS)
def test_state_dict_round_trip_through_st_save_and_st_load(optimizer, tmp_path):
    io = pytest.importorskip("steepest.io")

    def through_a_file(state_dict):
        path = tmp_path / "optimizer.npz"
        io.save(state_dict, path)
        return io.load(path)

    straight, resumed = _resumed(f"{optimizer}-groups-rosenbrock", through_a_file)
    np.testing.assert_array_equal(resumed, straight[20:])


def test_state_dict_is_plain_data_and_a_copy():
    spec = case("Adam-schedule-quadratic")
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    run(spec, params, opt, 3)
    sd = opt.state_dict()

    def check_plain(value):
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for item in value.values():
                check_plain(item)
        elif isinstance(value, list):
            for item in value:
                check_plain(item)
        else:
            assert value is None or type(value) in (bool, int, float, str, np.ndarray), value

    check_plain(sd)
    assert sd["param_groups"][0]["lr_schedule"]["type"] == "warmup"
    assert type(sd["param_groups"][0]["lr"]) is float
    assert sd["param_groups"][0]["num_updates"] == 3
    buffer = sd["state"][0]["exp_avg"]
    buffer += 1.0  # the optimizer's own buffer must not change
    assert not np.shares_memory(buffer, opt.state[params["u"]]["exp_avg"])
    assert sd["state"][0]["step"] == 3 and isinstance(sd["state"][0]["step"], int)
    assert st.optim.Adam is type(opt)


def test_more_golden_cases_cover_each_new_optimizer_and_their_sources():
    more = [c for c in cases() if c["optimizer"] in MORE_OPTIMIZERS]
    names = {c["name"] for c in more}
    for optimizer in MORE_OPTIMIZERS:
        for problem in ("quadratic", "mlp"):
            assert f"{optimizer}-default-{problem}" in names
        for problem in ("quadratic", "rosenbrock", "mlp"):
            assert f"{optimizer}-groups-{problem}" in names
    sources = {c["optimizer"]: set() for c in more}
    for c in more:
        sources[c["optimizer"]].add(c["source"])
    assert sources["Lion"] == {"optax"}
    assert sources["ScheduleFreeAdamW"] == {"schedulefree", "optax"}
    assert all(sources[name] == {"torch"} for name in ("RAdam", "Rprop", "ASGD", "Adafactor"))
    assert "decoupled_weight_decay" in case("RAdam-decoupled_maximize-mlp")["defaults"]
    assert case("ScheduleFreeAdamW-warmup-mlp")["defaults"]["warmup_steps"] == 10


@pytest.mark.parametrize("name", [c["name"] for c in cases() if c["optimizer"] == "ASGD"])
def test_asgd_averaged_parameters_match_pytorch(name):
    spec = case(name)
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    run(spec, params, opt, manifest()["steps"])
    in_order = [p for group in opt.param_groups for p in group["params"]]  # as the tool saved it
    average = np.concatenate([opt.state[p]["ax"].ravel() for p in in_order])
    assert_trajectory(average, arrays()[f"{name}/ax"])
    if spec["defaults"].get("t0", 1e6) < 100:  # averaging began: the average is not the iterate
        assert not np.allclose(average, np.concatenate([p.data.ravel() for p in in_order]))


def test_schedule_free_eval_holds_the_average_and_train_restores_the_iterate():
    spec = case("ScheduleFreeAdamW-default-mlp")
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    run(spec, params, opt, 10)
    y = {k: p.data.copy() for k, p in params.items()}
    opt.eval()
    beta1 = opt.param_groups[0]["betas"][0]
    for k, p in params.items():
        z = opt.state[p]["z"]
        np.testing.assert_allclose(p.data, (y[k] - (1 - beta1) * z) / beta1, rtol=1e-12)
    with pytest.raises(RuntimeError, match="evaluation mode.*opt.train"):
        opt.step()
    opt.eval()  # a second call changes nothing
    opt.train()
    for k, p in params.items():
        np.testing.assert_allclose(p.data, y[k], rtol=1e-12, atol=1e-15)
