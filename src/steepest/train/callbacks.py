"""What callbacks see of a run, and the callbacks: early stopping, learning-rate plateaus."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real
from .history import History, _optional_int
from .metrics import _HIGHER_IS_BETTER


# --------------------------------------------------------------------------- state & callbacks
class FitState:
    """What callbacks see of a running :func:`fit`.

    Attributes
    ----------
    model, loss, optimizer
        The objects passed to :func:`fit`.
    history : History
    epoch : int
        The current (1-based) epoch; 0 before the first.
    epochs : int
        The number of epochs the run aims for.
    stop_training : bool
        Set it to True to end the run after the current epoch.
    """

    def __init__(self, model: Any, loss: Any, optimizer: Any, history: History, epochs: int
                 ) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.history = history
        self.epoch = 0
        self.epochs = epochs
        self.stop_training = False


class Callback:
    """Base class of the hooks :func:`fit` calls; override the ones you need.

    A callback that keeps state across epochs returns it from :meth:`state_dict` (plain data and
    arrays) and takes it back in :meth:`load_state_dict`, so that it is saved in checkpoints.
    :meth:`on_batch_end` is called only for callbacks that override it, keeping the step lean.
    """

    def on_train_begin(self, state: FitState) -> None:
        """Before the first epoch (also when resuming)."""

    def on_epoch_begin(self, state: FitState) -> None:
        """Before each epoch's first batch."""

    def on_batch_end(self, state: FitState, batch: int, loss: float) -> None:
        """After each update, with the batch's 1-based index and loss."""

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        """After each epoch's validation, with that epoch's values (as added to the history)."""

    def on_train_end(self, state: FitState) -> None:
        """After the last epoch, or after a callback stopped training."""

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint (plain data and arrays)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class LambdaCallback(Callback):
    """A callback made from a function ``fn(epoch, logs)`` called after every epoch; returning
    True stops training. :func:`fit` wraps plain functions in its ``callbacks`` with this."""

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float]], bool | None]) -> None:
        if not callable(on_epoch_end):
            raise TypeError(f"LambdaCallback: on_epoch_end must be callable, got {on_epoch_end!r}")
        self.fn = on_epoch_end

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if self.fn(state.epoch, dict(logs)) is True:
            state.stop_training = True


