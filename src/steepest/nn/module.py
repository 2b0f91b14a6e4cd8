"""The building blocks of every network: :class:`Parameter`, :class:`Module`, :class:`Sequential`.

A :class:`Module` registers the :class:`Parameter` objects and sub-modules assigned to its
attributes, in assignment order, exactly as ``torch.nn.Module`` does, so that its
:meth:`~Module.state_dict` has PyTorch's keys (``0.weight``, ``0.bias``, ...) and weights move
between the two libraries as NumPy arrays.

Calling a module is kept cheap because small networks are dominated by per-call overhead:
``module(x)`` is ``module.forward(x)`` with no hooks, parameters live in the instance ``__dict__``
(plain attribute lookups, no ``__getattr__`` fallback) and the flattened parameter list is cached
until the module tree changes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_bool
from ..autodiff import _hooks
from ..autodiff._hooks import replayed
from ..autodiff.tensor import Tensor, as_array

__all__ = ["Parameter", "Module", "Sequential", "IncompatibleKeys"]

# Bumped whenever any module registers or removes a parameter, buffer or sub-module, so that the
# cached parameter lists of every module (including ancestors that were not told) go stale.
_structure_version = 0


def _structure_changed() -> None:
    global _structure_version
    _structure_version += 1


def _structure() -> int:
    """The structure version now: a step recorded by ``st.compile`` re-records when it moves
    (a parameter, buffer or sub-module replaced, or ``to(dtype)``)."""
    return _structure_version


class Parameter(Tensor):
    """A :class:`~steepest.Tensor` that a :class:`Module` registers as one of its weights.

    Parameters
    ----------
    data : array_like
        The initial values. An ndarray is used as it is, not copied (as ``torch.nn.Parameter``
        shares the tensor it wraps); it must have a floating-point dtype.
    requires_grad : bool, default True

    Examples
    --------
    >>> import numpy as np
    >>> from steepest.nn import Parameter
    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
    >>> w.requires_grad, w.shape
    (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.ndarray):  # shared, not copied (Tensor(ndarray) would copy)
            data = Tensor._constant(data)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` left aside with ``strict=False``."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers, losses and whole networks (the analogue of ``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, assign their :class:`Parameter` objects and
    sub-modules as attributes, and define :meth:`forward`. Calling the module runs ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after :meth:`eval`. Layers such as
        :class:`~steepest.nn.Dropout` behave differently in the two modes.

    Examples
    --------
    >>> import steepest as st
    >>> from steepest import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8)
    ...         self.out = nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> [name for name, _ in TwoLayer().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool

    def __init__(self) -> None:
        set_attribute = object.__setattr__
        set_attribute(self, "_parameters", {})
        set_attribute(self, "_buffers", {})
        set_attribute(self, "_modules", {})
        set_attribute(self, "_parameter_cache", (-1, []))
        set_attribute(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # st.compile: the training flag is a guard of the step
        if _hooks.recorder is not None and _hooks.recorder.here():
            _hooks.recorder.module(self, _structure)
        return self.forward(*args, **kwargs)

    # ----------------------------------------------------------------- registration
    def _registries(self) -> tuple[dict, dict, dict]:
        attributes = self.__dict__
        try:
            return attributes["_parameters"], attributes["_buffers"], attributes["_modules"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() in __init__ before assigning "
                f"parameters or sub-modules"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter | Module):
            parameters, buffers, modules = self._registries()
            for registry in (parameters, buffers, modules):
                registry.pop(name, None)
            (parameters if isinstance(value, Parameter) else modules)[name] = value
            _structure_changed()
        elif "_parameters" in self.__dict__:
            value = self._reassigned(name, value)
        object.__setattr__(self, name, value)

    def _reassigned(self, name: str, value: Any) -> Any:
        """The value to store under a name that may be registered: a parameter slot takes only a
        Parameter or None, a module slot a Module or None, a buffer slot an array or None."""
        parameters, buffers, modules = self._registries()
        if name in parameters:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to "
                                f"parameter {name!r} (a Parameter or None is expected)")
            parameters[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to "
                                f"sub-module {name!r} (a Module or None is expected)")
            modules[name] = None
        elif name in buffers:
            buffers[name] = None if value is None else self._buffer_array(name, value)
            _structure_changed()  # a recorded step holds the old array
            return buffers[name]
        else:
            return value
        _structure_changed()
        return value

    def __delattr__(self, name: str) -> None:
        for registry in self._registries():
            if registry.pop(name, None) is not None:
                _structure_changed()
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or an empty slot, ``None``) under ``name``, as attribute assignment
        does; ``None`` is how a layer without bias records that it has none."""
        self._check_name(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a "
                            f"Parameter or None, got {type(param).__name__}")
        parameters, buffers, modules = self._registries()
        buffers.pop(name, None)
        modules.pop(name, None)
        parameters[name] = param
        object.__setattr__(self, name, param)
        _structure_changed()

    def register_buffer(self, name: str, array: Any) -> None:
        """Register a non-trainable array (running statistics, masks) that :meth:`state_dict`
        saves and :meth:`load_state_dict` restores; ``None`` leaves an empty slot."""
        self._check_name(name)
        parameters, buffers, modules = self._registries()
        parameters.pop(name, None)
        modules.pop(name, None)
        buffers[name] = None if array is None else self._buffer_array(name, array)
        object.__setattr__(self, name, buffers[name])
        _structure_changed()

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (which may be any string, e.g. ``"0"``)."""
        self._check_name(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module or "
                            f"None, got {type(module).__name__}")
        parameters, buffers, modules = self._registries()
        parameters.pop(name, None)
        buffers.pop(name, None)
        modules[name] = module
        object.__setattr__(self, name, module)
        _structure_changed()

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"{type(self).__name__}: a parameter, buffer or module name must be a "
                             f"non-empty string without '.', got {name!r}")
        # As torch: the instance attribute would hide a method (ModuleDict({"keys": ...}) broke
        # keys(), {"train": ...} broke train()) or a plain attribute such as ``training``.
        if hasattr(self, name) and not any(name in registry for registry in self._registries()):
            raise KeyError(f"{type(self).__name__}: attribute '{name}' already exists (a method "
                           f"or plain attribute); register under another name")

    def _buffer_array(self, name: str, value: Any) -> np.ndarray:
        if isinstance(value, Tensor):
            value = value.data
        try:
            return as_array(value)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: buffer {name!r}: {error}") from None

    # ----------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names, in registration order."""
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in registration order."""
        return (m for m in self._modules.values() if m is not None)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it, each once, depth first."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(f"{name}.{child_name}" if name else child_name, child)
                     for child_name, child in module.named_children()]
            stack.extend(reversed(below))

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, each once."""
        return (module for _, module in self.named_modules())

    def _named_parameter_list(self) -> list[tuple[str, Parameter]]:
        version, cached = self._parameter_cache
        if version == _structure_version:
            return cached
        named: list[tuple[str, Parameter]] = []
        seen: set[int] = set()  # a parameter shared by two layers is listed once, as in torch
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    named.append((f"{prefix}.{name}" if prefix else name, param))
        object.__setattr__(self, "_parameter_cache", (_structure_version, named))
        return named

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (``"0.weight"``), each shared one once.

        Parameters
        ----------
        prefix : str, default ""
            Put in front of every name, followed by a dot.
        recurse : bool, default True
            Include the parameters of sub-modules; otherwise only this module's own.
        """
        if recurse:
            named = self._named_parameter_list()
        else:
            named = [(name, p) for name, p in self._parameters.items() if p is not None]
        if prefix:
            return ((f"{prefix}.{name}", p) for name, p in named)
        return iter(named)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in registration order (the order an optimizer sees them)."""
        if recurse:
            return (p for _, p in self._named_parameter_list())
        return (p for p in self._parameters.values() if p is not None)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every registered buffer with its dotted name."""
        for prefix, module in self.named_modules():
            for name, array in module._buffers.items():
                if array is not None:
                    yield (f"{prefix}.{name}" if prefix else name), array

    def buffers(self) -> Iterator[np.ndarray]:
        """Every registered buffer."""
        return (array for _, array in self.named_buffers())

    # ----------------------------------------------------------------- modes and utilities
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all below it."""
        check_bool(type(self).__name__ + ".train", "mode", mode)
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: dropout off. Same as ``train(False)``."""
        return self.train(False)

    @replayed  # st.compile resets the gradients again on every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradient of every parameter (to ``None``, or to zeros in place)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.fill(0)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module and then on this module (e.g. a custom initialiser)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype``, in place.

        The :class:`Parameter` objects stay the same (an optimizer built on them keeps working);
        their arrays and any gradients are converted.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: dtype must be a floating-point dtype, "
                            f"got {dtype}")
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None and param.data.dtype != dtype:
                    param.data = param.data.astype(dtype)
                    if param.grad is not None:
                        param.grad = param.grad.astype(dtype)
            for name, array in list(module._buffers.items()):
                if array is not None and array.dtype.kind == "f":
                    module._buffers[name] = array.astype(dtype)
                    object.__setattr__(module, name, module._buffers[name])
        _structure_changed()  # a step recorded by st.compile holds the old buffers
        return self

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer as NumPy arrays, under PyTorch's dotted names.

        Returns
        -------
        dict
            Ordered ``name -> ndarray`` (copies, so later training does not change them). A
            parameter shared by two layers appears under each name, as in PyTorch.
        """
        state: dict[str, np.ndarray] = {}
        for name, target in self._state_targets():
            state[name] = target.data.copy() if isinstance(target, Tensor) else target.copy()
        return state

    def _state_targets(self) -> list[tuple[str, Parameter | np.ndarray]]:
        """Each state entry's name and the Parameter (or buffer array) it reads and writes."""
        targets: list[tuple[str, Parameter | np.ndarray]] = []
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:  # depth first, registration order, shared modules under every name
            prefix, module = stack.pop()
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        targets.append((prefix + name, value))
            below = [(f"{prefix}{name}.", child) for name, child in module.named_children()]
            stack.extend(reversed(below))
        return targets

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers, in place.

        Every entry is checked before anything is written, so a failed load leaves the module
        as it was. Values are copied into the existing arrays (an optimizer holding the
        parameters keeps working) and cast to each parameter's dtype; any real or integer
        dtype is accepted (a PyTorch float32 state dict loads into a float64 model).

        Parameters
        ----------
        state_dict : mapping
            ``name -> array`` (ndarray, Tensor or nested lists), e.g. from :meth:`state_dict`,
            :func:`steepest.load`, or from PyTorch as
            ``{k: v.numpy() for k, v in torch_model.state_dict().items()}``.
        strict : bool, default True
            Require the keys to match exactly. With ``strict=False`` missing and unexpected
            keys are returned instead of refused; wrong shapes are refused either way.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``.

        Raises
        ------
        ValueError
            Naming every missing, unexpected and wrongly shaped key, and every value that
            cannot be converted.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        check_bool(owner, "strict", strict)
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{owner}: state_dict must be a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        targets = self._state_targets()
        expected = {name for name, _ in targets}
        missing = [name for name, _ in targets if name not in state_dict]
        unexpected = [str(key) for key in state_dict if key not in expected]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
        writes = []
        for name, target in targets:
            if name not in state_dict:
                continue
            destination = target.data if isinstance(target, Tensor) else target
            value, problem = _loadable(state_dict[name], destination)
            if problem:
                problems.append(f"{name!r}: {problem}")
            else:
                writes.append((destination, value))
        if problems:
            raise ValueError(f"{owner}: the state dict does not fit this "
                             f"{type(self).__name__}:\n  " + "\n  ".join(problems))
        for destination, value in writes:
            np.copyto(destination, value, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's one-line ``repr``."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}(" + (extra if extra else "")]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _loadable(value: Any, destination: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``value`` as an array that can be copied into ``destination``, or the reason it cannot."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        array = as_array(value)
    except TypeError as error:
        return None, str(error)
    if array.shape != destination.shape:
        return None, f"expected shape {destination.shape}, got {array.shape}"
    if not (array.dtype.kind in "iu" and destination.dtype.kind in "fc"
            or np.can_cast(array.dtype, destination.dtype, casting="same_kind")):
        return None, f"cannot convert dtype {array.dtype} to {destination.dtype}"
    return array, _overflow(array, destination.dtype)


def _overflow(array: np.ndarray, dtype: np.dtype) -> str:
    """Why ``array`` cannot be narrowed to ``dtype`` without turning finite values into
    infinities ('' when it can): float64 weights above 3.4e38 do not fit a float32 model."""
    if array.dtype.kind not in "fc" or dtype.kind not in "fc" or array.size == 0:
        return ""
    limit = float(np.finfo(dtype).max)
    if float(np.finfo(array.dtype).max) <= limit:
        return ""
    parts = (array.real, array.imag) if array.dtype.kind == "c" else (array,)
    with np.errstate(invalid="ignore"):
        largest = max(float(np.max(np.abs(np.where(np.isfinite(a), a, 0)))) for a in parts)
    if largest > limit:
        return (f"holds finite values up to {largest:.4g}, which overflow {dtype} (largest "
                f"{limit:.4g}); they would load as infinities")
    return ""


class Sequential(Module):
    """Modules applied one after the other; their parameters are named ``0.weight``, ``1.bias``...

    Parameters
    ----------
    *modules : Module
        The layers in order, or a single ``OrderedDict`` of ``name -> Module``.

    Examples
    --------
    >>> import steepest as st
    >>> from steepest import nn
    >>> _ = st.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> model(st.tensor([[1.0, 2.0, 3.0, 4.0]])).shape
    (1, 3)
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, self._checked(module, name))
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), self._checked(module, index))

    @staticmethod
    def _checked(module: Any, where: Any) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: layer {where!r} must be a Module, got "
                            f"{type(module).__name__}")
        return module

    def forward(self, x: Any) -> Any:
        """Apply every layer in turn."""
        for module in self._modules.values():
            x = module(x)
        return x

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position) and return ``self``."""
        self.add_module(str(len(self._modules)), self._checked(module, len(self._modules)))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append every module of ``modules``."""
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"Sequential indices must be integers or slices, got "
                            f"{type(index).__name__}")
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential index {index} is out of range for {len(items)} layers")
        return items[index][1]


class ModuleList(Module):
    """A list of modules whose parameters belong to the parent (as ``torch.nn.ModuleList``).

    Its modules are named by their position (``0.weight``, ``1.bias``, ...). It has no
    ``forward``: the parent decides how to use them.

    Parameters
    ----------
    modules : iterable of Module, optional

    Examples
    --------
    >>> from steepest import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
    >>> len(layers), [name for name, _ in layers.named_parameters()]
    (2, ['0.weight', '0.bias', '1.weight', '1.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @staticmethod
    def _checked(module: Any, where: Any) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: item {where!r} must be a Module, got {type(module).__name__}")
        return module

    def _index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"ModuleList indices must be integers or slices, got {type(index).__name__}")
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"ModuleList index {index} is out of range for {n} modules")
        return int(index) % n

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end and return ``self``."""
        self.add_module(str(len(self._modules)), self._checked(module, len(self._modules)))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules`` (checked first: all or nothing) and return ``self``."""
        modules = list(modules)
        for offset, module in enumerate(modules):
            self._checked(module, len(self._modules) + offset)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (renumbering those after it)."""
        items = list(self._modules.values())
        position = max(0, min(len(items), index if index >= 0 else len(items) + index))
        items.insert(position, self._checked(module, index))
        self._renumber(items)

    def _renumber(self, items: list[Module]) -> None:
        for name in self._modules:  # the old positions' attributes go with them
            object.__delattr__(self, name)
        self._modules.clear()
        _structure_changed()  # the cached parameter lists are stale even if nothing is re-added
        for i, module in enumerate(items):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        if isinstance(index, slice):  # as torch: one module at one position
            raise TypeError("ModuleList: assignment takes an integer index, got slice")
        self.add_module(str(self._index(index)), self._checked(module, index))

    def __delitem__(self, index: int | slice) -> None:
        items = list(self._modules.values())
        # A slice too, as torch.nn.ModuleList (_index alone refused it, saying slices are fine)
        del items[index if isinstance(index, slice) else self._index(index)]
        self._renumber(items)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over it in the parent's forward")


class ModuleDict(Module):
    """A dict of modules by name whose parameters belong to the parent (as
    ``torch.nn.ModuleDict``), in insertion order.

    Parameters
    ----------
    modules : mapping or iterable of (name, Module) pairs, optional

    Examples
    --------
    >>> from steepest import nn
    >>> heads = nn.ModuleDict({"mean": nn.Linear(4, 1), "scale": nn.Linear(4, 1)})
    >>> list(heads), sorted(heads.state_dict())[:2]
    (['mean', 'scale'], ['mean.bias', 'mean.weight'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    @staticmethod
    def _checked(name: Any, module: Any) -> Module:
        if not isinstance(name, str):
            raise TypeError(f"ModuleDict keys must be strings, got {name!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{name!r}] must be a Module, got {type(module).__name__}")
        return module

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or (name, module) pairs (checked first)."""
        pairs = list(modules.items() if isinstance(modules, Mapping) else modules)
        for name, module in pairs:
            self._checked(name, module)
        for name, module in pairs:
            self.add_module(name, module)

    def __getitem__(self, name: str) -> Module:
        if name not in self._modules:
            raise KeyError(f"ModuleDict has no module {name!r}; it has {list(self._modules)}")
        return self._modules[name]

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, self._checked(name, module))

    def __delitem__(self, name: str) -> None:
        self.pop(name)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """(name, module) pairs, in insertion order."""
        return list(self._modules.items())

    def pop(self, name: str) -> Module:
        """Remove the module ``name`` and return it."""
        module = self[name]
        del self._modules[name]
        object.__delattr__(self, name)  # as add_module set it (torch's attribute goes too)
        _structure_changed()  # else parameters() keeps listing the removed module's (cached)
        return module

    def clear(self) -> None:
        """Remove every module."""
        for name in list(self._modules):
            self.pop(name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): pick its modules in the parent's forward")
