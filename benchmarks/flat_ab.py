"""Issue 18 item 3: flat optimizer buffers against the per-parameter update, head to head.

``python benchmarks/flat_ab.py [--rounds 21] [--block-ms 20] [--quick] [--no-large] [--numba]``

On a shared machine run it with ``OPENBLAS_NUM_THREADS=1``: under load, OpenBLAS's spinning
threads turn a 64-128-10 step from 0.2 ms into tens of milliseconds, at random, in every
contestant alike, and that noise drowns the differences measured here.

Every case is timed in one process for the same optimizer built with ``flat=False`` (per
parameter, the reference), ``flat=None`` (the default: flat where it pays, parameters gathered
and scattered) and ``flat="views"`` (parameters as views into the flat vector), interleaved round
by round with the first contestant rotating, and reported as the median over rounds of the
per-round ratio to the per-parameter time (below 1.00: faster), next to the ratio of the two
fastest rounds; ``flat=True`` (gathered like the default, but for every group) as well, and
``A/A``, a second per-parameter optimizer, whose ratio is the noise of the run. ``--numba``
runs every contestant with the numba kernels (where ``flat=None`` stays per parameter: one
kernel call per parameter). Cases:

- ``opt.step()``: the update alone, gradients set once (2-16-16-1 and 64-128-10);
- ``training step``: zero_grad, forward through ``steepest.nn``, loss, backward, step, with the
  hand-written NumPy step of benchmarks/_models.py as a further contestant where it exists
  (plain SGD and Adam; the ratio to it is issue 18's "<= 1.1x" target);
- ``opt.step(), large``: the update of 784-1024-1024-10 (1.9 million parameters), where
  ``flat=None`` stays per parameter and ``flat=True`` shows what the copies would cost.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _harness import Settings, fmt_ratio, fmt_time, table, time_interleaved
from _models import (
    ADAM_BETAS,
    ADAM_EPS,
    LR_ADAM,
    LR_SGD,
    Network,
    _steepest_model,
    batch,
    initial_weights,
    numpy_step,
)

import steepest as st

SMALL = (Network((2, 16, 16, 1), "tanh", 32), Network((64, 128, 10), "relu", 64))
LARGE = Network((784, 1024, 1024, 10), "relu", 512)
#: (label, optimizer class name, options, the hand-written step's optimizer or None)
OPTIMIZERS = (
    ("SGD", "SGD", {"lr": LR_SGD}, "sgd"),
    ("SGD momentum", "SGD", {"lr": LR_SGD, "momentum": 0.9}, None),
    ("Adam", "Adam", {"lr": LR_ADAM, "betas": ADAM_BETAS, "eps": ADAM_EPS}, "adam"),
)
#: "A/A" is a second per-parameter optimizer: its ratio to the first is the noise of the run.
MODES = {"per-parameter": False, "A/A": False, "flat (default)": None, "views": "views",
         "flat=True": True}


def _optimizer(name: str, options: dict, params: list, flat) -> st.optim.Optimizer:
    return getattr(st.optim, name)(params, **options, flat=flat)


def _step_only(net: Network, name: str, options: dict, flat):
    """``opt.step()`` on the network's parameters with fixed gradients."""
    rng = np.random.default_rng(2)
    params = [st.tensor(a, requires_grad=True) for layer in initial_weights(net) for a in layer]
    for p in params:
        p.grad = (1e-3 * rng.standard_normal(p.shape)).astype(p.dtype)
    return _optimizer(name, options, params, flat).step


def _training_step(net: Network, name: str, options: dict, flat):
    """The eager training step through steepest.nn and steepest.optim, as in PyTorch."""
    model = _steepest_model(net)
    loss_fn = st.nn.MSELoss() if net.loss == "mse" else st.nn.CrossEntropyLoss()
    opt = _optimizer(name, options, list(model.parameters()), flat)
    x, y = batch(net)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


COLUMNS = list(MODES)


def _ratios(timings, name: str, reference: str) -> str:
    """The median of per-round ratios, then the ratio of the fastest rounds (under load the
    fastest round of each is the least disturbed one)."""
    best = min(timings.per_call[name]) / min(timings.per_call[reference])
    return f"{fmt_ratio(timings.ratio(name, reference))} / {fmt_ratio(best)}"


def _row(label: str, what: str, timings) -> list[str]:
    """The per-parameter time, every other contestant's ratios to it, then ratios to NumPy."""
    cells = [label, what, fmt_time(timings.median("per-parameter"))]
    cells += [_ratios(timings, name, "per-parameter") for name in COLUMNS[1:]]
    for name in ("per-parameter", "flat (default)", "views"):
        cells.append(_ratios(timings, name, "numpy") if "numpy" in timings.per_call else "")
    return cells


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--block-ms", type=float, default=20.0,
                        help="duration of one timed block (shorter blocks are hit by less load)")
    parser.add_argument("--quick", action="store_true", help="5 short rounds (a smoke run)")
    parser.add_argument("--no-large", action="store_true", help="leave out 784-1024-1024-10")
    parser.add_argument("--numba", action="store_true", help="with the numba kernels")
    args = parser.parse_args(argv)
    if args.numba:
        st.set_kernels("numba")
    settings = (Settings.quick() if args.quick
                else Settings(rounds=args.rounds, block_s=args.block_ms / 1000))
    rows = []
    for net in SMALL:
        for label, name, options, hand in OPTIMIZERS:
            cases = {"opt.step()": _step_only, "training step": _training_step}
            for what, make in cases.items():
                contestants = {mode: make(net, name, options, flat) for mode, flat in MODES.items()}
                if what == "training step" and hand is not None:
                    contestants["numpy"] = numpy_step(net, hand).step
                rows.append(_row(f"{net.label}, {label}", what,
                                 time_interleaved(contestants, settings)))
    large = Settings(rounds=max(5, settings.rounds // 2), block_s=0.05, warmup_s=0.1)
    for label, name, options, _ in [] if args.no_large else OPTIMIZERS[1:]:
        contestants = {mode: _step_only(LARGE, name, options, flat) for mode, flat in MODES.items()}
        rows.append(_row(f"{LARGE.label}, {label}", "opt.step(), large",
                         time_interleaved(contestants, large)))
    headers = ["network, optimizer", "measured", "per-parameter", *COLUMNS[1:],
               "per-parameter / NumPy", "default / NumPy", "views / NumPy"]
    print(table(headers, rows))
    print(f"\n{settings.rounds} interleaved rounds (large: {large.rounds}); each ratio: median of "
          f"per-round ratios / ratio of the fastest rounds; kernels: {st.kernels.current()}; "
          f"steepest from {st.__file__}", file=sys.stderr)


if __name__ == "__main__":
    main()
