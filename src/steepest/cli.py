"""The ``steepest`` command: the demo report, one minimisation, a comparison, a training run.

Run ``steepest --help`` or ``steepest COMMAND --help``. Bad arguments end with exit status 2 and
one line on standard error that says what was wrong and what is allowed; progress and summaries
go to standard error and standard output, and ``--json`` puts nothing but JSON on standard output.
A warning is one line, ``steepest COMMAND: warning: ...``, on standard error; NumPy's
floating-point warnings are not passed on (a diverged run says so in its own words).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
import textwrap
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .experiments import to_json

__all__ = ["main", "build_parser", "UsageError", "parse_lr", "to_json"]

PROG = "steepest"


class UsageError(Exception):
    """A bad command-line argument: reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-written layout of descriptions and examples; shows defaults."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" not in text and action.default not in (None, False, [], argparse.SUPPRESS) \
                and action.option_strings:
            text += " (default: %(default)s)"
        return text


# ------------------------------------------------------------------------------------ parsing
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as -1.5,2; got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite comma-separated numbers, got {text!r}")
    return values


def _int_list(text: str) -> list[int]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 128,64; got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    return values


_SCHEDULE_SYNTAX = ("0.01, 1/t, 0.5/t, 0.1/t^0.6, power:LR0:P, invtime:LR0:DECAY, "
                    "step:LR0:EVERY[:GAMMA], exp:LR0:GAMMA, cosine:LR0[:STEPS[:LR_MIN]], "
                    "warmup:STEPS:SCHEDULE")


def parse_lr(text: str, total_steps: int | None = None) -> float | Any:
    """A learning rate from the command line: a positive number, or a schedule (``1/t``, ...).

    Parameters
    ----------
    text : str
        A number or :func:`steepest.schedules.parse` syntax.
    total_steps : int, optional
        The run's number of updates, the length of ``cosine:LR0`` when the text gives none.

    Raises
    ------
    UsageError
        For malformed text, with the accepted syntax on the same line.
    """
    from . import schedules
    try:
        value = float(text)
    except ValueError:
        try:
            return schedules.parse(text, total_steps=total_steps)
        except (ValueError, TypeError) as error:
            reason = str(error).splitlines()[0].split(": ", 1)[-1]
            raise UsageError(f"--lr: {reason}; accepted: {_SCHEDULE_SYNTAX}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--lr must be a positive number or a schedule, got {text!r}; "
                         f"accepted: {_SCHEDULE_SYNTAX}")
    return value


def _describe_lr(lr: Any, result: Any = None, line_search: str | None = None
                 ) -> tuple[str | None, str]:
    """The learning rate of a ``minimize`` run as its JSON shows it, and where it came from.

    Returns
    -------
    (text, source)
        ``text`` is the given rate (a number to 6 digits or a schedule's ``repr``); without one,
        the method's default as the run recorded it, or None where a line search chose every
        step. ``source`` is ``"given"``, ``"default"`` or ``"line search"``.
    """
    if lr is not None:
        return (f"{lr:g}" if isinstance(lr, float | int) else repr(lr)), "given"
    if line_search is not None:
        return None, "line search"
    lrs = np.asarray([] if result is None else result.get("lrs", []), dtype=np.float64)
    # a run stopped at x0 (f not finite there) took no step, so recorded no rate
    return (f"{lrs[0]:g}" if lrs.size and np.isfinite(lrs[0]) else None), "default"


def _choice(kind: str, value: str, names: Sequence[str]) -> str:
    if value not in names:
        raise UsageError(f"unknown {kind} {value!r}; choose from: {', '.join(names)}")
    return value


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs of ``--option``: numbers, booleans, tuples such as 0.9,0.999."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--option expects KEY=VALUE such as momentum=0.9, got {pair!r}")
        options[key] = _option_value(text)
    return options


def _option_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    parts = [part for part in text.split(",") if part.strip()]
    try:
        numbers = [int(p) if p.strip().lstrip("-").isdigit() else float(p) for p in parts]
    except ValueError:
        return text
    return numbers[0] if len(numbers) == 1 and "," not in text else tuple(numbers)


# ------------------------------------------------------------------------------------ help
_MAIN_DESCRIPTION = """\
steepest: gradient descent and neural networks from first principles, on NumPy.

Start with `steepest demo`: it writes a report (index.html) that shows gradient descent with
steps 1/n, the problems of plain gradient descent, every optimizer of the family on two
problems, and a network trained on handwritten digits. `steepest COMMAND --help` explains each
command.
"""

