"""Issue 13.4: is the explorer fast enough to feel live? Control change to redrawn plot, in a browser.

Starts the explorer's app on uvicorn (a thread, a free port), opens it in headless Debian chromium
through Playwright, and measures inside the page with ``performance.now()``:

* **optimizer view**: from setting the lr slider (an ``input`` event, as a drag fires) to the end
  of the redraw of contour, trajectory, loss curve, rates and diagnostics for a 500-step run of
  Adam on 2-D Rosenbrock (alternating between two lrs, so every change is a new run). The server's
  share is the ``/api/run`` request's duration from the browser's resource timing.
* **network view**: training frames of a 2-8-8-1 tanh network on 200 moons points (Adam, batch
  20): a frame is one request of k minibatch updates, the frame's losses, gradient norms and
  decision boundary (50x50 grid) computed on the server, and the boundary, the two charts and the
  statistics redrawn. Timed per frame, k = 5 (the page's default) and k = 1.

Medians over the rounds; targets: < 150 ms and < 100 ms. Usage::

    python benchmarks/explorer.py [--rounds 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "explore"))
CHROMIUM = "/usr/bin/chromium"
TARGET_RUN_MS = 150.0
TARGET_FRAME_MS = 100.0

_CHANGE = """async ([positions]) => {
  const out = [];
  const slider = document.getElementById('lr');
  for (const v of positions) {
    performance.clearResourceTimings();
    const t0 = performance.now();
    const drawn = window.explorer.nextDraw();
    slider.value = v;
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    const info = await drawn;
    const t1 = performance.now();
    const runs = performance.getEntriesByType('resource').filter(e => e.name.endsWith('/api/run'));
    out.push({total: t1 - t0, server: runs.length ? runs[runs.length - 1].duration : null,
              nit: info.nit, error: info.error || null});
  }
  return out;
}"""

_FRAMES = """async ([n]) => {
  const out = [];
  window.netExplorer.setRunning(true);
  for (let k = 0; k < n; k++) out.push(await window.netExplorer.nextFrame());
  window.netExplorer.setRunning(false);
  return out;
}"""


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p90": ordered[int(0.9 * (len(ordered) - 1))],
            "min": ordered[0], "n": len(ordered)}


def run(rounds: int) -> dict[str, object]:
    from conftest import LiveServer
    from playwright.sync_api import sync_playwright

    server = LiveServer()
    base = server.start()
    figures: dict[str, object] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/#problem=rosenbrock&method=adam&lr=0.01&steps=500")
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_load_state("networkidle")
            # log10 lr alternating between 0.01 and 0.02: both run all 500 steps on Rosenbrock
            positions = [-2.0 if k % 2 else -1.7 for k in range(rounds + 3)]
            samples = page.evaluate(_CHANGE, [positions])[3:]  # the first ones warm up
            errors = [s["error"] for s in samples if s["error"]]
            if errors:
                raise RuntimeError(f"the optimizer view reported errors: {errors[:3]}")
            figures["optimizer"] = {
                "total_ms": _summary([s["total"] for s in samples]),
                "server_ms": _summary([s["server"] for s in samples if s["server"] is not None]),
                "steps": sorted({s["nit"] for s in samples}),
            }
            for batches in (5, 1):
                page.goto(base + f"/network#dataset=moons&points=200&hidden=8,8&activation=tanh"
                                 f"&optimizer=adam&lr=0.03&batch_size=20&batches={batches}")
                page.wait_for_selector("body[data-ready='1']")
                frames = page.evaluate(_FRAMES, [rounds + 3])[3:]
                errors = [f["error"] for f in frames if f.get("error")]
                if errors:
                    raise RuntimeError(f"the network view reported errors: {errors[:3]}")
                figures[f"network_{batches}"] = {"frame_ms": _summary([f["ms"] for f in frames]),
                                                 "final_loss": frames[-1]["loss"]}
            browser.close()
    finally:
        server.stop()
    return figures


def report(figures: dict[str, object]) -> str:
    o = figures["optimizer"]
    lines = ["| measurement | median | p90 | min | n |", "|---|---|---|---|---|"]

    def row(name: str, s: dict[str, float]) -> None:
        lines.append(f"| {name} | {s['median']:.1f} ms | {s['p90']:.1f} ms | {s['min']:.1f} ms "
                     f"| {s['n']} |")
    row("lr slider -> redrawn optimizer view (500-step Adam on Rosenbrock)", o["total_ms"])
    row("  of which /api/run (server: minimize + rates + diagnostics, JSON)", o["server_ms"])
    for batches in (5, 1):
        row(f"training frame, 2-8-8-1 on 200 moons points, {batches} minibatch(es) per frame",
            figures[f"network_{batches}"]["frame_ms"])
    run_ms = o["total_ms"]["median"]
    frame_ms = figures["network_5"]["frame_ms"]["median"]
    lines += ["", f"{'PASS' if run_ms < TARGET_RUN_MS else 'MISS'} optimizer view redraw "
                  f"{run_ms:.1f} ms (target < {TARGET_RUN_MS:.0f} ms)",
              f"{'PASS' if frame_ms < TARGET_FRAME_MS else 'MISS'} training frame "
              f"{frame_ms:.1f} ms (target < {TARGET_FRAME_MS:.0f} ms)"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    figures = run(args.rounds)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
