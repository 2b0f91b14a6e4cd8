"""Issue 12: first-order ``backward()`` before and after higher-order autodiff, head to head.

``python benchmarks/backward_ab.py --baseline-src /path/to/old/src [--rounds 31]``

Each case is timed for the current tree and for the baseline copy of the library, interleaved
(round by round, the first contestant rotating), and reported as the median over rounds of the
per-round ratio current / baseline: 1.00 means no change. Cases:

- ``backward only``: ``loss.backward(retain_graph=True)`` on one recorded graph, repeated (the
  engine's reverse loop alone, no op recording);
- ``forward+backward``: the bare-engine step of engine.py (fused linear, activation, loss);
- ``step, inline SGD``: the same with the update.
"""

from __future__ import annotations

import argparse
import sys

from _harness import Settings, fmt_ratio, fmt_time, table, time_interleaved
from _models import Network, batch, initial_weights, steepest_engine_step
from engine import load_baseline

NETWORKS = (Network((2, 16, 16, 1), "tanh", 32), Network((64, 128, 10), "relu", 64))


def _backward_only(net: Network, library):
    """A recorded graph of the network's loss and a call that runs backward through it again."""
    ops = library.autodiff.ops
    params = [library.tensor(a, requires_grad=True) for layer in initial_weights(net) for a in layer]
    x, y = batch(net)
    h = x
    activation = ops.tanh if net.activation == "tanh" else ops.relu
    for i in range(0, len(params), 2):
        h = ops.linear(h, params[i], params[i + 1])
        if i < len(params) - 2:
            h = activation(h)
    loss = (ops.mse_loss if net.loss == "mse" else ops.cross_entropy)(h, y, reduction="mean")

    def step() -> None:
        for p in params:
            p.grad = None
        loss.backward(retain_graph=True)
    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", required=True)
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args(argv)
    import steepest

    baseline = load_baseline(args.baseline_src)
    settings = Settings(rounds=args.rounds)
    rows = []
    for net in NETWORKS:
        cases = {
            "backward only": lambda lib, net=net: _backward_only(net, lib),
            "forward+backward": lambda lib, net=net: steepest_engine_step(net, None, lib).step,
            "step, inline SGD": lambda lib, net=net: steepest_engine_step(net, "sgd", lib).step,
        }
        for what, make in cases.items():
            timings = time_interleaved({"after": make(steepest), "before": make(baseline)}, settings)
            rows.append([net.label, what, fmt_time(timings.median("before")),
                         fmt_time(timings.median("after")), fmt_ratio(timings.ratio("after", "before"))])
    print(table(["network", "measured", "before", "after", "after / before"], rows))
    print(f"\n{args.rounds} interleaved rounds; steepest from {steepest.__file__}", file=sys.stderr)


if __name__ == "__main__":
    main()
