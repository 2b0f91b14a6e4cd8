"""The per-epoch record of a training run."""

from __future__ import annotations

from typing import Any

import numpy as np


# --------------------------------------------------------------------------- history
class History:
    """The per-epoch record of a :func:`fit` run (as Keras's ``History``).

    ``history["loss"]``, ``history.loss`` and ``history.history["loss"]`` are the same list.
    Keys: ``epoch`` (1-based numbers), ``loss`` (mean training loss of the epoch's steps),
    ``lr`` (the learning rate of the epoch's last update, first parameter group), ``time``
    (seconds the epoch took), one key per training metric, and ``val_loss`` / ``val_<metric>``
    when there is validation data.

    Attributes
    ----------
    history : dict of str to list
    best_epoch : int or None
        The epoch whose weights :class:`EarlyStopping` restored, if it did.
    stopped_epoch : int or None
        The epoch after which a callback stopped training early.
    skipped_steps : int
        Updates skipped under ``nonfinite="skip"``.
    interrupted : bool
        Whether Ctrl-C or SIGTERM ended the run (the history then holds the epochs finished
        before it).
    interrupted_by : str or None
        The signal that ended it, ``"SIGINT"`` or ``"SIGTERM"``; None when the run was not
        interrupted, or by a KeyboardInterrupt raised otherwise (not kept by :meth:`to_dict`).
    """

    def __init__(self, history: dict[str, list] | None = None) -> None:
        self.history: dict[str, list] = {key: list(values) for key, values in
                                         (history or {}).items()}
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.skipped_steps = 0
        self.interrupted = False
        self.interrupted_by: str | None = None

    def append(self, logs: dict[str, float]) -> None:
        """Add one epoch's values."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"History has no {key!r}; it has {sorted(self.history)}") from None

    def __getattr__(self, key: str) -> list:
        if key.startswith("_") or key == "history":
            raise AttributeError(key)
        try:
            return self.history[key]
        except KeyError:
            raise AttributeError(f"History has no {key!r}; it has {sorted(self.history)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def keys(self) -> list[str]:
        """The recorded quantities."""
        return list(self.history)

    def __len__(self) -> int:
        return len(self.history.get("epoch", []))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists of floats) for :func:`steepest.save` or JSON."""
        return {"history": {k: list(v) for k, v in self.history.items()},
                "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch,
                "skipped_steps": self.skipped_steps, "interrupted": self.interrupted}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> History:
        """Rebuild a history saved by :meth:`to_dict`."""
        history = cls({k: [_plain(v) for v in values] for k, values in state["history"].items()})
        history.best_epoch = _optional_int(state.get("best_epoch"))
        history.stopped_epoch = _optional_int(state.get("stopped_epoch"))
        history.skipped_steps = int(state.get("skipped_steps", 0))
        history.interrupted = bool(state.get("interrupted", False))
        return history

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items()
                         if v and k != "epoch" and isinstance(v[-1], float))
        return f"History(epochs={len(self)}{', ' + last if last else ''})"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic | np.ndarray) else value


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
