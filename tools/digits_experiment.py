"""The digits experiment behind docs/digits.md, as a sweep: tools/digits_sweep.toml plus a report.

The runs are the spec's (every optimizer of the gradient-descent family over its grid of
learning rates, 5 seeds, a 64-128-10 ReLU network with early stopping); `steepest.sweep.run`
executes them on Dask and records them in ``OUT/sweep.sqlite``, so an interrupted experiment
resumes where it stopped and more workers (``--workers``, or a cluster with ``--scheduler``)
shorten it. This script then selects, for each optimizer, the setting with the highest mean
*validation* accuracy over the seeds (ties: lower validation loss), reads the test accuracy of
that setting only, writes the markdown table to docs/digits.md, and the sweep's figures and page
to ``OUT/report/`` (`steepest sweep report OUT`).

Usage::

    python tools/digits_experiment.py                          # full run, writes docs/digits.md
    python tools/digits_experiment.py --workers 2 --out runs/digits
    python tools/digits_experiment.py --quick --md /tmp/digits.md   # 2 seeds, 30 epochs, 1 lr
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import steepest as st
from steepest import sweep, sweep_report

HERE = Path(__file__).resolve().parent
SPEC = HERE / "digits_sweep.toml"


def quick_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The smoke test: 2 seeds, 30 epochs, the middle learning rate of each group."""
    quick = {**spec, "seed": spec["seed"][:2], "epochs": 30}
    quick["group"] = [{**g, "lr": g["lr"][len(g["lr"]) // 2] if isinstance(g["lr"], list)
                       else g["lr"]} for g in spec["group"]]
    for group in quick["group"]:
        if isinstance(group.get("weight_decay"), list):
            group["weight_decay"] = group["weight_decay"][0]
    return quick


def setting_text(config: dict[str, Any]) -> str:
    shown = ("optimizer", "lr", "momentum", "nesterov", "weight_decay")
    return ", ".join(f"{k}={config[k]:g}" if isinstance(config[k], float) else f"{k}={config[k]}"
                     for k in shown if k in config)


def select(rows: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Per label: the setting of highest mean validation accuracy (then lowest val loss)."""
    settings: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["status"] == "done":
            config = {k: v for k, v in row["config"].items() if k != "seed"}
            settings[row["config"]["label"]][setting_text(config)].append(row)

    def score(runs: list[dict[str, Any]]) -> tuple[float, float]:
        return (float(np.mean([r["metrics"]["val"]["accuracy"] for r in runs])),
                -float(np.mean([r["metrics"]["val"]["loss"] for r in runs])))

    chosen = []
    for label, grid in settings.items():
        text, runs = max(grid.items(), key=lambda item: score(item[1]))
        chosen.append((label, text, runs))
    return chosen


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def markdown(rows: list[dict[str, Any]], spec: dict[str, Any], args: argparse.Namespace,
             minutes: float) -> str:
    lines = ["| optimizer | selected setting | val acc (mean) | test acc mean | test min | "
             "test max | test per seed | epochs (mean) | time s (mean / max) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, text, runs in select(rows):
        test = np.array([r["metrics"]["test"]["accuracy"] for r in runs])
        val = np.array([r["metrics"]["val"]["accuracy"] for r in runs])
        seconds = np.array([r["seconds"] for r in runs])
        epochs = np.array([r["metrics"]["epochs"] for r in runs])
        lines.append(f"| {label} | {text} | {pct(val.mean())} | **{pct(test.mean())}** | "
                     f"{pct(test.min())} | {pct(test.max())} | "
                     f"{' '.join(pct(t) for t in test)} | {epochs.mean():.0f} | "
                     f"{seconds.mean():.1f} / {seconds.max():.1f} |")
    failed = sum(r["status"] == "failed" for r in rows)
    command = "python tools/digits_experiment.py " + " ".join(sys.argv[1:])
    return f"""# Digits: the gradient-descent family on a 64-128-10 network

Produced by `{command.strip()}` on {datetime.date.today().isoformat()}: {len(rows)} runs
({failed} failed) of the sweep `tools/digits_sweep.toml`{' (quick variant)' if args.quick else ''},
{minutes:.1f} minutes of wall time. Do not edit by hand: rerun the script. The sweep's figures
(learning-rate sensitivity, best curves) are in `{args.out}/report/index.html`.

## Protocol

* Data: scikit-learn's bundled copy of the UCI handwritten digits (1797 8x8 images, 64
  features, 10 classes), via `steepest.data.load_dataset("digits")`.
* Seeds {", ".join(str(s) for s in spec["seed"])}. Each run is `steepest.experiments.train_network`
  with that seed: a stratified 70/15/15 train/validation/test split, features standardised with
  the training rows' statistics, the network's initialisation and the minibatch order.
* Network `Linear(64, 128) - ReLU - Linear(128, 10)`, cross-entropy loss, at most
  {spec["epochs"]} epochs of minibatches of {spec["batch_size"]}, early stopping on the
  validation loss (patience {spec["patience"]}) restoring the best epoch's weights.
* Selection: for each optimizer, the setting with the highest mean **validation** accuracy over
  the seeds (ties: lower validation loss); test accuracies are read only for that setting.
* Time: seconds of one whole run on a worker ({os.cpu_count()} CPU cores shared with other work).

## Results (selected setting per optimizer, test accuracy in %)

{chr(10).join(lines)}

## Environment

Python {platform.python_version()}, NumPy {np.__version__}, steepest {st.__version__},
{platform.platform()}.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/digits", help="directory of sweep.sqlite")
    parser.add_argument("--workers", type=int, help="local worker processes (default: per core)")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, 30 epochs, one learning rate per optimizer")
    parser.add_argument("--md", default=str(HERE.parent / "docs" / "digits.md"))
    args = parser.parse_args(argv)
    spec = sweep.load_spec(SPEC)
    if args.quick:
        spec = quick_spec(spec)
    started = time.perf_counter()
    sweep.run({"sweep": spec}, args.out, workers=args.workers, scheduler=args.scheduler)
    minutes = (time.perf_counter() - started) / 60
    ids = [sweep.run_id(c) for c in sweep.expand(spec)]
    rows = sweep.read_runs(args.out, ids)
    page = sweep_report.write_report(args.out, rows)
    Path(args.md).write_text(markdown(rows, spec, args, minutes), encoding="utf-8")
    print(f"wrote {args.md} and {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
