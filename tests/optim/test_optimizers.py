"""steepest.optim: validation, parameter groups, stepping, schedules, state dicts, convergence."""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

import steepest as st
from steepest import optim, schedules

ALL = [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam, optim.AdamW, optim.Adadelta,
       optim.Adamax, optim.NAdam]
WITH_EPS = [cls for cls in ALL if cls is not optim.SGD]
WITH_BETAS = [optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam]


def leaf(values=(1.0, -2.0, 3.0), dtype=np.float64) -> st.Tensor:
    return st.tensor(np.asarray(values), requires_grad=True, dtype=dtype)


def quadratic_grad(p: st.Tensor) -> None:
    """Set p.grad to the gradient of sum(p**2) / 2 (that is, p itself)."""
    p.grad = p.data.copy()


# ---------------------------------------------------------------------- defaults
TORCH_DEFAULTS = {  # torch.optim 2.13 signatures (device-only arguments left out)
    optim.SGD: {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False,
                "maximize": False},
    optim.Adagrad: {"lr": 1e-2, "lr_decay": 0, "weight_decay": 0,
                    "initial_accumulator_value": 0, "eps": 1e-10, "maximize": False},
    optim.RMSprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0,
                    "centered": False, "maximize": False},
    optim.Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                 "amsgrad": False, "maximize": False, "decoupled_weight_decay": False},
    optim.AdamW: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2,
                  "amsgrad": False, "maximize": False},
    optim.Adadelta: {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0, "maximize": False},
    optim.Adamax: {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                   "maximize": False},
    optim.NAdam: {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                  "momentum_decay": 4e-3, "decoupled_weight_decay": False, "maximize": False},
}


