"""Moré and Thuente's line search (steepest.optim.line_search.more_thuente).

The first part drives steepest's search and SciPy's port of MINPACK-2's ``dcsrch``
(``scipy.optimize._dcsrch.DCSRCH``, private, so skipped when it is missing or its interface
changed) side by side on many smooth 1-D and n-D problems, and checks that both try the same
sequence of steps, stop at the same step and say the same thing. The rest needs no SciPy: the
conditions at convergence, the warning exits, the budget, the arguments, non-finite values, and
the search through ``get("more-thuente")`` in SGD and minimize.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st
from steepest import optim
from steepest.optim import line_search as ls

#: The agreement asked of steepest's trial steps with SciPy's (it reached 0: bitwise equal).
MAX_ULPS = 4

_TASKS = {b"CONVERGENCE": "convergence", b"WARNING: ROUNDING ERRORS PREVENT PROGRESS":
          "rounding_errors", b"WARNING: XTOL TEST SATISFIED": "xtol",
          b"WARNING: STP = STPMAX": "alpha_max", b"WARNING: STP = STPMIN": "alpha_min"}


# ------------------------------------------------------------------------------ problems
def paper_function(number: int):
    """The six test functions of Moré and Thuente (1994), section 5: phi(a) -> (value, slope)."""
    if number == 1:
        b = 2.0
        return lambda a: (-a / (a * a + b), (a * a - b) / (a * a + b) ** 2)
    if number == 2:
        b = 0.004
        return lambda a: ((a + b) ** 5 - 2 * (a + b) ** 4, 5 * (a + b) ** 4 - 8 * (a + b) ** 3)
    if number == 3:
        b, l = 0.01, 39

        def phi(a):
            if a <= 1 - b:
                f0, d0 = 1 - a, -1.0
            elif a >= 1 + b:
                f0, d0 = a - 1, 1.0
            else:
                f0, d0 = (a - 1) ** 2 / (2 * b) + b / 2, (a - 1) / b
            w = l * math.pi / 2
            return (f0 + 2 * (1 - b) / (l * math.pi) * math.sin(w * a),
                    d0 + (1 - b) * math.cos(w * a))
        return phi
    b1, b2 = {4: (0.001, 0.001), 5: (0.01, 0.001), 6: (0.001, 0.01)}[number]

    def gamma(b):
        return math.sqrt(1 + b * b) - b

    def phi(a):
        u, v = math.sqrt((1 - a) ** 2 + b2 * b2), math.sqrt(a * a + b1 * b1)
        return gamma(b1) * u + gamma(b2) * v, -gamma(b1) * (1 - a) / u + gamma(b2) * a / v
    return phi


def one_dimensional(rng: np.random.Generator, kind: int):
    """A smooth phi(a) -> (value, slope) with phi'(0) < 0, of one of five kinds."""
    if kind == 0:  # a quadratic, curvature from 1e-8 to 1e8
        c, m = 10 ** rng.uniform(-8, 8), 10 ** rng.uniform(-4, 4)
        return lambda a: (0.5 * c * (a - m) ** 2, c * (a - m))
    if kind == 1:  # a logistic loss with a small penalty
        s, shift, lam = 10 ** rng.uniform(-3, 3), rng.uniform(-2, 5), 10 ** rng.uniform(-4, 0)
        return lambda a: (float(np.logaddexp(0.0, shift - s * a)) + lam * a * a,
                          -s * float(np.exp(-np.logaddexp(0.0, s * a - shift))) + 2 * lam * a)
    if kind == 2:  # a quartic with a flat or a steep valley
        c, k = rng.uniform(-1, 1), 10 ** rng.uniform(-3, 3)
        return lambda a: (k * (1 - a) ** 4 + c * a * a - (1 + abs(c)) * a,
                          -4 * k * (1 - a) ** 3 + 2 * c * a - (1 + abs(c)))
    if kind == 3:  # a cubic-free oscillating valley
        w, s = rng.uniform(1, 30), 10 ** rng.uniform(-2, 2)
        return lambda a: (s * ((a - 1) ** 2 + 0.3 * math.sin(w * a) / w - 0.3 * a),
                          s * (2 * (a - 1) + 0.3 * math.cos(w * a) - 0.3))
    if kind == 4:
        return paper_function(int(rng.integers(1, 7)))
    # the rough kinds, where values and slopes disagree (dcsrch's warnings come from these)
    m = rng.uniform(0.1, 2.0)
    if kind == 5:  # values rounded to a grid (a loss at its rounding level)
        q = 10 ** rng.uniform(-6, -1)
        return lambda a: (round((a - m) ** 2 / q) * q, 2 * (a - m))
    return lambda a: ((a - m) ** 2, -1.0)  # a slope that claims descent everywhere


