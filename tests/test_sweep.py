"""steepest.sweep without a cluster: the spec, its expansion, ids, the database, runs, report."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from steepest import sweep, sweep_report
from steepest.cli import main


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMIZE = """
[sweep]
kind = "minimize"
problem = "quadratic"
method = ["gd", "momentum"]
lr = [0.01, 0.1, "1/t"]
max_iter = 50
seed = [0, 1]
"""


def test_import_steepest_and_cli_do_not_import_dask():
    code = ("import sys, steepest, steepest.sweep, steepest.sweep_report, steepest.cli;"
            "steepest.cli.build_parser();"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_grid_expands_to_the_product_with_sorted_json_ids(tmp_path):
    configs = sweep.expand(sweep.load_spec(write(tmp_path, MINIMIZE)))
    assert len(configs) == 2 * 3 * 2
    assert len({sweep.run_id(c) for c in configs}) == 12
    first = configs[0]
    assert first == {"kind": "minimize", "problem": "quadratic", "method": "gd", "lr": 0.01,
                     "max_iter": 50, "seed": 0}
    reordered = dict(reversed(list(first.items())))
    assert sweep.run_id(reordered) == sweep.run_id(first)
    assert sweep.run_id({**first, "seed": 1}) != sweep.run_id(first)


def test_lists_that_are_one_value_betas_and_hidden():
    spec = {"sweep": {"kind": "minimize", "problem": "rosenbrock", "method": "adam",
                      "betas": [0.9, 0.99]}}
    assert [c["betas"] for c in sweep.expand(sweep.load_spec(spec))] == [[0.9, 0.99]]
    spec["sweep"]["betas"] = [[0.9, 0.99], [0.5, 0.9]]
    assert len(sweep.expand(sweep.load_spec(spec))) == 2
    train = {"sweep": {"kind": "train", "dataset": "digits", "hidden": [16, [8, 8]]}}
    assert [c["hidden"] for c in sweep.expand(sweep.load_spec(train))] == [16, [8, 8]]


def test_duplicate_grid_values_run_once():
    spec = {"sweep": {"kind": "minimize", "problem": "quadratic", "method": ["gd", "gd"]}}
    assert len(sweep.expand(sweep.load_spec(spec))) == 1


def test_random_table_samples_log_uniform_lr_reproducibly():
    spec = {"sweep": {"kind": "minimize", "problem": "quadratic",
                      "method": ["momentum", "nesterov"],  # the methods that take a momentum
                      "random": {"n": 200, "seed": 3, "lr": [1e-4, 1e-1],
                                 "momentum": [0.0, 0.9], "max_iter": [10, 20]}}}
    configs = sweep.expand(sweep.load_spec(spec))
    again = sweep.expand(sweep.load_spec(spec))
    assert configs == again and len(configs) == 400
    lrs = np.array([c["lr"] for c in configs[:200]])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    # log-uniform: about half of the samples below the geometric middle 10**-2.5
    assert 0.4 < np.mean(lrs < 10 ** -2.5) < 0.6
    assert all(isinstance(c["max_iter"], int) and 10 <= c["max_iter"] <= 20 for c in configs)
    other = dict(spec["sweep"], random={**spec["sweep"]["random"], "seed": 4})
    assert sweep.expand(sweep.load_spec({"sweep": other})) != configs


@pytest.mark.parametrize("table, words", [
    ({"kind": "fit"}, ["kind", "'fit'", "minimize"]),
    ({"kind": "minimize", "problem": "quadratic", "method": "gd", "lrr": 1}, ["'lrr'", "allowed"]),
    ({"kind": "minimize", "problem": "quadratic", "method": []}, ["method", "empty"]),
    ({"kind": "minimize", "problem": "nope", "method": "gd"}, ["problem", "'nope'", "rosenbrock"]),
    ({"kind": "minimize", "problem": "quadratic", "method": "gd", "lr": -1}, ["lr", "-1"]),
    ({"kind": "minimize", "problem": "quadratic", "method": "gd", "lr": ["soon"]}, ["lr", "soon"]),
    ({"kind": "minimize", "problem": "quadratic", "method": "gd", "max_iter": 2.5},
     ["max_iter", "2.5", "integer"]),
    ({"kind": "minimize", "problem": "quadratic", "method": "gd", "seed": True}, ["seed", "True"]),
    ({"kind": "minimize", "method": "gd"}, ["problem"]),
    ({"kind": "train", "dataset": "nowhere.csv"}, ["dataset", "nowhere.csv"]),
    ({"kind": "train", "dataset": "digits", "optimizer": "sgdd"}, ["optimizer", "sgdd", "adam"]),
    ({"kind": "train", "dataset": "digits", "problem": "quadratic"}, ["'problem'", "train"]),
    ({"kind": "train", "dataset": "digits", "random": {"n": 0, "lr": [1e-3, 1e-2]}}, ["n", "0"]),
    ({"kind": "train", "dataset": "digits", "random": {"n": 2, "lr": [1e-2, 1e-3]}},
     ["lr", "low <= high"]),
    ({"kind": "train", "dataset": "digits", "lr": 0.1, "random": {"n": 2, "lr": [1e-3, 1e-2]}},
     ["lr", "both"]),
    ({"kind": "train", "dataset": "digits", "random": {"n": 2, "activation": ["a", "b"]}},
     ["activation", "cannot sample"]),
])
def test_bad_specs_name_the_key(table, words):
    with pytest.raises(sweep.SpecError) as caught:
        sweep.load_spec({"sweep": table})
    for word in words:
        assert word in str(caught.value)


def test_spec_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        sweep.load_spec(tmp_path / "missing.toml")
    with pytest.raises(sweep.SpecError, match="not valid TOML"):
        sweep.load_spec(write(tmp_path, "[sweep\nkind=1"))
    with pytest.raises(sweep.SpecError, match=r"\[sweep\] table"):
        sweep.load_spec(write(tmp_path, "kind = 'minimize'"))


def test_cli_bad_spec_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    spec = write(tmp_path, MINIMIZE.replace("max_iter = 50", "max_iters = 50"))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'max_iters'" in err
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(spec)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["sweep", "report", str(tmp_path / "empty")]) == 2
    assert "sweep.sqlite" in capsys.readouterr().err


def test_run_config_is_deterministic_and_uses_the_seeded_start():
    base = {"kind": "minimize", "problem": "rosenbrock", "method": "adam", "lr": 0.01,
            "max_iter": 200}
    a, b = sweep.run_config({**base, "seed": 1}), sweep.run_config({**base, "seed": 1})
    assert a["final_loss"] == b["final_loss"] and a["history"] == b["history"]
    assert sweep.run_config({**base, "seed": 2})["final_loss"] != a["final_loss"]
    at_x0 = sweep.run_config({**base, "seed": 0})
    assert at_x0["history"][0] == pytest.approx(24.2)  # f at rosenbrock's x0 (-1.2, 1)
    assert len(a["history"]) == 201 and a["metrics"]["nit"] == 200


def test_run_config_train_calls_train_network():
    config = {"kind": "train", "dataset": "digits", "hidden": 8, "epochs": 2,
              "batch_size": 128, "lr": 0.01, "seed": 0}
    first, second = sweep.run_config(config), sweep.run_config(config)
    assert first["final_loss"] == second["final_loss"]
    assert first["final_loss"] == first["metrics"]["val"]["loss"]
    assert len(first["history"]["history"]["loss"]) == 2


def test_failed_task_carries_the_message():
    outcome = sweep._task({"kind": "minimize", "problem": "quadratic", "method": "adam",
                           "momentum": 0.9, "max_iter": 5})
    assert outcome["status"] == "failed"
    assert outcome["error"].startswith("TypeError:") and "momentum" in outcome["error"]


def test_database_rows_replace_failed_and_keep_schema(tmp_path):
    connection = sweep.open_database(tmp_path)
    config = {"kind": "minimize", "problem": "quadratic", "method": "gd"}
    sweep._record(connection, config, {"status": "failed", "error": "boom"})
    assert sweep._done_ids(connection) == set()
    sweep._record(connection, config, {"status": "done", "final_loss": 0.5, "seconds": 0.1,
                                       "history": [1.0, 0.5], "metrics": {}})
    assert sweep._done_ids(connection) == {sweep.run_id(config)}
    with pytest.raises(sqlite3.IntegrityError):
        sweep._record(connection, config, {"status": "maybe"})
    connection.close()
    rows = sweep.read_runs(tmp_path)
    assert len(rows) == 1 and rows[0]["status"] == "done" and rows[0]["history"] == [1.0, 0.5]
    raw = sqlite3.connect(tmp_path / "sweep.sqlite").execute("SELECT config FROM runs").fetchone()
    assert raw[0] == json.dumps(config, sort_keys=True, separators=(",", ":"))


def _fake_rows(tmp_path):
    connection = sweep.open_database(tmp_path)
    for method in ("gd", "momentum"):
        for lr in (0.01, 0.1, 1.0):
            for momentum in (0.0, 0.9):
                for seed in (0, 1):
                    config = {"kind": "minimize", "problem": "quadratic", "method": method,
                              "lr": lr, "momentum": momentum, "seed": seed}
                    loss = lr * (1 + seed) * (2 if method == "gd" else 1) + momentum
                    outcome = {"status": "done", "final_loss": loss, "seconds": 0.01,
                               "history": [10.0, 1.0, loss]}
                    if lr == 1.0 and momentum == 0.9:
                        outcome = {"status": "failed", "error": "ValueError: diverged badly"}
                    sweep._record(connection, config, outcome)
    connection.close()


def test_report_writes_page_and_three_figures(tmp_path, capsys):
    _fake_rows(tmp_path)
    rows = sweep.read_runs(tmp_path)
    best = sweep_report.best_configs(rows)
    assert best["gd"]["config"]["lr"] == 0.01 and best["gd"]["config"]["momentum"] == 0.0
    assert best["gd"]["median"] == pytest.approx(0.03)
    assert main(["sweep", "report", str(tmp_path)]) == 0
    report = tmp_path / "report"
    for name in ("lr_sensitivity.png", "heatmap.png", "best.png"):
        data = (report / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    page = (report / "index.html").read_text(encoding="utf-8")
    assert page.count("<img ") == 3 and 'alt=""' not in page
    assert "diverged badly" in page and "24 runs" in page and "4 failed" in page
    assert "index.html" in capsys.readouterr().out


def test_report_dpi_is_at_least_150(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image
    _fake_rows(tmp_path)
    sweep_report.write_report(tmp_path)
    image = matplotlib.image.imread(tmp_path / "report" / "lr_sensitivity.png")
    assert image.shape[1] >= 7.5 * 150 - 1  # 7.5 inches wide at 150 dpi


def test_report_without_numeric_lr_skips_the_lr_figures(tmp_path):
    connection = sweep.open_database(tmp_path)
    for lr in ("1/t", "0.5/t"):
        config = {"kind": "minimize", "problem": "quadratic", "method": "gd", "lr": lr}
        sweep._record(connection, config, {"status": "done", "final_loss": 1.0,
                                           "history": [2.0, 1.0]})
    connection.close()
    page = sweep_report.write_report(tmp_path)
    assert sorted(p.name for p in Path(page).parent.iterdir()) == ["best.png", "index.html"]


def test_groups_are_a_union_of_grids_over_the_shared_keys(tmp_path):
    spec = write(tmp_path, """
