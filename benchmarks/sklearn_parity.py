"""Same code, two libraries: ``sklearn.neural_network`` against ``steepest.sklearn``.

For each dataset (digits, breast cancer, iris, wine: classification accuracy; diabetes:
regression R^2) and each solver, both estimators are fitted with the same arguments on the same
standardised 75/25 split for 5 seeds (the seed drives the split and ``random_state``). It prints
the test score's mean and standard deviation over the seeds, the median fit time of each
library, and the median and range over the seeds of the per-seed time ratio. Fits are timed
alternately (scikit-learn, then steepest, then the other way round), ``--repeats`` times per
seed (the median per seed), so that load on this shared machine hits both alike.

BLAS runs single-threaded by default (``--blas-threads``, through threadpoolctl, for NumPy's
and SciPy's OpenBLAS alike): on a small shared machine, threaded BLAS on these tiny matrices
measures thread contention with the other processes, not the libraries (scikit-learn's lbfgs
fits took up to 40 times longer that way, steepest's up to 4 times).

Run: ``PYTHONPATH=src python benchmarks/sklearn_parity.py [--seeds 5] [--repeats 3]
[--solvers adam,sgd,lbfgs] [--blas-threads 1]``
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


def compare(name: str, solver: str, seeds: int, repeats: int = 1) -> dict[str, Any]:
    """Scores and fit times of both libraries on one dataset and solver, over ``seeds`` seeds
    (each fit ``repeats`` times, alternating the order; the median time per seed)."""
    import sklearn.neural_network as theirs

    import steepest.sklearn as ours

    cls = "MLPRegressor" if name == "diabetes" else "MLPClassifier"
    args = (REGRESSION_ARGS if name == "diabetes" else ARGS)[solver]
    results: dict[str, dict[str, list[float]]] = {"sklearn": {"score": [], "time": []},
                                                  "steepest": {"score": [], "time": []}}
    for seed in range(seeds):
        split = load(name, seed)
        order = (("sklearn", theirs), ("steepest", ours))
        times: dict[str, list[float]] = {"sklearn": [], "steepest": []}
        for repeat in range(repeats):
            for label, module in order if (seed + repeat) % 2 == 0 else order[::-1]:
                score, seconds = timed_score(
                    lambda module=module, seed=seed: getattr(module, cls)(**args,
                                                                          random_state=seed),
                    split)
                times[label].append(seconds)
                if repeat == 0:  # the same seed gives the same fit
                    results[label]["score"].append(score)
        for label, values in times.items():
            results[label]["time"].append(statistics.median(values))
    return {"dataset": name, "solver": solver, "metric": "R^2" if name == "diabetes" else "accuracy",
            **{f"{lib}_{key}": values for lib, r in results.items() for key, values in r.items()}}


def row(r: dict[str, Any]) -> str:
    def stat(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.4f} ± {spread:.4f}"

    t_sk, t_st = statistics.median(r["sklearn_time"]), statistics.median(r["steepest_time"])
    ratios = [a / b for a, b in zip(r["steepest_time"], r["sklearn_time"], strict=True)]
    return (f"| {r['dataset']} | {r['solver']} | {r['metric']} | {stat(r['sklearn_score'])} | "
            f"{stat(r['steepest_score'])} | {t_sk * 1e3:.1f} | {t_st * 1e3:.1f} | "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--solvers", default="adam,sgd,lbfgs")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args(argv)
    import sklearn
    from threadpoolctl import threadpool_limits

    print(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, {args.seeds} seeds, "
          f"{args.repeats} interleaved fits per seed, {args.blas_threads} BLAS thread(s); test "
          f"score mean ± std over seeds; median fit time (ms); time ratio steepest/scikit-learn: "
          f"median over seeds (min-max)\n")
    print("| dataset | solver | metric | sklearn score | steepest score | sklearn ms | "
          "steepest ms | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        for solver in args.solvers.split(","):
            for name in args.datasets.split(","):
                print(row(compare(name, solver, args.seeds, args.repeats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
