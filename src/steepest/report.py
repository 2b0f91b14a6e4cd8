"""The demo report and the experiments behind ``steepest compare`` and ``steepest demo``.

:func:`build_demo` runs the demonstration experiments and writes ``index.html``: a page that
works offline (inline CSS, figures embedded as PNG data URIs and also saved beside it under
``figures/``), with short explanations written for a student, the numbers in tables, and
``results.json`` holding the same numbers as plain data.

The building blocks are public because the command line uses them too: :func:`run_method` (one
run of :func:`steepest.minimize` on a test problem), :func:`tune_lr` (the small grid search),
:func:`compare` (several methods side by side), :func:`comparison_rows` (their table), and
:class:`Progress` (stage names and progress bars on standard error).
"""

from __future__ import annotations

import base64
import datetime as _datetime
import html
import io
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_int, check_real

__all__ = [
    "to_json", "Progress", "HtmlPage", "FAMILY", "EXTRA_METHODS", "LR_GRID", "parse_methods",
    "split_label", "run_method", "iterations_to_tolerance", "observed_rate", "quadratic_rate",
    "tune_lr", "MethodRun", "compare", "comparison_rows", "comparison_text", "format_table",
    "summarize_result", "result_figure", "build_demo", "DEMO_FIGURES", "DEMO_FILES",
    "ACTIVATIONS", "OPTIMIZERS", "build_mlp", "make_optimizer", "train_network",
    "TrainingSummary",
]


