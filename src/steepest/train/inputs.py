"""Turning the data passed to fit/evaluate/predict into arrays of the model's dtype."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor, no_grad

Data = Any  # (X, y) pair of array-likes, or an object with .X and .y (a Dataset)


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
    _refuse_complex(owner, f"{name} X", X)
    _refuse_complex(owner, f"{name} y", y)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: {name} X must be numeric, got dtype {X.dtype}")
    return X, y


def _refuse_complex(owner: str, name: str, array: np.ndarray) -> None:
    """A real model never sees complex data: casting would drop the imaginary part silently."""
    if array.dtype.kind == "c":
        raise TypeError(f"{owner}: {name} is complex ({array.dtype}); the model is real-valued. "
                        f"Pass real features (e.g. np.real(X), or the real and imaginary parts "
                        f"as separate columns)")


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


def _refuse_nonfinite_target(owner: str, name: str, y: np.ndarray, original: np.ndarray) -> None:
    """A NaN or infinite real-valued target, refused once before training (never per batch):
    its loss would be NaN and blamed on the learning rate."""
    if y.dtype.kind != "f" or np.isfinite(y).all():
        return
    bad = np.argwhere(~np.isfinite(y))
    where = tuple(bad[0])
    value = float(original[where]) if original.shape == y.shape else float(y[where])
    converted = "" if not math.isfinite(value) else \
        f" after conversion to the model's {y.dtype}, from {value!r}"
    raise ValueError(f"{owner}: {name} target y is not finite at row {int(where[0])} "
                     f"({float(y[where])!r}{converted}; {len(bad)} such values in all); "
                     f"drop or fill those rows first")


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
