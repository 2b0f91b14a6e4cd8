"""Regenerate tests/golden/nn/activations.npz: PyTorch 2.13 golden values of the activations
and probabilistic losses (Softplus ... Hardswish, PReLU; BCELoss, KLDivLoss, PoissonNLLLoss,
GaussianNLLLoss), in float32 and float64.

Run from the repository root::

    python tools/make_nn_activation_golden.py

Keys (plain arrays, ``allow_pickle=False``; ``<dt>`` is ``float32`` or ``float64``):

* ``act/<name>/<dt>/<case>/{x, cot, out, grad}``: the activation's output and the gradient
  of ``sum(out * cot)``. Case ``special`` holds the kinks, thresholds and extremes (±1e4, ±40,
  0, ±3, ±1, 6, 20, ...); ``vector``, ``matrix`` and ``cube`` are random shapes.
* ``second/<name>/{x, cot, v, grad, grad2, hessian}`` (float64): ``grad`` as above taken with
  ``create_graph=True``, ``grad2`` the gradient of ``sum(grad * v)`` and ``hessian`` the
  Hessian of ``sum(out)``.
* ``prelu/<dt>/<case>/{x, weight, cot, out, grad, grad_weight}``.
* ``loss/<name>/<dt>/<reduction>/{input, target, cot, loss, grad[, grad_target, var,
  grad_var, weight]}``: each loss and the gradients of ``sum(loss * cot)`` (``cot`` is 1 for
  a reduced loss).
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import torch
from torch.nn import functional as F

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "nn" / "activations.npz"
DTYPES = {"float32": torch.float32, "float64": torch.float64}

#: Every kink, threshold and extreme of the activations below, and their neighbours.
SPECIAL = np.array([
    -1e4, -100.0, -40.0, -20.0, -6.0, -3.0 - 1e-6, -3.0, -3.0 + 1e-6, -2.0, -1.0 - 1e-6, -1.0,
    -0.5, -1e-7, -1e-30, -0.0, 0.0, 1e-30, 1e-7, 0.5, 1.0, 1.0 + 1e-6, 2.0, 3.0 - 1e-6, 3.0,
    3.0 + 1e-6, 5.0, 6.0 - 1e-6, 6.0, 6.0 + 1e-6, 10.0, 19.999, 20.0, 20.001, 40.0, 100.0, 1e4,
])

ACTIVATIONS = {
    "softplus": lambda x: F.softplus(x),
    "softplus_beta2_threshold10": lambda x: F.softplus(x, beta=2.0, threshold=10.0),
    "softplus_beta-0.5": lambda x: F.softplus(x, beta=-0.5),
    "elu": lambda x: F.elu(x),
    "elu_alpha0.5": lambda x: F.elu(x, alpha=0.5),
    "elu_alpha2": lambda x: F.elu(x, alpha=2.0),
    "selu": F.selu,
    "celu": lambda x: F.celu(x),
    "celu_alpha2": lambda x: F.celu(x, alpha=2.0),
    "celu_alpha0.3": lambda x: F.celu(x, alpha=0.3),
    "silu": F.silu,
    "mish": F.mish,
    "softsign": F.softsign,
    "hardtanh": lambda x: F.hardtanh(x),
    "hardtanh_-2_3": lambda x: F.hardtanh(x, -2.0, 3.0),
    "hardtanh_1_1": lambda x: F.hardtanh(x, 1.0, 1.0),
    "relu6": F.relu6,
    "logsigmoid": F.logsigmoid,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
}

SECOND_ORDER = ["softplus", "softplus_beta2_threshold10", "elu", "elu_alpha2", "selu",
                "celu_alpha2", "silu", "mish", "softsign", "logsigmoid", "hardswish"]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"special": SPECIAL, "vector": rng.normal(size=7) * 4,
            "matrix": rng.normal(size=(4, 5)) * 4, "cube": rng.normal(size=(2, 3, 4)) * 6}


def activations(rng: np.random.Generator, out: dict) -> None:
    cases = _inputs(rng)
    for name, fn in ACTIVATIONS.items():
        for dt, dtype in DTYPES.items():
            for case, x0 in cases.items():
                x = torch.tensor(x0, dtype=dtype, requires_grad=True)
                cot = torch.tensor(rng.uniform(0.5, 2.0, size=x0.shape), dtype=dtype)
                y = fn(x)
                (y * cot).sum().backward()
                key = f"act/{name}/{dt}/{case}"
                out.update({f"{key}/x": _np(x), f"{key}/cot": _np(cot), f"{key}/out": _np(y),
                            f"{key}/grad": _np(x.grad)})


def second_order(rng: np.random.Generator, out: dict) -> None:
    x0 = np.concatenate([rng.normal(size=8) * 3, [-0.5, 0.25, 1.5, -2.5, 2.9, -25.0, 25.0]])
    for name in SECOND_ORDER:
        fn = ACTIVATIONS[name]
        x = torch.tensor(x0, requires_grad=True)
        cot = torch.tensor(rng.uniform(0.5, 2.0, size=x0.shape))
        v = torch.tensor(rng.normal(size=x0.shape))
        (grad,) = torch.autograd.grad((fn(x) * cot).sum(), x, create_graph=True)
        (grad2,) = torch.autograd.grad((grad * v).sum(), x)
        hessian = torch.autograd.functional.hessian(lambda z, fn=fn: fn(z).sum(), x.detach())
        key = f"second/{name}"
        out.update({f"{key}/x": x0, f"{key}/cot": _np(cot), f"{key}/v": _np(v),
                    f"{key}/grad": _np(grad), f"{key}/grad2": _np(grad2),
                    f"{key}/hessian": _np(hessian)})


def prelu(rng: np.random.Generator, out: dict) -> None:
    cases = {"shared_matrix": ((6, 3), 1), "channels_matrix": ((6, 3), 3),
             "channels_cube": ((2, 4, 5), 4), "shared_vector": ((7,), 1), "shared_scalar": ((), 1),
             "special": (SPECIAL.shape, 1)}
    for dt, dtype in DTYPES.items():
        for case, (shape, count) in cases.items():
            x0 = SPECIAL if case == "special" else rng.normal(size=shape) * 3
            x = torch.tensor(x0, dtype=dtype, requires_grad=True)
            weight = torch.tensor(rng.normal(size=count) * 0.5, dtype=dtype, requires_grad=True)
            cot = torch.tensor(rng.uniform(0.5, 2.0, size=shape), dtype=dtype)
            y = F.prelu(x, weight)
            (y * cot).sum().backward()
            key = f"prelu/{dt}/{case}"
            out.update({f"{key}/x": _np(x), f"{key}/weight": _np(weight), f"{key}/cot": _np(cot),
                        f"{key}/out": _np(y), f"{key}/grad": _np(x.grad),
                        f"{key}/grad_weight": _np(weight.grad)})


def _loss(out: dict, key: str, value: torch.Tensor, tensors: dict[str, torch.Tensor],
          rng: np.random.Generator, dtype: torch.dtype) -> None:
    cot = torch.tensor(rng.uniform(0.5, 2.0, size=value.shape), dtype=dtype) \
        if value.ndim else torch.ones((), dtype=dtype)
    (value * cot).sum().backward()
    out.update({f"{key}/cot": _np(cot), f"{key}/loss": _np(value)})
    for name, t in tensors.items():
        out[f"{key}/{name}"] = _np(t)
        if t.requires_grad:
            out[f"{key}/grad" if name == "input" else f"{key}/grad_{name}"] = _np(t.grad)


def losses(rng: np.random.Generator, out: dict) -> None:
    probabilities = np.concatenate([[0.0, 1.0, 1e-10, 1 - 1e-10, 0.5, 1e-45, 1e-300],
                                    rng.uniform(0, 1, size=17)]).reshape(4, 6)
    bce_target = np.concatenate([[0.0, 1.0, 0.0, 1.0, 0.5, 1.0, 0.0],
                                 rng.uniform(0, 1, size=17)]).reshape(4, 6)
    log_probs = np.log(rng.dirichlet(np.ones(6), size=4))
    kl_target = rng.dirichlet(np.ones(6), size=4)
    kl_target[0, :2] = 0.0
    counts = np.concatenate([[0.0, 1.0, 0.5, 2.0, 10.0, 1.5], rng.poisson(3.0, size=18)])
    counts = counts.reshape(4, 6)
    log_rate = np.concatenate([[0.0, -40.0, 40.0, 1e-8], rng.normal(size=20)]).reshape(4, 6)
    rate = np.concatenate([[0.0, 1e-9, 1.0, 50.0], rng.uniform(0, 5, size=20)]).reshape(4, 6)
    mean = rng.normal(size=(4, 6)) * 2
    sample = rng.normal(size=(4, 6)) * 2
    variance = np.concatenate([[0.0, 1e-8, 1e-6, 1e-5], rng.uniform(0.1, 3, size=20)]).reshape(4, 6)
    weight = rng.uniform(0.5, 2.0, size=6)
    cases = {
        # name: (function(tensors, reduction), arrays, names that require grad)
        "bce": (lambda t, r: F.binary_cross_entropy(t["input"], t["target"], reduction=r),
                {"input": probabilities, "target": bce_target}, ("input",)),
        "bce_weight": (lambda t, r: F.binary_cross_entropy(t["input"], t["target"], t["weight"],
                                                           reduction=r),
                       {"input": probabilities, "target": bce_target, "weight": weight},
                       ("input",)),
        "bce_interior": (lambda t, r: F.binary_cross_entropy(t["input"], t["target"],
                                                             reduction=r),
                         {"input": rng.uniform(0.01, 0.99, size=(3, 5)),
                          "target": rng.uniform(0, 1, size=(3, 5))}, ("input", "target")),
        "kl": (lambda t, r: F.kl_div(t["input"], t["target"], reduction=r),
               {"input": log_probs, "target": kl_target}, ("input", "target")),
        "kl_log_target": (lambda t, r: F.kl_div(t["input"], t["target"], reduction=r,
                                                log_target=True),
                          {"input": log_probs, "target": np.log(rng.dirichlet(np.ones(6), 4))},
                          ("input", "target")),
        "poisson": (lambda t, r: F.poisson_nll_loss(t["input"], t["target"], reduction=r),
                    {"input": log_rate, "target": counts}, ("input",)),
        "poisson_full": (lambda t, r: F.poisson_nll_loss(t["input"], t["target"], full=True,
                                                         reduction=r),
                         {"input": log_rate, "target": counts}, ("input",)),
        "poisson_rate": (lambda t, r: F.poisson_nll_loss(t["input"], t["target"],
                                                         log_input=False, reduction=r),
                         {"input": rate, "target": counts}, ("input",)),
        "poisson_rate_full_eps": (lambda t, r: F.poisson_nll_loss(
            t["input"], t["target"], log_input=False, full=True, eps=1e-3, reduction=r),
            {"input": rate, "target": counts}, ("input",)),
        "gaussian": (lambda t, r: F.gaussian_nll_loss(t["input"], t["target"], t["var"],
                                                      reduction=r),
                     {"input": mean, "target": sample, "var": variance}, ("input", "var")),
        "gaussian_full_eps": (lambda t, r: F.gaussian_nll_loss(
            t["input"], t["target"], t["var"], full=True, eps=1e-2, reduction=r),
            {"input": mean, "target": sample, "var": variance}, ("input", "var", "target")),
        "gaussian_per_sample": (lambda t, r: F.gaussian_nll_loss(t["input"], t["target"],
                                                                 t["var"], reduction=r),
                                {"input": mean, "target": sample,
                                 "var": rng.uniform(0.1, 2, size=4)}, ("input", "var")),
        "gaussian_last_one": (lambda t, r: F.gaussian_nll_loss(t["input"], t["target"],
                                                               t["var"], reduction=r),
                              {"input": mean, "target": sample,
                               "var": rng.uniform(0.1, 2, size=(4, 1))}, ("input", "var")),
        "gaussian_middle_one": (lambda t, r: F.gaussian_nll_loss(t["input"], t["target"],
                                                                 t["var"], reduction=r),
                                {"input": mean.reshape(2, 2, 6), "target": sample.reshape(2, 2, 6),
                                 "var": rng.uniform(0.1, 2, size=(2, 1, 6))}, ("input", "var")),
        "gaussian_float_var": (lambda t, r: F.gaussian_nll_loss(t["input"], t["target"], 0.7,
                                                                reduction=r),
                               {"input": mean, "target": sample}, ("input",)),
    }
    for name, (fn, arrays, grads) in cases.items():
        reductions = ("mean", "sum", "none") + (("batchmean",) if name.startswith("kl") else ())
        for dt, dtype in DTYPES.items():
            for reduction in reductions:
                tensors = {k: torch.tensor(v, dtype=dtype, requires_grad=k in grads)
                           for k, v in arrays.items()}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # kl_div's "mean" warning
                    value = fn(tensors, reduction)
                _loss(out, f"loss/{name}/{dt}/{reduction}", value, tensors, rng, dtype)


def main() -> None:
    rng = np.random.default_rng(2024)
    out: dict[str, np.ndarray] = {}
    activations(rng, out)
    second_order(rng, out)
    prelu(rng, out)
    losses(rng, out)
    np.savez(OUT, **out)
    print(f"wrote {OUT} ({len(out)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
