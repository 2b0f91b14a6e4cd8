"""QA regression A3: a spec that crosses an option with a method that cannot take it is refused
before anything runs, in one line that names the method, the option and the methods that take
it; and the first spec of docs/sweeps.md runs cleanly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from steepest import cli, sweep

DOC = Path(__file__).resolve().parents[1] / "docs" / "sweeps.md"


def _first_doc_spec() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"no ```toml block in {DOC}"
    return blocks[0]


def test_the_first_spec_of_the_docs_loads_and_every_run_works():
    text = _first_doc_spec()
    configs = sweep.expand(sweep.load_spec(tomllib.loads(text)))
    # the comment's count of runs is the real one
    claimed = re.search(r"=\s*(\d+)\s+runs", text)
    assert claimed and int(claimed.group(1)) == len(configs), (claimed, len(configs))
    # every distinct setting runs without raising (a few iterations: the full sweep is long)
    seen = set()
    for config in configs:
        shape = sweep.run_id({**config, "seed": 0})
        if shape in seen:
            continue
        seen.add(shape)
        outcome = sweep._task({**config, "max_iter": 5})
        assert outcome["status"] == "done", (config, outcome.get("error"))


def test_every_whole_spec_of_the_docs_loads():
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    specs = [tomllib.loads(b) for b in blocks]
    whole = [s for s in specs if "kind" in s.get("sweep", {})]  # not the fragments
    assert len(whole) >= 3
    for spec in whole:
        assert sweep.expand(sweep.load_spec(spec))


DOC_BUG = {"kind": "minimize", "problem": "rosenbrock", "method": ["gd", "momentum", "nesterov"],
           "lr": [1e-4, 3e-4, 1e-3, 3e-3, "1/t"], "momentum": [0.5, 0.9], "max_iter": 2000,
           "seed": [0, 1, 2]}


def test_momentum_crossed_with_gd_is_refused_naming_method_option_and_takers():
    with pytest.raises(sweep.SpecError) as caught:
        sweep.load_spec({"sweep": DOC_BUG})
    message = str(caught.value)
    for words in ("method 'gd'", "momentum", "30 of the 90 runs", "'momentum'", "'nesterov'",
                  "[[sweep.group]]"):
        assert words in message, message
    assert "\n" not in message  # the command prints it as one line


def test_a_refused_spec_runs_nothing_and_writes_nothing(tmp_path, monkeypatch):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a run was launched for a spec that could never work")

    monkeypatch.setattr(sweep, "_execute", no_cluster)
    out = tmp_path / "out"
    with pytest.raises(sweep.SpecError, match="method 'gd'"):
        sweep.run({"sweep": DOC_BUG}, out, workers=1, progress=False)
    assert not out.exists()


def test_the_command_refuses_it_in_one_line_with_exit_2(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nkind = "minimize"\nproblem = "quadratic"\n'
                    'method = ["gd", "adam"]\nmomentum = 0.9\nmax_iter = 5\n', encoding="utf-8")
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "method 'gd'" in err and "method 'adam'" in err and "momentum" in err
    assert "no method of this spec takes it" in err and "rmsprop" in err  # the takers of all
    assert not (tmp_path / "out").exists()


def test_the_groups_the_message_suggests_are_accepted():
    spec = {"kind": "minimize", "problem": "rosenbrock", "lr": [1e-3, "1/t"], "max_iter": 5,
            "group": [{"method": ["momentum", "nesterov"], "momentum": [0.5, 0.9]},
                      {"method": "gd"}]}
    assert len(sweep.expand(sweep.load_spec({"sweep": spec}))) == 2 * 2 * 2 + 2


@pytest.mark.parametrize("table, words", [
    # betas are Adam's: gd takes none
    ({"method": ["gd", "adam"], "betas": [0.9, 0.99]},
     ["method 'gd'", "betas", "'adam'", "1 of the 2 runs"]),
    # a line search chooses gd's step; adam has none
    ({"method": ["gd", "adam"], "line_search": "armijo"},
     ["method 'adam'", "line_search", "'armijo'", "'gd'"]),
    # the value matters: bfgs needs a Wolfe search, and says so
    ({"method": ["newton", "bfgs"], "line_search": ["armijo", "wolfe"]},
     ["method 'bfgs'", "line_search", "'armijo'", "'newton'", "wolfe", "1 of the 4 runs"]),
    # newton chooses its own step: no lr
    ({"method": ["gd", "newton"], "lr": 0.01}, ["method 'newton'", "lr", "'gd'"]),
    # no single option is the trouble, the two together are
    ({"method": "gd", "line_search": "armijo", "lr": "1/t"},
     ["method 'gd'", "line_search = 'armijo'", "lr = '1/t'", "together"]),
])
def test_minimize_combinations_that_cannot_work(table, words):
    with pytest.raises(sweep.SpecError) as caught:
        sweep.load_spec({"sweep": {"kind": "minimize", "problem": "rosenbrock", **table}})
    for word in words:
        assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize("table, words", [
    ({"optimizer": ["sgd", "adam"], "momentum": 0.9},
     ["optimizer 'adam'", "momentum", "'sgd'", "rmsprop"]),
    # the optimizer left out is Adam, and the message says so
    ({"momentum": 0.9}, ["optimizer 'adam'", "the default", "momentum", "sgd"]),
    ({"optimizer": "sgd", "nesterov": True},
     ["optimizer 'sgd'", "nesterov = True", "momentum > 0"]),
    ({"optimizer": "lbfgs", "weight_decay": 0.1}, ["optimizer 'lbfgs'", "weight_decay"]),
])
def test_train_combinations_that_cannot_work(table, words):
    with pytest.raises(sweep.SpecError) as caught:
        sweep.load_spec({"sweep": {"kind": "train", "dataset": "digits", **table}})
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_specs_that_work_still_load():
    for table in ({"kind": "minimize", "problem": "quadratic", "method": ["momentum", "rmsprop"],
                   "momentum": [0.5, 0.9]},
                  {"kind": "minimize", "problem": "quadratic", "method": ["gd", "newton"],
                   "line_search": "armijo"},
                  {"kind": "train", "dataset": "digits", "optimizer": "sgd", "momentum": 0.9,
                   "nesterov": True, "lr": ["cosine:0.1", 0.01]}):
        assert sweep.expand(sweep.load_spec({"sweep": table}))


def test_a_minimize_sweep_takes_a_schedule_of_the_runs_length():
    # as `steepest minimize --lr cosine:0.1`: the length is the run's max_iter; the spec check
    # had accepted 'cosine:0.1' and the combination check refused it (cosine needs its length)
    spec = {"kind": "minimize", "problem": "quadratic", "method": "gd",
            "lr": ["cosine:0.1", 0.1], "max_iter": 50}
    configs = sweep.expand(sweep.load_spec({"sweep": spec}))
    outcomes = [sweep._task(config) for config in configs]
    assert [o["status"] for o in outcomes] == ["done", "done"]
