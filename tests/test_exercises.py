"""steepest.exercises: a correct answer passes, a wrong one fails at the step where it first differs."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import exercises, schedules


def momentum_torch_form(x, g, state, t, lr, momentum):
    buf = state.get("buf")
    state["buf"] = g.copy() if buf is None else momentum * buf + g
    return x - lr * state["buf"]


def adam(x, g, state, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


def test_correct_updates_pass():
    assert exercises.check_update(lambda x, g, s, t, lr: x - lr * g, "sgd", lr=0.05)
    assert exercises.check_update(momentum_torch_form, "sgd", lr=0.05, momentum=0.9, steps=10)
    assert exercises.check_update(adam, "adam", lr=0.1, steps=10)


def test_missing_bias_correction_fails_at_the_first_step():
    def no_correction(x, g, state, t, lr, betas=(0.9, 0.999), eps=1e-8):
        state["m"] = betas[0] * state.get("m", 0.0) + (1 - betas[0]) * g
        state["v"] = betas[1] * state.get("v", 0.0) + (1 - betas[1]) * g * g
        return x - lr * state["m"] / (np.sqrt(state["v"]) + eps)

    result = exercises.check_update(no_correction, "adam", lr=0.1)
    assert not result and result.step == 1
    assert "first differ at step 1" in str(result)


def test_textbook_momentum_differs_from_torch_form_only_when_lr_changes():
    # The two forms agree under a constant lr (docs/momentum.md), so the checker passes both...
    def textbook(x, g, state, t, lr, momentum):
        state["d"] = momentum * state.get("d", 0.0) + lr * g
        return x - state["d"]

    assert exercises.check_update(textbook, "sgd", lr=0.05, momentum=0.9, steps=8)
    # ...but a wrong momentum coefficient shows from the second step on.
    def wrong(x, g, state, t, lr, momentum):
        return momentum_torch_form(x, g, state, t, lr, momentum * 0.5)

    result = exercises.check_update(wrong, "sgd", lr=0.05, momentum=0.9)
    assert result.step == 2 and result.expected.shape == (3,)


def test_gradient_and_schedule_checks():
    f = lambda x: (st.tanh(x) * x).sum()  # noqa: E731
    right = lambda x: np.tanh(x) + x * (1 - np.tanh(x) ** 2)  # noqa: E731
    points = np.random.default_rng(0).normal(size=(5, 4))
    assert exercises.check_gradient(right, f, points)
    wrong = exercises.check_gradient(lambda x: np.tanh(x), f, points)
    assert not wrong and wrong.step == 1
    assert exercises.check_schedule(lambda t: 1 / t, schedules.parse("1/t"))
    late = exercises.check_schedule(lambda t: 1 / t if t < 50 else 0.0, schedules.parse("1/t"))
    assert late.step == 50


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="optimizer"):
        exercises.check_update(lambda *a, **k: 0, "adma", lr=0.1)
    with pytest.raises(TypeError, match="student"):
        exercises.check_update(None, "sgd", lr=0.1)
    result = exercises.check_update(lambda x, g, s, t, lr: x[:2], "sgd", lr=0.1)
    assert not result and "shape" in result.detail
