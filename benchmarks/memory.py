"""Issue 6.3: peak resident memory of 20 training steps of the largest network.

Each contestant runs in its own fresh subprocess (``python memory.py --child NAME OPTIMIZER``):
it imports its library, builds the 784-1024-1024-10 network and its batch of 512, then resets the
kernel's peak-RSS mark (``/proc/self/clear_refs``), takes 20 steps and reports

* ``peak``: the process's peak resident set during the 20 steps (VmHWM), everything included
  (interpreter, libraries, weights, activations, gradients, optimizer state);
* ``increase``: that peak minus the resident set just before the first step, i.e. what training
  itself adds on top of the imported library and the model.

The issue's target (peak memory no more than PyTorch's) is checked on both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

STEPS = 20


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _child(name: str, optimizer: str) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _models
    from _harness import blas_threads

    net = _models.NETWORKS[-1]
    if name == "pytorch":
        import torch

        torch.set_num_threads(blas_threads())
        trainer = _models.torch_step(net, optimizer)
    elif name == "steepest":
        trainer = _models.steepest_step(net, optimizer)
    elif name == "steepest engine":
        trainer = _models.steepest_engine_step(net, optimizer)
    else:
        trainer = _models.numpy_step(net, optimizer)
    before = _status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset the peak-RSS mark to the current RSS
        reset = True
    except OSError:
        reset = False
    for _ in range(STEPS):
        trainer.step()
    peak = _status_kib("VmHWM")
    print(json.dumps({"before_kib": before, "peak_kib": peak, "peak_reset": reset}))


def measure(name: str, optimizer: str) -> dict[str, Any]:
    """Run one contestant in a fresh interpreter and return its figures (KiB)."""
    completed = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name,
                                optimizer], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"memory child {name} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(contestants: list[str], optimizers: tuple[str, ...] = ("sgd", "adam")
        ) -> tuple[str, list[Any], dict[str, Any]]:
    from _harness import Target, table

    rows, targets, data = [], [], {}
    for optimizer in optimizers:
        figures = {name: measure(name, optimizer) for name in contestants}
        data[optimizer] = figures
        for name, f in figures.items():
            rows.append([optimizer, name, f"{f['peak_kib'] / 1024:.0f} MiB",
                         f"{f['before_kib'] / 1024:.0f} MiB",
                         f"{(f['peak_kib'] - f['before_kib']) / 1024:.0f} MiB"])
        if "pytorch" in figures and "steepest" in figures:
            mine, theirs = figures["steepest"], figures["pytorch"]
            targets += [
                Target(f"issue 6: peak RSS of 20 {optimizer} steps, steepest / PyTorch",
                       mine["peak_kib"] / theirs["peak_kib"], 1.0),
                Target(f"issue 18: peak RSS of 20 {optimizer} steps, steepest / PyTorch",
                       mine["peak_kib"] / theirs["peak_kib"], 0.3),
                Target(f"issue 6: RSS added by 20 {optimizer} steps, steepest / PyTorch",
                       (mine["peak_kib"] - mine["before_kib"])
                       / (theirs["peak_kib"] - theirs["before_kib"]), 1.0),
            ]
    text = "\n".join([
        f"{STEPS} steps of 784-1024-1024-10 ReLU, batch 512, float32; one fresh process each.",
        "",
        table(["opt", "contestant", "peak RSS", "RSS before steps", "added by training"], rows),
    ])
    return text, targets, data


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("memory.py is run by benchmarks/run.py (--only memory)")
