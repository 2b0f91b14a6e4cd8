"""Step capture (``st.compile``): record one training step, replay it as flat NumPy calls.

A training step (zero the gradients, forward, loss, backward, optimizer update) run eagerly makes
Tensors, walks a graph and dispatches every op through :func:`~steepest.autodiff.ops.apply`. For
fixed input shapes the step does the same NumPy calls every time, so :func:`compile` records
them once, while the step runs eagerly, through the switch of ``autodiff._hooks``:

- every op's forward (``op.forward`` on arrays) becomes one line of a generated Python function;
- a ``backward()`` becomes the lines the eager backward (``tensor._run_backward``) would run:
  the same nodes in the same order, the same rules, the same accumulation (``previous + g``),
  the same ``unbroadcast`` and scatter buffers, and the same ``_accumulate`` into each leaf's
  ``grad`` (which a replay reads live: it adds to whatever ``p.grad`` holds then);
- every function whose effect is not an op (``optimizer.step``, ``zero_grad``, a scheduler's
  ``step``, a dropout mask's draw, BatchNorm's running statistics, gradient clipping) becomes a
  call of that same function with the same arguments (see ``autodiff._hooks.replayed``).

The generated function binds the step's inputs to local variables, reads each parameter's
``data`` live (an optimizer updates it in place, or may rebind it), and returns the step's
result with its Tensors replaced by constant Tensors over the replay's arrays. No Tensor is
made and no graph is walked; its source is kept (``CompiledStep.source``) for inspection.

Nothing here changes the eager engine: it only reads it. The engine knows nothing of capture.
"""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import math
import operator
import os
import re
import sys
import threading
import types
import warnings
from collections import ChainMap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _hooks, _inline
from . import tensor as _tensor_module
from ._layout import FlatLayout
from .ops import _operand, unbroadcast
from .tensor import Tensor, _fresh, _run_backward, _sum, _sum_grad

__all__ = ["compile", "CompiledStep", "CaptureWarning"]

#: Re-recordings kept per input signature before a step is run eagerly for good.
MAX_ENTRIES = 8
#: Signatures kept per compiled step (each new batch shape, or model reached by name, is one);
#: past it the oldest is forgotten, with the tensors it held.
MAX_SIGNATURES = 64
#: Verifications in a row that may meet other operations than their recording's, each taking
#: the new recording (a setting changed between two calls), before data-dependent control flow
#: is assumed and the step runs eagerly.
MAX_RERECORDS = 3

