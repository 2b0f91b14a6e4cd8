"""st.compile: a recorded and replayed training step is bitwise the eager step.

Every test runs two identical copies of a model (same seeds): one stepped eagerly, one through
``st.compile``, and compares losses, parameters, gradients and optimizer state bitwise after
every step. ``CaptureWarning`` is an error here unless a test expects a fallback, and
``_replays`` checks that the compiled copy really replayed (did not quietly run eagerly).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.autodiff.capture import CaptureWarning, CompiledStep

STEPS = 20


def _mse_step(model, opt, zero_grad=None):
    """A training step on the MSE loss; ``zero_grad`` replaces the optimizer's."""
    clear = zero_grad or opt.zero_grad

    def step(x, y):
        clear()
        loss = nn.MSELoss()(model(st.Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _replays(step: CompiledStep) -> bool:
    return any(e.verified for entries in step._table.values() for e in entries)


def _state_arrays(opt: optim.Optimizer) -> list:
    out = []

    def walk(value):
        if isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(value[k])
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        else:
            out.append(value)
    walk(opt.state_dict())
    return out


def _assert_same(a, b, what=""):
    if isinstance(a, st.Tensor):
        a, b = a.data, b.data
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert a == b or (a != a and b != b), (what, a, b)


def _compare(m1, m2, o1, o2):
    for (name, p), q in zip(m1.named_parameters(), m2.parameters(), strict=True):
        _assert_same(p.data, q.data, name)
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            _assert_same(p.grad, q.grad, name + ".grad")
    for (name, b), c in zip(m1.named_buffers(), m2.buffers(), strict=True):
        _assert_same(b, c, name)
    if o1 is not None:
        for x, y in zip(_state_arrays(o1), _state_arrays(o2), strict=True):
            _assert_same(x, y, "optimizer state")


def _batches(n_in, n_out, dtype, classes=False, sizes=None, seed=5):
    rng = np.random.default_rng(seed)
    sizes = sizes or [16] * STEPS
    for n in sizes:
        x = rng.standard_normal((n, n_in)).astype(dtype)
        if classes:
            y = rng.integers(0, n_out, n)
        else:
            y = rng.standard_normal((n, n_out)).astype(dtype)
        yield x, y


def _train_pair(build, loss_fn, batches, step_body=None, expect_warning=False):
    """Step two copies of ``build()`` (eager, compiled) over ``batches``; compare each step."""
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        copies.append(build())
    (m1, o1, s1), (m2, o2, s2) = copies

    def make(model, opt, sched):
        def step(x, y):
            if step_body is not None:
                return step_body(model, opt, sched, x, y)
            opt.zero_grad()
            loss = loss_fn(model(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            return loss
        return step

    eager, compiled = make(m1, o1, s1), st.compile(make(m2, o2, s2))
    with contextlib.nullcontext() if expect_warning else warnings.catch_warnings():
        if not expect_warning:
            warnings.simplefilter("error", CaptureWarning)
        for i, (x, y) in enumerate(batches):
            st.manual_seed(100 + i)  # the same dropout masks for both copies
            a = eager(x, y)
            st.manual_seed(100 + i)
            b = compiled(x, y)
            _assert_same(a, b, "loss")
            _compare(m1, m2, o1, o2)
    return compiled


def _mlp(dtype=np.float64, activation=nn.Tanh):
    return nn.Sequential(nn.Linear(3, 8, dtype=dtype), activation(), nn.Linear(8, 2, dtype=dtype))


def _mlp_sgd():
    """What _train_pair builds for the tests that vary only the step: the MLP, SGD, no scheduler."""
    model = _mlp()
    return model, optim.SGD(model.parameters(), lr=0.1), None


OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 1e-2}),
    ("adamw", {"lr": 1e-2}),
    ("rmsprop", {"lr": 1e-2}),
    ("rmsprop", {"lr": 1e-2, "momentum": 0.5, "centered": True}),
    ("adagrad", {"lr": 1e-2}),
    ("adadelta", {}),
    ("adamax", {"lr": 1e-2}),
    ("nadam", {"lr": 1e-2}),
    ("radam", {"lr": 1e-2}),
    ("rprop", {"lr": 1e-2}),
    ("asgd", {"lr": 1e-2}),
    ("adafactor", {"lr": 1e-2}),
    ("lion", {"lr": 1e-3}),
    ("schedule_free_adamw", {"lr": 1e-2}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,hyper", OPTIMIZER_CASES,
                         ids=[f"{n}-{'-'.join(h)}" for n, h in OPTIMIZER_CASES])
def test_every_optimizer_bitwise(name, hyper, dtype):
    def build():
        model = _mlp(dtype)
        return model, optim.create(name, model.parameters(), **hyper), None

    step = _train_pair(build, nn.MSELoss(), _batches(3, 2, dtype))
    assert _replays(step)


def test_every_plain_optimizer_is_covered():
    from steepest.optim.registry import OPTIMIZERS

    covered = {name for name, _ in OPTIMIZER_CASES}
    assert set(OPTIMIZERS) - covered == {"lbfgs"}  # the closure optimizer: tested as a fallback


LAYER_CASES = {
    "relu": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.ReLU(), nn.Linear(8, 2, dtype=d)),
    "leaky_gelu": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.LeakyReLU(0.1),
                                          nn.Linear(8, 8, dtype=d), nn.GELU(),
                                          nn.Linear(8, 2, dtype=d)),
    "sigmoid_tanh": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.Sigmoid(),
                                            nn.Linear(8, 8, dtype=d), nn.Tanh(),
                                            nn.Linear(8, 2, dtype=d)),
    "dropout": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.ReLU(), nn.Dropout(0.3),
                                       nn.Linear(8, 2, dtype=d)),
    "layernorm": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.LayerNorm(8, dtype=d),
                                         nn.Tanh(), nn.Linear(8, 2, dtype=d)),
    "batchnorm": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.BatchNorm1d(8, dtype=d),
                                         nn.ReLU(), nn.Linear(8, 2, dtype=d)),
    "batchnorm_cumulative": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d),
                                                    nn.BatchNorm1d(8, momentum=None, dtype=d),
                                                    nn.Linear(8, 2, dtype=d)),
    "mlp_dropout": lambda d: nn.mlp(3, [8, 8], 2, activation="gelu", dropout=0.2, dtype=d),
    "logsoftmax": lambda d: nn.Sequential(nn.Linear(3, 8, dtype=d), nn.LogSoftmax(dim=-1),
                                          nn.Linear(8, 2, dtype=d)),
    "flatten_identity_softmax": lambda d: nn.Sequential(nn.Identity(), nn.Flatten(),
                                                        nn.Linear(3, 8, dtype=d),
                                                        nn.Softmax(dim=-1),
                                                        nn.Linear(8, 2, dtype=d)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", sorted(LAYER_CASES))
def test_every_layer_bitwise(layer, dtype):
    def build():
        model = LAYER_CASES[layer](dtype)
        return model, optim.Adam(model.parameters(), lr=1e-2), None

    step = _train_pair(build, nn.MSELoss(), _batches(3, 2, dtype))
    assert _replays(step)


def test_batchnorm_eval_bitwise_and_stats_live():
    """Train steps, then eval steps (a re-recording), then train again: the eval recording
    reads the running statistics as they are at each replay."""
    def build():
        model = LAYER_CASES["batchnorm"](np.float64)
        return model, optim.SGD(model.parameters(), lr=0.05), None

    copies = []
    for _ in range(2):
        st.manual_seed(0)
        copies.append(build())
    (m1, o1, _), (m2, o2, _) = copies
    loss_fn = nn.MSELoss()

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(st.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make(m1, o1), st.compile(make(m2, o2))
    data = list(_batches(3, 2, np.float64, sizes=[16] * 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for phase, chunk in enumerate((data[:8], data[8:16], data[16:])):
            for m in (m1, m2):
                m.train(phase != 1)
            for x, y in chunk:
                _assert_same(eager(x, y), compiled(x, y))
                _compare(m1, m2, o1, o2)
    assert len(next(iter(compiled._table.values()))) == 2  # one recording per mode


LOSS_CASES = {
    "mse": (lambda: nn.MSELoss(), False),
    "mse_sum": (lambda: nn.MSELoss(reduction="sum"), False),
    "l1": (lambda: nn.L1Loss(), False),
    "smooth_l1": (lambda: nn.SmoothL1Loss(beta=0.5), False),
    "huber": (lambda: nn.HuberLoss(delta=0.5), False),
    "bce": (lambda: nn.BCEWithLogitsLoss(), "binary"),
    "bce_pos_weight": (lambda: nn.BCEWithLogitsLoss(pos_weight=np.array([2.0, 0.5])), "binary"),
    "cross_entropy": (lambda: nn.CrossEntropyLoss(), True),
    "cross_entropy_smoothing": (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), True),
    "cross_entropy_weight": (lambda: nn.CrossEntropyLoss(weight=np.array([1.0, 3.0])), True),
    "cross_entropy_ignore": (lambda: nn.CrossEntropyLoss(ignore_index=1), True),
    "nll": (lambda: _LogSoftmaxNLL(), True),
}


class _LogSoftmaxNLL:
    def __init__(self):
        self.nll = nn.NLLLoss(weight=np.array([2.0, 1.0]))

    def __call__(self, out, y):
        return self.nll(st.log_softmax(out, axis=-1), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
def test_every_loss_bitwise(loss, dtype):
    make_loss, kind = LOSS_CASES[loss]
    loss_fn = make_loss()

    def build():
        model = _mlp(dtype)
        return model, optim.Adam(model.parameters(), lr=1e-2), None

    batches = list(_batches(3, 2, dtype, classes=kind is True))
    if kind == "binary":
        batches = [(x, (y > 0).astype(dtype)) for x, y in batches]
    step = _train_pair(build, loss_fn, batches)
    assert _replays(step)


def test_cross_entropy_ignore_index_on_some_batches_only():
    """Whether a batch holds an ignored target picks the loss's code path: the replay checks
    it on the inputs before running, and records the other path when it differs."""
    rng = np.random.default_rng(3)
    batches = []
    for i in range(STEPS):
        x = rng.standard_normal((16, 3))
        y = rng.integers(0, 2, 16)
        if i % 3 == 0:
            y[:3] = -100
        batches.append((x, y))

    step = _train_pair(_mlp_sgd, nn.CrossEntropyLoss(), batches)
    assert _replays(step)


def test_scheduler_inside_step_and_schedule_as_lr():
    def build_sched():
        model = _mlp()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt, optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    step = _train_pair(build_sched, nn.MSELoss(), _batches(3, 2, np.float64))
    assert _replays(step)

    def build_schedule():
        model = _mlp()
        return model, optim.Adam(model.parameters(),
                                 lr=st.schedules.Exponential(1e-2, 0.9)), None

    step = _train_pair(build_schedule, nn.MSELoss(), _batches(3, 2, np.float64))
    assert _replays(step)


def test_clipping_and_item_in_the_step():
    def body(model, opt, sched, x, y):
        opt.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x)), y)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.5)
        norm = nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        return loss.item(), norm

    step = _train_pair(_mlp_sgd, None, _batches(3, 2, np.float64), step_body=body)
    assert _replays(step)


