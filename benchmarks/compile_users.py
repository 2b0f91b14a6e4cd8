"""Issue 18, item 7: what ``st.compile`` buys where steepest itself uses it.

``python benchmarks/compile_users.py [--rounds 9]``

Two users of the compiled step, each timed against the same code with the step left eager,
interleaved (medians of per-round ratios, one process: both contestants are steepest):

- the explorer's network view: ``TrainingSession.train(200)`` (200 minibatch updates of the
  default session), compiled forward and backward against eager;
- ``steepest.sklearn.MLPClassifier.fit`` on digits (30 epochs, adam and sgd, one hidden layer
  of 64), compiled stochastic steps against eager.

Both pairs are checked to give bitwise the same weights first.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _harness import Settings, fmt_ratio, fmt_time, table, time_interleaved


def _explorer(compiled: bool):
    from steepest.explore import network
    from steepest.explore.params import validate

    session = network.TrainingSession(validate(network.SESSION_SPEC, {}))
    if not compiled:
        session._compiled_gradients = session._gradients
    return session


def _digits_fit(compiled: bool, solver: str):
    from sklearn.datasets import load_digits

    from steepest.sklearn import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def fit():
        est = MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0, tol=0.0,
                            solver=solver)
        if not compiled:
            est._gradients_step = lambda: est._gradients
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the ConvergenceWarning of 30 epochs
            est.fit(X, y)
        return est

    return fit


def _same(a, b) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    settings = Settings(args.rounds, 0.2, 0.2)
    rows = []

    compiled, eager = _explorer(True), _explorer(False)
    compiled.train(50), eager.train(50)
    assert _same([p.data for p in compiled.model.parameters()],
                 [p.data for p in eager.model.parameters()]), "explorer: compiled != eager"
    timings = time_interleaved({"compiled": lambda: compiled.train(200),
                                "eager": lambda: eager.train(200)}, settings)
    rows.append(["explorer: train(200)", fmt_time(timings.median("eager")),
                 fmt_time(timings.median("compiled")), fmt_ratio(timings.ratio("compiled", "eager"))])

    for solver in ("adam", "sgd"):
        fit_compiled, fit_eager = _digits_fit(True, solver), _digits_fit(False, solver)
        assert _same(fit_compiled().coefs_, fit_eager().coefs_), f"{solver}: compiled != eager"
        timings = time_interleaved({"compiled": fit_compiled, "eager": fit_eager}, settings)
        rows.append([f"MLPClassifier.fit, digits, {solver}", fmt_time(timings.median("eager")),
                     fmt_time(timings.median("compiled")),
                     fmt_ratio(timings.ratio("compiled", "eager"))])

    print(table(["user", "eager", "compiled", "compiled / eager"], rows))
    print(f"\n{args.rounds} interleaved rounds; bitwise the same weights either way.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
