"""The training loop: epochs of shuffled minibatches, validation, metrics, callbacks, checkpoints.

:func:`fit` runs the loop that a PyTorch user writes by hand (forward, loss, backward, step) and
keeps the per-epoch record a Keras user expects from ``model.fit`` (a :class:`History`).

Reproducibility: initialisation, shuffling and dropout all draw from the library generator, so
``st.manual_seed(n)`` before building the model makes a run bit-for-bit repeatable, and a
checkpoint holds everything that the rest of the run depends on (weights, optimizer state with
its step counts, the generator state, the callbacks' state and the history), so that a run
resumed from it ends bit-for-bit where the uninterrupted run ends.

``fit(..., compile=True)`` runs each batch's forward and backward pass through
:func:`steepest.compile` (recorded once per batch shape, then replayed as flat NumPy calls),
bitwise as without it.

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

from .callbacks import Callback, EarlyStopping, FitState, LambdaCallback, ReduceLROnPlateau
from .errors import DivergenceError, NonFiniteError
from .evaluation import evaluate, predict
from .gradients import clip_grad_norm_
from .history import History
from .loop import current_lr, fit
from .metrics import METRICS, accuracy, mean_absolute_error, mean_squared_error

__all__ = [
    "fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ReduceLROnPlateau",
    "LambdaCallback", "NonFiniteError", "DivergenceError", "FitState", "clip_grad_norm_",
    "current_lr", "METRICS", "accuracy", "mean_squared_error", "mean_absolute_error",
]
