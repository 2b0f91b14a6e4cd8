"""SIGTERM (what a job scheduler, `timeout`, `docker stop` or systemd sends) stops `steepest train`
and `train.fit` as Ctrl-C does: the current batch is finished, the interrupted checkpoint written
atomically, the command says so in one line and exits with 143; a resume continues bit for bit
as after SIGINT, and a second signal while the checkpoint is written does not spoil it.
`steepest sweep` stops on SIGTERM as on Ctrl-C too.

Every signal here is a real one, sent to a child process at a point it announces on a printed
line (each child waits for the signal to arrive before it goes on), so nothing depends on timing.
"""

import json
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

import steepest as st
from steepest import nn, optim, train

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt",
                                reason="needs POSIX signals")

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
TIMEOUT = 180  # seconds for anything a child does: generous on a loaded 2-core machine

# A child that trains a small network with fit() and stops at a batch it names on a printed
# line ("READY"), waiting there until the signal the test sends has reached fit's handler.
CHILD = r'''
import json, os, signal, sys, time
import numpy as np
import steepest as st
from steepest import io, nn, optim, train
from steepest.train import loop

mode, checkpoint = sys.argv[1], sys.argv[2]
options = json.loads(sys.argv[3])

def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y

def model():
    st.manual_seed(0)
    return nn.mlp(4, [16], 3, "tanh", dtype=np.float64)

def interrupt():
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = getattr(signal.getsignal(signum), "__self__", None)
        if handler is not None:
            return handler
    return None

def wait_for(signals):
    """Until the first (`signals` 1) or the second signal has reached fit's handler."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        handler = interrupt()
        if signals == 1 and getattr(handler, "requested", False):
            return
        if signals == 2 and getattr(handler, "received", 0) >= 2:
            return
        time.sleep(0.002)
    print("NO SIGNAL", flush=True)
    sys.exit(3)

class Pause(train.Callback):
    def __init__(self, at):
        self.at, self.seen, self.weights = tuple(at), [], None
    def on_batch_end(self, state, batch, loss):
        self.seen.append((state.epoch, batch))
        if (state.epoch, batch) == self.at:
            self.weights = {k: v.copy() for k, v in state.model.state_dict().items()}
            print("READY", flush=True)
            wait_for(1)
            if options.get("second") == "batch":
                print("FIRST", flush=True)
                wait_for(2)  # a long batch: the second signal comes before it ends

class Epochs(train.Callback):
    def __init__(self):
        self.weights = {}
    def on_epoch_end(self, state, logs):
        self.weights[state.epoch] = {k: v.copy() for k, v in state.model.state_dict().items()}

if options.get("second") == "save":  # stall inside the write of the interrupted checkpoint
    real = io._write_archive
    def slow(file, metadata, arrays):
        real(file, metadata, arrays)
        if interrupt() is not None and interrupt().requested:
            print("SAVING", flush=True)
            wait_for(2)
    io._write_archive = slow

net = model()
opt = optim.Adam(net.parameters(), lr=0.01)
if mode == "stop":
    pause, epochs = Pause(options["at"]), Epochs()
    try:
        train.fit(net, nn.CrossEntropyLoss(), opt, data(), epochs=6, batch_size=16,
                  progress=False, checkpoint=checkpoint, callbacks=[pause, epochs])
    except KeyboardInterrupt as stop:
        np.savez(checkpoint + ".moment.npz", **pause.weights)
        np.savez(checkpoint + ".epoch.npz", **epochs.weights[max(epochs.weights)])
        print(json.dumps({
            "signal": getattr(getattr(stop, "signal", None), "name", None),
            "checkpoint": stop.checkpoint, "epochs": len(stop.history),
            "interrupted_by": getattr(stop.history, "interrupted_by", None),
            "last_batch": pause.seen[-1],
            "restored": signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
                        and signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        }), flush=True)
        sys.exit(0)
    print("NOT INTERRUPTED", flush=True)
    sys.exit(4)
else:  # resume to the end and keep the final weights
    history = train.fit(net, nn.CrossEntropyLoss(), opt, data(), epochs=6, batch_size=16,
                        progress=False, resume=checkpoint, callbacks=[Pause((-1, -1)), Epochs()])
    np.savez(options["final"], **net.state_dict())
    print(json.dumps({"loss": history["loss"]}), flush=True)
'''


