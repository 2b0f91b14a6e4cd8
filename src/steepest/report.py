"""The demo's report: :func:`~steepest.report.build_demo` and the self-contained HTML page it writes.

:func:`build_demo` runs the demonstration experiments (with the building blocks of
:mod:`steepest.experiments`) and writes ``index.html``: a page that works offline (inline CSS,
figures embedded as PNG data URIs and also saved beside it under ``figures/``), with short
explanations written for a student, the numbers in tables, and ``results.json`` holding the same
numbers as plain data. :class:`HtmlPage` assembles such a page section by section.
"""

from __future__ import annotations

import base64
import datetime as _datetime
import html
import io
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_int
from .experiments import (
    FAMILY,
    LR_GRID,
    MethodRun,
    Progress,
    compare,
    comparison_rows,
    format_lr,
    format_number,
    format_vector,
    iterations_to_tolerance,
    lr_grid,
    observed_rate,
    quadratic_rate,
    result_figure,
    run_method,
    status_text,
    to_json,
)

__all__ = ["HtmlPage", "build_demo", "DEMO_FIGURES", "DEMO_FILES"]


# ------------------------------------------------------------------------------------ HTML
_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2228;
       max-width: 1120px; margin: 0 auto; padding: 1.5em 1.2em 4em; line-height: 1.55; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; }
