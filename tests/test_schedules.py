"""steepest.schedules: values, Robbins-Monro verdicts, serialisation, parsing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from steepest import schedules as S

GOLDEN = Path(__file__).resolve().parent / "golden" / "optim" / "schedulers.json"


# ---------------------------------------------------------------------- values
def test_values_of_each_family():
    assert S.constant(0.3).values(3).tolist() == [0.3, 0.3, 0.3]
    np.testing.assert_allclose(S.inverse_power(0.5).values(4), [0.5, 0.25, 0.5 / 3, 0.125])
    np.testing.assert_allclose(S.inverse_power(1.0, p=0.5).values(3), [1, 2 ** -0.5, 3 ** -0.5])
    np.testing.assert_allclose(S.inverse_time(1.0, decay=0.5).values(3), [1 / 1.5, 1 / 2, 1 / 2.5])
    assert S.step(1.0, step_size=2, gamma=0.5).values(6).tolist() == [1, 1, .5, .5, .25, .25]
    np.testing.assert_allclose(S.exponential(2.0, gamma=0.5).values(3), [2.0, 1.0, 0.5])


def test_cosine_anneals_from_lr0_to_lr_min_and_stays():
    schedule = S.cosine(0.1, total_steps=10, lr_min=0.01)
    values = schedule.values(15)
    assert values[0] == 0.1 and values[10] == pytest.approx(0.01)
    assert values[5] == pytest.approx(0.055)  # halfway
    assert np.all(np.diff(values[:11]) < 0) and np.all(values[10:] == 0.01)


def test_warmup_ramps_linearly_then_runs_the_wrapped_schedule_from_its_start():
    inner = S.cosine(1.0, total_steps=4)
    schedule = S.warmup(inner, warmup_steps=4, start=0.2)
    values = schedule.values(9)
    np.testing.assert_allclose(values[:4], [0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(values[4:], inner.values(5))
    assert S.warmup(0.1, warmup_steps=10)(1) == pytest.approx(0.01)


def test_piecewise_runs_each_piece_on_its_own_clock():
    schedule = S.piecewise([0.5, S.inverse_power(1.0), S.exponential(0.1, 0.5)], [2, 4])
    np.testing.assert_allclose(schedule.values(7), [0.5, 0.5, 1.0, 0.5, 0.1, 0.05, 0.025])


@pytest.mark.parametrize("entry", json.loads(GOLDEN.read_text()),
                         ids=lambda entry: entry["scheduler"])
def test_matches_torch_lr_schedulers(entry):
    # Epoch e of torch's scheduler is update t = e + 1 here (tests/golden/optim/schedulers.json).
    schedule = S.from_dict(entry["schedule"])
    np.testing.assert_allclose(schedule.values(len(entry["lr"])), entry["lr"], rtol=1e-9)


@pytest.mark.parametrize("t", [0, -1, 1.0, 2.5, True, "3", None])
def test_t_must_be_a_positive_integer(t):
    with pytest.raises(ValueError, match="t must be an integer >= 1"):
        S.constant(0.1)(t)


def test_numpy_integers_are_accepted():
    assert S.inverse_power(1.0)(np.int64(4)) == 0.25


# ---------------------------------------------------------------------- bad parameters
@pytest.mark.parametrize("make, message", [
    (lambda: S.constant(-0.1), r"constant: lr must be in \[0, inf\), got -0.1"),
    (lambda: S.inverse_power(0.1, p=-1.0), r"inverse_power: p must be in \[0, inf\)"),
    (lambda: S.inverse_power(float("nan")), "inverse_power: lr0 must be in"),
    (lambda: S.inverse_time(0.1, decay=-0.5), "inverse_time: decay must be in"),
    (lambda: S.step(0.1, step_size=0), r"step: step_size must be in \[1, inf\)"),
    (lambda: S.step(0.1, step_size=3, gamma=1.5), r"step: gamma must be in \(0, 1\]"),
    (lambda: S.exponential(0.1, gamma=0.0), r"exponential: gamma must be in \(0, 1\]"),
    (lambda: S.cosine(0.1, total_steps=0), "cosine: total_steps must be in"),
    (lambda: S.cosine(0.1, total_steps=10, lr_min=0.2), r"cosine: lr_min must be in \[0, 0.1\]"),
    (lambda: S.warmup(S.constant(0.1), warmup_steps=0), "warmup: warmup_steps must be in"),
    (lambda: S.piecewise([0.1, 0.2], [5, 6]), "needs one more schedule than boundaries"),
    (lambda: S.piecewise([0.1, 0.2, 0.3], [5, 5]), "strictly increasing"),
])
def test_bad_parameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [lambda: S.step(0.1, step_size=2.5),
                                  lambda: S.warmup(lambda t: 0.1, warmup_steps=3),
                                  lambda: S.piecewise(S.constant(0.1), []),
                                  lambda: S.constant("0.1")])
def test_wrong_types_are_refused(make):
    with pytest.raises(TypeError):
        make()


def test_custom_checks_what_the_function_returns():
    schedule = S.as_schedule(lambda t: 0.1 - 0.05 * t)
    assert isinstance(schedule, S.Custom) and schedule(1) == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"lr at t=3 must be in \[0, inf\)"):
        schedule(3)
    with pytest.raises(TypeError, match="cannot be serialised"):
        schedule.to_dict()
    assert schedule.robbins_monro() is None


def test_as_schedule():
    assert S.as_schedule(0.1) == S.constant(0.1)
    cosine = S.cosine(0.1, 5)
    assert S.as_schedule(cosine) is cosine
    with pytest.raises(TypeError, match="as_schedule: lr must be"):
        S.as_schedule("fast")


# ---------------------------------------------------------------------- Robbins-Monro
@given(p=hs.floats(0.0, 3.0), lr0=hs.floats(1e-6, 10.0))
def test_inverse_power_is_robbins_monro_exactly_for_p_in_half_open_interval(p, lr0):
    assert S.inverse_power(lr0, p).robbins_monro() is (0.5 < p <= 1.0)


@pytest.mark.parametrize("schedule, verdict", [
    (S.inverse_power(1.0, 1.0), True),
    (S.inverse_power(1.0, 0.5), False),  # sum of 1/t diverges
    (S.inverse_power(1.0, 1.0000001), False),  # sum of alpha converges
    (S.inverse_power(0.0, 1.0), False),
    (S.inverse_time(0.1, 0.01), True),
    (S.inverse_time(0.1, 0.0), False),
    (S.constant(0.1), False),
    (S.constant(0.0), False),
    (S.step(0.1, 10, 0.5), False),
    (S.step(0.1, 10, 1.0), False),
    (S.exponential(0.1, 0.99), False),
    (S.cosine(0.1, 100), False),
    (S.cosine(0.1, 100, lr_min=0.01), False),
    (S.warmup(S.inverse_power(0.1, 0.7), 100), True),
    (S.warmup(S.cosine(0.1, 100), 10), False),
    (S.piecewise([S.constant(0.1), S.inverse_power(0.1)], [50]), True),
    (S.piecewise([S.inverse_power(0.1), S.constant(0.1)], [50]), False),
    (S.warmup(S.Custom(lambda t: 1 / t), 5), None),
])
def test_robbins_monro_verdicts(schedule, verdict):
    assert schedule.robbins_monro() is verdict


def test_inverse_power_verdict_agrees_with_partial_sums():
    # Not a proof, a sanity check of the direction of each condition on 10^6 terms.
    t = np.arange(1, 10**6 + 1, dtype=np.float64)
    for p in (0.4, 0.75, 1.5):
        alpha = S.inverse_power(1.0, p)
        a = t ** -p
        assert alpha.values(5).tolist() == a[:5].tolist()
        sum_grows = a[: 10**5].sum() * 1.5 < a.sum()
        squares_settle = (a[: 10**5] ** 2).sum() > 0.99 * (a ** 2).sum()
        assert bool(sum_grows and squares_settle) is alpha.robbins_monro()


# ---------------------------------------------------------------------- serialisation
EXAMPLES = [
    S.constant(0.1), S.inverse_power(0.1, 0.6), S.inverse_time(0.5, 0.01),
    S.step(0.1, 30, 0.5), S.exponential(0.1, 0.99), S.cosine(0.1, 1000, 0.001),
    S.warmup(S.cosine(0.1, 100), 10, start=0.01),
    S.piecewise([S.warmup(0.1, 5), S.inverse_power(0.1)], [50]),
]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_to_dict_is_json_and_from_dict_rebuilds_it(schedule):
    data = json.loads(json.dumps(schedule.to_dict()))
    rebuilt = S.from_dict(data)
    assert rebuilt == schedule and rebuilt is not schedule
    assert rebuilt.values(60).tolist() == schedule.values(60).tolist()


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_repr_is_the_expression_that_builds_it(schedule):
    assert eval(repr(schedule), vars(S)) == schedule  # noqa: S307


@settings(max_examples=50)
@given(lr0=hs.floats(0.0, 10.0), p=hs.floats(0.0, 2.0), steps=hs.integers(1, 500))
def test_round_trip_for_any_parameters(lr0, p, steps):
    for schedule in (S.inverse_power(lr0, p), S.cosine(lr0, steps), S.warmup(S.constant(lr0),
                                                                            steps)):
        assert S.from_dict(schedule.to_dict()) == schedule
        assert hash(S.from_dict(schedule.to_dict())) == hash(schedule)


@pytest.mark.parametrize("data, message", [
    ({"type": "linear", "lr0": 0.1}, "type must be one of constant, inverse_power"),
    ({"type": "cosine", "lr0": 0.1}, "keys lr0, total_steps, lr_min"),
    ({"type": "constant", "lr": 0.1, "extra": 1}, "has the keys lr"),
    ({"lr": 0.1}, "with a 'type' key"),
    ([0.1], "with a 'type' key"),
])
def test_from_dict_refuses_malformed_data(data, message):
    with pytest.raises(ValueError, match=message):
        S.from_dict(data)


# ---------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text, expected", [
    ("0.1", S.constant(0.1)),
    (" 1e-3 ", S.constant(0.001)),
    ("const:0.3", S.constant(0.3)),
    ("1/t", S.inverse_power(1.0, 1.0)),
    ("/t", S.inverse_power(1.0, 1.0)),
    ("0.5/t", S.inverse_power(0.5, 1.0)),
    ("0.1/t^0.6", S.inverse_power(0.1, 0.6)),
    ("0.1/t**0.6", S.inverse_power(0.1, 0.6)),
    ("2/sqrt(t)", S.inverse_power(2.0, 0.5)),
    ("power:0.1:0.75", S.inverse_power(0.1, 0.75)),
    ("invtime:0.1:0.01", S.inverse_time(0.1, 0.01)),
    ("step:0.1:30:0.5", S.step(0.1, 30, 0.5)),
    ("step:0.1:30", S.step(0.1, 30, 0.1)),
    ("exp:0.1:0.99", S.exponential(0.1, 0.99)),
    ("cosine:0.1:1000", S.cosine(0.1, 1000)),
    ("Cosine:0.1:1000:0.001", S.cosine(0.1, 1000, 0.001)),
    ("warmup:100:cosine:0.1:500", S.warmup(S.cosine(0.1, 500), 100)),
    ("warmup:10:0.1/t", S.warmup(S.inverse_power(0.1), 10)),
    ("warmup:5:warmup:5:0.1", S.warmup(S.warmup(S.constant(0.1), 5), 5)),
])
def test_parse(text, expected):
    assert S.parse(text) == expected


def test_parse_cosine_takes_its_length_from_the_run():
    assert S.parse("cosine:0.1", total_steps=200) == S.cosine(0.1, 200)
    assert S.parse("warmup:100:cosine:0.1", total_steps=900) == S.warmup(S.cosine(0.1, 900), 100)


@pytest.mark.parametrize("text", [
    "", "fast", "0.1/x", "-0.1", "nan", "inf", "1/t^", "1/t^-1", "cosine:0.1", "cosine:0.1:ten",
    "exp:0.1", "exp:0.1:1.5", "step:0.1", "step:0.1:2.5", "step:0.1:0", "warmup:10",
    "warmup:x:0.1", "warmup:0:0.1", "const:", "power:0.1:0.5:1", "0.1:0.2", "linear:0.1:0.2",
])
def test_parse_refuses_malformed_text_and_shows_the_syntax(text):
    with pytest.raises(ValueError, match=r"(?s)schedules\.parse: cannot read .*accepted schedule "
                                         "syntax:.*warmup:100"):
        S.parse(text)


def test_parse_refuses_non_strings():
    with pytest.raises(TypeError, match="text must be a string"):
        S.parse(0.1)


def test_schedule_values_are_floats():
    for schedule in EXAMPLES:
        assert all(type(schedule(t)) is float for t in (1, 2, 50, 2000))
        assert all(math.isfinite(v) and v >= 0 for v in schedule.values(100))


def test_parse_accepts_n_as_the_update_number():
    # The demo page writes alpha_n = 1/n: "1/n" is the same schedule as "1/t".
    from steepest import schedules as sched

    for t_form, n_form in [("1/t", "1/n"), ("0.5/t", "0.5/n"), ("0.1/t^0.6", "0.1/n^0.6"),
                           ("0.1/sqrt(t)", "0.1/sqrt(n)"), ("0.1/t**0.6", "0.1/n**0.6")]:
        a, b = sched.parse(t_form), sched.parse(n_form)
        assert [a(k) for k in range(1, 50)] == [b(k) for k in range(1, 50)]
    with pytest.raises(ValueError):
        sched.parse("1/m")
