"""0-d parameters with maximize and weight decay, against torch.optim step by step
(tests/golden/optim/scalar_*, made by tools/make_optim_scalar_golden.py), and every optimizer's
state on a 0-d parameter.

NumPy turns ``-g`` and ``g + wd * p`` of 0-d arrays into NumPy scalars: SGD's momentum buffer,
created from one, used to be a scalar that ``buffer *= momentum`` only rebound, so it froze at
the first gradient (QA: SGD(momentum=0.9, maximize=True) on a 0-d parameter ended at 2.86
where torch reaches 4.17 after five steps).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import steepest as st

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "optim"
RTOL = 1e-9


@cache
def manifest() -> dict:
    return json.loads((GOLDEN / "scalar_cases.json").read_text())


@cache
def arrays() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "scalar_trajectories.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _objective(p: dict[str, st.Tensor]) -> st.Tensor:
    """The tool's objective, with steepest ops."""
    s = p["s"]
    value = 0.5 * (s - 1.5) ** 2 + 0.05 * (s * s) * (s * s)
    if "v" in p:
        c, m = (np.array(manifest()["data"][key]) for key in ("c", "m"))
        value = value + 0.5 * (c * (p["v"] - m) ** 2).sum() + 0.1 * s * p["v"].sum()
    return value


def _flats(optimizer: str) -> list:
    """The ``flat`` settings to run (None: the optimizer's default, not passed)."""
    return [None, False, True] if getattr(st.optim, optimizer)._flat_support else [None]


CASES = [(c, flat) for c in manifest()["cases"] for flat in _flats(c["optimizer"])]


def test_golden_set_covers_every_torch_optimizer_with_maximize_and_decay():
    assert manifest()["default_dtype"] == "float64"
    covered = {c["optimizer"] for c in manifest()["cases"]}
    assert covered == {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax",
                       "NAdam", "RAdam", "Rprop", "ASGD", "Adafactor"}
    for c in manifest()["cases"]:
        assert c["options"].get("maximize") or c["options"].get("weight_decay")
        assert arrays()[f"{c['problem']}/s"].shape == ()


@pytest.mark.parametrize("spec,flat", CASES,
                         ids=[f"{c['name']}-flat={flat}" for c, flat in CASES])
def test_trajectory_on_a_0d_parameter_matches_pytorch(spec, flat):
    problem = spec["problem"]
    params = {key: st.tensor(arrays()[f"{problem}/{key}"].copy(), requires_grad=True)
              for key in manifest()["problems"][problem]}
    assert params["s"].shape == ()
    options = dict(spec["options"])
    if flat is not None:
        options["flat"] = flat
    opt = getattr(st.optim, spec["optimizer"])(list(params.values()), **options)
    sign = -1.0 if spec["negate"] else 1.0
    trajectory, losses = [np.concatenate([p.data.ravel() for p in params.values()])], []
    for _ in range(manifest()["steps"]):
        opt.zero_grad()
        loss = sign * _objective(params)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        trajectory.append(np.concatenate([p.data.ravel() for p in params.values()]))
        for p in params.values():  # every buffer stays an array of the parameter's shape
            for key, value in opt.state[p].items():
                if key in ("step", "eta", "mu", "mu_product"):
                    continue
                assert isinstance(value, np.ndarray) and value.shape == p.shape, (key, value)
    expected = arrays()[f"{spec['name']}/params"]
    np.testing.assert_allclose(np.array(trajectory), expected, rtol=RTOL,
                               atol=1e-12 * float(np.abs(expected).max()))
    np.testing.assert_allclose(losses, arrays()[f"{spec['name']}/loss"], rtol=RTOL,
                               atol=1e-12 * float(np.abs(losses).max()))
    if spec["optimizer"] == "ASGD":
        ax = np.concatenate([opt.state[p]["ax"].ravel() for p in params.values()])
        np.testing.assert_allclose(ax, arrays()[f"{spec['name']}/ax"], rtol=RTOL, atol=1e-15)


#: Every optimizer that takes maximize, with decay where it has one (Lion and schedule-free
#: AdamW have no torch.optim counterpart: they are held to their own (1,)-shaped run).
SETTINGS = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1, "maximize": True},
    "Adam": {"lr": 0.05, "weight_decay": 0.1, "maximize": True, "amsgrad": True},
    "AdamW": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "Adagrad": {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1,
                "maximize": True},
    "Adadelta": {"weight_decay": 0.1, "maximize": True},
    "Adamax": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "NAdam": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "RAdam": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "Rprop": {"lr": 0.01, "maximize": True},
    "ASGD": {"lr": 0.05, "t0": 3.0, "weight_decay": 0.1, "maximize": True},
    "Adafactor": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "Lion": {"lr": 0.01, "weight_decay": 0.1, "maximize": True},
    "ScheduleFreeAdamW": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
}


@pytest.mark.parametrize("name,momentum_form",
                         [(name, None) for name in sorted(SETTINGS)] + [("SGD", "textbook")])
def test_a_0d_parameter_moves_as_a_one_element_vector(name, momentum_form):
    options = dict(SETTINGS[name])
    if momentum_form is not None:
        options["momentum_form"] = momentum_form
    runs = []
    for shape in [(), (1,)]:
        p = st.tensor(np.full(shape, 0.7), requires_grad=True)
        opt = getattr(st.optim, name)([p], **options)
        path = []
        for k in range(12):
            p.grad = np.full(shape, np.cos(k) + 0.2 * float(p.data.reshape(-1)[0]))
            opt.step()
            path.append(float(p.data.reshape(-1)[0]))
        runs.append(path)
        for value in opt.state[p].values():
            assert not isinstance(value, np.generic), value  # a buffer, never a NumPy scalar
    np.testing.assert_array_equal(runs[0], runs[1])