def to_json(value: Any) -> Any:
    """Plain JSON data from results: arrays become lists, non-finite numbers become null, and
    anything else without a JSON form (a schedule, a class) its ``repr``."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return repr(value)


# ------------------------------------------------------------------------------------ progress
class Progress:
    """Stage names with their duration, and progress bars, written to standard error.

    Parameters
    ----------
    enabled : bool, default True
        False makes every method a no-op (``--quiet``, ``--json``).
    stream : file-like, optional
        Where to write (standard error by default).
    """

    def __init__(self, enabled: bool = True, stream: Any = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._stage: tuple[str, float] | None = None
        self._count = 0

    def stage(self, title: str, total: int | None = None) -> None:
        """Close the running stage (printing its duration) and announce the next one."""
        self.finish_stage()
        self._count += 1
        self._stage = (title, time.perf_counter())
        counter = f"[{self._count}/{total}] " if total else f"[{self._count}] "
        self._write(f"{counter}{title} ...\n")

    def finish_stage(self) -> None:
        """Print how long the running stage took."""
        if self._stage is not None:
            title, start = self._stage
            self._write(f"      done in {time.perf_counter() - start:.1f} s\n")
            self._stage = None

    def note(self, text: str) -> None:
        """One indented line under the current stage."""
        self._write(f"      {text}\n")

    @contextmanager
    def bar(self, total: int, desc: str, unit: str = "run") -> Iterator[Callable[..., None]]:
        """A progress bar; yields ``advance(n=1, status="")``."""
        if not self.enabled or total <= 0:
            yield lambda n=1, status="": None
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            bar = tqdm(total=total, desc=f"      {desc}", unit=unit, leave=False, file=self.stream,
                       dynamic_ncols=True)

            def advance(n: int = 1, status: str = "") -> None:
                if status:
                    bar.set_postfix_str(status, refresh=False)
                bar.update(n)
            try:
                yield advance
            finally:
                bar.close()
            return
        done = [0]

        def advance_plain(n: int = 1, status: str = "") -> None:
            done[0] += n
            filled = 24 * done[0] // total
            self._write(f"\r      {desc} [{'=' * filled}{' ' * (24 - filled)}] "
                        f"{done[0]}/{total} {status}"[:100])
        try:
            yield advance_plain
        finally:
            self._write("\r" + " " * 100 + "\r")

    def done(self, text: str) -> None:
        """Close the last stage and print a final line with the total time."""
        self.finish_stage()
        self._write(f"{text} ({time.perf_counter() - self.started:.1f} s in all)\n")

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()


# ------------------------------------------------------------------------------------ methods
#: The family compared by default: gradient descent (constant step and Armijo line search),
#: heavy-ball and Nesterov momentum, and the adaptive methods.
FAMILY: tuple[str, ...] = ("gd", "gd+armijo", "momentum", "nesterov", "adagrad", "rmsprop",
                           "adam", "adadelta")
#: Further methods that ``--methods all`` adds.
EXTRA_METHODS: tuple[str, ...] = ("gd+wolfe", "adamw", "adamax", "nadam")
#: Learning rates tried by :func:`tune_lr`: half-decades from 1e-4 to 3.
LR_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)
# AdaDelta's step is scaled by a running RMS that starts near sqrt(eps): its factor (default 1)
# means something else than a step size, and its useful range is shifted up.
_GRIDS: dict[str, tuple[float, ...]] = {"adadelta": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)}
_LINE_SEARCHES = ("armijo", "wolfe")


def split_label(label: str) -> tuple[str, str | None]:
    """``"gd+armijo"`` -> ``("gd", "armijo")``; ``"adam"`` -> ``("adam", None)``."""
    method, _, line_search = label.partition("+")
    return method, line_search or None


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method labels from ``--methods``: comma-separated names, ``default`` or ``all``.

    A label is a method of :data:`steepest.minimize.METHODS`, optionally followed by
    ``+armijo`` or ``+wolfe`` for a line search (``gd+armijo``).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    from .minimize import METHODS
    parts = text.split(",") if isinstance(text, str) else list(text)
    labels: list[str] = []
    for part in (p.strip().lower() for p in parts):
        if part in ("default", "family"):
            expanded: Sequence[str] = FAMILY
        elif part == "all":
            expanded = FAMILY + EXTRA_METHODS
        elif part:
            method, line_search = split_label(part)
            if method not in METHODS or (line_search and line_search not in _LINE_SEARCHES):
                valid = ", ".join(list(METHODS) + ["gd+armijo", "gd+wolfe", "default", "all"])
                raise ValueError(f"unknown method {part!r}; choose from: {valid}")
            expanded = [part]
        else:
            continue
        labels += [label for label in expanded if label not in labels]
    if not labels:
        raise ValueError("--methods is empty; name at least one method, e.g. gd,adam")
    return labels


def run_method(problem: Any, method: str, *, lr: Any = None, line_search: str | None = None,
               x0: Any = None, max_iter: int = 1000, gtol: float = 1e-6, **options: Any) -> Any:
    """Run :func:`steepest.minimize` on a test problem with its hand-derived gradient.

    Parameters
    ----------
    problem : Problem
        From :mod:`steepest.problems`.
    method : str
        One of :data:`steepest.minimize.METHODS`.
    lr : float or schedule, optional
        The method's default when omitted.
    line_search : {"armijo", "wolfe"}, optional
    x0 : array_like, optional
        Defaults to ``problem.x0``.
    max_iter : int, default 1000
    gtol : float, default 1e-6
    **options
        Further options of the method (``momentum``, ``betas``, ...).

    Returns
    -------
    OptimizeResult
    """
    from .minimize import minimize
    start = np.array(problem.x0 if x0 is None else x0, dtype=np.float64)
    kwargs: dict[str, Any] = {"method": method, "max_iter": max_iter, "gtol": gtol, **options}
    if lr is not None:
        kwargs["lr"] = lr
    if line_search is not None:
        kwargs["line_search"] = line_search
    return minimize(problem.value, start, jac=problem.grad, **kwargs)


def _field(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, Mapping) and name in result:
        return result[name]
    return getattr(result, name, default)


def _errors(result: Any, f_min: float) -> np.ndarray:
    return np.asarray(_field(result, "fvals", []), dtype=np.float64) - f_min


def iterations_to_tolerance(result: Any, f_min: float, tol: float) -> int | None:
    """The first iteration ``n`` with :math:`f(x_n) - f^* \\le` ``tol``, or None if never."""
    if not math.isfinite(f_min):
        return None
    errors = _errors(result, f_min)
    hits = np.flatnonzero(np.isfinite(errors) & (errors <= tol))
    return int(hits[0]) if hits.size else None


def observed_rate(result: Any, f_min: float, k_power: float = 0.0) -> float | None:
    """The observed linear rate of :math:`f(x_n) - f^*` per iteration, where one can be seen.

    Delegates to :func:`steepest.diagnostics.observed_rate`; returns None when ``f^*`` is not
    finite, the run diverged, or the error never decreased geometrically.
    """
    if not math.isfinite(f_min):
        return None
    from . import diagnostics
    errors = _errors(result, f_min)
    if errors.size < 3 or not np.isfinite(errors).all():
        return None
    try:
        rate = diagnostics.observed_rate(errors, k_power=k_power)
    except (ValueError, ArithmeticError):
        return None
    rate = _field(rate, "rate", rate)
    return float(rate) if rate is not None and math.isfinite(float(rate)) else None


def quadratic_rate(method: str, lr: float, eigenvalues: Sequence[float],
                   momentum: float = 0.0) -> float:
    """The exact asymptotic rate of :math:`f(x_n) - f^*` for GD, heavy ball or Nesterov with a
    constant step on a quadratic with the given Hessian eigenvalues.

    On each eigen-direction (eigenvalue :math:`\\lambda`) the error follows a linear recursion;
    its spectral radius :math:`\\rho(\\lambda)` is the rate of the distance to the minimiser
    and :math:`\\max_\\lambda \\rho(\\lambda)^2` that of the function error:

    .. math::

        \\text{gd:}\\ \\rho = |1 - \\alpha\\lambda|, \\qquad
        \\text{heavy ball:}\\ \\rho = \\rho\\begin{pmatrix} 1 + \\beta - \\alpha\\lambda &
        -\\beta \\\\ 1 & 0 \\end{pmatrix}, \\qquad
        \\text{Nesterov:}\\ \\rho = \\rho\\begin{pmatrix} (1 + \\beta)(1 - \\alpha\\lambda) &
        -\\beta (1 - \\alpha\\lambda) \\\\ 1 & 0 \\end{pmatrix}

    (Polyak, *Introduction to Optimization*, 1987, sections 1.4 and 3.2; the PyTorch forms of
    momentum and Nesterov give the same recursions.)

    Parameters
    ----------
    method : {"gd", "momentum", "nesterov"}
    lr : float
        The constant step :math:`\\alpha`.
    eigenvalues : sequence of float
    momentum : float, default 0
        :math:`\\beta`.

    Returns
    -------
    float
        The rate per iteration of :math:`f(x_n) - f^*` (1 or more means no convergence).
    """
    lr = check_real("quadratic_rate", "lr", lr, 0.0, low_open=True)
    momentum = check_real("quadratic_rate", "momentum", momentum, 0.0)
    radii = []
    for lam in np.asarray(eigenvalues, dtype=np.float64):
        shrink = 1.0 - lr * lam
        if method == "gd" or momentum == 0.0:
            radii.append(abs(shrink))
            continue
        if method == "momentum":
            matrix = np.array([[1.0 + momentum - lr * lam, -momentum], [1.0, 0.0]])
        elif method == "nesterov":
            matrix = np.array([[(1.0 + momentum) * shrink, -momentum * shrink], [1.0, 0.0]])
        else:
            raise ValueError(f"quadratic_rate: method must be 'gd', 'momentum' or 'nesterov', "
                             f"got {method!r}")
        radii.append(float(np.max(np.abs(np.linalg.eigvals(matrix)))))
    return max(radii) ** 2


def _score(result: Any, f_min: float, tol: float) -> tuple[int, float] | None:
    """Tuning score (smaller is better): reaching ``tol`` first wins, then the final error."""
    fvals = np.asarray(_field(result, "fvals", []), dtype=np.float64)
    if fvals.size == 0 or not np.isfinite(fvals).all() or _field(result, "diverged", False):
        return None
    hit = iterations_to_tolerance(result, f_min, tol)
    if hit is not None:
        return 0, float(hit)
    final = fvals[-1] - f_min if math.isfinite(f_min) else fvals[-1]
    return 1, float(final)


def tune_lr(problem: Any, label: str, *, x0: Any = None, max_iter: int = 500,
            gtol: float = 1e-6, tol: float = 1e-8, grid: Sequence[float] | None = None,
            advance: Callable[..., None] | None = None, **options: Any
            ) -> tuple[float | None, list[tuple[float, tuple[int, float] | None]]]:
    """Pick a constant learning rate for one method by a small grid search.

    Every rate of the grid runs for ``max_iter`` iterations from ``x0``; the winner is the rate
    that first brings :math:`f - f^*` below ``tol``, or failing that the lowest final error;
    runs that diverge or produce non-finite values are out.

    Parameters
    ----------
    problem : Problem
    label : str
        A method label such as ``"adam"`` or ``"gd+armijo"``.
    x0 : array_like, optional
    max_iter : int, default 500
        Iterations per trial.
    gtol, tol : float
    grid : sequence of float, optional
        Defaults to :data:`LR_GRID` (AdaDelta: factors 0.1 to 100).
    advance : callable, optional
        Called once per trial (a progress bar).
    **options
        Passed to the method.

    Returns
    -------
    (float or None, list of (lr, score))
        The best rate (None if every trial failed) and each trial's score (None for failures).
    """
    method, line_search = split_label(label)
    grid = tuple(grid) if grid is not None else _GRIDS.get(method, LR_GRID)
    trials: list[tuple[float, tuple[int, float] | None]] = []
    target = problem.f_min + tol

    def reached(state: Any) -> bool:  # a trial that reached tol has its score: stop it there
        return bool(state["fun"] <= target)

    for lr in grid:
        try:
            with warnings.catch_warnings():  # a diverging trial is expected, and scored out
                warnings.simplefilter("ignore")
                result = run_method(problem, method, lr=lr, line_search=line_search, x0=x0,
                                    max_iter=max_iter, gtol=gtol, diagnose=False,
                                    callback=reached if math.isfinite(target) else None,
                                    **options)
            score = _score(result, problem.f_min, tol)
        except (FloatingPointError, OverflowError, ArithmeticError):
            score = None
        trials.append((lr, score))
        if advance is not None:
            advance(1, f"{label} lr={lr:g}")
    scored = [(score, lr) for lr, score in trials if score is not None]
    return (min(scored)[1] if scored else None), trials


@dataclass
class MethodRun:
    """One method's run in a comparison.

    Attributes
    ----------
    label : str
        ``"adam"``, ``"gd+armijo"``, ...
    lr : float, schedule or None
        The learning rate used (None: the method's default or the line search's own steps).
    lr_source : str
        ``"given"``, ``"tuned"``, ``"default"``, ``"line search"`` or ``"theory"``.
    result : OptimizeResult
    options : dict
        Further options passed to the method.
    theory : float or None
        The theoretical rate of :math:`f(x_n) - f^*` per iteration, where theory gives one.
    trials : list of (lr, score)
        The grid search, when there was one.
    k_power : float
        Polynomial factor allowed for when fitting the observed rate (see
        :func:`steepest.diagnostics.observed_rate`).
    """

    label: str
    lr: Any
    lr_source: str
    result: Any
    options: dict[str, Any] = field(default_factory=dict)
    theory: float | None = None
    trials: list[tuple[float, Any]] = field(default_factory=list)
    k_power: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain data: the settings and the whole result."""
        lr = self.lr if self.lr is None or isinstance(self.lr, float | int) else repr(self.lr)
        return to_json({"label": self.label, "lr": lr, "lr_source": self.lr_source,
                        "options": self.options, "theory_rate": self.theory,
                        "trials": [[lr_, None if s is None else list(s)]
                                   for lr_, s in self.trials],
                        "result": dict(self.result)})


