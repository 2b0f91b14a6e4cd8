"""Issue 12.3: Newton, BFGS, L-BFGS and CG of ``st.minimize`` against scipy.optimize on the
Moré–Garbow–Hillstrom test set.

The problems are the 18 unconstrained minimisation problems of J. J. Moré, B. S. Garbow and
K. E. Hillstrom, "Testing unconstrained optimization software", ACM TOMS 7 (1981) 17-41 (their
section 3, problems 7, 18, 9, 3, 12, 25, 20, 23, 24, 4, 16, 11, 26, 21, 22, 5, 14, 35), each a
sum of squares :math:`f = \\sum_i f_i(x)^2` from the paper's standard starting point, written
here from the paper's formulas. Gradients and Hessians are exact: derived symbolically by SymPy
and compiled to NumPy, and the *same* callables are given to both libraries (``jac=``, ``hess=``),
so the comparison is one of algorithms.

Pairs: ``newton`` vs ``trust-exact`` (and ``Newton-CG``), ``bfgs`` vs ``BFGS``, ``lbfgs``
(history 10) vs ``L-BFGS-B`` (maxcor 10), ``cg`` vs ``CG``.

"Solved" means the final :math:`f` is within ``tol`` of one of the minima the paper lists for
the problem (a local minimum listed there counts: Biggs EXP6, Trigonometric),

.. math:: f - f^* \\le 10^{-6} \\min\\bigl(f(x_0) - f^*,\\ \\max(|f^*|, 10^{-3})\\bigr)
          + 5 \\cdot 10^{-6} |f^*|

(the last term is the rounding of the paper's six significant digits),

judged the same way for every solver, whatever the solver itself reported.

Run: ``python benchmarks/mgh.py`` (Markdown table on stdout, ~1 minute; needs scipy and sympy,
benchmark dependencies only). ``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

PAIRS: dict[str, tuple[str, ...]] = {"newton": ("trust-exact", "Newton-CG"), "bfgs": ("BFGS",),
                                     "lbfgs": ("L-BFGS-B",), "cg": ("CG",)}
MAX_ITER = 5000
GTOL = 1e-8


@dataclass(frozen=True)
class MGHProblem:
    """One problem: its number in the paper, name, dimension, residuals, start and minima."""

    number: int
    name: str
    n: int
    residuals: Callable[[Any, Any], list[Any]]  # (x symbols, sympy) -> residual expressions
    x0: tuple[float, ...]
    minima: tuple[float, ...]  # the values the paper lists (global first)


# --------------------------------------------------------------------------- the residuals
def helical_valley(x: Any, sp: Any) -> list[Any]:
    theta = sp.atan(x[1] / x[0]) / (2 * sp.pi) + sp.Piecewise((sp.Rational(1, 2), x[0] < 0),
                                                              (0, True))
    return [10 * (x[2] - 10 * theta), 10 * (sp.sqrt(x[0] ** 2 + x[1] ** 2) - 1), x[2]]


def biggs_exp6(x: Any, sp: Any, m: int = 13) -> list[Any]:
    out = []
    for i in range(1, m + 1):
        t = sp.Rational(i, 10)
        y = sp.exp(-t) - 5 * sp.exp(-10 * t) + 3 * sp.exp(-4 * t)
        out.append(x[2] * sp.exp(-t * x[0]) - x[3] * sp.exp(-t * x[1])
                   + x[5] * sp.exp(-t * x[4]) - y)
    return out


_GAUSSIAN_Y = (0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420,
               0.1295, 0.0540, 0.0175, 0.0044, 0.0009)


def gaussian(x: Any, sp: Any) -> list[Any]:
    return [x[0] * sp.exp(-x[1] * (sp.Rational(8 - i, 2) - x[2]) ** 2 / 2)
            - sp.Float(_GAUSSIAN_Y[i - 1]) for i in range(1, 16)]


def powell_badly_scaled(x: Any, sp: Any) -> list[Any]:
    return [10 ** 4 * x[0] * x[1] - 1, sp.exp(-x[0]) + sp.exp(-x[1]) - sp.Float("1.0001")]


def box_3d(x: Any, sp: Any, m: int = 10) -> list[Any]:
    return [sp.exp(-sp.Rational(i, 10) * x[0]) - sp.exp(-sp.Rational(i, 10) * x[1])
            - x[2] * (sp.exp(-sp.Rational(i, 10)) - sp.exp(-i)) for i in range(1, m + 1)]


def variably_dimensioned(x: Any, sp: Any) -> list[Any]:
    n = len(x)
    s = sum((j + 1) * (x[j] - 1) for j in range(n))
    return [x[j] - 1 for j in range(n)] + [s, s ** 2]


def watson(x: Any, sp: Any) -> list[Any]:
    n = len(x)
    out = []
    for i in range(1, 30):
        t = sp.Rational(i, 29)
        first = sum((j - 1) * x[j - 1] * t ** (j - 2) for j in range(2, n + 1))
        second = sum(x[j - 1] * t ** (j - 1) for j in range(1, n + 1))
        out.append(first - second ** 2 - 1)
    return out + [x[0], x[1] - x[0] ** 2 - 1]


def penalty_1(x: Any, sp: Any) -> list[Any]:
    a = sp.sqrt(sp.Rational(1, 10 ** 5))
    return [a * (xi - 1) for xi in x] + [sum(xi ** 2 for xi in x) - sp.Rational(1, 4)]


def penalty_2(x: Any, sp: Any) -> list[Any]:
    n = len(x)
    a = sp.sqrt(sp.Rational(1, 10 ** 5))
    out = [x[0] - sp.Rational(1, 5)]
    for i in range(2, n + 1):
        y = sp.exp(sp.Rational(i, 10)) + sp.exp(sp.Rational(i - 1, 10))
        out.append(a * (sp.exp(x[i - 1] / 10) + sp.exp(x[i - 2] / 10) - y))
    for i in range(n + 1, 2 * n):
        out.append(a * (sp.exp(x[i - n] / 10) - sp.exp(-sp.Rational(1, 10))))
    return out + [sum((n - j) * x[j] ** 2 for j in range(n)) - 1]


def brown_badly_scaled(x: Any, sp: Any) -> list[Any]:
    return [x[0] - 10 ** 6, x[1] - sp.Rational(2, 10 ** 6), x[0] * x[1] - 2]


def brown_dennis(x: Any, sp: Any, m: int = 20) -> list[Any]:
    out = []
    for i in range(1, m + 1):
        t = sp.Rational(i, 5)
        out.append((x[0] + t * x[1] - sp.exp(t)) ** 2 + (x[2] + x[3] * sp.sin(t) - sp.cos(t)) ** 2)
    return out


def gulf(x: Any, sp: Any, m: int = 99) -> list[Any]:
    out = []
    for i in range(1, m + 1):
        t = sp.Rational(i, 100)
        y = sp.Float(25 + (-50 * math.log(i / 100)) ** (2 / 3))  # a number: keeps sympy fast
        out.append(sp.exp(-sp.Abs(y - x[1]) ** x[2] / x[0]) - t)
    return out


def trigonometric(x: Any, sp: Any) -> list[Any]:
    n = len(x)
    total = sum(sp.cos(xj) for xj in x)
    return [n - total + (i + 1) * (1 - sp.cos(x[i])) - sp.sin(x[i]) for i in range(n)]


def extended_rosenbrock(x: Any, sp: Any) -> list[Any]:
    out = []
    for i in range(0, len(x), 2):
        out += [10 * (x[i + 1] - x[i] ** 2), 1 - x[i]]
    return out


def extended_powell(x: Any, sp: Any) -> list[Any]:
    out = []
    for i in range(0, len(x), 4):
        a, b, c, d = x[i:i + 4]
        out += [a + 10 * b, sp.sqrt(5) * (c - d), (b - 2 * c) ** 2, sp.sqrt(10) * (a - d) ** 2]
    return out


def beale(x: Any, sp: Any) -> list[Any]:
    ys = (sp.Rational(3, 2), sp.Rational(9, 4), sp.Rational(21, 8))
    return [ys[i - 1] - x[0] * (1 - x[1] ** i) for i in (1, 2, 3)]


def wood(x: Any, sp: Any) -> list[Any]:
    return [10 * (x[1] - x[0] ** 2), 1 - x[0], sp.sqrt(90) * (x[3] - x[2] ** 2), 1 - x[2],
            sp.sqrt(10) * (x[1] + x[3] - 2), (x[1] - x[3]) / sp.sqrt(10)]


def chebyquad(x: Any, sp: Any) -> list[Any]:
    n = len(x)
    out = []
    for i in range(1, n + 1):
        mean = sum(sp.chebyshevt(i, 2 * xj - 1) for xj in x) / n
        y = 0 if i % 2 else -sp.Rational(1, i * i - 1)
        out.append(sp.expand(mean) - y)
    return out


PROBLEMS: tuple[MGHProblem, ...] = (
    MGHProblem(7, "helical valley", 3, helical_valley, (-1.0, 0.0, 0.0), (0.0,)),
    MGHProblem(18, "Biggs EXP6", 6, biggs_exp6, (1.0, 2.0, 1.0, 1.0, 1.0, 1.0),
               (0.0, 5.65565e-3)),
    MGHProblem(9, "Gaussian", 3, gaussian, (0.4, 1.0, 0.0), (1.12793e-8,)),
    MGHProblem(3, "Powell badly scaled", 2, powell_badly_scaled, (0.0, 1.0), (0.0,)),
    MGHProblem(12, "Box 3-D", 3, box_3d, (0.0, 10.0, 20.0), (0.0,)),
    MGHProblem(25, "variably dimensioned", 10, variably_dimensioned,
               tuple(1 - j / 10 for j in range(1, 11)), (0.0,)),
    MGHProblem(20, "Watson", 6, watson, (0.0,) * 6, (2.28767e-3,)),
    MGHProblem(23, "penalty I", 10, penalty_1, tuple(float(j) for j in range(1, 11)),
               (7.08765e-5,)),
    MGHProblem(24, "penalty II", 4, penalty_2, (0.5,) * 4, (9.37629e-6,)),
    MGHProblem(4, "Brown badly scaled", 2, brown_badly_scaled, (1.0, 1.0), (0.0,)),
    MGHProblem(16, "Brown and Dennis", 4, brown_dennis, (25.0, 5.0, -5.0, -1.0), (85822.2,)),
    MGHProblem(11, "Gulf research", 3, gulf, (5.0, 2.5, 0.15), (0.0,)),
    MGHProblem(26, "trigonometric", 10, trigonometric, (0.1,) * 10, (0.0, 2.79506e-5)),
    MGHProblem(21, "extended Rosenbrock", 10, extended_rosenbrock, (-1.2, 1.0) * 5, (0.0,)),
    MGHProblem(22, "extended Powell singular", 4, extended_powell, (3.0, -1.0, 0.0, 1.0), (0.0,)),
    MGHProblem(5, "Beale", 2, beale, (1.0, 1.0), (0.0,)),
    MGHProblem(14, "Wood", 4, wood, (-3.0, -1.0, -3.0, -1.0), (0.0,)),
    MGHProblem(35, "Chebyquad", 8, chebyquad, tuple(j / 9 for j in range(1, 9)), (3.51687e-3,)),
)


@dataclass(frozen=True)
class Compiled:
    """A problem's exact f, gradient and Hessian as NumPy callables."""

    problem: MGHProblem
    fun: Callable[[np.ndarray], float]
    jac: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], np.ndarray]


