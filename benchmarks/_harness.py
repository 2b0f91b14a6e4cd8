"""Timing machinery shared by every benchmark: interleaved rounds, medians, ratios, targets.

This machine is shared and noisy, so absolute times drift by tens of percent from one second to
the next. Contestants are therefore timed *interleaved*: each round times a block of calls of
every contestant (A, B, C, then B, C, A, ...), so that a burst of load hits all of them alike, and
each comparison is the median over rounds of the per-round ratio. Absolute times are reported as
medians too, but only the ratios are meant to be compared between runs.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Settings", "Timings", "Target", "time_interleaved", "fmt_time", "fmt_ratio", "table",
    "machine_description", "blas_threads", "header",
]


@dataclass(frozen=True)
class Settings:
    """How long to measure.

    Attributes
    ----------
    rounds : int
        Interleaved rounds per comparison; each yields one time per contestant.
    block_s : float
        Target duration of one timed block (the number of calls per block is calibrated so that
        one block of each contestant lasts about this long).
    warmup_s : float
        Untimed running of each contestant before calibration (caches, allocator, lazy imports).
    """

    rounds: int = 15
    block_s: float = 0.02
    warmup_s: float = 0.05

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=5, block_s=0.008, warmup_s=0.02)


@dataclass
class Timings:
    """Seconds per call of each contestant, one entry per interleaved round."""

    per_call: dict[str, list[float]] = field(default_factory=dict)
    calls_per_block: dict[str, int] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.per_call[name])

    def ratio(self, name: str, reference: str) -> float:
        """Median over rounds of ``time(name) / time(reference)`` measured in the same round."""
        pairs = zip(self.per_call[name], self.per_call[reference], strict=True)
        return statistics.median(a / b for a, b in pairs)

    def difference(self, name: str, reference: str) -> float:
        """Median over rounds of ``time(name) - time(reference)`` in the same round (seconds)."""
        pairs = zip(self.per_call[name], self.per_call[reference], strict=True)
        return statistics.median(a - b for a, b in pairs)


def _run_block(step: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return time.perf_counter() - start


def _calibrate(step: Callable[[], Any], settings: Settings) -> int:
    """Warm ``step`` up, then return how many calls make one block of ``settings.block_s``."""
    deadline = time.perf_counter() + settings.warmup_s
    calls = 0
    while True:
        step()
        calls += 1
        if time.perf_counter() >= deadline and calls >= 2:
            break
    per_call = _run_block(step, 3) / 3
    return max(1, int(settings.block_s / per_call))


def time_interleaved(contestants: dict[str, Callable[[], Any]], settings: Settings) -> Timings:
    """Time every contestant in interleaved rounds, rotating who goes first.

    Parameters
    ----------
    contestants : dict of name -> zero-argument callable
        Each callable performs one unit of work (one op, one training step, ...).
    settings : Settings

    Returns
    -------
    Timings
        Seconds per call of each contestant in each round.
    """
    names = list(contestants)
    timings = Timings({name: [] for name in names})
    for name in names:
        timings.calls_per_block[name] = _calibrate(contestants[name], settings)
    for round_index in range(settings.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            calls = timings.calls_per_block[name]
            gc.collect()  # start every block with the same (empty) garbage backlog
            timings.per_call[name].append(_run_block(contestants[name], calls) / calls)
    return timings


@dataclass
class Target:
    """A promise from an issue: ``value`` must be at most (or at least) ``limit``."""

    label: str
    value: float | None
    limit: float
    at_most: bool = True
    unit: str = "x"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "N/A"
        ok = self.value <= self.limit if self.at_most else self.value >= self.limit
        return "PASS" if ok else "MISS"

    def line(self) -> str:
        relation = "<=" if self.at_most else ">="
        shown = "unavailable" if self.value is None else f"{self.value:.3g}{self.unit}"
        return f"[{self.verdict}] {self.label}: {shown} (target {relation} {self.limit:g}{self.unit})"


def fmt_time(seconds: float | None) -> str:
    """A duration with a unit that keeps three significant digits readable."""
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (readable in a terminal as well)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def header(title: str) -> str:
    return f"\n## {title}\n"


def blas_threads() -> int:
    """The number of threads NumPy's BLAS uses (via threadpoolctl when installed)."""
    import numpy as np  # noqa: F401  (loads the BLAS so that threadpoolctl can see it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    return int(blas[0]["num_threads"]) if blas else int(os.cpu_count() or 1)


