"""steepest.sweep on a real Dask LocalCluster (2 worker processes, tiny runs): completion, resume,
failed runs, a worker SIGKILLed mid-sweep, Ctrl-C in the client and SIGINT to the command."""

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from steepest import sweep  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")
# Each run about 0.3-0.6 s on this machine: long enough to kill a worker in the middle.
SLOW = {"kind": "minimize", "problem": "rosenbrock", "method": "gd", "lr": 1e-4,
        "max_iter": 15000, "seed": list(range(12))}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as local:
        yield local


def rows(out):
    connection = sqlite3.connect(Path(out) / "sweep.sqlite")
    try:
        return connection.execute("SELECT id, status, final_loss, finished_at, error FROM runs"
                                  ).fetchall()
    finally:
        connection.close()


def count(out):
    path = Path(out) / "sweep.sqlite"
    if not path.is_file():
        return 0
    connection = sqlite3.connect(path, timeout=10)
    try:
        return connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        connection.close()


def wait_for_rows(out, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while count(out) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {n} rows after {timeout} s")
        time.sleep(0.02)


def test_default_local_cluster_runs_every_config_and_resumes(tmp_path):
    spec = {"sweep": {"kind": "minimize", "problem": "quadratic", "method": ["gd", "adam"],
                      "lr": [0.01, 0.1], "max_iter": 30, "seed": [0, 1]}}
    table = sweep.run(spec, tmp_path, workers=2, progress=False)
    assert len(table) == 8 and set(table["status"]) == {"done"}
    first = sorted(rows(tmp_path))
    for record in table.to_dict("records"):  # deterministic: the same loss when run alone
        config = {k: record[k] for k in ("kind", "problem", "method", "lr", "max_iter", "seed")}
        assert sweep.run_config(config)["final_loss"] == record["final_loss"]
    again = sweep.run(spec, tmp_path, workers=2, progress=False)  # all done: nothing re-runs
    assert sorted(rows(tmp_path)) == first and len(again) == 8


def test_failed_runs_are_recorded_and_rerun(cluster, tmp_path):
    # A dataset file that cannot be read yet: its runs fail as they run (an option a method does
    # not take never gets this far, see test_sweep_spec_check.py), and once the file is written,
    # running the spec again re-runs those runs only.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    good, late = tmp_path / "good.npz", tmp_path / "late.npz"
    np.savez(good, X=X, y=y)
    late.write_bytes(b"not an npz archive yet")
    spec = {"sweep": {"kind": "train", "dataset": [str(good), str(late)], "hidden": 4,
                      "epochs": 2, "batch_size": 32, "lr": 0.01, "seed": [0, 1, 2]}}
    out = tmp_path / "out"
    table = sweep.run(spec, out, scheduler=cluster.scheduler_address, progress=False)
    failed = table[table["status"] == "failed"]
    assert len(table) == 6 and len(failed) == 3 and set(failed["dataset"]) == {str(late)}
    assert all("late.npz" in e for e in failed["error"]), list(failed["error"])
    assert table[table["status"] == "done"]["final_loss"].notna().all()
    before = {r[0]: r for r in rows(out)}
    np.savez(late, X=X, y=y)
    again = sweep.run(spec, out, scheduler=cluster.scheduler_address, progress=False)
    after = {r[0]: r for r in rows(out)}
    assert len(after) == 6 and set(again["status"]) == {"done"}
    done_ids = set(table[table["status"] == "done"]["id"])
    assert all(after[i] == before[i] for i in done_ids)  # done rows untouched
    assert all(after[i][1] == "done" for i in set(failed["id"]))  # the failed ones re-ran


def test_train_sweep_on_bundled_csv_and_broken_files(cluster, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    table = tmp_path / "table.csv"
    table.write_text("a,b,c,y\n" + "".join(f"{a},{b},{c},{int(a + b > 0)}\n" for a, b, c in X),
                     encoding="utf-8")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    spec = {"sweep": {"kind": "train", "dataset": ["digits", str(table), str(broken)],
                      "target": "y", "hidden": 8, "epochs": 2, "batch_size": 64,
                      "lr": 0.01, "seed": [0, 1]}}
    result = sweep.run(spec, tmp_path / "out", scheduler=cluster.scheduler_address,
                       progress=False)
    assert len(result) == 6
    failed = result[result["status"] == "failed"]
    assert set(failed["dataset"]) == {str(broken)} and len(failed) == 2
    assert all(failed["error"].str.len() > 0)
    for record in result[result["status"] == "done"].to_dict("records"):
        config = {k: record[k] for k in ("kind", "dataset", "target", "hidden", "epochs",
                                         "batch_size", "lr", "seed")}
        assert sweep.run_config(config)["final_loss"] == record["final_loss"]


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(cluster, tmp_path):
    client = distributed.Client(cluster)
    try:
        killed = []

        def kill_a_busy_worker():
            wait_for_rows(tmp_path, 1)
            pids = client.run(os.getpid)
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            victim = busy[0] if busy else next(iter(pids))
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        table = sweep.run({"sweep": SLOW}, tmp_path, scheduler=cluster.scheduler_address,
                          progress=False)
        killer.join(timeout=30)
        assert killed, "the worker was not killed"
        found = rows(tmp_path)
        assert len(found) == 12 and len({r[0] for r in found}) == 12
        assert {r[1] for r in found} == {"done"}
        assert len(table) == 12
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next tests
    finally:
        client.close()


def test_keyboard_interrupt_in_client_cancels_and_resumes(cluster, tmp_path, monkeypatch, capsys):
    original = sweep._record
    calls = []

    def record_then_interrupt(connection, config, outcome):
        original(connection, config, outcome)
        calls.append(config)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "_record", record_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        sweep.run({"sweep": SLOW}, tmp_path, scheduler=cluster.scheduler_address, progress=False)
    message = capsys.readouterr().err
    assert "interrupted" in message and "again to resume" in message
    assert count(tmp_path) == 2
    monkeypatch.setattr(sweep, "_record", original)
    # the cancelled tasks leave the scheduler: nothing of this sweep is still computing
    client = distributed.Client(cluster)
    try:
        deadline = time.monotonic() + 30
        while any(k.startswith("steepest-sweep-") for keys in client.processing().values()
                  for k in keys) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.close()
    table = sweep.run({"sweep": SLOW}, tmp_path, scheduler=cluster.scheduler_address,
                      progress=False)
    found = rows(tmp_path)
    assert len(table) == 12 and len(found) == 12 and len({r[0] for r in found}) == 12


def test_sigint_to_the_command_leaves_a_consistent_database(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nkind = "minimize"\nproblem = "rosenbrock"\nmethod = "gd"\n'
                    'lr = 1e-4\nmax_iter = 15000\nseed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, '
                    '12, 13, 14, 15, 16, 17, 18, 19]\n', encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "steepest", "sweep", str(spec), "--out", str(out),
               "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        wait_for_rows(out, 1, timeout=90)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Run the same command again to resume" in err
    connection = sqlite3.connect(out / "sweep.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    partial = rows(out)
    assert 1 <= len(partial) < 20 and {r[1] for r in partial} == {"done"}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr
    assert "20 runs" in finished.stdout
    found = rows(out)
    assert len(found) == 20 and len({r[0] for r in found}) == 20
    kept = {r[0]: r[3] for r in partial}
    assert all(r[3] == kept[r[0]] for r in found if r[0] in kept)
