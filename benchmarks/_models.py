"""The networks the benchmarks train, written three times: steepest, PyTorch, hand-written NumPy.

All three start from the same weights (PyTorch's default ``Linear`` initialisation, drawn once in
NumPy), see the same float32 batch, and take the same step: zero the gradients, forward, loss,
backward, update. The NumPy version is what a careful person writes by hand: ``x @ W.T + b``,
the analytic backward pass (no gradient for the input batch), in-place parameter updates. It is
the physical reference of this design: an engine on top of NumPy cannot beat the NumPy calls it
makes, so the ratio to it is the engine's overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Network", "NETWORKS", "Trainer", "gemm_flops", "initial_weights", "batch", "numpy_step",
    "steepest_step", "steepest_engine_step", "torch_step", "torch_available", "steepest_has_nn",
    "gemm_operands", "numpy_gemms", "torch_gemms",
]

LR_SGD = 0.01
LR_ADAM = 1e-3
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class Network:
    """A fully connected network and the batch it is trained on.

    Attributes
    ----------
    sizes : tuple of int
        Layer widths, input first (``(2, 16, 16, 1)`` is two hidden layers of 16).
    activation : {"tanh", "relu"}
        Between hidden layers; the last layer is linear.
    batch : int
    """

    sizes: tuple[int, ...]
    activation: str
    batch: int

    @property
    def loss(self) -> str:
        """Regression (MSE) for one output, softmax cross-entropy over classes otherwise."""
        return "mse" if self.sizes[-1] == 1 else "cross_entropy"

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} {self.activation}, batch {self.batch}"


NETWORKS = (
    Network((2, 16, 16, 1), "tanh", 1),
    Network((2, 16, 16, 1), "tanh", 32),
    Network((64, 128, 10), "relu", 64),
    Network((784, 256, 10), "relu", 128),
    Network((784, 1024, 1024, 10), "relu", 512),
)


def gemm_flops(net: Network) -> int:
    """Matrix-multiply FLOPs of one training step (2 per multiply-add).

    Each layer costs ``2 B n_in n_out`` forward and the same for its weight gradient; every layer
    but the first also passes a gradient to its input (the batch itself needs none). Elementwise
    work (activations, bias, loss, update) is left out: it is O(B n), not O(B n^2).
    """
    total = 0
    for index, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
        per_gemm = 2 * net.batch * n_in * n_out
        total += per_gemm * (2 if index == 0 else 3)
    return total


def gemm_operands(net: Network, seed: int = 2) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The matrix products of one training step as ``(a, b, transpose_a)`` float32 pairs:
    per layer ``h @ W.T`` forward and ``g.T @ h`` for the weight gradient, and ``g @ W`` for the
    gradient of every layer's input but the first (the operands the hand-written step uses)."""
    rng = np.random.default_rng(seed)
    products = []
    for index, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
        h = rng.standard_normal((net.batch, n_in)).astype(np.float32)
        weight = rng.standard_normal((n_out, n_in)).astype(np.float32)
        g = rng.standard_normal((net.batch, n_out)).astype(np.float32)
        products += [(h, weight.T, False), (g, h, True)]
        if index > 0:
            products.append((g, weight, False))
    return products


def numpy_gemms(net: Network) -> Callable[[], None]:
    """Only the matrix products of a step, in NumPy: the floor of any engine built on NumPy."""
    products = gemm_operands(net)

    def run() -> None:
        for a, b, transpose_a in products:
            (a.T if transpose_a else a) @ b

    return run


def torch_gemms(net: Network) -> Callable[[], None]:
    """The same products in PyTorch (the caller sets the thread count)."""
    import torch

    # from_numpy keeps the strides: a transposed weight stays a transposed view, as in torch.nn
    products = [(torch.from_numpy(a), torch.from_numpy(b), transpose_a)
                for a, b, transpose_a in gemm_operands(net)]

    def run() -> None:
        for a, b, transpose_a in products:
            (a.T if transpose_a else a) @ b

    return run


def initial_weights(net: Network, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's default Linear initialisation, U(-1/sqrt(n_in), 1/sqrt(n_in)), in float32."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:], strict=True):
        bound = 1 / np.sqrt(n_in)
        weight = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, n_out).astype(np.float32)
        layers.append((weight, bias))
    return layers


