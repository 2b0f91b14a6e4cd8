"""Regenerate tests/golden/optim/scalar_cases.json and scalar_trajectories.npz: torch.optim on
0-d parameters with ``maximize`` and weight decay, which steepest.optim must match.

Run from the repository root::

    python tools/make_optim_scalar_golden.py

Why: NumPy turns ``-g`` and ``g + wd * p`` of 0-d arrays into NumPy *scalars*; a state buffer
created from one (SGD's momentum buffer) was then a scalar that the in-place updates only
rebound, and SGD with momentum on a 0-d parameter with ``maximize=True`` or
``weight_decay > 0`` froze its buffer (QA, /tmp/hunt_optim/repro_sgd_0d.py). Every optimizer of
``torch.optim`` that ``steepest.optim`` mirrors is run here with ``maximize=True`` and, where it
has one, ``weight_decay > 0`` (SGD also with decay alone, with dampening, with Nesterov and
without momentum), on two problems:

* ``alone``: one 0-d parameter ``s`` (steepest updates it per parameter);
* ``mixed``: the 0-d ``s`` and a vector ``v`` of 3 in one group (steepest lays such a group
  flat by default, and the test also runs it per parameter).

The objective is :math:`f = \\tfrac12 (s - 1.5)^2 + 0.05 s^4 + \\tfrac12 \\sum_i c_i (v_i - m_i)^2
+ 0.1 s \\sum_i v_i` (the ``v`` terms only in ``mixed``); as in tools/make_optim_golden.py a
``maximize`` case maximises :math:`-f`, so it descends ``f``, and a case whose trajectory
magnifies rounding too much to compare at 1e-9 is refused. ``STEPS`` updates are recorded in
float64, with ``foreach=False``, and with ``torch.set_default_dtype(torch.float64)``: PyTorch keeps
its scalar state (``step``, ASGD's ``eta`` and ``mu``, NAdam's ``mu_product``) in tensors of the
default dtype, and steepest keeps Python floats (float64), so the references are made in the
convention the tests assume (with the float32 default, float64 ASGD and NAdam differ from
steepest by up to ~5e-7 relative; see the Notes of steepest.optim.ASGD and NAdam). ASGD's
averaged parameters ``ax`` after the last step are recorded too (``<case>/ax``).

PyTorch is a tool dependency only: the tests read these files with NumPy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

STEPS = 30
OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "optim"
#: As in tools/make_optim_golden.py: a case that magnifies a relative perturbation of the start
#: more than this is refused.
MAX_AMPLIFICATION = 1e4

PROBLEMS = {
    "alone": {"s": np.array(0.7)},
    "mixed": {"s": np.array(0.7), "v": np.array([0.3, -1.2, 2.0])},
}
#: The vector terms of the objective: curvatures ``c`` and centres ``m``.
DATA = {"c": np.array([1.0, 3.0, 0.5]), "m": np.array([1.0, -0.5, 0.25])}

# (optimizer, case name, hyperparameters)
CONFIGS: list[tuple[str, str, dict]] = [
    ("SGD", "momentum_decay_maximize", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1,
                                        "maximize": True}),
    ("SGD", "momentum_maximize", {"lr": 0.05, "momentum": 0.9, "maximize": True}),
    ("SGD", "momentum_decay_dampening", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3,
                                         "weight_decay": 0.1}),
    ("SGD", "nesterov_decay_maximize", {"lr": 0.05, "momentum": 0.8, "nesterov": True,
                                        "weight_decay": 0.05, "maximize": True}),
    ("SGD", "plain_decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adam", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adam", "amsgrad_decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True,
                                        "maximize": True}),
    ("AdamW", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", "decay_maximize", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                                   "maximize": True}),
    ("RMSprop", "centered_momentum_decay_maximize", {"lr": 0.01, "momentum": 0.5,
                                                     "centered": True, "weight_decay": 0.1,
                                                     "maximize": True}),
    ("RMSprop", "momentum_decay_maximize", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1,
                                            "maximize": True}),
    ("Adadelta", "decay_maximize", {"lr": 1.0, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", "decoupled_maximize", {"lr": 0.05, "weight_decay": 0.1,
                                     "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("RAdam", "decoupled_maximize", {"lr": 0.05, "weight_decay": 0.1,
                                     "decoupled_weight_decay": True, "maximize": True}),
    ("Rprop", "maximize", {"lr": 0.01, "maximize": True}),  # torch's Rprop has no weight decay
    ("ASGD", "decay_maximize", {"lr": 0.05, "lambd": 1e-3, "t0": 5.0, "weight_decay": 0.1,
                                "maximize": True}),
    ("Adafactor", "decay_maximize", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
]


def objective(p: dict[str, torch.Tensor]) -> torch.Tensor:
    s = p["s"]
    value = 0.5 * (s - 1.5) ** 2 + 0.05 * (s * s) * (s * s)
    if "v" in p:
        c, m = torch.tensor(DATA["c"]), torch.tensor(DATA["m"])
        value = value + 0.5 * (c * (p["v"] - m) ** 2).sum() + 0.1 * s * p["v"].sum()
    return value


def run_case(optimizer: str, options: dict, start: dict[str, np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    params = {key: torch.tensor(value, requires_grad=True) for key, value in start.items()}
    opt = getattr(torch.optim, optimizer)(list(params.values()), foreach=False, **options)
    sign = -1.0 if options.get("maximize") else 1.0

    def flat() -> np.ndarray:
        return np.concatenate([p.detach().numpy().ravel() for p in params.values()])

    trajectory, losses = [flat()], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sign * objective(params)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        trajectory.append(flat())
    ax = None
    if optimizer == "ASGD":
        ax = np.concatenate([opt.state[p]["ax"].numpy().ravel() for p in params.values()])
    return np.array(trajectory), np.array(losses), ax


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays: dict[str, np.ndarray] = {}
    cases = []
    for problem, start in PROBLEMS.items():
        for key, value in start.items():
            arrays[f"{problem}/{key}"] = value
    for optimizer, label, options in CONFIGS:
        for problem, start in PROBLEMS.items():
            name = f"{optimizer}-{label}-{problem}"
            trajectory, losses, ax = run_case(optimizer, options, start)
            if not np.all(np.isfinite(trajectory)):
                raise RuntimeError(f"{name}: the trajectory is not finite; change it")
            nudged = {key: value * (1 + 1e-12) for key, value in start.items()}
            other = run_case(optimizer, options, nudged)[0]
            scale = np.maximum(np.abs(trajectory), 1e-3)
            amplification = float(np.max(np.abs(other - trajectory) / scale) / 1e-12)
            if amplification > MAX_AMPLIFICATION:
                raise RuntimeError(f"{name}: rounding errors grow {amplification:.3g}-fold; "
                                   "change it")
            arrays[f"{name}/params"] = trajectory
            arrays[f"{name}/loss"] = losses
            if ax is not None:
                arrays[f"{name}/ax"] = ax
            cases.append({"name": name, "optimizer": optimizer, "problem": problem,
                          "options": options, "negate": bool(options.get("maximize", False))})
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"torch_version": torch.__version__, "steps": STEPS, "default_dtype": "float64",
                "problems": {name: {key: list(value.shape) for key, value in start.items()}
                             for name, start in PROBLEMS.items()},
                "data": {key: value.tolist() for key, value in DATA.items()}, "cases": cases}
    (OUT / "scalar_cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    np.savez_compressed(OUT / "scalar_trajectories.npz", **arrays)
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
