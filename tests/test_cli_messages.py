"""What the steepest command prints around a run: warnings as one line in its own words (NumPy's
floating-point warnings, with their file names and source lines, never reach the user), the
settings a run actually used rather than "default", and examples in README.md and ``--help``
that do what the text says they do."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_harness import run

from steepest import cli
from steepest.diagnostics import DivergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"




def run_process(*argv: str) -> subprocess.CompletedProcess:
    """``python -m steepest argv...`` in a fresh process: what a user's terminal shows, with
    Python's default warning display (pytest would otherwise record the warnings itself)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "STEEPEST_TRACEBACK")}
    return subprocess.run([sys.executable, "-m", "steepest", *argv], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


# ------------------------------------------------------------------------ warnings (B1)
def test_a_diverged_training_run_says_so_in_one_line_without_numpy_warnings():
    # lr 1e300 overflows the float32 update inside the optimizer: NumPy warned from sgd.py
    done = run_process("train", "iris", "--optimizer", "sgd", "--lr", "1e300", "--epochs", "1",
                       "--hidden", "8", "--quiet")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("steepest train: error: fit: training diverged at epoch 1")
    assert "Try lr=" in lines[0]
    assert "RuntimeWarning" not in done.stderr and ".py:" not in done.stderr


def test_an_overflow_in_a_finished_command_is_one_line_in_the_commands_words():
    done = run_process("backprop", "--lr", "1e300")
    assert done.returncode == 0, done.stderr
    assert "the step was too large, try a smaller --lr" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "steepest backprop: warning: the computation hit floating-point overflow and invalid "
        "values (nan); numbers shown as inf or nan come from it"]


def test_numpy_warnings_outside_the_run_itself_do_not_escape(capsys):
    # f overflows at this start: the summary's gradient norm and the plot's contour levels
    # overflowed in NumPy after the run, outside the run's own warning filter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "minimize", "rosenbrock", "--method", "newton",
                             "--x0", "1e100,1e100")
    assert code == 0, err
    assert "f is inf at iteration 0" in out
    assert [str(w.message) for w in caught] == []
    assert err.strip().splitlines() == [
        "steepest minimize: warning: the computation hit floating-point overflow; numbers "
        "shown as inf or nan come from it"]


def test_steepests_own_warnings_are_shown_in_the_commands_format(capsys, monkeypatch):
    def command(args):
        warnings.warn("minimize (gd) diverged: f grew; try lr <= 0.1", DivergenceWarning,
                      stacklevel=1)
        np.float64(1e308) * np.float64(10)  # NumPy: "overflow encountered in scalar multiply"
        raise ValueError("the run failed, as this command says itself")

    monkeypatch.setitem(cli._COMMANDS, "backprop", command)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "backprop")
    assert code == 2 and out == "" and caught == []
    # the library's warning, one line; NumPy's left out, since the error says what went wrong
    assert err.strip().splitlines() == [
        "steepest backprop: warning: minimize (gd) diverged: f grew; try lr <= 0.1",
        "steepest backprop: error: the run failed, as this command says itself"]


def test_a_resumed_old_checkpoint_warns_in_one_line(capsys, tmp_path):
    import steepest as st
    checkpoint = str(tmp_path / "ck.npz")
    common = ("train", "iris", "--hidden", "8", "--quiet")
    assert run(capsys, *common, "--epochs", "1", "--checkpoint", checkpoint)[0] == 0
    state = st.load(checkpoint)  # as a steepest from before run settings were recorded wrote it
    del state["settings"]
    state["version"] = 1
    st.save(state, checkpoint)
    code, out, err = run(capsys, *common, "--epochs", "2", "--resume", checkpoint)
    assert code == 0, err
    assert err.strip().splitlines() == [
        f"steepest train: warning: fit: the checkpoint {checkpoint!r} was written by an older "
        "steepest that did not record the run's settings (batch size, data, ...); resuming "
        "without checking that they match this run's"]


# ------------------------------------------------------------------------ settings (C7)
def test_minimize_json_gives_the_default_learning_rate_it_used(capsys):
    code, out, _ = run(capsys, "minimize", "quadratic", "--method", "adam", "--max-iter", "5",
                       "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["lr"] == "0.001" and payload["lr_source"] == "default"
    code, out, _ = run(capsys, "minimize", "quadratic", "--method", "adam", "--lr", "0.01",
                       "--max-iter", "5", "--json")
    payload = json.loads(out)
    assert payload["lr"] == "0.01" and payload["lr_source"] == "given"


@pytest.mark.parametrize("method", ["newton", "bfgs", "lbfgs", "cg"])
def test_a_second_order_method_is_said_to_use_its_line_search_not_a_default_lr(capsys, method):
    code, out, err = run(capsys, "minimize", "quadratic", "--method", method, "--json")
    assert code == 0, err
    heading = err.splitlines()[0]
    assert heading == f"quadratic (dim 2), method {method}, wolfe line search"
    payload = json.loads(out)
    assert payload["line_search"] == "wolfe"
    assert payload["lr"] is None and payload["lr_source"] == "line search"


def test_train_without_lr_prints_the_learning_rate_it_used(capsys):
    code, out, err = run(capsys, "train", "iris", "--hidden", "8", "--epochs", "1", "--quiet")
    assert code == 0, err
    heading = out.splitlines()[1]
    assert "learning rate 0.001 (the default for adam)" in heading, heading


def test_compare_without_tuning_shows_the_default_rates_it_used(capsys):
    code, out, err = run(capsys, "compare", "quadratic", "--kappa", "50", "--methods",
                         "gd,adam,bfgs", "--no-tune", "--max-iter", "50")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ("gd", "adam", "bfgs")}
    assert rows["gd"][1:3] == ["0.001", "default"]  # it read '—  default'
    assert rows["adam"][1:3] == ["0.001", "default"]
    assert rows["bfgs"][1:4] == ["—", "line", "search"]  # a line search picks every step


# ------------------------------------------------------------------------ examples (C6)
def _readme_commands() -> list[str]:
    """Every ``steepest ...`` line of README.md's code blocks, comments and ``&&`` chains cut."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                if part.strip().startswith("steepest"):
                    commands.append(part.strip())
    return commands


def _help_examples() -> list[str]:
    parser = cli.build_parser()
    texts = [parser.epilog or ""]
    texts += [sub.epilog or "" for action in parser._subparsers._group_actions
              for sub in action.choices.values()]
    return [line.split("#", 1)[0].split(">", 1)[0].strip() for text in texts
            for line in text.splitlines() if line.strip().startswith("steepest ")]


def test_readme_has_the_command_line_examples():
    commands = _readme_commands()
    assert "steepest demo" in commands and "steepest explore" in commands
    assert sum(c.startswith("steepest train") for c in commands) >= 3


@pytest.mark.parametrize("line", _readme_commands() + _help_examples())
def test_every_documented_command_line_parses(line):
    cli.build_parser().parse_args(cli._glue_negative_values(shlex.split(line)[1:]))


@pytest.mark.parametrize("line", sorted(
    {c for c in _readme_commands() + _help_examples()
     if c.startswith(("steepest minimize rosenbrock --method adam", "steepest minimize beale"))}))
def test_the_minimize_examples_with_a_figure_converge(capsys, tmp_path, monkeypatch, line):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *shlex.split(line)[1:])
    assert code == 0, err
    assert "status      : converged" in out, out
    figure = out.strip().splitlines()[-1]
    assert figure.startswith("figure written to ") and Path(figure.split(" to ", 1)[1]).is_file()