def batch(net: Network, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (float32) and targets (float32 column for MSE, int64 classes otherwise)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((net.batch, net.sizes[0])).astype(np.float32)
    if net.loss == "mse":
        return x, rng.standard_normal((net.batch, 1)).astype(np.float32)
    return x, rng.integers(0, net.sizes[-1], net.batch).astype(np.int64)


# --------------------------------------------------------------------------- hand-written NumPy


class _NumpyAdam:
    """torch.optim.Adam's update (no weight decay, no amsgrad) on a list of arrays, in place."""

    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params = params
        self.lr = lr
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        beta1, beta2 = ADAM_BETAS
        self.t += 1
        step_size = self.lr / (1 - beta1 ** self.t)
        root_bias2 = np.sqrt(1 - beta2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_bias2
            denom += ADAM_EPS
            p -= step_size * (m / denom)


class Trainer(NamedTuple):
    """A ready-to-time training step and a way to read the weights it updates."""

    step: Callable[[], object]
    parameters: Callable[[], list[np.ndarray]]


def numpy_step(net: Network, optimizer: str | None) -> Trainer:
    """Hand-written step: forward, loss, analytic backward and (unless ``optimizer`` is None)
    the in-place SGD or Adam update."""
    params = [a.copy() for layer in initial_weights(net) for a in layer]
    weights, biases = params[0::2], params[1::2]
    x, y = batch(net)
    tanh = net.activation == "tanh"
    n_layers = len(weights)
    adam = _NumpyAdam(params, LR_ADAM) if optimizer == "adam" else None
    rows = np.arange(net.batch)

    def step() -> None:
        inputs = [x]
        h = x
        for i in range(n_layers):
            h = h @ weights[i].T + biases[i]
            if i < n_layers - 1:
                h = np.tanh(h) if tanh else np.maximum(h, 0)
                inputs.append(h)
        if net.loss == "mse":
            diff = h - y
            _loss = np.mean(diff * diff)
            g = diff * (2 / diff.size)
        else:
            shifted = h - h.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            _loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
            g = e / total
            g[rows, y] -= 1
            g /= net.batch
        grads: list[np.ndarray] = [g] * (2 * n_layers)
        for i in range(n_layers - 1, -1, -1):
            grads[2 * i] = g.T @ inputs[i]
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ weights[i]
                h = inputs[i]
                if tanh:
                    g *= 1 - h * h
                else:
                    g *= h > 0
        if optimizer == "sgd":
            for p, gp in zip(params, grads, strict=True):
                p -= LR_SGD * gp
        elif adam is not None:
            adam.step(grads)

    return Trainer(step, lambda: params)


# --------------------------------------------------------------------------- steepest


def steepest_has_nn() -> bool:
    """Whether steepest.nn and steepest.optim provide what the full training step needs."""
    try:
        from steepest import nn, optim
    except ImportError:
        return False
    needed = [(nn, "Sequential"), (nn, "Linear"), (nn, "MSELoss"), (nn, "CrossEntropyLoss"),
              (nn, "ReLU"), (nn, "Tanh"), (optim, "SGD"), (optim, "Adam")]
    return all(hasattr(module, name) for module, name in needed)


def _steepest_model(net: Network) -> Any:
    from steepest import nn

    layers = []
    activation = nn.Tanh if net.activation == "tanh" else nn.ReLU
    for index, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out, dtype=np.float32))
        if index < len(net.sizes) - 2:
            layers.append(activation())
    model = nn.Sequential(*layers)
    state = {}
    for index, (weight, bias) in enumerate(initial_weights(net)):
        position = 2 * index  # activations sit between the Linear layers
        state[f"{position}.weight"] = weight.copy()
        state[f"{position}.bias"] = bias.copy()
    model.load_state_dict(state)
    return model


def _steepest_parts(net: Network, optimizer: str) -> tuple[Any, Any, Any]:
    """The model, loss and optimizer of a steepest step (the same start as every contestant)."""
    from steepest import nn, optim

    model = _steepest_model(net)
    loss_fn = nn.MSELoss() if net.loss == "mse" else nn.CrossEntropyLoss()
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=LR_ADAM, betas=ADAM_BETAS, eps=ADAM_EPS)
    else:
        opt = optim.SGD(model.parameters(), lr=LR_SGD)
    return model, loss_fn, opt


