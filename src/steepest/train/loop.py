"""The epoch/batch loop of :func:`fit`."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff.tensor import Tensor
from ..data import batches
from .callbacks import Callback, FitState, _overrides, _resolve_callbacks
from .checkpoint import (
    _check_checkpoint_pattern,
    _check_settings,
    _load_checkpoint,
    _restore,
    _run_settings,
    _save_checkpoint,
    data_digest,
)
from .divergence import RISING_EPOCHS, DivergenceWatch, estimate_curvature, stable_limit, suggest_lr
from .errors import DivergenceError, NonFiniteError
from .evaluation import _evaluate, _loss_weight
from .gradients import _global_norm, clip_grad_norm_, clip_grad_value_
from .history import History
from .inputs import Data, _match_targets, _model_dtype, _prepare, _refuse_nonfinite_target, _split_xy
from .interrupt import DeferredInterrupt
from .metrics import Metric, _resolve_metrics
from .progress import _make_progress, _Progress


# --------------------------------------------------------------------------- learning rate
def current_lr(optimizer: Any) -> float:
    """The learning rate of the first parameter group's most recent update (the one its next
    update would use, before any has been taken): ``group["lr"]`` is always the rate in force
    (a schedule given as ``lr=`` writes it before each update)."""
    group = optimizer.param_groups[0]
    if group.get("last_lr") is not None:
        return float(group["last_lr"])
    return float(group["lr"])


# --------------------------------------------------------------------------- fit
_NONFINITE = ("raise", "skip")


def fit(model: Any, loss: Callable[..., Tensor], optimizer: Any, train: Data,
        validation: Data | None = None, epochs: int = 10, batch_size: int = 32, *,
        shuffle: bool = True, drop_last: bool = False,
        metrics: Iterable[str | Metric] | None = None,
        callbacks: Iterable[Callback | Callable[[int, dict[str, float]], bool | None]] | None
        = None,
        clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
        nonfinite: str = "raise", max_skipped: int = 10,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
        resume: str | os.PathLike | None = None, progress: bool | str = True,
        eval_batch_size: int | None = None, divergence: float | None = 1e6,
        compile: bool = False, settings: dict[str, Any] | None = None) -> History:
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
        Under a loss with ``ignore_index`` (``CrossEntropyLoss``, ``NLLLoss``), ``"accuracy"``
        counts only the rows the loss counts, over the whole epoch; a training batch whose
        targets are all ignored (its mean loss 0/0) has nothing to learn from and is passed
        over (no update, nothing counted).
    callbacks : list of Callback or callable, optional
        E.g. :class:`EarlyStopping`, :class:`ReduceLROnPlateau`; a function ``fn(epoch, logs)``
        is called after each epoch and stops training by returning True.
    clip_grad_norm : float, optional
        Clip the global gradient norm to this value before each update
        (:func:`clip_grad_norm_`).
    clip_grad_value : float, optional
        Clip every gradient entry to ``[-clip_grad_value, clip_grad_value]`` before each update
        (:func:`steepest.nn.utils.clip_grad_value_`; before the norm clipping when both are
        given).
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
        the uninterrupted run would have drawn. The run must be set up as the one that wrote
        the checkpoint: its ``batch_size``, ``shuffle``, ``drop_last``, training and validation
        data (compared by SHA-256 digest) and ``settings`` are recorded in every checkpoint,
        and a resume that differs in any of them is refused, naming each difference. Only
        ``epochs`` may change (raise it to train further). A checkpoint written before
        settings were recorded (format version 1) is resumed with a warning that they could not
        be checked.
    progress : bool or {"tqdm", "plain"}, default True
        Show a progress bar (tqdm when installed, a plain text bar otherwise); False for none.
    eval_batch_size : int, optional
        Rows per forward pass in validation; all at once by default.
    divergence : float or None, default 1e6
        A batch loss above :math:`\\ell_0 + c\\max(|\\ell_0|, 1)` (:math:`\\ell_0` the run's first
        batch loss, :math:`c` this factor) raises :class:`DivergenceError`, and so does an epoch
        loss that rose for 5 epochs in a row together with the gradient norm, doubling over
        them to above the first epoch's loss. None turns both tests off. A parameter that is
        NaN or infinite after an update always raises (:class:`NonFiniteError`): such an update
        cannot be skipped after the fact.
    compile : bool, default False
        Run each batch's forward pass, loss, ``zero_grad``, backward pass and clipping through
        :func:`steepest.compile` (recorded once per batch shape, then replayed as flat NumPy
        calls; bitwise the eager result). The checks for non-finite values and divergence and
        ``optimizer.step()`` stay eager around it, so they report as without it.
    settings : dict, optional
        More of what the run was set up with (plain values: None, bool, int, float, str, or
        lists of them; e.g. the seed of the data split, the architecture, the learning rate as
        given), recorded in checkpoints and compared when resuming, as described under
        ``resume``. ``steepest train`` records all of its options except ``--epochs``.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        For a real-valued target (``y``, of ``train`` or ``validation``) that is NaN or infinite
        (checked once, before training; the message names the first such row), a ``checkpoint``
        name whose ``{epoch}`` pattern cannot be formatted, or a resume from a checkpoint of
        another run (:class:`steepest.io.CheckpointError`).
    NonFiniteError
        Under ``nonfinite="raise"``, or when more than ``max_skipped`` updates were skipped, or
        when an update made a parameter non-finite.
    DivergenceError
        When the loss grew as described under ``divergence``. Every such error names the epoch,
        the batch, the learning rate in force and a suggested one (from a curvature estimate on
        the batch); a diverged run is never returned.
    KeyboardInterrupt
        On Ctrl-C or SIGTERM (run in the main thread, fit takes over SIGINT and SIGTERM while
        their handlers are the default ones, and puts those back when it returns), after the
        current batch: the weights of that moment are checkpointed (when ``checkpoint`` is set,
        atomically; the saved epoch is the last finished one, and resuming from it repeats the
        interrupted epoch from those weights; with an ``{epoch}`` pattern, a stop inside an
        epoch writes ``ck_010.interrupted.npz``, so that ``ck_010.npz`` keeps epoch 10's
        weights; the file is the interrupt's ``checkpoint`` attribute), callbacks finish (so
        :class:`EarlyStopping` puts back its best weights), and the interrupt is re-raised with
        the run's :class:`History` (finished epochs only, ``interrupted=True``,
        ``interrupted_by="SIGINT"`` or ``"SIGTERM"``) as its ``history`` attribute and the
        signal as its ``signal`` attribute::

            try:
                history = fit(...)
            except KeyboardInterrupt as stop:
                history = stop.history

        A second signal while the checkpoint is written waits for the file to be complete; one
        that comes before the batch has finished stops at once, and then nothing of the cut
        batch is checkpointed (``checkpoint`` names the last finished epoch's file). Uncaught,
        the interrupt ends a program as Ctrl-C does (``steepest train`` exits with 143 after
        SIGTERM).
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
    if checkpoint is not None:
        _check_checkpoint_pattern(owner, os.fspath(checkpoint))
    if clip_grad_norm is not None:
        clip_grad_norm = check_real(owner, "clip_grad_norm", clip_grad_norm, 0.0, low_open=True)
    if clip_grad_value is not None:
        clip_grad_value = check_real(owner, "clip_grad_value", clip_grad_value, 0.0,
                                     low_open=True)
    if progress not in (True, False, "tqdm", "plain"):
        check_choice(owner, "progress", progress, (True, False, "tqdm", "plain"))
    if eval_batch_size is not None:
        eval_batch_size = check_int(owner, "eval_batch_size", eval_batch_size, 1)
    if divergence is not None:
        divergence = check_real(owner, "divergence", divergence, 1.0)
    check_bool(owner, "compile", compile)
    resolved_metrics = _resolve_metrics(metrics, owner, loss)
    callback_list = _resolve_callbacks(callbacks)

    dtype = _model_dtype(model)
    X, y = _prepare_checked(owner, "train", train, dtype)
    val = None if validation is None else _prepare_checked(owner, "validation", validation, dtype)
    if drop_last and X.shape[0] < batch_size:
        raise ValueError(f"{owner}: drop_last=True with batch_size={batch_size} leaves no batch "
                         f"from {X.shape[0]} training rows")

    run_settings = _run_settings(owner, settings, {
        "batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last,
        "train_data": None, "validation_data": None})
    if checkpoint is not None or resume is not None:  # the data's digests, when they are used
        run_settings["train_data"] = data_digest(X, y)
        run_settings["validation_data"] = None if val is None else data_digest(*val)
    if y.dtype.kind == "f" and y.ndim == 1:
        y, val = _match_targets(model, X, y, val)

    state = FitState(model, loss, optimizer, History(), epochs)
    if resume is not None:
        saved = _load_checkpoint(resume)
        _check_settings(saved, run_settings, resume)
        _restore(saved, state, callback_list, resume)
    n_batches = X.shape[0] // batch_size if drop_last else math.ceil(X.shape[0] / batch_size)
    bar = _make_progress(progress, epochs, n_batches, state.epoch)
    loop = _Loop(state, X, y, val, batch_size, shuffle, drop_last, resolved_metrics,
                 callback_list, clip_grad_norm, nonfinite, max_skipped, bar,
                 eval_batch_size or (val[0].shape[0] if val is not None else 1), divergence)
    loop.clip_value = clip_grad_value
    loop.settings = run_settings
    if compile:
        loop.compiled = _compiled_batch(model, loss, optimizer, loop.params, clip_grad_value,
                                        clip_grad_norm)
    try:
        loop.run(None if checkpoint is None else os.fspath(checkpoint), checkpoint_every)
    finally:
        if bar is not None:
            bar.close()
    return state.history


def _prepare_checked(owner: str, name: str, data: Data, dtype: np.dtype
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The arrays in the model's dtype, with real-valued targets checked to be finite once here
    (the per-batch path checks only the loss)."""
    X, y_raw = _split_xy(data, owner, name)
    X, y = _prepare(X, y_raw, dtype)
    _refuse_nonfinite_target(owner, name, y, y_raw)
    return X, y


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
                 eval_batch_size: int, divergence: float | None) -> None:
        self.state, self.X, self.y, self.val = state, X, y, val
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.metrics, self.callbacks = metrics, callbacks
        self.clip, self.nonfinite, self.max_skipped = clip, nonfinite, max_skipped
        self.bar, self.eval_batch_size = bar, eval_batch_size
        self.batch_hooks = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]
        self.params = [p for p in state.model.parameters() if p.requires_grad]
        self.names = [name for name, p in state.model.named_parameters() if p.requires_grad]
        self.watch = DivergenceWatch(divergence)
        self.initial = [p.data.copy() for p in self.params]
        self.interrupt = DeferredInterrupt()
        self.clip_value: float | None = None  # set by fit (clip_grad_value)
        self.compiled: Callable[..., Any] | None = None  # set by fit (compile=True)
        self.settings: dict[str, Any] | None = None  # set by fit: recorded in checkpoints
        self.saved: str | None = None  # the last checkpoint written

    def run(self, checkpoint: str | None, every: int) -> None:
        state = self.state
        for callback in self.callbacks:
            callback.on_train_begin(state)
        with self.interrupt:
            try:
                self._epochs(checkpoint, every)
            except KeyboardInterrupt as interrupt:
                self.interrupt.wind_down()  # a signal from here on waits for the checkpoint
                written = self._wind_down(checkpoint)
                interrupt.history = state.history  # type: ignore[attr-defined]
                interrupt.checkpoint = written  # type: ignore[attr-defined]
                raise
        for callback in self.callbacks:
            callback.on_train_end(state)

    def _epochs(self, checkpoint: str | None, every: int) -> None:
        state = self.state
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
                with self.interrupt.quiet():  # a file is written whole, whatever signal comes
                    self.saved = _save_checkpoint(checkpoint, state, self.callbacks,
                                                  self.settings)
            if self.interrupt.requested:
                raise self.interrupt.stop()

    def _wind_down(self, checkpoint: str | None) -> str | None:
        """After Ctrl-C or SIGTERM: the epoch counter is the last finished epoch; checkpoint the
        weights as they are (a resumed run continues from them; stopped inside an epoch, an
        ``{epoch}`` pattern writes ``NAME.interrupted.npz`` beside the finished epochs' files),
        then let the callbacks finish (early stopping puts back its best weights). Returns the
        file that holds the run: the one written, or, when a second signal cut a batch short
        (its update perhaps half made, which is never checkpointed), the last epoch's."""
        state, interrupt = self.state, self.interrupt
        mid_epoch = len(state.history) < state.epoch
        if mid_epoch:
            state.epoch = len(state.history)
        state.history.interrupted = True
        state.history.interrupted_by = None if interrupt.signum is None else \
            signal.Signals(interrupt.signum).name
        written = self.saved
        if checkpoint is not None and not interrupt.forced:
            written = _save_checkpoint(checkpoint, state, self.callbacks, self.settings,
                                       mid_epoch=mid_epoch)
        for callback in self.callbacks:
            callback.on_train_end(state)
        return written

    def _epoch(self) -> dict[str, float]:
        state = self.state
        model, loss_fn, optimizer = state.model, state.loss, state.optimizer
        metrics, bar, hooks = self.metrics, self.bar, self.batch_hooks
        clip, params, watch, interrupt = self.clip, self.params, self.watch, self.interrupt
        started = time.perf_counter()
        if bar is not None:
            bar.epoch_begin(state.epoch)
        model.train()
        _optimizer_mode(optimizer, train=True)
        total_loss, seen, total_norm, steps = 0.0, 0, 0.0, 0
        counted = 0.0  # what the batches' mean losses divided by, summed (see _loss_weight)
        metric_totals = dict.fromkeys(metrics, 0.0)
        plain = [(name, metric) for name, metric in metrics.items()
                 if not hasattr(metric, "totals")]
        # metrics that count only some of a batch's rows (accuracy under ignore_index)
        partial = [(name, metric) for name, metric in metrics.items()
                   if hasattr(metric, "totals")]
        metric_rows = {name: 0 for name, _ in partial}
        for batch, (xb, yb) in enumerate(batches(self.X, self.y, self.batch_size, self.shuffle,
                                                 self.drop_last), start=1):
            if self.compiled is not None:
                out, loss, norm = self.compiled(xb, yb)
                value = float(loss.data)
            else:
                out = model(Tensor(xb))
                loss = loss_fn(out, yb)
                value = float(loss.data)
                optimizer.zero_grad()
                loss.backward()
                if self.clip_value is not None:
                    clip_grad_value_(params, self.clip_value)
                norm = None if clip is None else clip_grad_norm_(params, clip)
            if norm is None:
                norm = _global_norm([p.grad for p in params if p.grad is not None])
            if not (math.isfinite(value) and math.isfinite(norm)):
                if _loss_weight(loss_fn, yb, xb.shape[0]) == 0:
                    # every target ignored: a mean over no rows (0/0), nothing to learn from
                    optimizer.zero_grad()
                    continue
                if self._bad_step(batch, value, xb, yb):
                    continue
            if watch.grown(value):
                self._diverged("growth", batch, value, xb, yb)
            optimizer.step()
            self._check_parameters(batch, value, xb, yb)
            n = xb.shape[0]
            # the epoch loss is the whole set's: a batch's mean of a class-weighted (or
            # ignore_index) loss divides by its targets' weights, not its rows
            weight = _loss_weight(loss_fn, yb, n)
            total_loss += value * weight
            counted += weight
            seen += n
            total_norm += norm
            steps += 1
            for name, metric in plain:
                metric_totals[name] += metric(out.data, yb) * n
            for name, metric in partial:
                right, rows = metric.totals(out.data, yb)  # type: ignore[attr-defined]
                metric_totals[name] += right
                metric_rows[name] += rows
            if bar is not None:  # the running loss, as a total over the rows seen
                bar.batch(batch, total_loss / counted * seen if counted else math.nan,
                          _running_totals(metric_totals, metric_rows, seen) if partial
                          else metric_totals, seen)
            for callback in hooks:
                callback.on_batch_end(state, batch, value)
            if interrupt.requested:
                raise interrupt.stop()
        logs: dict[str, float] = {"epoch": state.epoch,
                                  "loss": total_loss / counted if counted else math.nan}
        if steps and watch.rising(logs["loss"], total_norm / steps):
            self._diverged("rising", batch, logs["loss"], xb, yb)
        for name, total in metric_totals.items():
            rows = metric_rows.get(name, seen)
            logs[name] = total / rows if rows else math.nan
        # Schedule-free methods are judged at their average x, not at the gradient point y: the
        # model holds x from here to the next epoch (validation, callbacks, checkpoints, the end).
        _optimizer_mode(optimizer, train=False)
        if self.val is not None:
            logs.update(_evaluate(model, loss_fn, *self.val, self.eval_batch_size, metrics,
                                  prefix="val_"))
        logs["lr"] = current_lr(optimizer)
        logs["time"] = time.perf_counter() - started
        return logs

    def _check_parameters(self, batch: int, value: float, xb: np.ndarray, yb: Any) -> None:
        """After every update: a parameter that overflowed is a divergence, never a result."""
        for name, p in zip(self.names, self.params, strict=True):
            if not np.isfinite(p.data).all():
                self._diverged("nonfinite", batch, value, xb, yb, f"parameter {name!r}")

    def _remedy(self, xb: np.ndarray, yb: Any) -> tuple[float | None, float | None, float | None]:
        """The lr in force, the curvature estimate on this batch and the suggested lr. The
        curvature is taken at the current parameters when they are finite and at the run's
        initial ones, keeping the larger (the more cautious)."""
        lr = current_lr(self.state.optimizer)
        model, loss_fn, params = self.state.model, self.state.loss, self.params
        estimates = [estimate_curvature(model, loss_fn, params, xb, yb)]
        current = [p.data.copy() for p in params]
        try:
            for p, start in zip(params, self.initial, strict=True):
                p.data[...] = start
            estimates.append(estimate_curvature(model, loss_fn, params, xb, yb))
        finally:
            for p, now in zip(params, current, strict=True):
                p.data[...] = now
        known = [e for e in estimates if e is not None]
        curvature = max(known) if known else None
        return lr, curvature, suggest_lr(lr, curvature, self.state.optimizer)

    def _diverged(self, reason: str, batch: int, value: float, xb: np.ndarray, yb: Any,
                  tensor: str | None = None) -> None:
        state, start = self.state, self.watch.start
        lr, curvature, suggested = self._remedy(xb, yb)
        where = f"epoch {state.epoch}, batch {batch}"
        what = {"growth": f"the loss grew to {value:.4g} from {start:.4g} at the start",
                "rising": f"the epoch loss rose for {RISING_EPOCHS} epochs in a row, with the "
                          f"gradient norm, to {value:.4g}",
                "nonfinite": f"{tensor} is not finite after the update"}[reason]
        advice = _advice(state.optimizer, lr, curvature, suggested)
        message = f"fit: training diverged at {where}: {what}. {advice}"
        if tensor is not None:
            raise NonFiniteError(message, state.epoch, batch, tensor, lr, suggested, curvature,
                                 value, start)
        raise DivergenceError(message, state.epoch, batch, reason, lr, suggested, curvature,
                              value, start)

    def _bad_step(self, batch: int, value: float, xb: np.ndarray, yb: Any) -> bool:
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
        lr, curvature, suggested = (None, None, None) if culprit == "input batch" \
            else self._remedy(xb, yb)
        if self.nonfinite == "skip":
            message = (f"fit: {culprit} is not finite at {where}, and {self.max_skipped} updates "
                       f"were skipped already (max_skipped={self.max_skipped})")
        else:
            message = (f"fit: {culprit} is not finite at {where}. Lower the learning rate, clip "
                       f"gradients (clip_grad_norm=...), check the data, or pass "
                       f"nonfinite='skip' to skip such updates")
        if culprit != "input batch":
            message += f". {_advice(state.optimizer, lr, curvature, suggested)}"
        raise NonFiniteError(message, state.epoch, batch, culprit, lr, suggested, curvature,
                             value, self.watch.start)

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


