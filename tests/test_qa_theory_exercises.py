"""QA regressions: steepest.exercises reported "correct" without comparing anything."""

import numpy as np
import pytest

from steepest import exercises, schedules


# --------------------------------------------------------------------------- exercises
def _wrong_gd(x, g, state, t, lr):
    return x + lr * g  # the sign is wrong


@pytest.mark.parametrize("steps", [0, -3])
def test_check_update_refuses_to_pass_without_comparing_anything(steps):
    # steps=0 (or negative) compared nothing and reported "correct: the iterates of sgd agree"
    # for a wrong update rule.
    with pytest.raises(ValueError, match="steps"):
        exercises.check_update(_wrong_gd, "sgd", lr=0.1, steps=steps)


@pytest.mark.parametrize("steps", [0, -1])
def test_check_schedule_refuses_to_pass_without_comparing_anything(steps):
    with pytest.raises(ValueError, match="steps"):
        exercises.check_schedule(lambda t: 99.0, schedules.cosine(0.1, 100), steps=steps)


@pytest.mark.parametrize("points", [[], np.zeros((0, 2)), np.zeros((3, 0))])
def test_check_gradient_refuses_to_pass_without_a_point(points):
    # No point (or points of no coordinates) compared nothing and reported "correct".
    def f(x):
        return (x * x).sum()

    with pytest.raises(ValueError, match="points"):
        exercises.check_gradient(lambda x: x, f, points)


def test_checks_still_pass_and_fail_on_real_answers():
    assert exercises.check_update(lambda x, g, s, t, lr: x - lr * g, "sgd", lr=0.1, steps=1)
    assert not exercises.check_update(_wrong_gd, "sgd", lr=0.1, steps=1)
    assert exercises.check_schedule(lambda t: 0.1 / t, schedules.inverse_power(0.1), steps=1)

    def f(x):
        return (x * x).sum()

    assert exercises.check_gradient(lambda x: 2 * x, f, [1.0, -2.0])
    assert not exercises.check_gradient(lambda x: x, f, [1.0, -2.0])