def steepest_step(net: Network, optimizer: str) -> Trainer:
    """One training step through steepest.nn and steepest.optim, written as in PyTorch."""
    model, loss_fn, opt = _steepest_parts(net, optimizer)
    x, y = batch(net)

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return Trainer(step, lambda: [p.data for p in model.parameters()])


def steepest_compiled_step(net: Network, optimizer: str) -> Trainer:
    """:func:`steepest_step` under ``st.compile``: the batch goes in as arguments, as in a loop
    over batches, so that the capture cannot treat it as a constant."""
    import steepest as st

    model, loss_fn, opt = _steepest_parts(net, optimizer)
    x, y = batch(net)

    def train_step(xb: np.ndarray, yb: np.ndarray) -> None:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    compiled = st.compile(train_step)
    return Trainer(lambda: compiled(x, y), lambda: [p.data for p in model.parameters()])


def steepest_compile_available() -> bool:
    import steepest

    return callable(getattr(steepest, "compile", None))


def steepest_engine_step(net: Network, optimizer: str | None, steepest_module: Any = None
                         ) -> Trainer:
    """The same step on the bare engine: fused ops on leaf tensors, the update written inline.

    This isolates the autodiff engine from the module and optimizer layers: the difference to
    :func:`steepest_step` is what ``nn`` and ``optim`` add. ``optimizer=None`` stops after the
    backward pass; ``steepest_module`` may be another copy of the library (for before/after
    measurements of an engine change).
    """
    if steepest_module is None:
        import steepest as steepest_module
    ops = steepest_module.autodiff.ops
    params = [steepest_module.tensor(a, requires_grad=True)
              for layer in initial_weights(net) for a in layer]
    weights, biases = params[0::2], params[1::2]
    x, y = batch(net)
    activation = ops.tanh if net.activation == "tanh" else ops.relu
    loss_op = ops.mse_loss if net.loss == "mse" else ops.cross_entropy
    last = len(weights) - 1
    arrays = [p.data for p in params]
    adam = _NumpyAdam(arrays, LR_ADAM) if optimizer == "adam" else None

    def step() -> None:
        for p in params:
            p.grad = None
        h = x
        for i in range(last + 1):
            h = ops.linear(h, weights[i], biases[i])
            if i < last:
                h = activation(h)
        loss_op(h, y, reduction="mean").backward()
        if optimizer == "sgd":
            for p in params:
                p.data -= LR_SGD * p.grad
        elif adam is not None:
            adam.step([p.grad for p in params])

    return Trainer(step, lambda: arrays)


# --------------------------------------------------------------------------- PyTorch


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_step(net: Network, optimizer: str) -> Trainer:
    """One torch training step (the caller sets the thread count)."""
    import torch

    layers: list[Any] = []
    activation = torch.nn.Tanh if net.activation == "tanh" else torch.nn.ReLU
    for index, (weight, bias) in enumerate(initial_weights(net)):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers.append(linear)
        if index < len(net.sizes) - 2:
            layers.append(activation())
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.MSELoss() if net.loss == "mse" else torch.nn.CrossEntropyLoss()
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=LR_ADAM, betas=ADAM_BETAS, eps=ADAM_EPS)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=LR_SGD)
    x, y = (torch.from_numpy(a.copy()) for a in batch(net))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return Trainer(step, lambda: [p.detach().numpy() for p in model.parameters()])


# --------------------------------------------------------------------------- own-process workers


def isolated_step(contestant: str, sizes: list[int], activation: str, batch_size: int,
                  optimizer: str) -> Trainer:
    """The factory a fresh worker process calls (``_isolated.py``): JSON-able arguments only.

    PyTorch gets NumPy's BLAS thread count here, as in the parent, so both use the same cores.
    """
    net = Network(tuple(sizes), activation, batch_size)
    if contestant == "pytorch":
        import torch
        from _harness import blas_threads

        torch.set_num_threads(blas_threads())
        return torch_step(net, optimizer)
    if contestant == "steepest":
        return steepest_step(net, optimizer)
    if contestant == "steepest compile":
        return steepest_compiled_step(net, optimizer)
    if contestant == "steepest [fast]":  # the numba kernels, chosen as a user would
        import steepest

        steepest.set_kernels("numba")
        return steepest_step(net, optimizer)
    if contestant == "steepest engine":
        return steepest_engine_step(net, optimizer)
    if contestant == "numpy":
        return numpy_step(net, optimizer)
    raise ValueError(f"isolated_step: unknown contestant {contestant!r}")
