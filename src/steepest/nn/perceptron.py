"""The multilayer perceptron: :func:`mlp` builds one, :data:`ACTIVATIONS` names its activations.

The ``steepest train`` command, the demo and the scikit-learn estimators all build their
networks here, so that one architecture and one seed give the same weights everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_real
from .layers import GELU, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from .module import Module, Sequential

__all__ = ["mlp", "ACTIVATIONS"]

#: Hidden-layer activations by name: PyTorch's names, and scikit-learn's ``"logistic"`` (the
#: sigmoid) and ``"identity"`` (no activation layer at all).
ACTIVATIONS: dict[str, type[Module] | None] = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU,
    "logistic": Sigmoid, "identity": None,
}


def mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int, activation: str = "relu",
        dropout: float = 0.0, dtype: Any = np.float32) -> Sequential:
    r"""A fully connected network: ``Linear`` layers with an activation (and dropout) between.

    Each hidden layer computes :math:`h_{k+1} = \mathrm{dropout}(\sigma(W_k h_k + b_k))` from
    :math:`h_0 = x`, and the output layer :math:`W h + b` with no activation (raw scores, for
    a loss that takes logits, or a regression target).

    Parameters
    ----------
    n_inputs : int
        Features per example.
    hidden : sequence of int
        Widths of the hidden layers, in order (empty: a linear model).
    n_outputs : int
        Outputs per example (one per class for a classifier).
    activation : str, default "relu"
        A key of :data:`ACTIVATIONS`: ``relu leaky_relu tanh sigmoid gelu logistic identity``.
    dropout : float, default 0
        Dropout probability after each hidden activation (0: no ``Dropout`` layer).
    dtype : {numpy.float32, numpy.float64}, default numpy.float32
        Precision of the weights.

    Returns
    -------
    Sequential
        ``Linear, activation[, Dropout]`` per hidden layer, then the output ``Linear``, numbered
        from 0 (an ``identity`` activation adds no layer). The layers are initialised in that
        order from the library generator (see :func:`steepest.manual_seed`).

    Raises
    ------
    ValueError
        For a width below 1, an unknown activation, or a dropout outside [0, 1).

    Examples
    --------
    >>> import steepest as st
    >>> _ = st.manual_seed(0)
    >>> net = st.nn.mlp(64, [128], 10)
    >>> [type(layer).__name__ for layer in net]
    ['Linear', 'ReLU', 'Linear']
    >>> net[0].weight.shape
    (128, 64)
    """
    check_choice("mlp", "activation", activation, ACTIVATIONS)
    dropout = check_real("mlp", "dropout", dropout, 0.0, 1.0, high_open=True)
    widths = [check_int("mlp", "n_inputs", n_inputs, 1)]
    widths += [check_int("mlp", f"hidden[{i}]", width, 1) for i, width in enumerate(hidden)]
    n_outputs = check_int("mlp", "n_outputs", n_outputs, 1)
    make_activation = ACTIVATIONS[activation]
    layers: list[Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
        layers.append(Linear(width_in, width_out, dtype=dtype))
        if make_activation is not None:
            layers.append(make_activation())
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Linear(widths[-1], n_outputs, dtype=dtype))
    return Sequential(*layers)
