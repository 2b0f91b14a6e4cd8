"""Issue 18, item 5: the fused kernels, alone and inside a whole training step.

``python benchmarks/kernels.py [--rounds R]``. Two parts:

1. **Each kernel against its NumPy reference**, in this process, interleaved (the sizes of the
   784-1024-1024-10 network at batch 512: a 1024x1024 weight, 512x1024 activations, 512x10
   logits).
2. **The whole step**, 784-1024-1024-10 ReLU, batch 512, float32, SGD and Adam, every contestant
   in its own fresh process (``_isolated``): a hand-written step that calls
   ``steepest.kernels`` for the update, the ReLU backward, the loss and its gradient and the bias
   gradients (NumPy's OpenBLAS does the products), once with the ``"numpy"`` backend and once
   with ``"numba"``; PyTorch's step; and the hand-written NumPy step of ``_models``.

``steepest.optim`` (SGD, Adam/AdamW, RMSprop, Adagrad) and the ReLU/tanh/bias rules of
``steepest.autodiff`` call these kernels under ``set_kernels("numba")``; this measures the kernels
alone and in a hand-composed step, apart from the engine.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import Settings, fmt_ratio, fmt_time, header, machine_description, table  # noqa: E402
from _models import (  # noqa: E402
    ADAM_BETAS,
    ADAM_EPS,
    LR_ADAM,
    LR_SGD,
    Network,
    Trainer,
    batch,
    initial_weights,
)

NET = Network((784, 1024, 1024, 10), "relu", 512)


def kernel_step(backend: str, sizes: list[int], activation: str, batch_size: int,
                optimizer: str) -> Trainer:
    """A hand-written training step whose elementwise work goes through ``steepest.kernels``."""
    from steepest import kernels

    kernels.set_kernels(backend)
    k = kernels.get_kernels()
    net = Network(tuple(sizes), activation, batch_size)
    if activation != "relu" or net.loss != "cross_entropy":
        raise ValueError("kernel_step: written for ReLU networks with a cross-entropy loss")
    params = [a.copy() for layer in initial_weights(net) for a in layer]
    weights, biases = params[0::2], params[1::2]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    x, y = batch(net)
    last = len(weights) - 1
    clock = [0]
    one = np.asarray(1.0, np.float32)

    def step() -> None:
        inputs = [x]
        h = x
        for i in range(last + 1):
            h = h @ weights[i].T
            h += biases[i]
            if i < last:
                h = np.maximum(h, 0)
                inputs.append(h)
        _loss, exp, total = k.softmax_cross_entropy(h, y)
        g = k.softmax_cross_entropy_backward(exp, total, y, one)
        grads: list[Any] = [None] * len(params)
        for i in range(last, -1, -1):
            grads[2 * i] = g.T @ inputs[i]
            grads[2 * i + 1] = k.bias_grad(g)
            if i > 0:
                g = k.relu_backward(g @ weights[i], inputs[i])
        clock[0] += 1
        for p, grad, (m, v) in zip(params, grads, moments, strict=True):
            if optimizer == "sgd":
                k.sgd_(p, grad, None, LR_SGD)
            else:
                k.adam_(p, grad, m, v, None, clock[0], LR_ADAM, *ADAM_BETAS, ADAM_EPS)

    return Trainer(step, lambda: params)


def _kernel_pairs() -> dict[str, tuple[Any, Any]]:
    from steepest.kernels import _numba as fast
    from steepest.kernels import _numpy as ref

    rng = np.random.default_rng(0)
    f32 = np.float32
    w, g = rng.standard_normal((1024, 1024)).astype(f32), rng.standard_normal((1024, 1024)).astype(f32)
    states = {name: [np.zeros_like(w) for _ in range(2)] for name in ("ref", "fast")}
    wr, wf = w.copy(), w.copy()
    act = np.maximum(rng.standard_normal((512, 1024)).astype(f32), 0)
    up = rng.standard_normal((512, 1024)).astype(f32)
    logits = rng.standard_normal((512, 10)).astype(f32)
    target = rng.integers(0, 10, 512)
    _, exp, total = ref.softmax_cross_entropy(logits, target)
    one = np.asarray(1.0, f32)
    return {
        "SGD update, 1024x1024": (lambda: ref.sgd_(wr, g, None, 1e-9),
                                  lambda: fast.sgd_(wf, g, None, 1e-9)),
        "SGD momentum+Nesterov, 1024x1024": (
            lambda: ref.sgd_(wr, g, states["ref"][0], 1e-9, 0.9, nesterov=True),
            lambda: fast.sgd_(wf, g, states["fast"][0], 1e-9, 0.9, nesterov=True)),
        "Adam update, 1024x1024": (
            lambda: ref.adam_(wr, g, *states["ref"], None, 10, 1e-9, 0.9, 0.999, 1e-8),
            lambda: fast.adam_(wf, g, *states["fast"], None, 10, 1e-9, 0.9, 0.999, 1e-8)),
        "RMSprop update, 1024x1024": (
            lambda: ref.rmsprop_(wr, g, states["ref"][1], None, None, 1e-9),
            lambda: fast.rmsprop_(wf, g, states["fast"][1], None, None, 1e-9)),
        "Adagrad update, 1024x1024": (
            lambda: ref.adagrad_(wr, g, states["ref"][1], 3, 1e-9),
            lambda: fast.adagrad_(wf, g, states["fast"][1], 3, 1e-9)),
        "ReLU backward, 512x1024": (lambda: ref.relu_backward(up, act),
                                    lambda: fast.relu_backward(up, act)),
        "tanh backward, 512x1024": (lambda: ref.tanh_backward(up, act),
                                    lambda: fast.tanh_backward(up, act)),
        "bias gradient, 512x1024": (lambda: ref.bias_grad(up), lambda: fast.bias_grad(up)),
        "softmax-CE forward, 512x10": (lambda: ref.softmax_cross_entropy(logits, target),
                                       lambda: fast.softmax_cross_entropy(logits, target)),
        "softmax-CE backward, 512x10": (
            lambda: ref.softmax_cross_entropy_backward(exp, total, target, one),
            lambda: fast.softmax_cross_entropy_backward(exp, total, target, one)),
    }


def kernels_alone(settings: Settings) -> str:
    from _harness import time_interleaved

    rows = []
    for label, (reference, fused) in _kernel_pairs().items():
        timings = time_interleaved({"numpy": reference, "numba": fused}, settings)
        rows.append([label, fmt_time(timings.median("numpy")), fmt_time(timings.median("numba")),
                     fmt_ratio(timings.ratio("numba", "numpy"))])
    return table(["kernel", "NumPy reference", "numba", "numba / NumPy"], rows)


def whole_step(settings: Settings) -> tuple[str, dict[str, Any]]:
    from _isolated import time_isolated

    spec = [list(NET.sizes), NET.activation, NET.batch]
    rows, data = [], {}
    for optimizer in ("sgd", "adam"):
        contestants = {
            "kernels numba": ("kernels:kernel_step", ["numba", *spec, optimizer]),
            "kernels numpy": ("kernels:kernel_step", ["numpy", *spec, optimizer]),
            "pytorch": ("_models:isolated_step", ["pytorch", *spec, optimizer]),
            "hand numpy": ("_models:isolated_step", ["numpy", *spec, optimizer]),
        }
        timings = time_isolated(contestants, settings)
        medians = {name: timings.median(name) for name in contestants}
        data[optimizer] = {"median_s": medians, "per_round_s": timings.per_call}
        rows.append([optimizer, *(fmt_time(medians[n]) for n in contestants),
                     fmt_ratio(timings.ratio("kernels numba", "pytorch")),
                     fmt_ratio(timings.ratio("kernels numba", "hand numpy")),
                     fmt_ratio(timings.ratio("kernels numpy", "pytorch")),
                     fmt_ratio(timings.ratio("kernels numba", "kernels numpy"))])
    text = table(["opt", "kernels (numba)", "kernels (numpy)", "PyTorch", "hand NumPy",
                  "numba / PyTorch", "numba / hand NumPy", "numpy kernels / PyTorch",
                  "numba / numpy kernels"], rows)
    return text, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", choices=("alone", "step"), default=None)
    args = parser.parse_args(argv)
    settings = Settings(rounds=args.rounds, block_s=0.1, warmup_s=0.3)
    print("# steepest kernels (issue 18, item 5)")
    print(header("Machine"))
    for key, value in machine_description().items():
        print(f"- {key}: {value}")
    from steepest.kernels import _numba

    print(f"- numba threading layer: {_numba.THREADING_LAYER}, {_numba.numba.get_num_threads()} "
          f"threads, parallel from {_numba.PARALLEL_MIN} elements")
    if args.only in (None, "alone"):
        print(header("Each kernel against its NumPy reference (one process)"))
        print(kernels_alone(Settings(rounds=args.rounds, block_s=0.02, warmup_s=0.05)))
    if args.only in (None, "step"):
        print(header(f"The whole step, {NET.label}, own processes"))
        print(whole_step(settings)[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
