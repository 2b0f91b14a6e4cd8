"""The golden optimizer cases of tests/golden/optim (made by tools/make_optim_golden.py), rebuilt
with steepest: the three problems written with steepest ops, and each case's optimizer."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

import steepest as st
from steepest import schedules
from steepest.autodiff import ops

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "optim"


@cache
def manifest() -> dict[str, Any]:
    return json.loads((GOLDEN / "cases.json").read_text())


@cache
def more_manifest() -> dict[str, Any]:
    """The cases of tools/make_optim_more_golden.py (RAdam, Rprop, ASGD, Adafactor from torch;
    Lion from optax; schedule-free AdamW from its reference implementation and optax)."""
    return json.loads((GOLDEN / "more_cases.json").read_text())


@cache
def arrays() -> dict[str, np.ndarray]:
    out = {}
    for name in ("trajectories.npz", "more_trajectories.npz"):
        with np.load(GOLDEN / name, allow_pickle=False) as archive:
            out.update({key: archive[key] for key in archive.files})
    return out


def cases() -> list[dict[str, Any]]:
    return manifest()["cases"] + more_manifest()["cases"]


def case(name: str) -> dict[str, Any]:
    return next(c for c in cases() if c["name"] == name)


def make_params(problem: str, dtype: Any = np.float64) -> dict[str, st.Tensor]:
    """Fresh leaf tensors holding the problem's initial values, in the trajectory's order."""
    names = manifest()["problems"][problem]["params"]
    return {name: st.tensor(arrays()[f"{problem}/{name}"], requires_grad=True, dtype=dtype)
            for name in names}


def loss(problem: str, p: dict[str, st.Tensor]) -> st.Tensor:
    """The problem's objective written with steepest ops (the tool writes it with torch ops)."""
    data = {name: arrays()[f"{problem}/{name}"] for name in manifest()["problems"][problem]["data"]}
    if problem == "quadratic":
        z = st.concatenate([p["u"], p["v"]])
        return 0.5 * (z @ (data["A"] @ z)) - z @ data["b"]
    if problem == "rosenbrock":
        z = st.concatenate([p["head"], p["tail"]])
        return (100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2).sum()
    hidden = st.tanh(ops.linear(data["X"], p["W1"], p["b1"]))
    return ops.mse_loss(ops.linear(hidden, p["W2"], p["b2"]), data["Y"], reduction="mean")


def _options(options: dict[str, Any]) -> dict[str, Any]:
    options = dict(options)
    if isinstance(options.get("lr"), dict):
        options["lr"] = schedules.from_dict(options["lr"])
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    return options


def make_optimizer(spec: dict[str, Any], params: dict[str, st.Tensor]) -> st.optim.Optimizer:
    cls = getattr(st.optim, spec["optimizer"])
    if spec["group1"] is None:
        groups: list[Any] = [{"params": list(params.values())}]
    else:
        first, second = manifest()["problems"][spec["problem"]]["groups"]
        groups = [{"params": [params[name] for name in first]},
                  {"params": [params[name] for name in second], **_options(spec["group1"])}]
    return cls(groups, **_options(spec["defaults"]))


def flat(params: dict[str, st.Tensor]) -> np.ndarray:
    return np.concatenate([p.data.ravel() for p in params.values()])


def run(spec: dict[str, Any], params: dict[str, st.Tensor], opt: st.optim.Optimizer,
        steps: int) -> tuple[np.ndarray, list[float]]:
    """Take ``steps`` updates through ``step(closure)``; returns the iterates (x0 first) and the
    losses the closure returned."""
    sign = -1.0 if spec["negate"] else 1.0

    def closure() -> st.Tensor:
        opt.zero_grad()
        value = sign * loss(spec["problem"], params)
        value.backward()
        return value

    trajectory, losses = [flat(params)], []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        trajectory.append(flat(params))
    return np.array(trajectory), losses
