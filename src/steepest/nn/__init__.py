"""Neural networks, PyTorch-shaped: modules, layers, losses, initialisers, and :func:`~steepest.nn.mlp`.

Weights move between ``steepest.nn`` and ``torch.nn`` models of the same architecture as NumPy
arrays: ``model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})``.
"""

from . import functional, init, utils
from .backprop import BackpropTrace, LayerTrace, backprop_trace
from .layers import (
    CELU,
    ELU,
    GELU,
    SELU,
    BatchNorm1d,
    Dropout,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter, Sequential
from .perceptron import ACTIVATIONS, mlp

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Flatten", "IncompatibleKeys",
    "Linear", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax",
    "Dropout", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "mlp", "ACTIVATIONS",
    "functional", "init", "utils",
    "LayerNorm", "BatchNorm1d", "L1Loss", "SmoothL1Loss", "HuberLoss", "NLLLoss",
    "backprop_trace", "BackpropTrace", "LayerTrace",
    "Softplus", "ELU", "SELU", "CELU", "SiLU", "Mish", "Softsign", "Hardtanh", "ReLU6",
    "LogSigmoid", "Hardsigmoid", "Hardswish", "PReLU",
    "BCELoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
]
