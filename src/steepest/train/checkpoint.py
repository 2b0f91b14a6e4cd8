"""Training checkpoints: everything a resumed run depends on."""

from __future__ import annotations

import os
from typing import Any

from .. import _random
from .callbacks import Callback, FitState
from .history import History

CHECKPOINT_FORMAT = "steepest.train.checkpoint"
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- checkpoints
def _load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    from ..io import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"fit: resume={path!r}: no such checkpoint")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"fit: resume={path!r} is not a steepest training checkpoint (written by "
                         f"fit(checkpoint=...))")
    return state


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
    saved = checkpoint["callbacks"]
    names = [entry["class"] for entry in saved]
    if names != [type(cb).__name__ for cb in callbacks]:
        raise ValueError(f"fit: the checkpoint {os.fspath(path)!r} was written with callbacks "
                         f"{names}; pass the same callbacks (in the same order) to resume, got "
                         f"{[type(cb).__name__ for cb in callbacks]}")
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    _random.set_rng_state(checkpoint["rng"])
    for callback, entry in zip(callbacks, saved, strict=True):
        callback.load_state_dict(entry["state"])
    restored = History.from_dict(checkpoint["history"])
    state.history.history, state.history.skipped_steps = restored.history, restored.skipped_steps
    state.history.stopped_epoch = restored.stopped_epoch
    state.epoch = int(checkpoint["epoch"])
    state.stop_training = bool(checkpoint["stop_training"])
