"""``minimize``: run any optimizer of :mod:`steepest.optim` on a function and keep the whole trace.

:func:`minimize` drives one float64 parameter with an optimizer (gradient descent, momentum,
Nesterov, AdaGrad, RMSprop, Adam, AdamW, AdaDelta, Adamax, NAdam) or with gradient descent plus a
line search, records every iterate, value, gradient norm and step size, stops on a small gradient,
a small change of ``f``, a callback or ``max_iter``, and reports what went wrong when something
does: non-finite values, divergence (with a step size that should work, from the curvature
estimated at the start), and convergence to a saddle point instead of a minimum.

Examples
--------
>>> import steepest as st
>>> problem = st.problems.get("quadratic", kappa=10)
>>> result = st.minimize(problem.f, problem.x0, method="gd", lr=2 / 11, gtol=1e-8)
>>> result.success, result.nit, result.path.shape
(True, 107, (108, 2))
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _curvature
from . import diagnostics as _diagnostics
from . import optim as _optim
from . import schedules as _schedules
from . import second_order as _second_order
from ._validation import check_bool, check_choice, check_int, check_real
from .autodiff.tensor import Tensor, as_array
from .problems import Problem

__all__ = ["minimize", "OptimizeResult", "METHODS", "FIRST_ORDER", "SECOND_ORDER", "STATUS"]

#: The first-order methods: one optimizer of :mod:`steepest.optim` each.
FIRST_ORDER: tuple[str, ...] = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                "adamw", "adadelta", "adamax", "nadam", "radam", "rprop", "asgd",
                                "adafactor", "lion", "schedule_free_adamw")
#: Newton and the quasi-Newton and conjugate-gradient methods (:mod:`steepest.second_order`).
SECOND_ORDER: tuple[str, ...] = _second_order.METHODS
#: The method names :func:`minimize` accepts.
METHODS: tuple[str, ...] = FIRST_ORDER + SECOND_ORDER

#: The optimizer behind each method (its name in :data:`steepest.optim.OPTIMIZERS`), the
#: options the method fixes, and its default options. gd, momentum and nesterov are SGD.
_OPTIMIZERS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "gd": ("sgd", {"momentum": 0.0, "nesterov": False, "dampening": 0.0}, {}),
    "momentum": ("sgd", {"nesterov": False}, {"momentum": 0.9}),
    "nesterov": ("sgd", {"nesterov": True}, {"momentum": 0.9}),
    "adagrad": ("adagrad", {}, {}),
    "rmsprop": ("rmsprop", {}, {}),
    "adam": ("adam", {}, {}),
    "adamw": ("adamw", {}, {}),
    "adadelta": ("adadelta", {}, {}),
    "adamax": ("adamax", {}, {}),
    "nadam": ("nadam", {}, {}),
    "radam": ("radam", {}, {}),
    "rprop": ("rprop", {}, {}),
    "asgd": ("asgd", {}, {}),
    "adafactor": ("adafactor", {}, {}),
    "lion": ("lion", {}, {}),
    "schedule_free_adamw": ("schedule_free_adamw", {}, {}),
}
#: Optimizer arguments that minimize sets itself.
_RESERVED = {"params", "lr", "maximize", "line_search", "on_line_search_failure"}

#: What each ``status`` code means.
STATUS: dict[int, str] = {
    0: "converged: the gradient norm fell to gtol",
    1: "converged: the relative change of f fell to ftol",
    2: "stopped: max_iter reached",
    3: "stopped: a non-finite value",
    4: "diverged",
    5: "stopped by the callback",
    6: "stopped: the line search failed",
    7: "stopped at a saddle point, not a minimum",
}

#: f above f(x0) + DIVERGENCE_FACTOR * max(|f(x0)|, 1) counts as divergence.
DIVERGENCE_FACTOR = 1e6

#: Methods whose step per coordinate is about lr whatever the gradient's scale (sign-like steps).
_ADAPTIVE = {"adagrad", "rmsprop", "adam", "adamw", "adadelta", "adamax", "nadam", "radam", "rprop",
             "adafactor", "lion", "schedule_free_adamw"}


# --------------------------------------------------------------------------- the result
class OptimizeResult(dict):
    """The outcome of :func:`minimize`: a dict whose keys are also attributes (as SciPy's).

    Attributes
    ----------
    x : ndarray
        The final iterate (shape of ``x0``); after a non-finite value, the last finite one.
    fun : float
        ``f(x)``.
    grad : ndarray
        The gradient at ``x``.
    jac : ndarray
        The same array as ``grad`` (scipy's name).
    hess_inv : ndarray of shape (n, n)
        ``bfgs`` only: the final inverse-Hessian approximation (as scipy's).
    nit : int
        Updates taken.
    nfev, njev : int
        Evaluations of ``f`` and of its gradient (curvature estimates included).
    success : bool
    status : int
        See ``steepest.minimize.STATUS``.
    message : str
    path : ndarray of shape (nit + 1, x0.size)
        Every iterate, ``x0`` first.
    fvals, grad_norms : ndarray of shape (nit + 1,)
        ``f`` and the Euclidean norm of the gradient at each iterate.
    lrs : ndarray of shape (nit,)
        The step size used by each update (the accepted step with a line search).
    evals : ndarray of shape (nit + 1,)
        The evaluations of ``f`` spent when each iterate was reached (``k + 1`` for the
        optimizers; more with a line search): plot against it to see the cost per evaluation.
    nhev : int
        Hessian evaluations (``newton`` only).
    method : str
    diagnostics : list of str
        Warnings in words: divergence, oscillation, saddle points, slow progress.
    diverged, saddle : bool
    suggested_lr : float or None
        A step size expected to work, after a divergence.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.keys()))

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(str(key)) for key in self)
        lines = [f"{str(key).rjust(width)}: {_short(value)}" for key, value in self.items()]
        return "\n".join(lines)

    def summary(self) -> str:
        """A few lines for people: outcome, final value, gradient norm, point and diagnostics."""
        lines = [f"{self.get('method', 'minimize')}: {self.get('message', '')}"]
        rows = [("f(x)", _number(self.get("fun"))),
                ("||grad||", _number(float(np.linalg.norm(self["grad"])) if "grad" in self
                                     else None)),
                ("x", _short(self.get("x"))),
                ("iterations", str(self.get("nit"))),
                ("evaluations", f"{self.get('nfev')} of f, {self.get('njev')} of the gradient"
                 + (f", {self['nhev']} of the Hessian" if "nhev" in self else "")),
                ("status", f"{self.get('status')} ({'success' if self.get('success') else 'failure'})")]
        if self.get("suggested_lr") is not None:
            rows.append(("suggested lr", _number(self["suggested_lr"])))
        lines += [f"  {label:<12} {value}" for label, value in rows]
        for note in self.get("diagnostics", []):
            lines.append(f"  ! {note}")
        return "\n".join(lines)


def _number(value: Any) -> str:
    return "None" if value is None else f"{value:.6g}"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.ndim <= 1 and value.size <= 6:
            return np.array2string(value, precision=6, separator=", ")
        return f"array of shape {value.shape}"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    return repr(value)


