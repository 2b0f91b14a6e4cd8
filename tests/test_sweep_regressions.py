"""QA regressions of the sweep: diverged runs are never finite results, and a database that is
damaged, truncated or another program's is refused with a message naming the file."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from steepest import cli, sweep
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


# ------------------------------------------------------------------------------------ database
def _corrupt(directory):
    directory.mkdir()
    (directory / "sweep.sqlite").write_bytes(b"this is not sqlite" * 100)


def _truncated(directory):
    connection = sweep.open_database(directory)
    for seed in range(200):
        config = {**WORKS, "seed": seed}
        sweep._record(connection, config, {"status": "done", "final_loss": 1.0, "seconds": 0.1,
                                           "history": [float(i) for i in range(300)],
                                           "metrics": {}})
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    path = directory / "sweep.sqlite"
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])


def _foreign(directory):
    directory.mkdir()
    connection = sqlite3.connect(directory / "sweep.sqlite")
    connection.execute("CREATE TABLE runs (id TEXT, x INT)")
    connection.commit()
    connection.close()


def _no_runs_table(directory):
    directory.mkdir()
    connection = sqlite3.connect(directory / "sweep.sqlite")
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()


DAMAGE = {"corrupt": (_corrupt, "damaged or is not an SQLite database"),
          "truncated": (_truncated, "damaged or is not an SQLite database"),
          "foreign": (_foreign, "not a steepest sweep database"),
          "no runs table": (_no_runs_table, "not a steepest sweep database")}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_reading_a_bad_database_names_the_file(tmp_path, damage):
    make, words = DAMAGE[damage]
    out = tmp_path / "out"
    make(out)
    with pytest.raises(sweep.DatabaseError, match=words) as caught:
        sweep.read_runs(out)
    assert str(out / "sweep.sqlite") in str(caught.value)


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "foreign"])
def test_running_on_a_bad_database_names_the_file_before_anything_runs(tmp_path, damage):
    make, words = DAMAGE[damage]
    out = tmp_path / "out"
    make(out)
    spec = {"sweep": {"kind": "minimize", "problem": "quadratic", "method": "gd",
                      "max_iter": 5}}
    with pytest.raises(sweep.DatabaseError, match=words) as caught:
        sweep.run(spec, out, workers=1, progress=False)
    assert str(out / "sweep.sqlite") in str(caught.value)


@pytest.mark.parametrize("damage", ["corrupt", "foreign"])
def test_the_command_reports_a_bad_database_in_one_line(tmp_path, damage, capsys):
    make, words = DAMAGE[damage]
    out = tmp_path / "out"
    make(out)
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nkind = "minimize"\nproblem = "quadratic"\nmethod = "gd"\n')
    for argv in (["sweep", str(spec), "--out", str(out), "--quiet"],
                 ["sweep", "report", str(out)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err and str(out) in err, err
        assert "Traceback" not in err and "STEEPEST_TRACEBACK" not in err


def test_a_good_database_still_opens_and_reads(tmp_path):
    connection = sweep.open_database(tmp_path)
    sweep._record(connection, WORKS, {"status": "done", "final_loss": 1.0, "seconds": 0.1,
                                      "history": [1.0], "metrics": {}})
    connection.close()
    sweep.open_database(tmp_path).close()
    (row,) = sweep.read_runs(tmp_path)
    assert row["final_loss"] == 1.0 and json.dumps(row["config"], sort_keys=True)
