"""Issue 2: the engine's own cost, measured against the NumPy calls it makes.

1. Per-op overhead: a recorded op on a small array (inputs require grad, so a graph node is
   built) against the bare NumPy call, side by side; the target is at most 3 us above NumPy.
2. Forward + backward of a 2-16-16-1 tanh MLP on a batch of 32 (fused linear, tanh, MSE), against
   the same network's hand-written NumPy forward and backward; the target is at most 2.5x.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
from _harness import Settings, Target, fmt_ratio, fmt_time, table, time_interleaved
from _models import Network, numpy_step, steepest_engine_step

OVERHEAD_TARGET_S = 3e-6
MLP_TARGET_RATIO = 2.5
MLP = Network((2, 16, 16, 1), "tanh", 32)
MID = Network((64, 128, 10), "relu", 64)


def _op_pairs(st: Any) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Each op as (steepest call recording a node, the NumPy call(s) it wraps)."""
    ops = st.autodiff.ops
    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 16)).astype(np.float32)
    b = rng.standard_normal((32, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    x, y = st.tensor(a, requires_grad=True), st.tensor(b, requires_grad=True)
    tw, tb = st.tensor(w, requires_grad=True), st.tensor(bias, requires_grad=True)
    return {
        "x + y": (lambda: x + y, lambda: a + b),
        "x * 2.0": (lambda: x * 2.0, lambda: a * 2.0),
        "x.tanh()": (lambda: x.tanh(), lambda: np.tanh(a)),
        "x.relu()": (lambda: x.relu(), lambda: np.maximum(a, 0)),
        "x.sum()": (lambda: x.sum(), lambda: np.sum(a)),
        "linear(x, W, b)": (lambda: ops.linear(x, tw, tb), lambda: a @ w.T + bias),
    }


def load_baseline(src: str) -> Any:
    """Import another copy of steepest (e.g. an older commit's ``src`` directory) as
    ``steepest_baseline``, so that it can be timed side by side with the current tree."""
    package = os.path.join(os.path.abspath(src), "steepest")
    if not os.path.isfile(os.path.join(package, "__init__.py")):
        raise SystemExit(f"--baseline-src: {src} has no steepest/__init__.py (give a src/ dir, "
                         "e.g. from `git worktree add /tmp/old <commit>`)")
    where = tempfile.mkdtemp(prefix="steepest-baseline-")
    shutil.copytree(package, os.path.join(where, "steepest_baseline"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, where)
    return importlib.import_module("steepest_baseline")


def _time_ops(settings: Settings, libraries: dict[str, Any]) -> tuple[list[list[str]], float]:
    """Rows of (op, NumPy time, then time and overhead per library) and the current tree's
    largest overhead (seconds)."""
    pairs = {label: _op_pairs(lib) for label, lib in libraries.items()}
    rows, worst = [], 0.0
    for name, (_, numpy_call) in pairs["steepest"].items():
        contestants = {"numpy": numpy_call}
        contestants.update({label: pairs[label][name][0] for label in libraries})
        timings = time_interleaved(contestants, settings)
        row = [name, fmt_time(timings.median("numpy"))]
        for label in libraries:
            overhead = timings.difference(label, "numpy")
            row += [fmt_time(timings.median(label)), fmt_time(overhead)]
            if label == "steepest":
                worst = max(worst, overhead)
        rows.append(row)
    return rows, worst


def _time_networks(settings: Settings, libraries: dict[str, Any]
                   ) -> tuple[list[list[str]], float]:
    """Forward+backward (and a step with inline SGD) on the bare engine against NumPy."""
    rows, target_ratio = [], float("nan")
    for net, optimizer in ((MLP, None), (MLP, "sgd"), (MID, "sgd")):
        contestants = {"numpy": numpy_step(net, optimizer).step}
        contestants.update({label: steepest_engine_step(net, optimizer, lib).step
                            for label, lib in libraries.items()})
        timings = time_interleaved(contestants, settings)
        what = "forward+backward" if optimizer is None else "step, inline SGD"
        row = [net.label, what, fmt_time(timings.median("numpy"))]
        for label in libraries:
            row += [fmt_time(timings.median(label)), fmt_ratio(timings.ratio(label, "numpy"))]
        rows.append(row)
        if net == MLP and optimizer is None:
            target_ratio = timings.ratio("steepest", "numpy")
    return rows, target_ratio


def run(settings: Settings, baseline: Any = None) -> tuple[str, list[Target]]:
    """Measure both, return the report section and the targets (``baseline``: an older copy
    of the library from :func:`load_baseline`, timed alongside)."""
    import steepest

    libraries = {"steepest": steepest}
    if baseline is not None:
        libraries["baseline"] = baseline
    op_rows, worst = _time_ops(settings, libraries)
    net_rows, ratio = _time_networks(settings, libraries)
    op_headers, net_headers = ["op", "NumPy"], ["network", "measured", "NumPy"]
    for label in libraries:
        op_headers += [label, "overhead"]
        net_headers += [label, "vs NumPy"]
    text = "\n".join([
        "Per-op overhead (float32 arrays of 32x16, inputs require grad: a node is recorded):",
        "",
        table(op_headers, op_rows),
        "",
        "The bare engine (fused ops on leaf tensors, no nn/optim) against hand-written NumPy:",
        "",
        table(net_headers, net_rows),
    ])
    targets = [
        Target("issue 2: largest per-op overhead above NumPy", worst * 1e6,
               OVERHEAD_TARGET_S * 1e6, unit=" us"),
        Target(f"issue 2: {MLP.label} forward+backward vs NumPy", ratio, MLP_TARGET_RATIO),
    ]
    return text, targets