#: The smooth kinds of :func:`one_dimensional`; 5 and 6 are rough.
SMOOTH, ROUGH = range(5), range(5, 7)


def rosenbrock(x):
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return float(f), g


def n_dimensional(rng: np.random.Generator, kind: int):
    """``(fun_and_grad, x)`` for Rosenbrock, an ill-conditioned quadratic or a logistic loss."""
    n = int(rng.integers(2, 12))
    if kind == 0:
        return rosenbrock, rng.uniform(-2, 2, n)
    if kind == 1:
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        matrix = (q * np.geomspace(10 ** rng.uniform(-4, 0), 10 ** rng.uniform(0, 8), n)) @ q.T
        b = rng.standard_normal(n)
        return (lambda x: (float(0.5 * x @ matrix @ x - b @ x), matrix @ x - b)), \
            rng.standard_normal(n)
    A = rng.standard_normal((30, n)) * 10 ** rng.uniform(-1, 1)
    y = np.where(rng.random(30) < 0.5, -1.0, 1.0)

    def logistic(w):
        margins = y * (A @ w)
        p = np.exp(-np.logaddexp(0.0, margins))  # sigmoid(-margin)
        return float(np.logaddexp(0.0, -margins).mean() + 1e-3 * w @ w), \
            -(A.T @ (y * p)) / 30 + 2e-3 * w
    return logistic, rng.standard_normal(n)


def draw_options(rng: np.random.Generator, max_evals: int = 40) -> dict:
    """The search's parameters: starting steps from 1e-8 to 1e8, several c1, c2 and xtol, and
    sometimes tight bounds on the step (to reach the alpha_min and alpha_max warnings)."""
    c1, c2 = [(1e-4, 0.9), (1e-3, 0.9), (1e-3, 0.1), (0.1, 0.5), (0.3, 0.4),
              (1e-3, 0.01)][rng.integers(6)]
    alpha0 = 10 ** rng.uniform(-8, 8)
    options = {"alpha0": alpha0, "c1": c1, "c2": c2, "xtol": [0.0, 1e-4, 0.1, 0.5][rng.integers(4)],
               "alpha_min": 0.0, "alpha_max": 1e10, "max_evals": max_evals}
    bounds = rng.integers(4)
    if bounds == 1:
        options["alpha_max"] = alpha0 * 10 ** rng.uniform(0, 3)
    elif bounds == 2:
        options["alpha_min"] = alpha0 * 10 ** rng.uniform(-3, 0)
    return options


def along(fun_and_grad, x, direction):
    """phi(a) = f(x + a d) and phi'(a), on floats, from an n-D ``fun_and_grad``."""
    def phi(a):
        f, g = fun_and_grad(x + a * direction)
        return float(f), float(np.vdot(g, direction))
    return phi


# ------------------------------------------------------------------------------ the reference
def scipy_dcsrch():
    """SciPy's DCSRCH class, or skip: it is private and may move or change."""
    module = pytest.importorskip("scipy.optimize._dcsrch")
    try:
        search = module.DCSRCH(None, None, 1e-3, 0.9, 0.1, 0.0, 1e10)
        stp, f, g, task = search._iterate(1.0, 0.0, -1.0, b"START")
    except (AttributeError, TypeError, ValueError) as error:
        pytest.skip(f"scipy.optimize._dcsrch.DCSRCH changed its interface: {error}")
    if task[:2] != b"FG" or stp != 1.0:
        pytest.skip(f"scipy.optimize._dcsrch.DCSRCH changed its protocol: {task!r}")
    return module.DCSRCH