def compare(problem: Any, labels: Sequence[str], *, lrs: Mapping[str, Any] | None = None,
            x0: Any = None, max_iter: int = 2000, gtol: float = 1e-6, tol: float = 1e-8,
            tune: bool = True, tune_iter: int | None = None,
            options: Mapping[str, Mapping[str, Any]] | None = None,
            progress: Progress | None = None) -> list[MethodRun]:
    """Run several methods on one problem from the same start.

    Parameters
    ----------
    problem : Problem
    labels : sequence of str
        Method labels (see :func:`parse_methods`).
    lrs : mapping label -> float or schedule, optional
        Given learning rates. Methods without one are tuned by :func:`tune_lr` when ``tune``
        (line-search methods choose their own steps), else run with their default.
    x0 : array_like, optional
    max_iter : int, default 2000
    gtol, tol : float
        Stopping gradient norm, and the error level for "iterations to tolerance".
    tune : bool, default True
    tune_iter : int, optional
        Iterations per tuning trial; defaults to ``max_iter``, so that a rate that is fine
        early but unstable later is not picked.
    options : mapping label -> dict, optional
        Further options per method (e.g. ``{"momentum": {"momentum": 0.9}}``).
    progress : Progress, optional

    Returns
    -------
    list of MethodRun
    """
    max_iter = check_int("compare", "max_iter", max_iter, 1)
    lrs = dict(lrs or {})
    options = {k: dict(v) for k, v in (options or {}).items()}
    progress = progress or Progress(enabled=False)
    budget = tune_iter or max_iter
    to_tune = [label for label in labels
               if tune and label not in lrs and split_label(label)[1] is None]
    trials_total = sum(len(_GRIDS.get(split_label(lb)[0], LR_GRID)) for lb in to_tune)
    runs: list[MethodRun] = []
    with progress.bar(trials_total + len(labels), f"{problem.name}") as advance:
        for label in labels:
            method, line_search = split_label(label)
            extra = options.get(label, _default_options(method))
            lr, source, trials = lrs.get(label), "given", []
            if label not in lrs:
                if line_search is not None:
                    source = "line search"
                elif label in to_tune:
                    lr, trials = tune_lr(problem, label, x0=x0, max_iter=budget, gtol=gtol,
                                         tol=tol, advance=advance, **extra)
                    source = "tuned" if lr is not None else "default"
                else:
                    source = "default"
            result = run_method(problem, method, lr=lr, line_search=line_search, x0=x0,
                                max_iter=max_iter, gtol=gtol, **extra)
            advance(1, label)
            runs.append(MethodRun(label, lr, source, result, extra,
                                  _theory(problem, method, lr, line_search, extra), trials))
    return runs