_MAIN_EPILOG = """\
examples:
  steepest demo --out steepest-demo          # then open steepest-demo/index.html
  steepest minimize rosenbrock --method adam --lr 0.02 --max-iter 5000 --plot rosenbrock.png
  steepest compare quadratic --kappa 50 --methods gd,momentum,nesterov,adam
  steepest train digits --hidden 128 --epochs 30 --out runs/digits
  steepest backprop --hidden 3,2 --activation tanh   # one backward pass, every number
"""

_SCHEDULE_HELP = ("learning rate: a number (0.01) or a schedule such as 1/t, 0.5/t, 0.1/t^0.6, "
                  "cosine:0.1, exp:0.1:0.99, step:0.1:30:0.5, warmup:100:cosine:0.1")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``steepest`` command and its subcommands."""
    from . import __version__
    parser = _Parser(prog=PROG, description=_MAIN_DESCRIPTION, epilog=_MAIN_EPILOG,
                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"steepest {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                     title="commands")
    _add_demo(commands)
    _add_minimize(commands)
    _add_compare(commands)
    _add_train(commands)
    _add_backprop(commands)
    from .sweep import add_cli as _add_sweep  # Dask is imported only when a sweep runs
    _add_sweep(commands, _subparser)
    from .explore import add_cli as _add_explore  # Starlette is imported only when it serves
    _add_explore(commands, _subparser)
    return parser


def _subparser(commands: Any, name: str, summary: str, description: str, examples: str
               ) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=summary, description=description,
                               epilog="examples:\n" + textwrap.indent(examples, "  "),
                               formatter_class=_Formatter)


def _add_demo(commands: Any) -> None:
    p = _subparser(
        commands, "demo", "build the tutorial report (index.html) with its figures",
        "Run the demonstration experiments and write a self-contained report, index.html, with\n"
        "its figures: gradient descent with steps 1/n, the problems of plain gradient descent\n"
        "(oscillation, tiny steps, saddle points), the whole optimizer family on Rosenbrock and\n"
        "on an ill-conditioned quadratic, and a network trained on handwritten digits.",
        "steepest demo\nsteepest demo --out /tmp/report --quick")
    p.add_argument("--out", default="steepest-demo", metavar="DIR",
                   help="directory for index.html and the figures")
    p.add_argument("--quick", action="store_true",
                   help="reduced budget (fewer iterations and epochs): a smoke test in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the network and data split")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _add_problem_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("problem", metavar="PROBLEM",
                   help="test problem: quadratic, rosenbrock, beale, himmelblau, saddle, "
                        "monkey_saddle, rastrigin, logistic_regression")
    p.add_argument("--dim", type=_positive_int, help="dimension (quadratic, rosenbrock, ...)")
    p.add_argument("--kappa", type=_nonnegative_float,
                   help="condition number of the quadratic")
    p.add_argument("--x0", type=_float_list, metavar="X1,X2,...",
                   help="start point, e.g. --x0 -1.5,2 (default: the problem's)")
    p.add_argument("--max-iter", type=_positive_int, default=1000, metavar="N",
                   help="largest number of iterations")
    p.add_argument("--gtol", type=_nonnegative_float, default=1e-6,
                   help="stop when the gradient norm falls below this")
    p.add_argument("--plot", metavar="FILE", help="save a figure (PNG, PDF or SVG by suffix)")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON on standard output (and nothing else)")


def _add_minimize(commands: Any) -> None:
    p = _subparser(
        commands, "minimize", "run one method on a test problem and say what happened",
        "Minimise a test problem with one method of the gradient-descent family and print the\n"
        "outcome: iterations, final value and gradient norm, status, and the diagnostics'\n"
        "warnings (divergence, oscillation, saddle points) with what to try instead.",
        "steepest minimize rosenbrock --method momentum --lr 1e-3 --max-iter 5000\n"
        "steepest minimize quadratic --kappa 100 --method gd --line-search armijo\n"
        "steepest minimize quadratic --kappa 3 --method gd --lr 0.5/n --max-iter 50\n"
        "steepest minimize beale --method gd --lr 0.01 --x0=1,1 --max-iter 5000 --plot beale.png\n"
        "steepest minimize himmelblau --method adam --lr cosine:0.1 --json > run.json")
    _add_problem_arguments(p)
    p.add_argument("--method", default="gd", help="gd, momentum, nesterov, adagrad, rmsprop, "
                   "adam, adamw, adadelta, adamax, nadam, radam, rprop, asgd, adafactor, lion, "
                   "schedule_free_adamw, or the second-order newton, bfgs, lbfgs, cg (their own "
                   "line search; no --lr)")
    p.add_argument("--lr", type=str, help=_SCHEDULE_HELP + " (default: the method's)")
    p.add_argument("--line-search", choices=("armijo", "wolfe", "none"), default="none",
                   help="choose each step by a line search (gd; newton, bfgs, lbfgs and cg "
                        "search by default, armijo for newton only)")
    p.add_argument("--momentum", type=_nonnegative_float,
                   help="momentum coefficient of momentum and nesterov")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="any other option of the method, e.g. betas=0.9,0.99 or eps=1e-10; "
                        "repeatable")


def _add_compare(commands: Any) -> None:
    p = _subparser(
        commands, "compare", "run several methods on one problem, side by side",
        "Run several methods on one problem from the same start and print a table: iterations to\n"
        "the tolerance, final error, gradient norm, observed convergence rate. A method without\n"
        "a learning rate gets one from a small grid search (said so in the table).",
        "steepest compare rosenbrock\n"
        "steepest compare quadratic --kappa 100 --methods gd,momentum,nesterov --plot q.png\n"
        "steepest compare beale --methods gd,adam --lr gd=1e-3 --lr adam=0.05")
    _add_problem_arguments(p)
    p.set_defaults(max_iter=2000)
    p.add_argument("--methods", default="default", metavar="M1,M2,...",
                   help="methods to compare; gd+armijo and gd+wolfe mean gd with that line "
                        "search; 'all' adds adamw, adamax, nadam (default: gd, gd+armijo, "
                        "momentum, nesterov, adagrad, rmsprop, adam, adadelta)")
    p.add_argument("--lr", action="append", default=[], metavar="[METHOD=]LR",
                   help="learning rate for every method (LR) or for one (METHOD=LR), "
                        "repeatable; " + _SCHEDULE_HELP)
    p.add_argument("--tol", type=_nonnegative_float, default=1e-8,
                   help="'iterations to tolerance' counts iterations until f - f* <= tol")
    p.add_argument("--no-tune", action="store_true",
                   help="use each method's default learning rate instead of a grid search")


def _add_train(commands: Any) -> None:
    p = _subparser(
        commands, "train", "train a network on a bundled dataset or a CSV/NPZ file",
        "Train a fully connected network by backpropagation on a bundled dataset (digits, iris,\n"
        "wine, breast_cancer, diabetes) or on your CSV/NPZ file, with a progress bar per epoch,\n"
        "then report the metrics on held-out data. Features are standardised on the training set.\n"
        "Ctrl-C or SIGTERM stops after the current batch, writing the finished epochs' results\n"
        "and the --checkpoint (exit status 130, or 143 after SIGTERM); --resume continues it.",
        "steepest train digits --hidden 128,64 --epochs 30 --out runs/digits\n"
        "steepest train iris --optimizer sgd --lr 0.1 --momentum 0.9\n"
        "steepest train data.csv --target price --hidden 64 --lr cosine:0.01\n"
        "steepest train digits --epochs 10 --checkpoint ckpt.npz\n"
        "steepest train digits --epochs 20 --resume ckpt.npz")
    p.add_argument("data", metavar="DATA", help="bundled dataset name or path to a .csv/.npz file")
    p.add_argument("--target", help="name of the target column (CSV) or array (NPZ, default y)")
    p.add_argument("--task", choices=("classification", "regression"),
                   help="override the task inferred from the target")
    p.add_argument("--hidden", type=_int_list, default="128", metavar="W1,W2,...",
                   help="hidden layer widths; 0 for none (a linear model)")
    p.add_argument("--activation", default="relu",
                   help="relu, leaky_relu, tanh, sigmoid or gelu")
    p.add_argument("--dropout", type=_fraction, default=0.0, help="dropout probability")
    p.add_argument("--optimizer", default="adam",
                   help="sgd, adagrad, rmsprop, adam, adamw, adadelta, adamax, nadam, "
                   "radam, rprop, asgd, adafactor, lion or schedule_free_adamw")
    p.add_argument("--lr", type=str, help=_SCHEDULE_HELP + " (default: the optimizer's)")
    p.add_argument("--momentum", type=_nonnegative_float, help="momentum of sgd and rmsprop")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (sgd)")
    p.add_argument("--weight-decay", type=_nonnegative_float, help="L2 penalty / decoupled decay")
    p.add_argument("--betas", type=_float_list, metavar="B1,B2", help="Adam's betas")
    p.add_argument("--epochs", type=_positive_int, default=30, help="passes over the training set")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="examples per update")
    p.add_argument("--validation", type=_fraction, default=0.15,
                   help="fraction of the data held out for validation")
    p.add_argument("--test", type=_fraction, default=0.15,
                   help="fraction of the data held out for the final test")
    p.add_argument("--patience", type=_positive_int,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, split, shuffling")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="save model, optimizer and progress here after every epoch; {epoch} in "
                   "the name (ck_{epoch:03d}.npz) keeps one file per epoch")
    p.add_argument("--resume", metavar="FILE",
                   help="continue from a checkpoint, with the settings of its run (only --epochs "
                   "may change; --lr may spell out the optimizer's default)")
    p.add_argument("--out", metavar="DIR", help="write curves, metrics and the trained model here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true",
                   help="print the final metrics as JSON (\"epochs\" counts restored epochs too; "
                   "\"epochs_trained\" and \"epochs_restored\" split it, \"checkpoint\" is the "
                   "file written last)")


def _add_backprop(commands: Any) -> None:
    p = _subparser(
        commands, "backprop", "print one forward and backward pass of a tiny network",
        "Build a tiny fully connected network, run one forward and one backward pass on a small\n"
        "batch, and print every step with its formula and numbers (steepest.nn.backprop_trace):\n"
        "z = a W^T + b, a = f(z), the loss, delta = dL/dz layer by layer, dW = delta^T a_in and\n"
        "db = sum(delta). Then take one step W := W - lr dW and print the loss before and after.",
        "steepest backprop\nsteepest backprop --hidden 3,2 --activation tanh --seed 0 --lr 0.5\n"
        "steepest backprop --loss cross_entropy --outputs 3 --batch 6")
    p.add_argument("--inputs", type=_positive_int, default=2, help="input features")
    p.add_argument("--hidden", type=_int_list, default="3", metavar="W1,W2,...",
                   help="hidden layer widths; 0 for none")
    p.add_argument("--outputs", type=_positive_int, default=1, help="output units")
    p.add_argument("--activation", default="tanh", help="relu, leaky_relu, tanh, sigmoid or gelu")
    p.add_argument("--loss", choices=("mse", "cross_entropy"), default="mse",
                   help="mse on a smooth target, or cross_entropy on classes")
    p.add_argument("--batch", type=_positive_int, default=4, help="examples in the batch")
    p.add_argument("--lr", type=float, default=0.1, help="step size of the update W := W - lr dW")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch")
    p.add_argument("--precision", type=_positive_int, default=4, help="digits shown")


# ------------------------------------------------------------------------------------ output
def _stdout(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def _stderr(text: str = "") -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ commands
def _problem(args: argparse.Namespace) -> Any:
    from . import problems
    _choice("problem", args.problem, problems.NAMES)
    _check_size(args)
    kwargs = {k: v for k, v in (("dim", args.dim), ("kappa", args.kappa)) if v is not None}
    return problems.get(args.problem, **kwargs)


def _start(args: argparse.Namespace, problem: Any) -> np.ndarray:
    if args.x0 is None:
        return np.asarray(problem.x0, dtype=np.float64)
    x0 = np.asarray(args.x0, dtype=np.float64)
    if x0.size != problem.dim:
        raise UsageError(f"--x0 has {x0.size} numbers but {problem.name} has dimension "
                         f"{problem.dim}")
    return x0


def _cmd_minimize(args: argparse.Namespace) -> int:
    from . import experiments
    from .minimize import METHODS
    from .second_order import METHODS as SECOND_ORDER
    method = _choice("method", args.method, METHODS)
    plot_path = _writable(args.plot, figure=True) if args.plot else None
    problem = _problem(args)
    x0 = _start(args, problem)
    lr = parse_lr(args.lr, total_steps=args.max_iter) if args.lr is not None else None
    options = _options(args.option)
    if args.momentum is not None:
        options["momentum"] = args.momentum
    line_search = None if args.line_search == "none" else args.line_search
    with warnings.catch_warnings():  # they are in the result's diagnostics, shown below
        warnings.simplefilter("ignore")
        result = experiments.run_method(problem, method, lr=lr, line_search=line_search,
                                        x0=x0, max_iter=args.max_iter, gtol=args.gtol, **options)
    # newton, bfgs, lbfgs and cg search along each direction unless told otherwise (strong
    # Wolfe): say so, rather than call the first accepted step "the method's default" lr
    used_search = line_search or ("wolfe" if method in SECOND_ORDER else None)
    summary = experiments.summarize_result(problem, result, lr=lr, line_search=used_search)
    if args.json:
        _stderr(summary)
        lr_text, lr_source = _describe_lr(lr, result, used_search)
        payload = {"problem": problem.name, "dim": problem.dim, "lr": lr_text,
                   "lr_source": lr_source, "line_search": used_search, **to_json(dict(result))}
        _stdout(json.dumps(to_json(payload), allow_nan=False))
    else:
        _stdout(summary)
    if plot_path:
        from . import plot
        path = plot.save(
            experiments.result_figure(problem, {_label(method, line_search): result}), plot_path)
        (_stderr if args.json else _stdout)(f"figure written to {path}")
    return 0


def _label(method: str, line_search: str | None) -> str:
    return method if line_search is None else f"{method}+{line_search}"


_FIGURE_SUFFIXES = ("", ".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".webp")


def _writable(path: str, figure: bool = False) -> Path:
    """Check before a run that its output can be written (directory exists, known format)."""
    target = Path(path)
    if figure and target.is_dir():
        raise UsageError(f"--plot {path!r} is a directory; give a file name such as "
                         f"{str(target / 'figure.png')!r}")
    if target.parent and not target.parent.exists():
        raise UsageError(f"cannot write {path!r}: directory {str(target.parent)!r} does not exist")
    if figure and target.suffix.lower() not in _FIGURE_SUFFIXES:
        raise UsageError(f"--plot {path!r}: unknown image format {target.suffix!r}; use one of "
                         f"{', '.join(s for s in _FIGURE_SUFFIXES if s)}")
    return target


def _creatable_dir(option: str, directory: Path) -> None:
    """Make ``directory`` before a run (which may take minutes), so that a path that cannot be
    written fails at once rather than after the training."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(f"{option} {str(directory)!r}: cannot create the directory ({reason})"
                         ) from None
    _probe_writable(option, directory)


