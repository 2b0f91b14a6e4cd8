"""Weight initialisers, in place, with the names and formulas of ``torch.nn.init``.

Every initialiser fills the array of a :class:`~steepest.nn.Parameter` (or any Tensor or
ndarray) in place and returns it. Random draws come from the library generator, so that
``st.manual_seed(n)`` makes initialisation reproducible bit for bit. Draws are made in float64
and rounded to the parameter's dtype.

For a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from .._random import generator
from .._validation import check_choice, check_real
from ..autodiff.tensor import Tensor

__all__ = [
    "calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "trunc_normal_",
]

T = TypeVar("T", Tensor, np.ndarray)

NONLINEARITIES = ("linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
                  "conv1d", "conv2d", "conv3d")
FAN_MODES = ("fan_in", "fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of the weights for a nonlinearity (as ``torch.nn.init``).

    ``linear``/``identity``/``sigmoid``/``conv*``: 1; ``tanh``: 5/3; ``relu``: :math:`\\sqrt 2`;
    ``leaky_relu`` with negative slope :math:`a` (``param``, default 0.01):
    :math:`\\sqrt{2 / (1 + a^2)}`; ``selu``: 3/4.

    Parameters
    ----------
    nonlinearity : str
        One of ``linear identity sigmoid tanh relu leaky_relu selu conv1d conv2d conv3d``.
    param : float, optional
        The negative slope of ``leaky_relu``.
    """
    check_choice("calculate_gain", "nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_real("calculate_gain", "param", param)
        return math.sqrt(2.0 / (1 + slope * slope))
    if param is not None:
        raise ValueError(f"calculate_gain: param is only used with 'leaky_relu', got "
                         f"param={param!r} for {nonlinearity!r}")
    return {"tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}.get(nonlinearity, 1.0)


def _array(tensor: Any, owner: str) -> np.ndarray:
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{owner}: tensor must be a Tensor, Parameter or ndarray, got "
                        f"{type(tensor).__name__}")
    if array.dtype.kind != "f":
        raise TypeError(f"{owner}: tensor must have a floating-point dtype, got {array.dtype}")
    return array


def fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """The number of inputs and outputs of each unit of a weight of shape ``(out, in, *kernel)``.

    Raises
    ------
    ValueError
        For fewer than two dimensions (a bias has no fans).
    """
    shape = np.shape(tensor.data if isinstance(tensor, Tensor) else tensor)
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: the tensor needs at least 2 dimensions "
                         f"(out, in, ...), got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor: T, values: np.ndarray | float) -> T:
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    array[...] = values
    return tensor


def uniform_(tensor: T, a: float = 0.0, b: float = 1.0) -> T:
    """Fill with draws from :math:`U(a, b)`."""
    array = _array(tensor, "uniform_")
    a = check_real("uniform_", "a", a)
    b = check_real("uniform_", "b", b, low=a)
    return _fill(tensor, generator().uniform(a, b, array.shape))


def normal_(tensor: T, mean: float = 0.0, std: float = 1.0) -> T:
    """Fill with draws from :math:`N(\\text{mean}, \\text{std}^2)`."""
    array = _array(tensor, "normal_")
    mean = check_real("normal_", "mean", mean)
    std = check_real("normal_", "std", std, low=0.0)
    return _fill(tensor, generator().normal(mean, std, array.shape))


def constant_(tensor: T, val: float) -> T:
    """Fill with the constant ``val``."""
    _array(tensor, "constant_")
    return _fill(tensor, check_real("constant_", "val", val))


def zeros_(tensor: T) -> T:
    """Fill with zeros."""
    return constant_(tensor, 0.0)


def ones_(tensor: T) -> T:
    """Fill with ones."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: T, gain: float = 1.0) -> T:
    r"""Glorot/Xavier uniform initialisation: keep the variance of activations and gradients.

    .. math::
        W_{ij} \sim U(-b, b), \quad
        b = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}

    Reference: Glorot & Bengio, "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS 2010.
    """
    array = _array(tensor, "xavier_uniform_")
    gain = check_real("xavier_uniform_", "gain", gain, low=0.0)
    fan_in, fan_out = fan_in_and_fan_out(array)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if array.size else 0.0
    return _fill(tensor, generator().uniform(-bound, bound, array.shape))


def xavier_normal_(tensor: T, gain: float = 1.0) -> T:
    r"""Glorot/Xavier normal initialisation.

    .. math::
        W_{ij} \sim N(0, \sigma^2), \quad
        \sigma = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}

    Reference: Glorot & Bengio, AISTATS 2010.
    """
    array = _array(tensor, "xavier_normal_")
    gain = check_real("xavier_normal_", "gain", gain, low=0.0)
    fan_in, fan_out = fan_in_and_fan_out(array)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if array.size else 0.0
    return _fill(tensor, generator().normal(0.0, std, array.shape))


def _kaiming_std(owner: str, array: np.ndarray, a: float, mode: str, nonlinearity: str) -> float:
    check_choice(owner, "mode", mode, FAN_MODES)
    check_choice(owner, "nonlinearity", nonlinearity, NONLINEARITIES)
    a = check_real(owner, "a", a)
    fan_in, fan_out = fan_in_and_fan_out(array)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)
    return gain / math.sqrt(fan) if fan else 0.0  # a zero-element weight: nothing to draw


def kaiming_uniform_(tensor: T, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> T:
    r"""He/Kaiming uniform initialisation: keep the variance through ReLU-like layers.

    .. math:: W_{ij} \sim U(-b, b), \quad b = \text{gain} \sqrt{3 / \text{fan}}

    with ``fan`` chosen by ``mode`` and ``gain = calculate_gain(nonlinearity, a)``.
    ``Linear``'s default is ``a = sqrt(5)``, i.e. :math:`b = 1/\sqrt{\text{fan\_in}}`.

    Reference: He et al., "Delving deep into rectifiers", ICCV 2015.

    Parameters
    ----------
    a : float, default 0
        The negative slope of the leaky ReLU that follows (only with ``leaky_relu``).
    mode : {"fan_in", "fan_out"}
        Preserve the variance of the forward pass (``fan_in``) or of the backward pass.
    nonlinearity : str, default "leaky_relu"
        See :func:`calculate_gain`.
    """
    array = _array(tensor, "kaiming_uniform_")
    std = _kaiming_std("kaiming_uniform_", array, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return _fill(tensor, generator().uniform(-bound, bound, array.shape))


def kaiming_normal_(tensor: T, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> T:
    r"""He/Kaiming normal initialisation.

    .. math:: W_{ij} \sim N(0, \sigma^2), \quad \sigma = \text{gain} / \sqrt{\text{fan}}

    Reference: He et al., ICCV 2015. Parameters as :func:`kaiming_uniform_`.
    """
    array = _array(tensor, "kaiming_normal_")
    std = _kaiming_std("kaiming_normal_", array, a, mode, nonlinearity)
    return _fill(tensor, generator().normal(0.0, std, array.shape))


def orthogonal_(tensor: T, gain: float = 1.0) -> T:
    r"""Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland and Ganguli,
    "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks",
    ICLR 2014), as ``torch.nn.init.orthogonal_``.

    The tensor is viewed as a matrix of ``shape[0]`` rows; with :math:`A` of standard normal
    draws (transposed if it has more columns than rows) and :math:`A = QR`,

    .. math:: W = \text{gain} \cdot Q \operatorname{diag}(\operatorname{sign} R_{ii})

    (the sign correction makes :math:`Q` uniformly distributed over the orthogonal matrices),
    so that :math:`W W^T = \text{gain}^2 I` (more columns) or :math:`W^T W = \text{gain}^2 I`.

    Raises
    ------
    ValueError
        For a tensor of fewer than 2 dimensions.
    """
    array = _array(tensor, "orthogonal_")
    gain = check_real("orthogonal_", "gain", gain)
    if array.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {array.shape}")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    flat = generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(array.shape))


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


#: trunc_normal_ refuses an interval holding less probability than this (rejection sampling
#: would then need more than about 1e6 draws per value).
MIN_TRUNCATED_MASS = 1e-6


def trunc_normal_(tensor: T, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> T:
    r"""Fill with draws from :math:`N(\text{mean}, \text{std}^2)` truncated to :math:`[a, b]`,
    as ``torch.nn.init.trunc_normal_`` (the bounds are absolute values, not multiples of std).

    Draws outside :math:`[a, b]` are redrawn (rejection sampling), which gives the truncated
    distribution exactly.

    Raises
    ------
    ValueError
        If :math:`a > b`, or if :math:`[a, b]` holds less than ``MIN_TRUNCATED_MASS`` (1e-6) of
        the normal's probability.
    """
    array = _array(tensor, "trunc_normal_")
    mean = check_real("trunc_normal_", "mean", mean)
    std = check_real("trunc_normal_", "std", std, low=0.0)
    a = check_real("trunc_normal_", "a", a)
    b = check_real("trunc_normal_", "b", b, low=a)
    if std == 0:
        if not a <= mean <= b:
            raise ValueError(f"trunc_normal_: std=0 puts every value at mean={mean}, outside "
                             f"[a, b] = [{a}, {b}]")
        return _fill(tensor, mean)
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    if mass < MIN_TRUNCATED_MASS:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds {mass:.3g} of the "
                         f"probability of N({mean}, {std}^2); move the interval nearer the mean")
    rng = generator()
    values = rng.normal(mean, std, array.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)
