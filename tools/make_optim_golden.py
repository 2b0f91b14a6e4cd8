"""Regenerate tests/golden/optim/: PyTorch optimizer trajectories that steepest.optim must match.

Run from the repository root::

    python tools/make_optim_golden.py

For every optimizer of ``torch.optim`` that ``steepest.optim`` mirrors, with its defaults and
with non-default hyperparameters (momentum, dampening, Nesterov, weight decay, AMSGrad,
centered, decoupled decay, maximize), with two parameter groups, and with learning-rate
schedules, on three problems (an ill-conditioned quadratic, the 4-D Rosenbrock function and a
small tanh MLP with a mean-squared-error loss), it records 100 steps of the trajectory in
float64: the flat parameter vector and the loss at every iterate.

Everything runs in float64 with ``torch.set_default_dtype(torch.float64)``, so that the scalar
state PyTorch keeps in tensors of the default dtype (``step``, NAdam's ``mu_product``) is float64
too, and with ``foreach=False`` (the single-tensor code path). ``maximize=True`` cases optimise
the *negated* objective, so that maximising it descends the problem.

Output (about 1 MB): ``cases.json`` (the problems' parameter layout and every case: optimizer,
defaults, group overrides, schedule), ``trajectories.npz`` (problem data, initial values,
``<case>/params`` of shape (101, n) and ``<case>/loss`` of shape (101,)) and ``schedulers.json``
(the learning rates of ``torch.optim.lr_scheduler``'s StepLR, ExponentialLR and
CosineAnnealingLR, next to the ``steepest.schedules`` spec that must reproduce them). The tests read them
with NumPy only. PyTorch is a tool dependency here: nothing in the library or the tests imports
it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 100
OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "optim"

# ---------------------------------------------------------------------- problems
# Each problem: named parameter tensors (their order is the order of the flat trajectory),
# the two-group split, and a loss written with torch ops.


def make_problems(rng: np.random.Generator) -> dict[str, dict]:
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    eigenvalues = np.array([1.0, 2.0, 4.0, 7.0, 10.0])
    quadratic = {
        "data": {"A": (q * eigenvalues) @ q.T, "b": rng.standard_normal(5)},
        "params": {"u": rng.standard_normal(3), "v": rng.standard_normal(2)},
        "groups": [["u"], ["v"]],
    }
    rosenbrock = {
        "data": {},
        "params": {"head": np.array([-1.2, 1.0]), "tail": np.array([-0.5, 0.8])},
        "groups": [["head"], ["tail"]],
    }
    mlp = {
        "data": {"X": rng.standard_normal((16, 3)), "Y": rng.standard_normal((16, 2))},
        "params": {"W1": rng.standard_normal((4, 3)) * 0.5, "b1": rng.standard_normal(4) * 0.1,
                   "W2": rng.standard_normal((2, 4)) * 0.5, "b2": rng.standard_normal(2) * 0.1},
        "groups": [["W1", "W2"], ["b1", "b2"]],
    }
    return {"quadratic": quadratic, "rosenbrock": rosenbrock, "mlp": mlp}


def torch_loss(problem: str, data: dict[str, torch.Tensor], p: dict[str, torch.Tensor]
               ) -> torch.Tensor:
    if problem == "quadratic":
        z = torch.cat([p["u"], p["v"]])
        return 0.5 * z @ (data["A"] @ z) - data["b"] @ z
    if problem == "rosenbrock":
        z = torch.cat([p["head"], p["tail"]])
        return (100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2).sum()
    hidden = torch.tanh(F.linear(data["X"], p["W1"], p["b1"]))
    return F.mse_loss(F.linear(hidden, p["W2"], p["b2"]), data["Y"])


# ---------------------------------------------------------------------- schedules
# Written here from their definitions (steepest.schedules must agree with them; the test builds
# steepest's schedule from the same dict with schedules.from_dict).


def schedule_value(spec: dict, t: int) -> float:
    kind = spec["type"]
    if kind == "constant":
        return spec["lr"]
    if kind == "inverse_power":
        return spec["lr0"] * t ** (-spec["p"])
    if kind == "step":
        return spec["lr0"] * spec["gamma"] ** ((t - 1) // spec["step_size"])
    if kind == "exponential":
        return spec["lr0"] * spec["gamma"] ** (t - 1)
    if kind == "cosine":
        if t > spec["total_steps"]:
            return spec["lr_min"]
        cos = math.cos(math.pi * (t - 1) / spec["total_steps"])
        return spec["lr_min"] + 0.5 * (spec["lr0"] - spec["lr_min"]) * (1 + cos)
    if kind == "warmup":
        warm = spec["warmup_steps"]
        if t <= warm:
            target = schedule_value(spec["schedule"], 1)
            return spec["start"] + (target - spec["start"]) * (t / warm)
        return schedule_value(spec["schedule"], t - warm)
    raise ValueError(f"no formula for schedule type {kind!r}")


# ---------------------------------------------------------------------- cases
# (optimizer, case name, defaults, overrides of group 1 or None for a single group)
CONFIGS: list[tuple[str, str, dict, dict | None]] = [
    ("SGD", "default", {}, None),
    ("SGD", "momentum", {"lr": 1e-3, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
     None),
    ("SGD", "nesterov_maximize", {"lr": 5e-4, "momentum": 0.8, "nesterov": True,
                                  "maximize": True}, None),
    ("SGD", "groups", {"lr": 1e-3, "momentum": 0.5},
     {"lr": 5e-4, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", "schedule", {"lr": {"type": "inverse_power", "lr0": 1e-3, "p": 0.6},
                         "momentum": 0.9}, None),
    ("Adagrad", "default", {}, None),
    ("Adagrad", "decay", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                          "initial_accumulator_value": 0.1, "eps": 1e-8}, None),
    ("Adagrad", "maximize", {"lr": 0.05, "maximize": True}, None),
    ("Adagrad", "groups", {"lr": 0.05}, {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", "schedule", {"lr": {"type": "step", "lr0": 0.1, "step_size": 30, "gamma": 0.5}},
     None),
    ("RMSprop", "default", {}, None),
    ("RMSprop", "centered", {"lr": 1e-3, "alpha": 0.9, "momentum": 0.9, "centered": True,
                             "weight_decay": 0.01}, None),
    ("RMSprop", "maximize", {"lr": 5e-3, "momentum": 0.5, "maximize": True, "eps": 1e-6}, None),
    ("RMSprop", "groups", {"lr": 1e-3}, {"centered": True, "lr": 2e-3}),
    ("RMSprop", "schedule", {"lr": {"type": "exponential", "lr0": 0.01, "gamma": 0.98}},
     {"lr": 2e-3}),
    ("Adam", "default", {}, None),
    ("Adam", "amsgrad", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.01,
                         "amsgrad": True}, None),
    ("Adam", "maximize", {"lr": 5e-3, "maximize": True, "eps": 1e-6}, None),
    ("Adam", "decoupled", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
     None),
    ("Adam", "groups", {"lr": 0.01}, {"amsgrad": True, "betas": [0.5, 0.9]}),
    ("Adam", "schedule", {"lr": {"type": "warmup", "warmup_steps": 10, "start": 0.0,
                                 "schedule": {"type": "cosine", "lr0": 0.02, "total_steps": 60,
                                              "lr_min": 0.001}}}, None),
    ("AdamW", "default", {}, None),
    ("AdamW", "amsgrad", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, None),
    ("AdamW", "maximize", {"lr": 5e-3, "maximize": True}, None),
    ("AdamW", "groups", {"lr": 0.01}, {"weight_decay": 0.0, "lr": 0.02}),
    ("Adadelta", "default", {}, None),
    ("Adadelta", "decay", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01, "eps": 1e-5}, None),
    ("Adadelta", "maximize", {"maximize": True, "rho": 0.8}, None),
    ("Adadelta", "groups", {"lr": 1.0}, {"lr": 2.0, "rho": 0.5}),
    ("Adamax", "default", {}, None),
    ("Adamax", "decay", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.01}, None),
    ("Adamax", "maximize", {"lr": 5e-3, "maximize": True, "eps": 1e-6}, None),
    ("Adamax", "groups", {"lr": 0.01}, {"betas": [0.7, 0.95], "lr": 5e-3}),
    ("NAdam", "default", {}, None),
    ("NAdam", "decay", {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.01}, None),
    ("NAdam", "decoupled_maximize", {"lr": 5e-3, "weight_decay": 0.05,
                                     "decoupled_weight_decay": True, "maximize": True}, None),
    ("NAdam", "groups", {"lr": 0.01}, {"momentum_decay": 0.0, "betas": [0.7, 0.99]}),
]


def torch_kwargs(options: dict) -> dict:
    kwargs = {key: tuple(value) if key == "betas" else value for key, value in options.items()}
    if isinstance(kwargs.get("lr"), dict):
        kwargs["lr"] = schedule_value(kwargs["lr"], 1)  # replaced before every step
    return kwargs


#: Optimizers that are not ``torch.optim`` classes, by name: a callable ``(groups, **kwargs)``
#: returning an object with torch's ``param_groups``, ``zero_grad()`` and ``step()``
#: (tools/make_optim_more_golden.py registers Lion through optax and schedule-free AdamW).
FACTORIES: dict = {}


def _torch_optimizer(name: str):
    return lambda groups, **kwargs: getattr(torch.optim, name)(groups, foreach=False, **kwargs)


def run_case(optimizer: str, defaults: dict, override: dict | None, problem: str,
             spec: dict) -> tuple[np.ndarray, np.ndarray]:
    data = {key: torch.tensor(value) for key, value in spec["data"].items()}
    params = {key: torch.tensor(value, requires_grad=True) for key, value in spec["params"].items()}
    if override is None:
        groups = [{"params": list(params.values())}]
    else:
        first, second = spec["groups"]
        groups = [{"params": [params[name] for name in first]},
                  {"params": [params[name] for name in second], **torch_kwargs(override)}]
    opt = FACTORIES.get(optimizer, _torch_optimizer(optimizer))(groups, **torch_kwargs(defaults))
    schedules = [defaults.get("lr")]
    if override is not None:
        schedules.append(override.get("lr", defaults.get("lr")))
    sign = -1.0 if defaults.get("maximize") else 1.0  # maximise the negated problem

    def flat() -> np.ndarray:
        return np.concatenate([p.detach().numpy().ravel() for p in params.values()])

    trajectory, losses = [flat()], []
    for t in range(1, STEPS + 1):
        for group, lr in zip(opt.param_groups, schedules, strict=True):
            if isinstance(lr, dict):
                group["lr"] = schedule_value(lr, t)
        opt.zero_grad()
        loss = sign * torch_loss(problem, data, params)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        trajectory.append(flat())
    with torch.no_grad():
        losses.append(sign * torch_loss(problem, data, params).item())
    return np.array(trajectory), np.array(losses)


#: A case whose trajectory magnifies a relative perturbation of x0 more than this is refused:
#: rounding differences (summation order in a matmul, say) would then swamp the 1e-9 tolerance.
MAX_AMPLIFICATION = 1e4


def sensitivity(optimizer: str, defaults: dict, override: dict | None, problem: str, spec: dict,
                trajectory: np.ndarray) -> float:
    """How much the trajectory magnifies a relative perturbation of 1e-12 of the start."""
    nudged = {**spec, "params": {key: value * (1 + 1e-12) for key, value in spec["params"].items()}}
    other, _ = run_case(optimizer, defaults, override, problem, nudged)
    scale = np.maximum(np.abs(trajectory), 1e-3)
    return float(np.max(np.abs(other - trajectory) / scale) / 1e-12)


# torch.optim.lr_scheduler classes with the steepest schedule that must agree with them: epoch
# e of the scheduler is update t = e + 1.
SCHEDULERS = [
    ("StepLR", {"step_size": 30, "gamma": 0.5},
     {"type": "step", "lr0": 0.1, "step_size": 30, "gamma": 0.5}, 150),
    ("ExponentialLR", {"gamma": 0.98}, {"type": "exponential", "lr0": 0.1, "gamma": 0.98}, 150),
    # CosineAnnealingLR keeps oscillating after T_max; steepest's cosine stays at lr_min, so
    # only the annealing itself (updates 1..T+1) is compared.
    ("CosineAnnealingLR", {"T_max": 60, "eta_min": 0.001},
     {"type": "cosine", "lr0": 0.1, "total_steps": 60, "lr_min": 0.001}, 61),
]


def scheduler_values() -> list[dict]:
    """The learning rates torch's schedulers give to updates 1..n, with the matching spec."""
    out = []
    for name, kwargs, spec, n in SCHEDULERS:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=spec["lr0"])
        scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
        values = []
        for _ in range(n):
            values.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        out.append({"scheduler": name, "kwargs": kwargs, "schedule": spec, "lr": values})
    return out


