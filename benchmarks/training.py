"""Issue 6.1 (and issue 4): the time of one training step, steepest against PyTorch and NumPy.

A step is zero_grad, forward, loss, backward and the optimizer update (SGD and Adam), in float32.
Every network is timed with its contestants interleaved; the table gives median step times, the
median per-round ratios, the step's matrix-multiply FLOPs and the achieved GFLOP/s against the
float32 GEMM peak NumPy reaches on this machine (the physical limit of an engine built on NumPy).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _harness import Settings, Target, fmt_ratio, fmt_time, table, time_interleaved
from _isolated import time_isolated
from _models import (
    NETWORKS,
    Network,
    Trainer,
    gemm_flops,
    numpy_gemms,
    numpy_step,
    steepest_compile_available,
    steepest_engine_step,
    steepest_has_nn,
    steepest_step,
    torch_available,
    torch_gemms,
    torch_step,
)

from steepest.kernels import numba_available

# (at most this ratio to PyTorch, at most this ratio to hand-written NumPy), from issue 6.
TARGETS: dict[tuple[int, ...], tuple[float, float]] = {
    (2, 16, 16, 1): (0.35, 2.0),
    (64, 128, 10): (0.5, 1.6),
    (784, 256, 10): (0.85, 1.15),
    (784, 1024, 1024, 10): (1.0, 1.05),
}
# Issue 4: 64-128-10 ReLU with cross-entropy, batch 64: <= 1.6x NumPy and >= 2x faster than torch.
ISSUE4 = (Network((64, 128, 10), "relu", 64), 1.6, 0.5)
OPTIMIZERS = ("sgd", "adam")
# Issue 18, item 6: own-process medians of ratios, network -> limit (both optimizers).
ISSUE18_NUMPY = {(2, 16, 16, 1): 1.1, (64, 128, 10): 1.1, (784, 1024, 1024, 10): 1.05}
ISSUE18_TORCH = {(2, 16, 16, 1): 0.25, (64, 128, 10): 0.25, (784, 256, 10): 0.8}
ISSUE18_COMPILE_NUMPY = {(2, 16, 16, 1): 0.8, (64, 128, 10): 0.8}
ISSUE18_FAST_TORCH = {(784, 1024, 1024, 10): 0.95}


def gemm_peak(quick: bool) -> tuple[float, str]:
    """The best float32 matrix-multiply rate of NumPy here, in GFLOP/s.

    A peak is a best case, and load from other processes only ever slows a product down, so
    this is the fastest of several repeats (of the size that does best).
    """
    rng = np.random.default_rng(0)
    best, where = 0.0, ""
    for n in (1024,) if quick else (512, 1024, 2048):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        a @ b  # warm up (threads, caches)
        rates = []
        for _ in range(3 if quick else 7):
            start = time.perf_counter()
            a @ b
            rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
        rate = max(rates)
        if rate > best:
            best, where = rate, f"{n}x{n} @ {n}x{n} float32"
    return best, where


def _contestants(net: Network, optimizer: str, engine_too: bool) -> dict[str, Trainer]:
    contestants: dict[str, Trainer] = {}
    if steepest_has_nn():
        contestants["steepest"] = steepest_step(net, optimizer)
    if engine_too or "steepest" not in contestants:
        contestants["steepest engine"] = steepest_engine_step(net, optimizer)
    if torch_available():
        contestants["pytorch"] = torch_step(net, optimizer)
    contestants["numpy"] = numpy_step(net, optimizer)
    return contestants


def agreement(net: Network, optimizer: str, steps: int = 3) -> dict[str, float]:
    """Largest relative difference of each contestant's weights to NumPy's after a few steps.

    This is what makes the comparison fair: every contestant must compute the same update.
    """
    trainers = _contestants(net, optimizer, engine_too=True)
    for trainer in trainers.values():
        for _ in range(steps):
            trainer.step()
    reference = trainers["numpy"].parameters()
    errors = {}
    for name, trainer in trainers.items():
        worst = 0.0
        for mine, ref in zip(trainer.parameters(), reference, strict=True):
            scale = float(np.max(np.abs(ref))) or 1.0
            worst = max(worst, float(np.max(np.abs(np.asarray(mine) - ref))) / scale)
        errors[name] = worst
    return errors


def run(settings: Settings, quick: bool = False, engine_too: bool = False,
        networks: tuple[Network, ...] = NETWORKS) -> tuple[str, list[Target], dict[str, Any]]:
    """Time every network with both optimizers; return the report section, targets and data."""
    peak, peak_where = gemm_peak(quick)
    rows, targets, data = [], [], {"gemm_peak_gflops": peak, "rows": []}
    own_rows: list[list[str]] = []
    for net in networks:
        flops = gemm_flops(net)
        for optimizer in OPTIMIZERS:
            errors = agreement(net, optimizer)
            trainers = _contestants(net, optimizer, engine_too)
            main = "steepest" if "steepest" in trainers else "steepest engine"
            timings = time_interleaved({name: t.step for name, t in trainers.items()}, settings)
            medians = {name: timings.median(name) for name in trainers}
            vs_torch = timings.ratio(main, "pytorch") if "pytorch" in trainers else None
            vs_numpy = timings.ratio(main, "numpy")
            gflops = flops / medians[main] / 1e9
            rows.append([
                net.label, optimizer,
                *(fmt_time(medians.get(name)) for name in ("steepest", "steepest engine",
                                                            "pytorch", "numpy")),
                fmt_ratio(vs_torch), fmt_ratio(vs_numpy), f"{flops / 1e6:.3g}",
                f"{gflops:.2f} ({100 * gflops / peak:.1f}%)",
                f"{errors[main]:.1e}",
                f"{errors['pytorch']:.1e}" if "pytorch" in errors else "n/a",
            ])
            data["rows"].append({"network": net.label, "optimizer": optimizer,
                                 "median_s": medians, "vs_torch": vs_torch, "vs_numpy": vs_numpy,
                                 "gemm_flops": flops, "agreement": errors})
            own = _own_process(net, optimizer, settings, main, trainers)
            own_rows.append([net.label, optimizer, *own["cells"],
                             fmt_ratio(vs_torch), fmt_ratio(vs_numpy)])
            data["rows"][-1]["own_process"] = own["data"]
            targets += _targets(net, optimizer, main, own["vs_torch"], own["vs_numpy"])
            targets += _issue18_targets(net, optimizer, main, own)
    floor_text, data["gemm_floor"] = gemm_floor(settings, networks)
    text = "\n".join([
        f"float32 GEMM peak of NumPy: {peak:.1f} GFLOP/s ({peak_where}).",
        "Ratios are medians over rounds of the per-round ratio of steepest "
        f"({'nn + optim' if steepest_has_nn() else 'bare engine: nn/optim not available'}) "
        "to the other contestant; GFLOP/s counts matrix multiplies only (% of that peak).",
        "",
        table(["network", "opt", "steepest", "engine only", "PyTorch", "NumPy", "vs PyTorch",
               "vs NumPy", "MFLOP/step", "steepest GFLOP/s", "diff steepest", "diff PyTorch"],
              rows),
        "",
        "diff: largest difference of the weights to NumPy's after 3 steps from the same start, "
        "relative to the largest weight (0 means bitwise equal).",
        "",
        "**Own processes** (what users get, and what the targets use): each contestant in a "
        "fresh interpreter of its own, interleaved round by round; faults are minor page faults "
        "per step. The last two columns repeat the in-process ratios above.",
        "",
        table(["network", "opt", "steepest", "compile or [fast]", "PyTorch", "NumPy",
               "vs PyTorch", "vs NumPy", "compile vs NumPy", "[fast] vs PyTorch",
               "faults steepest", "faults PyTorch", "faults NumPy", "in-process vs PyTorch",
               "in-process vs NumPy"], own_rows),
        "",
        "`compile or [fast]`: the step under `st.compile` (2-16-16-1, 64-128-10) or with the "
        "numba kernels, `st.set_kernels(\"numba\")` (784-1024-1024-10); n/a where that "
        "contestant cannot run here (numba missing).",
        *floor_text,
    ])
    return text, targets, data


def gemm_floor(settings: Settings, networks: tuple[Network, ...]) -> tuple[list[str], list[dict]]:
    """The matrix products of each network's step alone, NumPy against PyTorch, interleaved with
    PyTorch's whole SGD step.

    ``NumPy GEMMs / PyTorch step`` is the lowest ratio to PyTorch that any engine calling NumPy's
    BLAS can reach: the products are work no engine can skip. Where it is above a target, the
    target is out of reach of this design on this machine, whatever the engine does.
    """
    if not torch_available():
        return [], []
    rows, data = [], []
    for net in networks:
        contestants = {"numpy gemms": numpy_gemms(net), "pytorch gemms": torch_gemms(net),
                       "pytorch step": torch_step(net, "sgd").step}
        timings = time_interleaved(contestants, settings)
        floor = timings.ratio("numpy gemms", "pytorch step")
        blas = timings.ratio("numpy gemms", "pytorch gemms")
        target = TARGETS.get(net.sizes, (None,))[0]
        rows.append([net.label, fmt_time(timings.median("numpy gemms")),
                     fmt_time(timings.median("pytorch gemms")),
                     fmt_time(timings.median("pytorch step")), fmt_ratio(blas),
                     fmt_ratio(floor), "n/a" if target is None else f"{target:g}x"])
        data.append({"network": net.label, "numpy_gemms_vs_torch_gemms": blas,
                     "numpy_gemms_vs_torch_step": floor,
                     "median_s": {name: timings.median(name) for name in contestants}})
    return ["", "The floor set by the matrix products (same shapes, same threads; PyTorch step "
            "with SGD):", "",
            table(["network", "NumPy GEMMs", "PyTorch GEMMs", "PyTorch step", "NumPy / PyTorch "
                   "GEMMs", "NumPy GEMMs / PyTorch step", "target vs PyTorch"], rows), "",
            "A network whose `NumPy GEMMs / PyTorch step` is above its target cannot meet the "
            "target with NumPy's BLAS, however small the engine's own overhead."], data


def _own_process(net: Network, optimizer: str, settings: Settings, main: str,
                 trainers: dict[str, Trainer]) -> dict[str, Any]:
    """The same step timed with every contestant in its own fresh process (see _isolated).

    Where issue 18 sets a target for them, two more contestants join: the step under
    ``st.compile`` (small networks) and the step with the numba kernels (the large one).
    """
    names = [name for name in (main, "pytorch", "numpy") if name in trainers]
    if net.sizes in ISSUE18_COMPILE_NUMPY and steepest_compile_available():
        names.append("steepest compile")
    if net.sizes in ISSUE18_FAST_TORCH and numba_available():
        names.append("steepest [fast]")
    spec = [list(net.sizes), net.activation, net.batch, optimizer]
    timings = time_isolated({name: ("_models:isolated_step", [name, *spec]) for name in names},
                            settings)
    vs_torch = timings.ratio(main, "pytorch") if "pytorch" in names else None
    vs_numpy = timings.ratio(main, "numpy")
    compile_vs_numpy = (timings.ratio("steepest compile", "numpy")
                        if "steepest compile" in names else None)
    fast_vs_torch = (timings.ratio("steepest [fast]", "pytorch")
                     if "steepest [fast]" in names and "pytorch" in names else None)
    faults = {name: float(np.median(timings.faults[name])) for name in names}
    medians = {name: timings.median(name) for name in names}
    extra = "steepest compile" if "steepest compile" in names else "steepest [fast]"
    cells = [fmt_time(medians.get(main)), fmt_time(medians.get(extra)),
             fmt_time(medians.get("pytorch")), fmt_time(medians.get("numpy")),
             fmt_ratio(vs_torch), fmt_ratio(vs_numpy), fmt_ratio(compile_vs_numpy),
             fmt_ratio(fast_vs_torch),
             *(f"{faults[n]:.0f}" if n in faults else "n/a" for n in (main, "pytorch", "numpy"))]
    return {"cells": cells, "vs_torch": vs_torch, "vs_numpy": vs_numpy,
            "compile_vs_numpy": compile_vs_numpy, "fast_vs_torch": fast_vs_torch,
            "data": {"median_s": medians, "vs_torch": vs_torch, "vs_numpy": vs_numpy,
                     "compile_vs_numpy": compile_vs_numpy, "fast_vs_torch": fast_vs_torch,
                     "minor_faults_per_step": faults,
                     "per_round_s": timings.per_call}}


def _issue18_targets(net: Network, optimizer: str, main: str, own: dict[str, Any]) -> list[Target]:
    """Issue 18's table (item 6), own-process figures; a contestant that cannot run reads N/A."""
    label = f"issue 18: {net.label}, {optimizer}"
    found = []
    if net.sizes in ISSUE18_NUMPY:
        found.append(Target(f"{label}: {main} / NumPy, plain", own["vs_numpy"],
                            ISSUE18_NUMPY[net.sizes]))
    if net.sizes in ISSUE18_COMPILE_NUMPY:
        found.append(Target(f"{label}: steepest with st.compile / NumPy", own["compile_vs_numpy"],
                            ISSUE18_COMPILE_NUMPY[net.sizes]))
    if net.sizes in ISSUE18_TORCH:
        found.append(Target(f"{label}: {main} / PyTorch, plain", own["vs_torch"],
                            ISSUE18_TORCH[net.sizes]))
    if net.sizes in ISSUE18_FAST_TORCH:
        found.append(Target(f"{label}: steepest with [fast] / PyTorch", own["fast_vs_torch"],
                            ISSUE18_FAST_TORCH[net.sizes]))
    return found


def _targets(net: Network, optimizer: str, main: str, vs_torch: float | None,
             vs_numpy: float) -> list[Target]:
    limits = TARGETS.get(net.sizes)
    found = []
    if limits is not None:
        label = f"issue 6 (own processes): {net.label}, {optimizer}"
        found += [Target(f"{label}: {main} / PyTorch", vs_torch, limits[0]),
                  Target(f"{label}: {main} / NumPy", vs_numpy, limits[1])]
    issue4_net, numpy_limit, torch_limit = ISSUE4
    if net == issue4_net and optimizer == "sgd":
        label = f"issue 4: {net.label}, cross-entropy, sgd"
        found += [Target(f"{label}: {main} / NumPy", vs_numpy, numpy_limit),
                  Target(f"{label}: {main} / PyTorch", vs_torch, torch_limit)]
    return found
