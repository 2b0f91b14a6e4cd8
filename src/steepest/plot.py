"""Figures of optimisation runs and of training: every matplotlib import of steepest lives here.

Each function returns a :class:`matplotlib.figure.Figure` with labelled axes, units and legends;
save it with :func:`save` (or ``fig.savefig``).

matplotlib is imported on the first call, never at ``import steepest``. When pyplot is already in
use (a notebook, an interactive session, a script that imported ``matplotlib.pyplot``) the figures
are made through pyplot, so that they show inline or with ``plt.show()`` as usual; the Agg backend
is selected only when no backend has been chosen and no display is available. Otherwise (scripts,
the ``steepest`` command, tests) the figures are standalone: nothing is registered with pyplot,
no backend is chosen, and they render to files through Agg.

Examples
--------
>>> import steepest as st
>>> from steepest import plot
>>> problem = st.problems.get("rosenbrock")
>>> runs = {m: st.minimize(problem.f, problem.x0, method=m, lr=lr, max_iter=500)
...         for m, lr in [("momentum", 1e-3), ("adam", 0.05)]}
>>> plot.save(plot.trajectories(problem, runs), "paths.png")        # doctest: +SKIP
>>> plot.save(plot.convergence(runs, f_min=problem.f_min), "rates.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_bool, check_choice, check_int, check_real

if TYPE_CHECKING:  # matplotlib is optional and imported lazily
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "trajectories", "convergence", "loss_curves", "schedule", "confusion_matrix", "image_grid",
    "save", "close", "new_figure", "trajectory_grid", "convergence_grid", "graph", "backprop",
    "convergence_by_cost",
]

# One colour per method, fixed, so that a method keeps its colour across every figure of a report.
_METHOD_COLORS = {
    "gd": "#1f77b4", "gd+armijo": "#17becf", "gd+wolfe": "#9edae5", "momentum": "#ff7f0e",
    "nesterov": "#d62728", "adagrad": "#2ca02c", "rmsprop": "#9467bd", "adam": "#8c564b",
    "adamw": "#c49c94", "adadelta": "#e377c2", "adamax": "#7f7f7f", "nadam": "#bcbd22",
    "cg": "#2ca02c", "bfgs": "#9467bd", "lbfgs": "#c5b0d5", "newton": "#d62728",
}
_FALLBACK_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                    "#7f7f7f", "#bcbd22", "#17becf"]


# ------------------------------------------------------------------------------------ figures
def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("steepest.plot needs matplotlib: pip install 'steepest[plot]'") from None
    return matplotlib


def _no_backend_chosen(matplotlib: Any) -> bool:
    if os.environ.get("MPLBACKEND"):
        return False
    try:  # matplotlib >= 3.10 can say whether a backend was chosen without choosing one
        return matplotlib.get_backend(auto_select=False) is None
    except TypeError:
        from matplotlib import rcsetup
        return matplotlib.rcParams._get("backend") is rcsetup._auto_backend_sentinel


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _in_ipython() -> bool:
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _inline_backend(plt: Any) -> bool:
    """Whether figures are shown by Jupyter's inline backend (matplotlib-inline)."""
    return _in_ipython() and "inline" in str(plt.get_backend()).lower()


def _pyplot() -> Any:
    """pyplot, with Agg chosen first when nobody chose a backend and there is no display."""
    matplotlib = _matplotlib()
    if "matplotlib.pyplot" not in sys.modules and _no_backend_chosen(matplotlib) \
            and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def new_figure(ncols: int = 1, nrows: int = 1, figsize: tuple[float, float] | None = None
               ) -> tuple[Figure, list[Axes]]:
    """Make a figure with a grid of axes and constrained layout.

    Parameters
    ----------
    ncols, nrows : int
        Shape of the grid of axes.
    figsize : (float, float), optional
        Size in inches; defaults to 5.2 x 4.2 inches per axes.

    Returns
    -------
    (Figure, list of Axes)
        The axes in row-major order.
    """
    ncols = check_int("new_figure", "ncols", ncols, 1)
    nrows = check_int("new_figure", "nrows", nrows, 1)
    size = figsize or (5.2 * ncols, 4.2 * nrows)
    if "matplotlib.pyplot" in sys.modules or _in_ipython():
        plt = _pyplot()
        fig = plt.figure(figsize=size, layout="constrained")
        if _inline_backend(plt):
            # The notebook shows the returned figure; left open in pyplot, the inline backend
            # would show it a second time at the end of the cell.
            plt.close(fig)
    else:
        _matplotlib()
        from matplotlib.figure import Figure
        fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.ravel())


def _target(ax: Axes | None, ncols: int = 1, figsize: tuple[float, float] | None = None
            ) -> tuple[Figure, list[Axes]]:
    if ax is None:
        return new_figure(ncols, figsize=figsize)
    return ax.figure, [ax]


def save(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG by default) and release it.

    Parameters
    ----------
    fig : Figure
    path : str or path-like
        The directory must exist. Without a suffix, ``.png`` is appended.
    dpi : int, default 150
        Resolution of raster formats (sharp on a projector); the image is ``figsize * dpi``
        pixels. SVG and PDF are vector formats.

    Returns
    -------
    Path
        Where the file was written.
    """
    dpi = check_int("save", "dpi", dpi, 10, 1200)
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    fig.savefig(path, dpi=dpi)
    close(fig)
    return path


def close(fig: Figure) -> None:
    """Release ``fig``: pyplot keeps the figures it made alive until they are closed."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)


# ------------------------------------------------------------------------------------ results
def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a result or history: attribute or mapping key."""
    if isinstance(obj, Mapping) and name in obj:
        return obj[name]
    return getattr(obj, name, default)


def _labelled(results: Any) -> list[tuple[str, Any]]:
    """``(label, result)`` pairs from a result, a sequence of results or a mapping label -> result."""
    if isinstance(results, Mapping) and "path" not in results and "fvals" not in results:
        pairs = [(str(label), result) for label, result in results.items()]
    elif isinstance(results, Sequence) and not isinstance(results, str | bytes):
        pairs = [(str(_get(r, "method", f"run {i + 1}")), r) for i, r in enumerate(results)]
    else:
        pairs = [(str(_get(results, "method", "run")), results)]
    if not pairs:
        raise ValueError("plot: results is empty; pass a result, a list of results or a mapping "
                         "label -> result")
    return pairs


def _colors(labels: Sequence[str]) -> list[str]:
    """One colour per run: the method's own colour where it is free, else an unused one."""
    chosen: list[str] = []
    for label in labels:
        key = label.split(" ")[0].split(",")[0].lower()
        color = _METHOD_COLORS.get(key)
        if color is None or color in chosen:
            color = next((c for c in _FALLBACK_COLORS if c not in chosen),
                         _FALLBACK_COLORS[len(chosen) % 10])
        chosen.append(color)
    return chosen