def test_a_new_batch_shape_re_records():
    def build():
        model = _mlp()
        return model, optim.Adam(model.parameters(), lr=1e-2), None

    sizes = [16, 16, 5] * 7  # a partial last batch every "epoch"
    step = _train_pair(build, nn.MSELoss(), _batches(3, 2, np.float64, sizes=sizes))
    assert len(step._table) == 2 and _replays(step)


def test_a_changed_requires_grad_re_records():
    st.manual_seed(0)
    m1 = _mlp()
    st.manual_seed(0)
    m2 = _mlp()
    o1, o2 = optim.SGD(m1.parameters(), lr=0.1), optim.SGD(m2.parameters(), lr=0.1)

    eager, compiled = _mse_step(m1, o1), st.compile(_mse_step(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for i, (x, y) in enumerate(_batches(3, 2, np.float64)):
            if i == 8:  # freeze the first layer in both copies
                for m in (m1, m2):
                    m[0].weight.requires_grad_(False)
                    m[0].weight.grad = None
            _assert_same(eager(x, y), compiled(x, y))
            _compare(m1, m2, o1, o2)
    assert len(next(iter(compiled._table.values()))) == 2
    assert m2[0].weight.grad is None


def test_input_tensor_requiring_grad_is_a_leaf():
    """A Tensor argument that requires grad gets its gradient added to what it holds."""
    w1 = st.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    w2 = st.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)

    def step(w, x):
        loss = (st.tanh(st.Tensor(x) @ w) ** 2).sum()
        loss.backward()
        return loss, w.grad

    compiled = st.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for x, _ in _batches(3, 2, np.float64, sizes=[4] * 6):
            a, ga = step(w1, x)
            b, gb = compiled(w2, x)
            _assert_same(a, b)
            _assert_same(ga, gb)
    assert _replays(compiled)


def test_an_unrecorded_attribute_write_is_caught_by_the_verification():
    """``w.grad = None`` is plain Python, not recorded: the verification replay sees the
    gradient differ and the step stays eager (never a wrong result)."""
    w1 = st.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    w2 = st.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)

    def step(w, x):
        w.grad = None
        loss = (st.tanh(st.Tensor(x) @ w) ** 2).sum()
        loss.backward()
        return loss, w.grad

    compiled = st.compile(step)
    with pytest.warns(CaptureWarning, match="verification replay differs"):
        for x, _ in _batches(3, 2, np.float64, sizes=[4] * 6):
            a, ga = step(w1, x)
            b, gb = compiled(w2, x)
            _assert_same(a, b)
            _assert_same(ga, gb)
    assert not _replays(compiled)


