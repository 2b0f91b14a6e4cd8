"""The activations and probabilistic losses beyond their golden values: bad arguments, PyTorch's
warnings and shape rules, no stray NumPy warnings, PReLU as a module, and st.compile steps
that are bitwise the eager ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.autodiff.capture import CaptureWarning
from steepest.nn import functional as F

X = np.array([[-2.0, 0.5, 3.0], [1.0, -0.1, 0.0]])
P = np.array([[0.2, 0.5, 0.9], [0.1, 0.7, 0.3]])


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.softplus(X, beta=0), ValueError, r"softplus: beta must be nonzero"),
    (lambda: F.softplus(X, beta="2"), TypeError, r"softplus: beta must be a real number"),
    (lambda: F.softplus(X, threshold=float("nan")), ValueError, r"softplus: threshold must be"),
    (lambda: nn.Softplus(beta=0), ValueError, r"Softplus: beta must be nonzero"),
    (lambda: F.elu(X, alpha="a"), TypeError, r"elu: alpha must be a real number"),
    (lambda: nn.ELU(alpha=None), TypeError, r"ELU: alpha must be a real number"),
    (lambda: F.celu(X, alpha=0.0), ValueError, r"celu: alpha must be nonzero"),
    (lambda: nn.CELU(0), ValueError, r"CELU: alpha must be nonzero"),
    (lambda: F.hardtanh(X, 2.0, 1.0), ValueError,
     r"hardtanh: min_val cannot be greater than max_val"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError,
     r"Hardtanh: max_val \(1.0\) must be greater than min_val \(1.0\)"),
    (lambda: nn.Hardtanh(max_val=float("inf")), ValueError, r"Hardtanh: max_val must be"),
    (lambda: F.prelu(X, np.ones(2)), ValueError,
     r"prelu: weight has 2 parameters but the input of shape \(2, 3\) has 3 channel"),
    (lambda: F.prelu(X, np.ones((3, 1))), ValueError,
     r"prelu: weight must be a scalar or a 1-D array, got shape \(3, 1\)"),
    (lambda: F.prelu(np.ones(3), np.ones(3)), ValueError, r"prelu: weight has 3 parameters"),
    (lambda: nn.PReLU(3)(np.ones((2, 4))), ValueError, r"PReLU: weight has 3 parameters"),
    (lambda: nn.PReLU(-1), ValueError, r"PReLU: num_parameters must be in \[0, inf\), got -1"),
    (lambda: nn.PReLU(1.5), TypeError, r"PReLU: num_parameters must be an integer"),
    (lambda: nn.PReLU(init="x"), TypeError, r"PReLU: init must be a real number"),
    (lambda: nn.PReLU(dtype=np.int32), TypeError, r"PReLU: dtype must be a floating-point"),
    (lambda: F.binary_cross_entropy(P * 2, P), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1, got 1.8"),
    (lambda: F.binary_cross_entropy(np.array([np.nan]), np.array([1.0])), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1, got nan"),
    (lambda: F.binary_cross_entropy(P, P - 1), ValueError,
     r"binary_cross_entropy: all elements of target should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(P, P[0]), ValueError,
     r"binary_cross_entropy: input shape \(2, 3\) and target shape \(3,\) differ"),
    (lambda: F.binary_cross_entropy(P, P, reduction="avg"), ValueError,
     r"binary_cross_entropy: reduction must be one of 'mean', 'sum', 'none'; got 'avg'"),
    (lambda: F.binary_cross_entropy(P, P, np.ones(2)), ValueError,
     r"binary_cross_entropy: weight of shape \(2,\) does not broadcast to the input's shape"),
    (lambda: F.binary_cross_entropy(P, P, np.array([1.0, np.inf, 1.0])), ValueError,
     r"binary_cross_entropy: weight must be finite"),
    (lambda: nn.BCELoss(weight=["a"]), ValueError, r"BCELoss: weight must be a number"),
    (lambda: nn.BCELoss(reduction="batchmean"), ValueError, r"BCELoss: reduction must be one of"),
    (lambda: F.kl_div(X, P, reduction="avg"), ValueError,
     r"kl_div: reduction must be one of 'mean', 'batchmean', 'sum', 'none'; got 'avg'"),
    (lambda: F.kl_div(X, P, log_target=1), TypeError, r"kl_div: log_target must be True or"),
    (lambda: F.kl_div(X, P[0], reduction="sum"), ValueError,
     r"kl_div: input shape \(2, 3\) and target shape \(3,\) differ"),
    (lambda: nn.KLDivLoss(reduction="x"), ValueError, r"KLDivLoss: reduction must be one of"),
    (lambda: F.poisson_nll_loss(X, P, eps=-1.0), ValueError,
     r"poisson_nll_loss: eps must be in \[0, inf\)"),
    (lambda: F.poisson_nll_loss(X, P, full="yes"), TypeError, r"poisson_nll_loss: full must be"),
    (lambda: F.poisson_nll_loss(X, P, reduction="x"), ValueError,
     r"poisson_nll_loss: reduction must be one of"),
    (lambda: nn.PoissonNLLLoss(log_input=None), TypeError, r"PoissonNLLLoss: log_input must be"),
    (lambda: F.gaussian_nll_loss(X, P, -P), ValueError,
     r"gaussian_nll_loss: var has negative entry/entries"),
    (lambda: F.gaussian_nll_loss(X, P, -1.0), ValueError,
     r"gaussian_nll_loss: var has negative entry/entries, got -1.0"),
    (lambda: F.gaussian_nll_loss(X, P, np.ones(3)), ValueError,
     r"gaussian_nll_loss: var is of incorrect size: shape \(3,\) for an input of shape \(2, 3\)"),
    (lambda: F.gaussian_nll_loss(X, P, np.ones((2, 2))), ValueError,
     r"gaussian_nll_loss: var is of incorrect size"),
    (lambda: F.gaussian_nll_loss(X, P, P, eps=-1e-3), ValueError,
     r"gaussian_nll_loss: eps must be in \[0, inf\)"),
    (lambda: F.gaussian_nll_loss(X, P, P, reduction="x"), ValueError,
     r"gaussian_nll_loss: reduction must be one of"),
    (lambda: F.gaussian_nll_loss(X, P[0], P), ValueError, r"gaussian_nll_loss: input shape"),
    (lambda: nn.GaussianNLLLoss(True), TypeError, r"positional"),
    (lambda: nn.GaussianNLLLoss()(X, P, -P), ValueError,
     r"GaussianNLLLoss: var has negative entry/entries"),
])
def test_bad_arguments_name_the_function_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- behaviour
def test_kl_div_mean_warns_as_pytorch_and_batchmean_divides_by_the_batch():
    log_probs = np.log(P / P.sum(axis=1, keepdims=True))
    target = np.full((2, 3), 1 / 3)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        mean = F.kl_div(log_probs, target)
    with pytest.warns(UserWarning, match="reduction: 'mean'"):
        nn.KLDivLoss()(log_probs, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = F.kl_div(log_probs, target, reduction="sum")
        batchmean = nn.KLDivLoss("batchmean")(log_probs, target)
    assert mean.item() == pytest.approx(total.item() / 6, rel=1e-15)
    assert batchmean.item() == pytest.approx(total.item() / 2, rel=1e-15)
    scalar = F.kl_div(np.log(0.5), 0.25, reduction="batchmean")  # a 0-d input: the sum
    assert scalar.item() == pytest.approx(0.25 * (np.log(0.25) - np.log(0.5)))


def test_gaussian_nll_clamps_var_without_differentiating_the_clamp():
    var = st.tensor(np.array([1e-9, 2.0]), requires_grad=True)
    loss = F.gaussian_nll_loss(np.zeros(2), np.ones(2), var, reduction="sum")
    loss.backward()
    clamped = np.array([1e-6, 2.0])
    assert loss.item() == pytest.approx(0.5 * np.sum(np.log(clamped) + 1 / clamped), rel=1e-15)
    # d/dvar as if var were the clamped value (straight through the clamp), as in PyTorch
    np.testing.assert_allclose(var.grad, 0.5 * (1 / clamped - 1 / clamped**2), rtol=1e-15)


@pytest.mark.parametrize("fn", [F.softplus, F.elu, F.selu, F.celu, F.silu, F.mish, F.softsign,
                                F.logsigmoid, F.hardswish, F.hardsigmoid, F.relu6, F.hardtanh])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_finite_values_and_gradients_without_warnings(fn, dtype):
    x = st.tensor(np.array([-1e30, -1e4, -88.8, -40.0, 0.0, 40.0, 88.8, 1e4, 1e30], dtype),
                  requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.sum().backward()
        (g,) = st.autodiff.grad(fn(x).sum(), x, create_graph=True)
        # piecewise-linear ones have a constant gradient: nothing to differentiate again
        (h,) = st.autodiff.grad(g.sum(), x) if g.requires_grad else (g,)
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(y.data[1:-1]).all() and np.isfinite(x.grad).all()
    assert np.isfinite(g.data).all() and np.isfinite(h.data).all()


def test_logsigmoid_keeps_large_negative_inputs_in_float32():
    x = np.array([-1e4, -200.0, -100.0, -30.0], np.float32)
    np.testing.assert_array_equal(F.logsigmoid(x).data, x)  # log sigma(x) = x - e^x there
    assert F.logsigmoid(np.float32(-17.0)).item() == pytest.approx(-17.0 - np.exp(-17.0))


def test_elu_and_celu_keep_relative_precision_near_zero():
    x = np.array([-1e-10, -1e-300])
    np.testing.assert_array_equal(F.elu(x).data, np.expm1(x))
    np.testing.assert_allclose(F.celu(x, 2.0).data, x, rtol=1e-10)


def test_prelu_module_is_a_torch_shaped_parameter():
    layer = nn.PReLU(3, init=0.1)
    assert layer.weight.shape == (3,) and layer.weight.dtype == np.float32
    assert np.all(layer.weight.data == np.float32(0.1))
    assert list(layer.state_dict()) == ["weight"]
    assert [p is layer.weight for p in layer.parameters()] == [True]
    assert repr(layer) == "PReLU(num_parameters=3)"
    layer.weight.data[:] = 2.0
    layer.reset_parameters()
    assert np.all(layer.weight.data == np.float32(0.1))
    assert nn.PReLU().weight.shape == (1,) and nn.PReLU().weight.item() == np.float32(0.25)


def test_module_reprs_name_their_arguments():
    assert repr(nn.Softplus(2, 10)) == "Softplus(beta=2.0, threshold=10.0)"
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.Hardtanh(-2, 3)) == "Hardtanh(min_val=-2.0, max_val=3.0)"
    assert repr(nn.KLDivLoss("batchmean")) == "KLDivLoss(reduction='batchmean', log_target=False)"
    assert repr(nn.ReLU6()) == "ReLU6()"


def test_every_new_name_is_exported():
    for name in ["Softplus", "ELU", "SELU", "CELU", "SiLU", "Mish", "Softsign", "Hardtanh",
                 "ReLU6", "LogSigmoid", "Hardsigmoid", "Hardswish", "PReLU", "BCELoss",
                 "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss"]:
        assert name in nn.__all__ and hasattr(nn, name)
    for name in ["softplus", "elu", "selu", "celu", "silu", "mish", "softsign", "hardtanh",
                 "relu6", "logsigmoid", "hardsigmoid", "hardswish", "prelu",
                 "binary_cross_entropy", "kl_div", "poisson_nll_loss", "gaussian_nll_loss"]:
        assert name in F.__all__ and callable(getattr(F, name))


# --------------------------------------------------------------------------- st.compile
def _pair(build, loss_of, batches):
    """Train an eager and a compiled copy of ``build()``; every step must be bitwise equal."""
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        model = build()
        copies.append((model, optim.Adam(model.parameters(), lr=1e-2)))

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = loss_of(model, st.Tensor(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    (m1, o1), (m2, o2) = copies
    eager, compiled = make(m1, o1), st.compile(make(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's "mean"
        warnings.simplefilter("error", CaptureWarning)  # (a UserWarning: this filter first)
        for x, y in batches:
            a, b = eager(x, y), compiled(x, y)
            np.testing.assert_array_equal(a.data, b.data)
            for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
                np.testing.assert_array_equal(p.data, q.data)
                np.testing.assert_array_equal(p.grad, q.grad)
    assert any(e.verified for entries in compiled._table.values() for e in entries), "no replay"


def _batches(seed=3, n=8, steps=6, target=lambda rng, shape: rng.standard_normal(shape)):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n, 3)) * 3, target(rng, (n, 2))) for _ in range(steps)]


def _mlp(activation):
    return lambda: nn.Sequential(nn.Linear(3, 6, dtype=np.float64), activation(),
                                 nn.Linear(6, 2, dtype=np.float64))


@pytest.mark.parametrize("activation", [
    nn.Softplus, lambda: nn.Softplus(2.0, 1.0), nn.ELU, nn.SELU, lambda: nn.CELU(0.5), nn.SiLU,
    nn.Mish, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.LogSigmoid, nn.Hardsigmoid, nn.Hardswish,
    nn.PReLU, lambda: nn.PReLU(6, dtype=np.float64)])
def test_compiled_step_with_each_activation_is_bitwise_eager(activation):
    _pair(_mlp(activation), lambda m, x, y: nn.MSELoss()(m(x), y), _batches())


def _probabilities(rng, shape):
    return rng.uniform(0, 1, shape)


@pytest.mark.parametrize("loss_of, target", [
    (lambda m, x, y: nn.BCELoss()(F.sigmoid(m(x)), y), _probabilities),
    (lambda m, x, y: nn.BCELoss(np.array([0.5, 2.0]), "sum")(F.sigmoid(m(x)), y), _probabilities),
    (lambda m, x, y: nn.KLDivLoss("batchmean")(F.log_softmax(m(x), dim=1), y),
     lambda rng, shape: rng.dirichlet(np.ones(shape[1]), shape[0])),
    (lambda m, x, y: nn.KLDivLoss(log_target=True)(F.log_softmax(m(x), dim=1), y),
     lambda rng, shape: np.log(rng.dirichlet(np.ones(shape[1]), shape[0]))),
    (lambda m, x, y: nn.PoissonNLLLoss(full=True)(m(x), y),
     lambda rng, shape: rng.poisson(2.0, shape).astype(np.float64)),
    (lambda m, x, y: nn.PoissonNLLLoss(log_input=False)(F.softplus(m(x)), y),
     lambda rng, shape: rng.poisson(2.0, shape).astype(np.float64)),
    (lambda m, x, y: nn.GaussianNLLLoss()(m(x)[:, :1], st.Tensor(y)[:, :1],
                                          F.softplus(m(x)[:, 1:])),
     lambda rng, shape: rng.standard_normal(shape)),
    (lambda m, x, y: F.gaussian_nll_loss(m(x), y, abs(st.Tensor(y)[:, 0]) * 1e-3, full=True),
     lambda rng, shape: rng.standard_normal(shape)),
])
def test_compiled_step_with_each_loss_is_bitwise_eager(loss_of, target):
    _pair(_mlp(nn.Tanh), loss_of, _batches(target=target))


def test_a_replayed_step_still_refuses_bad_values():
    st.manual_seed(0)
    model = nn.Linear(3, 2, dtype=np.float64)

    def step(x, y, var):
        model.zero_grad()
        loss = nn.BCELoss()(F.sigmoid(model(st.Tensor(x))), y) + \
            F.gaussian_nll_loss(model(st.Tensor(x)), y, var)
        loss.backward()
        return loss

    compiled = st.compile(step)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 2))
    for _ in range(3):
        compiled(x, y, np.ones((4, 2)))
    with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
        compiled(x, y + 1, np.ones((4, 2)))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        compiled(x, y, -np.ones((4, 2)))
