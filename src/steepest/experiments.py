"""The experiments behind the ``steepest`` commands and the demo: runs, comparisons, training.

Optimisation on test problems (``steepest minimize`` and ``steepest compare``):
:func:`run_method` runs :func:`steepest.minimize` on a problem of :mod:`steepest.problems`,
:func:`tune_lr` picks a learning rate by a small grid search, :func:`compare` runs several
methods side by side, and :func:`comparison_text`, :func:`summarize_result` and
:func:`result_figure` show the outcome, next to the rates theory predicts
(:func:`quadratic_rate`) and those observed (:func:`observed_rate`).

Training a network (``steepest train``): :func:`train_network` splits and standardises a
dataset, builds the network with :func:`steepest.nn.mlp` and the optimizer with
:func:`steepest.optim.create`, trains it with :func:`steepest.train.fit`, and reports the
metrics on held-out data in a :class:`TrainingSummary`.

Both report through :class:`Progress` (stage names and progress bars on standard error) and
:func:`to_json` (plain JSON data). :mod:`steepest.report` builds the demo's page from these runs.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_choice, check_int, check_real

__all__ = [
    "to_json", "Progress", "FAMILY", "EXTRA_METHODS", "LR_GRID", "lr_grid", "parse_methods",
    "split_label", "run_method", "iterations_to_tolerance", "observed_rate", "quadratic_rate",
    "tune_lr", "MethodRun", "compare", "comparison_rows", "comparison_text", "format_table",
    "format_number", "format_lr", "format_vector", "status_text", "summarize_result",
    "result_figure", "ACTIVATIONS", "train_network", "TrainingSummary",
    "SECOND_ORDER_COMPARED", "second_order_runs", "second_order_rows",
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


def lr_grid(method: str) -> tuple[float, ...]:
    """The learning rates :func:`tune_lr` tries for ``method``: :data:`LR_GRID`, except for
    AdaDelta (factors 0.01 to 30, since its step is scaled by a running RMS)."""
    return _GRIDS.get(method, LR_GRID)


def split_label(label: str) -> tuple[str, str | None]:
    """``"gd+armijo"`` -> ``("gd", "armijo")``; ``"adam"`` -> ``("adam", None)``."""
    method, _, line_search = label.partition("+")
    return method, line_search or None


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method labels from ``--methods``: comma-separated names, ``default`` or ``all``.

    A label is a method of ``steepest.minimize.METHODS``, optionally followed by
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
        One of ``steepest.minimize.METHODS``.
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
    from .problems import Problem
    if method == "newton" and isinstance(problem, Problem):  # its Tensor code gives the Hessian
        return minimize(problem, start, **kwargs)
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
        Defaults to :func:`lr_grid` of the method (:data:`LR_GRID`; AdaDelta: 0.01 to 30).
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
    grid = tuple(grid) if grid is not None else lr_grid(method)
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
    from .minimize import SECOND_ORDER  # they choose their own steps: nothing to tune
    to_tune = [label for label in labels
               if tune and label not in lrs and split_label(label)[1] is None
               and label not in SECOND_ORDER]
    trials_total = sum(len(lr_grid(split_label(lb)[0])) for lb in to_tune)
    runs: list[MethodRun] = []
    with progress.bar(trials_total + len(labels), f"{problem.name}") as advance:
        for label in labels:
            method, line_search = split_label(label)
            extra = options.get(label, _default_options(method))
            lr, source, trials = lrs.get(label), "given", []
            if label not in lrs:
                if line_search is not None or method in SECOND_ORDER:
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
def format_number(value: float | None, digits: int = 3) -> str:
    """A number for a table: ``digits`` significant digits, "—" for None, and "diverged" for
    infinity or NaN."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "diverged" if value > 0 or math.isnan(value) else "-inf"
    return f"{value:.{digits}g}"


