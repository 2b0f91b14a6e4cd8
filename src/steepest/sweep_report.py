"""The report of a sweep: figures and an HTML page built from ``DIR/sweep.sqlite``.

:func:`write_report` (``steepest sweep report DIR``) writes ``DIR/report/index.html`` with:

* ``lr_sensitivity.png``: final loss against the learning rate, one curve per method (or
  optimizer) — the median over seeds with the range from the best to the worst seed;
* ``heatmap.png``: for a two-axis grid (lr by momentum, or lr by the other numeric axis that
  varies), the median final loss of every cell, one panel per method; the lr axis is
  categorical, so a schedule string such as ``"1/t"`` is a column of its own after the numbers;
* ``best.png``: the loss curve of the best configuration of every method (lowest median final
  loss over seeds), one line per seed.

A method none of whose runs ended with a finite loss (every one failed or diverged) has no best
setting: the page says "all N runs failed (reasons)" for it, and the plots name it in their
legend as "(all N runs failed)" with nothing drawn. A figure the sweep cannot give is not
skipped silently: the page says which and why.

Figures go through :mod:`steepest.plot` (``new_figure``, ``save``), so matplotlib is imported
there only. Reads the database only; never runs anything.
"""

from __future__ import annotations

import html
import math
import numbers
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_report", "method_key", "lr_sensitivity", "heatmap", "best_curves", "best_configs",
           "failed_methods"]

DPI = 150
# Config keys that identify the run, not a setting to compare.
_NOT_AXES = ("kind", "seed", "label")


def method_key(rows: Sequence[Mapping[str, Any]]) -> str:
    """The config key that names the algorithm: ``method`` (minimize) or ``optimizer`` (train)."""
    kinds = {row["config"]["kind"] for row in rows}
    return "optimizer" if kinds == {"train"} else "method"


def _label(config: Mapping[str, Any], key: str) -> str:
    if "label" in config:
        return str(config["label"])
    name = str(config.get(key, "default"))
    if config.get("line_search") not in (None, "none"):
        name += f"+{config['line_search']}"
    return name


