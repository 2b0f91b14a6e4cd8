"""Issue 6.4: the time of ``import steepest`` against ``import torch``, in fresh interpreters.

Each sample is a new ``python`` process that times the import statement itself (interpreter
start-up excluded); steepest and torch alternate. A sample also lists which heavy optional
packages the import pulled in: ``import steepest`` must load NumPy only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from _harness import Target, table

TARGET_S = 0.3
TARGET_18_S = 0.2  # issue 18, item 6
HEAVY = ("torch", "matplotlib", "sklearn", "scipy", "tqdm", "pandas")

_PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
heavy = sorted(m for m in {heavy!r} if m in sys.modules and m != {module!r})
print(json.dumps({{"seconds": elapsed, "heavy": heavy}}))
"""


# An installed package has its bytecode compiled (pip writes the .pyc files); an editable
# install gets them on its first import, unless PYTHONDONTWRITEBYTECODE is set, as it is on
# some machines: then every import of steepest would compile its source again (~110 ms here),
# which no user of an installed package pays. So the probes run without it.
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _sample(module: str) -> dict[str, Any]:
    code = _PROBE.format(module=module, heavy=HEAVY)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, env=_ENV)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(samples: int, with_torch: bool) -> tuple[str, list[Target], dict[str, Any]]:
    modules = ["steepest", "numpy"] + (["torch"] if with_torch else [])
    seconds: dict[str, list[float]] = {m: [] for m in modules}
    heavy: set[str] = set()
    _sample("steepest")  # the first import after an edit also writes bytecode caches
    for _ in range(samples):
        for module in modules:
            result = _sample(module)
            seconds[module].append(result["seconds"])
            if module == "steepest":
                heavy.update(result["heavy"])
    medians = {m: statistics.median(s) for m, s in seconds.items()}
    rows = [[f"import {m}", f"{medians[m] * 1e3:.0f} ms",
             f"{min(seconds[m]) * 1e3:.0f} - {max(seconds[m]) * 1e3:.0f} ms"] for m in modules]
    text = "\n".join([
        f"Median of {samples} fresh processes each (the import statement only).",
        "",
        table(["statement", "median", "range"], rows),
        "",
        "Heavy packages loaded by `import steepest`: " + (", ".join(sorted(heavy)) or "none"),
    ])
    targets = [Target("issue 6: import steepest", medians["steepest"], TARGET_S, unit=" s"),
               Target("issue 18: import steepest", medians["steepest"], TARGET_18_S, unit=" s")]
    if heavy:
        targets.append(Target("import steepest loads NumPy only (heavy packages found)",
                              float(len(heavy)), 0.0, unit=""))
    return text, targets, {"seconds": seconds, "heavy": sorted(heavy)}
