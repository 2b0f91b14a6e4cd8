"""The optimizer base class: parameter groups, per-parameter state, step sizes and state dicts.

An :class:`Optimizer` holds its parameters in *groups* (each a dict: ``"params"`` plus that
group's hyperparameters), keeps per-parameter buffers in :attr:`Optimizer.state`, and updates
``p.data`` in place from ``p.grad`` on every :meth:`Optimizer.step`, as ``torch.optim`` does.

Learning rates: one mechanism. ``group["lr"]`` is always a float, the rate in force: every
update of the group uses the value it finds there, so code that reads or writes it as PyTorch code
does (``for g in opt.param_groups: g["lr"] = 0.01``) changes the next step, and the scheduler
classes of :mod:`steepest.optim.lr_scheduler` move it the same way. A schedule given as ``lr=``
(any callable ``t -> lr``, ``t = 1, 2, ...`` counting the updates *of that group*: a ``step()`` in
which at least one of its parameters has a gradient) is kept in ``group["lr_schedule"]`` and goes
through the same path: before each update of the group the optimizer writes ``schedule(t)`` into
``group["lr"]`` (at construction it writes ``schedule(1)``). A schedule owns its group's ``lr``:
a step refuses (``ValueError``) a group whose ``lr`` was written by hand since the schedule set it,
and a scheduler class refuses an optimizer with a schedule (set ``group["lr_schedule"] = None`` to
take the rate over). A step refuses a hand-written ``lr`` that is not a finite number >= 0; a
negative rate written by a :mod:`~steepest.optim.lr_scheduler` scheduler (composed chainable forms
can cross zero, as PyTorch's do) is used, as ``torch.optim`` uses it, with a ``RuntimeWarning``
once per group. The rate actually used is kept in ``group["last_lr"]`` (with a line search,
the step taken) and the count in ``group["num_updates"]``.

State dicts are plain data (dicts, lists, arrays, numbers, strings, booleans, None)::

    {"optimizer": "Adam",
     "state": [per-parameter dict of buffers, in group order],
     "param_groups": [{hyperparameters..., "params": [indices],
                       "param_shapes": [[...]], "param_dtypes": ["float32", ...]}]}

A group's ``lr_schedule`` (a built-in schedule) is stored through
:meth:`steepest.schedules.Schedule.to_dict`. Any other callable cannot be serialised: it is stored
as ``{"type": "unserialisable", "repr": ...}`` and :meth:`Optimizer.load_state_dict` keeps the
loading optimizer's own schedule for that group (or, with a warning, its own number ``lr``).
State dicts written before ``lr_schedule`` existed (a schedule stored under ``"lr"``) still load.
A group whose ``lr`` is a scheduler's negative rate also has ``"lr_from_scheduler": True``, so
that it loads (with a ``RuntimeWarning``) and the run resumes; any other negative ``lr`` in a
state dict is refused.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import kernels
from .. import schedules as _schedules
from .._validation import check_bool, check_real
from ..autodiff import _hooks
from ..autodiff import pool as _pool
from ..autodiff.tensor import _EPOCH, Tensor, enable_grad
from ._flat import FLAT_MEAN_SIZE, FlatGroup, check_flat

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]
LR = float | Callable[[int], float]

#: Keys the base class keeps in every group next to the hyperparameters.
_BOOKKEEPING = ("num_updates", "last_lr", "lr_schedule")
#: Keys of a saved group that describe its parameters rather than configure the group.
_PARAM_DESCRIPTION = ("params", "param_shapes", "param_dtypes", "lr_from_scheduler")


class ParamGroup(dict):
    """A parameter group: a plain ``dict`` (``group["lr"] = 0.01`` as in PyTorch) that tells a
    step being recorded by ``st.compile`` when the step's own code writes it. A replay makes
    the recorded calls only, so such a write would not happen again on later steps; the step
    falls back to eager instead (see :mod:`steepest.autodiff.capture`). Outside a recording a
    write costs one attribute test more than a dict's."""

    __slots__ = ()

    def _written(self, key: Any) -> None:
        if _hooks.recorder is not None and _hooks.recorder.here():
            _hooks.recorder.written(f"param_groups[...][{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        if _hooks.recorder is not None:
            self._written(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._written(key)
        dict.__delitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._written("update(...)")
        dict.update(self, *args, **kwargs)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._written(key)
        return dict.setdefault(self, key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self._written(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        self._written("popitem()")
        return dict.popitem(self)

    def clear(self) -> None:
        self._written("clear()")
        dict.clear(self)

    def __ior__(self, other: Any) -> ParamGroup:
        self._written("|=")
        dict.update(self, other)
        return self


class Optimizer:
    """Base class of every optimizer: parameter groups, state, ``step`` and state dicts.

    Subclasses pass their hyperparameters as ``defaults``, check a group's values in
    ``_check_group``, create a parameter's buffers in ``_init_state`` and update one
    parameter in ``_update``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The tensors to optimise (leaves with ``requires_grad=True``), or parameter groups:
        dicts with a ``"params"`` entry and any hyperparameters that differ from ``defaults``.
    defaults : dict
        The hyperparameters of every group that does not set its own.
    flat : {None, True, False, "views"}, default None
        Flat buffers, for the optimizers whose update is elementwise (``_flat_support``; the
        others take None or False only). A group laid flat keeps each state buffer as one
        contiguous array (``state[p][name]`` is a view into it), and a step in which every one
        of its parameters has a gradient updates the whole group in one pass of NumPy calls
        instead of one pass per parameter: the same bits, a fraction of the calls.

        * ``None``: where it pays: groups of two or more parameters of one dtype, of at most
          ``optim._flat.FLAT_MEAN_SIZE`` (4096) elements per parameter on average,
          without the numba kernels (they already make one call per parameter); for SGD a
          quarter of that, and only with momentum, decay or maximize (plain SGD is one NumPy
          call per parameter). The gradients and parameters are copied into flat vectors and the
          parameters back, so each ``p.data`` stays the array it was.
        * ``True``: the same for every group that can be (one dtype, no two parameters sharing
          memory), whatever its size.
        * ``"views"``: as True, and at its first flat step each ``p.data`` is *replaced* by a view
          into the group's flat parameter vector: no copies of the parameters, the fastest step,
          but an array taken from ``p.data`` before then is no longer the parameter (a ``p.data``
          replaced later is taken in again, by copy, at the next step).
        * ``False``: per parameter.

        A step in which a parameter of the group has no gradient, or after which the parameters'
        step counts differ, is taken per parameter, on the same buffers. ``flat`` is not saved in
        :meth:`state_dict`: checkpoints are the same either way and load into an optimizer with
        any ``flat``.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` (a list of Tensors), hyperparameters (``"lr"`` always a float),
        ``"lr_schedule"`` (the schedule given as ``lr=``, or None), ``"num_updates"`` and
        ``"last_lr"``.
    state : collections.defaultdict
        Maps a parameter (the Tensor itself) to its dict of buffers (empty before its first
        update).
    defaults : dict
    flat : {None, True, False, "views"}
        As given (it may be set later).
    """

    #: True where ``_update`` is elementwise: each element of the result depends only on the
    #: same element of the parameter, gradient and buffers and on numbers shared by the group, so
    #: that it may run on a group's flat vectors (see ``flat``).
    _flat_support = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:  # every step() marks the call (see _marking_steps)
            cls.step = _marking_steps(cls.__dict__["step"])

    def __init__(self, params: ParamsT, defaults: dict[str, Any], *, flat: bool | str | None = None
                 ) -> None:
        # id(group) -> the lr its schedule wrote last: tells a hand-written lr from the schedule's
        self._scheduled_lr: dict[int, float] = {}
        # id(group) -> its flat buffers (see flat); a cache, rebuilt whenever it is out of date
        self._flat_groups: dict[int, FlatGroup] = {}
        name = type(self).__name__
        self.flat = flat
        self.defaults = self._check_group(name, _split_schedule(name, dict(defaults)))
        self.param_groups: list[dict[str, Any]] = []
        # As in torch, looking up a parameter that has no state yet gives an empty dict.
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for group in self._as_groups(params):
            self.add_param_group(group)

    @property
    def flat(self) -> bool | str | None:
        """Flat buffers: None (where they pay), True, False or ``"views"`` (see the class)."""
        return self._flat

    @flat.setter
    def flat(self, value: bool | str | None) -> None:
        self._flat = check_flat(type(self).__name__, value, self._flat_support)
        self._flat_on = self._flat_support and value is not False

    def __getstate__(self) -> dict[str, Any]:
        # The flat records refer to arrays by identity, which a copy (deepcopy, pickle) does not
        # keep: the copy rebuilds them from its per-parameter state at its first step.
        state = self.__dict__.copy()
        state["_flat_groups"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_flat_groups", {})  # pickled before flat buffers existed
        if "_flat" not in self.__dict__:
            self.flat = None

    # ------------------------------------------------------------------ groups
    def _as_groups(self, params: Any) -> list[dict[str, Any]]:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a "
                            "single Tensor; wrap it in a list")
        if isinstance(params, dict) or isinstance(params, set | frozenset):
            raise TypeError(f"{name}: params must be an ordered iterable (list, tuple, "
                            f"generator) of Tensors or of dicts, got a {type(params).__name__}")
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got "
                            f"{type(params).__name__}") from None
        if not items:
            raise ValueError(f"{name}: params is empty; give at least one Tensor to optimise")
        if all(isinstance(item, dict) for item in items):
            return items
        if any(isinstance(item, dict) for item in items):
            raise TypeError(f"{name}: params mixes Tensors and dicts; give either Tensors or "
                            "parameter groups (dicts)")
        return [{"params": items}]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the others from defaults).

        Parameters
        ----------
        param_group : dict
            ``"params"`` (a Tensor or an iterable of Tensors) and any hyperparameters; for
            instance ``{"params": head.parameters(), "lr": 1e-2}``.
        """
        index = len(self.param_groups)
        owner = f"{type(self).__name__}: param group {index}"
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{owner}: a parameter group must be a dict with a 'params' entry, "
                            f"got {param_group!r}")
        group = dict(param_group)
        group["params"] = self._check_params(owner, group["params"])
        if "lr" in group:  # the group's own lr: a number here means no schedule from defaults
            group = _split_schedule(owner, group)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        group = self._check_group(owner, group)
        group.setdefault("num_updates", 0)
        group.setdefault("last_lr", None)
        group = ParamGroup(group)
        self.param_groups.append(group)
        self._remember_lr(group)

    def _remember_lr(self, group: dict[str, Any]) -> None:
        if group.get("lr_schedule") is not None:
            self._scheduled_lr[id(group)] = group["lr"]

    def _check_params(self, owner: str, params: Any) -> list[Tensor]:
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set | frozenset | dict):
            raise TypeError(f"{owner}: params must be an ordered iterable of Tensors, got a "
                            f"{type(params).__name__}")
        else:
            try:
                params = list(params)
            except TypeError:
                raise TypeError(f"{owner}: params must be a Tensor or an iterable of Tensors, got "
                                f"{type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner}: params is empty; give at least one Tensor to optimise")
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        seen: set[int] = set()
        for i, p in enumerate(params):
            where = f"{owner}: params[{i}]"
            if not isinstance(p, Tensor):
                raise TypeError(f"{where} must be a Tensor, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{where} (shape {p.shape}) does not require gradients; create "
                                 "it with requires_grad=True or leave it out")
            if not p.is_leaf:
                raise ValueError(f"{where} (shape {p.shape}) is not a leaf tensor (it was computed "
                                 "by an op); optimise the tensors it was computed from")
            if p.dtype.kind != "f":
                raise TypeError(f"{where} has dtype {p.dtype}; optimizers work on real "
                                "floating-point parameters")
            if id(p) in seen:
                raise ValueError(f"{where} (shape {p.shape}) appears twice in this group")
            if id(p) in taken:
                raise ValueError(f"{where} (shape {p.shape}) is already in another parameter "
                                 "group; a parameter may belong to one group only")
            seen.add(id(p))
        return params

    # ------------------------------------------------------------------ hyperparameters
    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise a group's hyperparameters; returns the group.

        Subclasses extend this (calling ``super()``) for their own hyperparameters.
        """
        group["lr"] = check_lr(owner, group["lr"])
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The buffers of a parameter before its first update."""
        return {}

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        """Update ``p.data`` (and ``state``) in place from ``grad`` with learning rate ``lr``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter.

        Parameters
        ----------
        set_to_none : bool, default True
            Set ``p.grad`` to ``None`` (the parameter is then skipped by ``step`` until a new
            backward pass reaches it); ``False`` fills the existing arrays with zeros instead.
        """
        check_bool(type(self).__name__ + ".zero_grad", "set_to_none", set_to_none)
        if _hooks.recorder is not None and _hooks.recorder.here():  # st.compile replays it as a call
            _hooks.recorder.call(type(self)._zero_grads, (self, set_to_none), {})
            return
        self._zero_grads(set_to_none)

    def _zero_grads(self, set_to_none: bool) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one update of every parameter that has a gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (it should clear the gradients and call
            ``backward()``); it runs with gradient recording on, before the update.

        Returns
        -------
        The closure's return value, or None without a closure.
        """
        self._opt_called = True  # lets a scheduler check the order of the calls
        if _hooks.recorder is not None and _hooks.recorder.here():  # st.compile replays the update as a call
            return _hooks.recorder.call(Optimizer._step, (self, closure), {},
                                        inline=self._replay_form if closure is None else None)
        return self._step(closure)

    def _replay_form(self) -> tuple[str, list[str], dict[str, Any], list[Tensor]] | None:
        """The update just taken, as source ``st.compile`` may write in place of a call of
        ``_step`` (the in-line form of ``autodiff._hooks``): None here, the call stays. An
        optimizer whose common setting is a few NumPy lines per parameter may return them with
        the condition under which they are exactly what ``_step`` does."""
        return None

    def _step(self, closure: Callable[[], Any] | None) -> Any:
        loss = self._evaluate(closure)
        flat = self._flat_on
        for group, lr, params in self._plan():
            self._commit(group, lr)
            if not (flat and self._flat_step(group, lr, params)):
                self._update_group(group, lr, params)
            bump_versions(params)
        return loss

    def _flat_step(self, group: dict[str, Any], lr: float, params: list[Tensor]) -> bool:
        """Update ``group`` on its flat buffers if every parameter has a gradient, a flat form is
        possible, wanted (``flat``) and in step with the per-parameter state; False: not done
        (nothing changed), the caller updates per parameter."""
        every = group["params"]
        if len(params) != len(every):  # a parameter without a gradient: per parameter
            return False
        mode = self._flat
        if mode is None:
            limit = 0 if kernels.fused else self._flat_mean_size(group)
            if limit <= 0:
                return False
        views = mode == "views"
        record = self._flat_groups.get(id(group))
        if record is not None and record.group is not group:
            record = None  # a group that is gone, whose id was reused
        if record is None or record.views is not views or not record.same_arrays(every):
            live = {id(g) for g in self.param_groups}  # forget the records of removed groups
            self._flat_groups = {key: kept for key, kept in self._flat_groups.items()
                                 if key in live}
            record = self._flat_groups[id(group)] = FlatGroup(group, views, record)
        if not record.possible or (mode is None and record.total > limit * len(record.params)):
            return False
        if not record.grads_match():
            return False
        if not record.current(self.state) and not record.adopt(
                [self._state_of(p, group) for p in every]):
            return False  # e.g. step counts that differ: per parameter, on the same buffers
        record.gather()
        self._update(record.param, record.grad, record.state, group, lr)
        record.scatter()
        return True

    def _flat_mean_size(self, group: dict[str, Any]) -> int:
        """Up to how many elements per parameter (on average) ``flat=None`` lays ``group`` flat;
        0: never. A flat step saves NumPy calls (as many per parameter as the update makes) and
        costs copies (about three passes over the group), so an update of few passes per
        parameter says less (SGD)."""
        return FLAT_MEAN_SIZE

    def _update_group(self, group: dict[str, Any], lr: float, params: list[Tensor]) -> None:
        """Update the parameters of ``group`` that have a gradient (``params``), rate ``lr``.

        Calls ``_update`` per parameter; an optimizer may override it with a loop that
        serves its common settings with fewer Python calls (the result must be bitwise the same).
        """
        for p in params:
            self._update(p, p.grad, self._state_of(p, group), group, lr)

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        if not callable(closure):
            raise TypeError(f"step: closure must be callable, got {closure!r}")
        with enable_grad():
            return closure()

    def _plan(self) -> list[tuple[dict[str, Any], float, list[Tensor]]]:
        """Each group's parameters with a gradient and its next learning rate, all checked
        before anything is changed (so that a bad gradient or schedule leaves no half-step)."""
        plan = []
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                grad = p.grad
                # the common case in two C-level tests; _check_grad decides (and explains) the rest
                if type(grad) is not np.ndarray or grad.shape != p.data.shape:
                    self._check_grad(index, p)
            if params:
                plan.append((group, self._next_lr(index, group), params))
        return plan

    def _check_grad(self, index: int, p: Tensor) -> None:
        grad = p.grad
        if not isinstance(grad, np.ndarray):
            raise TypeError(f"{type(self).__name__}: param group {index}: a parameter of shape "
                            f"{p.shape} has a .grad of type {type(grad).__name__}; expected an "
                            "ndarray or None")
        if grad.shape != p.shape:
            raise ValueError(f"{type(self).__name__}: param group {index}: a parameter of shape "
                             f"{p.shape} has a gradient of shape {grad.shape}")

    def _next_lr(self, index: int, group: dict[str, Any]) -> float:
        """The rate of the group's next update: ``group["lr"]``, or its schedule's value (checked,
        not yet written: :meth:`_commit` writes it)."""
        lr = group["lr"]
        schedule = group.get("lr_schedule")
        if schedule is None:
            if type(lr) is float and 0.0 <= lr < math.inf:  # the common case
                return lr
            owner = f"{type(self).__name__}: param group {index}"
            if _from_scheduler(self, group, lr):
                return _negative_scheduler_lr(self, owner, group, lr)
            return _written_lr(owner, lr)
        written = self._scheduled_lr.get(id(group), lr)
        if lr != written:
            raise ValueError(f"{type(self).__name__}: param group {index}: lr was set to {lr!r}, "
                             f"but this group's lr comes from the schedule {schedule!r} (given as "
                             f"lr=), which set it to {written!r}; set group['lr_schedule'] = None "
                             "first to set the rate by hand (or by a scheduler)")
        return _scheduled_rate(f"{type(self).__name__}: param group {index}", schedule,
                               group["num_updates"] + 1)

    def _commit(self, group: dict[str, Any], lr: float, taken: float | None = None) -> None:
        """Count an update of ``group`` at rate ``lr`` (a schedule's rate is written into
        ``group["lr"]``); ``taken`` is the step actually taken when it differs (line search)."""
        # The base class's own bookkeeping, written past ParamGroup.__setitem__: it is no write
        # by a step being recorded (the optimizer's step runs outside the recording) and the
        # Python-level __setitem__ cost about 0.7 us per step of a small network.
        dict.__setitem__(group, "num_updates", group["num_updates"] + 1)
        dict.__setitem__(group, "last_lr", lr if taken is None else taken)
        if group.get("lr_schedule") is not None:
            dict.__setitem__(group, "lr", lr)
            self._scheduled_lr[id(group)] = lr

    def _state_of(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state.get(p)
        if not state:
            state = self._init_state(p, group)
            self.state[p] = state
        return state

    @staticmethod
    def _grad_with_decay(p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """``-grad`` when maximising, plus ``weight_decay * p`` (L2), never modifying p.grad.

        Always an ndarray: of a 0-d array NumPy's ``-grad`` and ``grad + ...`` are NumPy
        *scalars*, and a buffer an optimizer creates from one (SGD's ``g.copy()``) would then
        be a scalar that its in-place updates (``buffer *= momentum``) only rebind."""
        if grad.dtype is not p.data.dtype and grad.dtype != p.data.dtype:  # dtypes are singletons
            grad = grad.astype(p.data.dtype)
        weight_decay = group.get("weight_decay", 0.0)
        coupled = weight_decay != 0 and not group.get("decoupled_weight_decay")
        if group.get("maximize"):
            grad = -grad
        elif not coupled:
            return grad  # p.grad (or its cast) itself: an ndarray, no check to pay
        if coupled:
            grad = grad + weight_decay * p.data
        if type(grad) is not np.ndarray:  # a NumPy scalar: a 0-d parameter's result
            grad = np.asarray(grad)
        return grad

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's hyperparameters and buffers as plain data (arrays copied).

        Returns
        -------
        dict
            ``{"optimizer": class name, "state": [...], "param_groups": [...]}``; see the module
            docstring for the layout. ``opt.load_state_dict(opt.state_dict())`` on an optimizer
            with parameters of the same shapes and dtypes continues the run exactly. ``lr`` is the
            float in force; an ``lr_schedule`` from :mod:`steepest.schedules` is stored as its
            ``to_dict()``, any other callable as ``{"type": "unserialisable", "repr": ...}``
            (loading keeps the loading optimizer's own schedule for that group).
        """
        groups, state, next_index = [], [], 0
        for group in self.param_groups:
            entry = {key: _plain_value(key, value) for key, value in group.items()
                     if key != "params"}
            params = group["params"]
            entry["params"] = list(range(next_index, next_index + len(params)))
            entry["param_shapes"] = [list(p.shape) for p in params]
            entry["param_dtypes"] = [str(p.dtype) for p in params]
            if _from_scheduler(self, group, group["lr"]):  # a negative rate it may keep
                entry["lr_from_scheduler"] = True
            next_index += len(params)
            groups.append(entry)
            state.extend({key: _copy_value(value) for key, value in self.state.get(p, {}).items()}
                         for p in params)
        return {"optimizer": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load hyperparameters and buffers saved by :meth:`state_dict`.

        The saved groups must match this optimizer's groups in number, and each group's
        parameters in number, shape and dtype; the state dict must come from the same optimizer
        class. Otherwise a ``ValueError`` says what differs and nothing is changed. Buffers are
        copied. Hyperparameters (``lr`` and ``lr_schedule`` included) come from the state dict,
        except an ``lr_schedule`` that was an unserialisable callable: this optimizer's own
        schedule (or number ``lr``) is kept for that group.

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict` (possibly through ``st.save``/``st.load``).
        """
        name = type(self).__name__
        owner = f"{name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise TypeError(f"{owner}: expected a dict with 'state' and 'param_groups' entries, "
                            f"got {type(state_dict).__name__}")
        saved_name = state_dict.get("optimizer", name)
        if saved_name != name:
            raise ValueError(f"{owner}: the state dict was saved by {saved_name}, not {name}")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, list | tuple) or len(saved_groups) != len(self.param_groups):
            count = len(saved_groups) if isinstance(saved_groups, list | tuple) else saved_groups
            raise ValueError(f"{owner}: the state dict has {count} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        groups = [self._loaded_group(owner, i, saved, current)
                  for i, (saved, current) in enumerate(zip(saved_groups, self.param_groups,
                                                           strict=True))]
        state = self._loaded_state(owner, state_dict["state"], groups)
        self._move_flat_records(groups)
        self.param_groups = groups
        self.state = state
        self._scheduled_lr = {}
        for group in groups:
            self._remember_lr(group)
            if group.get("lr_schedule") is None and _is_negative_rate(group["lr"]):
                note_scheduler_lr(self, group, group["lr"])  # as the saving scheduler had it
                self.__dict__.setdefault("_warned_negative_lr", set()).add(id(group))  # warned

    def _move_flat_records(self, groups: list[dict[str, Any]]) -> None:
        """Hand the flat records of the current groups to their loaded replacements: the state
        buffers are rebuilt from the loaded state at the next step, and with ``flat="views"``
        the parameters keep their views (their arrays are not replaced a second time)."""
        moved = {}
        for old, new in zip(self.param_groups, groups, strict=True):
            record = self._flat_groups.get(id(old))
            if record is not None and record.group is old:
                record.group = new
                moved[id(new)] = record
        self._flat_groups = moved

    def _loaded_group(self, owner: str, index: int, saved: Any,
                      current: dict[str, Any]) -> dict[str, Any]:
        where = f"{owner}: param group {index}"
        if not isinstance(saved, dict) or "params" not in saved:
            raise ValueError(f"{where}: expected a dict with a 'params' entry, got {saved!r}")
        params = current["params"]
        if len(saved["params"]) != len(params):
            raise ValueError(f"{where} has {len(saved['params'])} parameters in the state dict "
                             f"and {len(params)} in this optimizer")
        shapes = saved.get("param_shapes")
        dtypes = saved.get("param_dtypes")
        for i, p in enumerate(params):
            if shapes is not None and tuple(shapes[i]) != p.shape:
                raise ValueError(f"{where}: parameter {i} has shape {tuple(shapes[i])} in the "
                                 f"state dict and {p.shape} in this optimizer")
            if dtypes is not None and np.dtype(dtypes[i]) != p.dtype:
                raise ValueError(f"{where}: parameter {i} has dtype {dtypes[i]} in the state dict "
                                 f"and {p.dtype} in this optimizer")
        group = {key: value for key, value in current.items() if key != "params"}
        for key, value in saved.items():
            if key not in _PARAM_DESCRIPTION:
                group[key] = _restored_value(key, value)
        if isinstance(group.get("lr"), dict) and "lr_schedule" not in saved:
            group["lr_schedule"] = group["lr"]  # written before lr_schedule: a schedule as lr
            group["lr"] = None
        schedule = group.get("lr_schedule")
        if isinstance(schedule, dict) and _is_unserialisable(schedule):
            group["lr_schedule"] = current.get("lr_schedule")
            if group["lr_schedule"] is None:
                group["lr"] = current["lr"]
                warnings.warn(f"{where}: the saved lr_schedule was a callable that could not be "
                              f"saved ({schedule.get('repr')}); keeping this optimizer's lr="
                              f"{current['lr']!r}", RuntimeWarning, stacklevel=4)
        elif isinstance(schedule, dict):
            group["lr_schedule"] = _schedules.from_dict(schedule)
        if group.get("lr_schedule") is not None and group["lr"] is None:
            group["lr"] = _scheduled_rate(where, group["lr_schedule"],
                                          max(int(group.get("num_updates", 0)), 1))
        if group.get("lr_schedule") is not None and not callable(group["lr_schedule"]):
            raise TypeError(f"{where}: lr_schedule must be a schedule (a callable t -> lr) or "
                            f"None, got {group['lr_schedule']!r}")
        negative = _saved_negative_lr(where, group, saved.get("lr_from_scheduler") is True)
        group = self._check_group(where, group)
        if negative is not None:
            group["lr"] = negative
        group["params"] = params
        return ParamGroup(group)

    def _loaded_state(self, owner: str, saved_state: Any,
                      groups: list[dict[str, Any]]) -> defaultdict[Tensor, dict[str, Any]]:
        pairs = [(p, group) for group in groups for p in group["params"]]
        if not isinstance(saved_state, list | tuple) or len(saved_state) != len(pairs):
            count = len(saved_state) if isinstance(saved_state, list | tuple) else saved_state
            raise ValueError(f"{owner}: the state dict holds state for {count} parameters, this "
                             f"optimizer has {len(pairs)}")
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, ((p, group), saved) in enumerate(zip(pairs, saved_state, strict=True)):
            if not isinstance(saved, dict):
                raise ValueError(f"{owner}: state[{i}] must be a dict, got {type(saved).__name__}")
            if not saved:
                continue
            fresh = self._init_state(p, group)
            if set(saved) != set(fresh):
                raise ValueError(f"{owner}: state[{i}] has the buffers {sorted(saved)}; with "
                                 f"these hyperparameters {type(self).__name__} keeps "
                                 f"{sorted(fresh)}")
            state[p] = {key: _loaded_buffer(key, f"{owner}: state[{i}][{key!r}]", value,
                                            fresh[key], p)
                        for key, value in saved.items()}
        return state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]!r}")
        lines.append(")")
        return "\n".join(lines)


Optimizer.step._marks_steps = True


def _marking_steps(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` that first records that it was called: a learning-rate scheduler warns, as
    PyTorch does, when its first ``step()`` comes before any ``optimizer.step()``."""
    if getattr(step, "_marks_steps", False):
        return step

    @functools.wraps(step)
    def marked(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True
        if _hooks.recorder is not None and _hooks.recorder.here():  # st.compile replays the update as a call
            closure = args[0] if args else kwargs.get("closure")
            return _hooks.recorder.call(step, (self, *args), kwargs,
                                        inline=self._replay_form if closure is None else None)
        return step(self, *args, **kwargs)

    marked._marks_steps = True
    return marked


# ---------------------------------------------------------------------- shared checks
def check_lr(owner: str, lr: Any) -> float:
    """A group's learning rate, a real number ``>= 0`` (a schedule given as ``lr=`` has already
    been moved to ``group["lr_schedule"]`` when the groups are checked)."""
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool):
        raise TypeError(f"{owner}: lr must be a number >= 0 or a schedule (a callable t -> lr), "
                        f"got {lr!r}")
    return check_real(owner, "lr", lr, 0.0)


def _split_schedule(owner: str, group: dict[str, Any]) -> dict[str, Any]:
    """Move a schedule given as ``group["lr"]`` to ``group["lr_schedule"]``, leaving its first
    rate in ``group["lr"]``; a number ``lr`` gets ``lr_schedule`` None unless one is given."""
    lr = group["lr"]
    if callable(lr):
        group["lr_schedule"] = lr
        group["lr"] = _scheduled_rate(owner, lr, 1)
    else:
        schedule = group.setdefault("lr_schedule", None)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"{owner}: lr_schedule must be a schedule (a callable t -> lr) or "
                            f"None, got {schedule!r}")
    return group


def _scheduled_rate(owner: str, schedule: Callable[[int], Any], t: int) -> float:
    """``schedule(t)``, checked to be a finite number >= 0."""
    value = schedule(t)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{owner}: the schedule {schedule!r} returned lr={value!r} for update "
                         f"t={t}; a learning rate must be a finite number >= 0")
    return float(value)


def note_scheduler_lr(optimizer: Optimizer, group: dict[str, Any], lr: Any) -> None:
    """Record that a scheduler of :mod:`steepest.optim.lr_scheduler` wrote ``lr`` into
    ``group``: a *negative* value is then taken at the next step (with a warning) instead of
    refused as a hand-written one is (see :func:`_negative_scheduler_lr`)."""
    records = optimizer.__dict__.setdefault("_scheduler_negative_lrs", {})
    if isinstance(lr, numbers.Real) and lr < 0:
        records[id(group)] = (group, lr)
    elif records:
        records.pop(id(group), None)


def _is_negative_rate(lr: Any) -> bool:
    """Whether ``lr`` is a finite real number below 0."""
    return (isinstance(lr, numbers.Real) and not isinstance(lr, bool) and math.isfinite(lr)
            and lr < 0)


def _saved_negative_lr(where: str, group: dict[str, Any], from_scheduler: bool) -> float | None:
    """A loaded group's finite negative ``lr`` that a scheduler wrote (the state dict says so
    with ``lr_from_scheduler``; see :func:`note_scheduler_lr`), replaced by 0 in ``group`` for
    the hyperparameter check; None for any other group, whose check then refuses a negative
    ``lr``. It is kept, with a warning, so that a checkpoint saved after a chained schedule
    crossed zero loads and resumes as torch.optim's does."""
    lr = group.get("lr")
    if not from_scheduler or group.get("lr_schedule") is not None or not _is_negative_rate(lr):
        return None
    warnings.warn(f"{where}: the state dict holds lr={lr!r} < 0, which a learning-rate scheduler "
                  "wrote; it is kept and the next update uses it as torch.optim does (it moves "
                  "up the gradient)", RuntimeWarning, stacklevel=_outside_steepest())
    group["lr"] = 0.0
    return float(lr)


def _from_scheduler(optimizer: Optimizer, group: dict[str, Any], lr: Any) -> bool:
    """Whether ``group["lr"]`` is ``lr``, a finite negative number a scheduler wrote there (an
    optimizer copied with deepcopy or pickle keeps its records with its copied groups)."""
    records = optimizer.__dict__.get("_scheduler_negative_lrs")
    if not records or not isinstance(lr, numbers.Real) or isinstance(lr, bool) \
            or not math.isfinite(lr):
        return False
    return any(kept is group and value == lr for kept, value in records.values())


def _negative_scheduler_lr(optimizer: Optimizer, owner: str, group: dict[str, Any],
                           lr: float) -> float:
    """A negative rate a scheduler produced, taken as ``torch.optim`` takes it (its optimizers do
    not check ``lr`` at step time), with a ``RuntimeWarning`` the first time for the group: the
    step then goes *up* the gradient. Chained schedulers can do this: CosineAnnealingLR's
    recursive form, composed with another scheduler, overshoots ``eta_min`` and crosses zero
    (the value is torch's own recurrence's, not a rounding error)."""
    warned = optimizer.__dict__.setdefault("_warned_negative_lr", set())
    if id(group) not in warned:
        warned.add(id(group))
        warnings.warn(f"{owner}: a learning-rate scheduler set lr={lr!r} < 0; the update uses it "
                      "as torch.optim does, so it moves up the gradient. Chained schedulers "
                      "can cross zero: CosineAnnealingLR's recursive form, composed with another "
                      "scheduler on the same optimizer, overshoots eta_min. (Warned once per "
                      "group.)",
                      RuntimeWarning, stacklevel=_outside_steepest())
    return float(lr)


def _outside_steepest() -> int:
    """The ``stacklevel`` of the innermost caller outside the steepest package (a step is a
    different number of frames deep in each optimizer)."""
    package = __file__.rsplit("optim", 1)[0]
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _written_lr(owner: str, lr: Any) -> float:
    """A group's ``lr`` as written by hand or by a scheduler: a finite number >= 0."""
    if callable(lr):
        raise TypeError(f"{owner}: lr is the callable {lr!r}; group['lr'] holds the rate in force "
                        "(a number): give a schedule as lr= when building the optimizer, or set "
                        "group['lr_schedule']")
    ok = isinstance(lr, numbers.Real) and not isinstance(lr, bool)
    if not ok or not (np.isfinite(lr) and lr >= 0):
        raise ValueError(f"{owner}: lr must be a finite number >= 0, got {lr!r}")
    return float(lr)


def check_betas(owner: str, betas: Any) -> tuple[float, float]:
    """A pair of averaging coefficients, each in ``[0, 1)``."""
    if isinstance(betas, str) or not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(check_real(owner, f"betas[{i}]", b, 0.0, 1.0, high_open=True)
                 for i, b in enumerate(betas))


def check_nonnegative(owner: str, group: dict[str, Any], *names: str) -> None:
    """Check that each named hyperparameter of ``group`` is a real number ``>= 0``."""
    for name in names:
        group[name] = check_real(owner, name, group[name], 0.0)


def check_flags(owner: str, group: dict[str, Any], *names: str) -> None:
    """Check that each named hyperparameter of ``group`` is a bool."""
    for name in names:
        check_bool(owner, name, group[name])


#: Elements per block of :func:`blockwise` (512 KiB of float32): a 1M-element Adam update is
#: fastest near this size, where each pass finds the block still in cache; below two blocks an
#: array is one call, which is faster still (a block's passes are Python calls too;
#: benchmarks/README.md, issue 18, third round).
BLOCK = 1 << 17
#: Arrays below this size are updated in one call (two blocks or more are worth cutting).
MIN_BLOCKED = 2 * BLOCK


def blockwise(update: Callable[..., None], arrays: tuple[np.ndarray, ...], *args: Any,
              work: int = 0) -> None:
    """Run the elementwise in-place ``update(*arrays, *buffers, *args)`` block by block.

    An update of several passes (Adam's is thirteen NumPy calls) over arrays of millions of
    elements streams every array through memory once per pass; on blocks of :data:`BLOCK`
    elements each pass finds the block still in cache (benchmarks/README.md). ``arrays`` (a
    parameter, its gradient, its buffers: all of one shape) are cut into matching blocks of flat
    views; ``update`` must change them in place only (``x -= ...``, ``out=``) and elementwise, so
    the result is bitwise that of one call on the whole arrays, which is what arrays under two
    blocks or non-contiguous ones get.

    ``work`` is how many scratch arrays ``update`` takes after the arrays, for intermediate
    results it writes with ``out=`` rather than allocating a temporary per pass: uninitialised
    buffers from the pool, of the block's shape and the arrays' result dtype, for blocks of at
    least the pool's threshold, so that a large update allocates nothing; None below it (and
    with the pool off), where ``out=None`` allocates as before, because a small temporary costs
    less than fetching a buffer. ``update`` binds what each ``out=`` call returns. A pass into
    a buffer rounds as the temporary it replaces would.
    """
    first = arrays[0]
    size = first.size
    if size < MIN_BLOCKED or not all(a.flags.c_contiguous for a in arrays):
        # most parameters are small: their None buffers without a call
        buffers = (None,) * work if size < _pool.threshold else \
            _work_buffers(first.shape, size, arrays, work)
        update(*arrays, *buffers, *args)
        return
    flats = [a.reshape(-1) for a in arrays]
    buffers = _work_buffers((BLOCK,), BLOCK, arrays, work)
    for start in range(0, size, BLOCK):
        block = slice(start, start + BLOCK)
        update(*[f[block] for f in flats],
               *[b if b is None else b[:size - start] for b in buffers], *args)


def _work_buffers(shape: tuple[int, ...], size: int, arrays: tuple[np.ndarray, ...],
                  count: int) -> list[np.ndarray | None]:
    """``count`` work arrays of ``shape`` (``size`` elements) for :func:`blockwise`'s update:
    pooled buffers, or None for small ones."""
    if size < _pool.threshold:
        return [None] * count
    dtype = np.result_type(*arrays)
    return [_pool.take(shape, dtype) for _ in range(count)]


def lerp_(start: np.ndarray, end: np.ndarray, weight: float,
          work: np.ndarray | None = None) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp`` rounds it.

    ``work``, an array of the broadcast shape, receives ``end - start`` instead of a new one.
    """
    difference = np.subtract(end, start, out=work)
    if weight < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= 1.0 - weight
        np.subtract(end, difference, out=start)


def bump_versions(params: list[Tensor]) -> None:
    """Count one in-place update of each parameter (see :class:`steepest.Tensor`): a graph that
    saved a parameter before the step then refuses to backpropagate with the new values.
    Every optimizer step goes through here once per updated parameter."""
    epoch = _EPOCH[0]  # autodiff.tensor.bump, inlined: this runs for every parameter of every step
    for p in params:
        epoch += 1
        counter = p._vc
        counter[0] += 1
        counter[1] = epoch
    _EPOCH[0] = epoch


# ---------------------------------------------------------------------- plain data
def _plain_value(key: str, value: Any) -> Any:
    if key == "lr_schedule" and value is not None:
        try:
            return value.to_dict()  # a built-in schedule
        except (AttributeError, TypeError):
            return {"type": "unserialisable", "repr": repr(value)}
    if isinstance(value, tuple):
        return list(value)
    return copy.deepcopy(value)


def _is_unserialisable(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "unserialisable"


def _restored_value(key: str, value: Any) -> Any:
    if key == "betas" and isinstance(value, list):
        return tuple(value)
    return copy.deepcopy(value)


def _copy_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    return copy.deepcopy(value)


#: Buffers that are sums or averages of squares (or maxima of magnitudes): never negative.
NONNEGATIVE_BUFFERS = frozenset({"exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum", "acc_delta",
                                 "exp_inf"})


def _loaded_buffer(key: str, where: str, value: Any, fresh: Any, p: Tensor) -> Any:
    """A saved buffer restored, refusing state no run can produce: a step count that is not a
    whole number >= 0, a negative second moment. (``load_state_dict`` checks everything before
    it changes anything, so a refusal leaves the optimizer as it was.)"""
    if key == "step" and isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not (np.isfinite(value) and value >= 0 and float(value).is_integer()):
            raise ValueError(f"{where} must be a whole number >= 0 (the updates taken), "
                             f"got {value!r}")
    restored = _restored_buffer(where, value, fresh, p)
    if key in NONNEGATIVE_BUFFERS and isinstance(restored, np.ndarray) and restored.size:
        low = np.min(restored)
        if not low >= 0:  # NaN fails too
            raise ValueError(f"{where} holds {float(low)!r}; it accumulates squares (or magnitudes), so "
                             "every entry must be a number >= 0")
    return restored


def _restored_buffer(where: str, value: Any, fresh: Any, p: Tensor) -> Any:
    if isinstance(fresh, np.ndarray) or (fresh is None and value is not None):
        array = np.asarray(value)
        if array.shape != p.shape:
            raise ValueError(f"{where} has shape {array.shape}; the parameter has shape {p.shape}")
        if array.dtype.kind not in "fiu":
            raise ValueError(f"{where} has dtype {array.dtype}; expected real numbers")
        return array.astype(p.dtype, copy=True)
    if isinstance(fresh, bool) or not isinstance(fresh, numbers.Real):
        return copy.deepcopy(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} must be a number, got {value!r}")
    return type(fresh)(value)
