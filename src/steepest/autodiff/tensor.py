"""The Tensor: an array, its gradient, and the graph edge that produced it.

This module knows no op's math. A Tensor made by an op remembers the op, the input arrays the
op's derivative rules need, and its parent Tensors; :meth:`Tensor.backward` walks that graph once,
in reverse topological order, asking each op (see :mod:`steepest.autodiff.ops`) for the
vector-Jacobian products of its inputs. Operators and math methods are attached to the class by
``ops`` so that every derivative rule lives in one place.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Iterator
from heapq import heappop as _heappop
from heapq import heappush as _heappush
from typing import Any

import numpy as np

from . import _hooks
from . import pool as _pool

__all__ = ["Tensor", "tensor", "from_numpy", "no_grad", "inference_mode", "enable_grad", "is_grad_enabled",
           "as_array"]

_grad_enabled = True

#: The modification clock: every in-place update through steepest advances it by one and stamps
#: the tensor's counter with it. A recorded node keeps the clock's value at recording; backward
#: refuses it if a saved tensor carries a later stamp. (One int per node, read in O(1).)
_EPOCH = [0]

_new_object = object.__new__
_next_seq = itertools.count().__next__  # creation number of recorded nodes (see Tensor._from_op)


def bump(counter: list) -> None:
    """Count one in-place update on a tensor's version ``counter`` and stamp it with the clock."""
    _EPOCH[0] += 1
    counter[0] += 1
    counter[1] = _EPOCH[0]


def is_grad_enabled() -> bool:
    """Return whether operations currently record a graph for backpropagation."""
    return _grad_enabled


@contextlib.contextmanager
def _set_grad_enabled(mode: bool) -> Iterator[None]:
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, mode
    try:
        yield
    finally:
        _grad_enabled = previous


