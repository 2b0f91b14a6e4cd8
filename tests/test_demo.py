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

# The pixel size of each figure at the report's 100 dpi (figsize in inches * 100).
EXPECTED_SIZES = {
    "tutorial": (1200, 540), "tutorial_schedule": (1100, 420), "oscillation": (1200, 560),
    "small_steps": (1200, 560), "saddle": (1200, 560), "rosenbrock_paths": (640, 520),
    "rosenbrock_convergence": (1120, 490), "quadratic_paths": (640, 520),
    "quadratic_convergence": (1120, 490), "digits_curves": (1040, 420),
    "digits_confusion": (800, 700),
}
SECTIONS = ("tutorial", "problems", "oscillation", "small-steps", "saddle", "rosenbrock",
            "quadratic", "digits")


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
        else:  # the digit grid's height depends on how many digits were misclassified
            assert 300 <= width <= 1400 and 100 <= height <= 800, (name, width, height)


def check_page(out: Path) -> None:
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in page and "<style>" in page
    # Offline: no script, no stylesheet link, no remote URL anywhere.
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(report.DEMO_FIGURES)
    for encoded in images:
        png_size(base64.b64decode(encoded))
    for figure in report.DEMO_FIGURES:  # each embedded figure also links its PNG
        assert f'href="figures/{figure}.png"' in page
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in page
    assert page.count("<table>") >= 7
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
    import steepest as st
    saved = st.load(out / "digits_model.npz")
    assert saved["model"]["0.weight"].shape == (128, 64)


def check_progress(stderr: str) -> None:
    for k, stage in enumerate(("gradient descent with steps 1/n",
                               "the problems of plain gradient descent",
                               "the optimizer family on Rosenbrock",
                               "the optimizer family on an ill-conditioned quadratic",
                               "a network trained on handwritten digits"), start=1):
        assert f"[{k}/5] {stage} ..." in stderr
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