def _integer_ticks() -> Any:
    """Ticks on whole numbers only: iterations and epochs are counts."""
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)


def _positive_or_nan(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros, negatives and infinities become gaps rather than spikes."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _diverged(result: Any) -> bool:
    fvals = np.asarray(_get(result, "fvals", []), dtype=np.float64)
    return bool(_get(result, "diverged", False)) or bool(fvals.size and not np.isfinite(fvals[-1]))


# ------------------------------------------------------------------------------------ contours
def _grid_values(problem: Any, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The objective on a grid: one vectorised call where the problem offers one."""
    grid = np.stack([X, Y])
    value = getattr(problem, "value", None)
    if callable(value):  # steepest problems evaluate (dim, *grid) arrays in NumPy directly
        try:
            Z = np.asarray(value(grid), dtype=np.float64)
            if Z.shape == X.shape:
                return Z
        except (ValueError, TypeError, IndexError):
            pass
    from .autodiff import Tensor, no_grad
    f = problem.f if hasattr(problem, "f") else problem
    with no_grad():
        flat = np.stack([X.ravel(), Y.ravel()], axis=1)
        values = [float(_as_values(f(Tensor(point)))) for point in flat]
    return np.asarray(values, dtype=np.float64).reshape(X.shape)


def _as_values(out: Any) -> Any:
    return out.data if hasattr(out, "data") else out


def _window(problem: Any, paths: list[np.ndarray], window: Any) -> tuple[tuple[float, float], ...]:
    """The plotting box: the problem's window, stretched to show every start and minimiser."""
    if window is None:
        window = _get(problem, "window")
    if window is None:
        points = np.concatenate([p for p in paths if len(p)] or [np.zeros((1, 2))])
        points = points[np.all(np.isfinite(points), axis=1)]
        low, high = points.min(axis=0), points.max(axis=0)
        window = ((low[0], high[0]), (low[1], high[1]))
    (x0, x1), (y0, y1) = (tuple(map(float, window[0])), tuple(map(float, window[1])))
    anchors = [p[0] for p in paths if len(p) and np.all(np.isfinite(p[0]))]
    anchors += [np.asarray(m, dtype=np.float64) for m in (_get(problem, "minimizers") or [])]
    for point in anchors:
        x0, x1 = min(x0, point[0]), max(x1, point[0])
        y0, y1 = min(y0, point[1]), max(y1, point[1])
    mx, my = 0.04 * (x1 - x0 or 1.0), 0.04 * (y1 - y0 or 1.0)
    return (x0 - mx, x1 + mx), (y0 - my, y1 + my)


def _contour_levels(Z: np.ndarray, f_min: float | None, log_levels: bool | None, n: int
                    ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Shifted values to contour and their levels: log-spaced when values span many decades."""
    finite = Z[np.isfinite(Z)]
    base = float(finite.min())
    if f_min is not None and math.isfinite(f_min):
        base = min(base, float(f_min))
    shifted = Z - base
    top = float(np.percentile(shifted[np.isfinite(shifted)], 99))
    floor = float(np.percentile(shifted[np.isfinite(shifted)], 0.5))
    if log_levels is None:  # log spacing pays when there is a minimum and values span decades
        log_levels = f_min is not None and math.isfinite(f_min) and top > 100 * max(floor, 1e-300)
    if log_levels:
        floor = max(floor, top * 1e-6, 1e-12)
        return shifted, np.geomspace(floor, top, n), True
    return shifted, np.linspace(float(np.nanmin(shifted)), top, n), False


def trajectories(problem: Any, results: Any, *, window: Any = None, levels: int = 24,
                 log_levels: bool | None = None, resolution: int = 220, max_markers: int = 60,
                 title: str | None = None, legend: str = "below",
                 ax: Axes | None = None, colorbar: bool = True) -> Figure:
    """The iterates of one or more runs drawn over the contour lines of a 2-D problem.

    Parameters
    ----------
    problem : Problem
        A two-dimensional problem from :mod:`steepest.problems` (anything with ``f``, and
        optionally ``window``, ``minimizers``, ``f_min``, ``name``).
    results : OptimizeResult, sequence of them, or mapping label -> OptimizeResult
        Runs of :func:`steepest.minimize`; each needs ``path`` of shape ``(n_iter + 1, 2)``.
        A sequence is labelled by each result's ``method``.
    window : ((xmin, xmax), (ymin, ymax)), optional
        The box to draw; defaults to ``problem.window`` stretched to include every start point.
    levels : int, default 24
        Number of contour lines.
    log_levels : bool, optional
        Space the contour lines geometrically in :math:`f - \\min f` (what Rosenbrock needs to
        show its valley). By default chosen when the values span more than two decades.
    resolution : int, default 220
        Grid points per axis.
    max_markers : int, default 60
        Iterates marked with a dot per run; longer paths are drawn as lines with evenly spaced
        markers.
    title : str, optional
    legend : {"below", "figure", "none"}, default "below"
        Where the legend goes: under the axes, under the whole figure (for a figure whose
        panels show the same runs), or nowhere.
    ax : Axes, optional
        Draw into this axes instead of a new figure.
    colorbar : bool, default True
        The colour bar of the contour levels.

    Returns
    -------
    Figure
    """
    check_choice("trajectories", "legend", legend, ("below", "figure", "none"))
    levels = check_int("trajectories", "levels", levels, 2, 200)
    resolution = check_int("trajectories", "resolution", resolution, 10, 2000)
    max_markers = check_int("trajectories", "max_markers", max_markers, 0)
    if log_levels is not None:
        check_bool("trajectories", "log_levels", log_levels)
    dim = _get(problem, "dim", 2)
    if dim != 2:
        raise ValueError(f"trajectories: needs a 2-D problem, got {_get(problem, 'name', 'one')} "
                         f"with dim={dim}; use convergence() for higher dimensions")
    runs = _labelled(results)
    paths = [np.asarray(_get(r, "path"), dtype=np.float64).reshape(-1, 2) for _, r in runs]
    (x0, x1), (y0, y1) = _window(problem, paths, window)
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    f_min = _get(problem, "f_min")
    Z = _grid_values(problem, X, Y)
    fig, (axis,) = _target(ax, figsize=(6.4, 5.2))
    if np.isfinite(Z).any():
        _draw_contours(fig, axis, X, Y, Z, f_min, log_levels, levels, colorbar)
    else:  # a start such as (1e200, 1e200): f overflows on the whole window
        axis.text(0.5, 0.5, "f is not finite anywhere in this window\n(it overflows): no "
                  "contour lines", transform=axis.transAxes, ha="center", va="center",
                  color="0.35", fontsize="small")
    colors = _colors([label for label, _ in runs])
    for (label, result), path, color in zip(runs, paths, colors, strict=True):
        _draw_path(axis, path, label, result, color, max_markers)
    _mark_minimizers(axis, problem)
    axis.set_xlim(x0, x1)
    axis.set_ylim(y0, y1)
    if 1 / 3 <= (y1 - y0) / (x1 - x0) <= 3:  # equal units show steps perpendicular to contours
        axis.set_aspect("equal", adjustable="box")
    axis.set_xlabel("$x_1$")
    axis.set_ylabel("$x_2$")
    axis.set_title(title or f"Iterates on {_get(problem, 'name', 'the problem')}")
    entries = len(axis.get_legend_handles_labels()[0])
    if legend == "figure":  # one legend under every panel, for figures that share the runs
        fig.legend(*axis.get_legend_handles_labels(), loc="outside lower center",
                   ncols=min(4, entries), fontsize="small", frameon=False)
    elif legend == "below":
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2 if entries > 3
                    else entries, fontsize="small", frameon=False)
    return fig


def _draw_contours(fig: Figure, axis: Axes, X: np.ndarray, Y: np.ndarray, Z: np.ndarray,
                   f_min: float | None, log_levels: bool | None, levels: int,
                   colorbar: bool) -> None:
    """Contour lines of f (values Z on the grid X, Y, some finite), with their colour bar."""
    shifted, contour_levels, logarithmic = _contour_levels(Z, f_min, log_levels, levels)
    norm = None
    if logarithmic:
        from matplotlib.colors import LogNorm
        norm = LogNorm(vmin=contour_levels[0], vmax=contour_levels[-1])
    contours = axis.contour(X, Y, np.where(np.isfinite(shifted), shifted, np.nan),
                            levels=contour_levels, cmap="viridis", norm=norm, linewidths=0.8,
                            alpha=0.75)
    if colorbar:
        _contour_colorbar(fig, axis, contours, contour_levels, logarithmic)


def _contour_colorbar(fig: Figure, axis: Axes, contours: Any, contour_levels: np.ndarray,
                      logarithmic: bool) -> None:
    # The colour bar hangs off the axes box itself, so that it stays next to the plot when an
    # equal aspect ratio narrows the box.
    bar = fig.colorbar(contours, cax=axis.inset_axes([1.03, 0.0, 0.035, 1.0]))
    if logarithmic:  # ticks at whole decades read better than the levels themselves
        low, high = math.log10(contour_levels[0]), math.log10(contour_levels[-1])
        bar.set_ticks([10.0 ** k for k in range(math.ceil(low), math.floor(high) + 1)])
        from matplotlib.ticker import LogFormatterSciNotation
        bar.ax.yaxis.set_major_formatter(LogFormatterSciNotation())
    else:
        from matplotlib.ticker import MaxNLocator
        ticks = MaxNLocator(6).tick_values(contour_levels[0], contour_levels[-1])
        bar.set_ticks(ticks[(ticks >= contour_levels[0]) & (ticks <= contour_levels[-1])])
    bar.set_label("f(x) − min f" + ("  (log-spaced levels)" if logarithmic else ""))


def _draw_path(axis: Axes, path: np.ndarray, label: str, result: Any, color: str,
               max_markers: int) -> None:
    finite = np.all(np.isfinite(path), axis=1)
    shown = path[: int(np.argmin(finite)) if not finite.all() else len(path)]
    nit = _get(result, "nit", len(path) - 1)
    suffix = " (diverged)" if _diverged(result) else ""
    every = max(1, math.ceil(len(shown) / max_markers)) if max_markers else None
    axis.plot(shown[:, 0], shown[:, 1], "-", color=color, lw=1.3, alpha=0.9, marker="o" if every
              else None, ms=2.6, markevery=every, label=f"{label}: {nit} it.{suffix}")
    if len(shown):
        axis.plot(*shown[0], "s", color=color, ms=6, mec="black", mew=0.6)
        axis.plot(*shown[-1], "D", color=color, ms=6, mec="black", mew=0.6)


def _mark_minimizers(axis: Axes, problem: Any) -> None:
    minimizers = [np.asarray(m, dtype=np.float64) for m in (_get(problem, "minimizers") or [])]
    for k, point in enumerate(minimizers):
        axis.plot(point[0], point[1], "*", color="gold", ms=15, mec="black", mew=0.8, zorder=5,
                  label="minimiser" if k == 0 else None)
    for k, point in enumerate(_get(problem, "saddle_points") or []):
        axis.plot(point[0], point[1], "X", color="red", ms=11, mec="black", mew=0.8, zorder=5,
                  label="saddle point" if k == 0 else None)
    axis.plot([], [], "s", color="gray", mec="black", label="start")
    axis.plot([], [], "D", color="gray", mec="black", label="last iterate")


# ------------------------------------------------------------------------------------ rates
_QUANTITIES = ("error", "grad_norm", "fun")


def _f_star(runs: list[tuple[str, Any]], f_min: float | None, problem: Any) -> tuple[float, str]:
    if f_min is None and problem is not None:
        f_min = _get(problem, "f_min")
    if f_min is not None and math.isfinite(float(f_min)):
        return float(f_min), "f*"
    seen = [np.nanmin(np.where(np.isfinite(v), v, np.nan)) for v in
            (np.asarray(_get(r, "fvals", [np.nan]), dtype=np.float64) for _, r in runs)
            if np.isfinite(v).any()]
    if not seen:
        raise ValueError("convergence: no finite function value in any run")
    return float(min(seen)), "lowest f seen"


def convergence(results: Any, *, f_min: float | None = None, problem: Any = None,
                quantity: str | None = None, title: str | None = None, legend: bool = True,
                ax: Axes | None = None) -> Figure:
    """Convergence curves on a log axis: :math:`f(x_n) - f^*` and :math:`\\|\\nabla f(x_n)\\|`.

    A straight line on these axes is linear convergence, :math:`e_n \\approx C \\rho^n`, with the
    slope giving the rate :math:`\\rho`; a curve that keeps bending flatter is sublinear.

    Parameters
    ----------
    results : OptimizeResult, sequence of them, or mapping label -> OptimizeResult
        Runs of :func:`steepest.minimize` (``fvals`` and ``grad_norms`` are used).
    f_min : float, optional
        The optimal value :math:`f^*`; defaults to ``problem.f_min``, else the lowest value
        any run reached (said so on the axis).
    problem : Problem, optional
        Source of ``f_min`` and of the title.
    quantity : {"error", "grad_norm", "fun"}, optional
        Draw only this curve: the error :math:`f(x_n) - f^*`, the gradient norm, or :math:`f`
        itself (linear axis). By default, without ``ax``, two panels: error and gradient norm.
    title : str, optional
    legend : bool, default True
        Label the curves in a legend on each panel.
    ax : Axes, optional
        Draw one quantity into this axes (the error unless ``quantity`` says otherwise).

    Returns
    -------
    Figure
    """
    if quantity is not None:
        check_choice("convergence", "quantity", quantity, _QUANTITIES)
    if f_min is not None:
        check_real("convergence", "f_min", f_min)
    runs = _labelled(results)
    quantities = [quantity] if quantity else (["error"] if ax is not None else
                                              ["error", "grad_norm"])
    height = 4.9 if legend and len(quantities) > 1 else 4.4  # room for a legend underneath
    fig, axes = _target(ax, ncols=len(quantities), figsize=(5.6 * len(quantities), height))
    check_bool("convergence", "legend", legend)
    shared = legend and len(axes) > 1  # one legend under both panels, covering no curve
    for axis, what in zip(axes, quantities, strict=True):
        _convergence_panel(axis, runs, what, f_min, problem, legend and not shared)
    if shared:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncols=min(5, len(runs)), fontsize="small", frameon=False)
    name = _get(problem, "name") if problem is not None else None
    heading = title or ("Convergence" + (f" on {name}" if name else ""))
    if len(axes) > 1:
        fig.suptitle(heading)
    else:
        axes[0].set_title(heading)
    return fig


def _convergence_panel(axis: Axes, runs: list[tuple[str, Any]], what: str, f_min: float | None,
                       problem: Any, legend: bool) -> None:
    if what == "error":
        f_star, source = _f_star(runs, f_min, problem)
    curves = []
    for _, result in runs:
        if what == "grad_norm":
            curves.append(_positive_or_nan(_get(result, "grad_norms", [])))
        elif what == "error":
            curves.append(_positive_or_nan(np.asarray(_get(result, "fvals", []), float) - f_star))
        else:
            curves.append(np.asarray(_get(result, "fvals", []), dtype=np.float64))
    starts = [abs(float(c[0])) for c in curves if len(c) and np.isfinite(c[0])]
    # A diverging run would stretch a log axis over hundreds of decades: it leaves the top of
    # the plot instead, a million times above the highest start.
    ceiling = 1e6 * max(starts) if what != "fun" and starts and max(starts) > 0 else None
    colors = _colors([label for label, _ in runs])
    for (label, result), values, color in zip(runs, curves, colors, strict=True):
        shown = values if ceiling is None else np.minimum(values, 100 * ceiling)
        suffix = " (diverged)" if _diverged(result) else ""
        axis.plot(np.arange(len(values)), shown, color=color, lw=1.5, label=label + suffix)
    axis.set_xlabel("iteration n")
    axis.xaxis.set_major_locator(_integer_ticks())
    if what == "error":
        axis.set_yscale("log")
        axis.set_ylabel(f"f(xₙ) − {source}" + (f"   ({source} = {f_star:.4g})"
                                                 if source != "f*" else ""))
    elif what == "grad_norm":
        axis.set_yscale("log")
        axis.set_ylabel("‖∇f(xₙ)‖")
    else:
        axis.set_ylabel("f(xₙ)")
    if ceiling is not None and any(np.nanmax(c, initial=0.0) > ceiling for c in curves):
        axis.set_ylim(top=ceiling)
    if not any(np.isfinite(c).any() for c in curves):  # f(x0) overflowed: nothing to draw
        axis.text(0.5, 0.5, "no finite values to draw\n(f or its gradient is not finite "
                  "from the start)", transform=axis.transAxes, ha="center", va="center",
                  color="0.35", fontsize="small")
        axis.set_xlim(0, max(1, max((len(c) - 1 for c in curves), default=1)))
    axis.grid(True, which="major", alpha=0.3)
    if legend:
        axis.legend(fontsize="small", loc="best", framealpha=0.85)


# ------------------------------------------------------------------------------------ training
def _history_dict(history: Any) -> dict[str, list[float]]:
    """Per-epoch lists of a History (attributes or mapping, or ``history.history``)."""
    source = _get(history, "history", history)
    if not isinstance(source, Mapping):
        source = {k: v for k, v in vars(source).items() if not k.startswith("_")}
    return {k: list(v) for k, v in source.items()
            if isinstance(v, Sequence | np.ndarray) and not isinstance(v, str)}


def loss_curves(history: Any, *, title: str | None = None, log_loss: bool | None = None) -> Figure:
    """Training and validation loss per epoch and, when recorded, every metric.

    Parameters
    ----------
    history : History or mapping
        What :func:`steepest.train.fit` returns: per-epoch lists such as ``loss``, ``val_loss``,
        ``accuracy``, ``val_accuracy``.
    title : str, optional
    log_loss : bool, optional
        Log axis for the loss; by default when the loss falls by more than a factor of 20.

    Returns
    -------
    Figure
        One panel for the loss and one per metric (train and validation on the same panel).
    """
    curves = _history_dict(history)
    if not curves.get("loss"):
        raise ValueError("loss_curves: the history has no 'loss' values; keys are "
                         f"{sorted(curves)}")
    skip = {"loss", "val_loss", "lr", "time", "epoch", "epochs"}
    metrics = [k for k in curves if k not in skip and not k.startswith("val_")]
    metrics += [k[4:] for k in curves if k.startswith("val_") and k != "val_loss"
                and k[4:] not in metrics]
    fig, axes = new_figure(1 + len(metrics), figsize=(5.2 * (1 + len(metrics)), 4.2))
    _epoch_panel(axes[0], curves, "loss", "loss (mean per example)")
    losses = np.asarray(curves["loss"] + curves.get("val_loss", []), dtype=np.float64)
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if log_loss is None:
        log_loss = losses.size > 1 and losses.max() > 20 * losses.min()
    if log_loss:
        axes[0].set_yscale("log")
    for axis, metric in zip(axes[1:], metrics, strict=True):
        _epoch_panel(axis, curves, metric, metric.replace("_", " "))
        values = np.asarray(curves.get(metric, []) + curves.get("val_" + metric, []), float)
        if metric.endswith("accuracy") and values.size and np.nanmax(values) <= 1.0:
            from matplotlib.ticker import PercentFormatter
            span = float(np.nanmax(values) - np.nanmin(values))
            axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if span > 0.05 else None))
    best = _best_epoch(curves)
    if best is not None:
        for axis in axes:
            axis.axvline(best, color="gray", ls=":", lw=1)
        axes[0].plot([], [], color="gray", ls=":", label=f"lowest validation loss (epoch {best})")
        axes[0].legend(fontsize="small")
    fig.suptitle(title or "Training curves")
    return fig


def _epoch_panel(axis: Axes, curves: dict[str, list[float]], key: str, ylabel: str) -> None:
    for name, style, label in ((key, "-", "training"), ("val_" + key, "--", "validation")):
        values = curves.get(name)
        if values:
            axis.plot(np.arange(1, len(values) + 1), values, style, marker="o", ms=2.5, lw=1.5,
                      label=label)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(_integer_ticks())
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small")


def _best_epoch(curves: dict[str, list[float]]) -> int | None:
    val = np.asarray(curves.get("val_loss") or [], dtype=np.float64)
    if not val.size or not np.isfinite(val).any():
        return None
    return int(np.nanargmin(np.where(np.isfinite(val), val, np.nan))) + 1


def schedule(schedule: Callable[[int], float], steps: int = 1000, *, title: str | None = None,
             ax: Axes | None = None) -> Figure:
    """A learning-rate schedule :math:`\\alpha_t` and the partial sums behind Robbins–Monro.

    Stochastic approximation converges when :math:`\\sum_t \\alpha_t = \\infty` (the steps can
    travel any distance) and :math:`\\sum_t \\alpha_t^2 < \\infty` (the noise they add stays
    bounded). The second panel shows both partial sums on log-log axes: the first should keep
    growing, the second level off.

    Parameters
    ----------
    schedule : callable
        ``t -> learning rate`` for ``t = 1, 2, ...`` (a :mod:`steepest.schedules` object or any
        function).
    steps : int, default 1000
        Number of updates to draw.
    title : str, optional
    ax : Axes, optional
        Draw only the learning rate into this axes.

    Returns
    -------
    Figure
    """
    if not callable(schedule):
        raise TypeError(f"schedule: schedule must be callable t -> lr, got {schedule!r}")
    steps = check_int("schedule", "steps", steps, 2, 10_000_000)
    t = np.arange(1, steps + 1)
    lrs = np.array([float(schedule(int(k))) for k in t], dtype=np.float64)
    fig, axes = _target(ax, ncols=2, figsize=(11.0, 4.2))
    axes[0].plot(t, lrs, lw=1.6, color="#1f77b4")
    positive = lrs[np.isfinite(lrs) & (lrs > 0)]
    if positive.size and positive.max() > 30 * positive.min():
        axes[0].set_yscale("log")
    axes[0].set_xlabel("update t")
    axes[0].xaxis.set_major_locator(_integer_ticks())
    axes[0].set_ylabel("learning rate αₜ")
    axes[0].grid(True, alpha=0.3)
    verdict = _robbins_monro(schedule)
    name = repr(schedule)
    if name.startswith("<"):  # a plain function has no readable repr
        name = f"learning rate {getattr(schedule, '__name__', 'schedule')}(t)"
    heading = title or name + (f"   (Robbins–Monro: {verdict})" if verdict else "")
    if len(axes) == 1:
        axes[0].set_title(heading)
        return fig
    axes[1].loglog(t, np.cumsum(lrs), lw=1.6, label="Σ αₜ  (should diverge)")
    axes[1].loglog(t, np.cumsum(lrs ** 2), lw=1.6, ls="--", label="Σ αₜ²  (should converge)")
    axes[1].set_xlabel("update t")
    axes[1].set_ylabel("partial sum up to t")
    axes[1].grid(True, which="both", alpha=0.25)
    axes[1].legend(fontsize="small")
    fig.suptitle(heading)
    return fig


def _robbins_monro(schedule: Any) -> str | None:
    check = getattr(schedule, "robbins_monro", None)
    if not callable(check):
        return None
    verdict = check()
    return {True: "satisfied", False: "not satisfied", None: "cannot tell"}.get(verdict)


def confusion_matrix(y_true: Any, y_pred: Any, *, class_names: Sequence[str] | None = None,
                     normalize: bool = False, title: str | None = None,
                     ax: Axes | None = None) -> Figure:
    """The confusion matrix of a classifier: row *i*, column *j* counts examples of class *i*
    predicted as class *j*; the diagonal holds the correct predictions.

    Parameters
    ----------
    y_true, y_pred : array_like of int
        True and predicted class indices ``0 .. n_classes - 1``, of the same length.
    class_names : sequence of str, optional
        Tick labels; their number fixes the number of classes.
    normalize : bool, default False
        Show each row as fractions of the true class instead of counts.
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    matrix = _confusion_counts(y_true, y_pred, None if class_names is None else len(class_names))
    check_bool("confusion_matrix", "normalize", normalize)
    n = matrix.shape[0]
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    side = min(8.0, 2.5 + 0.45 * n)
    fig, (axis,) = _target(ax, figsize=(side + 1.0, side))
    image = axis.imshow(shown, cmap="Blues", vmin=0)
    bar = fig.colorbar(image, ax=axis, shrink=0.8)
    bar.set_label("fraction of the true class" if normalize else "number of examples")
    if n <= 30:
        threshold = shown.max() / 2
        for i, j in np.ndindex(n, n):
            if matrix[i, j]:
                text = f"{shown[i, j]:.2f}" if normalize else str(int(matrix[i, j]))
                axis.text(j, i, text, ha="center", va="center", fontsize="small",
                          color="white" if shown[i, j] > threshold else "black")
    names = list(class_names) if class_names is not None else [str(k) for k in range(n)]
    axis.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 3 else 0)
    axis.set_yticks(range(n), names)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axis.set_title(title or f"Confusion matrix (accuracy {accuracy:.1%} of {matrix.sum()})")
    return fig


def _confusion_counts(y_true: Any, y_pred: Any, n_classes: int | None) -> np.ndarray:
    true = np.asarray(y_true).ravel()
    pred = np.asarray(y_pred).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"confusion_matrix: y_true has {true.size} entries but y_pred has "
                         f"{pred.size}")
    for name, labels in (("y_true", true), ("y_pred", pred)):
        if labels.size and (labels.dtype.kind not in "iub" or labels.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold class indices 0, 1, ...; got "
                             f"values like {labels[:3].tolist()}")
    n = n_classes or int(max(true.max(initial=0), pred.max(initial=0)) + 1)
    if true.size and max(true.max(), pred.max()) >= n:
        raise ValueError(f"confusion_matrix: class index {max(true.max(), pred.max())} but only "
                         f"{n} class names")
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)
    return matrix


