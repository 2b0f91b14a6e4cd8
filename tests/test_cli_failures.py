"""Every CLI failure is one line on stderr with exit 2, outputs are checked writable before
training, and an interrupted `steepest train` keeps its finished epochs (issue 10, items 5, 6)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from steepest import cli

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, *argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


def test_huge_dim_is_refused_before_allocating(capsys):
    assert_one_line_error(capsys, "minimize", "quadratic", "--dim", "100000000000", "--kappa",
                          "10", match="--dim 100000000000")


def test_truncated_npz(capsys, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.random.default_rng(0).normal(size=(300, 4)), y=np.arange(300) % 2)
    raw = path.read_bytes()
    for cut in (len(raw) // 2, 40):
        path.write_bytes(raw[:cut])
        assert_one_line_error(capsys, "train", str(path), "--epochs", "1", "--quiet",
                              match="d.npz")


def test_csv_not_utf8(capsys, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"x,y\n1,\xff\xfe\n2,b\n")
    assert_one_line_error(capsys, "train", str(path), "--target", "y", "--quiet",
                          match="not UTF-8")


def test_csv_huge_field(capsys, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,0\n\"" + "7" * 300_000 + "\",1\n")
    assert_one_line_error(capsys, "train", str(path), "--target", "y", "--quiet",
                          match="cannot be read as CSV")


def test_an_lr_that_blows_up_training(capsys):
    line = assert_one_line_error(capsys, "train", "iris", "--optimizer", "sgd", "--lr", "1e8",
                                 "--epochs", "5", "--quiet", match="Try lr=")
    assert "diverged" in line or "not finite" in line


def test_out_not_writable_fails_before_training(capsys, tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if ".steepest-write-test-" in str(path):
            raise PermissionError(errno.EROFS, "Read-only file system", path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", refuse)
    started = []
    from steepest import experiments
    monkeypatch.setattr(experiments, "train_network", lambda *a, **k: started.append(1))
    assert_one_line_error(capsys, "train", "iris", "--out", str(tmp_path / "o"), "--quiet",
                          match="Read-only file system")
    assert_one_line_error(capsys, "train", "iris", "--checkpoint", str(tmp_path / "c.npz"),
                          "--quiet", match="--checkpoint")
    assert started == []


def test_checkpoint_in_a_missing_directory_or_a_directory(capsys, tmp_path):
    assert_one_line_error(capsys, "train", "iris", "--checkpoint",
                          str(tmp_path / "nope" / "c.npz"), "--quiet", match="does not exist")
    assert_one_line_error(capsys, "train", "iris", "--checkpoint", str(tmp_path), "--quiet",
                          match="is a directory")


def test_an_unexpected_error_is_one_line_too(capsys, monkeypatch):
    from steepest import experiments

    def broken(*args, **kwargs):
        raise RuntimeError("something\nbroke")
    monkeypatch.setattr(experiments, "train_network", broken)
    assert_one_line_error(capsys, "train", "iris", "--quiet", match="RuntimeError: something broke")


def test_interrupted_train_writes_the_finished_epochs(tmp_path):
    out, checkpoint = tmp_path / "out", tmp_path / "c.npz"
    env = dict(os.environ, PYTHONPATH=SRC)
    child = subprocess.Popen(
        [sys.executable, "-m", "steepest", "train", "iris", "--epochs", "100000", "--quiet",
         "--out", str(out), "--checkpoint", str(checkpoint)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "interrupted; after epoch" in lines[0] and "history.json" in lines[0]
    history = json.loads((out / "history.json").read_text())
    done = len(history["history"]["epoch"])
    assert done >= 1 and history["interrupted"] is True
    assert f"after epoch {done} of 100000" in lines[0]
    assert (out / "model.npz").exists() and (out / "curves.png").exists()
    assert (out / "metrics.json").exists()
