"""Issue 12: second-order rules, forward mode and the functional transforms of every op.

Each registered op is checked on its own ``sample`` domain (as in test_gradcheck_ops.py):

- its recorded backward pass (``autodiff.grad(..., create_graph=True)``) is differentiated
  against central differences of the first-order VJP, in the inputs and in the cotangent;
- ``jacobian``, ``jvp`` and ``vjp`` against a finite-difference Jacobian;
- ``hessian`` and ``hvp`` against central differences of the (first-order) gradient.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import array_shapes

import steepest as st
from steepest.autodiff import ops
from steepest.autodiff.ops import OPS

shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
EPS = 1e-6


def _sample(op, shape, seed):
    args, params = op.sample(np.random.default_rng(seed), shape)
    return [np.asarray(a) if isinstance(a, np.generic) else a for a in args], params


def _positions(op, args):
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and op.differentiable(i)]


def test_every_op_has_a_second_order_and_a_forward_mode_rule():
    no_graph = [n for n, op in OPS.items() if op.graph_rules is None and op.graph_multi is None]
    no_jvp = [n for n, op in OPS.items() if op.jvp_rules is None and op.jvp_kind is None]
    assert not no_graph, f"ops without a second-order rule: {no_graph}"
    assert not no_jvp, f"ops without a forward-mode rule: {no_jvp}"


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=hs.integers(0, 2**32 - 1))
def test_recorded_backward_matches_finite_differences_of_the_vjp(name, shape, seed):
    op = OPS[name]
    args, params = _sample(op, shape, seed)
    positions = _positions(op, args)
    out_shape = op(*args, **params).shape
    cotangent = np.random.default_rng(seed + 1).standard_normal(out_shape)

    def vjp(*tensors):
        # gradcheck calls this with leaves that require grad (the analytic pass: the recorded
        # backward, differentiated) and with plain tensors (the differences, taken of the
        # first-order VJP of the NumPy rules, which test_gradcheck_ops.py checks)
        recorded = tensors[0].requires_grad
        *inputs, u = [t if t.requires_grad else st.tensor(t.data, requires_grad=True)
                      for t in tensors]
        full = list(args)
        for i, t in zip(positions, inputs, strict=True):
            full[i] = t
        grads = st.autodiff.grad(op(*full, **params), inputs, grad_outputs=u if recorded else u.data,
                                 create_graph=recorded)
        return st.concatenate([g.reshape(-1) for g in grads])

    st.gradcheck(vjp, (*(args[i] for i in positions), cotangent), eps=EPS, atol=1e-6, rtol=1e-5)


def _flat_function(op, args, params, positions):
    """f(z) = op(inputs), with the differentiable inputs packed into one flat vector z."""
    sizes = [args[i].size for i in positions]
    offsets = np.cumsum([0, *sizes])
    z0 = np.concatenate([args[i].reshape(-1) for i in positions]) if positions else np.zeros(0)

    def f(z):
        full = list(args)
        for k, i in enumerate(positions):
            full[i] = z[int(offsets[k]):int(offsets[k + 1])].reshape(args[i].shape)
        return op(*full, **params)
    return f, z0


def _numeric_jacobian(f, z):
    columns = []
    for j in range(z.size):
        step = np.zeros_like(z)
        step[j] = EPS
        columns.append(((f(st.tensor(z + step)).data - f(st.tensor(z - step)).data)
                        / (2 * EPS)).reshape(-1))
    return np.stack(columns, axis=-1)


def _close(analytic, numeric, what, atol=1e-6, rtol=1e-5):
    analytic = np.asarray(analytic, dtype=np.float64)
    assert analytic.shape == numeric.shape, f"{what}: shape {analytic.shape} != {numeric.shape}"
    np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=rtol, err_msg=what)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=hs.integers(0, 2**32 - 1))
def test_functional_transforms_match_finite_differences(name, shape, seed):
    op = OPS[name]
    args, params = _sample(op, shape, seed)
    positions = _positions(op, args)
    f, z = _flat_function(op, args, params, positions)
    rng = np.random.default_rng(seed + 2)
    out = f(st.tensor(z)).data
    numeric = _numeric_jacobian(f, z)  # (out.size, z.size)
    v = rng.standard_normal(z.shape)
    u = rng.standard_normal(out.shape)

    _close(st.jacobian(f)(z).reshape(out.size, z.size), numeric, f"{name}: jacobian")
    value, tangent = st.jvp(f)(z, v)
    np.testing.assert_array_equal(value, out)
    _close(tangent.reshape(-1), numeric @ v, f"{name}: jvp")
    value, cotangent = st.vjp(f)(z, u)
    _close(cotangent, u.reshape(-1) @ numeric, f"{name}: vjp")

    def scalar(x):  # a scalar function of z through the op: u . f(z)
        return (f(x) * u).sum()

    gradient = st.grad(scalar)
    hessian_numeric = np.stack([(gradient(z + EPS * e) - gradient(z - EPS * e)) / (2 * EPS)
                                for e in np.eye(z.size)], axis=-1)
    _close(st.hessian(scalar)(z), hessian_numeric, f"{name}: hessian")
    _close(st.hvp(scalar)(z, v), hessian_numeric @ v, f"{name}: hvp")


# --------------------------------------------------------------------------- third derivatives


def test_third_derivatives_of_a_scalar_function():
    x = st.tensor(0.7, requires_grad=True)
    y = st.tanh(x) * st.exp(x)
    (d1,) = st.autodiff.grad(y, x, create_graph=True)
    (d2,) = st.autodiff.grad(d1, x, create_graph=True)
    (d3,) = st.autodiff.grad(d2, x)
    t, e = math.tanh(0.7), math.exp(0.7)
    s = 1 - t * t  # tanh' ; tanh'' = -2 t s ; tanh''' = -2 s^2 + 4 t^2 s
    assert d1.item() == pytest.approx(e * (t + s), rel=1e-14)
    assert d2.item() == pytest.approx(e * (t + 2 * s - 2 * t * s), rel=1e-13)
    assert d3.item() == pytest.approx(e * (t + 3 * s - 6 * t * s - 2 * s * s + 4 * t * t * s),
                                      rel=1e-13)


def test_third_derivative_tensor_against_differences_of_the_hessian():
    def f(x):
        return (st.sin(x[0] * x[1]) + x[1] ** 3 * st.log(x[2]) + st.softmax(x)[0]).sum()

    def third(x0):
        x = st.tensor(x0, requires_grad=True)
        (g,) = st.autodiff.grad(f(x), x, create_graph=True)
        rows = []
        for i in range(3):
            (h,) = st.autodiff.grad(g[i], x, create_graph=True)
            rows.append([st.autodiff.grad(h[j], x, retain_graph=True)[0].data for j in range(3)])
        return np.array(rows)

    x0 = np.array([0.3, -1.2, 1.7])
    numeric = np.stack([(st.hessian(f)(x0 + EPS * e) - st.hessian(f)(x0 - EPS * e)) / (2 * EPS)
                        for e in np.eye(3)], axis=-1)
    analytic = third(x0)
    np.testing.assert_allclose(analytic, numeric, atol=1e-6, rtol=1e-6)
    assert np.allclose(analytic, np.transpose(analytic, (1, 0, 2)))  # symmetric in every pair
    assert np.allclose(analytic, np.transpose(analytic, (0, 2, 1)))


def test_relu_has_zero_second_derivative_and_mlp_hessian_is_symmetric():
    x = st.tensor([-1.0, 2.0, 0.5], requires_grad=True)
    (g,) = st.autodiff.grad((st.relu(x) * 3).sum(), x, create_graph=True)
    assert g.data.tolist() == [0.0, 3.0, 3.0]
    assert not g.requires_grad  # the derivative of a kink's mask is zero: g is constant in x
    rng = np.random.default_rng(0)
    data, w0 = rng.standard_normal((6, 2)), rng.standard_normal(2 * 4 + 4 + 4 + 1)

    def loss(w):
        w1, b1 = w[:8].reshape(4, 2), w[8:12]
        w2, b2 = w[12:16].reshape(1, 4), w[16:]
        return ops.mse_loss(ops.linear(st.tanh(ops.linear(data, w1, b1)), w2, b2)[:, 0],
                            np.sin(data[:, 0]))

    h = st.hessian(loss)(w0)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    v = rng.standard_normal(w0.shape)
    np.testing.assert_allclose(st.hvp(loss)(w0, v), h @ v, atol=1e-12)


# --------------------------------------------------------------------------- autodiff.grad semantics


def test_grad_returns_tensors_and_leaves_dot_grad_alone():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    w = st.tensor(3.0, requires_grad=True)
    gx, gw = st.autodiff.grad((x * w).sum(), [x, w])
    assert isinstance(gx, st.Tensor) and not gx.requires_grad
    assert gx.data.tolist() == [3.0, 3.0] and gw.item() == 3.0
    assert x.grad is None and w.grad is None


def test_grad_of_several_outputs_sums_their_vjps_and_reaches_intermediate_inputs():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y1, y2 = h.sum(), (h * 2).sum()
    gh, gx = st.autodiff.grad([y1, y2], [h, x], retain_graph=True)
    assert gh.data.tolist() == [3.0, 3.0]
    assert gx.data.tolist() == [6.0, 12.0]
    (gv,) = st.autodiff.grad(h, x, grad_outputs=np.array([1.0, -1.0]))
    assert gv.data.tolist() == [2.0, -4.0]


def test_grad_through_a_cotangent_that_requires_grad():
    # d/dv (J^T v) . w = J w: the double-VJP trick, differentiating in the cotangent
    x = st.tensor([0.5, -0.3], requires_grad=True)
    v = st.tensor([1.0, 2.0], requires_grad=True)
    y = st.sin(x) * x
    (gx,) = st.autodiff.grad(y, x, grad_outputs=v, create_graph=True)
    (gv,) = st.autodiff.grad(gx, v, grad_outputs=np.array([1.0, 1.0]))
    np.testing.assert_allclose(gv.data, np.cos(x.data) * x.data + np.sin(x.data))


def test_grad_retains_the_graph_by_default_only_with_create_graph():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    y = (st.exp(x)).sum()
    st.autodiff.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        st.autodiff.grad(y, x)
    z = (st.exp(x)).sum()
    st.autodiff.grad(z, x, create_graph=True)
    st.autodiff.grad(z, x)  # kept


def test_grad_errors_name_the_problem():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    other = st.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*grad_outputs"):
        st.autodiff.grad(x * 2, x)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\)"):
        st.autodiff.grad(x * 2, x, grad_outputs=np.ones(3))
    with pytest.raises(RuntimeError, match="inputs\\[1\\].*not used.*allow_unused"):
        st.autodiff.grad((x * 2).sum(), [x, other])
    assert st.autodiff.grad((x * 2).sum(), [x, other], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="inputs\\[0\\].*does not require grad"):
        st.autodiff.grad((x * 2).sum(), st.tensor(1.0))
    with pytest.raises(RuntimeError, match="outputs\\[0\\].*does not require grad"):
        st.autodiff.grad(st.tensor(1.0), x)
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        st.autodiff.grad((x * 2).sum(), 3.0)


def test_create_graph_through_an_op_without_second_order_rule_names_it():
    square = ops.Op("square_without_rule", np.square, False, None)
    ops.defvjp(square, lambda g, ans, x: 2 * g * x)
    x = st.tensor([1.0, 2.0], requires_grad=True)
    y = square(x).sum()
    (g,) = st.autodiff.grad(y, x, retain_graph=True)  # first order is fine
    assert g.data.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="'square_without_rule' has no second-order rule"):
        st.autodiff.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError, match="'square_without_rule' has no forward-mode rule"):
        st.jvp(lambda t: square(t))([1.0], [1.0])


def test_create_graph_refuses_a_shared_array_written_after_recording():
    a = np.array([1.0, 2.0])
    x = st.from_numpy(a, requires_grad=True)
    y = (st.sin(x) * x).sum()
    a[0] = 5.0  # bypasses the version counter; the node kept a private copy
    (g,) = st.autodiff.grad(y, x, retain_graph=True)  # first order uses the copy: right
    np.testing.assert_allclose(g.data, np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="shares its array with NumPy"):
        st.autodiff.grad(y, x, create_graph=True)


def test_float32_gradients_stay_float32_at_every_order():
    x = st.tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    (g,) = st.autodiff.grad((st.tanh(x) ** 3).sum(), x, create_graph=True)
    (h,) = st.autodiff.grad(g.sum(), x)
    assert g.dtype == np.float32 and h.dtype == np.float32


# --------------------------------------------------------------------------- functional transforms


def test_hessian_of_a_non_scalar_function_names_its_shape():
    with pytest.raises(ValueError, match=r"hessian: f must return a scalar.*shape \(3,\)"):
        st.hessian(lambda x: x * 2)(np.ones(3))
    with pytest.raises(ValueError, match=r"hvp: f must return a scalar.*shape \(3,\)"):
        st.hvp(lambda x: x * 2)(np.ones(3), np.ones(3))


def test_directions_must_have_the_right_shape():
    with pytest.raises(ValueError, match=r"hvp: v must have the shape of x, \(3,\); got \(2,\)"):
        st.hvp(lambda x: (x * x).sum())(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: v must have the shape of x"):
        st.jvp(lambda x: x * 2)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"vjp: u must have the shape of f\(x\), \(3,\)"):
        st.vjp(lambda x: x * 2)(np.ones(3), np.ones(1))
    with pytest.raises(TypeError, match="jacobian: f must be callable"):
        st.jacobian(3)


def test_transforms_of_functions_that_ignore_x_or_are_linear():
    assert np.array_equal(st.hessian(lambda x: (x * 2).sum())(np.ones(2)), np.zeros((2, 2)))
    assert np.array_equal(st.jacobian(lambda x: st.tensor([1.0, 2.0]))(np.ones(3)), np.zeros((2, 3)))
    assert np.array_equal(st.hvp(lambda x: (x * 2).sum())(np.ones(2), np.ones(2)), np.zeros(2))
    value, tangent = st.jvp(lambda x: st.tensor(5.0))(np.ones(2), np.ones(2))
    assert value == 5.0 and tangent == 0.0


def test_tall_jacobians_use_forward_mode_and_agree_with_reverse():
    def f(x):
        return st.concatenate([st.sin(x), x * x, st.exp(x).sum().reshape(1)])

    x = np.array([0.2, -0.4])
    tall = st.jacobian(f)(x)  # 5 outputs, 2 inputs: columns by forward mode
    rows = np.stack([st.vjp(f)(x, e)[1] for e in np.eye(5)])
    np.testing.assert_allclose(tall, rows, atol=1e-15)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=5, deadline=None)
@given(shape=shapes, seed=hs.integers(0, 2**32 - 1))
def test_recorded_backward_keeps_float32(name, shape, seed):
    op = OPS[name]
    args, params = _sample(op, shape, seed)
    positions = _positions(op, args)
    tensors = [st.tensor(args[i].astype(np.float32), requires_grad=True) for i in positions]
    full = list(args)
    for i, t in zip(positions, tensors, strict=True):
        full[i] = t
    out = op(*full, **params)
    grads = st.autodiff.grad(out, tensors, grad_outputs=np.ones(out.shape, np.float32),
                             create_graph=True)
    for t, g in zip(tensors, grads, strict=True):
        assert g.shape == t.shape and g.dtype == np.float32, f"{name}: {g.dtype} {g.shape}"
    _, tangent = st.jvp(lambda x: op(*[x if i == positions[0] else a for i, a in enumerate(full)],
                                     **params))(tensors[0].data, np.ones(tensors[0].shape,
                                                                        np.float32))
    assert tangent.dtype == out.dtype


def test_cross_entropy_with_probability_targets_is_twice_differentiable():
    rng = np.random.default_rng(3)
    target = rng.dirichlet(np.ones(4), size=3)
    for reduction in ("mean", "sum"):
        def f(z, reduction=reduction):
            return ops.cross_entropy(z.reshape(3, 4), target, reduction=reduction)

        z = rng.standard_normal(12)
        gradient = st.grad(f)
        numeric = np.stack([(gradient(z + EPS * e) - gradient(z - EPS * e)) / (2 * EPS)
                            for e in np.eye(12)], axis=-1)
        np.testing.assert_allclose(st.hessian(f)(z), numeric, atol=1e-7)
        v = rng.standard_normal(12)
        _, tangent = st.jvp(f)(z, v)
        np.testing.assert_allclose(tangent, gradient(z) @ v, atol=1e-12)


def test_forward_over_reverse_gives_the_hessian_vector_product():
    # jvp of the recorded gradient: the tangent travels through the nodes the backward made
    def f(x):
        return (st.tanh(x) * x[::-1]).sum()

    def gradient(x):
        return st.autodiff.grad(f(x), x, create_graph=True)[0]

    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, -0.5])
    _, hv = st.jvp(gradient)(x, v)
    np.testing.assert_allclose(hv, st.hvp(f)(x, v), atol=1e-14)
    np.testing.assert_allclose(st.jacobian(gradient)(x), st.hessian(f)(x), atol=1e-14)