def run_scipy(DCSRCH, phi, f0, slope0, options):
    """Drive DCSRCH as L-BFGS-B does: ``(trial steps, final step or None, status)``."""
    search = DCSRCH(None, None, options["c1"], options["c2"], options["xtol"],
                    options["alpha_min"], options["alpha_max"])
    stp, f, g, task = options["alpha0"], f0, slope0, b"START"
    steps = []
    while True:
        stp, f, g, task = search._iterate(stp, f, g, task)
        if task[:2] != b"FG":
            return steps, float(stp), _TASKS.get(task.rstrip(b" \x00"), task)
        if len(steps) == options["max_evals"]:
            return steps, None, "max_evals"
        steps.append(float(stp))
        f, g = phi(float(stp))


def run_steepest(fun_and_grad, x, direction, f0, g0, options):
    steps = []

    def recorded(point):
        steps.append(point)
        return fun_and_grad(point)

    result = ls.more_thuente(recorded, x, direction, f0, g0, **options)
    trials = [float(np.vdot(p - x, direction) / np.vdot(direction, direction)) if x.size > 1
              else float((p - x)[0] / direction[0]) for p in steps]
    return steps, trials, result


def assert_same_search(DCSRCH, fun_and_grad, x, direction, options, seen):
    f0, g0 = fun_and_grad(x)
    phi = along(fun_and_grad, x, direction)
    slope0 = float(np.vdot(g0, direction))
    ref_steps, ref_final, ref_status = run_scipy(DCSRCH, phi, float(f0), slope0, options)
    points, _, result = run_steepest(fun_and_grad, x, direction, f0, g0, options)
    # steepest evaluates x + a d; recover each a exactly by evaluating scipy's steps the same way
    ours = [np.asarray(p) for p in points]
    theirs = [x + a * direction for a in ref_steps]
    context = f"{options}, scipy tried {ref_steps} -> {ref_status}; steepest: {result}"
    assert len(ours) == len(theirs), context
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_array_max_ulp(mine, reference, maxulp=MAX_ULPS)
    assert result.status == ref_status, context
    if ref_final is None:
        assert not result.success and result.step == 0.0, context
    else:
        assert result.success, context
        np.testing.assert_array_max_ulp(result.step, ref_final, maxulp=MAX_ULPS)
        assert result.nfev == len(ref_steps)
    seen[ref_status] = seen.get(ref_status, 0) + 1


def assert_same_steps_1d(DCSRCH, phi, options, seen):
    """The 1-D case with the step itself compared (x = 0, d = 1, so x + a d is a)."""
    def fun_and_grad(x):
        f, d = phi(float(x[0]))
        return f, np.array([d])
    f0, slope0 = phi(0.0)
    if not slope0 < 0:
        return
    ref_steps, ref_final, ref_status = run_scipy(DCSRCH, phi, f0, slope0, options)
    _, trials, result = run_steepest(fun_and_grad, np.zeros(1), np.ones(1), f0,
                                     np.array([slope0]), options)
    context = f"{options}, scipy tried {ref_steps} -> {ref_status}; steepest tried {trials}"
    assert len(trials) == len(ref_steps), context
    np.testing.assert_array_max_ulp(np.array(trials), np.array(ref_steps), maxulp=MAX_ULPS)
    assert result.status == ref_status, context
    if ref_final is not None:
        np.testing.assert_array_max_ulp(result.step, ref_final, maxulp=MAX_ULPS)
    seen[ref_status] = seen.get(ref_status, 0) + 1


@pytest.mark.parametrize("kind", SMOOTH)
def test_trial_steps_are_scipys_on_one_dimensional_problems(kind):
    DCSRCH = scipy_dcsrch()
    rng = np.random.default_rng(1000 + kind)
    seen: dict = {}
    for _ in range(400):
        assert_same_steps_1d(DCSRCH, one_dimensional(rng, kind), draw_options(rng), seen)
    assert seen.get("convergence", 0) > 50 and sum(seen.values()) > 300, seen