def _resolve_mode(owner: str, mode: str, monitor: str) -> str:
    check_choice(owner, "mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        return "max" if any(word in monitor for word in _HIGHER_IS_BETTER) else "min"
    return mode


def _monitored(owner: str, monitor: str, logs: dict[str, float]) -> float:
    if monitor not in logs:
        hint = " (pass validation= to fit, or monitor 'loss')" if monitor.startswith("val_") else ""
        raise KeyError(f"{owner}: monitor={monitor!r} is not recorded; the recorded values are "
                       f"{sorted(k for k in logs if k != 'epoch')}{hint}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when a monitored value has not improved for ``patience`` epochs, and (by default)
    put back the weights of its best epoch.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the history (``"loss"``, ``"val_loss"``, ``"val_accuracy"``, ...).
    patience : int, default 10
        Epochs without improvement to wait before stopping.
    min_delta : float, default 0.0
        An improvement must beat the best value by more than this.
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; ``"auto"`` picks ``"max"`` for accuracy-like names.
    restore_best_weights : bool, default True
        At the end of training, load the weights of the best epoch (Keras defaults to False; a
        PyTorch user writing this by hand keeps the best model, which is what one wants).

    Notes
    -----
    The epoch counts as an improvement when :math:`v < v_{best} - \\delta` (``min``) or
    :math:`v > v_{best} + \\delta` (``max``); training stops once ``patience`` epochs in a row
    fail to improve, as in Keras's ``EarlyStopping``.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        owner = "EarlyStopping"
        if not isinstance(monitor, str):
            raise TypeError(f"{owner}: monitor must be a history key (str), got {monitor!r}")
        self.monitor = monitor
        self.patience = check_int(owner, "patience", patience, 0)
        self.min_delta = check_real(owner, "min_delta", min_delta, 0.0)
        self.mode = _resolve_mode(owner, mode, monitor)
        self.restore_best_weights = check_bool(owner, "restore_best_weights",
                                               restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, state: FitState) -> None:
        if state.epoch == 0:  # a fresh run (a resumed one keeps its loaded state)
            self._reset()

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        value = _monitored("EarlyStopping", self.monitor, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = state.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True

    def on_train_end(self, state: FitState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
            state.history.best_epoch = self.best_epoch

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_weights": None if self.best_weights is None else dict(self.best_weights)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = _optional_int(state["best_epoch"])
        self.wait = int(state["wait"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else {k: np.array(v) for k, v in
                                                          weights.items()}

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored value stops improving (the rules
    of ``torch.optim.lr_scheduler.ReduceLROnPlateau``).

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float, default 0.1
        In (0, 1).
    patience : int, default 10
        Epochs without improvement tolerated; the rate drops on the next one.
    threshold : float, default 1e-4
        Relative improvement needed: :math:`v < v_{best} (1 - \\text{threshold})` in ``min``
        mode (``threshold_mode="rel"``), or :math:`v < v_{best} - \\text{threshold}` (``"abs"``).
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    min_lr : float, default 0.0
        The rate never goes below this.
    mode : {"auto", "min", "max"}, default "auto"
    eps : float, default 1e-8
        Reductions smaller than this are skipped.

    Notes
    -----
    .. math:: \\eta \\leftarrow \\max(\\eta \\cdot \\text{factor}, \\eta_{min})

    applied to every parameter group. It needs numeric learning rates: a schedule already
    decides the rate itself.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, mode: str = "auto", eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        if not isinstance(monitor, str):
            raise TypeError(f"{owner}: monitor must be a history key (str), got {monitor!r}")
        self.monitor = monitor
        self.factor = check_real(owner, "factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_int(owner, "patience", patience, 0)
        self.threshold = check_real(owner, "threshold", threshold, 0.0)
        self.threshold_mode = check_choice(owner, "threshold_mode", threshold_mode,
                                           ("rel", "abs"))
        self.cooldown = check_int(owner, "cooldown", cooldown, 0)
        self.min_lr = check_real(owner, "min_lr", min_lr, 0.0)
        self.mode = _resolve_mode(owner, mode, monitor)
        self.eps = check_real(owner, "eps", eps, 0.0)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        sign = 1.0 if self.mode == "min" else -1.0
        if self.threshold_mode == "rel":
            bound = self.best * (1.0 - sign * self.threshold)
        else:
            bound = self.best - sign * self.threshold
        return value < bound if self.mode == "min" else value > bound

    def on_train_begin(self, state: FitState) -> None:
        for i, group in enumerate(state.optimizer.param_groups):
            if group.get("lr_schedule") is not None or not isinstance(group["lr"], numbers.Real):
                shown = group.get("lr_schedule") or group["lr"]
                raise TypeError(f"ReduceLROnPlateau: parameter group {i} has lr={shown!r}; "
                                f"it needs a numeric learning rate (a schedule sets its own)")
        if state.epoch == 0:
            self._reset()

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        value = _monitored("ReduceLROnPlateau", self.monitor, logs)
        if self._improved(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group in state.optimizer.param_groups:
                new_lr = max(group["lr"] * self.factor, self.min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, min_lr={self.min_lr})")


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _resolve_callbacks(callbacks: Iterable[Any] | None) -> list[Callback]:
    resolved: list[Callback] = []
    for callback in callbacks or ():
        if isinstance(callback, Callback):
            resolved.append(callback)
        elif callable(callback):
            resolved.append(LambdaCallback(callback))
        else:
            raise TypeError(f"fit: each callback must be a train.Callback or a function "
                            f"(epoch, logs) -> bool | None; got {callback!r}")
    return resolved
