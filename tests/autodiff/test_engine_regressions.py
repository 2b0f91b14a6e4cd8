"""Engine cases found by QA against PyTorch: named errors for bad operands, x**0 at 0, checks."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import nn


@pytest.mark.parametrize("call, name", [
    (lambda: nn.CrossEntropyLoss()(1.0, 0), "cross_entropy"),
    (lambda: nn.CrossEntropyLoss()(None, np.array([0])), "cross_entropy"),
    (lambda: nn.functional.linear(None, np.ones((2, 2))), "linear"),
    (lambda: st.tensor(np.ones((2, 2))) @ 2.0, "matmul"),
    (lambda: st.tensor(np.ones(6)).reshape("a"), "reshape"),
    (lambda: st.tensor(np.ones((2, 3))).sum(axis=1.0), "sum"),
    (lambda: st.tensor(np.ones(2)) + None, "add"),
    (lambda: st.exp(None), "exp"),
    (lambda: st.clip(st.tensor([0.0, 1.0]), "a", 1.0), "clip"),
    (lambda: nn.MSELoss()(np.array([True]), np.array([False])), "mse_loss"),
])
def test_bad_operands_give_a_type_error_naming_the_op(call, name):
    with pytest.raises(TypeError, match=rf"^{name}: cannot apply to \("):
        call()


def test_linear_refuses_a_scalar_input_by_name():
    with pytest.raises(ValueError, match="linear: needs an input with a feature axis"):
        nn.Linear(1, 3)(np.float32(1.0))


@pytest.mark.parametrize("exponent", [0, 0.0, np.array([0.0, 0.0])])
def test_zero_power_has_zero_gradient_at_zero(exponent):
    x = st.tensor([0.0, 2.0], requires_grad=True)
    (x ** exponent).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_array_exponent_with_zeros_masks_only_those_entries():
    x = st.tensor([0.0, 2.0, 3.0], requires_grad=True)
    (x ** st.tensor([0.0, 1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 6.0])  # torch gives the same


@pytest.mark.parametrize("kwargs, message", [
    ({"eps": 0.0}, "eps"), ({"eps": -1.0}, "eps"), ({"atol": float("nan")}, "atol"),
    ({"rtol": -1.0}, "rtol"), ({"atol": "1e-5"}, "atol"),
])
def test_gradcheck_validates_its_tolerances(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        st.gradcheck(lambda v: (v * v).sum(), np.array([1.0, 2.0]), **kwargs)


@pytest.mark.parametrize("make", [st.grad, st.value_and_grad])
def test_grad_transforms_refuse_a_non_callable_at_once(make):
    with pytest.raises(TypeError, match="must be callable"):
        make(5)


@pytest.mark.parametrize("flag", ["yes", 1, None, 1.0])
def test_requires_grad_must_be_a_bool(flag):
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        st.tensor([1.0], requires_grad=flag)


def test_requires_grad_accepts_numpy_bools():
    assert st.tensor([1.0], requires_grad=np.bool_(True)).requires_grad


@pytest.mark.parametrize("join", [st.stack, st.concatenate])
def test_joining_a_single_tensor_is_refused(join):
    with pytest.raises(TypeError, match="must be a sequence"):
        join(st.tensor(np.ones((2, 3))))


@pytest.mark.parametrize("function", [st.softmax, st.log_softmax])
@pytest.mark.parametrize("axis", [None, 1.0, "1", True])
def test_softmax_axis_must_be_an_int(function, axis):
    with pytest.raises(TypeError, match="axis must be an int"):
        function(st.tensor(np.ones((2, 3))), axis=axis)


def test_python_numbers_from_one_element_tensors():
    assert float(st.tensor([1.5])) == 1.5
    assert int(st.tensor([[3.0]])) == 3
    with pytest.raises(ValueError, match="one element"):
        float(st.tensor([1.0, 2.0]))


@pytest.mark.parametrize("shape", [(16, 1), (128, 10), (17, 32), (64, 33), (15, 10), (3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_maximum_fast_path_is_numpys_maximum(shape, dtype):
    from steepest.autodiff.ops import _max_over_classes

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::7] = np.inf
    x.flat[::11] = -np.inf
    x.flat[5] = np.nan
    fast = _max_over_classes(x)
    plain = np.maximum.reduce(x, axis=-1, keepdims=True)
    assert fast.shape == plain.shape and fast.dtype == plain.dtype
    np.testing.assert_array_equal(fast, plain)
