"""QA regressions of the sweep: diverged runs are never finite results."""

from __future__ import annotations

import math

from steepest import sweep
from steepest.sweep_report import _loss, best_configs

DIVERGES = {"kind": "minimize", "problem": "rosenbrock", "method": "adam", "lr": 1e300,
            "max_iter": 50}
WORKS = {"kind": "minimize", "problem": "rosenbrock", "method": "adam", "lr": 10.0, "max_iter": 50}


# ------------------------------------------------------------------------------------ diverged
def test_a_diverged_minimize_run_has_no_final_loss():
    outcome = sweep.run_config(DIVERGES)
    assert outcome["metrics"]["diverged"] is True
    assert outcome["final_loss"] is None  # was f(x0), the last finite iterate


def test_the_report_never_picks_a_diverged_run_as_best():
    rows = [{"id": sweep.run_id(c), "config": c, "status": "done", **sweep.run_config(c)}
            for c in (DIVERGES, WORKS)]
    best = best_configs(rows)
    assert best["adam"]["config"]["lr"] == 10.0
    assert math.isfinite(best["adam"]["median"])


def test_a_row_flagged_diverged_counts_as_infinite_whatever_its_final_loss():
    # A row written before the fix: status done, a finite final_loss, metrics diverged.
    old = {"id": "a", "config": DIVERGES, "status": "done", "final_loss": 24.2,
           "metrics": {"diverged": True}, "history": [24.2]}
    good = {"id": "b", "config": WORKS, "status": "done", "final_loss": 34.6,
            "metrics": {"diverged": False}, "history": [34.6]}
    assert _loss(old) == math.inf and _loss(good) == 34.6
    assert _loss({**good, "final_loss": math.nan}) == math.inf
    assert best_configs([old, good])["adam"]["config"]["lr"] == 10.0


def test_read_runs_gives_null_final_loss_for_an_old_diverged_row(tmp_path):
    connection = sweep.open_database(tmp_path)
    sweep._record(connection, DIVERGES, {"status": "done", "final_loss": 24.2, "seconds": 0.1,
                                         "history": [24.2], "metrics": {"diverged": True}})
    sweep._record(connection, WORKS, {"status": "done", "final_loss": 34.6, "seconds": 0.1,
                                      "history": [34.6], "metrics": {"diverged": False}})
    connection.close()
    losses = {row["config"]["lr"]: row["final_loss"] for row in sweep.read_runs(tmp_path)}
    assert losses == {1e300: None, 10.0: 34.6}
