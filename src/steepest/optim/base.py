"""The optimizer base class: parameter groups, per-parameter state, step sizes and state dicts.

An :class:`Optimizer` holds its parameters in *groups* (each a dict: ``"params"`` plus that
group's hyperparameters), keeps per-parameter buffers in :attr:`Optimizer.state`, and updates
``p.data`` in place from ``p.grad`` on every :meth:`Optimizer.step`, as ``torch.optim`` does.

Learning rates. A group's ``lr`` is a number or a schedule: any callable ``t -> lr`` where
``t = 1, 2, ...`` counts the updates *of that group* (a ``step()`` in which at least one of its
parameters has a gradient). The rate actually used is kept in ``group["last_lr"]`` and the count
in ``group["num_updates"]``.

State dicts are plain data (dicts, lists, arrays, numbers, strings, booleans, None)::

    {"optimizer": "Adam",
     "state": [per-parameter dict of buffers, in group order],
     "param_groups": [{hyperparameters..., "params": [indices],
                       "param_shapes": [[...]], "param_dtypes": ["float32", ...]}]}

A built-in schedule is stored through :meth:`steepest.schedules.Schedule.to_dict`. Any other
callable cannot be serialised: it is stored as ``{"type": "unserialisable", "repr": ...}`` and
:meth:`Optimizer.load_state_dict` keeps the loading optimizer's own ``lr`` for that group (with a
warning if that ``lr`` is a plain number).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import schedules as _schedules
from .._validation import check_bool, check_real
from ..autodiff.tensor import _EPOCH, Tensor, enable_grad

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]
LR = float | Callable[[int], float]

#: Keys the base class keeps in every group next to the hyperparameters.
_BOOKKEEPING = ("num_updates", "last_lr")
#: Keys of a saved group that describe its parameters rather than configure the group.
_PARAM_DESCRIPTION = ("params", "param_shapes", "param_dtypes")


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

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` (a list of Tensors), hyperparameters, ``"num_updates"`` and
        ``"last_lr"``.
    state : collections.defaultdict
        Maps a parameter (the Tensor itself) to its dict of buffers (empty before its first
        update).
    defaults : dict
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = self._check_group(type(self).__name__, dict(defaults))
        self.param_groups: list[dict[str, Any]] = []
        # As in torch, looking up a parameter that has no state yet gives an empty dict.
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for group in self._as_groups(params):
            self.add_param_group(group)

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
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        group = self._check_group(owner, group)
        group.setdefault("num_updates", 0)
        group.setdefault("last_lr", None)
        self.param_groups.append(group)

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
        loss = self._evaluate(closure)
        for group, lr, params in self._plan():
            self._commit(group, lr)
            self._update_group(group, lr, params)
            bump_versions(params)
        return loss

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
        lr = group["lr"]
        if not callable(lr):
            return lr
        t = group["num_updates"] + 1
        value = lr(t)
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok or not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{type(self).__name__}: param group {index}: the schedule {lr!r} "
                             f"returned lr={value!r} for update t={t}; a learning rate must be a "
                             "finite number >= 0")
        return float(value)

    @staticmethod
    def _commit(group: dict[str, Any], lr: float) -> None:
        group["num_updates"] += 1
        group["last_lr"] = lr

    def _state_of(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state.get(p)
        if not state:
            state = self._init_state(p, group)
            self.state[p] = state
        return state

    @staticmethod
    def _grad_with_decay(p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """``-grad`` when maximising, plus ``weight_decay * p`` (L2), never modifying p.grad."""
        if grad.dtype is not p.data.dtype and grad.dtype != p.data.dtype:  # dtypes are singletons
            grad = grad.astype(p.data.dtype)
        if group.get("maximize"):
            grad = -grad
        weight_decay = group.get("weight_decay", 0.0)
        if weight_decay != 0 and not group.get("decoupled_weight_decay"):
            grad = grad + weight_decay * p.data
        return grad

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's hyperparameters and buffers as plain data (arrays copied).

        Returns
        -------
        dict
            ``{"optimizer": class name, "state": [...], "param_groups": [...]}``; see the module
            docstring for the layout. ``opt.load_state_dict(opt.state_dict())`` on an optimizer
            with parameters of the same shapes and dtypes continues the run exactly. A schedule
            from :mod:`steepest.schedules` is stored as its ``to_dict()``; any other callable
            ``lr`` as ``{"type": "unserialisable", "repr": ...}`` (loading keeps the loading
            optimizer's own ``lr`` for that group).
        """
        groups, state, next_index = [], [], 0
        for group in self.param_groups:
            entry = {key: _plain_value(key, value) for key, value in group.items()
                     if key != "params"}
            params = group["params"]
            entry["params"] = list(range(next_index, next_index + len(params)))
            entry["param_shapes"] = [list(p.shape) for p in params]
            entry["param_dtypes"] = [str(p.dtype) for p in params]
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
        copied. Hyperparameters (``lr`` included) come from the state dict, except an ``lr`` that
        was an unserialisable callable: this optimizer's own ``lr`` is kept for that group.

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
        self.param_groups = groups
        self.state = state

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
        if _is_unserialisable(group.get("lr")):
            group["lr"] = current["lr"]
            if not callable(current["lr"]):
                warnings.warn(f"{where}: the saved lr was a callable that could not be saved "
                              f"({saved['lr'].get('repr')}); keeping this optimizer's lr="
                              f"{current['lr']!r}", RuntimeWarning, stacklevel=4)
        group = self._check_group(where, group)
        group["params"] = params
        return group

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


# ---------------------------------------------------------------------- shared checks
def check_lr(owner: str, lr: Any) -> LR:
    """A learning rate: a real number ``>= 0`` or a callable ``t -> lr`` (a schedule)."""
    if callable(lr):
        return lr
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool):
        raise TypeError(f"{owner}: lr must be a number >= 0 or a schedule (a callable t -> lr), "
                        f"got {lr!r}")
    return check_real(owner, "lr", lr, 0.0)


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


#: Elements per block of :func:`blockwise`: the four or five float32 arrays of an Adam update
#: (256 KiB each) stay in a 2 MiB L2 cache between passes.
BLOCK = 1 << 16
#: Arrays below this size are updated in one call (two blocks or more are worth cutting).
MIN_BLOCKED = 2 * BLOCK


def blockwise(update: Callable[..., None], arrays: tuple[np.ndarray, ...], *args: Any) -> None:
    """Run the elementwise in-place ``update(*arrays, *args)`` block by block.

    An update of several passes (Adam's is thirteen NumPy calls) over arrays of millions of
    elements streams every array through memory once per pass; on blocks of :data:`BLOCK`
    elements each pass finds the block still in cache, which makes a one-million-element Adam
    update about 1.35x faster (benchmarks/README.md). ``arrays`` (a parameter, its gradient, its
    buffers: all of one shape) are cut into matching blocks of flat views; ``update`` must change
    them in place only (``x -= ...``, ``out=``) and elementwise, so the result is bitwise that of
    one call on the whole arrays, which is what arrays under two blocks or non-contiguous ones
    get.
    """
    size = arrays[0].size
    if size < MIN_BLOCKED or not all(a.flags.c_contiguous for a in arrays):
        update(*arrays, *args)
        return
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, size, BLOCK):
        block = slice(start, start + BLOCK)
        update(*[f[block] for f in flats], *args)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp`` rounds it."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1.0 - weight), out=start)


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
    if key == "lr" and callable(value):
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
    if key == "lr" and isinstance(value, dict) and not _is_unserialisable(value):
        return _schedules.from_dict(value)
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
