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
    ({"type": "sawtooth", "lr0": 0.1}, "type must be one of constant, inverse_power"),
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


# ---------------------------------------------------------------------- the cyclical and finite-run families
_LR_GOLDEN = json.loads((GOLDEN.parent / "lr_scheduler.json").read_text())
_LR_ARRAYS = np.load(GOLDEN.parent / "lr_scheduler.npz")
_LR_CASES = {case["name"]: case for case in _LR_GOLDEN["cases"]}


def _torch_lrs(name):
    """Group 0's rates of a golden torch case: epoch e is update t = e + 1 here."""
    return _LR_ARRAYS[f"{name}/lr"][:, 0], _LR_CASES[name]


@pytest.mark.parametrize("k", [0, 1, 2])
def test_warm_restarts_matches_cosine_annealing_warm_restarts(k):
    lrs, case = _torch_lrs(f"CosineAnnealingWarmRestarts-{k}")
    kw = case["schedulers"][0]["kwargs"]
    schedule = S.warm_restarts(case["lrs"][0], kw["T_0"], kw["T_mult"], kw["eta_min"])
    np.testing.assert_allclose(schedule.values(len(lrs)), lrs, rtol=1e-12)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_cyclic_matches_cyclic_lr(k):
    lrs, case = _torch_lrs(f"CyclicLR-{k}")
    kw = case["schedulers"][0]["kwargs"]
    schedule = S.cyclic(kw["base_lr"], kw["max_lr"], kw["step_size_up"], kw["step_size_down"],
                        kw["mode"], kw["gamma"])
    np.testing.assert_allclose(schedule.values(len(lrs)), lrs, rtol=1e-12)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_one_cycle_matches_one_cycle_lr(k):
    lrs, case = _torch_lrs(f"OneCycleLR-{k}")
    kw = case["schedulers"][0]["kwargs"]
    schedule = S.one_cycle(kw["max_lr"], kw["total_steps"], kw["pct_start"],
                           kw["anneal_strategy"], kw["div_factor"], kw["final_div_factor"],
                           kw["three_phase"])
    np.testing.assert_allclose(schedule.values(len(lrs)), lrs, rtol=1e-12)


