"""Optimizers with ``torch.optim``'s names, arguments, defaults and update rules, on NumPy.

Every optimizer updates ``p.data`` in place from ``p.grad`` for Tensors ``p``; supports parameter
groups, ``step(closure=None)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()``; and takes
``lr`` as a number or a schedule (a callable ``t -> lr``, see :mod:`steepest.schedules`).
:mod:`steepest.optim.line_search` holds Armijo backtracking and the strong Wolfe search, which
:class:`SGD` can use to choose its steps. :data:`OPTIMIZERS` names every optimizer and
:func:`create` builds one by name. :mod:`steepest.optim.lr_scheduler` holds PyTorch's scheduler
classes, which move ``param_groups[g]["lr"]`` (always the float in force).

**Where the numbers differ from PyTorch (2.13), on purpose.** The trajectories are torch's
(the golden tests hold them to 1e-9 relative in float64) except:

* :class:`ASGD` and :class:`NAdam` keep their scalar state (``eta``, ``mu``; ``mu_product``) as
  Python floats; torch keeps it in tensors of its default dtype, float32 unless
  ``torch.set_default_dtype(torch.float64)``, even for float64 parameters. Against torch's
  float32 default a float64 run differs by about 1e-8 to 5e-7 relative on a coordinate after
  10 steps (see each class's Notes); with the float64 default, which the golden tools set, they
  agree to rounding.
* A *negative* ``lr`` written by an :mod:`~steepest.optim.lr_scheduler` scheduler is used, as
  torch uses it, but with a ``RuntimeWarning``; one written by hand is refused.
* :class:`Adagrad` follows torch in starting every accumulator from the constructor's
  ``initial_accumulator_value``, and warns when a group sets a different one.
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