def main() -> None:
    torch.set_default_dtype(torch.float64)
    problems = make_problems(np.random.default_rng(20240607))
    arrays: dict[str, np.ndarray] = {}
    layout = {}
    for name, spec in problems.items():
        for key, value in {**spec["data"], **spec["params"]}.items():
            arrays[f"{name}/{key}"] = value
        layout[name] = {"params": {key: list(value.shape) for key, value in spec["params"].items()},
                        "data": sorted(spec["data"]), "groups": spec["groups"]}
    cases = []
    for optimizer, label, defaults, override in CONFIGS:
        for problem, spec in problems.items():
            case = f"{optimizer}-{label}-{problem}"
            trajectory, losses = run_case(optimizer, defaults, override, problem, spec)
            # A maximising case records the negated loss, which must then grow.
            progress = losses[0] - losses[-1]
            if defaults.get("maximize"):
                progress = -progress
            if not (np.all(np.isfinite(trajectory)) and progress > 0):
                raise RuntimeError(f"{case}: the trajectory does not make progress; change it")
            amplification = sensitivity(optimizer, defaults, override, problem, spec, trajectory)
            if amplification > MAX_AMPLIFICATION:
                raise RuntimeError(f"{case}: rounding errors grow {amplification:.3g}-fold along "
                                   "this trajectory, too much to compare to 1e-9; change it")
            arrays[f"{case}/params"] = trajectory
            arrays[f"{case}/loss"] = losses
            cases.append({"name": case, "optimizer": optimizer, "problem": problem,
                          "defaults": defaults, "group1": override,
                          "negate": bool(defaults.get("maximize", False))})
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"torch_version": torch.__version__, "steps": STEPS, "problems": layout,
                "cases": cases}
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (OUT / "schedulers.json").write_text(json.dumps(scheduler_values(), indent=1) + "\n")
    np.savez_compressed(OUT / "trajectories.npz", **arrays)
    size = sum(path.stat().st_size for path in OUT.iterdir())
    print(f"wrote {len(cases)} cases ({size / 1e6:.2f} MB) to {OUT}")


if __name__ == "__main__":
    main()