def _probe_writable(option: str, directory: Path) -> None:
    """Create and delete a file in ``directory``: permissions, a read-only file system or a
    full disk show up now, before training, not when the results are written."""
    probe = directory / f".steepest-write-test-{os.getpid()}"
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, b"x")
        finally:
            os.close(descriptor)
            os.unlink(probe)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(f"{option}: cannot write in {str(directory)!r} ({reason})") from None


def _existing_file(option: str, path: str, missing: str) -> None:
    """``path`` is a regular file: refuse a missing path, a directory, and a named pipe or
    device (reading one could wait forever) with a message that says which."""
    target, prefix = Path(path), f"{option}: " if option else ""
    if not target.exists():
        raise UsageError(f"{prefix}{missing}: {path!r}")
    if target.is_dir():
        raise UsageError(f"{prefix}{path!r} is a directory, not a file")
    if not target.is_file():
        kind = "a named pipe (FIFO)" if target.is_fifo() else "a device or socket"
        raise UsageError(f"{prefix}{path!r} is not a regular file (it is {kind})")


def _writable_checkpoint(path: str) -> None:
    """The name formats (only ``{epoch}`` may be a field), its directory exists and takes files;
    the path is not a directory."""
    from .train.checkpoint import _check_checkpoint_pattern, _checkpoint_target
    try:
        _check_checkpoint_pattern("--checkpoint", path)
    except ValueError as error:
        raise UsageError(str(error).replace("checkpoint=", "", 1)) from None
    target = Path(_checkpoint_target(path, 1))
    if target.is_dir():
        raise UsageError(f"--checkpoint {path!r} is a directory; give a file name such as "
                         f"{str(target / 'checkpoint.npz')!r}")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"--checkpoint {path!r}: directory {str(directory)!r} does not exist")
    _probe_writable("--checkpoint", directory)