@cache
def compiled(number: int) -> Compiled:
    """Derive the gradient and Hessian symbolically and compile all three (cached)."""
    import sympy as sp
    problem = next(p for p in PROBLEMS if p.number == number)
    x = sp.symbols(f"x0:{problem.n}", real=True)
    # Differentiate each residual, not the sum: with f = sum r_i^2,
    # grad f = 2 J^T r and hess f = 2 (J^T J + sum_i r_i hess r_i), exactly.
    r = problem.residuals(list(x), sp)
    J = [[sp.diff(ri, xj) for xj in x] for ri in r]
    second = [[[sp.diff(Jij, xk) for xk in x] for Jij in row] for row in J]
    # |u| differentiates to sign(u) and then to DiracDelta(u), zero away from u = 0.
    modules = [{"DiracDelta": lambda *_: 0.0}, "numpy"]
    r_num = sp.lambdify([x], r, modules, cse=True)
    J_num = sp.lambdify([x], J, modules, cse=True)
    S_num = sp.lambdify([x], second, modules, cse=True)
    n, m = problem.n, len(r)

    def residual(z: np.ndarray) -> np.ndarray:
        return np.asarray(r_num(np.asarray(z, dtype=np.float64)), dtype=np.float64).reshape(m)

    def jacobian(z: np.ndarray) -> np.ndarray:
        return np.asarray(J_num(np.asarray(z, dtype=np.float64)),
                          dtype=np.float64).reshape(m, n)

    def fun(z: np.ndarray) -> float:
        rz = residual(z)
        return float(rz @ rz)

    def jac(z: np.ndarray) -> np.ndarray:
        return 2.0 * jacobian(z).T @ residual(z)

    def hess_fn(z: np.ndarray) -> np.ndarray:
        Jz = jacobian(z)
        Sz = np.asarray(S_num(np.asarray(z, dtype=np.float64)), dtype=np.float64)
        return 2.0 * (Jz.T @ Jz + np.tensordot(residual(z), Sz.reshape(m, n, n), axes=1))

    return Compiled(problem, fun, jac, hess_fn)


