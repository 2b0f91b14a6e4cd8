"""QA regressions: steepest.schedules against their documented formulas."""

import math

import pytest

from steepest import schedules


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_with_a_one_update_rise_is_defined(three_phase):
    # pct_start * total_steps == 1 makes the rise a single update (phase end 0 == start 0):
    # one_cycle(0.1, 10, pct_start=0.1)(1) raised ZeroDivisionError, and parse accepted
    # 'onecycle:0.1:10:0.1' only for the run to crash at its first step.
    assert schedules.parse("onecycle:0.1:10:0.1") == schedules.one_cycle(0.1, 10, pct_start=0.1)
    s = schedules.one_cycle(0.1, 10, pct_start=0.1, three_phase=three_phase)
    values = s.values(12)
    assert all(math.isfinite(v) and v >= 0 for v in values)
    assert values[0] == pytest.approx(0.1)  # the one-update rise ends at max_lr
    low = 0.1 / 25.0 / 1e4
    assert values[9] == pytest.approx(low) and values[11] == pytest.approx(low)
    if not three_phase:  # then the cosine descent from max_lr over updates 1..9
        for t in range(1, 10):
            expected = low + (0.1 - low) / 2 * (1 + math.cos(math.pi * t / 9))
            assert values[t] == pytest.approx(expected, rel=1e-12)