def image_grid(images: Any, titles: Sequence[str] | None = None, *,
               image_shape: tuple[int, int] | None = None, ncols: int = 8,
               title: str | None = None, cmap: str = "gray_r") -> Figure:
    """Small images in a grid, each with an optional caption (e.g. misclassified digits).

    Parameters
    ----------
    images : array_like, shape (n, h, w) or (n, h * w)
        Grey-level images; flat rows are reshaped to ``image_shape`` (a square by default).
    titles : sequence of str, optional
        One caption per image, such as ``"true 3, predicted 8"``.
    image_shape : (int, int), optional
    ncols : int, default 8
    title : str, optional
    cmap : str, default "gray_r"
        Dark ink on a light background.

    Returns
    -------
    Figure
    """
    ncols = check_int("image_grid", "ncols", ncols, 1)
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        if image_shape is None:
            side = math.isqrt(images.shape[1])
            if side * side != images.shape[1]:
                raise ValueError(f"image_grid: rows of {images.shape[1]} pixels are not square; "
                                 "pass image_shape=(height, width)")
            image_shape = (side, side)
        images = images.reshape(len(images), *image_shape)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"image_grid: images must have shape (n, h, w) or (n, h*w) with n >= 1, "
                         f"got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"image_grid: {len(titles)} titles for {len(images)} images")
    cols = min(ncols, len(images))
    rows = math.ceil(len(images) / cols)
    fig, axes = new_figure(cols, rows, figsize=(1.45 * cols, 1.65 * rows + 0.4))
    for k, axis in enumerate(axes):
        axis.set_axis_off()
        if k < len(images):
            axis.imshow(images[k], cmap=cmap, interpolation="nearest")
            if titles is not None:
                axis.set_title(titles[k], fontsize="x-small")
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------ small multiples
def _grid_shape(n: int, ncols: int) -> tuple[int, int]:
    cols = min(ncols, n)
    return cols, math.ceil(n / cols)


