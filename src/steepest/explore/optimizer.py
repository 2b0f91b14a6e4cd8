"""The optimizer view's computations: contour grids, runs of :func:`steepest.minimize`, and what
they mean (observed against theoretical rate, diagnostics in words).

Everything here is plain data in, plain JSON data out; :mod:`steepest.explore.server` does the
HTTP. The method list is read from ``steepest.minimize.METHODS`` at each request, so methods
added to ``minimize`` later (the second-order ones) appear without a change here.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import warnings
from typing import Any

import numpy as np

from .. import diagnostics, experiments, optim, problems, schedules
from .params import Choice, Integer, ParamError, Point, Real, bounds

# The module, not the function that `steepest.minimize` may also name.
_minimize = importlib.import_module("steepest.minimize")

__all__ = ["RUN_SPEC", "CONTOUR_SPEC", "methods", "method_options", "meta", "contour", "run"]

MAX_STEPS = 5000
GRID = 120  # contour grid points per side
SHADES = 4095  # levels of the shades sent (12 bits: smooth level curves, small JSON)

#: The hyperparameters each known method takes from the page (beyond lr and the schedule).
#: Other methods of ``minimize`` are handled by :func:`method_options`.
_OPTIONS: dict[str, tuple[str, ...]] = {
    "gd": ("line_search",), "momentum": ("momentum",), "nesterov": ("momentum",),
    "adagrad": (), "rmsprop": ("alpha",), "adam": ("beta1", "beta2"),
    "adamw": ("beta1", "beta2"), "adamax": ("beta1", "beta2"), "nadam": ("beta1", "beta2"),
    "adadelta": ("rho",),
}
#: A starting lr for each method (the page's slider starts there on a method change).
_DEFAULT_LR = {"gd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.5, "rmsprop": 0.01,
               "adam": 0.05, "adamw": 0.05, "adamax": 0.05, "nadam": 0.05, "adadelta": 1.0}
SCHEDULES = ("constant", "inverse_power", "step", "cosine", "warmup")


def methods() -> tuple[str, ...]:
    """The methods of :func:`steepest.minimize`, read now (other modules may add to them)."""
    return tuple(_minimize.METHODS)


def _default_lr(method: str) -> float | None:
    """The lr default of the optimizer class behind a first-order method (None: no number)."""
    first_order = getattr(_minimize, "FIRST_ORDER", ())
    if method not in first_order or method not in optim.OPTIMIZERS:
        return None
    default = inspect.signature(optim.OPTIMIZERS[method]).parameters.get("lr")
    value = getattr(default, "default", None)
    return float(value) if isinstance(value, int | float) and value > 0 else None


def method_options(method: str) -> dict[str, Any]:
    """What the page offers for ``method``: whether it takes an lr, and which sliders.

    The methods of :data:`_OPTIONS` get their sliders; another first-order method gets an lr
    slider starting at its optimizer's default; a method that chooses its own steps (Newton,
    BFGS, L-BFGS, CG, or an optimizer whose default lr is not a number) gets none.
    """
    if method in _OPTIONS:
        return {"lr": True, "options": list(_OPTIONS[method]), "default_lr": _DEFAULT_LR[method]}
    lr = _default_lr(method)
    return {"lr": lr is not None, "options": [], "default_lr": lr}


CONTOUR_SPEC = {
    "problem": Choice(lambda: problems.NAMES, "quadratic"),
    "kappa": Real(1.0, 1000.0, 10.0),
}

RUN_SPEC = {
    **CONTOUR_SPEC,
    "method": Choice(methods, "gd"),
    "x0": Point(1e3),
    "steps": Integer(1, MAX_STEPS, 500),
    "lr": Real(1e-6, 100.0, 0.05),
    "momentum": Real(0.0, 0.999, 0.9),
    "beta1": Real(0.0, 0.999, 0.9),
    "beta2": Real(0.0, 0.99999, 0.999),
    "alpha": Real(0.0, 0.9999, 0.99),
    "rho": Real(0.0, 0.9999, 0.9),
    "line_search": Choice(("none", "armijo", "wolfe"), "none"),
    "schedule": Choice(SCHEDULES, "constant"),
    "power": Real(0.01, 2.0, 1.0),
    "step_size": Integer(1, MAX_STEPS, 100),
    "gamma": Real(0.001, 1.0, 0.5),
    "warmup_steps": Integer(1, MAX_STEPS, 50),
}


def meta() -> dict[str, Any]:
    """Problems, methods and schedules the page can choose from, with the bounds of each field."""
    problem_list = []
    for name in problems.NAMES:
        p = problems.get(name)
        problem_list.append({"name": name, "dim": p.dim, "plottable": p.window is not None,
                             "description": p.description.split("\n")[0]})
    return {"problems": problem_list,
            "methods": [{"name": m, **method_options(m)} for m in methods()],
            "schedules": list(SCHEDULES), "bounds": bounds(RUN_SPEC), "max_steps": MAX_STEPS,
            "max_abs_x0": RUN_SPEC["x0"].bound}


@functools.lru_cache(maxsize=64)
def _build(name: str, kappa: float) -> problems.Problem:
    # Problems are immutable (read-only arrays), so one instance can serve every request; some
    # take a while to build (logistic_regression solves for its minimiser by Newton's method).
    return problems.get("quadratic", kappa=kappa) if name == "quadratic" else problems.get(name)


def _problem(values: dict[str, Any]) -> problems.Problem:
    return _build(values["problem"], values["kappa"] if values["problem"] == "quadratic" else 0.0)


def _shades(z: np.ndarray, f_min: float) -> np.ndarray:
    """Grid values as 0..SHADES on a log scale of f - f_min (or of f - min f where f_min is -inf),
    so that the colour bands follow the valleys."""
    lowest = f_min if math.isfinite(f_min) else float(np.min(z))
    gap = np.maximum(z - lowest, 0.0)
    spread = float(np.max(gap)) or 1.0
    t = np.log1p(gap / (1e-4 * spread)) / math.log1p(1e4)
    return np.clip(np.round(SHADES * t), 0, SHADES).astype(np.int64)


def contour(values: dict[str, Any]) -> dict[str, Any]:
    """The problem on a grid over its window, for the contour plot (None for d > 2)."""
    p = _problem(values)
    info: dict[str, Any] = {"problem": p.name, "dim": p.dim, "x0": p.x0.tolist()[:2],
                            "window": None}
    if p.window is None:
        return info
    (x_lo, x_hi), (y_lo, y_hi) = p.window
    xs, ys = np.linspace(x_lo, x_hi, GRID), np.linspace(y_lo, y_hi, GRID)
    gx, gy = np.meshgrid(xs, ys)
    z = np.asarray(p.value(np.stack([gx, gy])), dtype=np.float64)
    info.update(window=[[x_lo, x_hi], [y_lo, y_hi]], n=GRID, levels=SHADES,
                shades=_shades(z, p.f_min).ravel().tolist(),
                minimizers=[m.tolist() for m in p.minimizers],
                saddle_points=[s.tolist() for s in p.saddle_points])
    return info


def _schedule(values: dict[str, Any]) -> Any:
    lr, kind = values["lr"], values["schedule"]
    if kind == "constant":
        return lr
    if kind == "inverse_power":
        return schedules.InversePower(lr, values["power"])
    if kind == "step":
        return schedules.StepDecay(lr, values["step_size"], values["gamma"])
    if kind == "cosine":
        return schedules.Cosine(lr, values["steps"])
    return schedules.Warmup(schedules.Constant(lr), values["warmup_steps"])


def _method_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """minimize's arguments for the chosen method, from the fields that apply to it."""
    method = values["method"]
    offered = method_options(method)
    kwargs: dict[str, Any] = {}
    names = offered["options"]
    if "line_search" in names and values["line_search"] != "none":
        if values["schedule"] != "constant":
            raise ParamError("schedule", "explore: a line search chooses each step itself; "
                                         "set schedule to constant or line_search to none")
        kwargs["line_search"] = values["line_search"]
    if "momentum" in names:
        kwargs["momentum"] = values["momentum"]
    if "beta1" in names:
        kwargs["betas"] = (values["beta1"], values["beta2"])
    if "alpha" in names:
        kwargs["alpha"] = values["alpha"]
    if "rho" in names:
        kwargs["rho"] = values["rho"]
    if offered["lr"]:
        kwargs["lr"] = _schedule(values)
    return kwargs