# --------------------------------------------------------------------------- the objective
class _Objective:
    """``x -> (f(x), grad f(x))`` on float64 arrays, however ``fun`` was given."""

    def __init__(self, fun: Any, jac: Any, x0: np.ndarray) -> None:
        self.shape = x0.shape
        #: ``fun`` as Tensor code (x: Tensor -> scalar Tensor), for exact second derivatives;
        #: None for a NumPy function given with jac=.
        self.expression: Callable[[Tensor], Tensor] | None = None
        #: The problem's known infimum, where fun is a Problem (-inf: unbounded below).
        self.f_min: float | None = fun.f_min if isinstance(fun, Problem) else None
        if isinstance(fun, Problem):
            if jac is not None:
                raise ValueError("minimize: fun is a Problem, which brings its own gradient; "
                                 f"leave jac=None (got {jac!r})")
            if fun.dim != x0.size:
                raise ValueError(f"minimize: x0 has {x0.size} entries but the problem "
                                 f"{fun.name!r} has dimension {fun.dim}")
            self.evaluate = self._problem(fun)
            self.expression = fun._expression
        elif not callable(fun):
            raise TypeError(f"minimize: fun must be callable (or a Problem), got {fun!r}")
        elif jac is None:
            self.evaluate = self._autodiff(fun)
            self.expression = fun
        elif jac is True:
            self.evaluate = self._numpy_pair(fun)
        elif callable(jac):
            self.evaluate = self._numpy(fun, jac)
        else:
            raise TypeError(f"minimize: jac must be None (differentiate fun), True (fun returns "
                            f"(f, grad)) or a callable x -> grad; got {jac!r}")

    # Each builder checks the first evaluation thoroughly and returns a lean function for the
    # loop, which checks every later evaluation with type, dtype and shape tests only (the
    # common returns: float or float64, a float64 array of x's shape) and sends anything else
    # through the thorough check, so that a bad return at any iteration gets the same error.
    def _problem(self, problem: Problem) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        value, gradient = problem._value, problem._gradient
        return lambda x: (float(value(x)), gradient(x))

    def _autodiff(self, fun: Callable[[Tensor], Any]) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        param = Tensor(np.zeros(self.shape), requires_grad=True)
        self.param = param
        zeros = np.zeros(self.shape)

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            param.data = x
            param.grad = None
            out = fun(param)
            try:
                out.backward()
            except Exception:
                self._check_tensor(out)  # a clear error for what is not a scalar Tensor
                if not out.requires_grad:  # f does not depend on x here
                    return out.data.item(), zeros.copy()
                raise
            g = param.grad
            return out.data.item(), (g if g is not None else zeros.copy())

        def first(x: np.ndarray) -> tuple[float, np.ndarray]:
            param.data = x
            param.grad = None
            try:
                out = fun(param)
            except TypeError as error:  # typically NumPy code meeting a Tensor: np.sum(x)
                raise TypeError(
                    f"minimize: fun received a Tensor (with jac=None minimize differentiates fun "
                    f"by calling it on one) and raised TypeError: {error}; if fun is NumPy code, "
                    f"pass jac= (its gradient) or write fun with steepest ops (x.sum(), "
                    f"st.exp(x), ...)") from error
            self._check_tensor(out)
            self.evaluate = evaluate
            if not out.requires_grad:  # f does not depend on x
                return out.data.item(), zeros.copy()
            out.backward()
            g = param.grad
            return out.data.item(), (g if g is not None else zeros.copy())

        return first

    @staticmethod
    def _check_tensor(out: Any) -> None:
        if not isinstance(out, Tensor):
            raise TypeError(
                f"minimize: fun must return a scalar Tensor (write it with steepest "
                f"operations so that it can be differentiated) or be given with jac=; it "
                f"returned {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"minimize: fun must return a scalar, got a Tensor of shape "
                             f"{out.shape}")

    def _numpy(self, fun: Callable[[np.ndarray], Any],
               jac: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        value, gradient = self._value, self._gradient

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            return value(fun(x), "fun"), gradient(jac(x), x, "jac")

        def first(x: np.ndarray) -> tuple[float, np.ndarray]:
            f = self._check_value(fun(x), "fun")
            g = self._check_gradient(jac(x), x, "jac")
            self.evaluate = evaluate
            return f, g

        return first

    def _numpy_pair(self, fun: Callable[[np.ndarray], Any]
                    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        value, gradient = self._value, self._gradient

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            out = fun(x)
            if type(out) is not tuple or len(out) != 2:
                return checked(out, x)
            return value(out[0], "fun"), gradient(out[1], x, "fun's gradient")

        def checked(out: Any, x: np.ndarray) -> tuple[float, np.ndarray]:
            if not isinstance(out, tuple | list) or len(out) != 2:
                raise TypeError(f"minimize: with jac=True, fun must return a pair (f, grad); it "
                                f"returned {type(out).__name__}")
            return (self._check_value(out[0], "fun"),
                    self._check_gradient(out[1], x, "fun's gradient"))

        def first(x: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = checked(fun(x), x)
            self.evaluate = evaluate
            return f, g

        return first

    def _value(self, value: Any, who: str) -> float:
        """The lean check of a value: a float passes (np.float64 is one), the rest is checked."""
        if type(value) is float:
            return value
        if type(value) is np.float64:
            return float(value)
        return self._check_value(value, who)

    def _gradient(self, g: Any, x: np.ndarray, who: str) -> np.ndarray:
        """The lean check of a gradient: a float64 array of x's shape passes, the rest is
        checked (and converted)."""
        if type(g) is not np.ndarray or g.dtype is not _FLOAT64 or g.shape != self.shape:
            return self._check_gradient(g, x, who)
        # A gradient that shares memory with x (e.g. jac = lambda x: x) would change under the
        # optimizer's in-place update.
        return g.copy() if np.may_share_memory(g, x) else g

    def _check_value(self, value: Any, who: str) -> float:
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, bool) or not (isinstance(value, numbers.Real) or (
                isinstance(value, np.ndarray) and value.dtype.kind in "fiu")):
            raise TypeError(f"minimize: {who} must return a real scalar, got {_brief(value)}")
        if np.size(value) != 1:
            raise ValueError(f"minimize: {who} must return a scalar, got an array of shape "
                             f"{np.shape(value)}")
        return float(np.reshape(value, ()))

    def _check_gradient(self, g: Any, x: np.ndarray, who: str) -> np.ndarray:
        try:
            array = as_array(g.data if isinstance(g, Tensor) else g)
        except TypeError:
            raise TypeError(f"minimize: {who} must return a real array of shape {x.shape} (the "
                            f"shape of x0), got {_brief(g)}") from None
        if array.dtype.kind not in "fiu":
            raise TypeError(f"minimize: {who} must return a real array, got dtype {array.dtype}")
        if array.shape != x.shape:
            raise ValueError(f"minimize: {who} must return an array of shape {x.shape} (the "
                             f"shape of x0), got {array.shape}")
        array = np.asarray(array, dtype=np.float64)
        return array.copy() if np.may_share_memory(array, x) else array

    # Second derivatives. They come from the engine where f is Tensor code, from hess= where it
    # is given; a NumPy f with only jac= has none (the diagnostics then difference gradients).
    def hessian(self, hess: Any, method: str) -> Callable[[np.ndarray], np.ndarray]:
        """``x -> (n, n)`` Hessian on flat vectors: ``hess`` if given, else the engine's."""
        n = int(np.prod(self.shape))
        if hess is not None:
            if not callable(hess):
                raise TypeError(f"minimize: hess must be a callable x -> (n, n) array or None, "
                                f"got {hess!r}")
            return lambda z: self._check_hessian(hess(z.reshape(self.shape)), n)
        if self.expression is None:
            raise ValueError(
                f"minimize: method {method!r} needs a Hessian, but fun is NumPy code given with "
                "jac=, which the engine cannot differentiate twice; pass hess= (a callable "
                "x -> (n, n) array), or write fun with steepest operations and leave jac=None")
        return _curvature.hessian(self.expression, self.shape)

    def hvp(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
        """``(x, v) -> H v`` from the engine where f is Tensor code, else None."""
        if self.expression is None:
            return None
        return _curvature.hvp(self.expression, self.shape)

    @staticmethod
    def _check_hessian(H: Any, n: int) -> np.ndarray:
        try:
            H = as_array(H.data if isinstance(H, Tensor) else H)
        except TypeError:
            raise TypeError(f"minimize: hess must return a real ({n}, {n}) array, got "
                            f"{_brief(H)}") from None
        if H.dtype.kind not in "fiu":
            raise TypeError(f"minimize: hess must return a real array, got dtype {H.dtype}")
        H = np.asarray(H, dtype=np.float64)
        if H.shape != (n, n):
            raise ValueError(f"minimize: hess must return an array of shape ({n}, {n}) for x0 "
                             f"of {n} entries, got shape {H.shape}")
        return H

    def counted(self) -> tuple[Callable[[np.ndarray], tuple[float, np.ndarray]], list[int]]:
        """The objective with a call counter (for the diagnostics' extra evaluations)."""
        calls = [0]

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            calls[0] += 1
            return self.evaluate(np.array(x, dtype=np.float64).reshape(self.shape))

        return evaluate, calls


# --------------------------------------------------------------------------- checks
_FLOAT64 = np.dtype(np.float64)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _initial_point(x0: Any) -> np.ndarray:
    try:
        x = as_array(x0)
    except TypeError as error:
        raise TypeError(f"minimize: x0 must be a real array, got {x0!r} ({error})") from None
    if x.dtype.kind not in "fiub":
        raise TypeError(f"minimize: x0 must be a real array, got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"minimize: x0 must not be empty, got shape {x.shape}")
    x = np.array(x, dtype=np.float64)  # a private float64 copy
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        index = where[0] if len(where) == 1 else where
        raise ValueError(f"minimize: x0 must be finite, but x0[{index}] = {float(x[where])}")
    return x


def _estimable(x: np.ndarray) -> bool:
    """Whether the curvature diagnostics can run at ``x``: their differencing step is
    ``eps**(1/3) max(1, ||x||)``, which is infinite where ``||x||`` overflows (x0 = [1e200])."""
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(float(np.linalg.norm(x)))


def _learning_rate(lr: Any) -> float | Callable[[int], float] | None:
    if lr is None:
        return None
    if isinstance(lr, str):
        return _schedules.parse(lr)
    if callable(lr):
        return lr
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"minimize: lr must be a positive number, a schedule (callable t -> lr) "
                        f"or a schedule string such as '0.1/t'; got {lr!r}")
    return check_real("minimize", "lr", lr, low=0.0, low_open=True)


def _optimizer_options(method: str, options: dict[str, Any]) -> tuple[type, dict[str, Any]]:
    name, fixed, defaults = _OPTIMIZERS[method]
    cls = _optim.OPTIMIZERS[name]
    accepted = [p for p in _optim.hyperparameters(name) if p not in _RESERVED and p not in fixed]
    for key in options:
        if key in accepted:
            continue
        if key == "maximize":
            raise TypeError("minimize: maximize is not an option of minimize; minimise -f instead")
        if key in fixed and method in ("gd", "momentum"):
            hint = " (use method='momentum' or 'nesterov')" if key != "dampening" else ""
            raise TypeError(f"minimize: method {method!r} takes no option {key!r}{hint}")
        raise TypeError(f"minimize: method {method!r} ({cls.__name__}) takes no option {key!r}; its "
                        f"options are: {', '.join(accepted)}")
    return cls, {**defaults, **options, **fixed}


def _search(line_search: Any, method: str) -> Any:
    if line_search is None:
        return None
    search = _optim.line_search.get(line_search, owner="minimize")
    if method not in ("gd",) + SECOND_ORDER:
        raise ValueError(f"minimize: line_search works with method='gd' (a line search chooses "
                         f"the step along -grad) and with {', '.join(SECOND_ORDER)}; got "
                         f"method={method!r}")
    return search


# --------------------------------------------------------------------------- scipy's API
#: scipy.optimize.minimize's method names whose algorithm steepest has (compared lowercase).
SCIPY_METHODS: dict[str, str] = {"bfgs": "bfgs", "l-bfgs-b": "lbfgs", "cg": "cg"}
#: scipy's other methods, and why none of steepest's is the same algorithm.
_SCIPY_OTHERS: dict[str, str] = {
    "nelder-mead": "a derivative-free simplex method", "powell": "a derivative-free method",
    "cobyla": "a derivative-free constrained method",
    "cobyqa": "a derivative-free constrained method", "slsqp": "a constrained SQP method",
    "trust-constr": "a constrained trust-region method", "tnc": "a bounded truncated Newton method",
    "newton-cg": "a truncated Newton method (Newton steps solved inexactly by CG)",
    "trust-ncg": "a trust-region Newton-CG method", "trust-krylov": "a trust-region method",
    "trust-exact": "a trust-region method", "dogleg": "a trust-region dogleg method",
}
#: Options of scipy's gradient methods that have no counterpart in steepest.
_SCIPY_ONLY_OPTIONS = {"norm", "xrtol", "c1", "c2", "hess_inv0", "maxfun", "maxls", "iprint",
                       "xtol", "finite_diff_rel_step", "eps", "hessp"}
#: The minimize keywords an ``options`` dict may also set, with scipy's spellings.
_CONTROL_ALIASES = {"maxiter": "max_iter", "max_iter": "max_iter", "gtol": "gtol",
                    "ftol": "ftol", "lr": "lr", "line_search": "line_search",
                    "diagnose": "diagnose", "disp": "disp", "return_all": "return_all"}
_CONTROL_DEFAULTS = {"max_iter": 1000, "gtol": None, "ftol": None, "lr": None,
                     "line_search": None, "diagnose": True, "disp": False}


def _method(method: Any) -> str:
    """steepest's name for ``method``: its own names or scipy's, in any case."""
    if not isinstance(method, str):
        hint = (" (scipy's third positional argument is args; steepest's order is fun, x0, "
                "method, lr, ...: pass args= by keyword)" if isinstance(method, tuple) else "")
        raise TypeError(f"minimize: method must be a string, one of "
                        f"{', '.join(METHODS)}; got {method!r}{hint}")
    name = method.lower()
    name = SCIPY_METHODS.get(name, name)
    if name in _SCIPY_OTHERS:
        closest = (" method='newton' is steepest's line-search Newton method (exact Hessian, "
                   "eigenvalue modification) and may serve instead;"
                   if "newton" in _SCIPY_OTHERS[name] or "trust" in name or name == "dogleg"
                   else "")
        raise ValueError(f"minimize: scipy's method {method!r} is {_SCIPY_OTHERS[name]}, which "
                         f"steepest does not have;{closest} steepest's methods are "
                         f"{', '.join(METHODS)} (scipy's 'BFGS', 'L-BFGS-B' without bounds and "
                         f"'CG' map to bfgs, lbfgs and cg)")
    if name in METHODS:
        return name
    return check_choice("minimize", "method", method, METHODS)  # raises, naming the methods


def _unbounded(bounds: Any) -> bool:
    """Whether ``bounds`` bounds nothing: None, or every pair (None or -inf, None or inf)."""
    if bounds is None:
        return True
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # a scipy.optimize.Bounds
        try:
            lower, upper = np.asarray(bounds.lb, dtype=float), np.asarray(bounds.ub, dtype=float)
        except (TypeError, ValueError):
            return False
        return bool(np.all(lower == -math.inf) and np.all(upper == math.inf))
    try:
        pairs = [tuple(pair) for pair in bounds]
    except TypeError:
        return False
    for pair in pairs:
        if len(pair) != 2:
            return False
        low, high = pair
        if not ((low is None or low == -math.inf) and (high is None or high == math.inf)):
            return False
    return True


def _unconstrained(bounds: Any, constraints: Any, method: str) -> None:
    if not _unbounded(bounds):
        raise NotImplementedError(
            f"minimize: bounds are not supported: every steepest method ({method} included) "
            f"minimises without constraints; use scipy.optimize.minimize(method='L-BFGS-B'), or "
            f"reparametrise (x = low + (high - low) * sigmoid(z)) and minimise over z")
    if constraints is not None and not (isinstance(constraints, tuple | list | dict)
                                        and len(constraints) == 0):
        raise NotImplementedError(
            "minimize: constraints are not supported: every steepest method minimises without "
            "constraints; use scipy.optimize.minimize (method='SLSQP' or 'trust-constr'), or "
            "add a penalty term to f")


def _merge_options(options: Any, controls: dict[str, Any], method_options: dict[str, Any],
                   method: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fold scipy's ``options`` dict into minimize's keywords and the method's options."""
    for key in method_options:
        if key in _SCIPY_ONLY_OPTIONS and not (key == "eps" and method in FIRST_ORDER):
            raise TypeError(_scipy_only(key, method))
    if options is None:
        return controls, method_options
    if not isinstance(options, dict):
        raise TypeError(f"minimize: options must be a dict (scipy's options=), got {options!r}")
    controls, method_options = dict(controls), dict(method_options)
    from_options: dict[str, str] = {}
    for key, value in options.items():
        name = _CONTROL_ALIASES.get(key)
        if name is None and key == "maxcor" and method == "lbfgs":
            key = "history_size"  # L-BFGS-B's number of stored corrections
        if name is None:
            if key in _SCIPY_ONLY_OPTIONS and not (key == "eps" and method in FIRST_ORDER):
                raise TypeError(_scipy_only(key, method))
            if key in method_options:
                raise ValueError(f"minimize: option {key!r} is given twice, as {key}="
                                 f"{method_options[key]!r} and in options")
            method_options[key] = value
            continue
        if name in from_options:
            raise ValueError(f"minimize: options sets {name} twice, as {from_options[name]!r} "
                             f"and {key!r}")
        from_options[name] = key
        current = controls.get(name, False)
        default = _CONTROL_DEFAULTS.get(name, False)
        at_default = current is default or (isinstance(current, bool | int | float)
                                            and type(current) is type(default)
                                            and current == default)
        if not at_default and not _same(current, value):
            raise ValueError(f"minimize: {name} is given twice, as {name}={current!r} and "
                             f"options[{key!r}]={value!r}")
        controls[name] = value
    return controls, method_options


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or (type(a) is type(b) and a == b))
    except (TypeError, ValueError):
        return False


def _scipy_only(key: str, method: str) -> str:
    return (f"minimize: {key!r} is an option of scipy.optimize.minimize that steepest's "
            f"{method!r} does not have (steepest differentiates fun itself or takes jac=, and "
            f"measures gtol in the Euclidean norm)")


def _with_args(args: Any, fun: Any, jac: Any, hess: Any) -> tuple[Any, Any, Any]:
    """fun, jac and hess with scipy's extra arguments bound: ``fun(x, *args)``."""
    if not isinstance(args, tuple):
        args = (args,)  # as scipy: a single extra argument
    if not args:
        return fun, jac, hess
    if isinstance(fun, Problem):
        raise ValueError(f"minimize: fun is a Problem, which takes no extra arguments; got "
                         f"args={args!r}")

    def bind(function: Any) -> Any:
        if not callable(function):
            return function  # None, True or a bad value, refused later with its own message
        return lambda x: function(x, *args)

    return bind(fun), (jac if jac is True else bind(jac)), bind(hess)


def _disp_text(result: OptimizeResult) -> str:
    """scipy's disp=True summary, in steepest's words."""
    lines = [result.message,
             f"         Current function value: {result.fun:.6f}",
             f"         Iterations: {result.nit}",
             f"         Function evaluations: {result.nfev}",
             f"         Gradient evaluations: {result.njev}"]
    if "nhev" in result:
        lines.append(f"         Hessian evaluations: {result.nhev}")
    return "\n".join(lines)


def _wants_intermediate_result(callback: Any) -> bool:
    """scipy's rule: a callback whose one parameter is named intermediate_result is called as
    ``callback(intermediate_result=OptimizeResult)`` after each iteration."""
    if callback is None:
        return False
    try:
        parameters = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False
    return list(parameters) == ["intermediate_result"] and (
        parameters["intermediate_result"].kind is not inspect.Parameter.POSITIONAL_ONLY)


# --------------------------------------------------------------------------- minimize
def minimize(fun: Any, x0: Any, method: str = "gd", lr: Any = None, line_search: Any = None,
             max_iter: int = 1000, gtol: float | None = None, ftol: float | None = None,
             callback: Callable[..., Any] | None = None, jac: Any = None, *,
             hess: Any = None, diagnose: bool = True, args: Any = (), tol: float | None = None,
             options: dict[str, Any] | None = None, bounds: Any = None, constraints: Any = (),
             disp: bool = False, **method_options: Any) -> OptimizeResult:
    """Minimise ``f: R^d -> R`` from ``x0`` with one optimizer of :mod:`steepest.optim`, or with
    Newton, BFGS, L-BFGS or nonlinear CG.

    Each iteration takes one optimizer update of the float64 parameter :math:`x`; ``gd`` is

    .. math:: x_{k+1} = x_k - \\alpha_k \\nabla f(x_k),

    and with ``line_search`` :math:`\\alpha_k = s_k \\cdot \\text{lr}` where :math:`s_k` is found
    along :math:`-\\text{lr}\\,\\nabla f(x_k)` by Armijo backtracking or a strong Wolfe search
    (Nocedal and Wright, *Numerical Optimization*, ch. 3). The other methods follow the update
    rules of ``torch.optim`` (see each class in :mod:`steepest.optim`).

    The run stops at the first of: :math:`\\lVert\\nabla f(x_k)\\rVert \\le` ``gtol`` (status 0);
    :math:`|f_{k-1} - f_k| \\le` ``ftol`` :math:`\\cdot \\max(|f_{k-1}|, |f_k|, 1)` (status 1,
    only when ``ftol > 0``); ``max_iter`` updates (2); a non-finite ``f`` or gradient (3); ``f``
    above :math:`f(x_0) + 10^6 \\max(|f(x_0)|, 1)`, i.e. divergence (4, with a
    :class:`~steepest.diagnostics.DivergenceWarning` and a ``suggested_lr``); the callback
    asking to stop (5); a failed line search (6). A run that converged is then checked for a
    saddle point (status 7, ``saddle=True``, ``success=False``) with Hessian eigenvalues
    estimated from gradients.

    Parameters
    ----------
    fun : callable or Problem
        ``f(x: Tensor) -> scalar Tensor`` written with steepest operations (differentiated by
        the engine); with ``jac``, a NumPy function ``f(x: ndarray) -> float``; or a
        :class:`~steepest.problems.Problem`, evaluated with its NumPy value and gradient.
    x0 : array_like
        The start: finite real numbers of any shape (``f`` sees arrays of that shape).
    method : str, default "gd"
        One of ``steepest.minimize.METHODS``, in any case (``"BFGS"``), or scipy's ``"BFGS"``,
        ``"L-BFGS-B"`` (without bounds: ``lbfgs``) and ``"CG"`` (``cg``), the same algorithms;
        scipy's other methods (``Newton-CG``, ``trust-ncg``, ``Nelder-Mead``, ...) raise a
        ValueError, since no steepest method is the same algorithm. The methods are ``gd``
        (``SGD``), ``momentum`` (``SGD`` with heavy-ball momentum, default 0.9), ``nesterov``,
        ``adagrad``, ``rmsprop``, ``adam``, ``adamw``, ``adadelta``, ``adamax``, ``nadam``,
        ``radam``, ``rprop``, ``asgd``, ``adafactor``, ``lion``, ``schedule_free_adamw``; or the
        second-order ``newton`` (exact Hessian, eigenvalue modification), ``bfgs``, ``lbfgs``
        and ``cg`` (Polak–Ribière+), which choose their steps by a strong Wolfe search and take
        no ``lr`` (see :mod:`steepest.second_order`).
    lr : float, schedule, str or None
        The step size: a positive number, a schedule (any callable ``t -> lr``, ``t = 1, 2,
        ...``) or a schedule string for :func:`steepest.schedules.parse` (``"1/t"``). ``None``
        means the optimizer's own default (as in ``torch.optim``; ``1e-3`` for ``gd``), or 1
        with a line search, where ``lr`` scales the first trial step.
    line_search : {"armijo", "wolfe"}, Armijo, StrongWolfe or None
        Choose each step of ``gd`` by a line search (see :mod:`steepest.optim.line_search`).
        The second-order methods use strong Wolfe by default; ``newton`` also takes Armijo.
    max_iter : int, default 1000
        Most updates to take, ``>= 0``.
    gtol : float, optional
        Stop when the Euclidean norm of the gradient is at most this, ``>= 0``; default
        ``tol`` if given, else 1e-6. (scipy's BFGS and CG measure their ``gtol`` in the
        max-norm, which is never larger.)
    ftol : float, optional
        Stop when the relative change of ``f`` is at most this, ``>= 0``; default 0 (off), or
        ``tol`` for ``lbfgs`` (as L-BFGS-B's ``ftol``).
    callback : callable, optional
        Called at each iterate, ``x0`` first (``nit = 0``), as ``callback(intermediate)`` with
        an :class:`OptimizeResult` holding ``x``, ``fun``, ``grad`` (also as ``jac``),
        ``grad_norm``, ``nit`` and ``lr`` (the step that led there). A callback whose only
        parameter is named ``intermediate_result`` is called as scipy calls it:
        ``callback(intermediate_result=...)`` after each iteration (``nit = 1, 2, ...``, not at
        ``x0``), with the same object. Either way, returning True or raising ``StopIteration``
        stops the run with status 5 (scipy reports 99). A scipy-style ``callback(xk)`` gets the
        :class:`OptimizeResult` too: read ``xk.x``, or name the parameter
        ``intermediate_result``.
    jac : callable, True or None
        The gradient of a NumPy ``fun`` (``jac(x) -> ndarray``), or True when ``fun`` returns
        ``(f, grad)``. ``None``: ``fun`` is differentiated by the engine.
    hess : callable, optional
        ``x -> (n, n)`` Hessian for ``newton`` when ``fun`` is NumPy code (``jac=``); for Tensor
        code and Problems the engine differentiates twice.
    diagnose : bool, default True
        Run the curvature estimates (suggested step after a divergence, saddle check) and the
        oscillation check. They cost a few extra evaluations, counted in ``nfev``/``njev``.
    args : tuple, default ()
        Extra arguments, as in scipy: ``fun(x, *args)``, ``jac(x, *args)``, ``hess(x, *args)``
        (a value that is not a tuple is one argument).
    tol : float, optional
        scipy's generic tolerance: the default of ``gtol`` for every method, and of ``ftol``
        too for ``lbfgs`` (scipy's mapping for BFGS, CG and L-BFGS-B). An explicit ``gtol`` or
        ``ftol`` wins, as in scipy.
    options : dict, optional
        scipy's options, merged into the keywords: ``maxiter`` (or ``max_iter``), ``gtol``,
        ``ftol``, ``disp``, ``return_all`` (adds ``allvecs``, the iterates as a list),
        ``maxcor`` (``history_size`` of ``lbfgs``), ``lr``, ``line_search``, ``diagnose``, and
        any method option below. An entry for a keyword that was also given a value other than
        its default raises ValueError (as does a method option given both ways); scipy options
        steepest lacks (``norm``, ``c1``, ``maxls``, ...) raise TypeError.
    bounds, constraints
        Not supported (every method is unconstrained): anything that bounds or constrains
        raises NotImplementedError; ``None``, ``()`` and all-infinite bounds are accepted.
    disp : bool, default False
        Print a short summary at the end, as scipy's ``disp``.
    **method_options
        Passed to the optimizer class: ``momentum``, ``dampening``, ``weight_decay``, ``betas``,
        ``eps``, ``amsgrad``, ``rho``, ``alpha``, ``centered``, ``lr_decay``, ...; for ``lbfgs``
        ``history_size`` (default 10), for ``cg`` ``restart`` (default: the dimension).

    Returns
    -------
    OptimizeResult
        With scipy's fields too: ``jac`` (the gradient, the same array as ``grad``) and, for
        ``bfgs``, ``hess_inv`` (the final inverse-Hessian approximation, ``(n, n)``).

    Raises
    ------
    ValueError, TypeError
        For bad arguments (named, with the value and what is allowed), and for a ``fun`` or
        ``jac`` that does not return a real scalar or array of ``x0``'s shape, at any evaluation.
    NotImplementedError
        For ``bounds`` or ``constraints``.

    Examples
    --------
    >>> import numpy as np, steepest as st
    >>> r = st.minimize(lambda x: np.sum((x - 3.0) ** 2), [0.0, 0.0], lr=0.1,
    ...                 jac=lambda x: 2 * (x - 3.0))
    >>> np.round(r.x, 6), r.status
    (array([3., 3.]), 0)
    """
    method = _method(method)
    _unconstrained(bounds, constraints, method)
    controls = {"max_iter": max_iter, "gtol": gtol, "ftol": ftol, "lr": lr,
                "line_search": line_search, "diagnose": diagnose, "disp": disp}
    controls, method_options = _merge_options(options, controls, method_options, method)
    max_iter, gtol, ftol, lr, line_search, diagnose, disp = (
        controls[k] for k in ("max_iter", "gtol", "ftol", "lr", "line_search", "diagnose", "disp"))
    return_all = controls.get("return_all", False)
    x = _initial_point(x0)
    lr = _learning_rate(lr)
    search = _search(line_search, method)
    if hess is not None and method != "newton":
        raise ValueError(f"minimize: hess is used by method='newton' only, got method={method!r}")
    max_iter = check_int("minimize", "max_iter", max_iter, low=0)
    if tol is not None:
        tol = check_real("minimize", "tol", tol, low=0.0)
    # scipy's generic tol sets the method's own tolerance where that is not given: the gradient
    # norm for every method, and also the relative change of f for lbfgs (as L-BFGS-B's ftol)
    gtol = check_real("minimize", "gtol", (1e-6 if tol is None else tol) if gtol is None else gtol,
                      low=0.0)
    ftol = check_real("minimize", "ftol", (tol if tol is not None and method == "lbfgs" else 0.0)
                      if ftol is None else ftol, low=0.0)
    check_bool("minimize", "diagnose", diagnose)
    check_bool("minimize", "disp", disp)
    check_bool("minimize", "options['return_all']", return_all)
    if callback is not None and not callable(callback):
        raise TypeError(f"minimize: callback must be callable or None, got {callback!r}")
    if search is not None and (method_options or callable(lr)):
        what = f"options {sorted(method_options)}" if method_options else "a schedule as lr"
        raise ValueError(f"minimize: with line_search, lr is a number that scales the first trial "
                         f"step and the method takes no options; got {what}")
    fun, jac, hess = _with_args(args, fun, jac, hess)
    objective = _Objective(fun, jac, x)
    if method in SECOND_ORDER:
        _second_order.check_lr(method, lr)
        hessian = objective.hessian(hess, method) if method == "newton" else None
        run = _Run(objective, x, gtol, ftol, max_iter, callback, method)
        run.with_steps(line_search, hessian, method_options)
    elif search is None:
        optimizer_class, kwargs = _optimizer_options(method, method_options)
        param = getattr(objective, "param", None)
        if param is None:  # fun is evaluated in NumPy: the optimizer needs a Tensor to update
            param = Tensor(x, requires_grad=True)
        if lr is not None:
            kwargs["lr"] = lr
        optimizer = optimizer_class([param], **kwargs)
        run = _Run(objective, x, gtol, ftol, max_iter, callback, method)
        if optimizer_class is _optim.SGD:
            run.momentum = optimizer.param_groups[0]["momentum"]
        run.with_optimizer(optimizer, param)
        run.average_of(optimizer, param)
    else:
        run = _Run(objective, x, gtol, ftol, max_iter, callback, method)
        run.with_line_search(search, 1.0 if lr is None else lr)
    result = run.result(diagnose)
    if return_all:
        result.allvecs = [row.reshape(x.shape).copy() for row in result.path]
    if disp:
        print(_disp_text(result))
    return result


class _Run:
    """The loop, its trace and its verdict."""

    def __init__(self, objective: _Objective, x0: np.ndarray, gtol: float, ftol: float,
                 max_iter: int, callback: Any, method: str) -> None:
        self.objective = objective
        self.x0 = x0.copy()
        self.gtol, self.ftol, self.max_iter = gtol, ftol, max_iter
        self.callback = callback
        #: scipy's convention: callback(intermediate_result=...) after each iteration only
        self.scipy_callback = _wants_intermediate_result(callback)
        self.method = method
        self.momentum = 0.0
        self.path: list[np.ndarray] = []
        self.fvals: list[float] = []
        self.grad_norms: list[float] = []
        self.lrs: list[float] = []
        self.evals: list[int] = []  # evaluations of f spent when each iterate was reached
        self.nfev = self.njev = 0
        self.status = 2
        self.detail = ""
        self.last_grads: tuple[np.ndarray, np.ndarray] | None = None  # (previous, current)
        self.f_limit = math.inf
        self.last_is_finite = False  # status 3 from a non-finite Hessian, at a finite iterate
        self.algorithm: Any = None  # the second-order method, for its own diagnostics
        self.average: tuple[np.ndarray, float] | None = None  # schedule-free: (x, f(x))

    # ------------------------------------------------------------------ stopping rules
    def _stop(self, k: int, f: float, gnorm: float, g: np.ndarray, x: np.ndarray) -> bool:
        """Check the iterate ``k`` just evaluated; True when the run ends here."""
        if not (math.isfinite(f) and math.isfinite(gnorm)):
            self.status = 3
            what = (f"f is {f}" if not math.isfinite(f) else
                    "the gradient is not finite" if not np.isfinite(g).all() else
                    f"the gradient norm overflows (f = {f:.6g})")
            self.detail = f"{what} at iteration {k}"
            return True
        if f > self.f_limit:
            self.status = 4
            self.detail = (f"f grew from {self.fvals[0]:.6g} to {f:.6g} by iteration {k}")
            return True
        if (self.callback is not None and (k > 0 or not self.scipy_callback)
                and self._ask_callback(k, f, gnorm, g, x)):
            self.status = 5
            self.detail = f"the callback asked to stop at iteration {k}"
            return True
        if gnorm <= self.gtol:
            self.status = 0
            self.detail = f"||grad|| = {gnorm:.3g} <= gtol = {self.gtol:g} after {k} iterations"
            return True
        if self.ftol > 0 and k > 0:
            previous = self.fvals[-2]
            if abs(previous - f) <= self.ftol * max(abs(previous), abs(f), 1.0):
                self.status = 1
                self.detail = (f"|f change| = {abs(previous - f):.3g} <= ftol = {self.ftol:g} "
                               f"(relative) after {k} iterations")
                return True
        if k >= self.max_iter:
            self.status = 2
            self.detail = f"max_iter = {self.max_iter} reached with ||grad|| = {gnorm:.3g}"
            return True
        return False

    def _ask_callback(self, k: int, f: float, gnorm: float, g: np.ndarray, x: np.ndarray) -> bool:
        grad = g.copy()
        intermediate = OptimizeResult(x=x.copy(), fun=f, grad=grad, jac=grad, grad_norm=gnorm,
                                      nit=k, lr=self.lrs[-1] if self.lrs else None)
        try:
            if self.scipy_callback:
                return self.callback(intermediate_result=intermediate) is True
            return self.callback(intermediate) is True
        except StopIteration:
            return True

    def _start(self) -> tuple[float, np.ndarray]:
        f, g = self.objective.evaluate(self.x0.copy())
        self.nfev += 1
        self.njev += 1
        if math.isfinite(f):
            self.f_limit = f + DIVERGENCE_FACTOR * max(abs(f), 1.0)
        return f, g

    # ------------------------------------------------------------------ the two loops
    def with_optimizer(self, optimizer: Any, param: Tensor) -> None:
        path, fvals, grad_norms, lrs = self.path, self.fvals, self.grad_norms, self.lrs
        group = optimizer.param_groups[0]
        step, stop, vdot, sqrt = optimizer.step, self._stop, np.vdot, math.sqrt
        f, g = self._start()
        evaluate = self.objective.evaluate  # the lean version, after the checked first call
        x = param.data = self.x0.copy()
        previous = g
        k = 0
        while True:
            gnorm = sqrt(vdot(g, g))
            path.append(x.copy())
            fvals.append(f)
            grad_norms.append(gnorm)
            if stop(k, f, gnorm, g, x):
                break
            param.grad = previous = g
            step()
            lrs.append(group["last_lr"])
            x = param.data  # updated in place by the optimizer
            f, g = evaluate(x)
            k += 1
        self.nfev += k
        self.njev += k
        self.last_grads = (previous, g)

    def with_line_search(self, search: Any, scale: float) -> None:
        path, fvals, grad_norms, lrs = self.path, self.fvals, self.grad_norms, self.lrs
        f, g = self._start()
        x = self.x0.copy()
        k = 0
        while True:
            gnorm = math.sqrt(np.vdot(g, g))
            path.append(x)
            self.evals.append(self.nfev)
            fvals.append(f)
            grad_norms.append(gnorm)
            if self._stop(k, f, gnorm, g, x):
                break
            previous = g
            direction = -scale * g
            found = search.search(self.objective.evaluate, x, direction, f, g)
            self.nfev += found.nfev
            self.njev += found.njev
            if not found.success:
                self.status = 6
                self.detail = f"the line search failed at iteration {k}: {found.message}"
                break
            x = x + found.step * direction
            f, g = found.fun, np.asarray(found.grad, dtype=np.float64)
            lrs.append(found.step * scale)
            k += 1
        self.last_grads = (previous if k else g, g)

    def with_steps(self, line_search: Any, hessian: Any, options: dict[str, Any]) -> None:
        """The loop of the second-order methods: one line search per iteration, on flat
        vectors (the algorithm in :mod:`steepest.second_order`)."""
        shape = self.shape = self.x0.shape

        def evaluate(z: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self.objective.evaluate(z.reshape(shape))
            return f, np.asarray(g, dtype=np.float64).reshape(-1)

        algorithm = _second_order.create(self.method, evaluate, self.x0.size,
                                         line_search=line_search, hessian=hessian,
                                         options=options)
        self.algorithm = algorithm
        path, fvals, grad_norms, lrs = self.path, self.fvals, self.grad_norms, self.lrs
        f, g = self._start()
        g = np.asarray(g, dtype=np.float64).reshape(-1)
        x = self.x0.reshape(-1).copy()
        previous, k = g, 0
        while True:
            gnorm = math.sqrt(np.vdot(g, g))
            path.append(x)
            self.evals.append(self.nfev)
            fvals.append(f)
            grad_norms.append(gnorm)
            if self._stop(k, f, gnorm, g.reshape(shape), x.reshape(shape)):
                break
            try:
                step = algorithm.step(x, f, g)
            except _second_order.StepFailure as failure:
                self.nfev += failure.nfev
                self.njev += failure.njev
                self.status = failure.status
                self.last_is_finite = failure.status == 3
                self.detail = (f"the line search failed at iteration {k}: {failure}"
                               if failure.status == 6 else str(failure))
                break
            self.nfev += step.nfev
            self.njev += step.njev
            previous = g
            x, f, g = step.x, step.fun, step.grad
            lrs.append(step.alpha)
            k += 1
        self.last_grads = (previous, g)

    def average_of(self, optimizer: Any, param: Tensor) -> None:
        """A schedule-free optimizer takes its gradients at y (the path) but is judged at its
        average x: put x into the parameter and evaluate f there once."""
        if not callable(getattr(optimizer, "eval", None)) or not self.path:
            return
        optimizer.eval()
        x = param.data.reshape(-1).astype(np.float64, copy=True)
        f, _ = self.objective.evaluate(x.reshape(self.x0.shape))
        self.nfev += 1
        self.average = (x, float(f))

    # ------------------------------------------------------------------ the verdict
    def _final(self) -> tuple[np.ndarray, float, np.ndarray]:
        """x, f and grad to report: the last iterate, or the last finite one after a non-finite
        value (every earlier iterate was finite, or the run would have stopped there)."""
        previous, g = self.last_grads
        if self.status != 3 or self.last_is_finite:
            return self.path[-1], self.fvals[-1], g
        if len(self.path) == 1:
            return self.path[0], self.fvals[0], g
        return self.path[-2], self.fvals[-2], previous

    def result(self, diagnose: bool) -> OptimizeResult:
        nit = len(self.path) - 1
        shape = self.x0.shape
        x, f, g = self._final()
        result = OptimizeResult(
            x=x.reshape(shape).copy(), fun=f, grad=np.array(g).reshape(shape), nit=nit,
            nfev=self.nfev,
            njev=self.njev, success=self.status in (0, 1), status=self.status, message="",
            path=np.array(self.path).reshape(nit + 1, -1), fvals=np.array(self.fvals),
            grad_norms=np.array(self.grad_norms), lrs=np.array(self.lrs, dtype=np.float64),
            method=self.method, diagnostics=[], diverged=False, saddle=False, suggested_lr=None,
            evals=(np.array(self.evals) if self.evals else np.arange(1, nit + 2)),
        )
        if self.status == 4 or (self.status == 3 and self._grew()):
            self._diverged(result, diagnose)
        elif diagnose and self._near_stationary(result):
            self._check_saddle(result)
        if diagnose and not result.diverged and self.method in ("gd", "momentum", "nesterov"):
            self._check_early_steps(result)
        if diagnose and nit >= 3 and self.status in (2, 3, 4):
            oscillation = _diagnostics.detect_oscillation(np.diff(result.path[-52:], axis=0))
            if oscillation.oscillating:
                result.diagnostics.append(oscillation.message)
        if self.algorithm is not None:
            result.diagnostics += getattr(self.algorithm, "report", list)()
            if self.method == "newton":
                result.nhev = self.algorithm.nhev
        if self.average is not None:
            result.x_average = self.average[0].reshape(shape).copy()
            result.fun_average = self.average[1]
            result.diagnostics.append(
                f"{self.method} is judged at its average x, not at the gradient points y of the "
                f"path: f(x_average) = {self.average[1]:.6g} (result.x_average), f(y) = "
                f"{f:.6g} (result.x)")
        unbounded = self._unbounded_below()
        if self.status == 2 and unbounded:
            result.diagnostics.append(
                f"not converged: {self.detail}; f fell from {self.fvals[0]:.6g} to "
                f"{self.fvals[-1]:.6g} and was still falling at the last iteration: {unbounded}, "
                "so there is no minimum to converge to (raising max_iter or tuning lr will "
                "not change that)")
        elif self.status == 2:
            advice = "raise max_iter" + ("" if self.method in SECOND_ORDER else " or tune lr")
            result.diagnostics.append(f"not converged: {self.detail}; {advice}")
        if self.status == 3 and self._fell():
            result.diagnostics.append(f"f fell from {self.fvals[0]:.6g} to {min(self.fvals):.6g}: "
                                      "the function appears to be unbounded below")
        if self.status == 3 and nit > 0 and not self.last_is_finite:
            result.diagnostics.append(f"x, fun and grad are those of the last finite iterate "
                                      f"(iteration {nit - 1})")
        result.message = result.message or f"{STATUS[self.status].split(':')[0]}: {self.detail}"
        result.nfev, result.njev = self.nfev, self.njev
        result.jac = result.grad  # scipy's name for the gradient
        if self.method == "bfgs" and self.algorithm is not None:
            result.hess_inv = self.algorithm.H.copy()  # scipy's field: the inverse approximation
        return result

    def _grew(self) -> bool:
        if len(self.fvals) < 2:  # f(x0) itself is not finite: the run never moved
            return False
        finite = [f for f in self.fvals if math.isfinite(f)]
        f_last = self.fvals[-1]
        return (f_last == math.inf or (len(finite) > 1 and finite[-1] > finite[0]
                and finite[-1] - finite[0] > 1e3 * max(abs(finite[0]), 1.0)))

    def _unbounded_below(self) -> str:
        """Why f looks unbounded below ('' where it does not): a Problem whose f_min is -inf
        (as ``saddle``), or f far below f(x0) and still falling at the end (more iterations only
        go further down)."""
        if len(self.fvals) < 2 or not self.fvals[-1] < min(self.fvals[:-1]):
            return ""
        if self.objective.f_min == -math.inf:
            return "the problem is unbounded below (its f_min is -inf)"
        return "the function appears to be unbounded below" if self._fell() else ""

    def _fell(self) -> bool:
        f0, lowest = self.fvals[0], min(self.fvals)
        return lowest == -math.inf or lowest < f0 - DIVERGENCE_FACTOR * max(abs(f0), 1.0)

    def _near_stationary(self, result: OptimizeResult) -> bool:
        if self.status in (0, 1):
            return True
        g0 = result.grad_norms[0]
        return self.status in (2, 5) and result.grad_norms[-1] <= 1e-3 * g0

    def _evaluations(self) -> tuple[Callable[[np.ndarray], np.ndarray],
                                    Callable[[np.ndarray], float], list[int]]:
        evaluate, calls = self.objective.counted()
        return (lambda z: evaluate(z)[1]), (lambda z: evaluate(z)[0]), calls

    def _check_saddle(self, result: OptimizeResult) -> None:
        if not _estimable(result.x):
            return
        grad, value, calls = self._evaluations()
        try:
            report = _diagnostics.detect_saddle(grad, result.x, value, gtol=None,
                                                hvp=self.objective.hvp())
        except FloatingPointError:  # the gradient is not finite next to x: no verdict
            return
        finally:
            self.nfev += calls[0]
            self.njev += calls[0]
        result.min_hessian_eigenvalue = report.min_eigenvalue
        if report.is_saddle:
            result.saddle = True
            result.success = False
            result.status = self.status = 7
            curvature = (f"Hessian eigenvalue {report.min_eigenvalue:.3g}"
                         if report.min_eigenvalue < 0 else "degenerate: f decreases nearby")
            result.message = (f"stopped at a saddle point ({curvature}), not a minimum: "
                              f"{self.detail}")
            result.diagnostics.append(report.reason + "; perturb x or use momentum to escape")
        elif report.is_saddle is None:
            result.diagnostics.append(report.reason)

    def _diverged(self, result: OptimizeResult, diagnose: bool) -> None:
        result.diverged = True
        result.success = False
        lr = self.lrs[-1] if self.lrs else None
        remedy = "reduce lr"
        if diagnose:
            remedy, suggested, L = self._remedy(lr)
            result.suggested_lr = suggested
            if L is not None:
                result.lipschitz_estimate = L
        result.message = f"diverged: {self.detail}; {remedy}"
        result.diagnostics.append(result.message)
        warnings.warn(f"minimize ({self.method}) {result.message}",
                      _diagnostics.DivergenceWarning, stacklevel=4)

    def _check_early_steps(self, result: OptimizeResult) -> None:
        """Warn when f grew tenfold or more under steps above the stable limit: a schedule such
        as 1/t that falls below 2/L hides the blow-up, and a step that stays above it has not
        diverged yet only because max_iter came first.

        "Recovered" is said only when the step in force at the end is below the limit and f
        ended below f(x0); a step still above the limit with f still growing is "diverging".
        """
        finite = [f for f in self.fvals if math.isfinite(f)]
        f0 = self.fvals[0]
        if len(finite) < 2 or not max(finite) - f0 > 10.0 * max(abs(f0), 1e-12):
            return
        peak = int(np.argmax(self.fvals))
        L = self._lipschitz_at_x0()
        if L is None or not L > 0:
            return
        limit, formula = self._stable_limit(L)
        over = [t for t, lr in enumerate(self.lrs[:peak], start=1) if lr > limit]
        if not over:
            return
        grew = max(finite) / abs(f0) if f0 != 0 else math.inf
        steps = f"t = {over[0]}" if len(over) == 1 else f"t = {over[0]}..{over[-1]}"
        lrs = self.lrs
        constant = all(lr == lrs[0] for lr in lrs)
        shown = f"lr = {lrs[0]:.4g}" if constant else f"lr_1 = {lrs[0]:.3g}"
        f_last = self.fvals[-1]
        stable_now = lrs[-1] <= limit
        safe = (f"lr <= {limit / 2:.3g} (every constant lr < {limit:.3g} is stable on a "
                "quadratic whose largest curvature is L)")
        head = f"unstable early steps: lr_t exceeded {formula} = {limit:.3g} (L ~ {L:.3g} at x0)"
        if stable_now and f_last < f0:
            message = (f"{head} for {steps} ({shown}), and f grew {grew:.3g}x to "
                       f"{max(finite):.6g} by iteration {peak} before the steps fell below the "
                       f"limit; the run recovered, but start with lr_1 <= {limit / 2:.3g} (or a "
                       "warm-up) so that the early steps are stable")
        elif not stable_now and peak == len(self.fvals) - 1:
            rate = (shown if constant else
                    f"lr_t (lr_1 = {lrs[0]:.3g}, lr_{len(lrs)} = {lrs[-1]:.3g})")
            every = ("at every step" if len(over) == len(lrs) else
                     f"for {steps} and still at the last step")
            advice = safe if constant else f"lr_1 <= {limit / 2:.3g} (or a warm-up)"
            message = (f"unstable steps: {rate} stays above {formula} = {limit:.3g} (L ~ "
                       f"{L:.3g} at x0) {every}, and f grew {grew:.3g}x from {f0:.6g} to "
                       f"{f_last:.6g} by the last iteration and is still growing: the run is "
                       f"diverging; use {advice}")
        else:
            where = ("the step is still above the limit at the last iteration"
                     if not stable_now else "the steps fell below the limit")
            end = (f"f = {f_last:.6g} at the end is still above f(x0) = {f0:.6g}"
                   if f_last >= f0 else f"f = {f_last:.6g} at the end")
            message = (f"{head} for {steps} ({shown}), and f grew {grew:.3g}x to "
                       f"{max(finite):.6g} by iteration {peak}; {where}, and {end}; use "
                       f"{'lr_1' if not constant else 'lr'} <= {limit / 2:.3g}"
                       f"{' (or a warm-up)' if not constant else ''}")
        result.unstable_steps = over
        result.diagnostics.append(message)
        warnings.warn(f"minimize ({self.method}) {message}", _diagnostics.UnstableStepWarning,
                      stacklevel=4)

    def _remedy(self, lr: float | None) -> tuple[str, float | None, float | None]:
        """What to do, from the curvature at x0: (advice, suggested lr, L estimate)."""
        L = self._lipschitz_at_x0()
        if self.method in _ADAPTIVE:
            if lr is None:
                return "reduce lr", None, L
            suggested = lr / 10
            return (f"{self.method} moves each coordinate by about lr per step whatever the "
                    f"curvature; lr={lr:.3g} is too large, try lr <= {suggested:.3g}",
                    suggested, L)
        if L is None or L == 0:
            return "reduce lr (the curvature at x0 could not be estimated)", None, L
        limit, formula = self._stable_limit(L)
        suggested = limit / 2.0  # 1/L for plain gradient descent: safely inside
        if lr is not None and lr > limit:
            advice = (f"lr={lr:.3g} > {formula} = {limit:.3g} (L ~ {L:.3g}, the largest "
                      f"curvature estimated at x0); try lr <= {suggested:.3g}")
        else:
            shown = "lr" if lr is None else f"lr={lr:.3g}"
            advice = (f"{shown} is below {formula} = {limit:.3g} at x0 (L ~ {L:.3g}), but the "
                      f"curvature grows along the path; try a smaller lr, a line search, or "
                      f"lr <= {suggested:.3g} from a better start")
        return advice, suggested, L

    def _lipschitz_at_x0(self) -> float | None:
        """The largest curvature estimated at x0, or None where it cannot be estimated (the
        gradient is not finite next to x0, or x0 is too large to difference around)."""
        if not _estimable(self.x0):
            return None
        grad, _, calls = self._evaluations()
        try:
            return _diagnostics.lipschitz_estimate(grad, self.x0, hvp=self.objective.hvp())
        except FloatingPointError:  # the gradient is not finite next to x0
            return None
        finally:
            self.nfev += calls[0]
            self.njev += calls[0]

    def _stable_limit(self, L: float) -> tuple[float, str]:
        r"""The largest constant step that is stable on a quadratic of curvature L (dampening 0).

        On an eigen-direction with curvature :math:`\lambda` and :math:`a = \text{lr}\,
        \lambda`, the iteration is stable iff :math:`a < 2` (GD), :math:`a < 2(1 + \beta)`
        (heavy ball) or :math:`a < 2(1 + \beta)/(1 + 2\beta)` (PyTorch's Nesterov form), by
        the Jury conditions on the 2x2 iteration matrix.
        """
        beta = self.momentum
        if beta == 0:
            return 2.0 / L, "2/L"
        if self.method == "nesterov":
            return 2.0 * (1 + beta) / ((1 + 2 * beta) * L), f"2(1+m)/((1+2m)L) with m={beta:g}"
        return 2.0 * (1 + beta) / L, f"2(1+m)/L with momentum m={beta:g}"


minimize.METHODS = METHODS  # so that st.minimize.METHODS works on the function as well


class _CallableModule(types.ModuleType):
    """``import steepest.minimize`` binds the module to ``steepest.minimize``; make it callable
    so that ``st.minimize(...)`` works whichever of the two the name refers to."""

    def __call__(self, *args: Any, **kwargs: Any) -> OptimizeResult:
        return minimize(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(minimize)  # what inspect/help show for the callable module
