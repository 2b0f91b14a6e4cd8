"""Screenshots of the explorer's two views for the docs and the README.

Starts the explorer on a free port, drives Debian's chromium (Playwright) to a comparison on
Rosenbrock (three pinned methods and a live run) and to a network trained on moons with one
example's forward and backward pass shown, and writes docs/_static/explorer-optimizer.png and
docs/_static/explorer-network.png.

    PYTHONPATH=src python tools/explorer_screenshots.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "explore"))
OUT = ROOT / "docs" / "_static"


def main() -> int:
    from conftest import LiveServer
    from playwright.sync_api import sync_playwright

    server = LiveServer()
    base = server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1360, "height": 720},
                                    device_scale_factor=1)
            page.goto(base + "/#problem=rosenbrock&method=gd&lr=0.001&steps=2000&x0=-1.5,2.2")
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_function("() => window.explorer.last !== null")
            for method, lr in (("momentum", 0.0002), ("adam", 0.05)):
                page.click("#pin")
                page.select_option("#method", method)
                page.eval_on_selector("#lr", """(el, v) => { el.value = v;
                    el.dispatchEvent(new Event('input', {bubbles: true})); }""", math.log10(lr))
                page.wait_for_function("""([m, lr]) => { const s = window.explorer.last.settings;
                    return s.method === m && Math.abs(Math.log10(s.lr / lr)) < 0.01; }""",
                                       arg=[method, lr])
            page.click("#pin")  # adam too; then a live run that diverges, with its remedy
            page.select_option("#method", "rmsprop")
            page.eval_on_selector("#lr", """(el, v) => { el.value = v;
                el.dispatchEvent(new Event('input', {bubbles: true})); }""", math.log10(0.01))
            page.wait_for_function("() => window.explorer.last.settings.method === 'rmsprop' && "
                                   "Math.abs(window.explorer.last.settings.lr - 0.01) < 1e-4")
            page.select_option("#method", "nesterov")
            page.wait_for_function("() => window.explorer.last.settings.method === 'nesterov'")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / "explorer-optimizer.png"))

            page.goto(base + "/network#dataset=moons&noise=0.15&hidden=8,8&activation=tanh"
                             "&optimizer=adam&lr=0.03&batch_size=20&batches=5")
            page.wait_for_selector("body[data-ready='1']")
            page.click("#train")
            page.wait_for_function("() => window.netExplorer.frames >= 40")
            page.click("#step")
            page.wait_for_selector("#trace table")
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / "explorer-network.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {OUT / 'explorer-optimizer.png'} and {OUT / 'explorer-network.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