@pytest.mark.parametrize("kind", ROUGH)
def test_trial_steps_are_scipys_where_values_and_slopes_disagree(kind):
    DCSRCH = scipy_dcsrch()
    rng = np.random.default_rng(1500 + kind)
    seen: dict = {}
    for _ in range(300):
        assert_same_steps_1d(DCSRCH, one_dimensional(rng, kind), draw_options(rng, 100), seen)
    assert seen.get("rounding_errors", 0) > 0 and seen.get("xtol", 0) > 0, seen


@pytest.mark.parametrize("number", range(1, 7))
@pytest.mark.parametrize("alpha0", [1e-3, 1e-1, 10.0, 1e3])
def test_trial_steps_are_scipys_on_the_papers_functions(number, alpha0):
    # the paper's table: its six functions from its four starting steps, with (c1, c2) as there
    # (function 3's c1 = c2 = 0.1 is not allowed here: 0.1 < 0.11)
    DCSRCH = scipy_dcsrch()
    c1, c2 = {1: (1e-3, 0.1), 2: (0.1, 0.1 + 0.01), 3: (0.1, 0.11)}.get(number, (1e-3, 2e-3))
    for xtol in (0.1, 1e-10):
        options = {"alpha0": alpha0, "c1": c1, "c2": c2, "xtol": xtol, "alpha_min": 0.0,
                   "alpha_max": 1e10, "max_evals": 40}
        assert_same_steps_1d(DCSRCH, paper_function(number), options, {})


@pytest.mark.parametrize("kind", range(3))
def test_trial_steps_are_scipys_on_n_dimensional_problems(kind):
    DCSRCH = scipy_dcsrch()
    rng = np.random.default_rng(2000 + kind)
    seen: dict = {}
    for _ in range(150):
        fun_and_grad, x = n_dimensional(rng, kind)
        _, g = fun_and_grad(x)
        direction = -g + rng.standard_normal(x.size) * np.linalg.norm(g) * rng.uniform(0, 0.7)
        if not direction @ g < 0:
            direction = -g
        assert_same_search(DCSRCH, fun_and_grad, x, direction, draw_options(rng), seen)
    assert seen.get("convergence", 0) > 30, seen


def test_every_exit_of_scipys_search_is_reproduced():
    # across the random problems above, each of dcsrch's exits comes up and agrees
    DCSRCH = scipy_dcsrch()
    rng = np.random.default_rng(3000)
    seen: dict = {}
    for i in range(1400):
        assert_same_steps_1d(DCSRCH, one_dimensional(rng, i % 7), draw_options(rng, 100), seen)
    for status in ("convergence", "rounding_errors", "xtol", "alpha_max", "alpha_min"):
        assert seen.get(status, 0) > 0, seen


# ------------------------------------------------------------------------------ without SciPy
def fun_and_grad_1d(phi):
    def fun_and_grad(x):
        f, d = phi(float(x[0]))
        return f, np.array([d])
    return fun_and_grad


def search_1d(phi, **options):
    f0, slope0 = phi(0.0)
    return ls.more_thuente(fun_and_grad_1d(phi), np.zeros(1), np.ones(1), f0,
                           np.array([slope0]), **options)


# Searches on the paper's functions as SciPy's port of dcsrch runs them (computed with it, and
# equal to steepest's bit for bit), with xtol = 0.1: (function, alpha0, c1, c2) -> (evaluations,
# final step, status). The first two are the paper's Table 1 (6 evaluations to 1.4 and 4 to 37).
PAPER = {
    (1, 1e-3, 1e-3, 0.1): (6, 1.365, "convergence"),
    (1, 1e3, 1e-3, 0.1): (4, 36.88760696396662, "convergence"),
    (2, 1e-3, 0.1, 0.11): (11, 1.5975830448985595, "xtol"),
    (3, 1e-1, 0.1, 0.11): (9, 0.9858519280776707, "xtol"),
    (4, 10.0, 1e-3, 2e-3): (3, 0.3491046164172457, "convergence"),
    (5, 1e-3, 1e-3, 2e-3): (6, 0.07501087060006814, "convergence"),
    (6, 1e3, 1e-3, 2e-3): (10, 0.9124553919820417, "xtol"),
}


