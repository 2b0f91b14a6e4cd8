"""Issue 18 item 2: the buffer pool on and off, each in a fresh process (page faults, time, peak).

``python benchmarks/pool_ab.py [--rounds 15] [--optimizer sgd] [--kernels numpy]``

Contestants, each a worker process of its own (``_isolated.py``), timed in interleaved rounds:

- ``pool on`` / ``pool off``: the steepest ``nn`` + ``optim`` step of 784-1024-1024-10, batch
  512, float32, with ``steepest.autodiff.pool`` on (the default) and off;
- ``numpy``: the hand-written NumPy step of ``_models.numpy_step`` (the issue's reference).

It prints, per contestant, the median time per step with the spread (min-max over rounds),
the median minor page faults per step, the ratio to the NumPy step (median of per-round
ratios) and the peak resident memory of 20 steps in one more fresh process (as memory.py).
``--phases`` instead times each phase of the step (``zero_grad``, forward, backward, the
optimizer's step) in fresh processes, pool on and off, three times each;
``--small-baseline SRC`` times the small networks' engine step against another copy of the
library (e.g. ``git archive`` of the commit before the pool), in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _harness import Settings, fmt_ratio, fmt_time, table  # noqa: E402
from _isolated import time_isolated  # noqa: E402

SIZES, ACTIVATION, BATCH = [784, 1024, 1024, 10], "relu", 512
PEAK_STEPS = 20


def make(contestant: str, pool_on: bool, optimizer: str, kernel_backend: str):
    """The worker's factory: the step of ``contestant`` with the pool set as asked."""
    import _models

    from steepest import kernels
    from steepest.autodiff import pool

    pool.set_pool(pool_on)
    kernels.set_kernels(kernel_backend)
    return _models.isolated_step(contestant, SIZES, ACTIVATION, BATCH, optimizer)


def _peak_child(contestant: str, pool_on: bool, optimizer: str, kernel_backend: str) -> None:
    from memory import _status_kib

    trainer = make(contestant, pool_on, optimizer, kernel_backend)
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    for _ in range(PEAK_STEPS):
        trainer.step()
    print(json.dumps({"before_kib": before, "peak_kib": _status_kib("VmHWM")}))


def peak(contestant: str, pool_on: bool, optimizer: str, kernel_backend: str) -> dict:
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--peak-child", contestant,
                           str(pool_on), optimizer, kernel_backend],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _phases_child(pool_on: bool, optimizer: str, kernel_backend: str, steps: int) -> None:
    """Seconds and minor faults of each phase of the nn + optim step (median over ``steps``)."""
    import resource
    import time

    import _models

    from steepest import kernels, nn, optim
    from steepest.autodiff import pool

    pool.set_pool(pool_on)
    kernels.set_kernels(kernel_backend)
    net = _models.Network(tuple(SIZES), ACTIVATION, BATCH)
    model = _models._steepest_model(net)
    loss_fn = nn.CrossEntropyLoss()
    opt = (optim.Adam(model.parameters(), lr=_models.LR_ADAM) if optimizer == "adam"
           else optim.SGD(model.parameters(), lr=_models.LR_SGD))
    x, y = _models.batch(net)
    held: list = []  # the loss, from the forward phase to the end of the step
    phases = {"zero_grad": lambda: opt.zero_grad(),
              "forward": lambda: held.append(loss_fn(model(x), y)),
              "backward": lambda: held[0].backward(), "step": lambda: opt.step()}
    figures: dict[str, list] = {name: [] for name in phases}
    for _ in range(steps):
        for name, run in phases.items():
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            run()
            figures[name].append((time.perf_counter() - start,
                                  resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults))
        held.clear()
    print(json.dumps({name: [statistics.median(t for t, _ in values[3:]),
                             statistics.median(f for _, f in values[3:])]
                      for name, values in figures.items()}))