class _GradMode:
    """A context manager and decorator that sets graph recording (``_mode``) while it is active."""

    _mode = False

    def __new__(cls, func: Any = None) -> Any:
        if callable(func):  # used as a decorator without parentheses: @st.no_grad
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func: Any = None) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = self._mode

    def __exit__(self, *exc_info: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()

    def __call__(self, func: Any) -> Any:
        mode = type(self)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) in which operations build no graph, as ``torch.no_grad``.

    Examples
    --------
    >>> import steepest as st
    >>> w = st.tensor([1.0, 2.0], requires_grad=True)
    >>> with st.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    >>> @st.no_grad()
    ... def predict(x):
    ...     return w * x
    >>> predict(3.0).requires_grad
    False
    """


class inference_mode(no_grad):
    """As :class:`no_grad` (``torch.inference_mode``): no graph is recorded inside it.

    PyTorch's inference mode also skips version counting; steepest's counters cost nothing
    without a graph, so the two are the same here.
    """


class enable_grad(_GradMode):
    """Context manager (or decorator) that turns graph recording back on inside :class:`no_grad`."""

    _mode = True


_REFUSED_KINDS = {"O": "object", "S": "bytes", "U": "string", "V": "void/structured", "M": "datetime",
                  "m": "timedelta"}


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert array-like input to an ndarray, refusing object, string and other non-numbers."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot make a numeric array from {type(data).__name__}: {error}") from None
    if array.dtype.kind in _REFUSED_KINDS:
        raise TypeError(
            f"steepest works on numeric arrays; got an array of dtype {array.dtype} "
            f"({_REFUSED_KINDS[array.dtype.kind]})"
        )
    return array


class _Shared(list):
    """The version counter ``[version, stamp]`` of a tensor sharing the caller's array.

    A plain ``list`` ``[version, stamp]`` is the counter of a tensor that owns its array:
    ``version`` counts the tensor's in-place updates, ``stamp`` is the value of ``_EPOCH`` at
    the latest one. Ops that record a
    graph copy the arrays of tensors with this kind of counter (see ``ops.apply``), because writes
    to the caller's array bypass steepest and cannot bump a version.
    """

    __slots__ = ()


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like
        The values. NumPy's dtype inference applies (Python floats give float64).
    requires_grad : bool, default False
        Whether gradients with respect to this tensor are accumulated into :attr:`grad` by
        :meth:`backward`. Only floating-point (or complex) tensors may require gradients.
    dtype : numpy dtype, optional
        Convert the data to this dtype.

    Notes
    -----
    **Memory.** ``Tensor(ndarray)`` and :func:`tensor` copy the caller's array, as
    ``torch.Tensor`` and ``torch.tensor`` do (``Tensor(other_tensor)`` shares the other tensor's
    array and version counter); :func:`from_numpy` shares it, as ``torch.from_numpy`` does.
    Writes to a shared array show in the tensor. They never corrupt a gradient: an op that
    records a graph keeps a private copy of every input array steepest does not own (a
    :func:`from_numpy` array, a NumPy operand), so backward uses the values the forward saw.

    **Versions.** Every tensor has a version counter (``_version``), bumped by each in-place
    update made through steepest: an optimizer step, the in-place methods (``add_``, ``mul_``,
    ``zero_``, ``copy_``, ...) and ``t[index] = value``. An op records the version of each tensor
    whose array it saves; backward raises ``RuntimeError`` naming the op when one has moved, as
    PyTorch does. Views (``reshape``, ``transpose``, basic indexing, ``detach``) share the counter
    of the tensor they view. Assigning ``t.data = array`` rebinds the attribute without touching
    the old array, which the graph still holds, so it needs no bump (and ``data`` stays a plain
    slot, the cheapest attribute on the hot path of every op). Writes into ``t.data`` or
    ``t.numpy()`` by NumPy bypass steepest, as in PyTorch.

    Attributes
    ----------
    data : numpy.ndarray
        The values.
    grad : numpy.ndarray or None
        The accumulated gradient (same shape and dtype as ``data``) once a backward pass has
        reached this tensor; gradients add up across backward calls until reset to ``None``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_op", "_parents", "_saved", "_retain", "_seq",
                 "_vc", "__weakref__")
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        array = as_array(data, dtype)
        if isinstance(data, Tensor) and array is data.data:
            if data._vc is None:
                data._vc = [0, 0]
            self._vc = data._vc  # the same array: the same counter
        else:
            if array is data or array.base is not None:  # never the caller's memory (see Notes)
                array = array.copy()
            self._vc = [0, 0]
        self.data = array
        self.grad: np.ndarray | None = None
        self.requires_grad = False
        self._op = None
        self._parents: tuple[Tensor | None, ...] = ()
        self._saved: tuple | None = None
        self._retain = False
        if requires_grad is not False:
            self.requires_grad_(requires_grad)
        if _hooks.recorder is not None and _hooks.recorder.here():  # a tensor made inside a recorded step
            _hooks.recorder.wrap(self, data)

    @classmethod
    def _from_op(cls, data: np.ndarray, op: Any, parents: tuple, saved: tuple) -> Tensor:
        """Make the output of a recorded op without re-validating ``data`` (the hot path).

        ``_seq`` numbers recorded nodes in creation order: an op's output is always made after
        its inputs, so backward can visit nodes by decreasing ``_seq`` without a sorting pass.
        Only recorded nodes carry it (leaves and constants are never ordered).
        """
        out = _new_object(cls)
        out.data = data
        out.grad = None
        out.requires_grad = True
        out._op = op
        out._parents = parents
        out._saved = saved
        out._retain = False
        out._seq = _next_seq()
        out._vc = None
        return out

    @classmethod
    def _constant(cls, data: np.ndarray) -> Tensor:
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = False
        out._op = None
        out._parents = ()
        out._saved = None
        out._retain = False
        out._vc = None
        return out

    # ----------------------------------------------------------------- attributes
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return ``self``."""
        if not isinstance(requires_grad, bool | np.bool_):
            raise TypeError(f"requires_grad must be a bool, got {requires_grad!r}")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients; this tensor has dtype "
                f"{self.data.dtype} (convert it first, e.g. st.tensor(x, dtype=np.float64))"
            )
        if self._op is not None and not requires_grad:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def _version(self) -> int:
        """How many in-place updates through steepest this tensor's array has had."""
        return 0 if self._vc is None else self._vc[0]

    def _bump(self) -> None:
        if self._vc is None:  # op outputs get their counter on their first in-place update
            self._vc = [0, 0]
        bump(self._vc)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._op is None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if _hooks.recorder is not None and _hooks.recorder.here():
            return _hooks.recorder.read(self, "item")
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied)."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (and version counter), cut from the graph."""
        out = Tensor._constant(self.data)
        if self._vc is None:
            self._vc = [0, 0]
        out._vc = self._vc
        return out

    def retain_grad(self) -> None:
        """Keep :attr:`grad` on this non-leaf tensor during backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    def zero_grad(self) -> None:
        """Reset :attr:`grad` to ``None``."""
        if _hooks.recorder is not None and _hooks.recorder.here():  # st.compile replays it as a call
            _hooks.recorder.call(_clear_grad, (self,), {})
            return
        self.grad = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != np.float64 and self.data.dtype.kind == "f":
            extra += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        if _hooks.recorder is not None and _hooks.recorder.here():
            _hooks.recorder.read(self, "bool")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())  # any one-element tensor, as in PyTorch

    def __int__(self) -> int:
        return int(self.item())

    # by identity, as object's (``__eq__`` is elementwise, which would unset it); object's own
    # slot, not a Python function, so that the dicts keyed by tensors (an optimizer's state)
    # look them up at C speed
    __hash__ = object.__hash__

    # ----------------------------------------------------------------- in-place updates
    # Not differentiable (they record nothing): refused on a tensor that requires grad while
    # graphs are being recorded, as PyTorch refuses them on leaves. Each bumps the version.
    def _writable(self, name: str, value: Any = None) -> Any:
        if self.requires_grad and _grad_enabled:
            raise RuntimeError(
                f"{name}: this tensor (shape {self.shape}) requires grad, and an in-place update "
                "is not recorded in the graph; use the out-of-place op, or update it inside "
                "st.no_grad() (as an optimizer does)"
            )
        if isinstance(value, Tensor):
            value = value.data
        if value is not None and not isinstance(value, bool | int | float):
            value = as_array(value)
            if value.dtype.kind == "c" and self.data.dtype.kind != "c":
                raise TypeError(f"{name}: cannot write complex values into a tensor of dtype "
                                f"{self.data.dtype}")
        return value

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        """``self += alpha * other`` in place (bumps the version); returns ``self``."""
        other = self._writable("add_", other)
        np.add(self.data, other if alpha == 1 else np.multiply(other, alpha), out=self.data,
               casting="same_kind")
        self._bump()
        return self

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        """``self -= alpha * other`` in place (bumps the version); returns ``self``."""
        other = self._writable("sub_", other)
        np.subtract(self.data, other if alpha == 1 else np.multiply(other, alpha), out=self.data,
                    casting="same_kind")
        self._bump()
        return self

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place (bumps the version); returns ``self``."""
        np.multiply(self.data, self._writable("mul_", other), out=self.data, casting="same_kind")
        self._bump()
        return self

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place (bumps the version); returns ``self``."""
        np.true_divide(self.data, self._writable("div_", other), out=self.data,
                       casting="same_kind")
        self._bump()
        return self

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value`` in place (bumps the version); returns ``self``."""
        value = self._writable("fill_", value)
        self.data[...] = value
        self._bump()
        return self

    def zero_(self) -> Tensor:
        """Set every element to 0 in place (bumps the version); returns ``self``."""
        return self.fill_(0)

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast to this shape) into this tensor in place; returns ``self``."""
        np.copyto(self.data, self._writable("copy_", src), casting="same_kind")
        self._bump()
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        value = self._writable("__setitem__", value)
        from .ops import _index  # the index conversion of __getitem__

        self.data[_index(index)] = value
        self._bump()

    # ----------------------------------------------------------------- backward
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into every leaf that requires one.

        Parameters
        ----------
        gradient : array_like, optional
            The cotangent :math:`v` of the vector-Jacobian product :math:`v^T J`. Required when
            this tensor is not a scalar; defaults to 1 for a scalar.
        retain_graph : bool, default False
            Keep the arrays saved by each op so that backward can run through this graph again.
            Otherwise they are freed as soon as they have been used.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation "
                "had requires_grad=True (or it ran under no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without `gradient` needs a scalar output; this tensor has shape "
                    f"{self.shape}. Reduce it first (e.g. .sum()) or pass gradient= of that shape"
                )
            # np.ones_like is a Python-level wrapper; a 0-d array is made in one C call.
            seed = (np.array(1, dtype=self.data.dtype) if self.data.ndim == 0
                    else np.ones_like(self.data))
        else:
            seed = as_array(gradient)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): gradient has shape {seed.shape} but the tensor has shape {self.shape}"
                )
            if seed.dtype.kind == "c" and self.data.dtype.kind != "c":
                raise TypeError(f"backward(): gradient is complex ({seed.dtype}) but the tensor is "
                                f"real ({self.data.dtype}); a complex gradient is never cast")
            seed = seed.astype(self.data.dtype, copy=True)  # never hand the caller's array out
        # st.compile is recording a step (autodiff/capture.py)
        if _hooks.recorder is not None and _hooks.recorder.here():
            return _hooks.recorder.backward(self, seed, retain_graph, gradient)
        _run_backward(self, seed, retain_graph)


def _clear_grad(t: Tensor) -> None:
    t.grad = None


def _accumulate(node: Tensor, g: np.ndarray, handed_out: set[int]) -> None:
    """Add ``g`` into ``node.grad``, never letting two tensors share one gradient buffer."""
    data = node.data
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.dtype is not data.dtype and g.dtype != data.dtype:  # builtin dtypes are singletons
        if g.dtype.kind == "c" and data.dtype.kind != "c":
            raise TypeError(
                f"backward: the gradient reaching a real tensor of shape {data.shape} and dtype "
                f"{data.dtype} is complex ({g.dtype}); a complex gradient is never cast to real "
                "(the computation mixed a complex operand into real tensors)"
            )
        g = g.astype(data.dtype)
    if g.shape != data.shape:
        g = np.broadcast_to(g, data.shape)
    grad = node.grad
    if grad is not None:
        node.grad = _sum_grad(grad, g)
        return
    # A rule may pass its incoming gradient through unchanged (add does, to both inputs) or return
    # a read-only view: copy those, so that each .grad is a private, writable array. The cheap
    # tests come first; most gradients are fresh arrays that need none of this.
    key = id(g)
    if g.base is not None or key in handed_out or not g.flags.writeable:
        g = _fresh(g)
        key = id(g)
    handed_out.add(key)
    node.grad = g


def _run_backward(root: Tensor, seed: np.ndarray, retain_graph: bool) -> None:
    """Propagate ``seed`` from ``root`` to every leaf that requires grad.

    Recorded nodes are processed by decreasing creation number (a heap): every consumer of a node
    is created after it, so by the time a node comes off the heap all of its gradient
    contributions have arrived. Nodes are discovered on the way, so the graph is walked once, with
    no separate topological sort. Leaves are accumulated at the end, once each.
    """
    grads: dict[int, np.ndarray] = {id(root): seed}
    leaves: list[Tensor] = []
    handed_out: set[int] = set()
    owned: dict[int, np.ndarray] = {}  # gradient buffers made here for scatters (see _scatter)
    if root._op is None:
        leaves.append(root)
        heap = []
    else:
        heap = [(-root._seq, root)]  # seq numbers are unique, so nodes are never compared
    while heap:
        node = _heappop(heap)[1]
        g = grads.pop(id(node))
        if node._retain:
            _accumulate(node, g, handed_out)
        op = node._op
        saved = node._saved
        if saved is None:
            raise RuntimeError(
                f"backward through the graph a second time: the arrays saved by '{op.name}' were "
                f"freed after the first backward. Pass retain_graph=True to the first call"
            )
        args, kwargs, inputs, epoch = saved
        if _EPOCH[0] != epoch:  # something was updated in place since this node was recorded
            _check_versions(node, inputs, epoch)
        if op.scatter is not None:  # indexing: add g into one gradient buffer of the parent
            parent = node._parents[0]
            if _scatter(grads, owned, parent, op, g, kwargs):
                if parent._op is None:
                    leaves.append(parent)
                else:
                    _heappush(heap, (-parent._seq, parent))
            if not retain_graph:
                node._saved = None
            continue
        ans = node.data
        # Op.vjp, inlined for ops with one rule per input (all but concatenate and stack): this
        # loop runs for every edge of every graph, and a method call is a fair part of its cost.
        # Ops with any number of inputs give all their gradients in one call (linear in n).
        rules = op.rules if op.multi_rule is None else None
        broadcasts = op.broadcasts
        if rules is None:
            needed = [parent is not None for parent in node._parents]
            all_grads = op.multi_rule(needed, g, ans, args, **kwargs)
        i = -1
        for parent in node._parents:
            i += 1
            if parent is None:
                continue
            if rules is None:
                gi = all_grads[i]
            else:
                gi = rules[i](g, ans, *args, **kwargs) if kwargs else rules[i](g, ans, *args)
                if broadcasts and getattr(gi, "shape", None) != args[i].shape:
                    gi = _unbroadcast(gi, args[i].shape)
            key = id(parent)
            previous = grads.get(key)
            if previous is not None:
                if owned and owned.get(key) is previous and getattr(gi, "dtype", None) == previous.dtype:
                    np.add(previous, gi, out=previous)  # a buffer made here by _scatter: ours
                else:
                    grads[key] = _sum(previous, gi)
                continue
            grads[key] = gi
            if parent._op is None:
                leaves.append(parent)
            else:
                _heappush(heap, (-parent._seq, parent))
        if not retain_graph:
            node._saved = None
    for leaf in leaves:
        _accumulate(leaf, grads.pop(id(leaf)), handed_out)


def _fresh(g: np.ndarray) -> np.ndarray:
    """A private copy of a gradient array (from the pool when it is large)."""
    return _pool.copy(g) if g.size >= _pool.threshold else g.copy()


def _sum_grad(grad: np.ndarray, g: Any) -> np.ndarray:
    """``grad + g`` into a ``.grad`` that already holds ``grad``: an ndarray even where both are
    0-d (their sum is a NumPy scalar, and ``.grad`` must stay writable in place)."""
    total = _sum(grad, g)
    return total if type(total) is np.ndarray else np.asarray(total)


def _sum(a: Any, b: Any) -> Any:
    """``a + b`` (two gradient contributions), into a pooled buffer when both are large arrays
    of one shape and dtype: then ``np.add`` computes the same elementwise sums."""
    if (type(a) is np.ndarray and a.size >= _pool.threshold and type(b) is np.ndarray
            and a.shape == b.shape and a.dtype is b.dtype):
        return np.add(a, b, out=_pool.take(a.shape, a.dtype))
    return a + b


def _scatter(grads: dict, owned: dict, parent: Tensor, op: Any, g: np.ndarray,
             kwargs: dict) -> bool:
    """Add the gradient of an indexing node into its parent's gradient buffer, in place.

    The rule of ``x[i]`` alone would make a zero array of ``x``'s shape per node, so that
    iterating over the n rows of ``x`` (``for row in x``) cost O(n) full arrays: O(n^2). Here the
    first such node makes one buffer for the parent (``owned`` keeps it, so that no other
    array is ever written), and the others add their rows into it. Returns whether ``parent``
    got its first gradient contribution (and must be visited).
    """
    key = id(parent)
    previous = grads.get(key)
    if previous is not None and owned.get(key) is previous:
        op.scatter(previous, g, **kwargs)
        return False
    data = parent.data
    dtype = data.dtype if data.dtype == g.dtype else np.result_type(data.dtype, g.dtype)
    buffer = np.zeros(data.shape, dtype=dtype)
    if previous is not None:
        np.add(buffer, previous, out=buffer)
    op.scatter(buffer, g, **kwargs)
    owned[key] = grads[key] = buffer
    return previous is None


def _check_versions(node: Tensor, inputs: tuple, epoch: int) -> None:
    """Raise if the output or a Tensor input of ``node`` was updated in place after ``epoch``."""
    checked = [(-1, node)] + [(i, a) for i, a in enumerate(inputs) if isinstance(a, Tensor)]
    for i, t in checked:
        counter = t._vc
        if counter is not None and counter[1] > epoch:
            which = "its output" if i < 0 else f"input {i}"
            raise RuntimeError(
                f"one of the tensors saved by '{node._op.name}' ({which}, shape {t.shape}) was "
                f"modified in place after it was recorded (it is now at version {counter[0]}), "
                "so its gradient would use the new values. Recompute the forward pass after the "
                "update (an optimizer step, an in-place method or t[...] = v), or update a copy"
            )


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape`` (the rule lives with the ops, in ops.py)."""
    from .ops import unbroadcast

    return unbroadcast(g, shape)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a :class:`Tensor` (the analogue of ``torch.tensor``).

    Parameters
    ----------
    data : array_like
        Numbers, nested lists or an array; NumPy's dtype inference applies. Object and string
        arrays are refused.
    requires_grad : bool, default False
        Record operations on this tensor so that :meth:`Tensor.backward` can fill its ``grad``.
    dtype : numpy dtype, optional

    Examples
    --------
    >>> import steepest as st
    >>> x = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.])
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)  # copies, as torch.tensor


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A :class:`Tensor` sharing memory with a NumPy array (the analogue of ``torch.from_numpy``).

    Writes to ``array`` show in the tensor and the other way round. A graph recorded from it
    keeps a private copy of the values it used, so that writing to ``array`` afterwards never
    changes a gradient (see :class:`Tensor`); use :func:`tensor` for a copy from the start.

    Parameters
    ----------
    array : numpy.ndarray
        A numeric array; it is not converted, so its dtype is the tensor's.
    requires_grad : bool, default False

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> a = np.zeros(2)
    >>> t = st.from_numpy(a)
    >>> a[0] = 5.0
    >>> t.data[0]
    np.float64(5.0)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    out = Tensor._constant(as_array(array))  # as_array refuses non-numbers, never copies here
    out._vc = _Shared([0, 0])
    if requires_grad is not False:
        out.requires_grad_(requires_grad)
    return out
