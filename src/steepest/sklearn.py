"""scikit-learn estimators backed by steepest networks: :class:`MLPClassifier`, :class:`MLPRegressor`.

They follow scikit-learn's estimator contract (``get_params``/``set_params``, parameters checked
in ``fit``, ``n_features_in_``, ``classes_``, deterministic with an integer ``random_state``) and
pass its ``check_estimator`` suite, so they drop into pipelines, grid searches and
cross-validation. The network is a :class:`steepest.nn.Sequential` of :class:`~steepest.nn.Linear`
layers trained by :func:`steepest.train.fit` with any optimizer of :mod:`steepest.optim`.

scikit-learn (the ``data`` extra) is imported here, so this module loads only when used.

Examples
--------
>>> from steepest.sklearn import MLPClassifier
>>> from steepest.data import load_dataset, Standardizer
>>> ds = load_dataset("iris")
>>> X = Standardizer().fit_transform(ds.X)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), lr=0.01, random_state=0).fit(X, ds.y)
>>> clf.score(X, ds.y) > 0.9
True
>>> len(clf.loss_curve_) == clf.n_iter_
True
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _random
from ._validation import check_bool, check_choice, check_int, check_real
from .autodiff.tensor import Tensor, no_grad
from .train import Callback, FitState, fit

__all__ = ["MLPClassifier", "MLPRegressor", "OPTIMIZERS", "ACTIVATIONS"]

#: Optimizer names accepted by the estimators: for each, the name in
#: :data:`steepest.optim.OPTIMIZERS` and the keyword arguments it fixes. ``momentum`` and
#: ``nesterov`` are SGD with momentum 0.9; the others are the optimizers' own names.
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("adagrad", {}),
    "rmsprop": ("rmsprop", {}),
    "adam": ("adam", {}),
    "adamw": ("adamw", {}),
    "adadelta": ("adadelta", {}),
    "adamax": ("adamax", {}),
    "nadam": ("nadam", {}),
}

#: Hidden-layer activations (scikit-learn's names, plus two of PyTorch's), all names of
#: :data:`steepest.nn.ACTIVATIONS`.
ACTIVATIONS = ("relu", "tanh", "logistic", "identity", "leaky_relu", "gelu")


class _Convergence(Callback):
    """scikit-learn's stopping rule for its MLPs, epoch by epoch.

    Without early stopping, an epoch fails to improve when its training loss is above
    ``best_loss - tol``; with it, when the validation score is below ``best_score + tol`` (and
    the weights of the best score are kept). Training stops after more than
    ``n_iter_no_change`` such epochs in a row.
    """

    def __init__(self, estimator: _BaseMLP, validation: tuple[np.ndarray, np.ndarray] | None,
                 tol: float, n_iter_no_change: int) -> None:
        self.estimator, self.validation = estimator, validation
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.converged = False

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        est = self.estimator
        est.loss_curve_.append(float(logs["loss"]))
        est.n_iter_ += 1
        est.t_ += est._n_train
        if self.validation is None:
            loss = est.loss_curve_[-1]
            worse = loss > est.best_loss_ - self.tol
            est.best_loss_ = min(est.best_loss_, loss)
        else:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            worse = score < est.best_validation_score_ + self.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = state.model.state_dict()
        est._no_improvement_count = est._no_improvement_count + 1 if worse else 0
        if est._no_improvement_count > self.n_iter_no_change:
            self.converged = True
            state.stop_training = True


class _BaseMLP(BaseEstimator):
    """Shared parameters, checks and training of the two estimators."""

    _task = ""

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (100,), activation: str = "relu",
                 *, optimizer: str = "adam", optimizer_params: dict[str, Any] | None = None,
                 lr: float | Any = None, weight_decay: float = 0.0,
                 batch_size: int | str = "auto", max_epochs: int = 200, shuffle: bool = True,
                 tol: float = 1e-4, n_iter_no_change: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, clip_grad_norm: float | None = None,
                 dtype: str = "float64", random_state: Any = None, verbose: bool = False
                 ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.clip_grad_norm = clip_grad_norm
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------- parameter checks
    def _check_params(self) -> dict[str, Any]:
        """Validate every parameter (in fit, as scikit-learn requires) and return them cleaned."""
        owner = type(self).__name__
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if not isinstance(sizes, tuple | list):
            raise TypeError(f"{owner}: hidden_layer_sizes must be a tuple of positive integers, "
                            f"got {self.hidden_layer_sizes!r}")
        sizes = tuple(check_int(owner, f"hidden_layer_sizes[{i}]", s, 1)
                      for i, s in enumerate(sizes))
        check_choice(owner, "activation", self.activation, ACTIVATIONS)
        check_choice(owner, "optimizer", self.optimizer, OPTIMIZERS)
        if self.optimizer_params is not None and not isinstance(self.optimizer_params, dict):
            raise TypeError(f"{owner}: optimizer_params must be a dict of keyword arguments for "
                            f"the optimizer, got {self.optimizer_params!r}")
        batch_size = self.batch_size
        if batch_size != "auto":
            batch_size = check_int(owner, "batch_size", batch_size, 1)
        check_choice(owner, "dtype", self.dtype, ("float32", "float64"))
        clip = self.clip_grad_norm
        return {
            "sizes": sizes,
            "lr": _check_lr(owner, self.lr),
            "weight_decay": check_real(owner, "weight_decay", self.weight_decay, 0.0),
            "batch_size": batch_size,
            "max_epochs": check_int(owner, "max_epochs", self.max_epochs, 1),
            "shuffle": check_bool(owner, "shuffle", self.shuffle),
            "tol": check_real(owner, "tol", self.tol, 0.0),
            "n_iter_no_change": check_int(owner, "n_iter_no_change", self.n_iter_no_change, 1),
            "early_stopping": check_bool(owner, "early_stopping", self.early_stopping),
            "validation_fraction": check_real(owner, "validation_fraction",
                                              self.validation_fraction, 0.0, 1.0,
                                              low_open=True, high_open=True),
            "clip": None if clip is None else check_real(owner, "clip_grad_norm", clip, 0.0,
                                                         low_open=True),
            "verbose": check_bool(owner, "verbose", self.verbose),
        }

    # ----------------------------------------------------------------- network
    def _build(self, params: dict[str, Any], n_in: int, n_out: int) -> None:
        from . import nn

        self.model_ = nn.mlp(n_in, params["sizes"], n_out, self.activation,
                             dtype=np.dtype(self.dtype))
        self.optimizer_ = self._make_optimizer(params)

    def _make_optimizer(self, params: dict[str, Any]) -> Any:
        from . import optim

        name, fixed = OPTIMIZERS[self.optimizer]
        kwargs = dict(fixed)
        if params["weight_decay"]:
            kwargs["weight_decay"] = params["weight_decay"]
        kwargs.update(self.optimizer_params or {})
        if params["lr"] is not None:
            kwargs["lr"] = params["lr"]
        try:
            return optim.create(name, self.model_.parameters(), **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: optimizer={self.optimizer!r} rejects "
                            f"optimizer_params {self.optimizer_params!r}: {error}") from None

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's layout ``(n_in, n_out)``, one per layer (copies)."""
        check_is_fitted(self, "model_")
        return [p.data.T.copy() for name, p in self.model_.named_parameters()
                if name.endswith("weight")]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, one per layer (copies)."""
        check_is_fitted(self, "model_")
        return [p.data.copy() for name, p in self.model_.named_parameters()
                if name.endswith("bias")]

    # ----------------------------------------------------------------- training
    def _all_or_nothing(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run ``method``; if it raises, put every attribute back as it was before the call.

        A fit that fails (bad labels, a single class, unseen labels in ``partial_fit``) must not
        leave ``n_features_in_``, ``classes_`` or ``n_outputs_`` describing data the model was
        never trained on: the estimator stays as fitted (or unfitted) as it was.
        """
        before = dict(self.__dict__)
        try:
            return method(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _seeded(self) -> int:
        """An integer seed drawn from ``random_state`` (an int or a RandomState)."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, X: np.ndarray, y: np.ndarray, params: dict[str, Any], epochs: int,
               incremental: bool) -> None:
        """Run ``epochs`` epochs inside this estimator's own random stream."""
        if self.random_state is None:  # draw from (and advance) the library generator
            self._reset_or_continue(X, y, params, epochs, incremental)
            return
        outer = _random.get_rng_state()
        if incremental and getattr(self, "_rng_state", None) is not None:
            _random.set_rng_state(self._rng_state)  # continue this estimator's own stream
        else:
            _random.manual_seed(self._seeded())
        try:
            self._reset_or_continue(X, y, params, epochs, incremental)
        finally:
            self._rng_state = _random.get_rng_state()
            _random.set_rng_state(outer)

    def _reset_or_continue(self, X: np.ndarray, y: np.ndarray, params: dict[str, Any],
                           epochs: int, incremental: bool) -> None:
        if not incremental or not hasattr(self, "model_"):
            self._reset(params, X, y)
        self._run_epochs(X, y, params, epochs, incremental)

    def _reset(self, params: dict[str, Any], X: np.ndarray, y: np.ndarray) -> None:
        self._build(params, X.shape[1], self._n_outputs(y))
        self.loss_curve_: list[float] = []
        self.validation_scores_: list[float] | None = [] if params["early_stopping"] else None
        self.best_loss_ = math.inf
        self.best_validation_score_ = -math.inf if params["early_stopping"] else None
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        self._best_weights = None

    def _run_epochs(self, X: np.ndarray, y: np.ndarray, params: dict[str, Any], epochs: int,
                    incremental: bool) -> None:
        validation = None
        if params["early_stopping"] and not incremental:
            X, y, validation = self._holdout(X, y, params["validation_fraction"])
        self._n_train = X.shape[0]
        batch_size = params["batch_size"]
        if batch_size == "auto":
            batch_size = min(200, X.shape[0])
        rule = _Convergence(self, validation, params["tol"], params["n_iter_no_change"])
        fit(self.model_, self._loss(), self.optimizer_, (X, self._encode(y)), epochs=epochs,
            batch_size=min(batch_size, X.shape[0]), shuffle=params["shuffle"],
            callbacks=[rule], clip_grad_norm=params["clip"], progress=params["verbose"])
        if validation is not None and self._best_weights is not None:
            self.model_.load_state_dict(self._best_weights)
        self._best_weights = None
        if not incremental and not rule.converged and epochs > 1:
            warnings.warn(f"{type(self).__name__}: stopped after max_epochs={epochs} epochs "
                          f"without converging (tol={params['tol']}); raise max_epochs or the "
                          f"learning rate", ConvergenceWarning, stacklevel=3)

    def _holdout(self, X: np.ndarray, y: np.ndarray, fraction: float
                 ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Keep a random (stratified for classes) validation share out of training."""
        from .data import train_val_test_split

        stratify = self._task == "classification" and np.min(np.unique(y, return_counts=True)[1]) > 1
        split = train_val_test_split(X, y, val=fraction, test=0.0, stratify=bool(stratify),
                                     seed=_random.generator())
        return split.X_train, split.y_train, (split.X_val, split.y_val)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        X = X.astype(self.dtype, copy=False)
        was_training = self.model_.training
        self.model_.eval()
        try:
            with no_grad():
                return self.model_(Tensor(X)).data
        finally:
            self.model_.train(was_training)

    def _validate_fit_data(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        multi_output = self._task == "regression"
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32],
                             multi_output=multi_output, y_numeric=multi_output)
        return X.astype(self.dtype, copy=False), y

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # An integer random_state makes every fit reproducible (checked by the suite).
        tags.non_deterministic = False
        return tags

    # hooks the two estimators fill in
    def _n_outputs(self, y: np.ndarray) -> int:
        raise NotImplementedError

    def _loss(self) -> Any:
        raise NotImplementedError

    def _encode(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError


def _check_lr(owner: str, lr: Any) -> Any:
    """A positive float, a schedule object, a schedule's text (``"0.1/t"``), or None."""
    if lr is None:
        return None
    if isinstance(lr, str):
        from . import schedules

        return schedules.parse(lr)
    if callable(lr):
        return lr
    return check_real(owner, "lr", lr, 0.0, low_open=True)


_COMMON_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity", "leaky_relu", "gelu"}, default "relu"
    optimizer : str, default "adam"
        One of ``sgd momentum nesterov adagrad rmsprop adam adamw adadelta adamax nadam``: the
        :mod:`steepest.optim` algorithm (``momentum``/``nesterov`` are SGD with momentum 0.9).
    optimizer_params : dict, optional
        Further keyword arguments for the optimizer (``betas``, ``momentum``, ``eps``, ...).
    lr : float, schedule or str, optional
        Learning rate: a number, a :mod:`steepest.schedules` object, or its text (``"0.1/t"``,
        ``"cosine:0.01:1000"``); the schedule's ``t`` counts updates. Default: the optimizer's
        own default (as in PyTorch: 1e-3 for Adam and SGD, 1.0 for Adadelta, 1e-2 for Adagrad
        and RMSprop, 2e-3 for Adamax and NAdam).
    weight_decay : float, default 0.0
        The optimizer's L2 penalty (decoupled for ``adamw``).
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``, as in scikit-learn.
    max_epochs : int, default 200
        Upper bound on passes over the training data.
    shuffle : bool, default True
        Reshuffle every epoch.
    tol : float, default 1e-4
        Improvement needed on the training loss (or the validation score with
        ``early_stopping``) to reset the ``n_iter_no_change`` count.
    n_iter_no_change : int, default 10
        Stop after more than this many epochs in a row without improvement of ``tol``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data, stop on its score, and keep the
        weights of the best epoch.
    validation_fraction : float, default 0.1
    clip_grad_norm : float, optional
        Clip the global gradient norm before each update.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the network.
    random_state : int, RandomState or None
        An integer makes initialisation, shuffling and the validation split reproducible
        (without touching the global generator); None draws from the library generator seeded
        by :func:`steepest.manual_seed`.
    verbose : bool, default False
        Show a progress bar.

    Attributes
    ----------
    model_ : steepest.nn.Sequential
        The trained network (raw outputs).
    optimizer_ : steepest.optim.Optimizer
    loss_curve_ : list of float
        Mean training loss of every epoch.
    validation_scores_ : list of float or None
        Validation score of every epoch with ``early_stopping`` (None otherwise).
    best_loss_ : float
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    n_features_in_ : int
    coefs_, intercepts_ : list of numpy.ndarray
        Weights in scikit-learn's layout (read-only copies).
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier trained with a steepest optimizer.

    A softmax output layer with the cross-entropy loss, as scikit-learn's ``MLPClassifier``
    (which uses one logistic unit for two classes; here every class gets a logit, which gives
    the same model).

    .. math:: p(y = k \\mid x) = \\mathrm{softmax}(f_\\theta(x))_k, \\qquad
              \\ell = -\\frac{1}{n}\\sum_i \\log p(y_i \\mid x_i)
    """ + _COMMON_PARAMETERS + """
    classes_ : numpy.ndarray
        The class labels.
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train from scratch on ``X`` (n, d) and labels ``y`` (n,); returns ``self``."""
        return self._all_or_nothing(self._fit, X, y)

    def _fit(self, X: Any, y: Any) -> MLPClassifier:
        params = self._check_params()
        X, y = self._validate_fit_data(X, y, reset=True)
        self._set_classes(y, None)
        self._train(X, y, params, params["max_epochs"], incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``X, y``, continuing from the current weights and optimizer state.

        ``classes`` (all labels that will ever appear) is required on the first call.
        """
        return self._all_or_nothing(self._partial_fit, X, y, classes)

    def _partial_fit(self, X: Any, y: Any, classes: Any) -> MLPClassifier:
        params = self._check_params()
        first = not hasattr(self, "classes_")
        X, y = self._validate_fit_data(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("MLPClassifier.partial_fit: classes must be given on the first "
                                 "call (every label that will appear)")
            self._set_classes(y, classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"MLPClassifier.partial_fit: classes={np.asarray(classes).tolist()} "
                             f"differ from the first call's {self.classes_.tolist()}")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"MLPClassifier.partial_fit: y has labels {unseen.tolist()} not "
                             f"in classes_ {self.classes_.tolist()}")
        self._train(X, y, params, 1, incremental=True)
        return self

    def _set_classes(self, y: np.ndarray, classes: Any) -> None:
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier: y must hold one class label per sample, got "
                             f"{kind} targets")
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        if self.classes_.size < 2:
            raise ValueError(f"MLPClassifier: y has only one class ({self.classes_[0].item()!r}); a "
                             f"classifier needs at least 2 classes")

    def _n_outputs(self, y: np.ndarray) -> int:
        return self.classes_.size

    def _loss(self) -> Any:
        from .nn import CrossEntropyLoss

        return CrossEntropyLoss()

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(accuracy_score(y, self.classes_[self._logits(X).argmax(axis=1)]))

    def _logits(self, X: np.ndarray) -> np.ndarray:
        was_training = self.model_.training
        self.model_.eval()
        try:
            with no_grad():
                return self.model_(Tensor(X)).data
        finally:
            self.model_.train(was_training)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        logits = self._forward(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities (computed stably from the logits)."""
        logits = self._forward(X).astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        scores = self._forward(X)  # checks fitted-ness before classes_ is touched
        return self.classes_[scores.argmax(axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained with a steepest optimizer.

    A linear output layer with the squared error, as scikit-learn's ``MLPRegressor`` (which
    halves it; the minimiser is the same).

    .. math:: \\ell = \\frac{1}{n\\,m}\\sum_i \\|f_\\theta(x_i) - y_i\\|^2
    """ + _COMMON_PARAMETERS + """
    n_outputs_ : int
        Number of targets (a 1-D ``y`` gives 1-D predictions).
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train from scratch on ``X`` (n, d) and targets ``y`` (n,) or (n, m); returns ``self``."""
        return self._all_or_nothing(self._fit, X, y)

    def _fit(self, X: Any, y: Any) -> MLPRegressor:
        params = self._check_params()
        X, y = self._validate_fit_data(X, y, reset=True)
        self._set_outputs(y)
        self._train(X, y, params, params["max_epochs"], incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``X, y``, continuing from the current weights and optimizer state."""
        return self._all_or_nothing(self._partial_fit, X, y)

    def _partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        params = self._check_params()
        first = not hasattr(self, "n_outputs_")
        X, y = self._validate_fit_data(X, y, reset=first)
        if first:
            self._set_outputs(y)
        elif (y.shape[1] if y.ndim == 2 else 1) != self.n_outputs_:
            raise ValueError(f"MLPRegressor.partial_fit: y has {y.shape[1] if y.ndim == 2 else 1} "
                             f"targets, the first call had {self.n_outputs_}")
        self._train(X, y, params, 1, incremental=True)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n, m) trains m outputs
        return tags

    def _set_outputs(self, y: np.ndarray) -> None:
        self._y_1d = y.ndim == 1
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]

    def _n_outputs(self, y: np.ndarray) -> int:
        return self.n_outputs_

    def _loss(self) -> Any:
        from .nn import MSELoss

        return MSELoss()

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1, 1).astype(self.dtype) if y.ndim == 1 else y.astype(self.dtype)

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        was_training = self.model_.training
        self.model_.eval()
        try:
            with no_grad():
                predicted = self.model_(Tensor(X)).data
        finally:
            self.model_.train(was_training)
        return float(r2_score(y, predicted.reshape(y.shape)))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n,) when fitted on a 1-D ``y``, else (n, m)."""
        out = self._forward(X).astype(np.float64)
        return out.reshape(-1) if self._y_1d else out