def _default_options(method: str) -> dict[str, Any]:
    # "momentum" and "nesterov" mean SGD with momentum; 0.9 is the customary coefficient.
    return {"momentum": 0.9} if method in ("momentum", "nesterov") else {}


def _theory(problem: Any, method: str, lr: Any, line_search: str | None,
            options: Mapping[str, Any]) -> float | None:
    """The exact rate where theory gives one: constant-step GD and momentum on a quadratic."""
    eigenvalues = getattr(problem, "eigenvalues", None)
    if eigenvalues is None or line_search is not None or not isinstance(lr, float | int) \
            or method not in ("gd", "momentum", "nesterov"):
        return None
    momentum = float(options.get("momentum", 0.0 if method == "gd" else 0.9))
    return quadratic_rate(method, float(lr), eigenvalues, momentum)


# ------------------------------------------------------------------------------------ tables
def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "diverged" if value > 0 or math.isnan(value) else "-inf"
    return f"{value:.{digits}g}"


def _lr_text(lr: Any) -> str:
    if lr is None:
        return "—"
    return f"{lr:.4g}" if isinstance(lr, float | int) else repr(lr)


def comparison_rows(problem: Any, runs: Sequence[MethodRun], tol: float
                    ) -> tuple[list[str], list[list[str]]]:
    """The comparison table as strings: headers and one row per run.

    Columns: method, learning rate and where it came from, iterations taken, iterations until
    :math:`f - f^* \\le` ``tol``, final :math:`f - f^*`, final gradient norm, observed rate of
    :math:`f - f^*` per iteration, the theoretical rate where theory has one, and the status.
    """
    f_min = problem.f_min
    headers = ["method", "learning rate", "lr from", "iterations", f"iters to {tol:g}",
               "final f − f*" if math.isfinite(f_min) else "final f", "final ‖∇f‖",
               "observed rate", "theory rate", "status"]
    rows = []
    for run in runs:
        result = run.result
        fvals = np.asarray(_field(result, "fvals", [np.nan]), dtype=np.float64)
        final = fvals[-1] - f_min if math.isfinite(f_min) else fvals[-1]
        hit = iterations_to_tolerance(result, f_min, tol)
        norms = np.asarray(_field(result, "grad_norms", [np.nan]), dtype=np.float64)
        rows.append([
            run.label, _lr_text(run.lr), run.lr_source, str(_field(result, "nit", len(fvals) - 1)),
            "—" if hit is None else str(hit), _num(float(final)), _num(float(norms[-1])),
            _num(observed_rate(result, f_min, run.k_power), 4), _num(run.theory, 4), _status(result),
        ])
    return headers, rows


