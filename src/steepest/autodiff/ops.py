"""Every primitive op of the engine: its forward, its derivative rules, and its check domain.

Each op is one block: ``defop`` registers the forward computation (a NumPy function), then
``defvjp`` gives one vector-Jacobian-product rule per differentiable input, in the style of HIPS
autograd. A rule is called as ``rule(g, ans, *inputs, **params)`` with the incoming gradient ``g``
(the cotangent of the op's output), the output ``ans`` and the op's inputs as NumPy arrays, and
returns the gradient for its input. Rules of broadcasting ops may return a gradient of the
broadcast shape: :meth:`Op.vjp` sums it back to the input's shape. Rules never modify ``g``.

Two more rules complete a block. ``defvjp_graph`` gives the same VJP rules written with ops, on
Tensors (``same=True`` when the NumPy rules use only operators and so already work on Tensors):
``autodiff.grad(..., create_graph=True)`` calls them, so that the backward pass is itself a
recorded graph and derivatives of any order work; the plain ``backward()`` never does.
``defjvp`` gives the forward-mode rule (``rule(t, ans, *inputs, **params)`` -> J t), or names the
kind that derives it from the VJP rule or the forward (diagonal, linear, multilinear,
reduction), for ``st.jvp``.

The ``sample`` of each block draws valid inputs for the op's gradient check (``tests/autodiff``
runs :func:`steepest.gradcheck` on every registered op over hypothesis-generated shapes), so that
each op states the domain on which its derivative is checked (``log`` on positive numbers, ``abs``
away from its kink, and so on).

Adding an op means adding one block here (and its method on :class:`Tensor`, if it has one);
the tests check every registered op's rules of all three kinds against finite differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import kernels
from . import _hooks
from . import pool as _pool
from . import tensor as _tensor_module
from .tensor import Tensor, _Shared, as_array

__all__ = [
    "Op", "OPS", "defop", "defvjp", "defvjp_graph", "defjvp", "apply", "unbroadcast_graph",
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "maximum", "minimum",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos",
    "sum", "mean", "max", "min", "reshape", "transpose", "getitem", "where", "clip",
    "softmax", "log_softmax", "logsumexp", "concatenate", "stack",
    "linear", "cross_entropy", "bce_with_logits", "mse_loss", "erf", "gelu",
    "expand", "norm", "cumsum", "prod", "cast", "scatter_add",
    "log1p", "expm1", "softplus", "elu", "hardtanh", "xlogy", "binary_cross_entropy",
]

Rule = Callable[..., np.ndarray]
Sampler = Callable[[np.random.Generator, tuple[int, ...]], tuple[list[Any], dict[str, Any]]]


class Op:
    """A primitive: a forward NumPy computation and the VJP rule of each differentiable input."""

    __slots__ = ("name", "forward", "rules", "multi_rule", "broadcasts", "sample", "residual", "view",
                 "array_params", "scatter", "graph_rules", "graph_multi", "jvp_rules", "jvp_kind")

    def __init__(self, name: str, forward: Callable[..., Any], broadcasts: bool,
                 sample: Sampler | None, residual: bool = False, view: bool = False,
                 array_params: tuple[str, ...] = ()) -> None:
        self.name = name
        self.forward = forward
        self.rules: tuple[Rule | None, ...] = ()
        self.multi_rule: Callable[..., list] | None = None
        self.broadcasts = broadcasts
        self.sample = sample
        self.residual = residual
        self.view = view
        self.array_params = array_params
        #: optional ``scatter(buffer, g, **params)``: add ``g`` into the input's gradient buffer
        #: in place (indexing); backward then shares one buffer among the nodes of one input
        self.scatter: Callable[..., None] | None = None
        #: the VJP rules on Tensors, written with ops (``defvjp_graph``): what
        #: ``autodiff.grad(..., create_graph=True)`` calls, so that the backward pass is recorded
        self.graph_rules: tuple[Rule | None, ...] | None = None
        self.graph_multi: Callable[..., list] | None = None
        #: forward mode (``defjvp``): one tangent rule per input, or a kind that derives them
        self.jvp_rules: tuple[Rule | None, ...] | None = None
        self.jvp_kind: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        return apply(self, args, kwargs)

    def differentiable(self, i: int) -> bool:
        if self.multi_rule is not None:
            return True
        return i < len(self.rules) and self.rules[i] is not None

    def vjp(self, i: int, g: np.ndarray, ans: np.ndarray, args: tuple, kwargs: dict) -> np.ndarray:
        """The gradient for input ``i``, summed back to that input's shape."""
        if self.multi_rule is None:
            gi = self.rules[i](g, ans, *args, **kwargs)
        else:
            needed = [j == i for j in range(len(args))]
            gi = self.multi_rule(needed, g, ans, args, **kwargs)[i]
        if self.broadcasts:
            # Input i required grad, so args[i] is an ndarray; a rule may return a NumPy scalar.
            shape = args[i].shape
            if getattr(gi, "shape", None) != shape:
                gi = unbroadcast(gi, shape)
        return gi

    def __repr__(self) -> str:
        return f"<op {self.name}>"


#: Every registered op by name; the gradient-check test iterates over it.
OPS: dict[str, Op] = {}


def defop(name: str, forward: Callable[..., Any], *, broadcasts: bool = False,
          sample: Sampler | None = None, residual: bool = False, view: bool = False,
          array_params: tuple[str, ...] = ()) -> Op:
    """Register a primitive op computed by ``forward`` on NumPy arrays.

    ``view=True`` marks an op whose output may be a view of its first input's array (reshape,
    transpose, basic indexing): the output shares that input's version counter, so that an
    in-place update of either is seen by every graph that saved the other. ``array_params``
    names keyword parameters that may be arrays (``clip``'s bounds, ``getitem``'s index): a
    recorded node keeps private copies of them.

    With ``residual=True`` the forward returns ``(output, residual)``: intermediate results that
    the backward pass needs (a loss's softmax, say), handed to every rule of the op as the
    keyword argument ``residual`` instead of being computed a second time.
    """
    if name in OPS:
        raise ValueError(f"op '{name}' is already registered")
    op = Op(name, forward, broadcasts, sample, residual, view, array_params)
    OPS[name] = op
    return op


def defvjp(op: Op, *rules: Rule | None, multi: Callable[..., list] | None = None) -> None:
    """Attach VJP rules: one per positional input (``None`` = not differentiable), or, for ops
    with any number of inputs, one ``multi(needed, g, ans, inputs, **params)`` rule that returns
    the list of all the inputs' gradients (``None`` where ``needed[i]`` is false) in one call.

    One call per node keeps the backward pass of an op over n inputs O(n): a rule called once
    per input with all n inputs (``rule(i, g, ans, *inputs)``) would cost O(n^2).
    """
    op.rules = rules
    op.multi_rule = multi


def defvjp_graph(op: Op, *rules: Rule | None, multi: Callable[..., list] | None = None,
                 same: bool = False) -> None:
    """Attach the op's second-order rules: its VJP rules written with ops, on Tensors.

    ``autodiff.grad(..., create_graph=True)`` calls them with the incoming gradient ``g`` as a
    Tensor, the op's output node as ``ans`` and its inputs as Tensors (or the saved arrays of
    inputs that are not Tensors), so that the backward pass is itself a recorded graph and can be
    differentiated again, to any order. Masks of kinks (ReLU, max, abs, clip) enter as constants:
    their second derivative is zero, as in PyTorch. ``same=True`` reuses the NumPy rules of
    :func:`defvjp`, for rules written with operators only (``g * y``, ``g / (2 * ans)``), which
    work on arrays and Tensors alike. The plain backward pass never calls these rules.
    """
    if same:
        rules, multi = op.rules, op.multi_rule
    op.graph_rules = rules if multi is None else ()
    op.graph_multi = multi


#: The kinds of forward-mode rule :func:`defjvp` can derive instead of being given rules.
JVP_KINDS = ("vjp", "linear", "multilinear", "reduction")


