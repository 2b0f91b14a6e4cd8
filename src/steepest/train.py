"""The training loop: epochs of shuffled minibatches, validation, metrics, callbacks, checkpoints.

:func:`fit` runs the loop that a PyTorch user writes by hand (forward, loss, backward, step) and
keeps the per-epoch record a Keras user expects from ``model.fit`` (a :class:`History`).

Reproducibility: initialisation, shuffling and dropout all draw from the library generator, so
``st.manual_seed(n)`` before building the model makes a run bit-for-bit repeatable, and a
checkpoint holds everything that the rest of the run depends on (weights, optimizer state with
its step counts, the generator state, the callbacks' state and the history), so that a run
resumed from it ends bit-for-bit where the uninterrupted run ends.

Examples
--------
>>> import steepest as st
>>> from steepest import nn, optim, data, train
>>> ds = data.load_dataset("iris")
>>> split = data.train_val_test_split(ds.X, ds.y, seed=0)
>>> scaler = data.Standardizer().fit(split.X_train)
>>> _ = st.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
>>> history = train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
...                     (scaler.transform(split.X_train), split.y_train),
...                     validation=(scaler.transform(split.X_val), split.y_val),
...                     epochs=30, batch_size=16, metrics=["accuracy"], progress=False,
...                     callbacks=[train.EarlyStopping(patience=5)])
>>> history["val_accuracy"][-1] > 0.8
True
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import _random
from ._validation import check_bool, check_choice, check_int, check_real
from .autodiff.tensor import Tensor, no_grad
from .data import batches

__all__ = [
    "fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ReduceLROnPlateau",
    "LambdaCallback", "NonFiniteError", "FitState", "clip_grad_norm_", "current_lr", "METRICS",
    "accuracy", "mean_squared_error", "mean_absolute_error",
]

Data = Any  # (X, y) pair of array-likes, or an object with .X and .y (a Dataset)
Metric = Callable[[np.ndarray, np.ndarray], float]

CHECKPOINT_FORMAT = "steepest.train.checkpoint"
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- metrics
def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of correct class predictions.

    ``output`` holds one score (logit or probability) per class, or a single logit column for a
    binary problem (class 1 when the logit is positive); ``target`` holds class indices, or
    one-hot / probability rows (compared by their argmax).
    """
    if output.ndim == 1 or output.shape[-1] == 1:
        predicted = (output.reshape(-1) > 0).astype(np.int64)
        target = target.reshape(-1)
    else:
        predicted = output.argmax(axis=-1)
        if target.ndim == output.ndim:
            target = target.argmax(axis=-1)
    return float(np.mean(predicted == target))


def mean_squared_error(output: np.ndarray, target: np.ndarray) -> float:
    """Mean of the squared differences (targets reshaped to the output's shape)."""
    return float(np.mean((output - target.reshape(output.shape)) ** 2))


def mean_absolute_error(output: np.ndarray, target: np.ndarray) -> float:
    """Mean of the absolute differences (targets reshaped to the output's shape)."""
    return float(np.mean(np.abs(output - target.reshape(output.shape))))


#: Metrics available by name in :func:`fit` and :func:`evaluate`. Each maps ``(output, target)``
#: NumPy arrays of one batch to a float; batches are averaged weighted by their size.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy, "mse": mean_squared_error, "mae": mean_absolute_error,
}

#: Monitored quantities that improve upwards (for ``mode="auto"``).
_HIGHER_IS_BETTER = ("accuracy", "acc", "r2", "score")