#: The most memory (bytes) the iterates of one run may take: minimize keeps every iterate.
_PATH_BUDGET = 1 << 30


def _check_size(args: argparse.Namespace) -> None:
    """Refuse a --dim whose iterates would not fit in memory, before allocating any."""
    if args.dim is None:
        return
    need = args.dim * (args.max_iter + 1) * 8
    if need > _PATH_BUDGET:
        raise UsageError(f"--dim {args.dim} with --max-iter {args.max_iter} would keep "
                         f"{args.max_iter + 1} iterates of {args.dim} numbers "
                         f"({need / 2 ** 30:.3g} GiB, the limit is {_PATH_BUDGET / 2 ** 30:g} GiB); "
                         f"lower --dim or --max-iter")


def _compare_lrs(entries: Sequence[str], methods: Sequence[str], total_steps: int
                 ) -> dict[str, Any]:
    """``--lr`` values: ``LR`` for every method, or ``METHOD=LR`` for one."""
    from .second_order import METHODS as SECOND_ORDER  # they take no lr
    lrs: dict[str, Any] = {}
    for entry in entries:
        name, sep, text = entry.partition("=")
        if sep and name in methods:
            lrs[name] = parse_lr(text, total_steps)
        elif sep and name.replace("+", "").replace("_", "").isalpha():
            raise UsageError(f"--lr {entry!r} names method {name!r}, which is not among the "
                             f"compared methods: {', '.join(methods)}")
        else:  # every method that takes a learning rate; a line search finds its own steps
            value = parse_lr(entry, total_steps)
            lrs.update({m: value for m in methods if m not in lrs and "+" not in m
                        and m not in SECOND_ORDER})
    return lrs


