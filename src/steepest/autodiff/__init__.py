"""Reverse-mode automatic differentiation on NumPy arrays."""

from . import ops
from .functional import GradcheckError, grad, gradcheck, value_and_grad
from .functions import (
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
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "value_and_grad",
    "gradcheck", "GradcheckError", "ops",
    "abs", "clip", "concatenate", "cos", "exp", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape", "sigmoid", "sin",
    "softmax", "sqrt", "stack", "sum", "tanh", "transpose", "where",
]
