"""Tensor semantics: backward, accumulation, graph freeing, dtypes and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest.autodiff import ops


def test_gradients_accumulate_until_reset():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_grad_is_an_array_of_the_leafs_shape_and_dtype():
    w = st.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    loss = (w * np.full((2, 3), 2.0)).sum()  # float64 constant promotes the output
    assert loss.dtype == np.float64
    loss.backward()
    assert isinstance(w.grad, np.ndarray) and w.grad.shape == (2, 3) and w.grad.dtype == np.float32


def test_leaves_never_share_a_gradient_buffer():
    a = st.tensor([1.0, 2.0], requires_grad=True)
    b = st.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_user_cotangent_is_not_aliased():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    v = np.array([1.0, 1.0])
    (x + 0).backward(v)
    x.grad += 1
    np.testing.assert_array_equal(v, [1.0, 1.0])


def test_shared_subexpression_gets_gradient_from_every_use():
    x = st.tensor(3.0, requires_grad=True)
    y = x * x
    (y + y * x).backward()  # d/dx (x^2 + x^3) = 2x + 3x^2
    assert x.grad == pytest.approx(2 * 3 + 3 * 9)


def test_backward_runs_over_a_chain_of_100000_ops_without_recursion():
    x = st.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad == pytest.approx(1.0000001 ** 100_000, rel=1e-9)


def test_second_backward_needs_retain_graph():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_no_grad_builds_no_graph():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    with st.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad and y.is_leaf
    z = x * 2
    assert z.requires_grad and not z.is_leaf


def test_detach_cuts_the_graph():
    x = st.tensor(2.0, requires_grad=True)
    (x * x.detach()).backward()
    assert x.grad == pytest.approx(2.0)


def test_retain_grad_keeps_an_intermediate_gradient():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])


def test_backward_on_non_scalar_needs_gradient_and_names_the_shape():
    x = st.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"\(3,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_without_any_grad_input_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        st.tensor([1.0]).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        st.tensor([1, 2, 3], requires_grad=True)


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1], dtype=object),
                                 ["x", "y"]])
def test_object_and_string_arrays_are_refused(bad):
    with pytest.raises(TypeError, match="numeric"):
        st.tensor(bad)


def test_operations_with_string_arrays_are_refused():
    with pytest.raises(TypeError, match="numeric"):
        st.tensor([1.0]) + np.array(["a"])


def test_shapes_that_cannot_broadcast_name_both_shapes():
    a, b = st.tensor(np.ones((2, 3))), st.tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"\(2,3\).*\(4,\)"):
        a + b


def test_matmul_mismatch_names_the_inner_dimensions():
    a, b = st.tensor(np.ones((2, 3))), st.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\).*3 columns.*4 rows"):
        a @ b


@pytest.mark.parametrize("left,right", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                        ((4, 2, 3), (3, 2)), ((3,), (4, 3, 2)),
                                        ((4, 1, 2, 3), (5, 3, 2))])
def test_matmul_shapes_match_numpy(left, right):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(left), rng.standard_normal(right)
    assert st.gradcheck(lambda x, y: x @ y, (a, b))
    np.testing.assert_allclose((st.tensor(a) @ b).data, a @ b)


def test_python_scalars_and_arrays_work_on_either_side():
    x = st.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    for y in (2 * x, x * 2, 2 - x, x / 2, 2 / x, x ** 2, 2 ** x, np.ones(2) + x, x + [1, 1]):
        assert isinstance(y, st.Tensor)
    assert (2 * x).dtype == np.float32  # Python scalars do not promote
    y = np.array([1.0, 3.0]) * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 3.0])


def test_getitem_with_repeated_indices_accumulates():
    x = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_getitem_with_boolean_mask_and_slices():
    x = st.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (x[x > 2] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2, 2, 2]])
    x.grad = None
    x[:, 1:].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 1], [0, 1, 1]])
    x.grad = None
    x[st.tensor([1, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2, 2, 2]])


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_ties_share_the_gradient_evenly(reduce):
    data = np.array([[1.0, 5.0, 5.0], [-2.0, -2.0, -2.0]])
    data = data if reduce == "max" else -data
    x = st.tensor(data, requires_grad=True)
    getattr(x, reduce)(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    getattr(st, reduce)(x).backward()  # over all axes: the two 5s tie
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0, 0, 0]])


def test_maximum_of_equal_inputs_splits_the_gradient():
    a = st.tensor([1.0, 2.0], requires_grad=True)
    b = st.tensor([1.0, 0.0], requires_grad=True)
    st.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0])


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy_for_every_axis(axis, keepdims):
    data = np.random.default_rng(1).standard_normal((3, 4))
    for name in ("sum", "mean", "max", "min"):
        got = getattr(st, name)(st.tensor(data), axis=axis, keepdims=keepdims).data
        np.testing.assert_allclose(got, getattr(np, name)(data, axis=axis, keepdims=keepdims))
    lse = st.logsumexp(st.tensor(data), axis=axis, keepdims=keepdims).data
    ref = np.log(np.sum(np.exp(data), axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(lse, ref)


def test_log_softmax_and_logsumexp_are_stable_at_1e4():
    x = st.tensor(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4 - 1]]), requires_grad=True)
    out = st.log_softmax(x, axis=1)
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data[0], [0.0, -2e4, -1e4])
    lse = st.logsumexp(x, axis=1)
    np.testing.assert_allclose(lse.data[1], 1e4 + np.log(2 + np.exp(-1)))
    (out.sum() + lse.sum()).backward()
    assert np.isfinite(x.grad).all()


def test_softmax_rows_sum_to_one():
    x = st.tensor(np.random.default_rng(2).standard_normal((4, 5)) * 50)
    np.testing.assert_allclose(st.softmax(x, axis=1).data.sum(axis=1), 1.0)


def test_functional_grad_accepts_lists_scalars_and_arrays():
    assert st.grad(lambda x: (x ** 3).sum())(2.0) == pytest.approx(12.0)
    g = st.grad(lambda x: (x * x).sum())([[1, 2], [3, 4]])
    assert isinstance(g, np.ndarray) and g.dtype == np.float64
    np.testing.assert_array_equal(g, [[2, 4], [6, 8]])
    value, g = st.value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    assert value == 5.0 and isinstance(value, float)
    np.testing.assert_array_equal(g, [2.0, 4.0])


def test_functional_grad_refuses_non_scalar_output():
    with pytest.raises(ValueError, match=r"scalar.*\(2,\)"):
        st.grad(lambda x: x * 2)([1.0, 2.0])


def test_functional_grad_of_constant_function_is_zero():
    np.testing.assert_array_equal(st.grad(lambda x: st.tensor(1.0))([1.0, 2.0]), [0.0, 0.0])


def test_gradcheck_reports_the_worst_entry():
    wrong = lambda x: (x * x.detach()).sum()  # noqa: E731  (true gradient 2x, engine sees x)
    with pytest.raises(st.GradcheckError, match=r"largest absolute error .* at index \(2,\)"):
        st.gradcheck(wrong, np.array([0.1, 0.2, 3.0]))
    assert st.gradcheck(lambda x: (x * x).sum(), np.array([0.1, 0.2, 3.0]))


def test_gradcheck_handles_several_inputs_and_non_scalar_outputs():
    a, b = np.random.default_rng(3).standard_normal((2, 3, 2))
    assert st.gradcheck(lambda x, y: x * y + st.sin(x), (a, b))


def test_fused_cross_entropy_matches_its_composite_definition():
    rng = np.random.default_rng(4)
    logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    fused = ops.cross_entropy(st.tensor(logits), target).item()
    composite = -st.log_softmax(st.tensor(logits), axis=1)[np.arange(5), target].mean().item()
    assert fused == pytest.approx(composite, rel=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        ops.cross_entropy(st.tensor(logits), np.array([0, 1, 2, 3, 4]))


def test_repr_and_conversions():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert x.sum().item() == 3.0 and x.numpy() is x.data and x.shape == (2,) and x.ndim == 1
    assert x.T.shape == (2,) and len(x) == 2 and x.size == 2
    with pytest.raises(ValueError, match="one element"):
        x.item()


def test_tensor_copies_the_callers_array():
    data = np.array([1.0, 2.0])
    t = st.tensor(data)
    t.data[0] = 9.0
    assert data[0] == 1.0
