"""Training checkpoints: everything a resumed run depends on."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _random
from .callbacks import Callback, FitState
from .history import History

CHECKPOINT_FORMAT = "steepest.train.checkpoint"
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- checkpoints
def _load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    from ..io import CheckpointError, load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"fit: resume={path!r}: no such checkpoint")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"fit: resume={path!r} is not a steepest training checkpoint "
                              f"(written by fit(checkpoint=...))")
    problem = _schema_problem(state)
    if problem is not None:
        raise CheckpointError(f"fit: resume={path!r} is a damaged training checkpoint: {problem}. "
                              f"Nothing was restored")
    return state


_FIELDS = {"format", "version", "epoch", "stop_training", "model", "optimizer", "rng",
           "history", "callbacks"}


def _schema_problem(state: dict[str, Any]) -> str | None:
    """What is wrong with a training checkpoint's structure, or None."""
    if set(state) != _FIELDS:
        return f"its fields are {sorted(state)}, expected {sorted(_FIELDS)}"
    if type(state["version"]) is not int or not 1 <= state["version"] <= CHECKPOINT_VERSION:
        return f"version {state['version']!r} is not one this steepest reads (1..{CHECKPOINT_VERSION})"
    epoch = state["epoch"]
    if type(epoch) is not int or epoch < 0:
        return f"epoch must be a non-negative int, got {epoch!r}"
    if type(state["stop_training"]) is not bool:
        return f"stop_training must be a bool, got {state['stop_training']!r}"
    model = state["model"]
    if not isinstance(model, dict) or not all(isinstance(k, str) and isinstance(v, np.ndarray | np.generic)
                                              for k, v in model.items()):
        return "model must map parameter names to arrays"
    if not isinstance(state["optimizer"], dict):
        return "optimizer must be a state dict"
    if not isinstance(state["rng"], dict):
        return "rng must be a generator state"
    return _history_problem(state["history"], epoch) or _callbacks_problem(state["callbacks"])


def _history_problem(history: Any, epoch: int) -> str | None:
    if not (isinstance(history, dict) and isinstance(history.get("history"), dict)):
        return "history must be a dict with a 'history' table"
    table = history["history"]
    for key, values in table.items():
        if not isinstance(key, str) or not isinstance(values, list):
            return f"history[{key!r}] must be a list"
        if len(values) != epoch:
            return f"history[{key!r}] has {len(values)} entries for epoch {epoch}"
    if table and table.get("epoch") != list(range(1, epoch + 1)):
        return f"history['epoch'] does not count 1..{epoch}"
    for key in ("best_epoch", "stopped_epoch"):
        value = history.get(key)
        if value is not None and (type(value) is not int or not 1 <= value <= epoch):
            return f"history {key}={value!r} is not an epoch in 1..{epoch}"
    skipped = history.get("skipped_steps", 0)
    if type(skipped) is not int or skipped < 0:
        return f"history skipped_steps={skipped!r} must be a non-negative int"
    return None


def _callbacks_problem(callbacks: Any) -> str | None:
    if not isinstance(callbacks, list):
        return "callbacks must be a list"
    for i, entry in enumerate(callbacks):
        if not (isinstance(entry, dict) and set(entry) == {"class", "state"}
                and isinstance(entry["class"], str) and isinstance(entry["state"], dict)):
            return f"callbacks[{i}] must be a dict with 'class' (str) and 'state' (dict)"
    return None


def _save_checkpoint(path: str, state: FitState, callbacks: list[Callback]) -> str:
    from ..io import save

    target = path.format(epoch=state.epoch) if "{epoch" in path else path
    save({
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "epoch": state.epoch,
        "stop_training": state.stop_training,
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "rng": _random.get_rng_state(),
        "history": state.history.to_dict(),
        "callbacks": [{"class": type(cb).__name__, "state": cb.state_dict()} for cb in callbacks],
    }, target)
    return target


def _restore(checkpoint: dict[str, Any], state: FitState, callbacks: list[Callback],
             path: Any) -> None:
    """Restore a run from a checkpoint, all or nothing: when any part is refused (a model of
    another shape, an optimizer state of another kind, a callback state with missing keys),
    the model, optimizer, generator and callbacks are put back as they were."""
    from ..io import CheckpointError

    saved = checkpoint["callbacks"]
    names = [entry["class"] for entry in saved]
    if names != [type(cb).__name__ for cb in callbacks]:
        raise CheckpointError(f"fit: the checkpoint {os.fspath(path)!r} was written with "
                              f"callbacks {names}; pass the same callbacks (in the same order) "
                              f"to resume, got {[type(cb).__name__ for cb in callbacks]}")
    before = (state.model.state_dict(), state.optimizer.state_dict(), _random.get_rng_state(),
              [cb.state_dict() for cb in callbacks])
    try:
        _apply(checkpoint, state, callbacks, saved)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        state.model.load_state_dict(before[0])
        state.optimizer.load_state_dict(before[1])
        _random.set_rng_state(before[2])
        for callback, cb_state in zip(callbacks, before[3], strict=True):
            callback.load_state_dict(cb_state)
        raise CheckpointError(f"fit: resume={os.fspath(path)!r} does not fit this run: "
                              f"{type(error).__name__}: {error}. Nothing was restored") from None


def _apply(checkpoint: dict[str, Any], state: FitState, callbacks: list[Callback],
           saved: list[dict[str, Any]]) -> None:
    restored = History.from_dict(checkpoint["history"])
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    _random.set_rng_state(checkpoint["rng"])
    for callback, entry in zip(callbacks, saved, strict=True):
        callback.load_state_dict(entry["state"])
    state.history.history, state.history.skipped_steps = restored.history, restored.skipped_steps
    state.history.stopped_epoch = restored.stopped_epoch
    state.epoch = int(checkpoint["epoch"])
    state.stop_training = bool(checkpoint["stop_training"])