def _status(result: Any) -> str:
    if _field(result, "diverged", False):
        return "diverged"
    if _field(result, "saddle", False):
        return "saddle point"
    return "converged" if _field(result, "success", False) else "max iterations"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def comparison_text(problem: Any, runs: Sequence[MethodRun], *, tol: float, x0: Any = None,
                    max_iter: int | None = None) -> str:
    """The comparison as text: a heading, the table, and how the learning rates were chosen."""
    start = np.asarray(problem.x0 if x0 is None else x0, dtype=np.float64)
    heading = (f"{problem.name} (dim {problem.dim}) from x0 = {_vector(start)}"
               + (f", at most {max_iter} iterations" if max_iter else ""))
    headers, rows = comparison_rows(problem, runs, tol)
    lines = [heading, "", format_table(headers, rows), ""]
    tuned = [run for run in runs if run.lr_source == "tuned"]
    if tuned:
        lines.append(f"'tuned': the learning rate was chosen by a grid search over "
                     f"{', '.join(f'{v:g}' for v in LR_GRID)} (AdaDelta: "
                     f"{', '.join(f'{v:g}' for v in _GRIDS['adadelta'])}), keeping the rate "
                     f"that reached f - f* <= {tol:g} first, else the lowest final error.")
    if any(run.lr_source == "default" for run in runs):
        lines.append("'default': the method's default learning rate.")
    if any(run.theory is not None for run in runs):
        lines.append("theory rate: the exact asymptotic rate of f - f* per iteration for this "
                     "step size on this quadratic (spectral radius squared).")
    lines.append("observed rate: the ratio e[n+1]/e[n] of the error e = f - f* fitted by least "
                 "squares where e is between 1e-3 and 1e-12 of its start (— when it never gets "
                 "there).")
    return "\n".join(lines)


def _vector(x: Any, digits: int = 4) -> str:
    array = np.asarray(x, dtype=np.float64).ravel()
    shown = ", ".join(f"{v:.{digits}g}" for v in array[:6])
    return f"[{shown}{', ...' if array.size > 6 else ''}]"


def summarize_result(problem: Any, result: Any, lr: Any = None,
                     line_search: str | None = None) -> str:
    """A readable summary of one run: settings, outcome, and the diagnostics' warnings."""
    fvals = np.asarray(_field(result, "fvals", []), dtype=np.float64)
    f = float(_field(result, "fun", fvals[-1] if fvals.size else math.nan))
    x = np.asarray(_field(result, "x"), dtype=np.float64)
    grad = _field(result, "grad")
    gnorm = float(np.linalg.norm(grad)) if grad is not None else math.nan
    steps = f"learning rate {_lr_text(lr) if lr is not None else 'default'}"
    if line_search:
        steps = f"{line_search} line search" + (f", first trial step {_lr_text(lr)}"
                                                 if lr is not None else "")
    outcome = "success" if _field(result, "success", False) else "no success"
    lines = [
        f"{problem.name} (dim {problem.dim}), method {_field(result, 'method', '?')}, {steps}",
        f"  status      : {_field(result, 'message', _status(result))} ({outcome}, status "
        f"{_field(result, 'status', '?')})",
        f"  iterations  : {_field(result, 'nit', '?')}   (function evaluations "
        f"{_field(result, 'nfev', '?')}, gradient evaluations {_field(result, 'njev', '?')})",
        f"  f(x)        : {f:.6g}" + (f"   (f* = {problem.f_min:g}, f - f* = "
                                      f"{f - problem.f_min:.3g})"
                                      if math.isfinite(problem.f_min) else ""),
        f"  ‖∇f(x)‖     : {gnorm:.3g}",
        f"  x           : {_vector(x, 6)}",
    ]
    if problem.minimizers:
        lines.append(f"  distance to nearest minimiser: {problem.distance(x):.3g}")
    suggested = _field(result, "suggested_lr")
    if suggested is not None:
        lines.append(f"  suggested learning rate: {suggested:.3g}")
    warnings = list(_field(result, "diagnostics", []) or [])
    if warnings:
        lines.append("  warnings:")
        lines += [f"    - {w}" for w in warnings]
    return "\n".join(lines)