def _running_totals(totals: dict[str, float], rows: dict[str, int], seen: int
                    ) -> dict[str, float]:
    """The metrics' totals as the progress bar reads them (a total over the ``seen`` rows),
    for metrics that count only some rows (``rows``)."""
    return {name: (total / rows[name] * seen if rows[name] else math.nan) if name in rows
            else total for name, total in totals.items()}


def _compiled_batch(model: Any, loss_fn: Callable[..., Tensor], optimizer: Any,
                    params: list[Tensor], clip_value: float | None,
                    clip_norm: float | None) -> Callable[..., Any]:
    """The part of a batch from the forward pass to the clipped gradients, compiled
    (:func:`steepest.compile`); returns ``(output, loss, clipped norm or None)``."""
    from ..autodiff.capture import compile as compile_step

    def batch_step(xb: np.ndarray, yb: Any) -> tuple[Tensor, Tensor, float | None]:
        out = model(Tensor(xb))
        loss = loss_fn(out, yb)
        optimizer.zero_grad()
        loss.backward()
        if clip_value is not None:
            clip_grad_value_(params, clip_value)
        return out, loss, None if clip_norm is None else clip_grad_norm_(params, clip_norm)

    return compile_step(batch_step)


def _advice(optimizer: Any, lr: float | None, curvature: float | None,
            suggested: float | None) -> str:
    text = f"The learning rate in force was {lr:.4g}" if lr is not None else "No learning rate"
    bound = stable_limit(optimizer, curvature)
    name = type(optimizer).__name__
    if bound is not None:
        limit, formula, method = bound
        text += (f"; the loss's largest curvature on this batch is about L = {curvature:.4g}, so "
                 f"{method} is stable only for lr < {formula} = {limit:.4g}")
    elif curvature is not None:
        text += (f"; {name} scales each parameter's step itself (about lr per step whatever the "
                 f"curvature, here about L = {curvature:.4g}), so no curvature bound on lr "
                 f"applies: lower lr")
    if suggested is not None:
        text += f". Try lr={suggested:.3g}"
    return text + (" (or clip gradients with clip_grad_norm=...)" if suggested is not None else "")


def _optimizer_mode(optimizer: Any, train: bool) -> None:
    """Switch an optimizer with a train/eval mode (:class:`~steepest.optim.ScheduleFreeAdamW`)
    between its gradient point (``train``) and the point it is evaluated at (``eval``)."""
    switch = getattr(optimizer, "train" if train else "eval", None)
    if callable(switch) and hasattr(optimizer, "param_groups"):
        switch()
