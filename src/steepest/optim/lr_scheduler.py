r"""Learning-rate schedulers with ``torch.optim.lr_scheduler``'s classes, arguments and behaviour.

A scheduler moves ``optimizer.param_groups[g]["lr"]`` (and, for :class:`CyclicLR` and
:class:`OneCycleLR`, ``"momentum"`` or ``betas[0]``): the optimizer uses whatever float it finds
there on its next step. The usual loop, as in PyTorch::

    opt = st.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = st.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(model, opt)   # opt.step() per batch
        sched.step()                  # after the optimizer's steps

Each scheduler counts its calls in ``last_epoch`` (0 after construction, which already applies
the value of epoch 0) and keeps the rates it set in :meth:`LRScheduler.get_last_lr`. Building a
scheduler writes ``"initial_lr"`` into every group that lacks it; ``base_lrs`` are those values.

**Chainable and closed forms.** As in PyTorch, ``step()`` computes the new rate from the rate
*currently in the group* (the chainable form: ``StepLR`` multiplies it by ``gamma`` at each
boundary). That is what lets several schedulers on one optimizer compose: each one's factor
applies to what the others left, so that :class:`ChainedScheduler` (or calling two schedulers'
``step()`` in turn) multiplies their effects. ``step(epoch)`` (deprecated in PyTorch, and warned
about here too) jumps to an epoch and uses the closed form from ``base_lrs`` where the class has
one, exactly as PyTorch does; :class:`SequentialLR` uses the closed form when it hands over to the
next scheduler at a milestone.

**A rate below zero.** Composed chainable forms can cross zero (CosineAnnealingLR's recursion
stepped with another scheduler overshoots ``eta_min``; PyTorch's numbers do the same). As
``torch.optim`` does, the optimizer's next step uses such a rate (moving up the gradient), with
a ``RuntimeWarning`` once per group; a negative ``lr`` written by hand is still refused.

**Schedules given as lr=.** A :mod:`steepest.schedules` schedule (or any callable ``t -> lr``)
given as an optimizer's ``lr=`` lives in ``group["lr_schedule"]`` and writes ``group["lr"]``
before each update: it already owns the rate. A scheduler refuses such an optimizer, with a
``ValueError`` that says so, rather than combine the two silently; give ``lr=`` a number to use a
scheduler, or express the schedule as a scheduler (``LambdaLR``).

State dicts are plain data with PyTorch's key names (``base_lrs``, ``last_epoch``,
``_step_count``, ``_last_lr`` and each class's arguments), so :func:`steepest.save` stores them;
the functions of :class:`LambdaLR`, :class:`MultiplicativeLR` and a custom ``scale_fn`` are not
saved (the attributes of a callable object are, as in PyTorch).
"""

from __future__ import annotations

import copy
import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._validation import check_bool, check_choice, check_int, check_real
from ..autodiff._hooks import replayed
from .base import Optimizer, note_scheduler_lr

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau"]

_EPOCH_WARNING = ("passing epoch to step() is deprecated (as in PyTorch): the scheduler jumps to "
                  "that epoch and uses its closed form where it has one, which is not what a "
                  "chain of schedulers computes; call step() without an argument")
#: Keys of PyTorch's scheduler state dicts that hold no state (flags set only inside step()).
_TORCH_FLAGS = ("_is_initial", "_get_lr_called_within_step")