[sweep]
kind = "train"
dataset = "digits"
epochs = 3
seed = [0, 1]

[[sweep.group]]
optimizer = "sgd"
lr = [0.01, 0.1]

[[sweep.group]]
label = "nesterov"
optimizer = "sgd"
momentum = 0.9
nesterov = true
lr = 0.01
epochs = 5
""")
    configs = sweep.expand(sweep.load_spec(spec))
    assert len(configs) == 2 * 2 + 2
    nesterov = [c for c in configs if c.get("label") == "nesterov"]
    assert len(nesterov) == 2 and all(c["epochs"] == 5 and c["nesterov"] for c in nesterov)
    assert all(c["epochs"] == 3 and "momentum" not in c for c in configs if "label" not in c)


@pytest.mark.parametrize("group, words", [
    ([], ["[[sweep.group]]"]),
    ([{"kind": "train"}], ["cannot set", "'kind'"]),
    ([{"optimizer": "sgdd"}], ["optimizer", "sgdd"]),
])
def test_bad_groups(group, words):
    with pytest.raises(sweep.SpecError) as caught:
        sweep.load_spec({"sweep": {"kind": "train", "dataset": "digits", "group": group}})
    for word in words:
        assert word in str(caught.value)


def test_labels_name_the_curves_of_the_report(tmp_path):
    connection = sweep.open_database(tmp_path)
    for label, lr in (("heavy", 0.1), ("heavy", 0.01), ("plain", 0.1), ("plain", 0.01)):
        config = {"kind": "train", "dataset": "digits", "optimizer": "sgd", "label": label,
                  "lr": lr}
        sweep._record(connection, config, {"status": "done", "final_loss": lr,
                                           "history": {"history": {"loss": [1.0, lr]}}})
    connection.close()
    best = sweep_report.best_configs(sweep.read_runs(tmp_path))
    assert sorted(best) == ["heavy", "plain"] and best["plain"]["config"]["lr"] == 0.01
    sweep_report.write_report(tmp_path)
    assert (tmp_path / "report" / "lr_sensitivity.png").is_file()


def test_csv_dataset_needs_a_target(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    with pytest.raises(sweep.SpecError, match="target"):
        sweep.load_spec({"sweep": {"kind": "train", "dataset": str(table)}})
    spec = sweep.load_spec({"sweep": {"kind": "train", "dataset": str(table), "target": "y"}})
    assert sweep.expand(spec)[0]["target"] == "y"


def test_steepest_sweep_is_a_lazy_attribute():
    code = "import steepest as st; print(st.sweep.run.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "steepest.sweep"


def test_progress_without_tqdm_is_one_updating_line(monkeypatch):
    import io
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    stream = io.StringIO()
    bar = sweep._Progress(4, True, stream)
    bar.update("done", 2)
    bar.update("failed", 1)
    bar.close()
    text = stream.getvalue()
    assert bar.bar is None and text.count("\r") == 2 and text.endswith("\n")
    assert "sweep 2/4: done 1, failed 1, running 1" in text and "s left" in text
