"""Issue 2: the engine's own cost, measured against the NumPy calls it makes.

1. Per-op overhead: a recorded op on a small array (inputs require grad, so a graph node is
   built) against the bare NumPy call, side by side; the target is at most 3 us above NumPy.
2. Forward + backward of a 2-16-16-1 tanh MLP on a batch of 32 (fused linear, tanh, MSE), against
   the same network's hand-written NumPy forward and backward; the target is at most 2.5x.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _harness import Settings, Target, fmt_ratio, fmt_time, table, time_interleaved
from _models import Network, numpy_step, steepest_engine_step

OVERHEAD_TARGET_S = 3e-6
MLP_TARGET_RATIO = 2.5
MLP = Network((2, 16, 16, 1), "tanh", 32)


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


def op_overhead(settings: Settings, st: Any = None) -> tuple[list[list[str]], float]:
    """Rows of (op, NumPy time, steepest time, overhead) and the largest overhead (seconds)."""
    if st is None:
        import steepest as st
    rows, worst = [], 0.0
    for name, (engine_call, numpy_call) in _op_pairs(st).items():
        timings = time_interleaved({"steepest": engine_call, "numpy": numpy_call}, settings)
        overhead = timings.difference("steepest", "numpy")
        worst = max(worst, overhead)
        rows.append([name, fmt_time(timings.median("numpy")), fmt_time(timings.median("steepest")),
                     fmt_time(overhead)])
    return rows, worst


def mlp_forward_backward(settings: Settings) -> tuple[list[str], float]:
    timings = time_interleaved({
        "steepest": steepest_engine_step(MLP, None).step,
        "numpy": numpy_step(MLP, None).step,
    }, settings)
    ratio = timings.ratio("steepest", "numpy")
    row = [MLP.label, fmt_time(timings.median("numpy")), fmt_time(timings.median("steepest")),
           fmt_ratio(ratio)]
    return row, ratio


def run(settings: Settings) -> tuple[str, list[Target]]:
    """Measure both, return the report section and the targets."""
    rows, worst = op_overhead(settings)
    mlp_row, ratio = mlp_forward_backward(settings)
    text = "\n".join([
        "Per-op overhead (float32 arrays of 32x16, inputs require grad: a node is recorded):",
        "",
        table(["op", "NumPy", "steepest", "overhead"], rows),
        "",
        "Forward + backward (no update) against hand-written NumPy:",
        "",
        table(["network", "NumPy", "steepest", "ratio"], [mlp_row]),
    ])
    targets = [
        Target("issue 2: largest per-op overhead above NumPy", worst * 1e6,
               OVERHEAD_TARGET_S * 1e6, unit=" us"),
        Target(f"issue 2: {MLP.label} forward+backward vs NumPy", ratio, MLP_TARGET_RATIO),
    ]
    return text, targets
