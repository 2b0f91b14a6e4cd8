"""Optimizer updates before and after a change, head to head: ``opt.step()`` alone.

``python benchmarks/update_ab.py --baseline-src /path/to/old/src [--rounds 31]
[--optimizers Adam,AdamW,RAdam,SGD]``

Each optimizer updates the parameters of each benchmark network (the shapes of its weights and
biases, float32) from fixed gradients; the current tree and the baseline copy of the library
are timed interleaved, round by round, and reported as the median over rounds of the per-round
ratio after / before (1.00 means no change). Issue 18, third round: Adam's and RAdam's work
buffers (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from _harness import Settings, fmt_ratio, fmt_time, table, time_interleaved
from _models import NETWORKS
from engine import load_baseline

#: Arguments of each optimizer (the rest at their defaults).
SETTINGS = {"SGD": {"lr": 1e-2}, "Adam": {"lr": 1e-4}, "AdamW": {"lr": 1e-4},
            "RAdam": {"lr": 1e-4}, "NAdam": {"lr": 1e-4}, "Adamax": {"lr": 1e-4},
            "RMSprop": {"lr": 1e-4}, "Adagrad": {"lr": 1e-3}, "Adadelta": {}, "Lion": {"lr": 1e-5}}


def _update(library: Any, sizes: tuple[int, ...], name: str) -> Callable[[], Any]:
    """``opt.step`` of optimizer ``name`` over the parameters of a network of ``sizes``."""
    rng = np.random.default_rng(0)
    shapes = [shape for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
              for shape in ((n_out, n_in), (n_out,))]
    params = [library.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    for p in params:
        p.grad = (rng.standard_normal(p.shape) * 1e-3).astype(np.float32)
    return getattr(library.optim, name)(params, **SETTINGS[name]).step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", required=True)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--optimizers", default="Adam,AdamW,RAdam,SGD",
                        help=f"comma-separated, from {', '.join(SETTINGS)}")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    unknown = [name for name in names if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown optimizer(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}")
    import steepest

    baseline = load_baseline(args.baseline_src)
    settings = Settings(rounds=args.rounds, block_s=0.04, warmup_s=0.2)
    rows = []
    for sizes in dict.fromkeys(net.sizes for net in NETWORKS):  # each network once
        for name in names:
            timings = time_interleaved({"after": _update(steepest, sizes, name),
                                        "before": _update(baseline, sizes, name)}, settings)
            rows.append(["-".join(map(str, sizes)), name, fmt_time(timings.median("before")),
                         fmt_time(timings.median("after")),
                         fmt_ratio(timings.ratio("after", "before"))])
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)  # progress
    print(table(["parameters of", "optimizer", "before", "after", "after / before"], rows))
    print(f"\n{args.rounds} interleaved rounds; steepest from {steepest.__file__}", file=sys.stderr)


if __name__ == "__main__":
    main()
