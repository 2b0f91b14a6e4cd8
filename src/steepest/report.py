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

__all__ = ["HtmlPage", "build_demo", "DEMO_FIGURES", "DEMO_FILES", "DEMO_TOPICS"]


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
    dpi : int, default 150
        Resolution of the figures (sharp on a projector).
    """

    def __init__(self, directory: str | Path, title: str, dpi: int = 150) -> None:
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

    def figure(self, fig: Any, name: str, caption: str, alt: str) -> Path:
        """Save ``fig`` as ``figures/<name>.png``, embed it, and add its caption.

        ``alt`` describes what the picture shows, for readers who cannot see it."""
        from . import plot
        if not alt.strip():
            raise ValueError(f"HtmlPage.figure: figure {name!r} needs alt text describing it")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi)
        data = buffer.getvalue()
        path = self.figure_dir / f"{name}.png"
        path.write_bytes(data)
        plot.close(fig)
        self.files.append(path)
        encoded = base64.b64encode(data).decode("ascii")
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
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
    "descent", "tutorial", "tutorial_schedule", "rate", "oscillation", "small_steps", "saddle",
    "constant_step", "armijo", "schedules", "momentum", "sgd_noise", "sgd_floor", "adaptive",
    "rosenbrock_paths", "rosenbrock_convergence", "quadratic_paths", "quadratic_convergence",
    "second_order",
    "layers", "backprop", "backprop_update", "graph_expression", "graph_neuron",
    "digits_curves", "digits_confusion", "digits_misclassified",
)
#: The tutorial's topics in order, as the section anchors of the page.
DEMO_TOPICS: tuple[tuple[str, str], ...] = (
    ("descent", "gradient descent and the descent direction"),
    ("tutorial", "the guarantee for convex f with steps 1/n"),
    ("rate", "the rate of convergence"),
    ("small-steps", "guaranteed steps too small"), ("saddle", "saddle points"),
    ("oscillation", "oscillation"), ("constant-step", "a constant step too small, then too large"),
    ("line-search", "line search"), ("schedules", "decay and schedules"),
    ("momentum", "momentum"), ("sgd", "stochastic gradient descent"),
    ("adaptive", "momentum, RMSprop, Adam and AdaDelta"),
    ("layers", "fully connected layers with biases"),
    ("backprop", "the forward pass, the backward pass and the update"),
    ("graph", "the computational graph"), ("digits", "the digits network"),
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
    stages = [("gradient descent and the descent direction", _descent_section),
              ("gradient descent with steps 1/n", _tutorial_section),
              ("the rate of convergence", _rate_section),
              ("the problems of plain gradient descent", _problems_section),
              ("the remedies", _remedies_section),
              ("stochastic gradient descent", _sgd_section),
              ("momentum, RMSprop, Adam and AdaDelta", _adaptive_section),
              ("the optimizer family on Rosenbrock", _family_rosenbrock),
              ("the optimizer family on an ill-conditioned quadratic", _family_quadratic),
              ("beyond first order: CG, BFGS and Newton", _second_order_section),
              ("fully connected layers", _layers_section),
              ("backpropagation, step by step", _backprop_section),
              ("the computational graph", _graph_section),
              ("a network trained on handwritten digits", _digits_section)]
    started = time.perf_counter()
    for title, section in stages:
        progress.stage(title, total=len(stages))
        section(page, results, budget, seed, progress)
    progress.finish_stage()
    results.pop("_toy_model", None)
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
    page.heading("2. The guarantee: convex f and steps αₙ = 1/n", "tutorial")
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
                "(it leaves the bottom of the plot).",
                "Two panels. Left: contour lines of a quadratic with the 50 iterates of "
                "gradient descent, a first long jump across the valley and then a short "
                "path into the minimiser. Right: error against iteration on a log axis, the "
                "1/n run falling gently and parallel to a dotted 1/n reference line, the "
                "constant-step run falling as a steep straight line.")
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
                f"Verdict for 1/t: {'satisfied' if verdict else 'not satisfied'}.",
                "Two panels. Left: the step sizes 1/t falling from 1 on a log axis over 1000 "
                "updates. Right: on log-log axes, the partial sum of the steps growing without "
                "bound and the partial sum of their squares levelling off.")
    results["tutorial"] = {
        "problem": repr(problem), "iterations": int(main.nit),
        "final_error": float(errors[-1]), "error_at": {str(k): float(errors[k]) for k in picks},
        "constant_step_final_error": float(np.asarray(runs["gd, constant α = 1/L"].fvals)[-1]),
        "robbins_monro": verdict,
    }


# --------------------------------------------------------------- section 2: the problems
def _problems_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    page.heading("4. The problems of plain gradient descent", "problems")
    page.paragraph(
        "Gradient descent with a fixed rule for α only sees the slope where it stands. Four "
        "things go wrong with it in practice; each is shown below on a problem small enough "
        "to draw.")
    results["problems"] = {
        "small_steps": _small_steps(page, budget),
        "saddle": _saddle(page),
        "oscillation": _oscillation(page),
        "constant_step": _constant_step(page),
    }


def _oscillation(page: HtmlPage) -> dict[str, Any]:
    from . import problems
    problem = problems.quadratic(dim=2, kappa=20.0, mu=1.0)
    L = problem.L
    settings = {"α = 1/L": 1.0 / L, "α = 1.9/L": 1.9 / L, "α = 2.05/L": 2.05 / L}
    runs = {label: _quiet_run(problem, "gd", lr=lr, max_iter=30, gtol=1e-8)
            for label, lr in settings.items()}
    page.heading("4c. Oscillation in a narrow valley", "oscillation", level=3)
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
                "the plot, is left out on the left).",
                "Two panels. Left: contour ellipses of a narrow valley with a smooth path for "
                "alpha = 1/L and a zig-zag path for alpha = 1.9/L. Right: error on a log axis, "
                "two falling lines and one rising line for alpha = 2.05/L.")
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
    page.heading("4a. Guaranteed steps are too small", "small-steps", level=3)
    page.paragraph(
        "Theory guarantees descent when α ≤ 1/L, with L the largest curvature met (the "
        "Lipschitz constant of ∇f). On Rosenbrock's banana valley the curvature across the "
        f"valley at the start is L(x0) ≈ {L0:.0f}, so the safe step is α ≈ {1 / L0:.1e}; along "
        "the valley floor the curvature is a thousand times smaller, and such steps crawl. "
        "The decreasing steps α/n of section 2 are worse still: their sum grows only like "
        "log n. A backtracking (Armijo) line search instead tries a large step and halves it "
        "until f decreases enough (section 5a): its steps adapt to the local curvature.")
    page.figure(result_figure(problem, runs, "Steps small enough to be safe on Rosenbrock"),
                "small_steps",
                f"{n} iterations from x0 = {format_vector(problem.x0, 2)} on Rosenbrock (log-spaced "
                "contours). The safe constant step and the 1/n schedule cover only part of the "
                "valley. The Armijo line search does not follow the valley floor: its long "
                "trial steps jump back and forth across the curved ridge, and each accepted "
                "step still lowers f, so it gets much further (see the table).",
                "Two panels. Left: log-spaced contours of Rosenbrock's banana valley with two "
                "short paths stopping early in the valley and one zig-zag path crossing the "
                "ridge back and forth towards (1, 1). Right: error on a log axis for the "
                "three runs, the line-search run falling furthest.")
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
    page.heading("4b. Stuck at a saddle point", "saddle", level=3)
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
                "of iterations (the gradient norm dips), then escapes downhill along y.",
                "Two panels. Left: saddle-shaped contour lines of x squared minus y squared, "
                "one path running along the x-axis into the red saddle marker, another "
                "bending away along y. Right: gradient norm on a log axis, one curve falling "
                "to the tolerance, the other dipping and then rising.")
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
    page.heading("7b. The optimizer family on Rosenbrock", "rosenbrock")
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
    page.heading("7c. The optimizer family on an ill-conditioned quadratic", "quadratic")
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
    page.figure(plot.trajectory_grid(problem, by_label, max_markers=30,
                                     title=f"Every method on {name}, one panel each (same axes)"),
                f"{name}_paths",
                "The iterates of each method over the same contour lines (log-spaced levels of "
                "f − f*), one panel per method on shared axes. Square: start; diamond: last "
                "iterate; star: the minimiser.",
                f"Eight small panels in two rows, one per method, each with the same contour "
                f"lines of {name} and one coloured path from the start square: gradient descent, "
                "gradient descent with Armijo line search, momentum, Nesterov, AdaGrad, "
                "RMSprop, Adam and AdaDelta.")
    page.figure(plot.convergence_grid(by_label, problem=problem,
                                      title=f"f(xₙ) − f* per method on {name} (grey: the others)"),
                f"{name}_convergence",
                "f(x<sub>n</sub>) − f* on a log axis, one panel per method with the other "
                "methods in grey behind it, on shared axes: a straight line is a linear rate. "
                "Curves stop where a method met its stopping test (‖∇f‖ ≤ 10<sup>−6</sup>) or "
                "where the error reached exactly zero.",
                f"Eight small log-scale panels of the error on {name} against iteration, one "
                "per method in colour, each with the other seven methods' curves in light grey "
                "behind it.")


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
    page.heading("11. A neural network trained on handwritten digits", "digits")
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
                "is overfitting: the network starts memorising the training digits.",
                "Two panels of training curves per epoch: the loss on a log axis falling for "
                "training and levelling off for validation, and the accuracy rising towards "
                "100 percent for training and about 97 percent for validation; a dotted "
                "vertical line marks the best epoch.")
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
                "diagonal holds the correct answers, everything else is a mistake.",
                "A ten by ten grid of counts in shades of blue, dark along the diagonal where "
                "the true and predicted digit agree, with a few small counts off the diagonal.")
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
                "ambiguous even to a person.",
                "A grid of small grey 8 by 8 pixel digit images, each titled with its true "
                "class and the class the network said.")
    results["digits"] = {"epochs": len(history), "best_epoch": best + 1, "seconds": seconds,
                         "test_loss": test["loss"], "test_accuracy": test["accuracy"],
                         "misclassified": int(wrong.size), "n_test": int(len(split.y_test)),
                         "history": history.to_dict()["history"]}


# =============================================================== the tutorial's other topics
def _descent_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                     progress: Progress) -> None:
    from . import plot, problems
    problem = problems.quadratic(dim=2, kappa=5.0, mu=0.4)
    run = _quiet_run(problem, "gd", lr=1.0 / problem.L, max_iter=15, gtol=0.0)
    page.heading("1. Gradient descent and the descent direction", "descent")
    page.paragraph(
        "The gradient ∇f(x) points where f rises fastest, so −∇f(x) is a <em>descent "
        "direction</em>: for a small enough step α > 0, f(x − α∇f(x)) = f(x) − α‖∇f(x)‖² + "
        "O(α²) < f(x). Gradient descent takes that step again and again, x<sub>n+1</sub> = "
        "x<sub>n</sub> − α<sub>n</sub> ∇f(x<sub>n</sub>).")
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 5.2))
    plot.trajectories(problem, {"gd, α = 1/L": run}, ax=left, legend="below",
                      title="−∇f on a grid (arrows) and 15 steps of gradient descent")
    (x0, x1), (y0, y1) = left.get_xlim(), left.get_ylim()
    gx, gy = np.meshgrid(np.linspace(x0, x1, 13), np.linspace(y0, y1, 11))
    g = np.array([problem.grad(np.array([a, c])) for a, c in zip(gx.ravel(), gy.ravel(),
                                                                    strict=True)]).T
    g = g.reshape(2, *gx.shape)
    norm = np.hypot(g[0], g[1]) + 1e-300
    left.quiver(gx, gy, -g[0] / norm, -g[1] / norm, color="#475569", alpha=0.55, width=0.003,
                scale=30)
    x = np.asarray(problem.x0, dtype=np.float64)
    gx0 = np.asarray(problem.grad(x), dtype=np.float64)
    f0 = float(problem.value(x))
    ts = np.linspace(0.0, 2.2 / problem.L, 200)
    phi = np.array([float(problem.value(x - t * gx0)) for t in ts])
    right.plot(ts, phi, lw=1.8, label="f(x₀ − α ∇f(x₀))")
    right.plot(ts, f0 - ts * float(gx0 @ gx0), "--", color="gray",
               label="tangent f(x₀) − α ‖∇f(x₀)‖²")
    right.axvline(1.0 / problem.L, color="#1f77b4", ls=":", label="α = 1/L")
    right.set_ylim(min(phi) - 0.1 * (max(phi) - min(phi)), max(phi) * 1.05)
    right.set_xlabel("step size α")
    right.set_ylabel("f along the negative gradient")
    right.set_title("Along −∇f, f first decreases: a descent direction")
    right.grid(True, alpha=0.3)
    right.legend(fontsize="small")
    page.figure(fig, "descent",
                "Left: the negative gradient at points of a grid (arrows, normalised) is "
                "perpendicular to the contour lines; gradient descent with α = 1/L follows it "
                "to the minimiser (star). Right: f along the ray x₀ − α∇f(x₀) starts with slope "
                "−‖∇f(x₀)‖² (the dashed tangent), so small steps always decrease f.",
                "Two panels. Left: contour lines of a two-dimensional quadratic with grey "
                "arrows showing the normalised negative gradient on a grid, and a blue path of "
                "15 gradient-descent iterates running from the start square to the minimiser "
                "star. Right: a curve of f along the negative gradient against the step size, "
                "falling from f(x0) along a dashed tangent line, reaching a minimum and rising "
                "again; a dotted vertical line marks alpha = 1/L.")
    results["descent"] = {"f0": f0, "grad_norm0": float(np.linalg.norm(gx0)),
                          "final_f": float(run.fvals[-1])}


def _rate_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                  progress: Progress) -> None:
    from . import plot, problems, schedules
    page.heading("3. The rate of convergence with αₙ = 1/n", "rate")
    fig, (axis,) = plot.new_figure(figsize=(7.5, 5.0))
    rows, fits = [], {}
    n = np.arange(51)
    for mu, color in ((0.3, "#1f77b4"), (0.5, "#d62728"), (0.8, "#2ca02c")):
        problem = problems.quadratic(dim=2, kappa=1.6 / mu, mu=mu)
        run = _quiet_run(problem, "gd", lr=schedules.inverse_power(1.0, 1.0), max_iter=50,
                         gtol=0.0)
        errors = np.asarray(run.fvals, dtype=np.float64) - problem.f_min
        tail = slice(10, 51)
        slope = float(np.polyfit(np.log(n[tail]), np.log(errors[tail]), 1)[0])
        fits[mu] = slope
        axis.loglog(n[1:], errors[1:], "o-", ms=2.5, color=color,
                    label=f"μ = {mu:g}: fitted slope {slope:.2f} (theory −2μ = {-2 * mu:.1f})")
        rows.append([f"{mu:g}", f"{problem.L:g}", format_number(float(errors[1])),
                     format_number(float(errors[10])), format_number(float(errors[50])),
                     f"{slope:.3f}", f"{-2 * mu:.1f}"])
    axis.set_xlabel("iteration n (log axis)")
    axis.set_ylabel("f(xₙ) − f* (log axis)")
    axis.set_title("50 steps of GD with αₙ = 1/n: straight lines on log-log axes")
    axis.grid(True, which="both", alpha=0.25)
    axis.legend(fontsize="small")
    page.paragraph(
        "With α<sub>n</sub> = 1/n the error along an eigen-direction of curvature λ is "
        "multiplied by (1 − λ/k) at step k; the product over k ≤ n behaves like n<sup>−λ</sup>, "
        "so f − f* ≈ C n<sup>−2μ</sup> where μ is the smallest curvature: a <em>sublinear</em> "
        "rate, a straight line on log-log axes whose slope depends on μ. (With an integer "
        "curvature such as λ = 1 the factor 1 − λ/k is exactly 0 at k = λ and that direction is "
        "solved in one step: an accident of the example, not the rate of 1/n, so the examples "
        "here use curvatures that are not integers.)")
    page.figure(fig, "rate",
                "f(x<sub>n</sub>) − f* for 50 steps of α<sub>n</sub> = 1/n on three quadratics "
                "whose smallest curvatures are μ = 0.3, 0.5 and 0.8 (largest 1.6). Each is a "
                "straight line on log-log axes; the fitted slopes over n = 10…50 are close to "
                "−2μ, the theory's exponent.",
                "Log-log plot of the error against the iteration number for three quadratics: "
                "three nearly straight descending lines in blue, red and green, steeper for "
                "larger smallest curvature mu; the legend gives fitted slopes near -0.6, -1 "
                "and -1.6.")
    page.table(["μ", "L", "f − f* at n = 1", "n = 10", "n = 50", "fitted slope", "theory −2μ"],
               rows, "The error of GD with α<sub>n</sub> = 1/n, and the slope of log(f − f*) "
               "against log n fitted over n = 10…50.")
    results["rate"] = {str(k): v for k, v in fits.items()}


def _pseudo_huber(delta: float) -> Any:
    """f(x) = Σ δ² (√(1 + (x/δ)²) − 1): gradient at most δ far away, curvature 1 at 0."""
    def value(x: np.ndarray) -> float:
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum(delta ** 2 * (np.sqrt(1.0 + (x / delta) ** 2) - 1.0)))

    def grad(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x / np.sqrt(1.0 + (x / delta) ** 2)
    return value, grad


def _constant_step(page: HtmlPage) -> dict[str, Any]:
    from . import plot, schedules
    from .minimize import minimize
    value, grad = _pseudo_huber(0.1)
    x0 = np.array([12.0, -9.0])
    steps = 80
    settings = {
        "constant α = 1 (safe at the minimum)": 1.0,
        "constant α = 12 (fast far away)": 12.0,
        "step decay 12 → ×0.5 every 12": schedules.parse("step:12:12:0.5"),
        "cosine 12 → 0": schedules.parse(f"cosine:12:{steps}"),
        "warm-up 10, then cosine 12 → 0": schedules.parse(f"warmup:10:cosine:12:{steps}"),
    }
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, lr in settings.items():
            runs[label] = minimize(value, x0, jac=grad, method="gd", lr=lr, max_iter=steps,
                                   gtol=0.0)
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 4.8))
    t = np.arange(1, steps + 1)
    for (label, lr), color in zip(settings.items(), plot._FALLBACK_COLORS, strict=False):
        lrs = np.full(steps, lr) if isinstance(lr, float) else np.array([lr(int(k)) for k in t])
        left.plot(t, lrs, color=color, lw=1.6, label=label)
        right.semilogy(np.arange(len(runs[label].fvals)),
                       np.maximum(np.asarray(runs[label].fvals), 1e-300), color=color, lw=1.6)
    right.set_ylim(1e-16, 10.0)
    left.set_xlabel("update t")
    left.set_ylabel("learning rate αₜ")
    left.set_title("The step sizes")
    left.legend(fontsize="small")
    right.set_xlabel("iteration n")
    right.set_ylabel("f(xₙ) − f*  (f* = 0)")
    right.set_title("The error")
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
    fig.suptitle("A constant step is too small early and too large late", fontweight="bold")
    page.heading("4d. A constant step: too small early, too large late", "constant-step", level=3)
    page.paragraph(
        "f(x) = Σ δ² (√(1 + (x<sub>i</sub>/δ)²) − 1) with δ = 0.1 (a pseudo-Huber loss) has "
        "gradients of size at most δ far from its minimum but curvature 1 at it. A step safe at "
        "the minimum (α < 2) crawls from x₀ = (12, −9) at 0.1 per unit of α; a step large "
        "enough to travel (α = 12) overshoots for ever once it arrives (|1 − 12| > 1). "
        "Decaying the step gets both: large while far away, small near the minimum.")
    page.figure(fig, "constant_step",
                "Left: five step-size rules. Right: f(x<sub>n</sub>) − f* on a log axis. The "
                "small constant step has not arrived after 80 iterations; the large one "
                "arrives fast, then bounces around the minimum at a constant error; step "
                "decay, cosine and warm-up + cosine arrive fast and then converge (the axis "
                "stops at 10<sup>−16</sup>).",
                "Two panels. Left: learning rate against update for five rules: two flat "
                "lines at 1 and 12, a staircase halving from 12, and two smooth cosine curves "
                "falling from 12 to 0, one with a short linear ramp at the start. Right: the "
                "error on a log axis: the alpha = 1 curve falls slowly and stays high, the "
                "alpha = 12 curve drops quickly then stays flat at a plateau, the three decaying "
                "schedules drop quickly and keep falling to very small errors.")
    rows = [[label, format_number(float(np.asarray(r.fvals)[-1]))] for label, r in runs.items()]
    page.table(["step rule", f"f − f* after {steps} iterations"], rows)
    return {label: float(np.asarray(r.fvals)[-1]) for label, r in runs.items()}


def _remedies_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    from . import diagnostics, plot, problems, schedules
    page.heading("5. The remedies: line search, decay and schedules, momentum", "remedies")
    # ---- line search
    problem = problems.rosenbrock()
    x = np.asarray(problem.x0, dtype=np.float64)
    g = np.asarray(problem.grad(x), dtype=np.float64)
    f0, slope = float(problem.value(x)), -float(g @ g)
    c1, trials, t = 1e-4, [], 1.0
    while len(trials) < 40:
        ft = float(problem.value(x - t * g))
        trials.append((t, ft, ft <= f0 + c1 * t * slope))
        if trials[-1][2]:
            break
        t *= 0.5
    page.heading("5a. Line search (Armijo backtracking)", "line-search", level=3)
    page.paragraph(
        "A line search chooses each step along the descent direction d = −∇f(x): try α = 1, "
        "and halve it until the <em>Armijo condition</em> f(x + αd) ≤ f(x) + c₁ α ∇f(x)ᵀd "
        f"holds (c₁ = {c1:g}, the default of <code>steepest.optim.line_search.armijo</code>). "
        "The step then fits the local curvature, with no Lipschitz constant to know.")
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 4.8))
    accepted = trials[-1][0]
    ts = np.geomspace(accepted / 8, 1.0, 300)
    phi = np.array([float(problem.value(x - s * g)) for s in ts])
    for axis, (lo, hi) in ((left, (ts[0], 1.0)), (right, (0.0, 4 * accepted))):
        span = (ts >= lo) & (ts <= hi)
        axis.plot(ts[span], phi[span], lw=1.6, label="φ(α) = f(x₀ − α∇f(x₀))")
        axis.plot(ts[span], f0 + c1 * ts[span] * slope, "--", color="gray",
                  label="Armijo line f(x₀) + c₁ α ∇f(x₀)ᵀd")
        for s, fs, ok in trials:
            if lo <= s <= hi:
                axis.plot(s, fs, "o" if ok else "x", color="#2ca02c" if ok else "#d62728",
                          ms=7, mew=2)
        axis.set_xlabel("trial step α")
        axis.set_ylabel("f")
        axis.grid(True, alpha=0.3)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_title(f"{len(trials)} trials from α = 1 (log axes)")
    right.set_title(f"Near the accepted step α = {accepted:.3g}")
    right.set_ylim(min(phi.min(), f0) - 1, f0 + 0.5 * (phi[ts <= 4 * accepted].max() - f0) + 2)
    left.legend(fontsize="small")
    page.figure(fig, "armijo",
                f"The first Armijo search on Rosenbrock from x₀ = (−1.2, 1): f along −∇f(x₀) "
                f"(‖∇f(x₀)‖ ≈ {np.sqrt(-slope):.0f}), the Armijo line, rejected trials (red "
                f"crosses, each half the previous) and the accepted one (green dot, α = "
                f"{accepted:.3g}).",
                "Two panels of f along the negative gradient against the trial step. Left, on "
                "log axes: red crosses at alpha = 1, 0.5, 0.25 and so on, far above a dashed "
                "Armijo line, down to a green dot where the curve first lies below the line. "
                "Right: a close-up around the accepted step, with the curve dipping below the "
                "dashed line.")
    # ---- decay and schedules
    page.heading("5b. Decay and schedules", "schedules", level=3)
    page.paragraph(
        "A schedule makes α a function of the update number t: the Robbins–Monro steps "
        "α<sub>t</sub> = α₀/t (and α₀/t<sup>p</sup>, ½ < p ≤ 1) with a convergence guarantee, "
        "step decay, exponential decay, cosine annealing, and a linear warm-up before any of "
        "them. Section 2d showed what they buy. Every optimizer takes one as its "
        "<code>lr</code>; the command line writes them as text "
        "(<code>--lr 0.5/n</code>, <code>--lr cosine:0.1</code>).")
    shapes = {"1/t": schedules.parse("1/t"), "0.5/t^0.6": schedules.parse("0.5/t^0.6"),
              "step:1:50:0.5": schedules.parse("step:1:50:0.5"),
              "exp:1:0.98": schedules.parse("exp:1:0.98"),
              "cosine:1:300": schedules.parse("cosine:1:300"),
              "warmup:30:cosine:1:300": schedules.parse("warmup:30:cosine:1:300")}
    fig, axes = plot.new_figure(3, 2, figsize=(12.0, 6.0))
    t = np.arange(1, 301)
    rows = []
    for axis, (text, rule) in zip(axes, shapes.items(), strict=True):
        lrs = np.array([rule(int(k)) for k in t])
        axis.plot(t, lrs, lw=1.7)
        axis.set_title(text, fontsize="small")
        axis.set_ylim(0, 1.05)
        axis.grid(True, alpha=0.3)
        axis.set_xlabel("update t")
        verdict = diagnostics.robbins_monro(rule)
        rows.append([text, f"{lrs[0]:.3g}", f"{lrs[99]:.3g}", f"{lrs[-1]:.3g}",
                     {True: "yes", False: "no", None: "cannot tell"}[getattr(verdict, "verdict",
                                                                             verdict)]])
    fig.suptitle("Step-size schedules (the text is what --lr accepts)")
    page.figure(fig, "schedules",
                "Six schedules over 300 updates, each titled by the text that "
                "<code>--lr</code> and <code>schedules.parse</code> accept.",
                "Six small panels of learning rate against update: 1/t falling steeply from 1, "
                "0.5/t^0.6 falling more gently, a staircase halving every 50 updates, a smooth "
                "exponential decay, a cosine from 1 to 0, and the same cosine after a linear "
                "ramp over the first 30 updates.")
    page.table(["schedule", "α₁", "α₁₀₀", "α₃₀₀", "Robbins–Monro (Σα = ∞, Σα² < ∞)"], rows)
    # ---- momentum
    kappa = 50.0
    quad = problems.quadratic(dim=2, kappa=kappa, mu=1.0)
    lr_hb, beta = diagnostics.heavy_ball_parameters(quad.L, quad.mu)
    runs = {"gd, α = 2/(L+μ)": _quiet_run(quad, "gd", lr=diagnostics.gd_optimal_lr(quad.L, quad.mu),
                                           max_iter=120, gtol=1e-10),
            f"heavy ball, α = {lr_hb:.3g}, β = {beta:.3g}": _quiet_run(
                quad, "momentum", lr=lr_hb, momentum=beta, max_iter=120, gtol=1e-10)}
    page.heading("5c. Momentum", "momentum", level=3)
    page.paragraph(
        "Momentum keeps a running direction: v<sub>n+1</sub> = β v<sub>n</sub> + ∇f(x<sub>n"
        "</sub>), x<sub>n+1</sub> = x<sub>n</sub> − α v<sub>n+1</sub>. Across a narrow valley "
        "the gradients alternate in sign and cancel in v; along it they agree and add up. On a "
        f"quadratic with condition number κ = {kappa:g}, Polyak's α and β improve the rate per "
        f"iteration from (κ−1)/(κ+1) = {diagnostics.gd_rate(kappa):.3f} to (√κ−1)/(√κ+1) = "
        f"{diagnostics.heavy_ball_rate(kappa):.3f}.")
    page.figure(result_figure(quad, runs, f"Gradient descent and heavy ball, κ = {kappa:g}"),
                "momentum",
                "Left: the two paths over the contour lines; gradient descent zig-zags across "
                "the valley, heavy ball swings wide and then settles. Right: the error on a log "
                "axis: both are straight lines (linear rates), heavy ball's far steeper.",
                "Two panels. Left: contour ellipses of an elongated quadratic with a zig-zag "
                "gradient-descent path and a smoother looping heavy-ball path, both ending at "
                "the minimiser star. Right: error against iteration on a log axis, two straight "
                "falling lines, the heavy-ball line much steeper.")
    headers, rows = _distance_rows(quad, runs)
    page.table(headers, rows)
    results["remedies"] = {"armijo_trials": [[s, f, ok] for s, f, ok in trials],
                           "momentum": {k: int(r.nit) for k, r in runs.items()}}


def _sgd_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                 progress: Progress) -> None:
    from . import optim, plot, schedules
    from .autodiff import tensor
    rng = np.random.default_rng(seed)
    n = 400
    A = rng.standard_normal((n, 2)) * np.array([1.0, 0.5])
    w_true = np.array([1.5, -2.0])
    b = A @ w_true + 0.5 * rng.standard_normal(n)
    w_star = np.linalg.lstsq(A, b, rcond=None)[0]

    def loss(w: np.ndarray) -> float:
        r = A @ w - b
        return float(r @ r) / (2 * n)
    f_star = loss(w_star)
    page.heading("6. Stochastic gradient descent", "sgd")
    page.paragraph(
        f"Least squares on {n} noisy examples, f(w) = (1/2n) Σ<sub>i</sub> (a<sub>i</sub>ᵀw − "
        "b<sub>i</sub>)². Stochastic gradient descent replaces ∇f by the gradient on a random "
        "<em>minibatch</em> of B examples: unbiased, but noisy, with a variance that falls like "
        "1/B.")
    w0 = np.array([-1.0, 1.0])
    fig, axes = plot.new_figure(3, figsize=(12.0, 4.3))
    full = A.T @ (A @ w0 - b) / n
    spreads = []
    for axis, batch in zip(axes, (1, 10, 100), strict=True):
        picks = [rng.choice(n, batch, replace=False) for _ in range(300)]
        grads = np.array([A[p].T @ (A[p] @ w0 - b[p]) / batch for p in picks])
        spreads.append(float(np.sqrt(np.mean(np.sum((grads - full) ** 2, axis=1)))))
        axis.scatter(-grads[:, 0], -grads[:, 1], s=6, alpha=0.4, color="#1f77b4",
                     label="−minibatch gradients")
        axis.plot(-full[0], -full[1], "*", color="gold", ms=16, mec="black",
                  label="−full gradient")
        axis.set_title(f"B = {batch}: spread {spreads[-1]:.2f}", fontsize="small")
        axis.set_xlabel("component 1")
        axis.set_ylabel("component 2")
        axis.grid(True, alpha=0.3)
    for axis in axes[1:]:  # the same axes in every panel, so that the spreads compare
        axis.set_xlim(axes[0].get_xlim())
        axis.set_ylim(axes[0].get_ylim())
    axes[0].legend(fontsize="x-small", loc="lower left")
    fig.suptitle(f"300 minibatch gradients at w = ({w0[0]:g}, {w0[1]:g}), same axes")
    page.figure(fig, "sgd_noise",
                "The negative gradient on 300 random minibatches of sizes 1, 10 and 100 "
                "(dots) around the full negative gradient (star). The spread (root mean square "
                "distance) falls roughly like 1/√B.",
                "Three scatter plots of two-dimensional gradient estimates around a gold star: "
                "a wide cloud for batch size 1, a tighter one for 10 and a small cluster for "
                "100.")
    steps = 12000 if not budget.epochs <= 3 else 2000
    settings = {"constant α = 0.05": 0.05, "constant α = 0.02": 0.02,
                "αₙ = 4/(n + 80)": schedules.inverse_time(0.05, 1.0 / 80)}
    draws = rng.integers(0, n, steps)
    curves = {}
    for label, lr in settings.items():
        w = tensor(w0.copy(), requires_grad=True)
        opt = optim.SGD([w], lr=lr)
        errors = np.empty(steps + 1)
        errors[0] = loss(w.data) - f_star
        for k in range(steps):  # the gradient of ½ (aᵢᵀw − bᵢ)² is written out: a fast loop
            i = draws[k]
            w.grad = (A[i] @ w.data - b[i]) * A[i]
            opt.step()
            errors[k + 1] = loss(w.data) - f_star
        curves[label] = errors
    fig, (axis,) = plot.new_figure(figsize=(7.5, 4.8))
    for (label, errors), color in zip(curves.items(), ("#d62728", "#ff7f0e", "#2ca02c"),
                                      strict=True):
        # Draw about 1500 points per curve, log-spaced: tens of thousands make drawing slow.
        shown = np.unique(np.geomspace(1, steps, 1500).astype(int))
        axis.loglog(shown, np.maximum(errors[shown], 1e-16), color=color, lw=0.6, alpha=0.35)
        window = 200
        smooth = np.convolve(errors[1:], np.ones(window) / window, mode="valid")
        shown = shown[shown >= window]
        axis.loglog(shown, smooth[shown - window], color=color, lw=2.0,
                    label=label + " (mean of 200)")
    axis.set_xlabel("update n (one example each, log axis)")
    axis.set_ylabel("f(wₙ) − f* (log axis)")
    axis.set_title("SGD with B = 1: a noise floor for constant steps")
    axis.grid(True, which="both", alpha=0.25)
    axis.legend(fontsize="small")
    page.paragraph(
        "With a constant step the noise never averages out: the error falls to a <em>noise "
        "floor</em> proportional to α and then wanders there. Steps α<sub>n</sub> ∝ 1/n "
        "satisfy Robbins–Monro (Σ α = ∞, Σ α² < ∞), and the error keeps falling, like 1/n "
        "once a·μ ≥ 1 for α<sub>n</sub> = a/(n + n₀) (μ = 0.25 here, so a = 4).")
    page.figure(fig, "sgd_floor",
                f"f(w<sub>n</sub>) − f* over {steps} single-example SGD updates (log-log). The "
                "constant steps stall at floors (the larger step's floor is higher); "
                "α<sub>n</sub> = 4/(n + 80) keeps descending, like 1/n. Thin lines: every "
                "update; thick: the mean over 200 updates.",
                "Log-log plot of error against update for three SGD runs: red and orange "
                "constant-step curves fall and then flatten into noisy plateaus, the red one "
                "higher; a green decaying-step curve keeps falling roughly as a straight line.")
    tail = slice(steps // 2, None)
    rows = [[label, format_number(float(np.mean(e[tail])))] for label, e in curves.items()]
    page.table(["steps", "mean f − f* over the second half"], rows,
               f"Minibatch spreads at B = 1, 10, 100: {', '.join(f'{s:.3g}' for s in spreads)}.")
    results["sgd"] = {"spread": spreads,
                      "second_half_error": {k: float(np.mean(e[tail])) for k, e in curves.items()}}


_RULES = (
    ("Momentum (heavy ball, PyTorch's SGD form)",
     "v<sub>t</sub> = μ v<sub>t−1</sub> + g<sub>t</sub>,  x<sub>t</sub> = x<sub>t−1</sub> − "
     "α v<sub>t</sub>"),
    ("RMSprop", "s<sub>t</sub> = ρ s<sub>t−1</sub> + (1 − ρ) g<sub>t</sub>²,  x<sub>t</sub> = "
     "x<sub>t−1</sub> − α g<sub>t</sub> / (√s<sub>t</sub> + ε)"),
    ("Adam", "m<sub>t</sub> = β₁ m<sub>t−1</sub> + (1 − β₁) g<sub>t</sub>,  v<sub>t</sub> = β₂ "
     "v<sub>t−1</sub> + (1 − β₂) g<sub>t</sub>²,  m̂<sub>t</sub> = m<sub>t</sub>/(1 − β₁"
     "<sup>t</sup>),  v̂<sub>t</sub> = v<sub>t</sub>/(1 − β₂<sup>t</sup>),  x<sub>t</sub> = "
     "x<sub>t−1</sub> − α m̂<sub>t</sub> / (√v̂<sub>t</sub> + ε)"),
    ("AdaDelta", "s<sub>t</sub> = ρ s<sub>t−1</sub> + (1 − ρ) g<sub>t</sub>²,  Δ<sub>t</sub> = "
     "√(u<sub>t−1</sub> + ε) / √(s<sub>t</sub> + ε) · g<sub>t</sub>,  u<sub>t</sub> = ρ "
     "u<sub>t−1</sub> + (1 − ρ) Δ<sub>t</sub>²,  x<sub>t</sub> = x<sub>t−1</sub> − α "
     "Δ<sub>t</sub>"),
)


def _adaptive_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    from . import diagnostics, plot, problems
    page.heading("7. Momentum, RMSprop, Adam and AdaDelta", "adaptive")
    page.paragraph(
        "Each method's update, as in its docstring and in PyTorch (g<sub>t</sub> = ∇f(x"
        "<sub>t−1</sub>), squares and roots taken per coordinate):")
    page.parts.append("<ul>" + "".join(f"<li><b>{html.escape(name)}</b>: {rule}</li>"
                                       for name, rule in _RULES) + "</ul>")
    quad = problems.quadratic(dim=2, kappa=50.0, mu=1.0)
    lr_hb, beta = diagnostics.heavy_ball_parameters(quad.L, quad.mu)
    settings = {"momentum": ("momentum", {"lr": lr_hb, "momentum": beta}),
                "rmsprop": ("rmsprop", {"lr": 0.03}), "adam": ("adam", {"lr": 0.1}),
                "adadelta": ("adadelta", {"lr": 3.0})}
    runs = {f"{label}, lr {opts['lr']:.3g}": _quiet_run(quad, method, max_iter=300, gtol=1e-8,
                                                         **opts)
            for label, (method, opts) in settings.items()}
    page.paragraph(
        "RMSprop, Adam and AdaDelta divide each coordinate's step by a running root mean square "
        "of its gradients, so the steep and the flat coordinate move at similar speeds: their "
        "paths head for the minimiser along a diagonal rather than down the steepest slope.")
    page.figure(plot.trajectory_grid(quad, runs, title="Four update rules on the same "
                                     "quadratic (κ = 50), same axes"),
                "adaptive",
                "One panel per method, on the same axes and contour lines, 300 iterations at "
                "most each from the same start.",
                "Four panels side by side, each with the same elongated contour ellipses: "
                "momentum's path loops around the valley, RMSprop's and Adam's run diagonally "
                "towards the minimiser, AdaDelta's creeps from the start with small steps.")
    headers, rows = _distance_rows(quad, runs)
    page.table(headers, rows)
    results["adaptive"] = {k: {"nit": int(r.nit), "final_f": float(np.asarray(r.fvals)[-1])}
                           for k, r in runs.items()}


def _second_order_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                          progress: Progress) -> None:
    from . import plot
    from .experiments import second_order_rows, second_order_runs
    page.heading("7d. Beyond first order: CG, BFGS and Newton", "second-order", level=3)
    page.paragraph(
        "The tutorial's remedies keep to the gradient. Curvature buys speed: nonlinear conjugate "
        "gradients (Polak–Ribière+) and BFGS build it from successive gradients, Newton's method "
        "uses the exact Hessian from the autodiff engine (its eigenvalues made positive where "
        "the Hessian is indefinite). All three choose their steps by a strong Wolfe line search, "
        "whose extra evaluations of f are the price: the right-hand panels count them.")
    runs = second_order_runs(max_iter=min(budget.compare_iter, 5000))
    page.figure(plot.convergence_by_cost(runs), "second_order",
                "f − f* per iteration (left) and per evaluation of f (right): GD and momentum "
                "converge linearly, BFGS superlinearly, Newton quadratically (the number of "
                "correct digits doubles per step near the minimiser).",
                "Four log-scale panels, Rosenbrock above and a quadratic with condition number "
                "100 below; per iteration and per function evaluation. The blue GD and orange "
                "momentum lines need hundreds to thousands of iterations, the green CG and purple "
                "BFGS lines drop steeply after tens, and the red Newton line falls to 1e-20 in "
                "about twenty steps on Rosenbrock and in one on the quadratic.")
    headers, rows = second_order_rows(runs)
    page.table(headers, rows)
    results["second_order"] = {f"{row[0]} / {row[1]}": {"iterations": int(row[2]),
                                                         "evaluations": int(row[3]),
                                                         "order": row[4]} for row in rows}


def _toy_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in the plane, labelled 1 inside a ring-shaped band, 0 elsewhere."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (240, 2))
    y = (np.abs(np.hypot(X[:, 0], X[:, 1]) - 1.1) < 0.45).astype(np.float64)
    return X, y


def _layers_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                    progress: Progress) -> None:
    from . import nn, optim, plot
    from ._random import manual_seed
    from .autodiff import no_grad
    X, y = _toy_data(seed)
    manual_seed(seed)
    model = nn.mlp(2, [4], 1, "tanh", dtype=np.float64)
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss = nn.BCEWithLogitsLoss()
    target = y[:, None]
    for _ in range(400):
        opt.zero_grad()
        value = loss(model(X), target)
        value.backward()
        opt.step()
    page.heading("8. Fully connected layers with biases", "layers")
    page.paragraph(
        "A fully connected (<code>Linear</code>) layer computes z = a W<sup>T</sup> + b: every "
        "output unit j takes a weighted sum w<sub>j</sub>ᵀa of all its inputs plus its own bias "
        "b<sub>j</sub>, and an activation f is applied to each: a' = f(z). The weights turn a "
        "unit's line w<sub>j</sub>ᵀx + b<sub>j</sub> = 0 in the input plane, the bias moves it "
        "off the origin (without biases every line would pass through 0). Here a 2-4-1 network "
        "with tanh units was trained for 400 Adam steps to tell points in a ring-shaped band "
        "(dark) from the rest.")
    W, b = model[0].weight.data, model[0].bias.data
    gx, gy = np.meshgrid(np.linspace(-2.2, 2.2, 120), np.linspace(-2.2, 2.2, 120))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    with no_grad():
        out = model(grid).data.reshape(gx.shape)
    hidden = np.tanh(grid @ W.T + b)
    fig, axes = plot.new_figure(5, figsize=(15.0, 3.5))
    for j, axis in enumerate(axes[:4]):
        axis.contourf(gx, gy, hidden[:, j].reshape(gx.shape), levels=np.linspace(-1, 1, 11),
                      cmap="RdBu_r")
        axis.contour(gx, gy, (grid @ W[j] + b[j]).reshape(gx.shape), levels=[0.0],
                     colors="black", linestyles="--", linewidths=1.0)
        axis.set_title(f"unit {j + 1}: tanh({W[j, 0]:.2f}x₁ {W[j, 1]:+.2f}x₂ {b[j]:+.2f})",
                       fontsize="x-small")
    axes[4].contourf(gx, gy, 1 / (1 + np.exp(-out)), levels=np.linspace(0, 1, 11), cmap="PuOr_r")
    axes[4].scatter(X[:, 0], X[:, 1], c=y, cmap="PuOr_r", s=8, edgecolors="black",
                    linewidths=0.3)
    axes[4].set_title("output σ(a W₂ᵀ + b₂) and the data", fontsize="x-small")
    for axis in axes:
        axis.set_aspect("equal")
        axis.set_xticks([-2, 0, 2])
        axis.set_yticks([-2, 0, 2])
    fig.suptitle("What each hidden unit computes over the input plane (dashed: wᵀx + b = 0)")
    with no_grad():
        accuracy = float(np.mean((model(X).data[:, 0] > 0) == (y > 0.5)))
    page.figure(fig, "layers",
                "The four hidden units of the trained network, each a tanh ridge across its "
                "dashed line w<sub>j</sub>ᵀx + b<sub>j</sub> = 0 (red +1, blue −1), and the "
                f"output layer's combination of them (right): four straight cuts combine into a "
                f"curved region that covers much of the band ({accuracy:.0%} of the points "
                "classified right; more units would follow the ring more closely).",
                "Five square panels over the input plane. The first four each show one hidden "
                "unit as a smooth red-to-blue ridge across a dashed straight line at a different "
                "angle and offset. The fifth shows the network output as a ring-shaped region "
                "with the training points, inside-band points dark, others light, on top.")
    results["layers"] = {"accuracy": accuracy, "W1": W.tolist(), "b1": b.tolist()}
    results["_toy_model"] = model


def _backprop_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                      progress: Progress) -> None:
    from . import nn, plot
    from ._random import manual_seed
    from .autodiff import tensor
    X, y = _toy_data(seed)
    X, y = X[:4], y[:4, None]
    manual_seed(seed + 1)
    model = nn.mlp(2, [3], 1, "tanh", dtype=np.float64)
    loss = nn.MSELoss()
    trace = nn.backprop_trace(model, loss, X, y)
    value = loss(model(tensor(X)), y)
    value.backward()
    mismatch = max(float(np.max(np.abs(layer.dW - m.weight.grad)))
                   for layer, m in zip(trace.layers, [model[0], model[2]], strict=True))
    lr = 0.5
    after = trace.step(lr)
    page.heading("9. Forward pass, backward pass and the update", "backprop")
    page.paragraph(
        "Backpropagation is the chain rule organised by layer. The <b>forward pass</b> keeps "
        "every layer's input a<sub>l−1</sub> and pre-activation z<sub>l</sub> = a<sub>l−1</sub>"
        "W<sub>l</sub><sup>T</sup> + b<sub>l</sub>. The <b>backward pass</b> starts from the "
        "loss's gradient at the output and goes back one layer at a time: δ<sub>L</sub> = "
        "∂L/∂a<sub>L</sub> ⊙ f′(z<sub>L</sub>), δ<sub>l</sub> = (δ<sub>l+1</sub> W<sub>l+1</sub>) "
        "⊙ f′(z<sub>l</sub>), and each layer's gradients are dW<sub>l</sub> = δ<sub>l</sub>"
        "<sup>T</sup> a<sub>l−1</sub>, db<sub>l</sub> = Σ<sub>i</sub> δ<sub>l,i</sub>. The "
        "<b>update</b> is then W := W − α dW, b := b − α db. Below, one pass of a 2-3-1 tanh "
        "network with the squared error on 4 points, computed by "
        "<code>steepest.nn.backprop_trace</code> in plain NumPy; the autodiff engine's "
        f"gradients agree with it (largest difference in dW: {mismatch:.1e}).")
    page.figure(trace.figure(), "backprop",
                "The network: node colour is the activation (mean over the 4 examples), the "
                "number under each node its δ = ∂L/∂z, edge colour and width the weight's "
                "gradient dW (purple positive, orange negative).",
                "A network diagram with two input circles, three hidden circles and one output "
                "circle in columns, joined by lines of varying colour and thickness. Each circle "
                "is filled red or blue by its activation and shows its value; under each hidden "
                "and output circle a small number gives delta. Two colour bars on the right "
                "explain the node and edge colours.")
    page.parts.append("<details><summary>The whole trace, as <code>trace.text()</code> and "
                      "<code>steepest backprop</code> print it</summary><pre>"
                      + html.escape(trace.text(precision=4)) + "</pre></details>")
    page.table(["layer", "W shape", "‖δ‖", "‖dW‖", "‖db‖", "activation"],
               [[str(k), str(layer.W.shape), format_number(float(np.linalg.norm(layer.delta))),
                 format_number(float(np.linalg.norm(layer.dW))),
                 format_number(float(np.linalg.norm(layer.db))), layer.activation]
                for k, layer in enumerate(trace.layers, start=1)])
    alphas = np.linspace(0.0, 3.0 * lr, 61)
    losses = np.array([trace.step(a).loss if a > 0 else trace.loss for a in alphas])
    squared = sum(float(np.sum(layer.dW ** 2) + np.sum(layer.db ** 2)) for layer in trace.layers)
    fig, (axis,) = plot.new_figure(figsize=(7.5, 4.6))
    axis.plot(alphas, losses, lw=1.8, label="L(W − α dW, b − α db)")
    axis.plot(alphas, trace.loss - alphas * squared, "--", color="gray",
              label="first order: L − α ‖∇L‖²")
    axis.plot([lr], [after.loss], "o", color="#d62728", ms=7, label=f"the update, α = {lr:g}")
    axis.set_ylim(min(losses) - 0.05 * np.ptp(losses), max(losses) + 0.1 * np.ptp(losses))
    axis.set_xlabel("step size α")
    axis.set_ylabel("loss on the 4 points")
    axis.set_title("One gradient step on the network")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small")
    page.figure(fig, "backprop_update",
                f"The loss after the step W := W − α dW for each α: it starts along the "
                f"tangent of slope −‖∇L‖² = {-squared:.3g} (dashed), which is what a correct "
                f"gradient guarantees. The update with α = {lr:g} takes the loss from "
                f"{trace.loss:.4f} to {after.loss:.4f}.",
                "A curve of the loss against step size alpha, starting at the current loss, "
                "falling along a dashed tangent line at first and then flattening; a red dot "
                "marks the step alpha = 0.5 below the starting loss.")
    results["backprop"] = {"loss_before": trace.loss, "loss_after": after.loss, "lr": lr,
                           "engine_mismatch": mismatch}


def _graph_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                   progress: Progress) -> None:
    from . import autodiff, plot
    from .autodiff import retain_grads, tanh, tensor, to_dot
    page.heading("10. The computational graph", "graph")
    page.paragraph(
        "The autodiff engine records every operation on tensors that require gradients as a "
        "node of a graph. <b>Reverse mode</b> walks this graph backwards from the output: the "
        "output's gradient is 1; each node hands its gradient to its inputs multiplied by its "
        "local derivative (a vector-Jacobian product); a tensor used twice <em>adds</em> what "
        "both uses send it. One backward pass costs a small multiple of the forward pass, "
        "however many inputs there are: that is why a network with millions of weights gets all "
        "its gradients at once. <code>steepest.autodiff.to_dot(t)</code> writes the graph as "
        "Graphviz DOT; <code>steepest.plot.graph(t)</code> draws it (here with matplotlib's own "
        "layout).")
    x = tensor(2.0, requires_grad=True)
    y = tensor(-3.0, requires_grad=True)
    f = x * y + x * x
    retain_grads(f)
    f.backward()
    page.figure(plot.graph(f, {"x": x, "y": y}, engine="matplotlib",
                           title="f = x·y + x², forward values and backward gradients"),
                "graph_expression",
                f"f(x, y) = x·y + x² at x = 2, y = −3. On each edge: the value flowing forward "
                f"and the gradient ∂f/∂(that value) flowing back. x is used twice, so its "
                f"gradient is the sum y + 2x = {x.grad.item():g}.",
                "A graph laid out left to right: boxes x and y feed two multiplication nodes, "
                "whose outputs feed an addition node giving f. Each arrow carries a small label "
                "with the forward value and the gradient.")
    xs = tensor([1.0, -2.0], requires_grad=True)
    w = tensor([0.5, 0.25], requires_grad=True)
    b = tensor(0.1, requires_grad=True)
    neuron = tanh((w * xs).sum() + b)
    retain_grads(neuron)
    neuron.backward()
    page.figure(plot.graph(neuron, {"x": xs, "w": w, "b": b}, engine="matplotlib",
                           title="One neuron: tanh(wᵀx + b)"),
                "graph_neuron",
                "One neuron, tanh(wᵀx + b), as the engine recorded it: multiply, sum, add the "
                "bias, tanh. The gradients on the edges are those backward computed: "
                f"∂out/∂w = (1 − out²) x = {np.array2string(w.grad, precision=3)}.",
                "A graph laid out left to right: boxes x and w feed a multiplication node, then "
                "a sum node; a box b joins at an addition node, followed by a tanh node giving "
                "the output; arrows carry forward values and gradients.")
    page.parts.append("<details><summary>The DOT source of the neuron's graph "
                      "(<code>to_dot</code>)</summary><pre>"
                      + html.escape(to_dot(neuron, {"x": xs, "w": w, "b": b})) + "</pre></details>")
    results["graph"] = {"df_dx": float(x.grad), "df_dy": float(y.grad),
                        "neuron_grad_w": w.grad.tolist(), "engine": autodiff.__name__}
