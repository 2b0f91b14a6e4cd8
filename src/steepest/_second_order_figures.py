"""The demo's second-order section: GD, momentum, CG, BFGS and Newton on Rosenbrock and on an
ill-conditioned quadratic, per iteration and per function evaluation, with the observed orders.

:func:`convergence_runs` makes the runs (no plotting), :func:`orders_rows` the table of observed
orders of convergence, and :func:`convergence_figure` the 2 x 2 figure. matplotlib is imported
inside :func:`convergence_figure` only, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import diagnostics, problems
from .minimize import OptimizeResult, minimize

__all__ = ["METHODS", "convergence_runs", "orders_rows", "convergence_figure"]

#: The methods compared, in the order drawn.
METHODS: tuple[str, ...] = ("gd", "momentum", "cg", "bfgs", "newton")
_COLOURS = {"gd": "#7f7f7f", "momentum": "#1f77b4", "cg": "#2ca02c", "bfgs": "#ff7f0e",
            "newton": "#d62728"}


def _problems(kappa: float, dim: int) -> dict[str, problems.Problem]:
    return {"Rosenbrock": problems.rosenbrock(),
            f"quadratic, kappa = {kappa:g}": problems.quadratic(dim=dim, kappa=kappa)}


def _settings(problem: problems.Problem) -> dict[str, dict[str, Any]]:
    """Each method's options: first-order steps from theory where it has them."""
    if problem.L is not None and problem.mu is not None:  # the quadratic: optimal constants
        alpha, beta = diagnostics.heavy_ball_parameters(problem.L, problem.mu)
        return {"gd": {"lr": diagnostics.gd_optimal_lr(problem.L, problem.mu)},
                "momentum": {"lr": alpha, "momentum": beta}}
    # Rosenbrock: L ~ 1000 near the minimiser, so 2/L ~ 2e-3; these steps are stable from x0
    return {"gd": {"lr": 1e-3}, "momentum": {"lr": 2e-4, "momentum": 0.9}}


def convergence_runs(max_iter: int = 5000, kappa: float = 100.0, dim: int = 10,
                     gtol: float = 1e-10) -> dict[str, tuple[problems.Problem,
                                                               dict[str, OptimizeResult]]]:
    """Run :data:`METHODS` on Rosenbrock and on a quadratic of condition number ``kappa``.

    Returns
    -------
    dict
        Problem title -> (problem, {method: OptimizeResult}).
    """
    out = {}
    for title, problem in _problems(kappa, dim).items():
        settings = _settings(problem)
        runs = {}
        for method in METHODS:
            runs[method] = minimize(problem, problem.x0, method=method, max_iter=max_iter,
                                    gtol=gtol, diagnose=False, **settings.get(method, {}))
        out[title] = (problem, runs)
    return out


def orders_rows(runs: Mapping[str, tuple[problems.Problem, Mapping[str, OptimizeResult]]]
                ) -> tuple[list[str], list[list[str]]]:
    """The table behind the figure: per problem and method, iterations, evaluations of f, and
    the observed order of convergence of the distance to the minimiser (with GD's rate next
    to :math:`(\\kappa - 1)/(\\kappa + 1)` on the quadratic)."""
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
            rows.append([title, method, str(result.nit), str(int(result.evals[-1])), order.kind
                         + ("" if np.isnan(order.order) else f" (q = {order.order:.2f})"),
                         f"{order.rate:.4g}", theory])
    return headers, rows


def convergence_figure(runs: Mapping[str, tuple[problems.Problem,
                                                Mapping[str, OptimizeResult]]] | None = None,
                       **kwargs: Any) -> Any:
    """The 2 x 2 figure: ``f - f*`` per iteration (left) and per evaluation of ``f`` (right),
    Rosenbrock above and the quadratic below, one line per method (log scale).

    The right column is where a line search's cost shows: CG and BFGS spend a few evaluations
    per iteration; Newton's Hessians are not counted there (one per iteration).

    Parameters
    ----------
    runs : mapping, optional
        From :func:`convergence_runs` (made with ``**kwargs`` when omitted).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # lazily: plotting is an optional extra

    runs = convergence_runs(**kwargs) if runs is None else runs
    fig = Figure(figsize=(10, 7), dpi=150, layout="constrained")
    axes = fig.subplots(len(runs), 2, squeeze=False)
    for row, (title, (problem, results)) in enumerate(runs.items()):
        for method, result in results.items():
            gap = np.maximum(result.fvals - problem.f_min, 1e-300)
            style = {"color": _COLOURS.get(method), "label": method, "lw": 1.6}
            axes[row, 0].semilogy(np.arange(gap.size), gap, **style)
            axes[row, 1].semilogy(result.evals, gap, **style)
        for col, what in enumerate(("iteration", "evaluations of f")):
            ax = axes[row, col]
            ax.set_title(f"{title}: per {'iteration' if col == 0 else 'evaluation of f'}")
            ax.set_xlabel(what)
            ax.set_ylabel("f - f*")
            ax.set_ylim(1e-20, None)
            ax.set_xscale("symlog", linthresh=10)
            ax.set_xlim(left=0)
            ax.grid(True, which="major", alpha=0.3)
        axes[row, 1].legend(loc="upper right", fontsize=8)
    fig.suptitle("GD, momentum, CG, BFGS and Newton: linear, superlinear and quadratic "
                 "convergence")
    return fig
