"""Two sweeps on one results database share its runs instead of both running every one: a run is
claimed in SQLite (BEGIN IMMEDIATE) before it is submitted, a sweep skips the runs another live
sweep has claimed and waits for them, and takes over the claims of a sweep that is gone (its pid
no longer runs on this host, or its heartbeat is stale)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from steepest import sweep

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
TIMEOUT = 300  # seconds: generous on a loaded 2-core machine

SPEC = {"sweep": {"kind": "minimize", "problem": "quadratic", "method": "gd",
                  "lr": [0.01, 0.02, 0.05, 0.1, 0.2, 0.3], "max_iter": 10}}


def ids():
    return [sweep.run_id(c) for c in sweep.expand(sweep.load_spec(SPEC))]


def claims_of(out):
    connection = sqlite3.connect(Path(out) / sweep.DATABASE, timeout=30)
    try:
        return {row[0]: row[1:] for row in connection.execute(
            "SELECT id, owner, state FROM claims")}
    finally:
        connection.close()


def register(connection, owner, host, pid, start=None, age=0.0):
    """Another sweep's registration, ``age`` seconds after its last heartbeat."""
    with connection:
        connection.execute("INSERT OR REPLACE INTO sweepers VALUES (?,?,?,?,?,?)",
                           (owner, host, pid, start, "2025-01-01T00:00:00Z", time.time() - age))


def claim(connection, run, owner, state="running"):
    with connection:
        connection.execute("INSERT OR REPLACE INTO claims VALUES (?,?,?,?)",
                           (run, owner, state, time.time()))


@pytest.fixture
def database(tmp_path):
    connection = sweep.open_database(tmp_path)
    yield connection
    connection.close()


