"""Regenerate tests/golden/optim/lr_scheduler.{json,npz}: the lr and momentum sequences that
torch.optim.lr_scheduler produces, which steepest.optim.lr_scheduler must match to 1e-12.

Run from the repository root::

    python tools/make_lr_scheduler_golden.py

Every case builds an SGD (with momentum) or Adam optimizer over one to three parameter groups
with random initial rates, attaches a scheduler with random arguments (seeded, so the files are
reproducible), and calls ``opt.step(); sched.step()`` ``STEPS`` times (the optimizer has no
gradients, so only the schedule moves). It records, before the first step and after each, every
group's ``lr`` and its momentum (``momentum``, or ``betas[0]`` for Adam). Cases cover every
class, schedulers chained by hand (two ``step()`` calls in turn), ``ChainedScheduler``,
``SequentialLR`` (with nested members), ``step(epoch)`` (the closed forms) and
``ReduceLROnPlateau`` on a fixed metric sequence. ``lr_lambda`` functions are named families
(``["pow", g]`` is ``epoch -> g**epoch``, ``["inv", a]`` is ``epoch -> 1/(1 + a*epoch)``,
``["step", k, g]`` is ``epoch -> g**(epoch // k)``) that the tests rebuild. A few trajectories
on a quadratic (``TRAJECTORIES``) check that the rates and momenta set by a scheduler reach the
optimizer's update. For the ``RESUMED`` cases the JSON also holds PyTorch's own scheduler state
dicts (and the groups' scheduled keys) at step ``RESUME_AT``, which steepest must load and
continue from. PyTorch is a tool dependency only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.optim import lr_scheduler as L

STEPS = 120
OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "optim"


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
    groups = [{"params": [torch.zeros(2, dtype=torch.float64, requires_grad=True)], "lr": lr}
              for lr in case["lrs"]]
    if case["optimizer"] == "Adam":
        return torch.optim.Adam(groups, betas=(0.9, 0.999))
    return torch.optim.SGD(groups, momentum=0.9)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


#: Cases whose PyTorch state (scheduler state dicts and the groups' scheduled keys) is saved at
#: step RESUME_AT: steepest must load it and continue with PyTorch's sequence.
RESUMED = ["StepLR-0", "MultiStepLR-1", "CyclicLR-1", "OneCycleLR-2", "LambdaLR-0",
           "CosineAnnealingLR-0", "CosineAnnealingWarmRestarts-1", "SequentialLR-three",
           "ChainedScheduler-Linear-Cosine", "ReduceLROnPlateau-1", "chain-Step-Exponential"]
RESUME_AT = 37
GROUP_KEYS = ("lr", "initial_lr", "momentum", "betas", "max_lr", "min_lr", "max_momentum",
              "base_momentum")


def torch_state(opt, scheds):
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()
               if k in GROUP_KEYS} for g in opt.param_groups]
    return {"groups": groups, "schedulers": [s.state_dict() for s in scheds]}


def run(case):
    opt = make_optimizer(case)
    scheds = [build(spec, opt) for spec in case["schedulers"]]
    lrs, moms = [], []

    def record():
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append([momentum_of(g) for g in opt.param_groups])

    record()
    last = []
    for i in range(case.get("steps", STEPS)):
        if i == RESUME_AT and case["name"] in RESUMED:
            case["torch_state"] = json.loads(json.dumps(torch_state(opt, scheds), default=dict))
        opt.step()
        for s in scheds:
            if "metrics" in case:
                s.step(case["metrics"][i])
            elif "epochs" in case:
                s.step(case["epochs"][i])
            else:
                s.step()
        record()
        last.append([float(v) for v in scheds[-1].get_last_lr()])
    return np.array(lrs, dtype=np.float64), np.array(moms, dtype=np.float64), np.array(last)


def cases(rng):
    def u(a, b):
        return float(rng.uniform(a, b))

    def i(a, b):
        return int(rng.integers(a, b + 1))

    def lrs():
        return [round(u(1e-3, 1.0), 6) for _ in range(i(1, 3))]

    out = []

    def add(name, spec, optimizer="SGD", **extra):
        specs = spec if isinstance(spec, list) else [spec]
        out.append({"name": name, "optimizer": optimizer, "lrs": extra.pop("lrs", lrs()),
                    "schedulers": specs, **extra})

    for k in range(3):
        add(f"LambdaLR-{k}", {"type": "LambdaLR", "kwargs": {"lr_lambda": ["pow", u(0.9, 0.999)]}})
        add(f"MultiplicativeLR-{k}", {"type": "MultiplicativeLR",
                                      "kwargs": {"lr_lambda": ["inv", u(0.001, 0.05)]}})
        add(f"StepLR-{k}", {"type": "StepLR", "kwargs": {"step_size": i(1, 30),
                                                         "gamma": u(0.1, 0.99)}})
        add(f"MultiStepLR-{k}", {"type": "MultiStepLR", "kwargs": {
            "milestones": sorted(int(m) for m in rng.integers(1, 110, size=i(1, 5))),
            "gamma": u(0.1, 0.99)}})
        add(f"ConstantLR-{k}", {"type": "ConstantLR", "kwargs": {"factor": u(0.05, 1.0),
                                                                 "total_iters": i(0, 60)}})
        add(f"LinearLR-{k}", {"type": "LinearLR", "kwargs": {
            "start_factor": u(0.01, 1.0), "end_factor": u(0.0, 1.0), "total_iters": i(1, 100)}})
        add(f"ExponentialLR-{k}", {"type": "ExponentialLR", "kwargs": {"gamma": u(0.9, 0.999)}})
        add(f"PolynomialLR-{k}", {"type": "PolynomialLR", "kwargs": {
            "total_iters": i(1, 130), "power": u(0.2, 3.0)}})
        add(f"CosineAnnealingLR-{k}", {"type": "CosineAnnealingLR", "kwargs": {
            "T_max": i(5, 60), "eta_min": u(0.0, 1e-3)}})
        add(f"CosineAnnealingWarmRestarts-{k}", {"type": "CosineAnnealingWarmRestarts", "kwargs": {
            "T_0": i(1, 20), "T_mult": i(1, 3), "eta_min": u(0.0, 1e-3)}})
        mode = ["triangular", "triangular2", "exp_range"][k]
        optimizer = ["SGD", "Adam"][k % 2]
        add(f"CyclicLR-{k}", {"type": "CyclicLR", "kwargs": {
            "base_lr": u(1e-4, 1e-2), "max_lr": u(0.05, 1.0), "step_size_up": i(3, 25),
            "step_size_down": [None, i(3, 25)][k % 2], "mode": mode, "gamma": u(0.95, 0.999),
            "base_momentum": u(0.7, 0.85), "max_momentum": u(0.86, 0.95)}}, optimizer)
        add(f"OneCycleLR-{k}", {"type": "OneCycleLR", "kwargs": {
            "max_lr": u(0.05, 1.0), "total_steps": STEPS + i(0, 30), "pct_start": u(0.1, 0.5),
            "anneal_strategy": ["cos", "linear"][k % 2], "div_factor": u(5.0, 50.0),
            "final_div_factor": u(10.0, 1e4), "three_phase": k == 2,
            "base_momentum": u(0.7, 0.85), "max_momentum": u(0.86, 0.95)}}, optimizer)
    add("CyclicLR-no-momentum", {"type": "CyclicLR", "kwargs": {
        "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 7, "cycle_momentum": False}})
    add("OneCycleLR-epochs", {"type": "OneCycleLR", "kwargs": {
        "max_lr": [0.3, 0.1], "epochs": 12, "steps_per_epoch": 10}}, "Adam", lrs=[0.1, 0.2])
    add("LambdaLR-per-group", {"type": "LambdaLR", "kwargs": {
        "lr_lambda": [["pow", 0.97], ["step", 10, 0.5]]}}, lrs=[0.1, 0.5])
    # several schedulers on one optimizer: chained by hand, ChainedScheduler, SequentialLR
    add("chain-Step-Exponential", [
        {"type": "StepLR", "kwargs": {"step_size": 7, "gamma": u(0.3, 0.9)}},
        {"type": "ExponentialLR", "kwargs": {"gamma": u(0.95, 0.999)}}])
    add("chain-Cosine-MultiStep", [
        {"type": "CosineAnnealingLR", "kwargs": {"T_max": 40, "eta_min": 1e-4}},
        {"type": "MultiStepLR", "kwargs": {"milestones": [30, 60, 60, 90], "gamma": 0.5}}])
    add("ChainedScheduler-Linear-Cosine", {"type": "ChainedScheduler", "schedulers": [
        {"type": "LinearLR", "kwargs": {"start_factor": 0.1, "total_iters": 10}},
        {"type": "CosineAnnealingLR", "kwargs": {"T_max": 50}}]})
    add("ChainedScheduler-Constant-Exp-Poly", {"type": "ChainedScheduler", "schedulers": [
        {"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 15}},
        {"type": "ExponentialLR", "kwargs": {"gamma": 0.98}},
        {"type": "PolynomialLR", "kwargs": {"total_iters": 100, "power": 2.0}}]})
    add("SequentialLR-warmup-cosine", {"type": "SequentialLR", "milestones": [i(5, 20)],
                                       "schedulers": [
        {"type": "LinearLR", "kwargs": {"start_factor": u(0.01, 0.5), "total_iters": 10}},
        {"type": "CosineAnnealingLR", "kwargs": {"T_max": i(30, 100), "eta_min": 1e-5}}]})
    add("SequentialLR-three", {"type": "SequentialLR", "milestones": [10, 50], "schedulers": [
        {"type": "ConstantLR", "kwargs": {"factor": 0.2, "total_iters": 10}},
        {"type": "ExponentialLR", "kwargs": {"gamma": 0.97}},
        {"type": "LambdaLR", "kwargs": {"lr_lambda": ["inv", 0.05]}}]})
    add("SequentialLR-nested-chained", {"type": "SequentialLR", "milestones": [20], "schedulers": [
        {"type": "ChainedScheduler", "schedulers": [
            {"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 8}},
            {"type": "ExponentialLR", "kwargs": {"gamma": 0.99}}]},
        {"type": "StepLR", "kwargs": {"step_size": 15, "gamma": 0.5}}]})
    # step(epoch): the closed forms (epochs jump around)
    epochs = [int(e) for e in rng.integers(0, 150, size=STEPS)]
    for kind, kwargs in [("StepLR", {"step_size": 9, "gamma": 0.7}),
                         ("MultiStepLR", {"milestones": [10, 40, 40, 100], "gamma": 0.6}),
                         ("ConstantLR", {"factor": 0.25, "total_iters": 30}),
                         ("LinearLR", {"start_factor": 0.2, "end_factor": 0.9,
                                       "total_iters": 70}),
                         ("ExponentialLR", {"gamma": 0.98}),
                         ("PolynomialLR", {"total_iters": 90, "power": 1.5}),
                         ("CosineAnnealingLR", {"T_max": 33, "eta_min": 0.001}),
                         ("LambdaLR", {"lr_lambda": ["pow", 0.97]}),
                         ("CosineAnnealingWarmRestarts", {"T_0": 7, "T_mult": 2})]:
        add(f"epoch-{kind}", {"type": kind, "kwargs": kwargs}, epochs=epochs)
    add("epoch-CosineAnnealingWarmRestarts-fractional", {
        "type": "CosineAnnealingWarmRestarts", "kwargs": {"T_0": 5, "T_mult": 1}},
        epochs=[k / 4 for k in range(STEPS)])
    # ReduceLROnPlateau on a fixed noisy, plateauing metric
    metric = [float(v) for v in 1.0 / (1 + np.arange(STEPS) / 10) + rng.normal(0, 0.02, STEPS)]
    metric[60:] = [metric[59] + float(v) for v in rng.normal(0, 0.005, STEPS - 60)]
    for k, kwargs in enumerate([{}, {"patience": 3, "factor": 0.5, "cooldown": 2},
                                {"mode": "max", "threshold_mode": "abs", "threshold": 0.01,
                                 "patience": 2, "factor": 0.3, "min_lr": 1e-3},
                                {"patience": 1, "factor": 0.7, "min_lr": [1e-2, 1e-3],
                                 "eps": 1e-4}]):
        add(f"ReduceLROnPlateau-{k}", {"type": "ReduceLROnPlateau", "kwargs": kwargs},
            metrics=metric, lrs=[0.1, 0.05] if k == 3 else lrs())
    return out


#: Trajectories: the schedule must reach the update. On f(x) = sum(d * x^2) / 2 from x0, each
#: step sets the gradient d * x, calls opt.step() then sched.step(); params after every step.
TRAJECTORIES = {
    "SGD-OneCycleLR": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True},
                       {"type": "OneCycleLR", "kwargs": {"max_lr": 0.3, "total_steps": 60}}),
    "Adam-CyclicLR": ("Adam", {"lr": 0.01},
                      {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.05,
                                                      "step_size_up": 7, "mode": "triangular2"}}),
    "SGD-StepLR": ("SGD", {"lr": 0.2, "momentum": 0.5},
                   {"type": "StepLR", "kwargs": {"step_size": 10, "gamma": 0.5}}),
    "RMSprop-ReduceLROnPlateau": ("RMSprop", {"lr": 0.01, "momentum": 0.5},
                                  {"type": "ReduceLROnPlateau",
                                   "kwargs": {"patience": 2, "factor": 0.5}}),
}
TRAJECTORY_STEPS = 60
CURVATURES = [1.0, 3.0, 0.2, 10.0]
X0 = [1.0, -2.0, 0.5, 0.3]


def trajectory(name):
    optimizer, options, spec = TRAJECTORIES[name]
    x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    d = torch.tensor(CURVATURES, dtype=torch.float64)
    opt = getattr(torch.optim, optimizer)([x], **options)
    sched = build(spec, opt)
    path = [x.detach().clone().numpy()]
    for _ in range(TRAJECTORY_STEPS):
        x.grad = d * x.detach()
        opt.step()
        if spec["type"] == "ReduceLROnPlateau":
            sched.step(float((d * x.detach() ** 2).sum() / 2) + 1.0)  # plateaus above 1
        else:
            sched.step()
        path.append(x.detach().clone().numpy())
    return np.array(path)


def main():
    warnings.simplefilter("ignore")  # torch's own deprecation warnings for step(epoch)
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20261202)
    all_cases = cases(rng)
    arrays = {}
    for case in all_cases:
        lrs, moms, last = run(case)
        arrays[f"{case['name']}/lr"] = lrs
        arrays[f"{case['name']}/momentum"] = moms
        arrays[f"{case['name']}/last_lr"] = last
    for name in TRAJECTORIES:
        arrays[f"trajectory/{name}"] = trajectory(name)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / "lr_scheduler.npz", **arrays)
    manifest = {"torch": torch.__version__, "steps": STEPS, "cases": all_cases,
                "trajectories": {name: {"optimizer": o, "options": opts, "scheduler": spec}
                                 for name, (o, opts, spec) in TRAJECTORIES.items()},
                "resume_at": RESUME_AT, "trajectory_steps": TRAJECTORY_STEPS,
                "curvatures": CURVATURES, "x0": X0}
    (OUT / "lr_scheduler.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(all_cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()
