"""scikit-learn estimators on steepest networks: :class:`~steepest.sklearn.MLPClassifier` and
:class:`~steepest.sklearn.MLPRegressor`.

A drop-in for :mod:`sklearn.neural_network`: the same parameter names, defaults (scikit-learn
1.9), meanings and fitted attributes (``coefs_`` of shape ``(n_in, n_out)``, ``loss_curve_``,
``n_iter_``, ``t_``, ...), the same inputs (``sample_weight``, multilabel indicator targets,
scipy sparse ``X``, float32 kept as float32, ``warm_start``, ``partial_fit``) and the same
errors for bad parameters. The network is a :func:`steepest.nn.mlp`, its gradients come from
steepest's autodiff, and its updates from :mod:`steepest.optim`.

steepest's extras, with names scikit-learn does not use:

- ``solver`` also takes every optimizer name of :data:`steepest.optim.OPTIMIZERS` (``rmsprop``,
  ``adagrad``, ``adadelta``, ``nadam``, ...); ``optimizer_params`` passes further arguments;
- ``learning_rate_init`` may be a schedule (a callable ``t -> lr`` or its text, ``"0.1/t"``),
  with ``t`` counting updates;
- ``dropout`` after every hidden activation; ``clip_grad_norm``;
- ``validation_loss_curve_``: the loss on the early-stopping split, epoch by epoch.

A run that diverges (a non-finite loss or weight; or a finite loss blown up, a millionfold
its first epoch's or a thousandfold the loss it started from, for 3 epochs in a row or when
the call ends) raises a ``ValueError`` naming the epoch and the learning rate and suggesting a
lower one, and leaves the estimator as it was before the call; a shorter spike that recovers
is not divergence (scikit-learn's runs recover from some). Any ``fit`` or ``partial_fit`` that raises
does the same (weights, optimizer state and counters).

Sparse ``X`` is never densified as a whole: each minibatch (and each chunk of at most
:data:`CHUNK` rows when predicting, or with ``solver="lbfgs"`` and ``dropout``) is densified on
its own; ``solver="lbfgs"`` without dropout multiplies the sparse matrix as it is.

``solver="lbfgs"`` follows L-BFGS-B's rules as scikit-learn runs it through SciPy (its
stopping tests, warnings and line search, Moré and Thuente's, steepest's own
:func:`~steepest.optim.line_search.more_thuente`); its loss
and gradient are written out for the network (``_FlatMLP``) on one float64 vector, checked
against steepest's autodiff.

scikit-learn (the ``data`` extra) is imported here, so this module loads only when used.

Examples
--------
>>> from steepest.sklearn import MLPClassifier
>>> from steepest.data import load_dataset, Standardizer
>>> ds = load_dataset("iris")
>>> X = Standardizer().fit_transform(ds.X)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0,
...                     max_iter=300).fit(X, ds.y)
>>> clf.score(X, ds.y) > 0.9
True
>>> len(clf.loss_curve_) == clf.n_iter_  # a fresh stochastic fit (lbfgs has no curve)
True
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from . import _random
from .autodiff.tensor import Tensor, no_grad
from .optim.adam import Adam
from .optim.sgd import SGD

__all__ = ["MLPClassifier", "MLPRegressor", "SOLVERS", "CHUNK"]

#: Rows densified at a time from a sparse ``X`` outside of minibatches (prediction, L-BFGS with
#: dropout).
CHUNK = 2048

#: An epoch's loss is "blown up" when it exceeds the first epoch's loss by this factor...
_GROWTH = 1e6
#: ... or this many times the larger of the loss the fit started from and the loss of the best
#: constant prediction (which catches a rate too large from the first step on).
_BLOWUP = 1e3
#: A finite run has diverged when its loss stays blown up this many epochs in a row, or is blown
#: up when the call ends (its last epoch, or the weights it would return). A shorter spike is
#: not divergence: scikit-learn's runs recover from some (its check_fit_idempotent data,
#: X ~ N(100, 1) with sgd, reaches 1.6e5 at epoch 2 from 35 and is back to 1.1 at epoch 3).
#: A non-finite loss or weight is divergence at once.
_PERSIST = 3
#: scikit-learn's message for non-finite weights, kept word for word for code that matches it.
_SKLEARN_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
                       "large values and need to be preprocessed.")


def _optimizer_names() -> tuple[str, ...]:
    from .optim import OPTIMIZERS

    return tuple(OPTIMIZERS)


#: Every ``solver``: scikit-learn's three, then steepest's other optimizers.
SOLVERS: tuple[str, ...] = ("adam", "sgd", "lbfgs") + tuple(
    name for name in _optimizer_names() if name not in ("adam", "sgd"))


def _is_schedule(value: Any) -> bool:
    return callable(value) or isinstance(value, str)


class _BaseMLP(BaseEstimator):
    """Shared parameters, checks and training of the two estimators."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither"), callable, str],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"),
                             Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "clip_grad_norm": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer_params": [None, dict],
    }

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: Any = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dropout: float = 0.0,
                 clip_grad_norm: float | None = None,
                 optimizer_params: dict[str, Any] | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.clip_grad_norm = clip_grad_norm
        self.optimizer_params = optimizer_params

    # ----------------------------------------------------------------- public entry points
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train on ``X`` (n, d; dense or scipy sparse) and ``y``; returns ``self``.

        From scratch, or from the fitted weights with ``warm_start=True``. ``sample_weight``
        (n,) weights each sample's loss (the weighted mean). If the call raises, the
        estimator is left exactly as it was.
        """
        return self._all_or_nothing(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> Any:
        return self._all_or_nothing(X, y, sample_weight, incremental=True, classes=classes)

    def _all_or_nothing(self, X: Any, y: Any, sample_weight: Any, incremental: bool,
                        classes: Any = None) -> Any:
        """Run one fit; if it raises (bad input, divergence, Ctrl-C), restore every attribute.

        Weights and optimizer state are updated in place during training, so a fitted
        estimator is deep-copied first; an unfitted one needs only a shallow copy.
        """
        fitted = hasattr(self, "model_")
        before = copy.deepcopy(self.__dict__) if fitted else dict(self.__dict__)
        try:
            self._validate_params()
            return self._fit(X, y, sample_weight, incremental, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    # ----------------------------------------------------------------- the fit
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool, classes: Any) -> Any:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, first, classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
        self._random_state = _random_state(self.random_state)
        if first:
            self._initialize(X, Y, [int(s) for s in sizes])
        else:
            self._check_same_outputs(Y)
            X = X.astype(self._dtype, copy=False)
            # as scikit-learn, the weights carry over and the hyperparameters are today's: the
            # network is rebuilt around its Linear layers if activation or dropout changed
            self.model_ = self._network()
            self._built = (self.activation, float(self.dropout))
            self.out_activation_ = self._out_activation()
        with _library_stream(self):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)
            else:
                if incremental and self.early_stopping:  # as scikit-learn: stochastic only
                    raise ValueError("partial_fit does not support early_stopping=True")
                self._fit_stochastic(X, Y, sample_weight, incremental)
        self._check_finite_weights()
        return self

    def _initialize(self, X: Any, Y: np.ndarray, sizes: list[int]) -> None:
        """Build the network with scikit-learn's Glorot-uniform initialisation, reset counters."""
        from . import nn

        self._dtype = np.dtype(X.dtype)
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(sizes) + 2
        self.out_activation_ = self._out_activation()
        self.model_ = nn.mlp(X.shape[1], sizes, self.n_outputs_, self.activation,
                             dropout=self.dropout, dtype=self._dtype)
        self._built = (self.activation, float(self.dropout))
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self._linears():
            fan_out, fan_in = layer.weight.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            layer.weight.data[...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            layer.bias.data[...] = self._random_state.uniform(-bound, bound, fan_out)
        self.n_iter_ = 0
        self.t_ = 0
        self._updates = 0  # optimizer steps since initialisation
        self._optimizer = None
        for name in ("loss_curve_", "best_loss_", "validation_scores_", "validation_loss_curve_",
                     "best_validation_score_"):
            self.__dict__.pop(name, None)
        if self.solver != "lbfgs":  # as scikit-learn: lbfgs has no curves or best values
            self._start_curves()

    def _start_curves(self) -> None:
        """The stochastic solvers' records, empty (also for a warm start after lbfgs)."""
        self._no_improvement_count = 0
        self.loss_curve_: list[float] = []
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.validation_loss_curve_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _network(self) -> Any:
        """``model_`` if it has today's ``activation`` and ``dropout``, else a new ``Sequential``
        around the same ``Linear`` layers (the same parameters, so the optimizer's state still
        applies) with them: scikit-learn reads ``activation`` at every forward pass."""
        wanted = (self.activation, float(self.dropout))
        if self.__dict__.get("_built") == wanted:
            return self.model_
        from .nn import Dropout, Sequential
        from .nn.perceptron import ACTIVATIONS

        make, linears, layers = ACTIVATIONS[self.activation], self._linears(), []
        for layer in linears[:-1]:
            layers.append(layer)
            if make is not None:
                layers.append(make())
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(linears[-1])
        model = Sequential(*layers)
        model.train(self.model_.training)
        return model

    def _linears(self) -> list[Any]:
        from .nn import Linear

        model = self.model_
        cached = self.__dict__.get("_linear_layers")
        if cached is None or cached[0] is not model:
            cached = (model, [layer for layer in model if isinstance(layer, Linear)])
            self._linear_layers = cached
        return cached[1]

    def _check_same_outputs(self, Y: np.ndarray) -> None:
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {Y.shape[1]} outputs, the fitted "
                             f"model has n_outputs_={self.n_outputs_}")

    def _check_finite_weights(self) -> None:
        if not all(np.isfinite(p.data).all() for p in self.model_.parameters()):
            raise ValueError(self._non_finite_message("the weights are not finite", False))

    # ----------------------------------------------------------------- stochastic solvers
    def _fit_stochastic(self, X: Any, Y: np.ndarray, sample_weight: Any, incremental: bool
                        ) -> None:
        if not hasattr(self, "loss_curve_"):  # warm-started after lbfgs
            self._start_curves()
        if self._optimizer is None or not incremental:
            self._optimizer = self._make_optimizer()
        X_val = Y_val = w_val = None
        if self.early_stopping:
            X, X_val, Y, Y_val, sample_weight, w_val = self._holdout(X, Y, sample_weight)
        if hasattr(X, "tocsr"):
            X = X.tocsr()  # rows are cheap to take from CSR; no densifying
        n = X.shape[0]
        batch_size = min(200, n) if self.batch_size == "auto" else self.batch_size
        if batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", stacklevel=4)
        batch_size = int(np.clip(batch_size, 1, n))
        order = np.arange(n)
        pieces = _batches(n, batch_size)
        self.n_iter_ = 0
        self._blown: tuple[int, str] | None = None  # (epochs in a row, the first one's message)
        self._loss_reference = max(self._constant_loss(Y, sample_weight), np.finfo(float).tiny)
        started = False
        for _ in range(self.max_iter):
            if self.shuffle:
                order = order[self._random_state.permutation(n)]  # as sklearn.utils.shuffle
            total = 0.0
            for piece in pieces:
                rows = order[piece] if self.shuffle else piece
                weights = None if sample_weight is None else sample_weight[rows]
                value = self._step(_dense(X[rows]), Y[rows], weights)
                if not started:  # the loss at the weights this call starts from
                    self._loss_reference = max(self._loss_reference, value)
                    started = True
                total += value * (piece.stop - piece.start)
            self._end_epoch(total / n, n, (X_val, Y_val, w_val))
            stop = self._should_stop(incremental)
            if self._blown is not None and (stop or incremental or self.n_iter_ == self.max_iter):
                restored = self.early_stopping and self._best_state is not None
                if not restored:  # the weights returned would be blown-up ones
                    raise ValueError(self._blown[1] + " It was still blown up when the fit "
                                     f"ended (epoch {self.n_iter_}).")
            if stop or incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning, stacklevel=4)
        if self.early_stopping and self._best_state is not None:
            self.model_.load_state_dict(self._best_state)

    def _holdout(self, X: Any, Y: np.ndarray, sample_weight: Any) -> tuple[Any, ...]:
        # as scikit-learn: binary classification only is stratified, on the labels as booleans
        stratify = (Y.astype(bool) if isinstance(self, ClassifierMixin) and self.n_outputs_ == 1
                    else None)
        w = np.ones(X.shape[0], dtype=self._dtype) if sample_weight is None else sample_weight
        X_tr, X_val, Y_tr, Y_val, w_tr, w_val = train_test_split(
            X, Y, w, random_state=self._random_state, test_size=self.validation_fraction,
            stratify=stratify)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        self._best_state = None
        if sample_weight is None:
            w_tr = w_val = None
        return X_tr, X_val, Y_tr, Y_val, w_tr, w_val

    def _make_optimizer(self) -> Any:
        """The steepest optimizer for ``solver``, with scikit-learn's hyperparameters mapped."""
        from . import optim, schedules

        lr = self.learning_rate_init
        if isinstance(lr, str):
            lr = schedules.parse(lr)
        self._lr_now = lr
        accepted = optim.hyperparameters(self.solver)
        mapped: dict[str, Any] = {"lr": lr}
        if "betas" in accepted:
            mapped["betas"] = (self.beta_1, self.beta_2)
        # adadelta's eps sits inside its square roots, adafactor's is a pair (eps1, eps2): neither
        # is Adam's epsilon
        if "eps" in accepted and self.solver not in ("adadelta", "adafactor"):
            mapped["eps"] = self.epsilon
        if self.solver == "sgd":
            mapped["momentum"] = self.momentum
            mapped["nesterov"] = bool(self.nesterovs_momentum and self.momentum > 0)
        mapped.update(self.optimizer_params or {})
        try:
            if self.solver == "sgd" and mapped.get("momentum") == 1.0:
                return _UnitMomentumSGD(self.model_.parameters(), **mapped)
            if self.solver == "adam":  # epsilon where scikit-learn's Adam adds it
                return _SklearnAdam(self.model_.parameters(), **mapped)
            return optim.create(self.solver, self.model_.parameters(), **mapped)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: solver={self.solver!r} rejects "
                            f"optimizer_params {self.optimizer_params!r}: {error}") from None

    def _step(self, Xb: np.ndarray, Yb: np.ndarray, wb: np.ndarray | None) -> float:
        """One update on a minibatch; returns its loss (with the L2 penalty) as scikit-learn's."""
        opt = self._optimizer
        total = float(Xb.shape[0]) if wb is None else float(wb.sum())
        # the backward seed 1/total gives the gradients of loss / total (see _scaled)
        seed = np.asarray(1.0 / total if total > 0 else 1.0, dtype=self._dtype)
        loss = self._gradients_step()(Xb.astype(self._dtype, copy=False),
                                      self._loss_terms(Yb, wb, self._dtype), seed)
        value = float(loss.data * seed) * self._reported_share()
        value += self._add_penalty(max(total, 1e-300))
        if not math.isfinite(value):
            raise ValueError(self._non_finite_message(f"the loss is {value}",
                                                      self._updates == 0))
        if self.clip_grad_norm is not None:
            from .train import clip_grad_norm_

            clip_grad_norm_(self.model_.parameters(), self.clip_grad_norm)
        opt.step()
        self._updates += 1
        return value

    def _gradients(self, X: np.ndarray, terms: tuple, seed: np.ndarray) -> Tensor:
        """Clear the gradients and backpropagate the minibatch loss times ``seed``; the loss."""
        self._optimizer.zero_grad()
        loss = self._loss_of(self.model_(Tensor(X)), *terms)
        loss.backward(seed)
        return loss

    def _gradients_step(self) -> Any:
        """:meth:`_gradients` under ``st.compile`` (bitwise the same; the forward and backward
        pass replayed without the engine's per-op work), made anew for a new model or optimizer,
        whose tensors a recording holds."""
        from .autodiff.capture import compile as compile_step

        cache = self.__dict__.get("_compiled")
        if cache is None:
            cache = self._compiled = _Uncopied()
        cached = cache.value
        if cached is None or cached[0] is not self.model_ or cached[1] is not self._optimizer:
            cached = cache.value = (self.model_, self._optimizer, compile_step(self._gradients))
        return cached[2]

    def _add_penalty(self, total: float) -> float:
        """Add ``alpha * W / total`` to each weight gradient; return ``alpha/2 ||W||^2 / total``."""
        if not self.alpha:
            return 0.0
        squares = 0.0
        for layer in self._linears():
            w = layer.weight.data
            flat = w.ravel()
            squares += float(np.dot(flat, flat))
            if layer.weight.grad is None:
                layer.weight.grad = np.zeros_like(w)
            layer.weight.grad += (self.alpha / total) * w
        return 0.5 * self.alpha * squares / total

    def _end_epoch(self, loss: float, n: int, validation: tuple[Any, Any, Any]) -> None:
        loss = np.float64(loss)  # as scikit-learn's loss_, loss_curve_ and best_loss_
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_ + 1}, loss = {loss:.8f}")
        first = self.loss_curve_[0]
        reference = self._loss_reference
        what = None
        if len(self.loss_curve_) > 1 and loss > _GROWTH * max(first, np.finfo(float).tiny):
            what = f"the loss grew from {first:.3g} to {loss:.3g}"
        elif loss > _BLOWUP * reference:
            what = (f"the loss reached {loss:.3g}, {loss / reference:.3g} times the larger of the "
                    f"loss when this fit started and the loss of a constant prediction "
                    f"({reference:.3g})")
        if what is None:
            self._blown = None
        elif self._blown is None:
            self._blown = (1, self._diverged_message(what))
        else:
            self._blown = (self._blown[0] + 1, self._blown[1])
        if self._blown is not None and self._blown[0] >= _PERSIST:
            raise ValueError(f"{self._blown[1]} It stayed blown up for {_PERSIST} epochs in a "
                             f"row (to epoch {self.n_iter_ + 1}: {loss:.3g}).")
        self._check_finite_weights()  # all three name epoch n_iter_ + 1, the one that ends here
        self.n_iter_ += 1
        self.t_ += n
        self._update_no_improvement_count(*validation)
        if self.solver == "sgd" and self.learning_rate == "invscaling" and not callable(
                self._lr_now):
            self._set_lr(float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)

    def _update_no_improvement_count(self, X_val: Any, Y_val: Any, w_val: Any) -> None:
        if self.early_stopping:
            score, val_loss = self._validation_score_and_loss(X_val, Y_val, w_val)
            self.validation_scores_.append(score)
            self.validation_loss_curve_.append(val_loss)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.model_.state_dict()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _should_stop(self, incremental: bool) -> bool:
        """scikit-learn's rule: after more than ``n_iter_no_change`` idle epochs, stop (or, for
        ``sgd`` with ``learning_rate="adaptive"``, divide the rate by 5 down to 1e-6)."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if self.early_stopping else "Training loss"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        adaptive = (self.solver == "sgd" and self.learning_rate == "adaptive"
                    and not callable(self._lr_now))
        if adaptive and self._lr_now > 1e-6:
            self._set_lr(self._lr_now / 5.0)
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{message} Setting learning rate to {self._lr_now:f}")
            return False
        if self.verbose:
            print(message + (" Learning rate too small. Stopping." if adaptive else
                             " Stopping."))
        return True

    def _set_lr(self, lr: float) -> None:
        r"""Set the rate of every group; for SGD with momentum, keep scikit-learn's update.

        scikit-learn's momentum is :math:`u \leftarrow \mu u - \eta_k g`, :math:`p \leftarrow
        p + u` (Nesterov: :math:`p \leftarrow p + \mu u - \eta_k g` with the new :math:`u`);
        optim.SGD's (PyTorch's) is :math:`v \leftarrow \mu v + g`, :math:`p \leftarrow p -
        \eta_k v` (Nesterov: :math:`p \leftarrow p - \eta_k (g + \mu v)`). They agree while
        :math:`u = -\eta v`. When the rate changes from :math:`\eta` to :math:`\eta'`, scaling
        :math:`v` by :math:`\eta / \eta'` keeps :math:`u = -\eta' v`: the next update is
        :math:`-\eta' (\mu v \eta/\eta' + g) = \mu u - \eta' g`, scikit-learn's, in both forms
        (Nesterov's step is :math:`\mu` times the new velocity minus :math:`\eta' g` in both).
        """
        old, self._lr_now = self._lr_now, lr
        opt = self._optimizer
        for group in opt.param_groups:
            group["lr"] = lr
            if (self.solver == "sgd" and group.get("momentum", 0) != 0
                    and group.get("momentum_form", "pytorch") == "pytorch"
                    and not callable(old) and lr > 0 and old != lr):
                ratio = float(old) / lr
                for p in group["params"]:
                    buffer = opt.state.get(p, {}).get("momentum_buffer")
                    if buffer is not None:
                        buffer *= ratio  # in place: a view of a flat buffer stays one

    def _non_finite_message(self, what: str, before_any_update: bool) -> str:
        """Non-finite loss or weights: scikit-learn's sentence, then what steepest knows."""
        if before_any_update:  # the data, not the rate: nothing was updated yet
            return (f"{_SKLEARN_NON_FINITE} {type(self).__name__}: {what} at the initial weights, "
                    f"before any update: scale the inputs.")
        return f"{_SKLEARN_NON_FINITE} {self._diverged_message(what)}"

    def _diverged_message(self, what: str) -> str:
        lr = getattr(self, "_lr_now", self.learning_rate_init)
        if callable(lr) or isinstance(lr, str):
            hint = "a schedule with lower rates"
            shown = repr(self.learning_rate_init)
        else:
            hint = f"learning_rate_init={float(lr) / 10:g} or lower"
            shown = f"{float(lr):g}"
        where = f"epoch {self.n_iter_ + 1}" if self.solver != "lbfgs" else "L-BFGS"
        return (f"{type(self).__name__}: training diverged at {where}: {what} with solver="
                f"{self.solver!r} and learning rate {shown}. Try {hint} (or scale the inputs). "
                f"The estimator is left as it was before this call.")

    # ----------------------------------------------------------------- L-BFGS
    def _fit_lbfgs(self, X: Any, Y: np.ndarray, sample_weight: Any) -> None:
        """Full-batch L-BFGS on the penalised loss, with L-BFGS-B's rules (:func:`_minimize_lbfgs`).

        As scikit-learn (which runs SciPy's L-BFGS-B), the optimizer works on one float64 vector
        of all weights, whatever the network's dtype, keeps 10 correction pairs, stops when the
        largest gradient entry is at most ``tol`` or the relative decrease of the loss is at
        most SciPy's ``ftol``, and is bounded by ``max_iter`` iterations and ``max_fun`` loss
        evaluations; stopping for any other reason than the two tolerances warns
        (``ConvergenceWarning``). The loss and gradient come from ``_FlatMLP`` (written
        out for the network), or steepest's autodiff where it does not apply (dropout).
        """
        params = list(self.model_.parameters())
        total = float(X.shape[0]) if sample_weight is None else float(sample_weight.sum())
        x = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
        evaluate = (_FlatMLP(self, X, Y, sample_weight, total) if _FlatMLP.applies(self)
                    else self._engine_loss(X, Y, sample_weight, total))
        self._lr_now = 1.0
        x, self.loss_, g, self.n_iter_, evaluations, status = _minimize_lbfgs(
            evaluate, x, self.tol, self.max_iter, self.max_fun)
        if not math.isfinite(self.loss_):
            raise ValueError(self._non_finite_message(f"the loss is {self.loss_}",
                                                      self.n_iter_ == 0))
        _unpack(params, x)
        if self._reported_share() != 1.0:  # as the stochastic solvers: the data loss reported
            squares = sum(float(np.vdot(layer.weight.data, layer.weight.data))
                          for layer in self._linears())
            penalty = 0.5 * self.alpha * squares / total
            self.loss_ = (self.loss_ - penalty) * self._reported_share() + penalty
        self.loss_ = np.float64(self.loss_)  # as scikit-learn's (SciPy's fun)
        if status not in ("gtol", "ftol"):  # not converged: say why, as L-BFGS-B's status
            limit = {"max_iter": f"reached the iteration limit max_iter={self.max_iter}",
                     "max_fun": f"reached the evaluation limit max_fun={self.max_fun}",
                     "stalled": "found no step that lowers the loss (the line search failed)"}
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s): it "
                          f"{limit[status]}. Increase the number of iterations (max_iter) or "
                          f"scale the data.", ConvergenceWarning, stacklevel=4)

    def _engine_loss(self, X: Any, Y: np.ndarray, sample_weight: Any, total: float) -> Any:
        """The penalised loss and its float64 gradient through steepest's autodiff, as a function
        of the flat weight vector: the path for networks :class:`_FlatMLP` does not write out
        (dropout), and its reference in the tests. Sparse ``X`` is densified in chunks."""
        params = list(self.model_.parameters())
        if hasattr(X, "tocsr"):
            X = X.tocsr()
        pieces = _batches(X.shape[0], CHUNK)

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            _unpack(params, x)
            for p in params:
                p.grad = None
            value = 0.0
            for piece in pieces:
                weights = None if sample_weight is None else sample_weight[piece]
                loss = self._data_loss(self.model_(Tensor(_dense(X[piece]))), Y[piece], weights)
                piece_value, seed = _scaled(loss, 1.0 / total)
                value += piece_value
                loss.backward(seed)
            value += self._add_penalty(total)
            return value, np.concatenate([p.grad.ravel() for p in params]).astype(np.float64)

        return evaluate

    # ----------------------------------------------------------------- prediction
    def _raw(self, X: Any, reset_check: bool = True) -> np.ndarray:
        """The output layer's pre-activations ``z`` for ``X``, in chunks for sparse input."""
        check_is_fitted(self, "model_")
        if reset_check:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                              dtype=[np.float64, np.float32])
        if hasattr(X, "tocsr"):
            X = X.tocsr()
        model = self._network()  # not stored: predicting changes nothing
        was_training = model.training
        model.eval()
        # float64 X through float32 weights is computed in float64, as scikit-learn's NumPy
        # products promote it (casting X down gave float32 predictions 1e-7 away)
        dtype = np.result_type(X.dtype, self._dtype)
        try:
            with no_grad():
                if not hasattr(X, "tocsr"):
                    return model(Tensor(X.astype(dtype, copy=False))).data
                return np.concatenate([model(Tensor(_dense(X[piece]).astype(dtype))).data
                                       for piece in _batches(X.shape[0], CHUNK)]
                                      ) if X.shape[0] else np.zeros((0, self.n_outputs_), dtype)
        finally:
            model.train(was_training)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's layout ``(n_in, n_out)``: views of the weights."""
        check_is_fitted(self, "model_")
        return [layer.weight.data.T for layer in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``(n_out,)``, one per layer: views of the biases."""
        check_is_fitted(self, "model_")
        return [layer.bias.data for layer in self._linears()]

    # hooks the two estimators fill in
    def _reported_share(self) -> float:
        """The factor from the trained objective to the loss scikit-learn reports."""
        return 1.0

    def _out_activation(self) -> str:
        raise NotImplementedError

    def _constant_z(self, Y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        """The best constant output pre-activation (one row): the baseline of the loss."""
        raise NotImplementedError

    def _constant_loss(self, Y: np.ndarray, w: np.ndarray | None) -> float:
        """The loss of the best constant prediction, the floor of the divergence check."""
        if Y.shape[0] == 0 or (w is not None and not np.sum(w) > 0):
            return 0.0
        z = np.broadcast_to(self._constant_z(Y, w), Y.shape).astype(np.float64)
        total = Y.shape[0] if w is None else float(np.sum(w))
        with no_grad():
            value = float(self._data_loss(Tensor(z), Y, w).item())
        return value * self._reported_share() / total

    def _data_loss(self, z: Tensor, Y: np.ndarray, w: np.ndarray | None) -> Tensor:
        """The summed (weighted) loss of the outputs' pre-activations ``z`` against ``Y``."""
        return self._loss_of(z, *self._loss_terms(Y, w, z.dtype))

    def _loss_terms(self, Y: np.ndarray, w: np.ndarray | None, dtype: Any) -> tuple:
        """What the loss needs from the targets and weights, computed with NumPy (so that a
        compiled step takes it as inputs instead of baking it in)."""
        raise NotImplementedError

    def _loss_of(self, z: Tensor, *terms: Any) -> Tensor:
        """The loss from ``z`` and :meth:`_loss_terms`, with ops only."""
        raise NotImplementedError

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool, classes: Any
                        ) -> tuple[Any, np.ndarray]:
        raise NotImplementedError

    def _validation_score_and_loss(self, X: Any, Y: np.ndarray, w: Any) -> tuple[float, float]:
        raise NotImplementedError


class _UnitMomentumSGD(SGD):
    """``optim.SGD`` that also takes ``momentum=1``, which scikit-learn's ``sgd`` accepts
    (``u = u - lr g; p += u``: the velocity never decays). SGD's update is the same arithmetic
    at any momentum; only its check refuses 1, so the check is made on a stand-in and the 1 put
    back (also when a compiled step restores the optimizer through ``load_state_dict``)."""

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        unit = group.get("momentum") == 1.0
        if unit:
            group["momentum"] = 0.5
        group = super()._check_group(owner, group)
        if unit:
            group["momentum"] = 1.0
        return group


class _SklearnAdam(Adam):
    r"""``optim.Adam`` with ``eps`` where scikit-learn's Adam adds it: to :math:`\sqrt{v_t}`
    before the bias correction, :math:`x \mathrel{-}= \alpha \frac{\sqrt{1 - \beta_2^t}}{1 -
    \beta_1^t} \frac{m_t}{\sqrt{v_t} + \epsilon}`. torch's (``optim.Adam``'s) denominator is
    :math:`\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon`, the same update with
    :math:`\epsilon \sqrt{1 - \beta_2^t}`: at the default 1e-8 that is rounding, but a larger
    ``epsilon`` (0.1) had trained visibly differently (its first step saw an epsilon 30 times
    smaller). Each update passes ``eps / sqrt(1 - beta2^t)`` to torch's form."""

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        correction = (1.0 - float(group["betas"][1]) ** (state["step"] + 1)) ** 0.5
        super()._update(p, grad, state, {**group, "eps": float(group["eps"]) / correction}, lr)


class _library_stream:
    """Run dropout inside the estimator's own random stream when ``random_state`` is set.

    Initialisation, shuffling and the validation split draw from ``random_state`` as in
    scikit-learn; dropout masks come from steepest's library generator, which is seeded here
    from ``random_state`` (and put back afterwards) so that an integer seed makes the whole fit
    reproducible without touching :func:`steepest.manual_seed`'s stream.
    """

    def __init__(self, estimator: _BaseMLP) -> None:
        self.estimator = estimator
        self.outer: Any = None

    def __enter__(self) -> None:
        est = self.estimator
        if est.dropout and est.random_state is not None:
            self.outer = _random.get_rng_state()
            _random.manual_seed(int(est._random_state.randint(np.iinfo(np.int32).max)))

    def __exit__(self, *exc: Any) -> None:
        if self.outer is not None:
            _random.set_rng_state(self.outer)


def _random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``, except that None draws a seed from steepest's
    library generator, so that :func:`steepest.manual_seed` makes such fits reproducible."""
    if seed is None:
        return np.random.RandomState(int(_random.generator().integers(np.iinfo(np.int32).max)))
    return check_random_state(seed)


def _batches(n: int, size: int) -> list[slice]:
    """Consecutive slices of ``size`` rows covering ``range(n)``, the last one shorter
    (scikit-learn's ``gen_batches``, without its per-call parameter validation)."""
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _dense(X: Any) -> np.ndarray:
    return X.toarray() if hasattr(X, "toarray") else X


#: L-BFGS-B's default relative loss-change tolerance (factr 1e7 times float64 epsilon), which
#: scikit-learn's lbfgs solver inherits; used here as the change tolerance.
_LBFGS_FTOL = 1e7 * float(np.finfo(np.float64).eps)
_EPS = float(np.finfo(np.float64).eps)


def _scaled(loss: Tensor, scale: float) -> tuple[float, np.ndarray]:
    """``loss * scale`` as a float, and the backward seed that gives the gradients of that
    product: the same numbers as recording the product, one op fewer per step."""
    seed = np.asarray(scale, dtype=loss.dtype)
    return float(loss.data * seed), seed


def _unpack(params: list[Tensor], x: np.ndarray) -> None:
    start = 0
    for p in params:
        p.data[...] = x[start:start + p.data.size].reshape(p.data.shape)
        start += p.data.size


class _Memory:
    r"""The last ``m`` pairs :math:`s_i = x_{i+1} - x_i`, :math:`y_i = g_{i+1} - g_i` of
    L-BFGS and the direction :math:`-H g` from them, in the compact form of Byrd, Nocedal and
    Schnabel ("Representations of quasi-Newton matrices and their use in limited memory
    methods", Math. Prog. 1994, eq. 3.13), which L-BFGS-B uses too:

    .. math::

        H = \gamma I + [S \;\; \gamma Y]
            \begin{bmatrix} R^{-\top}(D + \gamma Y^\top Y) R^{-1} & -R^{-\top} \\
                            -R^{-1} & 0 \end{bmatrix}
            \begin{bmatrix} S^\top \\ \gamma Y^\top \end{bmatrix}

    with :math:`R` the upper triangle of :math:`S^\top Y` (pairs in time order), :math:`D` its
    diagonal and :math:`\gamma = s^\top y / y^\top y` of the newest pair. It is the matrix of
    the two-loop recursion (:class:`steepest.optim.LBFGS`), computed with three products of the
    ``(2m, n)`` pair buffer and ``m x m`` algebra instead of ``4m`` vector operations, which
    is what an iteration costs on small networks.
    """

    def __init__(self, n: int, m: int) -> None:
        self.m = m
        self.pairs = np.zeros((2 * m, n))  # rows 0..m-1: s, rows m..2m-1: y, by slot
        self.sy = np.zeros((m, m))  # sy[i, j] = s_i . y_j, by slot
        self.yy = np.zeros((m, m))
        self.order: list[int] = []  # slots, oldest first
        self.gamma = 1.0
        self.upper = np.triu(np.ones((m, m)))

    def reset(self) -> None:
        self.order = []

    def __len__(self) -> int:
        return len(self.order)

    def add(self, s: np.ndarray, y: np.ndarray) -> None:
        """Keep the pair if its curvature :math:`s^\top y` is positive (as L-BFGS-B: above
        machine epsilon times :math:`y^\top y`), dropping the oldest beyond ``m``."""
        sy, yy = float(s @ y), float(y @ y)
        if not sy > _EPS * yy:
            return
        m = self.m
        slot = self.order.pop(0) if len(self.order) == m else len(self.order)
        self.order.append(slot)
        self.pairs[slot], self.pairs[m + slot] = s, y
        with_s, with_y = self.pairs @ s, self.pairs @ y
        self.sy[slot, :] = with_s[m:]  # s_slot . y_j
        self.sy[:, slot] = with_y[:m]  # s_i . y_slot
        self.yy[slot, :] = self.yy[:, slot] = with_y[m:]
        self.gamma = sy / yy
        # the m x m part of H, once per pair (not per direction): R^-1 and D + gamma Y'Y
        from scipy.linalg.lapack import dtrtri

        k = len(self.order)
        if k < m:  # slots 0..k-1 in time order
            idx, block, yy_block = np.arange(k), self.sy[:k, :k], self.yy[:k, :k]
        else:
            idx = np.array(self.order)
            block = self.sy.take(idx, axis=0).take(idx, axis=1)
            yy_block = self.yy.take(idx, axis=0).take(idx, axis=1)
        self.index = idx
        # LAPACK's triangular inverse reads the upper triangle only; its lower one is the input's
        self.r_inv = dtrtri(block)[0] * self.upper[:k, :k]
        self.inner = self.gamma * yy_block
        self.inner.flat[::k + 1] += block.diagonal()

    def direction(self, g: np.ndarray) -> np.ndarray:
        """:math:`-H g` (:math:`-g` with no pairs)."""
        if not self.order:
            return -g
        m, idx, gamma = self.m, self.index, self.gamma
        both = self.pairs @ g
        p_y = self.r_inv @ both[idx]  # -p_y, the coefficients of gamma Y
        p_s = (self.inner @ p_y - gamma * both[m + idx]) @ self.r_inv  # R^-T (...)
        coefficients = np.zeros(2 * m)
        coefficients[idx], coefficients[m + idx] = p_s, -gamma * p_y
        d = coefficients @ self.pairs
        d += gamma * g
        return np.negative(d, out=d)


def _minimize_lbfgs(fun: Any, x: np.ndarray, gtol: float, max_iter: int, max_fun: int,
                    memory: int = 10) -> tuple[np.ndarray, float, np.ndarray, int, int, str]:
    r"""Minimise ``fun(x) -> (f, g)`` by L-BFGS with L-BFGS-B's rules for an unconstrained
    problem, which is what scikit-learn's ``lbfgs`` solver runs (through SciPy).

    Each iteration steps along :math:`d = -H g` (:class:`_Memory`), first trying :math:`t = 1`
    (:math:`t = 1 / \|d\|_2` before the first iteration), with L-BFGS-B's line search:
    Moré and Thuente's, :func:`steepest.optim.line_search.more_thuente`, with L-BFGS-B's
    constants (:math:`c_1 = 10^{-3}`, :math:`c_2 = 0.9`, ``xtol`` :math:`= 0.1`, steps in
    :math:`[0, 10^{10}]`, at most 20 evaluations), whose point is taken when it converges or
    stops with a warning, as L-BFGS-B takes it. As L-BFGS-B it stops, converged, when
    :math:`\|g\|_\infty \le` ``gtol`` or when
    :math:`(f_k - f_{k+1}) / \max(|f_k|, |f_{k+1}|, 1) \le` ``ftol`` (SciPy's default
    :math:`10^7 \epsilon`); and, not converged, after ``max_iter`` iterations, after the
    iteration whose evaluations (the first one included) pass ``max_fun`` (as SciPy, which never
    cuts a line search short for it), or when a line search finds no acceptable step from the
    steepest-descent direction (a failure along an L-BFGS direction first empties the memory and
    retries).

    Returns
    -------
    (x, f, g, iterations, evaluations, status)
        ``status`` is ``"gtol"`` or ``"ftol"`` (converged), ``"max_iter"``, ``"max_fun"`` or
        ``"stalled"``.
    """
    from .optim.line_search import more_thuente

    f, g = fun(x)
    evaluations, iterations = 1, 0
    if not math.isfinite(f):
        return x, f, g, 0, evaluations, "stalled"
    if np.abs(g).max() <= gtol:
        return x, f, g, 0, evaluations, "gtol"
    history = _Memory(x.size, memory)
    while True:
        d = history.direction(g)
        gtd = float(g @ d)
        if not gtd < 0:  # not a descent direction: start over from -g (or give up)
            if len(history):
                history.reset()
                continue
            return x, f, g, iterations, evaluations, "stalled"
        # L-BFGS-B's first trial step: 1 / ||d|| before the first iteration, 1 afterwards (also
        # along -g after a restart)
        t = 1.0 if iterations else 1.0 / max(float(np.sqrt(d @ d)), np.finfo(float).tiny)
        # L-BFGS-B's own search: its point is taken on convergence and on a warning. SciPy
        # never cuts a search short for maxfun (it checks the count after each iteration), so
        # neither does this: n_iter_ under max_fun is scikit-learn's
        search = more_thuente(fun, x, d, f, g, alpha0=t, c1=1e-3, c2=0.9, xtol=0.1,
                              alpha_min=0.0, alpha_max=1e10, max_evals=20)
        evaluations += search.nfev
        # as L-BFGS-B, a search that failed (no acceptable step in 20 evaluations) is discarded:
        # the memory is emptied and the iteration restarted from -g; a failure from -g ends it
        if not search.success:
            if len(history):
                history.reset()
                continue
            return x, f, g, iterations, evaluations, "stalled"
        x_new = x + search.step * d
        iterations += 1
        history.add(x_new - x, search.grad - g)
        f_old, x, f, g = f, x_new, search.fun, search.grad
        # SciPy tests its limits at each new iterate before L-BFGS-B tests convergence: an
        # iteration that converges on the last allowed one stops at the limit (scikit-learn
        # then warns, and its test_lbfgs_regression_maxfun expects the warning)
        if iterations >= max_iter:
            return x, f, g, iterations, evaluations, "max_iter"
        if evaluations > max_fun:  # SciPy's test: the count above maxfun, after an iteration
            return x, f, g, iterations, evaluations, "max_fun"
        if np.abs(g).max() <= gtol:
            return x, f, g, iterations, evaluations, "gtol"
        if f_old - f <= _LBFGS_FTOL * max(abs(f_old), abs(f), 1.0):
            return x, f, g, iterations, evaluations, "ftol"


class _FlatMLP:
    r"""The penalised training loss of the estimator's network and its gradient, by hand, on one
    float64 vector of all weights: what :meth:`_BaseMLP._fit_lbfgs` evaluates at every L-BFGS
    iterate, without recording a graph.

    The network is fixed (``Linear`` layers with the estimator's activation between, no dropout),
    so the backward pass is written out: from :math:`a_0 = x`, :math:`z_k = a_{k-1} W_k^\top + b_k`,
    :math:`a_k = \sigma(z_k)` (the last layer has no activation), and with
    :math:`\delta_L = \partial \ell / \partial z_L`, which for each output and its loss
    (softmax and cross-entropy, logistic and binary log loss, identity and half the squared
    error, exp and the Poisson deviance) is :math:`w_i (g(z_L) - y) / \sum_i w_i`,

    .. math:: \nabla_{W_k} = \delta_k^\top a_{k-1} + \tfrac{\alpha}{\sum_i w_i} W_k, \quad
              \nabla_{b_k} = \textstyle\sum_i \delta_{k,i}, \quad
              \delta_{k-1} = (\delta_k W_k) \odot \sigma'(z_{k-1})

    Weights and biases are views into the vector (the layout of ``model_.parameters()``): nothing
    is packed or unpacked per evaluation. The arithmetic runs in the network's dtype, as the
    engine's would; ``tests/test_sklearn_lbfgs.py`` checks value and gradient against it.
    """

    #: Hidden activations written out here (each estimator activation).
    ACTIVATIONS = ("identity", "logistic", "tanh", "relu")

    def __init__(self, est: _BaseMLP, X: Any, Y: np.ndarray, w: np.ndarray | None,
                 total: float) -> None:
        params = list(est.model_.parameters())
        offsets, start = {}, 0
        for p in params:
            offsets[id(p)] = (slice(start, start + p.data.size), p.data.shape)
            start += p.data.size
        self.size = start
        self.layers = [(offsets[id(layer.weight)], offsets[id(layer.bias)])
                       for layer in est._linears()]
        self.dtype = est._dtype
        self.X = X.tocsr() if hasattr(X, "tocsr") else X.astype(self.dtype, copy=False)
        self.sparse = hasattr(X, "tocsr")
        self.Y = Y.astype(self.dtype, copy=False)
        self.w = None if w is None else w.astype(self.dtype, copy=False)[:, None]
        self.scale = 1.0 / total
        self.penalty = est.alpha / total
        self.activation = est.activation
        self.out = est.out_activation_
        if self.out == "exp":
            from scipy.special import xlogy

            self.constant = float(((xlogy(Y, Y) - Y) * (1.0 if w is None else w[:, None])).sum())

    @staticmethod
    def applies(est: _BaseMLP) -> bool:
        """Whether the written-out pass computes ``est``'s loss (else the engine's is used)."""
        return (not est.dropout and est.activation in _FlatMLP.ACTIVATIONS
                and 2 * len(est._linears()) == len(list(est.model_.parameters())))

    @staticmethod
    def _view(x: np.ndarray, where: tuple[slice, tuple[int, ...]]) -> np.ndarray:
        return x[where[0]].reshape(where[1])

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(loss, gradient)`` at the weights ``x`` (float64, the layout of the parameters)."""
        view, last = self._view, len(self.layers) - 1
        weights = [view(x, wi) for wi, _ in self.layers]
        same = self.dtype == np.float64
        activations = [self.X]
        for k, (W, (_, bi)) in enumerate(zip(weights, self.layers, strict=True)):
            if not same:
                W = W.astype(self.dtype)
            z = activations[-1] @ W.T  # sparse @ dense for a sparse X: nothing densified
            z += view(x, bi)
            if k < last:
                self._activate(z)
            activations.append(z)
        value, delta = self._output_loss(activations.pop())
        grad = np.empty(self.size)
        squares = 0.0
        for k in range(last, -1, -1):
            (wi, bi), a, W = self.layers[k], activations[k], weights[k]
            g_w = view(grad, wi)
            if k == 0 and self.sparse:
                g_w[...] = (a.T @ delta).T
            elif same:
                np.matmul(delta.T, a, out=g_w)
            else:
                g_w[...] = delta.T @ a
            if self.penalty:
                squares += float(np.vdot(W, W))
                g_w += self.penalty * W
            view(grad, bi)[...] = delta.sum(axis=0)
            if k:
                delta = delta @ (W if same else W.astype(self.dtype))
                self._derive(delta, a)
        return value * self.scale + 0.5 * self.penalty * squares, grad

    def _activate(self, z: np.ndarray) -> None:
        if self.activation == "relu":
            np.maximum(z, 0, out=z)
        elif self.activation == "tanh":
            np.tanh(z, out=z)
        elif self.activation == "logistic":  # the engine's sigmoid: no overflow for large |z|
            z *= 0.5
            np.tanh(z, out=z)
            z += 1
            z *= 0.5

    def _derive(self, delta: np.ndarray, a: np.ndarray) -> None:
        """``delta *= sigma'(z)``, from the activation's output ``a``."""
        if self.activation == "relu":
            delta *= a > 0
        elif self.activation == "tanh":
            delta *= 1 - a * a
        elif self.activation == "logistic":
            delta *= a * (1 - a)

    def _output_loss(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """The summed (weighted) data loss at the output pre-activations ``z``, and
        ``delta = d(loss * scale) / dz``."""
        Y, w = self.Y, self.w
        if self.out == "softmax":  # Y one-hot: log sum_j e^{z_j} - z . y per sample
            top = z.max(axis=1, keepdims=True)
            delta = np.exp(z - top)
            norm = delta.sum(axis=1, keepdims=True)
            delta /= norm
            delta -= Y
            np.log(norm, out=norm)
            norm += top
            if w is None:
                value = float(norm.sum()) - float(np.vdot(z, Y))
                delta *= self.scale
                return value, delta
            losses = norm - (z * Y).sum(axis=1, keepdims=True)
        elif self.out == "logistic":
            losses = np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z)))
            from scipy.special import expit

            delta = expit(z) - Y
        elif self.out == "exp":
            delta = np.exp(z)
            losses = delta - z * Y
            delta -= Y
        else:
            delta = z - Y
            losses = 0.5 * delta * delta
        if w is not None:
            losses = losses * w
            delta *= w
        value = float(losses.sum()) + (self.constant if self.out == "exp" else 0.0)
        delta *= self.scale
        return value, delta


class _Uncopied:
    """A cache attribute that copies and pickles as empty: the compiled step holds generated
    code and the tensors of the model it recorded, which a copy of the estimator must not
    share (a restored or unpickled estimator compiles its step anew)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None

    def __deepcopy__(self, memo: dict) -> _Uncopied:
        return _Uncopied()

    def __reduce__(self) -> tuple:
        return (_Uncopied, ())


def _weighted_sum(per_sample: Tensor, w: np.ndarray | None) -> Tensor:
    """``sum(per_sample * w)``; ``w`` is already in the loss's dtype (see ``_loss_terms``)."""
    return per_sample.sum() if w is None else (per_sample * w).sum()


_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default (100,)
        Width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
    solver : str, default "adam"
        ``"adam"``, ``"sgd"`` (with ``momentum`` and ``nesterovs_momentum``), ``"lbfgs"``
        (full batch), or any other name of :data:`steepest.optim.OPTIMIZERS` (``rmsprop``,
        ``adagrad``, ``adamw``, ``adadelta``, ``adamax``, ``nadam``): see :data:`SOLVERS`.
    alpha : float, default 1e-4
        L2 penalty on the weights (not the biases): each minibatch's loss gains
        :math:`\\tfrac{\\alpha}{2} \\sum_k \\|W_k\\|^2 / n_b` (``n_b`` the batch's sample count, or
        its weight sum), as in scikit-learn.
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``. Not used by ``lbfgs``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        For ``solver="sgd"``: ``invscaling`` sets ``learning_rate_init / (t_ + 1) ** power_t``
        after each epoch; ``adaptive`` divides the rate by 5 when ``n_iter_no_change`` epochs
        bring no improvement of ``tol``, stopping once it is at most 1e-6.
    learning_rate_init : float, schedule or str, default 0.001
        The step size; also a :mod:`steepest.schedules` object (any callable ``t -> lr``, ``t``
        counting updates) or its text (``"0.1/t"``, ``"cosine:0.01:1000"``).
    power_t : float, default 0.5
    max_iter : int, default 200
        Epochs (stochastic solvers) or iterations (``lbfgs``).
    shuffle : bool, default True
    random_state : int, RandomState or None
        Initialisation, shuffling, the validation split (and dropout) are reproducible with an
        int; the initial weights are scikit-learn's for the same seed.
    tol : float, default 1e-4
    verbose : bool, default False
    warm_start : bool, default False
        Continue from the fitted weights in ``fit``. As in scikit-learn, the weights carry
        over and the other parameters are the current ones: a changed ``activation`` (or
        ``dropout``, or a regressor's ``loss`` and with it ``out_activation_``) applies to the
        same weights; ``predict`` also reads ``activation``.
    momentum : float, default 0.9
        In [0, 1], 1 included as in scikit-learn. Its update is scikit-learn's also when
        ``invscaling`` or ``adaptive`` changes the rate (see ``_BaseMLP._set_lr``).
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified for single-output classification), stop on
        its score and keep the weights of the best epoch.
    validation_fraction : float, default 0.1
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam-family moment decay rates (``betas``).
    epsilon : float, default 1e-8
        The optimizer's ``eps``; for ``adam`` added where scikit-learn adds it, to
        :math:`\\sqrt{v_t}` before the bias correction (torch adds it after).
    n_iter_no_change : int, default 10
    max_fun : int, default 15000
        Loss evaluations allowed to ``lbfgs``.
    dropout : float, default 0.0
        steepest extra: dropout after each hidden activation, in training only. With
        ``dropout > 0`` scikit-learn's sample-weight equivalence checks fail: the masks are
        random, so a weight of 2 and a repeated sample see different masks.
    clip_grad_norm : float, optional
        steepest extra: clip the global gradient norm before each update.
    optimizer_params : dict, optional
        steepest extra: further keyword arguments of the optimizer (they override the mapped
        ``beta_1``, ``beta_2``, ``epsilon``, ``momentum``).

    Attributes
    ----------
    coefs_, intercepts_ : list of numpy.ndarray
        Weights ``(n_in, n_out)`` and biases per layer (views of ``model_``'s parameters).
    loss_ : float
    best_loss_ : float or None
    loss_curve_ : list of float
        Training loss (with the penalty) of every epoch. As in scikit-learn, this and
        ``best_loss_``, ``validation_scores_`` and ``best_validation_score_`` are set by the
        stochastic solvers only (not after an ``lbfgs`` fit from scratch).
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    validation_loss_curve_ : list of float or None
        steepest extra: with ``early_stopping``, the validation split's mean loss (without the
        penalty) of every epoch.
    n_iter_ : int
        Epochs (or L-BFGS iterations) of the last call.
    t_ : int
        Training samples seen.
    n_layers_, n_outputs_ : int
    out_activation_ : str
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
    model_ : steepest.nn.Sequential
        The network (raw outputs).
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on steepest.

    Multiclass targets get a softmax output and the cross-entropy; binary and multilabel
    indicator targets get logistic outputs and the binary log loss summed over labels:

    .. math:: \\ell = \\frac{1}{\\sum_i w_i} \\sum_i w_i \\, \\mathrm{CE}(f_\\theta(x_i), y_i)
              + \\frac{\\alpha}{2 \\sum_i w_i} \\sum_k \\|W_k\\|_F^2
    """ + _PARAMETERS + """
    classes_ : numpy.ndarray
        The class labels (for multilabel targets, the label indices).
    """

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
                    ) -> MLPClassifier:
        """One epoch over ``X, y``, continuing from the current weights and optimizer state.

        ``classes`` (every label that will appear) is required on the first call. If the call
        raises, the estimator is left exactly as it was.
        """
        return self._partial_fit(X, y, sample_weight, classes)

    def _check_solver(self) -> bool:
        if self.solver == "lbfgs":
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool, classes: Any
                        ) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if incremental and not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if type_of_target(y).startswith("multilabel"):  # as scikit-learn: labels from y
                self._set_labels(y)
            else:
                self._set_labels(np.asarray(classes))
                self._check_labels(y, incremental, None)
        elif not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._set_labels(y)
        else:
            self._check_labels(y, incremental, classes)
        return X, self._indicators(y, X.dtype)

    def _indicators(self, y: np.ndarray, dtype: Any) -> np.ndarray:
        """``self._label_binarizer.transform(y)`` as ``dtype``: for labels of one dimension and a
        binary or multiclass target, the indicator matrix is built here from ``classes_``
        (the binarizer's own checks cost more than a small fit's iterations); anything else,
        or a label not in ``classes_``, goes through the binarizer."""
        binarizer = self._label_binarizer
        classes = binarizer.classes_
        if (y.ndim == 1 and y.dtype.kind in "biuf" and classes.dtype.kind in "biuf"
                and len(classes) >= 2 and binarizer.y_type_ in ("binary", "multiclass")):
            where = np.searchsorted(classes, y).clip(0, len(classes) - 1)
            if np.array_equal(classes[where], y):
                if len(classes) == 2:
                    return (where == 1).astype(dtype)[:, None]
                Y = np.zeros((y.shape[0], len(classes)), dtype=dtype)
                Y[np.arange(y.shape[0]), where] = 1
                return Y
        return binarizer.transform(y).astype(dtype)

    def _set_labels(self, y: np.ndarray) -> None:
        self._label_binarizer = LabelBinarizer()
        self._label_binarizer.fit(y)
        # one class is allowed, as in scikit-learn: the model learns to predict it
        self.classes_ = self._label_binarizer.classes_

    def _constant_z(self, Y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        p = np.clip(np.average(Y, axis=0, weights=w), 1e-12, 1 - 1e-12)
        return np.log(p) if self.out_activation_ == "softmax" else np.log(p / (1 - p))

    def _check_labels(self, y: np.ndarray, incremental: bool, classes: Any) -> None:
        labels = unique_labels(y)
        if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={np.asarray(classes).tolist()}` is not the same as on "
                             f"last call to partial_fit, was: {self.classes_.tolist()}")
        if self.warm_start and not incremental:
            if set(labels) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes "
                                 f"as in the previous call to fit. Previously got "
                                 f"{self.classes_}, `y` has {labels}")
        elif len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {labels}.")

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss_terms(self, Y: np.ndarray, w: np.ndarray | None, dtype: Any) -> tuple:
        target = Y.argmax(axis=1) if self.out_activation_ == "softmax" else Y
        return target, None if w is None else w.astype(dtype)

    def _loss_of(self, z: Tensor, target: np.ndarray, w: np.ndarray | None) -> Tensor:
        from .nn import functional as F

        if self.out_activation_ == "softmax":
            if w is None:  # one fused op
                return F.cross_entropy(z, target, reduction="sum")
            per_sample = F.cross_entropy(z, target, reduction="none")
        elif w is None:
            return F.binary_cross_entropy_with_logits(z, target, reduction="sum")
        else:
            per_sample = F.binary_cross_entropy_with_logits(z, target, reduction="none").sum(axis=1)
        return _weighted_sum(per_sample, w)

    def _validation_score_and_loss(self, X: Any, Y: np.ndarray, w: Any) -> tuple[float, float]:
        z = self._raw(X, reset_check=False)
        with no_grad():
            loss = self._data_loss(Tensor(z), Y, w).item()
        total = X.shape[0] if w is None else float(np.sum(w))
        if not np.isfinite(z).all():
            return math.nan, math.nan
        y_true = self._label_binarizer.inverse_transform(Y)
        y_pred = self._label_binarizer.inverse_transform(self._probabilities(z))
        return float(accuracy_score(y_true, y_pred, sample_weight=w)), float(loss) / total

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "softmax":
            p = z - z.max(axis=1, keepdims=True)
            np.exp(p, out=p)
            p /= p.sum(axis=1, keepdims=True)
            return p
        from scipy.special import expit

        # accurate down to z ~ -745 (0.5 (1 + tanh(z / 2)) is exactly 0 below z ~ -38)
        return expit(z)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (for multilabel targets, a 0/1 indicator matrix)."""
        probabilities = self._probabilities(self._raw(X))
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` in the order of ``classes_`` (per label when
        multilabel; two columns for a binary target)."""
        probabilities = self._probabilities(self._raw(X))
        if self.n_outputs_ == 1:
            p = probabilities.ravel()
            return np.vstack([1 - p, p]).T
        return probabilities

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on steepest.

    ``loss="squared_error"``: a linear output and half the squared error; ``loss="poisson"``:
    an exponential output and the Poisson deviance :math:`e^{z} - y z + y\\log y - y`, each
    summed over the outputs and weighted over the samples. As in scikit-learn, the squared
    error trained on is summed over the ``m`` outputs, while ``loss_`` and ``loss_curve_``
    report its mean over them:

    .. math:: \\ell = \\frac{1}{2 \\sum_i w_i} \\sum_i w_i \\|f_\\theta(x_i) - y_i\\|^2
              + \\frac{\\alpha}{2 \\sum_i w_i} \\sum_k \\|W_k\\|_F^2
    """ + _PARAMETERS.replace("""    ----------
