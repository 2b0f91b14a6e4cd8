"""Regressions from a fault-injection pass over ``steepest train`` / ``minimize``: a resume with
other options is refused, a bad {epoch} pattern and a --plot directory are usage errors at once,
and named pipes are refused instead of read (or called missing)."""

from __future__ import annotations

import json
import os
import sys
import warnings

import pytest
from cli_harness import run

COMMON = ("train", "iris", "--hidden", "8", "--quiet", "--json")


@pytest.mark.parametrize("changed, named", [
    (("--seed", "7"), "seed 0 there, 7 here"),
    (("--activation", "tanh"), "activation 'relu' there, 'tanh' here"),
    (("--batch-size", "7"), "batch_size 64 there, 7 here"),
    (("--lr", "0.5"), "lr None there, 0.5 here"),
    (("--test", "0.3"), "test 0.15 there, 0.3 here"),
])
def test_resume_with_other_options_is_refused(capsys, tmp_path, changed, named):
    checkpoint = str(tmp_path / "ck.npz")
    code, _, err = run(capsys, *COMMON, "--epochs", "2", "--seed", "0", "--checkpoint", checkpoint)
    assert code == 0, err
    code, _, err = run(capsys, *COMMON, "--epochs", "4", "--resume", checkpoint, *changed)
    assert code == 2
    assert "other settings" in err and named in err


def test_resume_with_raised_epochs_and_equal_lr_spelling_is_accepted(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    code, out, _ = run(capsys, *COMMON, "--epochs", "4", "--lr", "0.01")
    straight = json.loads(out)
    run(capsys, *COMMON, "--epochs", "2", "--lr", "0.01", "--checkpoint", checkpoint)
    code, out, err = run(capsys, *COMMON, "--epochs", "4", "--lr", "1e-2", "--resume", checkpoint)
    assert code == 0, err
    assert json.loads(out)["test"] == straight["test"]


@pytest.mark.parametrize("pattern", ["ck_{epoch}_{x}.npz", "ck_{epoch!z}.npz"])
def test_bad_checkpoint_pattern_is_a_usage_error_before_training(capsys, tmp_path, pattern):
    code, _, err = run(capsys, "train", "iris", "--epochs", "2", "--quiet",
                       "--checkpoint", str(tmp_path / pattern))
    assert code == 2
    assert "--checkpoint" in err and "cannot be formatted as a file name" in err
    assert "{epoch}" in err
    assert not list(tmp_path.iterdir())


def test_plot_to_a_directory_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "minimize", "quadratic", "--max-iter", "5", "--plot", str(tmp_path))
    assert code == 2 and "is a directory" in err
    assert not (tmp_path.parent / f"{tmp_path.name}.png").exists()


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "mkfifo"),
                    reason="POSIX named pipes")
def test_named_pipes_are_refused_not_called_missing(capsys, tmp_path):
    pipe = tmp_path / "pipe.npz"
    os.mkfifo(pipe)
    code, _, err = run(capsys, "train", "iris", "--resume", str(pipe))
    assert code == 2 and "is not a regular file (it is a named pipe (FIFO))" in err
    assert "no such checkpoint" not in err
    code, _, err = run(capsys, "train", str(pipe))
    assert code == 2 and "is not a regular file" in err


def test_huge_x0_gives_a_result_without_stray_warnings(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "minimize", "rosenbrock", "--x0", "1e308,1e308",
                             "--max-iter", "5")
    assert code == 0, err
    assert "status 3" in out and "distance to nearest minimiser: inf" in out
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
