"""Issue 6.2: the overhead of an optimizer loop, 10,000 Adam steps on 2-D Rosenbrock.

Contestants, interleaved run by run:

* ``st.minimize(f, x0, method="adam")`` with ``f`` the library's Rosenbrock expression on Tensors,
  differentiated by the engine (the like-for-like rival of PyTorch's loop), and with the
  analytic gradient (``jac=``, the like-for-like rival of the NumPy loop). Both keep the whole
  trace (path, f values, gradient norms, step sizes) as ``minimize`` always does.
* PyTorch: a float64 tensor, the same expression, ``backward()`` and ``torch.optim.Adam``.
* NumPy: the analytic gradient and Adam's update written out.

All runs start at (-1.2, 1) with lr = 1e-3 and default betas/eps, and must end at the same point
(the table shows the largest difference of the final iterates to NumPy's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _harness import Settings, Target, fmt_ratio, fmt_time, table
from _models import torch_available

LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
X0 = (-1.2, 1.0)
B = 100.0
TARGET_SPEEDUP = 3.0


def _numpy_gradient(x: np.ndarray) -> np.ndarray:
    head = x[:-1]
    r = x[1:] - head * head
    g = np.zeros_like(x)
    g[:-1] = -4.0 * B * head * r - 2.0 * (1.0 - head)
    g[1:] += 2.0 * B * r
    return g


def _numpy_value(x: np.ndarray) -> float:
    head = x[:-1]
    return float(np.sum(B * (x[1:] - head * head) ** 2 + (1.0 - head) ** 2))


def numpy_run(steps: int) -> np.ndarray:
    """Adam (torch.optim.Adam's arithmetic) with the analytic gradient, as a plain loop."""
    x = np.array(X0)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    beta1, beta2 = BETAS
    for t in range(1, steps + 1):
        _numpy_value(x)  # a real loop watches f; every other contestant evaluates it too
        g = _numpy_gradient(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + EPS
        x = x - (LR / (1 - beta1**t)) * m / denom
    return x


def torch_run(steps: int) -> np.ndarray:
    import torch

    x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=LR, betas=BETAS, eps=EPS)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        head = x[:-1]
        f = (B * (x[1:] - head * head) ** 2 + (1.0 - head) ** 2).sum()
        f.backward()
        opt.step()
    return x.detach().numpy().copy()


def steepest_run(steps: int, analytic: bool) -> np.ndarray:
    import steepest as st

    problem = st.problems.get("rosenbrock")
    if analytic:
        result = st.minimize(_numpy_value, np.array(X0), method="adam", lr=LR, max_iter=steps,
                             gtol=0.0, jac=_numpy_gradient, betas=BETAS, eps=EPS)
    else:
        result = st.minimize(problem.f, np.array(X0), method="adam", lr=LR, max_iter=steps,
                             gtol=0.0, betas=BETAS, eps=EPS)
    if result.nit != steps:
        raise RuntimeError(f"minimize stopped after {result.nit} of {steps} steps: "
                           f"{result.message}")
    return np.asarray(result.x)


def _contestants(steps: int) -> dict[str, Callable[[], np.ndarray]]:
    contestants: dict[str, Callable[[], np.ndarray]] = {
        "steepest (autodiff)": lambda: steepest_run(steps, analytic=False),
        "steepest (jac=)": lambda: steepest_run(steps, analytic=True),
    }
    if torch_available():
        contestants["pytorch"] = lambda: torch_run(steps)
    contestants["numpy"] = lambda: numpy_run(steps)
    return contestants


def run(settings: Settings, quick: bool = False) -> tuple[str, list[Target], dict[str, Any]]:
    """Whole runs, interleaved; ``settings.rounds`` runs of each (fewer steps with ``quick``)."""
    steps = 2_000 if quick else 10_000
    rounds = max(3, settings.rounds // 3)
    contestants = _contestants(steps)
    names = list(contestants)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    finals: dict[str, np.ndarray] = {}
    for name in names:  # warm-up run: imports, first-call costs
        finals[name] = contestants[name]()
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            contestants[name]()
            seconds[name].append(time.perf_counter() - start)

    def median_ratio(a: str, b: str) -> float:
        return float(np.median([x / y for x, y in zip(seconds[a], seconds[b], strict=True)]))

    rows = []
    for name in names:
        per_step = float(np.median(seconds[name])) / steps
        diff = float(np.max(np.abs(finals[name] - finals["numpy"])))
        rows.append([name, fmt_time(float(np.median(seconds[name]))), fmt_time(per_step),
                     fmt_ratio(median_ratio(name, "numpy")),
                     fmt_ratio(median_ratio(name, "pytorch")) if "pytorch" in seconds else "n/a",
                     f"{diff:.1e}"])
    speedup = 1 / median_ratio("steepest (autodiff)", "pytorch") if "pytorch" in seconds else None
    text = "\n".join([
        f"{steps} Adam steps from {X0}, lr={LR}; {rounds} interleaved runs each.",
        "",
        table(["contestant", "run", "per step", "vs NumPy", "vs PyTorch",
               "final x vs NumPy"], rows),
    ])
    targets = [Target(f"issue 6: Rosenbrock loop, PyTorch time / steepest (autodiff) time "
                      f"({steps} steps)", speedup, TARGET_SPEEDUP, at_most=False)]
    data = {"steps": steps, "seconds": seconds, "speedup_vs_torch": speedup}
    return text, targets, data
