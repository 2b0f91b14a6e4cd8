"""The network view's computations: 2-D datasets, training sessions and what a frame shows.

A :class:`TrainingSession` holds one network (built by :func:`steepest.nn.mlp`), its optimizer
(from :func:`steepest.optim.create`) and its data; each call to :meth:`TrainingSession.train`
takes a few minibatch updates and returns a frame (losses, gradient norm per layer, the decision
boundary on a grid). :meth:`TrainingSession.step` takes one minibatch and also returns the forward
and backward pass of one example. :class:`SessionStore` keeps the sessions of all open tabs,
bounded in number and in idle lifetime.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import _random, nn, optim
from ..autodiff.capture import compile as compile_step
from ..autodiff.reverse import grad as autodiff_grad
from ..autodiff.tensor import Tensor, no_grad
from ..experiments import to_json
from .params import Choice, Integer, ParamError, Real, Widths

__all__ = ["DATASETS", "make_dataset", "SESSION_SPEC", "TRAIN_SPEC", "TrainingSession",
           "SessionStore", "optimizers", "check_work", "MAX_WORK"]

DATASETS = ("moons", "circles", "spiral", "xor", "blobs")
WINDOW = 2.0  # the data fill [-1.6, 1.6]^2; the boundary is drawn on [-2, 2]^2
BOUNDARY_GRID = 50
# P(class 1) is sent as 0..BOUNDARY_LEVELS: 12 bits, as the contour shades are. At 8 bits the
# P = 0.5 line the page traces through the grid was a staircase where the field is shallow.
BOUNDARY_LEVELS = 4095
MAX_BATCHES = 200  # minibatch updates per request
# The work of one train request, in batches x batch size x parameters (one unit: one example
# through one weight, forward and backward): 6e7 is about a second on one core, and above what
# the page can ask for (50 batches of 200 on a 2-32x6-1 network is 5.4e7). Without it one
# request (200 batches of 1000 on that network, 1.1e9) held the engine's lock for 8 s.
MAX_WORK = 60_000_000
# A hidden unit is "inactive" when its activation's derivative is below this on every training
# point: (almost) no gradient reaches its incoming weights, so gradient descent cannot revive it
# from these data. 0 exactly is a dead ReLU; tanh's derivative is below 0.01 where |z| > 3.0;
# a leaky ReLU's 0.01 is not below it.
INACTIVE_SLOPE = 0.01


def optimizers() -> tuple[str, ...]:
    """Optimizers the view offers: the registry's, less those that need a closure (L-BFGS)."""
    return tuple(name for name in optim.OPTIMIZERS if name != "lbfgs")


SESSION_SPEC = {
    "dataset": Choice(DATASETS, "moons"),
    "noise": Real(0.0, 0.5, 0.1),
    "points": Integer(20, 1000, 200),
    "hidden": Widths(6, 32, (8, 8)),
    "activation": Choice(lambda: tuple(nn.ACTIVATIONS), "tanh"),
    "optimizer": Choice(optimizers, "adam"),
    "lr": Real(1e-5, 10.0, 0.03),
    "momentum": Real(0.0, 0.99, 0.0),
    "batch_size": Integer(1, 1000, 20),
    "seed": Integer(0, 2**31 - 1, 0),
}

TRAIN_SPEC = {
    "batches": Integer(1, MAX_BATCHES, 5),
    "lr": Real(1e-5, 10.0, 0.03),
}


# --------------------------------------------------------------------------- datasets
def _moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where(y[:, None] == 0, upper, lower) - [0.5, 0.25]
    return X * 1.2, y


def _circles(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    t = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.4, 0.6)
    return radius[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1), y


def _spiral(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    r = rng.uniform(0.05, 1.0, n)
    angle = 1.75 * 2 * np.pi * r + np.pi * y  # two arms, half a turn apart
    return 1.5 * r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), y


def _xor(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.5, 1.5, (n, 2))
    X += 0.1 * np.sign(X)  # keep the points off the axes, where the label flips
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    centers = np.array([[-0.8, -0.6], [0.8, 0.6]])
    return centers[y] + 0.35 * rng.standard_normal((n, 2)), y


_MAKERS = {"moons": _moons, "circles": _circles, "spiral": _spiral, "xor": _xor, "blobs": _blobs}