@pytest.fixture
def sleeper():
    """A live process on this host, and its start time as the OS counts it."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        deadline = time.monotonic() + 60
        while sweep._process_start(process.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield process.pid, sweep._process_start(process.pid)
    finally:
        process.kill()
        process.wait()


def test_a_sweep_claims_what_it_takes_and_skips_a_live_sweeps_claims(database, tmp_path,
                                                                     sleeper):
    runs = ids()
    pid, start = sleeper
    register(database, "other", sweep.socket.gethostname(), pid, start)
    claim(database, runs[0], "other")
    claims = sweep._Claims(database, tmp_path / sweep.DATABASE)
    try:
        taken, resolved = claims.take(runs, 3)
        assert taken == runs[1:4] and resolved == {}
        assert claims.waiting == {runs[0]: "other"}
        held = claims_of(tmp_path)
        assert held[runs[0]] == ("other", "running")
        assert all(held[r] == (claims.owner, "running") for r in runs[1:4])
        # a second sweep now skips both sweeps' claims
        second = sweep._Claims(database, tmp_path / sweep.DATABASE)
        try:
            assert second.take(runs, 10)[0] == runs[4:]
        finally:
            second.close()
    finally:
        claims.close()
    # closing gives up the unfinished claims and the registration
    assert set(claims_of(tmp_path)) == {runs[0]}
    assert [r[0] for r in database.execute("SELECT owner FROM sweepers")] == ["other"]


def test_the_claims_of_a_dead_sweep_on_this_host_are_taken_over(database, tmp_path):
    runs = ids()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    register(database, "dead", sweep.socket.gethostname(), int(gone.stdout))
    claim(database, runs[0], "dead")
    claim(database, runs[1], "dead")
    claims = sweep._Claims(database, tmp_path / sweep.DATABASE)
    try:
        taken, _ = claims.take(runs, 2)
        assert taken == runs[:2] and claims.taken_over == 2
        assert [r[0] for r in database.execute("SELECT owner FROM sweepers")] == [claims.owner]
    finally:
        claims.close()


def test_a_pid_reused_by_another_process_is_not_the_sweep(database, tmp_path):
    # this very process has the pid, but not the start time the claim's owner recorded
    if sweep._process_start(os.getpid()) is None:
        pytest.skip("no /proc: process start times are unknown here")
    runs = ids()
    register(database, "earlier", sweep.socket.gethostname(), os.getpid(), start="1")
    claim(database, runs[0], "earlier")
    claims = sweep._Claims(database, tmp_path / sweep.DATABASE)
    try:
        assert claims.take(runs, 1)[0] == runs[:1]
    finally:
        claims.close()


def test_a_sweep_on_another_host_is_trusted_until_its_heartbeat_is_stale(database, tmp_path):
    runs = ids()
    register(database, "elsewhere", "another-host.example", 1)
    claim(database, runs[0], "elsewhere")
    claims = sweep._Claims(database, tmp_path / sweep.DATABASE)
    try:
        assert claims.take(runs, 1)[0] == runs[1:2]  # its pid means nothing here
        register(database, "elsewhere", "another-host.example", 1,
                 age=sweep.STALE_AFTER_S + 60)
        assert claims.take(runs, 1)[0] == runs[:1]
    finally:
        claims.close()


def test_runs_another_sweep_finished_are_resolved_not_rerun(database, tmp_path, sleeper):
    runs = ids()
    configs = sweep.expand(sweep.load_spec(SPEC))
    pid, start = sleeper
    register(database, "other", sweep.socket.gethostname(), pid, start)
    claim(database, runs[0], "other")
    claim(database, runs[1], "other")
    claim(database, runs[2], "earlier", state="finished")  # a failed run of an earlier sweep
    sweep._record(database, configs[2], {"status": "failed", "error": "E: before"})
    claims = sweep._Claims(database, tmp_path / sweep.DATABASE)
    try:
        assert claims.take(runs[:3], 3)[0] == [runs[2]]  # re-run: a failed run runs again
        # the other sweep finishes what this one waits for: done, and failed
        sweep._record(database, configs[0], {"status": "done", "final_loss": 1.0})
        sweep._record(database, configs[1], {"status": "failed", "error": "E: there"})
        claim(database, runs[0], "other", state="finished")
        claim(database, runs[1], "other", state="finished")
        taken, resolved = claims.take(runs[:2], 2)
        assert taken == [] and resolved == {runs[0]: "done", runs[1]: "failed"}
        assert claims.waiting == {}
    finally:
        claims.close()


def test_a_sweep_waits_for_a_live_sweeps_runs_and_takes_them_when_it_is_gone(tmp_path, capsys,
                                                                            monkeypatch):
    # in-process, on the stand-in client of test_qa_faults_sweep: the other sweep is a process
    # that holds two claims and dies while this one waits for them
    pytest.importorskip("distributed")
    import contextlib

    import distributed

    class Future:
        def __init__(self, key, config):
            self.key, self.config = key, config

        def result(self):
            return sweep._task(self.config)

    class Client:
        def map(self, function, configs, key, **options):
            return [Future(k, c) for k, c in zip(key, configs, strict=True)]

        def processing(self):
            return {}

        def nthreads(self):
            return {}

        def cancel(self, futures, force=False):
            pass

    @contextlib.contextmanager
    def client(workers, scheduler):
        yield Client()

    monkeypatch.setattr(sweep, "_client", client)
    monkeypatch.setattr(distributed, "as_completed", lambda futures: iter(list(futures)))
    monkeypatch.setattr(sweep, "_POLL_S", 0.02)
    runs = ids()
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while sweep._process_start(other.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        connection = sweep.open_database(tmp_path)
        register(connection, "other", sweep.socket.gethostname(), other.pid,
                 sweep._process_start(other.pid))
        claim(connection, runs[0], "other")
        claim(connection, runs[1], "other")
        connection.close()
        real_sleep = time.sleep
        polls = []

        def sleep(seconds):  # the other sweep ends once this one has waited a few times
            polls.append(seconds)
            if len(polls) == 3:
                other.stdin.close()
                other.wait()
            real_sleep(seconds)

        monkeypatch.setattr(sweep.time, "sleep", sleep)
        table = sweep.run(SPEC, tmp_path, progress=False)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert len(polls) >= 3  # it waited rather than running the other sweep's runs at once
    assert len(table) == 6 and set(table["status"]) == {"done"}
    err = capsys.readouterr().err
    assert "2 runs are being run by another sweep" in err and f"pid {other.pid} on" in err
    assert "taking over the runs claimed by a sweep that is gone" in err


# --------------------------------------------------------------------------- two real processes
# Each sweep process logs the runs it records (its client writes a row for every run it
# computed), so that a run done twice shows up in both logs.
CHILD = r'''
import sys
from steepest import cli, sweep

def record(connection, config, outcome, real=sweep._record):
    real(connection, config, outcome)
    with open(sys.argv[1], "a", encoding="utf-8") as file:
        file.write(f"{sweep.run_id(config)} {outcome['status']}\n")

if __name__ == "__main__":  # the cluster's worker processes import this file too
    sweep._record = record
    sys.exit(cli.main(sys.argv[2:]))
'''

SLOW_SPEC = ('[sweep]\nkind = "minimize"\nproblem = "rosenbrock"\nmethod = "gd"\nlr = 1e-4\n'
             'max_iter = 8000\nseed = [' + ", ".join(map(str, range(24))) + "]\n")


def slow_ids():
    return [sweep.run_id(c) for c in sweep.expand(sweep.load_spec(
        {"sweep": {"kind": "minimize", "problem": "rosenbrock", "method": "gd", "lr": 1e-4,
                   "max_iter": 8000, "seed": list(range(24))}}))]


def start(tmp_path, out, name):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    spec = tmp_path / "spec.toml"
    spec.write_text(SLOW_SPEC, encoding="utf-8")
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, str(script), str(log), "sweep", str(spec), "--out", str(out),
         "--workers", "1", "--quiet"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    return process, log


def logged(log):
    if not log.exists():
        return []
    return [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()]


def wait_until(condition, process, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate(timeout=TIMEOUT)
            raise AssertionError(f"{what}: the sweep ended ({process.returncode}) or the wait "
                                 f"ran out; {out} {err}")
        time.sleep(0.05)


def running_claims(out):
    """The runs claimed and not finished, by owner (the database has rows already)."""
    connection = sqlite3.connect(Path(out) / sweep.DATABASE, timeout=30)
    try:
        return {row[0]: row[1] for row in connection.execute(
            "SELECT id, owner FROM claims WHERE state = 'running'")}
    finally:
        connection.close()


def test_two_sweep_processes_on_one_out_run_each_run_once(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    first, first_log = start(tmp_path, out, "first")
    second = None
    try:
        # the second sweep starts while the first is in the middle of its runs
        wait_until(lambda: len(logged(first_log)) >= 1, first, "the first sweep's first row")
        second, second_log = start(tmp_path, out, "second")
        results = [p.communicate(timeout=TIMEOUT) for p in (first, second)]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    for process, (stdout, stderr) in zip((first, second), results, strict=True):
        assert process.returncode == 0, stderr
        assert "24 runs in" in stdout and "24 done, 0 failed" in stdout, stdout
    by_first, by_second = logged(first_log), logged(second_log)
    assert sorted(by_first + by_second) == sorted(slow_ids())  # the union is the spec, once
    assert not set(by_first) & set(by_second)
    assert running_claims(out) == {}


def test_a_killed_sweeps_claims_are_taken_over_by_the_next_sweep(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    victim, victim_log = start(tmp_path, out, "victim")
    try:
        wait_until(lambda: len(logged(victim_log)) >= 1, victim, "the first row")
        wait_until(lambda: running_claims(out), victim, "a run claimed and not finished")
        victim.send_signal(signal.SIGKILL)  # no clean-up at all
        victim.communicate(timeout=TIMEOUT)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.communicate()
    held = running_claims(out)
    assert held and len(set(held.values())) == 1 and f":{victim.pid}:" in next(iter(held.values()))
    done_before = set(logged(victim_log))
    later, later_log = start(tmp_path, out, "later")
    stdout, stderr = later.communicate(timeout=TIMEOUT)
    assert later.returncode == 0, stderr
    assert f"taking over the runs claimed by a sweep that is gone (pid {victim.pid}" in stderr
    assert "24 done, 0 failed" in stdout
    by_later = set(logged(later_log))
    assert set(held) <= by_later  # the dead sweep's runs were run again
    assert by_later | done_before == set(slow_ids()) and not by_later & done_before
    assert running_claims(out) == {}
    connection = sqlite3.connect(out / sweep.DATABASE)
    try:
        assert connection.execute("SELECT COUNT(*) FROM sweepers").fetchone()[0] == 0
    finally:
        connection.close()