# --------------------------------------------------------------------------- fallbacks
def test_data_dependent_control_flow_falls_back_with_one_warning():
    def body(model, opt, sched, x, y):
        opt.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x)), y)
        if loss > 1:
            loss = loss * 0.5
        loss.backward()
        opt.step()
        return loss

    with pytest.warns(CaptureWarning, match=r"bool\(\) of a tensor.*test_capture\.py") as record:
        step = _train_pair(_mlp_sgd, None, _batches(3, 2, np.float64, seed=9), step_body=body,
                           expect_warning=True)
    assert not _replays(step)
    assert len([w for w in record if issubclass(w.category, CaptureWarning)]) == 1


def test_numpy_outside_ops_is_caught_by_the_verification():
    def body(model, opt, sched, x, y):
        opt.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x / 2)), y)  # x / 2: NumPy, not an op
        loss.backward()
        opt.step()
        return loss

    with pytest.warns(CaptureWarning, match="outside ops"):
        step = _train_pair(_mlp_sgd, None, _batches(3, 2, np.float64), step_body=body,
                           expect_warning=True)
    assert not _replays(step)


def test_closure_and_autodiff_grad_fall_back():
    st.manual_seed(0)
    model = _mlp()
    opt = optim.LBFGS(model.parameters(), lr=0.5)
    x, y = next(_batches(3, 2, np.float64))

    def step(x, y):
        def closure():
            opt.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            loss.backward()
            return loss
        return opt.step(closure)

    compiled = st.compile(step)
    with pytest.warns(CaptureWarning, match="closure"):
        for _ in range(3):
            compiled(x, y)
    assert not _replays(compiled)

    w = st.tensor([1.0, 2.0], requires_grad=True)

    @st.compile
    def grads(x):
        return st.autodiff.grad((w * st.Tensor(x)).sum(), w)[0]

    with pytest.warns(CaptureWarning, match="autodiff.grad"):
        out = [grads(np.array([3.0, 4.0])) for _ in range(3)]
    np.testing.assert_array_equal(out[-1].data, [3.0, 4.0])


