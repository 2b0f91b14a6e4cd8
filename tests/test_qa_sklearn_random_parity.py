"""QA: steepest.sklearn against sklearn.neural_network on random data and hyperparameters,
from the same initial weights (the same random_state), where the two must agree to rounding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.neural_network as skn
from sklearn.exceptions import ConvergenceWarning

import steepest.sklearn as ss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(seed: int, n: int = 90, d: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


@pytest.mark.parametrize("epsilon", [1e-3, 0.1, 1.0])
def test_adam_epsilon_means_sklearns(epsilon):
    # scikit-learn adds epsilon to sqrt(v) before the bias correction of v (its update is
    # -lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)); torch's Adam adds it after, which
    # shrinks a given epsilon by sqrt(1 - b2^t) (0.03 at the first step): with epsilon=0.1 the
    # loss curves had differed by 0.4.
    X, y = _data(0)
    params = dict(hidden_layer_sizes=(6,), max_iter=15, random_state=0, batch_size=30,
                  learning_rate_init=0.01, epsilon=epsilon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = ss.MLPClassifier(**params).fit(X, y)
        theirs = skn.MLPClassifier(**params).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