def trajectory_grid(problem: Any, results: Any, *, ncols: int = 4, window: Any = None,
                    max_markers: int = 40, title: str | None = None) -> Figure:
    """Small multiples: one panel per run over the same contour lines, on shared axes.

    Eight paths overlaid on one contour plot hide each other; side by side on the same window
    each can be read and compared.

    Parameters
    ----------
    problem : Problem
        A two-dimensional problem.
    results : mapping label -> OptimizeResult (or what :func:`trajectories` takes)
    ncols : int, default 4
    window : ((xmin, xmax), (ymin, ymax)), optional
        The common window; by default the problem's, stretched to every start.
    max_markers : int, default 40
    title : str, optional

    Returns
    -------
    Figure
    """
    ncols = check_int("trajectory_grid", "ncols", ncols, 1)
    runs = _labelled(results)
    paths = [np.asarray(_get(r, "path"), dtype=np.float64).reshape(-1, 2) for _, r in runs]
    box = _window(problem, paths, window)
    cols, rows = _grid_shape(len(runs), ncols)
    fig, axes = new_figure(cols, rows, figsize=(3.6 * cols, 3.4 * rows + 0.9))
    colors = _colors([label for label, _ in runs])
    for k, axis in enumerate(axes):
        if k >= len(runs):
            axis.set_axis_off()
            continue
        label, result = runs[k]
        trajectories(problem, {label: result}, ax=axis, window=box, max_markers=max_markers,
                     legend="none", colorbar=False, resolution=160,
                     title=f"{label}\n{_get(result, 'nit', len(paths[k]) - 1)} iterations"
                           + (" (diverged)" if _diverged(result) else ""))
        axis.title.set_fontsize("small")
        for line in axis.get_lines()[:3]:
            line.set_color(colors[k])
        if k % cols:
            axis.set_ylabel("")
        if k < len(runs) - cols:
            axis.set_xlabel("")
    fig.suptitle(title or f"Iterates on {_get(problem, 'name', 'the problem')}, one method "
                          "per panel (same axes)")
    return fig


