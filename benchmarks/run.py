"""Run steepest's benchmarks: ``python benchmarks/run.py [--quick] [--only PARTS]``.

Parts (all by default, in this order):

* ``engine``     issue 2: per-op overhead and a small MLP's forward+backward against NumPy;
* ``training``   issue 6.1 and issue 4: training-step time against PyTorch and hand-written NumPy;
* ``rosenbrock`` issue 6.2: 10,000 Adam steps through ``st.minimize`` against PyTorch and NumPy;
* ``memory``     issue 6.3: peak resident memory of 20 steps of the largest network;
* ``import``     issue 6.4: ``import steepest`` against ``import torch``.

The report (Markdown) goes to stdout, with a PASS/MISS line per target at the end; ``--json``
also writes every measured figure. PyTorch is optional: without it its columns read n/a.
Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _harness  # noqa: E402
from _harness import Settings, Target, header  # noqa: E402

PARTS = ("engine", "training", "rosenbrock", "memory", "import")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, shorter blocks, 2,000 Rosenbrock steps (~1 minute)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, from {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds per comparison (default 15, quick 5)")
    parser.add_argument("--engine-too", action="store_true",
                        help="also time the bare engine (ops + inline update) in the training "
                             "table, to separate the engine from nn/optim")
    parser.add_argument("--networks", default=None,
                        help="training part: only these networks, e.g. 2-16-16-1,64-128-10 "
                             "(both batch sizes of a network are kept)")
    parser.add_argument("--baseline-src", metavar="DIR",
                        help="engine part: also time the steepest package found in DIR (e.g. an "
                             "older commit's src/), side by side, for before/after figures")
    parser.add_argument("--json", metavar="PATH", help="write every figure to this JSON file")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    args.parts = parts
    return args


def _networks(spec: str | None) -> tuple[Any, ...]:
    from _models import NETWORKS

    if spec is None:
        return NETWORKS
    wanted = {name.strip() for name in spec.split(",") if name.strip()}
    chosen = tuple(n for n in NETWORKS if "-".join(map(str, n.sizes)) in wanted)
    known = sorted({"-".join(map(str, n.sizes)) for n in NETWORKS})
    if not chosen or len({"-".join(map(str, n.sizes)) for n in chosen}) != len(wanted):
        raise SystemExit(f"--networks: choose from {', '.join(known)}; got {spec!r}")
    return chosen


def _match_threads() -> int:
    """Give PyTorch NumPy's BLAS thread count, so that both use the same cores."""
    threads = _harness.blas_threads()
    try:
        import torch
    except ImportError:
        return threads
    torch.set_num_threads(threads)
    return threads


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    settings = Settings.quick() if args.quick else Settings()
    if args.rounds is not None:
        settings = Settings(args.rounds, settings.block_s, settings.warmup_s)
    threads = _match_threads()
    started = time.time()
    print("# steepest benchmarks" + (" (quick)" if args.quick else ""))
    print(header("Machine"))
    machine = _harness.machine_description()
    for key, value in machine.items():
        print(f"- {key}: {value}")
    print(f"- threads: {threads} (NumPy BLAS and PyTorch intra-op)")
    targets: list[Target] = []
    data: dict[str, Any] = {"machine": machine, "quick": args.quick,
                            "settings": dataclasses.asdict(settings)}

    if "engine" in args.parts:
        import engine

        baseline = engine.load_baseline(args.baseline_src) if args.baseline_src else None
        text, found = engine.run(settings, baseline)
        print(header("Engine overhead (issue 2)"), text, sep="\n")
        targets += found
    if "training" in args.parts:
        import training

        text, found, data["training"] = training.run(settings, quick=args.quick,
                                                     engine_too=args.engine_too,
                                                     networks=_networks(args.networks))
        print(header("Training step (issue 6.1, issue 4)"), text, sep="\n")
        targets += found
    if "rosenbrock" in args.parts:
        import rosenbrock

        text, found, data["rosenbrock"] = rosenbrock.run(settings, quick=args.quick)
        print(header("Optimizer loop: Adam on Rosenbrock (issue 6.2)"), text, sep="\n")
        targets += found
    if "memory" in args.parts:
        import memory
        from _models import steepest_has_nn, torch_available

        contestants = (["steepest"] if steepest_has_nn() else ["steepest engine"]) + (
            ["pytorch"] if torch_available() else []) + ["numpy"]
        text, found, data["memory"] = memory.run(contestants)
        print(header("Peak memory (issue 6.3)"), text, sep="\n")
        targets += found
    if "import" in args.parts:
        import import_time
        from _models import torch_available

        text, found, data["import"] = import_time.run(3 if args.quick else 7, torch_available())
        print(header("Import time (issue 6.4)"), text, sep="\n")
        targets += found

    print(header("Targets"))
    for target in targets:
        print("- " + target.line())
    met = sum(t.verdict == "PASS" for t in targets)
    measured = sum(t.verdict != "N/A" for t in targets)
    load = machine["load average at start"]
    print(f"\n{met} of {measured} measured targets met"
          + (f" ({len(targets) - measured} N/A: a feature not built yet, or PyTorch missing)"
             if measured < len(targets) else "")
          + f"; {time.time() - started:.0f} s; load average {load} at start, "
          f"{_harness._load()} at the end.")
    data["targets"] = [{"label": t.label, "value": t.value, "limit": t.limit,
                        "at_most": t.at_most, "verdict": t.verdict} for t in targets]
    if args.json:
        with open(args.json, "w") as out:
            json.dump(data, out, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