def _plain_numbers(value: Any) -> Any:
    """A step's result with each :class:`_StepNumber` in it (in tuples, lists and dicts) a
    plain float, as a replay returns it."""
    kind = type(value)
    if kind is _StepNumber:
        return float(value)
    if kind is tuple or kind is list:
        items = [_plain_numbers(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else kind(items)
    if kind is dict:
        items = {k: _plain_numbers(v) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    return value


def _same_number(a: Any, b: float) -> bool:
    """``a`` is the float ``b``, NaN included and zeros by sign (a guard on a module's
    non-finite or zero setting: ``negative_slope = -0.0`` gives other signs of zero)."""
    return type(a) is float and ((a == b and math.copysign(1.0, a) == math.copysign(1.0, b))
                                 or (a != a and b != b))


class _StepNumber(float):
    """A Python number read from a step value while the step records (``loss.item()``, a
    replayed call's float result), and every number computed from one.

    A replay makes the recorded NumPy and replayed calls only, so Python control flow on such a
    number (``if loss.item() < best:``, ``max(loss.item(), 1.0)``, ``int(...)``) would be frozen
    at the recording's branch. Comparing, truth-testing or rounding one therefore makes the
    recording fail (the step falls back to eager, with its warning); arithmetic gives another
    one, so that ``loss.item() * 2 < 1`` is seen too. Outside its recording it is a float.
    """

    def __new__(cls, value: float, recorder: Any) -> _StepNumber:
        number = super().__new__(cls, value)
        number._recorder = recorder
        return number

    def _steers(self, how: str) -> None:
        recorder = self._recorder
        if recorder is not None and recorder is _hooks.recorder and recorder.here():
            recorder.fail(f"a number read from a step value ({how}) steers Python: "
                          "data-dependent control flow, which a replay would freeze")

    __hash__ = float.__hash__


def _steering(name: str, how: str) -> Callable[..., Any]:
    method = getattr(float, name)

    def steer(self: _StepNumber, *args: Any) -> Any:
        self._steers(how)
        return method(self, *args)
    steer.__name__ = name
    return steer


def _derived(name: str) -> Callable[..., Any]:
    method = getattr(float, name)

    def derive(self: _StepNumber, *args: Any) -> Any:
        value = method(self, *args)
        return _StepNumber(value, self._recorder) if type(value) is float else value
    derive.__name__ = name
    return derive


for _name_, _how_ in (("__lt__", "compared"), ("__le__", "compared"), ("__gt__", "compared"),
                      ("__ge__", "compared"), ("__eq__", "compared"), ("__ne__", "compared"),
                      ("__bool__", "truth-tested"), ("__int__", "made an int"),
                      ("__trunc__", "made an int"), ("__floor__", "rounded"),
                      ("__ceil__", "rounded"), ("__round__", "rounded"),
                      ("is_integer", "tested")):
    setattr(_StepNumber, _name_, _steering(_name_, _how_))
for _name_ in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
               "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
               "__rmod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__"):
    setattr(_StepNumber, _name_, _derived(_name_))


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MISS = object()  # what a replay returns when its guards do not hold: record anew
_SCALARS = (float, int, bool, str, type(None))


#: Held while a step records: the switch in ``_hooks`` serves one recording at a time.
_RECORDING = threading.RLock()


class CaptureWarning(UserWarning):
    """A step given to :func:`compile` runs eagerly (the warning says why and where)."""


class _Unsupported(Exception):
    """Raised inside a recording for something a replay could not reproduce."""


def _user_frame() -> str:
    """``file:line`` of the innermost frame outside steepest (the user's code), for warnings."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


# --------------------------------------------------------------------------- replay helpers
def _as_ndarray(x: Any) -> np.ndarray:
    return x if type(x) is np.ndarray else np.asarray(x)


_const_tensor = Tensor._constant  # a result Tensor of a replay: a constant over its array


def _seed_of(gradient: Any, dtype: np.dtype) -> np.ndarray:
    """``backward(gradient)``'s seed, made as ``Tensor.backward`` makes it."""
    return np.asarray(gradient).astype(dtype, copy=True)


# --------------------------------------------------------------------------- signatures
def _signature(value: Any) -> Any:
    """The part of an argument a recording depends on: arrays by shape and dtype, Tensors also
    by ``requires_grad``, Python scalars by value, containers by their items, any other object
    by identity."""
    kind = type(value)
    if kind is np.ndarray:
        return (value.shape, value.dtype)
    if isinstance(value, Tensor):
        return (kind, value.data.shape, value.data.dtype, value.requires_grad)
    if kind in _SCALARS:
        return _value_key(value)  # -0.0 is not 0.0
    if kind is tuple or kind is list:
        return (kind, tuple([_signature(v) for v in value]))
    if kind is dict:
        return (kind, tuple([(k, _signature(v)) for k, v in value.items()]))
    return (kind, id(value))


def _by_identity(value: Any, out: list[Any]) -> list[Any]:
    """The objects inside an argument that its signature names by identity (kept alive by a
    recording, so that their ids are not reused)."""
    kind = type(value)
    if kind in (tuple, list):
        for v in value:
            _by_identity(v, out)
    elif kind is dict:
        for v in value.values():
            _by_identity(v, out)
    elif kind is not np.ndarray and kind not in _SCALARS and not isinstance(value, Tensor):
        out.append(value)
    return out


def _paths(value: Any, path: str, out: list[tuple[str, Any]]) -> None:
    """Every array and Tensor inside an argument with the expression that reaches it."""
    if type(value) is np.ndarray or isinstance(value, Tensor):
        out.append((path, value))
    elif type(value) in (tuple, list):
        for i, item in enumerate(value):
            _paths(item, f"{path}[{i}]", out)
    elif type(value) is dict:
        for key, item in value.items():
            _paths(item, f"{path}[{key!r}]", out)


# --------------------------------------------------------------------------- the recorder
class _Recorder:
    """Installed in ``_hooks.recorder`` while one call of the step runs eagerly; writes the
    replay function's lines as the step goes."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()  # the hooks of other threads run eagerly
        self.lines: list[str] = []        # the body of the replay function
        self.prologue: list[str] = []     # input bindings and guards (no side effects)
        self.guards: list[str] = []       # conditions under which the replay applies
        self.value_guards: list[str] = []  # the same, on the inputs' values (after the prologue)
        self.namespace: dict[str, Any] = {"_MISS": _MISS, "_T": _const_tensor,
                                          "_asarray": _as_ndarray, "_same_number": _same_number}
        self.values: dict[str, Any] = {}  # name -> its value in this (eager) call
        self.var_of: dict[int, str] = {}  # id(array) -> the local holding it in a replay
        self.keep: list[Any] = []         # keeps every mapped object alive (ids stay unique)
        self.tensor_ref: dict[int, str] = {}  # id(tensor) -> expression of that Tensor object
        self.live: list[tuple[str, Tensor]] = []  # tensors from outside the step, read live
        self.made: set[int] = set()       # ids of tensors made inside the step
        self.inputs: list[tuple[str, Tensor]] = []  # the Tensor arguments, by path
        self.made_consts: set[str] = set()  # globals holding tensors made inside the step
        self.nodes: dict[int, tuple] = {}  # id(op output) -> (ins, kwargs, out, residual)
        self.numbers: dict[int, str] = {}  # id(Python number read from a step value) -> local
        self.opaque: set[int] = set()     # ids of other results of replayed calls
        self.handed: set[int] = set()     # ids of the gradient arrays handed to a leaf
        self.grad_local: dict[int, str] = {}  # id(leaf) -> the local its .grad was set to last
        self.forward_vars: set[str] = set()
        self.modules: list[Any] = []
        self.module_ids: set[int] = set()
        self.structure: Callable[[], Any] | None = None
        self.optimizers: list[Any] = []
        self.stateful: list[Any] = []     # schedulers and other objects with a state_dict
        self.reads_rng = False
        self.failed: str | None = None
        self.where = ""
        self._counter = itertools.count()

    def here(self) -> bool:
        """Whether the calling thread is the one recording (``_hooks`` asks before each hook)."""
        return threading.get_ident() == self.thread

    # ------------------------------------------------------------- names
    def _new(self, prefix: str = "v") -> str:
        return f"{prefix}{next(self._counter)}"

    def const(self, value: Any) -> str:
        """A global name of the replay function holding ``value`` as it is."""
        if value is None or type(value) is bool:
            return repr(value)
        name = self._new("c")
        self.namespace[name] = value
        self.values[name] = value
        self.keep.append(value)
        return name

    def bind(self, name: str, value: Any) -> None:
        self.values[name] = value
        if type(value) is np.ndarray:
            self.var_of[id(value)] = name
        self.keep.append(value)

    # ------------------------------------------------------------- failure
    def fail(self, reason: str) -> None:
        """Stop recording: the rest of this call runs eagerly and the step falls back."""
        if self.failed is None:
            self.failed = reason
            self.where = _user_frame()
        _hooks.recorder = None

    def written(self, what: str) -> None:
        """The step's own code writes ``what`` (an optimizer's ``param_groups`` entry): a
        replay makes only the recorded calls, so it would not write it again."""
        self.fail(f"the step's own code writes {what}, which a replay would not do again; set "
                  "it outside the step, or with a scheduler")

    def unsupported(self, what: str) -> None:
        """A hook for what has no capture rule: the step falls back to eager."""
        self.fail(f"{what} has no capture rule")

    def _paused(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        _hooks.recorder = None
        try:
            return fn(*args, **kwargs)
        finally:
            if self.failed is None:
                _hooks.recorder = self

    # ------------------------------------------------------------- inputs
    def bind_inputs(self, args: tuple, kwargs: dict) -> None:
        found: list[tuple[str, Any]] = []
        _paths(list(args), "args", found)
        _paths(kwargs, "kwargs", found)
        for path, value in found:
            if isinstance(value, Tensor):
                self.inputs.append((path, value))
                self.tensor_ref.setdefault(id(value), path)
                self.keep.append(value)
                if id(value.data) not in self.var_of:
                    name = self._new()
                    self.prologue.append(f"{name} = {path}.data")
                    self.bind(name, value.data)
            elif id(value) not in self.var_of:
                name = self._new()
                self.prologue.append(f"{name} = {path}")
                self.bind(name, value)

    def _tensor(self, t: Tensor) -> str:
        """The local holding ``t``'s array, loading it (live) if the step has not seen it."""
        data = t.data
        name = self.var_of.get(id(data))
        if name is not None:
            return name
        ref = self._ref(t)
        name = self._new()
        self.lines.append(f"{name} = {ref}.data")
        self.bind(name, data)
        return name

    def _ref(self, t: Tensor) -> str:
        """The expression of the Tensor object ``t`` in a replay (an argument or a global)."""
        ref = self.tensor_ref.get(id(t))
        if ref is None:
            if id(t) in self.made:  # a step-local tensor whose array came from outside ops
                ref = self.const(t)
                self.made_consts.add(ref)
            else:
                ref = self.const(t)
                self.live.append((ref, t))
                self.guards.append(f"{ref}.requires_grad is {t.requires_grad!r}")
                self.guards.append(f"{ref}.data.shape == {t.data.shape!r}")
                self.guards.append(f"{ref}.data.dtype is {self.const(t.data.dtype)}")
            self.tensor_ref[id(t)] = ref
            self.keep.append(t)
        return ref

    def _operand(self, a: Any, what: str) -> str:
        """The expression of one argument of an op or a replayed call."""
        if isinstance(a, Tensor):
            return self._tensor(a)
        kind = type(a)
        if kind is _StepNumber:
            name = self.numbers.get(id(a))
            if name is None:  # computed in Python from a read number: not in the replay
                raise _Unsupported(f"{what} uses a Python number computed from a step value "
                                   "(loss.item() * 2): do that arithmetic with ops")
            return name
        if kind is float or kind is int:
            return repr(a) if kind is int or math.isfinite(a) else self.const(a)
        if a is None or kind is bool or kind is str:
            return repr(a)
        if kind is np.ndarray:
            return self.var_of.get(id(a)) or self.const(a)
        if id(a) in self.opaque:
            raise _Unsupported(f"{what} uses a result of a replayed call that is not an array")
        return self.const(a)

    # ------------------------------------------------------------- hooks
    def apply(self, op: Any, args: tuple, kwargs: dict) -> Tensor:
        from .ops import apply

        try:
            ins = []
            for a in args:
                if type(a) not in (float, int, bool, np.ndarray, _StepNumber) \
                        and a is not None and not isinstance(a, Tensor):
                    a = _operand(a)  # as apply converts it (a NumPy scalar to a 0-d array)
                ins.append(self._operand(a, f"op '{op.name}'"))
            kw = {}
            for key, value in kwargs.items():
                if isinstance(value, Tensor):
                    raise _Unsupported(f"op '{op.name}' got a Tensor as keyword {key!r}")
                kw[key] = self._operand(value, f"op '{op.name}'")
        except Exception as error:  # _Unsupported, or an input apply itself refuses
            self.fail(str(error))
            return apply(op, args, kwargs)
        out = self._paused(apply, op, args, kwargs)
        name = self._new()
        call = f"{_name('F', op)}({', '.join(ins + [f'{k}={v}' for k, v in kw.items()])})"
        fn_name = _name("F", op)
        self.namespace[fn_name] = op.forward
        residual = None
        inlined = None if op.residual else _inline.forward(
            op.name, name, ins, [self._value(a) for a in ins],
            {k: self._value(v) for k, v in kw.items()}, self._new)
        if inlined is not None and self._inlined(inlined, name, out.data):
            self.lines += inlined  # the function's NumPy expression, in line (autodiff._inline)
        else:
            if op.residual:
                residual = self._new("r")
                self.lines.append(f"{name}, {residual} = {call}")
                if out._saved is not None:
                    self.values[residual] = out._saved[1]["residual"]
            else:
                self.lines.append(f"{name} = {call}")
            if out.data.ndim == 0:  # a reduction may give a NumPy scalar: apply makes it an array
                self.lines.append(f"{name} = _asarray({name})")
        self.bind(name, out.data)
        self.forward_vars.add(name)
        self.made.add(id(out))
        self.keep.append(out)
        if out._op is not None:
            self.nodes[id(out)] = (ins, kw, name, residual)
        return out

    def wrap(self, t: Tensor, data: Any) -> None:
        """A Tensor made inside the step: ``Tensor(x)`` of an input is a copy of it."""
        self.made.add(id(t))
        self.keep.append(t)
        if t.requires_grad:
            self.fail("a tensor that requires grad is made inside the step")
            return
        if isinstance(data, Tensor):
            source = self.var_of.get(id(data.data))
            if t.data is data.data:
                return  # shares the array, so the same local
        else:
            source = self.var_of.get(id(data)) if type(data) is np.ndarray else None
            if type(data) is _StepNumber:
                self.fail("a Python number read from a step value makes a tensor")
                return
        if source is not None and id(t.data) not in self.var_of:
            name = self._new()
            self.lines.append(f"{name} = _array({source}, dtype={self.const(t.data.dtype)})")
            self.namespace["_array"] = np.array
            self.bind(name, t.data)

    def module(self, module: Any, structure: Callable[[], Any]) -> None:
        """A module runs: its ``training`` flag, its plain settings (numbers, strings, None:
        ``Dropout.p``, ``MSELoss.reduction``, which its forward passes on as constants) but those
        its class lists in ``_forward_ignores`` (``Linear.in_features``), and the module tree's
        structure are guards."""
        if id(module) not in self.module_ids:
            self.module_ids.add(id(module))
            self.modules.append(module)
            self.keep.append(module)
            ref = self.const(module)
            self.guards.append(f"{ref}.training is {module.training!r}")
            # settings the class's own forward declares it never reads (not inherited)
            ignored = type(module).__dict__.get("_forward_ignores", ())
            for key, value in vars(module).items():
                if key == "training" or key.startswith("_") or not key.isidentifier() \
                        or key in ignored:
                    continue
                if type(value) in _BY_VALUE:
                    self.guards.append(self._setting_guard(f"{ref}.{key}", value))
                elif type(value) is np.ndarray:  # a loss's class weights: rebound, not edited
                    self.guards.append(f"{ref}.{key} is {self.const(value)}")
        if self.structure is None:
            self.structure = structure
            self.guards.append(f"{self.const(structure)}() == {structure()!r}")

    def _setting_guard(self, expression: str, value: Any) -> str:
        """``expression`` still holds ``value``, of the same type (``0.5`` vs ``1`` or ``True``)."""
        kind = type(value)
        if value is None or kind is bool:
            return f"{expression} is {value!r}"
        if kind is float and (not math.isfinite(value) or value == 0.0):
            return f"_same_number({expression}, {self.const(value)})"
        return f"type({expression}) is {kind.__name__} and {expression} == {value!r}"

    def read(self, t: Tensor, kind: str) -> Any:
        if kind == "bool":
            self.fail("bool() of a tensor (data-dependent Python control flow)")
            return None
        value = self._paused(t.item)
        if type(value) is not float:  # an int or bool steers Python (range, indexing, if)
            self.fail(f"item() of a {t.data.dtype} tensor (a value that may steer Python)")
            return value
        value = _StepNumber(value, self)
        try:
            source = self._tensor(t)
        except _Unsupported as error:
            self.fail(str(error))
            return value
        name = self._new("n")
        self.lines.append(f"{name} = {source}.item()")
        self.values[name] = value
        self.numbers[id(value)] = name
        self.keep.append(value)
        return value

    def branch(self, fn: Callable[..., Any], args: tuple, result: Any) -> None:
        """Python control flow in library code that depends on input values (``cross_entropy``
        checking for ``ignore_index``): a guard of the replay, evaluated before anything runs."""
        prologue_names = {line.split(" = ")[0] for line in self.prologue}
        parts = []
        for a in args:
            name = self.var_of.get(id(a.data if isinstance(a, Tensor) else a)) \
                if type(a) is np.ndarray or isinstance(a, Tensor) else None
            if name is not None and name in prologue_names:
                parts.append(name)
            elif type(a) in _SCALARS:
                parts.append(repr(a))
            else:
                self.fail(f"{fn.__name__}() decides on a value computed inside the step")
                return
        self.value_guards.append(f"{self.const(fn)}({', '.join(parts)}) == {result!r}")

    def call(self, fn: Callable[..., Any], args: tuple, kwargs: dict,
             inline: Callable[[], Any] | None = None) -> Any:
        """A replayed function (optimizer step, zero_grad, scheduler, dropout mask, clipping).

        ``inline``, if given, is asked after ``fn`` ran for source that does what ``fn`` does
        (see ``autodiff._hooks``), to be written in place of the call where it applies.
        """
        try:
            specs = [self._call_arg(a) for a in args]
            kspecs = {k: self._call_arg(v) for k, v in kwargs.items()}
        except Exception as error:
            self.fail(str(error))
            return fn(*args, **kwargs)
        self._note_state(args)
        result = self._paused(fn, *args, **kwargs)
        call = f"{self.const(fn)}({', '.join(specs + [f'{k}={v}' for k, v in kspecs.items()])})"
        if result is None and inline is not None:
            try:
                form = inline()
            except Exception:  # never let capture break a step that ran eagerly: keep the call
                form = None
            self._inline_call(form, call)
        elif result is None:
            self.lines.append(call)
        elif type(result) is np.ndarray:
            name = self._new()
            self.lines.append(f"{name} = {call}")
            self.bind(name, result)
        elif type(result) is tuple and all(type(r) is np.ndarray for r in result):
            names = [self._new() for _ in result]
            self.lines.append(f"{', '.join(names)}, = {call}")
            for name, r in zip(names, result, strict=True):
                self.bind(name, r)
        elif type(result) is float:
            result = _StepNumber(result, self)
            name = self._new("n")
            self.lines.append(f"{name} = {call}")
            self.values[name] = result
            self.numbers[id(result)] = name
            self.keep.append(result)
        else:
            self.lines.append(call)
            self.opaque.add(id(result))
            self.keep.append(result)
        return result

    def _inline_call(self, form: Any, call: str) -> None:
        """Write a replayed call's in-line form (``autodiff._hooks``), falling back to ``call``
        at replay time where its condition does not hold, and at recording time where a tensor
        it needs does not hold this step's own gradient array."""
        if form is None:
            self.lines.append(call)
            return
        condition, lines, names, grads, *offered = form
        checks = []
        for t in grads:  # each .grad must be the array the replay's backward handed it
            local = self.grad_local.get(id(t))
            if local is None:
                self.lines.append(call)
                return
            checks.append(f"{self._ref(t)}.grad is {local}")
        prefix = self._new("k") + "_"
        for key, value in names.items():
            self.namespace[prefix + key] = value
            self.keep.append(value)
        body = [line.format(p=prefix) for line in lines]
        # a group's flat form (autodiff._layout), from the last so that earlier spans hold
        for index, (params, start, stop, flat_lines) in reversed(list(enumerate(
                offered[0] if offered else []))):
            layout, views = f"{prefix}L{index}", f"{prefix}fg{index}"
            if self._lay_out(params, layout, views):
                fast = [line.format(p=prefix, P=f"{layout}.flat_p", G=f"{layout}.flat_g")
                        for line in flat_lines]
                body[start:stop] = [f"if {views} is not None:", *["    " + line for line in fast],
                                    "else:", *["    " + line for line in body[start:stop]]]
        self.lines.append(f"if {' and '.join(checks + [condition.format(p=prefix)])}:")
        self.lines += ["    " + line for line in body]
        self.lines += ["else:", f"    {call}"]

    def _lay_out(self, params: list[Tensor], layout: str, views: str) -> bool:
        """Write the lines that make the gradients of ``params`` so that they go into the views
        of a :class:`~steepest.autodiff._layout.FlatLayout` (``matmul`` or ``add.reduce`` with
        ``out=``) whenever its ``ready()`` says so at the start of the backward pass, else as
        before. Only where each gradient is made by one such line that nothing else reads, of
        the parameter's shape and dtype, and the ``out=`` form gives it bitwise (checked on this
        recording's values). False: nothing written."""
        dtype = params[0].data.dtype
        if len({id(p) for p in params}) != len(params):
            return False
        edits = []
        for k, p in enumerate(params):
            g = self.grad_local.get(id(p))
            value = self.values.get(g) if g is not None else None
            if type(value) is not np.ndarray or value.dtype != dtype or value.shape != p.data.shape:
                return False
            edit = self._writer(g, views, k, value, self._ref(p))
            if edit is None:
                return False
            edits.append(edit)
        for line, text in edits:
            self.lines[line] = text
        self.lines.insert(min(line for line, _ in edits), f"{views} = {layout}.ready()")
        # laid out first thing (before any local of the replay holds a parameter's array)
        self.prologue.insert(0, f"{layout}.adopt()")
        self.namespace[layout] = FlatLayout(params, dtype)
        self.namespace["_np_matmul"] = np.matmul
        self.namespace["_np_add_reduce"] = np.add.reduce
        return True

    def _writer(self, g: str, views: str, k: int, value: np.ndarray, ref: str
                ) -> tuple[int, str] | None:
        """The index of the line that makes gradient ``g`` and its text writing into
        ``views[k]`` when ``views`` is not None, if ``g`` is made by a matrix product or a sum
        over axis 0 and read only by ``ref``'s accumulation."""
        view = f"{views}[{k}]"
        accumulate = f"{ref}.grad = {g} if {ref}.grad is None else _sum_grad({ref}.grad, {g})"
        word = re.compile(rf"\b{g}\b")
        readers = [i for i, line in enumerate(self.lines) if word.search(line)]
        if len(readers) != 2 or self.lines[readers[1]] != accumulate:
            return None
        line = readers[0]
        product = re.fullmatch(rf"{g} = ([\w.]+) @ ([\w.]+)", self.lines[line])
        total = re.fullmatch(rf"{g} = _np_add_reduce\((\w+), axis=0\)", self.lines[line])
        scope = ChainMap(self.values, self.namespace)
        out = np.empty_like(value)
        try:
            if product is not None:
                a, b = product.groups()
                np.matmul(eval(a, {}, scope), eval(b, {}, scope), out=out)  # noqa: S307 - names
                fast = f"_np_matmul({a}, {b}, out={view})"
                slow = f"{a} @ {b}"
            elif total is not None:
                (x,) = total.groups()
                np.add.reduce(scope[x], axis=0, out=out)
                fast = f"_np_add_reduce({x}, axis=0, out={view})"
                slow = f"_np_add_reduce({x}, axis=0)"
            else:
                return None
        except Exception:  # an operand this recording cannot evaluate: keep the line
            return None
        if out.tobytes() != value.tobytes():
            return None
        return line, f"{g} = {fast} if {views} is not None else {slow}"

    def _call_arg(self, a: Any) -> str:
        if isinstance(a, types.FunctionType | types.MethodType | types.LambdaType | functools.partial):
            raise _Unsupported("a replayed call (optimizer.step(closure)?) takes a function, "
                               "which would run the step's own code again")
        if type(a) is not list and type(a) is not tuple and hasattr(a, "__next__"):
            raise _Unsupported("a replayed call takes a one-shot iterator")
        if isinstance(a, Tensor):
            if id(a) in self.made:
                return f"_T({self._tensor(a)})"
            return self._ref(a)
        return self._operand(a, "a replayed call")

    def _note_state(self, args: tuple) -> None:
        """Remember the optimizers and schedulers a replayed call acts on (for verification)."""
        for a in args:
            if hasattr(a, "param_groups") and hasattr(a, "state_dict"):
                if not any(a is o for o in self.optimizers):
                    self.optimizers.append(a)
                    self.keep.append(a)
                    groups = f"{self.const(a)}.param_groups"
                    self.guards.append(f"len({groups}) == {len(a.param_groups)}")
                    for i, group in enumerate(a.param_groups):
                        self.guards.append(f"len({groups}[{i}]['params']) == {len(group['params'])}")
            elif hasattr(a, "state_dict") and hasattr(a, "load_state_dict"):
                if not any(a is s for s in self.stateful):
                    self.stateful.append(a)
                    self.keep.append(a)

    # ------------------------------------------------------------- backward
    def backward(self, root: Tensor, seed: np.ndarray, retain_graph: bool,
                 gradient: Any = None) -> None:
        try:
            self._write_backward(root, seed, gradient)
        except _Unsupported as error:
            self.fail(str(error))
        except Exception as error:  # never let capture break a step that runs eagerly
            self.fail(f"the backward pass could not be written ({type(error).__name__}: {error})")
        self._paused(_run_backward, root, seed, retain_graph)

    def _emit(self, fn: Any, fn_name: str, args: list[str], kwargs: dict[str, str]) -> str:
        """Write ``name = fn(args, kwargs)`` and compute it now (the backward's decisions on
        shapes and dtypes are taken on these values, as the eager backward takes them)."""
        self.namespace[fn_name] = fn
        name = self._new("g")
        text = ", ".join(args + [f"{k}={v}" for k, v in kwargs.items()])
        self.lines.append(f"{name} = {fn_name}({text})")
        value = fn(*[self._value(a) for a in args], **{k: self._value(v) for k, v in kwargs.items()})
        self.values[name] = value
        self.keep.append(value)
        return name

    def _value(self, expr: str) -> Any:
        if expr in self.values:
            return self.values[expr]
        return eval(expr, {"inf": math.inf, "nan": math.nan})  # a literal: 1.0, None, (2, 3)

    def _inlined(self, lines: list[str], target: str, expected: Any) -> bool:
        """Whether ``lines`` (from ``autodiff._inline``), run on this recording's values, give
        ``target`` bitwise equal to ``expected``, the function's result (then they may replace
        the call: the replay runs them on arrays of the same shapes and dtypes)."""
        if type(expected) is not np.ndarray:
            return False
        scope: ChainMap = ChainMap({}, self.values)
        try:
            exec("\n".join(lines), dict(_inline.HELPERS), scope)  # noqa: S102 - written by _inline
        except Exception:  # a writer that does not fit these inputs: keep the call
            return False
        got = scope.maps[0].get(target)
        if not (type(got) is np.ndarray and got.shape == expected.shape
                and got.dtype == expected.dtype and got.tobytes() == expected.tobytes()):
            return False
        self.namespace.update(_inline.HELPERS)
        return True

    def _rule(self, op: Any, i: int, g: str, ans: str, ins: list[str], kw: dict) -> str:
        """``name = rule(g, ans, *ins)`` of ``op``'s ``i``-th rule, written in line where
        ``autodiff._inline`` has its NumPy expression, else as a call (as :meth:`_emit`)."""
        args = [g, ans, *ins]
        values = [self._value(a) for a in args]
        kwvalues = {k: self._value(v) for k, v in kw.items()}
        value = op.rules[i](*values, **kwvalues)
        name = self._new("g")
        inlined = _inline.rule(op.name, i, name, g, ans, ins, values[0], values[1], values[2:],
                               kwvalues)
        if inlined is not None and self._inlined(inlined, name, value):
            self.lines += inlined
        else:
            fn_name = _name(f"R{i}", op)
            self.namespace[fn_name] = op.rules[i]
            text = ", ".join(args + [f"{k}={v}" for k, v in kw.items()])
            self.lines.append(f"{name} = {fn_name}({text})")
        self.values[name] = value
        self.keep.append(value)
        return name

    def _write_backward(self, root: Tensor, seed: np.ndarray, gradient: Any) -> None:
        """Mirror ``tensor._run_backward`` line by line, writing instead of computing."""
        dtype = self.const(root.data.dtype)
        if gradient is not None:  # as Tensor.backward makes its seed: a private copy, cast
            source = self._operand(gradient, "backward's gradient")
            g = self._emit(_seed_of, "_seed_of", [source, dtype], {})
        elif root.data.ndim == 0:
            g = self._emit(np.array, "_np_array", ["1"], {"dtype": dtype})
        else:
            g = self._emit(np.ones_like, "_np_ones_like", [self._tensor(root)], {})
        grads: dict[int, str] = {id(root): g}
        leaves: list[Tensor] = []
        owned: dict[int, str] = {}
        heap: list = []
        if root._op is None:
            leaves.append(root)
        else:
            heap = [(-root._seq, root)]
        while heap:
            node = heapq.heappop(heap)[1]
            g = grads.pop(id(node))
            if node._retain:
                raise _Unsupported("retain_grad() on a tensor computed in the step")
            info = self.nodes.get(id(node))
            if info is None or node._saved is None:
                raise _Unsupported("backward reaches a tensor computed outside the step")
            ins, kw, ans, residual = info
            op = node._op
            if residual is not None:
                kw = {**kw, "residual": residual}
            if op.scatter is not None:
                parent = node._parents[0]
                if self._scatter(grads, owned, parent, op, g, kw):
                    if parent._op is None:
                        leaves.append(parent)
                    else:
                        heapq.heappush(heap, (-parent._seq, parent))
                continue
            self._node_grads(node, op, g, ans, ins, kw, grads, owned, leaves, heap)
        for leaf in leaves:
            self._accumulate(leaf, grads.pop(id(leaf)))

    def _node_grads(self, node: Tensor, op: Any, g: str, ans: str, ins: list[str], kw: dict,
                    grads: dict, owned: dict, leaves: list, heap: list) -> None:
        rules = op.rules if op.multi_rule is None else None
        if rules is None:
            needed = self.const([parent is not None for parent in node._parents])
            every = self._emit(op.multi_rule, _name("M", op), [needed, g, ans, f"({', '.join(ins)},)"],
                               kw)
        for i, parent in enumerate(node._parents):
            if parent is None:
                continue
            if rules is None:
                gi = self._emit(_item, "_item", [every, str(i)], {})
            else:
                gi = self._rule(op, i, g, ans, ins, kw)
                shape = np.shape(self._value(ins[i]))
                if op.broadcasts and getattr(self.values[gi], "shape", None) != shape:
                    gi = self._emit(unbroadcast, "_unbroadcast", [gi, repr(shape)], {})
            key = id(parent)
            previous = grads.get(key)
            if previous is not None:
                if owned and owned.get(key) == previous \
                        and getattr(self.values[gi], "dtype", None) == self.values[previous].dtype:
                    self.lines.append(f"_np_add({previous}, {gi}, out={previous})")
                    self.namespace["_np_add"] = np.add
                    np.add(self.values[previous], self.values[gi], out=self.values[previous])
                else:
                    grads[key] = self._emit(_sum, "_sum", [previous, gi], {})
                continue
            grads[key] = gi
            if parent._op is None:
                leaves.append(parent)
            else:
                heapq.heappush(heap, (-parent._seq, parent))

    def _scatter(self, grads: dict, owned: dict, parent: Tensor, op: Any, g: str, kw: dict) -> bool:
        """``tensor._scatter``, written."""
        key = id(parent)
        previous = grads.get(key)
        text = ", ".join(f"{k}={v}" for k, v in kw.items())
        if previous is not None and owned.get(key) == previous:
            self._scatter_into(op, previous, g, kw, text)
            return False
        data = parent.data
        gd = self.values[g].dtype
        dtype = data.dtype if data.dtype == gd else np.result_type(data.dtype, gd)
        buffer = self._emit(np.zeros, "_np_zeros", [repr(data.shape)], {"dtype": self.const(dtype)})
        if previous is not None:
            self.lines.append(f"_np_add({buffer}, {previous}, out={buffer})")
            self.namespace["_np_add"] = np.add
            np.add(self.values[buffer], self.values[previous], out=self.values[buffer])
        self._scatter_into(op, buffer, g, kw, text)
        owned[key] = grads[key] = buffer
        return previous is None

    def _scatter_into(self, op: Any, buffer: str, g: str, kw: dict, text: str) -> None:
        name = _name("S", op)
        self.namespace[name] = op.scatter
        self.lines.append(f"{name}({buffer}, {g}{', ' + text if text else ''})")
        op.scatter(self.values[buffer], self.values[g], **{k: self._value(v) for k, v in kw.items()})

    def _accumulate(self, leaf: Tensor, g: str) -> None:
        """``tensor._accumulate``, written: casts and broadcasts decided here, the ``grad is
        None`` test left to the replay (it depends on what ``leaf.grad`` holds then)."""
        if id(leaf) in self.made:
            raise _Unsupported("backward reaches a leaf tensor made inside the step")
        ref = self._ref(leaf)
        data = leaf.data
        value = self.values[g]
        if type(value) is not np.ndarray:
            g = self._emit(np.asarray, "_np_asarray", [g], {})
            value = self.values[g]
        if value.dtype is not data.dtype and value.dtype != data.dtype:
            if value.dtype.kind == "c" and data.dtype.kind != "c":
                raise _Unsupported("a complex gradient reaches a real tensor")
            g = self._emit(_astype, "_astype", [g, self.const(data.dtype)], {})
            value = self.values[g]
        if value.shape != data.shape:
            g = self._emit(np.broadcast_to, "_np_broadcast_to", [g, repr(data.shape)], {})
            value = self.values[g]
        shared = (value.base is not None or not value.flags.writeable or id(value) in self.handed
                  or g in self.forward_vars or g.startswith("c"))
        self.handed.add(id(value))
        # tensor._accumulate's last lines, written out in line (one call less per parameter)
        self.namespace["_fresh"] = _fresh
        self.namespace["_sum_grad"] = _sum_grad
        first = f"_fresh({g})" if shared else g
        self.lines.append(f"{ref}.grad = {first} if {ref}.grad is None else _sum_grad({ref}.grad, {g})")
        if shared:
            self.grad_local.pop(id(leaf), None)
        else:
            self.grad_local[id(leaf)] = g

    # ------------------------------------------------------------- the result
    def result(self, value: Any) -> str:
        """The expression a replay returns for the step's result ``value``."""
        if isinstance(value, Tensor):
            ref = self.tensor_ref.get(id(value))
            if ref is not None or id(value) not in self.made:
                return self._ref(value)
            name = self.var_of.get(id(value.data))
            if name is None:
                raise _Unsupported("the step returns a tensor whose values were computed outside ops")
            return f"_T({name})"
        kind = type(value)
        if kind is np.ndarray:
            name = self.var_of.get(id(value))
            if name is not None:
                return f"{name}"
            for ref, t in self.live + [(path, t) for path, t in self.inputs]:
                if value is t.grad:
                    return f"{ref}.grad"
                if value is t.data:
                    return f"{ref}.data"
            raise _Unsupported("the step returns an array computed outside ops")
        if kind is _StepNumber:
            name = self.numbers.get(id(value))
            if name is None:
                raise _Unsupported("the step returns a Python number computed from a step value "
                                   "(loss.item() * 2): compute it with ops, or outside the step")
            return name
        if kind is float:
            raise _Unsupported("the step returns a Python float computed outside ops "
                               "(use loss.item())")
        if kind is tuple:
            return "(" + "".join(self.result(v) + ", " for v in value) + ")"
        if kind is list:
            return "[" + ", ".join(self.result(v) for v in value) + "]"
        if kind is dict and all(type(k) is str for k in value):
            return "{" + ", ".join(f"{k!r}: {self.result(v)}" for k, v in value.items()) + "}"
        if value is None or kind in (int, bool, str):
            return repr(value)
        raise _Unsupported(f"the step returns a {kind.__name__}, which a replay cannot rebuild")

    def program(self, returned: str) -> tuple[str, Callable[..., Any]]:
        """The replay function's source and the function itself."""
        body = ["def replay(args, kwargs):"]
        if self.guards:
            body.append(f"    if not ({' and '.join(self.guards)}):")
            body.append("        return _MISS")
        body += [f"    {line}" for line in self.prologue]
        if self.value_guards:  # guards on input values (branch) read the prologue's locals
            body.append(f"    if not ({' and '.join(self.value_guards)}):")
            body.append("        return _MISS")
        body += [f"    {line}" for line in self.lines]
        body.append(f"    return {returned}")
        source = "\n".join(body) + "\n"
        namespace = dict(self.namespace)
        exec(source, namespace)  # noqa: S102 - the source is written above, from recorded calls
        return source, namespace["replay"]

    def release(self) -> None:
        """Drop what only the recording needed (the first call's arrays), keeping what a
        verification reads: the globals, the tensors, optimizers, schedulers and modules."""
        self.values.clear()
        self.var_of.clear()
        self.keep.clear()
        self.nodes.clear()
        self.numbers.clear()
        self.opaque.clear()
        self.handed.clear()
        self.grad_local.clear()
        self.made.clear()
        self.inputs.clear()


def _name(prefix: str, op: Any) -> str:
    """The global name of one of ``op``'s functions in a replay (readable, an identifier)."""
    return prefix + "_" + re.sub(r"\W", "_", op.name)


def _item(values: list, i: int) -> Any:
    return values[i]


def _astype(g: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return g.astype(dtype)


# --------------------------------------------------------------------------- state snapshots
class _OptimizerState:
    """An optimizer's state and parameter groups, restored in place: the same dicts and
    arrays, with their values and dtypes as they were. (``load_state_dict`` would cast the
    buffers to the parameters' dtype, after ``model.to(float64)`` with float32 momentum buffers,
    and refuse buffers a setting no longer keeps, a momentum buffer after ``momentum = 0``.)
    An optimizer without a ``state`` dict of dicts goes through its state dict."""

    def __init__(self, opt: Any) -> None:
        self.opt = opt
        state, groups = getattr(opt, "state", None), getattr(opt, "param_groups", None)
        self.in_place = isinstance(state, dict) and isinstance(groups, list) \
            and all(isinstance(e, dict) for e in state.values()) \
            and all(isinstance(g, dict) for g in groups)
        if not self.in_place:
            self.saved = copy.deepcopy(opt.state_dict())
            return
        self.state, self.groups = state, groups
        self.entries = [(p, entry, [(k, v, v.copy() if type(v) is np.ndarray else copy.deepcopy(v))
                                    for k, v in entry.items()]) for p, entry in state.items()]
        self.group_items = [(g, {k: v if k == "params" else copy.deepcopy(v) for k, v in g.items()},
                             list(g["params"])) for g in groups]
        self.group_list = list(groups)
        self.scheduled = dict(getattr(opt, "_scheduled_lr", {}))

    def restore(self) -> None:
        opt = self.opt
        if not self.in_place:
            opt.load_state_dict(copy.deepcopy(self.saved))
            return
        opt.state, opt.param_groups = self.state, self.groups
        kept = {id(p) for p, _, _ in self.entries}
        for p in [p for p in self.state if id(p) not in kept]:  # made by the replayed step
            del self.state[p]
        for p, entry, items in self.entries:
            self.state[p] = entry
            entry.clear()
            for key, value, saved in items:
                if type(value) is np.ndarray:
                    np.copyto(value, saved)
                    entry[key] = value
                else:
                    entry[key] = copy.deepcopy(saved)
        self.groups[:] = self.group_list
        for group, items, params in self.group_items:
            dict.clear(group)
            dict.update(group, items)  # past ParamGroup's checks: these are its own values
            group["params"][:] = params
        if hasattr(opt, "_scheduled_lr"):
            opt._scheduled_lr = dict(self.scheduled)


class _Snapshot:
    """Everything a step touches, by value: restored before the verification replay and
    compared after it (parameters and gradients, optimizer and scheduler state, module
    buffers, the library generator)."""

    def __init__(self, recorder: _Recorder, args: tuple, kwargs: dict) -> None:
        from .. import _random

        self._random = _random
        tensors = {id(t): t for _, t in recorder.live}
        found: list[tuple[str, Any]] = []
        _paths([args, kwargs], "", found)
        for _, value in found:
            if isinstance(value, Tensor):
                tensors.setdefault(id(value), value)
        for opt in recorder.optimizers:
            for group in opt.param_groups:
                for p in group["params"]:
                    tensors.setdefault(id(p), p)
        self.tensors = list(tensors.values())
        self.data = [(t.data, t.data.copy()) for t in self.tensors]
        self.grads = [None if t.grad is None else (t.grad, t.grad.copy()) for t in self.tensors]
        self.versions = [list(t._vc) for t in self.tensors]  # an update counts once, not twice
        self.optimizers = recorder.optimizers
        self.opt_states = [_OptimizerState(o) for o in self.optimizers]
        self.stateful = recorder.stateful
        self.states = [copy.deepcopy(s.state_dict()) for s in self.stateful]
        self.buffers = [(array, array.copy()) for m in recorder.modules
                        for array in getattr(m, "_buffers", {}).values() if array is not None]
        self.generator = _random._generator
        self.rng = copy.deepcopy(self.generator.bit_generator.state)

    def restore(self) -> None:
        for t, (array, values) in zip(self.tensors, self.data, strict=True):
            np.copyto(array, values)
            t.data = array
        for t, version in zip(self.tensors, self.versions, strict=True):
            t._vc[:] = version
        for t, grad in zip(self.tensors, self.grads, strict=True):
            if grad is None:
                t.grad = None
            else:
                np.copyto(grad[0], grad[1])
                t.grad = grad[0]
        for state in self.opt_states:
            state.restore()
        for s, state in zip(self.stateful, self.states, strict=True):
            s.load_state_dict(copy.deepcopy(state))
        for array, values in self.buffers:
            np.copyto(array, values)
        self._random._generator = self.generator
        self.generator.bit_generator.state = copy.deepcopy(self.rng)

    def now(self) -> list[tuple[str, Any]]:
        """The current values of everything snapshotted, named, for a bitwise comparison."""
        out: list[tuple[str, Any]] = []
        for i, t in enumerate(self.tensors):
            out.append((f"tensor {i} (shape {t.data.shape}) data", t.data.copy()))
            out.append((f"tensor {i} (shape {t.data.shape}) grad",
                        None if t.grad is None else t.grad.copy()))
        for o in self.optimizers:
            out.append((f"{type(o).__name__} state", copy.deepcopy(o.state_dict())))
        for s in self.stateful:
            out.append((f"{type(s).__name__} state", copy.deepcopy(s.state_dict())))
        for i, (array, _) in enumerate(self.buffers):
            out.append((f"module buffer {i}", array.copy()))
        out.append(("the random generator's state",
                    copy.deepcopy(self._random._generator.bit_generator.state)))
        return out


def _same(a: Any, b: Any) -> bool:
    """Bitwise equality of nested results and states."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and _same(a.data, b.data)
    if isinstance(a, np.ndarray | np.generic) or isinstance(b, np.ndarray | np.generic):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


_VALUES = (np.ndarray, np.generic, np.dtype, float, int, str, bytes, slice, type(None))


def _moved_constant(first: _Recorder, second: _Recorder) -> str | None:
    """A constant of two recordings of one program that is not the same in both: an array (or
    a step-made tensor's array) of other values, computed outside ops from step values, which a
    replay would keep stale; or another object (a tensor from outside the step, an optimizer)
    than the one the replay calls. Modules are guarded by their training flag and structure."""
    for name, a in first.namespace.items():
        b = second.namespace.get(name)
        if a is b or not name.startswith("c"):
            continue
        if isinstance(a, Tensor):
            if name not in first.made_consts or not isinstance(b, Tensor) or not _same(a, b):
                return f"a tensor of shape {a.data.shape}"
        elif isinstance(a, list | tuple):
            if type(a) is not type(b) or len(a) != len(b) or not all(
                    x is y or (isinstance(x, _VALUES) and _same(x, y)) for x, y in zip(a, b, strict=True)):
                return f"a {type(a).__name__} of other values or objects"
        elif isinstance(a, _VALUES):
            if not _same(a, b):
                return f"an array of shape {a.shape}" if isinstance(a, np.ndarray) else repr(a)[:60]
        elif not hasattr(a, "_parameters"):
            return f"the {type(a).__name__} object"
    return None


# --------------------------------------------------------------------------- the compiled step
class _Entry:
    """One recording: its replay function and how far it is trusted."""

    __slots__ = ("replay", "source", "recorder", "verified", "eager", "args", "environment",
                 "inputs", "recheck", "rerecords")

    def __init__(self, recorder: _Recorder, source: str, replay: Callable[..., Any],
                 args: tuple) -> None:
        self.recorder = recorder
        self.source = source
        self.replay = replay
        self.verified = False
        self.eager = False
        #: Verifications that met a recording of other operations and took it instead.
        self.rerecords = 0
        self.args = _by_identity(args, [])  # objects the signature names by id, kept alive
        self.environment: list[Any] = []  # what the step reached by name (see _environment)
        #: Copies of the recording's input arrays, until the verification compares with them
        #: (taken only when the recording holds an array constant: see _array_constants).
        self.inputs: list[np.ndarray] | None = None
        #: Set when the verification's inputs equalled the recording's: then a constant
        #: computed outside ops from them could not have moved, and the first call with other
        #: input values verifies again (see CompiledStep._verify).
        self.recheck: list[np.ndarray] | None = None


def _array_constants(recorder: _Recorder) -> bool:
    """Whether a recording holds an array constant (which NumPy outside ops may have computed
    from the inputs): an array, or a tensor made inside the step."""
    return any(name.startswith("c") and (isinstance(value, np.ndarray) or (
        isinstance(value, Tensor) and name in recorder.made_consts))
        for name, value in recorder.namespace.items())


def _input_arrays(args: tuple, kwargs: dict) -> list[np.ndarray]:
    """The arrays a call hands the step (its array and Tensor arguments), top level."""
    return [a.data if isinstance(a, Tensor) else a for a in (*args, *kwargs.values())
            if type(a) is np.ndarray or isinstance(a, Tensor)]


def _equal_inputs(first: list[np.ndarray] | None, now: list[np.ndarray]) -> bool:
    """The same input values (NaN equal to NaN)."""
    return first is not None and len(first) == len(now) and all(
        a.shape == b.shape and a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        for a, b in zip(first, now, strict=True))


#: Values whose identity says nothing about what a step computes (a module, a function).
_NOT_STATE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)
#: Values a step may bake into its recording (a loss weight, a coefficient): keyed by value.
_BY_VALUE = frozenset((int, float, bool, str, bytes, complex, type(None)))


def _value_key(value: Any) -> tuple:
    """A number or string reached by name, as a key: by value, and for floats by their bits'
    meaning (-0.0 is not 0.0, whose products differ in sign; a NaN is equal to a NaN)."""
    kind = type(value)
    if kind is float:
        return kind, value.hex()
    if kind is complex:
        return kind, value.real.hex(), value.imag.hex()
    return kind, value


class _Environment:
    """The objects a step ``fn`` reaches by name, as a function of a call's arguments: its
    closure's cells, the globals it names and, for a method (bound, or a function decorated in
    a class body, whose instance then comes as the first argument), the attributes of its
    instance that it names.

    A recording holds the tensors and modules it saw; a step that later reaches *other* ones
    through the same names (``model = Net()`` again, ``self.optimizer = ...``) must record
    anew, so these objects are part of the recording's key (and kept alive by it, so that
    their ids stay theirs). Numbers and strings reached so (``loss * weight`` with a global or
    closure ``weight``) are written into the replay as constants, so they are keyed by value:
    ``weight = 100.0`` records anew.
    """

    __slots__ = ("cells", "names", "attribute_names", "namespace", "attributes",
                 "method_like", "function")

    def __init__(self, fn: Callable[..., Any]) -> None:
        func, owner = (fn.__func__, fn.__self__) if isinstance(fn, types.MethodType) else (fn, None)
        self.function = isinstance(func, types.FunctionType)
        if not self.function:
            return
        self.cells = func.__closure__ or ()
        self.namespace = func.__globals__
        # the globals it loads (not every name of its code: ``opt.step`` must not make a
        # global loop counter ``step`` part of the key), in nested code too (a generator
        # expression), and those of the module's own functions it calls by name
        self.names = _loaded_globals(func)
        # attribute names, for the instance's attributes a method reads (``self.model``)
        self.attribute_names = tuple(dict.fromkeys(
            name for code in _code_tree(func.__code__) for name in code.co_names))
        self.attributes = getattr(owner, "__dict__", None)
        # a function written as a method (``def step(self, ...)`` under ``@st.compile`` in a
        # class): its instance arrives as the first argument
        self.method_like = owner is None and func.__code__.co_argcount > 0 and \
            func.__code__.co_varnames[0] == "self"

    def __call__(self, args: tuple) -> list[Any]:
        if not self.function:
            return []
        names, values = self.names, []
        if self.method_like and args:
            instance = getattr(args[0], "__dict__", None)
            if instance is not None:
                values += [instance[n] for n in self.attribute_names if n in instance]
        for cell in self.cells:
            try:
                values.append(cell.cell_contents)
            except ValueError:  # a cell not filled yet
                pass
        values += [self.namespace[n] for n in names if n in self.namespace]
        if self.attributes is not None:
            values += [self.attributes[n] for n in self.attribute_names if n in self.attributes]
        return [v for v in values if not isinstance(v, _NOT_STATE)]

    def fingerprint(self, args: tuple) -> list[Any] | None:
        """Everything :meth:`__call__` reads, unfiltered, in C-level loops: when each item is
        the same object as in an earlier call's fingerprint, so is the environment (and its
        key: the numbers and strings in it are the same objects, so of the same values). None
        where a cell is still empty or the first argument has no ``__dict__``."""
        if not self.function:
            return []
        try:
            out = list(map(_CONTENTS, self.cells))
        except ValueError:
            return None
        out += map(self.namespace.get, self.names)
        if self.attributes is not None:
            out += map(self.attributes.get, self.attribute_names)
        if self.method_like and args:
            instance = getattr(args[0], "__dict__", None)
            if instance is None:
                return None
            out += map(instance.get, self.attribute_names)
        return out


def _code_tree(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and the code nested in it (comprehensions, lambdas, inner functions)."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_tree(constant)


def _loaded_globals(func: types.FunctionType, depth: int = 3) -> tuple[str, ...]:
    """The global names ``func``'s code (nested code included) loads, and, ``depth`` levels
    deep, those of the functions of its own module that it reaches by name (a helper
    ``def forward(x): return model(x)`` reads the global ``model`` for the step)."""
    import dis  # only when a step is compiled: `import steepest` stays light

    names: dict[str, None] = {}
    seen: set[int] = set()
    todo = [(func, depth)]
    while todo:
        function, left = todo.pop()
        if id(function.__code__) in seen:
            continue
        seen.add(id(function.__code__))
        for code in _code_tree(function.__code__):
            for instruction in dis.get_instructions(code):
                if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                    name = instruction.argval
                    names[name] = None
                    helper = func.__globals__.get(name)
                    if left > 0 and isinstance(helper, types.FunctionType) \
                            and helper.__globals__ is func.__globals__:
                        todo.append((helper, left - 1))
    return tuple(names)


_CONTENTS = operator.attrgetter("cell_contents")
_SHAPE_DTYPE = operator.attrgetter("shape", "dtype")


class _Hot:
    """The last call that replayed (see ``CompiledStep.__call__``): its grad mode, its array
    arguments' shapes and dtypes, its environment's fingerprint and its entry."""

    __slots__ = ("grad_mode", "types", "arrays", "fingerprint", "entry")

    def __init__(self, grad_mode: bool, args: tuple, fingerprint: list, entry: _Entry) -> None:
        self.grad_mode, self.fingerprint, self.entry = grad_mode, fingerprint, entry
        self.types = [np.ndarray] * len(args)
        self.arrays = list(map(_SHAPE_DTYPE, args))


class CompiledStep:
    """The callable :func:`compile` returns (see there)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self._environment = _Environment(fn)
        self._hot: _Hot | None = None
        self._table: dict[Any, list[_Entry]] = {}
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """As a method decorator: bound to the instance (which is then part of the signature)."""
        return self if obj is None else types.MethodType(self, obj)

    @property
    def source(self) -> str:
        """The Python source of the most recent recording's replay function (for reading)."""
        entries = [e for group in self._table.values() for e in group if not e.eager]
        return entries[-1].source if entries else ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        recording = _hooks.recorder
        if recording is not None and recording.here():  # inside a recording: record through it
            return self.fn(*args, **kwargs)
        hot = self._hot
        if hot is not None and not kwargs:
            # the common case, a loop calling the step on arrays of one signature: the same
            # key as the last replay's, checked without building it (identities, shapes, dtypes)
            entry = hot.entry
            fingerprint = self._environment.fingerprint(args)
            if fingerprint is not None and _tensor_module._grad_enabled is hot.grad_mode \
                    and entry.verified and entry.recheck is None and not entry.eager \
                    and list(map(type, args)) == hot.types \
                    and list(map(_SHAPE_DTYPE, args)) == hot.arrays \
                    and len(fingerprint) == len(hot.fingerprint) \
                    and all(map(operator.is_, fingerprint, hot.fingerprint)):
                out = entry.replay(args, kwargs)
                if out is not _MISS:
                    return out
            self._hot = None
        # the signature of the arguments, inlined for the common case of arrays
        environment = self._environment(args)
        key = (_tensor_module._grad_enabled,
               tuple([(a.shape, a.dtype) if type(a) is np.ndarray else _signature(a) for a in args]),
               _signature(kwargs) if kwargs else None,
               tuple([_value_key(v) if type(v) in _BY_VALUE else id(v) for v in environment]))
        entries = self._table.get(key)
        if entries is not None:
            for entry in entries:
                if entry.verified and entry.recheck is not None and not _equal_inputs(
                        entry.recheck, _input_arrays(args, kwargs)):
                    # verified on the recording's own input values only: verify with these
                    entry.verified, entry.inputs, entry.recheck = False, entry.recheck, None
                if entry.verified:
                    out = entry.replay(args, kwargs)
                    if out is not _MISS:
                        self._remember(entry, args, kwargs)
                        return out
                elif entry.eager:
                    return self.fn(*args, **kwargs)
                else:
                    out = self._verify(entry, args, kwargs, entries)
                    if out is not _MISS:
                        return out
        else:
            if len(self._table) >= MAX_SIGNATURES:  # a recording holds its tensors: bound them
                del self._table[next(iter(self._table))]  # the oldest signature
                self._hot = None
                self._warn(f"more than {MAX_SIGNATURES} signatures: the arguments' shapes, or a "
                           "number the step reads by name (a counter), keep changing, and each "
                           "new one records anew at eager speed", _user_frame())
            entries = self._table[key] = []
        if len(entries) >= MAX_ENTRIES:
            self._warn(f"re-recorded {MAX_ENTRIES} times for one input signature (the step's "
                       "guards keep changing)", _user_frame())
            entries.clear()
            self._hot = None
            entry = _Entry(None, "", None, args)  # type: ignore[arg-type]
            entry.eager = True
            entries.append(entry)
            return self.fn(*args, **kwargs)
        result, recorder, entry = self._record(args, kwargs)
        entry.environment = environment  # keeps the key's ids from being reused
        entries.append(entry)
        return result

    def _remember(self, entry: _Entry, args: tuple, kwargs: dict) -> None:
        """Keep a replayed call's key as the hot one, for a call of array arguments only (the
        hot check compares them by shape and dtype, as the key does)."""
        if kwargs or not all(type(a) is np.ndarray for a in args):
            return
        fingerprint = self._environment.fingerprint(args)
        if fingerprint is not None:
            self._hot = _Hot(_tensor_module._grad_enabled, args, fingerprint, entry)

    def _record(self, args: tuple, kwargs: dict) -> tuple[Any, _Recorder, _Entry]:
        """Run the step eagerly with a recorder installed; its result is the eager result.

        One step records at a time in a process (the switch in ``_hooks`` is one global);
        other threads' steepest code meanwhile runs eagerly, unrecorded (``_Recorder.here``).
        """
        with _RECORDING:
            recorder = _Recorder()
            recorder.bind_inputs(args, kwargs)
            _hooks.recorder = recorder
            try:
                result = self.fn(*args, **kwargs)
            finally:
                _hooks.recorder = None
        entry = _Entry(recorder, "", None, args)
        if recorder.failed is None:
            try:
                entry.source, entry.replay = recorder.program(recorder.result(result))
            except Exception as error:  # _Unsupported, or a program that does not compile
                recorder.failed, recorder.where = str(error), _user_frame()
        if recorder.failed is None and _array_constants(recorder):  # see _verify's recheck
            entry.inputs = [a.copy() for a in _input_arrays(args, kwargs)]
        recorder.release()
        if recorder.failed is not None:
            self._fall_back(entry, recorder.failed, recorder.where)
        return _plain_numbers(result), recorder, entry

    def _verify(self, entry: _Entry, args: tuple, kwargs: dict, entries: list[_Entry]) -> Any:
        """The second call of a recording: replay it, then run the step eagerly from the same
        state (recording again), and keep the replay only if both agree bitwise."""
        snapshot = _Snapshot(entry.recorder, args, kwargs)
        try:
            replayed = entry.replay(args, kwargs)
        except Exception as error:  # a stale recording may fail where eager would not
            snapshot.restore()
            self._fall_back(entry, f"the verification replay raised {type(error).__name__}: "
                            f"{error}", _user_frame())
            return self.fn(*args, **kwargs)
        if replayed is _MISS:
            return _MISS
        after_replay = snapshot.now()
        snapshot.restore()
        result, again, fresh = self._record(args, kwargs)
        if again.failed is not None:
            self._fall_back(entry, again.failed, again.where)
            return result
        if (again.lines, again.guards, again.value_guards) != \
                (entry.recorder.lines, entry.recorder.guards, entry.recorder.value_guards):
            if entry.rerecords < MAX_RERECORDS:
                # a setting changed between the two calls (momentum switched on gives SGD
                # another replayed form): this call's recording is the one to verify next
                fresh.rerecords = entry.rerecords + 1
                fresh.environment = entry.environment
                entries[entries.index(entry)] = fresh
                return result
            self._fall_back(entry, "each call ran different operations (data-dependent "
                            "Python control flow)", _user_frame())
            return result
        moved = _moved_constant(entry.recorder, again)
        if moved is not None:
            self._fall_back(entry, f"a constant of the recording ({moved}) changed from one call "
                            "to the next: it was computed outside ops from step values",
                            _user_frame())
            return result
        for (name, a), (_, b) in zip(after_replay, snapshot.now(), strict=True):
            if not _same(a, b):
                self._fall_back(entry, f"the verification replay differs from eager in {name} (an "
                                "array computed outside ops from step values?)", _user_frame())
                return result
        if not _same(replayed, result):
            self._fall_back(entry, "the verification replay returned other values than eager (an "
                            "array computed outside ops from step values?)", _user_frame())
            return result
        entry.verified = True
        # Called twice with equal input values (full-batch training, one batch overfitted), a
        # constant computed outside ops from the inputs (x / 2 in NumPy) looks unmoved: the
        # first call with other values verifies again (it had replayed the stale constant).
        # (Only a recording holding an array constant can have one: the others kept no copy.)
        now = _input_arrays(args, kwargs)
        entry.recheck = [a.copy() for a in now] if _equal_inputs(entry.inputs, now) else None
        entry.inputs = None
        return result

    def _fall_back(self, entry: _Entry, reason: str, where: str) -> None:
        entry.eager = True
        entry.replay = None  # type: ignore[assignment]
        entry.inputs = entry.recheck = None  # an eager entry compares nothing
        self._warn(reason, where)

    def _warn(self, reason: str, where: str) -> None:
        if reason in self._warned:
            return
        self._warned.add(reason)
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        warnings.warn(CaptureWarning(f"st.compile({name}): {reason} (at {where}); running it "
                                     "eagerly for these inputs"), stacklevel=3)