def result_figure(problem: Any, results: Mapping[str, Any], title: str | None = None) -> Any:
    """Iterates over contours next to the convergence curve (2-D), else both convergence panels."""
    from . import plot
    if problem.dim != 2:
        return plot.convergence(results, problem=problem, title=title)
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 5.6))
    plot.trajectories(problem, results, ax=left, legend="figure",
                      title="Iterates over the contour lines of f")
    known = math.isfinite(problem.f_min)
    plot.convergence(results, problem=problem, ax=right, legend=False,
                     quantity="error" if known else "grad_norm",
                     title="Error f(xₙ) − f* (log axis)" if known else "Gradient norm (log axis)")
    fig.suptitle(title or f"{problem.name}", fontweight="bold")
    return fig


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
        where = _num(problem.distance(x)) if problem.minimizers and np.isfinite(x).all() \
            else _vector(x, 3)
        rows.append([label, str(result.nit), _num(float(final)),
                     _num(float(np.asarray(result.grad_norms)[-1])), where, _status(result)])
    return headers, rows


def _warnings_of(runs: Mapping[str, Any]) -> list[str]:
    return [f"{label}: {w}" for label, r in runs.items() for w in (_field(r, "diagnostics") or [])]


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
               [[str(k), "—" if k == 0 else f"{1.0 / k:.3g}", _vector(path[k], 3),
                 _num(float(errors[k])), _num(float(np.asarray(main.grad_norms)[k]))]
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
               [row + [_num(rates[row[0]], 4)] for row in rows],
               "Each run's outcome; the theory rate is max<sub>λ</sub> (1 − αλ)² per iteration "
               "(≥ 1: divergence).")
    warned = _warnings_of(runs)
    if warned:
        page.paragraph("What the diagnostics of <code>steepest.minimize</code> said:", None)
        page.bullets(warned, "warn")
    return {label: {"lr": settings[label], "nit": int(r.nit), "status": _status(r),
                    "final_f": float(np.asarray(r.fvals)[-1]), "theory_rate": rates[label]}
            for label, r in runs.items()}


def _oscillation_figure(problem: Any, runs: Mapping[str, Any]) -> Any:
    """The two converging runs over the contours (the diverging one would cover them), and
    every run's error."""
    from . import plot
    fig, (left, right) = plot.new_figure(2, figsize=(12.0, 5.6))
    converging = {label: r for label, r in runs.items() if not _field(r, "diverged", False)
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
                f"{n} iterations from x0 = {_vector(problem.x0, 2)} on Rosenbrock (log-spaced "
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
    return {label: {"nit": int(r.nit), "x": np.asarray(r.x).tolist(), "status": _status(r),
                    "saddle_flag": bool(_field(r, "saddle", False))} for label, r in runs.items()
            } | {"detect_saddle": report.reason}


# --------------------------------------------------------------- section 3: the family
def _family_text(tol: float, iterations: int) -> str:
    return (
        f"Methods without a learning rate from theory get one from a small grid search: the "
        f"rate among {', '.join(f'{v:g}' for v in LR_GRID)} (AdaDelta: "
        f"{', '.join(f'{v:g}' for v in _GRIDS['adadelta'])}) that first brought f − f* below "
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
    by_label = {run.label + ("" if run.lr is None else f", lr {_lr_text(run.lr)}"): run.result
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


# --------------------------------------------------------------- networks
#: Hidden-layer activations by name.
ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu")
#: Optimizers by name (the classes of :mod:`steepest.optim`).
OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW",
    "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam",
}


def build_mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int, activation: str = "relu",
              dropout: float = 0.0) -> Any:
    """A fully connected network: ``Linear`` layers with an activation (and dropout) between.

    Parameters
    ----------
    n_inputs, n_outputs : int
    hidden : sequence of int
        Widths of the hidden layers (empty: a linear model).
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "gelu"}, default "relu"
    dropout : float, default 0
        Dropout probability after each hidden activation (0: none).

    Returns
    -------
    steepest.nn.Sequential
    """
    from . import nn
    from ._validation import check_choice
    check_choice("build_mlp", "activation", activation, ACTIVATIONS)
    dropout = check_real("build_mlp", "dropout", dropout, 0.0, 1.0, high_open=True)
    make = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh,
            "sigmoid": nn.Sigmoid, "gelu": nn.GELU}[activation]
    layers: list[Any] = []
    widths = [check_int("build_mlp", "n_inputs", n_inputs, 1)] + [
        check_int("build_mlp", "hidden width", w, 1) for w in hidden]
    for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(width_in, width_out), make()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(widths[-1], check_int("build_mlp", "n_outputs", n_outputs, 1)))
    return nn.Sequential(*layers)


def make_optimizer(name: str, parameters: Any, lr: Any = None, **hyper: Any) -> Any:
    """An optimizer of :mod:`steepest.optim` by name, with only the hyperparameters given.

    Raises
    ------
    ValueError
        For an unknown name, or a hyperparameter the optimizer does not take (naming those
        that take it).
    """
    import inspect

    from . import optim
    from ._validation import check_choice
    check_choice("make_optimizer", "name", name, OPTIMIZERS)
    cls = getattr(optim, OPTIMIZERS[name])
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in hyper.items() if v is not None}
    for key in kwargs:
        if key not in accepted:
            users = [n for n, c in OPTIMIZERS.items()
                     if key in inspect.signature(getattr(optim, c).__init__).parameters]
            raise ValueError(f"{key.replace('_', '-')} does not apply to {name}; it applies "
                             f"to: {', '.join(users) or 'none'}")
    if lr is not None:
        kwargs["lr"] = lr
    return cls(parameters, **kwargs)


