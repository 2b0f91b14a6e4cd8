"""steepest.optim.LBFGS against torch.optim.LBFGS (tests/golden/optim/lbfgs.*, made by
tools/make_lbfgs_golden.py), its errors, and the state-dict round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import steepest as st

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "optim"
MANIFEST = json.loads((GOLDEN / "lbfgs.json").read_text())
ARRAYS = dict(np.load(GOLDEN / "lbfgs.npz"))


def _setup(name: str):
    spec = MANIFEST["cases"][name]
    if spec["problem"] in MANIFEST["starts"]:
        params = [st.tensor(MANIFEST["starts"][spec["problem"]], requires_grad=True)]
    else:
        x0 = ARRAYS["quadratic/x0"]
        params = [st.tensor(x0[:3].copy(), requires_grad=True),
                  st.tensor(x0[3:].copy(), requires_grad=True)]
    A, b = ARRAYS["quadratic/A"], ARRAYS["quadratic/b"]
    evals = [0]

    def loss_fn():
        if spec["problem"] == "rosenbrock":
            w = params[0]
            return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
        if spec["problem"] == "rosenbrock3":
            z = params[0]
            return (100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2).sum()
        if spec["problem"] == "quartic":
            z = params[0]
            return ((z - 1.0) ** 2).sum() + 0.1 * (z ** 4).sum()
        x = st.concatenate(params)
        return 0.5 * (x @ (st.tensor(A) @ x)) - st.tensor(b) @ x

    return spec, params, loss_fn, evals


def _closure(opt, loss_fn, evals):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        evals[0] += 1
        return loss
    return closure


def _flat(params):
    return np.concatenate([p.data.reshape(-1) for p in params])


def test_golden_set_has_both_line_search_settings():
    assert MANIFEST["torch_version"].startswith("2.13")
    searches = {c["options"].get("line_search_fn") for c in MANIFEST["cases"].values()}
    assert searches == {None, "strong_wolfe"}


def test_golden_set_exercises_the_line_search_budget():
    # torch passes max_ls = max_eval - evaluations so far: with max_iter=1 (max_eval=1) a step
    # is two closure calls; with the defaults from this start the first step makes 26 (one over
    # max_eval: the search's first trial point is always evaluated), where a fixed max_ls=25
    # made 28 and ended elsewhere
    for name in ("rosenbrock-wolfe-maxiter1", "quartic-wolfe-maxiter1"):
        assert ARRAYS[f"{name}/evals"].tolist() == [2, 4, 6, 8, 10, 12]
    assert ARRAYS["rosenbrock3-wolfe/evals"][0] == 26


@pytest.mark.parametrize("name", sorted(MANIFEST["cases"]))
def test_trajectory_matches_pytorch(name):
    spec, params, loss_fn, evals = _setup(name)
    opt = st.optim.LBFGS(params, **spec["options"])
    closure = _closure(opt, loss_fn, evals)
    path, losses, counts = [_flat(params)], [], []
    for _ in range(MANIFEST["steps"]):
        losses.append(float(opt.step(closure)))
        path.append(_flat(params))
        counts.append(evals[0])
    # Full unit steps on Rosenbrock with no line search amplify a one-ulp difference in a gradient
    # (NumPy's and PyTorch's float64 pow kernels round differently on some CPUs) to ~2e-9 by the
    # third step: that one case is held to 1e-8, every other to 1e-9.
    rtol = 1e-8 if name == "rosenbrock-default" else 1e-9
    np.testing.assert_allclose(np.array(path), ARRAYS[f"{name}/params"], rtol=rtol, atol=1e-12)
    # near the minimum the loss is a difference of nearly equal numbers: the absolute floor is
    # 1e-12 of the loss's scale, as in test_optim_golden
    expected = ARRAYS[f"{name}/loss"]
    np.testing.assert_allclose(losses, expected, rtol=rtol, atol=1e-12 * np.abs(expected).max())
    assert counts == ARRAYS[f"{name}/evals"].tolist()


@pytest.mark.parametrize("name", ["rosenbrock-wolfe-h3", "quadratic-default"])
def test_state_dict_round_trip_continues_bit_for_bit(name, tmp_path):
    spec, params, loss_fn, evals = _setup(name)
    opt = st.optim.LBFGS(params, **spec["options"])
    closure = _closure(opt, loss_fn, evals)
    for _ in range(2):
        opt.step(closure)
    st.save(opt.state_dict(), tmp_path / "lbfgs.npz")
    copies = [st.tensor(p.data.copy(), requires_grad=True) for p in params]
    for _ in range(2):
        opt.step(closure)
    expected = _flat(params)

    spec, fresh, loss_fn2, evals2 = _setup(name)
    for p, c in zip(fresh, copies, strict=True):
        p.data[...] = c.data
    second = st.optim.LBFGS(fresh, **spec["options"])
    second.load_state_dict(st.load(tmp_path / "lbfgs.npz"))
    closure2 = _closure(second, loss_fn2, evals2)
    for _ in range(2):
        second.step(closure2)
    np.testing.assert_array_equal(_flat(fresh), expected)


def test_registry_and_defaults():
    w = st.tensor([1.0], requires_grad=True)
    opt = st.optim.create("lbfgs", [w])
    assert isinstance(opt, st.optim.LBFGS)
    group = opt.param_groups[0]
    assert (group["lr"], group["max_iter"], group["max_eval"], group["history_size"]) == (1.0, 20, 25, 100)
    assert (group["tolerance_grad"], group["tolerance_change"]) == (1e-7, 1e-9)
    assert group["line_search_fn"] is None


def test_bad_input_names_the_parameter():
    w = st.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        st.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="max_iter"):
        st.optim.LBFGS([w], max_iter=0)
    with pytest.raises(ValueError, match="one parameter group"):
        st.optim.LBFGS([{"params": [w]}, {"params": [st.tensor([2.0], requires_grad=True)]}])
    with pytest.raises(TypeError, match="closure"):
        st.optim.LBFGS([w]).step()
