"""Rprop with a NaN in the gradient, as torch.optim.Rprop 2.13 (values read off it in a
throwaway script; PyTorch is never imported by the tests).

torch.sign(nan) is 0 where np.sign(nan) is NaN. So in PyTorch a NaN gradient leaves its
coordinate where it is (a move of sign(nan) * step = 0), the agreement g * prev is NaN, neither
> 0 nor < 0, so the step size keeps its value (a factor of 1), and prev keeps the NaN (the
next agreement is NaN again: another factor of 1). steepest moved the coordinate to NaN.
Rprop is elementwise: the other coordinates are those of a run without the NaN, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st

nan, inf = math.nan, math.inf

_GRADS = [[nan, 1.0, -2.0, 0.5], [3.0, 1.0, 2.0, 0.5], [-1.0, nan, 2.0, -0.5],
          [2.0, 1.0, inf, 0.5], [2.0, 1.0, 1.0, -0.5], [2.0, 1.0, 1.0, -0.5]]
# torch.optim.Rprop([p]) (defaults) from p = [1, 2, 3, 4]: (param, step_size, prev) per step
_TORCH = {
    False: [
        ([1.0, 1.99, 3.01, 3.99], [0.01, 0.01, 0.01, 0.01], [nan, 1.0, -2.0, 0.5]),
        ([0.99, 1.978, 3.01, 3.978], [0.01, 0.012, 0.005, 0.012], [3.0, 1.0, 0.0, 0.5]),
        ([0.99, 1.978, 3.005, 3.978], [0.005, 0.012, 0.005, 0.006], [0.0, nan, 2.0, 0.0]),
        ([0.985, 1.966, 2.999, 3.9720000000000004], [0.005, 0.012, 0.006, 0.006],
         [2.0, 1.0, inf, 0.5]),
        ([0.979, 1.9516, 2.9918, 3.9720000000000004], [0.006, 0.0144, 0.0072, 0.003],
         [2.0, 1.0, 1.0, 0.0]),
        ([0.9718, 1.93432, 2.98316, 3.9750000000000005], [0.0072, 0.01728, 0.00864, 0.003],
         [2.0, 1.0, 1.0, -0.5]),
    ],
    True: [  # maximize=True
        ([1.0, 2.01, 2.99, 4.01], [0.01, 0.01, 0.01, 0.01], [nan, -1.0, 2.0, -0.5]),
        ([1.01, 2.022, 2.99, 4.021999999999999], [0.01, 0.012, 0.005, 0.012],
         [-3.0, -1.0, 0.0, -0.5]),
        ([1.01, 2.022, 2.995, 4.021999999999999], [0.005, 0.012, 0.005, 0.006],
         [0.0, nan, -2.0, 0.0]),
        ([1.015, 2.034, 3.001, 4.028], [0.005, 0.012, 0.006, 0.006], [-2.0, -1.0, -inf, -0.5]),
        ([1.021, 2.0484, 3.0082, 4.028], [0.006, 0.0144, 0.0072, 0.003], [-2.0, -1.0, -1.0, 0.0]),
        ([1.0282, 2.06568, 3.01684, 4.0249999999999995], [0.0072, 0.01728, 0.00864, 0.003],
         [-2.0, -1.0, -1.0, 0.5]),
    ],
}


def _run(grads, start, **kwargs):
    p = st.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = st.optim.Rprop([p], **kwargs)
    trace = []
    for g in grads:
        p.grad = np.array(g, dtype=np.float64)
        opt.step()
        state = opt.state[p]
        trace.append((p.data.copy(), np.array(state["step_size"]), np.array(state["prev"])))
    return trace


@pytest.mark.parametrize("flat", [None, True, False, "views"])
@pytest.mark.parametrize("maximize", [False, True])
def test_rprop_nan_gradient_follows_torch_over_several_steps(flat, maximize):
    trace = _run(_GRADS, [1.0, 2.0, 3.0, 4.0], maximize=maximize, flat=flat)
    for step, ((param, size, prev), expected) in enumerate(zip(trace, _TORCH[maximize],
                                                               strict=True)):
        # assert_array_equal: NaN where NaN, and every other value exactly PyTorch's
        np.testing.assert_array_equal(param, expected[0], err_msg=f"param after step {step + 1}")
        np.testing.assert_array_equal(size, expected[1], err_msg=f"step size after {step + 1}")
        np.testing.assert_array_equal(prev, expected[2], err_msg=f"prev after step {step + 1}")


def test_rprop_nan_coordinate_does_not_move_and_keeps_its_step():
    p = st.tensor(np.array([5.0, -1.0]), requires_grad=True)
    opt = st.optim.Rprop([p], lr=0.1)
    p.grad = np.array([1.0, 1.0])
    opt.step()  # both move by 0.1, step sizes 0.1
    p.grad = np.array([nan, 1.0])
    opt.step()
    state = opt.state[p]
    assert p.data[0] == 4.9  # 5 - 0.1, and not NaN
    assert state["step_size"][0] == 0.1  # the NaN agreement: a factor of 1
    assert math.isnan(state["prev"][0])
    assert p.data[1] == -1.0 - 0.1 - 0.12 and state["step_size"][1] == 0.12


def test_rprop_nan_in_a_scalar_parameter():
    p = st.tensor(np.array(1.5), requires_grad=True)
    opt = st.optim.Rprop([p])
    for g, expected in ((nan, 1.5), (2.0, 1.49), (-1.0, 1.49), (1.0, 1.485)):  # PyTorch 2.13
        p.grad = np.array(g)
        opt.step()
        assert p.data.shape == () and p.data == expected


@settings(max_examples=40, deadline=None)
@given(seed=hs.integers(0, 2**32 - 1), holes=hs.lists(hs.tuples(hs.integers(0, 5),
                                                                 hs.integers(0, 2)), max_size=6))
def test_rprop_other_coordinates_are_bitwise_those_of_a_run_without_the_nan(seed, holes):
    rng = np.random.default_rng(seed)
    grads = rng.standard_normal((6, 5))
    grads[rng.random((6, 5)) < 0.2] = 0.0
    for step, column in holes:  # NaNs in the first three columns only
        grads[step, column] = nan
    start = rng.standard_normal(5)
    with_nans = _run(grads, start)
    clean = _run(grads[:, 3:], start[3:])
    for (param, size, prev), (param2, size2, prev2) in zip(with_nans, clean, strict=True):
        assert param[3:].tobytes() == param2.tobytes()
        assert size[3:].tobytes() == size2.tobytes()
        assert prev[3:].tobytes() == prev2.tobytes()
        assert np.isfinite(param).all()  # a NaN gradient never reaches a parameter


def test_rprop_float32_step_sizes_grow_in_float32_as_in_torch():
    # torch.optim.Rprop 2.13 writes eta_plus into a float32 tensor and multiplies in float32:
    # three agreeing steps from lr = 0.07 give these step sizes and parameters (read off torch;
    # a float64 factor rounds the step size to 0.10080000758 instead)
    p = st.Tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    opt = st.optim.Rprop([p], lr=0.07)
    for _ in range(3):
        p.grad = np.ones(2, dtype=np.float32)
        opt.step()
    np.testing.assert_array_equal(opt.state[p]["step_size"],
                                  np.array([0.10080001503229141] * 2, dtype=np.float32))
    np.testing.assert_array_equal(p.data, np.array([0.745199978351593, -2.2548000812530518],
                                                   dtype=np.float32))
