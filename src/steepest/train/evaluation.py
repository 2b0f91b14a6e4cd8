"""Evaluation and prediction without a graph."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._validation import check_int
from ..autodiff.tensor import Tensor, no_grad
from .inputs import Data, _match_target, _model_dtype, _prepare, _refuse_complex, _set_training, _split_xy
from .metrics import Metric, _metric_totals, _resolve_metrics


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
    _refuse_complex("predict", "X", X)
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
        ``{"loss": ..., "<metric>": ...}``; every value is a mean over samples, over the samples
        the loss counts for the loss and for ``"accuracy"`` (a target equal to the loss's
        ``ignore_index`` counts in neither), NaN when it counts none.
    """
    resolved = _resolve_metrics(metrics, "evaluate", loss)
    X, y = _split_xy(data, "evaluate", "data")
    X, y = _prepare(X, y, _model_dtype(model))
    size = X.shape[0] if batch_size is None else check_int("evaluate", "batch_size", batch_size, 1)
    return _evaluate(model, loss, X, y, size, resolved)


def _evaluate(model: Any, loss: Callable[..., Tensor], X: np.ndarray, y: np.ndarray, size: int,
              metrics: dict[str, Metric], prefix: str = "") -> dict[str, float]:
    totals = dict.fromkeys(["loss", *metrics], 0.0)
    counts = dict.fromkeys(metrics, 0.0)  # the rows each metric counted
    n, loss_total = X.shape[0], 0.0
    was_training = _set_training(model, False)
    try:
        with no_grad():
            for start in range(0, n, size):
                xb, yb = X[start:start + size], y[start:start + size]
                out = model(Tensor(xb))
                yb = _match_target(out.data, yb)
                weight = xb.shape[0]
                loss_weight = _loss_weight(loss, yb, weight)
                if loss_weight:  # a batch of ignored targets has a 0/0 (NaN) mean loss
                    totals["loss"] += float(loss(out, yb).data) * loss_weight
                    loss_total += loss_weight
                for name, metric in metrics.items():
                    total, counted = _metric_totals(metric, out.data, yb, weight)
                    if counted:  # a batch of ignored targets adds nothing to an accuracy
                        totals[name] += total
                        counts[name] += counted
    finally:
        _set_training(model, was_training)
    result = {prefix + k: v / counts[k] if counts[k] else float("nan")
              for k, v in totals.items() if k != "loss"}
    result = {prefix + "loss": totals["loss"] / loss_total if loss_total else float("nan"),
              **result}
    return result


def _loss_weight(loss: Any, target: np.ndarray, rows: int) -> float:
    """What a batch's mean loss was divided by: its rows, or for a class-index loss with class
    weights or ignored targets (CrossEntropyLoss, NLLLoss), the summed weights of the targets
    it counts. Weighting batch means by rows there gave a batched result that differed from the
    whole set's (and NaN once a batch held only ignored targets)."""
    ignore = getattr(loss, "ignore_index", None)
    if (ignore is None or getattr(loss, "reduction", "mean") != "mean"
            or target.dtype.kind not in "iu"):
        return float(rows)
    counted = target != ignore
    class_weight = getattr(loss, "weight", None)
    if class_weight is None:
        return float(np.count_nonzero(counted))
    return float(np.asarray(class_weight, dtype=np.float64)[target[counted]].sum())
