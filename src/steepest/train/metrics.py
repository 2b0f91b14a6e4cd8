"""Metrics by name for :func:`~steepest.train.fit` and :func:`~steepest.train.evaluate`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._validation import check_choice

Metric = Callable[[np.ndarray, np.ndarray], float]


# --------------------------------------------------------------------------- metrics
def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of correct class predictions.

    ``output`` holds one score (logit or probability) per class along axis 1 (``(N, C)`` or
    ``(N, C, d1, ...)``, as :class:`~steepest.nn.CrossEntropyLoss` reads it), or a single logit
    column for a binary problem (class 1 when the logit is positive; ``fit`` and ``evaluate``
    threshold a probability column at 0.5 under ``nn.BCELoss``, whose inputs are probabilities);
    ``target`` holds class indices (``(N,)`` or an ``(N, 1)`` column), or one-hot / probability
    rows (compared by their argmax).
    """
    predicted, target, _ = _predicted_and_target(output, target)
    return float(np.mean(predicted == target))


def _predicted_and_target(output: np.ndarray, target: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, bool]:
    """The predicted classes and the target classes, aligned as :func:`accuracy` compares them,
    and whether the targets are class indices (not one-hot or probability rows)."""
    if output.ndim == 1 or output.shape[-1] == 1:
        return (output.reshape(-1) > 0).astype(np.int64), target.reshape(-1), True
    # The class axis is 1, as CrossEntropyLoss reads (N, C) and (N, C, d1, ...) scores;
    # the last axis would be a position axis for (N, C, d1).
    predicted = output.argmax(axis=1)
    if target.ndim == output.ndim and target.shape[1] == 1:
        # An (N, 1) column of labels: an argmax of it would be 0 in every row.
        return predicted, target.reshape(predicted.shape), True
    if target.ndim == output.ndim:
        return predicted, target.argmax(axis=1), False
    return predicted, target, True


class _IgnoringAccuracy:
    """:func:`accuracy` under a loss with ``ignore_index`` (``CrossEntropyLoss``, ``NLLLoss``):
    rows whose class target is ``ignore_index`` count neither as right nor as rows, as the loss
    leaves them out of its mean. :meth:`totals` gives a batch's ``(right, counted)``, which
    :func:`fit` and :func:`evaluate` sum over the epoch before dividing, so that the epoch's
    accuracy is over all its counted rows (a batch of ignored rows only adds nothing)."""

    __name__ = "accuracy"

    def __init__(self, ignore_index: int) -> None:
        self.ignore_index = ignore_index

    def totals(self, output: np.ndarray, target: np.ndarray) -> tuple[int, int]:
        predicted, target, indices = _predicted_and_target(output, target)
        if not indices or target.dtype.kind not in "iu":  # ignore_index is for class indices
            return int(np.count_nonzero(predicted == target)), int(predicted.size)
        counted = target != self.ignore_index
        return int(np.count_nonzero((predicted == target) & counted)), \
            int(np.count_nonzero(counted))

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        right, counted = self.totals(output, target)
        return right / counted if counted else float("nan")

    def __repr__(self) -> str:
        return f"accuracy(ignore_index={self.ignore_index})"


def _metric_totals(metric: Metric, output: np.ndarray, target: np.ndarray, rows: int
                   ) -> tuple[float, float]:
    """A batch's contribution to an epoch's metric: (total, rows it counts). A metric with
    ``totals`` (accuracy under ``ignore_index``) says itself; any other is a mean over the
    batch's rows."""
    totals = getattr(metric, "totals", None)
    if totals is None:
        return metric(output, target) * rows, rows
    return totals(output, target)


def _probability_accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """:func:`accuracy` of a probability column (class 1 above 0.5): what ``"accuracy"`` means
    under a loss that takes probabilities (``BCELoss``, after a ``Sigmoid``)."""
    if output.ndim == 1 or output.shape[-1] == 1:
        return accuracy(output - 0.5, target)
    return accuracy(output, target)


