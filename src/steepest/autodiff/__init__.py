"""Reverse-mode automatic differentiation on NumPy arrays."""

from . import capture, ops, protocol
from .capture import CaptureWarning, compile
from .factories import (
    arange,
    empty,
    eye,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .functional import GradcheckError, gradcheck, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .functions import (
    MaxMin,
    abs,
    clip,
    concatenate,
    cos,
    exp,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    stack,
    sum,
    tanh,
    transpose,
    where,
)
from .graph import retain_grads, to_dot
from .reverse import grad
from .tensor import Tensor, enable_grad, from_numpy, inference_mode, is_grad_enabled, no_grad, tensor

protocol.install()

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "value_and_grad",
    "gradcheck", "GradcheckError", "ops", "jacobian", "hessian", "hvp", "jvp", "vjp",
    "abs", "clip", "concatenate", "cos", "exp", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape", "sigmoid", "sin",
    "softmax", "sqrt", "stack", "sum", "tanh", "transpose", "where", "MaxMin",
    "from_numpy", "inference_mode", "zeros", "ones", "full", "empty", "eye", "arange", "linspace",
    "rand", "randn", "zeros_like", "ones_like", "randn_like",
    "to_dot", "retain_grads", "capture", "compile", "CaptureWarning",
]
