"""Issue 16.6: a 40-run sweep on a LocalCluster of 1 and of 2 worker processes.

Measures, for the same 40 runs (Rosenbrock, gradient descent, 40 seeded starts, ~0.3 s each):

* ``startup``: starting the LocalCluster and connecting a client (paid once per sweep);
* ``wall``: the sweep itself on the running cluster (submit, compute, write 40 SQLite rows);
* ``compute``: the sum of the runs' own durations, as measured inside the workers;
* the speedup of 2 workers over 1 (``wall_1 / wall_2``, the issue aims at >= 1.7x on 2 cores);
* the per-run scheduling overhead with one worker, ``(wall_1 - compute_1) / 40``: what Dask,
  the transfer of configs and results and the client's row writes add to each run;
* the scheduling floor: 200 runs of one iteration each, whose wall time per run is almost all
  overhead; its inverse bounds the runs per second that one client and scheduler can record.

From these, the throughput of a 100-worker cluster is estimated as
``min(100 / (t_run + overhead), 1 / floor)`` runs per second: each worker does one run at a time,
and the client records the rows one by one. Usage: ``python benchmarks/sweep.py [--runs 40]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from steepest import sweep  # noqa: E402


def spec(runs: int, max_iter: int) -> dict:
    return {"sweep": {"kind": "minimize", "problem": "rosenbrock", "method": "gd", "lr": 1e-4,
                      "max_iter": max_iter, "seed": list(range(1, runs + 1))}}


def timed_sweep(workers: int, runs: int, max_iter: int) -> dict[str, float]:
    """Start a cluster (timed), run the sweep on it (timed), return the times."""
    import distributed
    out = Path(tempfile.mkdtemp(prefix="steepest-sweep-bench-"))
    try:
        started = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        with cluster, distributed.Client(cluster) as client:
            client.run(lambda: __import__("steepest.experiments"))  # warm imports in workers
            startup = time.perf_counter() - started
            started = time.perf_counter()
            table = sweep.run(spec(runs, max_iter), out, scheduler=cluster.scheduler_address,
                              progress=False)
            wall = time.perf_counter() - started
        assert len(table) == runs and set(table["status"]) == {"done"}
        return {"startup": startup, "wall": wall, "compute": float(table["seconds"].sum())}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--max-iter", type=int, default=10000, help="iterations per run")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{os.cpu_count()} CPU cores; {args.runs} runs of gd on rosenbrock, "
          f"{args.max_iter} iterations each")
    one = timed_sweep(1, args.runs, args.max_iter)
    two = timed_sweep(2, args.runs, args.max_iter)
    floor = timed_sweep(1, 200, 1)
    t_run = one["compute"] / args.runs
    overhead = max(one["wall"] - one["compute"], 0.0) / args.runs
    per_floor = floor["wall"] / 200
    for name, t in (("1 worker", one), ("2 workers", two)):
        print(f"{name:10s} startup {t['startup']:.2f} s, sweep {t['wall']:.2f} s, compute "
              f"{t['compute']:.2f} s")
    print(f"speedup 2 vs 1 workers: {one['wall'] / two['wall']:.2f}x (target >= 1.7x); with "
          f"startup: {(one['wall'] + one['startup']) / (two['wall'] + two['startup']):.2f}x")
    print(f"mean run {t_run * 1e3:.0f} ms; scheduling overhead per run (1 worker) "
          f"{overhead * 1e3:.1f} ms; floor (200 one-iteration runs) {per_floor * 1e3:.1f} ms/run")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine shares the "
          f"cores: compute_2 / compute_1 = {two['compute'] / one['compute']:.2f}, 1.0 when idle)")
    estimate = min(100 / (t_run + overhead), 1 / per_floor)
    print(f"estimated 100-worker throughput for runs of {t_run * 1e3:.0f} ms: {estimate:.0f} "
          f"runs/s (worker-bound {100 / (t_run + overhead):.0f}, client-bound "
          f"{1 / per_floor:.0f}); runs of 10 s: {min(100 / (10 + overhead), 1 / per_floor):.1f} "
          f"runs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
