"""L-BFGS with ``torch.optim.LBFGS``'s arguments, defaults and algorithm (one closure, many steps)."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_real
from ..autodiff.tensor import Tensor, enable_grad
from .base import Optimizer, ParamsT

__all__ = ["LBFGS"]

_LINE_SEARCHES = (None, "strong_wolfe")
#: The keys of the state LBFGS keeps (under its first parameter, as torch does).
_STATE_KEYS = ("func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
               "prev_flat_grad", "prev_loss", "al")


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal, "Updating quasi-Newton matrices with limited storage",
    Math. Comp. 1980; Nocedal and Wright, *Numerical Optimization*, Algorithm 7.4), with
    ``torch.optim.LBFGS``'s arguments, defaults and algorithm.

    One :meth:`step` runs up to ``max_iter`` iterations, each re-evaluating the ``closure``. With
    the last ``m`` = ``history_size`` pairs :math:`s_i = x_{i+1} - x_i`,
    :math:`y_i = g_{i+1} - g_i` (a pair is kept only when :math:`y_i^\top s_i > 10^{-10}`) and
    :math:`\rho_i = 1 / y_i^\top s_i`, the direction :math:`d_k = -H_k g_k` comes from the
    two-loop recursion with :math:`H^0_k = \gamma_k I`,
    :math:`\gamma_k = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1}`:

    .. math::

        H_{i+1} = (I - \rho_i s_i y_i^\top) H_i (I - \rho_i y_i s_i^\top)
                  + \rho_i s_i s_i^\top, \qquad x_{k+1} = x_k + t_k d_k

    The step :math:`t_k` is ``lr`` (``min(1, 1/||g_0||_1) * lr`` on the very first iteration),
    or, with ``line_search_fn="strong_wolfe"``, the result of PyTorch's strong Wolfe search
    (:math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9`, cubic interpolation) started from that value. As in
    PyTorch, the search of an iteration may take what is left of the step's ``max_eval``
    (``max_ls = max_eval - evaluations so far``, the step's first closure call included; its
    first trial point is always evaluated, so a step may make ``max_eval + 1`` calls), not a
    fixed 25. Iterations stop at ``max_iter``, after ``max_eval`` closure calls, when
    :math:`\|g\|_\infty \le` ``tolerance_grad``, or when the step or the change of the loss
    falls below ``tolerance_change``. The directions, the history and the search are computed
    in float64 whatever the parameters' dtype (PyTorch works in the parameters' dtype), and each
    step is cast to the parameter's dtype as it is applied: float32 trajectories agree with
    PyTorch's to float32 rounding, not bit for bit.

    Parameters
    ----------
    params : iterable of Tensor
        One group only (as in PyTorch: L-BFGS takes no per-group options).
    lr : float, default 1
        The step length (the first trial step of the line search), ``>= 0``.
    max_iter : int, default 20
        Iterations per :meth:`step`, ``>= 1``.
    max_eval : int, optional
        Closure evaluations per :meth:`step`; default ``max_iter * 5 // 4``.
    tolerance_grad : float, default 1e-7
        Stop when the largest gradient entry is at most this.
    tolerance_change : float, default 1e-9
        Stop when the step (largest entry) or the change of the loss is below this.
    history_size : int, default 100
        :math:`m`, the number of pairs ``(s, y)`` kept.
    line_search_fn : {None, "strong_wolfe"}, default None

    Notes
    -----
    The state (``d``, ``t``, the history ``old_dirs``/``old_stps``/``ro``, ``H_diag``, the previous
    gradient and loss, ``n_iter``, ``func_evals``) lives under the first parameter, as in
    PyTorch, and :meth:`state_dict` / :meth:`load_state_dict` carry it whole, so a run resumes
    bit for bit.

    Examples
    --------
    >>> import steepest as st
    >>> w = st.tensor([-1.2, 1.0], requires_grad=True)
    >>> opt = st.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    ...     loss.backward()
    ...     return loss
    >>> for _ in range(5):
    ...     _ = opt.step(closure)
    >>> bool(abs(w.data - 1).max() < 1e-4)
    True
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        max_iter = check_int("LBFGS", "max_iter", max_iter, 1)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad,
                                  "tolerance_change": tolerance_change,
                                  "history_size": history_size, "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: params has {len(self.param_groups)} parameter groups; LBFGS "
                             "takes one parameter group only (no per-parameter options, as in "
                             "PyTorch)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _check_group(self, owner: str, group: dict[str, Any]) -> dict[str, Any]:
        if group.get("lr_schedule") is not None:
            raise TypeError(f"{owner}: lr must be a number >= 0 for LBFGS (it is the step length "
                            f"of every iteration), got the callable {group['lr_schedule']!r}")
        group["lr"] = check_real(owner, "lr", group["lr"], 0.0)
        group["max_iter"] = check_int(owner, "max_iter", group["max_iter"], 1)
        group["max_eval"] = check_int(owner, "max_eval", group["max_eval"], 1)
        group["history_size"] = check_int(owner, "history_size", group["history_size"], 1)
        group["tolerance_grad"] = check_real(owner, "tolerance_grad", group["tolerance_grad"], 0.0)
        group["tolerance_change"] = check_real(owner, "tolerance_change",
                                               group["tolerance_change"], 0.0)
        check_choice(owner, "line_search_fn", group["line_search_fn"], _LINE_SEARCHES)
        return group

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """LBFGS takes one group: adding a second raises ``ValueError``."""
        if self.param_groups:
            raise ValueError("LBFGS: add_param_group: LBFGS takes one parameter group only")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ flat views
    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(p.size) if p.grad is None
                               else np.asarray(p.grad, dtype=np.float64).reshape(-1)
                               for p in self._params])

    def _add_step(self, t: float, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p.size
            p.data += (t * d[offset:offset + n]).reshape(p.shape).astype(p.dtype, copy=False)
            offset += n

    def _set_flat(self, x: list[np.ndarray]) -> None:
        for p, saved in zip(self._params, x, strict=True):
            p.data[...] = saved

    def _directional(self, closure: Callable[[], Any], x: list[np.ndarray], t: float,
                     d: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient at ``x + t d``; the parameters are put back to ``x`` after."""
        self._add_step(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        self._set_flat(x)
        return loss, g

    # ------------------------------------------------------------------ the algorithm
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations.

        Parameters
        ----------
        closure : callable
            Clears the gradients, computes the loss, calls ``backward()`` and returns the loss.
            Required.

        Returns
        -------
        The closure's return value at the start of the step.
        """
        if closure is None or not callable(closure):
            raise TypeError(f"LBFGS.step: closure must be a callable that re-evaluates the loss "
                            f"(L-BFGS evaluates it several times per step), got {closure!r}")
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        self._iterate(closure, group, state, loss, flat_grad)
        return orig_loss

    def _iterate(self, closure: Callable[[], Any], group: dict[str, Any], state: dict[str, Any],
                 loss: float, flat_grad: np.ndarray) -> None:
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_change = group["tolerance_change"]
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            self._direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"] = flat_grad.copy()
            state["prev_loss"] = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            d = state["d"]
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:
                state["t"] = t
                break
            if group["line_search_fn"] is not None:
                x_init = [p.data.copy() for p in self._params]

                def along(x: list[np.ndarray], step: float, direction: np.ndarray
                          ) -> tuple[float, np.ndarray]:
                    return self._directional(closure, x, step, direction)

                # what is left of this step's max_eval, as torch 2.x passes it (0 on a first
                # iteration with max_eval=1: one evaluation, then the better of 0 and t)
                loss, flat_grad, t, evals = strong_wolfe(along, x_init, t, d, loss, flat_grad, gtd,
                                                         max_ls=max_eval - current_evals)
                self._add_step(t, d)
                opt_cond = np.abs(flat_grad).max() <= group["tolerance_grad"]
            else:
                self._add_step(t, d)
                evals, opt_cond = 0, False
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= group["tolerance_grad"]
                    evals = 1
            state["t"] = t
            current_evals += evals
            state["func_evals"] += evals
            if (n_iter == max_iter or current_evals >= max_eval or opt_cond
                    or np.abs(d * t).max() <= tol_change
                    or abs(loss - state["prev_loss"]) < tol_change):
                break

    @staticmethod
    def _direction(state: dict[str, Any], flat_grad: np.ndarray, history_size: int) -> None:
        """The two-loop recursion: ``state["d"] = -H g`` and the history updated."""
        if state["n_iter"] == 1:
            state.update(d=-flat_grad, old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            state.setdefault("t", None)
            state.setdefault("al", None)
            return
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float(y @ s)
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        if ys > 1e-10:
            if len(old_dirs) == history_size:
                del old_dirs[0], old_stps[0], ro[0]
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            state["H_diag"] = ys / float(y @ y)
        al = [0.0] * len(old_dirs)
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = float(old_stps[i] @ q) * ro[i]
            q = q - al[i] * old_dirs[i]
        r = q * state["H_diag"]
        for i in range(len(old_dirs)):
            be_i = float(old_dirs[i] @ r) * ro[i]
            r = r + (al[i] - be_i) * old_stps[i]
        state["d"] = r
        state["al"] = al

    # ------------------------------------------------------------------ state dicts
    def _loaded_state(self, owner: str, saved_state: Any,
                      groups: list[dict[str, Any]]) -> defaultdict[Tensor, dict[str, Any]]:
        params = groups[0]["params"]
        if not isinstance(saved_state, list | tuple) or len(saved_state) != len(params):
            count = len(saved_state) if isinstance(saved_state, list | tuple) else saved_state
            raise ValueError(f"{owner}: the state dict holds state for {count} parameters, this "
                             f"optimizer has {len(params)}")
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        saved = saved_state[0]
        if not isinstance(saved, dict):
            raise ValueError(f"{owner}: state[0] must be a dict, got {type(saved).__name__}")
        if saved:
            unknown = set(saved) - set(_STATE_KEYS)
            if unknown or not {"func_evals", "n_iter"} <= set(saved):
                raise ValueError(f"{owner}: state[0] has the entries {sorted(saved)}; LBFGS keeps "
                                 f"{list(_STATE_KEYS)}")
            size = sum(p.size for p in params)
            for key in ("d", "prev_flat_grad"):
                value = saved.get(key)
                if value is not None and np.asarray(value).shape != (size,):
                    raise ValueError(f"{owner}: state[0][{key!r}] has shape "
                                     f"{np.asarray(value).shape}; the parameters have {size} "
                                     "entries in all")
            state[params[0]] = {key: _restored(key, value) for key, value in saved.items()}
        return state


def _restored(key: str, value: Any) -> Any:
    if key in ("d", "prev_flat_grad") and value is not None:
        return np.array(value, dtype=np.float64)
    if key in ("old_dirs", "old_stps"):
        return [np.array(v, dtype=np.float64) for v in value]
    if key in ("ro", "al") and value is not None:
        return [float(v) for v in value]
    if key in ("func_evals", "n_iter"):
        return int(value)
    return copy.deepcopy(value)


# ---------------------------------------------------------------------- strong Wolfe (torch's)
def cubic_minimizer(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                    bounds: tuple[float, float] | None = None) -> float:
    r"""The minimiser of the cubic through ``(x1, f1, g1)`` and ``(x2, f2, g2)``, clipped to
    ``bounds`` (default: between ``x1`` and ``x2``); the bounds' midpoint if it has none.

    .. math::

        d_1 = g_1 + g_2 - 3\frac{f_1 - f_2}{x_1 - x_2}, \quad d_2 = \sqrt{d_1^2 - g_1 g_2},
        \quad x^* = x_2 - (x_2 - x_1)\frac{g_2 + d_2 - d_1}{g_2 - g_1 + 2 d_2}

    (Nocedal and Wright, eq. 3.59; with the roles swapped when ``x1 > x2``.)
    """
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        point = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        point = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return float(min(max(point, low), high))


def strong_wolfe(along: Callable[..., tuple[float, np.ndarray]], x: Any, t: float, d: np.ndarray,
                 f: float, g: np.ndarray, gtd: float, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_change: float = 1e-9, max_ls: int = 25
                 ) -> tuple[float, np.ndarray, float, int]:
    r"""PyTorch's strong Wolfe line search: bracket, then zoom by safeguarded cubic interpolation.

    Finds :math:`t` with :math:`f(x + t d) \le f + c_1 t\, g^\top d` and
    :math:`|\nabla f(x + t d)^\top d| \le c_2 |g^\top d|` (Nocedal and Wright, Algorithms 3.5
    and 3.6), in at most ``max_ls + 1`` evaluations of ``along(x, t, d) -> (f, g)`` (the first
    trial point, then up to ``max_ls`` more, as in PyTorch's ``_strong_wolfe``).

    Returns
    -------
    (f_new, g_new, t, evaluations)
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = along(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    bracket: list[float] = []
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bf, bg, bgtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        low, high = t + 0.01 * (t - t_prev), t * 10
        previous = t
        t = cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(low, high))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new, gtd_new
        f_new, g_new = along(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bf, bg, bgtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]
    return _zoom(along, x, d, f, gtd, bracket, bf, bg, bgtd, done, ls_iter, evals, d_norm,
                 c1, c2, tolerance_change, max_ls)


def _zoom(along: Callable[..., tuple[float, np.ndarray]], x: Any, d: np.ndarray, f: float,
          gtd: float, bracket: list[float], bf: list[float], bg: list[np.ndarray],
          bgtd: list[float], done: bool, ls_iter: int, evals: int, d_norm: float, c1: float,
          c2: float, tolerance_change: float, max_ls: int) -> tuple[float, np.ndarray, float, int]:
    insufficient = False
    low_pos, high_pos = (0, 1) if bf[0] <= bf[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_minimizer(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1])
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = along(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bf[low_pos]:
            bracket[high_pos], bf[high_pos], bg[high_pos], bgtd[high_pos] = t, f_new, g_new, gtd_new
            low_pos, high_pos = (0, 1) if bf[0] <= bf[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bf[high_pos] = bracket[low_pos], bf[low_pos]
                bg[high_pos], bgtd[high_pos] = bg[low_pos], bgtd[low_pos]
            bracket[low_pos], bf[low_pos], bg[low_pos], bgtd[low_pos] = t, f_new, g_new, gtd_new
    return bf[low_pos], bg[low_pos], bracket[low_pos], evals
