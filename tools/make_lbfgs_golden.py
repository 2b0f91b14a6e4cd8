"""Regenerate tests/golden/optim/lbfgs.npz: torch.optim.LBFGS trajectories that steepest.optim.LBFGS
must match.

Run from the repository root::

    python tools/make_lbfgs_golden.py

In float64, on the 2-D Rosenbrock function from (-1.2, 1), on a 5-D ill-conditioned quadratic
split over two parameter tensors (and, for the line search's evaluation budget, on the 3-D
Rosenbrock function and a quartic bowl), for ``line_search_fn=None`` (with ``lr=0.1``, and with the
defaults) and ``"strong_wolfe"``, with ``history_size`` 100 and 3, it records the parameters and
the returned loss after each of ``STEPS`` calls of ``step(closure)`` (each call runs up to
``max_iter`` iterations), and the closure-evaluation count. A case whose trajectory moves by
more than 5e-10 (relative, half the tolerance) when the start moves by one ulp is refused:
rounding, not the algorithm, would decide a 1e-9 match (Rosenbrock with history 3 and 7
iterations per step moves by 1e-8). PyTorch is a tool dependency only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

STEPS = 6
OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "optim"

CASES = {
    "rosenbrock-default": ("rosenbrock", {}),
    "rosenbrock-lr0.1": ("rosenbrock", {"lr": 0.1, "max_iter": 10}),
    "rosenbrock-wolfe": ("rosenbrock", {"line_search_fn": "strong_wolfe"}),
    "rosenbrock-wolfe-h3": ("rosenbrock", {"line_search_fn": "strong_wolfe", "history_size": 3,
                                           "max_iter": 4}),
    "quadratic-default": ("quadratic", {"lr": 0.5, "max_iter": 8}),
    "quadratic-wolfe": ("quadratic", {"line_search_fn": "strong_wolfe", "history_size": 2,
                                      "max_iter": 4}),
    # The line search's budget: torch passes max_ls = max_eval - evaluations so far (QA: a
    # fixed 25 made more closure calls and another point). max_iter=1 gives max_eval=1, so
    # max_ls=0: one trial point, then the better of t=0 and it.
    "rosenbrock-wolfe-maxiter1": ("rosenbrock", {"line_search_fn": "strong_wolfe",
                                                 "max_iter": 1}),
    # the defaults (max_iter=20, max_eval=25) from the QA's start: the first step's last search
    # is cut short by the budget (26 closure calls, not 28)
    "rosenbrock3-wolfe": ("rosenbrock3", {"line_search_fn": "strong_wolfe"}),
    "quartic-wolfe-maxiter1": ("quartic", {"line_search_fn": "strong_wolfe", "lr": 0.1,
                                           "max_iter": 1}),
    "quartic-wolfe-budget": ("quartic", {"line_search_fn": "strong_wolfe", "lr": 0.1,
                                         "max_iter": 4, "max_eval": 6}),
}
#: Starts of the problems other than the quadratic (whose start is drawn with its data).
STARTS = {"rosenbrock": [-1.2, 1.0],
          "rosenbrock3": [-1.6630356943560174, 1.134793267953789, -0.7965039896268258],
          "quartic": [3.0, -2.0, 0.5, 4.0]}


def quadratic_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A = (q * np.array([1.0, 3.0, 10.0, 30.0, 100.0])) @ q.T
    return {"A": A, "b": rng.standard_normal(5), "x0": rng.standard_normal(5)}


def loss_of(problem: str, params: list[torch.Tensor], data: dict[str, np.ndarray]) -> torch.Tensor:
    if problem == "rosenbrock":
        (w,) = params
        return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    if problem == "rosenbrock3":
        (z,) = params
        return (100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2).sum()
    if problem == "quartic":
        (z,) = params
        return ((z - 1.0) ** 2).sum() + 0.1 * (z ** 4).sum()
    x = torch.cat(params)
    A, b = torch.tensor(data["A"]), torch.tensor(data["b"])
    return 0.5 * x @ (A @ x) - b @ x


def initial(problem: str, data: dict[str, np.ndarray]) -> list[np.ndarray]:
    if problem in STARTS:
        return [np.array(STARTS[problem])]
    return [data["x0"][:3], data["x0"][3:]]


def run(problem: str, options: dict, data: dict[str, np.ndarray], start: list[np.ndarray]
        ) -> tuple[np.ndarray, list[float], list[int]]:
    params = [torch.tensor(v, requires_grad=True) for v in start]
    opt = torch.optim.LBFGS(params, **options)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = loss_of(problem, params, data)
        loss.backward()
        evals[0] += 1
        return loss

    path = [torch.cat([p.detach() for p in params]).numpy().copy()]
    losses, counts = [], []
    for _ in range(STEPS):
        losses.append(float(opt.step(closure).detach()))
        path.append(torch.cat([p.detach() for p in params]).numpy().copy())
        counts.append(evals[0])
    return np.array(path), losses, counts


def main() -> None:
    torch.set_default_dtype(torch.float64)
    data = quadratic_data()
    arrays: dict[str, np.ndarray] = {f"quadratic/{k}": v for k, v in data.items()}
    for name, (problem, options) in CASES.items():
        start = initial(problem, data)
        path, losses, counts = run(problem, options, data, start)
        nudged = [np.nextafter(start[0], np.inf)] + start[1:]
        moved = np.abs(run(problem, options, data, nudged)[0] - path).max() / np.abs(path).max()
        if moved > 5e-10:
            raise SystemExit(f"{name}: one ulp at the start moves the trajectory by {moved:.1e}")
        arrays[f"{name}/params"] = path
        arrays[f"{name}/loss"] = np.array(losses)
        arrays[f"{name}/evals"] = np.array(counts)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / "lbfgs.npz", **arrays)
    manifest = {"torch_version": torch.__version__, "steps": STEPS, "starts": STARTS,
                "cases": {name: {"problem": p, "options": o} for name, (p, o) in CASES.items()}}
    (OUT / "lbfgs.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