def test_a_float_read_then_used_in_an_op_is_caught():
    st.manual_seed(0)
    m1, m2 = _mlp(), None
    st.manual_seed(0)
    m2 = _mlp()

    def make(model):
        def step(x, y):
            model.zero_grad()
            loss = nn.MSELoss()(model(st.Tensor(x)), y)
            scale = 1.0 / loss.item()  # a Python number from a step value
            (loss * scale).backward()
            return loss
        return step

    eager, compiled = make(m1), st.compile(make(m2))
    with pytest.warns(CaptureWarning):
        for x, y in _batches(3, 2, np.float64, sizes=[8] * 5):
            _assert_same(eager(x, y), compiled(x, y))
            _compare(m1, m2, None, None)


def test_compiled_results_are_fresh_constants():
    st.manual_seed(0)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @st.compile
    def step(x, y):
        opt.zero_grad()
        out = model(st.Tensor(x))
        loss = nn.MSELoss()(out, y)
        loss.backward()
        opt.step()
        return out, loss

    outs = [step(x, y) for x, y in _batches(3, 2, np.float64, sizes=[8] * 4)]
    assert _replays(step)
    assert not outs[-1][1].requires_grad
    assert outs[-1][0].data is not outs[-2][0].data
    assert ".T\n" in step.source and "F_linear" not in step.source  # linear, written in line


