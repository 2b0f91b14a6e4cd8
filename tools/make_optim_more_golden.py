"""Regenerate tests/golden/optim/more_cases.json and more_trajectories.npz: the golden
trajectories of the optimizers added for issue 14.

Run from the repository root::

    python tools/make_optim_more_golden.py

On the problems of ``tools/make_optim_golden.py`` (same data, same harness: 100 steps in float64,
``maximize`` cases on the negated objective, the same refusal of cases too sensitive to
rounding), it records

* ``torch.optim.RAdam``, ``Rprop``, ``ASGD`` (and ASGD's averaged parameters ``ax`` after the last
  step, ``<case>/ax``) and ``Adafactor`` from PyTorch 2.13;
* Lion from ``optax.lion`` (optax 0.2, jax in float64; one optax transformation per group, since
  optax has no parameter groups);
* schedule-free AdamW from the authors' reference implementation
  (``schedulefree.AdamWScheduleFree``, in PyTorch), and one case from
  ``optax.contrib.schedule_free_adamw`` as a second, independent source.

The gradients fed to optax are PyTorch's (float64). Tool dependencies: torch, optax, jax and
schedulefree; the tests read the files with NumPy only. A separate file from
``trajectories.npz`` so that the two tools can be rerun independently.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_optim_golden as base  # noqa: E402

OUT = base.OUT

CONFIGS: list[tuple[str, str, dict, dict | None]] = [
    ("RAdam", "default", {}, None),
    ("RAdam", "decay", {"lr": 1e-3, "betas": [0.8, 0.99], "weight_decay": 0.01}, None),
    ("RAdam", "decoupled_maximize", {"lr": 1e-3, "weight_decay": 0.05,
                                     "decoupled_weight_decay": True, "maximize": True}, None),
    ("RAdam", "groups", {"lr": 1e-3}, {"betas": [0.5, 0.9], "lr": 5e-4}),
    ("RAdam", "schedule", {"lr": {"type": "exponential", "lr0": 1e-3, "gamma": 0.98}}, None),
    ("Rprop", "default", {}, None),
    ("Rprop", "etas", {"lr": 1e-3, "etas": [0.3, 1.5], "step_sizes": [1e-4, 0.5]}, None),
    ("Rprop", "maximize", {"lr": 5e-3, "maximize": True}, None),
    ("Rprop", "groups", {"lr": 1e-3}, {"lr": 2e-3, "etas": [0.4, 1.1]}),
    ("ASGD", "default", {}, None),
    ("ASGD", "averaging", {"lr": 1e-3, "lambd": 1e-3, "alpha": 0.6, "t0": 20.0,
                           "weight_decay": 0.01}, None),
    ("ASGD", "maximize", {"lr": 2e-3, "t0": 50.0, "maximize": True}, None),
    ("ASGD", "groups", {"lr": 1e-3, "t0": 10.0}, {"lr": 5e-4, "lambd": 0.01}),
    ("ASGD", "schedule", {"lr": {"type": "inverse_power", "lr0": 1e-3, "p": 0.6}, "t0": 30.0},
     None),
    ("Adafactor", "default", {}, None),
    ("Adafactor", "decay", {"lr": 0.01, "beta2_decay": -0.6, "eps": [1e-10, 1e-2], "d": 1.5,
                            "weight_decay": 0.01}, None),
    ("Adafactor", "maximize", {"lr": 0.02, "maximize": True}, None),
    ("Adafactor", "groups", {"lr": 0.01}, {"lr": 0.03, "beta2_decay": -0.6}),
    ("Adafactor", "schedule", {"lr": {"type": "step", "lr0": 0.05, "step_size": 30,
                                      "gamma": 0.5}}, None),
    ("Lion", "default", {}, None),
    ("Lion", "decay", {"lr": 1e-3, "betas": [0.95, 0.98], "weight_decay": 0.1}, None),
    ("Lion", "maximize", {"lr": 5e-4, "maximize": True}, None),
    ("Lion", "groups", {"lr": 1e-3}, {"lr": 5e-4, "betas": [0.8, 0.9]}),
    ("Lion", "schedule", {"lr": {"type": "exponential", "lr0": 2e-3, "gamma": 0.98}}, None),
    ("ScheduleFreeAdamW", "default", {}, None),
    ("ScheduleFreeAdamW", "warmup", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.01,
                                     "warmup_steps": 10}, None),
    ("ScheduleFreeAdamW", "weighting", {"lr": 5e-3, "r": 1.0, "weight_lr_power": 1.0}, None),
    ("ScheduleFreeAdamW", "groups", {"lr": 0.01}, {"lr": 5e-3, "betas": [0.5, 0.9]}),
    ("ScheduleFreeAdamW", "schedule", {"lr": {"type": "exponential", "lr0": 0.01,
                                              "gamma": 0.99}}, None),
    ("ScheduleFreeAdamW", "optax", {"lr": 0.01, "weight_decay": 0.01}, None),
]

#: Problems a case leaves out: torch's default step of ASGD (1e-2) diverges on Rosenbrock.
SKIP = {("ASGD", "default"): {"rosenbrock"}}

#: The last optimizer a factory built (to read ASGD's averages after a run).
LAST: dict = {}


class OptaxGroups:
    """An optax transformation per parameter group, driven like a torch optimizer."""

    def __init__(self, make, groups: list[dict], defaults: dict) -> None:
        import jax.numpy as jnp

        self.make, self.jnp = make, jnp
        self.param_groups = [{**defaults, **group} for group in groups]
        self.states = [make(group).init(self._params(group)) for group in self.param_groups]

    def _params(self, group: dict) -> list:
        return [self.jnp.asarray(p.detach().numpy()) for p in group["params"]]

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        for i, group in enumerate(self.param_groups):
            sign = -1.0 if group.get("maximize") else 1.0
            grads = [self.jnp.asarray(sign * p.grad.numpy()) for p in group["params"]]
            # the transformation is rebuilt each step so that a changed group["lr"] is used
            updates, self.states[i] = self.make(group).update(grads, self.states[i],
                                                              self._params(group))
            with torch.no_grad():
                for p, u in zip(group["params"], updates, strict=True):
                    p.add_(torch.from_numpy(np.array(u, dtype=np.float64)))


def _lion(groups: list[dict], **kwargs) -> OptaxGroups:
    import optax

    defaults = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0, **kwargs}
    return OptaxGroups(lambda g: optax.lion(g["lr"], b1=g["betas"][0], b2=g["betas"][1],
                                            weight_decay=g["weight_decay"]), groups, defaults)


def _schedule_free(groups: list[dict], **kwargs):
    import schedulefree

    opt = schedulefree.AdamWScheduleFree(groups, foreach=False, **kwargs)
    opt.train()  # the reference starts in evaluation mode
    return opt


def _schedule_free_optax(groups: list[dict], **kwargs) -> OptaxGroups:
    import optax

    # its state (z, the weight sums) must persist, so the transformation is built once
    transforms: dict[int, object] = {}

    def make(group: dict):
        key = id(group["params"][0])
        if key not in transforms:
            transforms[key] = optax.contrib.schedule_free_adamw(
                group["lr"], weight_decay=group["weight_decay"])
        return transforms[key]

    return OptaxGroups(make, groups, {"weight_decay": 0.0, **kwargs})


def _recording(factory):
    def build(groups, **kwargs):
        LAST["opt"] = factory(groups, **kwargs)
        return LAST["opt"]
    return build


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    torch.set_default_dtype(torch.float64)
    problems = base.make_problems(np.random.default_rng(20240607))
    arrays: dict[str, np.ndarray] = {}
    cases, problems_found = [], []
    for optimizer, label, defaults, override in CONFIGS:
        if optimizer == "ScheduleFreeAdamW" and label == "optax":
            factory = _schedule_free_optax
        else:
            factory = {"Lion": _lion, "ScheduleFreeAdamW": _schedule_free}.get(
                optimizer, base._torch_optimizer(optimizer))
        base.FACTORIES[optimizer] = _recording(factory)
        for problem, spec in problems.items():
            if problem in SKIP.get((optimizer, label), ()):
                continue
            case = f"{optimizer}-{label}-{problem}"
            trajectory, losses = base.run_case(optimizer, defaults, override, problem, spec)
            opt = LAST["opt"]
            progress = losses[0] - losses[-1]
            if defaults.get("maximize"):
                progress = -progress
            if not (np.all(np.isfinite(trajectory)) and progress > 0):
                problems_found.append(f"{case}: the trajectory does not make progress")
                continue
            amplification = base.sensitivity(optimizer, defaults, override, problem, spec,
                                             trajectory)
            if amplification > base.MAX_AMPLIFICATION:
                problems_found.append(f"{case}: rounding errors grow {amplification:.3g}-fold "
                                      "along this trajectory, too much to compare to 1e-9")
                continue
            arrays[f"{case}/params"] = trajectory
            arrays[f"{case}/loss"] = losses
            if optimizer == "ASGD":
                arrays[f"{case}/ax"] = np.concatenate(
                    [opt.state[p]["ax"].numpy().ravel() for g in opt.param_groups
                     for p in g["params"]])
            cases.append({"name": case, "optimizer": optimizer, "problem": problem,
                          "defaults": defaults, "group1": override,
                          "negate": bool(defaults.get("maximize", False)),
                          "source": _source(optimizer, label)})
            print(f"{case}: amplification {amplification:.3g}")
    if problems_found:  # every refused case at once, so that one rerun can fix them all
        raise RuntimeError("change these cases:\n  " + "\n  ".join(problems_found))
    import optax
    import schedulefree

    manifest = {"torch_version": torch.__version__, "optax_version": optax.__version__,
                "schedulefree_version": getattr(schedulefree, "__version__", "1.4.1"),
                "steps": base.STEPS, "cases": cases}
    (OUT / "more_cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    np.savez_compressed(OUT / "more_trajectories.npz", **arrays)
    print(f"wrote {len(cases)} cases to {OUT}")


def _source(optimizer: str, label: str) -> str:
    if optimizer == "Lion" or label == "optax":
        return "optax"
    return "schedulefree" if optimizer == "ScheduleFreeAdamW" else "torch"


if __name__ == "__main__":
    main()
