"""Flat optimizer buffers (``flat=``): bitwise the per-parameter trajectories and state.

Every optimizer with an elementwise update runs the same 20 steps on the same parameters twice,
per parameter (``flat=False``) and flat (``None``, ``True``, ``"views"``), and every parameter
and every state entry must be equal bit for bit after every step, through missing gradients,
state dicts loaded either way, copies, buffers replaced by hand and the numba kernels.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import kernels
from steepest.optim import _flat, base

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _optim_cases import case, cases, make_optimizer, make_params, manifest, run  # noqa: E402
from test_optim_golden import assert_trajectory  # noqa: E402

FLAT_MODES = [None, True, "views"]

#: Per optimizer: the defaults, then the overrides of two more groups (different settings).
SETTINGS = {
    "SGD": ({"lr": 0.05, "momentum": 0.9},
            {"lr": 0.02, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
            {"lr": 0.01, "momentum": 0.9, "nesterov": True, "maximize": True}),
    "SGD-textbook": ({"lr": 0.03, "momentum": 0.5, "momentum_form": "textbook"},
                     {"lr": 0.01, "weight_decay": 0.1},
                     {"lr": 0.02, "momentum": 0.9, "nesterov": True, "momentum_form": "textbook"}),
    "SGD-plain": ({"lr": 0.05}, {"lr": 0.02, "maximize": True}, {"lr": 0.01, "weight_decay": 0.1}),
    "Adam": ({"lr": 0.01}, {"lr": 0.02, "amsgrad": True, "weight_decay": 0.01},
             {"lr": 0.005, "betas": (0.5, 0.9), "maximize": True, "decoupled_weight_decay": True,
              "weight_decay": 0.1}),
    "AdamW": ({"lr": 0.01}, {"lr": 0.02, "amsgrad": True}, {"lr": 0.005, "maximize": True}),
    "RMSprop": ({"lr": 0.01}, {"lr": 0.005, "centered": True, "momentum": 0.9, "weight_decay": 0.01},
                {"lr": 0.01, "momentum": 0.5, "alpha": 0.3, "maximize": True}),
    # initial_accumulator_value is the constructor's for every group (as in torch)
    "Adagrad": ({"lr": 0.05, "initial_accumulator_value": 0.5},
                {"lr": 0.02, "lr_decay": 0.01, "weight_decay": 0.1},
                {"lr": 0.01, "maximize": True}),
    "Adadelta": ({"lr": 1.0}, {"lr": 0.5, "rho": 0.5, "weight_decay": 0.01},
                 {"lr": 0.9, "eps": 1e-4, "maximize": True}),
    "Adamax": ({"lr": 0.01}, {"lr": 0.02, "betas": (0.5, 0.9), "weight_decay": 0.01},
               {"lr": 0.005, "maximize": True}),
    "NAdam": ({"lr": 0.01}, {"lr": 0.02, "momentum_decay": 0.01, "weight_decay": 0.01},
              {"lr": 0.005, "decoupled_weight_decay": True, "weight_decay": 0.1,
               "maximize": True}),
    "RAdam": ({"lr": 0.01}, {"lr": 0.02, "weight_decay": 0.01, "betas": (0.5, 0.9)},
              {"lr": 0.005, "decoupled_weight_decay": True, "weight_decay": 0.1,
               "maximize": True}),
    "Lion": ({"lr": 0.001}, {"lr": 0.002, "weight_decay": 0.1}, {"lr": 0.0005, "maximize": True}),
    "ASGD": ({"lr": 0.01}, {"lr": 0.02, "t0": 5.0, "lambd": 0.01, "weight_decay": 0.01},
             {"lr": 0.005, "alpha": 0.5, "t0": 3.0, "maximize": True}),
    "Rprop": ({"lr": 0.01}, {"lr": 0.02, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)},
              {"lr": 0.005, "maximize": True}),
}
NAMES = list(SETTINGS)
#: Four groups: three of several parameters (0-d and one-element ones included), one of a
#: single parameter (always per parameter).
SHAPES = [[(3, 4), (4,), ()], [(1,), (2, 3, 2), (5,)], [(2, 2), (3,)], [(6,)]]


def _class(name: str) -> type:
    return getattr(st.optim, name.split("-")[0])


def _params(dtype) -> list[list[st.Tensor]]:
    rng = np.random.default_rng(0)
    return [[st.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in group]
            for group in SHAPES]


def _make(name: str, groups: list[list[st.Tensor]], flat) -> st.optim.Optimizer:
    defaults, first, second = SETTINGS[name]
    overrides = [{}, first, second, first]
    return _class(name)([{"params": params, **extra} for params, extra in
                         zip(groups, overrides, strict=True)], **defaults, flat=flat)


def _grads(opt: st.optim.Optimizer, step: int, missing=()) -> None:
    """A non-quadratic gradient of each parameter (negated where the group maximises, so that
    the iterates stay finite); no gradient for the parameters at the ``missing`` positions."""
    index = 0
    for group in opt.param_groups:
        for p in group["params"]:
            if index in missing:
                p.grad = None
            else:
                target = np.cos(np.arange(p.data.size) + index).reshape(p.data.shape)
                grad = (p.data - target) * (1.0 + p.data * p.data) + 0.01 * step
                p.grad = np.asarray(-grad if group["maximize"] else grad, dtype=p.data.dtype)
            index += 1


def _assert_same(a: st.optim.Optimizer, b: st.optim.Optimizer) -> None:
    """Every parameter and every state entry of ``a`` and ``b`` equal bit for bit."""
    for ga, gb in zip(a.param_groups, b.param_groups, strict=True):
        for p, q in zip(ga["params"], gb["params"], strict=True):
            np.testing.assert_array_equal(p.data, q.data, strict=True)
            sa, sb = a.state.get(p, {}), b.state.get(q, {})
            assert sorted(sa) == sorted(sb)
            for key in sa:
                if isinstance(sb[key], np.ndarray):
                    assert sa[key].shape == p.data.shape
                    np.testing.assert_array_equal(sa[key], sb[key], strict=True)
                else:
                    assert type(sa[key]) is type(sb[key]) and sa[key] == sb[key], key
        assert ga["num_updates"] == gb["num_updates"]


def _twins(name: str, dtype, flat) -> tuple[st.optim.Optimizer, st.optim.Optimizer]:
    return _make(name, _params(dtype), False), _make(name, _params(dtype), flat)


def _steps(opts, steps: range, missing=lambda t: ()) -> None:
    for t in steps:
        for opt in opts:
            _grads(opt, t, missing(t))
            opt.step()
        _assert_same(*opts)


def _flat_groups(opt: st.optim.Optimizer) -> int:
    """How many groups have flat state buffers in force (opt.state holding views into them)."""
    count = 0
    for group in opt.param_groups:
        record = opt._flat_groups.get(id(group))
        if record is not None and record.current(opt.state):
            for key, buffer, views in record.arrays:
                for p, view in zip(group["params"], views, strict=True):
                    assert opt.state[p][key] is view and np.shares_memory(view, buffer)
            count += 1
    return count


# --------------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_flat_steps_are_bitwise_the_per_parameter_steps(name, dtype, flat):
    reference, flat_opt = _twins(name, dtype, flat)
    _steps((reference, flat_opt), range(20))
    if flat is not None or not kernels.fused:  # flat=None leaves the numba kernels per parameter
        assert _flat_groups(flat_opt) >= 2  # the flat path was taken (the test can fail)
    assert _flat_groups(reference) == 0


def test_the_comparison_can_fail():
    reference, flat_opt = _twins("Adam", np.float64, True)
    _steps((reference, flat_opt), range(2))
    flat_opt.param_groups[1]["lr"] = 0.021
    _grads(reference, 2)
    _grads(flat_opt, 2)
    reference.step()
    flat_opt.step()
    with pytest.raises(AssertionError):
        _assert_same(reference, flat_opt)


@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
@pytest.mark.parametrize("name", NAMES)
def test_a_parameter_without_a_gradient_takes_the_group_per_parameter(name, flat):
    # Parameter 0 (group 0) misses steps 4-6, parameter 4 (group 1) misses step 0 and so starts
    # late, parameters 6 and 7 (all of group 2) miss step 9: the step counts then differ within
    # groups 0 and 1, which stay per parameter (on the same buffers) where a count is kept.
    reference, flat_opt = _twins(name, np.float64, flat)

    def missing(t):
        return {0} if 4 <= t <= 6 else {4} if t == 0 else {6, 7} if t == 9 else ()
    _steps((reference, flat_opt), range(20), missing)


def test_groups_back_in_step_go_flat_again():
    # SGD's momentum keeps no step count: after a step without a gradient, the group is flat again.
    reference, flat_opt = _twins("SGD", np.float64, True)
    _steps((reference, flat_opt), range(5), lambda t: {1} if t in (0, 2) else ())
    assert _flat_groups(flat_opt) == 3


# --------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
@pytest.mark.parametrize("name", NAMES)
def test_state_dicts_are_the_per_parameter_ones(name, flat):
    reference, flat_opt = _twins(name, np.float32, flat)
    _steps((reference, flat_opt), range(7))
    a, b = reference.state_dict(), flat_opt.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert all("flat" not in group for group in b["param_groups"])
    assert len(a["state"]) == len(b["state"])
    buffers = [buffer for record in flat_opt._flat_groups.values() for _, buffer, _ in record.arrays]
    for sa, sb in zip(a["state"], b["state"], strict=True):
        assert sorted(sa) == sorted(sb)
        for key, value in sa.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(sb[key], value, strict=True)
                assert not any(np.shares_memory(sb[key], buffer) for buffer in buffers)
            else:
                assert type(sb[key]) is type(value) and sb[key] == value


def _copy_params(source: st.optim.Optimizer, target: st.optim.Optimizer, rebind: bool) -> None:
    for gs, gt in zip(source.param_groups, target.param_groups, strict=True):
        for p, q in zip(gs["params"], gt["params"], strict=True):
            if rebind:
                q.data = p.data.copy()
            else:
                q.data[...] = p.data


@pytest.mark.parametrize("rebind", [False, True], ids=["in-place", "rebound"])
@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "NAdam", "ASGD", "Rprop"])
def test_checkpoints_load_across_flat_and_per_parameter(name, flat, rebind):
    reference, flat_opt = _twins(name, np.float64, flat)
    _steps((reference, flat_opt), range(3))  # both have state (and views) before loading
    source = _make(name, _params(np.float64), False)
    for t in range(8):
        _grads(source, t)
        source.step()
    # per parameter -> flat, and per parameter -> per parameter, then both continue
    for opt in (reference, flat_opt):
        opt.load_state_dict(copy.deepcopy(source.state_dict()))
        _copy_params(source, opt, rebind)
    _assert_same(reference, flat_opt)
    _steps((reference, flat_opt), range(8, 14))
    # flat -> per parameter, and per parameter -> per parameter
    again = _make(name, _params(np.float64), False)
    again.load_state_dict(flat_opt.state_dict())
    _copy_params(flat_opt, again, rebind)
    _steps((reference, again), range(14, 20))


def test_a_loaded_state_does_not_replace_the_views_of_the_parameters():
    params = _params(np.float64)
    opt = _make("Adam", params, "views")
    _grads(opt, 0)
    opt.step()
    arrays = [p.data for group in params for p in group]
    assert all(a.base is not None for a in arrays[:-1])  # views; the one-parameter group is not
    opt.load_state_dict(opt.state_dict())
    _grads(opt, 1)
    opt.step()
    assert all(p.data is a for p, a in zip([p for g in params for p in g], arrays, strict=True))
    assert _flat_groups(opt) == 3


@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
def test_copies_of_a_flat_optimizer_continue_independently(flat):
    reference, flat_opt = _twins("Adam", np.float64, flat)
    _steps((reference, flat_opt), range(4))
    twin_reference, twin = copy.deepcopy((reference, flat_opt))
    assert twin._flat_groups == {}
    _steps((reference, flat_opt), range(4, 8))
    _steps((twin_reference, twin), range(4, 10))
    _assert_same(twin_reference, twin)
    _assert_same(reference, flat_opt)


# --------------------------------------------------------------------------- changes by hand
@pytest.mark.parametrize("flat", FLAT_MODES, ids=["auto", "true", "views"])
def test_buffers_and_parameters_changed_by_hand_are_seen(flat):
    reference, flat_opt = _twins("Adam", np.float64, flat)
    _steps((reference, flat_opt), range(3))
    for opt in (reference, flat_opt):
        first = opt.param_groups[0]["params"]
        opt.state[first[0]]["exp_avg"] = np.ones_like(first[0].data)  # replaced
        opt.state[first[1]]["exp_avg_sq"] *= 2.0  # changed in place
        opt.state[first[2]]["step"] = 1  # a different count: group 0 goes per parameter
        second = opt.param_groups[1]["params"]
        second[0].data *= 0.5  # a parameter changed in place
        second[1].data = second[1].data + 1.0  # and one replaced
    _steps((reference, flat_opt), range(3, 8))
    if flat is not None:
        assert _flat_groups(flat_opt) >= 2


def test_hyperparameters_changed_between_steps_are_used():
    reference, flat_opt = _twins("SGD", np.float64, True)
    _steps((reference, flat_opt), range(3))
    for opt in (reference, flat_opt):
        opt.param_groups[0]["momentum"] = 0.0
        opt.param_groups[1]["lr"] = 0.5
    _steps((reference, flat_opt), range(3, 6))


def test_tied_and_mixed_dtype_groups_stay_per_parameter():
    def build(flat):
        rng = np.random.default_rng(3)
        a = st.tensor(rng.standard_normal(4), requires_grad=True)
        tied = st.tensor(np.zeros(4), requires_grad=True)
        tied.data = a.data  # two tensors, one array
        c = st.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        d = st.tensor(rng.standard_normal(2), requires_grad=True)
        return st.optim.Adam([{"params": [a, tied]}, {"params": [c, d]}], lr=0.1, flat=flat)
    for flat in FLAT_MODES:
        reference, flat_opt = build(False), build(flat)
        for t in range(5):
            for opt in (reference, flat_opt):
                for p in (p for g in opt.param_groups for p in g["params"]):
                    p.grad = np.cos(p.data + t)
                opt.step()
            _assert_same(reference, flat_opt)
        assert _flat_groups(flat_opt) == 0


def test_a_gradient_of_another_dtype_is_cast_per_parameter():
    reference, flat_opt = _twins("Adam", np.float32, True)
    for t in range(4):
        for opt in (reference, flat_opt):
            _grads(opt, t)
            p = opt.param_groups[0]["params"][0]
            p.grad = p.grad.astype(np.float64) * 1.1 if t == 2 else p.grad
            opt.step()
        _assert_same(reference, flat_opt)


# --------------------------------------------------------------------------- when flat applies
@pytest.fixture
def numpy_kernels():
    """The NumPy kernels (also under STEEPEST_KERNELS=numba), the previous ones afterwards."""
    previous = kernels.current()
    st.set_kernels("numpy")
    try:
        yield
    finally:
        st.set_kernels(previous)


@pytest.mark.usefixtures("numpy_kernels")
def test_auto_lays_flat_only_small_groups(monkeypatch):
    # on average 5.7 and 6 elements in groups 0 and 1: too large; 3.5 in group 2
    monkeypatch.setattr(base, "FLAT_MEAN_SIZE", 5)
    reference, flat_opt = _twins("Adam", np.float64, None)
    _steps((reference, flat_opt), range(3))
    assert _flat_groups(flat_opt) == 1
    reference, forced = _twins("Adam", np.float64, True)
    _steps((reference, forced), range(3))
    assert _flat_groups(forced) == 3


@pytest.mark.parametrize(("name", "options", "flat_groups"), [
    ("Adam", {}, 1), ("SGD", {"momentum": 0.9}, 0), ("SGD", {"momentum": 0.9, "flat": True}, 1)])
@pytest.mark.usefixtures("numpy_kernels")
def test_auto_lays_flat_by_the_mean_parameter_size(name, options, flat_groups):
    # 2000 elements per parameter: flat for Adam (up to 4096), not for SGD (up to 1024)
    params = [st.tensor(np.ones(size), requires_grad=True) for size in (3999, 1)]
    opt = getattr(st.optim, name)(params, lr=0.1, **options)
    for p in params:
        p.grad = np.full(p.shape, 0.5)
    opt.step()
    assert _flat_groups(opt) == flat_groups


@pytest.mark.usefixtures("numpy_kernels")
def test_auto_leaves_plain_sgd_per_parameter():
    opt = _make("SGD-plain", _params(np.float64), None)
    _grads(opt, 0)
    opt.step()
    assert _flat_groups(opt) == 2  # groups 1 and 2 (maximize, weight decay), not group 0
    assert id(opt.param_groups[0]) not in opt._flat_groups


def test_flat_is_checked_and_not_saved():
    x = st.tensor(np.ones(3), requires_grad=True)
    for bad in ("yes", 1, 0, "VIEWS", "auto"):
        with pytest.raises(ValueError, match="flat must be"):
            st.optim.Adam([x], flat=bad)
    opt = st.optim.Adam([x], flat="views")
    assert opt.flat == "views"
    opt.flat = False
    assert opt.flat is False
    with pytest.raises(ValueError, match="flat must be"):
        opt.flat = "gather"
    lbfgs = st.optim.LBFGS([x])
    assert lbfgs.flat is None
    with pytest.raises(ValueError, match="not elementwise"):
        lbfgs.flat = True
    lbfgs.flat = False
    assert not hasattr(st.optim.Adafactor, "_flat_support") or not st.optim.Adafactor._flat_support


def test_switching_flat_on_and_off_between_steps():
    reference, flat_opt = _twins("RMSprop", np.float64, False)
    for t, mode in enumerate([False, True, "views", None, False, "views", True, True]):
        flat_opt.flat = mode
        _steps((reference, flat_opt), range(t, t + 1))


# --------------------------------------------------------------------------- numba kernels
@pytest.fixture
def numba_kernels():
    pytest.importorskip("numba")
    previous = kernels.current()
    try:
        st.set_kernels("numba")
        yield
    finally:
        st.set_kernels(previous)


def test_auto_leaves_the_numba_kernels_per_parameter(numba_kernels):
    # One kernel call per parameter already; tests/kernels/test_wired.py pins those calls.
    reference, flat_opt = _twins("Adam", np.float64, None)
    _steps((reference, flat_opt), range(3))
    assert _flat_groups(flat_opt) == 0


@pytest.mark.parametrize("flat", [True, "views"])
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_flat_kernel_steps_are_bitwise_the_per_parameter_numpy_steps(numba_kernels, name, flat,
                                                                     monkeypatch):
    reference, flat_opt = _twins(name, np.float64, flat)
    module = kernels.get_kernels()
    kernel = {"SGD": "sgd_", "AdamW": "adam_"}.get(name, name.lower() + "_")
    calls = []
    original = getattr(module, kernel)
    monkeypatch.setattr(module, kernel, lambda *a, **k: calls.append(a[0].shape) or original(*a, **k))
    for t in range(10):
        st.set_kernels("numpy")
        _grads(reference, t)
        reference.step()
        st.set_kernels("numba")
        _grads(flat_opt, t)
        flat_opt.step()
        _assert_same(reference, flat_opt)
    assert (17,) in calls and (18,) in calls and (7,) in calls  # one kernel call per flat group


# --------------------------------------------------------------------------- golden trajectories
FLAT_CASES = [c["name"] for c in cases() if getattr(st.optim, c["optimizer"])._flat_support]


@pytest.mark.parametrize("flat", [True, "views"])
@pytest.mark.parametrize("name", FLAT_CASES)
def test_golden_trajectories_hold_flat(name, flat):
    spec = case(name)
    trajectories = []
    for mode in (False, flat):
        params = make_params(spec["problem"])
        opt = make_optimizer(spec, params)
        opt.flat = mode
        trajectories.append(run(spec, params, opt, manifest()["steps"])[0])
    np.testing.assert_array_equal(trajectories[1], trajectories[0])
    from _optim_cases import arrays

    assert_trajectory(trajectories[1], arrays()[f"{name}/params"])


@pytest.mark.usefixtures("numpy_kernels")
def test_golden_cases_go_flat_by_default():
    # The default (flat=None) takes the flat path on the golden problems with several parameters
    # per group, so tests/optim/test_optim_golden.py checks it against PyTorch.
    spec = case("Adam-default-mlp")
    params = make_params(spec["problem"])
    opt = make_optimizer(spec, params)
    run(spec, params, opt, 3)
    assert opt.flat is None and _flat_groups(opt) == 1
    assert _flat.FLAT_MEAN_SIZE == base.FLAT_MEAN_SIZE


@pytest.mark.usefixtures("numpy_kernels")
def test_an_optimizer_pickled_before_flat_buffers_existed_loads_and_steps():
    import pickle

    reference, flat_opt = _twins("Adam", np.float64, None)
    _steps((reference, flat_opt), range(2))
    for name in ("_flat", "_flat_on", "_flat_groups"):
        del flat_opt.__dict__[name]  # as an object pickled by an older steepest
    restored_reference, restored = pickle.loads(pickle.dumps((reference, flat_opt)))
    assert restored.flat is None
    _steps((restored_reference, restored), range(2, 6))
    assert _flat_groups(restored) >= 2


def test_textbook_momentum_of_a_0d_parameter_keeps_updating_its_buffer():
    # lr * g of a 0-d gradient is a NumPy scalar: kept as the buffer, "buffer *= momentum"
    # rebound a local name and the buffer stayed at its first value (found by the flat tests).
    x = st.tensor(np.array(1.0), requires_grad=True)
    opt = st.optim.SGD([x], lr=0.1, momentum=0.5, momentum_form="textbook", flat=False)
    buffers = []
    for _ in range(3):
        x.grad = np.array(1.0)
        opt.step()
        buffers.append(opt.state[x]["momentum_buffer"].copy())
    assert isinstance(opt.state[x]["momentum_buffer"], np.ndarray)
    np.testing.assert_allclose(buffers, [0.1, 0.15, 0.175])
    assert x.data == pytest.approx(1.0 - 0.1 - 0.15 - 0.175)
