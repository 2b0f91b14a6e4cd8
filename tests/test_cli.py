"""The steepest command: help with examples, one-line errors with exit status 2, and the
minimize / compare / train subcommands end to end on small budgets."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from cli_harness import run
from hypothesis import given, settings
from hypothesis import strategies as st_

from steepest import cli, experiments

SUBCOMMANDS = ("demo", "minimize", "compare", "train")




def assert_usage_error(capsys, *argv: str, match: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("steepest") and ": error: " in lines[0]
    assert match in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------ help
def test_main_help_lists_commands_with_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in SUBCOMMANDS:
        assert command in out
    assert "examples:" in out and "steepest demo --out" in out


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_help_has_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: steepest {command}")
    examples = out.split("examples:", 1)[1]
    assert f"steepest {command}" in examples


def test_no_command_prints_help_and_fails(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == "" and "commands:" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("steepest ")


# ------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("argv, match", [
    (["minimize", "banana"], "unknown problem 'banana'; choose from: quadratic, rosenbrock"),
    (["minimize", "rosenbrock", "--method", "sr1"], "unknown method 'sr1'; choose from: gd,"),
    (["minimize", "rosenbrock", "--lr", "cosine:x"], "accepted: 0.01, 1/t"),
    (["minimize", "rosenbrock", "--lr", "1/q"], "--lr: cannot read '1/q'"),
    (["minimize", "rosenbrock", "--lr", "0"], "--lr must be a positive number"),
    (["minimize", "rosenbrock", "--x0=1,2,3"], "--x0 has 3 numbers but rosenbrock has dimension 2"),
    (["minimize", "rosenbrock", "--x0", "a,b"], "expected comma-separated numbers"),
    (["minimize", "rosenbrock", "--max-iter", "0"], "expected a positive integer"),
    (["minimize", "rosenbrock", "--kappa", "3"], "rosenbrock takes no parameter 'kappa'"),
    (["minimize", "rosenbrock", "--option", "betas"], "--option expects KEY=VALUE"),
    (["minimize", "rosenbrock", "--method", "adam", "--option", "betas=1.5,0.9"],
     "Adam: betas[0] must be in [0, 1), got 1.5"),
    (["minimize", "rosenbrock", "--line-search", "golden"], "invalid choice: 'golden'"),
    (["minimize", "rosenbrock", "--plot", "/nonexistent/dir/x.png"], "does not exist"),
    (["minimize", "rosenbrock", "--plot", "run.xyz"], "unknown image format '.xyz'"),
    (["compare", "rosenbrock", "--methods", "gd,foo"], "unknown method 'foo'"),
    (["compare", "rosenbrock", "--methods", "gd", "--lr", "adam=0.1"],
     "names method 'adam', which is not among the compared methods: gd"),
    (["train", "missing.csv", "--target", "y"], "no such file: 'missing.csv'"),
    (["train", "notes.txt"], "unknown dataset 'notes.txt'; choose from: digits, iris"),
    (["train", "iris", "--optimizer", "lbgfs"], "unknown optimizer 'lbgfs'; choose from: sgd"),
    (["train", "iris", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "iris", "--momentum", "0.9"], "momentum does not apply to adam"),
    (["train", "iris", "--betas", "0.9"], "--betas takes two numbers"),
    (["train", "iris", "--validation", "0.6", "--test", "0.5"], "leave no training data"),
    (["train", "iris", "--lr", "warmup:10"], "--lr: cannot read 'warmup:10'"),
    (["train", "iris", "--patience", "3", "--validation", "0"], "needs --validation > 0"),
    (["train", "iris", "--target", "species"], "--target applies to CSV/NPZ files"),
    (["train", "iris", "--resume", "nowhere.npz"], "no such checkpoint"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(capsys, *argv, match=match)


def test_csv_without_target_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n")
    assert_usage_error(capsys, "train", str(path), match="--target is required for a CSV file")


def test_console_script_reports_errors_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "steepest", "train", str(tmp_path / "x.csv"),
                             "--target", "y"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"steepest train: error: no such file: '{tmp_path / 'x.csv'}'"


# ------------------------------------------------------------------------ minimize
def test_minimize_prints_a_summary_and_writes_a_figure(capsys, tmp_path):
    figure = tmp_path / "run.png"
    code, out, err = run(capsys, "minimize", "quadratic", "--kappa", "10", "--lr", "0.1",
                         "--max-iter", "500", "--plot", str(figure))
    assert code == 0, err
    assert "quadratic (dim 2), method gd, learning rate 0.1" in out
    assert "converged" in out and "(success, status 0)" in out
    assert "distance to nearest minimiser" in out
    assert f"figure written to {figure}" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_minimize_reports_divergence_with_advice(capsys):
    code, out, err = run(capsys, "minimize", "quadratic", "--kappa", "10", "--lr", "0.5")
    assert code == 0
    assert "diverged" in out and "suggested learning rate" in out
    assert "warnings:" in out
    assert "Warning" not in err  # the advice is in the summary, not a Python warning


def test_minimize_json_is_the_only_output_on_stdout(capsys):
    code, out, err = run(capsys, "minimize", "himmelblau", "--method", "adam", "--lr",
                         "cosine:0.1", "--max-iter", "400", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["problem"] == "himmelblau" and payload["method"] == "adam"
    assert payload["lr"].startswith("cosine(lr0=0.1, total_steps=400")
    path = np.array(payload["path"])
    assert path.shape == (payload["nit"] + 1, 2)
    assert len(payload["fvals"]) == payload["nit"] + 1
    assert np.allclose(path[-1], payload["x"])
    assert "himmelblau (dim 2)" in err  # the readable summary goes to stderr


def test_minimize_schedule_and_line_search_options(capsys):
    code, out, _ = run(capsys, "minimize", "rosenbrock", "--x0", "-1.5,2", "--line-search",
                       "armijo", "--max-iter", "50", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["line_search"] == "armijo" and payload["path"][0] == [-1.5, 2.0]
    code, out, _ = run(capsys, "minimize", "rosenbrock", "--method", "momentum", "--momentum",
                       "0.5", "--lr", "1e-3", "--max-iter", "5", "--option", "dampening=0.1")
    assert code == 0 and "method momentum" in out


@settings(max_examples=40, deadline=None)
@given(st_.lists(st_.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1,
                 max_size=6))
def test_x0_round_trips_through_the_command_line(values):
    text = ",".join(repr(v) for v in values)
    args = cli.build_parser().parse_args(
        cli._glue_negative_values(["minimize", "rosenbrock", "--x0", text]))
    assert args.x0 == values


@settings(max_examples=40, deadline=None)
@given(st_.lists(st_.floats(width=64), max_size=8))
def test_json_of_any_float_array_is_strict_json(values):
    data = cli.to_json({"values": np.array(values, dtype=np.float64)})
    text = json.dumps(data, allow_nan=False)  # raises on NaN or infinity
    restored = json.loads(text)["values"]
    for original, back in zip(values, restored, strict=True):
        assert back == (original if np.isfinite(original) else None)


def test_json_turns_non_finite_numbers_into_null():
    assert cli.to_json({"a": np.array([1.0, np.inf, np.nan]), "b": (np.float32(2.5), None)}) \
        == {"a": [1.0, None, None], "b": [2.5, None]}


# ------------------------------------------------------------------------ compare
def test_compare_table_says_which_rates_were_tuned(capsys, tmp_path):
    figure = tmp_path / "compare.png"
    code, out, err = run(capsys, "compare", "quadratic", "--kappa", "20", "--methods",
                         "gd,gd+armijo,adam", "--lr", "gd=0.05", "--max-iter", "300",
                         "--plot", str(figure))
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ("gd", "gd+armijo", "adam")}
    assert rows["gd"][1:3] == ["0.05", "given"]
    assert rows["gd+armijo"][2:4] == ["line", "search"]
    assert rows["adam"][2] == "tuned"
    assert "'tuned': the learning rate was chosen by a grid search" in out
    assert "theory rate" in out
    assert figure.exists()


def test_compare_json_has_every_run(capsys):
    code, out, _ = run(capsys, "compare", "beale", "--methods", "gd,adam", "--lr", "0.01",
                       "--max-iter", "100", "--json")
    assert code == 0
    payload = json.loads(out)
    assert [r["label"] for r in payload["runs"]] == ["gd", "adam"]
    assert all(r["lr"] == 0.01 and r["lr_source"] == "given" for r in payload["runs"])
    assert len(payload["runs"][0]["result"]["fvals"]) == payload["runs"][0]["result"]["nit"] + 1


def test_tuning_picks_the_fastest_rate_and_skips_divergence():
    from steepest import problems
    problem = problems.get("quadratic", kappa=10.0)  # L = 10: steps above 0.2 diverge
    lr, trials = experiments.tune_lr(problem, "gd", grid=(0.01, 0.1, 0.3), max_iter=400, tol=1e-10)
    assert lr == 0.1
    scores = dict(trials)
    assert scores[0.3] is None
    assert scores[0.1][0] == 0 and scores[0.01][0] == 1  # only 0.1 reached the tolerance


def test_quadratic_rate_matches_gradient_descent_theory():
    from steepest import diagnostics
    kappa = 50.0
    eigenvalues = [1.0, kappa]
    optimal = diagnostics.gd_optimal_lr(kappa, 1.0)
    assert experiments.quadratic_rate("gd", optimal, eigenvalues) == pytest.approx(
        diagnostics.gd_rate(kappa) ** 2)
    alpha, beta = diagnostics.heavy_ball_parameters(kappa, 1.0)
    assert experiments.quadratic_rate("momentum", alpha, eigenvalues, beta) == pytest.approx(
        diagnostics.heavy_ball_rate(kappa) ** 2, rel=1e-6)


def test_one_learning_rate_for_all_leaves_line_searches_alone():
    lrs = cli._compare_lrs(["0.01", "adam=1/t"], ["gd", "gd+armijo", "adam"], 100)
    assert lrs["gd"] == 0.01 and "gd+armijo" not in lrs
    assert repr(lrs["adam"]) == "inverse_power(lr0=1.0, p=1.0)"


def test_progress_without_tqdm_draws_a_text_bar(monkeypatch):
    import io
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails as if not installed
    stream = io.StringIO()
    progress = experiments.Progress(stream=stream)
    progress.stage("tuning", total=2)
    with progress.bar(4, "runs") as advance:
        for _ in range(4):
            advance(1, "adam")
    progress.done("finished")
    text = stream.getvalue()
    assert "[1/2] tuning ..." in text
    assert "runs [" + "=" * 24 + "] 4/4 adam" in text
    assert "done in" in text and "finished (" in text
    quiet = io.StringIO()
    silent = experiments.Progress(enabled=False, stream=quiet)
    silent.stage("x")
    with silent.bar(3, "y") as advance:
        advance()
    assert quiet.getvalue() == ""


def test_parse_methods():
    assert experiments.parse_methods("default") == list(experiments.FAMILY)
    assert experiments.parse_methods("gd, adam,gd") == ["gd", "adam"]
    assert len(experiments.parse_methods("all")) == len(experiments.FAMILY) + len(experiments.EXTRA_METHODS)
    with pytest.raises(ValueError, match="gd\\+armijo"):
        experiments.parse_methods("adam+armijo2")


# ------------------------------------------------------------------------ train
def test_train_bundled_dataset_writes_outputs(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = run(capsys, "train", "iris", "--hidden", "16", "--epochs", "40",
                         "--batch-size", "16", "--lr", "0.01", "--patience", "10", "--quiet",
                         "--out", str(out_dir))
    assert code == 0, err
    assert "iris (classification)" in out and "network 4-16-3 (relu)" in out
    for name in ("curves.png", "confusion.png", "model.npz", "history.json", "metrics.json"):
        assert (out_dir / name).is_file(), name
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.8
    import steepest as st
    saved = st.load(out_dir / "model.npz")
    assert saved["model"]["0.weight"].shape == (16, 4)


def test_train_csv_regression_with_schedule_json(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.normal(size=120)
    path = tmp_path / "linear.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "target"])
        writer.writerows(np.column_stack([X, y]).tolist())
    code, out, err = run(capsys, "train", str(path), "--target", "target", "--hidden", "0",
                         "--optimizer", "sgd", "--momentum", "0.9", "--lr", "cosine:0.05",
                         "--epochs", "30", "--batch-size", "16", "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["task"] == "regression" and metrics["architecture"] == "3-1"
    assert metrics["lr"].startswith("cosine(lr0=0.05")
    assert metrics["test"]["r2"] > 0.95  # a linear model recovers a linear target


def test_train_checkpoint_then_resume_matches_one_run(capsys, tmp_path):
    common = ["train", "wine", "--hidden", "8", "--batch-size", "32", "--quiet", "--json",
              "--seed", "3"]
    code, out, _ = run(capsys, *common, "--epochs", "4")
    straight = json.loads(out)
    checkpoint = tmp_path / "ckpt.npz"
    code, out, _ = run(capsys, *common, "--epochs", "2", "--checkpoint", str(checkpoint))
    assert code == 0 and checkpoint.is_file()
    code, out, _ = run(capsys, *common, "--epochs", "4", "--resume", str(checkpoint))
    assert code == 0
    resumed = json.loads(out)
    assert resumed["epochs"] == 4
    assert resumed["test"] == straight["test"]  # bit for bit, as the checkpoint promises


def test_train_explains_why_lbfgs_is_not_offered(capsys):
    assert_usage_error(capsys, "train", "digits", "--optimizer", "lbfgs", "--epochs", "1",
                       match="not for minibatch training")


# ------------------------------------------------------------------------------------ backprop
def test_backprop_prints_the_trace_the_update_and_both_losses(capsys):
    from steepest import cli
    assert cli.main(["backprop", "--hidden", "3,2", "--activation", "tanh", "--seed", "0",
                     "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("network 2-3-2-1 (tanh), loss MSELoss(mean), batch of 4, seed 0")
    for needle in ("z1 = a0 @ W1.T + b1", "delta3 = dL/da3", "delta1 = (delta2 @ W2) * f'(z1)",
                   "dW2 = delta2.T @ a1", "W := W - lr dW", "W3 :=", "b3 :="):
        assert needle in out, needle
    import re

    import steepest as st
    before, after = map(float, re.search(r"loss before (\S+), after (\S+) ", out).groups())
    # the printed numbers are those of backprop_trace on the same network and batch
    st.manual_seed(0)
    model = st.nn.mlp(2, [3, 2], 1, "tanh", dtype=np.float64)
    X = np.random.default_rng(0).standard_normal((4, 2))
    trace = st.nn.backprop_trace(model, st.nn.MSELoss(), X, np.sin(X.sum(axis=1, keepdims=True)))
    assert before == pytest.approx(trace.loss, rel=1e-5)
    assert after == pytest.approx(trace.step(0.5).loss, rel=1e-5) and after < before


def test_backprop_cross_entropy_and_bad_arguments(capsys):
    from steepest import cli
    assert cli.main(["backprop", "--loss", "cross_entropy", "--outputs", "3"]) == 0
    assert "CrossEntropyLoss(mean)" in capsys.readouterr().out
    for argv, message in ((["--activation", "foo"], "unknown activation 'foo'"),
                          (["--lr", "-1"], "--lr must be a finite number > 0"),
                          (["--loss", "cross_entropy"], "needs --outputs 2 or more")):
        assert cli.main(["backprop", *argv]) == 2
        assert message in capsys.readouterr().err


def test_minimize_without_lr_prints_the_default_value(capsys):
    from steepest import cli
    assert cli.main(["minimize", "quadratic", "--method", "adam", "--max-iter", "5"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "learning rate 0.001 (the method's default)" in first
    assert "learning rate default" not in first
