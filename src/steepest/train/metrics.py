"""Metrics by name for :func:`~steepest.train.fit` and :func:`~steepest.train.evaluate`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .._validation import check_choice

Metric = Callable[[np.ndarray, np.ndarray], float]


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
