"""steepest.nn.init: fans, gains, distributions, reproducibility, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.nn import init


def test_fans_follow_the_out_in_kernel_layout():
    assert init.fan_in_and_fan_out(np.empty((30, 20))) == (20, 30)
    assert init.fan_in_and_fan_out(nn.Parameter(np.empty((8, 3, 5, 5)))) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out(np.empty(5))


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("conv2d", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
])
def test_calculate_gain(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_validates():
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="only used with 'leaky_relu'"):
        init.calculate_gain("relu", 0.1)


# (initialiser, kwargs, expected standard deviation for a (fan_out=400, fan_in=300) weight,
#  bound if uniform)
FAN_IN, FAN_OUT = 300, 400
CASES = [
    (init.xavier_uniform_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(2 / 700), 2 * math.sqrt(6 / 700)),
    (init.xavier_normal_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    (init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN),
     math.sqrt(6 / FAN_IN)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, math.sqrt(1 / 3) / math.sqrt(FAN_IN),
     1 / math.sqrt(FAN_IN)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / FAN_OUT),
     math.sqrt(6 / FAN_OUT)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN), None),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}, (5 / 3) / math.sqrt(FAN_OUT),
     None),
]


@pytest.mark.parametrize("fn, kwargs, std, bound", CASES)
def test_initialisers_draw_the_documented_distribution(fn, kwargs, std, bound):
    st.manual_seed(0)
    weight = nn.Parameter(np.zeros((FAN_OUT, FAN_IN), dtype=np.float64))
    assert fn(weight, **kwargs) is weight
    values = weight.data
    # 120000 draws: the sample standard deviation is within 1% of the true one
    assert values.std() == pytest.approx(std, rel=0.01)
    assert abs(values.mean()) < 0.02 * std
    if bound is not None:
        assert np.all(np.abs(values) <= bound) and np.abs(values).max() > 0.99 * bound
    else:  # a normal: about 31.7% of draws beyond one standard deviation
        assert np.mean(np.abs(values) > std) == pytest.approx(0.3173, abs=0.01)


def test_initialisers_are_reproducible_and_keep_dtype_in_place():
    arrays = []
    for _ in range(2):
        st.manual_seed(9)
        w = np.zeros((5, 4), dtype=np.float32)
        init.kaiming_normal_(w)
        init.xavier_uniform_(w[1:])
        arrays.append(w)
    np.testing.assert_array_equal(arrays[0], arrays[1])
    assert arrays[0].dtype == np.float32 and np.all(arrays[0] != 0)


def test_simple_fills():
    t = st.tensor(np.zeros((2, 3)))
    assert init.ones_(t) is t and np.all(t.data == 1)
    init.zeros_(t)
    assert np.all(t.data == 0)
    init.constant_(t, 0.5)
    assert np.all(t.data == 0.5)
    st.manual_seed(1)
    init.uniform_(t, -2.0, -1.0)
    assert np.all((t.data >= -2) & (t.data < -1))
    init.normal_(t, mean=10.0, std=0.0)
    assert np.all(t.data == 10.0)


def test_zero_element_weights_are_left_alone():
    empty = np.zeros((0, 3))
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        assert fn(empty).shape == (0, 3)


@pytest.mark.parametrize("call, error, match", [
    (lambda: init.uniform_(np.zeros(2), 1.0, 0.0), ValueError, r"uniform_: b must be in \[1, inf\)"),
    (lambda: init.normal_(np.zeros(2), std=-1.0), ValueError, "normal_: std must be in"),
    (lambda: init.xavier_uniform_(np.zeros((2, 2)), gain=-1), ValueError, "gain must be in"),
    (lambda: init.kaiming_uniform_(np.zeros((2, 2)), mode="fan_avg"), ValueError,
     "mode must be one of 'fan_in', 'fan_out'"),
    (lambda: init.kaiming_normal_(np.zeros((2, 2)), nonlinearity="elu"), ValueError,
     "nonlinearity must be one of"),
    (lambda: init.zeros_(np.zeros(2, dtype=int)), TypeError, "floating-point dtype"),
    (lambda: init.ones_([1.0, 2.0]), TypeError, "Tensor, Parameter or ndarray"),
    (lambda: init.xavier_normal_(np.zeros(3)), ValueError, "at least 2 dimensions"),
])
def test_initialisers_validate(call, error, match):
    with pytest.raises(error, match=match):
        call()
