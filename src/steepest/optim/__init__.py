"""Optimizers with ``torch.optim``'s names, arguments, defaults and update rules, on NumPy.

Every optimizer updates ``p.data`` in place from ``p.grad`` for Tensors ``p``; supports parameter
groups, ``step(closure=None)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()``; and takes
``lr`` as a number or a schedule (a callable ``t -> lr``, see :mod:`steepest.schedules`).
:mod:`steepest.optim.line_search` holds Armijo backtracking and the strong Wolfe search, which
:class:`SGD` can use to choose its steps. :data:`OPTIMIZERS` names every optimizer and
:func:`create` builds one by name.
"""

from . import line_search
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer
from .lbfgs import LBFGS
from .nadam import NAdam
from .registry import OPTIMIZERS, create, hyperparameters
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax",
           "NAdam", "LBFGS", "line_search", "OPTIMIZERS", "create", "hyperparameters"]
# issue 14: RAdam, Rprop, ASGD, Adafactor (torch parity), Lion and schedule-free AdamW
from .adafactor import Adafactor  # noqa: E402
from .asgd import ASGD  # noqa: E402
from .lion import Lion  # noqa: E402
from .radam import RAdam  # noqa: E402
from .rprop import Rprop  # noqa: E402
from .schedule_free import ScheduleFreeAdamW  # noqa: E402

__all__ += ["RAdam", "Rprop", "ASGD", "Adafactor", "Lion", "ScheduleFreeAdamW"]
