"""steepest.optim.lr_scheduler against PyTorch 2.13's lr and momentum sequences (to 1e-12), and
its state dicts, warnings and errors. Golden files: tools/make_lr_scheduler_golden.py."""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import schedules
from steepest.optim import lr_scheduler as L

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "optim"
MANIFEST = json.loads((GOLDEN / "lr_scheduler.json").read_text())
ARRAYS = np.load(GOLDEN / "lr_scheduler.npz")
CASES = {case["name"]: case for case in MANIFEST["cases"]}


def make_lambda(spec):
    kind = spec[0]
    if kind == "pow":
        return lambda e: spec[1] ** e
    if kind == "inv":
        return lambda e: 1.0 / (1.0 + spec[1] * e)
    if kind == "step":
        return lambda e: spec[2] ** (e // spec[1])
    raise ValueError(spec)


def build(spec, opt):
    kind, kwargs = spec["type"], dict(spec.get("kwargs", {}))
    if kind in ("SequentialLR", "ChainedScheduler"):
        members = [build(s, opt) for s in spec["schedulers"]]
        if kind == "SequentialLR":
            return L.SequentialLR(opt, members, milestones=spec["milestones"])
        return L.ChainedScheduler(members)
    if "lr_lambda" in kwargs:
        kwargs["lr_lambda"] = ([make_lambda(s) for s in kwargs["lr_lambda"]]
                               if isinstance(kwargs["lr_lambda"][0], list)
                               else make_lambda(kwargs["lr_lambda"]))
    return getattr(L, kind)(opt, **kwargs)


def make_optimizer(case):
    groups = [{"params": [st.tensor(np.zeros(2), requires_grad=True)], "lr": lr}
              for lr in case["lrs"]]
    if case["optimizer"] == "Adam":
        return st.optim.Adam(groups, betas=(0.9, 0.999))
    return st.optim.SGD(groups, momentum=0.9)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def record(opt, lrs, moms):
    lrs.append([g["lr"] for g in opt.param_groups])
    moms.append([momentum_of(g) for g in opt.param_groups])


def advance(case, scheds, i):
    for s in scheds:
        if "metrics" in case:
            s.step(case["metrics"][i])
        elif "epochs" in case:
            s.step(case["epochs"][i])
        else:
            s.step()


def run(case, restart_at=None):
    """The case's sequences; with restart_at, the optimizer and schedulers are rebuilt at that
    step from their state dicts (through st.save/st.load's plain data) and the run goes on."""
    opt = make_optimizer(case)
    lrs, moms, last = [], [], []
    with warnings.catch_warnings():
        # step(epoch) is deprecated, and a SequentialLR of a ChainedScheduler steps its members
        # before any optimizer step: both warn, as in PyTorch
        warnings.simplefilter("ignore")
        scheds = [build(spec, opt) for spec in case["schedulers"]]
        record(opt, lrs, moms)
        for i in range(case.get("steps", MANIFEST["steps"])):
            if i == restart_at:
                opt, scheds = restart(case, opt, scheds)
            opt.step()
            advance(case, scheds, i)
            record(opt, lrs, moms)
            last.append(scheds[-1].get_last_lr())
    return np.array(lrs), np.array(moms), np.array(last)


def restart(case, opt, scheds):
    """PyTorch's order of resuming: build the optimizer and its schedulers, then load the
    optimizer's state (which puts back the groups' lr) and the schedulers'."""
    opt_state, sched_states = opt.state_dict(), [s.state_dict() for s in scheds]
    fresh = make_optimizer({**case, "lrs": [1.0] * len(case["lrs"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rebuilt = [build(spec, fresh) for spec in case["schedulers"]]
    fresh.load_state_dict(opt_state)
    for s, state in zip(rebuilt, sched_states, strict=True):
        s.load_state_dict(state)
    return fresh, rebuilt


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequences_match_pytorch(name):
    case = CASES[name]
    lrs, moms, last = run(case)
    np.testing.assert_allclose(lrs, ARRAYS[f"{name}/lr"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, ARRAYS[f"{name}/momentum"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(last, ARRAYS[f"{name}/last_lr"], rtol=1e-12, atol=1e-15)
    assert lrs.shape[0] >= 101


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_continues_the_sequence(name, tmp_path):
    case = CASES[name]
    lrs, moms, _ = run(case, restart_at=37)
    np.testing.assert_allclose(lrs, ARRAYS[f"{name}/lr"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, ARRAYS[f"{name}/momentum"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["StepLR-0", "MultiStepLR-1", "SequentialLR-three",
                                  "ChainedScheduler-Linear-Cosine", "ReduceLROnPlateau-1",
                                  "CyclicLR-1", "OneCycleLR-2", "LambdaLR-per-group",
                                  "CosineAnnealingWarmRestarts-2"])
def test_state_dicts_survive_save_and_load(name, tmp_path):
    case = CASES[name]
    opt = make_optimizer(case)
    sched = build(case["schedulers"][0], opt)
    for i in range(20):
        opt.step()
        advance(case, [sched], i)
    st.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "c.st")
    saved = st.load(tmp_path / "c.st")
    other = make_optimizer(case)
    again = build(case["schedulers"][0], other)
    other.load_state_dict(saved["optimizer"])
    again.load_state_dict(saved["scheduler"])
    for i in range(20, 40):
        opt.step()
        other.step()
        advance(case, [sched], i)
        advance(case, [again], i)
        assert again.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in other.param_groups] == [g["lr"] for g in opt.param_groups]


# ---------------------------------------------------------------------- behaviour
def sgd(lr=0.1, **kwargs):
    return st.optim.SGD([st.tensor([1.0, 2.0], requires_grad=True)], lr=lr, **kwargs)


def test_the_group_lr_a_scheduler_sets_is_what_the_next_step_uses():
    p = st.tensor([1.0, -2.0], requires_grad=True)
    opt = st.optim.SGD([p], lr=0.1)
    sched = L.StepLR(opt, step_size=1, gamma=0.5)
    used = []
    for _ in range(3):
        p.grad = np.ones(2)
        before = p.data.copy()
        opt.step()
        used.append(float(before[0] - p.data[0]))
        sched.step()
    assert used == pytest.approx([0.1, 0.05, 0.025], rel=1e-12)
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_a_scheduler_refuses_an_optimizer_whose_lr_is_a_schedule():
    opt = st.optim.SGD([st.tensor([1.0], requires_grad=True)], lr=schedules.inverse_power(0.1))
    with pytest.raises(ValueError, match=r"StepLR: param group 0 of SGD takes its lr from the "
                                         r"schedule inverse_power.*Give lr= a number"):
        L.StepLR(opt, step_size=3)
    opt.param_groups[0]["lr_schedule"] = None  # hand the rate over: now a scheduler may move it
    L.StepLR(opt, step_size=3)


def test_a_schedule_added_after_the_scheduler_is_refused_at_its_step():
    opt = sgd()
    sched = L.ExponentialLR(opt, gamma=0.9)
    opt.param_groups[0]["lr_schedule"] = schedules.constant(0.1)
    opt.step()
    with pytest.raises(ValueError, match="ExponentialLR: param group 0"):
        sched.step()


def test_stepping_the_scheduler_before_the_optimizer_warns():
    opt = sgd()
    sched = L.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"before any optimizer.step\(\)"):
        sched.step()
    opt2 = sgd()
    sched2 = L.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_step_with_an_epoch_and_get_lr_outside_step_warn():
    opt = sgd()
    sched = L.StepLR(opt, step_size=2)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(4)
    assert sched.get_last_lr() == [pytest.approx(0.1 * 0.1 ** 2)]
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError, match="param group 0 has no 'initial_lr'"):
        L.StepLR(sgd(), step_size=2, last_epoch=5)
    opt = sgd()
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = L.ExponentialLR(opt, gamma=0.5, last_epoch=3)
    assert sched.last_epoch == 4 and sched.base_lrs == [1.0]


def test_cycle_momentum_needs_momentum_or_betas():
    opt = st.optim.Adagrad([st.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with a "
                                         "'momentum' or 'betas'"):
        L.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    L.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_cycled_momentum_changes_the_sgd_update():
    p = st.tensor([1.0], requires_grad=True)
    opt = st.optim.SGD([p], lr=0.1, momentum=0.0)
    sched = L.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2)
    assert opt.param_groups[0]["momentum"] == 0.9
    for _ in range(2):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    assert opt.state[p]["momentum_buffer"] is not None


def test_onecycle_past_its_total_steps_raises():
    opt = sgd(momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=0.5, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="stepped 4 times; the schedule has total_steps=3"):
        opt.step()
        sched.step()


@pytest.mark.parametrize("make, match", [
    (lambda o: L.StepLR(o, step_size=0), "StepLR: step_size must be"),
    (lambda o: L.StepLR(o, step_size=2, gamma=-1.0), "StepLR: gamma must be"),
    (lambda o: L.LinearLR(o, start_factor=0.0), "LinearLR: start_factor must be in"),
    (lambda o: L.ConstantLR(o, factor=1.5), "ConstantLR: factor must be in"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=0), "T_0 must be"),
    (lambda o: L.CyclicLR(o, 0.01, 0.1, mode="saw"), "CyclicLR: mode must be one of"),
    (lambda o: L.OneCycleLR(o, max_lr=0.1), "give total_steps, or epochs and steps_per_epoch"),
    (lambda o: L.ReduceLROnPlateau(o, factor=1.0), "ReduceLROnPlateau: factor must be in"),
    (lambda o: L.ReduceLROnPlateau(o, mode="best"), "ReduceLROnPlateau: mode must be one of"),
    (lambda o: L.LambdaLR(o, [lambda e: 1.0] * 2), "lr_lambda has 2 values, the optimizer has 1"),
    (lambda o: L.MultiplicativeLR(o, 0.5), "lr_lambda must be a function"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]), "one milestone fewer"),
    (lambda o: L.ChainedScheduler([L.StepLR(o, 2), L.ReduceLROnPlateau(o)]), "ReduceLROnPlateau"),
    (lambda o: L.StepLR("sgd", 2), "optimizer must be a steepest.optim.Optimizer"),
])
def test_bad_arguments_name_the_parameter(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make(sgd(momentum=0.9))


def test_schedulers_of_another_optimizer_are_refused():
    a, b = sgd(), sgd()
    with pytest.raises(ValueError, match="belongs to another optimizer"):
        L.SequentialLR(a, [L.StepLR(a, 2), L.StepLR(b, 2)], milestones=[3])


def test_bad_state_dict_says_what_differs():
    sched = L.StepLR(sgd(), step_size=2)
    state = sched.state_dict()
    with pytest.raises(ValueError, match=r"unknown \['gama'\], missing \['gamma'\]"):
        sched.load_state_dict({**{k: v for k, v in state.items() if k != "gamma"}, "gama": 0.1})
    with pytest.raises(TypeError, match="expected a dict"):
        sched.load_state_dict([1, 2])


def test_a_torch_shaped_state_dict_loads():
    sched = L.MultiStepLR(sgd(), milestones=[2, 4], gamma=0.5)
    state = sched.state_dict()
    state.update({"_is_initial": False, "_get_lr_called_within_step": False, "last_epoch": 3})
    sched.load_state_dict(state)
    assert sched.last_epoch == 3 and sched.milestones == {2: 1, 4: 1}


def test_reduce_on_plateau_reduces_after_patience():
    opt = sgd(lr=1.0)
    sched = L.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for value in [1.0, 1.0, 1.0, 1.0]:
        sched.step(value)
    assert opt.param_groups[0]["lr"] == 0.5 and sched.get_last_lr() == [0.5]
    with pytest.raises(TypeError, match="metrics must be a number"):
        sched.step("low")


def test_cosine_annealing_reaches_eta_min_at_T_max():
    opt = sgd(lr=1.0)
    sched = L.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    for _ in range(10):
        opt.step()
        sched.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.1, rel_tol=1e-12)


def test_training_with_a_scheduler_through_fit_style_loop_changes_the_result():
    x = st.tensor([3.0], requires_grad=True)
    opt = st.optim.SGD([x], lr=0.1)
    sched = L.ExponentialLR(opt, gamma=0.5)
    for _ in range(5):
        opt.zero_grad()
        (x * x).sum().backward()
        opt.step()
        sched.step()
    expected = 3.0
    for k in range(5):
        expected *= 1 - 2 * 0.1 * 0.5 ** k
    assert math.isclose(float(x.data[0]), expected, rel_tol=1e-12)


def test_a_copied_optimizer_steps_itself_and_records_its_own_calls():
    import copy
    p = st.tensor([1.0], requires_grad=True)
    opt = st.optim.SGD([p], lr=0.1)
    L.StepLR(opt, step_size=2)
    twin = copy.deepcopy(opt)
    twin.param_groups[0]["params"][0].grad = np.ones(1)
    twin.step()
    assert p.data[0] == 1.0 and twin.param_groups[0]["params"][0].data[0] == pytest.approx(0.9)
    assert getattr(twin, "_opt_called", False) and not getattr(opt, "_opt_called", False)


def test_every_optimizer_records_its_step_calls():
    for name, cls in st.optim.OPTIMIZERS.items():
        assert getattr(cls.step, "_marks_steps", False), name


@pytest.mark.parametrize("name", sorted(MANIFEST["trajectories"]))
def test_scheduled_trajectories_match_pytorch(name):
    spec = MANIFEST["trajectories"][name]
    d = np.array(MANIFEST["curvatures"])
    x = st.tensor(np.array(MANIFEST["x0"]), requires_grad=True)
    options = dict(spec["options"])
    opt = getattr(st.optim, spec["optimizer"])([x], **options)
    sched = build(spec["scheduler"], opt)
    path = [x.data.copy()]
    for _ in range(MANIFEST["trajectory_steps"]):
        x.grad = d * x.data
        opt.step()
        if spec["scheduler"]["type"] == "ReduceLROnPlateau":
            sched.step(float((d * x.data ** 2).sum() / 2) + 1.0)
        else:
            sched.step()
        path.append(x.data.copy())
    np.testing.assert_allclose(np.array(path), ARRAYS[f"trajectory/{name}"], rtol=1e-9,
                               atol=1e-12)


def test_a_schedule_expressed_as_lambda_lr_gives_the_same_rates():
    # docs/schedulers.md: LambdaLR(opt, lambda epoch: schedule(epoch + 1) / base_lr)
    schedule = schedules.warm_restarts(0.1, T_0=5, T_mult=2)
    opt = sgd(lr=0.1)
    sched = L.LambdaLR(opt, lambda epoch: schedule(epoch + 1) / 0.1)
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(30):
        opt.step()
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, schedule.values(31), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "torch_state" in c))
def test_pytorch_scheduler_state_dicts_load_and_continue(name):
    """PyTorch's own state dicts (saved at step resume_at by the tool, through JSON) load into
    steepest's schedulers, which then continue PyTorch's sequence."""
    case, start = CASES[name], MANIFEST["resume_at"]
    opt = make_optimizer(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheds = [build(spec, opt) for spec in case["schedulers"]]
    for group, saved in zip(opt.param_groups, case["torch_state"]["groups"], strict=True):
        group.update({k: tuple(v) if k == "betas" else v for k, v in saved.items()})
    for sched, state in zip(scheds, case["torch_state"]["schedulers"], strict=True):
        sched.load_state_dict(state)
    lrs, moms = [], []
    for i in range(start, MANIFEST["steps"]):
        opt.step()
        advance(case, scheds, i)
        record(opt, lrs, moms)
    np.testing.assert_allclose(lrs, ARRAYS[f"{name}/lr"][start + 1:], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, ARRAYS[f"{name}/momentum"][start + 1:], rtol=1e-12,
                               atol=1e-15)


def _chained_cosine(lr=0.05281475737516065):
    """QA's case: ExponentialLR and CosineAnnealingLR (its recursive form) on one optimizer."""
    p = st.tensor(np.zeros(2), requires_grad=True)
    opt = st.optim.SGD([p], lr=lr, momentum=0.9)
    scheds = [L.ExponentialLR(opt, 0.942652752164824), L.CosineAnnealingLR(opt, 10, 0.00929518505444837)]
    return p, opt, scheds


def test_a_negative_lr_from_chained_schedulers_is_taken_as_torch_takes_it_with_one_warning():
    # torch 2.13's recurrence crosses zero here: at step 18 its group lr is
    # -0.00045751476965961123 (not a rounding error), and torch.optim.SGD steps with it; steepest
    # used to raise ValueError at opt.step()
    p, opt, scheds = _chained_cosine()
    rates = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(40):
            p.grad = np.array([1.0, -0.5]) * (k + 1)
            before = p.data.copy()
            opt.step()
            lr = opt.param_groups[0]["lr"]
            buffer = opt.state[p]["momentum_buffer"]
            np.testing.assert_allclose(p.data, before - lr * buffer, rtol=1e-15, atol=1e-17)
            rates.append(lr)
            for s in scheds:
                s.step()
    assert rates[18] == -0.00045751476965961123
    assert sum(r < 0 for r in rates) == 7
    negative = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(negative) == 1  # once per group
    assert "scheduler set lr=-0.00045751476965961123 < 0" in str(negative[0].message)
    assert negative[0].filename == __file__  # it points at the opt.step() line


def test_a_hand_written_negative_lr_is_still_refused_after_a_scheduler():
    p, opt, scheds = _chained_cosine()
    for _ in range(19):  # the scheduler's negative value, then one written by hand
        p.grad = np.ones(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            opt.step()
        for s in scheds:
            s.step()
    assert opt.param_groups[0]["lr"] < 0
    copied = copy.deepcopy(opt)  # a copy keeps what its scheduler wrote
    copied.param_groups[0]["params"][0].grad = np.ones(2)
    with pytest.warns(RuntimeWarning, match="scheduler set lr="):
        copied.step()
    opt.param_groups[0]["lr"] = -0.01
    with pytest.raises(ValueError, match=r"param group 0: lr must be a finite number >= 0"):
        opt.step()
    with pytest.raises(ValueError, match=r"lr must be in \[0, inf\)"):
        st.optim.SGD([st.tensor(np.zeros(1), requires_grad=True)], lr=-0.01)


def test_a_checkpoint_taken_after_a_scheduler_went_negative_loads_and_resumes(tmp_path):
    # a state dict can hold a scheduler's negative lr; loading it used to raise "lr must be in
    # [0, inf)", so a run checkpointed there could not resume
    def run(steps, start, p, opt, scheds):
        for k in range(start, start + steps):
            p.grad = np.array([1.0, -0.5]) * (k + 1)
            opt.step()
            for s in scheds:
                s.step()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p, opt, scheds = _chained_cosine()
        run(19, 0, p, opt, scheds)
        assert opt.param_groups[0]["lr"] < 0
        st.save({"opt": opt.state_dict(), "p": p.data,
                 "scheds": [s.state_dict() for s in scheds]}, tmp_path / "ckpt.npz")
        run(5, 19, p, opt, scheds)
    loaded = st.load(tmp_path / "ckpt.npz")
    assert loaded["opt"]["param_groups"][0]["lr_from_scheduler"] is True
    q, resumed, resumed_scheds = _chained_cosine()
    with pytest.warns(RuntimeWarning) as caught:
        resumed.load_state_dict(loaded["opt"])
        for s, saved in zip(resumed_scheds, loaded["scheds"], strict=True):
            s.load_state_dict(saved)
        q.data[...] = loaded["p"]
        run(5, 19, q, resumed, resumed_scheds)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages  # at the load, not again at the step
    assert "holds lr=-0.0011949752464982637 < 0, which a learning-rate scheduler wrote" \
        in messages[0]
    np.testing.assert_array_equal(q.data, p.data)
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    resumed.param_groups[0]["lr"] = -0.01  # one written by hand is still refused
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0"):
        resumed.step()


def test_a_negative_lr_in_a_state_dict_is_refused_unless_a_scheduler_wrote_it():
    p, opt, scheds = _chained_cosine()
    assert "lr_from_scheduler" not in opt.state_dict()["param_groups"][0]  # only when negative
    saved = opt.state_dict()
    saved["param_groups"][0]["lr"] = -0.01  # tampered, or written by hand
    with pytest.raises(ValueError, match=r"param group 0: lr must be in \[0, inf\)"):
        opt.load_state_dict(saved)