def format_lr(lr: Any) -> str:
    """A learning rate for a table: a number to 4 digits, a schedule by its ``repr``, "—" for
    None."""
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
            run.label, format_lr(_first_rate(result) if run.lr is None and
                                 run.lr_source == "default" else run.lr),
            run.lr_source,
            str(_field(result, "nit", len(fvals) - 1)), "—" if hit is None else str(hit),
            format_number(float(final)), format_number(float(norms[-1])),
            format_number(observed_rate(result, f_min, run.k_power), 4),
            format_number(run.theory, 4), status_text(result),
        ])
    return headers, rows


def status_text(result: Any) -> str:
    """How a run ended, in the words of the tables: "diverged", "saddle point", "converged" or
    "max iterations"."""
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
    heading = (f"{problem.name} (dim {problem.dim}) from x0 = {format_vector(start)}"
               + (f", at most {max_iter} iterations" if max_iter else ""))
    headers, rows = comparison_rows(problem, runs, tol)
    lines = [heading, "", format_table(headers, rows), ""]
    tuned = [run for run in runs if run.lr_source == "tuned"]
    if tuned:
        lines.append(f"'tuned': the learning rate was chosen by a grid search over "
                     f"{', '.join(f'{v:g}' for v in LR_GRID)} (AdaDelta: "
                     f"{', '.join(f'{v:g}' for v in lr_grid('adadelta'))}), keeping the rate "
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


def format_vector(x: Any, digits: int = 4) -> str:
    """A point as ``[x1, x2, ...]``: its first six coordinates to ``digits`` digits."""
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
    steps = f"learning rate {format_lr(lr) if lr is not None else _default_lr(result)}"
    if line_search:
        steps = f"{line_search} line search" + (f", first trial step {format_lr(lr)}"
                                                 if lr is not None else "")
    outcome = "success" if _field(result, "success", False) else "no success"
    lines = [
        f"{problem.name} (dim {problem.dim}), method {_field(result, 'method', '?')}, {steps}",
        f"  status      : {_field(result, 'message', status_text(result))} ({outcome}, status "
        f"{_field(result, 'status', '?')})",
        f"  iterations  : {_field(result, 'nit', '?')}   (function evaluations "
        f"{_field(result, 'nfev', '?')}, gradient evaluations {_field(result, 'njev', '?')})",
        f"  f(x)        : {f:.6g}" + (f"   (f* = {problem.f_min:g}, f - f* = "
                                      f"{f - problem.f_min:.3g})"
                                      if math.isfinite(problem.f_min) else ""),
        f"  ‖∇f(x)‖     : {gnorm:.3g}",
        f"  x           : {format_vector(x, 6)}",
    ]
    if problem.minimizers:
        with np.errstate(over="ignore", invalid="ignore"):  # a start near 1e308: inf, shown
            distance = problem.distance(x)
        lines.append(f"  distance to nearest minimiser: {distance:.3g}")
    suggested = _field(result, "suggested_lr")
    if suggested is not None:
        lines.append(f"  suggested learning rate: {suggested:.3g}")
    warnings = list(_field(result, "diagnostics", []) or [])
    if warnings:
        lines.append("  warnings:")
        lines += [f"    - {w}" for w in warnings]
    return "\n".join(lines)


def _first_rate(result: Any) -> float | None:
    """The first step size a run recorded (a method's default lr when none was given), or
    None where it took no finite step."""
    lrs = _field(result, "lrs")
    lrs = np.asarray([] if lrs is None else lrs, dtype=np.float64)
    return float(lrs[0]) if lrs.size and np.isfinite(lrs[0]) else None


def _default_lr(result: Any) -> str:
    """The learning rate the method used when none was given (the first recorded one)."""
    lrs = _field(result, "lrs")
    lrs = np.asarray([] if lrs is None else lrs, dtype=np.float64)
    if lrs.size and np.isfinite(lrs[0]):
        return f"{float(lrs[0]):g} (the method's default)"
    return "the method's default"


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


# ------------------------------------------------------------------------------------ networks
#: Hidden-layer activations that :func:`train_network` (``steepest train --activation``) offers:
#: PyTorch's names among those of :data:`steepest.nn.ACTIVATIONS`.
ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu")


@dataclass
class TrainingSummary:
    """What :func:`train_network` did.

    Attributes
    ----------
    text : str
        A readable summary (settings, epochs, metrics, files written).
    metrics : dict
        Plain data: settings, final training/validation/test metrics, files. ``epochs`` is
        the run's total, restored epochs included; ``epochs_trained`` counts those this call
        trained and ``epochs_restored`` those restored from ``resumed_from`` (present when
        resuming; 0 otherwise). ``checkpoint`` (present when one was asked for) is the file
        last written, a ``{epoch}`` pattern filled in, or None when none was written (a resume
        that had no epoch left to train).
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
        The architecture (see :func:`steepest.nn.mlp`); ``activation`` is one of
        :data:`ACTIVATIONS`.
    optimizer : str, default "adam"
        A name of :data:`steepest.optim.OPTIMIZERS`.
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
        A resume must have the settings of the run it continues (all but ``epochs``); an
        ``lr`` equal to the optimizer's default matches a run that left ``lr`` out, and the
        other way round.
    out : path-like, optional
        Directory for ``curves.png``, ``confusion.png`` (classification), ``metrics.json``,
        ``history.json`` and ``model.npz``.
    progress : bool, default True
        A progress bar per epoch on standard error.

    Returns
    -------
    TrainingSummary
    """
    from . import data, nn, optim, schedules, train
    from ._random import manual_seed
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
    settings = _run_settings(dataset, hidden=hidden, activation=activation, dropout=dropout,
                             optimizer=optimizer, lr=lr, momentum=momentum, nesterov=nesterov,
                             weight_decay=weight_decay, betas=betas, validation=validation,
                             test=test, patience=patience, seed=seed) \
        if checkpoint or resume else None
    if isinstance(lr, str):
        lr = schedules.parse_rate(lr, total_steps=epochs * math.ceil(len(split.y_train) / batch_size))
    manual_seed(seed)
    n_out = dataset.n_classes if classify else 1
    check_choice("train_network", "activation", activation, ACTIVATIONS)
    model = nn.mlp(dataset.n_features, hidden, n_out, activation, dropout)
    given = {"momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay,
             "betas": betas, "lr": lr}
    opt = optim.create(optimizer, model.parameters(),
                       **{key: value for key, value in given.items() if value is not None})
    restored = 0
    if resume is not None:
        from .train.checkpoint import _load_checkpoint
        # read here as fit will (the same checks and errors, before any training) for the
        # epochs it holds and the lr it recorded
        saved = _load_checkpoint(resume)
        restored = saved["epoch"]
        if settings is not None:
            settings["lr"] = _resumed_lr(saved.get("settings"), settings["lr"], optimizer)
    loss = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    metrics = ["accuracy"] if classify else ["mae"]
    callbacks = [] if patience is None or val_xy is None else [
        train.EarlyStopping(patience=patience)]
    started = time.perf_counter()
    try:
        history, interrupt = train.fit(model, loss, opt, train_xy, validation=val_xy,
                                       epochs=epochs, batch_size=batch_size, metrics=metrics,
                                       callbacks=callbacks, checkpoint=checkpoint, resume=resume,
                                       progress=progress, compile=True, settings=settings), None
    except KeyboardInterrupt as stop:  # Ctrl-C: keep what the finished epochs produced
        if not len(getattr(stop, "history", ())):
            # fit checkpoints epoch 0 when Ctrl-C stops its loop (stop.history is set there);
            # before the loop began nothing was written
            written = getattr(stop, "checkpoint", None)
            raise TrainingInterrupted(None, epochs, written) from None
        history, interrupt = stop.history, stop
    seconds = time.perf_counter() - started
    trained = len(history) - restored
    # fit writes a checkpoint after each epoch it trains and when Ctrl-C stops it; a resumed
    # run that already reached `epochs` (or had stopped early) trains none and writes none
    written = getattr(interrupt, "checkpoint", None) if interrupt is not None else \
        _checkpoint_written(checkpoint, len(history)) if trained > 0 else None

    results: dict[str, Any] = {
        "data": dataset.name, "task": dataset.task, "n_train": len(split.y_train),
        "n_val": len(split.y_val), "n_test": len(split.y_test),
        "architecture": "-".join(str(w) for w in [dataset.n_features, *hidden, n_out]),
        "activation": activation, "optimizer": optimizer,
        "lr": format_lr(lr) if lr is not None else _default_rate(opt, optimizer),
        "epochs": len(history), "epochs_trained": trained, "epochs_restored": restored,
        "best_epoch": history.best_epoch, "seconds": round(seconds, 3),
    }
    if resume is not None:
        results["resumed_from"] = str(resume)
    for name, xy in (("train", train_xy), ("val", val_xy), ("test", test_xy)):
        if xy is not None:
            results[name] = _scores(model, loss, xy, classify, y_std)
    files = _write_training_outputs(out, model, scaler, history, results, dataset, split,
                                    test_xy, classify, (y_mean, y_std)) if out else []
    results["files"] = [str(f) for f in files]
    if checkpoint:
        results["checkpoint"] = written
    summary = TrainingSummary(_training_text(results, epochs, history.stopped_epoch),
                              to_json(results), history, model)
    if interrupt is not None:
        raise TrainingInterrupted(summary, epochs, written) from None
    return summary


def _checkpoint_written(checkpoint: str | None, epoch: int) -> str | None:
    """The file fit wrote ``checkpoint`` to after ``epoch``: a ``{epoch}`` pattern filled in
    (``ck_{epoch:03d}.npz`` -> ``ck_020.npz``), the file a resume needs; None without one."""
    from .train.checkpoint import _checkpoint_target
    return None if checkpoint is None else _checkpoint_target(str(checkpoint), epoch)


def _resumed_lr(saved: Any, lr: Any, optimizer: str) -> Any:
    """The ``lr`` setting a resumed run records: the checkpoint's own when both name the same
    effective rate, else ``lr`` (which the resume then refuses as a difference).

    A run without ``lr`` records None, which stands for the optimizer's default rate; so None
    there and that default given as a number here (or the other way round) are the same run.
    Taking the checkpoint's spelling lets fit's comparison pass, and keeps the checkpoints of
    one run recording it alike (format versions 1 and 2 are read unchanged)."""
    if not isinstance(saved, dict) or "lr" not in saved:
        return lr
    default = _optimizer_default_lr(optimizer)

    def effective(value: Any) -> float | None:
        value = default if value is None else value
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else None

    recorded = saved["lr"]
    same = effective(recorded) is not None and effective(recorded) == effective(lr)
    return recorded if same else lr


def _optimizer_default_lr(name: str) -> float | None:
    """The lr the optimizer ``name`` of :data:`steepest.optim.OPTIMIZERS` takes when it is
    given none (its constructor's default, as :func:`steepest.optim.create` builds it), or
    None where that is not a number."""
    import inspect

    from . import optim
    cls = optim.OPTIMIZERS.get(name)
    parameter = None if cls is None else inspect.signature(cls).parameters.get("lr")
    default = None if parameter is None else parameter.default
    return float(default) if isinstance(default, int | float) and \
        not isinstance(default, bool) else None


def _run_settings(dataset: Any, *, lr: Any, **options: Any) -> dict[str, Any]:
    """What a checkpoint of :func:`train_network` records, so that a resume with other options
    (another seed re-splits the data, another activation or lr changes the run) is refused.
    The number of epochs is left out: a resumed run may train further."""
    from .train.checkpoint import data_digest
    if isinstance(lr, str):
        try:  # "0.01" and "1e-2" are the same rate
            lr = float(lr)
        except ValueError:
            lr = lr.strip()
    elif lr is not None and not isinstance(lr, int | float):
        lr = format_lr(lr)
    plain = {key: (list(value) if isinstance(value, tuple | list) else value)
             for key, value in options.items()}
    return {"data": dataset.name, "data_sha256": data_digest(dataset.X, dataset.y),
            "task": dataset.task, "lr": lr, **plain}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C ended :func:`train_network`; ``summary`` describes the finished epochs (their
    files were written to ``out``), or is None when no epoch had finished."""

    def __init__(self, summary: TrainingSummary | None, epochs: int,
                 checkpoint: str | None) -> None:
        super().__init__("training interrupted")
        self.summary, self.epochs, self.checkpoint = summary, epochs, checkpoint

    def what(self) -> str:
        """One line: how far the run got and what was written."""
        if self.summary is None:
            kept = f"; checkpoint {self.checkpoint} holds the weights so far" if self.checkpoint \
                else ""
            return f"no epoch had finished, so no results were written{kept}"
        done = len(self.summary.history)
        files = self.summary.metrics.get("files") or []
        text = f"after epoch {done} of {self.epochs}"
        if files:
            text += f"; wrote the finished epochs' results: {', '.join(files)}"
        if self.checkpoint:
            text += f"; checkpoint {self.checkpoint} (continue with --resume)"
        return text


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


def _training_text(results: Mapping[str, Any], epochs: int, stopped_epoch: int | None) -> str:
    lines = [f"{results['data']} ({results['task']}): {results['n_train']} training, "
             f"{results['n_val']} validation, {results['n_test']} test rows",
             f"network {results['architecture']} ({results['activation']}), optimizer "
             f"{results['optimizer']}, learning rate {results['lr']}",
             _epochs_text(results, epochs, stopped_epoch)
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
    elif "checkpoint" in results:  # asked for, but a resume that trained nothing writes none
        lines.append(f"no checkpoint written (no epoch was trained); "
                     f"{results.get('resumed_from')} still holds the run (continue with --resume)")
    return "\n".join(lines)


def _epochs_text(results: Mapping[str, Any], epochs: int, stopped_epoch: int | None) -> str:
    """How many epochs this run trained, and, for a resumed run, which ones and how many it
    restored: "trained 10 more epochs (epochs 11-20; 10 restored from ck.npz) in 0.4 s"."""
    trained, restored = results["epochs_trained"], results["epochs_restored"]
    took = f" in {results['seconds']:.1f} s"
    if "resumed_from" not in results:
        return f"trained {trained} epoch{'s' if trained != 1 else ''}{took}"
    source = results["resumed_from"]
    if trained == 0:
        if stopped_epoch is not None and stopped_epoch <= restored:
            why = f"the run restored from {source} had stopped early at epoch {stopped_epoch}"
        elif restored >= epochs:
            why = (f"the {restored} epoch{'s' if restored != 1 else ''} restored from {source} "
                   f"already reach the {epochs} asked for")
        else:  # interrupted during the first new epoch
            why = f"{restored} restored from {source}"
        return f"trained no more epochs ({why})"
    first, last = restored + 1, restored + trained
    span = f"epoch {first}" if trained == 1 else f"epochs {first}-{last}"
    return (f"trained {trained} more epoch{'s' if trained != 1 else ''} ({span}; {restored} "
            f"restored from {source}){took}")


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
        _write_text(path, json.dumps(to_json(content), indent=1))
        files.append(path)
    return files


def _write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file and a rename: a full disk or a kill
    leaves the previous file (or none), never a truncated one (metrics.json had been left at 0
    bytes), and the error names the file (a bare '[Errno 28] No space left on device' did not)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(error.errno, f"could not write {path}: {error.strerror}") from None



# --------------------------------------------------------------------------- second order
#: The methods the demo's second-order section compares, in the order drawn.
SECOND_ORDER_COMPARED: tuple[str, ...] = ("gd", "momentum", "cg", "bfgs", "newton")


def _second_order_settings(problem: Any) -> dict[str, dict[str, Any]]:
    """Each method's options: first-order steps from theory where it has them."""
    from . import diagnostics

    if problem.L is not None and problem.mu is not None:  # the quadratic: optimal constants
        alpha, beta = diagnostics.heavy_ball_parameters(problem.L, problem.mu)
        return {"gd": {"lr": diagnostics.gd_optimal_lr(problem.L, problem.mu)},
                "momentum": {"lr": alpha, "momentum": beta}}
    # Rosenbrock: L ~ 1000 near the minimiser, so 2/L ~ 2e-3; these steps are stable from x0
    return {"gd": {"lr": 1e-3}, "momentum": {"lr": 2e-4, "momentum": 0.9}}


def _default_rate(optimizer: Any, name: str) -> str:
    """The lr an optimizer built without one uses, as the summary prints it ("0.001 (the
    default for adam)"), rather than the word "default"."""
    rate = optimizer.param_groups[0].get("lr")
    return f"{rate:.4g} (the default for {name})" if isinstance(rate, int | float) else "default"


def second_order_runs(max_iter: int = 5000, kappa: float = 100.0, dim: int = 10,
                      gtol: float = 1e-10) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Run :data:`SECOND_ORDER_COMPARED` on Rosenbrock and on a quadratic of condition
    number ``kappa`` (dimension ``dim``), each to ``gtol`` or ``max_iter``.

    Returns
    -------
    dict
        Problem title -> (problem, {method: OptimizeResult}).
    """
    from . import problems
    from .minimize import minimize

    chosen = {"Rosenbrock": problems.rosenbrock(),
              f"quadratic, kappa = {kappa:g}": problems.quadratic(dim=dim, kappa=kappa)}
    out = {}
    for title, problem in chosen.items():
        settings = _second_order_settings(problem)
        out[title] = (problem, {
            method: minimize(problem, problem.x0, method=method, max_iter=max_iter, gtol=gtol,
                             diagnose=False, **settings.get(method, {}))
            for method in SECOND_ORDER_COMPARED})
    return out


def second_order_rows(runs: Mapping[str, tuple[Any, Mapping[str, Any]]]
                      ) -> tuple[list[str], list[list[str]]]:
    """The table behind the demo's second-order figure: per problem and method, iterations,
    evaluations of f, and the observed order of convergence of the distance to the minimiser
    (with GD's rate next to :math:`(\\kappa - 1)/(\\kappa + 1)` on the quadratic)."""
    from . import diagnostics

    headers = ["problem", "method", "iterations", "f evaluations", "observed order",
               "rate", "theory rate"]
    rows = []
    for title, (problem, results) in runs.items():
        x_star = problem.minimizers[0]
        for method, result in results.items():
            order = diagnostics.convergence_order(np.linalg.norm(result.path - x_star, axis=1))
            theory = "—"
            if method == "gd" and problem.L is not None and problem.mu is not None:
                theory = f"{diagnostics.gd_rate(problem.L / problem.mu):.4g}"
            rows.append([title, method, str(result.nit), str(int(result.evals[-1])),
                         _order_cell(order, result), _rate_cell(order), theory])
    return headers, rows


def _order_cell(order: Any, result: Any) -> str:
    if order.kind == "undetermined":
        if result.nit <= 1 and result.success:
            return "exact in one step"  # Newton on a quadratic
        return "undetermined (irregular)" if "irregular" in order.message else "undetermined"
    period = " over every 2 steps" if "every 2 steps" in order.message else ""
    fitted = "" if np.isnan(order.order) else f" (q = {order.order:.2f}{period})"
    return order.kind + (fitted or period)


def _rate_cell(order: Any) -> str:
    return "—" if np.isnan(order.rate) else f"{order.rate:.4g}"