@pytest.mark.parametrize("case", list(PAPER))
def test_pinned_searches_on_the_papers_functions(case):
    number, alpha0, c1, c2 = case
    result = search_1d(paper_function(number), alpha0=alpha0, c1=c1, c2=c2, max_evals=40)
    assert (result.nfev, result.step, result.status) == PAPER[case], result


@pytest.mark.parametrize("seed", range(40))
def test_a_converged_step_satisfies_both_conditions(seed):
    rng = np.random.default_rng(seed)
    fun_and_grad, x = n_dimensional(rng, seed % 3)
    f0, g0 = fun_and_grad(x)
    c1, c2 = [(1e-4, 0.9), (1e-3, 0.1), (0.1, 0.5)][seed % 3]
    result = ls.more_thuente(fun_and_grad, x, -g0, f0, g0, alpha0=10 ** rng.uniform(-6, 6),
                             c1=c1, c2=c2, xtol=1e-12, max_evals=60)
    assert result.success and result.status == "convergence", result
    f, g = fun_and_grad(x + result.step * -g0)
    slope0 = float(g0 @ -g0)
    assert result.fun == f and np.array_equal(result.grad, g)
    assert f <= f0 + c1 * result.step * slope0
    assert abs(float(g @ -g0)) <= c2 * abs(slope0)


def test_the_first_step_is_taken_when_it_is_acceptable():
    # phi(a) = (a - 1)^2: from a = 1 (the minimiser) nothing more is tried
    result = search_1d(lambda a: ((a - 1) ** 2, 2 * (a - 1)), alpha0=1.0)
    assert (result.step, result.nfev, result.status) == (1.0, 1, "convergence")


def test_alpha_max_warning_takes_the_largest_step():
    # a line: the function decreases forever; the step stops at alpha_max, taken with a warning
    result = search_1d(lambda a: (-a, -1.0), alpha0=1.0, alpha_max=100.0)
    assert result.success and result.status == "alpha_max" and result.step == 100.0
    assert "alpha_max" in result.message and result.fun == -100.0


def test_alpha_min_warning_takes_the_smallest_step():
    # the function rises steeply past 1e-3; steps below alpha_min = 0.5 are not allowed
    result = search_1d(lambda a: ((a - 1e-3) ** 2 - 2e-3 * a, 2 * (a - 1e-3) - 2e-3),
                       alpha0=1.0, alpha_min=0.5)
    assert result.success and result.status == "alpha_min" and result.step == 0.5


def test_xtol_warning_stops_on_a_narrow_bracket():
    # c2 so tight that only the exact minimiser passes: a wide xtol stops the search first
    phi = lambda a: ((a - 1.0) ** 4 - a, 4 * (a - 1.0) ** 3 - 1)  # noqa: E731
    result = search_1d(phi, alpha0=10.0, c1=1e-7, c2=1e-6, xtol=0.5)
    assert result.success and result.status == "xtol" and 0 < result.step
    f0, slope0 = phi(0.0)
    assert result.fun <= f0 + 1e-7 * result.step * slope0  # the step decreases enough
    assert abs(result.grad[0]) > 1e-6 * abs(slope0)  # but is not flat
    tight = search_1d(phi, alpha0=10.0, c1=1e-7, c2=1e-6, xtol=1e-15, max_evals=100)
    assert tight.status == "convergence" and tight.nfev > result.nfev


def test_rounding_errors_warning_when_the_slope_is_inconsistent_with_the_values():
    # the slope claims descent everywhere, the values have their minimum at 0.5: with xtol = 0
    # the bracket shrinks around 0.5 until the next trial cannot fall inside it, and the search
    # ends at its best point with the rounding-errors warning (with xtol > 0, on xtol first)
    phi = lambda a: ((a - 0.5) ** 2, -1.0)  # noqa: E731
    result = search_1d(phi, alpha0=1.0, xtol=0.0, max_evals=100)
    assert result.status == "rounding_errors" and result.success, result
    assert result.step == pytest.approx(0.5, abs=1e-3) and result.nfev < 100
    assert search_1d(phi, alpha0=1.0, xtol=1e-4, max_evals=100).status == "xtol"


