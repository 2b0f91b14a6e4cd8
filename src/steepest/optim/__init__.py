"""Optimizers with ``torch.optim``'s names, arguments, defaults and update rules, on NumPy.

Every optimizer updates ``p.data`` in place from ``p.grad`` for Tensors ``p``; supports parameter
groups, ``step(closure=None)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()``; and takes
``lr`` as a number or a schedule (a callable ``t -> lr``, see :mod:`steepest.schedules`).
:mod:`steepest.optim.line_search` holds Armijo backtracking and the strong Wolfe search, which
:class:`SGD` can use to choose its steps. :data:`OPTIMIZERS` names every optimizer and
:func:`create` builds one by name. :mod:`steepest.optim.lr_scheduler` holds PyTorch's scheduler
classes, which move ``param_groups[g]["lr"]`` (always the float in force).
"""

from . import line_search, lr_scheduler
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .base import Optimizer
from .lbfgs import LBFGS
from .lion import Lion
from .nadam import NAdam
from .radam import RAdam
from .registry import OPTIMIZERS, create, hyperparameters
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedule_free import ScheduleFreeAdamW
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax",
           "NAdam", "RAdam", "Rprop", "ASGD", "Adafactor", "Lion", "ScheduleFreeAdamW", "LBFGS",
           "line_search", "lr_scheduler", "OPTIMIZERS", "create", "hyperparameters"]