def _varying(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config keys (other than kind and seed) with more than one value among the rows."""
    values: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for key, value in row["config"].items():
            values[key].add(repr(value))
    return [k for k, v in values.items() if len(v) > 1 and k not in _NOT_AXES]


def _loss(row: Mapping[str, Any]) -> float:
    """The run's final loss for ranking and drawing: infinite for a failed run, a diverged one
    (its metrics say ``diverged``, whatever ``final_loss`` a row written by an older version
    holds) and a non-finite or missing loss."""
    value = row.get("final_loss")
    metrics = row.get("metrics")
    if row["status"] != "done" or value is None or (isinstance(metrics, Mapping)
                                                    and metrics.get("diverged")):
        return math.inf
    value = float(value)
    return value if math.isfinite(value) else math.inf


def _setting(config: Mapping[str, Any]) -> str:
    """A config without its seed, as a stable key."""
    return repr(sorted((k, repr(v)) for k, v in config.items() if k != "seed"))


def _reason(row: Mapping[str, Any]) -> str:
    """Why a run has no finite final loss, in a few words: its error's first line, or diverged."""
    if row["status"] != "done":
        lines = str(row.get("error") or "").strip().splitlines()
        text = lines[0] if lines else "failed without a message"
        return text if len(text) <= 120 else text[:119] + "…"
    metrics = row.get("metrics")
    if isinstance(metrics, Mapping) and metrics.get("diverged"):
        return "diverged"
    return "no finite final loss"


def failed_methods(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The methods none of whose runs ended with a finite loss: every one failed or diverged.

    Returns
    -------
    dict
        method label -> ``{"runs": N, "reasons": text}``, the text summing up why, most common
        first: ``"12 diverged"``, ``"4 × TypeError: ...; 2 diverged"``.
    """
    key = method_key(rows)
    by_label: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_label[_label(row["config"], key)].append(row)
    failed = {}
    for label, runs in sorted(by_label.items()):
        if any(math.isfinite(_loss(r)) for r in runs):
            continue
        counts = Counter(_reason(r) for r in runs).most_common()
        parts = [f"{n} diverged" if why == "diverged" else f"{n} × {why}" for why, n in counts[:3]]
        rest = sum(n for _, n in counts[3:])
        if rest:
            parts.append(f"{rest} for other reasons")
        failed[label] = {"runs": len(runs), "reasons": "; ".join(parts)}
    return failed


def best_configs(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per method: the setting (config without seed) of lowest median final loss over seeds.

    A method none of whose runs has a finite loss has no best setting and is left out (see
    :func:`failed_methods`): naming one of its settings "best" would be arbitrary.

    Returns
    -------
    dict
        method label -> ``{"config", "median", "runs"}`` (``runs``: the rows of every seed).
    """
    key = method_key(rows)
    groups: dict[str, dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[_label(row["config"], key)][_setting(row["config"])].append(row)
    best = {}
    for label, settings in groups.items():
        if not any(math.isfinite(_loss(r)) for runs in settings.values() for r in runs):
            continue
        medians = {s: float(np.median([_loss(r) for r in runs])) for s, runs in settings.items()}
        chosen = min(medians, key=lambda s: (medians[s], s))
        runs = sorted(settings[chosen], key=lambda r: r["config"].get("seed", 0))
        config = {k: v for k, v in runs[0]["config"].items() if k != "seed"}
        best[label] = {"config": config, "median": medians[chosen], "runs": runs}
    return best


def _positive(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _mark_failed(ax: Any, failed: Mapping[str, Mapping[str, Any]]) -> None:
    """A legend entry that draws nothing (no line, no marker) for each method whose every run
    failed or diverged: the reader sees it was swept, and no empty line pretends to be data."""
    for label in sorted(failed):
        ax.plot([], [], linestyle="none", marker="none", color="none",
                label=f"{label} (all {failed[label]['runs']} runs failed)")


def lr_sensitivity(rows: Sequence[Mapping[str, Any]]) -> Any | None:
    """Final loss against lr, one curve per method: the median over seeds, shaded from the best
    to the worst seed. Where other axes vary too, each (lr, seed) point takes the best of them.
    A method whose runs all failed or diverged has no curve, only a legend entry that says so.
    None when lr is not a numeric axis (fewer than two numeric values); runs with a schedule
    string as lr are not on this axis (:func:`write_report` says so under the figure)."""
    from . import plot
    key = method_key(rows)
    numeric = [r for r in rows if _is_number(r["config"].get("lr"))]
    if len({r["config"]["lr"] for r in numeric}) < 2:
        return None
    failed = failed_methods(rows)
    points: dict[str, dict[float, dict[Any, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in numeric:
        config = row["config"]
        cell = points[_label(config, key)][float(config["lr"])]
        seed = config.get("seed", 0)
        cell[seed] = min(cell.get(seed, math.inf), _loss(row))
    fig, (ax,) = plot.new_figure(figsize=(7.5, 5.0))
    unplotted = {}
    for label in sorted(points):
        if label in failed:
            continue
        lrs = sorted(points[label])
        per_seed = [_positive(list(points[label][lr].values())) for lr in lrs]
        median = [np.nanmedian(v) if np.isfinite(v).any() else np.nan for v in per_seed]
        if not np.isfinite(median).any():  # finite only at a schedule lr: nothing to draw here
            unplotted[label] = "no finite loss at a numeric lr"
            continue
        low = [np.nanmin(v) if np.isfinite(v).any() else np.nan for v in per_seed]
        high = [np.nanmax(v) if np.isfinite(v).any() else np.nan for v in per_seed]
        (line,) = ax.plot(lrs, median, marker="o", label=label)
        ax.fill_between(lrs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    _mark_failed(ax, failed)
    for label, why in unplotted.items():
        ax.plot([], [], linestyle="none", marker="none", color="none", label=f"{label} ({why})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss (median over seeds; band: best to worst seed)")
    ax.set_title("Learning-rate sensitivity (missing points: diverged or failed)")
    ax.legend(title=key, fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return fig


def _order(value: Any) -> tuple[int, float | str]:
    """The place of an axis value: the numbers in increasing order, then the others (schedule
    strings such as "1/t") by their text."""
    return (0, float(value)) if _is_number(value) else (1, str(value))


def _tick(order: tuple[int, float | str]) -> str:
    return f"{order[1]:g}" if order[0] == 0 else str(order[1])


def _heatmap_axes(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str] | str:
    """The heatmap's axes: lr (numbers or schedule strings, drawn as categories) and a second
    numeric axis, momentum first; or, when there are none, why, for the page."""
    varying = _varying(rows)
    if "lr" not in varying:
        return "the learning rate does not vary in this sweep"
    if not all(_is_number(r["config"].get("lr")) or isinstance(r["config"].get("lr"), str)
               for r in rows):
        return ("some runs have no lr (their method's default), so lr is not an axis of every "
                "run")
    others = [k for k in varying if k != "lr"
              and all(_is_number(r["config"].get(k)) for r in rows)]
    if not others:
        besides = [k for k in varying if k != "lr"]
        found = (f"{', '.join(besides)} also vary, but not as a number in every run" if besides
                 else "only lr varies")
        return f"it needs a second axis, numeric and in every run, besides lr; {found}"
    return "lr", "momentum" if "momentum" in others else others[0]


def heatmap(rows: Sequence[Mapping[str, Any]]) -> tuple[Any, str] | None:
    """Median final loss over seeds of every (lr, second axis) cell, one panel per method
    (log colour scale, blank where every seed diverged or failed; a method whose runs all
    failed says so in its panel's title). The lr axis is categorical: its numbers in order,
    then its schedule strings, each one column. None without a second numeric axis. Returns the
    figure and the name of the second axis."""
    from . import plot
    chosen = _heatmap_axes(rows)
    if isinstance(chosen, str):
        return None
    x_key, y_key = chosen
    key = method_key(rows)
    failed = failed_methods(rows)
    by_method: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_method[_label(row["config"], key)].append(row)
    labels = sorted(by_method)
    fig, axes = plot.new_figure(len(labels), figsize=(4.6 * len(labels) + 1.0, 4.4))
    xs = sorted({_order(r["config"][x_key]) for r in rows})
    ys = sorted({_order(r["config"][y_key]) for r in rows})
    grids = []
    for label in labels:
        cells: dict[tuple[Any, Any], list[float]] = defaultdict(list)
        for row in by_method[label]:
            cells[(_order(row["config"][x_key]), _order(row["config"][y_key]))].append(
                _loss(row))
        grid = np.full((len(ys), len(xs)), np.nan)
        for (x, y), losses in cells.items():
            finite = _positive(losses)
            if np.isfinite(finite).any():
                grid[ys.index(y), xs.index(x)] = np.nanmedian(finite)
        grids.append(grid)
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    limits = {"vmin": finite.min(), "vmax": max(finite.max(), finite.min() * 1.0001)} \
        if finite.size else {}
    image = None
    for ax, label, grid in zip(axes, labels, grids, strict=True):
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", norm="log",
                          **limits)
        ax.set_xticks(range(len(xs)), [_tick(x) for x in xs], rotation=45)
        ax.set_yticks(range(len(ys)), [_tick(y) for y in ys])
        ax.set_xlabel(x_key)
        ax.set_ylabel(y_key)
        ax.set_title(f"{label} (all {failed[label]['runs']} runs failed)" if label in failed
                     else label)
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):  # dark text on the light (high) end of viridis
                light = image.norm(value) > 0.6
                ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=7,
                        color="black" if light else "white")
    if image is not None and limits:
        fig.colorbar(image, ax=axes, label="final loss (median over seeds)")
    fig.suptitle(f"Final loss by {x_key} and {y_key} (blank: diverged or failed)")
    return fig, y_key


def _curve(row: Mapping[str, Any]) -> tuple[list[float], str]:
    history = row.get("history")
    if isinstance(history, Mapping):
        curves = history.get("history", {})
        name = "val_loss" if curves.get("val_loss") else "loss"
        return list(curves.get(name, [])), f"{name.replace('_', ' ')} per epoch"
    return list(history or []), "f(x) per iteration"


def best_curves(best: Mapping[str, Mapping[str, Any]],
                failed: Mapping[str, Mapping[str, Any]] | None = None) -> Any | None:
    """The loss curve of every seed of each method's best setting (log axis).

    Parameters
    ----------
    best : mapping
        From :func:`best_configs`.
    failed : mapping, optional
        From :func:`failed_methods`: each gets a legend entry "(all N runs failed)" that draws
        nothing, as it has no best setting.

    Returns
    -------
    matplotlib.figure.Figure or None
        None when no method has a best setting.
    """
    from . import plot
    if not best:
        return None
    fig, (ax,) = plot.new_figure(figsize=(7.5, 5.0))
    ylabel = "loss"
    colors = {}
    for label in sorted(best):
        for index, row in enumerate(best[label]["runs"]):
            values, ylabel = _curve(row)
            if not values:
                continue
            y = _positive([math.nan if v is None else v for v in values])
            x = np.arange(1 if "epoch" in ylabel else 0, len(y) + (1 if "epoch" in ylabel else 0))
            kwargs = {"color": colors[label]} if label in colors else {}
            (line,) = ax.plot(x, y, alpha=0.85, linewidth=1.3,
                              label=label if index == 0 else None, **kwargs)
            colors.setdefault(label, line.get_color())
    _mark_failed(ax, failed or {})
    ax.set_yscale("log")
    ax.set_xlabel("epoch" if "epoch" in ylabel else "iteration")
    ax.set_ylabel(ylabel)
    ax.set_title("Best setting of each method (one line per seed)")
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return fig


def _describe(config: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(config.items()) if k != "kind")


def _html(rows: Sequence[Mapping[str, Any]], best: Mapping[str, Mapping[str, Any]],
          failed: Mapping[str, Mapping[str, Any]], figures: Sequence[tuple[str, str, str]],
          notes: Sequence[str], directory: Path) -> str:
    def text(value: str) -> str:  # element text: quotes need no escaping, and read better bare
        return html.escape(value, quote=False)

    done = sum(r["status"] == "done" for r in rows)
    failures_of_runs = [r for r in rows if r["status"] == "failed"]
    seconds = sum(r["seconds"] or 0.0 for r in rows)
    best_rows = "".join(
        f"<tr><td>{text(label)}</td><td>{text(_describe(info['config']))}</td>"
        f"<td>{info['median']:.4g}</td><td>{len(info['runs'])}</td></tr>"
        for label, info in sorted(best.items(), key=lambda item: item[1]["median"]))
    best_rows += "".join(
        f"<tr><td>{text(label)}</td><td colspan=\"3\">all {info['runs']} runs failed "
        f"({text(info['reasons'])})</td></tr>" for label, info in sorted(failed.items()))
    images = "".join(
        f"<figure><img src=\"{html.escape(name)}\" alt=\"{html.escape(alt)}\" width=\"900\">"
        f"<figcaption>{text(caption)}</figcaption></figure>"
        for name, alt, caption in figures)
    remarks = "".join(f"<li>{text(note)}</li>" for note in notes)
    failures = "".join(f"<li><code>{html.escape(r['id'])}</code> "
                       f"{html.escape(_describe(r['config']))}: {html.escape(r['error'] or '')}</li>"
                       for r in failures_of_runs[:50])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>steepest sweep report</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px}}
figure{{margin:1.5em 0}}img{{max-width:100%}}</style></head><body>
<h1>Sweep report</h1>
<p>{len(rows)} runs in <code>{html.escape(str(directory / 'sweep.sqlite'))}</code>: {done} done,
{len(failures_of_runs)} failed, {seconds:.1f} s of run time in all.</p>
<h2>Best setting per method</h2>
<p>Lowest median final loss over seeds (failed or diverged runs count as infinite). A method
none of whose runs ended with a finite loss has no best setting.</p>
<table><tr><th>method</th><th>setting</th><th>median final loss</th><th>seeds</th></tr>
{best_rows}</table>
{"<h2>Figures not drawn</h2><ul>" + remarks + "</ul>" if notes else ""}
{images}
{"<h2>Failed runs</h2><ul>" + failures + "</ul>" if failures_of_runs else ""}
</body></html>
"""


def write_report(out: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]] | None = None
                 ) -> Path:
    """Write ``out/report/index.html`` and its PNGs (150 dpi) from ``out/sweep.sqlite``.

    A figure the sweep cannot give (no numeric lr axis, no second axis for the heatmap, no
    method with a finite result) is named on the page with the reason, never left out silently.

    Parameters
    ----------
    out : path-like
        The directory of a sweep (``--out`` of ``steepest sweep``).
    rows : sequence of dict, optional
        The rows to show (default: all of :func:`steepest.sweep.read_runs`).

    Returns
    -------
    Path
        The HTML page.
    """
    from . import plot
    from .sweep import read_runs
    directory = Path(out)
    rows = list(read_runs(directory) if rows is None else rows)
    if not rows:
        raise ValueError(f"sweep report: {str(directory / 'sweep.sqlite')!r} has no runs yet")
    target = directory / "report"
    target.mkdir(parents=True, exist_ok=True)
    best = best_configs(rows)
    failed = failed_methods(rows)
    figures: list[tuple[str, str, str]] = []
    notes: list[str] = []
    key = method_key(rows)
    lrs = sorted({_order(r["config"]["lr"]) for r in rows if "lr" in r["config"]})
    schedules = [repr(v) for kind, v in lrs if kind == 1]
    drawn = heatmap(rows)
    figure = lr_sensitivity(rows)
    if figure is not None:
        plot.save(figure, target / "lr_sensitivity.png", dpi=DPI)
        caption = ("Learning-rate sensitivity: where each method works, and how much the seed "
                   "matters.")
        if schedules:
            where = "heatmap.png and the table above" if drawn is not None else "the table above"
            caption += (f" Runs with a schedule as lr ({', '.join(schedules)}) are not on the "
                        f"learning-rate axis: see {where}.")
        figures.append(("lr_sensitivity.png",
                        f"Final loss against learning rate on log axes, one line per {key}, "
                        "median over seeds with a band from best to worst seed", caption))
    else:
        values = ", ".join(_tick(v) if v[0] == 0 else repr(v[1]) for v in lrs)
        found = (f"the lr values of this sweep are {values}" if lrs
                 else "its runs give no lr (each method's default)")
        notes.append(f"No learning-rate sensitivity figure (lr_sensitivity.png): it needs at "
                     f"least two numeric learning rates; {found}.")
    if drawn is not None:
        plot.save(drawn[0], target / "heatmap.png", dpi=DPI)
        figures.append(("heatmap.png",
                        f"Heatmap of median final loss by learning rate and {drawn[1]}, one "
                        f"panel per {key}, log colour scale",
                        f"Two axes at once: learning rate by {drawn[1]}."))
    else:
        notes.append(f"No heatmap (heatmap.png): {_heatmap_axes(rows)}.")
    figure = best_curves(best, failed)
    if figure is not None:
        plot.save(figure, target / "best.png", dpi=DPI)
        figures.append(("best.png", f"Loss curves of the best setting of each {key}, one line "
                                    "per seed, log scale",
                        "The best setting of each method, run by run."))
    else:
        notes.append("No best-setting curves (best.png): no run of any method ended with a "
                     "finite loss.")
    page = target / "index.html"
    page.write_text(_html(rows, best, failed, figures, notes, directory), encoding="utf-8")
    return page