def _eigenvalues(p: problems.Problem, x: np.ndarray) -> tuple[np.ndarray, str] | None:
    """Hessian eigenvalues for the theory: exact for the quadratic, else at the minimiser
    nearest the end of the run (the local rate theory predicts there)."""
    exact = getattr(p, "eigenvalues", None)
    if exact is not None:
        return np.asarray(exact, dtype=np.float64), "exact, quadratic"
    if not p.minimizers:
        return None
    if not np.all(np.isfinite(x)):
        x = p.x0
    nearest = min(p.minimizers, key=lambda m: float(np.linalg.norm(x - m)))
    eig = diagnostics.hessian_eigenvalues(p.grad, nearest)
    return np.asarray(eig, dtype=np.float64), f"local, Hessian at {_point(nearest)}"


def _point(x: np.ndarray) -> str:
    """A minimiser as the rate table names it: its coordinates up to 3-D, else a summary (the
    31 coordinates of logistic_regression filled the table cell)."""
    if x.size <= 3:
        return "x* = (" + ", ".join(f"{v:.3g}" for v in x) + ")"
    return f"x* ({x.size}-D, ‖x*‖ = {float(np.linalg.norm(x)):.3g})"


def _rates(p: problems.Problem, values: dict[str, Any], kwargs: dict[str, Any],
           result: Any) -> dict[str, Any]:
    """Observed rate of f - f* per iteration next to the rate theory gives, where it gives one."""
    method = values["method"]
    observed = experiments.observed_rate(result, p.f_min)
    out: dict[str, Any] = {"observed": observed, "theory": None, "theory_basis": None,
                           "best": None, "theory_note": ""}
    constant = isinstance(kwargs.get("lr"), float) and "line_search" not in kwargs
    if method in getattr(_minimize, "SECOND_ORDER", ()):
        out["theory_note"] = ("near a minimiser Newton converges quadratically and BFGS "
                              "superlinearly; L-BFGS and CG have no simple rate either, so "
                              "none is predicted for the second-order methods")
        return out
    if method not in ("gd", "momentum", "nesterov") or not constant:
        out["theory_note"] = ("theory here covers gd, momentum and nesterov with a constant lr "
                              "and no line search")
        return out
    found = _eigenvalues(p, np.asarray(result.x, dtype=np.float64))
    if found is None:
        out["theory_note"] = "no minimiser is known, so there is no rate to predict"
        return out
    eigenvalues, basis = found
    if np.min(eigenvalues) <= 0:
        out["theory_note"] = "the Hessian at x* is not positive definite: no linear rate"
        return out
    momentum = kwargs.get("momentum", 0.0)
    out["theory"] = experiments.quadratic_rate(method, kwargs["lr"], eigenvalues, momentum)
    out["theory_basis"] = basis
    L, mu = float(np.max(eigenvalues)), float(np.min(eigenvalues))
    if method == "gd":
        out["best"] = {"lr": diagnostics.gd_optimal_lr(L, mu),
                       "rate": diagnostics.gd_rate(L / mu) ** 2}
    else:
        lr_best, m_best = diagnostics.heavy_ball_parameters(L, mu)
        out["best"] = {"lr": lr_best, "momentum": m_best,
                       "rate": diagnostics.heavy_ball_rate(L / mu) ** 2}
    if out["theory"] >= 1:
        out["theory_note"] = "lr is beyond the stability limit: theory says the run cannot converge"
    return out


