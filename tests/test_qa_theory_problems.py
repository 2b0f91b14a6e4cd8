"""QA regressions: silent wrong answers in steepest.problems."""

import numpy as np
import pytest

from steepest import problems


# --------------------------------------------------------------------------- logistic regression
@pytest.mark.parametrize("l2", [1e-9, 1e-10])
def test_logistic_regression_minimiser_is_a_minimiser_for_a_small_penalty(l2):
    # Undamped Newton from zero overshot for l2 <= 1e-9 (the data are nearly separable: the
    # sigmoid saturates, the Hessian falls to l2 * I and the step to g / l2). The "minimiser"
    # then had ||grad|| = 2.18 and f_min = 2.3e9, far above f(x0) = log 2, with no error.
    p = problems.logistic_regression(l2=l2)
    w = p.minimizers[0]
    assert np.linalg.norm(p.grad(w)) < 1e-8
    assert p.f_min == p.value(w)
    assert p.f_min < p.value(p.x0)
    # a minimiser: no lower value nearby
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert p.value(w + 1e-4 * rng.standard_normal(p.dim)) >= p.f_min


def test_logistic_regression_default_minimiser_unchanged():
    # The damping only acts where a full Newton step fails to decrease f; the default problem
    # keeps its full-step iterates.
    p = problems.logistic_regression()
    assert np.linalg.norm(p.grad(p.minimizers[0])) < 1e-12


# --------------------------------------------------------------------------- windows
@pytest.mark.parametrize("dim", [3, 5])
def test_rosenbrock_has_no_plotting_window_outside_two_dimensions(dim):
    # The window is a 2-D plotting box ("for 2-D problems a plotting window"; quadratic and
    # rastrigin give None for dim != 2), but rosenbrock(dim=3) returned the 2-D box anyway.
    assert problems.rosenbrock(dim=dim).window is None
    assert problems.rosenbrock(dim=2).window == ((-2.0, 2.0), (-1.0, 3.0))