@dataclass
class TrainingSummary:
    """What :func:`train_network` did.

    Attributes
    ----------
    text : str
        A readable summary (settings, epochs, metrics, files written).
    metrics : dict
        Plain data: settings, final training/validation/test metrics, files.
    history : steepest.train.History
    model : steepest.nn.Module
    """

    text: str
    metrics: dict[str, Any]
    history: Any
    model: Any


def train_network(dataset: Any, *, hidden: Sequence[int] = (128,), activation: str = "relu",
                  dropout: float = 0.0, optimizer: str = "adam", lr: Any = None,
                  momentum: float | None = None, nesterov: bool | None = None,
                  weight_decay: float | None = None, betas: tuple[float, float] | None = None,
                  epochs: int = 30, batch_size: int = 64, validation: float = 0.15,
                  test: float = 0.15, patience: int | None = None, seed: int = 0,
                  checkpoint: str | None = None, resume: str | None = None,
                  out: str | Path | None = None, progress: bool = True) -> TrainingSummary:
    """Train a fully connected network on a dataset, as ``steepest train`` does.

    The rows are split into training, validation and test sets (stratified for classes, from
    ``seed``); features are standardised with the training set's mean and deviation, and so is
    a regression target (metrics are reported in its original units). Classification minimises
    the cross-entropy of one output per class, regression the squared error of one output.

    Parameters
    ----------
    dataset : steepest.data.Dataset
    hidden, activation, dropout
        The architecture (see :func:`build_mlp`).
    optimizer : str, default "adam"
        A name of :data:`OPTIMIZERS`.
    lr : float, schedule or str, optional
        A number, a schedule, or schedule text (``"cosine:0.01"``; a cosine without length
        spans the whole run). The optimizer's default when omitted.
    momentum, nesterov, weight_decay, betas : optional
        Hyperparameters, passed only when given (an optimizer that lacks one raises).
    epochs, batch_size : int
    validation, test : float
        Fractions of the rows held out.
    patience : int, optional
        Early stopping on the validation loss (restoring the best weights).
    seed : int, default 0
        Seeds the split, the initialisation, the shuffling and dropout.
    checkpoint, resume : str, optional
        Passed to :func:`steepest.train.fit`: save after every epoch / continue from a file.
    out : path-like, optional
        Directory for ``curves.png``, ``confusion.png`` (classification), ``metrics.json``,
        ``history.json`` and ``model.npz``.
    progress : bool, default True
        A progress bar per epoch on standard error.

    Returns
    -------
    TrainingSummary
    """
    from . import data, nn, train
    from ._random import manual_seed
    from .cli import parse_lr
    split = data.train_val_test_split(dataset.X, dataset.y, val=validation, test=test,
                                      seed=seed)
    if len(split.y_train) == 0:
        raise ValueError("train: no training rows left after the validation and test split")
    scaler = data.Standardizer().fit(split.X_train)
    classify = dataset.task == "classification"
    y_mean, y_std = 0.0, 1.0
    if not classify:  # a unit-scale target lets the default learning rates work
        y_mean = float(np.mean(split.y_train))
        y_std = float(np.std(split.y_train)) or 1.0

    def prepared(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return scaler.transform(X), (y if classify else (y - y_mean) / y_std)

    train_xy = prepared(split.X_train, split.y_train)
    val_xy = prepared(split.X_val, split.y_val) if len(split.y_val) else None
    test_xy = prepared(split.X_test, split.y_test) if len(split.y_test) else None
    if isinstance(lr, str):
        lr = parse_lr(lr, total_steps=epochs * math.ceil(len(split.y_train) / batch_size))
    manual_seed(seed)
    n_out = dataset.n_classes if classify else 1
    model = build_mlp(dataset.n_features, hidden, n_out, activation, dropout)
    opt = make_optimizer(optimizer, model.parameters(), lr, momentum=momentum,
                         nesterov=nesterov, weight_decay=weight_decay, betas=betas)
    loss = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    metrics = ["accuracy"] if classify else ["mae"]
    callbacks = [] if patience is None or val_xy is None else [
        train.EarlyStopping(patience=patience)]
    started = time.perf_counter()
    history = train.fit(model, loss, opt, train_xy, validation=val_xy, epochs=epochs,
                        batch_size=batch_size, metrics=metrics, callbacks=callbacks,
                        checkpoint=checkpoint, resume=resume, progress=progress)
    seconds = time.perf_counter() - started

    results: dict[str, Any] = {
        "data": dataset.name, "task": dataset.task, "n_train": len(split.y_train),
        "n_val": len(split.y_val), "n_test": len(split.y_test),
        "architecture": "-".join(str(w) for w in [dataset.n_features, *hidden, n_out]),
        "activation": activation, "optimizer": optimizer,
        "lr": _lr_text(lr) if lr is not None else "default", "epochs": len(history),
        "best_epoch": history.best_epoch, "seconds": round(seconds, 3),
    }
    for name, xy in (("train", train_xy), ("val", val_xy), ("test", test_xy)):
        if xy is not None:
            results[name] = _scores(model, loss, xy, classify, y_std)
    files = _write_training_outputs(out, model, scaler, history, results, dataset, split,
                                    test_xy, classify, (y_mean, y_std)) if out else []
    results["files"] = [str(f) for f in files]
    if checkpoint:
        results["checkpoint"] = str(checkpoint)
    return TrainingSummary(_training_text(results), to_json(results), history, model)


def _scores(model: Any, loss: Any, xy: tuple[np.ndarray, np.ndarray], classify: bool,
            y_std: float) -> dict[str, float]:
    from . import train
    output = train.predict(model, xy[0])
    loss_value = float(train.evaluate(model, loss, xy)["loss"])
    if classify:
        return {"loss": loss_value, "accuracy": float(np.mean(output.argmax(axis=1) == xy[1]))}
    error = (output.reshape(-1) - xy[1]) * y_std
    spread = float(np.var(xy[1] * y_std))
    return {"loss": loss_value, "rmse": float(np.sqrt(np.mean(error ** 2))),
            "mae": float(np.mean(np.abs(error))),
            "r2": 1.0 - float(np.mean(error ** 2)) / spread if spread > 0 else math.nan}


def _training_text(results: Mapping[str, Any]) -> str:
    lines = [f"{results['data']} ({results['task']}): {results['n_train']} training, "
             f"{results['n_val']} validation, {results['n_test']} test rows",
             f"network {results['architecture']} ({results['activation']}), optimizer "
             f"{results['optimizer']}, learning rate {results['lr']}",
             f"trained {results['epochs']} epochs in {results['seconds']:.1f} s"
             + (f"; best validation loss at epoch {results['best_epoch']} (weights restored)"
                if results.get("best_epoch") else "")]
    headers = ["data"] + sorted({k for name in ("train", "val", "test")
                                 for k in results.get(name, {})}, key=_metric_order)
    rows = [[name] + [_metric_text(k, results[name].get(k)) for k in headers[1:]]
            for name in ("train", "val", "test") if name in results]
    lines += ["", format_table(headers, rows)]
    if results.get("files"):
        lines += ["", "wrote " + ", ".join(results["files"])]
    if results.get("checkpoint"):
        lines.append(f"checkpoint {results['checkpoint']} (continue with --resume)")
    return "\n".join(lines)


def _metric_order(name: str) -> int:
    order = ["loss", "accuracy", "rmse", "mae", "r2"]
    return order.index(name) if name in order else len(order)


def _metric_text(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2%}" if name == "accuracy" else f"{value:.4g}"


def _write_training_outputs(out: str | Path, model: Any, scaler: Any, history: Any,
                            results: dict[str, Any], dataset: Any, split: Any,
                            test_xy: tuple[np.ndarray, np.ndarray] | None, classify: bool,
                            target_scale: tuple[float, float]) -> list[Path]:
    from . import io, plot, train
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    files = [plot.save(plot.loss_curves(history, title=f"Training on {dataset.name}"),
                       directory / "curves.png")]
    if classify and test_xy is not None:
        predicted = train.predict(model, test_xy[0]).argmax(axis=1)
        names = dataset.target_names if len(dataset.target_names) == dataset.n_classes else None
        files.append(plot.save(plot.confusion_matrix(test_xy[1], predicted, class_names=names),
                               directory / "confusion.png"))
    model_path = directory / "model.npz"
    io.save({"model": model.state_dict(), "standardizer": scaler.state_dict(),
             "architecture": results["architecture"], "activation": results["activation"],
             "task": dataset.task, "target_mean": target_scale[0],
             "target_std": target_scale[1], "target_names": list(dataset.target_names)},
            model_path)
    files.append(model_path)
    for name, content in (("history.json", history.to_dict()), ("metrics.json", results)):
        path = directory / name
        path.write_text(json.dumps(to_json(content), indent=1), encoding="utf-8")
        files.append(path)
    return files


# --------------------------------------------------------------- section 5: digits
def _digits_section(page: HtmlPage, results: dict[str, Any], budget: _Budget, seed: int,
                    progress: Progress) -> None:
    from . import data, io, nn, plot, train
    from ._random import manual_seed
    dataset = data.load_dataset("digits")
    split = data.train_val_test_split(dataset.X, dataset.y, val=0.15, test=0.2, seed=seed)
    scaler = data.Standardizer().fit(split.X_train)
    X_train, X_val, X_test = (scaler.transform(x) for x in (split.X_train, split.X_val,
                                                             split.X_test))
    manual_seed(seed)
    model = build_mlp(dataset.n_features, [128], dataset.n_classes)
    optimizer = make_optimizer("adam", model.parameters(), lr=1e-3)
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
        ["training (best epoch)", str(len(split.y_train)), _num(history["loss"][best], 4),
         f"{history['accuracy'][best]:.2%}"],
        ["validation (best epoch)", str(len(split.y_val)), _num(history["val_loss"][best], 4),
         f"{history['val_accuracy'][best]:.2%}"],
        ["test", str(len(split.y_test)), _num(test["loss"], 4), f"{test['accuracy']:.2%}"],
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
