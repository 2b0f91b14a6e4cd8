"""Sweeps on Dask: every combination of a TOML spec, run on a cluster, recorded in SQLite.

A spec is a TOML file (or the equivalent dict) with a ``[sweep]`` table::

    [sweep]
    kind = "minimize"                      # or "train"
    problem = "rosenbrock"                 # a scalar: fixed for every run
    method = ["gd", "momentum", "adam"]    # a list: one axis of the grid
    lr = [1e-3, 3e-3, 1e-2, "1/t"]         # numbers or schedule strings
    max_iter = 500
    seed = [0, 1, 2]

    [sweep.random]                         # optional: n sampled points instead of a grid axis
    n = 20
    seed = 0
    momentum = [0.5, 0.99]                 # uniform in the range (log-uniform for lr)

:func:`run` expands the spec (:func:`expand`), skips the runs already ``done`` in
``DIR/sweep.sqlite``, submits the others to a Dask cluster (a ``distributed.LocalCluster`` of
worker processes by default, or an existing scheduler) and writes each result as its future
completes, one transaction per row. A run's id is a hash of its config, so running the same
spec again resumes an interrupted sweep and re-runs the failed runs only. Each run is claimed
in the database before it is submitted, so that two sweeps on the same directory at once share
the pending runs instead of both running all of them (see ``_Claims``).

Each run calls the library's own pieces: :func:`steepest.experiments.run_method` (minimize) or
:func:`steepest.experiments.train_network` (train). Dask is imported only inside this module's
functions, so ``import steepest`` stays NumPy-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import tomllib
import traceback
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice, product
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SpecError", "DatabaseError", "KINDS", "load_spec", "expand", "run_id", "run_config", "run",
           "open_database", "read_runs", "DATABASE"]

#: The file the results go to, inside the output directory.
DATABASE = "sweep.sqlite"
#: The kinds of sweep a spec may ask for.
KINDS: tuple[str, ...] = ("minimize", "train")


class SpecError(ValueError):
    """A sweep spec that cannot run: the message names the key, the value and what is allowed."""


class DatabaseError(ValueError):
    """``DIR/sweep.sqlite`` cannot be used: damaged, not an SQLite file, or an SQLite file that
    is not a steepest sweep's (its ``runs`` table lacks the columns). The message names the file
    and what is wrong."""


# ------------------------------------------------------------------------------------ the spec
def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(_is_int(v) and v > 0 for v in value)


# key -> (description of an allowed value, test of one value, whether a list is one value)
_Rule = tuple[str, Any, bool]


def _minimize_rules() -> dict[str, _Rule]:
    from .minimize import METHODS
    from .problems import NAMES
    return {
        "problem": (f"one of {', '.join(NAMES)}", lambda v: v in NAMES, False),
        "method": (f"one of {', '.join(METHODS)}", lambda v: v in METHODS, False),
        "lr": ("a positive number or a schedule string such as '1/t'", _lr_ok, False),
        "momentum": ("a number in [0, 1)", lambda v: _is_number(v) and 0 <= v < 1, False),
        "betas": ("a pair of numbers in [0, 1) such as [0.9, 0.999]",
                  lambda v: _pair(v) and all(0 <= b < 1 for b in v), True),
        "line_search": ("'armijo', 'wolfe' or 'none'", lambda v: v in ("armijo", "wolfe", "none"),
                        False),
        "max_iter": ("a positive integer", lambda v: _is_int(v) and v > 0, False),
        "seed": ("a non-negative integer", lambda v: _is_int(v) and v >= 0, False),
        "label": ("a name for the report (e.g. 'nesterov' for SGD with nesterov = true)",
                  lambda v: isinstance(v, str) and bool(v), False),
    }


def _train_rules() -> dict[str, _Rule]:
    from .experiments import ACTIVATIONS
    from .optim import OPTIMIZERS
    return {
        "dataset": ("a bundled dataset name or the path of a .csv or .npz file", _dataset_ok,
                    False),
        "target": ("the name of the column (CSV) or array (NPZ) to predict",
                   lambda v: isinstance(v, str) and bool(v), False),
        "hidden": ("a positive integer (one hidden layer) or a list of them such as [64, 64]",
                   lambda v: (_is_int(v) and v > 0) or _int_list(v), True),
        "activation": (f"one of {', '.join(ACTIVATIONS)}", lambda v: v in ACTIVATIONS, False),
        "optimizer": (f"one of {', '.join(OPTIMIZERS)}", lambda v: v in OPTIMIZERS, False),
        "lr": ("a positive number or a schedule string such as 'cosine:0.01'", _lr_ok, False),
        "momentum": ("a number in [0, 1)", lambda v: _is_number(v) and 0 <= v < 1, False),
        "nesterov": ("true or false", lambda v: isinstance(v, bool), False),
        "weight_decay": ("a non-negative number", lambda v: _is_number(v) and v >= 0, False),
        "batch_size": ("a positive integer", lambda v: _is_int(v) and v > 0, False),
        "epochs": ("a positive integer", lambda v: _is_int(v) and v > 0, False),
        "patience": ("a positive integer", lambda v: _is_int(v) and v > 0, False),
        "seed": ("a non-negative integer", lambda v: _is_int(v) and v >= 0, False),
        "label": ("a name for the report (e.g. 'nesterov' for SGD with nesterov = true)",
                  lambda v: isinstance(v, str) and bool(v), False),
    }


_REQUIRED = {"minimize": ("problem", "method"), "train": ("dataset",)}
_RANDOM_KEYS = ("lr", "momentum", "weight_decay", "max_iter", "epochs", "batch_size", "hidden",
                "seed")


def _lr_ok(value: Any) -> bool:
    if _is_number(value):
        return math.isfinite(value) and value > 0
    if not isinstance(value, str):
        return False
    from . import schedules
    try:
        schedules.parse(value, total_steps=100)
    except (ValueError, TypeError):
        return False
    return True


def _dataset_ok(value: Any) -> bool:
    from .data import DATASETS
    if not isinstance(value, str):
        return False
    return value in DATASETS or (Path(value).suffix.lower() in (".csv", ".npz")
                                 and Path(value).is_file())


def _rules(kind: str) -> dict[str, _Rule]:
    return _minimize_rules() if kind == "minimize" else _train_rules()


def load_spec(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a sweep spec.

    Parameters
    ----------
    source : path-like or mapping
        A TOML file with a ``[sweep]`` table, or the parsed mapping itself.

    Returns
    -------
    dict
        The ``[sweep]`` table, checked: every key known for its kind, every value of the right
        type, no empty list, and no run whose method (or optimizer) refuses its options.

    Raises
    ------
    SpecError
        Naming the key, the value and what is allowed; for a method crossed with an option it
        does not take (``gd`` with ``momentum``), naming the method, the option, the methods that
        take it and the ``[[sweep.group]]`` tables that give it to those only.
    FileNotFoundError
        When the file does not exist.
    """
    if isinstance(source, Mapping):
        document: Mapping[str, Any] = source
        where = "spec"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"sweep: no such spec file: {str(path)!r}")
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise SpecError(f"sweep: {path} is not valid TOML: {error}") from None
        where = str(path)
    table = document.get("sweep")
    if not isinstance(table, Mapping):
        raise SpecError(f"sweep: {where} needs a [sweep] table with kind = "
                        f"{' or '.join(repr(k) for k in KINDS)}")
    spec = dict(table)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise SpecError(f"sweep: [sweep] kind must be one of {', '.join(map(repr, KINDS))}, got "
                        f"{kind!r}")
    rules = _rules(kind)
    random = spec.pop("random", None)
    groups = spec.pop("group", None)
    for key, value in spec.items():
        if key != "kind":
            _check_entry(kind, rules, key, value)
    if random is not None:
        spec["random"] = _check_random(kind, rules, random, spec)
    if groups is not None:
        spec["group"] = _check_groups(kind, rules, groups)
    for group in spec.get("group", [{}]):
        missing = [k for k in _REQUIRED[kind]
                   if k not in spec and k not in group and k not in spec.get("random", {})]
        if missing:
            raise SpecError(f"sweep: a {kind} sweep needs the key {missing[0]!r} "
                            f"({rules[missing[0]][0]})")
        table = {**spec, **group}
        csv = [d for d in _axis("dataset", table.get("dataset"), False)
               if isinstance(d, str) and d.lower().endswith(".csv")]
        if csv and "target" not in table:
            raise SpecError(f"sweep: dataset {csv[0]!r} is a CSV file: add target = 'COLUMN', "
                            "the column to predict")
    _check_combinations(spec, expand(spec))  # now, not as failed runs once the cluster is up
    return spec


