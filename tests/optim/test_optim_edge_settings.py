"""Settings at the edges: RMSprop's momentum or centering switched on mid-run, OneCycleLR with
pct_start=1."""

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


def test_one_cycle_with_pct_start_1_reaches_its_last_step():
    # the annealing phase has no steps: torch (and steepest before) raised ZeroDivisionError
    # at step total_steps; the rates before it are torch's
    w = st.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.0,
                                          anneal_strategy="linear", cycle_momentum=False)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    rise = [0.04 + (1.0 - 0.04) * k / 9 for k in range(10)]  # initial max_lr / 25 up to max_lr
    np.testing.assert_allclose(lrs[:10], rise, rtol=1e-12)
    assert lrs[10] == pytest.approx(0.04 / 1e4)  # the end of the (empty) annealing: min_lr


def test_a_group_added_after_cosine_annealing_is_named_at_the_bottom_of_the_curve():
    # the bottom-of-the-curve formula needs each group's initial rate; a group added later
    # raised 'zip() argument 2 is longer than argument 1' there (chained steps, as torch, work)
    w, v = (st.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    opt = optim.SGD([w], lr=0.1)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    opt.step()
    sched.step()
    opt.add_param_group({"params": [v]})
    for _ in range(2):  # epochs 2 and 3: the chained ratio takes the new group along
        opt.step()
        sched.step()
    opt.step()
    with pytest.raises(RuntimeError, match="a group was added after the scheduler"):
        sched.step()  # epoch 4, the bottom of the curve