def test_out_of_evaluations_fails_and_does_not_move():
    phi = lambda a: (0.5 * (a - 1e4) ** 2, a - 1e4)  # noqa: E731
    calls = []

    def counted(x):
        calls.append(1)
        return fun_and_grad_1d(phi)(x)

    g0 = np.array([phi(0.0)[1]])
    result = ls.more_thuente(counted, np.zeros(1), np.ones(1), phi(0.0)[0], g0, alpha0=1e-6,
                             max_evals=3)
    assert not result.success and result.status == "max_evals" and result.nfev == 3
    assert len(calls) == 3 and result.step == 0.0 and result.grad is g0
    assert "max_evals=3" in result.message
    # with room it converges: the failure above was the budget
    assert search_1d(phi, alpha0=1e-6, max_evals=40).status == "convergence"


def test_non_finite_values_make_the_search_step_back():
    # -log(1 + a) decreases; past a = 3 it is +inf (NaN slope): a long first step lands there
    def walled(a):
        if a >= 3:
            return math.inf, math.nan
        return -math.log1p(a), -1 / (1 + a)

    steps = []
    phi = fun_and_grad_1d(walled)

    def recorded(x):
        steps.append(float(x[0]))
        return phi(x)

    result = ls.more_thuente(recorded, np.zeros(1), np.ones(1), 0.0, np.array([-1.0]),
                             alpha0=100.0, c1=1e-4, c2=0.9, max_evals=40)
    assert result.success and math.isfinite(result.fun) and 0 < result.step < 3, result
    assert steps[1] == 50.0  # halfway back to the best step (0)
    assert all(s < 100.0 for s in steps[1:])  # and never that far again
    nan_everywhere = search_1d(lambda a: (math.nan, math.nan) if a > 0 else (0.0, -1.0),
                               alpha0=1.0, max_evals=10)
    assert not nan_everywhere.success and nan_everywhere.step == 0.0
    bounded = search_1d(lambda a: (math.nan, math.nan) if a > 0 else (0.0, -1.0), alpha0=1.0,
                        alpha_min=1.0)
    assert bounded.status == "non_finite" and bounded.nfev == 1 and "alpha_min" in bounded.message


def test_ascent_and_zero_directions_are_reported_without_evaluating():
    calls = []

    def fun_and_grad(x):
        calls.append(1)
        return float(x @ x), 2 * x

    x = np.ones(2)
    up = ls.more_thuente(fun_and_grad, x, 2 * x, 2.0, 2 * x)
    assert not up.success and up.status == "not_descent" and up.step == 0.0 and up.fun == 2.0
    zero = ls.more_thuente(fun_and_grad, x, np.zeros(2), 2.0, 2 * x)
    assert zero.success and zero.status == "zero_direction" and zero.step == 0.0
    assert calls == [] and up.nfev == zero.nfev == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"c1": 0.5, "c2": 0.5}, "needs 0 < c1 < c2 < 1, got c1=0.5 and c2=0.5"),
    ({"c1": 0.0}, r"c1 must be in \(0, 1\)"),
    ({"c2": 1.0}, r"c2 must be in \(0, 1\)"),
    ({"xtol": -0.1}, r"xtol must be in \[0, 1\), got -0.1"),
    ({"xtol": 1.0}, r"xtol must be in \[0, 1\)"),
    ({"alpha_min": -1.0}, r"alpha_min must be in \[0, inf\)"),
    ({"alpha_min": 2.0, "alpha_max": 1.0}, r"alpha_max must be in \(2, inf\), got 1.0"),
    ({"alpha_max": math.inf}, "alpha_max must be in"),
    ({"alpha0": 0.0}, "alpha0 must be > 0, got 0.0"),
    ({"alpha0": 0.5, "alpha_min": 1.0}, r"alpha0 must be in \[1, 1e\+10\], got 0.5"),
    ({"alpha0": 20.0, "alpha_max": 10.0}, r"alpha0 must be in \[0, 10\]"),
    ({"max_evals": 0}, r"max_evals must be in \[1, inf\), got 0"),
])
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match="MoreThuente: " + message):
        ls.MoreThuente(**kwargs)
    phi = fun_and_grad_1d(lambda a: ((a - 1) ** 2, 2 * (a - 1)))
    with pytest.raises(ValueError, match="more_thuente: " + message):
        ls.more_thuente(phi, np.zeros(1), np.ones(1), 1.0, np.array([-2.0]), **kwargs)


