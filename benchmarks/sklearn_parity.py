"""Same code, two libraries: ``sklearn.neural_network`` against ``steepest.sklearn``.

For each dataset (digits, breast cancer, iris, wine: classification accuracy; diabetes:
regression R^2) and each solver, both estimators are fitted with the same arguments on the same
standardised 75/25 split for 5 seeds (the seed drives the split and ``random_state``). It prints
the test score's mean and standard deviation over the seeds and the median fit time of each
library, timed alternately (scikit-learn, then steepest, seed by seed) so that load on this
shared machine hits both alike.

Run: ``PYTHONPATH=src python benchmarks/sklearn_parity.py [--seeds 5] [--solvers adam,sgd,lbfgs]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

DATASETS = ("digits", "breast_cancer", "iris", "wine", "diabetes")

#: Arguments given to both libraries, per solver (regression gets a larger rate: y is not scaled).
ARGS: dict[str, dict[str, Any]] = {
    "adam": {},
    "sgd": {"solver": "sgd", "learning_rate_init": 0.01},
    "lbfgs": {"solver": "lbfgs"},
}
REGRESSION_ARGS: dict[str, dict[str, Any]] = {
    "adam": {"learning_rate_init": 0.01, "max_iter": 500},
    "sgd": {"solver": "sgd", "learning_rate_init": 1e-4, "max_iter": 500},
    "lbfgs": {"solver": "lbfgs", "max_iter": 500},
}


def load(name: str, seed: int) -> tuple[np.ndarray, ...]:
    """A standardised 75/25 split of a bundled dataset (stratified for classes)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from steepest.data import load_dataset

    ds = load_dataset(name)
    stratify = None if name == "diabetes" else ds.y
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.25, random_state=seed,
                                              stratify=stratify)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def timed_score(make: Callable[[], Any], split: tuple[np.ndarray, ...]) -> tuple[float, float]:
    """(test score, fit seconds) of a freshly made estimator."""
    X_tr, X_te, y_tr, y_te = split
    est = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
    return float(est.score(X_te, y_te)), seconds


def compare(name: str, solver: str, seeds: int) -> dict[str, Any]:
    """Scores and fit times of both libraries on one dataset and solver, over ``seeds`` seeds."""
    import sklearn.neural_network as theirs

    import steepest.sklearn as ours

    cls = "MLPRegressor" if name == "diabetes" else "MLPClassifier"
    args = (REGRESSION_ARGS if name == "diabetes" else ARGS)[solver]
    results: dict[str, dict[str, list[float]]] = {"sklearn": {"score": [], "time": []},
                                                  "steepest": {"score": [], "time": []}}
    for seed in range(seeds):
        split = load(name, seed)
        order = (("sklearn", theirs), ("steepest", ours))
        for label, module in order if seed % 2 == 0 else order[::-1]:
            score, seconds = timed_score(
                lambda module=module, seed=seed: getattr(module, cls)(**args, random_state=seed),
                split)
            results[label]["score"].append(score)
            results[label]["time"].append(seconds)
    return {"dataset": name, "solver": solver, "metric": "R^2" if name == "diabetes" else "accuracy",
            **{f"{lib}_{key}": values for lib, r in results.items() for key, values in r.items()}}


def row(r: dict[str, Any]) -> str:
    def stat(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.4f} ± {spread:.4f}"

    t_sk, t_st = statistics.median(r["sklearn_time"]), statistics.median(r["steepest_time"])
    return (f"| {r['dataset']} | {r['solver']} | {r['metric']} | {stat(r['sklearn_score'])} | "
            f"{stat(r['steepest_score'])} | {t_sk * 1e3:.0f} | {t_st * 1e3:.0f} | "
            f"{t_st / t_sk:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--solvers", default="adam,sgd,lbfgs")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args(argv)
    import sklearn

    print(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, {args.seeds} seeds; "
          f"test score mean ± std over seeds; median fit time (ms)\n")
    print("| dataset | solver | metric | sklearn score | steepest score | sklearn ms | "
          "steepest ms | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for solver in args.solvers.split(","):
        for name in args.datasets.split(","):
            print(row(compare(name, solver, args.seeds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
