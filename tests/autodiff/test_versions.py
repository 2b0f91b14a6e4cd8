"""Issue 10.1: a graph never uses values that changed after it was recorded.

Three ways a saved array can change: an in-place update through steepest (optimizer step,
in-place method, ``t[i] = v``) bumps a version and backward raises; a NumPy operand, or the
caller's buffer behind ``Tensor(ndarray)``/``from_numpy``, is copied when a graph is recorded,
so backward uses the recorded values. No case gives a wrong number silently.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest.autodiff.tensor import from_numpy

MODIFIED = r"saved by '\w+' .* modified in place after it was recorded \(it is now at version \d+\)"


# ----------------------------------------------------------------- the three cases of the issue
def test_backward_after_an_optimizer_step_raises_naming_the_op():
    w = st.tensor([1.0, 2.0], requires_grad=True)
    opt = st.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    w.grad = None
    with pytest.raises(RuntimeError, match=r"saved by 'mul' \(input 0, shape \(2,\)\).*now at version 1"):
        loss.backward()


def test_numpy_operand_changed_after_recording_does_not_change_the_gradient():
    a = np.array([1.0, 2.0])
    w = st.tensor([3.0, 4.0], requires_grad=True)
    y = (w * a).sum()
    a[:] = 100.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


@pytest.mark.parametrize("make", [st.Tensor, from_numpy])
def test_shared_buffer_changed_before_backward_does_not_change_the_gradient(make):
    a = np.array([1.0, 2.0])
    w = make(a, requires_grad=True)
    y = (w * w).sum()
    a[:] = 100.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0])
    copied, shared = st.tensor(a), from_numpy(a)
    a[0] = 9.0
    assert copied.data[0] == 1.0 and shared.data[0] == 9.0
    assert not np.shares_memory(st.Tensor(a).data, a)  # Tensor(ndarray) copies, as torch.Tensor
    view = a[::2]
    assert not np.shares_memory(st.tensor(view).data, a)
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        from_numpy([1.0])


# ----------------------------------------------------------------- each kind of in-place update
def _inplace_updates():
    return {
        "add_": lambda t: t.add_(1.0),
        "sub_": lambda t: t.sub_(np.ones(t.shape), alpha=2),
        "mul_": lambda t: t.mul_(2.0),
        "div_": lambda t: t.div_(2.0),
        "fill_": lambda t: t.fill_(3.0),
        "zero_": lambda t: t.zero_(),
        "copy_": lambda t: t.copy_(np.full(t.shape, 5.0)),
        "setitem": lambda t: t.__setitem__(0, 7.0),
    }


@pytest.mark.parametrize("name", sorted(_inplace_updates()))
def test_every_inplace_method_bumps_the_version_and_backward_raises(name):
    w = st.tensor([1.0, 2.0], requires_grad=True)
    c = st.tensor([3.0, 4.0])  # a constant saved by mul for w's gradient
    y = (w * c).sum()
    _inplace_updates()[name](c)
    assert c._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


@pytest.mark.parametrize("name", sorted(_inplace_updates()))
def test_inplace_update_of_a_tensor_that_requires_grad_is_refused_outside_no_grad(name):
    w = st.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad, and an in-place update is not recorded"):
        _inplace_updates()[name](w)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with st.no_grad():
        _inplace_updates()[name](w)
    assert w._version == 1


def test_inplace_update_of_an_output_is_seen_by_the_op_that_saved_it():
    w = st.tensor([1.0, 2.0], requires_grad=True)
    e = st.exp(w)  # exp's rule uses its output
    with st.no_grad():
        e.mul_(0.0)
    with pytest.raises(RuntimeError, match=r"saved by 'exp' \(its output, shape \(2,\)\)"):
        e.backward(np.ones(2))


@pytest.mark.parametrize("view", [
    lambda t: t.reshape(2, 2), lambda t: t.T, lambda t: t[1:], lambda t: t.detach(),
    lambda t: st.Tensor(t),
])
def test_views_share_the_version_counter_of_their_base(view):
    w = st.tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    v = view(w)
    x = st.tensor(np.ones(v.shape), requires_grad=True)
    y = (x * v).sum()  # only the view v is saved for x's gradient
    opt = st.optim.SGD([w], lr=0.1)
    w.grad = np.ones(w.shape)
    opt.step()
    with pytest.raises(RuntimeError, match=r"saved by 'mul' \(input 1"):
        y.backward()


def test_every_optimizer_bumps_each_parameter_once_per_step():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam"):
        ws = [st.tensor([1.0, 2.0], requires_grad=True), st.tensor([[3.0]], requires_grad=True)]
        opt = getattr(st.optim, name)(ws, lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (ws[0] * ws[0]).sum().backward()  # ws[1] gets no gradient and no update
            opt.step()
        assert [w._version for w in ws] == [3, 0], name


def test_index_array_changed_after_recording_does_not_change_the_gradient():
    index = np.array([0, 0, 1])
    w = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w[index].sum()
    index[:] = 2
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 1.0, 0.0])


def test_no_error_without_a_change():
    w = st.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])


# ----------------------------------------------------------------- complex never cast to real
def test_complex_gradient_into_a_real_tensor_is_refused():
    w = st.tensor([1.0, 2.0], requires_grad=True)
    y = (w * (1 + 2j)).sum()
    with pytest.raises(TypeError, match=r"real tensor of shape \(2,\) .* is complex"):
        y.backward()
    assert w.grad is None
    z = w * 2.0
    with pytest.raises(TypeError, match="gradient is complex"):
        z.backward(np.array([1 + 1j, 1.0]))
    with st.no_grad(), pytest.raises(TypeError, match="cannot write complex values"):
        w.copy_(np.array([1j, 1.0]))


# ----------------------------------------------------------------- property: random sequences
_MUTATIONS = ("step", "numpy_operand", "shared_buffer", "constant_mul_", "constant_setitem",
              "leaf_add_no_grad", "rebind_data", "nothing")


def _mutate(kind, rng, w, opt, a, buffer, c):
    if kind == "step":
        opt.step()
    elif kind == "numpy_operand":
        a[...] = rng.standard_normal(a.shape)
    elif kind == "shared_buffer":
        buffer[...] = rng.standard_normal(buffer.shape)
    elif kind == "constant_mul_":
        c.mul_(float(rng.uniform(0.5, 2)))
    elif kind == "constant_setitem":
        c[0] = float(rng.standard_normal())
    elif kind == "leaf_add_no_grad":
        with st.no_grad():
            w.add_(1.0)
    elif kind == "rebind_data":
        w.data = w.data + 1.0  # a new array: the graph keeps the old one


def _loss(w, a, s, c):
    return (st.tanh(w * a) * s + (w @ c.T) * st.exp(w).T).sum()


@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 2**32 - 1),
       kinds=hs.lists(hs.sampled_from(_MUTATIONS), min_size=0, max_size=4))
def test_random_inplace_sequences_raise_or_give_the_recorded_gradient(seed, kinds):
    rng = np.random.default_rng(seed)
    w = st.tensor(rng.standard_normal((1, 3)), requires_grad=True)
    a = rng.standard_normal(3)
    buffer = rng.standard_normal((1, 3))
    s = st.Tensor(buffer)  # shares buffer
    c = st.tensor(rng.standard_normal((1, 3)))
    # the gradient at the recorded values, on private copies
    fresh = st.tensor(w.data.copy(), requires_grad=True)
    _loss(fresh, a.copy(), st.tensor(buffer), st.tensor(c.data)).backward()
    loss = _loss(w, a, s, c)
    w.grad = rng.standard_normal(w.shape)  # something for the optimizer to step with
    opt = st.optim.SGD([w], lr=0.1)
    for kind in kinds:
        _mutate(kind, rng, w, opt, a, buffer, c)
    w.grad = None
    try:
        loss.backward()
    except RuntimeError as error:
        assert "modified in place after it was recorded" in str(error)
        assert {"step", "constant_mul_", "constant_setitem", "leaf_add_no_grad"} & set(kinds)
        return
    assert not {"step", "constant_mul_", "constant_setitem", "leaf_add_no_grad"} & set(kinds)
    np.testing.assert_allclose(w.grad, fresh.grad, rtol=1e-12, atol=0)
