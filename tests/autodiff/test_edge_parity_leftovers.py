"""PyTorch-parity leftovers at the edge points of derivative rules (first and second order).

Every expected number here was read off PyTorch 2.13 (``torch.autograd.grad`` with
``create_graph=True`` for the higher orders) in a throwaway script and checked against the
mathematics in the comments; PyTorch is never imported by the tests. Where PyTorch's answer is a
convention (a subgradient, a mask at a kink, a value where the function is not differentiable)
steepest follows it; the one place it does not (var with ``correction > N`` along ``dim``) says
why.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import array_shapes, arrays

import steepest as st
from steepest.autodiff import grad as autograd
from steepest.nn import functional as F

nan, inf = math.nan, math.inf


def _quiet():
    # inf * 0 in a backward pass is a NumPy RuntimeWarning; the nan it makes is the answer
    return np.errstate(invalid="ignore", divide="ignore", over="ignore")


def _same(actual, expected):
    """Equal, NaN where NaN, to the last bit for infinities (rtol 1e-14 for finite values)."""
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=1e-14,
                               atol=0, equal_nan=True)


def _grad(fn, data, upstream=1.0, **kwargs):
    x = st.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)
    y = getattr(x, fn)(**kwargs)
    with _quiet():
        y.backward(np.full(y.shape, upstream))
    return y.data, x.grad


# ============================================================================ 1. var / std, N - c <= 0
# PyTorch divides by max(0, N - c) (pytorch/pytorch#109186): the sum of squares S over 0 is inf,
# nan where S = 0. Its var_backward over all elements is grad * where(x == mean, nan, inf);
# along dim it is (2 / 0) * grad * (x - mean); std_backward feeds grad / (2 std) = 0 (or nan)
# into it: nan everywhere. steepest returned nan values and, for std, gradients of 0.

@pytest.mark.parametrize("fn", ["var", "std"])
def test_one_element_has_a_nan_value_and_a_nan_gradient(fn):
    for data in ([3.0], 3.0, [[3.0]]):
        value, gradient = _grad(fn, data)
        _same(value, nan)
        _same(gradient, np.full(np.shape(data), nan))  # steepest's std gave 0 here


@pytest.mark.parametrize("fn", ["var", "std"])
def test_correction_equal_to_n_along_a_dim_of_one(fn):
    value, gradient = _grad(fn, [[1.0], [3.0]], dim=1)
    _same(value, [nan, nan])
    _same(gradient, [[nan], [nan]])


def test_var_over_all_elements_is_inf_and_its_gradient_unsigned_inf():
    # torch.var([1, 2], correction=2) = 0.25 / 0 = inf; gradient g * inf for every x != mean
    # (PyTorch's own sign convention there: no sign of x - mean), nan where x == mean
    for upstream, expected in ((1.0, [inf, inf]), (-2.0, [-inf, -inf]), (0.0, [nan, nan])):
        value, gradient = _grad("var", [1.0, 2.0], upstream, correction=2)
        _same(value, inf)
        _same(gradient, expected)
    value, gradient = _grad("var", [1.0, 2.0, 3.0], correction=3)  # the middle one is the mean
    _same(value, inf)
    _same(gradient, [inf, nan, inf])
    value, gradient = _grad("var", [1.0, 2.0, 4.0], correction=5)  # c > N: the same divisor 0
    _same(value, inf)
    _same(gradient, [inf, inf, inf])
    value, gradient = _grad("var", [2.0, 2.0], correction=2)  # S = 0: 0 / 0
    _same(value, nan)
    _same(gradient, [nan, nan])


def test_var_along_a_dim_is_inf_with_a_signed_inf_gradient():
    # along dim PyTorch's gradient is (2 / 0) * g * (x - mean): the sign of g (x - mean)
    value, gradient = _grad("var", [[1.0, 2.0], [3.0, 5.0]], dim=1, correction=2)
    _same(value, [inf, inf])
    _same(gradient, [[-inf, inf], [-inf, inf]])
    value, gradient = _grad("var", [[1.0, 2.0], [3.0, 5.0]], -2.0, dim=1, correction=2)
    _same(gradient, [[inf, -inf], [inf, -inf]])
    value, gradient = _grad("var", [[1.0, 1.0], [3.0, 5.0]], dim=1, correction=2)
    _same(value, [nan, inf])
    _same(gradient, [[nan, nan], [-inf, inf]])
    value, gradient = _grad("var", [[1.0, 2.0], [3.0, 5.0]], dim=0, correction=2, keepdim=True)
    _same(value, [[inf, inf]])
    _same(gradient, [[-inf, -inf], [inf, inf]])
    value, gradient = _grad("var", [[1.0, 2.0], [3.0, 5.0]], dim=(0, 1), correction=4)
    _same(value, inf)
    _same(gradient, [[-inf, -inf], [inf, inf]])
    value, gradient = _grad("var", [1.0, 2.0], dim=0, correction=2)  # dim given: the signed rule
    _same(gradient, [-inf, inf])


def test_var_along_a_dim_with_correction_above_n_keeps_the_divisor_0():
    # Not PyTorch's: its forward clamps N - c to 0 (inf), but its backward along dim divides by
    # the unclamped N - c = -1, a finite gradient [[1, -1], [2, -2]] of the opposite sign for a
    # value that is inf (and 0 for std). Here the divisor is 0 in both, PyTorch's own rule for
    # N - c = 0 along dim and for every N - c <= 0 over all elements.
    value, gradient = _grad("var", [[1.0, 2.0], [3.0, 5.0]], dim=1, correction=3)
    _same(value, [inf, inf])
    _same(gradient, [[-inf, inf], [-inf, inf]])
    value, gradient = _grad("std", [[1.0, 2.0], [3.0, 5.0]], dim=1, correction=3)
    _same(value, [inf, inf])
    _same(gradient, np.full((2, 2), nan))


@pytest.mark.parametrize("kwargs", [{"correction": 2}, {"correction": 5}, {"dim": 1, "correction": 2},
                                    {"dim": 0, "correction": 2, "keepdim": True}])
def test_std_without_degrees_of_freedom_is_inf_with_a_nan_gradient(kwargs):
    data = [[1.0, 2.0], [3.0, 5.0]] if "dim" in kwargs else [1.0, 2.0]
    for upstream in (1.0, -2.0):
        value, gradient = _grad("std", data, upstream, **kwargs)
        assert np.all(np.isposinf(value))  # sqrt(inf); steepest gave nan
        _same(gradient, np.full(np.shape(data), nan))  # PyTorch: 0 * inf in var_backward


@settings(max_examples=60, deadline=None)
@given(data=arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=3),
                   elements=hs.sampled_from([-1.5, 0.0, 1.0, 2.0, 4.0])),
       extra=hs.integers(0, 2), along=hs.booleans(), keepdim=hs.booleans())
def test_without_degrees_of_freedom_every_shape_follows_pytorchs_rule(data, extra, along, keepdim):
    axis = data.ndim - 1 if along else None
    n = data.shape[-1] if along else data.size
    kwargs = {"dim": axis, "correction": n + extra, "keepdim": keepdim}
    deviation = data - data.mean(axis=axis, keepdims=True)
    squares = (deviation ** 2).sum(axis=axis, keepdims=keepdim)
    expected_value = np.where(squares > 0, inf, nan)
    value, gradient = _grad("var", data, **kwargs)
    _same(value, expected_value)
    signed = deviation < 0 if along else np.zeros(data.shape, bool)  # -inf where deviation < 0
    _same(gradient, np.where(deviation == 0, nan, np.where(signed, -inf, inf)))
    value, gradient = _grad("std", data, **kwargs)
    _same(value, expected_value)
    _same(gradient, np.full(data.shape, nan))


def test_var_and_std_with_degrees_of_freedom_are_unchanged():
    a = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    for kwargs in ({}, {"correction": 0}, {"dim": 1}, {"dim": 0, "correction": 1}):
        n = a.size if "dim" not in kwargs else a.shape[kwargs["dim"]]
        ddof = kwargs.get("correction", 1)
        value, gradient = _grad("var", a, **kwargs)
        mean = a.mean(axis=kwargs.get("dim"), keepdims=True)
        np.testing.assert_allclose(value, np.var(a, axis=kwargs.get("dim"), ddof=ddof), rtol=1e-14)
        np.testing.assert_allclose(gradient, 2 * (a - mean) / (n - ddof), rtol=1e-13, atol=1e-15)


# ============================================================================ 2. maximum / minimum
# torch.maximum's backward: where(x == y, g / 2, g), 0 where this input is the smaller (the
# larger for minimum). A NaN in either input is neither smaller, larger nor equal: both inputs
# get all of g (steepest gave both 0). Ties, infinite ones and 0 == -0 included, split in half.
_X = [nan, 1.0, nan, 2.0, 2.0, inf, -inf, nan, inf, 0.0, -0.0, 3.0]
_Y = [1.0, nan, nan, 2.0, 3.0, inf, -inf, inf, nan, -0.0, 0.0, 2.0]
_UPSTREAM = np.arange(1.0, 13.0)
_SHARES = {  # PyTorch 2.13's gradients for an upstream gradient of ones
    "maximum": ([1, 1, 1, .5, 0, .5, .5, 1, 1, .5, .5, 1], [1, 1, 1, .5, 1, .5, .5, 1, 1, .5, .5, 0]),
    "minimum": ([1, 1, 1, .5, 1, .5, .5, 1, 1, .5, .5, 0], [1, 1, 1, .5, 0, .5, .5, 1, 1, .5, .5, 1]),
}


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_give_both_inputs_the_gradient_at_a_nan(name):
    x = st.tensor(np.array(_X), requires_grad=True)
    y = st.tensor(np.array(_Y), requires_grad=True)
    out = getattr(st, name)(x, y)
    np.testing.assert_array_equal(out.data, getattr(np, name)(_X, _Y))
    out.backward(_UPSTREAM)
    left, right = _SHARES[name]
    np.testing.assert_array_equal(x.grad, _UPSTREAM * left)
    np.testing.assert_array_equal(y.grad, _UPSTREAM * right)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_second_order_masks_are_the_first_orders(name):
    # d/dx of the gradient of sum(out^2): 2 * share^2, the mask a constant (PyTorch: 2 at a NaN,
    # 0.5 at a tie)
    x = st.tensor(np.array(_X), requires_grad=True)
    y = st.tensor(np.array(_Y), requires_grad=True)
    out = getattr(st, name)(x, y)
    gx, gy = autograd((out * out).sum(), (x, y), create_graph=True)
    hxx, hxy = autograd(gx.sum(), (x, y), allow_unused=True)
    left, right = (np.array(s) for s in _SHARES[name])
    np.testing.assert_array_equal(hxx.data, 2 * left * left)
    np.testing.assert_array_equal(hxy.data, 2 * left * right)
    # the create_graph first order is the plain one
    x.grad = None
    getattr(st, name)(x, y).backward(np.ones(len(_X)))
    np.testing.assert_array_equal(x.grad, left)


def test_maximum_broadcast_nan_collects_every_gradient():
    x = st.tensor(np.array([nan, 1.0, 3.0]), requires_grad=True)
    y = st.tensor(np.array(nan), requires_grad=True)
    st.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])  # PyTorch 2.13
    assert y.grad.shape == () and y.grad == 3.0


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_forward_mode_is_the_reverse_modes_diagonal(name):
    # The Jacobian is diagonal: J t = the VJP rule applied to t, at NaNs too. (PyTorch's
    # forward-mode formula y_t + where(x == y, 0.5, x > y) (x_t - y_t) gives x 0 and y all at
    # a NaN, unlike its reverse mode; steepest keeps the two modes one Jacobian.)
    left, right = (np.array(s, dtype=float) for s in _SHARES[name])
    t = np.linspace(-1.0, 2.0, len(_X))
    _, jx = st.jvp(lambda a: getattr(st, name)(a, np.array(_Y)))(np.array(_X), t)
    _, jy = st.jvp(lambda b: getattr(st, name)(np.array(_X), b))(np.array(_Y), t)
    np.testing.assert_array_equal(jx, left * t)
    np.testing.assert_array_equal(jy, right * t)


@settings(max_examples=100, deadline=None)
@given(pair=hs.lists(hs.tuples(*[hs.sampled_from([nan, -inf, -1.0, 0.0, -0.0, 1.0, 2.5, inf])] * 2),
                     min_size=1, max_size=8))
def test_maximum_and_minimum_shares_add_up_to_the_gradient(pair):
    # whatever the inputs, the two shares of g add up to g (half and half at a tie, all of it
    # to the winner), except at a NaN, where each input gets all of it
    xs, ys = (np.array(v) for v in zip(*pair, strict=True))
    for name in ("maximum", "minimum"):
        x = st.tensor(xs, requires_grad=True)
        y = st.tensor(ys, requires_grad=True)
        with _quiet():  # the sum of inf and -inf
            getattr(st, name)(x, y).sum().backward()
        either_nan = np.isnan(xs) | np.isnan(ys)
        np.testing.assert_array_equal(x.grad + y.grad, np.where(either_nan, 2.0, 1.0))
        winner = xs > ys if name == "maximum" else xs < ys
        np.testing.assert_array_equal(x.grad[winner], 1.0)
        np.testing.assert_array_equal(y.grad[winner], 0.0)


# ============================================================================ 3. pow, second order
# PyTorch's pow_backward_exponent takes x^y log x as 0 at x == 0 only where y >= 0; at y < 0
# it is inf * -inf = -inf. steepest's first-order rule did that, but its create_graph rule (the
# one every order past the first uses) masked every x == 0: d/dy was 0 there with
# create_graph=True, -inf without, and the second derivatives nan instead of inf.
# (x, y, (value, d/dx, d/dy, d2/dx2, d2/dxdy, d2/dydx, d2/dy2)), PyTorch 2.13
_POW_BOTH = [
    (0.0, -2.0, (inf, -inf, -inf, inf, inf, inf, inf)),
    (0.0, -1.5, (inf, -inf, -inf, inf, inf, inf, inf)),
    (0.0, -1.0, (inf, -inf, -inf, inf, inf, inf, inf)),
    (0.0, -0.5, (inf, -inf, -inf, inf, inf, inf, inf)),
    (-0.0, -1.0, (-inf, -inf, inf, -inf, inf, inf, -inf)),
    (-0.0, -1.5, (inf, -inf, -inf, inf, inf, nan, inf)),
    (0.0, 0.5, (0.0, inf, 0.0, -inf, nan, nan, nan)),
    (0.0, 1.5, (0.0, 0.0, 0.0, inf, 0.0, nan, nan)),
    (0.0, 2.0, (0.0, 0.0, 0.0, 2.0, 0.0, nan, nan)),
    (0.0, 3.0, (0.0, 0.0, 0.0, 0.0, 0.0, nan, nan)),
    (0.0, 1.0, (0.0, 1.0, 0.0, 0.0, 1.0, nan, nan)),
    (0.0, 0.0, (1.0, 0.0, 0.0, nan, nan, nan, nan)),
    (2.0, -1.5, (0.3535533905932738, -0.26516504294495535, 0.2450645358671368,
                 0.33145630368119416, -0.007021706603715705, -0.007021706603715733,
                 0.16986579209153746)),
    (-2.0, 0.5, (nan,) * 7),
    # no gradient through a zero exponent: d/dx is 0 at y == 0 (a constant), so its d/dy is 0,
    # while d/dx of d/dy = x^y log x is 1/x: PyTorch's Hessian is not symmetric there
    (1.0, 0.0, (1.0, 0.0, 0.0, -0.0, 0.0, 1.0, 0.0)),
]


def _pow_derivatives(x0, y0):
    x = st.tensor(np.float64(x0), requires_grad=True)
    y = st.tensor(np.float64(y0), requires_grad=True)
    with _quiet():
        out = x ** y
        gx, gy = autograd(out, (x, y), create_graph=True)
        second = []
        for g in (gx, gy):
            if g.requires_grad:
                second += [0.0 if h is None else float(h.data)
                           for h in autograd(g, (x, y), allow_unused=True)]
            else:
                second += [0.0, 0.0]
    return (float(out.data), float(gx.data), float(gy.data), *second)


@pytest.mark.parametrize(("x0", "y0", "expected"), _POW_BOTH)
def test_pow_derivatives_to_second_order_at_a_zero_base(x0, y0, expected):
    _same(_pow_derivatives(x0, y0), expected)


# 0 ** y with a Tensor exponent (a Python number as the base): (value, d/dy, d2/dy2)
_POW_NUMBER_BASE = [(0.0, -1.0, (inf, -inf, inf)), (0.0, -0.5, (inf, -inf, inf)),
                    (-0.0, -1.0, (-inf, inf, -inf)), (0.0, 0.5, (0.0, 0.0, nan)),
                    (0.0, 2.0, (0.0, 0.0, nan)), (0.0, 0.0, (1.0, 0.0, nan))]


@pytest.mark.parametrize(("base", "y0", "expected"), _POW_NUMBER_BASE)
def test_pow_of_a_zero_number_to_a_tensor_exponent(base, y0, expected):
    y = st.tensor(np.float64(y0), requires_grad=True)
    with _quiet():
        out = base ** y
        (gy,) = autograd(out, y, create_graph=True)
        (hyy,) = autograd(gy, y) if gy.requires_grad else (st.tensor(0.0),)
    _same([out.item(), gy.item(), hyy.item()], expected)


# x ** (Python number): (value, d/dx, d2/dx2); these agreed before and must go on agreeing
_POW_NUMBER_EXPONENT = [(0.0, -1.0, (inf, -inf, inf)), (0.0, -0.5, (inf, -inf, inf)),
                        (0.0, 0.5, (0.0, inf, -inf)), (0.0, 1.0, (0.0, 1.0, 0.0)),
                        (0.0, 1.5, (0.0, 0.0, inf)), (0.0, 2.0, (0.0, 0.0, 2.0)),
                        (0.0, 2.5, (0.0, 0.0, 0.0)), (0.0, 3.0, (0.0, 0.0, 0.0)),
                        (0.0, 0.0, (1.0, 0.0, 0.0)), (-0.0, -1.0, (-inf, -inf, -inf)),
                        (0.0, 1, (0.0, 1.0, 0.0)), (0.0, 2, (0.0, 0.0, 2.0)),
                        (0.0, 3, (0.0, 0.0, 0.0)), (0.0, -1, (inf, -inf, inf))]


@pytest.mark.parametrize(("x0", "y0", "expected"), _POW_NUMBER_EXPONENT)
def test_pow_to_a_number_at_a_zero_base(x0, y0, expected):
    x = st.tensor(np.float64(x0), requires_grad=True)
    with _quiet():
        out = x ** y0
        (gx,) = autograd(out, x, create_graph=True)
        (hxx,) = autograd(gx, x) if gx.requires_grad else (st.tensor(0.0),)
    _same([out.item(), gx.item(), hxx.item()], expected)


@settings(max_examples=60, deadline=None)
@given(x0=hs.sampled_from([0.0, -0.0, 0.5, 2.0, -2.0]),
       y0=hs.sampled_from([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0]))
def test_pow_create_graph_first_order_is_the_plain_first_order(x0, y0):
    x = st.tensor(np.float64(x0), requires_grad=True)
    y = st.tensor(np.float64(y0), requires_grad=True)
    with _quiet():
        (x ** y).backward()
        graph = autograd(x ** y, (x, y), create_graph=True)
    _same(graph[0].data, x.grad)
    _same(graph[1].data, y.grad)


@settings(max_examples=40, deadline=None)
@given(x0=hs.floats(0.2, 3.0), y0=hs.floats(-2.0, 3.0).filter(lambda y: y != 0))
def test_pow_hessian_is_the_analytic_one_off_the_edge(x0, y0):
    # (y == 0 is an edge too: the last case of _POW_BOTH)
    h = st.hessian(lambda v: v[0] ** v[1])(np.array([x0, y0]))
    log = math.log(x0)
    expected = [[y0 * (y0 - 1) * x0 ** (y0 - 2), x0 ** (y0 - 1) * (1 + y0 * log)],
                [x0 ** (y0 - 1) * (1 + y0 * log), x0 ** y0 * log * log]]
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)


# ============================================================================ 4. ELU at x = 0
# PyTorch's elu_backward takes the left piece at 0 (x <= 0: alpha * scale * input_scale), and
# its elu_double_backward masks with x < 0: every derivative past the first is 0 at 0 (the
# right piece's), for any alpha. ELU is C^1 only for alpha = 1, and C^2 never (alpha e^x -> alpha
# from the left, 0 on the right): both are conventions, PyTorch's. steepest's second derivative
# at 0 was alpha * scale * input_scale**2 (the left piece's).
_ELU_X = np.array([-1.0, -0.0, 0.0, 1e-300, -1e-300, 1.0])
_ELU_CASES = {  # name: (f, first derivatives, second derivatives, input scale), PyTorch 2.13
    "elu": (lambda x: F.elu(x), [0.36787944117144233, 1.0, 1.0, 1.0, 1.0, 1.0],
            [0.36787944117144233, 0.0, 0.0, 0.0, 1.0, 0.0], 1.0),
    "elu 0.5": (lambda x: F.elu(x, 0.5), [0.18393972058572117, 0.5, 0.5, 1.0, 0.5, 1.0],
                [0.18393972058572117, 0.0, 0.0, 0.0, 0.5, 0.0], 1.0),
    "elu 2": (lambda x: F.elu(x, 2.0), [0.7357588823428847, 2.0, 2.0, 1.0, 2.0, 1.0],
              [0.7357588823428847, 0.0, 0.0, 0.0, 2.0, 0.0], 1.0),
    "selu": (F.selu, [0.646768603034814, 1.7580993408473766, 1.7580993408473766,
                      1.0507009873554805, 1.7580993408473766, 1.0507009873554805],
             [0.646768603034814, 0.0, 0.0, 0.0, 1.7580993408473766, 0.0], 1.0),
    "celu 0.5": (lambda x: F.celu(x, 0.5), [0.1353352832366127, 1.0, 1.0, 1.0, 1.0, 1.0],
                 [0.2706705664732254, 0.0, 0.0, 0.0, 2.0, 0.0], 2.0),
    "celu 2": (lambda x: F.celu(x, 2.0), [0.6065306597126334, 1.0, 1.0, 1.0, 1.0, 1.0],
               [0.3032653298563167, 0.0, 0.0, 0.0, 0.5, 0.0], 0.5),
}


@pytest.mark.parametrize("name", sorted(_ELU_CASES))
def test_elu_second_derivative_at_zero_is_pytorchs(name):
    f, first, second, inner = _ELU_CASES[name]
    x = st.tensor(_ELU_X.copy(), requires_grad=True)
    (g,) = autograd(f(x).sum(), x, create_graph=True)
    (h,) = autograd(g.sum(), x, create_graph=True)
    (third,) = autograd(h.sum(), x)
    np.testing.assert_allclose(g.data, first, rtol=1e-15, atol=0)
    np.testing.assert_allclose(h.data, second, rtol=1e-15, atol=0)
    # the third derivative: the second's times the input scale (1/alpha for CELU) left of 0,
    # 0 from 0 on (PyTorch's)
    np.testing.assert_allclose(third.data, np.where(_ELU_X < 0, np.multiply(second, inner), 0.0),
                               rtol=1e-15, atol=0)
    x.grad = None
    f(x).sum().backward()  # the plain first order is the create_graph one, bit for bit
    np.testing.assert_array_equal(x.grad, g.data)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_second_derivative_off_zero_is_the_analytic_one(alpha):
    # f'' = alpha e^x left of 0, 0 right of it; against central differences of f'
    points = np.array([-2.0, -0.7, -0.01, 0.01, 0.7])
    x = st.tensor(points, requires_grad=True)
    (g,) = autograd(F.elu(x, alpha).sum(), x, create_graph=True)
    (h,) = autograd(g.sum(), x)
    np.testing.assert_allclose(h.data, np.where(points < 0, alpha * np.exp(points), 0.0),
                               rtol=1e-14, atol=0)
    eps = 1e-6
    slope = st.grad(lambda t: F.elu(t, alpha).sum())
    numeric = (slope(points + eps) - slope(points - eps)) / (2 * eps)
    np.testing.assert_allclose(h.data, numeric, rtol=1e-7, atol=1e-9)