def _check_groups(kind: str, rules: Mapping[str, _Rule], groups: Any) -> list[dict[str, Any]]:
    """``[[sweep.group]]`` tables: each one grid of its own over the shared keys (their values
    replace the shared ones), the sweep being the union of the groups' grids."""
    if not isinstance(groups, list) or not groups or not all(isinstance(g, Mapping)
                                                            for g in groups):
        raise SpecError("sweep: group must be written as one or more [[sweep.group]] tables")
    for group in groups:
        for key, value in group.items():
            if key in ("kind", "random", "group"):
                raise SpecError(f"sweep: [[sweep.group]] cannot set {key!r}")
            _check_entry(kind, rules, key, value)
    return [dict(g) for g in groups]


def _check_entry(kind: str, rules: Mapping[str, _Rule], key: str, value: Any) -> None:
    if key not in rules:
        allowed = ", ".join(["kind", *rules, "random", "group"])
        raise SpecError(f"sweep: unknown key {key!r} for kind = {kind!r}; allowed keys: {allowed}")
    allowed, ok, list_is_value = rules[key]
    for item in _axis(key, value, list_is_value):
        if not ok(item):
            raise SpecError(f"sweep: {key} must be {allowed} (or a list of them), got {item!r}")


def _axis(key: str, value: Any, list_is_value: bool) -> list[Any]:
    """The values of one key: a list is a grid axis, anything else one fixed value."""
    if not isinstance(value, list):
        return [value]
    if list_is_value and not any(isinstance(v, list) for v in value) and value:
        return [value]
    if not value:
        raise SpecError(f"sweep: {key} is an empty list; give at least one value")
    return value