def _verdict(result: Any, path: np.ndarray) -> tuple[str, list[str]]:
    """A one-word verdict and the diagnostics in words, most important first."""
    words = [result.message] + [d for d in result.diagnostics if d != result.message]
    if result.diverged:
        return "diverged", words
    if result.saddle:
        return "saddle", words
    steps = np.diff(path[: min(len(path), 200)], axis=0)
    oscillating = any(d.startswith("oscillating") for d in words)
    if not oscillating and len(steps) >= 4:
        report = diagnostics.detect_oscillation(steps)
        if report.oscillating:
            words.append(report.message)
            oscillating = True
    if result.success:
        return ("converged, oscillating" if oscillating else "converged"), words
    return ("oscillating" if oscillating else "stopped"), words


def _plain(value: Any) -> Any:
    """JSON data, fast for the long float arrays of a run (non-finite numbers become null)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        if np.isfinite(value).all():
            return value.tolist()
        return [_plain(row) for row in value] if value.ndim > 1 else \
            [v if math.isfinite(v) else None for v in value.tolist()]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return experiments.to_json(value)


def run(values: dict[str, Any]) -> dict[str, Any]:
    """One run of :func:`steepest.minimize` with the page's settings, as JSON data."""
    p = _problem(values)
    if values["x0"] is not None and p.dim != 2:
        raise ParamError("x0", f"explore: {p.name} has {p.dim} dimensions; x0 can be set only "
                               "for a 2-D problem (leave it out)")
    x0 = p.x0 if values["x0"] is None else np.array(values["x0"], dtype=np.float64)
    kwargs = _method_kwargs(values)
    method, note = values["method"], None
    if method == "nesterov" and kwargs["momentum"] == 0.0:
        # The momentum slider's left end: SGD refuses nesterov=True without momentum (an HTTP
        # 422), but Nesterov's method with momentum 0 is gradient descent, step for step.
        method, note = "gd", ("momentum = 0: Nesterov's method is plain gradient descent, "
                              "and was run as gd")
        del kwargs["momentum"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergence is reported in the result, in words
        result = experiments.run_method(p, method, x0=x0, max_iter=values["steps"],
                                        gtol=1e-10, **kwargs)
    path = np.asarray(result.path, dtype=np.float64)
    verdict, words = _verdict(result, path)
    if note:
        words.append(note)
    fvals = np.asarray(result.fvals, dtype=np.float64)
    return _plain({
        "problem": p.name, "method": values["method"], "f_min": p.f_min,
        "path": path[:, :2] if p.dim == 2 else None, "fvals": fvals,
        "grad_norms": np.asarray(result.grad_norms, dtype=np.float64),
        "lrs": np.asarray(result.lrs, dtype=np.float64), "nit": result.nit,
        "status": result.status, "success": result.success, "verdict": verdict,
        "message": result.message, "diagnostics": words, "diverged": result.diverged,
        "saddle": result.saddle, "suggested_lr": result.suggested_lr,
        "x": result.x[:2] if p.dim == 2 else None, "fun": result.fun,
        "rate": _rates(p, values, kwargs, result),
    })
