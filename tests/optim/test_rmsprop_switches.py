"""RMSprop's momentum or centering switched on mid-run starts its buffer from zero."""

import numpy as np
import pytest

import steepest as st
from steepest import optim


@pytest.mark.parametrize("key, value", [("momentum", 0.9), ("centered", True)])
def test_switching_on_momentum_or_centering_mid_run(key, value):
    # torch (and steepest before) raised KeyError: 'momentum_buffer' / 'grad_avg'
    w = st.tensor(np.ones(3), requires_grad=True)
    opt = optim.RMSprop([w], lr=0.01)
    for _ in range(2):
        w.grad = np.array([1.0, -2.0, 0.5])
        opt.step()
    opt.param_groups[0][key] = value
    w.grad = np.array([1.0, -2.0, 0.5])
    square = opt.state[w]["square_avg"].copy()
    before = w.data.copy()
    opt.step()
    g = np.array([1.0, -2.0, 0.5])
    square = 0.99 * square + 0.01 * g * g
    if key == "centered":  # grad_avg from zero: 0.01 g
        avg = np.sqrt(square - (0.01 * g) ** 2) + 1e-8
    else:
        avg = np.sqrt(square) + 1e-8
    np.testing.assert_allclose(w.data, before - 0.01 * g / avg, rtol=1e-12)
    restored = optim.RMSprop([st.tensor(np.ones(3), requires_grad=True)], lr=0.01, **{key: value})
    restored.load_state_dict(opt.state_dict())  # the state matches the new settings