def defjvp(op: Op, *rules: Rule | None, kind: str | None = None) -> None:
    """Attach forward-mode rules: ``rule(t, ans, *inputs, **params)`` gives the tangent of the
    output that the tangent ``t`` of input ``i`` causes (the Jacobian-vector product J_i t).

    Instead of rules, ``kind`` derives them from what the op already has:

    - ``"vjp"``: the Jacobian is diagonal (elementwise ops, broadcasting included) or symmetric
      (softmax), so the VJP rule applied to ``t`` is the JVP;
    - ``"linear"``: the op is linear in its inputs jointly (reshape, sum, getitem, concatenate):
      the tangent is the op applied to the tangents (zeros for inputs without one);
    - ``"multilinear"``: linear in each input separately (matmul): the op with ``t`` put in
      place of input ``i``;
    - ``"reduction"``: a reduction over ``axis`` (max, logsumexp, norm, prod): the VJP rule of a
      cotangent of ones gives the weights ``w = d ans / d x``, and ``J t = sum(w * t, axis)``.
    """
    if kind is not None and kind not in JVP_KINDS:
        raise ValueError(f"defjvp: kind must be one of {JVP_KINDS}, got {kind!r}")
    op.jvp_rules = rules if kind is None else None
    op.jvp_kind = kind


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient of a broadcast result back to an input of shape ``shape``."""
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def unbroadcast_graph(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``unbroadcast`` with ops, on a Tensor gradient (the create_graph backward pass)."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = sum(g, axis=axes, keepdims=True)
    return g


def _value(x: Any) -> Any:
    """The array of a Tensor (a second-order rule's masks are constants), anything else as is."""
    return x.data if isinstance(x, Tensor) else x


def _constant_of(array: Any) -> Tensor:
    return Tensor._constant(np.asarray(array))


def _operand(value: Any) -> Any:
    # Python numbers stay Python numbers: NumPy treats them as "weak" and keeps a float32
    # tensor float32 (a 0-d float64 array would promote it).
    if value is None or type(value) in (float, int, bool):
        return value
    if type(value) is np.ndarray:
        if value.dtype.kind in "OSUVMm":
            return as_array(value)  # raises the clear error
        return value
    return as_array(value)


def apply(op: Op, args: Sequence[Any], kwargs: dict[str, Any]) -> Tensor:
    """Run ``op`` on ``args`` and, if any differentiable input requires grad, record it."""
    # The hot path of every op: one plain loop, no helper calls for the common inputs, no
    # validation beyond what NumPy raises (benchmarks/README.md records what this costs).
    # st.compile is recording a step (autodiff/capture.py)
    if _hooks.recorder is not None and _hooks.recorder.here():
        return _hooks.recorder.apply(op, args, kwargs)
    arrays = []
    parents = []
    record = False
    foreign = False  # an input array steepest does not own (see _private)
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            if type(a._vc) is _Shared:
                foreign = True
            if a.requires_grad:
                parents.append(a)
                record = True
                continue
        elif a is None or type(a) is float or type(a) is int or type(a) is bool:
            arrays.append(a)  # Python numbers stay weakly typed (see _operand)
        else:
            arrays.append(_operand(a))
            foreign = True
        parents.append(None)
    try:
        out = op.forward(*arrays, **kwargs)
    except ValueError as error:
        raise ValueError(f"{op.name}: {error}") from None
    except IndexError as error:  # Python's iteration protocol needs IndexError past the end
        raise IndexError(f"{op.name}: {error}") from None
    except (TypeError, AttributeError) as error:
        raise TypeError(f"{op.name}: cannot apply to {_describe(arrays, kwargs)}: {error}") from None
    if op.residual:
        out, residual = out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if record and _tensor_module._grad_enabled:
        rules = op.rules
        if op.multi_rule is None and (None in rules or len(rules) < len(parents)):
            record = _drop_undifferentiable(parents, rules)
        if record:
            if op.residual:
                kwargs = {**kwargs, "residual": residual}
            if foreign:
                arrays = _private(args, arrays)
            if op.array_params:
                kwargs = _private_params(kwargs, op.array_params)
            # The inputs themselves and the modification clock: backward checks their versions.
            node = _from_op(out, op, tuple(parents),
                            (tuple(arrays), kwargs, args, _tensor_module._EPOCH[0]))
            if op.view:
                _share_counter(node, args[0])
            return node
    node = _constant(out)
    if op.view:
        _share_counter(node, args[0])
    return node


def _share_counter(view: Tensor, base: Any) -> None:
    """Give the output of a view op the version counter of the tensor it views."""
    if isinstance(base, Tensor):
        if base._vc is None:
            base._vc = [0, 0]
        view._vc = base._vc


def _private(args: Sequence[Any], arrays: list) -> list:
    """Copies of the input arrays steepest does not own, for a recorded node to keep.

    A write to such an array bypasses every version counter: NumPy operands (the input batch of
    a training step, say) and the arrays of tensors that share a caller's buffer
    (``Tensor(ndarray)``, :func:`from_numpy`). A copy is never silently wrong, unlike a
    fingerprint, and unlike a read-only view it does not stop the caller from writing to their
    own array; benchmarks/README.md records its cost.
    """
    i = -1
    for a in args:
        i += 1
        if isinstance(a, Tensor):
            if type(a._vc) is _Shared:
                array = arrays[i]
                arrays[i] = _pool.copy(array) if array.size >= _pool.threshold else array.copy()
        elif type(arrays[i]) is np.ndarray:
            array = arrays[i]
            arrays[i] = _pool.copy(array) if array.size >= _pool.threshold else array.copy()
    return arrays


def _private_params(kwargs: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``kwargs`` with private copies of the arrays among the parameters ``names``."""
    copied = dict(kwargs)
    for name in names:
        value = kwargs.get(name)
        if isinstance(value, np.ndarray):
            copied[name] = value.copy()
        elif isinstance(value, tuple):
            copied[name] = tuple(v.copy() if isinstance(v, np.ndarray) else v for v in value)
    return copied


def _describe(arrays: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """The operands of a failed op, for its error message."""
    parts = [f"array of shape {a.shape} and dtype {a.dtype}" if isinstance(a, np.ndarray)
             else repr(a) for a in arrays]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


_from_op = Tensor._from_op  # bound once: saves an attribute lookup on every op
_constant = Tensor._constant


def _drop_undifferentiable(parents: list[Tensor | None], rules: tuple[Rule | None, ...]) -> bool:
    """Replace by None the parents that ``rules`` cannot differentiate; return whether any remain."""
    remaining = False
    for i, parent in enumerate(parents):
        if parent is not None:
            if i < len(rules) and rules[i] is not None:
                remaining = True
            else:
                parents[i] = None
    return remaining


# --------------------------------------------------------------------------- input samplers
# Each sampler turns a hypothesis-drawn shape and a seeded generator into valid op inputs.

# (np.asarray: for shape () the generator returns a Python float, not a 0-d array)
def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape))


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(rng.uniform(0.5, 2.0, shape))


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def _broadcast_partner(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape``: some leading axes dropped, some sizes set to 1."""
    keep = int(rng.integers(0, len(shape) + 1))
    partner = list(shape[len(shape) - keep:])
    for i in range(len(partner)):
        if rng.random() < 0.3:
            partner[i] = 1
    return tuple(partner)


def _unary(domain: Callable = _normal, **params: Any) -> Sampler:
    return lambda rng, shape: ([domain(rng, shape)], dict(params))


def _binary(left: Callable = _normal, right: Callable = _normal) -> Sampler:
    def sample(rng: np.random.Generator, shape: tuple[int, ...]):
        other = _broadcast_partner(rng, shape)
        pair = [left(rng, shape), right(rng, other)]
        if rng.random() < 0.5:
            pair = [left(rng, other), right(rng, shape)]
        return pair, {}
    return sample


def _random_axis(rng: np.random.Generator, ndim: int) -> int | tuple[int, ...] | None:
    if ndim == 0 or rng.random() < 0.25:
        return None
    if rng.random() < 0.5:
        return int(rng.integers(-ndim, ndim))
    k = int(rng.integers(1, ndim + 1))
    return tuple(int(a) for a in rng.choice(ndim, size=k, replace=False))


def _reduction(domain: Callable = _normal) -> Sampler:
    def sample(rng: np.random.Generator, shape: tuple[int, ...]):
        return [domain(rng, shape)], {"axis": _random_axis(rng, len(shape)),
                                      "keepdims": bool(rng.random() < 0.5)}
    return sample


def _last_axis(domain: Callable = _normal) -> Sampler:
    def sample(rng: np.random.Generator, shape: tuple[int, ...]):
        shape = shape or (3,)
        return [domain(rng, shape)], {"axis": int(rng.integers(-len(shape), len(shape)))}
    return sample


# --------------------------------------------------------------------------- arithmetic

add = defop("add", np.add, broadcasts=True, sample=_binary())
defvjp(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
defvjp_graph(add, same=True)
defjvp(add, kind="vjp")

sub = defop("sub", np.subtract, broadcasts=True, sample=_binary())
defvjp(sub, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)
defvjp_graph(sub, same=True)
defjvp(sub, kind="vjp")

mul = defop("mul", np.multiply, broadcasts=True, sample=_binary())
defvjp(mul, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)
defvjp_graph(mul, same=True)
defjvp(mul, kind="vjp")

div = defop("div", np.true_divide, broadcasts=True, sample=_binary(_normal, _away_from_zero))
defvjp(div, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y)
defvjp_graph(div, same=True)
defjvp(div, kind="vjp")


def _pow_base_rule(g, ans, x, y):
    if type(y) is int or type(y) is float:
        if y == 2:  # squares: (g * 2) * x, same numbers
            return g * 2 * x
        if y == 0:  # x^0 = 1 everywhere, also at x = 0 where y * x^(y-1) would be 0 * inf
            return np.zeros_like(g * x)
        return g * y * np.power(x, y - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = g * y * np.power(x, y - 1)
    return np.where(y == 0, 0, grad)  # as PyTorch: no gradient through a zero exponent


def _pow_exponent_rule(g, ans, x, y):
    # d(x^y)/dy = x^y log x; taken as 0 where x == 0 and y >= 0 (as PyTorch does: 0 * -inf
    # there), -inf where x == 0 and y < 0 (inf * -inf), NaN for x < 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * np.where((x == 0) & (y >= 0), 0.0, ans * np.log(x))


def _pow_base_graph(g, ans, x, y):
    if type(y) is int or type(y) is float:
        if y == 2:
            return g * 2 * x
        if y == 0:
            return g * 0.0
        return g * y * x ** (y - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return where(_value(y) == 0, 0.0, g * y * x ** (y - 1))


def _pow_exponent_graph(g, ans, x, y):
    # the mask of _pow_exponent_rule: x^y log x is taken as 0 at x == 0 only where y >= 0 (at
    # y < 0 it is inf * -inf = -inf there, as in PyTorch, to every order)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * where((_value(x) == 0) & (_value(y) >= 0), 0.0, ans * log(x))


pow = defop("pow", np.power, broadcasts=True, sample=_binary(_positive, _normal))
defvjp(pow, _pow_base_rule, _pow_exponent_rule)
defvjp_graph(pow, _pow_base_graph, _pow_exponent_graph)
defjvp(pow, kind="vjp")

neg = defop("neg", np.negative, sample=_unary())
defvjp(neg, lambda g, ans, x: -g)
defvjp_graph(neg, same=True)
defjvp(neg, kind="vjp")


def _matmul_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a_inner = a.shape[-1] if a.ndim else None
    b_inner = (b.shape[0] if b.ndim == 1 else b.shape[-2]) if b.ndim else None
    if a_inner is None or b_inner is None:
        raise ValueError(f"operands must be at least 1-D, got shapes {np.shape(a)} and {np.shape(b)}")
    if a_inner != b_inner:
        raise ValueError(
            f"inner dimensions differ: {np.shape(a)} @ {np.shape(b)} "
            f"({a_inner} columns on the left, {b_inner} rows on the right)"
        )
    if a.size >= _pool.threshold and _pooled_2d(a, b):
        return _pool_matmul(a, b)
    return np.matmul(a, b)


def _pooled_2d(a: Any, b: Any) -> bool:
    """Whether ``a @ b`` is a large product of 2-D arrays of one dtype (for the pool)."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.shape[0] * b.shape[1] >= _pool.threshold and a.dtype is b.dtype)


def _matmul_left_rule(g, ans, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else g[..., None] * b
    if a.ndim == 1:
        return (b @ g[..., None])[..., 0]
    if a.size >= _pool.threshold and _pooled_2d(g, b.T):  # a result of a's shape
        return _pool_matmul(g, b.T)
    return g @ np.swapaxes(b, -1, -2)


def _matmul_right_rule(g, ans, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (np.swapaxes(a, -1, -2) @ g[..., None])[..., 0]
    if b.size >= _pool.threshold and _pooled_2d(a.T, g):  # a result of b's shape
        return _pool_matmul(a.T, g)
    return np.swapaxes(a, -1, -2) @ g


def _matmul_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    n, k, m = (int(s) for s in rng.integers(1, 4, 3))
    batch = shape[:2]
    left = [(k,), (n, k), (*batch, n, k)][int(rng.integers(0, 3))]
    right = [(k,), (k, m), (*_broadcast_partner(rng, batch), k, m)][int(rng.integers(0, 3))]
    return [rng.standard_normal(left), rng.standard_normal(right)], {}


def _swap_last(t: Any) -> Tensor:
    n = np.ndim(_value(t))
    return transpose(t, axes=(*range(n - 2), n - 1, n - 2))


def _with_axis(t: Tensor) -> Tensor:  # t[..., None]
    return reshape(t, shape=(*t.shape, 1))


def _drop_axis(t: Tensor) -> Tensor:  # t[..., 0]
    return reshape(t, shape=t.shape[:-1])


def _matmul_left_graph(g, ans, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else _with_axis(g) * b
    if a.ndim == 1:
        return _drop_axis(matmul(b, _with_axis(g)))
    return matmul(g, _swap_last(b))


def _matmul_right_graph(g, ans, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else reshape(a, shape=(-1, 1)) * reshape(
            g, shape=(*g.shape[:-1], 1, g.shape[-1]))
    if b.ndim == 1:
        return _drop_axis(matmul(_swap_last(a), _with_axis(g)))
    return matmul(_swap_last(a), g)


matmul = defop("matmul", _matmul_forward, broadcasts=True, sample=_matmul_sample)
defvjp(matmul, _matmul_left_rule, _matmul_right_rule)
defvjp_graph(matmul, _matmul_left_graph, _matmul_right_graph)
defjvp(matmul, kind="multilinear")


def _masked(g: Tensor, mask: Any) -> Tensor:
    """``g`` times a constant mask (a kink's derivative: its own derivative is zero)."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ and mask.dtype != g.dtype:
        mask = mask.astype(g.dtype)
    return g * _constant_of(mask)


# torch.maximum's and torch.minimum's rule: each input gets the gradient, none of it where it
# loses (max: where it is the smaller), half where the inputs are equal, and all of it where
# either is NaN (the result is NaN: neither loses). The same two comparisons and two selections
# as without the NaN case; minimum compares its inputs as given (no negated copies).
def _unless_below(g, x, y):
    """``g`` where ``x`` is not below ``y``, halved where they are equal, 0 where ``x < y``."""
    return np.where(x < y, 0.0, np.where(x == y, 0.5 * g, g))


def _unless_above(g, x, y):
    """``g`` where ``x`` is not above ``y``, halved where they are equal, 0 where ``x > y``."""
    return np.where(x > y, 0.0, np.where(x == y, 0.5 * g, g))


maximum = defop("maximum", np.maximum, broadcasts=True, sample=_binary())
defvjp(maximum, lambda g, ans, x, y: _unless_below(g, x, y),
       lambda g, ans, x, y: _unless_above(g, x, y))
defvjp_graph(maximum, lambda g, ans, x, y: _masked(g, _unless_below(1.0, _value(x), _value(y))),
             lambda g, ans, x, y: _masked(g, _unless_above(1.0, _value(x), _value(y))))
defjvp(maximum, kind="vjp")

minimum = defop("minimum", np.minimum, broadcasts=True, sample=_binary())
defvjp(minimum, lambda g, ans, x, y: _unless_above(g, x, y),
       lambda g, ans, x, y: _unless_below(g, x, y))
defvjp_graph(minimum, lambda g, ans, x, y: _masked(g, _unless_above(1.0, _value(x), _value(y))),
             lambda g, ans, x, y: _masked(g, _unless_below(1.0, _value(x), _value(y))))
defjvp(minimum, kind="vjp")

# --------------------------------------------------------------------------- elementwise functions

exp = defop("exp", np.exp, sample=_unary())
defvjp(exp, lambda g, ans, x: g * ans)
defvjp_graph(exp, same=True)
defjvp(exp, kind="vjp")

log = defop("log", np.log, sample=_unary(_positive))
defvjp(log, lambda g, ans, x: g / x)
defvjp_graph(log, same=True)
defjvp(log, kind="vjp")

sqrt = defop("sqrt", np.sqrt, sample=_unary(_positive))
defvjp(sqrt, lambda g, ans, x: g / (2 * ans))
defvjp_graph(sqrt, same=True)
defjvp(sqrt, kind="vjp")

abs = defop("abs", np.abs, sample=_unary(_away_from_zero))
defvjp(abs, lambda g, ans, x: g * np.sign(x))  # 0 at the kink, as PyTorch
defvjp_graph(abs, lambda g, ans, x: _masked(g, np.sign(_value(x))))
defjvp(abs, kind="vjp")

_ndarray = np.ndarray  # one global lookup on the hot paths below


# The forward stays the bare ufunc: a Python wrapper that sent large outputs to the pool cost
# more on small networks (~0.15 us per call) than the pool saves on tanh networks, which are rare
# at sizes where it matters; the rule below pools its two temporaries.
tanh = defop("tanh", np.tanh, sample=_unary())
def _tanh_rule(g, ans, x):
    if x.size >= _pool.threshold and _poolable(g, ans):  # x: a recorded input, an ndarray
        return _tanh_rule_pooled(g, ans)
    if kernels.fused and type(g) is np.ndarray and type(ans) is np.ndarray:
        return kernels.get_kernels().tanh_backward(g, ans)  # one fused loop, the same bits
    return g * (1 - ans * ans)


def _tanh_rule_pooled(g: np.ndarray, ans: np.ndarray) -> np.ndarray:
    """``g * (1 - ans * ans)`` of large arrays, every result in a pooled buffer: the same bits."""
    out = _pool.take(g.shape, g.dtype)
    if kernels.fused:
        return kernels.get_kernels().tanh_backward(g, ans, out)
    slope = np.multiply(ans, ans, out=_pool.take(ans.shape, ans.dtype))
    np.subtract(1, slope, out=slope)
    return np.multiply(g, slope, out=out)


def _poolable(g: np.ndarray, ans: Any) -> bool:
    """Whether an elementwise rule may write ``g``-shaped results into pooled buffers: the
    incoming gradient and the output are float arrays of one shape and dtype."""
    return (type(g) is np.ndarray and type(ans) is np.ndarray and g.shape == ans.shape
            and g.dtype is ans.dtype and g.dtype.kind == "f")


defvjp(tanh, _tanh_rule)
defvjp_graph(tanh, same=True)
defjvp(tanh, kind="vjp")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 1/(1+e^-x) as PyTorch computes it. Below x ~ -88 (float32) e^-x overflows to inf and the
    # result is 0, the limit; the tanh form 0.5(1+tanh(x/2)) would already round to 0 at -17
    # (float32) and -37 (float64), where the true value is still ~1e-8 and ~1e-16.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


sigmoid = defop("sigmoid", _sigmoid, sample=_unary())
defvjp(sigmoid, lambda g, ans, x: g * ans * (1 - ans))
defvjp_graph(sigmoid, same=True)
defjvp(sigmoid, kind="vjp")


def _relu(x: np.ndarray) -> np.ndarray:
    if type(x) is _ndarray and x.size >= _pool.threshold and x.dtype.kind == "f":
        return np.maximum(x, 0, out=_pool.take(x.shape, x.dtype))
    return np.maximum(x, 0)


relu = defop("relu", _relu, sample=_unary(_away_from_zero))
def _relu_rule(g, ans, x):
    if x.size >= _pool.threshold and _poolable(g, ans):  # x: a recorded input, an ndarray
        return _relu_rule_pooled(g, ans)
    if kernels.fused and type(g) is np.ndarray and type(ans) is np.ndarray:
        return kernels.get_kernels().relu_backward(g, ans)  # one fused loop, the same bits
    return g * (ans > 0)  # 0 at the kink, as PyTorch


def _relu_rule_pooled(g: np.ndarray, ans: np.ndarray) -> np.ndarray:
    """``g * (ans > 0)`` of large arrays, the mask and the product in pooled buffers."""
    out = _pool.take(g.shape, g.dtype)
    if kernels.fused:
        return kernels.get_kernels().relu_backward(g, ans, out)
    return np.multiply(g, np.greater(ans, 0, out=_pool.take(ans.shape, _BOOL)), out=out)


_BOOL = np.dtype(bool)


defvjp(relu, _relu_rule)
defvjp_graph(relu, same=True)  # on a Tensor, ans > 0 is a constant mask
defjvp(relu, kind="vjp")


def _leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * negative_slope)


leaky_relu = defop("leaky_relu", _leaky_relu, sample=_unary(_away_from_zero, negative_slope=0.1))
defvjp(leaky_relu, lambda g, ans, x, negative_slope=0.01: np.where(x > 0, g, g * negative_slope))
defvjp_graph(leaky_relu, lambda g, ans, x, negative_slope=0.01: _masked(
    g, np.where(_value(x) > 0, 1.0, negative_slope)))
defjvp(leaky_relu, kind="vjp")

sin = defop("sin", np.sin, sample=_unary())
defvjp(sin, lambda g, ans, x: g * np.cos(x))
defvjp_graph(sin, lambda g, ans, x: g * cos(x))
defjvp(sin, kind="vjp")

cos = defop("cos", np.cos, sample=_unary())
defvjp(cos, lambda g, ans, x: -g * np.sin(x))
defvjp_graph(cos, lambda g, ans, x: -g * sin(x))
defjvp(cos, kind="vjp")


def _clip(x: np.ndarray, min: Any = None, max: Any = None) -> np.ndarray:
    if min is None and max is None:
        raise ValueError("clip needs at least one of min and max")
    return np.clip(x, min, max)


def _clip_rule(g, ans, x, min=None, max=None):
    inside = np.ones(np.shape(x), dtype=bool)
    if min is not None:
        inside &= x >= min
    if max is not None:
        inside &= x <= max
    return g * inside


def _clip_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    x = _away_from_zero(rng, shape) * 2
    x = np.where(np.abs(np.abs(x) - 1.0) < 0.1, 0.5, x)  # stay off the boundaries
    return [x], {"min": -1.0, "max": 1.0}


def _clip_bound(name: str, bound: Any) -> Any:
    """A Tensor bound of clip as its array (the rules compare arrays with it). The bounds get no
    gradient here, unlike torch.clamp's tensor bounds: one that requires grad is refused."""
    if not isinstance(bound, Tensor):
        return bound
    if bound.requires_grad and _tensor_module._grad_enabled:
        raise TypeError(f"clip: {name} is a Tensor that requires grad, but steepest does not "
                        f"differentiate clip's bounds; pass {name}.detach(), or use "
                        "st.maximum/st.minimum for a gradient in the bound")
    return bound.data


clip = defop("clip", _clip, sample=_clip_sample, array_params=("min", "max"))
defvjp(clip, _clip_rule)
defvjp_graph(clip, lambda g, ans, x, min=None, max=None: _masked(
    g, _clip_rule(True, None, _value(x), min, max)))
defjvp(clip, kind="vjp")


def _where(condition: np.ndarray, x: Any, y: Any) -> np.ndarray:
    return np.where(condition, x, y)


def _where_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [rng.random(shape) < 0.5, _normal(rng, _broadcast_partner(rng, shape)),
            _normal(rng, shape)], {}


where = defop("where", _where, broadcasts=True, sample=_where_sample)
defvjp(where, None, lambda g, ans, c, x, y: np.where(c, g, 0.0),
       lambda g, ans, c, x, y: np.where(c, 0.0, g))
defvjp_graph(where, None, lambda g, ans, c, x, y: where(c, g, 0.0),
             lambda g, ans, c, x, y: where(c, 0.0, g))
defjvp(where, kind="vjp")

# --------------------------------------------------------------------------- reductions


def _expand_reduced(g: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient back the reduced axes (as size 1) so that it broadcasts."""
    if keepdims or axis is None or not shape:  # a 0-d input: its axis 0 (or -1) is all of it
        return g.reshape([1] * len(shape)) if axis is None and not keepdims else g
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    reduced = {a % len(shape) for a in axes}
    # What np.expand_dims does (the forward already checked the axes), at a tenth of its cost.
    return g.reshape([1 if i in reduced else n for i, n in enumerate(shape)])


def _count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None or not shape:  # a 0-d input, over axis 0 or -1: one element
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    return math.prod(shape[a] for a in axes)


def _sum(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype.kind in "fc":
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum's own call, unwrapped
    return np.sum(x, axis=axis, keepdims=keepdims)


# Up to this many elements, the gradient of a sum is written out rather than returned as a
# broadcast view: np.broadcast_to costs several microseconds of Python, more than the copy.
_MATERIALIZE_LIMIT = 4096


def _sum_rule(g, ans, x, axis=None, keepdims=False):
    expanded = _expand_reduced(g, x.shape, axis, keepdims)
    if x.size > _MATERIALIZE_LIMIT:
        return np.broadcast_to(expanded, x.shape)
    out = np.empty(x.shape, dtype=expanded.dtype)
    out[...] = expanded
    return out


sum = defop("sum", _sum, sample=_reduction())
defvjp(sum, _sum_rule)


def _sum_graph(g, ans, x, axis=None, keepdims=False):
    return expand(_expand_reduced(g, x.shape, axis, keepdims), shape=x.shape)


defvjp_graph(sum, _sum_graph)
defjvp(sum, kind="linear")


# np.mean divides in float64 and rounds to the input's precision; dividing a float32 sum by a
# Python int rounds once, to the same result, as long as the count is exact in float32.
_EXACT_COUNT = 2**24


def _mean(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype.char in "fd":
        count = _count(x.shape, axis)
        if 0 < count <= _EXACT_COUNT:
            # np.mean's arithmetic (a pairwise sum, one division) without its Python wrapper
            return np.add.reduce(x, axis=axis, keepdims=keepdims) / count
    return np.mean(x, axis=axis, keepdims=keepdims)


def _mean_rule(g, ans, x, axis=None, keepdims=False):
    return _sum_rule(g, ans, x, axis, keepdims) / _count(x.shape, axis)


mean = defop("mean", _mean, sample=_reduction())
defvjp(mean, _mean_rule)
defvjp_graph(mean, lambda g, ans, x, axis=None, keepdims=False: _sum_graph(
    g, ans, x, axis, keepdims) / _count(x.shape, axis))
defjvp(mean, kind="linear")


def _extreme_rule(g, ans, x, axis=None, keepdims=False):
    # Ties share the gradient evenly: each of the k inputs equal to the extreme gets g / k.
    ans = _expand_reduced(ans, x.shape, axis, keepdims)
    g = _expand_reduced(g, x.shape, axis, keepdims)
    hits = x == ans
    return g * hits / np.sum(hits, axis=axis, keepdims=True)


def _max(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.max(x, axis=axis, keepdims=keepdims)


def _min(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.min(x, axis=axis, keepdims=keepdims)


def _extreme_graph(g, ans, x, axis=None, keepdims=False):
    weights = _extreme_rule(np.ones(ans.shape, dtype=ans.dtype), ans.data, _value(x), axis, keepdims)
    return _masked(_expand_reduced(g, x.shape, axis, keepdims), weights)


max = defop("max", _max, sample=_reduction())
defvjp(max, _extreme_rule)
defvjp_graph(max, _extreme_graph)
defjvp(max, kind="reduction")

min = defop("min", _min, sample=_reduction())
defvjp(min, _extreme_rule)
defvjp_graph(min, _extreme_graph)
defjvp(min, kind="reduction")


def _logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    # Shift by the maximum so that exp never overflows (stable for |x| ~ 1e4 and beyond).
    # (ufunc.reduce is what np.max and np.sum run, minus their Python-level wrappers)
    if x.size == 0:  # np.maximum.reduce has no identity; an empty sum's log is -inf
        with np.errstate(divide="ignore"):
            out = np.log(np.add.reduce(np.exp(x), axis=axis, keepdims=True))
    else:
        shift = _finite_shift(x, axis)
        out = np.log(np.add.reduce(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def _finite_shift(x: np.ndarray, axis: Any) -> np.ndarray:
    """The maximum along ``axis`` (kept), 0 where it is not finite: what to subtract before
    ``exp`` so that it never overflows."""
    shift = np.maximum.reduce(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


def _logsumexp_rule(g, ans, x, axis=None, keepdims=False):
    ans = _expand_reduced(ans, x.shape, axis, keepdims)
    return _expand_reduced(g, x.shape, axis, keepdims) * np.exp(x - ans)


logsumexp = defop("logsumexp", _logsumexp, sample=_reduction())
defvjp(logsumexp, _logsumexp_rule)
defvjp_graph(logsumexp, lambda g, ans, x, axis=None, keepdims=False: _expand_reduced(
    g, x.shape, axis, keepdims) * exp(x - _expand_reduced(ans, x.shape, axis, keepdims)))
defjvp(logsumexp, kind="reduction")


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    if x.size == 0:  # np.maximum.reduce has no identity: the empty result of x's shape
        return np.exp(x)
    e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


softmax = defop("softmax", _softmax, sample=_last_axis())
defvjp(softmax, lambda g, ans, x, axis=-1: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)))
defvjp_graph(softmax, lambda g, ans, x, axis=-1: ans * (g - sum(g * ans, axis=axis, keepdims=True)))
defjvp(softmax, kind="vjp")  # the Jacobian diag(s) - s s^T is symmetric


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # (x - m) - log sum exp(x - m): adding m back before subtracting (x - logsumexp(x)) would
    # round at the size of m and lose the small log-probabilities of large logits.
    if x.size == 0:  # np.maximum.reduce has no identity: the empty result of x's shape
        return np.exp(x)
    shifted = x - _finite_shift(x, axis)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))


log_softmax = defop("log_softmax", _log_softmax, sample=_last_axis())
defvjp(log_softmax,
       lambda g, ans, x, axis=-1: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True))
defvjp_graph(log_softmax,
             lambda g, ans, x, axis=-1: g - exp(ans) * sum(g, axis=axis, keepdims=True))
defjvp(log_softmax,
       lambda t, ans, x, axis=-1: t - np.sum(t * np.exp(ans), axis=axis, keepdims=True))

# --------------------------------------------------------------------------- shapes and indexing


def _reshape(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.reshape(x, shape)


def _reshape_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [_normal(rng, shape)], {"shape": (-1,) if rng.random() < 0.5 else shape[::-1]
                                   if int(np.prod(shape)) == int(np.prod(shape[::-1])) else (-1,)}


reshape = defop("reshape", _reshape, sample=_reshape_sample, view=True)
defvjp(reshape, lambda g, ans, x, shape: np.reshape(g, x.shape))
defvjp_graph(reshape, lambda g, ans, x, shape: reshape(g, shape=x.shape))
defjvp(reshape, kind="linear")


def _transpose(x: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
    return np.transpose(x, axes)


def _transpose_rule(g, ans, x, axes=None):
    return np.transpose(g, None if axes is None else np.argsort([a % x.ndim for a in axes]))


def _transpose_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    axes = None if rng.random() < 0.3 else tuple(int(a) for a in rng.permutation(len(shape)))
    return [_normal(rng, shape)], {"axes": axes}


transpose = defop("transpose", _transpose, sample=_transpose_sample, view=True)
defvjp(transpose, _transpose_rule)
defvjp_graph(transpose, lambda g, ans, x, axes=None: transpose(g, axes=None if axes is None else tuple(
    int(a) for a in np.argsort([a % x.ndim for a in axes]))))
defjvp(transpose, kind="linear")


def _is_basic_index(index: Any) -> bool:
    """True for indices made only of ints, slices, None and Ellipsis: no element repeats."""
    if type(index) is slice or type(index) is int:
        return True
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | slice | np.integer) for p in parts)


def _getitem(x: np.ndarray, index: Any) -> np.ndarray:
    return x[index]


def _getitem_rule(g, ans, x, index):
    dtype = x.dtype if x.dtype == g.dtype else np.result_type(x.dtype, g.dtype)
    grad = np.zeros(x.shape, dtype=dtype)
    if _is_basic_index(index):
        grad[index] = g
    else:
        np.add.at(grad, index, g)  # repeated integer indices accumulate
    return grad


def _getitem_scatter(buffer, g, index):
    if _is_basic_index(index):
        buffer[index] += g
    else:
        np.add.at(buffer, index, g)


def _getitem_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    shape = shape or (3,)
    choice = rng.random()
    if choice < 0.3:
        index: Any = slice(None, None, -1) if shape[0] > 1 else slice(0, 1)
    elif choice < 0.65:
        index = rng.integers(-shape[0], shape[0], size=int(rng.integers(1, 6)))  # repeats
    else:
        index = rng.random(shape) < 0.5
    return [_normal(rng, shape)], {"index": index}


getitem = defop("getitem", _getitem, sample=_getitem_sample, view=True, array_params=("index",))
defvjp(getitem, _getitem_rule)
getitem.scatter = _getitem_scatter
defvjp_graph(getitem, lambda g, ans, x, index: scatter_add(g, shape=x.shape, index=index))
defjvp(getitem, kind="linear")


def _scatter_add(g: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate): the VJP of getitem,
    as an op, so that the backward pass of indexing can be recorded."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _scatter_add_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    [x], params = _getitem_sample(rng, shape)
    if x[params["index"]].size == 0:  # a mask that selects nothing: nothing to differentiate
        params["index"] = slice(0, 1)
    return [_normal(rng, x[params["index"]].shape)], {"shape": x.shape, **params}


scatter_add = defop("scatter_add", _scatter_add, sample=_scatter_add_sample, array_params=("index",))
defvjp(scatter_add, lambda g, ans, x, shape, index: g[index])
defvjp_graph(scatter_add, lambda g, ans, x, shape, index: getitem(g, index=index))
defjvp(scatter_add, kind="linear")


def _concatenate(*xs: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def _concatenate_rule(needed, g, ans, xs, axis=0):
    # One pass over the inputs: each gradient is a slice (a view) of g at a running offset.
    index = [slice(None)] * g.ndim
    grads = []
    start = 0
    for x, need in zip(xs, needed, strict=True):
        stop = start + x.shape[axis]
        if need:
            index[axis] = slice(start, stop)
            grads.append(g[tuple(index)])
        else:
            grads.append(None)
        start = stop
    return grads


def _concatenate_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    shape = shape or (2,)
    axis = int(rng.integers(-len(shape), len(shape)))
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 3))
        parts.append(_normal(rng, tuple(part)))
    return parts, {"axis": axis}


concatenate = defop("concatenate", _concatenate, sample=_concatenate_sample)
defvjp(concatenate, multi=_concatenate_rule)
defvjp_graph(concatenate, same=True)  # slices of g: getitem on a Tensor
defjvp(concatenate, kind="linear")


def _stack(*xs: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.stack(xs, axis=axis)


def _stack_rule(needed, g, ans, xs, axis=0):
    moved = np.moveaxis(g, axis, 0)  # once; each input's gradient is then a view moved[i]
    return [moved[i] if need else None for i, need in enumerate(needed)]


def _stack_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    return [_normal(rng, shape) for _ in range(int(rng.integers(1, 4)))], {"axis": axis}


stack = defop("stack", _stack, sample=_stack_sample)
defvjp(stack, multi=_stack_rule)


def _stack_graph(needed, g, ans, xs, axis=0):
    before = (slice(None),) * (axis % g.ndim)
    return [getitem(g, index=(*before, i)) if need else None for i, need in enumerate(needed)]


defvjp_graph(stack, multi=_stack_graph)
defjvp(stack, kind="linear")

# --------------------------------------------------------------------------- fused layers and losses


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``x @ weight.T + bias`` in one op; ``weight.T`` is a view, so BLAS sees no copy."""
    if x.ndim == 0 or weight.ndim != 2:
        raise ValueError(f"needs an input with a feature axis and a 2-D weight, got shapes "
                         f"{x.shape} and {weight.shape}")
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"input has {x.shape[-1]} features (shape {x.shape}) but the weight expects "
            f"{weight.shape[-1]} (weight shape {weight.shape})"
        )
    # One compare for small inputs; a narrow input with a wide output is not pooled (the next
    # op's output, of the same size, is).
    if (x.size >= _pool.threshold and x.ndim == 2 and x.dtype is weight.dtype
            and x.shape[0] * weight.shape[0] >= _pool.threshold):
        out = _pool_matmul(x, weight.T)
    else:
        out = x @ weight.T
    if bias is not None:
        out += bias
    return out


def _pool_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of 2-D operands of one float dtype, written into a pooled buffer.

    With ``out=`` NumPy calls the same BLAS routine on the same operands (a transposed operand
    is passed as a transpose flag either way), so the bits are those of ``a @ b``.
    """
    if a.dtype.kind not in "fc":
        return a @ b
    return np.matmul(a, b, out=_pool.take((a.shape[0], b.shape[1]), a.dtype))


def _linear_input_rule(g, ans, x, weight, bias=None):
    if x.size >= _pool.threshold and g.ndim == 2 and g.dtype is weight.dtype:  # a result of x's size
        return _pool_matmul(g, weight)
    return g @ weight


def _linear_weight_rule(g, ans, x, weight, bias=None):
    if g.ndim == 2 and x.ndim == 2:  # the usual (batch, features) case: skip the reshapes
        if weight.size >= _pool.threshold and g.dtype is x.dtype:
            return _pool_matmul(g.T, x)  # the parameter's .grad: reused once zero_grad drops it
        return g.T @ x
    if g.ndim == 1:
        return np.outer(g, x)
    return g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])


def _linear_bias_rule(g, ans, x, weight, bias=None):
    if g.ndim == 2:
        if kernels.fused and type(g) is np.ndarray:
            return kernels.get_kernels().bias_grad(g)  # threaded column sums, the same bits
        return np.add.reduce(g, axis=0)  # what g.sum(axis=0) computes, without its Python wrapper
    return g.reshape(-1, g.shape[-1]).sum(axis=0) if g.ndim > 1 else g


def _linear_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    n_in, n_out = (int(s) for s in rng.integers(1, 5, 2))
    x = rng.standard_normal((*shape[:2], n_in))
    return [x, rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)], {}


linear = defop("linear", _linear, sample=_linear_sample)
defvjp(linear, _linear_input_rule, _linear_weight_rule, _linear_bias_rule)


def _linear_weight_graph(g, ans, x, weight, bias=None):
    if g.ndim == 1:
        return reshape(g, shape=(-1, 1)) * reshape(x, shape=(1, -1))
    return matmul(transpose(reshape(g, shape=(-1, g.shape[-1]))), reshape(x, shape=(-1, x.shape[-1])))


def _linear_bias_graph(g, ans, x, weight, bias=None):
    return sum(g, axis=tuple(range(g.ndim - 1))) if g.ndim > 1 else g


defvjp_graph(linear, lambda g, ans, x, weight, bias=None: matmul(g, weight), _linear_weight_graph,
             _linear_bias_graph)
defjvp(linear, lambda t, ans, x, weight, bias=None: _linear(t, weight),
       lambda t, ans, x, weight, bias=None: _linear(x, t), lambda t, ans, x, weight, bias=None: t)

_REDUCTIONS = ("mean", "sum", "none")


def _reduce_loss(losses: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        if losses.dtype.char in "fd" and 0 < losses.size <= _EXACT_COUNT:
            # np.mean's own arithmetic (pairwise sum, then one division) without its Python-level
            # wrapper, which costs more than the whole loss on small batches.
            return np.add.reduce(losses, axis=None) / losses.size
        return np.mean(losses)
    if reduction == "sum":
        return np.sum(losses)
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _loss_scale(g: np.ndarray, n: int, reduction: str) -> np.ndarray:
    """The incoming gradient for each per-sample loss, as an array that broadcasts over them."""
    return g / n if reduction == "mean" else g


def _class_targets(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    classes = logits.shape[-1]
    if target.dtype.kind not in "iu":
        raise TypeError(f"class targets must be integers, got dtype {target.dtype}")
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"targets of shape {target.shape} do not match logits of shape {logits.shape} "
            f"(expected {logits.shape[:-1]})"
        )
    if target.size and (np.minimum.reduce(target, axis=None) < 0
                        or np.maximum.reduce(target, axis=None) >= classes):
        bad = target[(target < 0) | (target >= classes)].flat[0]
        raise ValueError(f"class target {bad} is out of range for {classes} classes [0, {classes})")
    return target


def _cross_entropy(logits: np.ndarray, target: np.ndarray, reduction: str = "mean"
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    r"""Softmax cross-entropy of logits ``(..., C)`` against integer classes ``(...)`` or against
    class probabilities of the logits' shape.

    Stable for logits of any size: with :math:`s = x - \max_c x_c`,
    :math:`\ell = \log\sum_c e^{s_c} - s_y`. The residual is :math:`e^{s}` and its sums over
    classes, from which the backward pass gets the softmax with one division.
    """
    if logits.ndim == 0:
        raise ValueError("cross_entropy needs logits with a class axis, got a scalar")
    target = np.asarray(target)
    if kernels.fused and _fused_cross_entropy(logits, target):
        target = _class_targets(logits, target)  # the engine's own errors, then the kernel's loop
        loss, exp, total = kernels.get_kernels().softmax_cross_entropy(logits, target, reduction,
                                                                       checked=True)
        return loss, (exp, total)
    if logits.size >= _pool.threshold and logits.dtype.kind == "f":  # a large vocabulary
        shifted = np.subtract(logits, _max_over_classes(logits),
                              out=_pool.take(logits.shape, logits.dtype))
        exp = np.exp(shifted, out=_pool.take(logits.shape, logits.dtype))
    else:
        shifted = logits - _max_over_classes(logits)
        exp = np.exp(shifted)
    total = np.add.reduce(exp, axis=-1, keepdims=True)
    log_total = np.log(total)
    if target.shape == logits.shape and target.dtype.kind == "f":
        losses = -np.add.reduce(target * (shifted - log_total), axis=-1)
    else:
        target = _class_targets(logits, target)
        losses = log_total[..., 0] - _pick_classes(shifted, target)
    return _reduce_loss(losses, reduction), (exp, total)


def _fused_cross_entropy(logits: np.ndarray, target: np.ndarray) -> bool:
    """Whether the numba kernel computes this cross-entropy: 2-D float32/float64 logits against
    integer classes. Probability targets, other dtypes and other ranks stay on the NumPy path.
    The kernel's ``exp``/``log`` are the C library's: a few ulp from NumPy's (kernels/_numba.py)."""
    return (logits.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu"
            and logits.dtype.char in "fd")


def _max_over_classes(logits: np.ndarray) -> np.ndarray:
    """The maximum over the last axis, kept as an axis of length 1.

    NumPy reduces a short last axis row by row, and slowly (15 us for 128 rows of 10 classes);
    for a batch of narrow rows, reducing a transposed copy over its first axis runs as whole-row
    ``maximum`` calls and is 2-8x faster. A maximum involves no rounding: the values are the same.
    """
    if logits.ndim == 2 and logits.shape[1] <= 32 and logits.shape[0] >= 16:
        return np.maximum.reduce(np.ascontiguousarray(logits.T), axis=0)[:, None]
    return np.maximum.reduce(logits, axis=-1, keepdims=True)


def _pick_classes(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``values[..., target]`` elementwise: each sample's entry of its own class."""
    if values.ndim == 2:  # (batch, classes): plain integer indexing, cheaper than the general way
        return values[np.arange(len(target)), target]
    return np.take_along_axis(values, target[..., None], axis=-1)[..., 0]


def _cross_entropy_rule(g, ans, logits, target, reduction="mean", residual=None):
    if residual is None:  # called outside a recorded graph: recompute what the forward kept
        residual = _cross_entropy(logits, target, reduction)[1]
    exp, total = residual
    target = np.asarray(target)
    if (kernels.fused and type(g) is np.ndarray and g.dtype is exp.dtype
            and _fused_cross_entropy(exp, target)):
        # one pass per row; the same operations as below, so the same bits
        return kernels.get_kernels().softmax_cross_entropy_backward(exp, total, target, g, reduction)
    if exp.size >= _pool.threshold and exp.dtype is total.dtype:
        p = np.divide(exp, total, out=_pool.take(exp.shape, exp.dtype))
    else:
        p = exp / total
    n = math.prod(logits.shape[:-1])
    if reduction == "none":
        scale = np.expand_dims(_loss_scale(np.asarray(g), n, reduction), -1)
    else:  # g is 0-d: NumPy-scalar arithmetic, same dtype and rounding, a fraction of the cost
        scale = _loss_scale(g[()], n, reduction)
    if target.shape == logits.shape and target.dtype.kind == "f":
        return (p * target.sum(axis=-1, keepdims=True) - target) * scale
    if p.ndim == 2:
        p[np.arange(len(target)), target] -= 1
    else:
        np.put_along_axis(p, target[..., None], np.take_along_axis(p, target[..., None], -1) - 1,
                          -1)
    p *= scale
    return p


def _cross_entropy_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    batch = shape[:2]
    classes = int(rng.integers(2, 5))
    logits = rng.standard_normal((*batch, classes)) * 2
    reduction = str(rng.choice(_REDUCTIONS))
    return [logits, rng.integers(0, classes, batch)], {"reduction": reduction}


def _cross_entropy_target_rule(g, ans, logits, target, reduction="mean", residual=None):
    # Only a probability target can require grad (class indices are integers): d loss / d p_c
    # is -log softmax(x)_c, as PyTorch differentiates soft targets. log softmax is taken from
    # the shifted logits, finite where exp(shifted) underflowed to 0.
    if residual is None:
        residual = _cross_entropy(logits, target, reduction)[1]
    log_probs = (logits - _max_over_classes(logits)) - np.log(residual[1])
    n = math.prod(logits.shape[:-1])
    scale = _loss_scale(np.asarray(g), n, reduction)
    return -log_probs * (np.expand_dims(scale, -1) if reduction == "none" else scale)


cross_entropy = defop("cross_entropy", _cross_entropy, sample=_cross_entropy_sample,
                      residual=True)
defvjp(cross_entropy, _cross_entropy_rule, _cross_entropy_target_rule)


def _loss_scale_graph(g: Tensor, n: int, reduction: str) -> Tensor:
    return g / n if reduction == "mean" else g


def _cross_entropy_graph(g, ans, logits, target, reduction="mean", residual=None):
    p = softmax(logits, axis=-1)
    scale = _loss_scale_graph(g, math.prod(logits.shape[:-1]), reduction)
    if reduction == "none":
        scale = _with_axis(scale)
    values = np.asarray(_value(target))
    if values.shape == logits.shape and values.dtype.kind == "f":
        # the target itself (a Tensor, maybe one that requires grad), not its values: the
        # result is then differentiable in a soft target too
        return (p * sum(target, axis=-1, keepdims=True) - target) * scale
    target = values
    onehot = np.zeros(logits.shape, dtype=p.dtype)
    np.put_along_axis(onehot, target[..., None], 1, -1)
    return (p - onehot) * scale


def _loss_jvp(rule: Rule, class_axis: bool = False) -> Rule:
    """The JVP of a loss from its VJP: the cotangent 1 gives the weights w = d loss / d input,
    and J t sums t * w over the reduced elements (over the class axis for reduction="none")."""
    def jvp(t, ans, *inputs, reduction="mean", **params):
        weights = rule(np.ones(ans.shape, dtype=ans.dtype), ans, *inputs, reduction=reduction,
                       **params)
        product = t * weights
        if reduction != "none":
            return np.sum(product)
        return np.sum(product, axis=-1) if class_axis else product
    return jvp


def _cross_entropy_target_graph(g, ans, logits, target, reduction="mean", residual=None):
    scale = _loss_scale_graph(g, math.prod(logits.shape[:-1]), reduction)
    return -log_softmax(logits, axis=-1) * (_with_axis(scale) if reduction == "none" else scale)


defvjp_graph(cross_entropy, _cross_entropy_graph, _cross_entropy_target_graph)
defjvp(cross_entropy, _loss_jvp(_cross_entropy_rule, class_axis=True),
       _loss_jvp(_cross_entropy_target_rule, class_axis=True))


def _bce_with_logits(x: np.ndarray, y: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Binary cross-entropy of the sigmoid of ``x`` against ``y``, as
    ``max(x, 0) - x*y + log(1 + exp(-|x|))`` so that no exp overflows."""
    losses = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return _reduce_loss(losses, reduction)


def _bce_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [_away_from_zero(rng, shape) * 3, rng.random(shape)], {
        "reduction": str(rng.choice(_REDUCTIONS))}


def _bce_logits_rule(g, ans, x, y, reduction="mean"):
    return (_sigmoid(x) - y) * _loss_scale(g, np.broadcast(x, y).size, reduction)


def _bce_target_rule(g, ans, x, y, reduction="mean"):
    return -x * _loss_scale(g, np.broadcast(x, y).size, reduction)


bce_with_logits = defop("bce_with_logits", _bce_with_logits, broadcasts=True, sample=_bce_sample)
defvjp(bce_with_logits, _bce_logits_rule, _bce_target_rule)
defvjp_graph(bce_with_logits,
             lambda g, ans, x, y, reduction="mean": (sigmoid(x) - y) * _loss_scale_graph(
                 g, np.broadcast(_value(x), _value(y)).size, reduction),
             lambda g, ans, x, y, reduction="mean": -x * _loss_scale_graph(
                 g, np.broadcast(_value(x), _value(y)).size, reduction))
defjvp(bce_with_logits, _loss_jvp(_bce_logits_rule), _loss_jvp(_bce_target_rule))


def _mse_loss(x: np.ndarray, y: np.ndarray, reduction: str = "mean") -> np.ndarray:
    diff = x - y
    return _reduce_loss(diff * diff, reduction)


def _mse_rule(g, ans, x, y, reduction="mean"):
    diff = x - y
    if reduction != "none":
        g = g[()]  # 0-d: NumPy-scalar arithmetic, same dtype and rounding, a fraction of the cost
    return diff * (2 * _loss_scale(g, diff.size, reduction))  # 2 * (.) is exact


def _mse_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [_normal(rng, shape), _normal(rng, shape)], {"reduction": str(rng.choice(_REDUCTIONS))}


mse_loss = defop("mse_loss", _mse_loss, broadcasts=True, sample=_mse_sample)
defvjp(mse_loss, _mse_rule, lambda g, ans, x, y, reduction="mean": -_mse_rule(g, ans, x, y, reduction))


def _mse_graph(g, ans, x, y, reduction="mean"):
    diff = x - y
    return diff * (2 * _loss_scale_graph(g, np.broadcast(_value(x), _value(y)).size, reduction))


defvjp_graph(mse_loss, _mse_graph, lambda g, ans, x, y, reduction="mean": -_mse_graph(
    g, ans, x, y, reduction))
defjvp(mse_loss, _loss_jvp(_mse_rule), _loss_jvp(
    lambda g, ans, x, y, reduction="mean": -_mse_rule(g, ans, x, y, reduction)))


# The error function and GELU (nn engineer). NumPy has no erf, so it is computed here from two
# classical expansions, each used where it converges fast:
#   |z| <= 2:  erf(z) = 2/sqrt(pi) z e^{-z^2} sum_{n>=0} (2z^2)^n / (1*3*...*(2n+1)),
#              a series of positive terms, so no cancellation (Abramowitz & Stegun 7.1.6);
#   |z| > 2:   erfc(z) = e^{-z^2}/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))),
#              Laplace's continued fraction (A&S 7.1.14), evaluated from the tail up.
# The term counts give an absolute error below 1e-15 against math.erf over the whole line
# (tests/nn/test_layers.py checks them).
_SQRT_PI = float(np.sqrt(np.pi))
_SQRT_HALF = float(np.sqrt(0.5))
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))
_ERF_SERIES_LIMIT = 2.0
_ERF_SERIES_TERMS = 32
_ERFC_FRACTION_TERMS = 45


def _erf_series(z: np.ndarray) -> np.ndarray:
    ratio = 2 * z * z
    total = np.ones_like(z)
    for n in range(_ERF_SERIES_TERMS, 0, -1):
        total = 1 + total * ratio / (2 * n + 1)
    return (2 / _SQRT_PI) * z * np.exp(-z * z) * total


def _erfc_fraction(z: np.ndarray) -> np.ndarray:
    """erfc(z) for z > 2 (e^{-z^2} underflows to 0 for huge z, as erfc does)."""
    denominator = z
    for k in range(_ERFC_FRACTION_TERMS, 0, -1):
        denominator = z + (0.5 * k) / denominator
    return np.exp(-z * z) / (_SQRT_PI * denominator)


def _float_array(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _erf(x: np.ndarray) -> np.ndarray:
    x = _float_array(x)
    out = np.empty_like(x)
    near = np.abs(x) <= _ERF_SERIES_LIMIT
    far = ~near  # NaN lands here and stays NaN
    with np.errstate(over="ignore", under="ignore"):
        out[near] = _erf_series(x[near])
        out[far] = np.copysign(1 - _erfc_fraction(np.abs(x[far])), x[far])
    return out


def _erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x), without the cancellation of that difference for large positive x."""
    x = _float_array(x)
    out = np.empty_like(x)
    near = np.abs(x) <= _ERF_SERIES_LIMIT
    right = x > _ERF_SERIES_LIMIT
    left = ~(near | right)
    with np.errstate(over="ignore", under="ignore"):
        out[near] = 1 - _erf_series(x[near])
        out[right] = _erfc_fraction(x[right])
        out[left] = 2 - _erfc_fraction(-x[left])
    return out


erf = defop("erf", _erf, sample=lambda rng, shape: ([rng.standard_normal(shape) * 2], {}))
defvjp(erf, lambda g, ans, x: g * ((2 / _SQRT_PI) * np.exp(-x * x)))
defvjp_graph(erf, lambda g, ans, x: g * ((2 / _SQRT_PI) * exp(-(x * x))))
defjvp(erf, kind="vjp")

_GELU_APPROXIMATIONS = ("none", "tanh")
_GELU_TANH_SCALE = float(np.sqrt(2 / np.pi))
_GELU_TANH_CUBIC = 0.044715


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    # Through erfc so that the left tail keeps its relative accuracy.
    return 0.5 * _erfc(-_SQRT_HALF * x)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    return np.tanh(_GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x * x * x))


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """``x * Phi(x)`` with the standard normal CDF ``Phi`` (Hendrycks & Gimpel 2016), or with
    ``approximate="tanh"`` the tanh form ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate == "none":
        return x * _normal_cdf(x)
    if approximate == "tanh":
        return 0.5 * x * (1 + _gelu_tanh_inner(x))
    raise ValueError(f"approximate must be one of {_GELU_APPROXIMATIONS}, got {approximate!r}")


def _gelu_rule(g, ans, x, approximate="none"):
    if approximate == "tanh":
        t = _gelu_tanh_inner(x)
        slope = _GELU_TANH_SCALE * (1 + 3 * _GELU_TANH_CUBIC * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope)
    with np.errstate(under="ignore"):
        density = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return g * (_normal_cdf(x) + x * density)


def _gelu_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [rng.standard_normal(shape) * 3], {"approximate": str(rng.choice(_GELU_APPROXIMATIONS))}


gelu = defop("gelu", _gelu, sample=_gelu_sample)
defvjp(gelu, _gelu_rule)


def _gelu_graph(g, ans, x, approximate="none"):
    if approximate == "tanh":
        t = tanh(_GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x * x * x))
        slope = _GELU_TANH_SCALE * (1 + 3 * _GELU_TANH_CUBIC * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope)
    # Phi through erf: the same values to an absolute 1e-16 (the left tail's relative accuracy,
    # which _normal_cdf keeps through erfc, matters for the value, not for a derivative's)
    cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
    with np.errstate(under="ignore"):
        density = _INV_SQRT_2PI * exp(-0.5 * (x * x))
    return g * (cdf + x * density)


defvjp_graph(gelu, _gelu_graph)
defjvp(gelu, kind="vjp")


# --------------------------------------------------------------------------- tensor protocol ops
# (issue 14: the PyTorch tensor methods that need a derivative rule of their own)


def _expand(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(x, shape)


def _expand_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [_normal(rng, _broadcast_partner(rng, shape))], {"shape": shape}


expand = defop("expand", _expand, sample=_expand_sample, view=True)
defvjp(expand, lambda g, ans, x, shape: unbroadcast(g, x.shape))
defvjp_graph(expand, lambda g, ans, x, shape: unbroadcast_graph(g, x.shape))
defjvp(expand, kind="linear")

_NORM_ORDERS = (1, 2, math.inf)


def _norm(x: np.ndarray, p: float = 2, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    if p == 2:
        return np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims))
    if p == 1:
        return np.add.reduce(np.abs(x), axis=axis, keepdims=keepdims)
    if p == math.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"p must be one of 1, 2 and inf, got {p!r}")


def _norm_rule(g, ans, x, p=2, axis=None, keepdims=False):
    ans = _expand_reduced(ans, x.shape, axis, keepdims)
    g = _expand_reduced(g, x.shape, axis, keepdims)
    if p == 2:  # x / |x|, taken as 0 where the norm is 0 (as PyTorch)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ans == 0, 0.0, g * x / ans)
    if p == 1:
        return g * np.sign(x)
    hits = np.abs(x) == ans  # ties share the gradient, as for max
    return g * np.sign(x) * hits / np.sum(hits, axis=axis, keepdims=True)


def _norm_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    x = _away_from_zero(rng, shape)
    return [x], {"p": _NORM_ORDERS[int(rng.integers(0, 3))], "axis": _random_axis(rng, len(shape)),
                 "keepdims": bool(rng.random() < 0.5)}


norm = defop("norm", _norm, sample=_norm_sample)
defvjp(norm, _norm_rule)


def _norm_graph(g, ans, x, p=2, axis=None, keepdims=False):
    spread = _expand_reduced(g, x.shape, axis, keepdims)
    if p != 2:  # sign(x) (and the ties of the maximum for p = inf): a constant mask
        weights = _norm_rule(np.ones(ans.shape, dtype=ans.dtype), ans.data, _value(x), p, axis,
                             keepdims)
        return _masked(spread, weights)
    norms = _expand_reduced(ans, x.shape, axis, keepdims)
    zero = norms.data == 0  # x / |x| is taken as 0 there, as in the first-order rule
    return where(zero, 0.0, spread * x / where(zero, 1.0, norms))


defvjp_graph(norm, _norm_graph)
defjvp(norm, kind="reduction")


def _cumsum(x: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.cumsum(x, axis=axis)


def _cumsum_rule(g, ans, x, axis=0):
    # each input reaches every later partial sum: a cumulative sum of g from the end
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


cumsum = defop("cumsum", _cumsum, sample=_last_axis())
defvjp(cumsum, _cumsum_rule)


def _cumsum_graph(g, ans, x, axis=0):
    flip = (*(slice(None),) * (axis % g.ndim), slice(None, None, -1))
    return getitem(cumsum(getitem(g, index=flip), axis=axis), index=flip)


defvjp_graph(cumsum, _cumsum_graph)
defjvp(cumsum, kind="linear")


def _prod(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    return np.prod(x, axis=axis, keepdims=keepdims)


def _prod_rule(g, ans, x, axis=None, keepdims=False):
    # The product of the other entries, as (exclusive cumulative product from the left) times
    # (from the right): exact with zeros, where ans / x would divide 0 by 0.
    if x.size == 0:  # no entries, no gradient entries (and np.take below needs one)
        return np.zeros(x.shape, np.result_type(g, x))
    flat = axis is None or x.ndim == 0  # a 0-d input's axis 0 (or -1) is all of it
    work = x.reshape(-1) if flat else x
    along = 0 if flat else axis % x.ndim
    ones = np.ones_like(np.take(work, [0], axis=along))
    left = np.cumprod(np.concatenate([ones, np.take(work, range(work.shape[along] - 1),
                                                   axis=along)], axis=along), axis=along)
    right = np.flip(np.cumprod(np.concatenate(
        [ones, np.take(np.flip(work, along), range(work.shape[along] - 1), axis=along)],
        axis=along), axis=along), along)
    others = (left * right).reshape(x.shape)
    return _expand_reduced(g, x.shape, axis, keepdims) * others


def _prod_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    shape = shape or (3,)
    x = _positive(rng, shape) * rng.choice([-1.0, 1.0], shape)
    if rng.random() < 0.3:
        x.flat[int(rng.integers(0, x.size))] = 0.0  # the product rule must hold at a zero too
    axis = None if rng.random() < 0.4 else int(rng.integers(-len(shape), len(shape)))
    return [x], {"axis": axis, "keepdims": bool(rng.random() < 0.5)}


prod = defop("prod", _prod, sample=_prod_sample)
defvjp(prod, _prod_rule)


def _prod_graph(g, ans, x, axis=None, keepdims=False):
    # The product of the other entries, made of ops so that it can be differentiated again: each
    # entry's row of n copies of the axis, with that entry replaced by 1, multiplied out.
    # O(n^2) memory along the reduced axis, only on the create_graph path.
    x = x if isinstance(x, Tensor) else _constant_of(x)
    flat = axis is None or x.ndim == 0  # as in _prod_rule
    work = reshape(x, shape=(-1,)) if flat else x
    along = 0 if flat else axis % x.ndim
    order = [a for a in range(work.ndim) if a != along] + [along]
    moved = transpose(work, axes=tuple(order))  # the reduced axis last: (..., n)
    n = moved.shape[-1]
    rows = expand(reshape(moved, shape=(*moved.shape[:-1], 1, n)), shape=(*moved.shape, n))
    others = prod(where(np.eye(n, dtype=bool), 1.0, rows), axis=-1)
    others = reshape(transpose(others, axes=tuple(int(a) for a in np.argsort(order))), shape=x.shape)
    return _expand_reduced(g, x.shape, axis, keepdims) * others


defvjp_graph(prod, _prod_graph)
defjvp(prod, kind="reduction")


def _cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    return x.astype(dtype)


def _cast_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    return [_normal(rng, shape)], {"dtype": np.float64}


cast = defop("cast", _cast, sample=_cast_sample)
defvjp(cast, lambda g, ans, x, dtype: g.astype(x.dtype))
defvjp_graph(cast, lambda g, ans, x, dtype: cast(g, dtype=x.dtype))
defjvp(cast, kind="linear")


# --------------------------------------------------------------------------- activations and losses
# (the PyTorch activations and losses of fully connected networks that need a rule of their own:
# a stable form, or a subgradient at a kink that no composite of the ops above gives)


def _scalar_of(x: np.ndarray, value: float) -> Any:
    """``value`` in ``x``'s floating dtype, as PyTorch's kernels convert their scalars."""
    return x.dtype.type(value) if x.dtype.kind == "f" else value


log1p = defop("log1p", lambda x: np.log1p(x),
              sample=lambda rng, shape: ([np.asarray(rng.uniform(-0.7, 3.0, shape))], {}))
defvjp(log1p, lambda g, ans, x: g / (1 + x))
defvjp_graph(log1p, same=True)
defjvp(log1p, kind="vjp")

expm1 = defop("expm1", lambda x: np.expm1(x), sample=_unary())
defvjp(expm1, lambda g, ans, x: g * (ans + 1))  # PyTorch's rule: e^x from the result
defvjp_graph(expm1, same=True)
defjvp(expm1, kind="vjp")


def _softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """``log(1 + e^{beta x}) / beta``, and ``x`` itself where ``beta x > threshold`` (PyTorch's
    rule: there the two agree to rounding and the exponential would overflow)."""
    x = _float_array(x)
    scaled = x * _scalar_of(x, beta)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        soft = np.log1p(np.exp(scaled)) / _scalar_of(x, beta)
    return np.where(scaled > _scalar_of(x, threshold), x, soft)


def _softplus_rule(g, ans, x, beta=1.0, threshold=20.0):
    scaled = x * _scalar_of(x, beta)
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.exp(scaled)
        return np.where(scaled > _scalar_of(x, threshold), g, g * z / (z + 1))


def _softplus_graph(g, ans, x, beta=1.0, threshold=20.0):
    above = _value(x) * beta > threshold  # a constant mask; e^z / (e^z + 1) is sigmoid(z)
    return where(above, g, g * sigmoid(x * beta))


def _softplus_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    beta = float(rng.choice([1.0, 2.0, 0.5]))
    threshold = float(rng.choice([20.0, 1.5]))
    x = _normal(rng, shape) * 3
    edge = threshold / beta  # the forward jumps there (by less than e^-threshold): stay off it
    x = np.where(np.abs(x - edge) < 0.05, edge + 0.5, x)
    return [x], {"beta": beta, "threshold": threshold}


softplus = defop("softplus", _softplus, sample=_softplus_sample)
defvjp(softplus, _softplus_rule)
defvjp_graph(softplus, _softplus_graph)
defjvp(softplus, kind="vjp")


def _elu(x: np.ndarray, alpha: float = 1.0, scale: float = 1.0,
         input_scale: float = 1.0) -> np.ndarray:
    """``scale * x`` for ``x > 0``, ``alpha * scale * expm1(input_scale * x)`` for ``x <= 0``:
    ELU, SELU and CELU, with PyTorch's coefficients in the input's precision."""
    x = _float_array(x)
    negative = _scalar_of(x, alpha) * _scalar_of(x, scale)
    with np.errstate(over="ignore", invalid="ignore"):
        left = np.expm1(x * _scalar_of(x, input_scale)) * negative
    return np.where(x <= 0, left, x * _scalar_of(x, scale))


def _elu_rule(g, ans, x, alpha=1.0, scale=1.0, input_scale=1.0):
    # PyTorch's derivative from the input, not the output: at x = 0 it takes the left piece,
    # alpha * scale * input_scale
    inner = _scalar_of(x, input_scale)
    negative = _scalar_of(x, alpha) * _scalar_of(x, scale)
    with np.errstate(over="ignore", invalid="ignore"):
        left = g * inner * negative * np.exp(x * inner)
    return np.where(x <= 0, left, g * _scalar_of(x, scale))


def _elu_graph(g, ans, x, alpha=1.0, scale=1.0, input_scale=1.0):
    # The slope takes the left piece at x = 0 (alpha * scale * input_scale, as _elu_rule), but
    # its own derivative there is 0, the right piece's: PyTorch's elu_double_backward masks
    # with x < 0, so that every derivative past the first is 0 at x = 0 (and at -0.0), for
    # any alpha. e^(x input_scale) is recorded only where x < 0, elsewhere e^0 = 1.
    data = _value(x)
    slope = exp(where(data < 0, x, 0.0) * input_scale) * (input_scale * alpha * scale)
    return g * where(data <= 0, slope, scale)


def _elu_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    alpha = float(rng.choice([1.0, 0.5, 1.6732632423543772]))
    scale = float(rng.choice([1.0, 1.0507009873554805]))
    return [_away_from_zero(rng, shape) * 2], {"alpha": alpha, "scale": scale,
                                                "input_scale": float(rng.choice([1.0, 2.0]))}


elu = defop("elu", _elu, sample=_elu_sample)
defvjp(elu, _elu_rule)
defvjp_graph(elu, _elu_graph)
defjvp(elu, kind="vjp")


def _hardtanh(x: np.ndarray, min_val: float = -1.0, max_val: float = 1.0) -> np.ndarray:
    return np.clip(x, _scalar_of(np.asarray(x), min_val), _scalar_of(np.asarray(x), max_val))


def _hardtanh_mask(x: np.ndarray, min_val: float, max_val: float) -> np.ndarray:
    # PyTorch's: 0 where x <= min_val or x >= max_val, so 0 at both bounds (unlike clip)
    return ~((x <= _scalar_of(x, min_val)) | (x >= _scalar_of(x, max_val)))


def _hardtanh_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    low, high = [(-1.0, 1.0), (0.0, 6.0), (-0.5, 2.0)][int(rng.integers(0, 3))]
    x = np.asarray(rng.uniform(low - 1.5, high + 1.5, shape))
    near = (np.abs(x - low) < 0.05) | (np.abs(x - high) < 0.05)  # stay off the kinks
    return [np.where(near, (low + high) / 2, x)], {"min_val": low, "max_val": high}


hardtanh = defop("hardtanh", _hardtanh, sample=_hardtanh_sample)
defvjp(hardtanh, lambda g, ans, x, min_val=-1.0, max_val=1.0: g * _hardtanh_mask(
    x, min_val, max_val))
defvjp_graph(hardtanh, lambda g, ans, x, min_val=-1.0, max_val=1.0: _masked(
    g, _hardtanh_mask(np.asarray(_value(x)), min_val, max_val)))
defjvp(hardtanh, kind="vjp")


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x log y``, 0 where ``x == 0`` (unless ``y`` is NaN), as ``torch.xlogy``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(x * np.log(y))
    zero = (x == 0) & ~np.isnan(y)
    return np.where(zero, out.dtype.type(0), out) if out.dtype.kind == "f" else out


def _xlogy_left(g, ans, x, y):
    # d(x log y)/dx = log y, at x == 0 too; taken as 0 only where x == 0 and y <= 0, where
    # log y is -inf or NaN (the xlogx convention). PyTorch's rule: xlogy(g, y) masked there.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((np.asarray(x) == 0) & (np.asarray(y) <= 0), 0, _xlogy(g, y))


def _xlogy_right(g, ans, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * x / y


def _xlogy_left_graph(g, ans, x, y):
    masked = (np.asarray(_value(x)) == 0) & (np.asarray(_value(y)) <= 0)  # as _xlogy_left
    return g * where(masked, 0.0, log(where(masked, 1.0, y)))


xlogy = defop("xlogy", _xlogy, broadcasts=True, sample=_binary(_normal, _positive))
defvjp(xlogy, _xlogy_left, _xlogy_right)
defvjp_graph(xlogy, _xlogy_left_graph, lambda g, ans, x, y: g * x / y)
defjvp(xlogy, kind="vjp")

#: PyTorch's floor of the logarithms in binary_cross_entropy, and of its gradient's denominator
#: (a float32 constant there, 1e-12 rounded to float32, in float64 too)
_BCE_LOG_FLOOR = -100
_BCE_EPSILON = float(np.float32(1e-12))


def _unit_interval(what: str, values: np.ndarray) -> None:
    values = np.asarray(values)
    if values.size and not ((values >= 0) & (values <= 1)).all():  # NaN is outside too
        bad = values[~((values >= 0) & (values <= 1))].flat[0]
        raise ValueError(f"all elements of {what} should be between 0 and 1, got {float(bad)!r}")


def _cast_weight(weight: Any, like: np.ndarray) -> Any:
    if weight is None:
        return None
    dtype = like.dtype if like.dtype.kind == "f" else np.dtype(np.float64)
    return np.asarray(weight).astype(dtype, copy=False)


def _binary_cross_entropy(x: np.ndarray, y: np.ndarray, weight: Any = None,
                          reduction: str = "mean") -> np.ndarray:
    r"""``-w [y log x + (1 - y) log(1 - x)]`` on probabilities ``x``, each logarithm floored at
    -100 as in PyTorch (so that x = 0 or 1 gives a finite loss)."""
    _unit_interval("input", x)
    _unit_interval("target", y)
    x = _float_array(x)
    with np.errstate(divide="ignore"):
        losses = ((y - 1) * np.maximum(np.log1p(-x), _BCE_LOG_FLOOR)
                  - y * np.maximum(np.log(x), _BCE_LOG_FLOOR))
    weight = _cast_weight(weight, losses)
    if weight is not None:
        losses = losses * weight
    return _reduce_loss(losses, reduction)


def _bce_input_rule(g, ans, x, y, weight=None, reduction="mean"):
    # PyTorch's: g (x - y) / max(x (1 - x), 1e-12), then the weight, then 1/n for the mean
    grad = g * (x - y) / np.maximum((1 - x) * x, _scalar_of(x, _BCE_EPSILON))
    weight = _cast_weight(weight, grad)
    if weight is not None:
        grad = grad * weight
    return grad / np.broadcast(x, y).size if reduction == "mean" else grad


def _bce_target_rule(g, ans, x, y, weight=None, reduction="mean"):
    # PyTorch's: -logit(x) g (with the weight, and 1/n for the mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = -np.log(x / (1 - x)) * g
    weight = _cast_weight(weight, grad)
    if weight is not None:
        grad = grad * weight
    return grad / np.broadcast(x, y).size if reduction == "mean" else grad


def _bce_input_graph(g, ans, x, y, weight=None, reduction="mean"):
    data = _value(x)
    floor = (1 - data) * data <= _BCE_EPSILON  # a constant mask: the floored denominator
    grad = g * (x - y) / where(floor, _BCE_EPSILON, (1 - x) * x)
    if weight is not None:
        grad = grad * _cast_weight(weight, np.asarray(data))
    return grad / np.broadcast(data, _value(y)).size if reduction == "mean" else grad


def _bce_target_graph(g, ans, x, y, weight=None, reduction="mean"):
    grad = -log(x / (1 - x)) * g
    if weight is not None:
        grad = grad * _cast_weight(weight, np.asarray(_value(x)))
    return grad / np.broadcast(_value(x), _value(y)).size if reduction == "mean" else grad


def _binary_cross_entropy_sample(rng: np.random.Generator, shape: tuple[int, ...]):
    weight = None if rng.random() < 0.5 else rng.uniform(0.5, 2.0, _broadcast_partner(rng, shape))
    return [np.asarray(rng.uniform(0.05, 0.95, shape)), np.asarray(rng.random(shape)), weight], {
        "reduction": str(rng.choice(_REDUCTIONS))}


binary_cross_entropy = defop("binary_cross_entropy", _binary_cross_entropy, broadcasts=True,
                             sample=_binary_cross_entropy_sample)
defvjp(binary_cross_entropy, _bce_input_rule, _bce_target_rule, None)
defvjp_graph(binary_cross_entropy, _bce_input_graph, _bce_target_graph, None)
defjvp(binary_cross_entropy, _loss_jvp(_bce_input_rule), _loss_jvp(_bce_target_rule), None)


# --------------------------------------------------------------------------- Tensor methods


def _binary_method(op: Op) -> Callable[[Any, Any], Tensor]:
    return lambda self, other: apply(op, (self, other), {})


def _reflected(op: Op) -> Callable[[Any, Any], Tensor]:
    return lambda self, other: apply(op, (other, self), {})


def _unary_method(op: Op) -> Callable[[Any], Tensor]:
    return lambda self: apply(op, (self,), {})


def _comparison(ufunc: np.ufunc) -> Callable[[Tensor, Any], Tensor]:
    def compare(self: Tensor, other: Any) -> Tensor:  # a boolean mask: never differentiable
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._constant(np.asarray(ufunc(self.data, other)))
    return compare


def _transpose_method(self: Tensor, *axes: Any) -> Tensor:
    """``t.transpose(dim0, dim1)`` swaps two dimensions, as in PyTorch; ``t.transpose()``
    reverses them and ``t.transpose(order)`` permutes them, as in NumPy.

    The two meanings agree wherever both apply, except NumPy's identity order ``(0, 1)`` of a
    matrix, which no one writes: a ported ``t.transpose(0, 1)`` means PyTorch's swap.
    """
    axes = _shape_args(axes)
    if len(axes) == 2:
        order = list(range(self.ndim))
        try:
            first, second = order[axes[0]], order[axes[1]]
        except (IndexError, TypeError):
            raise IndexError(f"transpose: cannot swap dimensions {axes} of a tensor of "
                             f"{self.ndim} dimensions") from None
        order[first], order[second] = second, first
        axes = tuple(order)
    return transpose(self, axes=axes or None)


def _shape_args(shape: tuple) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape


def _install_methods() -> None:
    methods: dict[str, Any] = {
        "__add__": _binary_method(add), "__radd__": _reflected(add),
        "__sub__": _binary_method(sub), "__rsub__": _reflected(sub),
        "__mul__": _binary_method(mul), "__rmul__": _reflected(mul),
        "__truediv__": _binary_method(div), "__rtruediv__": _reflected(div),
        "__pow__": _binary_method(pow), "__rpow__": _reflected(pow),
        "__matmul__": _binary_method(matmul), "__rmatmul__": _reflected(matmul),
        "matmul": _binary_method(matmul), "__neg__": _unary_method(neg),
        "__abs__": _unary_method(abs),
        "__getitem__": lambda self, index: apply(getitem, (self,), {"index": _index(index)}),
        "__lt__": _comparison(np.less), "__le__": _comparison(np.less_equal),
        "__gt__": _comparison(np.greater), "__ge__": _comparison(np.greater_equal),
        "__eq__": _comparison(np.equal), "__ne__": _comparison(np.not_equal),
        **{op.name: _unary_method(op)
           for op in (exp, log, sqrt, abs, tanh, sigmoid, relu, sin, cos)},
        "clip": lambda self, min=None, max=None: clip(self, min=_clip_bound("min", min),
                                                      max=_clip_bound("max", max)),
        "reshape": lambda self, *shape: reshape(self, shape=_shape_args(shape)),
        "transpose": _transpose_method,
        "flatten": lambda self: reshape(self, shape=(-1,)),
        "T": property(lambda self: transpose(self)),
    }
    for name, method in methods.items():
        setattr(Tensor, name, method)
    # Defining __eq__ would otherwise unset the hash. object's own (identity) hash is a C slot:
    # a Python-level one costs a frame on every dict lookup keyed by a tensor (optimizer state).
    Tensor.__hash__ = object.__hash__


def _index(index: Any) -> Any:
    """Indices may hold Tensors or lists: make them arrays NumPy understands."""
    if isinstance(index, tuple):
        return tuple(_index(part) for part in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        # an empty list selects nothing; np.asarray([]) would be a float array, not an index
        return np.asarray(index) if index else np.empty(0, np.intp)
    return index


_install_methods()