def test_compile_refuses_a_non_callable():
    with pytest.raises(TypeError, match="callable"):
        st.compile(3)


def test_an_lr_written_inside_the_step_is_caught_at_the_write():
    """A dict write inside the step is plain Python, not recorded: the parameter group tells
    the recording (optim.base.ParamGroup), and the step stays eager."""
    def body(model, opt, sched, x, y):
        model.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x)), y)
        loss.backward()
        opt.step()
        for group in opt.param_groups:
            group["lr"] *= 0.9
        return loss

    def build():
        model = _mlp()
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.5), None

    with pytest.warns(CaptureWarning, match=r"the step's own code writes param_groups\[\.\.\.\]\['lr'\]"):
        step = _train_pair(build, None, _batches(3, 2, np.float64), step_body=body,
                           expect_warning=True)
    assert not _replays(step)  # the lr write is plain Python inside the step: caught


def test_an_lr_written_between_steps_is_read_live():
    copies = []
    for _ in range(2):
        st.manual_seed(0)
        model = _mlp()
        copies.append((model, optim.SGD(model.parameters(), lr=0.1, momentum=0.5)))
    (m1, o1), (m2, o2) = copies

    eager = _mse_step(m1, o1, m1.zero_grad)
    compiled = st.compile(_mse_step(m2, o2, m2.zero_grad))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for x, y in _batches(3, 2, np.float64):
            _assert_same(eager(x, y), compiled(x, y))
            for opt in (o1, o2):
                opt.param_groups[0]["lr"] *= 0.9
            _compare(m1, m2, o1, o2)
    assert _replays(compiled)


class _Sequence(nn.Module):
    """(N, C, L) inputs: BatchNorm1d over channels and length, Flatten, cross-entropy on
    (N, classes, L) logits (the class axis moved last inside the loss)."""

    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(2, dtype=np.float64)
        self.mix = nn.Linear(3, 3, dtype=np.float64)
        self.flat = nn.Flatten()
        self.head = nn.Linear(6, 2, dtype=np.float64)

    def forward(self, x):
        h = self.mix(self.norm(x))          # (N, 2, 3): Linear over the last axis
        return self.head(self.flat(h)), h   # (N, 2) and (N, 2 classes, 3 positions)


def test_three_dimensional_inputs_and_targets():
    rng = np.random.default_rng(4)
    batches = []
    for _ in range(STEPS):
        y = rng.integers(0, 2, (8, 3))
        batches.append((rng.standard_normal((8, 2, 3)), (y, y[:, 0].copy())))  # a tuple input

    def body(model, opt, sched, x, y):
        opt.zero_grad()
        flat, per_position = model(st.Tensor(x))
        loss = (nn.CrossEntropyLoss()(per_position, y[0])
                + nn.CrossEntropyLoss(label_smoothing=0.1)(flat, y[1]))
        loss.backward()
        opt.step()
        return loss

    def build():
        model = _Sequence()
        return model, optim.Adam(model.parameters(), lr=1e-2), None

    step = _train_pair(build, None, batches, step_body=body)
    assert _replays(step)


