"""Training checkpoints: everything a resumed run depends on."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _random
from .callbacks import Callback, FitState
from .history import History

CHECKPOINT_FORMAT = "steepest.train.checkpoint"
# Version 2 adds "settings": what the run was set up with, checked when it is resumed.
CHECKPOINT_VERSION = 2


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
    version = state.get("version")
    if type(version) is int and version > CHECKPOINT_VERSION:  # not damaged: just newer
        raise CheckpointError(f"fit: resume={path!r} was written by a newer steepest (training "
                              f"checkpoint version {version}); this one reads versions up to "
                              f"{CHECKPOINT_VERSION}: upgrade steepest to resume it. Nothing "
                              f"was restored")
    problem = _schema_problem(state)
    if problem is not None:
        raise CheckpointError(f"fit: resume={path!r} is a damaged training checkpoint: {problem}. "
                              f"Nothing was restored")
    return state


_FIELDS_V1 = {"format", "version", "epoch", "stop_training", "model", "optimizer", "rng",
              "history", "callbacks"}
_FIELDS = _FIELDS_V1 | {"settings"}


def _schema_problem(state: dict[str, Any]) -> str | None:
    """What is wrong with a training checkpoint's structure, or None."""
    version = state.get("version")
    if type(version) is not int or not 1 <= version <= CHECKPOINT_VERSION:
        return f"version {version!r} is not one this steepest reads (1..{CHECKPOINT_VERSION})"
    fields = _FIELDS_V1 if version == 1 else _FIELDS
    if set(state) != fields:
        return f"its fields are {sorted(state)}, expected {sorted(fields)}"
    if version >= 2 and not (isinstance(state["settings"], dict)
                             and all(isinstance(k, str) for k in state["settings"])):
        return "settings must map names to values"
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


def _checkpoint_target(path: str, epoch: int) -> str:
    """The file name of the checkpoint after ``epoch``: ``{epoch}`` fields (``{epoch:03d}``) are
    filled in when the name has one; other names are used as they are."""
    return path.format(epoch=epoch) if "{epoch" in path else path


def _interrupted_target(path: str, epoch: int) -> str:
    """Where Ctrl-C in the middle of epoch ``epoch + 1`` checkpoints: for a ``{epoch}`` pattern,
    the last finished epoch's name with ``.interrupted`` before its extension
    (``ck_010.interrupted.npz``), so that ``ck_010.npz`` keeps epoch 10's weights (it had been
    overwritten with weights from the middle of epoch 11); a plain name, which always holds the
    run's latest state, is used as it is."""
    target = _checkpoint_target(path, epoch)
    if "{epoch" not in path:
        return target
    root, extension = os.path.splitext(target)
    return f"{root}.interrupted{extension}"


def _check_checkpoint_pattern(owner: str, path: str) -> None:
    """Refuse a checkpoint name with ``{epoch...}`` that cannot be formatted (another field such
    as ``{x}``, a bad conversion or format spec) now, not after the first epoch's training."""
    try:
        _checkpoint_target(path, 1)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
        reason = f"unknown field {{{error.args[0]}}}" if isinstance(error, KeyError) and \
            error.args else f"{type(error).__name__}: {error}"
        raise ValueError(f"{owner}: checkpoint={path!r} cannot be formatted as a file name "
                         f"({reason}); the only field allowed is {{epoch}}, with an optional "
                         f"format spec such as {{epoch:03d}} (write {{{{ and }}}} for literal "
                         f"braces)") from None


def _save_checkpoint(path: str, state: FitState, callbacks: list[Callback],
                     settings: Mapping[str, Any] | None = None, *,
                     mid_epoch: bool = False) -> str:
    """Write the checkpoint of ``state`` (after ``state.epoch``, or, ``mid_epoch``, the weights
    of a moment inside the next epoch: see :func:`_interrupted_target`); returns its file."""
    from ..io import save

    target = (_interrupted_target if mid_epoch else _checkpoint_target)(path, state.epoch)
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
        "settings": dict(settings or {}),
    }, target)
    return target


# --------------------------------------------------------------------------- run settings
def data_digest(*arrays: np.ndarray | None) -> str:
    """A SHA-256 digest of arrays' dtypes, shapes and bytes: the identity of a data set."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array.reshape(-1)).cast("B"))
    return digest.hexdigest()


def _plain_setting(owner: str, key: str, value: Any) -> Any:
    """A setting as plain data (lists for tuples), or a TypeError for anything else."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.bool_ | np.integer | np.floating):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain_setting(owner, key, item) for item in value]
    raise TypeError(f"{owner}: settings[{key!r}] must be None, a bool, int, float, str or a list "
                    f"of them, got {type(value).__name__}")


def _run_settings(owner: str, given: Mapping[str, Any] | None, fit_settings: dict[str, Any]
                  ) -> dict[str, Any]:
    """fit's own settings (batch size, shuffling, data digests) and the caller's."""
    settings = dict(fit_settings)
    if given is None:
        return settings
    if not isinstance(given, Mapping):
        raise TypeError(f"{owner}: settings must be a mapping of names to values, got "
                        f"{type(given).__name__}")
    for key, value in given.items():
        if not isinstance(key, str):
            raise TypeError(f"{owner}: settings keys must be str, got {key!r}")
        if key in fit_settings:
            raise ValueError(f"{owner}: settings[{key!r}] is recorded by fit itself; use "
                             f"another name")
        settings[key] = _plain_setting(owner, key, value)
    return settings


def _same(a: Any, b: Any) -> bool:
    """Equal settings: 1 and 1.0 agree, NaN agrees with NaN, lists and tuples item by item."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b or (a != a and b != b)
    return type(a) is type(b) and a == b


def _shown(key: str, value: Any) -> str:
    if isinstance(value, str) and key.endswith("_data") and len(value) == 64:
        return f"sha256 {value[:12]}..."
    return repr(value)


def _check_settings(checkpoint: dict[str, Any], settings: dict[str, Any], path: Any) -> None:
    """Refuse to resume a run whose settings differ from those the checkpoint recorded (the
    number of epochs is not one of them: a resumed run may aim further). A checkpoint written
    before settings were recorded is resumed with a warning."""
    from ..io import CheckpointError

    name = os.fspath(path)
    saved = checkpoint.get("settings")
    if saved is None:
        warnings.warn(f"fit: the checkpoint {name!r} was written by an older steepest that did "
                      f"not record the run's settings (batch size, data, ...); resuming without "
                      f"checking that they match this run's", UserWarning, stacklevel=3)
        return
    missing = object()
    differences = []
    keys = [*saved, *(k for k in settings if k not in saved)]
    # the options first, then the data digests (which another split seed changes too)
    keys.sort(key=lambda k: k.endswith(("_data", "_sha256")))
    for key in keys:
        old, new = saved.get(key, missing), settings.get(key, missing)
        if old is missing or new is missing or not _same(old, new):
            differences.append(f"{key} {'(not recorded)' if old is missing else _shown(key, old)}"
                               f" there, {'(not given)' if new is missing else _shown(key, new)}"
                               f" here")
    if differences:
        raise CheckpointError(f"fit: resume={name!r} was written by a run with other settings: "
                              f"{'; '.join(differences)}. Resume with the settings of that run "
                              f"(only the number of epochs may change), or start a new run "
                              f"without resuming. Nothing was restored")


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