h2 { margin-top: 2.2em; border-bottom: 2px solid #dde3ea; padding-bottom: 0.2em; }
h3 { margin-top: 1.6em; }
.lead { color: #4a5560; font-size: 1.05em; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e8ec; border-radius: 4px; }
figcaption { color: #4a5560; font-size: 0.93em; margin-top: 0.4em; text-align: left; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #d5dce3; padding: 0.3em 0.65em; text-align: right; }
th { background: #f0f4f8; }
td:first-child, th:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafbfc; }
caption { caption-side: top; text-align: left; color: #4a5560; padding-bottom: 0.3em; }
.note { background: #f5f8fb; border-left: 4px solid #4a90d9; padding: 0.6em 1em; margin: 1em 0; }
.warn { background: #fff8e6; border-left: 4px solid #e0a800; padding: 0.6em 1em; margin: 1em 0; }
code { background: #f0f3f6; padding: 0.05em 0.3em; border-radius: 3px; font-size: 0.92em; }
nav ul { columns: 2; list-style: none; padding-left: 1em; }
footer { margin-top: 3em; color: #6b7680; font-size: 0.85em; }
"""


class HtmlPage:
    """A self-contained HTML page assembled section by section.

    Figures are saved as PNG files under ``figures/`` beside the page and embedded in it as data
    URIs, so that ``index.html`` alone works offline and the PNG files can be reused.

    Parameters
    ----------
    directory : path-like
        Where ``index.html`` and ``figures/`` go (created if needed).
    title : str
    dpi : int, default 100
        Resolution of the figures.
    """

    def __init__(self, directory: str | Path, title: str, dpi: int = 100) -> None:
        self.directory = Path(directory)
        self.figure_dir = self.directory / "figures"
        self.figure_dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.dpi = dpi
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.files: list[Path] = []

    def heading(self, text: str, anchor: str | None = None, level: int = 2) -> None:
        """A section heading (level 2 headings go into the table of contents)."""
        anchor = anchor or "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
        if level == 2:
            self.toc.append((anchor, text))
        self.parts.append(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>')

    def paragraph(self, text: str, css: str | None = None) -> None:
        """A paragraph of trusted HTML (the report's own text)."""
        klass = f' class="{css}"' if css else ""
        self.parts.append(f"<p{klass}>{text}</p>" if css != "note" and css != "warn"
                          else f'<div{klass}>{text}</div>')

    def bullets(self, items: Sequence[str], css: str | None = None) -> None:
        """A list; items are escaped."""
        body = "".join(f"<li>{html.escape(item)}</li>" for item in items)
        klass = f' class="{css}"' if css else ""
        self.parts.append(f"<ul{klass}>{body}</ul>")

    def figure(self, fig: Any, name: str, caption: str) -> Path:
        """Save ``fig`` as ``figures/<name>.png``, embed it, and add its caption."""
        from . import plot
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi)
        data = buffer.getvalue()
        path = self.figure_dir / f"{name}.png"
        path.write_bytes(data)
        plot.close(fig)
        self.files.append(path)
        encoded = base64.b64encode(data).decode("ascii")
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(name)}">'
            f"<figcaption>{caption} <a href=\"figures/{name}.png\">(PNG)</a></figcaption>"
            "</figure>")
        return path

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              caption: str | None = None) -> None:
        """A table of numbers (cells are escaped)."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in rows)
        cap = f"<caption>{caption}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                          "</table>")

    def write(self, lead: str, footer: str) -> Path:
        """Write ``index.html`` and return its path."""
        toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.toc)
        page = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><p class=\"lead\">{lead}</p>"
            f"<nav><strong>Contents</strong><ul>{toc}</ul></nav>"
            + "\n".join(self.parts)
            + f"<footer>{footer}</footer></body></html>\n")
        path = self.directory / "index.html"
        path.write_text(page, encoding="utf-8")
        return path


# ------------------------------------------------------------------------------------ the demo
#: Figures written by :func:`build_demo` (under ``figures/``, without the ``.png`` suffix).
DEMO_FIGURES: tuple[str, ...] = (
    "tutorial", "tutorial_schedule", "oscillation", "small_steps", "saddle",
    "rosenbrock_paths", "rosenbrock_convergence", "quadratic_paths", "quadratic_convergence",
    "digits_curves", "digits_confusion", "digits_misclassified",
)
#: Every file :func:`build_demo` writes, relative to its directory.
DEMO_FILES: tuple[str, ...] = (("index.html", "results.json", "digits_model.npz")
                               + tuple(f"figures/{name}.png" for name in DEMO_FIGURES))


@dataclass
class _Budget:
    """The demo's sizes: the full run, or the reduced one of ``--quick``."""

    compare_iter: int
    small_steps_iter: int
    epochs: int
    patience: int

    @classmethod
    def of(cls, quick: bool) -> _Budget:
        if quick:
            return cls(compare_iter=300, small_steps_iter=300, epochs=3, patience=2)
        return cls(compare_iter=3000, small_steps_iter=3000, epochs=60, patience=8)


def build_demo(directory: str | Path = "steepest-demo", *, quick: bool = False, seed: int = 0,
               progress: Progress | None = None) -> Path:
    """Run the demonstration experiments and write the report.

    Parameters
    ----------
    directory : path-like, default "steepest-demo"
        Created if needed; receives ``index.html``, ``results.json``, ``digits_model.npz`` and
        ``figures/*.png`` (see :data:`DEMO_FILES`).
    quick : bool, default False
        A reduced budget (a few hundred iterations, three epochs) for smoke tests.
    seed : int, default 0
        Seed of the network's initialisation, the data split and the shuffling.
    progress : Progress, optional
        Stage names and progress bars (none by default).

    Returns
    -------
    Path
        The path of ``index.html``.
    """
    from . import __version__
    seed = check_int("build_demo", "seed", seed, 0)
    progress = progress or Progress(enabled=False)
    budget = _Budget.of(quick)
    page = HtmlPage(directory, "steepest: gradient descent, seen working")
    results: dict[str, Any] = {"version": __version__, "quick": quick, "seed": seed}
    stages = [("gradient descent with steps 1/n", _tutorial_section),
              ("the problems of plain gradient descent", _problems_section),
              ("the optimizer family on Rosenbrock", _family_rosenbrock),
              ("the optimizer family on an ill-conditioned quadratic", _family_quadratic),
              ("a network trained on handwritten digits", _digits_section)]
    started = time.perf_counter()
    for title, section in stages:
        progress.stage(title, total=len(stages))
        section(page, results, budget, seed, progress)
    progress.finish_stage()
    elapsed = time.perf_counter() - started
    results["seconds"] = round(elapsed, 2)
    (Path(directory) / "results.json").write_text(json.dumps(to_json(results), indent=1),
                                                  encoding="utf-8")
    stamp = _datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lead = ("Gradient descent and its family, run from first principles on NumPy and shown at "
            "work: what the iterates do, how fast the error falls, and where each method "
            "struggles. Every number on this page was computed when the page was built; the "
            "same numbers are in <code>results.json</code>, and <code>steepest demo --out "
            "DIR</code> builds the page again." +
            (" <strong>This is the reduced <code>--quick</code> run</strong>: fewer iterations "
             "and epochs than the full demo." if quick else ""))
    footer = (f"Built by <code>steepest demo</code> (steepest {__version__}) on {stamp} in "
              f"{elapsed:.0f} s, seed {seed}. Figures are also in <code>figures/</code>; the "
              "trained network is in <code>digits_model.npz</code> (load it with "
              "<code>steepest.load</code>).")
    path = page.write(lead, footer)
    progress.done("demo finished")
    return path


def _quiet_run(problem: Any, method: str, **kwargs: Any) -> Any:
    """:func:`run_method` with the library's warnings kept in the result, not printed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_method(problem, method, **kwargs)


def _distance_rows(problem: Any, runs: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per-run summary: iterations, final error, gradient norm, distance, status."""
    headers = ["run", "iterations", "final f − f*" if math.isfinite(problem.f_min) else "final f",
               "final ‖∇f‖", "distance to x*" if problem.minimizers else "final x", "status"]
    rows = []
    for label, result in runs.items():
        fvals = np.asarray(result.fvals, dtype=np.float64)
        final = fvals[-1] - problem.f_min if math.isfinite(problem.f_min) else fvals[-1]
        x = np.asarray(result.x, dtype=np.float64)
        where = format_number(problem.distance(x)) if problem.minimizers and np.isfinite(x).all() \
            else format_vector(x, 3)
        rows.append([label, str(result.nit), format_number(float(final)),
                     format_number(float(np.asarray(result.grad_norms)[-1])), where, status_text(result)])
    return headers, rows


def _warnings_of(runs: Mapping[str, Any]) -> list[str]:
    return [f"{label}: {w}" for label, r in runs.items() for w in (r.get("diagnostics") or [])]


# --------------------------------------------------------------- section 1: steps 1/n
def _tutorial_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    from . import plot, problems, schedules
    problem = problems.quadratic(dim=2, kappa=3.0, mu=0.5)
    one_over_n = schedules.inverse_power(1.0, 1.0)
    runs = {"gd, αₙ = 1/n": _quiet_run(problem, "gd", lr=one_over_n, max_iter=50, gtol=0.0),
            "gd, constant α = 1/L": _quiet_run(problem, "gd", lr=1.0 / problem.L, max_iter=50,
                                              gtol=0.0)}
    main = runs["gd, αₙ = 1/n"]
    errors = np.asarray(main.fvals) - problem.f_min
    page.heading("1. Gradient descent with steps αₙ = 1/n", "tutorial")
    page.paragraph(
        "Gradient descent repeats one move: from the current point x<sub>n</sub>, step downhill "
        "along the negative gradient, x<sub>n+1</sub> = x<sub>n</sub> − α<sub>n</sub> ∇f(x"
        "<sub>n</sub>). Here f is a strictly convex quadratic in two variables "
        f"(f(x) = ½ (x − x*)ᵀ A (x − x*), curvatures μ = {problem.mu:g} and L = {problem.L:g}), "
        "and the step sizes are α<sub>n</sub> = 1/n: large at first, then ever smaller.")
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 5.4))
    path = np.asarray(main.path)
    low, high = path.min(axis=0), path.max(axis=0)
    margin = 0.15 * float(np.max(high - low))
    plot.trajectories(problem, {"gd, αₙ = 1/n": main}, ax=left,
                      window=((low[0] - margin, high[0] + margin),
                              (low[1] - margin, high[1] + margin)),
                      title="50 iterates of gradient descent, αₙ = 1/n")
    plot.convergence(runs, problem=problem, ax=right, title="f(xₙ) − f* on a log axis")
    n = np.arange(1, len(errors))
    right.plot(n, 2.0 * errors[-1] * (len(errors) - 1) / n, ":", color="gray",
               label="∝ 1/n (reference)")
    right.set_ylim(bottom=max(1e-12, 1e-4 * float(errors[-1])))
    right.legend(fontsize="small")
    page.figure(fig, "tutorial",
                "Left: the 50 iterates over the contour lines of f (square: start, star: the "
                "minimiser). The first step, α₁ = 1, overshoots across the steep direction; the "
                "shrinking steps then settle into the valley. Right: the error f(x<sub>n</sub>) − "
                "f* on a log axis. With α<sub>n</sub> = 1/n it falls like 1/n (parallel to the "
                "dotted line), a "
                "sublinear rate; a constant step α = 1/L gives a straight line, a linear rate "
                "(it leaves the bottom of the plot).")
    page.paragraph(
        "Why 1/n? Along an eigen-direction with curvature λ the error is multiplied by (1 − λ/k) "
        "at step k, so after n steps it is about n<sup>−λ</sup> times the start: the steps "
        "shrink fast enough to stop any overshooting, yet their sum diverges (Σ 1/n = ∞), so "
        "the iterates can travel any distance. Here the flattest direction has λ = μ = "
        f"{problem.mu:g}, so the distance falls like n<sup>−1/2</sup> and f − f* like 1/n.",
        "note")
    picks = [k for k in (0, 1, 2, 3, 5, 10, 20, 30, 40, 50) if k < len(errors)]
    page.table(["n", "αₙ", "xₙ", "f(xₙ) − f*", "‖∇f(xₙ)‖"],
               [[str(k), "—" if k == 0 else f"{1.0 / k:.3g}", format_vector(path[k], 3),
                 format_number(float(errors[k])), format_number(float(np.asarray(main.grad_norms)[k]))]
                for k in picks],
               "The run with α<sub>n</sub> = 1/n, iteration by iteration.")
    verdict = one_over_n.robbins_monro()
    page.figure(plot.schedule(one_over_n, steps=1000), "tutorial_schedule",
                "The step sizes α<sub>t</sub> = 1/t (left) and their partial sums (right). The "
                "Robbins–Monro conditions ask Σ α<sub>t</sub> = ∞ (the iterates can reach any "
                "point) and Σ α<sub>t</sub>² < ∞ (noise in the gradients averages out): the "
                "first sum keeps growing like log t, the second levels off at π²/6. "
                f"Verdict for 1/t: {'satisfied' if verdict else 'not satisfied'}.")
    results["tutorial"] = {
        "problem": repr(problem), "iterations": int(main.nit),
        "final_error": float(errors[-1]), "error_at": {str(k): float(errors[k]) for k in picks},
        "constant_step_final_error": float(np.asarray(runs["gd, constant α = 1/L"].fvals)[-1]),
        "robbins_monro": verdict,
    }


# --------------------------------------------------------------- section 2: the problems
def _problems_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    page.heading("2. The problems of plain gradient descent", "problems")
    page.paragraph(
        "Gradient descent with a fixed rule for α only sees the slope where it stands. Three "
        "things go wrong with it in practice; each is shown below on a problem small enough "
        "to draw.")
    results["problems"] = {
        "oscillation": _oscillation(page),
        "small_steps": _small_steps(page, budget),
        "saddle": _saddle(page),
    }


def _oscillation(page: HtmlPage) -> dict[str, Any]:
    from . import problems
    problem = problems.quadratic(dim=2, kappa=20.0, mu=1.0)
    L = problem.L
    settings = {"α = 1/L": 1.0 / L, "α = 1.9/L": 1.9 / L, "α = 2.05/L": 2.05 / L}
    runs = {label: _quiet_run(problem, "gd", lr=lr, max_iter=30, gtol=1e-8)
            for label, lr in settings.items()}
    page.heading("2a. Oscillation in a narrow valley", "oscillation", level=3)
    page.paragraph(
        f"A quadratic whose valley is {problem.L / problem.mu:g} times steeper across than "
        "along (condition number κ = L/μ = 20). The gradient points mostly across the valley, "
        "so a constant step large enough to make progress along the valley floor overshoots "
        "the floor: the iterates zig-zag. Each step multiplies the error along an eigen-"
        "direction of curvature λ by (1 − αλ): below α = 2/L the zig-zag dies out, above it "
        "grows without bound.")
    page.figure(_oscillation_figure(problem, runs), "oscillation",
                "Three constant steps on the same valley. α = 1/L glides down without "
                "overshooting; α = 1.9/L overshoots at every step (the error across the valley "
                "flips sign and shrinks by |1 − 1.9| = 0.9 per step); α = 2.05/L overshoots by "
                "more than it corrects, so its error grows (right; its path, which would cover "
                "the plot, is left out on the left).")
    headers, rows = _distance_rows(problem, runs)
    rates = {label: quadratic_rate("gd", lr, problem.eigenvalues) for label, lr in
             settings.items()}
    page.table(headers + ["theory rate of f − f*"],
               [row + [format_number(rates[row[0]], 4)] for row in rows],
               "Each run's outcome; the theory rate is max<sub>λ</sub> (1 − αλ)² per iteration "
               "(≥ 1: divergence).")
    warned = _warnings_of(runs)
    if warned:
        page.paragraph("What the diagnostics of <code>steepest.minimize</code> said:", None)
        page.bullets(warned, "warn")
    return {label: {"lr": settings[label], "nit": int(r.nit), "status": status_text(r),
                    "final_f": float(np.asarray(r.fvals)[-1]), "theory_rate": rates[label]}
            for label, r in runs.items()}


def _oscillation_figure(problem: Any, runs: Mapping[str, Any]) -> Any:
    """The two converging runs over the contours (the diverging one would cover them), and
    every run's error."""
    from . import plot
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 5.6))
    converging = {label: r for label, r in runs.items() if not r.get("diverged", False)
                  and np.isfinite(np.asarray(r.fvals)[-1]) and r.fvals[-1] < r.fvals[0]}
    plot.trajectories(problem, converging, ax=left, title="The converging runs over the "
                      "contour lines of f")
    plot.convergence(runs, problem=problem, ax=right, title="Error f(xₙ) − f* (log axis)")
    fig.suptitle("Constant steps in a narrow valley (κ = 20)", fontweight="bold")
    return fig


def _small_steps(page: HtmlPage, budget: _Budget) -> dict[str, Any]:
    from . import diagnostics, problems, schedules
    problem = problems.rosenbrock()
    L0 = float(diagnostics.lipschitz_estimate(problem.grad, problem.x0))
    n = budget.small_steps_iter
    runs = {
        "gd, α = 1/L(x₀)": _quiet_run(problem, "gd", lr=1.0 / L0, max_iter=n),
        "gd, αₙ = (1/L(x₀))/n": _quiet_run(problem, "gd",
                                            lr=schedules.inverse_power(1.0 / L0, 1.0), max_iter=n),
        "gd + Armijo line search": _quiet_run(problem, "gd", line_search="armijo", max_iter=n),
    }
    page.heading("2b. Guaranteed steps are too small", "small-steps", level=3)
    page.paragraph(
        "Theory guarantees descent when α ≤ 1/L, with L the largest curvature met (the "
        "Lipschitz constant of ∇f). On Rosenbrock's banana valley the curvature across the "
        f"valley at the start is L(x0) ≈ {L0:.0f}, so the safe step is α ≈ {1 / L0:.1e}; along "
        "the valley floor the curvature is a thousand times smaller, and such steps crawl. "
        "The decreasing steps α/n of section 1 are worse still: their sum grows only like "
        "log n. A backtracking (Armijo) line search instead tries a large step and halves it "
        "until f decreases enough, so its steps follow the local curvature.")
    page.figure(result_figure(problem, runs, "Steps small enough to be safe on Rosenbrock"),
                "small_steps",
                f"{n} iterations from x0 = {format_vector(problem.x0, 2)} on Rosenbrock (log-spaced "
                "contours). The safe constant step and the 1/n schedule cover only part of the "
                "valley; the line search follows it to the minimiser at (1, 1).")
    headers, rows = _distance_rows(problem, runs)
    page.table(headers, rows, f"After at most {n} iterations (L(x0) estimated by Lanczos on "
               "Hessian-vector products, <code>diagnostics.lipschitz_estimate</code>).")
    return {"L_x0": L0, **{label: {"nit": int(r.nit), "final_f": float(np.asarray(r.fvals)[-1]),
                                   "distance": problem.distance(r.x)}
                           for label, r in runs.items()}}


def _saddle(page: HtmlPage) -> dict[str, Any]:
    from . import diagnostics, problems
    problem = problems.saddle()
    runs = {
        "start (1, 0): on the stable axis": _quiet_run(problem, "gd", lr=0.1, x0=[1.0, 0.0],
                                                       max_iter=120, gtol=1e-6),
        "start (1, 1e-6): just off it": _quiet_run(problem, "gd", lr=0.1, x0=[1.0, 1e-6],
                                                   max_iter=80, gtol=1e-6),
    }
    stuck = runs["start (1, 0): on the stable axis"]
    report = diagnostics.detect_saddle(problem.grad, np.asarray(stuck.x), problem.value)
    page.heading("2c. Stuck at a saddle point", "saddle", level=3)
    page.paragraph(
        "f(x, y) = x² − y² curves up along x and down along y: the origin is a saddle point, "
        "where the gradient vanishes without being a minimum. Gradient descent only stops "
        "where the gradient is small, so it cannot tell a saddle from a minimum.")
    page.figure(result_figure(problem, runs, "Gradient descent near the saddle of x² − y²"),
                "saddle",
                "Started exactly on the x-axis, gradient descent converges to the saddle: the "
                "gradient norm (right, log axis) falls to the tolerance, and a test on the "
                "gradient alone would report success (<code>steepest.minimize</code> checks "
                "the curvature too, and reports a saddle point instead). "
                "Started 10<sup>−6</sup> off the axis, it slows down near the saddle for dozens "
                "of iterations (the gradient norm dips), then escapes downhill along y.")
    headers, rows = _distance_rows(problem, runs)
    page.table(headers, rows)
    page.paragraph(
        f"<code>diagnostics.detect_saddle</code> at the first run's end point: "
        f"{html.escape(report.reason)}. Checking the curvature (or adding a little noise, as "
        "stochastic gradients do) is how to tell the two apart.", "note")
    return {label: {"nit": int(r.nit), "x": np.asarray(r.x).tolist(), "status": status_text(r),
                    "saddle_flag": bool(r.get("saddle", False))} for label, r in runs.items()
            } | {"detect_saddle": report.reason}


# --------------------------------------------------------------- section 3: the family
def _family_text(tol: float, iterations: int) -> str:
    return (
        f"Methods without a learning rate from theory get one from a small grid search: the "
        f"rate among {', '.join(f'{v:g}' for v in LR_GRID)} (AdaDelta: "
        f"{', '.join(f'{v:g}' for v in lr_grid('adadelta'))}) that first brought f − f* below "
        f"{tol:g} within {iterations} iterations, or else reached the lowest error. "
        "<b>gd+armijo</b> chooses each step by backtracking instead. <b>momentum</b> (heavy "
        "ball) and <b>nesterov</b> add a fraction β of the previous step (β = 0.9 unless "
        "theory says otherwise). <b>adagrad</b>, <b>rmsprop</b>, <b>adam</b> and "
        "<b>adadelta</b> divide each coordinate's step by a running size of its gradients.")


def _family_rosenbrock(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                       progress: Progress) -> None:
    from . import problems
    problem = problems.rosenbrock()
    tol = 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = compare(problem, FAMILY, max_iter=budget.compare_iter, tol=tol,
                       progress=progress)
    page.heading("3. The optimizer family on Rosenbrock", "rosenbrock")
    page.paragraph(
        "Rosenbrock's function f(x, y) = (1 − x)² + 100 (y − x²)² has its minimum f* = 0 at "
        "(1, 1), at the end of a long, curved, flat-bottomed valley: easy to fall into, slow "
        "to follow. It is not convex, so no global rate applies; near the minimum the "
        "Hessian's condition number is about 2500. Every method starts from (−1.2, 1). "
        + _family_text(tol, budget.compare_iter))
    _family_figures(page, problem, runs, "rosenbrock", budget)
    _family_table(page, problem, runs, tol)
    results["rosenbrock"] = _family_results(problem, runs, tol)


def _family_quadratic(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    from . import diagnostics, problems
    kappa = 50.0
    problem = problems.quadratic(dim=2, kappa=kappa, mu=1.0)
    L, mu = problem.L, problem.mu
    hb_lr, hb_beta = diagnostics.heavy_ball_parameters(L, mu)
    root = math.sqrt(kappa)
    lrs = {"gd": diagnostics.gd_optimal_lr(L, mu), "momentum": hb_lr, "nesterov": 1.0 / L}
    options = {"momentum": {"momentum": hb_beta},
               "nesterov": {"momentum": (root - 1.0) / (root + 1.0)}}
    tol = 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = compare(problem, FAMILY, lrs=lrs, options=options, tol=tol,
                       max_iter=min(budget.compare_iter, 1000), progress=progress)
    for run in runs:
        if run.label in lrs:
            run.lr_source = "theory"
        if run.label == "momentum":
            run.k_power = 1.0  # the optimal heavy ball decays like n rho^n (double eigenvalue)
    page.heading("4. The optimizer family on an ill-conditioned quadratic", "quadratic")
    page.paragraph(
        f"f(x) = ½ (x − x*)ᵀ A (x − x*) with curvatures μ = {mu:g} and L = {L:g}: condition "
        f"number κ = {kappa:g}, a long narrow valley, but convex, so theory predicts exact "
        "rates. Gradient descent uses the optimal constant step α = 2/(L + μ), with rate "
        f"((κ − 1)/(κ + 1))² = {diagnostics.gd_rate(kappa) ** 2:.4f} per iteration for f − f*; "
        f"heavy ball uses Polyak's optimal α = {hb_lr:.4g}, β = {hb_beta:.4g}, with rate "
        f"((√κ − 1)/(√κ + 1))² = {diagnostics.heavy_ball_rate(kappa) ** 2:.4f}; Nesterov uses "
        f"α = 1/L and β = (√κ − 1)/(√κ + 1). "
        + _family_text(tol, min(budget.compare_iter, 1000)))
    _family_figures(page, problem, runs, "quadratic", budget)
    _family_table(page, problem, runs, tol)
    page.paragraph(
        "The theory rate is the spectral radius of each method's iteration on this quadratic, "
        "squared because f − f* is quadratic in the distance; for momentum the observed fit "
        "allows for the factor n in n ρⁿ that a double eigenvalue brings. The adaptive methods "
        "have no such rate: they rescale each coordinate, which is why they are hard to "
        "predict yet robust to the scale of the problem.", "note")
    results["quadratic"] = _family_results(problem, runs, tol)


def _family_results(problem: Any, runs: Sequence[MethodRun], tol: float) -> list[dict[str, Any]]:
    return [run.to_json() | {
        "result": _brief(run.result),
        "observed_rate": observed_rate(run.result, problem.f_min, run.k_power),
        "iterations_to_tol": iterations_to_tolerance(run.result, problem.f_min, tol),
    } for run in runs]


def _brief(result: Any) -> dict[str, Any]:
    return to_json({k: result[k] for k in ("x", "fun", "nit", "nfev", "njev", "success",
                                            "message", "diagnostics") if k in result})


def _family_figures(page: HtmlPage, problem: Any, runs: Sequence[MethodRun], name: str,
                    budget: _Budget) -> None:
    from . import plot
    by_label = {run.label + ("" if run.lr is None else f", lr {format_lr(run.lr)}"): run.result
                for run in runs}
    page.figure(plot.trajectories(problem, by_label, max_markers=40,
                                  title=f"Every method on {name}"),
                f"{name}_paths",
                "The iterates of every method over the contour lines (log-spaced levels of "
                "f − f*). Square: start; diamond: last iterate; star: the minimiser.")
    page.figure(plot.convergence(by_label, problem=problem), f"{name}_convergence",
                "Left: f(x<sub>n</sub>) − f* on a log axis, where a straight line is a linear "
                "rate and its slope the rate. Right: the gradient norm. Curves stop where a "
                "method met its stopping test (‖∇f‖ ≤ 10<sup>−6</sup>) or where the error "
                "reached exactly zero.")


def _family_table(page: HtmlPage, problem: Any, runs: Sequence[MethodRun], tol: float) -> None:
    headers, rows = comparison_rows(problem, runs, tol)
    page.table(headers, rows,
               f"Iterations to tolerance: the first n with f − f* ≤ {tol:g}. Observed rate: the "
               "factor per iteration fitted to f − f* over its linear phase "
               "(<code>diagnostics.observed_rate</code>); — where there is none.")


# --------------------------------------------------------------- section 5: digits
def _digits_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                    progress: Progress) -> None:
    from . import data, io, nn, optim, plot, train
    from ._random import manual_seed
    dataset = data.load_dataset("digits")
    split = data.train_val_test_split(dataset.X, dataset.y, val=0.15, test=0.2, seed=seed)
    scaler = data.Standardizer().fit(split.X_train)
    X_train, X_val, X_test = (scaler.transform(x) for x in (split.X_train, split.X_val,
                                                             split.X_test))
    manual_seed(seed)
    model = nn.mlp(dataset.n_features, [128], dataset.n_classes)
    optimizer = optim.create("adam", model.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    started = time.perf_counter()
    with progress.bar(budget.epochs, "training", unit="epoch") as advance:
        def show(epoch: int, logs: dict[str, float]) -> None:
            advance(1, f"loss {logs['loss']:.3f} val_acc {logs.get('val_accuracy', 0):.3f}")
        history = train.fit(model, loss, optimizer, (X_train, split.y_train),
                            validation=(X_val, split.y_val), epochs=budget.epochs,
                            batch_size=32, metrics=["accuracy"], progress=False,
                            callbacks=[train.EarlyStopping(patience=budget.patience), show])
    seconds = time.perf_counter() - started
    test = train.evaluate(model, loss, (X_test, split.y_test), metrics=["accuracy"])
    predicted = train.predict(model, X_test).argmax(axis=1)
    wrong = np.flatnonzero(predicted != split.y_test)
    io.save({"model": model.state_dict(), "standardizer": scaler.state_dict(),
             "architecture": "64-128-10 ReLU"}, Path(page.directory) / "digits_model.npz")
    progress.note(f"test accuracy {test['accuracy']:.1%} after {len(history)} epochs "
                  f"({seconds:.1f} s)")

    n_weights = sum(p.data.size for p in model.parameters())
    page.heading("5. A neural network trained on handwritten digits", "digits")
    page.paragraph(
        f"The same machinery trains a neural network. The data are {dataset.n_samples} "
        "scanned digits of 8 × 8 grey pixels (scikit-learn's copy of the UCI set), split into "
        f"{len(split.y_train)} for training, {len(split.y_val)} for validation (to decide when "
        f"to stop) and {len(split.y_test)} for the final test, with each pixel standardised "
        "on the training set. The network maps 64 pixels to 128 ReLU units to 10 class "
        f"scores (a 64-128-10 perceptron, {n_weights:,} weights); it is trained with Adam (learning "
        "rate 10<sup>−3</sup>) on minibatches of 32 to minimise the cross-entropy, and stops "
        f"when the validation loss has not improved for {budget.patience} epochs, keeping the "
        "best weights. The gradients come from the library's reverse-mode autodiff.")
    page.figure(plot.loss_curves(history, title="Training the 64-128-10 network on digits"),
                "digits_curves",
                "Loss (left, log axis) and accuracy (right) per epoch, on the training data and "
                "on the held-out validation data. The dotted line marks the epoch with the "
                "lowest validation loss, whose weights were kept. The gap between the curves "
                "is overfitting: the network starts memorising the training digits.")
    best = (history.best_epoch or len(history)) - 1
    page.table(["data", "examples", "loss", "accuracy"], [
        ["training (best epoch)", str(len(split.y_train)), format_number(history["loss"][best], 4),
         f"{history['accuracy'][best]:.2%}"],
        ["validation (best epoch)", str(len(split.y_val)), format_number(history["val_loss"][best], 4),
         f"{history['val_accuracy'][best]:.2%}"],
        ["test", str(len(split.y_test)), format_number(test["loss"], 4), f"{test['accuracy']:.2%}"],
    ], f"After {len(history)} epochs in {seconds:.1f} s (best epoch {best + 1}). The test "
       "digits were never used for training or for choosing when to stop.")
    page.figure(plot.confusion_matrix(split.y_test, predicted, class_names=dataset.target_names,
                                      title=f"Test set: {test['accuracy']:.1%} correct"),
                "digits_confusion",
                "Row i, column j counts test digits of class i that the network called j: the "
                "diagonal holds the correct answers, everything else is a mistake.")
    shown = wrong[:16]
    if shown.size:
        fig = plot.image_grid(split.X_test[shown],
                              [f"true {split.y_test[k]}, said {predicted[k]}" for k in shown],
                              ncols=8, title=f"{len(wrong)} of {len(split.y_test)} test digits "
                                             "misclassified" + (" (first 16)" if len(wrong) > 16
                                                                else ""))
    else:
        fig = plot.image_grid(split.X_test[:8], [f"true {split.y_test[k]}" for k in range(8)],
                              ncols=8, title="No test digit was misclassified; the first 8")
    page.figure(fig, "digits_misclassified",
                "Misclassified test digits as the network saw them (8 × 8 pixels): many are "
                "ambiguous even to a person.")
    results["digits"] = {"epochs": len(history), "best_epoch": best + 1, "seconds": seconds,
                         "test_loss": test["loss"], "test_accuracy": test["accuracy"],
                         "misclassified": int(wrong.size), "n_test": int(len(split.y_test)),
                         "history": history.to_dict()["history"]}