@pytest.mark.parametrize("cls", ALL)
def test_signature_defaults_are_torchs(cls):
    signature = inspect.signature(cls)
    for name, value in TORCH_DEFAULTS[cls].items():
        assert signature.parameters[name].default == value, name
    opt = cls([leaf()])
    for name, value in TORCH_DEFAULTS[cls].items():
        assert opt.param_groups[0][name] == value, name
    assert opt.param_groups[0]["num_updates"] == 0 and opt.param_groups[0]["last_lr"] is None


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", ALL)
def test_negative_lr_is_refused(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: lr must be in \[0, inf\), got -0.1"):
        cls([leaf()], lr=-0.1)


@pytest.mark.parametrize("cls", ALL)
def test_non_numeric_lr_is_refused(cls):
    with pytest.raises(TypeError, match="lr must be a number >= 0 or a schedule"):
        cls([leaf()], lr="0.1")


@pytest.mark.parametrize("cls", WITH_BETAS)
@pytest.mark.parametrize("betas, index, bad", [((1.0, 0.999), 0, "1.0"),
                                               ((0.9, 1.5), 1, "1.5"),
                                               ((-0.1, 0.9), 0, "-0.1")])
def test_betas_outside_unit_interval_are_refused(cls, betas, index, bad):
    with pytest.raises(ValueError,
                       match=rf"{cls.__name__}: betas\[{index}\] must be in \[0, 1\), got {bad}"):
        cls([leaf()], betas=betas)


@pytest.mark.parametrize("cls", WITH_BETAS)
def test_betas_must_be_a_pair(cls):
    with pytest.raises(ValueError, match="betas must be a pair"):
        cls([leaf()], betas=(0.9,))


@pytest.mark.parametrize("cls", WITH_EPS)
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_non_positive_eps_is_refused(cls, eps):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: eps must be in \(0, inf\)"):
        cls([leaf()], eps=eps)


@pytest.mark.parametrize("rho", [-0.1, 1.5])
def test_adadelta_rho_outside_unit_interval_is_refused(rho):
    with pytest.raises(ValueError, match=rf"Adadelta: rho must be in \[0, 1\], got {rho}"):
        optim.Adadelta([leaf()], rho=rho)


@pytest.mark.parametrize("kwargs, message", [
    ({"nesterov": True}, "nesterov=True needs momentum > 0 and dampening = 0"),
    ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening=0.1"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
    ({"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
    ({"dampening": 1.5}, r"dampening must be in \[0, 1\]"),
    ({"weight_decay": -1e-4}, r"weight_decay must be in \[0, inf\)"),
    ({"momentum_form": "keras"}, "momentum_form must be one of 'pytorch', 'textbook'"),
])
def test_sgd_hyperparameter_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.SGD([leaf()], **kwargs)


@pytest.mark.parametrize("cls, kwargs, message", [
    (optim.Adagrad, {"lr_decay": -1.0}, r"Adagrad: lr_decay must be in \[0, inf\)"),
    (optim.Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (optim.RMSprop, {"alpha": 1.0}, r"RMSprop: alpha must be in \[0, 1\)"),
    (optim.RMSprop, {"momentum": 2.0}, r"RMSprop: momentum must be in \[0, 1\)"),
    (optim.NAdam, {"momentum_decay": -0.1}, r"NAdam: momentum_decay must be in \[0, inf\)"),
    (optim.Adam, {"weight_decay": -0.1}, r"Adam: weight_decay must be in \[0, inf\)"),
])
def test_other_hyperparameter_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([leaf()], **kwargs)


@pytest.mark.parametrize("cls, flag", [(optim.SGD, "nesterov"), (optim.Adam, "amsgrad"),
                                       (optim.RMSprop, "centered"), (optim.Adagrad, "maximize"),
                                       (optim.NAdam, "decoupled_weight_decay")])
def test_flags_must_be_bools(cls, flag):
    with pytest.raises(TypeError, match=f"{cls.__name__}: {flag} must be True or False, got 1"):
        cls([leaf()], **{flag: 1}, **({"momentum": 0.9} if flag == "nesterov" else {}))


@pytest.mark.parametrize("cls", ALL)
def test_empty_parameter_list_is_refused(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: params is empty"):
        cls([])
    with pytest.raises(ValueError, match="param group 0: params is empty"):
        cls([{"params": []}])


def test_parameter_in_two_groups_is_refused():
    p = leaf()
    with pytest.raises(ValueError, match="param group 1: params\\[0\\] .* is already in another "
                                         "parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match="already in another parameter group"):
        opt.add_param_group({"params": [p]})
    assert len(opt.param_groups) == 1


def test_parameter_twice_in_one_group_is_refused():
    p = leaf()
    with pytest.raises(ValueError, match=r"params\[1\] \(shape \(3,\)\) appears twice"):
        optim.SGD([p, p])


def test_non_tensor_parameter_is_refused():
    with pytest.raises(TypeError, match=r"Adam: param group 0: params\[1\] must be a Tensor, "
                                        "got ndarray"):
        optim.Adam([leaf(), np.zeros(3)])


def test_parameter_without_gradient_is_refused():
    frozen = st.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"params\[0\] \(shape \(2,\)\) does not require gradients"):
        optim.RMSprop([frozen])


def test_non_leaf_parameter_is_refused():
    computed = leaf() * 2.0
    with pytest.raises(ValueError, match="is not a leaf tensor"):
        optim.SGD([computed])


@pytest.mark.parametrize("params, message", [
    (leaf(), "got a single Tensor; wrap it in a list"),
    ({leaf()}, "ordered iterable"),
    (42, "must be an iterable of Tensors or of dicts, got int"),
    ([leaf(), {"params": [leaf()]}], "mixes Tensors and dicts"),
    ([{"lr": 0.1}], "must be a dict with a 'params' entry"),
])
def test_malformed_params_are_refused(params, message):
    with pytest.raises(TypeError, match=message):
        optim.SGD(params)


def test_group_override_errors_name_the_group():
    with pytest.raises(ValueError, match=r"Adam: param group 1: betas\[1\] must be in \[0, 1\)"):
        optim.Adam([{"params": [leaf()]}, {"params": [leaf()], "betas": (0.9, 1.0)}])


# ---------------------------------------------------------------------- stepping
@pytest.mark.parametrize("cls", ALL)
def test_parameters_without_gradient_are_skipped(cls):
    moving, idle = leaf(), leaf((4.0, 5.0))
    opt = cls([moving, idle], lr=0.1)
    quadratic_grad(moving)
    opt.step()
    assert not np.array_equal(moving.data, [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(idle.data, [4.0, 5.0])
    assert idle not in opt.state and moving in opt.state


@pytest.mark.parametrize("cls", ALL)
def test_zero_grad(cls):
    p = leaf()
    opt = cls([p])
    quadratic_grad(p)
    buffer = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is buffer and not buffer.any()
    opt.zero_grad()
    assert p.grad is None


def test_step_returns_the_closure_value_and_records_under_no_grad():
    p = leaf()
    opt = optim.SGD([p], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()  # would fail if the closure ran with recording off
        calls.append(loss.item())
        return loss

    with st.no_grad():
        returned = opt.step(closure)
    assert returned.item() == 14.0 and calls == [14.0]
    np.testing.assert_allclose(p.data, [0.8, -1.6, 2.4])
    assert opt.step() is None


def test_grad_of_the_wrong_shape_is_refused_before_any_update():
    a, b = leaf(), leaf((1.0, 2.0))
    opt = optim.Adam([a, b], lr=0.1)
    quadratic_grad(a)
    b.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"a parameter of shape \(2,\) has a gradient of shape "
                                         r"\(3,\)"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, -2.0, 3.0])
    assert opt.state == {} and opt.param_groups[0]["num_updates"] == 0


@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       seed=hs.integers(0, 2**16), index=hs.integers(0, len(ALL) - 1))
def test_float32_parameters_stay_float32_and_track_the_float64_run(shape, seed, index):
    cls = ALL[index]
    rng = np.random.default_rng(seed)
    start = rng.uniform(-2, 2, size=shape)
    runs = {}
    for dtype in (np.float32, np.float64):
        p = st.tensor(start, requires_grad=True, dtype=dtype)
        opt = cls([p], lr=0.01, weight_decay=0.01)
        for _ in range(5):
            opt.zero_grad()
            (p * p * p).sum().backward()  # gradient 3 p^2
            opt.step()
        assert p.data.dtype == dtype and p.data.shape == shape
        assert all(v.dtype == dtype for v in opt.state[p].values() if isinstance(v, np.ndarray))
        runs[dtype] = p.data
    np.testing.assert_allclose(runs[np.float32], runs[np.float64], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ALL)
def test_maximize_mirrors_minimising_the_negation(cls):
    up, down = leaf(), leaf()
    opt_up, opt_down = cls([up], lr=0.05, maximize=True), cls([down], lr=0.05)
    for _ in range(5):
        for p, opt, sign in ((up, opt_up, -1.0), (down, opt_down, 1.0)):
            opt.zero_grad()
            (sign * (p * p).sum()).backward()
            opt.step()
    np.testing.assert_allclose(up.data, down.data, rtol=1e-12)


def test_update_in_place_keeps_the_parameter_array():
    p = leaf()
    data = p.data
    opt = optim.Adam([p], lr=0.1)
    quadratic_grad(p)
    opt.step()
    assert p.data is data


# ---------------------------------------------------------------------- groups
def test_groups_use_their_own_hyperparameters():
    a, b = leaf(), leaf()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    quadratic_grad(a)
    quadratic_grad(b)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9 * np.array([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(b.data, 0.5 * np.array([1.0, -2.0, 3.0]))
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]


def test_add_param_group_takes_defaults_and_validates():
    a, b = leaf(), leaf()
    opt = optim.Adam([a], lr=0.01, betas=(0.8, 0.9))
    opt.add_param_group({"params": b, "lr": 0.1})
    group = opt.param_groups[1]
    assert len(group["params"]) == 1 and group["params"][0] is b
    assert group["lr"] == 0.1 and group["betas"] == (0.8, 0.9) and group["num_updates"] == 0
    with pytest.raises(ValueError, match="param group 2: eps must be in"):
        opt.add_param_group({"params": [leaf()], "eps": 0.0})
    assert len(opt.param_groups) == 2


def test_repr_lists_groups():
    text = repr(optim.RMSprop([leaf()], lr=0.5))
    assert text.startswith("RMSprop (") and "Parameter Group 0" in text and "lr: 0.5" in text


# ---------------------------------------------------------------------- schedules
def test_schedule_gives_the_lr_of_each_update_and_is_recorded():
    p = leaf()
    opt = optim.SGD([p], lr=schedules.inverse_power(1.0, p=1.0))
    used = []
    for _ in range(4):
        quadratic_grad(p)
        before = p.data.copy()
        opt.step()
        used.append(opt.param_groups[0]["last_lr"])
        np.testing.assert_allclose(p.data, before - used[-1] * before)
    assert used == [1.0, 0.5, 1 / 3, 0.25]
    assert opt.param_groups[0]["num_updates"] == 4


def test_schedules_count_updates_per_group():
    a, b = leaf(), leaf()
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=lambda t: 0.1 * t)
    for step in range(3):
        quadratic_grad(a)
        b.grad = None if step == 1 else b.data.copy()  # group 1 sits out update 2
        opt.step()
    assert [g["num_updates"] for g in opt.param_groups] == [3, 2]
    assert opt.param_groups[0]["last_lr"] == pytest.approx(0.3)
    assert opt.param_groups[1]["last_lr"] == pytest.approx(0.2)


def test_a_schedule_returning_a_bad_lr_stops_the_step_cleanly():
    p = leaf()
    opt = optim.Adam([p], lr=lambda t: 0.1 if t == 1 else -0.1)
    quadratic_grad(p)
    opt.step()
    after_one = p.data.copy()
    state = copy.deepcopy(opt.state[p])
    with pytest.raises(ValueError, match=r"param group 0: the schedule .* returned lr=-0.1 for "
                                         r"update t=2"):
        opt.step()
    np.testing.assert_array_equal(p.data, after_one)
    assert opt.state[p]["step"] == state["step"] == 1
    assert opt.param_groups[0]["num_updates"] == 1


def test_unserialisable_lr_is_marked_and_kept_on_load():
    p, q = leaf(), leaf()
    custom = lambda t: 0.1 / t  # noqa: E731
    opt = optim.SGD([p], lr=custom)
    quadratic_grad(p)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr_schedule"]["type"] == "unserialisable"
    assert sd["param_groups"][0]["lr"] == 0.1
    other = optim.SGD([q], lr=schedules.constant(0.5))
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr_schedule"] == schedules.constant(0.5)
    assert other.param_groups[0]["num_updates"] == 1
    quadratic_grad(q)
    other.step()  # the kept schedule sets lr again: no complaint about a hand-written lr
    assert other.param_groups[0]["lr"] == 0.5
    plain = optim.SGD([leaf()], lr=0.3)
    with pytest.warns(RuntimeWarning, match="could not be saved"):
        plain.load_state_dict(sd)
    assert plain.param_groups[0]["lr"] == 0.3 and plain.param_groups[0]["lr_schedule"] is None


def test_builtin_schedule_round_trips_through_the_state_dict():
    p = leaf()
    lr = schedules.warmup(schedules.cosine(0.1, 50), warmup_steps=5)
    opt = optim.Adam([p], lr=lr)
    other = optim.Adam([leaf()], lr=0.001)
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    group = other.param_groups[0]
    assert group["lr_schedule"] == lr and group["lr_schedule"] is not lr
    assert group["lr"] == lr(1)


def test_a_state_dict_with_a_schedule_under_lr_still_loads():
    opt = optim.SGD([leaf()], lr=0.1)
    sd = opt.state_dict()
    del sd["param_groups"][0]["lr_schedule"]
    sd["param_groups"][0]["lr"] = schedules.inverse_power(1.0).to_dict()
    sd["param_groups"][0]["num_updates"] = 3
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr_schedule"] == schedules.inverse_power(1.0)
    assert opt.param_groups[0]["lr"] == 1 / 3


def test_lr_in_the_group_is_always_the_float_in_force():
    p = leaf()
    opt = optim.SGD([p], lr=schedules.inverse_power(1.0))
    group = opt.param_groups[0]
    assert group["lr"] == 1.0 and type(group["lr"]) is float
    for t in (1, 2, 3):
        quadratic_grad(p)
        opt.step()
        assert group["lr"] == 1.0 / t == group["last_lr"]
    plain = optim.SGD([q := leaf()], lr=0.1)
    plain.param_groups[0]["lr"] = 0.5  # as PyTorch code writes it
    quadratic_grad(q)
    before = q.data.copy()
    plain.step()
    np.testing.assert_allclose(q.data, 0.5 * before)


def test_writing_lr_under_a_schedule_is_refused_until_the_schedule_is_dropped():
    p = leaf()
    opt = optim.SGD([p], lr=schedules.inverse_power(1.0))
    quadratic_grad(p)
    opt.step()
    opt.param_groups[0]["lr"] = 0.01
    quadratic_grad(p)
    before = p.data.copy()
    with pytest.raises(ValueError, match=r"param group 0: lr was set to 0.01, but this group's lr "
                                         r"comes from the schedule inverse_power.*lr_schedule"):
        opt.step()
    np.testing.assert_array_equal(p.data, before)
    opt.param_groups[0]["lr_schedule"] = None
    opt.step()
    np.testing.assert_allclose(p.data, 0.99 * before)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.1", lambda t: 0.1])
def test_a_bad_hand_written_lr_names_the_group(bad):
    p = leaf()
    opt = optim.Adam([p], lr=0.1)
    opt.param_groups[0]["lr"] = bad
    quadratic_grad(p)
    with pytest.raises((TypeError, ValueError), match="param group 0: lr"):
        opt.step()


def test_a_group_with_its_own_number_lr_takes_no_schedule_from_defaults():
    a, b = leaf(), leaf()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=schedules.inverse_power(1.0))
    assert opt.param_groups[0]["lr_schedule"] is not None
    assert opt.param_groups[1]["lr_schedule"] is None and opt.param_groups[1]["lr"] == 0.5


# ---------------------------------------------------------------------- state dict checks
def _trained(cls=optim.Adam, **kwargs):
    p, q = leaf(), leaf((1.0, 2.0))
    opt = cls([{"params": [p]}, {"params": [q]}], **kwargs)
    for _ in range(2):
        quadratic_grad(p)
        quadratic_grad(q)
        opt.step()
    return opt


@pytest.mark.parametrize("make_params, message", [
    (lambda: [{"params": [leaf(), leaf((1.0, 2.0))]}], "has 2 parameter groups, this optimizer "
                                                      "has 1"),
    (lambda: [{"params": [leaf()]}, {"params": [leaf((1.0, 2.0)), leaf()]}],
     "param group 1 has 1 parameters in the state dict and 2 in this optimizer"),
    (lambda: [{"params": [leaf()]}, {"params": [leaf((1.0, 2.0, 3.0, 4.0))]}],
     r"param group 1: parameter 0 has shape \(2,\) in the state dict and \(4,\)"),
    (lambda: [{"params": [leaf()]}, {"params": [leaf((1.0, 2.0), dtype=np.float32)]}],
     "parameter 0 has dtype float64 in the state dict and float32"),
])
def test_load_state_dict_refuses_mismatched_parameters(make_params, message):
    sd = _trained().state_dict()
    target = optim.Adam(make_params())
    before = copy.deepcopy(target.state_dict())
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(sd)
    after = target.state_dict()
    assert after["param_groups"] == before["param_groups"] and after["state"] == before["state"]


def test_load_state_dict_refuses_another_optimizers_state():
    sd = _trained(optim.SGD, lr=0.1, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="the state dict was saved by SGD, not Adam"):
        optim.Adam([leaf(), leaf((1.0, 2.0))]).load_state_dict(sd)


def test_load_state_dict_refuses_tampered_buffers():
    opt = _trained()
    sd = opt.state_dict()
    sd["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(5,\); the "
                                         r"parameter has shape \(2,\)"):
        _trained().load_state_dict(sd)
    sd = opt.state_dict()
    sd["param_groups"][0]["amsgrad"] = True  # the buffers then lack max_exp_avg_sq
    with pytest.raises(ValueError, match=r"state\[0\] has the buffers"):
        _trained().load_state_dict(sd)
    sd = opt.state_dict()
    sd["param_groups"][1]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"param group 1: lr must be in \[0, inf\)"):
        _trained().load_state_dict(sd)


def test_load_state_dict_copies_the_buffers():
    sd = _trained().state_dict()
    target = _trained()
    target.load_state_dict(sd)
    p = target.param_groups[0]["params"][0]
    assert not np.shares_memory(target.state[p]["exp_avg"], sd["state"][0]["exp_avg"])


# ---------------------------------------------------------------------- textbook momentum
def _linear_run(form: str, lr, steps: int = 3) -> list[float]:
    """Minimise f(x) = x (gradient 1 everywhere) from x = 0 with momentum 0.9."""
    x = st.tensor([0.0], requires_grad=True)
    opt = optim.SGD([x], lr=lr, momentum=0.9, momentum_form=form)
    path = []
    for _ in range(steps):
        x.grad = np.ones(1)
        opt.step()
        path.append(float(x.data[0]))
    return path


def test_worked_example_of_textbook_and_pytorch_momentum():
    # The numbers of the SGD docstring and docs/momentum.md (alpha_t = 1/t, mu = beta = 0.9).
    harmonic = schedules.inverse_power(1.0, p=1.0)
    np.testing.assert_allclose(_linear_run("pytorch", harmonic), [-1.0, -1.95, -2.853333333333333])
    np.testing.assert_allclose(_linear_run("textbook", harmonic), [-1.0, -2.4, -3.993333333333333])
    # With a constant rate the two forms agree.
    np.testing.assert_allclose(_linear_run("pytorch", 0.1, 20), _linear_run("textbook", 0.1, 20))


def test_step_decay_shrinks_pytorch_velocity_at_once_but_not_textbook_displacement():
    decay = schedules.step(0.1, step_size=10, gamma=0.1)
    torch_form, textbook = _linear_run("pytorch", decay, 11), _linear_run("textbook", decay, 11)
    torch_step = torch_form[9] - torch_form[10]
    textbook_step = textbook[9] - textbook[10]
    velocity = sum(0.9 ** k for k in range(11))
    assert torch_step == pytest.approx(0.01 * velocity)
    assert textbook_step == pytest.approx(0.9 * 0.1 * sum(0.9 ** k for k in range(10)) + 0.01)
    # The rounded figures quoted in docs/momentum.md.
    assert (round(velocity, 3), round(torch_step, 4), round(textbook_step, 3)) == \
        (6.862, 0.0686, 0.596)


# ---------------------------------------------------------------------- convergence
RNG = np.random.default_rng(0)
Q, _ = np.linalg.qr(RNG.standard_normal((5, 5)))
A = (Q * np.linspace(1.0, 10.0, 5)) @ Q.T  # condition number 10
B = RNG.standard_normal(5)
X_STAR = np.linalg.solve(A, B)
STEPS = 1000
CONVERGENCE = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "momentum_form": "textbook"}),
    (optim.Adagrad, {"lr": 0.5}),
    (optim.RMSprop, {"lr": schedules.cosine(0.02, STEPS)}),
    (optim.Adam, {"lr": schedules.cosine(0.1, STEPS)}),
    (optim.Adam, {"lr": schedules.cosine(0.1, STEPS), "amsgrad": True}),
    (optim.AdamW, {"lr": schedules.cosine(0.1, STEPS), "weight_decay": 0.0}),
    (optim.Adadelta, {"lr": schedules.cosine(10.0, STEPS)}),
    (optim.Adamax, {"lr": schedules.cosine(0.1, STEPS)}),
    (optim.NAdam, {"lr": schedules.cosine(0.1, STEPS)}),
]


