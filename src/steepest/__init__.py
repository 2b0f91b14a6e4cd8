"""steepest: gradient descent and neural networks from first principles, on NumPy.

``import steepest as st`` imports NumPy only; the subpackages (``st.optim``, ``st.nn``,
``st.schedules``, ``st.problems``, ``st.diagnostics``, ``st.data``, ...) load on first use.
"""

import importlib as _importlib  # private names: dir(steepest) lists only the public API

from ._random import manual_seed
from .autodiff import (
    CaptureWarning,
    GradcheckError,
    Tensor,
    abs,
    arange,
    clip,
    compile,
    concatenate,
    cos,
    empty,
    enable_grad,
    exp,
    eye,
    from_numpy,
    full,
    gradcheck,
    hessian,
    hvp,
    inference_mode,
    is_grad_enabled,
    jacobian,
    jvp,
    leaky_relu,
    linspace,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    randn_like,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    stack,
    sum,
    tanh,
    tensor,
    transpose,
    value_and_grad,
    vjp,
    where,
    zeros,
    zeros_like,
)
from .autodiff.functional import grad  # st.grad(f) transforms f; st.autodiff.grad is torch's

__version__ = "0.2.0"

_SUBMODULES = {
    "autodiff", "optim", "nn", "schedules", "problems", "diagnostics", "data", "train", "io",
    "sklearn", "plot", "experiments", "report", "cli", "sweep", "kernels",
}
_LAZY = {"minimize": ("minimize", "minimize"), "OptimizeResult": ("minimize", "OptimizeResult"),
         "save": ("io", "save"), "load": ("io", "load"),
         "set_kernels": ("kernels", "set_kernels")}

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "value_and_grad",
    "gradcheck", "GradcheckError", "jacobian", "hessian", "hvp", "jvp", "vjp",
    "compile", "CaptureWarning",
    "minimize", "OptimizeResult", "manual_seed", "save", "load", "set_kernels",
    "abs", "clip", "concatenate", "cos", "exp", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape", "sigmoid", "sin",
    "softmax", "sqrt", "stack", "sum", "tanh", "transpose", "where",
    "from_numpy", "inference_mode", "zeros", "ones", "full", "empty", "eye", "arange", "linspace",
    "rand", "randn", "zeros_like", "ones_like", "randn_like",
    "optim", "nn", "schedules", "problems", "diagnostics", "data",
]


def __getattr__(name: str) -> object:
    # Subpackages and the functions living in them are imported on first use, so that
    # `import steepest` stays a NumPy-only import.
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(_importlib.import_module(f".{module}", __name__), attribute)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'steepest' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The public API only: not the imports and helpers this module uses itself.
    return sorted(set(__all__) | _SUBMODULES | {"__version__"})