def test_a_compiled_method_and_a_derived_target():
    class Trainer:
        def __init__(self):
            st.manual_seed(0)
            self.model = _mlp()
            self.opt = optim.SGD(self.model.parameters(), lr=0.1)

        @st.compile
        def step(self, x, y):
            self.opt.zero_grad()
            loss = nn.CrossEntropyLoss()(self.model(st.Tensor(x)), y)
            loss.backward()
            self.opt.step()
            return loss

    a, b = Trainer(), Trainer()
    data = list(_batches(3, 2, np.float64, classes=True, sizes=[8] * 5))
    for x, y in data:
        _assert_same(a.step(x, y), b.step(x, y))
    assert _replays(Trainer.step)

    # NumPy on the target inside the step (y[:, 0]): the loss's branch on its values cannot be
    # checked before a replay, so the step stays eager
    @st.compile
    def derived(x, y):
        a.opt.zero_grad()
        loss = nn.CrossEntropyLoss()(a.model(st.Tensor(x)), np.stack([y, y], axis=1)[:, 0])
        loss.backward()
        return loss

    with pytest.warns(CaptureWarning, match="_class_present"):
        for x, y in data:
            derived(x, y)


def test_keyword_and_scalar_arguments():
    """Keyword arrays are inputs; a Python number is part of the signature (by value)."""
    st.manual_seed(0)
    model = _mlp()

    @st.compile
    def loss_of(x, *, y, scale):
        model.zero_grad()
        loss = nn.MSELoss()(model(st.Tensor(x)), y) * scale
        loss.backward()
        return loss, model[0].weight.grad

    data = list(_batches(3, 2, np.float64, sizes=[4] * 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        for scale in (1.0, 2.0):
            for x, y in data:
                loss, grad = loss_of(x, y=y, scale=scale)
                model.zero_grad()
                expected = nn.MSELoss()(model(st.Tensor(x)), y) * scale
                expected.backward()
                _assert_same(loss, expected)
                _assert_same(grad, model[0].weight.grad)
    assert len(loss_of._table) == 2 and _replays(loss_of)


def test_backward_with_a_gradient_argument_and_tensor_zero_grad_are_captured():
    """A seed passed in (as the estimators scale their loss) and Tensor.zero_grad replay
    bitwise as eager, without falling back."""
    import warnings

    import steepest as st

    def make():
        w = st.tensor(np.linspace(-1.0, 1.0, 6).reshape(3, 2), requires_grad=True)
        return w, st.optim.SGD([w], lr=0.01, momentum=0.5)

    def step(w, opt, x, seed):
        w.zero_grad()
        loss = ((x @ w) ** 2).sum()
        loss.backward(seed)
        opt.step()
        return loss

    (w_eager, opt_eager), (w_compiled, opt_compiled) = make(), make()
    compiled = st.compile(step)
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", st.CaptureWarning)
        for _ in range(6):
            x = rng.standard_normal((4, 3))
            seed = np.asarray(rng.uniform(0.5, 2.0))
            a = step(w_eager, opt_eager, x, seed)
            b = compiled(w_compiled, opt_compiled, x, seed)
            np.testing.assert_array_equal(a.data, b.data)
            np.testing.assert_array_equal(w_eager.data, w_compiled.data)
            np.testing.assert_array_equal(w_eager.grad, w_compiled.grad)
    assert _replays(compiled)


def test_a_step_that_reaches_another_model_through_the_same_name_records_anew():
    """Rebinding what the step's code names (a closure variable, or an attribute of a bound
    method's instance) to another existing model must not replay the first model's recording."""
    def build(seed):
        st.manual_seed(seed)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        return model, optim.SGD(model.parameters(), lr=0.1)

    loss_fn = nn.MSELoss()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    pairs = {seed: (build(seed), build(seed)) for seed in (1, 2)}  # each model with an eager twin

    def eager(model, opt):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    class Trainer:
        def step(self, x, y):
            self.opt.zero_grad()
            loss = loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss

    class Decorated:
        @st.compile
        def step(self, x, y):
            self.opt.zero_grad()
            loss = loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss

    trainer, decorated = Trainer(), Decorated()
    for form in ("closure", "bound method", "decorated method"):
        compiled = {"closure": st.compile(step), "bound method": st.compile(trainer.step),
                    "decorated method": decorated.step}[form]
        for seed in (1, 2, 1, 2):  # alternate between two models that already exist
            (model, opt), (twin, twin_opt) = pairs[seed]
            trainer.model, trainer.opt = decorated.model, decorated.opt = model, opt
            for _ in range(3):
                compiled(x, y)
                eager(twin, twin_opt)
            for a, b in zip(model.parameters(), twin.parameters(), strict=True):
                np.testing.assert_array_equal(a.data, b.data, err_msg=form)
    assert _replays(st.compile(step)) is False  # (a fresh step has recorded nothing)
    assert _replays(Decorated.step)


def test_other_threads_run_eagerly_and_unrecorded_while_a_step_records():
    """A recording's switch is process-wide: ops, backward passes and optimizer steps of other
    threads during it must neither enter the recording nor be changed by it."""
    import sys
    import threading

    def build(seed):
        st.manual_seed(seed)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
        return model, optim.Adam(model.parameters(), lr=0.01)

    rng = np.random.default_rng(0)
    # batch sizes 9..16: eight signatures, so that the main thread records (and verifies) often
    batches = [(rng.standard_normal((n, 3)), rng.standard_normal((n, 1)))
               for n in [9 + i % 8 for i in range(48)]]
    loss_fn = nn.MSELoss()

    def train(model, opt, step_fn):
        for x, y in batches:
            step_fn(model, opt, x, y)
        return [p.data.copy() for p in model.parameters()]

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    reference = train(*build(1), step)  # eager, alone
    other_reference = train(*build(2), step)
    # built before the threads start: initialisation draws from the one library generator
    mine, others = [build(1) for _ in range(5)], [build(2) for _ in range(5)]
    results = {}

    def other_thread():
        for model, opt in others:  # eager training, over and over, while the main thread records
            results.setdefault("other", []).append(train(model, opt, step))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        worker = threading.Thread(target=other_thread)
        worker.start()
        with warnings.catch_warnings():
            warnings.simplefilter("error", CaptureWarning)
            for model, opt in mine:  # a new compiled step each time: it records anew
                results.setdefault("compiled", []).append(train(model, opt, st.compile(step)))
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    for run in results["compiled"]:
        for a, b in zip(run, reference, strict=True):
            np.testing.assert_array_equal(a, b)
    for run in results["other"]:
        for a, b in zip(run, other_reference, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_recordings_of_a_step_stay_bounded_as_it_meets_new_models():
    """Each model a step reaches by name is a new signature holding that model's tensors; the
    step keeps at most MAX_SIGNATURES of them, so rebinding the name does not leak models."""
    import gc
    import weakref

    from steepest.autodiff import capture

    loss_fn = nn.MSELoss()
    x, y = np.ones((4, 2)), np.zeros((4, 1))

    class Trainer:
        def step(self, x, y):
            self.opt.zero_grad()
            loss = loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss

    trainer = Trainer()
    compiled = st.compile(trainer.step)
    first = None
    for _ in range(capture.MAX_SIGNATURES + 5):
        trainer.model = nn.Linear(2, 1)
        trainer.opt = optim.SGD(trainer.model.parameters(), lr=0.1)
        if first is None:
            first = weakref.ref(trainer.model)
        compiled(x, y)
    assert len(compiled._table) == capture.MAX_SIGNATURES
    gc.collect()
    assert first() is None  # the first model's recording was dropped, and the model with it