def _cmd_compare(args: argparse.Namespace) -> int:
    from . import experiments
    from .diagnostics import convergence_order
    methods = experiments.parse_methods(args.methods)
    plot_path = _writable(args.plot, figure=True) if args.plot else None
    problem = _problem(args)
    x0 = _start(args, problem)
    lrs = _compare_lrs(args.lr, methods, args.max_iter)
    progress = experiments.Progress(enabled=not args.json)
    with warnings.catch_warnings():  # diverging runs say so in the table
        warnings.simplefilter("ignore")
        runs = experiments.compare(problem, methods, lrs=lrs, x0=x0, max_iter=args.max_iter,
                                   gtol=args.gtol, tol=args.tol, tune=not args.no_tune,
                                   progress=progress)
    text = experiments.comparison_text(problem, runs, tol=args.tol, x0=x0,
                                       max_iter=args.max_iter)
    text += "\n\nobserved order of convergence (of the gradient norm, last steps):\n" + "\n".join(
        f"  {run.label}: {convergence_order(run.result.grad_norms).message}" for run in runs)
    if args.json:
        _stderr(text)
        payload = {"problem": problem.name, "dim": problem.dim, "tol": args.tol,
                   "runs": [run.to_json() for run in runs]}
        _stdout(json.dumps(to_json(payload), allow_nan=False))
    else:
        _stdout(text)
    if plot_path:
        from . import plot
        path = plot.save(experiments.result_figure(problem, {r.label: r.result for r in runs}),
                         plot_path)
        (_stderr if args.json else _stdout)(f"figure written to {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import experiments, report
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a directory")
    _creatable_dir("--out", out)
    index = report.build_demo(out, quick=args.quick, seed=args.seed,
                              progress=experiments.Progress(enabled=not args.quiet))
    _stdout(f"report written to {index}  (open it in a browser)")
    return 0


def _load_data(args: argparse.Namespace) -> Any:
    """A bundled dataset by name, or a CSV/NPZ file by path."""
    from . import data
    source = args.data
    if source in data.DATASETS:
        if args.target:
            raise UsageError(f"--target applies to CSV/NPZ files; {source!r} is a bundled "
                             "dataset with its own target")
        return data.load_dataset(source)
    suffix = Path(source).suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise UsageError(f"unknown dataset {source!r}; choose from: {', '.join(data.DATASETS)}, "
                         "or give the path of a .csv or .npz file")
    _existing_file("", source, "no such file")
    if suffix == ".csv":
        if not args.target:
            raise UsageError(f"--target is required for a CSV file: name the column of "
                             f"{source!r} to predict")
        return data.load_csv(source, args.target, task=args.task)
    return data.load_npz(source, y_key=args.target or "y", task=args.task)


def _cmd_train(args: argparse.Namespace) -> int:
    from . import experiments, optim
    if args.optimizer == "lbfgs":  # it needs a closure re-evaluating the whole loss
        raise UsageError("--optimizer lbfgs is not for minibatch training: L-BFGS re-evaluates the "
                         "loss on the whole data set at every step; use steepest.optim.LBFGS with "
                         "a closure, or the scikit-learn estimator's solver='lbfgs'")
    _choice("optimizer", args.optimizer, [name for name in optim.OPTIMIZERS if name != "lbfgs"])
    _choice("activation", args.activation, experiments.ACTIVATIONS)
    if args.betas is not None and len(args.betas) != 2:
        raise UsageError(f"--betas takes two numbers such as 0.9,0.999; got {args.betas}")
    if args.validation + args.test >= 1:
        raise UsageError(f"--validation {args.validation:g} and --test {args.test:g} leave no "
                         "training data; their sum must be below 1")
    if args.patience is not None and args.validation == 0:
        raise UsageError("--patience watches the validation loss: it needs --validation > 0")
    if args.resume:
        _existing_file("--resume", args.resume, "no such checkpoint")
    out = None
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {args.out!r} exists and is not a directory")
        _creatable_dir("--out", out)
    if args.checkpoint:
        _writable_checkpoint(args.checkpoint)
    dataset = _load_data(args)
    if args.task and args.task != dataset.task and args.data in _bundled():
        raise UsageError(f"{args.data} is a {dataset.task} dataset; --task {args.task} does not "
                         "apply")
    if args.lr is not None:
        parse_lr(args.lr, total_steps=1)  # a malformed --lr is a usage error, before any work
    try:
        summary = experiments.train_network(
            dataset, hidden=args.hidden, activation=args.activation, dropout=args.dropout,
            optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
            nesterov=args.nesterov or None, weight_decay=args.weight_decay,
            betas=tuple(args.betas) if args.betas else None, epochs=args.epochs,
            batch_size=args.batch_size, validation=args.validation, test=args.test,
            patience=args.patience, seed=args.seed, checkpoint=args.checkpoint,
            resume=args.resume, out=out, progress=not (args.quiet or args.json))
    except experiments.TrainingInterrupted as stop:
        if _stopping_signal(stop) == "SIGTERM":
            _stderr(f"{PROG} train: stopped by SIGTERM; {stop.what()}")
            return _SIGTERM_STATUS
        _stderr(f"{PROG} train: interrupted; {stop.what()}")
        return 130
    if args.json:
        _stderr(summary.text)
        _stdout(json.dumps(to_json(summary.metrics), allow_nan=False))
    else:
        _stdout(summary.text)
    return 0


#: The exit status after SIGTERM, 128 + 15, as a shell reports a process it ended.
_SIGTERM_STATUS = 143


def _stopping_signal(error: BaseException) -> str | None:
    """The name of the signal that stopped a command ("SIGINT", "SIGTERM"), from the interrupt
    steepest raised for it: its ``signal`` attribute, the interrupted run's history (a
    :class:`~steepest.experiments.TrainingInterrupted`'s summary), or the interrupt it was
    raised while handling; None when none says."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        number = getattr(current, "signal", None)
        if number is not None:
            return getattr(number, "name", str(number))
        summary = getattr(current, "summary", None)
        for history in (getattr(summary, "history", None), getattr(current, "history", None)):
            name = getattr(history, "interrupted_by", None)
            if isinstance(name, str):
                return name
        current = current.__cause__ or current.__context__
    return None


def _cmd_backprop(args: argparse.Namespace) -> int:
    from . import experiments, nn
    from ._random import manual_seed
    _choice("activation", args.activation, experiments.ACTIVATIONS)
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr:g}")
    if args.loss == "cross_entropy" and args.outputs < 2:
        raise UsageError("--loss cross_entropy needs --outputs 2 or more (one score per class)")
    if args.batch > 1000 or args.inputs > 100 or any(w > 100 for w in args.hidden):
        raise UsageError("backprop prints every number: keep --batch <= 1000 and widths <= 100")
    manual_seed(args.seed)
    model = nn.mlp(args.inputs, args.hidden, args.outputs, args.activation, dtype=np.float64)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.batch, args.inputs))
    if args.loss == "mse":
        loss = nn.MSELoss()
        y = np.sin(X.sum(axis=1, keepdims=True)) * np.ones((1, args.outputs))
    else:
        loss = nn.CrossEntropyLoss()
        y = rng.integers(0, args.outputs, args.batch)
    trace = nn.backprop_trace(model, loss, X, y)
    widths = "-".join(str(w) for w in [args.inputs, *args.hidden, args.outputs])
    _stdout(f"network {widths} ({args.activation}), loss {trace.loss_name}, batch of "
            f"{args.batch}, seed {args.seed}")
    with np.printoptions(precision=args.precision, suppress=True):
        _stdout(f"X =\n{X}\ny =\n{y}\n")
        _stdout(trace.text(precision=args.precision))
        after = trace.step(args.lr)
        _stdout(f"\nupdate with lr = {args.lr:g}: W := W - lr dW, b := b - lr db")
        for k, new in enumerate(after.layers, start=1):
            _stdout(f"  W{k} :=\n{new.W}")
            if new.b is not None:
                _stdout(f"  b{k} := {new.b}")
    change = after.loss - trace.loss
    _stdout(f"\nloss before {trace.loss:.6g}, after {after.loss:.6g} "
            f"({'down' if change < 0 else 'up'} {abs(change):.3g}"
            + ("" if change < 0 else "; the step was too large, try a smaller --lr") + ")")
    _stdout("the same pass in code: steepest.nn.backprop_trace(model, loss, X, y).text()")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import cli_main
    return cli_main(args)


def _cmd_explore(args: argparse.Namespace) -> int:
    from .explore import cli_main
    return cli_main(args)


def _bundled() -> tuple[str, ...]:
    from . import data
    return data.DATASETS


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _cmd_demo, "minimize": _cmd_minimize, "compare": _cmd_compare, "train": _cmd_train,
    "sweep": _cmd_sweep, "backprop": _cmd_backprop, "explore": _cmd_explore,
}

# Errors that mean "the arguments were wrong": a file that is missing, a name that is unknown, a
# value out of range (the library's checks raise these with the allowed values in the message).
# A run that diverged (FloatingPointError: steepest.train.DivergenceError), a size that does not
# fit in memory and a damaged input file are reported the same way.
_USAGE_ERRORS = (UsageError, ValueError, TypeError, KeyError, FileNotFoundError,
                 IsADirectoryError, NotADirectoryError, ImportError, FloatingPointError,
                 MemoryError, OverflowError, csv.Error, zipfile.BadZipFile, EOFError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``steepest`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad arguments, bad input files, a diverged run or
        any other failure (one line on standard error, never a traceback; set
        ``STEEPEST_TRACEBACK=1`` to see one), 1 when writing output failed, 130 when
        interrupted (``steepest train`` first writes what the finished epochs produced and its
        checkpoint), 143 when ``steepest train`` or ``steepest sweep`` was stopped by SIGTERM
        (which they handle as Ctrl-C).
    """
    parser = build_parser()
    args = parser.parse_args(_glue_negative_values(list(sys.argv[1:] if argv is None else argv)))
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"{PROG} {args.command}"
    with warnings.catch_warnings():  # restores Python's own warning display afterwards
        floating = _show_warnings_as(prog)
        status = _run(args, prog)
    if status == 0 and floating:
        kinds = " and ".join([", ".join(floating[:-1]), floating[-1]] if floating[:-1]
                             else floating)
        _stderr(f"{prog}: warning: the computation hit floating-point {kinds}; numbers shown "
                "as inf or nan come from it")
    return status


def _run(args: argparse.Namespace, prog: str) -> int:
    """Run the chosen command; every failure becomes one line on standard error."""
    try:
        return _COMMANDS[args.command](args)
    except _USAGE_ERRORS as error:
        if os.environ.get("STEEPEST_TRACEBACK"):
            raise
        _stderr(f"{prog}: error: {_one_line(error)}")
        return 2
    except BrokenPipeError:  # the reader went away (`steepest ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        _stderr(f"{prog}: error: {_one_line(error)}")
        return 1
    except KeyboardInterrupt as error:
        if _stopping_signal(error) == "SIGTERM":  # steepest train and sweep stop cleanly on it
            _stderr(f"{prog}: stopped by SIGTERM")
            return _SIGTERM_STATUS
        _stderr(f"{prog}: interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("STEEPEST_TRACEBACK"):
            raise
        _stderr(f"{prog}: error: {type(error).__name__}: {_one_line(error)} (set "
                f"STEEPEST_TRACEBACK=1 to see where)")
        return 2


# NumPy's floating-point warnings ("overflow encountered in multiply", ...) name a line inside
# steepest, not anything the user did; a run that diverged says so in the command's own words.
_FLOATING_POINT = re.compile(r"(overflow|invalid value|divide by zero|underflow) encountered in ")
_FLOATING_KINDS = {"overflow": "overflow", "invalid value": "invalid values (nan)",
                   "divide by zero": "division by zero", "underflow": "underflow"}


def _show_warnings_as(prog: str) -> list[str]:
    """Show warnings as one line each, ``steepest COMMAND: warning: ...`` on standard error
    (steepest's own, such as an UnstableStepWarning, or a resumed checkpoint's), instead of
    Python's two lines with a file name and a source line; collect NumPy's floating-point ones.

    Call inside ``warnings.catch_warnings()``, which puts Python's display back afterwards.

    Returns
    -------
    list of str
        Filled as the command runs: the kinds of floating-point trouble NumPy reported
        ("overflow", ...), each once, for one summary line if the command then succeeds (a
        failed command's error already says what went wrong).
    """
    floating: list[str] = []

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        text = str(message)
        match = _FLOATING_POINT.match(text) if category is RuntimeWarning else None
        if match:
            kind = _FLOATING_KINDS[match.group(1)]
            if kind not in floating:
                floating.append(kind)
            return
        print(f"{prog}: warning: {' '.join(text.split())}", file=file or sys.stderr, flush=True)

    warnings.showwarning = show
    return floating


def _glue_negative_values(argv: list[str]) -> list[str]:
    """``--x0 -1.5,2`` -> ``--x0=-1.5,2``: argparse would read ``-1.5,2`` as an option."""
    glued: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--x0":
            value = next(tokens, None)
            if value is None:
                glued.append(token)
                break
            glued.append(f"--x0={value}")
        else:
            glued.append(token)
    return glued


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split()) or type(error).__name__