def _cpu_model() -> str:
    """Model name, family/model numbers and the vector extensions that matter for GEMM."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    vector = [name for name in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if name in flags]
    hypervisor = ", virtual machine" if "hypervisor" in flags else ""
    vendor = fields.get("vendor_id", "")
    family = fields.get("cpu family", "")
    # AMD's family numbers name the core generation (a VM often hides the model name)
    zen = {"23": "Zen 1/2", "25": "Zen 3/4", "26": "Zen 5"}.get(family, "")
    if vendor == "AuthenticAMD" and zen:
        zen = f", {zen}"
    else:
        zen = ""
    return (f"{fields.get('model name', platform.machine())} ({vendor}, family {family}, "
            f"model {fields.get('model')}{zen}; {' '.join(vector) or 'no AVX'}{hypervisor})")


def _caches() -> str:
    """Cache sizes of CPU 0 as the kernel reports them (per core for L1/L2, shared L3)."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    found = []
    try:
        for entry in sorted(os.listdir(base)):
            if not entry.startswith("index"):
                continue
            with open(os.path.join(base, entry, "level")) as level, \
                    open(os.path.join(base, entry, "type")) as kind, \
                    open(os.path.join(base, entry, "size")) as size:
                found.append(f"L{level.read().strip()} {kind.read().strip().lower()} "
                             f"{size.read().strip()}")
    except OSError:
        return "unknown"
    return ", ".join(found) or "unknown"


def _blas_build() -> str:
    """NumPy's BLAS as its build recorded it (``numpy.show_config``), without threadpoolctl."""
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older NumPy: no dict mode
        return "unknown"
    return f"{blas.get('name')} {blas.get('version')} ({blas.get('openblas configuration', '')})"


def _blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed; build: " + _blas_build()
    import numpy as np  # noqa: F401

    parts = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue  # e.g. PyTorch's OpenMP runtime, once torch is imported
        parts.append(f"{info.get('internal_api')} {info.get('version')} "
                     f"(kernel {info.get('architecture')}, {info.get('num_threads')} threads, "
                     f"{info.get('threading_layer')})")
    return "; ".join(parts) or "none found"


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"{one:.2f} (1 min), {five:.2f} (5 min)"
    except OSError:
        return "unknown"


def machine_description() -> dict[str, str]:
    """CPU, cores, Python, NumPy and its BLAS, PyTorch, thread counts and BLAS environment."""
    import numpy as np

    description = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "CPU": _cpu_model(),
        "logical CPUs": str(os.cpu_count()),
        "caches": _caches(),
        "Python": f"{platform.python_version()} ({sys.implementation.name})",
        "NumPy": np.__version__,
        "NumPy BLAS": _blas_description(),
        "NumPy BLAS build": _blas_build(),
        "load average at start": _load(),
    }
    try:
        import torch
    except ImportError:
        description["PyTorch"] = "not installed"
    else:
        description["PyTorch"] = (f"{torch.__version__} ({torch.get_num_threads()} intra-op "
                                  f"threads, set to match NumPy's BLAS)")
    try:
        import importlib.metadata as metadata

        description["numba"] = metadata.version("numba")
    except Exception:
        description["numba"] = "not installed"
    for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                     "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "STEEPEST_KERNELS",
                     "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "PYTHONDONTWRITEBYTECODE"):
        description[variable] = os.environ.get(variable, "(unset)")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False, cwd=os.path.dirname(__file__))
        description["steepest commit"] = commit.stdout.strip() or "unknown"
    except OSError:
        description["steepest commit"] = "unknown"
    return description