def _resolve_metrics(metrics: Iterable[str | Metric] | None, owner: str) -> dict[str, Metric]:
    resolved: dict[str, Metric] = {}
    if metrics is None:
        return resolved
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    for metric in metrics:
        if isinstance(metric, str):
            check_choice(owner, "metrics", metric, METRICS)
            resolved[metric] = METRICS[metric]
        elif callable(metric):
            resolved[getattr(metric, "__name__", type(metric).__name__)] = metric
        else:
            raise TypeError(f"{owner}: each metric must be one of {sorted(METRICS)} or a callable "
                            f"(output, target) -> float; got {metric!r}")
    return resolved


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
    """

    def __init__(self, history: dict[str, list] | None = None) -> None:
        self.history: dict[str, list] = {key: list(values) for key, values in
                                         (history or {}).items()}
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.skipped_steps = 0

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
                "skipped_steps": self.skipped_steps}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> History:
        """Rebuild a history saved by :meth:`to_dict`."""
        history = cls({k: [_plain(v) for v in values] for k, values in state["history"].items()})
        history.best_epoch = _optional_int(state.get("best_epoch"))
        history.stopped_epoch = _optional_int(state.get("stopped_epoch"))
        history.skipped_steps = int(state.get("skipped_steps", 0))
        return history

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items()
                         if v and k != "epoch" and isinstance(v[-1], float))
        return f"History(epochs={len(self)}{', ' + last if last else ''})"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic | np.ndarray) else value


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


# --------------------------------------------------------------------------- errors
class NonFiniteError(FloatingPointError):
    """A loss or gradient became NaN or infinite during :func:`fit`.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (both 1-based).
    tensor : str
        What went non-finite: ``"loss"``, ``"input batch"``, ``"gradient of <parameter>"`` or
        ``"parameter <name>"``.
    """

    def __init__(self, message: str, epoch: int, batch: int, tensor: str) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.tensor = epoch, batch, tensor


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
            if not isinstance(group["lr"], numbers.Real):
                raise TypeError(f"ReduceLROnPlateau: parameter group {i} has lr={group['lr']!r}; "
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


# --------------------------------------------------------------------------- gradients
def clip_grad_norm_(parameters: Iterable[Tensor], max_norm: float, norm_type: float = 2.0
                    ) -> float:
    """Scale gradients in place so that their global norm is at most ``max_norm`` (as
    ``torch.nn.utils.clip_grad_norm_``).

    .. math::
        \\|g\\| = \\Big(\\sum_p \\|g_p\\|_q^q\\Big)^{1/q}, \\qquad
        g_p \\leftarrow g_p \\cdot \\min\\Big(1, \\frac{\\text{max\\_norm}}{\\|g\\| + 10^{-6}}\\Big)

    Parameters
    ----------
    parameters : iterable of Tensor
        Tensors whose ``grad`` is clipped; those without a gradient are skipped.
    max_norm : float
        Positive bound on the global norm.
    norm_type : float, default 2.0
        The :math:`q` of the norm; ``inf`` for the largest absolute entry.

    Returns
    -------
    float
        The global norm before clipping (``inf`` or ``nan`` if a gradient is not finite, in which
        case nothing is scaled).
    """
    max_norm = check_real("clip_grad_norm_", "max_norm", max_norm, 0.0, low_open=True)
    if norm_type != math.inf:
        norm_type = check_real("clip_grad_norm_", "norm_type", norm_type, 0.0, low_open=True)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = _global_norm(grads, norm_type)
    if math.isfinite(total):
        coefficient = max_norm / (total + 1e-6)
        if coefficient < 1.0:
            for g in grads:
                g *= g.dtype.type(coefficient)
    return total


def _global_norm(grads: Sequence[np.ndarray], norm_type: float = 2.0) -> float:
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    if norm_type == 2.0:
        # One BLAS dot per tensor on its flat view; a float32 dot overflows for entries near
        # 1e19, so an infinite result is recomputed in float64 before it is believed.
        total = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)
        if not math.isfinite(total) and all(np.all(np.isfinite(g)) for g in grads):
            wide = (g.ravel().astype(np.float64) for g in grads)
            total = sum(float(np.dot(w, w)) for w in wide)
        return math.sqrt(total)
    total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
    return total ** (1.0 / norm_type)


# --------------------------------------------------------------------------- progress
class _Progress:
    """Shows epoch and batch, the running loss and metrics; throttled so that a batch costs one
    counter update and a clock read."""

    interval = 0.2  # seconds between refreshes

    def __init__(self, epochs: int, n_batches: int) -> None:
        self.epochs, self.n_batches = epochs, n_batches
        self.next_refresh = 0.0

    def epoch_begin(self, epoch: int) -> None:
        raise NotImplementedError

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        """After each update: the epoch's running sums so far (formatted only on refresh)."""
        raise NotImplementedError

    def epoch_end(self, logs: dict[str, float]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the display."""


def _summary(logs: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("epoch", "time", "lr"))


def _running(total_loss: float, metric_totals: dict[str, float], seen: int) -> str:
    """The epoch's running means so far, as the bar shows them."""
    seen = max(seen, 1)
    parts = [f"loss {total_loss / seen:.4g}"]
    parts += [f"{name} {total / seen:.4g}" for name, total in metric_totals.items()]
    return "  ".join(parts)


class _TqdmProgress(_Progress):
    def __init__(self, epochs: int, n_batches: int, tqdm: Any) -> None:
        super().__init__(epochs, n_batches)
        self.tqdm, self.bar = tqdm, None

    def epoch_begin(self, epoch: int) -> None:
        width = len(str(self.epochs))
        self.bar = self.tqdm(total=self.n_batches, desc=f"epoch {epoch:>{width}}/{self.epochs}",
                             unit="batch", leave=True, dynamic_ncols=True, file=sys.stderr)
        self.next_refresh = 0.0

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        self.bar.update(1)
        now = time.monotonic()
        if now >= self.next_refresh:
            self.next_refresh = now + self.interval
            self.bar.set_postfix_str(_running(total_loss, metric_totals, seen), refresh=False)

    def epoch_end(self, logs: dict[str, float]) -> None:
        self.bar.set_postfix_str(_summary(logs), refresh=True)
        self.bar.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _PlainProgress(_Progress):
    """The fallback without tqdm: on a terminal, one line per epoch redrawn in place with a text
    bar; elsewhere (a log file, a notebook's captured stream) just the line that ends each
    epoch, so that logs hold no carriage-return debris."""

    width = 24

    def __init__(self, epochs: int, n_batches: int, stream: Any = None) -> None:
        super().__init__(epochs, n_batches)
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())
        self.epoch = 0
        self.start = 0.0
        self.drawn = 0

    def _prefix(self) -> str:
        width = len(str(self.epochs))
        return f"epoch {self.epoch:>{width}}/{self.epochs}"

    def _write(self, text: str, end: str = "") -> None:
        padding = " " * max(self.drawn - len(text), 0)  # blank what a longer line left behind
        self.stream.write(f"\r{text}{padding}{end}" if self.live else text + end)
        self.stream.flush()
        self.drawn = 0 if end else len(text)

    def epoch_begin(self, epoch: int) -> None:
        self.epoch, self.start, self.next_refresh = epoch, time.monotonic(), 0.0

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now < self.next_refresh:
            return
        self.next_refresh = now + self.interval
        filled = self.width * done // max(self.n_batches, 1)
        bar = ("=" * filled + ">" + " " * self.width)[:self.width]
        self._write(f"{self._prefix()} [{bar}] {done}/{self.n_batches} "
                    f"{_running(total_loss, metric_totals, seen)}")

    def epoch_end(self, logs: dict[str, float]) -> None:
        seconds = time.monotonic() - self.start
        self._write(f"{self._prefix()} [{'=' * self.width}] {self.n_batches}/{self.n_batches} "
                    f"{seconds:.2f}s  {_summary(logs)}", end="\n")