@pytest.mark.parametrize("cls, kwargs", CONVERGENCE,
                         ids=[f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONVERGENCE)])
def test_every_optimizer_solves_a_convex_quadratic(cls, kwargs):
    x = st.tensor(np.zeros(5), requires_grad=True)
    opt = cls([x], **kwargs)
    for _ in range(STEPS):
        x.grad = A @ x.data - B
        opt.step()
    assert np.linalg.norm(x.data - X_STAR) < 1e-8


def test_warnings_are_not_raised_by_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = optim.NAdam([leaf()], lr=schedules.parse("warmup:5:cosine:0.01:50"))
        for _ in range(10):
            p = opt.param_groups[0]["params"][0]
            quadratic_grad(p)
            opt.step()


def test_adagrad_starts_every_group_from_the_constructors_accumulator_and_says_so():
    # torch.optim.Adagrad (2.13) fills every `sum` from the constructor's
    # initial_accumulator_value and ignores a group's own: after one step of lr 0.1 on a
    # gradient of 1 from sum 0, x = 1 - 0.1 * 1 / (sqrt(1) + 1e-10) = 0.9 in both groups (QA)
    a, b = st.tensor(np.ones(2), requires_grad=True), st.tensor(np.ones(2), requires_grad=True)
    with pytest.warns(UserWarning, match="param group 1 sets initial_accumulator_value=4.0"):
        opt = optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 4.0}],
                            lr=0.1)
    assert opt.param_groups[1]["initial_accumulator_value"] == 4.0  # kept, as torch keeps it
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_array_equal(opt.state[b]["sum"], [1.0, 1.0])
    np.testing.assert_allclose(b.data, 1.0 - 0.1 / (1.0 + 1e-10), rtol=1e-15)
    np.testing.assert_array_equal(a.data, b.data)
    c = st.tensor(np.ones(2), requires_grad=True)  # a group added later: the same
    with pytest.warns(UserWarning, match="param group 2"):
        opt.add_param_group({"params": [c], "initial_accumulator_value": 2.0})
    c.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(opt.state[c]["sum"], [1.0, 1.0])
    with warnings.catch_warnings():  # the same value as the constructor's: no warning
        warnings.simplefilter("error")
        optim.Adagrad([{"params": [leaf()], "initial_accumulator_value": 0.5}],
                      initial_accumulator_value=0.5)
