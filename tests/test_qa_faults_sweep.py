"""Faults around a sweep's results database, injected deterministically: the client loop of
steepest.sweep runs on an in-process stand-in for the Dask client (the runs are computed by the
library itself, in this process), and the faults happen at a chosen run."""

import contextlib
import shutil
import sqlite3

import pytest

pytest.importorskip("distributed")

from steepest import sweep  # noqa: E402

SPEC = {"sweep": {"kind": "minimize", "problem": "quadratic", "method": "gd",
                  "lr": [0.01, 0.02, 0.05, 0.1], "max_iter": 10}}


class _Future:
    def __init__(self, key, config, before):
        self.key, self.config, self.before = key, config, before

    def result(self):
        if self.before is not None:
            self.before(self.config)
        return sweep._task(self.config)


class _Client:
    """What sweep._execute uses of a distributed.Client; ``before(config)`` runs as each result
    is collected (the fault), ``collected`` lists the configs whose result was taken."""

    def __init__(self, before=None):
        self.before, self.collected, self.cancelled = before, [], []

    def map(self, function, configs, key, **options):
        return [_Future(k, c, self._collect) for k, c in zip(key, configs, strict=True)]

    def _collect(self, config):
        self.collected.append(config)
        if self.before is not None:
            self.before(config)

    def processing(self):
        return {}

    def nthreads(self):
        return {}

    def cancel(self, futures, force=False):
        self.cancelled.extend(futures)


@pytest.fixture
def fake_cluster(monkeypatch):
    import distributed

    holder = {}

    @contextlib.contextmanager
    def client(workers, scheduler):
        yield holder["client"]

    monkeypatch.setattr(sweep, "_client", client)
    monkeypatch.setattr(distributed, "as_completed", lambda futures: iter(list(futures)))

    def install(before=None):
        holder["client"] = _Client(before)
        return holder["client"]
    return install


def _rows(out):
    connection = sqlite3.connect(out / sweep.DATABASE)
    try:
        return {r[0]: r[1:] for r in connection.execute(
            "SELECT id, status, final_loss, finished_at, worker FROM runs")}
    finally:
        connection.close()


def test_the_stand_in_runs_a_whole_sweep(fake_cluster, tmp_path):
    fake_cluster()
    table = sweep.run(SPEC, tmp_path, progress=False)
    assert len(table) == 4 and set(table["status"]) == {"done"}


# --------------------------------------------------------------------------- database removed
@pytest.mark.parametrize("fault", ["directory removed", "file replaced"])
def test_a_database_removed_mid_sweep_stops_the_sweep_and_says_so(fake_cluster, tmp_path, fault):
    out = tmp_path / "out"

    def remove_at_the_second_run(config):
        if len(client.collected) == 2:
            if fault == "directory removed":
                shutil.rmtree(out)
            else:  # moved away, and another database created in its place
                (out / sweep.DATABASE).rename(tmp_path / "moved.sqlite")
                sweep.open_database(out).close()

    client = fake_cluster(remove_at_the_second_run)
    # the rows used to go on into the deleted file; the sweep ended with "no results database
    # ...; run a sweep first", or reported the new database's rows, every result lost
    with pytest.raises(sweep.DatabaseError, match="removed or replaced while the sweep ran"):
        sweep.run(SPEC, out, progress=False)
    assert len(client.collected) == 2  # stopped at once, not after computing every run
    if fault == "file replaced":
        assert _rows(out) == {}  # this sweep's rows never went to the new file
    fake_cluster()
    table = sweep.run(SPEC, out, progress=False)  # the same command again: a whole sweep
    assert len(table) == 4 and set(table["status"]) == {"done"}


# --------------------------------------------------------------------------- two sweeps at once
def test_a_concurrent_sweeps_failure_never_replaces_a_done_row(fake_cluster, tmp_path,
                                                               monkeypatch):
    # Two `steepest sweep` commands on the same --out both run every pending config. When the
    # other one records a run done first and this one's copy fails (its worker killed, say),
    # the failed row used to replace the done one: a result lost, and the run counted failed.
    first = sweep.expand(sweep.load_spec(SPEC))[0]
    real = sweep.run_config

    def other_sweep_finishes_it_first(config):
        if config == first:
            connection = sweep.open_database(tmp_path)
            try:
                sweep._record(connection, config, {"status": "done", **real(config),
                                                   "worker": "the other sweep"})
            finally:
                connection.close()

    def fails_here(config):
        if config == first:
            raise MemoryError("this copy of the run failed")
        return real(config)

    fake_cluster(other_sweep_finishes_it_first)
    monkeypatch.setattr(sweep, "run_config", fails_here)
    table = sweep.run(SPEC, tmp_path, progress=False)
    assert set(table["status"]) == {"done"}
    row = _rows(tmp_path)[sweep.run_id(first)]
    assert row[0] == "done" and row[3] == "the other sweep"


def test_a_done_row_is_kept_and_a_failed_one_replaced(tmp_path):
    config = sweep.expand(sweep.load_spec(SPEC))[0]
    connection = sweep.open_database(tmp_path)
    try:
        sweep._record(connection, config, {"status": "failed", "error": "E: first try"})
        sweep._record(connection, config, {"status": "done", "final_loss": 1.0, "worker": "a"})
        sweep._record(connection, config, {"status": "done", "final_loss": 1.0, "worker": "b"})
        sweep._record(connection, config, {"status": "failed", "error": "E: late copy"})
    finally:
        connection.close()
    assert _rows(tmp_path)[sweep.run_id(config)][0::3] == ("done", "a")