def compile(fn: Callable[..., Any]) -> CompiledStep:
    """Record one call of a training step and replay it as flat NumPy calls.

    ``step = st.compile(fn)`` returns a callable that behaves as ``fn``. Its first call for a
    given signature of the arguments runs ``fn`` eagerly while recording every op's forward,
    every ``backward()`` (as the rule calls the eager backward makes, in its order), and every
    call of a replayed function (``optimizer.step``, ``optimizer.zero_grad``, a scheduler's
    ``step``, dropout masks, BatchNorm's running statistics, gradient clipping). Later calls run
    the recording: one generated Python function of NumPy calls on the new inputs, with no
    Tensor made and no graph walked.

    Parameters
    ----------
    fn : callable
        The step, e.g. ``def step(x, y): opt.zero_grad(); loss = loss_fn(model(x), y);
        loss.backward(); opt.step(); return loss``. Its arguments are arrays, Tensors, Python
        scalars, containers of them, or any objects (matched by identity).

    Returns
    -------
    CompiledStep
        Callable as ``fn``. Tensors in its result are constant Tensors over fresh arrays of the
        replay (``requires_grad=False``, no graph); a number from ``loss.item()`` is the new
        value; a parameter's own array (``p.grad``, ``p.data``) is returned as eagerly, the
        array the parameter holds. ``CompiledStep.source`` shows the replay function.

    Notes
    -----
    **Guards.** A recording is used only for arguments of the same signature (arrays and
    Tensors by shape, dtype and ``requires_grad``; Python scalars by value; other objects by
    identity), with the objects the step reaches by name as they were (numbers and strings by
    value), grad mode, each module's ``training`` flag and plain settings (``Dropout.p``,
    ``MSELoss.reduction``), each parameter's ``requires_grad``, shape and dtype, the module
    tree's structure and the optimizers' groups as they were. Anything else re-records (at
    most 8 recordings per signature). Learning rates and other hyperparameters are read live
    by the replayed optimizer step.

    **Verification.** The second call of a recording replays it, then restores every state the
    step touches (parameters, gradients, optimizer and scheduler state, module buffers, the
    library generator), runs ``fn`` eagerly (recording again) and compares: the replay is kept
    only if the two runs made the same calls and agree bitwise in every state and in the result.

    **Fallbacks.** A step the replay cannot reproduce runs eagerly from then on (for that
    signature), after one :class:`CaptureWarning` naming the reason and the line: ``bool()`` of a
    tensor (``if loss > 1:``) or a comparison of a number read from one (``if loss.item() <
    best:``), a write to a parameter group by the step's own code, ``autodiff.grad``,
    ``optimizer.step(closure)``, a Python number computed from ``item()`` used in an op, a
    result it cannot rebuild, a verification that differs (an
    array computed with NumPy from step values, say ``Tensor(x / 2)`` of the input ``x``).
    NumPy code the step runs on arrays outside ops and outside replayed functions is not
    recorded: the verification replay is what catches it. Results are never silently those of a
    different computation as long as such code depends on the inputs' values only through ops.

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> from steepest import nn, optim
    >>> _ = st.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> loss_fn = nn.MSELoss()
    >>> @st.compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = loss_fn(model(st.Tensor(x)), y)
    ...     loss.backward()
    ...     opt.step()
    ...     return loss.item()
    >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
    >>> losses = [step(x, y) for _ in range(3)]  # recorded, verified, replayed
    >>> losses[2] < losses[0]
    True
    """
    if isinstance(fn, CompiledStep):
        return fn
    if not callable(fn):
        raise TypeError(f"compile: expected a callable step, got {type(fn).__name__}")
    return CompiledStep(fn)