def test_inputs_are_checked():
    phi = fun_and_grad_1d(lambda a: ((a - 1) ** 2, 2 * (a - 1)))
    with pytest.raises(ValueError, match="more_thuente: x, direction and g0 must have one shape"):
        ls.more_thuente(phi, np.zeros(1), np.ones(2), 1.0, np.array([-2.0]))
    with pytest.raises(ValueError, match=r"more_thuente: f0 must be in"):
        ls.more_thuente(phi, np.zeros(1), np.ones(1), math.nan, np.array([-2.0]))
    with pytest.raises(TypeError, match="more_thuente: c1 must be a real number"):
        ls.more_thuente(phi, np.zeros(1), np.ones(1), 1.0, np.array([-2.0]), c1="0.1")


# ------------------------------------------------------------------------------ where it is used
def test_get_resolves_the_name():
    for name in ("more-thuente", "More-Thuente", "more_thuente"):
        assert isinstance(ls.get(name), ls.MoreThuente)
    search = ls.MoreThuente(c1=1e-4, xtol=0.01, alpha0=2.0)
    assert ls.get(search) is search
    assert repr(search) == ("MoreThuente(c1=0.0001, c2=0.9, xtol=0.01, alpha_min=0.0, "
                            "alpha_max=10000000000.0, max_evals=20, alpha0=2.0)")
    with pytest.raises(ValueError, match="'more-thuente'"):
        ls.get("more")


def test_object_runs_the_function_with_its_parameters():
    rng = np.random.default_rng(5)
    fun_and_grad, x = n_dimensional(rng, 1)
    f0, g0 = fun_and_grad(x)
    a = ls.MoreThuente(c1=0.2, c2=0.3, xtol=0.01, alpha0=5.0, max_evals=30).search(
        fun_and_grad, x, -g0, f0, g0)
    b = ls.more_thuente(fun_and_grad, x, -g0, f0, g0, alpha0=5.0, c1=0.2, c2=0.3, xtol=0.01,
                        max_evals=30)
    assert (a.step, a.fun, a.nfev, a.status) == (b.step, b.fun, b.nfev, b.status)


def test_sgd_with_more_thuente_descends():
    A = np.diag([1.0, 3.0, 10.0])
    B = np.array([1.0, -1.0, 2.0])
    x = st.tensor(np.zeros(3), requires_grad=True)
    opt = optim.SGD([x], lr=1.0, line_search="more-thuente")

    def closure():
        loss = 0.5 * (x @ (A @ x)) - x @ B
        loss.backward()
        return loss

    losses = []
    while len(losses) < 200 and (x.grad is None or np.linalg.norm(x.grad) > 1e-7):
        losses.append(float(opt.step(closure)))
    assert opt.last_line_search.status in ("convergence", "rounding_errors", "xtol")
    assert all(b <= a for a, b in zip(losses, losses[1:], strict=False))
    np.testing.assert_allclose(x.data, np.linalg.solve(A, B), atol=1e-6)


@pytest.mark.parametrize("method", ["gd", "bfgs", "lbfgs", "cg", "newton"])
def test_minimize_takes_more_thuente(method):
    result = st.minimize(lambda x: st.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                         np.array([-1.2, 1.0]), method=method, line_search="more-thuente",
                         max_iter=20000 if method == "gd" else 500, gtol=1e-5)
    assert result.success, result.message
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-3)
