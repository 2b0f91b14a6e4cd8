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
    if output.ndim == 1 or output.shape[-1] == 1:
        predicted = (output.reshape(-1) > 0).astype(np.int64)
        target = target.reshape(-1)
    else:
        # The class axis is 1, as CrossEntropyLoss reads (N, C) and (N, C, d1, ...) scores;
        # the last axis would be a position axis for (N, C, d1).
        predicted = output.argmax(axis=1)
        if target.ndim == output.ndim and target.shape[1] == 1:
            # An (N, 1) column of labels: an argmax of it would be 0 in every row.
            target = target.reshape(predicted.shape)
        elif target.ndim == output.ndim:
            target = target.argmax(axis=1)
    return float(np.mean(predicted == target))


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
#: NumPy arrays of one batch to a float; batches are averaged weighted by their size.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy, "mse": mean_squared_error, "mae": mean_absolute_error,
}

#: Keys of fit's history and evaluate's result that are not metrics.
_RESERVED = ("loss", "epoch", "lr", "time")

#: Monitored quantities that improve upwards (for ``mode="auto"``).
_HIGHER_IS_BETTER = ("accuracy", "acc", "r2", "score")


def _resolve_metrics(metrics: Iterable[str | Metric] | None, owner: str,
                     loss: Any = None) -> dict[str, Metric]:
    """The metrics by name. Under a loss that takes probabilities (``BCELoss``) ``"accuracy"``
    thresholds a single column at 0.5: at 0, the rule for logits, every row was class 1."""
    resolved: dict[str, Metric] = {}
    if metrics is None:
        return resolved
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    for metric in metrics:
        if isinstance(metric, str):
            check_choice(owner, "metrics", metric, METRICS)
            name, function = metric, METRICS[metric]
            if function is accuracy and _takes_probabilities(loss):
                function = _probability_accuracy
        elif callable(metric):
            name, function = getattr(metric, "__name__", type(metric).__name__), metric
        else:
            raise TypeError(f"{owner}: each metric must be one of {sorted(METRICS)} or a callable "
                            f"(output, target) -> float; got {metric!r}")
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


def _takes_probabilities(loss: Any) -> bool:
    """Whether ``loss`` reads the model's output as probabilities (``nn.BCELoss``)."""
    from ..nn.losses import BCELoss
    return isinstance(loss, BCELoss)