# --------------------------------------------------------------------------- the runs
@dataclass
class Outcome:
    solver: str
    f: float
    nfev: int
    njev: int
    nhev: int
    nit: int
    solved: bool


def solved(problem: MGHProblem, f0: float, f: float) -> bool:
    """The criterion of the module docstring, against every minimum the paper lists."""
    if not math.isfinite(f):
        return False
    for f_star in problem.minima:
        # plus the rounding of the paper's 6 significant digits
        tol = 1e-6 * min(f0 - f_star, max(abs(f_star), 1e-3)) + 5e-6 * abs(f_star)
        if f - f_star <= tol:
            return True
    return False


def run_steepest(c: Compiled, method: str) -> Outcome:
    import steepest as st
    p = c.problem
    kwargs: dict[str, Any] = {"hess": c.hess} if method == "newton" else {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = st.minimize(c.fun, np.array(p.x0), method=method, jac=c.jac, max_iter=MAX_ITER,
                        gtol=GTOL, diagnose=False, **kwargs)
    f0 = c.fun(np.array(p.x0))
    return Outcome(method, float(r.fun), int(r.nfev), int(r.njev), int(r.get("nhev", 0)),
                   int(r.nit), solved(p, f0, float(r.fun)))


def run_scipy(c: Compiled, method: str) -> Outcome:
    from scipy.optimize import minimize
    p = c.problem
    options: dict[str, Any] = {"maxiter": MAX_ITER}
    kwargs: dict[str, Any] = {"jac": c.jac}
    if method in ("trust-exact", "Newton-CG"):
        kwargs["hess"] = c.hess
    if method in ("BFGS", "CG", "trust-exact"):
        options["gtol"] = GTOL
    if method == "L-BFGS-B":
        options.update(gtol=GTOL, ftol=1e-15, maxcor=10, maxfun=4 * MAX_ITER)
    if method == "Newton-CG":
        options["xtol"] = 1e-12
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            r = minimize(c.fun, np.array(p.x0), method=method, options=options, **kwargs)
            f = float(r.fun)
            nfev, njev, nhev, nit = (int(r.get(k, 0) or 0) for k in ("nfev", "njev", "nhev",
                                                                       "nit"))
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            f, nfev, njev, nhev, nit = math.nan, 0, 0, 0, 0
    f0 = c.fun(np.array(p.x0))
    return Outcome(method, f, nfev, njev, nhev, nit, solved(p, f0, f))


def run_all(numbers: Sequence[int] | None = None, methods: Sequence[str] = tuple(PAIRS)
            ) -> dict[int, dict[str, Outcome]]:
    """Every chosen problem with every chosen steepest method and its scipy counterparts."""
    table: dict[int, dict[str, Outcome]] = {}
    for problem in PROBLEMS:
        if numbers is not None and problem.number not in numbers:
            continue
        c = compiled(problem.number)
        row: dict[str, Outcome] = {}
        for method in methods:
            row[method] = run_steepest(c, method)
            for other in PAIRS[method]:
                row[other] = run_scipy(c, other)
        table[problem.number] = row
    return table


# --------------------------------------------------------------------------- the report
def _cell(o: Outcome) -> str:
    return f"{'✓' if o.solved else '✗'} {o.nfev}"


def markdown(table: dict[int, dict[str, Outcome]], methods: Sequence[str] = tuple(PAIRS)) -> str:
    solvers = [s for m in methods for s in (m, *PAIRS[m])]
    heads = ["#", "problem", "n"] + [f"`{s}`" for s in solvers]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    by_number = {p.number: p for p in PROBLEMS}
    for number, row in table.items():
        p = by_number[number]
        lines.append("| " + " | ".join([str(number), p.name, str(p.n)]
                                       + [_cell(row[s]) for s in solvers]) + " |")
    totals = []
    for s in solvers:
        outcomes = [row[s] for row in table.values()]
        totals.append(f"{sum(o.solved for o in outcomes)}/{len(outcomes)}")
    lines.append("| | **solved** | | " + " | ".join(totals) + " |")
    lines.append("")
    lines += verdicts(table, methods)
    return "\n".join(lines)


def verdicts(table: dict[int, dict[str, Outcome]], methods: Sequence[str] = tuple(PAIRS)
             ) -> list[str]:
    """One line per pair: does steepest solve every problem its counterpart solves, and the
    median ratio of function evaluations on the problems both solve."""
    lines = []
    for method in methods:
        for other in PAIRS[method]:
            missed = [n for n, row in table.items() if row[other].solved and not row[method].solved]
            both = [row for row in table.values() if row[other].solved and row[method].solved]
            ratios = [row[method].nfev / max(row[other].nfev, 1) for row in both]
            median = float(np.median(ratios)) if ratios else math.nan
            verdict = "PASS" if not missed else "MISS"
            lines.append(f"- {verdict} `{method}` vs `{other}`: solves "
                         f"{sum(r[method].solved for r in table.values())} of {len(table)} "
                         f"(scipy {sum(r[other].solved for r in table.values())}); "
                         + (f"misses {missed}; " if missed else "")
                         + f"median nfev ratio {median:.2f} over the {len(both)} both solve")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="problem numbers, comma-separated (e.g. 7,21)")
    parser.add_argument("--methods", default=",".join(PAIRS))
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args(argv)
    numbers = [int(v) for v in args.only.split(",")] if args.only else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    table = run_all(numbers, methods)
    print(markdown(table, methods))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump({str(n): {s: o.__dict__ for s, o in row.items()} for n, row in table.items()},
                      stream, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