def test_polynomial_matches_the_closed_form_of_polynomial_lr():
    lrs, case = _torch_lrs("epoch-PolynomialLR")
    kw = case["schedulers"][0]["kwargs"]
    schedule = S.polynomial(case["lrs"][0], kw["total_iters"], kw["power"])
    got = [schedule(e + 1) for e in case["epochs"]]
    np.testing.assert_allclose(got, lrs[1:], rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_polynomial_and_linear_follow_the_chainable_schedulers(k):
    lrs, case = _torch_lrs(f"PolynomialLR-{k}")
    kw = case["schedulers"][0]["kwargs"]
    got = S.polynomial(case["lrs"][0], kw["total_iters"], kw["power"]).values(len(lrs))
    np.testing.assert_allclose(got, lrs, rtol=1e-9, atol=1e-15)
    lrs, case = _torch_lrs(f"LinearLR-{k}")
    kw = case["schedulers"][0]["kwargs"]
    base = case["lrs"][0]
    got = S.linear(base * kw["start_factor"], base * kw["end_factor"],
                   kw["total_iters"]).values(len(lrs))
    np.testing.assert_allclose(got, lrs, rtol=1e-9)


def test_linear_ramps_then_stays():
    np.testing.assert_allclose(S.linear(1.0, 0.5, 4).values(7),
                               [1.0, 0.875, 0.75, 0.625, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(S.linear(0.0, 1.0, 2).values(4), [0.0, 0.5, 1.0, 1.0])


def test_warm_restarts_restart_at_growing_periods():
    values = S.warm_restarts(1.0, T_0=2, T_mult=2).values(8)
    assert values[0] == values[2] == values[6] == 1.0  # restarts at updates 1, 3 and 7
    assert values[1] == pytest.approx(0.5) and values[3] == pytest.approx(0.5 + 0.5 * 2 ** -0.5)


def test_one_cycle_after_its_run_stays_at_the_minimum():
    schedule = S.one_cycle(1.0, total_steps=10)
    assert schedule(11) == schedule(1000) == pytest.approx(1.0 / 25 / 1e4)


NEW_FAMILIES = [S.linear(0.1, 0.01, 100), S.linear(0.1, 0.0, 100), S.polynomial(0.1, 100, 2.0),
                S.warm_restarts(0.1, 10, 2, 0.001), S.warm_restarts(0.1, 10),
                S.cyclic(0.0, 0.1, 10), S.cyclic(0.01, 0.1, 10, 5, "triangular2"),
                S.cyclic(0.0, 0.1, 10, mode="exp_range", gamma=0.99),
                S.one_cycle(0.1, 100), S.one_cycle(0.1, 100, 0.25, "linear", three_phase=True)]


@pytest.mark.parametrize("schedule", NEW_FAMILIES, ids=repr)
def test_new_families_are_never_robbins_monro(schedule):
    from steepest import diagnostics
    assert schedule.robbins_monro() is False
    result = diagnostics.robbins_monro(schedule)
    assert result.verdict is False and result.method == "exact"


def test_the_cyclic_docstring_says_why_it_fails_robbins_monro():
    doc = S.cyclic.__doc__
    assert "Never Robbins–Monro, by design" in doc and "sum" in doc.replace("\\sum", "sum")


@pytest.mark.parametrize("schedule", NEW_FAMILIES, ids=repr)
def test_new_families_round_trip_and_rebuild_from_their_repr(schedule):
    data = schedule.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert S.from_dict(data) == schedule
    assert eval(repr(schedule), {**vars(S)}) == schedule  # noqa: S307
    values = schedule.values(300)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


@pytest.mark.parametrize("text, expected", [
    ("linear:0.1", S.linear(0.1, 0.0, 50)),
    ("linear:0.1:0.01:20", S.linear(0.1, 0.01, 20)),
    ("poly:0.1", S.polynomial(0.1, 50)),
    ("poly:0.1:30:2", S.polynomial(0.1, 30, 2.0)),
    ("sgdr:0.1:10", S.warm_restarts(0.1, 10)),
    ("sgdr:0.1:10:2:0.001", S.warm_restarts(0.1, 10, 2, 0.001)),
    ("cyclic:0.001:0.1:20", S.cyclic(0.001, 0.1, 20)),
    ("cyclic:0.001:0.1:20:exp_range:0.99", S.cyclic(0.001, 0.1, 20, mode="exp_range",
                                                     gamma=0.99)),
    ("onecycle:0.1", S.one_cycle(0.1, 50)),
    ("onecycle:0.1:200:0.25", S.one_cycle(0.1, 200, 0.25)),
    ("warmup:5:sgdr:0.1:10", S.warmup(S.warm_restarts(0.1, 10), 5)),
])
def test_parse_reads_the_new_families(text, expected):
    assert S.parse(text, total_steps=50) == expected


@pytest.mark.parametrize("text", ["poly:0.1", "onecycle:0.1", "sgdr:0.1", "cyclic:0.1:0.2",
                                  "cyclic:0.1:0.2:10:saw", "linear:0.1:0.2:3:4"])
def test_parse_refuses_incomplete_new_families(text):
    with pytest.raises(ValueError, match="accepted schedule syntax"):
        S.parse(text)


@pytest.mark.parametrize("make, message", [
    (lambda: S.warm_restarts(0.1, 0), "warm_restarts: T_0 must be"),
    (lambda: S.warm_restarts(0.1, 5, lr_min=0.2), "warm_restarts: lr_min must be in"),
    (lambda: S.cyclic(0.1, 0.2, 0), "cyclic: step_size_up must be"),
    (lambda: S.cyclic(0.1, 0.2, 5, mode="saw"), "cyclic: mode must be one of"),
    (lambda: S.one_cycle(0.1, 10, pct_start=1.5), "one_cycle: pct_start must be in"),
    (lambda: S.one_cycle(0.1, 10, anneal_strategy="exp"), "one_cycle: anneal_strategy"),
    (lambda: S.polynomial(0.1, 0), "polynomial: total_steps must be"),
    (lambda: S.linear(-0.1), "linear: lr0 must be"),
])
def test_new_families_refuse_bad_parameters(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_a_new_family_as_an_optimizer_lr_sets_the_group_lr_each_update():
    import steepest as st
    schedule = S.one_cycle(0.5, total_steps=20)
    p = st.tensor([1.0, 2.0], requires_grad=True)
    opt = st.optim.SGD([p], lr=schedule, momentum=0.9)
    seen = []
    for _ in range(20):
        p.grad = np.ones(2)
        opt.step()
        seen.append(opt.param_groups[0]["lr"])
    np.testing.assert_array_equal(seen, schedule.values(20))