def _check_random(kind: str, rules: Mapping[str, _Rule], random: Any,
                  spec: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(random, Mapping):
        raise SpecError("sweep: [sweep.random] must be a table such as n = 20, lr = [1e-4, 1e-1]")
    table = dict(random)
    n, seed = table.pop("n", None), table.pop("seed", 0)
    if not _is_int(n) or n < 1:
        raise SpecError(f"sweep: [sweep.random] n must be a positive integer, got {n!r}")
    if not _is_int(seed) or seed < 0:
        raise SpecError(f"sweep: [sweep.random] seed must be a non-negative integer, got {seed!r}")
    if not table:
        raise SpecError("sweep: [sweep.random] samples nothing; give ranges such as "
                        "lr = [1e-4, 1e-1]")
    for key, bounds in table.items():
        if key not in rules or key not in _RANDOM_KEYS:
            allowed = ", ".join(k for k in _RANDOM_KEYS if k in rules)
            raise SpecError(f"sweep: [sweep.random] cannot sample {key!r}; it samples: n, seed, "
                            f"{allowed}")
        if key in spec:
            raise SpecError(f"sweep: {key} is both in [sweep] and in [sweep.random]; keep one")
        if not _pair(bounds) or not bounds[0] <= bounds[1]:
            raise SpecError(f"sweep: [sweep.random] {key} must be a range [low, high] with "
                            f"low <= high, got {bounds!r}")
        for end in bounds:
            if not rules[key][1](int(end) if _is_int(end) else end):
                raise SpecError(f"sweep: [sweep.random] {key} bounds must be {rules[key][0]}, "
                                f"got {end!r}")
    return {"n": n, "seed": seed, **table}


def _sample(random: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``n`` points drawn from the ranges: log-uniform for lr, integers for integer keys."""
    rng = np.random.default_rng(random["seed"])
    points: list[dict[str, Any]] = [{} for _ in range(random["n"])]
    for key in sorted(k for k in random if k not in ("n", "seed")):
        low, high = random[key]
        for point in points:
            if key == "lr":
                value: Any = float(math.exp(rng.uniform(math.log(low), math.log(high))))
            elif _is_int(low) and _is_int(high):
                value = int(rng.integers(low, high, endpoint=True))
            else:
                value = float(rng.uniform(low, high))
            point[key] = value
    return points


def expand(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every run of a checked spec: the grid's product (times the random samples), deduplicated.

    Parameters
    ----------
    spec : mapping
        From :func:`load_spec`.

    Returns
    -------
    list of dict
        One config per run, each with its ``kind``, in a stable order.
    """
    kind = spec["kind"]
    rules = _rules(kind)
    shared = {k: v for k, v in spec.items() if k not in ("kind", "random", "group")}
    samples = _sample(spec["random"]) if "random" in spec else [{}]
    configs, seen = [], set()
    for group in spec.get("group", [{}]):
        table = {**shared, **group}
        keys = list(table)
        axes = [_axis(k, table[k], rules[k][2]) for k in keys]
        for values in product(*axes):
            for sample in samples:
                config = {"kind": kind, **dict(zip(keys, values, strict=True)), **sample}
                identity = run_id(config)
                if identity not in seen:
                    seen.add(identity)
                    configs.append(config)
    return configs


def run_id(config: Mapping[str, Any]) -> str:
    """The id of a run: the first 16 hex digits of the SHA-256 of its config as sorted JSON."""
    return hashlib.sha256(_config_json(config).encode("utf-8")).hexdigest()[:16]


def _config_json(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------------ combinations
#: The optimizer of a train run whose config names none (``train_network``'s default).
_DEFAULT_OPTIMIZER = "adam"
#: Per kind: the config key that names the algorithm, and the keys that reach it as options.
_OPTION_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "minimize": ("method", ("lr", "line_search", "momentum", "betas")),
    "train": ("optimizer", ("lr", "momentum", "nesterov", "weight_decay")),
}


def _algorithm(config: Mapping[str, Any]) -> str:
    name_key = _OPTION_KEYS[config["kind"]][0]
    return config.get(name_key, _DEFAULT_OPTIMIZER)


def _refusal(config: Mapping[str, Any]) -> str | None:
    """What a run's algorithm says, before its first step, when handed the config's options:
    its error message, or None when it takes them.

    A minimize config runs for no iteration from the problem's ``x0`` (``run_method`` checks
    every option, the line search and the lr against the method before stepping); a train config
    builds its optimizer over one dummy parameter with the hyperparameters ``train_network``
    passes (``optim.create`` checks them). Asking the library itself, rather than a table of
    which method takes what, keeps the check from ever disagreeing with the run. Each call takes
    well under a millisecond.
    """
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if config["kind"] == "minimize":
                from .experiments import run_method
                problem, arguments = _minimize_arguments(config)
                run_method(problem, max_iter=0, **arguments)
            else:
                from . import optim, schedules, tensor
                lr = config.get("lr")
                if isinstance(lr, str):  # as train_network does, for the run's number of steps
                    lr = schedules.parse_rate(lr, total_steps=100)
                given = {"lr": lr, **{k: config.get(k)
                                      for k in ("momentum", "nesterov", "weight_decay")}}
                optim.create(_algorithm(config), [tensor(np.zeros(1), requires_grad=True)],
                             **{k: v for k, v in given.items() if v is not None})
    except (TypeError, ValueError) as error:
        return " ".join(str(error).split())  # one line: the command prints it as such
    return None


def _shown(values: Sequence[Any], most: int = 4) -> str:
    """Values for a message: the first few, and how many there are (random search has many)."""
    text = ", ".join(repr(v) for v in values[:most])
    return text + (f", ... ({len(values)} values)" if len(values) > most else "")


def _check_combinations(spec: Mapping[str, Any], configs: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, before anything runs, a spec with runs whose algorithm refuses their options.

    Crossing axes makes it easy to hand an option to a method that has none (``momentum`` with
    ``gd``); every such run would fail, one by one, after the cluster started. Each failing run
    is put down to the options its method refuses on their own (naming the methods of the spec,
    and of the library, that take them), or else to its options together.

    Parameters
    ----------
    spec : mapping
        The checked spec (for where an option comes from: the grid, or ``[sweep.random]``).
    configs : sequence of mapping
        Its runs, from :func:`expand`.

    Raises
    ------
    SpecError
        One line: how many runs could never work, the method, the option and its values, the
        library's reason, which methods take the option, and the ``[[sweep.group]]`` tables that
        give it to those methods only.
    """
    if not configs:
        return
    kind = configs[0]["kind"]
    name_key, option_keys = _OPTION_KEYS[kind]
    cache: dict[str, str | None] = {}

    def refusal(config: Mapping[str, Any]) -> str | None:
        shape = {k: v for k, v in config.items()
                 if k in ("kind", "problem", name_key, *option_keys)}
        key = _config_json(shape)
        if key not in cache:
            cache[key] = _refusal(shape)
        return cache[key]

    failing = [c for c in configs if refusal(c) is not None]
    if not failing:
        return
    spec_names = list(dict.fromkeys(_algorithm(c) for c in configs))
    if kind == "minimize":
        from .minimize import METHODS as every_name
    else:
        from .optim import OPTIMIZERS as every_name
    alone: dict[tuple[str, str], dict[str, Any]] = {}
    together: dict[tuple[str, str], dict[str, Any]] = {}
    for config in failing:
        name = _algorithm(config)
        base = {k: config[k] for k in ("kind", "problem") if k in config} | {name_key: name}
        culprits = [k for k in option_keys if k in config
                    and refusal({**base, k: config[k]}) is not None]
        for k in culprits:
            entry = alone.setdefault((name, k), {"base": base, "values": [],
                                                 "default": name_key not in config,
                                                 "reason": refusal({**base, k: config[k]})})
            if config[k] not in entry["values"]:
                entry["values"].append(config[k])
        if not culprits:
            options = {k: config[k] for k in option_keys if k in config}
            together.setdefault((name, _config_json(options)), {
                "options": options, "default": name_key not in config, "reason": refusal(config)})

    def takers(key: str, entries: Sequence[Mapping[str, Any]], names: Sequence[str]
               ) -> list[str]:
        """The names that take the values of ``key`` the refusing entries were given (the first
        few: a random search gives hundreds, all in the range the spec rules allow)."""
        return [n for n in names if all(refusal({**e["base"], name_key: n, key: v}) is None
                                        for e in entries for v in e["values"][:4])]

    def who(name: str, default: bool) -> str:
        note = f" (the default: the spec names no {name_key})" if default else ""
        return f"{name_key} {name!r}{note}"

    parts, hint = [], ""
    for key in option_keys:  # one clause per option, however many methods refuse it
        refusers = {name: entry for (name, k), entry in alone.items() if k == key}
        if not refusers:
            continue
        entries = list(refusers.values())
        in_spec = [n for n in takers(key, entries, spec_names) if n not in refusers]
        anywhere = takers(key, entries, list(every_name))
        clauses = [f"{who(name, e['default'])} cannot take {key} = {_shown(e['values'])} "
                   f"({e['reason']})" for name, e in refusers.items()]
        if not anywhere:
            which = f"no {name_key} takes it as given"
        elif in_spec:
            verb = "takes" if len(in_spec) == 1 else "take"
            which = (f"of this spec's {name_key}s, only {', '.join(map(repr, in_spec))} {verb} "
                     f"it (of all {name_key}s: {', '.join(anywhere)})")
        else:
            which = (f"no {name_key} of this spec takes it (of all {name_key}s: "
                     f"{', '.join(anywhere)})")
        parts.append("; ".join([*clauses, which]))
        if hint:
            continue
        values = list(dict.fromkeys(json.dumps(v) for e in entries for v in e["values"]))
        if key in spec.get("random", {}):  # sampled points are crossed with every group
            hint = (f"{key} is sampled by [sweep.random], which every run shares: sweep the "
                    f"{name_key}s that take it in a spec of their own")
        elif in_spec:
            listed = f"[{', '.join(values)}]" if len(values) <= 6 else "its values"
            others = [n for n in spec_names if n not in in_spec]
            hint = (f"To give {key} to some {name_key}s only, write one [[sweep.group]] with "
                    f"{name_key} = {json.dumps(in_spec)} and {key} = {listed}, and another with "
                    f"{name_key} = {json.dumps(others)} and no {key} (see 'Groups' in "
                    f"docs/sweeps.md)")
        elif anywhere:
            hint = (f"Remove {key}, or write it in a [[sweep.group]] whose {name_key} takes it "
                    f"(see 'Groups' in docs/sweeps.md)")
        else:
            hint = f"Change {key} as the message says, or remove it"
    for (name, _), entry in together.items():
        options = " and ".join(f"{k} = {v!r}" for k, v in entry["options"].items())
        parts.append(f"{who(name, entry['default'])} cannot take {options} together "
                     f"({entry['reason']})")
        hint = hint or ("Write the settings that conflict in separate [[sweep.group]] tables "
                        "(see 'Groups' in docs/sweeps.md)")
    shown = "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")
    raise SpecError(f"sweep: {len(failing)} of the {len(configs)} runs could never work: "
                    f"{shown}. {hint}")


# ------------------------------------------------------------------------------------ one run
def run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one config of a sweep, as a worker does; deterministic given the config.

    Parameters
    ----------
    config : mapping
        One element of :func:`expand`.

    Returns
    -------
    dict
        ``final_loss`` (float, None when not finite), ``history`` (list or dict),
        ``metrics`` (dict) and ``seconds``.
    """
    started = time.perf_counter()
    if config["kind"] == "minimize":
        outcome = _run_minimize(config)
    else:
        outcome = _run_train(config)
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _minimize_arguments(config: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The problem and the keyword arguments of ``run_method`` (but ``x0`` and ``max_iter``)
    for a config: one place, so that a run and the up-front check of a spec
    (:func:`_refusal`) hand the method exactly the same options."""
    from . import problems, schedules
    line_search = config.get("line_search")
    options = {k: (tuple(v) if k == "betas" else v) for k, v in config.items()
               if k in ("momentum", "betas")}
    lr = config.get("lr")
    if isinstance(lr, str):  # as `steepest minimize --lr`: a schedule's length is the run's
        lr = schedules.parse(lr, total_steps=config.get("max_iter", 1000))
    return problems.get(config["problem"]), {
        "method": config["method"], "lr": lr,
        "line_search": None if line_search in (None, "none") else line_search, **options}


def _run_minimize(config: Mapping[str, Any]) -> dict[str, Any]:
    """``steepest.experiments.run_method`` on the problem; ``seed`` s > 0 starts from
    ``x0 + 0.1 * N(0, I)`` drawn from ``numpy.random.default_rng(s)``, seed 0 (or none) at x0."""
    import warnings

    from .experiments import run_method, to_json
    problem, arguments = _minimize_arguments(config)
    x0 = np.array(problem.x0, dtype=np.float64)
    if config.get("seed"):
        x0 = x0 + 0.1 * np.random.default_rng(config["seed"]).standard_normal(x0.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergence is recorded in the row, not printed
        result = run_method(problem, x0=x0, max_iter=config.get("max_iter", 1000), **arguments)
    fvals = np.asarray(result.fvals, dtype=np.float64)
    metrics = {"nit": int(result.nit), "success": bool(result.success),
               "message": str(result.message), "f_min": to_json(float(problem.f_min)),
               "diverged": bool(getattr(result, "diverged", False))}
    # A diverged run has no final loss (docs/sweeps.md: NULL), even when ``result.fun`` is the
    # last finite iterate: the report must never rank it as a finite result.
    final = None if metrics["diverged"] else _finite(result.fun)
    return {"final_loss": final, "history": to_json(fvals), "metrics": metrics}


def _load_dataset(config: Mapping[str, Any]) -> Any:
    from . import data
    source = config["dataset"]
    if source in data.DATASETS:
        return data.load_dataset(source)
    if source.lower().endswith(".csv"):
        if "target" not in config:
            raise ValueError(f"sweep: a CSV dataset needs target = 'COLUMN' ({source!r})")
        return data.load_csv(source, config["target"])
    return data.load_npz(source, y_key=config.get("target", "y"))


def _run_train(config: Mapping[str, Any]) -> dict[str, Any]:
    """``steepest.experiments.train_network``; ``final_loss`` is the validation loss of the
    weights kept (the training loss when there is no validation split)."""
    from .experiments import to_json, train_network
    hidden = config.get("hidden", 128)
    summary = train_network(
        _load_dataset(config), hidden=[hidden] if _is_int(hidden) else list(hidden),
        activation=config.get("activation", "relu"),
        optimizer=config.get("optimizer", _DEFAULT_OPTIMIZER),
        lr=config.get("lr"), momentum=config.get("momentum"), nesterov=config.get("nesterov"),
        weight_decay=config.get("weight_decay"), epochs=config.get("epochs", 30),
        batch_size=config.get("batch_size", 64), patience=config.get("patience"),
        seed=config.get("seed", 0), progress=False)
    metrics = summary.metrics
    final = metrics.get("val", metrics.get("train", {})).get("loss")
    if metrics.get("diverged"):  # fit raises on divergence; a flag, if ever set, wins too
        final = None
    return {"final_loss": None if final is None else _finite(final),
            "history": to_json(summary.history.to_dict()), "metrics": metrics}


def _task(config: dict[str, Any]) -> dict[str, Any]:
    """What a worker runs: the outcome of :func:`run_config`, or the error it raised."""
    try:
        outcome = run_config(config)
    except Exception as error:  # recorded as a failed run; the sweep goes on
        message = f"{type(error).__name__}: {error}"
        return {"status": "failed", "error": message, "traceback": traceback.format_exc(),
                "worker": _worker_name()}
    return {"status": "done", "worker": _worker_name(), **outcome}


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


# ------------------------------------------------------------------------------------ database
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    final_loss REAL,
    seconds REAL,
    error TEXT,
    history TEXT,
    metrics TEXT,
    worker TEXT,
    finished_at TEXT NOT NULL
)
"""


_COLUMNS = ("id", "kind", "config", "status", "final_loss", "seconds", "error", "history",
            "metrics", "worker", "finished_at")


def _database_error(path: Path, error: sqlite3.Error) -> DatabaseError:
    """sqlite3's error (which names no file) as one that names the file and what is wrong."""
    text = str(error)
    if "not a database" in text or "malformed" in text:
        what = (f"is damaged or is not an SQLite database ({text}); move it away or choose "
                f"another --out to start a new sweep")
    elif "no such column" in text or "no such table" in text:
        what = f"is not a steepest sweep database ({text})"
    else:
        what = f"cannot be used: {type(error).__name__}: {text}"
    return DatabaseError(f"sweep: the results database {str(path)!r} {what}")


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite file whose ``runs`` table is not this module's (another program's)."""
    columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
    missing = [c for c in _COLUMNS if c not in columns]
    if missing:
        found = (f"its runs table has the columns {', '.join(columns)}, not "
                 f"{', '.join(_COLUMNS)}") if columns else "it has no runs table"
        raise DatabaseError(f"sweep: the results database {str(path)!r} is not a steepest sweep "
                            f"database: {found}; move it away or choose another --out")


def open_database(out: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating it and the directory when needed) ``out/sweep.sqlite``.

    Raises
    ------
    DatabaseError
        When the file is damaged, not an SQLite database, or another program's database.
    """
    directory = Path(out)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"sweep: --out {str(directory)!r} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DATABASE
    connection = None
    try:
        connection = sqlite3.connect(path, timeout=30.0)
        connection.execute("PRAGMA journal_mode=WAL")
        with connection:
            connection.execute(_SCHEMA)
        _check_schema(connection, path)
        with connection:  # only in a steepest sweep's database
            for table in _CLAIM_SCHEMA:
                connection.execute(table)
        connection.execute("SELECT COUNT(*) FROM runs").fetchone()  # reads the table's pages
    except (sqlite3.Error, DatabaseError) as error:
        if connection is not None:
            connection.close()
        if isinstance(error, DatabaseError):
            raise
        raise _database_error(path, error) from None
    return connection


def _record(connection: sqlite3.Connection, config: Mapping[str, Any],
            outcome: Mapping[str, Any]) -> None:
    """Write one run's row in its own transaction, replacing a failed row of the same id but
    never a done one: two sweeps on the same directory share its runs by claiming them (see
    ``_Claims``), but a run can still be computed twice (by a sweep that was taken for gone
    and was not, its heartbeat late), and the copy that finishes second (perhaps failing, its
    worker killed) must not overwrite the result of the first."""
    row = (run_id(config), config["kind"], _config_json(config), outcome["status"],
           outcome.get("final_loss"), outcome.get("seconds"), outcome.get("error"),
           json.dumps(outcome.get("history"), allow_nan=False) if "history" in outcome else None,
           json.dumps(outcome.get("metrics"), allow_nan=False) if "metrics" in outcome else None,
           outcome.get("worker"), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with connection:
        if sqlite3.sqlite_version_info >= (3, 24):
            connection.execute(_UPSERT, row)
        else:
            connection.execute(_KEEP_DONE, (*row, row[0]))


# One statement each, so that no other writer can come between the test and the write; the
# upsert (SQLite 3.24+) still checks the row's constraints when it keeps the done one.
_UPSERT = ("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
           + " WHERE runs.status != 'done'")
_KEEP_DONE = ("INSERT OR REPLACE INTO runs SELECT ?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS "
              "(SELECT 1 FROM runs WHERE id = ? AND status = 'done')")


def _done_ids(connection: sqlite3.Connection, path: Path | None = None) -> set[str]:
    try:
        return {row[0] for row in connection.execute("SELECT id FROM runs WHERE status = 'done'")}
    except sqlite3.DatabaseError as error:
        raise _database_error(path or Path(DATABASE), error) from None


# ------------------------------------------------------------------------------------ claims
# Two sweeps on one database (two `steepest sweep` commands on the same --out, on one machine or
# several) share its pending runs instead of both running all of them: a sweep claims the runs
# it is about to submit, in one BEGIN IMMEDIATE transaction, and skips those that another live
# sweep has claimed. A sweep registers itself (owner id, host, pid, the process's start time)
# and refreshes a heartbeat while it runs; a claim whose owner is gone (its pid no longer runs
# on this host, or its heartbeat is stale, for a sweep on another machine) is taken over.
_CLAIM_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS sweepers (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT,
    started_at TEXT NOT NULL,
    heartbeat REAL NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS claims (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'finished')),
    claimed_at REAL NOT NULL
)
""")

#: Seconds between a sweep's heartbeats.
HEARTBEAT_S = 10.0
#: A sweep whose heartbeat is older than this is gone, wherever it ran (its claims are free).
STALE_AFTER_S = 120.0
#: Seconds between two looks at the runs another live sweep holds, while waiting for them.
_POLL_S = 0.5
#: Runs looked at per query when claiming (well under SQLite's limit on bound parameters).
_CHUNK = 200


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started, as the OS counts it (Linux: clock ticks after boot), so that
    another process given the same pid later is not taken for it; None where unknown. A zombie
    (dead, not yet reaped) has none either: see :func:`_pid_alive`."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == b"Z" else fields[19].decode()


def _pid_alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` of this host still runs (and is the one that started at
    ``start``, when that is known)."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: trust the heartbeat
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    except OSError:
        return True
    if os.path.isdir("/proc"):
        now = _process_start(pid)
        if now is None or (start is not None and now != start):
            return False  # a zombie, or another process under the same pid
    return True


class _Claims:
    """This sweep's claims on the runs of ``path`` (see the comment above ``_CLAIM_SCHEMA``).

    Parameters
    ----------
    connection : sqlite3.Connection
        The sweep's connection (claims are made in the main thread).
    path : Path
        The database, for the heartbeat thread's own connection.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection, self.path = connection, path
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.owner = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.start = _process_start(self.pid)
        #: run id -> the owner of the claim this sweep found on it (so waits for)
        self.waiting: dict[str, str] = {}
        #: owner -> (host, pid) of the other live sweeps seen holding runs, and of those gone
        self.others: dict[str, tuple[str, int]] = {}
        self.gone: dict[str, tuple[str, int]] = {}
        #: claims of sweeps that were gone, taken over by this one
        self.taken_over = 0
        self._closed = False
        self._stop = threading.Event()
        self._beat()
        self._thread = threading.Thread(target=self._heartbeat, name="steepest-sweep-heartbeat",
                                        daemon=True)
        self._thread.start()

    # -- liveness
    def _row(self) -> tuple[Any, ...]:
        return (self.owner, self.host, self.pid, self.start,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.time())

    def _beat(self, connection: sqlite3.Connection | None = None) -> None:
        connection = connection or self.connection
        with connection:  # re-inserted if another sweep took this one for gone and removed it
            connection.execute("INSERT INTO sweepers VALUES (?,?,?,?,?,?) ON CONFLICT(owner) DO "
                               "UPDATE SET heartbeat = excluded.heartbeat"
                               if sqlite3.sqlite_version_info >= (3, 24) else
                               "INSERT OR REPLACE INTO sweepers VALUES (?,?,?,?,?,?)", self._row())

    def _heartbeat(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30.0)
        except sqlite3.Error:
            return
        try:
            while not self._stop.wait(HEARTBEAT_S):
                with contextlib.suppress(sqlite3.Error):
                    self._beat(connection)
        finally:
            connection.close()

    def _alive(self, host: str, pid: int, start: str | None, heartbeat: float, now: float
               ) -> bool:
        if now - heartbeat > STALE_AFTER_S:
            return False
        return host != self.host or _pid_alive(pid, start)

    # -- claiming
    @contextlib.contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, begun before anything is read (BEGIN IMMEDIATE), so that no
        other sweep claims between this one's look at the claims and its own claim."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def take(self, ids: Iterable[str], limit: int) -> tuple[list[str], dict[str, str]]:
        """Claim up to ``limit`` of ``ids`` (in their order) that are not done and not claimed by
        another live sweep; only as many ids are looked at as it takes.

        Returns
        -------
        (claimed, resolved)
            The ids claimed now, and the ids another sweep has finished since, with their
            status (``done``, or ``failed`` for a run this sweep waited for).
        """
        claimed: list[str] = []
        resolved: dict[str, str] = {}
        now = time.time()
        ids = iter(ids)
        with self._immediate() as connection:
            owners = {row[0]: row[1:] for row in connection.execute(
                "SELECT owner, host, pid, process_start, heartbeat FROM sweepers")}
            live = {owner for owner, (host, pid, start, beat) in owners.items()
                    if owner == self.owner or self._alive(host, pid, start, beat, now)}
            for owner in set(owners) - live:  # gone: its claims are free (taken over below)
                connection.execute("DELETE FROM sweepers WHERE owner = ?", (owner,))
                connection.execute("DELETE FROM claims WHERE owner = ? AND state = 'finished' "
                                   "AND id IN (SELECT id FROM runs WHERE status = 'done')",
                                   (owner,))
                self.gone[owner] = (owners[owner][0], owners[owner][1])
            while len(claimed) < limit:
                chunk = list(islice(ids, _CHUNK))
                if not chunk:
                    break
                marks = ",".join("?" * len(chunk))
                status = dict(connection.execute(
                    f"SELECT id, status FROM runs WHERE id IN ({marks})", chunk))
                claims = {row[0]: row[1:] for row in connection.execute(
                    f"SELECT id, owner, state FROM claims WHERE id IN ({marks})", chunk)}
                for run in chunk:
                    if status.get(run) == "done":
                        resolved[run] = "done"
                        continue
                    owner, state = claims.get(run, (None, None))
                    if owner is not None and owner != self.owner:
                        if state == "running" and owner in live:
                            self.waiting[run] = owner
                            self.others[owner] = (owners[owner][0], owners[owner][1])
                            continue
                        if state == "finished" and self.waiting.get(run) == owner \
                                and run in status:
                            resolved[run] = status[run]  # the run it waited for failed there
                            continue
                    if len(claimed) < limit:  # free, or its owner is gone
                        if state == "running" and owner != self.owner:
                            self.taken_over += 1
                        connection.execute("INSERT OR REPLACE INTO claims VALUES (?,?,?,?)",
                                           (run, self.owner, "running", now))
                        claimed.append(run)
        for run in [*claimed, *resolved]:
            self.waiting.pop(run, None)
        return claimed, resolved

    def finish(self, run: str) -> None:
        """Mark this sweep's claim on ``run`` finished (its row is written): a sweep waiting for
        it takes a failed row as that run's outcome instead of running it again."""
        with self.connection:
            self.connection.execute("UPDATE claims SET state = 'finished' WHERE id = ? AND "
                                    "owner = ?", (run, self.owner))

    def close(self) -> None:
        """Stop the heartbeat and give up this sweep's unfinished claims (an interrupted sweep's
        runs are then free for another at once) and its registration."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(sqlite3.Error):
            with self.connection:
                # a finished claim says something only of a failed run (see take)
                self.connection.execute("DELETE FROM claims WHERE owner = ? AND (state = "
                                        "'running' OR id IN (SELECT id FROM runs WHERE status "
                                        "= 'done'))", (self.owner,))
                self.connection.execute("DELETE FROM sweepers WHERE owner = ?", (self.owner,))

    def describe_others(self) -> str:
        """The other sweeps this one waits for, as ``pid P on HOST`` items."""
        holders = {self.waiting[run] for run in self.waiting}
        return ", ".join(f"pid {pid} on {host}" for owner, (host, pid) in self.others.items()
                         if owner in holders) or "another sweep"


def read_runs(out: str | os.PathLike[str], ids: Sequence[str] | None = None
              ) -> list[dict[str, Any]]:
    """The rows of ``out/sweep.sqlite`` as dicts, with ``config``, ``history`` and ``metrics``
    parsed from JSON; only the given ``ids`` when passed, in that order."""
    path = Path(out) / DATABASE
    if not path.is_file():
        raise FileNotFoundError(f"sweep: no results database {str(path)!r}; run a sweep with "
                                f"--out {str(out)!r} first")
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as error:
        raise _database_error(path, error) from None
    try:
        connection.row_factory = sqlite3.Row
        _check_schema(connection, path)
        rows = [dict(r) for r in connection.execute("SELECT * FROM runs ORDER BY finished_at")]
    except sqlite3.Error as error:
        raise _database_error(path, error) from None
    finally:
        connection.close()
    for row in rows:
        for key in ("config", "history", "metrics"):
            try:
                row[key] = json.loads(row[key]) if row[key] is not None else None
            except (TypeError, ValueError):
                raise DatabaseError(f"sweep: the results database {str(path)!r} is damaged: "
                                    f"the {key} of run {row.get('id')!r} is not JSON") from None
        if isinstance(row["metrics"], dict) and row["metrics"].get("diverged"):
            row["final_loss"] = None  # a row written before diverged runs were stored as NULL
    if ids is not None:
        by_id = {row["id"]: row for row in rows}
        rows = [by_id[i] for i in ids if i in by_id]
    return rows


def _table(rows: list[dict[str, Any]]) -> Any:
    """A DataFrame when pandas is installed (config keys as columns), else the list of dicts."""
    flat = [{"id": r["id"], **r["config"], "status": r["status"], "final_loss": r["final_loss"],
             "seconds": r["seconds"], "error": r["error"], "history": r["history"]} for r in rows]
    try:
        import pandas
    except ImportError:
        return flat
    return pandas.DataFrame(flat)


# ------------------------------------------------------------------------------------ progress
class _Progress:
    """Done, failed, running and the time left: tqdm when installed, else one updating line."""

    def __init__(self, total: int, enabled: bool, stream: Any = None) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.failed = 0
        self.started = time.perf_counter()
        self.bar = None
        if self.enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc="sweep", unit="run", file=self.stream,
                                dynamic_ncols=True)

    def update(self, status: str | None, running: int) -> None:
        if status == "done":
            self.done += 1
        elif status == "failed":
            self.failed += 1
        if not self.enabled:
            return
        text = f"done {self.done}, failed {self.failed}, running {running}"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1 if status else 0)
            return
        finished = self.done + self.failed
        elapsed = time.perf_counter() - self.started
        eta = elapsed / finished * (self.total - finished) if finished else math.nan
        left = f"{eta:.0f} s left" if math.isfinite(eta) else "time left unknown"
        self.stream.write(f"\rsweep {finished}/{self.total}: {text}, {left}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# ------------------------------------------------------------------------------------ the sweep
@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client of an existing scheduler, or of a LocalCluster of worker processes."""
    import logging

    from distributed import Client, LocalCluster
    if scheduler is not None:
        client = Client(scheduler, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _running(client: Any, keys: set[str]) -> int:
    """Runs being computed: tasks the scheduler has handed to a worker, at most one per thread
    (a worker may hold a few queued tasks ahead)."""
    try:
        processing, threads = client.processing(), client.nthreads()
    except Exception:  # the count is cosmetic: never let it stop a sweep
        return 0
    return sum(min(sum(1 for key in tasks if key in keys), threads.get(worker, 1))
               for worker, tasks in processing.items())


def run(spec: str | os.PathLike[str] | Mapping[str, Any], out: str | os.PathLike[str],
        workers: int | None = None, scheduler: str | None = None, *,
        progress: bool = True) -> Any:
    """Run every configuration of a spec on Dask and return the table of results.

    Runs already ``done`` in ``out/sweep.sqlite`` are skipped and ``failed`` ones run again, so
    calling this again after an interruption resumes the sweep. Runs are claimed in the
    database a few at a time before they are submitted: another sweep on the same ``out`` at
    the same time skips them (and runs the others), then waits for them to finish, taking over
    the claims of a sweep that is gone (its process no longer runs on this host, or its
    heartbeat is older than ``STALE_AFTER_S`` seconds).

    Parameters
    ----------
    spec : path-like or mapping
        A TOML file with a ``[sweep]`` table, or the parsed mapping (see :func:`load_spec`).
    out : path-like
        The directory of ``sweep.sqlite`` (created when needed).
    workers : int, optional
        Worker processes of the LocalCluster (default: one per core). Not with ``scheduler``.
    scheduler : str, optional
        The address of an existing Dask scheduler, ``tcp://HOST:PORT``.
    progress : bool, default True
        A progress bar on standard error.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per run of the spec: its id, config keys, status, final_loss, seconds, error and
        history. A list of dicts when pandas is not installed.

    Raises
    ------
    SpecError
        For a bad spec, before anything runs.
    KeyboardInterrupt
        After cancelling the pending runs and giving up their claims; the rows written so far
        stay, and running the same call again resumes. (``steepest sweep`` raises one on SIGTERM
        too, and exits with status 143.)
    """
    if workers is not None and scheduler is not None:
        raise ValueError("sweep: workers applies to the local cluster; with scheduler, the "
                         "cluster's own workers run the sweep")
    if workers is not None and (not _is_int(workers) or workers < 1):
        raise ValueError(f"sweep: workers must be a positive integer, got {workers!r}")
    configs = expand(load_spec(spec))
    connection = open_database(out)
    try:
        done = _done_ids(connection, Path(out) / DATABASE)
        pending = [c for c in configs if run_id(c) not in done]
        if pending:
            _execute(pending, connection, out, workers, scheduler, progress)
    finally:
        connection.close()
    return _table(read_runs(out, [run_id(c) for c in configs]))


def _execute(pending: list[dict[str, Any]], connection: sqlite3.Connection, out: Any,
             workers: int | None, scheduler: str | None, progress: bool) -> None:
    """Run the pending configs: claim a few runs at a time (as many as the cluster has threads,
    twice over), submit them, write each row as its future completes and claim more as the
    cluster frees up; runs another live sweep on the same database has claimed are left to it,
    and waited for at the end (taken over should it go). The cluster is started only once there
    is a run to submit."""
    from distributed import as_completed
    path = Path(out) / DATABASE
    opened = _identity(path)
    bar = _Progress(len(pending), progress)
    token = uuid.uuid4().hex[:8]
    config_of = {run_id(c): c for c in pending}
    free = dict.fromkeys(config_of)  # neither submitted here nor finished by another sweep
    flying: dict[str, tuple[str, Any]] = {}  # future key -> (run id, future), not yet recorded
    guess = workers or os.cpu_count() or 1
    claims = _Claims(connection, path)
    client: Any = None
    told: set[str] = set()

    def capacity() -> int:
        try:
            threads = sum(client.nthreads().values()) if client is not None else 0
        except Exception:  # a scheduler that does not answer: the count only paces claims
            threads = 0
        return threads or guess

    def claim(limit: int, waited_too: bool) -> list[str]:
        # the runs known to be another sweep's are looked at only when nothing else is left
        candidates = free if waited_too else (r for r in free if r not in claims.waiting)
        taken, resolved = claims.take(candidates, limit)
        for run in [*taken, *resolved]:
            free.pop(run, None)
        for status in resolved.values():
            bar.update(status, len(flying))
        if taken and claims.taken_over and "taken over" not in told:
            told.add("taken over")
            gone = ", ".join(f"pid {pid} on {host}" for host, pid in claims.gone.values())
            _notice(f"sweep: taking over the runs claimed by a sweep that is gone ({gone})")
        return taken

    def submit(stack: contextlib.ExitStack, runs: list[str]) -> list[Any]:
        nonlocal client
        if client is None:
            client = stack.enter_context(_client(workers, scheduler))
        keys = [f"steepest-sweep-{run}-{token}" for run in runs]
        futures = client.map(_task, [config_of[r] for r in runs], key=keys, pure=False,
                             retries=0)
        flying.update((f.key, (run, f)) for run, f in zip(runs, futures, strict=True))
        return futures

    try:
        with contextlib.ExitStack() as stack:
            try:
                while free:
                    taken = claim(2 * capacity(), waited_too=True)
                    if not taken:  # the rest is another live sweep's: wait for it
                        if not free:
                            break
                        if "waiting" not in told:
                            told.add("waiting")
                            _notice(f"sweep: {len(free)} runs are being run by another sweep on "
                                    f"{path} ({claims.describe_others()}); waiting for them")
                        _check_unmoved(path, opened)
                        time.sleep(_POLL_S)
                        continue
                    completions = _completions(as_completed, submit(stack, taken))
                    for future in completions:
                        run, _ = flying.pop(future.key)
                        outcome = _outcome(future)
                        _check_unmoved(path, opened)
                        try:
                            _record(connection, config_of[run], outcome)
                            claims.finish(run)
                        except sqlite3.IntegrityError:
                            raise
                        except sqlite3.DatabaseError as error:  # e.g. damaged mid-sweep
                            raise _database_error(path, error) from None
                        bar.update(outcome["status"], _running(client, set(flying)))
                        threads = capacity() if free else 0
                        if free and len(flying) <= threads:  # queue more before a thread idles
                            more = claim(2 * threads - len(flying), waited_too=False)
                            if more:
                                completions.update(submit(stack, more))
            except KeyboardInterrupt:
                if client is not None:
                    client.cancel([future for _, future in flying.values()], force=True)
                raise
    except KeyboardInterrupt:
        bar.close()
        claims.close()  # its runs are free for another sweep at once
        recorded = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        print(f"sweep interrupted: the pending runs were cancelled; {recorded} rows are in "
              f"{Path(out) / DATABASE}. Run the same command again to resume (done runs are "
              f"skipped, failed ones re-run).", file=sys.stderr, flush=True)
        raise
    finally:
        claims.close()
    bar.close()


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Batches:
    """The completed futures of batches submitted one after another, for an ``as_completed``
    that cannot take more futures once made (``update``), as Dask's can."""

    def __init__(self, as_completed: Any, first: Iterable[Any]) -> None:
        self._as_completed = as_completed
        self._parts: deque[Iterator[Any]] = deque([iter(first)])

    def update(self, futures: list[Any]) -> None:
        self._parts.append(iter(self._as_completed(futures)))

    def __iter__(self) -> _Batches:
        return self

    def __next__(self) -> Any:
        while self._parts:
            try:
                return next(self._parts[0])
            except StopIteration:
                self._parts.popleft()
        raise StopIteration


def _completions(as_completed: Any, futures: list[Any]) -> Any:
    """Dask's ``as_completed`` over ``futures``, which more can join (``update``)."""
    completions = as_completed(futures)
    if callable(getattr(completions, "update", None)):
        return completions
    return _Batches(as_completed, completions)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _check_unmoved(path: Path, opened: tuple[int, int] | None) -> None:
    """Stop the sweep when its database was deleted (``rm -rf DIR``) or replaced while it ran.
    The open connection would go on writing every row into the deleted file, where nobody can
    read it, and the sweep would end saying there is no database; better to stop at once."""
    if opened is not None and _identity(path) != opened:
        raise DatabaseError(f"sweep: the results database {str(path)!r} was removed or replaced "
                            f"while the sweep ran; the sweep stopped (the rows it wrote went "
                            f"with the old file). Run the same command again to resume into "
                            f"the database now at that path (a new one if there is none)")


def _outcome(future: Any) -> dict[str, Any]:
    """The task's result, or a failed row when the task itself could not finish (e.g. it killed
    its worker too often for Dask to retry)."""
    try:
        return future.result()
    except Exception as error:
        return {"status": "failed", "error": f"{type(error).__name__}: {error}"}


# ------------------------------------------------------------------------------------ command line
_CLI_DESCRIPTION = """\
Run every combination of a TOML spec on Dask, recording each run in DIR/sweep.sqlite as it
finishes; or, with `report DIR`, write DIR/report/index.html and its figures. Running the same
spec again skips the runs already done and re-runs the failed ones. Without --scheduler, a local
cluster of worker processes (one per core, or --workers N) runs the sweep; --scheduler uses an
existing Dask cluster (`dask scheduler` and `dask worker tcp://HOST:8786` on each machine)."""

_CLI_EXAMPLES = """\
steepest sweep tools/digits_sweep.toml --out runs/digits --workers 2
steepest sweep spec.toml --out runs/lr --scheduler tcp://10.0.0.5:8786
steepest sweep report runs/lr             # then open runs/lr/report/index.html
"""


def add_cli(commands: Any, subparser: Any) -> None:
    """Register ``steepest sweep`` with the subcommands of :mod:`steepest.cli`."""
    p = subparser(commands, "sweep", "run a grid of runs on Dask (results in SQLite), or report it",
                  _CLI_DESCRIPTION, _CLI_EXAMPLES)
    p.add_argument("target", nargs="+", metavar="SPEC.toml | report DIR",
                   help="the spec to run, or `report DIR` for the report of a finished sweep")
    p.add_argument("--out", metavar="DIR", help="directory of sweep.sqlite (required for a spec)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler, tcp://HOST:PORT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While active (in the main thread, over SIGTERM's default handler), SIGTERM raises a
    KeyboardInterrupt whose ``signal`` is SIGTERM: the sweep cancels its pending runs, gives up
    its claims and says how to resume, as on Ctrl-C, instead of ending with nothing said."""
    sigterm = getattr(signal, "SIGTERM", None)
    if (sigterm is None or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(sigterm) is not signal.SIG_DFL):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        error = KeyboardInterrupt("stopped by SIGTERM")
        error.signal = signal.Signals(signum)  # type: ignore[attr-defined]
        raise error

    signal.signal(sigterm, stop)
    try:
        yield
    finally:
        signal.signal(sigterm, signal.SIG_DFL)


def cli_main(args: Any) -> int:
    """``steepest sweep``: bad arguments raise ValueError (one line, exit status 2)."""
    if args.target[0] == "report" and not Path(args.target[0]).is_file():
        if len(args.target) != 2 or args.out or args.workers or args.scheduler:
            raise ValueError("usage: steepest sweep report DIR (no other arguments)")
        from .sweep_report import write_report
        page = write_report(args.target[1])
        print(f"report written to {page}  (open it in a browser)")
        return 0
    if len(args.target) != 1:
        raise ValueError(f"expected one spec file, got {' '.join(args.target)!r}")
    if not args.out:
        raise ValueError("--out DIR is required: the directory of sweep.sqlite")
    with _sigterm_as_interrupt():  # SIGTERM stops the sweep as Ctrl-C does (exit status 143)
        table = run(args.target[0], args.out, workers=args.workers, scheduler=args.scheduler,
                    progress=not args.quiet)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    failed = [r for r in rows if r["status"] == "failed"]
    print(f"{len(rows)} runs in {Path(args.out) / DATABASE}: {len(rows) - len(failed)} done, "
          f"{len(failed)} failed")
    for row in failed[:5]:
        print(f"  failed {row['id']}: {row['error']}")
    print(f"report: steepest sweep report {args.out}")
    return 0