""", """    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
""", 1)

    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: Any = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, clip_grad_norm: float | None = None,
                 optimizer_params: dict[str, Any] | None = None) -> None:
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, clip_grad_norm=clip_grad_norm, optimizer_params=optimizer_params)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``X, y``, continuing from the current weights and optimizer state.

        With ``solver="lbfgs"`` it runs L-BFGS (up to ``max_iter`` iterations) from the current
        weights, as scikit-learn 1.9's ``MLPRegressor.partial_fit`` does (its classifier has no
        ``partial_fit`` for lbfgs, and neither has steepest's). If the call raises, the
        estimator is left exactly as it was.
        """
        return self._partial_fit(X, y, sample_weight)

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool, classes: Any
                        ) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("MLPRegressor: loss='poisson' requires y >= 0, got a minimum of "
                             f"{float(np.min(y))}")
        dtype = self._dtype if hasattr(self, "_dtype") and not reset else X.dtype
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y).astype(dtype)

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _loss_terms(self, Y: np.ndarray, w: np.ndarray | None, dtype: Any) -> tuple:
        constant = None
        if self.out_activation_ == "exp":
            from scipy.special import xlogy

            constant = (xlogy(Y, Y) - Y).sum(axis=1)
        return Y, constant, None if w is None else w.astype(dtype)

    def _loss_of(self, z: Tensor, Y: np.ndarray, constant: np.ndarray | None,
                 w: np.ndarray | None) -> Tensor:
        if self.out_activation_ == "exp":
            per_sample = (z.exp() - z * Y).sum(axis=1) + constant
        elif w is None:
            from .nn import functional as F

            return F.mse_loss(z, Y, reduction="sum") * 0.5
        else:
            diff = z - Y
            per_sample = (diff * diff).sum(axis=1) * 0.5
        return _weighted_sum(per_sample, w)

    def _constant_z(self, Y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        mean = np.average(Y, axis=0, weights=w)
        return np.log(np.maximum(mean, 1e-12)) if self.out_activation_ == "exp" else mean

    def _reported_share(self) -> float:
        # scikit-learn trains on the squared error summed over outputs but reports its mean
        return 1.0 / self.n_outputs_ if self.out_activation_ == "identity" else 1.0

    def _validation_score_and_loss(self, X: Any, Y: np.ndarray, w: Any) -> tuple[float, float]:
        z = self._raw(X, reset_check=False)
        with no_grad():
            loss = self._data_loss(Tensor(z), Y, w).item()
        total = X.shape[0] if w is None else float(np.sum(w))
        predicted = self._output(z)
        if not np.isfinite(predicted).all():
            return math.nan, math.nan
        return (float(r2_score(Y, predicted, sample_weight=w)),
                float(loss) * self._reported_share() / total)

    def _output(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.out_activation_ == "exp" else z

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: ``(n,)`` for a single output, else ``(n, n_outputs_)``."""
        out = self._output(self._raw(X))
        return out.ravel() if out.shape[1] == 1 else out
