r"""Backpropagation written out: :func:`backprop_trace` runs one forward and one backward pass of
an MLP in plain NumPy, layer by layer, and keeps every intermediate array.

For a :class:`~steepest.nn.Sequential` of ``Linear`` layers, each followed by activations, with
:math:`a_0 = X`:

.. math::

    z_l = a_{l-1} W_l^T + b_l, \qquad a_l = f_l(z_l), \qquad
    \delta_L = \frac{\partial \mathcal L}{\partial a_L} \odot f_L'(z_L), \qquad
    \delta_l = (\delta_{l+1} W_{l+1}) \odot f_l'(z_l),

    \frac{\partial \mathcal L}{\partial W_l} = \delta_l^T a_{l-1}, \qquad
    \frac{\partial \mathcal L}{\partial b_l} = \textstyle\sum_i \delta_{l,i}.

Nothing here is read from the autodiff engine: the tests compare the two derivations, so each
checks the other. (Softmax and LogSoftmax are not elementwise; their step multiplies by the
transposed Jacobian instead of :math:`\odot f'(z)`.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor
from .layers import GELU, Dropout, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Sequential

__all__ = ["backprop_trace", "BackpropTrace", "LayerTrace"]

_erf = np.vectorize(math.erf, otypes=[np.float64])


# ------------------------------------------------------------------------------ activations
@dataclass(frozen=True)
class _Activation:
    """An activation: its forward map, the backward map g -> J^T g, and f'(z) in words."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (g, z, a) -> dL/dz
    derivative: str


def _gelu_exact() -> _Activation:
    def forward(z: np.ndarray) -> np.ndarray:
        return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))

    def backward(g: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        return g * (cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))
    return _Activation("gelu", forward, backward, "Φ(z) + z φ(z)")


def _gelu_tanh() -> _Activation:
    c = math.sqrt(2.0 / math.pi)

    def forward(z: np.ndarray) -> np.ndarray:
        return 0.5 * z * (1.0 + np.tanh(c * (z + 0.044715 * z ** 3)))

    def backward(g: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        t = np.tanh(c * (z + 0.044715 * z ** 3))
        return g * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * z * z))
    return _Activation("gelu(tanh)", forward, backward,
                       "½(1 + t) + ½ z (1 − t²) u'(z), t = tanh(u(z)), "
                       "u(z) = √(2/π) (z + 0.044715 z³)")