def make_dataset(name: str, n: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled points in the plane, two classes, Gaussian noise of std ``noise`` added.

    Parameters
    ----------
    name : {"moons", "circles", "spiral", "xor", "blobs"}
    n : int
        Points (the classes alternate, so they are balanced).
    noise : float
        Standard deviation of the noise added to each coordinate (the shapes span about 3).
    seed : int
        Seed of this dataset's own generator.

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64 in {0, 1}

    Examples
    --------
    >>> from steepest.explore.network import make_dataset
    >>> X, y = make_dataset("moons", 200, noise=0.1)
    >>> X.shape, int(y.sum())
    ((200, 2), 100)
    """
    if name not in _MAKERS:
        raise ValueError(f"make_dataset: name must be one of {', '.join(DATASETS)}, got {name!r}")
    rng = np.random.default_rng(seed)
    X, y = _MAKERS[name](n, rng)
    X = X + noise * rng.standard_normal(X.shape)
    return np.clip(X, -WINDOW, WINDOW), y.astype(np.int64)


# --------------------------------------------------------------------------- sessions
def _linear_layers(model: nn.Sequential) -> list[int]:
    return [i for i, layer in enumerate(model) if isinstance(layer, nn.Linear)]


class TrainingSession:
    """One network being trained on one dataset: the state behind one browser tab.

    Calls must hold ``lock`` (the :class:`SessionStore` hands sessions out that way).
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        n = settings["points"]
        X, y = make_dataset(settings["dataset"], n + n // 2, settings["noise"], settings["seed"])
        self.X, self.y = X[:n], y[:n].astype(np.float64)  # 2/3 train, 1/3 validation
        self.X_val, self.y_val = X[n:], y[n:].astype(np.float64)
        self.batch_size = min(settings["batch_size"], n)
        self.model = _seeded_model(settings)
        self.parameters = sum(int(p.data.size) for p in self.model.parameters())
        hyper: dict[str, Any] = {"lr": settings["lr"]}
        if settings["optimizer"] == "sgd":
            hyper["momentum"] = settings["momentum"]
        self.optimizer = optim.create(settings["optimizer"], self.model.parameters(), **hyper)
        self.loss_fn = nn.BCEWithLogitsLoss()
        # A small network's step is mostly per-op overhead: replaying the recorded forward and
        # backward pass (bitwise the eager one) takes a training frame to ~0.8x its eager time. The
        # model and optimizer never change within a session, as a compiled step requires.
        self._compiled_gradients = compile_step(self._gradients)
        self.rng = np.random.default_rng(settings["seed"] + 1)  # this session's shuffling
        self.order = self.rng.permutation(n)
        self.cursor = 0
        self.updates = 0
        self.epoch = 0

    # -- training
    def _next_batch(self) -> np.ndarray:
        if self.cursor >= len(self.order):
            self.order, self.cursor = self.rng.permutation(len(self.X)), 0
            self.epoch += 1
        batch = self.order[self.cursor:self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return batch

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> Tensor:
        """Clear the gradients, and backpropagate the loss of one minibatch; the loss."""
        self.optimizer.zero_grad()
        out = self.model(Tensor(xb))
        loss = self.loss_fn(out.reshape(-1), Tensor(yb))
        loss.backward()
        return loss

    def _update(self, batch: np.ndarray) -> list[float]:
        """One optimizer step on a minibatch; the gradient norm of each Linear layer."""
        loss = self._compiled_gradients(self.X[batch], self.y[batch])
        if not np.isfinite(loss.item()):
            raise FloatingPointError(f"training diverged: the minibatch loss is {loss.item()} "
                                     f"after {self.updates} updates; lower lr and reset")
        norms = [_grad_norm(self.model[i]) for i in _linear_layers(self.model)]
        self.optimizer.step()
        self.updates += 1
        return norms

    def _set_lr(self, lr: float | None) -> None:
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr

    def train(self, batches: int, lr: float | None = None) -> dict[str, Any]:
        """Take ``batches`` minibatch updates; the frame after them."""
        self._set_lr(lr)
        norms: list[float] = []
        for _ in range(batches):
            norms = self._update(self._next_batch())
        return self.frame(norms)

    def step(self, lr: float | None = None) -> dict[str, Any]:
        """One minibatch update, with the forward and backward pass of its first example
        (computed before the update, on the weights that produced the gradient)."""
        self._set_lr(lr)
        batch = self._next_batch()
        trace = self.trace(int(batch[0]))
        frame = self.frame(self._update(batch))
        frame["trace"] = trace
        return frame

    # -- what the page shows
    def _loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        with no_grad():
            logits = self.model(Tensor(X)).reshape(-1)
            loss = self.loss_fn(logits, Tensor(y)).item()
        accuracy = float(np.mean((logits.data > 0) == (y > 0.5)))
        return float(loss), accuracy

    def boundary(self) -> list[int]:
        """P(class 1) on a grid over the window, as 0..BOUNDARY_LEVELS, row by row from the
        bottom."""
        axis = np.linspace(-WINDOW, WINDOW, BOUNDARY_GRID)
        gx, gy = np.meshgrid(axis, axis)
        with no_grad():
            logits = self.model(Tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))).data
        p = 0.5 * (1.0 + np.tanh(0.5 * logits.reshape(-1)))  # the sigmoid without overflow
        return np.round(BOUNDARY_LEVELS * p).astype(np.int64).tolist()

    def inactive_units(self) -> list[list[int]]:
        """For each hidden layer, the units whose activation's derivative is below
        :data:`INACTIVE_SLOPE` in magnitude on every training point (dead ReLUs, saturated tanh
        or sigmoid units): the gradient of the loss with respect to their incoming weights and
        bias is (nearly) zero for every example."""
        inactive: list[list[int]] = []
        h = Tensor(self.X)
        layers = list(self.model)
        for k, layer in enumerate(layers):
            activation = (k > 0 and isinstance(layers[k - 1], nn.Linear)
                          and not isinstance(layer, nn.Linear))
            if not activation:
                with no_grad():
                    h = layer(h)
                continue
            z = Tensor(h.data, requires_grad=True)  # the Linear's output, this layer's input
            a = layer(z)
            # elementwise: the derivative at every point (autodiff.grad adds to no .grad)
            (dz,) = autodiff_grad(a, z, grad_outputs=np.ones_like(a.data))
            slope = np.abs(dz.data).max(axis=0)
            inactive.append(np.flatnonzero(slope < INACTIVE_SLOPE).tolist())
            h = Tensor(a.data)
        if len(inactive) < len(self.settings["hidden"]):  # "identity": no activation layers
            inactive = [[] for _ in self.settings["hidden"]]
        return inactive

    def frame(self, grad_norms: list[float]) -> dict[str, Any]:
        train_loss, train_acc = self._loss(self.X, self.y)
        val_loss, val_acc = self._loss(self.X_val, self.y_val)
        names = [f"layer {k + 1}" for k in range(len(grad_norms))]
        return to_json({"updates": self.updates, "epoch": self.epoch, "train_loss": train_loss,
                        "val_loss": val_loss, "train_accuracy": train_acc,
                        "val_accuracy": val_acc, "grad_norms": grad_norms, "layers": names,
                        "boundary": self.boundary(), "grid": BOUNDARY_GRID,
                        "levels": BOUNDARY_LEVELS,
                        "inactive": self.inactive_units(), "widths": self.settings["hidden"]})

    def data(self) -> dict[str, Any]:
        return to_json({"train": {"X": self.X, "y": self.y.astype(int)},
                        "validation": {"X": self.X_val, "y": self.y_val.astype(int)},
                        "window": WINDOW, "sizes": [2, *self.settings["hidden"], 1]})

    def trace(self, index: int) -> dict[str, Any]:
        """Forward and backward pass of example ``index`` through every Linear layer."""
        x, y = self.X[index:index + 1], self.y[index:index + 1]
        backprop_trace = getattr(nn, "backprop_trace", None)
        if backprop_trace is not None:
            layers, loss, source = _from_backprop_trace(backprop_trace, self.model, self.loss_fn,
                                                        x, y)
        else:
            layers, loss, source = self._engine_trace(x, y)
        # The output layer has no activation: its a is the logit z; the page shows P as well.
        logit = float(np.asarray(layers[-1]["z"]).reshape(-1)[0])
        return to_json({"index": index, "x": x[0], "y": int(y[0]), "loss": loss,
                        "layers": layers, "source": source, "logit": logit,
                        "probability": 0.5 * (1.0 + np.tanh(0.5 * logit))})

    def _engine_trace(self, x: np.ndarray, y: np.ndarray) -> tuple[list[dict[str, Any]], float, str]:
        """The same quantities from the engine: keep each layer's output, backpropagate the
        example's loss, and read dL/dz and the weight gradients off the recorded graph."""
        records: list[dict[str, Any]] = []
        h = Tensor(x)
        for layer in self.model:
            out = layer(h)
            if isinstance(layer, nn.Linear):
                out.retain_grad()
                records.append({"a_in": h, "z": out, "a": out, "linear": layer})
            elif records:
                records[-1]["a"] = out
            h = out
        loss = self.loss_fn(h.reshape(-1), Tensor(y))
        self.optimizer.zero_grad()
        loss.backward()
        layers = [{"a_in": r["a_in"].data[0], "z": r["z"].data[0], "a": r["a"].data[0],
                   "delta": r["z"].grad[0], "dW": r["linear"].weight.grad.copy(),
                   "db": r["linear"].bias.grad.copy()} for r in records]
        self.optimizer.zero_grad()  # the minibatch update starts from clean gradients
        return layers, float(loss.item()), "engine (steepest.nn.backprop_trace not available)"


def _from_backprop_trace(backprop_trace: Any, model: Any, loss_fn: Any, x: np.ndarray,
                         y: np.ndarray) -> tuple[list[dict[str, Any]], float, str]:
    trace = backprop_trace(model, loss_fn, x, y.reshape(-1, 1))  # the output's shape, (1, 1)
    layers = []
    for layer in trace.layers:
        entry = {}
        for key in ("a_in", "z", "a", "delta", "dW", "db"):
            value = np.asarray(getattr(layer, key), dtype=np.float64)
            entry[key] = value[0] if key in ("a_in", "z", "a", "delta") and value.ndim == 2 else value
        layers.append(entry)
    model.zero_grad()
    return layers, float(np.asarray(trace.loss)), "steepest.nn.backprop_trace"


def _grad_norm(layer: nn.Linear) -> float:
    total = sum(float(np.sum(p.grad.astype(np.float64) ** 2)) for p in layer.parameters()
                if p.grad is not None)
    return total ** 0.5


_SEED_LOCK = threading.Lock()


def _seeded_model(settings: dict[str, Any]) -> nn.Sequential:
    # The initial weights come from the library's one generator: seed and draw in one go.
    with _SEED_LOCK:
        _random.manual_seed(settings["seed"])
        return nn.mlp(2, settings["hidden"], 1, activation=settings["activation"],
                      dtype=np.float64)


class SessionStore:
    """The training sessions of all tabs: at most ``capacity``, each dropped after ``ttl``
    seconds unused; when full, the least recently used session makes room.

    Parameters
    ----------
    capacity : int
    ttl : float
        Idle lifetime in seconds.
    """

    def __init__(self, capacity: int = 16, ttl: float = 900.0) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._sessions: OrderedDict[str, TrainingSession] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now - s.last_used > self.ttl]:
            del self._sessions[key]

    def create(self, settings: dict[str, Any]) -> tuple[str, TrainingSession]:
        session = TrainingSession(settings)  # built outside the lock: it takes a moment
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._expire(time.monotonic())
            while len(self._sessions) >= self.capacity:
                self._sessions.popitem(last=False)
            self._sessions[key] = session
        return key, session

    def get(self, key: str) -> TrainingSession:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            session = self._sessions.get(key)
            if session is None:
                raise KeyError(key)
            session.last_used = now
            self._sessions.move_to_end(key)
            return session

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._sessions.pop(key, None) is not None


def check_work(session: TrainingSession, batches: int) -> None:
    """Refuse a request whose batches x batch size x parameters exceeds :data:`MAX_WORK`,
    saying how many batches would fit."""
    parameters = session.parameters
    work = batches * session.batch_size * parameters
    if work > MAX_WORK:
        fits = max(1, MAX_WORK // (session.batch_size * parameters))
        raise ParamError("batches", f"explore: {batches} batches of {session.batch_size} on a "
                                    f"network of {parameters} parameters is {work:.3g} units of "
                                    f"work (batches x batch size x parameters); one request may "
                                    f"do at most {MAX_WORK:.3g}: ask for at most {fits} batches "
                                    f"per request, or use a smaller batch or network")


def check_batch_size(settings: dict[str, Any]) -> None:
    """The batch size cannot exceed the training set."""
    if settings["batch_size"] > settings["points"]:
        raise ParamError("batch_size", f"explore: batch_size must be at most points "
                                       f"({settings['points']}), got {settings['batch_size']}")
