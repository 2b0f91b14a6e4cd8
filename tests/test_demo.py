"""`steepest demo` end to end: every promised file is written, the figures are valid PNGs of the
expected size, and index.html is a self-contained page with every section."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from steepest import experiments, report

# The pixel size of each figure at the report's 150 dpi (figsize in inches * 150).
EXPECTED_SIZES = {
    "tutorial": (1800, 810), "tutorial_schedule": (1650, 630), "oscillation": (1800, 840),
    "small_steps": (1800, 840), "saddle": (1800, 840), "descent": (1800, 780),
    "rate": (1125, 750), "constant_step": (1800, 720), "armijo": (1800, 720),
    "schedules": (1800, 900), "momentum": (1800, 840), "sgd_noise": (1800, 645),
    "sgd_floor": (1125, 720), "adaptive": (2160, 645), "rosenbrock_paths": (2160, 1155),
    "rosenbrock_convergence": (2160, 915), "quadratic_paths": (2160, 1155),
    "quadratic_convergence": (2160, 915), "layers": (2250, 525), "backprop_update": (1125, 690),
    "digits_curves": (1560, 630), "digits_confusion": (1200, 1050),
}
SECTIONS = ("descent", "tutorial", "rate", "problems", "oscillation", "small-steps", "saddle",
            "constant-step", "remedies", "line-search", "schedules", "momentum", "sgd",
            "adaptive", "rosenbrock", "quadratic", "layers", "backprop", "graph", "digits")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def run_demo(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "steepest", "demo", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=600)


def test_quick_demo_end_to_end(tmp_path):
    # One run checked from every side: under pytest-xdist a shared fixture would run once per
    # worker, and the demo is the most expensive thing in the suite.
    out = tmp_path / "report"
    result = run_demo(out, "--quick")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"report written to {out / 'index.html'}  (open it in a " \
                                    "browser)"
    check_files(out)
    check_figures(out)
    check_page(out)
    check_results(out)
    check_progress(result.stderr)


def check_files(out: Path) -> None:
    for name in report.DEMO_FILES:
        assert (out / name).is_file(), f"missing {name}"
        assert (out / name).stat().st_size > 0, f"empty {name}"


def check_figures(out: Path) -> None:
    for name in report.DEMO_FIGURES:
        width, height = png_size((out / "figures" / f"{name}.png").read_bytes())
        if name in EXPECTED_SIZES:
            assert (width, height) == EXPECTED_SIZES[name], name
        else:  # digit grid, graphs and network: their size follows what they show
            assert 300 <= width <= 2600 and 150 <= height <= 1800, (name, width, height)


def check_page(out: Path) -> None:
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in page and "<style>" in page
    # Offline: no script, no stylesheet link, no remote URL anywhere.
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"',
                        page)
    assert len(images) == len(report.DEMO_FIGURES) >= 18
    alts = [alt for _, alt in images]
    assert len(set(alts)) == len(alts)  # each figure described on its own
    for alt in alts:  # a description, not a file name
        assert len(alt.split()) >= 15 and alt not in report.DEMO_FIGURES, alt
    images = [encoded for encoded, _ in images]
    for encoded in images:
        png_size(base64.b64decode(encoded))
    for figure in report.DEMO_FIGURES:  # each embedded figure also links its PNG
        assert f'href="figures/{figure}.png"' in page
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in page
    # every topic of the tutorial, in the tutorial's order
    positions = [page.index(f'id="{anchor}"') for anchor, _ in report.DEMO_TOPICS]
    assert positions == sorted(positions), [a for a, _ in report.DEMO_TOPICS]
    text = re.sub(r"<[^>]+>", "", page).lower()
    for needle in ("descent direction", "αₙ = 1/n", "rate of convergence", "saddle point",
                   "oscillation", "too small early, too large late", "line search",
                   "schedules", "momentum", "stochastic gradient descent", "noise floor",
                   "rmsprop", "adam", "adadelta", "fully connected", "biases", "forward pass",
                   "backward pass", "w := w − α dw", "computational graph", "reverse mode",
                   "handwritten digits"):
        assert needle in text, needle
    for rule in ("v̂<sub>t</sub>", "Δ<sub>t</sub>", "√s<sub>t</sub> + ε"):  # update rules
        assert rule in page
    assert "the line search follows it to the minimiser" not in page  # the old, wrong caption
    assert "jump back and forth across the curved ridge" in page
    assert page.count("<table>") >= 14
    assert "--quick" in page  # the reduced run says so


def check_results(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    assert results["quick"] is True
    assert results["tutorial"]["iterations"] == 50
    assert [run["label"] for run in results["rosenbrock"]] == list(experiments.FAMILY)
    assert [run["label"] for run in results["quadratic"]] == list(experiments.FAMILY)
    theory = {run["label"]: run["theory_rate"] for run in results["quadratic"]}
    assert theory["gd"] == pytest.approx((49 / 51) ** 2)
    assert theory["adam"] is None
    assert 0.0 <= results["digits"]["test_accuracy"] <= 1.0
    assert results["problems"]["oscillation"]["α = 2.05/L"]["theory_rate"] > 1.0
    for mu, slope in results["rate"].items():  # f - f* ~ n^(-2 mu) with steps 1/n
        assert slope == pytest.approx(-2 * float(mu), abs=0.1)
    backprop = results["backprop"]
    assert backprop["engine_mismatch"] < 1e-12 and backprop["loss_after"] < backprop["loss_before"]
    floors = results["sgd"]["second_half_error"]
    assert floors["constant α = 0.05"] > floors["αₙ = 4/(n + 80)"] or results["quick"]
    assert results["graph"]["df_dx"] == pytest.approx(-3.0 + 2 * 2.0)
    import steepest as st
    saved = st.load(out / "digits_model.npz")
    assert saved["model"]["0.weight"].shape == (128, 64)


def check_progress(stderr: str) -> None:
    stages = ("gradient descent and the descent direction", "gradient descent with steps 1/n",
              "the rate of convergence", "the problems of plain gradient descent", "the remedies",
              "stochastic gradient descent", "momentum, RMSprop, Adam and AdaDelta",
              "the optimizer family on Rosenbrock",
              "the optimizer family on an ill-conditioned quadratic",
              "beyond first order: CG, BFGS and Newton", "fully connected layers",
              "backpropagation, step by step", "the computational graph",
              "a network trained on handwritten digits")
    for k, stage in enumerate(stages, start=1):
        assert f"[{k}/{len(stages)}] {stage} ..." in stderr
    assert "demo finished" in stderr
    assert "training" in stderr  # the training progress bar


def test_demo_command_wiring(capsys, monkeypatch, tmp_path):
    calls = []

    def fake_build(out, *, quick, seed, progress):
        calls.append((out, quick, seed, progress.enabled))
        return out / "index.html"

    monkeypatch.setattr(report, "build_demo", fake_build)
    from steepest import cli
    assert cli.main(["demo", "--quick", "--quiet", "--seed", "4", "--out", str(tmp_path)]) == 0
    assert calls == [(tmp_path, True, 4, False)]
    out, err = capsys.readouterr()
    assert out == f"report written to {tmp_path / 'index.html'}  (open it in a browser)\n"
    assert err == ""
    assert cli.main(["demo"]) == 0 and calls[-1][:2] == (Path("steepest-demo"), False)


@pytest.mark.slow
def test_full_demo_meets_its_promises(tmp_path):
    out = tmp_path / "full"
    result = run_demo(out)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["digits"]["test_accuracy"] >= 0.95
    quadratic = {run["label"]: run for run in results["quadratic"]}
    for label in ("gd", "momentum", "nesterov"):  # theory and measurement agree
        assert quadratic[label]["observed_rate"] == pytest.approx(
            quadratic[label]["theory_rate"], rel=0.05), label
        assert quadratic[label]["iterations_to_tol"] is not None
    rosenbrock = {run["label"]: run for run in results["rosenbrock"]}
    assert rosenbrock["momentum"]["result"]["success"]
