"""Linear, the activations (with erf behind GELU), Dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn
from steepest.nn import functional as F

# --------------------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_torch_default_distribution():
    st.manual_seed(0)
    layer = nn.Linear(50, 400)
    assert layer.weight.shape == (400, 50) and layer.bias.shape == (400,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(50)
    for values in (layer.weight.data, layer.bias.data):
        assert np.all(np.abs(values) <= bound)
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
    # U(-b, b) has variance b^2 / 3: 20000 draws pin it within a few percent
    assert layer.weight.data.var() == pytest.approx(bound ** 2 / 3, rel=0.05)
    assert abs(layer.weight.data.mean()) < 0.01


def test_linear_init_is_reproducible_bit_for_bit_under_manual_seed():
    st.manual_seed(42)
    first = nn.Sequential(nn.Linear(5, 7), nn.Linear(7, 2)).state_dict()
    st.manual_seed(42)
    second = nn.Sequential(nn.Linear(5, 7), nn.Linear(7, 2)).state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    third = nn.Sequential(nn.Linear(5, 7), nn.Linear(7, 2)).state_dict()  # generator moved on
    assert not np.array_equal(first["0.weight"], third["0.weight"])


def test_linear_forward_is_x_wt_plus_b_and_accepts_arrays_and_batches():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((4, 5, 3))
    out = layer(x)
    np.testing.assert_allclose(out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-14)
    assert out.shape == (4, 5, 2)
    no_bias = nn.Linear(3, 2, bias=False, dtype=np.float64)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(no_bias(x[0]).data, x[0] @ no_bias.weight.data.T)
    with pytest.raises(ValueError, match="4 features"):
        layer(np.ones((2, 4)))


def test_linear_gradients_agree_with_finite_differences():
    rng = np.random.default_rng(2)
    weight, bias, x = rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal((4, 3))
    st.gradcheck(F.linear, (x, weight, bias))
    layer = nn.Linear(3, 2, dtype=np.float64)
    layer.load_state_dict({"weight": weight, "bias": bias})
    xt = st.tensor(x, requires_grad=True)
    (layer(xt) ** 2).sum().backward()
    reference = [st.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    (F.linear(*reference) ** 2).sum().backward()
    for got, want in zip((xt, layer.weight, layer.bias), reference, strict=True):
        np.testing.assert_allclose(got.grad, want.grad, rtol=1e-14)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(in_features=0, out_features=2), ValueError, r"Linear: in_features must be in \[1, inf\), got 0"),
    (dict(in_features=2, out_features=2.5), TypeError, "out_features must be an integer"),
    (dict(in_features=2, out_features=2, bias=1), TypeError, "bias must be True or False"),
    (dict(in_features=2, out_features=2, dtype=np.int32), TypeError, "floating-point dtype"),
    (dict(in_features=2, out_features=2, dtype="banana"), TypeError, "NumPy floating-point"),
])
def test_linear_validates_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Linear(**kwargs)


# --------------------------------------------------------------------------- activations

X = np.array([[-3.0, -0.5, 0.0], [0.25, 1.5, 40.0]])


@pytest.mark.parametrize("module, expected", [
    (nn.ReLU(), np.maximum(X, 0)),
    (nn.LeakyReLU(0.2), np.where(X > 0, X, 0.2 * X)),
    (nn.Tanh(), np.tanh(X)),
    (nn.Sigmoid(), 1 / (1 + np.exp(-X))),
    (nn.Softmax(dim=1), np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)),
    (nn.Softmax(dim=0), np.exp(X) / np.exp(X).sum(axis=0, keepdims=True)),
    (nn.LogSoftmax(dim=1), X - np.log(np.exp(X).sum(axis=1, keepdims=True))),
    (nn.Identity(), X),
])
def test_activation_values(module, expected):
    np.testing.assert_allclose(np.asarray(module(st.tensor(X)).data), expected, rtol=1e-13)


def test_gelu_values_against_math_erf():
    x = np.linspace(-8, 8, 161)
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(nn.GELU()(st.tensor(x)).data, exact, rtol=1e-14, atol=1e-15)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(nn.GELU("tanh")(st.tensor(x)).data, tanh_form, rtol=1e-14)


def test_gelu_keeps_its_left_tail_and_float32():
    # Phi(-30) ~ 4.9e-198: computed through erfc it is not rounded to zero
    value = nn.GELU()(st.tensor([-30.0])).item()
    assert value < 0 and value == pytest.approx(-30 * 0.5 * math.erfc(30 / math.sqrt(2)), rel=1e-12)
    out = nn.GELU()(np.ones(3, dtype=np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_agrees_with_finite_differences(approximate):
    x = np.concatenate([np.linspace(-6, 6, 25), [-0.1, 0.0, 0.1]])
    st.gradcheck(lambda t: F.gelu(t, approximate=approximate), x)


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.LeakyReLU(0.3), nn.Tanh(), nn.Sigmoid(),
                                        nn.Softmax(dim=-1), nn.LogSoftmax(dim=0)])
def test_activation_gradients_agree_with_finite_differences(activation):
    x = np.random.default_rng(3).uniform(0.2, 2.0, (3, 4)) * np.array([1, -1, 1, -1])
    st.gradcheck(activation, x)


def test_activation_arguments_are_validated():
    with pytest.raises(ValueError, match="GELU: approximate must be one of 'none', 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="Softmax: dim must be an integer"):
        nn.Softmax(dim=None)
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(np.ones(2), approximate="erf")


# --------------------------------------------------------------------------- erf

def test_erf_matches_math_erf_to_1e15_everywhere():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.linspace(-7, 7, 28001),                       # both branches and the switch at |x| = 2
        np.nextafter(2.0, 3.0) * np.array([1, -1]), [2.0, -2.0],
        rng.standard_normal(20000) * 3,
        np.geomspace(1e-300, 30, 2000), -np.geomspace(1e-300, 30, 2000),
        [0.0, -0.0, 1e300, -1e300, 6.0, 27.0],
    ])
    got = F.erf(x).data
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(got - expected)) <= 1e-15
    small = np.abs(x) < 1  # near zero the relative error matters too
    assert np.max(np.abs(got[small] - expected[small]) / np.maximum(np.abs(expected[small]),
                                                                     1e-300)) <= 1e-15
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))


@settings(max_examples=200, deadline=None)
@given(hs.floats(min_value=-50, max_value=50, allow_nan=False))
def test_erf_agrees_with_math_erf_on_any_float(v):
    assert abs(F.erf(np.array(v)).item() - math.erf(v)) <= 1e-15


def test_erf_special_values_and_shapes():
    out = F.erf(np.array([np.inf, -np.inf, np.nan])).data
    assert out[0] == 1.0 and out[1] == -1.0 and np.isnan(out[2])
    assert F.erf(np.array(0.5)).shape == ()
    assert F.erf(np.zeros((2, 0))).shape == (2, 0)
    st.gradcheck(F.erf, np.linspace(-3, 3, 13))


# --------------------------------------------------------------------------- Dropout

def test_dropout_zeroes_about_p_and_scales_the_rest():
    st.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = np.ones((200, 100), dtype=np.float32)
    y = drop(x).data
    assert y.dtype == np.float32
    kept = y != 0
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert kept.mean() == pytest.approx(0.75, abs=0.01)  # 20000 Bernoulli draws
    assert y.mean() == pytest.approx(1.0, abs=0.015)      # inverted: expectation preserved


def test_dropout_gradient_uses_the_same_mask():
    st.manual_seed(1)
    x = st.tensor(np.full((50, 4), 2.0), requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data / 2.0)


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = st.tensor(np.ones((3, 3)))
    drop = nn.Dropout(0.9)
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_masks_are_reproducible_with_manual_seed():
    x = np.ones((10, 10))
    st.manual_seed(7)
    first = nn.Dropout(0.5)(x).data
    st.manual_seed(7)
    second = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_dropout_p_must_be_in_0_1(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\)"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\)"):
        F.dropout(np.ones(2), p)


@pytest.mark.parametrize("function, module", [
    (F.relu, nn.ReLU()), (lambda x: F.leaky_relu(x, 0.3), nn.LeakyReLU(0.3)), (F.tanh, nn.Tanh()),
    (F.sigmoid, nn.Sigmoid()), (lambda x: F.softmax(x, dim=0), nn.Softmax(dim=0)),
    (lambda x: F.log_softmax(x, dim=1), nn.LogSoftmax(dim=1)), (F.gelu, nn.GELU()),
])
def test_functional_forms_equal_the_modules(function, module):
    np.testing.assert_array_equal(function(X).data, module(X).data)
