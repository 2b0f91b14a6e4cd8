"""Stochastic gradient descent: plain, heavy-ball momentum, Nesterov, and with a line search."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from operator import is_
from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_choice, check_real
from ..autodiff.tensor import Tensor
from . import line_search as _line_search
from ._flat import FLAT_MEAN_SIZE
from .base import (
    LR,
    MIN_BLOCKED,
    Optimizer,
    ParamsT,
    blockwise,
    bump_versions,
    check_flags,
    check_lr,
    check_nonnegative,
)

__all__ = ["SGD"]

_FORMS = ("pytorch", "textbook")
_FAILURE_MODES = ("raise", "warn")


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (heavy ball or Nesterov).

    The same keyword arguments, defaults and update rule as ``torch.optim.SGD`` (PyTorch 2.x).
    With :math:`g_t = \pm\nabla f(x_{t-1}) + \lambda x_{t-1}` (minus when ``maximize``,
    :math:`\lambda` = ``weight_decay``) and learning rate :math:`\alpha_t`:

    .. math::

        v_1 = g_1, \qquad v_t = \mu v_{t-1} + (1 - \tau) g_t, \\
        x_t = x_{t-1} - \alpha_t v_t
        \quad\text{or, with Nesterov,}\quad x_t = x_{t-1} - \alpha_t (g_t + \mu v_t),

    where :math:`\mu` = ``momentum`` and :math:`\tau` = ``dampening``; ``momentum=0`` is plain
    gradient descent :math:`x_t = x_{t-1} - \alpha_t g_t`. Heavy ball: Polyak, "Some methods of
    speeding up the convergence of iteration methods" (1964); the Nesterov form is the one of
    Sutskever et al., "On the importance of initialization and momentum in deep learning"
    (2013), as in PyTorch.

    **The tutorial (textbook) form.** The tutorial writes momentum with the learning rate
    *inside* the buffer:

    .. math::

        d_t = \beta d_{t-1} + \alpha_t g_t, \qquad x_t = x_{t-1} - d_t

    (``momentum_form="textbook"``; :math:`\beta` = ``momentum``, dampening scales
    :math:`\alpha_t g_t` by :math:`1 - \tau` from the second update on, Nesterov takes
    :math:`x_t = x_{t-1} - (\beta d_t + \alpha_t g_t)`). With a constant learning rate
    :math:`d_t = \alpha v_t` and both forms give the same iterates. They differ when
    :math:`\alpha_t` changes: PyTorch's form multiplies the *whole* accumulated velocity by the
    current rate, :math:`x_t - x_{t-1} = -\alpha_t \sum_k \mu^{t-k} g_k`, while the textbook form
    keeps each gradient at the rate of its own update, :math:`-\sum_k \beta^{t-k} \alpha_k g_k`.

    Worked example: :math:`f(x) = x` (gradient 1 everywhere), :math:`x_0 = 0`,
    :math:`\mu = \beta = 0.9`, :math:`\alpha_t = 1/t`:

    ====  ===========================  ================  ===========================  ==========
    t     PyTorch :math:`v_t`          PyTorch step      textbook :math:`d_t`          difference
    ====  ===========================  ================  ===========================  ==========
    1     1                            1                 1                            0
    2     1.9                          0.95              0.9 + 0.5 = 1.4              0.45
    3     2.71                         0.90333...        1.26 + 0.33333... = 1.59333  0.69
    ====  ===========================  ================  ===========================  ==========

    after three updates :math:`x_3 = -2.85333...` (PyTorch) against :math:`-3.99333...`
    (textbook). With a step decay (say :math:`\alpha` drops from 0.1 to 0.01) the PyTorch form
    shrinks the accumulated velocity tenfold at once, the textbook form lets it die out over
    about :math:`1/(1-\beta)` updates. See ``docs/momentum.md``.

    **Line search.** With ``line_search=`` ("armijo", "wolfe" or an
    :class:`~steepest.optim.line_search.Armijo` / :class:`~steepest.optim.line_search.StrongWolfe`
    object) each ``step(closure)`` searches along :math:`-\alpha_t g_t` (per group) for a
    multiplier :math:`s` of the learning rate, starting from the search's ``alpha0`` (default 1),
    on the objective :math:`\pm f(x) + \sum_{\text{groups}} \tfrac{\lambda}{2}\lVert x\rVert^2`
    that the update descends. It needs a closure (which SGD calls after clearing the gradients)
    and ``momentum=0``; every group must agree on ``maximize``. ``group["last_lr"]`` records
    the step taken, :math:`s\,\alpha_t`, and afterwards ``p.grad`` holds the gradient at the new
    point. A search that fails leaves the parameters and gradients exactly as they were before
    the step, does not count as an update, is kept in ``last_line_search``, and raises
    :class:`~steepest.optim.line_search.LineSearchError` (or warns a
    :class:`~steepest.optim.line_search.LineSearchWarning` with
    ``on_line_search_failure="warn"``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (dicts with ``"params"`` and overrides).
    lr : float or callable, default 1e-3
        Learning rate :math:`\alpha_t`, ``>= 0``, or a schedule ``t -> lr``.
    momentum : float, default 0
        :math:`\mu`, in ``[0, 1)``.
    dampening : float, default 0
        :math:`\tau`, in ``[0, 1]``.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda`, ``>= 0``.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening = 0``.
    maximize : bool, default False
        Maximise the objective instead.
    momentum_form : {"pytorch", "textbook"}, default "pytorch"
        Where the learning rate sits (see above).
    line_search : {"armijo", "wolfe", "strong_wolfe"}, search object or None, default None
        Choose the step by a line search (see above).
    on_line_search_failure : {"raise", "warn"}, default "raise"
        What a failed line search does (the parameters stay unchanged in both cases).
    flat : {None, True, False, "views"}, default None
        Flat buffers (one array per buffer for a whole group, the update in one pass): None
        where it pays (small groups, with momentum, decay or maximize); see
        :class:`~steepest.optim.Optimizer`.
        The same iterates either way. A line search does not use them.

    Attributes
    ----------
    last_line_search : LineSearchResult or None
        The latest line search (with ``line_search`` only).

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> x = st.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = st.optim.SGD([x], lr=0.1, momentum=0.9)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (x * x).sum().backward()
    ...     _ = opt.step()
    >>> np.round(x.data, 4)
    array([ 0.062, -0.124])
    """

    _flat_support = True  # every operation of _update is elementwise

    def __init__(self, params: ParamsT, lr: LR = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, momentum_form: str = "pytorch",
                 line_search: str | Any | None = None,
                 on_line_search_failure: str = "raise", flat: bool | str | None = None) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "momentum_form": momentum_form}
        self.line_search = _line_search.get(line_search, "SGD")
        self.on_line_search_failure = check_choice("SGD", "on_line_search_failure",
                                                   on_line_search_failure, _FAILURE_MODES)
        self.last_line_search: _line_search.LineSearchResult | None = None
        super().__init__(params, defaults, flat=flat)

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        group["lr"] = check_lr(owner, group["lr"])
        group["momentum"] = check_real(owner, "momentum", group["momentum"], 0.0, 1.0,
                                       high_open=True)
        group["dampening"] = check_real(owner, "dampening", group["dampening"], 0.0, 1.0)
        check_nonnegative(owner, group, "weight_decay")
        check_flags(owner, group, "nesterov", "maximize")
        check_choice(owner, "momentum_form", group["momentum_form"], _FORMS)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{owner}: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r} and "
                             f"dampening={group['dampening']!r}")
        if self.line_search is not None and group["momentum"] != 0:
            raise ValueError(f"{owner}: line_search needs momentum=0 (a line search chooses the "
                             f"step along the gradient), got momentum={group['momentum']!r}")
        return group

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # The buffer is created from the first gradient (as torch does), hence None until then.
        return {"momentum_buffer": None} if group["momentum"] != 0 else {}

    def _flat_mean_size(self, group: dict[str, Any]) -> int:
        # Plain SGD is one NumPy call per parameter (the loop below): the copies would cost more.
        # With momentum it makes about five, against Adam's thirteen: it breaks even sooner.
        if group["momentum"] != 0 or group["weight_decay"] != 0 or group["maximize"]:
            return FLAT_MEAN_SIZE // 4
        return 0

    def _update_group(self, group: dict[str, Any], lr: float, params: list[Tensor]) -> None:
        if group["momentum"] != 0 or group["weight_decay"] != 0 or group["maximize"]:
            super()._update_group(group, lr, params)
            return
        # Plain gradient descent, the most common step of all: one loop, no buffers (each
        # parameter still gets its empty state entry, as through _state_of).
        state = self.state
        fused = kernels.fused
        for p in params:
            if p not in state:
                state[p] = {}
            data, grad = p.data, p.grad
            if fused:  # one compiled loop (it casts, and falls back to NumPy where it must)
                kernels.get_kernels().sgd_(data, grad, None, lr)
                continue
            if grad.dtype is not data.dtype and grad.dtype != data.dtype:
                grad = grad.astype(data.dtype)
            if data.size < MIN_BLOCKED:
                data -= lr * grad  # _descend, inlined: most parameters are small
            else:
                blockwise(_descend, (data, grad), lr)

    def _replay_form(self) -> tuple[str, list[str], dict[str, Any], list[Tensor], list] | None:
        """Plain gradient descent, written out for ``st.compile``: per parameter
        ``p.data -= lr * p.grad``, then the group's count, last rate and the parameters'
        versions, as ``_step`` does them. The condition is everything ``_step`` decides on: no
        line search, kernels or flat buffers; in every group the same parameters, each with its
        state entry, a plain float rate and no schedule, momentum, weight decay or maximize (the
        recorder adds: each gradient the one the step's backward just made, of the parameter's
        shape and dtype). Otherwise None: the call stays, as it does for a subclass (whose
        ``step`` or ``_update`` may do more than this).

        The fifth item offers, for each small group of one dtype, the same update on flat
        arrays: ``(params, start, stop, lines)``, where ``lines`` may replace ``lines[start:stop]``
        (the per-parameter updates) when the recorder lays the group out flat
        (``autodiff._layout``), with ``{P}`` and ``{G}`` standing for the flat parameter and
        gradient arrays: the same elementwise arithmetic, in two calls."""
        if type(self) is not SGD or self.line_search is not None or kernels.fused \
                or self._flat not in (None, False):
            return None
        # the optimizer's groups and state are read live: load_state_dict replaces them
        names: dict[str, Any] = {"opt": self, "is_": is_, "inf": math.inf, "kernels": kernels,
                                 "bump": bump_versions, "blockwise": blockwise,
                                 "descend": _descend}
        condition = ["{p}opt.line_search is None", "{p}kernels.fused is False",
                     "({p}opt._flat is None or {p}opt._flat is False)",
                     f"len({{p}}opt.param_groups) == {len(self.param_groups)}"]
        lines: list[str] = []
        grads: list[Tensor] = []
        flat: list[tuple[list[Tensor], int, int, list[str]]] = []
        for index, group in enumerate(self.param_groups):
            params = list(group["params"])
            if not params or any(p.grad is None for p in params) or group.get("lr_schedule") \
                    is not None or group["momentum"] != 0 or group["weight_decay"] != 0 \
                    or group["maximize"] or type(group["lr"]) is not float:
                return None
            g, ps, lr = f"{{p}}g{index}", f"{{p}}ps{index}", f"{{p}}lr{index}"
            names[f"ps{index}"] = params
            condition += [f"({g} := {{p}}opt.param_groups[{index}]) is not None",
                          f"type({g}['lr']) is float", f"0.0 <= {g}['lr'] < {{p}}inf",
                          f"{g}.get('lr_schedule') is None", f"{g}['momentum'] == 0",
                          f"{g}['weight_decay'] == 0", f"not {g}['maximize']",
                          f"len({g}['params']) == {len(params)}",
                          f"all(map({{p}}is_, {g}['params'], {ps}))",
                          f"all(map({{p}}opt.state.__contains__, {ps}))"]
            lines.append(f"{lr} = {g}['lr']")
            start = len(lines)
            for k, p in enumerate(params):
                names[f"t{index}_{k}"] = p
                t = f"{{p}}t{index}_{k}"
                # a local for the array, as _update_group has it (``t.data -= ...`` would also
                # set the attribute)
                lines += [f"{{p}}d = {t}.data", f"{{p}}d -= {lr} * {t}.grad"
                          if p.data.size < MIN_BLOCKED
                          else f"{{p}}blockwise({{p}}descend, ({{p}}d, {t}.grad), {lr})"]
            if len({p.data.dtype for p in params}) == 1 \
                    and sum(p.data.size for p in params) < MIN_BLOCKED:
                flat.append((params, start, len(lines), ["{p}d = {P}", f"{{p}}d -= {lr} * {{G}}"]))
            lines += [f"{g}['num_updates'] += 1", f"{g}['last_lr'] = {lr}", f"{{p}}bump({ps})"]
            grads += params
        return " and ".join(condition), lines, names, grads, flat

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], lr: float) -> None:
        momentum = group["momentum"]
        if kernels.fused and (momentum == 0 or group["momentum_form"] == "pytorch"):
            _fused_update(p, grad, state, group, lr)
            return
        g = self._grad_with_decay(p, grad, group)
        if momentum == 0:
            blockwise(_descend, (p.data, g), lr)
        elif group["momentum_form"] == "pytorch":
            # .get: a scheduler cycling momentum may turn it on after the state was created
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = g.copy()
                blockwise(_descend_along, (p.data, g, buffer), lr, momentum, group["nesterov"])
            else:
                blockwise(_heavy_ball, (p.data, g, buffer), lr, momentum,
                          1.0 - group["dampening"], group["nesterov"])
        else:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # an array even for a 0-d parameter (lr * g is a scalar there)
                buffer = state["momentum_buffer"] = np.asarray(lr * g)
            else:
                buffer *= momentum
                buffer += ((1.0 - group["dampening"]) * lr) * g
            p.data -= momentum * buffer + lr * g if group["nesterov"] else buffer

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one update; with a line search, search along the negative gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (required with ``line_search``).

        Returns
        -------
        The closure's return value (at the parameters before the update), or None.
        """
        if self.line_search is None:
            return super().step(closure)
        if closure is None:
            raise RuntimeError("SGD: line_search needs step(closure), where closure() computes "
                               "the loss, calls backward() and returns the loss")
        return self._line_search_step(closure)

    # ------------------------------------------------------------------ line search
    def _line_search_step(self, closure: Callable[[], Any]) -> Any:
        maximize = {group["maximize"] for group in self.param_groups}
        if len(maximize) > 1:
            raise ValueError("SGD: with a line search every parameter group must have the same "
                             "maximize (they share one objective)")
        objective = _Objective(self.param_groups, closure, -1.0 if maximize.pop() else 1.0)
        loss, f0, g0 = objective.start()
        if not objective.params:
            return loss
        plan = []
        for index, group in enumerate(self.param_groups):
            if any(p.grad is not None for p in group["params"]):
                plan.append((group, self._next_lr(index, group)))
        x0 = objective.read()
        direction = -objective.per_element([lr for _, lr in plan]) * g0
        result = self.line_search.search(objective, x0, direction, f0, g0)
        self.last_line_search = result
        if not result.success:
            objective.restore(x0)
            self._report_failure(result)
            return loss
        objective.settle(x0 + result.step * direction, x0)
        for group, lr in plan:
            self._commit(group, lr, lr * result.step)
        return loss

    def _report_failure(self, result: _line_search.LineSearchResult) -> None:
        message = (f"SGD: the line search ({self.line_search!r}) failed after {result.nfev} "
                   f"evaluations: {result.message}. The parameters were left unchanged")
        if self.on_line_search_failure == "raise":
            raise _line_search.LineSearchError(message, result)
        warnings.warn(message, _line_search.LineSearchWarning, stacklevel=3)


def _fused_update(p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any],
                  lr: float) -> None:
    """The PyTorch-form update as one fused kernel (it applies maximize and the decay)."""
    buffer = kernels.get_kernels().sgd_(
        p.data, grad, state.get("momentum_buffer"), lr, group["momentum"], group["dampening"],
        group["weight_decay"], group["nesterov"], group["maximize"])
    if group["momentum"] != 0:
        state["momentum_buffer"] = buffer


def _descend(x: np.ndarray, g: np.ndarray, lr: float) -> None:
    r""":math:`x \leftarrow x - \alpha g` in place."""
    x -= lr * g


def _descend_along(x: np.ndarray, g: np.ndarray, buffer: np.ndarray, lr: float, momentum: float,
                   nesterov: bool) -> None:
    """The step along the momentum buffer (or Nesterov's look-ahead), in place."""
    x -= lr * (g + momentum * buffer if nesterov else buffer)


def _heavy_ball(x: np.ndarray, g: np.ndarray, buffer: np.ndarray, lr: float, momentum: float,
                gradient_weight: float, nesterov: bool) -> None:
    """PyTorch's momentum update of ``buffer`` and ``x`` in place, elementwise."""
    buffer *= momentum
    buffer += gradient_weight * g
    _descend_along(x, g, buffer, lr, momentum, nesterov)


class _Objective:
    """The function a line-searching SGD descends, on the flat vector of the parameters.

    :math:`\\phi(x) = s f(x) + \\sum \\tfrac{\\lambda}{2} x^2` where ``s = -1`` when maximising
    and :math:`\\lambda` is each parameter's group weight decay; ``f`` is the closure's loss.
    """

    def __init__(self, groups: list[dict[str, Any]], closure: Callable[[], Any],
                 sign: float) -> None:
        self.groups = groups
        self.closure = closure
        self.sign = sign
        self.params: list[Tensor] = []
        self.last_x: np.ndarray | None = None

    def _call_closure(self) -> Any:
        for group in self.groups:
            for p in group["params"]:
                p.grad = None  # so that gradients never accumulate across trial points
        return Optimizer._evaluate(self.closure)

    def start(self) -> tuple[Any, float, np.ndarray]:
        """Evaluate at the current parameters; fixes which parameters take part."""
        loss = self._call_closure()
        pairs = [(p, group) for group in self.groups for p in group["params"]
                 if p.grad is not None]
        self.params = [p for p, _ in pairs]
        if not self.params:
            return loss, 0.0, np.zeros(0)
        self.dtype = np.result_type(*(p.dtype for p in self.params))
        self.decay = self.per_element([group["weight_decay"] for _, group in pairs], per_param=True)
        self.grads0 = [p.grad.copy() for p in self.params]
        f, g = self._value_and_grad(self.read(), loss)
        return loss, f, g

    def per_element(self, values: list[float], per_param: bool = False) -> np.ndarray:
        """Spread one value per group (or per parameter) over the flat vector."""
        if per_param:
            sizes = [p.size for p in self.params]
        else:
            ids = [{id(p) for p in self.params} & {id(q) for q in group["params"]}
                   for group in self.groups]
            sizes = [sum(p.size for p in self.params if id(p) in members)
                     for members in ids if members]
        return np.repeat(np.asarray(values, dtype=self.dtype), sizes)

    def read(self) -> np.ndarray:
        return np.concatenate([p.data.ravel() for p in self.params]).astype(self.dtype)

    def write(self, x: np.ndarray) -> None:
        offset = 0
        for p in self.params:
            p.data[...] = x[offset:offset + p.size].reshape(p.shape)
            offset += p.size
        bump_versions(self.params)

    def _value_and_grad(self, x: np.ndarray, loss: Any) -> tuple[float, np.ndarray]:
        grads = [p.grad if p.grad is not None else np.zeros_like(p.data) for p in self.params]
        g = np.concatenate([grad.ravel() for grad in grads]).astype(self.dtype)
        penalty = 0.5 * float(np.dot(self.decay * x, x))
        return self.sign * float(loss) + penalty, self.sign * g + self.decay * x

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.write(x)
        loss = self._call_closure()
        self.last_x = x.copy()
        return self._value_and_grad(x, loss)

    def restore(self, x0: np.ndarray) -> None:
        """Put back the parameters and gradients of the starting point."""
        self.write(x0)
        for p, grad in zip(self.params, self.grads0, strict=True):
            p.grad = grad

    def settle(self, x: np.ndarray, x0: np.ndarray) -> None:
        """Leave the parameters at ``x`` with their gradients there."""
        if np.array_equal(x, x0):
            self.restore(x0)
        elif self.last_x is None or not np.array_equal(self.last_x, x):
            self(x)  # the search accepted a point it did not evaluate last: evaluate it