def mean_squared_error(output: np.ndarray, target: np.ndarray) -> float:
    """Mean of the squared differences (targets reshaped to the output's shape)."""
    return float(np.mean((output - target.reshape(output.shape)) ** 2))


def mean_absolute_error(output: np.ndarray, target: np.ndarray) -> float:
    """Mean of the absolute differences (targets reshaped to the output's shape)."""
    return float(np.mean(np.abs(output - target.reshape(output.shape))))


#: Metrics available by name in :func:`fit` and :func:`evaluate`. Each maps ``(output, target)``
#: NumPy arrays of one batch to a float; batches are averaged weighted by their size (for
#: "accuracy" under a loss with ``ignore_index``, by the rows the loss counts).
METRICS: dict[str, Metric] = {
    "accuracy": accuracy, "mse": mean_squared_error, "mae": mean_absolute_error,
}

#: Keys of fit's history and evaluate's result that are not metrics.
_RESERVED = ("loss", "epoch", "lr", "time")

#: Monitored quantities that improve upwards (for ``mode="auto"``).
_HIGHER_IS_BETTER = ("accuracy", "acc", "r2", "score")


def _resolve_metrics(metrics: Iterable[str | Metric] | None, owner: str,
                     loss: Any = None) -> dict[str, Metric]:
    """The metrics by name. :func:`accuracy` (by name or passed itself) is read as ``loss``
    reads the output: under a loss that takes probabilities (``BCELoss``) it thresholds a
    single column at 0.5 (at 0, the rule for logits, every row was class 1), and under a loss
    with ``ignore_index`` (``CrossEntropyLoss``, ``NLLLoss``) the ignored rows are left out of
    it (they were counted as wrong)."""
    resolved: dict[str, Metric] = {}
    if metrics is None:
        return resolved
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    adapted = _accuracy_for(loss)
    for metric in metrics:
        if isinstance(metric, str):
            check_choice(owner, "metrics", metric, METRICS)
            name, function = metric, METRICS[metric]
        elif callable(metric):
            name, function = getattr(metric, "__name__", type(metric).__name__), metric
        else:
            raise TypeError(f"{owner}: each metric must be one of {sorted(METRICS)} or a callable "
                            f"(output, target) -> float; got {metric!r}")
        if function is accuracy:
            function = adapted
        # A metric is reported under its name: one named "loss" was summed into the loss (or
        # replaced it), "epoch"/"lr"/"time" were overwritten, "val_*" collided with validation,
        # and a second metric of the same name silently replaced the first.
        if name in _RESERVED or name.startswith("val_"):
            raise ValueError(f"{owner}: a metric may not be named {name!r}, a key fit and "
                             f"evaluate report themselves ({', '.join(_RESERVED)}, val_*); "
                             f"rename the function")
        if name in resolved and resolved[name] is not function:
            raise ValueError(f"{owner}: two different metrics are both named {name!r}; give each "
                             f"function its own __name__ (e.g. def instead of lambda)")
        resolved[name] = function
    return resolved


def _accuracy_for(loss: Any) -> Metric:
    """What "accuracy" means under ``loss``: see :func:`_resolve_metrics`."""
    if _takes_probabilities(loss):
        return _probability_accuracy
    ignore = _ignored_index(loss)
    return accuracy if ignore is None else _IgnoringAccuracy(int(ignore))


def _ignored_index(loss: Any) -> int | None:
    """The class target ``loss`` leaves out (``CrossEntropyLoss``/``NLLLoss`` ``ignore_index``),
    or None for a loss without one."""
    ignore = getattr(loss, "ignore_index", None)
    return ignore if isinstance(ignore, int | np.integer) and not isinstance(ignore, bool) \
        else None


def _takes_probabilities(loss: Any) -> bool:
    """Whether ``loss`` reads the model's output as probabilities (``nn.BCELoss``)."""
    from ..nn.losses import BCELoss
    return isinstance(loss, BCELoss)