def phases(pool_on: bool, optimizer: str, kernel_backend: str, steps: int = 23) -> dict:
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--phases-child", str(pool_on),
                           optimizer, kernel_backend, str(steps)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def small(baseline_src: str, rounds: int) -> None:
    """The small networks' engine step, this tree against ``baseline_src``, in one process:
    blocks of calls interleaved (the first rotating); the ratio of the fastest blocks (the
    least disturbed by other processes on a loaded machine) and the median per-round ratio."""
    import time

    import _models
    from engine import load_baseline

    import steepest

    baseline = load_baseline(baseline_src)
    rows = []
    for net in (_models.Network((2, 16, 16, 1), "tanh", 32), _models.Network((64, 128, 10), "relu", 64)):
        for optimizer in (None, "sgd"):
            steps = {"after": _models.steepest_engine_step(net, optimizer, steepest).step,
                     "before": _models.steepest_engine_step(net, optimizer, baseline).step}
            for step in steps.values():
                for _ in range(200):
                    step()
            per_call: dict[str, list[float]] = {name: [] for name in steps}
            names = list(steps)
            for index in range(rounds):
                for name in names[index % 2:] + names[:index % 2]:
                    start = time.perf_counter()
                    for _ in range(100):
                        steps[name]()
                    per_call[name].append((time.perf_counter() - start) / 100)
            ratios = [a / b for a, b in zip(per_call["after"], per_call["before"], strict=True)]
            rows.append([net.label, "forward+backward" if optimizer is None else "step, inline SGD",
                         fmt_time(min(per_call["before"])), fmt_time(min(per_call["after"])),
                         fmt_ratio(min(per_call["after"]) / min(per_call["before"])),
                         fmt_ratio(statistics.median(ratios))])
    print(table(["network", "measured", "before (fastest)", "after (fastest)", "fastest ratio",
                 "median ratio"], rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--kernels", default="numpy")
    parser.add_argument("--phases", action="store_true",
                        help="time each phase of the step (zero_grad, forward, backward, step)")
    parser.add_argument("--small-baseline", metavar="SRC",
                        help="instead: the small networks against another copy of steepest")
    parser.add_argument("--peak-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--phases-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_child:
        contestant, on, optimizer, backend = args.peak_child
        _peak_child(contestant, on == "True", optimizer, backend)
        return
    if args.phases_child:
        on, optimizer, backend, steps = args.phases_child
        _phases_child(on == "True", optimizer, backend, int(steps))
        return
    if args.small_baseline:
        small(args.small_baseline, args.rounds)
        return
    if args.phases:
        rows = []
        for _ in range(3):  # fresh processes, alternating
            for on in (True, False):
                for name, (seconds, faults) in phases(on, args.optimizer, args.kernels).items():
                    rows.append([f"pool {'on' if on else 'off'}", name, fmt_time(seconds),
                                 f"{faults:.0f}"])
        print(table(["pool", "phase", "median time", "minor faults"], rows))
        return
    factory = "pool_ab:make"
    contestants = {
        "pool on": (factory, ["steepest", True, args.optimizer, args.kernels]),
        "pool off": (factory, ["steepest", False, args.optimizer, args.kernels]),
        "numpy": (factory, ["numpy", True, args.optimizer, "numpy"]),
    }
    timings = time_isolated(contestants, Settings(rounds=args.rounds, block_s=0.3, warmup_s=0.5))
    rows = []
    for name, (_, factory_args) in contestants.items():
        times = timings.per_call[name]
        figures = peak(*factory_args)
        rows.append([name, fmt_time(timings.median(name)),
                     f"{fmt_time(min(times))}-{fmt_time(max(times))}",
                     f"{statistics.median(timings.faults[name]):.0f}",
                     fmt_ratio(timings.ratio(name, "numpy")),
                     fmt_ratio(timings.ratio(name, "pool off")),
                     f"{figures['peak_kib'] / 1024:.0f} MiB",
                     f"{(figures['peak_kib'] - figures['before_kib']) / 1024:.0f} MiB"])
    print(table(["contestant", "median step", "min-max", "minor faults/step", "vs numpy",
                 "vs pool off",
                 f"peak ({PEAK_STEPS} steps)", "increase"], rows))
    print(f"\n{args.rounds} interleaved rounds, own process each; optimizer {args.optimizer}, "
          f"kernels {args.kernels}", file=sys.stderr)


if __name__ == "__main__":
    main()