def convergence_grid(results: Any, *, problem: Any = None, f_min: float | None = None,
                     ncols: int = 4, title: str | None = None) -> Figure:
    """Small multiples of :math:`f(x_n) - f^*`: one panel per run, on shared log axes, each
    with the other runs in light grey behind it for comparison.

    Parameters
    ----------
    results : mapping label -> OptimizeResult
    problem : Problem, optional
        Supplies ``f_min``.
    f_min : float, optional
    ncols : int, default 4
    title : str, optional

    Returns
    -------
    Figure
    """
    ncols = check_int("convergence_grid", "ncols", ncols, 1)
    runs = _labelled(results)
    f_star, source = _f_star(runs, f_min, problem)
    curves = [_positive_or_nan(np.asarray(_get(r, "fvals", []), float) - f_star) for _, r in runs]
    finite = np.concatenate([c[np.isfinite(c)] for c in curves] or [np.ones(1)])
    top = 1e3 * float(max((abs(c[0]) for c in curves if len(c) and np.isfinite(c[0])),
                          default=1.0))
    low = float(finite.min()) if finite.size else 1e-12
    cols, rows = _grid_shape(len(runs), ncols)
    fig, axes = new_figure(cols, rows, figsize=(3.6 * cols, 2.8 * rows + 0.5))
    colors = _colors([label for label, _ in runs])
    longest = max(len(c) for c in curves)
    for k, axis in enumerate(axes):
        if k >= len(runs):
            axis.set_axis_off()
            continue
        for j, values in enumerate(curves):
            if j != k:
                axis.plot(np.arange(len(values)), np.minimum(values, top), color="#c8cdd2",
                          lw=0.9)
        axis.plot(np.arange(len(curves[k])), np.minimum(curves[k], top), color=colors[k], lw=1.8)
        axis.set_yscale("log")
        axis.set_ylim(max(low / 3, 1e-300), top)
        axis.set_xlim(0, longest)
        axis.grid(True, alpha=0.3)
        axis.set_title(runs[k][0] + (" (diverged)" if _diverged(runs[k][1]) else ""),
                       fontsize="small")
        if k % cols == 0:
            axis.set_ylabel(f"f(xₙ) − {source}")
        if k >= len(runs) - cols:
            axis.set_xlabel("iteration n")
    fig.suptitle(title or "f(xₙ) − f* per method (grey: the other methods)")
    return fig


