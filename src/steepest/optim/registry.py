"""Optimizers by name: the table :data:`OPTIMIZERS` and the factory :func:`create`.

Every front end that lets a person pick an optimizer by name (the ``steepest train`` command,
the scikit-learn estimators, :func:`steepest.minimize`) looks the name up here, so the names,
and the errors for a name or a hyperparameter that does not fit, are the same everywhere.

Examples
--------
>>> import steepest as st
>>> w = st.tensor([1.0, 2.0], requires_grad=True)
>>> opt = st.optim.create("sgd", [w], lr=0.1, momentum=0.9)
>>> type(opt).__name__, opt.param_groups[0]["momentum"]
('SGD', 0.9)
"""

from __future__ import annotations

import inspect
from typing import Any

from .._validation import check_choice
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
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedule_free import ScheduleFreeAdamW
from .sgd import SGD

__all__ = ["OPTIMIZERS", "create", "hyperparameters"]

#: Every optimizer of :mod:`steepest.optim` by its lower-case name.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
    "adadelta": Adadelta, "adamax": Adamax, "nadam": NAdam,
    "radam": RAdam, "rprop": Rprop, "asgd": ASGD, "adafactor": Adafactor, "lion": Lion,
    "schedule_free_adamw": ScheduleFreeAdamW,
    "lbfgs": LBFGS,
}


def hyperparameters(name: str) -> tuple[str, ...]:
    """The keyword arguments the optimizer ``name`` takes besides ``params``, in order.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS`.

    Returns
    -------
    tuple of str
        ``("lr", "betas", "eps", ...)``: the names of its constructor's arguments.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    check_choice("optim.hyperparameters", "name", name, OPTIMIZERS)
    return tuple(p for p in inspect.signature(OPTIMIZERS[name].__init__).parameters
                 if p not in ("self", "params"))


def create(name: str, params: Any, /, **hyper: Any) -> Optimizer:
    """The optimizer called ``name``, over ``params``, with the hyperparameters given.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS`: ``sgd adagrad rmsprop adam adamw adadelta adamax nadam
        radam rprop asgd adafactor lion schedule_free_adamw lbfgs``.
    params : iterable of Tensor or of dict
        The parameters (or parameter groups), as for the class itself.
    **hyper
        Its keyword arguments (``lr``, ``momentum``, ``betas``, ...); those left out keep the
        class's defaults (PyTorch's).

    Returns
    -------
    Optimizer
        ``OPTIMIZERS[name](params, **hyper)``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones; and from the class, for a value out of
        its range.
    TypeError
        For a hyperparameter the optimizer does not take, naming the optimizers that take it
        (``momentum does not apply to adam; it applies to: sgd, rmsprop``).
    """
    check_choice("optim.create", "name", name, OPTIMIZERS)
    accepted = hyperparameters(name)
    for key in hyper:
        if key not in accepted:
            users = [other for other in OPTIMIZERS if key in hyperparameters(other)]
            if users:
                raise TypeError(f"{key} does not apply to {name}; it applies to: "
                                f"{', '.join(users)}")
            raise TypeError(f"{key} does not apply to {name} or to any other optimizer; "
                            f"{name} takes: {', '.join(accepted)}")
    return OPTIMIZERS[name](params, **hyper)
