"""Issue 14.1: PyTorch's tensor protocol on st.Tensor, with gradients where differentiable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import steepest as st


def _x(*shape):
    return st.tensor(np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape), requires_grad=True)


def test_iteration_unpacking_len_bool_and_sum():
    x = _x(3, 2)
    rows = list(x)
    assert len(rows) == len(x) == 3
    np.testing.assert_array_equal(rows[1].data, [3.0, 4.0])
    a, b, c = x
    total = sum(x)  # 0 + row0 + row1 + row2, through __radd__
    np.testing.assert_array_equal(total.data, [9.0, 12.0])
    (total * np.array([1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0]] * 3)
    assert bool(st.tensor([0.5])) and not bool(st.tensor(0.0))
    with pytest.raises(ValueError):
        bool(st.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(st.tensor(1.0))
    with pytest.raises(IndexError, match="getitem: index 3 is out of bounds"):
        x[3]


def test_argmax_argmin():
    x = st.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    assert x.argmax().item() == 3 and x.argmin().item() == 4
    np.testing.assert_array_equal(x.argmax(dim=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(dim=0, keepdim=True).data, [[0, 1, 0]])
    assert not x.argmax().requires_grad


def test_shape_methods_and_their_gradients():
    x = _x(2, 3)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(1).squeeze().shape == (2, 3) and x.unsqueeze(1).squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 3)  # a longer axis is kept, as PyTorch
    assert _x(2, 3, 4).flatten().shape == (24,) and _x(2, 3, 4).flatten(1).shape == (2, 12)
    assert _x(2, 3, 4).permute(2, 0, 1).shape == (4, 2, 3)
    assert _x(3, 1).expand(3, 4).shape == (3, 4) and _x(3, 1).expand(2, -1, 5).shape == (2, 3, 5)
    y = x.permute(1, 0).unsqueeze(0).expand(4, 3, 2)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad, 8 * x.data)


@pytest.mark.parametrize("call, message", [
    (lambda x: x.view(4, 2), r"view: shape \(4, 2\) is invalid for a tensor of shape \(2, 3\)"),
    (lambda x: x.view(-1, -1), r"view: shape \(-1, -1\) is invalid"),
    (lambda x: x.permute(0, 0), r"not a permutation of the 2 axes"),
    (lambda x: x.expand(3), r"expand: 1 sizes \(3,\) for a tensor of shape \(2, 3\)"),
    (lambda x: x.norm(p=3), "norm: p must be 1, 2 or inf, got 3"),
    (lambda x: x.to("cuda"), "device 'cuda' is not available"),
    (lambda x: x.to("mps"), "device 'mps' is not available"),
])
def test_bad_arguments_are_refused_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call(_x(2, 3))
    with pytest.raises(IndexError, match=r"unsqueeze: dim must be an int in \[-3, 2\]"):
        _x(2, 3).unsqueeze(3)


def test_norm_std_var_cumsum_prod_against_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    x = st.tensor(a)
    np.testing.assert_allclose(x.norm().data, np.linalg.norm(a))
    np.testing.assert_allclose(x.norm(p=1, dim=1).data, np.abs(a).sum(axis=1))
    np.testing.assert_allclose(x.norm(p=math.inf, dim=0, keepdim=True).data,
                               np.abs(a).max(axis=0, keepdims=True))
    np.testing.assert_allclose(x.var().data, np.var(a, ddof=1))  # correction=1, as PyTorch
    np.testing.assert_allclose(x.var(correction=0).data, np.var(a))  # NumPy's ddof=0
    np.testing.assert_allclose(x.std(dim=1).data, np.std(a, axis=1, ddof=1))
    np.testing.assert_allclose(x.cumsum(1).data, np.cumsum(a, axis=1))
    np.testing.assert_allclose(x.prod(dim=0).data, np.prod(a, axis=0))
    np.testing.assert_allclose(x.pow(3).data, a ** 3)


def test_gradients_of_the_composite_methods():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4))
    for f in (lambda t: t.var(), lambda t: t.std(dim=0).sum(), lambda t: t.pow(3).sum(),
              lambda t: t.norm(dim=1).sum(), lambda t: t.view(12).cumsum(0).prod()):
        st.gradcheck(f, a)


def test_norm_gradient_at_zero_is_zero_and_prod_gradient_is_exact_at_zeros():
    x = st.zeros(3, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    y = st.tensor([2.0, 0.0, 3.0, 0.5], requires_grad=True)
    y.prod().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 3.0, 0.0, 0.0])


def test_dtype_and_device_conversion():
    x = _x(2)
    assert x.to("cpu") is x and x.cpu() is x and x.double() is x
    f = x.float()
    assert f.dtype == np.float32 and x.to(np.float32).dtype == np.float32
    assert x.to("cpu", np.float32).dtype == np.float32
    (f * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_factories_and_manual_seed():
    assert st.zeros(2, 3).shape == (2, 3) and st.ones((2,)).data.tolist() == [1.0, 1.0]
    assert st.full((2,), 7).dtype == np.int64 and st.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert st.empty(4).shape == (4,) and st.eye(3).data.trace() == 3.0
    assert st.arange(4).data.tolist() == [0, 1, 2, 3] and st.arange(1, 2, 0.5).data.tolist() == [1, 1.5]
    np.testing.assert_allclose(st.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1])
    assert st.zeros(2, dtype=np.float32).dtype == np.float32
    base = st.randn(2, 3, requires_grad=True)
    assert st.zeros_like(base).shape == (2, 3) and st.ones_like(base).data.sum() == 6
    assert base.requires_grad and not st.randn_like(base).requires_grad
    st.manual_seed(5)
    first = (st.rand(3).data, st.randn(2).data, st.randn_like(base).data)
    st.manual_seed(5)
    again = (st.rand(3).data, st.randn(2).data, st.randn_like(base).data)
    for one, two in zip(first, again, strict=True):
        np.testing.assert_array_equal(one, two)
    assert (0 <= first[0]).all() and (first[0] < 1).all()
    with pytest.raises(ValueError, match="zeros: sizes must be ints >= 0"):
        st.zeros(-1)
    a = np.zeros(2)
    st.from_numpy(a).data[0] = 3.0
    assert a[0] == 3.0


def test_no_grad_as_decorator_and_inference_mode():
    w = st.tensor([1.0], requires_grad=True)

    @st.no_grad()
    def with_parentheses(x):
        return w * x

    @st.no_grad
    def without(x):
        return w * x

    assert not with_parentheses(2.0).requires_grad and not without(2.0).requires_grad
    assert (w * 2.0).requires_grad  # restored afterwards
    with st.inference_mode():
        assert not (w * 2.0).requires_grad
        with st.enable_grad():
            assert (w * 2.0).requires_grad
    assert st.is_grad_enabled()
    mode = st.no_grad()
    with mode, mode:  # reentrant
        assert not st.is_grad_enabled()
    assert st.is_grad_enabled()


def test_public_namespace_is_clean_and_documented():
    names = [n for n in dir(st) if not n.startswith("__")]
    leaked = [n for n in names if n.startswith("_") or n in {"annotations", "importlib", "Any"}]
    assert not leaked, leaked
    for name in st.__all__:
        value = getattr(st, name)
        assert (getattr(value, "__doc__", None) or "").strip(), f"st.{name} has no docstring"