def _make_progress(progress: bool | str, epochs: int, n_batches: int) -> _Progress | None:
    if progress is False:
        return None
    if progress in (True, "tqdm"):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if progress == "tqdm":
                raise ImportError("fit: progress='tqdm' needs tqdm: pip install tqdm") from None
        else:
            return _TqdmProgress(epochs, n_batches, tqdm)
    return _PlainProgress(epochs, n_batches)


# --------------------------------------------------------------------------- data handling
def _split_xy(data: Data, owner: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
    elif isinstance(data, tuple | list) and len(data) == 2:
        X, y = data
    else:
        raise TypeError(f"{owner}: {name} must be an (X, y) pair or a Dataset; got "
                        f"{type(data).__name__}")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(f"{owner}: {name} needs X and y with one row per sample; got X "
                         f"{X.shape} and y {y.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{owner}: {name} is empty")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: {name} X must be numeric, got dtype {X.dtype}")
    return X, y


def _model_dtype(model: Any) -> np.dtype:
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return np.dtype(np.float64)


def _prepare(X: np.ndarray, y: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Features (and real-valued targets) in the model's dtype, converted once, not per batch."""
    X = np.ascontiguousarray(X, dtype=dtype)
    if y.dtype.kind == "f":
        y = np.ascontiguousarray(y, dtype=dtype)
    return X, y


def _match_target(output: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A real-valued (n,) target for an (n, 1) output is reshaped to (n, 1), so that an MSE
    loss compares row by row instead of broadcasting to an (n, n) matrix."""
    if (y.dtype.kind == "f" and y.ndim == 1 and output.ndim == 2 and output.shape[1] == 1
            and output.shape[0] == y.shape[0]):
        return y.reshape(-1, 1)
    return y


def _match_targets(model: Any, X: np.ndarray, y: np.ndarray,
                   val: tuple[np.ndarray, np.ndarray] | None
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Reshape 1-D real targets once if the model emits an (n, 1) column (probed on one row in
    evaluation mode, which draws nothing from the random generator)."""
    was_training = _set_training(model, False)
    try:
        with no_grad():
            probe = model(Tensor(X[:1])).data
    finally:
        _set_training(model, was_training)
    first = y[:1]
    if _match_target(probe, first) is first:
        return y, val
    if val is not None and val[1].ndim == 1:
        val = (val[0], val[1].reshape(-1, 1))
    return y.reshape(-1, 1), val


def _set_training(model: Any, mode: bool) -> bool:
    """Switch train/eval mode; return the previous mode."""
    previous = bool(getattr(model, "training", True))
    if mode:
        model.train()
    else:
        model.eval()
    return previous


# --------------------------------------------------------------------------- evaluate / predict
def predict(model: Any, X: Any, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs on ``X``, in evaluation mode and without recording a graph.

    Parameters
    ----------
    model : steepest.nn.Module
    X : array_like of shape (n, ...)
    batch_size : int, optional
        Rows per forward pass; all at once by default.

    Returns
    -------
    numpy.ndarray
        The concatenated outputs (raw scores: apply softmax/sigmoid yourself for probabilities).
    """
    X = np.asarray(X)
    if X.ndim == 0:
        raise ValueError("predict: X must have at least one dimension, got a scalar")
    X = np.ascontiguousarray(X, dtype=_model_dtype(model))
    n = X.shape[0]
    size = n if batch_size is None else check_int("predict", "batch_size", batch_size, 1)
    was_training = _set_training(model, False)
    try:
        with no_grad():
            outputs = [model(Tensor(X[i:i + size])).data for i in range(0, max(n, 1), size)]
    finally:
        _set_training(model, was_training)
    return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)


def evaluate(model: Any, loss: Callable[..., Tensor], data: Data, batch_size: int | None = None,
             metrics: Iterable[str | Metric] | None = None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` on ``data`` (evaluation mode, no graph).

    Parameters
    ----------
    model : steepest.nn.Module
    loss : callable
        ``loss(output, target)`` returning the mean loss of a batch (e.g. ``nn.CrossEntropyLoss()``).
    data : (X, y) pair or Dataset
    batch_size : int, optional
        Rows per forward pass; all at once by default.
    metrics : list of str or callable, optional
        Names from :data:`METRICS` or functions ``(output, target) -> float``.

    Returns
    -------
    dict
        ``{"loss": ..., "<metric>": ...}``; every value is a mean over samples.
    """
    resolved = _resolve_metrics(metrics, "evaluate")
    X, y = _split_xy(data, "evaluate", "data")
    X, y = _prepare(X, y, _model_dtype(model))
    size = X.shape[0] if batch_size is None else check_int("evaluate", "batch_size", batch_size, 1)
    return _evaluate(model, loss, X, y, size, resolved)


def _evaluate(model: Any, loss: Callable[..., Tensor], X: np.ndarray, y: np.ndarray, size: int,
              metrics: dict[str, Metric], prefix: str = "") -> dict[str, float]:
    totals = dict.fromkeys(["loss", *metrics], 0.0)
    n = X.shape[0]
    was_training = _set_training(model, False)
    try:
        with no_grad():
            for start in range(0, n, size):
                xb, yb = X[start:start + size], y[start:start + size]
                out = model(Tensor(xb))
                yb = _match_target(out.data, yb)
                weight = xb.shape[0]
                totals["loss"] += float(loss(out, yb).data) * weight
                for name, metric in metrics.items():
                    totals[name] += metric(out.data, yb) * weight
    finally:
        _set_training(model, was_training)
    return {prefix + k: v / n for k, v in totals.items()}


# --------------------------------------------------------------------------- checkpoints
def _load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    from .io import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"fit: resume={path!r}: no such checkpoint")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"fit: resume={path!r} is not a steepest training checkpoint (written by "
                         f"fit(checkpoint=...))")
    return state


def _save_checkpoint(path: str, state: FitState, callbacks: list[Callback]) -> str:
    from .io import save

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


# --------------------------------------------------------------------------- learning rate
def current_lr(optimizer: Any) -> float:
    """The learning rate of the first parameter group's most recent update (the one its next
    update would use, before any has been taken); a schedule is evaluated at that update's
    number, as :class:`steepest.optim.Optimizer` counts them (``num_updates``, ``last_lr``)."""
    group = optimizer.param_groups[0]
    if group.get("last_lr") is not None:
        return float(group["last_lr"])
    lr = group["lr"]
    return float(lr(int(group.get("num_updates", 0)) + 1)) if callable(lr) else float(lr)


# --------------------------------------------------------------------------- fit
_NONFINITE = ("raise", "skip")


def fit(model: Any, loss: Callable[..., Tensor], optimizer: Any, train: Data,
        validation: Data | None = None, epochs: int = 10, batch_size: int = 32, *,
        shuffle: bool = True, drop_last: bool = False,
        metrics: Iterable[str | Metric] | None = None,
        callbacks: Iterable[Callback | Callable[[int, dict[str, float]], bool | None]] | None
        = None,
        clip_grad_norm: float | None = None, nonfinite: str = "raise", max_skipped: int = 10,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
        resume: str | os.PathLike | None = None, progress: bool | str = True,
        eval_batch_size: int | None = None) -> History:
    """Train ``model`` by minibatch gradient descent and return the per-epoch record.

    Each update is the PyTorch loop body:

    .. math::
        \\ell = \\frac{1}{|B|}\\sum_{i \\in B} L(f_\\theta(x_i), y_i), \\qquad
        g = \\nabla_\\theta \\ell, \\qquad \\theta \\leftarrow \\text{optimizer.step}(\\theta, g)

    over minibatches :math:`B` that reshuffle every epoch.

    Parameters
    ----------
    model : steepest.nn.Module
    loss : callable
        ``loss(output, target) -> scalar Tensor``, e.g. ``nn.CrossEntropyLoss()``.
    optimizer : steepest.optim.Optimizer
        Over ``model.parameters()``.
    train : (X, y) pair or Dataset
        Features are converted once to the dtype of the model's parameters. A real-valued 1-D
        target meeting an ``(n, 1)`` output is reshaped to ``(n, 1)``.
    validation : (X, y) pair or Dataset, optional
        Evaluated after every epoch (``val_loss``, ``val_<metric>``).
    epochs : int, default 10
        Total number of epochs (a resumed run counts the epochs already done).
    batch_size : int, default 32
    shuffle : bool, default True
        Reshuffle the training rows every epoch (from the library generator).
    drop_last : bool, default False
        Skip a last batch smaller than ``batch_size``.
    metrics : list of str or callable, optional
        Names from :data:`METRICS` (``"accuracy"``, ``"mse"``, ``"mae"``) or functions
        ``(output, target) -> float``. Training metrics are averaged over the epoch's batches
        as the weights change (as Keras does); validation metrics use the weights at epoch end.
    callbacks : list of Callback or callable, optional
        E.g. :class:`EarlyStopping`, :class:`ReduceLROnPlateau`; a function ``fn(epoch, logs)``
        is called after each epoch and stops training by returning True.
    clip_grad_norm : float, optional
        Clip the global gradient norm to this value before each update
        (:func:`clip_grad_norm_`).
    nonfinite : {"raise", "skip"}, default "raise"
        What to do when the loss or a gradient is NaN or infinite: raise :class:`NonFiniteError`
        (naming the epoch, the batch and the tensor), or skip that update.
    max_skipped : int, default 10
        Under ``"skip"``, raise once more than this many updates have been skipped.
    checkpoint : str or path-like, optional
        File to write every ``checkpoint_every`` epochs and when training ends (via
        :func:`steepest.save`; ``{epoch}`` in the name keeps one file per epoch).
    checkpoint_every : int, default 1
    resume : str or path-like, optional
        A checkpoint to continue from: the model, optimizer, random generator, callbacks and
        history are restored and training resumes after the saved epoch, drawing exactly what
        the uninterrupted run would have drawn.
    progress : bool or {"tqdm", "plain"}, default True
        Show a progress bar (tqdm when installed, a plain text bar otherwise); False for none.
    eval_batch_size : int, optional
        Rows per forward pass in validation; all at once by default.

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        Under ``nonfinite="raise"``, or when more than ``max_skipped`` updates were skipped.
    """
    owner = "fit"
    _check_parts(owner, model, loss, optimizer)
    epochs = check_int(owner, "epochs", epochs, 1)
    batch_size = check_int(owner, "batch_size", batch_size, 1)
    check_bool(owner, "shuffle", shuffle)
    check_bool(owner, "drop_last", drop_last)
    check_choice(owner, "nonfinite", nonfinite, _NONFINITE)
    max_skipped = check_int(owner, "max_skipped", max_skipped, 0)
    checkpoint_every = check_int(owner, "checkpoint_every", checkpoint_every, 1)
    if clip_grad_norm is not None:
        clip_grad_norm = check_real(owner, "clip_grad_norm", clip_grad_norm, 0.0, low_open=True)
    if progress not in (True, False, "tqdm", "plain"):
        check_choice(owner, "progress", progress, (True, False, "tqdm", "plain"))
    if eval_batch_size is not None:
        eval_batch_size = check_int(owner, "eval_batch_size", eval_batch_size, 1)
    resolved_metrics = _resolve_metrics(metrics, owner)
    callback_list = _resolve_callbacks(callbacks)

    dtype = _model_dtype(model)
    X, y = _prepare(*_split_xy(train, owner, "train"), dtype)
    val = None if validation is None else _prepare(*_split_xy(validation, owner, "validation"),
                                                   dtype)
    if drop_last and X.shape[0] < batch_size:
        raise ValueError(f"{owner}: drop_last=True with batch_size={batch_size} leaves no batch "
                         f"from {X.shape[0]} training rows")

    if y.dtype.kind == "f" and y.ndim == 1:
        y, val = _match_targets(model, X, y, val)

    state = FitState(model, loss, optimizer, History(), epochs)
    if resume is not None:
        _restore(_load_checkpoint(resume), state, callback_list, resume)
    n_batches = X.shape[0] // batch_size if drop_last else math.ceil(X.shape[0] / batch_size)
    bar = _make_progress(progress, epochs, n_batches)
    loop = _Loop(state, X, y, val, batch_size, shuffle, drop_last, resolved_metrics,
                 callback_list, clip_grad_norm, nonfinite, max_skipped, bar,
                 eval_batch_size or (val[0].shape[0] if val is not None else 1))
    try:
        loop.run(None if checkpoint is None else os.fspath(checkpoint), checkpoint_every)
    finally:
        if bar is not None:
            bar.close()
    return state.history


def _check_parts(owner: str, model: Any, loss: Any, optimizer: Any) -> None:
    """Refuse a model, loss or optimizer of the wrong kind before anything runs."""
    if not callable(model) or not callable(getattr(model, "parameters", None)):
        raise TypeError(f"{owner}: model must be a steepest.nn.Module (callable, with "
                        f"parameters()), got {type(model).__name__}")
    if not callable(loss):
        raise TypeError(f"{owner}: loss must be callable as loss(output, target), e.g. "
                        f"nn.CrossEntropyLoss(); got {type(loss).__name__}")
    if not (callable(getattr(optimizer, "step", None))
            and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"{owner}: optimizer must be a steepest.optim optimizer (with step() and "
                        f"zero_grad()), got {type(optimizer).__name__}")


class _Loop:
    """One :func:`fit` run; split out of ``fit`` so that the per-batch path stays short."""

    def __init__(self, state: FitState, X: np.ndarray, y: np.ndarray,
                 val: tuple[np.ndarray, np.ndarray] | None, batch_size: int, shuffle: bool,
                 drop_last: bool, metrics: dict[str, Metric], callbacks: list[Callback],
                 clip: float | None, nonfinite: str, max_skipped: int, bar: _Progress | None,
                 eval_batch_size: int) -> None:
        self.state, self.X, self.y, self.val = state, X, y, val
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.metrics, self.callbacks = metrics, callbacks
        self.clip, self.nonfinite, self.max_skipped = clip, nonfinite, max_skipped
        self.bar, self.eval_batch_size = bar, eval_batch_size
        self.batch_hooks = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]
        self.params = [p for p in state.model.parameters() if p.requires_grad]
        self.names = [name for name, p in state.model.named_parameters() if p.requires_grad]

    def run(self, checkpoint: str | None, every: int) -> None:
        state = self.state
        for callback in self.callbacks:
            callback.on_train_begin(state)
        while state.epoch < state.epochs and not state.stop_training:
            state.epoch += 1
            for callback in self.callbacks:
                callback.on_epoch_begin(state)
            logs = self._epoch()
            state.history.append(logs)
            for callback in self.callbacks:
                callback.on_epoch_end(state, logs)
            if state.stop_training:
                state.history.stopped_epoch = state.epoch
            if self.bar is not None:
                self.bar.epoch_end(logs)
            last = state.stop_training or state.epoch == state.epochs
            if checkpoint is not None and (state.epoch % every == 0 or last):
                _save_checkpoint(checkpoint, state, self.callbacks)
        for callback in self.callbacks:
            callback.on_train_end(state)

    def _epoch(self) -> dict[str, float]:
        state = self.state
        model, loss_fn, optimizer = state.model, state.loss, state.optimizer
        metrics, bar, hooks = self.metrics, self.bar, self.batch_hooks
        clip, params = self.clip, self.params
        started = time.perf_counter()
        if bar is not None:
            bar.epoch_begin(state.epoch)
        model.train()
        total_loss, seen = 0.0, 0
        metric_totals = dict.fromkeys(metrics, 0.0)
        for batch, (xb, yb) in enumerate(batches(self.X, self.y, self.batch_size, self.shuffle,
                                                 self.drop_last), start=1):
            out = model(Tensor(xb))
            loss = loss_fn(out, yb)
            value = float(loss.data)
            optimizer.zero_grad()
            loss.backward()
            norm = _global_norm([p.grad for p in params if p.grad is not None]) if clip is None \
                else clip_grad_norm_(params, clip)
            if not (math.isfinite(value) and math.isfinite(norm)):
                if self._bad_step(batch, value, xb):
                    continue
            optimizer.step()
            n = xb.shape[0]
            total_loss += value * n
            seen += n
            for name, metric in metrics.items():
                metric_totals[name] += metric(out.data, yb) * n
            if bar is not None:
                bar.batch(batch, total_loss, metric_totals, seen)
            for callback in hooks:
                callback.on_batch_end(state, batch, value)
        logs: dict[str, float] = {"epoch": state.epoch,
                                  "loss": total_loss / seen if seen else math.nan}
        for name, total in metric_totals.items():
            logs[name] = total / seen if seen else math.nan
        if self.val is not None:
            logs.update(_evaluate(model, loss_fn, *self.val, self.eval_batch_size, metrics,
                                  prefix="val_"))
        logs["lr"] = current_lr(optimizer)
        logs["time"] = time.perf_counter() - started
        return logs

    def _bad_step(self, batch: int, value: float, xb: np.ndarray) -> bool:
        """Handle a non-finite loss or gradient: raise, or skip the update (returns True)."""
        culprit = self._culprit(value, xb)
        if culprit is None:  # a finite but huge gradient overflowed the squared norm
            return False
        state = self.state
        if self.nonfinite == "skip" and state.history.skipped_steps < self.max_skipped:
            state.history.skipped_steps += 1
            self.state.optimizer.zero_grad()
            return True
        where = f"epoch {state.epoch}, batch {batch}"
        if self.nonfinite == "skip":
            message = (f"fit: {culprit} is not finite at {where}, and {self.max_skipped} updates "
                       f"were skipped already (max_skipped={self.max_skipped})")
        else:
            message = (f"fit: {culprit} is not finite at {where}. Lower the learning rate, clip "
                       f"gradients (clip_grad_norm=...), check the data, or pass "
                       f"nonfinite='skip' to skip such updates")
        raise NonFiniteError(message, state.epoch, batch, culprit)

    def _culprit(self, value: float, xb: np.ndarray) -> str | None:
        if not np.all(np.isfinite(xb)):
            return "input batch"
        for name, p in zip(self.names, self.params, strict=True):
            if not np.all(np.isfinite(p.data)):
                return f"parameter {name!r}"
        if not math.isfinite(value):
            return f"loss ({value})"
        for name, p in zip(self.names, self.params, strict=True):
            if p.grad is not None and not np.all(np.isfinite(p.grad)):
                return f"gradient of {name!r}"
        return None