def _activation(module: Any) -> _Activation | None:
    """The written-out activation of ``module``; None for a module that is no activation."""
    if isinstance(module, ReLU):
        return _Activation("relu", lambda z: np.maximum(z, 0.0),
                           lambda g, z, a: g * (z > 0), "1 if z > 0 else 0")
    if isinstance(module, LeakyReLU):
        s = module.negative_slope
        return _Activation(f"leaky_relu({s:g})", lambda z: np.where(z > 0, z, s * z),
                           lambda g, z, a: g * np.where(z > 0, 1.0, s), f"1 if z > 0 else {s:g}")
    if isinstance(module, Tanh):
        return _Activation("tanh", np.tanh, lambda g, z, a: g * (1.0 - a * a), "1 − tanh(z)²")
    if isinstance(module, Sigmoid):
        return _Activation("sigmoid", lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
                           lambda g, z, a: g * a * (1.0 - a), "σ(z) (1 − σ(z))")
    if isinstance(module, GELU):
        return _gelu_tanh() if module.approximate == "tanh" else _gelu_exact()
    if isinstance(module, Softmax):
        axis = module.dim

        def softmax(z: np.ndarray) -> np.ndarray:
            e = np.exp(z - z.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
        return _Activation("softmax", softmax,
                           lambda g, z, a: a * (g - (g * a).sum(axis=axis, keepdims=True)),
                           "J = diag(a) − a aᵀ (per row)")
    if isinstance(module, LogSoftmax):
        axis = module.dim

        def log_softmax(z: np.ndarray) -> np.ndarray:
            shifted = z - z.max(axis=axis, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return _Activation("log_softmax", log_softmax,
                           lambda g, z, a: g - np.exp(a) * g.sum(axis=axis, keepdims=True),
                           "J = I − 1 softmax(z)ᵀ (per row)")
    return None


# ------------------------------------------------------------------------------ the trace
@dataclass
class LayerTrace:
    """One ``Linear`` layer's part of a forward and backward pass (NumPy arrays, float64).

    Attributes
    ----------
    a_in : ndarray, shape (n, in)
        The layer's input :math:`a_{l-1}` (the batch ``X`` for the first layer).
    z : ndarray, shape (n, out)
        :math:`z_l = a_{l-1} W_l^T + b_l`.
    a : ndarray, shape (n, out)
        :math:`f_l(z_l)`, the output of the activations after the layer (``z`` if none).
    delta : ndarray, shape (n, out)
        :math:`\\delta_l = \\partial \\mathcal L / \\partial z_l`.
    dW : ndarray, shape (out, in)
        :math:`\\delta_l^T a_{l-1}` (PyTorch's weight layout).
    db : ndarray or None, shape (out,)
        :math:`\\sum_i \\delta_{l,i}` (None for a layer without bias).
    W, b : ndarray
        The weights used.
    activation : str
        The activations' names, ``"identity"`` when there are none.
    """

    name: str
    W: np.ndarray
    b: np.ndarray | None
    activation: str
    a_in: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray = field(default=None)  # type: ignore[assignment]
    dW: np.ndarray = field(default=None)  # type: ignore[assignment]
    db: np.ndarray | None = None
    derivative: str = "1"
    _activations: tuple = ()


@dataclass
class BackpropTrace:
    """What :func:`backprop_trace` computed: the loss and one :class:`LayerTrace` per layer.

    Attributes
    ----------
    loss : float
    layers : list of LayerTrace
    loss_name : str
        E.g. ``"CrossEntropyLoss(mean)"``.
    grad_output : ndarray
        :math:`\\partial \\mathcal L / \\partial a_L`, the gradient of the loss at the output.
    """

    loss: float
    layers: list[LayerTrace]
    loss_name: str
    grad_output: np.ndarray
    _loss: Any = None
    _X: np.ndarray | None = None
    _y: np.ndarray | None = None

    def step(self, lr: float) -> BackpropTrace:
        r"""The trace after one gradient step :math:`W_l := W_l - \alpha\,dW_l`,
        :math:`b_l := b_l - \alpha\,db_l` on the same batch (the model is not changed).

        Parameters
        ----------
        lr : float
            The step size :math:`\alpha > 0`.
        """
        if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"BackpropTrace.step: lr must be a finite number > 0, got {lr!r}")
        specs = [(layer.name, layer.W - lr * layer.dW,
                  None if layer.b is None else layer.b - lr * layer.db, layer._activations)
                 for layer in self.layers]
        return _run(specs, self._loss, self._X, self._y)

    def text(self, precision: int = 4, max_rows: int = 4) -> str:
        """Every step of the forward and the backward pass: formula, shapes and numbers.

        Parameters
        ----------
        precision : int, default 4
            Digits after the decimal point.
        max_rows : int, default 4
            Rows of each batch array shown (the rest are elided).
        """
        def show(array: np.ndarray | None) -> str:
            if array is None:
                return "    (none)"
            shown = array[:max_rows] if array.ndim == 2 and len(array) > max_rows else array
            body = np.array2string(shown, precision=precision, suppress_small=True,
                                   max_line_width=96, threshold=200)
            if shown is not array:
                body += f"\n  ... ({len(array) - max_rows} more rows)"
            return "\n".join("    " + line for line in body.splitlines())

        n = len(self.layers)
        lines = [f"forward pass ({len(self.layers[0].a_in)} examples, a0 = X)"]
        for k, layer in enumerate(self.layers, start=1):
            out, inp = layer.W.shape
            bias = f" + b{k}" if layer.b is not None else ""  # a Linear(bias=False) adds none
            lines += [f"  layer {k} ({layer.name}): z{k} = a{k - 1} @ W{k}.T{bias}   "
                      f"W{k}: {out}x{inp}", show(layer.z),
                      f"  a{k} = {self._forward_text(layer, k)}", show(layer.a)]
        lines += [f"loss L = {self.loss_name}(a{n}, y) = {self.loss:.{precision + 2}g}", "",
                  "backward pass",
                  f"  dL/da{n} (the loss's gradient at the output)", show(self.grad_output)]
        for k in range(n, 0, -1):
            layer = self.layers[k - 1]
            if k == n:
                lines.append(f"  delta{k} = dL/da{k} * f'(z{k}),  f'(z) = {layer.derivative}")
            else:
                lines.append(f"  delta{k} = (delta{k + 1} @ W{k + 1}) * f'(z{k}),  "
                             f"f'(z) = {layer.derivative}")
            lines += [show(layer.delta), f"  dW{k} = delta{k}.T @ a{k - 1}", show(layer.dW)]
            if layer.b is not None:
                lines += [f"  db{k} = delta{k}.sum(axis=0)", show(layer.db)]
        return "\n".join(lines)

    @staticmethod
    def _forward_text(layer: LayerTrace, k: int) -> str:
        """``a_k`` from ``z_k``: ``relu(z1)``, or ``tanh(u1), u1 = relu(z1)`` for stacked
        activations (each applied to the previous one's output)."""
        acts = layer._activations
        if len(acts) <= 1:
            return f"{layer.activation}(z{k})"
        arguments = [f"z{k}"] + _intermediates(f"u{k}" if len(acts) == 2 else f"u{k}_", len(acts))
        inner = ", ".join(f"{arguments[j]} = {acts[j - 1].name}({arguments[j - 1]})"
                          for j in range(1, len(acts)))
        return f"{acts[-1].name}({arguments[-1]}), {inner}"

    def figure(self, **kwargs: Any) -> Any:
        """The network drawn by :func:`steepest.plot.backprop`: nodes coloured by activation,
        edges by ``dW``, each layer's delta under its nodes."""
        from .. import plot
        return plot.backprop(self, **kwargs)


# ------------------------------------------------------------------------------ building it
def _array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _layer_specs(model: Any) -> list[tuple[str, np.ndarray, np.ndarray | None, tuple]]:
    if not isinstance(model, Sequential):
        raise TypeError(f"backprop_trace: model must be an nn.Sequential of Linear layers and "
                        f"activations, got {type(model).__name__}")
    specs: list[list[Any]] = []
    for name, module in model.named_children():
        if isinstance(module, Linear):
            W = np.asarray(module.weight.data, dtype=np.float64)
            b = None if module.bias is None else np.asarray(module.bias.data, dtype=np.float64)
            specs.append([name, W, b, []])
            continue
        if isinstance(module, Identity) or (isinstance(module, Dropout)
                                            and (not module.training or module.p == 0)):
            continue  # the identity in this pass
        act = _activation(module)
        if act is None:
            extra = (" (Dropout in training mode is random: call model.eval() first)"
                     if isinstance(module, Dropout) else "")
            raise TypeError(f"backprop_trace: layer {name!r} is a {type(module).__name__}; the "
                            f"trace covers Linear layers and activations only{extra}")
        if not specs:
            raise TypeError(f"backprop_trace: layer {name!r} ({type(module).__name__}) comes "
                            "before the first Linear layer; the model must start with Linear")
        specs[-1][3].append(act)
    if not specs:
        raise TypeError("backprop_trace: the model has no Linear layer")
    for (name, W, _b, _), (next_name, W_next, _, _) in zip(specs[:-1], specs[1:], strict=True):
        if W_next.shape[1] != W.shape[0]:
            raise ValueError(f"backprop_trace: layer {name!r} has {W.shape[0]} outputs but "
                             f"layer {next_name!r} takes {W_next.shape[1]} inputs")
    for name, W, b, _ in specs:
        if not (np.isfinite(W).all() and (b is None or np.isfinite(b).all())):
            raise ValueError(f"backprop_trace: layer {name!r} has non-finite weights")
    return [(name, W, b, tuple(acts)) for name, W, b, acts in specs]


def _loss_value_and_grad(loss: Any, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and its gradient at the output, written out for each loss module."""
    reduction = loss.reduction
    if isinstance(loss, MSELoss):  # (backprop_trace checked that loss is one of these three)
        if y.shape != out.shape:
            raise ValueError(f"backprop_trace: y has shape {y.shape} but the output has shape "
                             f"{out.shape}; MSELoss needs the same shape")
        diff = out - y
        scale = 1.0 / diff.size if reduction == "mean" else 1.0
        return float(np.sum(diff * diff) * scale), 2.0 * diff * scale
    if isinstance(loss, CrossEntropyLoss):
        target, denominator = _cross_entropy_target(loss, out, y)
        shifted = out - out.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        # loss_i = -sum_c Q_ic log p_ic, so dloss_i/dz_ij = p_ij sum_c Q_ic - Q_ij
        terms = np.where(target != 0, target * log_p, 0.0)  # a -inf log-probability weighted 0
        grad = np.exp(log_p) * target.sum(axis=1, keepdims=True) - target
        if reduction != "mean":
            return float(-np.sum(terms)), grad
        if denominator == 0:  # every target ignored: PyTorch's NaN mean, and no gradient
            return float("nan"), np.zeros_like(grad)
        return float(-np.sum(terms) / denominator), grad / denominator
    if isinstance(loss, BCEWithLogitsLoss):
        if y.shape != out.shape:
            raise ValueError(f"backprop_trace: y has shape {y.shape} but the output has shape "
                             f"{out.shape}; BCEWithLogitsLoss needs the same shape")
        p = 1.0 if loss.pos_weight is None else np.asarray(loss.pos_weight, dtype=np.float64)
        log_sig = -np.logaddexp(0.0, -out)      # log σ(x), stable
        log_one_minus = -np.logaddexp(0.0, out)  # log (1 − σ(x))
        terms = -(p * y * log_sig + (1.0 - y) * log_one_minus)
        scale = 1.0 / out.size if reduction == "mean" else 1.0
        sig = 0.5 * (1.0 + np.tanh(0.5 * out))
        return float(np.sum(terms) * scale), (sig * (p * y + 1.0 - y) - p * y) * scale
    raise TypeError(f"backprop_trace: unsupported loss {type(loss).__name__}")


def _cross_entropy_target(loss: Any, out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    r"""``CrossEntropyLoss``'s weighted target :math:`Q` (the loss of example i is
    :math:`-\sum_c Q_{ic} \log p_{ic}`) and the denominator of its ``"mean"``, as PyTorch
    defines them. Class targets: :math:`Q_{ic} = (1 - \varepsilon) w_{y_i} [c = y_i] +
    \varepsilon w_c / C` for the examples whose target is not ``ignore_index`` (zero rows for
    the others), averaged over :math:`\sum_i w_{y_i}` of those. Probability targets:
    :math:`Q_{ic} = w_c ((1 - \varepsilon) t_{ic} + \varepsilon / C)`, averaged over n."""
    n, classes = out.shape
    eps = loss.label_smoothing
    weight = None if loss.weight is None else np.asarray(loss.weight, dtype=np.float64)
    if weight is not None and weight.shape != (classes,):
        raise ValueError(f"backprop_trace: CrossEntropyLoss has {weight.size} class weights but "
                         f"the output has {classes} classes")
    per_class = np.ones(classes) if weight is None else weight
    if y.ndim == 1 and y.dtype.kind in "iu":
        kept = y != loss.ignore_index
        labels = y[kept]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"backprop_trace: class targets must lie in [0, {classes}) (or be "
                             f"ignore_index={loss.ignore_index}), got values from "
                             f"{labels.min()} to {labels.max()}")
        rows = np.zeros((n, classes))
        rows[np.flatnonzero(kept), labels] = 1.0
        example_weight = np.where(kept, per_class[np.where(kept, y, 0)], 0.0)
        target = (1.0 - eps) * example_weight[:, None] * rows
        if eps:
            target += kept[:, None] * (eps / classes) * per_class
        return target, float(np.sum(example_weight))
    if y.shape == out.shape and y.dtype.kind == "f":
        target = y.astype(np.float64)
        if eps:
            target = (1.0 - eps) * target + eps / classes
        return target * per_class, float(n)
    raise ValueError(f"backprop_trace: CrossEntropyLoss needs integer classes of shape "
                     f"({n},) or probabilities of shape {out.shape}; y has shape "
                     f"{y.shape} and dtype {y.dtype}")


def _in_terms_of(formula: str, argument: str) -> str:
    """An activation's derivative formula, written in ``z``, with ``z`` renamed ``argument``."""
    return re.sub(r"(?<![A-Za-z_])z(?![A-Za-z_])", argument, formula)


def _intermediates(stem: str, count: int) -> list[str]:
    """Names of the values between ``count`` stacked activations: ``u`` for two, else
    ``u1, u2, ...``."""
    return [stem] if count == 2 else [f"{stem}{j}" for j in range(1, count)]


def _chain_derivative(acts: tuple) -> str:
    """f'(z) of the activations ``acts`` applied in turn, each factor at its own argument.

    One activation is its formula in ``z``. For ``relu`` then ``tanh`` it is
    ``tanh'(u) · relu'(z), u = relu(z); relu'(z) = ...; tanh'(u) = ...``: the second factor's
    argument is the first one's output, not ``z`` (listing both formulas in ``z`` had said
    otherwise).
    """
    if not acts:
        return "1"
    if len(acts) == 1:
        return acts[0].derivative
    arguments = ["z"] + _intermediates("u", len(acts))
    product = " · ".join(f"{act.name}'({arg})"
                         for act, arg in zip(reversed(acts), reversed(arguments), strict=True))
    names = ", ".join(f"{arguments[j]} = {acts[j - 1].name}({arguments[j - 1]})"
                      for j in range(1, len(acts)))
    factors = "; ".join(f"{act.name}'({arg}) = {_in_terms_of(act.derivative, arg)}"
                        for act, arg in zip(acts, arguments, strict=True))
    return f"{product}, {names}; {factors}"


def _run(specs: list, loss: Any, X: np.ndarray, y: np.ndarray) -> BackpropTrace:
    layers = []
    a = X
    for name, W, b, acts in specs:  # forward
        z = a @ W.T + (0.0 if b is None else b)
        outs = [z]
        for act in acts:
            outs.append(act.forward(outs[-1]))
        layer = LayerTrace(name, W, b, "∘".join(act.name for act in reversed(acts)) or "identity",
                           a, z, outs[-1], derivative=_chain_derivative(acts))
        layer._activations = acts
        layer._outs = outs  # type: ignore[attr-defined]
        layers.append(layer)
        a = outs[-1]
    value, grad_output = _loss_value_and_grad(loss, a, y)
    g = grad_output
    for k in range(len(layers) - 1, -1, -1):  # backward: delta_l from delta_{l+1}
        layer = layers[k]
        outs = layer._outs  # type: ignore[attr-defined]
        for j in range(len(layer._activations) - 1, -1, -1):
            g = layer._activations[j].backward(g, outs[j], outs[j + 1])
        layer.delta = g
        layer.dW = g.T @ layer.a_in
        layer.db = None if layer.b is None else g.sum(axis=0)
        del layer._outs  # type: ignore[attr-defined]
        g = g @ layer.W
    name = f"{type(loss).__name__}({loss.reduction})"
    return BackpropTrace(value, layers, name, grad_output, loss, X, y)


def backprop_trace(model: Any, loss: Any, X: Any, y: Any) -> BackpropTrace:
    r"""One forward and one backward pass of an MLP, computed layer by layer in NumPy.

    .. math::

        \delta_l = (\delta_{l+1} W_{l+1}) \odot f_l'(z_l), \qquad
        dW_l = \delta_l^T a_{l-1}, \qquad db_l = \textstyle\sum_i \delta_{l,i}

    Parameters
    ----------
    model : nn.Sequential
        ``Linear`` layers, each followed by any number of activations (``ReLU``, ``LeakyReLU``,
        ``Tanh``, ``Sigmoid``, ``GELU``, ``Softmax``, ``LogSoftmax``); ``Identity`` and an
        inactive ``Dropout`` (evaluation mode or ``p = 0``) are skipped.
    loss : nn.MSELoss, nn.CrossEntropyLoss or nn.BCEWithLogitsLoss
        With reduction ``"mean"`` or ``"sum"``.
    X : array_like or Tensor, shape (n, in_features)
    y : array_like or Tensor
        Targets as the loss takes them (class indices for cross-entropy).

    Returns
    -------
    BackpropTrace
        Every array in float64; the model is not changed.

    Raises
    ------
    TypeError
        For a model that is not a Sequential of Linear layers and activations, or another loss.
    ValueError
        For an ``X`` or ``y`` of the wrong shape or number of rows, or non-finite values.

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> _ = st.manual_seed(0)
    >>> model = st.nn.mlp(2, [3], 1, "tanh", dtype=np.float64)
    >>> trace = st.nn.backprop_trace(model, st.nn.MSELoss(), np.ones((4, 2)), np.zeros((4, 1)))
    >>> [layer.dW.shape for layer in trace.layers]
    [(3, 2), (1, 3)]
    """
    specs = _layer_specs(model)
    if not isinstance(loss, MSELoss | CrossEntropyLoss | BCEWithLogitsLoss):
        raise TypeError(f"backprop_trace: loss must be nn.MSELoss, nn.CrossEntropyLoss or "
                        f"nn.BCEWithLogitsLoss, got {type(loss).__name__}")
    if loss.reduction not in ("mean", "sum"):
        raise ValueError(f"backprop_trace: the loss's reduction must be 'mean' or 'sum', got "
                         f"{loss.reduction!r}")
    X = _array(X)
    y = _array(y)
    if X.dtype.kind not in "iuf" or X.ndim != 2:
        raise ValueError(f"backprop_trace: X must be a 2-D numeric array (n_samples, "
                         f"n_features), got shape {X.shape} and dtype {X.dtype}")
    X = X.astype(np.float64)
    n_in = specs[0][1].shape[1]
    if X.shape[1] != n_in:
        raise ValueError(f"backprop_trace: X has {X.shape[1]} features but the first Linear "
                         f"layer takes {n_in}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"backprop_trace: X has {len(X)} rows but y has "
                         f"{'no rows (a scalar)' if y.ndim == 0 else f'{len(y)} rows'}; they "
                         "must match")
    if y.dtype.kind not in "iufb":
        raise ValueError(f"backprop_trace: y must be numeric, got dtype {y.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"backprop_trace: X has {int(np.sum(~np.isfinite(X)))} non-finite "
                         "values (NaN or inf)")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"backprop_trace: y has {int(np.sum(~np.isfinite(y)))} non-finite "
                             "values (NaN or inf)")
        y = y.astype(np.float64)
    return _run(specs, loss, X, y)