# ---------------------------------------------------------------------- shared checks
def _check_optimizer(owner: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer must be a steepest.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    _refuse_schedules(owner, optimizer)
    return optimizer


def _refuse_schedules(owner: str, optimizer: Optimizer) -> None:
    for i, group in enumerate(optimizer.param_groups):
        schedule = group.get("lr_schedule")
        if schedule is not None:
            raise ValueError(
                f"{owner}: param group {i} of {type(optimizer).__name__} takes its lr from the "
                f"schedule {schedule!r} (given as lr=), which sets group['lr'] before every "
                f"update; a scheduler would fight it over the same value. Give lr= a number to "
                f"use {owner}, or keep the schedule alone (or set group['lr_schedule'] = None to "
                f"hand the rate to the scheduler)")


def _per_group(owner: str, name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per parameter group: a list/tuple of that length, or one value for all."""
    count = len(optimizer.param_groups)
    if isinstance(value, list | tuple):
        if len(value) != count:
            raise ValueError(f"{owner}: {name} has {len(value)} values, the optimizer has "
                             f"{count} param groups")
        return list(value)
    return [value] * count


def _check_lambdas(owner: str, optimizer: Optimizer, lr_lambda: Any) -> list[Callable]:
    lambdas = _per_group(owner, "lr_lambda", optimizer, lr_lambda)
    for i, fn in enumerate(lambdas):
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda must be a function epoch -> factor (or one per "
                            f"param group), got {fn!r}" + (f" at index {i}" if i else ""))
    return lambdas


def _lrs(optimizer: Optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def _momentum_key(owner: str, optimizer: Optimizer) -> bool:
    """Whether momentum cycling moves ``betas[0]`` (True) or ``momentum`` (False)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with a 'momentum' or "
                         f"'betas' hyperparameter; {type(optimizer).__name__} has neither (pass "
                         "cycle_momentum=False)")
    return "betas" in optimizer.defaults


def _set_momentum(group: dict[str, Any], use_beta1: bool, value: float) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


# ---------------------------------------------------------------------- the base class
class LRScheduler:
    """Base class of the schedulers that move ``lr`` epoch by epoch.

    Subclasses compute the new rates in ``_chainable()`` (from the group's current ``lr``, the
    form ``step()`` uses) and, where a formula in the epoch exists, ``_closed_form()`` (from
    ``base_lrs``, the form ``step(epoch)`` uses).

    Parameters
    ----------
    optimizer : Optimizer
        Whose ``param_groups[g]["lr"]`` the scheduler sets.
    last_epoch : int, default -1
        The index of the last epoch; -1 starts afresh (and sets ``initial_lr`` in each group).
        A value ``>= 0`` resumes a run: every group must then hold ``initial_lr``.

    Attributes
    ----------
    optimizer : Optimizer
    base_lrs : list of float
        Each group's ``initial_lr``.
    last_epoch : int
        The epoch whose rate is in force (0 after construction).
    """

    #: Attributes saved by state_dict() besides the common ones, in the subclass.
    _arguments: tuple[str, ...] = ()
    _common = ("base_lrs", "last_epoch", "_step_count", "_last_lr")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:  # as LRScheduler.step below
            cls.step = replayed(cls.__dict__["step"])

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        self.optimizer = _check_optimizer(name, optimizer)
        last_epoch = check_int(name, "last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param group {i} has no 'initial_lr', which resuming "
                                   f"with last_epoch={last_epoch} needs: load the optimizer's "
                                   "state dict saved with the scheduler first, or start with "
                                   "last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._in_step = False
        self._is_initial = False
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    # ------------------------------------------------------------------ stepping
    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch (or, deprecated, to ``epoch``) and set each group's ``lr``."""
        if self._step_count == 1:
            self._warn_order()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(f"{type(self).__name__}: {_EPOCH_WARNING}", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _warn_order(self) -> None:
        name = type(self).__name__
        if not getattr(self.optimizer.step, "_marks_steps", False):
            warnings.warn(f"{name}: optimizer.step was replaced by a function that does not "
                          "record its calls, so the order of the calls cannot be checked; call "
                          "optimizer.step() before scheduler.step()", UserWarning, stacklevel=3)
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(f"{name}.step() was called before any optimizer.step(); call "
                          "optimizer.step() first (PyTorch's order since 1.1), otherwise the "
                          "first value of the schedule is skipped", UserWarning, stacklevel=3)

    def _update_lr(self, epoch: float | None = None) -> None:
        _refuse_schedules(type(self).__name__, self.optimizer)
        self._in_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self._chainable()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_closed_form", None)
                values = closed() if closed is not None else self._chainable()
        finally:
            self._in_step = False
        self._write(values)

    def _write(self, values: Sequence[float]) -> None:
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise RuntimeError(f"{type(self).__name__}: the optimizer has {len(groups)} param "
                               f"groups, the scheduler was built for {len(values)} (a group "
                               "added after the scheduler gets no schedule)")
        for group, lr in zip(groups, values, strict=True):
            group["lr"] = lr
            note_scheduler_lr(self.optimizer, group, lr)  # a negative one is taken at step
        self._last_lr = _lrs(self.optimizer)

    def get_last_lr(self) -> list[float]:
        """The rates the scheduler set last, one per group (what the next update uses)."""
        return list(self._last_lr)

    def get_lr(self) -> list[float]:
        """The rates of the current epoch computed by the chainable form (warns outside
        ``step()``, as PyTorch does: use :meth:`get_last_lr` to read them)."""
        if not self._in_step:
            warnings.warn(f"{type(self).__name__}: get_lr() computes the next rates; use "
                          "get_last_lr() to read the rates the scheduler set", UserWarning,
                          stacklevel=2)
        return self._chainable()

    def _chainable(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} does not implement _chainable")

    # ------------------------------------------------------------------ state dicts
    def _state_keys(self) -> tuple[str, ...]:
        return self._arguments + self._common

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state as plain data, with PyTorch's key names (no optimizer)."""
        return {key: _plain(getattr(self, key)) for key in self._state_keys()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (PyTorch's own dicts load too).

        Parameters
        ----------
        state_dict : dict
        """
        values = self._checked_state(state_dict)
        for key, value in values.items():
            setattr(self, key, value)

    def _checked_state(self, state_dict: Any) -> dict[str, Any]:
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}: expected a dict, got {type(state_dict).__name__}")
        keys = self._state_keys()
        given = {k: v for k, v in state_dict.items() if k not in _TORCH_FLAGS}
        unknown = sorted(set(given) - set(keys))
        missing = [k for k in keys if k not in given]
        if unknown or missing:
            raise ValueError(f"{owner}: a {type(self).__name__} state dict has the keys "
                             f"{', '.join(keys)}; unknown {unknown}, missing {missing}")
        return {key: copy.deepcopy(given[key]) for key in keys}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _plain(value: Any) -> Any:
    if isinstance(value, Counter):
        return dict(value)
    return copy.deepcopy(value)


# A scheduler's step moves ``lr`` in Python: inside a step recorded by st.compile, every replay
# must make that move again (see autodiff/_hooks.py).
LRScheduler.step = replayed(LRScheduler.step)


def _lambdas_state(lambdas: list[Callable]) -> list[Any]:
    """PyTorch's rule: a plain function is not saved; a callable object's attributes are."""
    return [None if isinstance(fn, types.FunctionType) else dict(vars(fn)) if hasattr(fn, "__dict__")
            else None for fn in lambdas]


class _LambdaState:
    """state_dict/load_state_dict for the schedulers that hold ``lr_lambdas``."""

    lr_lambdas: list[Callable]

    def state_dict(self) -> dict[str, Any]:
        state = LRScheduler.state_dict(self)
        state["lr_lambdas"] = _lambdas_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None)
        LRScheduler.load_state_dict(self, state)
        if saved is not None:
            for fn, attributes in zip(self.lr_lambdas, saved, strict=False):
                if attributes is not None:
                    vars(fn).update(attributes)


# ---------------------------------------------------------------------- multiplicative families
class LambdaLR(_LambdaState, LRScheduler):
    r"""Set each group's rate to its initial rate times a function of the epoch.

    .. math:: \eta_e = \eta_0 \, \lambda(e)

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callable
        ``epoch -> factor`` (``epoch = 0, 1, ...``), or one per param group.
    last_epoch : int, default -1

    Examples
    --------
    >>> import steepest as st
    >>> opt = st.optim.SGD([st.tensor([1.0], requires_grad=True)], lr=0.1)
    >>> sched = st.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
    >>> opt.step(); sched.step(); sched.get_last_lr()
    [0.05]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _check_lambdas("LambdaLR", _check_optimizer("LambdaLR", optimizer),
                                         lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs,
                                                               strict=True)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    r"""Multiply each group's rate by a function of the epoch at every step.

    .. math:: \eta_e = \eta_{e-1} \, \lambda(e), \qquad e \ge 1

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callable
        ``epoch -> factor``, or one per param group.
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _check_lambdas("MultiplicativeLR",
                                         _check_optimizer("MultiplicativeLR", optimizer), lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \eta_e = \eta_0 \, \gamma^{\lfloor e / s \rfloor}

    (chainable form: :math:`\eta_e = \gamma\,\eta_{e-1}` when :math:`s` divides :math:`e > 0`).

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Epochs per stage :math:`s`, ``>= 1``.
    gamma : float, default 0.1
        Factor per stage, ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_real("StepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each milestone epoch.

    .. math:: \eta_e = \eta_0 \, \gamma^{\#\{m_i \le e\}}

    A milestone listed twice multiplies by :math:`\gamma^2` there, as in PyTorch.

    Parameters
    ----------
    optimizer : Optimizer
    milestones : iterable of int
        Epoch indices (need not be sorted).
    gamma : float, default 0.1
        ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("milestones", "gamma")

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(milestones, str | bytes) or not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be an iterable of epochs (ints), got "
                            f"{milestones!r}")
        self.milestones = Counter(check_int("MultiStepLR", f"milestones[{i}]", m)
                                  for i, m in enumerate(milestones))
        self.gamma = check_real("MultiStepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})


class ConstantLR(LRScheduler):
    r"""Scale the rate by a constant factor until epoch ``total_iters``.

    .. math:: \eta_e = \eta_0 \,\bigl(f + [e \ge T](1 - f)\bigr)

    Parameters
    ----------
    optimizer : Optimizer
    factor : float, default 1/3
        :math:`f`, in ``(0, 1]``.
    total_iters : int, default 5
        :math:`T`, ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("factor", "total_iters")

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        # PyTorch accepts factor = 0 and then divides by it at total_iters: refused here.
        self.factor = check_real("ConstantLR", "factor", factor, 0.0, 1.0, low_open=True)
        self.total_iters = check_int("ConstantLR", "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _closed_form(self) -> list[float]:
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the rate by a factor that moves linearly over ``total_iters`` epochs.

    .. math::

        \eta_e = \eta_0 \Bigl(f_s + (f_e - f_s)\,\frac{\min(e, T)}{T}\Bigr)

    (chainable form: :math:`\eta_e = \eta_{e-1}\bigl(1 + \frac{f_e - f_s}{T f_s + (e - 1)
    (f_e - f_s)}\bigr)` for :math:`1 \le e \le T`).

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        :math:`f_s`, in ``(0, 1]``.
    end_factor : float, default 1.0
        :math:`f_e`, in ``[0, 1]``.
    total_iters : int, default 5
        :math:`T`, ``>= 1``.
    last_epoch : int, default -1
    """

    _arguments = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = check_real("LinearLR", "start_factor", start_factor, 0.0, 1.0,
                                       low_open=True)
        self.end_factor = check_real("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        delta = self.end_factor - self.start_factor
        factor = 1.0 + delta / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * delta)
        return [group["lr"] * factor for group in groups]

    def _closed_form(self) -> list[float]:
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every epoch.

    .. math:: \eta_e = \eta_0 \, \gamma^e

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
        ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_real("ExponentialLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay the rate polynomially to 0 over ``total_iters`` epochs.

    .. math:: \eta_e = \eta_0 \Bigl(1 - \frac{\min(e, T)}{T}\Bigr)^{p}

    (chainable form: :math:`\eta_e = \eta_{e-1}\bigl(\frac{1 - e/T}{1 - (e-1)/T}\bigr)^p`).

    Parameters
    ----------
    optimizer : Optimizer
    total_iters : int, default 5
        :math:`T`, ``>= 1``.
    power : float, default 1.0
        :math:`p`, ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("total_iters", "power")

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = check_int("PolynomialLR", "total_iters", total_iters, 1)
        self.power = check_real("PolynomialLR", "power", power, 0.0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial rate to ``eta_min`` over ``T_max`` epochs (SGDR's curve
    without restarts; Loshchilov and Hutter, 2017).

    .. math::

        \eta_e = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\Bigl(1 + \cos\frac{\pi e}{T_{\max}}
        \Bigr)

    ``step()`` uses PyTorch's recursive form,

    .. math::

        \eta_e = \eta_{\min} + (\eta_{e-1} - \eta_{\min})\,
                 \frac{1 + \cos(\pi e / T_{\max})}{1 + \cos(\pi (e-1) / T_{\max})},

    so that another scheduler's changes carry over; past :math:`T_{\max}` the curve rises again
    (a cosine of period :math:`2T_{\max}`), as in PyTorch.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Half period, ``> 0``.
    eta_min : float, default 0.0
        ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if isinstance(T_max, numbers.Integral) and not isinstance(T_max, bool):
            self.T_max = check_int("CosineAnnealingLR", "T_max", T_max, 1)
        else:
            self.T_max = check_real("CosineAnnealingLR", "T_max", T_max, 0.0, low_open=True)
        self.eta_min = check_real("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        e, T, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and e > 0:  # resumed: the first step has no previous rate
            return [low + (base - low) * (1 + math.cos(e * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the curve: the ratio below would be 0/0
            if len(self.base_lrs) != len(groups):  # (zip had said 'argument 2 is longer')
                raise RuntimeError(f"CosineAnnealingLR: at the bottom of the curve (epoch {e}) "
                                   f"each group's rate needs its initial one, and a group was "
                                   f"added after the scheduler ({len(groups)} groups, "
                                   f"{len(self.base_lrs)} initial rates): build the scheduler "
                                   f"after add_param_group")
            return [group["lr"] + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups, strict=True)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                * (group["lr"] - low) + low for group in groups]

    def _closed_form(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR; Loshchilov and Hutter, 2017).

    .. math::

        \eta = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\Bigl(1 + \cos\frac{\pi T_{cur}}{T_i}
        \Bigr)

    where :math:`T_{cur}` counts the epochs since the last restart and the :math:`i`-th period
    is :math:`T_i = T_0 T_{mult}^i`. ``step(epoch)`` takes fractional epochs (``epoch + i /
    iters`` within an epoch), as in PyTorch, without a deprecation warning.

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int
        The first period, ``>= 1``.
    T_mult : int, default 1
        Growth of the period after each restart, ``>= 1``.
    eta_min : float, default 0.0
        ``>= 0``.
    last_epoch : int, default -1
    """

    _arguments = ("T_0", "T_i", "T_mult", "eta_min", "T_cur")

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_0 = check_int("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        self.T_i = self.T_0
        self.T_mult = check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        self.eta_min = check_real("CosineAnnealingWarmRestarts", "eta_min", eta_min, 0.0)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _chainable(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Move to the next epoch, or to ``epoch`` (a float counts fractions of an epoch)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = check_real("CosineAnnealingWarmRestarts.step", "epoch", epoch, 0.0)
            self._jump(epoch)
        self.last_epoch = math.floor(epoch)
        _refuse_schedules(type(self).__name__, self.optimizer)
        self._in_step = True
        try:
            values = self._chainable()
        finally:
            self._in_step = False
        self._write(values)

    def _jump(self, epoch: float) -> None:
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n


# ---------------------------------------------------------------------- cyclical families
def _momentum_keys_if_off(state_dict: Any, **defaults: Any) -> Any:
    """A copy of a CyclicLR/OneCycleLR state dict with the momentum entries that PyTorch leaves
    out when ``cycle_momentum`` is False (its schedulers set ``use_beta1`` and the momentum lists
    only with cycle_momentum=True), so that a torch state dict loads; any other dict as given."""
    if not isinstance(state_dict, dict):
        return state_dict
    state = dict(state_dict)
    if state.get("cycle_momentum") is False:
        for key, value in defaults.items():
            state.setdefault(key, value)
    return state


class CyclicLR(LRScheduler):
    r"""Cycle the rate between ``base_lr`` and ``max_lr`` (Smith, "Cyclical learning rates for
    training neural networks", 2017), stepped once per batch; momentum cycles the other way.

    With :math:`c = \lfloor 1 + e / S \rfloor` (the cycle, :math:`S` = ``step_size_up +
    step_size_down``), :math:`x = 1 + e/S - c` and :math:`r` = ``step_size_up / S``,

    .. math::

        h = \begin{cases} x / r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases}, \qquad
        \eta_e = \eta_b + (\eta_{\max} - \eta_b)\, h\, s(\cdot), \qquad
        m_e = m_{\max} - (m_{\max} - m_b)\, h\, s(\cdot)

    where the scale :math:`s` is 1 (``"triangular"``), :math:`2^{1-c}` (``"triangular2"``),
    :math:`\gamma^e` (``"exp_range"``) or ``scale_fn`` of the cycle or of the iteration.

    Parameters
    ----------
    optimizer : Optimizer
    base_lr, max_lr : float or list of float
        The bounds of the rate, per group or for all.
    step_size_up : int, default 2000
        Iterations of the rising half, ``>= 1``.
    step_size_down : int, optional
        Iterations of the falling half (default ``step_size_up``).
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
    gamma : float, default 1.0
        The base of ``"exp_range"``.
    scale_fn : callable, optional
        Replaces ``mode``'s scale; with ``scale_mode`` ``"cycle"`` or ``"iterations"``.
    scale_mode : {"cycle", "iterations"}, default "cycle"
    cycle_momentum : bool, default True
        Cycle ``momentum`` (or ``betas[0]``) between ``max_momentum`` and ``base_momentum``.
    base_momentum, max_momentum : float or list of float, default 0.8 and 0.9
    last_epoch : int, default -1
    """

    _arguments = ("max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode",
                  "cycle_momentum", "use_beta1", "base_momentums", "max_momentums")

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        owner = "CyclicLR"
        _check_optimizer(owner, optimizer)
        base_lrs = [check_real(owner, "base_lr", v, 0.0)
                    for v in _per_group(owner, "base_lr", optimizer, base_lr)]
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = [check_real(owner, "max_lr", v, 0.0)
                        for v in _per_group(owner, "max_lr", optimizer, max_lr)]
        up = float(check_int(owner, "step_size_up", step_size_up, 1))
        down = float(check_int(owner, "step_size_down", step_size_down, 1)) \
            if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None:
            check_choice(owner, "mode", mode, ("triangular", "triangular2", "exp_range"))
        elif not callable(scale_fn):
            raise TypeError(f"{owner}: scale_fn must be a function of the cycle or iteration, "
                            f"got {scale_fn!r}")
        self.mode = mode
        self.gamma = check_real(owner, "gamma", gamma, 0.0)
        self._scale_fn_custom = scale_fn
        self.scale_mode = check_choice(owner, "scale_mode", scale_mode, ("cycle", "iterations"))
        self._init_scale_mode()
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        self.use_beta1 = False
        self.base_momentums: list[float] = []
        self.max_momentums: list[float] = []
        if self.cycle_momentum:
            self.use_beta1 = _momentum_key(owner, optimizer)
            self.base_momentums = [check_real(owner, "base_momentum", v, 0.0, 1.0)
                                   for v in _per_group(owner, "base_momentum", optimizer,
                                                       base_momentum)]
            self.max_momentums = [check_real(owner, "max_momentum", v, 0.0, 1.0)
                                  for v in _per_group(owner, "max_momentum", optimizer,
                                                      max_momentum)]
            if last_epoch == -1:
                for high, low, group in zip(self.max_momentums, self.base_momentums,
                                            optimizer.param_groups, strict=True):
                    _set_momentum(group, self.use_beta1, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_mode(self) -> None:
        # The built-in modes fix their scale mode, whatever scale_mode says (as in PyTorch).
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def _chainable(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (high - base) * height * scale
               for base, high in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for low, high, group in zip(self.base_momentums, self.max_momentums,
                                        self.optimizer.param_groups, strict=True):
                _set_momentum(group, self.use_beta1, high - (high - low) * height * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (dict(vars(fn)) if fn is not None and hasattr(fn, "__dict__")
                                     and not isinstance(fn, types.FunctionType) else None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = _momentum_keys_if_off(state_dict, use_beta1=False, base_momentums=[],
                                      max_momentums=[])
        saved = state.pop("_scale_fn_custom", None) if isinstance(state, dict) else None
        super().load_state_dict(state)  # a non-dict: its TypeError
        if saved is not None and self._scale_fn_custom is not None:
            vars(self._scale_fn_custom).update(saved)
        self._init_scale_mode()


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith and Topin, "Super-convergence", 2018), stepped once per batch:
    the rate rises from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of the run, then
    anneals to ``initial_lr / final_div_factor``; momentum moves the opposite way.

    Within a phase from step :math:`a` to step :math:`b`, with :math:`p = (e - a)/(b - a)`, the
    rate goes from :math:`\eta_s` to :math:`\eta_f` by

    .. math::

        \eta_e = \eta_f + \tfrac12(\eta_s - \eta_f)(1 + \cos \pi p) \quad\text{("cos")}, \qquad
        \eta_e = \eta_s + (\eta_f - \eta_s)\,p \quad\text{("linear")}.

    The phases end at steps :math:`\text{pct\_start}\cdot N - 1` and :math:`N - 1`
    (``three_phase``: a symmetric fall back to the initial rate ends at
    :math:`2\,\text{pct\_start}\cdot N - 2`, then the annihilation to ``min_lr``). Building it
    writes ``initial_lr``, ``max_lr`` and ``min_lr`` (and ``max_momentum``, ``base_momentum``)
    into every group. Stepping past ``total_steps`` raises ``ValueError``, as in PyTorch. A phase
    of no steps (``pct_start=1`` leaves the annealing none) is at its end value, where PyTorch
    divides by zero at the last step.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list of float
    total_steps : int, optional
        :math:`N`; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
    pct_start : float, default 0.3
        In ``[0, 1]``.
    anneal_strategy : {"cos", "linear"}, default "cos"
    cycle_momentum : bool, default True
    base_momentum, max_momentum : float or list of float, default 0.85 and 0.95
    div_factor : float, default 25.0
    final_div_factor : float, default 1e4
    three_phase : bool, default False
    last_epoch : int, default -1
    """

    _arguments = ("total_steps", "_schedule_phases", "_anneal_func_type", "cycle_momentum",
                  "use_beta1")

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        if total_steps is not None:
            self.total_steps = check_int(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (check_int(owner, "epochs", epochs, 1)
                                * check_int(owner, "steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch")
        pct_start = check_real(owner, "pct_start", pct_start, 0.0, 1.0)
        check_bool(owner, "three_phase", three_phase)
        self._schedule_phases = self._phases(pct_start, three_phase)
        self._anneal_func_type = check_choice(owner, "anneal_strategy", anneal_strategy,
                                              ("cos", "linear"))
        div_factor = check_real(owner, "div_factor", div_factor, 0.0, low_open=True)
        final_div_factor = check_real(owner, "final_div_factor", final_div_factor, 0.0,
                                      low_open=True)
        max_lrs = [check_real(owner, "max_lr", v, 0.0)
                   for v in _per_group(owner, "max_lr", optimizer, max_lr)]
        if last_epoch == -1:
            for high, group in zip(max_lrs, optimizer.param_groups, strict=True):
                group["initial_lr"] = high / div_factor
                group["max_lr"] = high
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        self.use_beta1 = False
        if self.cycle_momentum:
            self.use_beta1 = _momentum_key(owner, optimizer)
            highs = [check_real(owner, "max_momentum", v, 0.0, 1.0)
                     for v in _per_group(owner, "max_momentum", optimizer, max_momentum)]
            lows = [check_real(owner, "base_momentum", v, 0.0, 1.0)
                    for v in _per_group(owner, "base_momentum", optimizer, base_momentum)]
            if last_epoch == -1:
                for high, low, group in zip(highs, lows, optimizer.param_groups, strict=True):
                    _set_momentum(group, self.use_beta1, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # noqa: D102 (as the base's)
        super().load_state_dict(_momentum_keys_if_off(state_dict, use_beta1=False))

    def _phases(self, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
        n = self.total_steps
        rise = {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                "end_lr": "max_lr", "start_momentum": "max_momentum",
                "end_momentum": "base_momentum"}
        if not three_phase:
            return [rise, {"end_step": n - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                           "start_momentum": "base_momentum", "end_momentum": "max_momentum"}]
        return [rise,
                {"end_step": float(2 * pct_start * n) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": n - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"}]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _chainable(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times; the schedule has total_steps="
                             f"{self.total_steps} (build it for the whole run)")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == last:
                    # a phase of no steps (pct_start=1 leaves the annealing none) is at its
                    # end; torch divides by zero there, at the last step
                    pct = (step - start) / (end - start) if end > start else 1.0
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1,
                                      self._anneal(group[phase["start_momentum"]],
                                                   group[phase["end_momentum"]], pct))
                    break
                start = phase["end_step"]
        return lrs


# ---------------------------------------------------------------------- combinations
def _check_members(owner: str, optimizer: Optimizer, schedulers: Any) -> list[LRScheduler]:
    if isinstance(schedulers, LRScheduler) or not isinstance(schedulers, Sequence):
        raise TypeError(f"{owner}: schedulers must be a list of schedulers, got {schedulers!r}")
    if len(schedulers) < 1:
        raise ValueError(f"{owner}: needs at least one scheduler, got none")
    for i, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{i}] must be a scheduler, got {scheduler!r}")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, whose step() "
                             "needs the metric; step it on its own")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{i}] ({type(scheduler).__name__}) belongs to "
                             f"another optimizer than {type(optimizer).__name__}; every "
                             "scheduler must move the same optimizer")
    return list(schedulers)


class _Composite(LRScheduler):
    """state_dict/load_state_dict for the schedulers made of schedulers."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        state = {key: _plain(getattr(self, key)) for key in self._state_keys()}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict) if isinstance(state_dict, dict) else state_dict
        parts = state.pop("_schedulers", None) if isinstance(state, dict) else None
        if not isinstance(parts, list) or len(parts) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected '_schedulers' with "
                             f"{len(self._schedulers)} state dicts, got {parts!r:.80}")
        values = self._checked_state(state)
        for scheduler, part in zip(self._schedulers, parts, strict=True):
            scheduler.load_state_dict(part)
        for key, value in values.items():
            setattr(self, key, value)


class SequentialLR(_Composite):
    r"""Run schedulers one after another, switching at the milestone epochs.

    Scheduler :math:`i` is in charge for :math:`m_{i-1} \le e < m_i`. At a milestone the next
    scheduler starts from its epoch 0 by its closed form (from ``base_lrs``), as in PyTorch; in
    between, it steps in its chainable form.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        Built on ``optimizer`` (building them already stepped each once; SequentialLR undoes it).
    milestones : list of int
        ``len(schedulers) - 1`` epochs.
    last_epoch : int, default -1
    """

    _common = ("_milestones", "last_epoch", "_last_lr")

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        owner = "SequentialLR"
        _check_optimizer(owner, optimizer)
        self._schedulers = _check_members(owner, optimizer, schedulers)
        if isinstance(milestones, str) or not isinstance(milestones, Sequence):
            raise TypeError(f"{owner}: milestones must be a list of epochs, got {milestones!r}")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{owner}: needs one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._milestones = [check_int(owner, f"milestones[{i}]", m, 0)
                            for i, m in enumerate(milestones)]
        self.last_epoch = check_int(owner, "last_epoch", last_epoch, -1) + 1
        self.optimizer = optimizer
        self._in_step = False
        self._is_initial = False
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo(scheduler: LRScheduler) -> None:
        """Take back the step every member took when it was built (recursively)."""
        if hasattr(scheduler, "_schedulers"):
            for member in scheduler._schedulers:
                SequentialLR._undo(member)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:  # noqa: D102 (documented in the class)
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            if isinstance(scheduler, _Composite):
                # torch fails here too (a bare NotImplementedError): a composite has no rate of
                # its own for epoch 0 to start from
                raise TypeError(f"SequentialLR: schedulers[{index}] is a "
                                f"{type(scheduler).__name__}, which cannot take over at milestone "
                                f"{self.last_epoch} (a SequentialLR or ChainedScheduler has no "
                                "rate of its own to restart from; PyTorch fails there too); put "
                                "it first, or list its members in this SequentialLR")
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    r"""Step several schedulers together at every ``step()``.

    Each member computes its rate from what the members before it wrote (the chainable form), so
    their factors multiply: :math:`\eta_e = \eta_0 \prod_k f_k(e)` for multiplicative schedulers.

    Parameters
    ----------
    schedulers : sequence of LRScheduler
        All on the same optimizer.
    optimizer : Optimizer, optional
        Defaults to the first scheduler's.
    """

    _common = ("_last_lr",)

    def __init__(self, schedulers: Sequence[LRScheduler],
                 optimizer: Optimizer | None = None) -> None:
        owner = "ChainedScheduler"
        if optimizer is None:
            if isinstance(schedulers, Sequence) and schedulers and \
                    isinstance(schedulers[0], LRScheduler):
                optimizer = schedulers[0].optimizer
        _check_optimizer(owner, optimizer)
        self._schedulers = _check_members(owner, optimizer, schedulers)
        self.optimizer = optimizer
        self._in_step = False
        self._is_initial = False
        self._last_lr = _lrs(optimizer)

    def step(self) -> None:  # noqa: D102 (documented in the class)
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _lrs(self.optimizer)


# ---------------------------------------------------------------------- metric-driven
class ReduceLROnPlateau(LRScheduler):
    r"""Reduce the rate when a metric has stopped improving.

    After more than ``patience`` epochs without improvement (outside a cooldown),

    .. math:: \eta \leftarrow \max(\eta \cdot \text{factor}, \eta_{\min})

    for each group (a reduction smaller than ``eps`` is skipped). An epoch improves on the best
    value :math:`b` when, in ``"min"`` mode, :math:`v < b(1 - \text{threshold})` (``"rel"``) or
    :math:`v < b - \text{threshold}` (``"abs"``); ``"max"`` mode mirrors it. Call
    ``step(metric)`` once per epoch.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}, default "min"
    factor : float, default 0.1
        In ``[0, 1)``.
    patience : int, default 10
        ``>= 0``.
    threshold : float, default 1e-4
        ``>= 0``.
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int, default 0
        Epochs after a reduction before bad epochs count again, ``>= 0``.
    min_lr : float or list of float, default 0
        ``>= 0``, per group or for all.
    eps : float, default 1e-8
        ``>= 0``.
    """

    _common = ("factor", "default_min_lr", "min_lrs", "patience", "cooldown", "eps",
               "last_epoch", "_last_lr", "mode_worse", "mode", "threshold", "threshold_mode",
               "best", "cooldown_counter", "num_bad_epochs")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        self.factor = check_real(owner, "factor", factor, 0.0, 1.0, high_open=True)
        self.optimizer = _check_optimizer(owner, optimizer)
        if isinstance(min_lr, list | tuple):
            self.default_min_lr = None
            self.min_lrs = [check_real(owner, f"min_lr[{i}]", v, 0.0)
                            for i, v in enumerate(_per_group(owner, "min_lr", optimizer, min_lr))]
        else:
            self.default_min_lr = check_real(owner, "min_lr", min_lr, 0.0)
            self.min_lrs = [self.default_min_lr] * len(optimizer.param_groups)
        self.patience = check_int(owner, "patience", patience, 0)
        self.cooldown = check_int(owner, "cooldown", cooldown, 0)
        self.eps = check_real(owner, "eps", eps, 0.0)
        self.last_epoch = 0
        self._in_step = False
        self._is_initial = False
        self._last_lr = _lrs(optimizer)
        self.mode = check_choice(owner, "mode", mode, ("min", "max"))
        self.threshold = check_real(owner, "threshold", threshold, 0.0)
        self.threshold_mode = check_choice(owner, "threshold_mode", threshold_mode,
                                           ("rel", "abs"))
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether bad epochs are being ignored after a reduction."""
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether the value ``a`` improves on ``best`` by the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics: float, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record one epoch's metric and reduce the rates if it has plateaued.

        Parameters
        ----------
        metrics : float
            The monitored value (anything ``float()`` accepts: a number, a one-element Tensor).
        epoch : int, optional
            Deprecated, as in PyTorch.
        """
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got "
                            f"{metrics!r:.80}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(f"ReduceLROnPlateau: {_EPOCH_WARNING}", UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _lrs(self.optimizer)

    def _reduce_lr(self) -> None:
        _refuse_schedules("ReduceLROnPlateau", self.optimizer)
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param "
                                   f"groups, min_lr gave {len(self.min_lrs)}; set min_lrs to one "
                                   "value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, low in zip(groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                group["lr"] = new