# ------------------------------------------------------------------------------------ graphs
def _layered(nodes: list[Any], edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Positions of a DAG's nodes: x the longest path from an input, y ordered by the mean
    position of each node's inputs (one barycentre sweep), centred per layer."""
    depth = {node.id: 0 for node in nodes}
    for _ in range(len(nodes)):
        changed = False
        for source, target in edges:
            if depth[target] < depth[source] + 1:
                depth[target] = depth[source] + 1
                changed = True
        if not changed:
            break
    targets: dict[str, list[str]] = {}
    for source, target in edges:
        targets.setdefault(source, []).append(target)
    has_inputs = {target for _, target in edges}
    for node in nodes:  # an input sits just before its first use, not at the far left
        if node.id not in has_inputs and node.id in targets:
            depth[node.id] = min(depth[t] for t in targets[node.id]) - 1
    layers: dict[int, list[str]] = {}
    for node in nodes:
        layers.setdefault(depth[node.id], []).append(node.id)
    inputs: dict[str, list[str]] = {}
    for source, target in edges:
        inputs.setdefault(target, []).append(source)
    y: dict[str, float] = {}
    for d in sorted(layers):
        ids = layers[d]
        if d:
            ids.sort(key=lambda i: np.mean([y[s] for s in inputs.get(i, [])]) if inputs.get(i)
                     else 0.0)
        for k, i in enumerate(ids):
            y[i] = k - (len(ids) - 1) / 2
    return {i: (float(depth[i]), -y[i]) for i in depth}


def graph(tensor: Any, names: Mapping[str, Any] | None = None, *, engine: str = "auto",
          max_nodes: int = 60, title: str | None = None) -> Figure:
    """The computational graph that produced ``tensor``: inputs on the left, the output on the
    right; values and (after backward) gradients of small tensors on the edges they leave.

    Parameters
    ----------
    tensor : Tensor
    names : mapping str -> Tensor, optional
        Labels of leaves, e.g. ``{"x": x, "w": w}``.
    engine : {"auto", "matplotlib", "dot"}, default "auto"
        ``"matplotlib"`` lays the graph out here (no system package needed); ``"dot"`` renders
        :func:`steepest.autodiff.to_dot` with Graphviz; ``"auto"`` uses Graphviz when its
        ``dot`` program is installed.
    max_nodes : int, default 60
        Larger graphs are summarised (see :func:`steepest.autodiff.to_dot`).
    title : str, optional

    Returns
    -------
    Figure
    """
    import shutil
    check_choice("graph", "engine", engine, ("auto", "matplotlib", "dot"))
    if engine == "dot" or (engine == "auto" and shutil.which("dot")):
        return _graph_with_dot(tensor, names, max_nodes, title)
    from .autodiff.graph import structure
    g = structure(tensor, names, max_nodes)
    pos = _layered(g.nodes, g.edges)
    width = max(x for x, _ in pos.values()) + 1
    height = max(1.0, max(y for _, y in pos.values()) - min(y for _, y in pos.values()) + 1)
    fig, (axis,) = new_figure(figsize=(min(14.0, 1.9 * width + 0.6), min(10.0, 1.1 * height + 1.2)))
    colors = {"op": "#ffffff", "leaf": "#dbeafe", "constant": "#f1f5f9", "summary": "#fef3c7"}
    by_id = {node.id: node for node in g.nodes}
    for source, target in g.edges:
        (x0, y0), (x1, y1) = pos[source], pos[target]
        axis.annotate("", (x1 - 0.22, y1), (x0 + 0.22, y0),
                      arrowprops={"arrowstyle": "-|>", "color": "#64748b", "lw": 1.0,
                                  "shrinkA": 0, "shrinkB": 0})
        node = by_id[source]
        parts = [p for p in (node.value, f"grad {node.grad}" if node.grad else None) if p]
        if parts:
            axis.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, "\n".join(parts), ha="center",
                      va="bottom", fontsize=8.5, color="#0f4c81")
    for node in g.nodes:
        x, y = pos[node.id]
        text = node.label if node.kind == "summary" else f"{node.label}\n{node.shape}"
        if node.id == "n0" and node.value is not None:
            text += f"\n= {node.value}"
        axis.text(x, y, text, ha="center", va="center", fontsize=10,
                  bbox={"boxstyle": "round,pad=0.35" if node.kind == "op" else "square,pad=0.35",
                        "fc": colors[node.kind], "ec": "#334155", "lw": 0.8})
    axis.set_xlim(-0.6, width - 0.4)
    ys = [y for _, y in pos.values()]
    axis.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    axis.set_axis_off()
    axis.set_title(title or "Computational graph (data flows left to right)")
    return fig


