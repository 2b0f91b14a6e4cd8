"""QA against torch.optim.lr_scheduler: regressions found by random comparisons with PyTorch 2.13.

The goldens below were computed once with torch (float64 default dtype) and are embedded, so
these tests need NumPy only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st
from steepest.optim import lr_scheduler as sched


def _two_groups(kind: str) -> st.optim.Optimizer:
    a = st.tensor(np.zeros(1), requires_grad=True)
    b = st.tensor(np.zeros(1), requires_grad=True)
    groups = [{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.2}]
    if kind == "sgd":
        return st.optim.SGD(groups, lr=0.1, momentum=0.9)
    return st.optim.Adam(groups)


def _close(actual: list[list[float]], expected: list[list[float]]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert all(math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15)
                   for g, w in zip(got, want, strict=True)), (got, want)


# torch.optim.lr_scheduler.CyclicLR(SGD(two groups, momentum=0.9), base_lr=[0.01, 0.02],
# max_lr=0.1, step_size_up=3, step_size_down=2, mode="triangular2", cycle_momentum=False):
# its state_dict() after 7 steps, and get_last_lr() over the next 10 steps.
TORCH_CYCLIC_STATE = {
    "_get_lr_called_within_step": False, "_is_initial": False,
    "_last_lr": [0.039999999999999994, 0.04666666666666666], "_scale_fn_custom": None,
    "_step_count": 8, "base_lrs": [0.01, 0.02], "cycle_momentum": False, "gamma": 1.0,
    "last_epoch": 7, "max_lrs": [0.1, 0.1], "mode": "triangular2", "scale_mode": "cycle",
    "step_ratio": 0.6, "total_size": 5.0,
}
TORCH_CYCLIC_NEXT = [
    [0.055, 0.06], [0.03250000000000002, 0.04000000000000002], [0.01, 0.02],
    [0.01750000000000001, 0.026666666666666672], [0.024999999999999998, 0.03333333333333333],
    [0.0325, 0.039999999999999994], [0.021250000000000012, 0.03000000000000001], [0.01, 0.02],
    [0.013750000000000004, 0.023333333333333338], [0.01750000000000001, 0.026666666666666672],
]

# torch.optim.lr_scheduler.OneCycleLR(Adam(two groups), max_lr=[0.5, 0.3], total_steps=20,
# pct_start=0.25, anneal_strategy="linear", three_phase=True, cycle_momentum=False): its
# state_dict() after 6 steps, and get_last_lr() over the next 10 steps.
_PHASES = [
    {"end_lr": "max_lr", "end_momentum": "base_momentum", "end_step": 4.0,
     "start_lr": "initial_lr", "start_momentum": "max_momentum"},
    {"end_lr": "initial_lr", "end_momentum": "max_momentum", "end_step": 8.0,
     "start_lr": "max_lr", "start_momentum": "base_momentum"},
    {"end_lr": "min_lr", "end_momentum": "max_momentum", "end_step": 19,
     "start_lr": "initial_lr", "start_momentum": "max_momentum"},
]
TORCH_ONECYCLE_STATE = {
    "_anneal_func_type": "linear", "_get_lr_called_within_step": False, "_is_initial": False,
    "_last_lr": [0.26, 0.156], "_schedule_phases": _PHASES, "_step_count": 7,
    "base_lrs": [0.02, 0.012], "cycle_momentum": False, "last_epoch": 6, "total_steps": 20,
}
TORCH_ONECYCLE_NEXT = [
    [0.14, 0.08400000000000002], [0.020000000000000018, 0.01200000000000001],
    [0.018182, 0.0109092], [0.016364, 0.0098184], [0.014546, 0.0087276],
    [0.012728, 0.0076368], [0.01091, 0.006546000000000001], [0.009092, 0.0054552],
    [0.007273999999999999, 0.0043644], [0.005455999999999999, 0.0032735999999999998],
]


def test_cyclic_lr_loads_torch_state_dict_without_cycle_momentum():
    # torch's CyclicLR sets use_beta1/base_momentums/max_momentums only with cycle_momentum,
    # so its state dict lacks them otherwise; loading it raised "missing [...]" here.
    opt = _two_groups("sgd")
    scheduler = sched.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                               step_size_down=2, mode="triangular2", cycle_momentum=False)
    scheduler.load_state_dict(dict(TORCH_CYCLIC_STATE))
    for group, lr in zip(opt.param_groups, TORCH_CYCLIC_STATE["_last_lr"], strict=True):
        group["lr"] = lr  # what the torch optimizer's groups held (its state dict carries them)
    lrs = []
    for _ in range(10):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    _close(lrs, TORCH_CYCLIC_NEXT)
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]  # left alone


def test_one_cycle_lr_loads_torch_state_dict_without_cycle_momentum():
    # torch's OneCycleLR sets use_beta1 only with cycle_momentum: the same refusal as above.
    opt = _two_groups("adam")
    scheduler = sched.OneCycleLR(opt, max_lr=[0.5, 0.3], total_steps=20, pct_start=0.25,
                                 anneal_strategy="linear", three_phase=True,
                                 cycle_momentum=False)
    scheduler.load_state_dict(dict(TORCH_ONECYCLE_STATE))
    for group, lr in zip(opt.param_groups, TORCH_ONECYCLE_STATE["_last_lr"], strict=True):
        group["lr"] = lr
    lrs = []
    for _ in range(10):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    _close(lrs, TORCH_ONECYCLE_NEXT)
    assert [g["betas"] for g in opt.param_groups] == [(0.9, 0.999), (0.9, 0.999)]


def test_cyclic_and_one_cycle_own_state_dicts_still_round_trip():
    for cycle_momentum in (False, True):
        opt = _two_groups("sgd")
        make = lambda o, cm=cycle_momentum: sched.CyclicLR(  # noqa: E731
            o, base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=cm)
        first = make(opt)
        for _ in range(5):
            opt.step()
            first.step()
        saved = first.state_dict()
        second = make(_two_groups("sgd"))
        second.load_state_dict(saved)
        assert second.state_dict() == saved


def test_torch_state_dict_with_cycle_momentum_still_needs_its_momentum_keys():
    # Only a dict that says cycle_momentum=False may leave the momentum keys out.
    opt = _two_groups("sgd")
    scheduler = sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3)
    state = dict(TORCH_CYCLIC_STATE, cycle_momentum=True)
    try:
        scheduler.load_state_dict(state)
    except ValueError as error:
        assert "use_beta1" in str(error)
    else:  # pragma: no cover - the failure message
        raise AssertionError("a cycle_momentum=True state dict without its momentum keys loaded")


@pytest.mark.filterwarnings("ignore:.*before any optimizer.step")
def test_sequential_lr_with_a_composite_after_a_milestone_says_why_it_cannot_start():
    # torch.optim.lr_scheduler fails here with a bare NotImplementedError at the milestone
    # (SequentialLR has no get_lr); steepest raised "SequentialLR does not implement _chainable".
    opt = _two_groups("sgd")
    inner = sched.SequentialLR(opt, [sched.LinearLR(opt, 0.2, total_iters=5),
                                     sched.ExponentialLR(opt, 0.9)], [7])
    outer = sched.SequentialLR(opt, [sched.StepLR(opt, 4, 0.5), inner], [3])
    for _ in range(2):
        opt.step()
        outer.step()
    opt.step()
    try:
        outer.step()
    except TypeError as error:
        assert "schedulers[1] is a SequentialLR" in str(error)
        assert "milestone 3" in str(error)
    else:  # pragma: no cover - the failure message
        raise AssertionError("a nested SequentialLR took over at a milestone")


@pytest.mark.filterwarnings("ignore:.*before any optimizer.step")  # torch warns there too
def test_sequential_lr_with_a_composite_first_still_runs():
    # torch's numbers: ChainedScheduler([ExponentialLR(0.95), StepLR(4, 0.5)]) then StepLR(3, 0.7)
    # from epoch 6, on SGD groups with lr 0.1 and 0.2 (first group shown).
    opt = _two_groups("sgd")
    first = sched.ChainedScheduler([sched.ExponentialLR(opt, 0.95), sched.StepLR(opt, 4, 0.5)])
    outer = sched.SequentialLR(opt, [first, sched.StepLR(opt, 3, 0.7)], [6])
    lrs = []
    for _ in range(9):
        opt.step()
        outer.step()
        lrs.append(opt.param_groups[0]["lr"])
    expected = [0.09025, 0.0857375, 0.08145062499999998, 0.038689046874999994,
                0.03675459453124999, 0.1, 0.1, 0.1, 0.06999999999999999]
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(lrs, expected, strict=True)), lrs