def child(tmp_path, mode, checkpoint, **options):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return subprocess.Popen([sys.executable, str(script), mode, str(checkpoint),
                             json.dumps(options)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(process, expected):
    """Read the child's lines until ``expected`` (the child prints nothing more until it gets
    the signal it waits for); the lines read."""
    lines = []
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    try:
        while True:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.strip() == expected:
                return lines
    finally:
        watchdog.cancel()
    process.wait(timeout=TIMEOUT)
    raise AssertionError(f"the child ended (status {process.returncode}) before printing "
                         f"{expected!r}: {lines}; stderr: {process.stderr.read()}")


def finish(process):
    """The rest of the child's standard output and error, once it has ended."""
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    try:
        out, err = process.stdout.read(), process.stderr.read()
        process.wait(timeout=TIMEOUT)
    finally:
        watchdog.cancel()
    return out, err


def same(a, b):
    """Equal, bit for bit: nested dicts and lists of arrays and numbers."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray | np.generic):
        return np.array_equal(a, b)
    return a == b


def stop_run(tmp_path, first, second=None, where=None, name="ck.npz", at=(3, 2)):
    """Run the child until batch ``at``, send ``first`` there (and ``second`` where the child
    says: inside the batch or inside the checkpoint's write); return its report and the
    checkpoint path."""
    checkpoint = tmp_path / name
    process = child(tmp_path, "stop", checkpoint, at=at, second=where)
    try:
        wait_for_line(process, "READY")
        process.send_signal(first)
        if second is not None:
            wait_for_line(process, "FIRST" if where == "batch" else "SAVING")
            process.send_signal(second)
        out, err = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (process.returncode, out, err)
    return json.loads(out.strip().splitlines()[-1]), checkpoint


def without_time(history):
    return {k: v for k, v in history["history"].items() if k != "time"}


def test_sigterm_stops_fit_after_the_batch_and_resumes_bit_for_bit_as_sigint(tmp_path):
    reports, saved, finals = {}, {}, {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        where = tmp_path / sig.name
        where.mkdir()
        report, checkpoint = stop_run(where, sig)
        reports[sig.name] = report
        assert report["signal"] == sig.name and report["interrupted_by"] == sig.name
        assert report["last_batch"] == [3, 2]  # nothing ran after the batch it arrived in
        assert report["epochs"] == 2 and report["checkpoint"] == str(checkpoint)
        assert report["restored"]  # SIG_DFL and default_int_handler are back
        state = st.load(checkpoint)
        assert state["epoch"] == 2 and state["history"]["interrupted"] is True
        moment = np.load(str(checkpoint) + ".moment.npz")
        for key in moment.files:  # the weights of that moment, not of epoch 2
            np.testing.assert_array_equal(state["model"][key], moment[key])
        saved[sig.name] = state
        final = where / "final.npz"
        resumed = child(where, "resume", checkpoint, final=str(final))
        out, err = finish(resumed)
        assert resumed.returncode == 0, (out, err)
        finals[sig.name] = np.load(final)
    a, b = saved["SIGINT"], saved["SIGTERM"]
    for part in ("model", "optimizer", "rng", "callbacks", "settings", "epoch"):
        assert same(a[part], b[part]), part
    assert without_time(a["history"]) == without_time(b["history"])
    for key in finals["SIGINT"].files:
        np.testing.assert_array_equal(finals["SIGINT"][key], finals["SIGTERM"][key])


PAIRS = [(signal.SIGTERM, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT),
         (signal.SIGINT, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)]
PAIR_IDS = [f"{a.name}-{b.name}" for a, b in PAIRS]


@pytest.mark.parametrize("first, second", PAIRS, ids=PAIR_IDS)
def test_a_second_signal_while_the_checkpoint_is_written_waits_for_the_file(tmp_path, first,
                                                                            second):
    # a second SIGINT raised inside the write, which abandoned the file; a SIGTERM ended the
    # process: the interrupted checkpoint was missing either way
    report, checkpoint = stop_run(tmp_path, first, second, where="save",
                                  name="ck_{epoch:03d}.npz")
    moment = tmp_path / "ck_002.interrupted.npz"
    assert report["signal"] == first.name and report["checkpoint"] == str(moment)
    state = st.load(moment)  # whole: every array readable
    assert state["epoch"] == 2 and state["history"]["interrupted"] is True
    weights = np.load(str(tmp_path / "ck_{epoch:03d}.npz") + ".moment.npz")
    for key in weights.files:
        np.testing.assert_array_equal(state["model"][key], weights[key])
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("ck_", ".ck_")))
    assert names == ["ck_001.npz", "ck_002.interrupted.npz", "ck_002.npz",
                     "ck_{epoch:03d}.npz.epoch.npz", "ck_{epoch:03d}.npz.moment.npz"], names


@pytest.mark.parametrize("first, second", PAIRS[1::2], ids=PAIR_IDS[1::2])
def test_a_second_signal_inside_the_batch_stops_at_once_and_checkpoints_nothing_of_it(tmp_path,
                                                                                        first,
                                                                                        second):
    # a second signal before the batch has finished cuts it short, perhaps in the middle of the
    # update: those weights were written over the checkpoint as the interrupted epoch's moment;
    # the checkpoint now keeps epoch 2's file, and the interrupt names it
    report, checkpoint = stop_run(tmp_path, first, second, where="batch")
    assert report["signal"] == first.name and report["checkpoint"] == str(checkpoint)
    assert report["epochs"] == 2
    state = st.load(checkpoint)
    assert state["epoch"] == 2 and state["history"]["interrupted"] is False
    epoch_two = np.load(str(checkpoint) + ".epoch.npz")
    for key in epoch_two.files:
        np.testing.assert_array_equal(state["model"][key], epoch_two[key])


# --------------------------------------------------------------------------- whose handler
def _data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    return X, (X[:, 0] > 0).astype(int)


def _fit(callbacks=(), **options):
    st.manual_seed(0)
    model = nn.mlp(3, [4], 2, "relu", dtype=np.float64)
    return train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     _data(), epochs=2, batch_size=10, progress=False,
                     callbacks=list(callbacks), **options)


class _Probe(train.Callback):
    def __init__(self, send=None):
        self.handlers, self.send = [], send

    def on_batch_end(self, state, batch, loss):
        self.handlers.append((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)))
        if self.send is not None and batch == 1 and state.epoch == 1:
            os.kill(os.getpid(), self.send)


def test_fit_takes_over_sigterm_only_from_the_default_handler_and_puts_it_back():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    probe = _Probe()
    _fit([probe])
    during, _ = probe.handlers[0]
    assert getattr(during, "__self__", None) is not None  # fit's deferring handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("kind", ["own handler", "ignored"])
def test_fit_leaves_a_sigterm_handler_someone_else_installed(kind):
    got = []
    mine = (lambda signum, frame: got.append(signum)) if kind == "own handler" \
        else signal.SIG_IGN
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        probe = _Probe(send=signal.SIGTERM)
        history = _fit([probe])  # the SIGTERM it sends goes to that handler: fit runs on
        assert len(history) == 2 and not history.interrupted
        assert all(term is mine for term, _ in probe.handlers)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert got == ([signal.SIGTERM] if kind == "own handler" else [])
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_fit_outside_the_main_thread_changes_no_handler():
    probe, result = _Probe(), {}
    thread = threading.Thread(target=lambda: result.setdefault("h", _fit([probe])))
    thread.start()
    thread.join(timeout=TIMEOUT)
    assert len(result["h"]) == 2
    assert all(term is signal.SIG_DFL and inter is signal.default_int_handler
               for term, inter in probe.handlers)


# --------------------------------------------------------------------------- the commands
def test_sigterm_to_steepest_train_writes_the_checkpoint_says_so_and_exits_143(tmp_path):
    out, pattern = tmp_path / "out", str(tmp_path / "ck_{epoch:03d}.npz")
    command = [sys.executable, "-m", "steepest", "train", "iris", "--quiet", "--seed", "3",
               "--out", str(out), "--checkpoint", pattern]
    process = subprocess.Popen([*command, "--epochs", "100000"], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (tmp_path / "ck_002.npz").exists():  # an epoch is done, the next one runs
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, (process.returncode, stderr)  # 128 + SIGTERM
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    line = lines[0]
    assert line.startswith("steepest train: stopped by SIGTERM; after epoch "), line
    written = line.split("; checkpoint ")[1].split(" (continue with --resume)")[0]
    done = json.loads((out / "history.json").read_text())
    epochs = len(done["history"]["epoch"])
    assert done["interrupted"] is True and f"after epoch {epochs} of 100000" in line
    assert Path(written).name in (f"ck_{epochs:03d}.interrupted.npz", f"ck_{epochs:03d}.npz")
    state = st.load(written)
    assert state["epoch"] == epochs and state["history"]["interrupted"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".steepest-tmp")]
    # the run continues from it, with the same settings
    resumed = subprocess.run([*command, "--epochs", str(epochs + 1), "--resume", written],
                             env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr
    assert f"trained 1 more epoch (epoch {epochs + 1}; {epochs} restored from" in resumed.stdout


def _rows(out):
    connection = sqlite3.connect(out / "sweep.sqlite", timeout=30)
    try:
        return connection.execute("SELECT id, status FROM runs").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()


def test_sigterm_to_steepest_sweep_cancels_gives_up_its_claims_and_exits_143(tmp_path):
    pytest.importorskip("distributed")
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nkind = "minimize"\nproblem = "rosenbrock"\nmethod = "gd"\n'
                    'lr = 1e-4\nmax_iter = 15000\nseed = [' + ", ".join(map(str, range(20)))
                    + "]\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "steepest", "sweep", str(spec), "--out", str(out),
               "--workers", "2", "--quiet"]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "sweep.sqlite").exists() or not _rows(out):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, (process.returncode, stderr)
    assert "Run the same command again to resume" in stderr
    assert stderr.strip().splitlines()[-1] == "steepest sweep: stopped by SIGTERM"
    connection = sqlite3.connect(out / "sweep.sqlite")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # its claims were given up: another sweep may take those runs at once
        assert connection.execute("SELECT COUNT(*) FROM claims WHERE state = 'running'"
                                  ).fetchone()[0] == 0
        assert connection.execute("SELECT COUNT(*) FROM sweepers").fetchone()[0] == 0
    finally:
        connection.close()
    partial = _rows(out)
    assert 1 <= len(partial) < 20 and {status for _, status in partial} == {"done"}
    again = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 0, again.stderr
    assert "20 runs" in again.stdout and len(_rows(out)) == 20