def _graph_with_dot(tensor: Any, names: Any, max_nodes: int, title: str | None) -> Figure:
    import io
    import subprocess

    from matplotlib.image import imread

    from .autodiff.graph import to_dot
    done = subprocess.run(["dot", "-Tpng", "-Gdpi=150"], input=to_dot(tensor, names,
                          max_nodes=max_nodes).encode(), capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"graph: Graphviz's dot failed: {done.stderr.decode()[:300]}")
    image = imread(io.BytesIO(done.stdout), format="png")
    h, w = image.shape[:2]
    fig, (axis,) = new_figure(figsize=(min(16.0, w / 150 + 0.3), min(12.0, h / 150 + 0.6)))
    axis.imshow(image, interpolation="lanczos")
    axis.set_axis_off()
    axis.set_title(title or "Computational graph (data flows left to right)")
    return fig


# ------------------------------------------------------------------------------------ backprop
def backprop(trace: Any, *, example: int | None = None, title: str | None = None) -> Figure:
    """A backpropagation trace (:func:`steepest.nn.backprop_trace`) drawn as the network.

    Nodes are coloured by their activation (the batch mean, or one ``example``), edges by
    :math:`dW` (colour the sign, width the size), and each node of a layer carries its
    :math:`\\delta = \\partial L / \\partial z` under it.

    Parameters
    ----------
    trace : BackpropTrace
    example : int, optional
        Show this row of the batch instead of the batch mean.
    title : str, optional

    Returns
    -------
    Figure
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    layers = trace.layers
    if example is not None:
        example = check_int("backprop", "example", example, 0, len(layers[0].a_in) - 1)

    def row(array: np.ndarray) -> np.ndarray:
        return array[example] if example is not None else array.mean(axis=0)

    columns = [row(layers[0].a_in)] + [row(layer.a) for layer in layers]
    deltas = [None] + [row(layer.delta) for layer in layers]
    tallest = max(len(c) for c in columns)
    fig, (axis,) = new_figure(figsize=(2.6 * len(columns) + 1.6, max(3.6, 0.9 * tallest + 1.8)))
    ys = [np.linspace(-(len(c) - 1) / 2, (len(c) - 1) / 2, len(c))[::-1] for c in columns]
    big = max(float(np.max(np.abs(layer.dW))) for layer in layers) or 1.0
    edge_map, node_map = colormaps["PuOr"], colormaps["RdBu_r"]
    edge_norm = Normalize(-big, big)
    span = max(float(np.max(np.abs(c))) for c in columns) or 1.0
    node_norm = Normalize(-span, span)
    for k, layer in enumerate(layers):
        for i, y_out in enumerate(ys[k + 1]):
            for j, y_in in enumerate(ys[k]):
                w = layer.dW[i, j]
                axis.plot([k, k + 1], [y_in, y_out], color=edge_map(edge_norm(w)),
                          lw=0.6 + 4.0 * abs(w) / big, zorder=1, solid_capstyle="round")
    labelled = tallest <= 12
    for k, (values, y) in enumerate(zip(columns, ys, strict=True)):
        axis.scatter(np.full(len(y), k), y, s=620, c=node_map(node_norm(values)),
                     edgecolors="#1e293b", linewidths=1.0, zorder=3)
        if labelled:
            for v, yy in zip(values, y, strict=True):
                axis.text(k, yy, f"{v:.2f}", ha="center", va="center", fontsize=7.5, zorder=4,
                          color="white" if abs(node_norm(v) - 0.5) > 0.3 else "black")
            if deltas[k] is not None:
                for d, yy in zip(deltas[k], y, strict=True):
                    axis.text(k, yy - 0.36, f"δ={d:+.3g}", ha="center", va="top", fontsize=7,
                              color="#7c2d12", zorder=4)
        name = "input a0 = X" if k == 0 else (f"layer {k}: {layers[k - 1].activation}"
                                              f"\nW{k} {layers[k - 1].W.shape}")
        axis.text(k, max(ys[k]) + 0.75, name, ha="center", va="bottom", fontsize=8.5)
    axis.set_xlim(-0.6, len(columns) - 0.4)
    axis.set_ylim(-tallest / 2 - 0.6, tallest / 2 + 1.1)
    axis.set_axis_off()
    for mappable, label in ((ScalarMappable(edge_norm, edge_map), "edge: dW = ∂L/∂W"),
                            (ScalarMappable(node_norm, node_map), "node: activation a")):
        bar = fig.colorbar(mappable, ax=axis, shrink=0.6, pad=0.01, fraction=0.04)
        bar.set_label(label, fontsize="small")
    which = f"example {example}" if example is not None else "batch mean"
    axis.set_title(title or f"Backprop: activation a (node), δ (under it), dW (edge); "
                            f"{which}, loss {trace.loss:.4g}", fontsize="medium")
    return fig


def convergence_by_cost(runs: Mapping[str, tuple[Any, Mapping[str, Any]]]) -> Figure:
    """``f - f*`` per iteration (left) and per evaluation of ``f`` (right), one row per problem,
    one line per method, on log scales.

    The right column is where a line search's cost shows: CG and BFGS spend a few evaluations
    per iteration. Newton's Hessians are not counted there (one per iteration).

    Parameters
    ----------
    runs : mapping
        Problem title -> (problem, {method: OptimizeResult}), as made by
        :func:`steepest.experiments.second_order_runs`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not runs:
        raise ValueError("convergence_by_cost: runs is empty")
    fig, axes = new_figure(2, nrows=len(runs), figsize=(10.0, 3.5 * len(runs)))
    for row, (title, (problem, results)) in enumerate(runs.items()):
        left, right = axes[2 * row], axes[2 * row + 1]
        for method, result in results.items():
            gap = np.maximum(np.asarray(result.fvals) - problem.f_min, 1e-300)
            style = {"color": _METHOD_COLORS.get(method), "label": method, "lw": 1.6}
            left.semilogy(np.arange(gap.size), gap, **style)
            right.semilogy(result.evals, gap, **style)
        for ax, what in ((left, "iteration"), (right, "evaluation of f")):
            ax.set_title(f"{title}: per {what}")
            ax.set_xlabel("iterations" if ax is left else "evaluations of f")
            ax.set_ylabel("f - f*")
            ax.set_ylim(1e-20, None)
            ax.set_xscale("symlog", linthresh=10)
            ax.set_xlim(left=0)
            ax.grid(True, which="major", alpha=0.3)
        right.legend(loc="upper right", fontsize=8)
    fig.suptitle("GD, momentum, CG, BFGS and Newton: linear, superlinear and quadratic "
                 "convergence")
    return fig
