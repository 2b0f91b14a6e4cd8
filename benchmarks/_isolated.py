"""Timing each contestant in its own fresh process, the way users run them, still interleaved.

In one process the contestants share an allocator and a set of threads: glibc keeps the pages a
previous contestant freed, so a step that frees and reallocates megabytes of temporaries finds
them warm, while in a process of its own it gives them back to the kernel (trim and mmap
thresholds) and pays a page fault per 4 KiB on every step; and PyTorch's OpenMP threads, NumPy's
OpenBLAS threads and numba's threads of the *other* contestants spin on the same two cores. Both
make in-process figures differ from what a user sees.

So each contestant is a few worker processes (``python _isolated.py``, started fresh, taking the
rounds in turn: :data:`PROCESSES`), each of which builds its step from a factory
``module:function(*args)`` and then waits for orders on stdin. The parent
times rounds exactly as :func:`_harness.time_interleaved` does (a block of calls of each
contestant per round, the first one rotating), one worker at a time while the others sleep in
``readline``, and reports medians of per-round ratios. Each block starts with a fifth of its
calls untimed, so that it times warm steps, as a user's loop runs them. Each block also counts
the worker's minor page faults per call (``getrusage``), which shows the allocator effect
directly.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
# Between blocks, long enough for the finished contestant's threads to stop spinning:
# OpenBLAS's idle threads busy-wait for 2**28 cycles (~0.1 s) before they sleep, and would
# otherwise take both cores from the next contestant (a NumPy-based step measured 3-4x slower
# right after another NumPy-based one with a 10 ms pause).
PAUSE_S = 0.15
# Fresh processes per contestant, taking the rounds in turn. One process's figures for a small step
# depend on where its arrays and code happened to land (two runs of 64-128-10 compiled SGD read
# 1.11x and 1.30x hand NumPy, one process each): the median over rounds spread over three
# processes is the figure of the contestant, not of one memory layout.
PROCESSES = 3


class Worker:
    """One contestant in its own interpreter."""

    def __init__(self, factory: str, args: list[Any], env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, **(env or {})}
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "_isolated.py")],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=environment)
        self.ask({"factory": factory, "args": args})

    def ask(self, order: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker for {order} died (exit {self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"benchmark worker failed: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=30)


def time_isolated(contestants: dict[str, tuple[str, list[Any]]], settings: Any,
                  env: dict[str, dict[str, str]] | None = None) -> Any:
    """Time every contestant in its own fresh process, interleaved; returns ``Timings`` with an
    extra ``faults`` dict (minor page faults per call, per round)."""
    from _harness import Timings

    workers = {name: [Worker(f, a, (env or {}).get(name)) for _ in range(PROCESSES)]
               for name, (f, a) in contestants.items()}
    try:
        names = list(workers)
        timings = Timings({name: [] for name in names})
        timings.faults = {name: [] for name in names}  # type: ignore[attr-defined]
        for name in names:
            timings.calls_per_block[name] = workers[name][0].ask(
                {"calibrate": [settings.block_s, settings.warmup_s]})["calls"]
            for other in workers[name][1:]:  # warm the others as the first was warmed
                other.ask({"calibrate": [settings.block_s, settings.warmup_s]})
        for round_index in range(settings.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                time.sleep(PAUSE_S)
                calls = timings.calls_per_block[name]
                worker = workers[name][round_index % PROCESSES]
                answer = worker.ask({"run": calls})
                timings.per_call[name].append(answer["seconds"] / calls)
                timings.faults[name].append(answer["faults"] / calls)  # type: ignore[attr-defined]
    finally:
        for group in workers.values():
            for worker in group:
                worker.close()
    return timings


def _serve() -> None:
    sys.path.insert(0, HERE)
    step = None
    for line in sys.stdin:
        order = json.loads(line)
        try:
            if "factory" in order:
                module, function = order["factory"].split(":")
                made = getattr(importlib.import_module(module), function)(*order["args"])
                step = getattr(made, "step", made)
                answer: dict[str, Any] = {"ok": True}
            elif "calibrate" in order:
                block_s, warmup_s = order["calibrate"]
                deadline = time.perf_counter() + warmup_s
                calls = 0
                while calls < 2 or time.perf_counter() < deadline:
                    step()
                    calls += 1
                start = time.perf_counter()
                for _ in range(3):
                    step()
                per_call = (time.perf_counter() - start) / 3
                answer = {"calls": max(1, int(block_s / per_call))}
            else:
                calls = order["run"]
                # untimed calls first: after the parent's pause the caches and branch predictors
                # hold the other contestants' work, which a user's loop of steps never sees
                for _ in range(max(2, calls // 5)):
                    step()
                gc.collect()
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                for _ in range(calls):
                    step()
                seconds = time.perf_counter() - start
                answer = {"seconds": seconds,
                          "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}
        except Exception as error:  # reported to the parent, which raises with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
