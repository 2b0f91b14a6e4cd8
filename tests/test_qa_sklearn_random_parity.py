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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("ours, theirs", [(ss.MLPClassifier, skn.MLPClassifier),
                                          (ss.MLPRegressor, skn.MLPRegressor)])
def test_float64_input_to_a_float32_fit_predicts_in_float64_as_sklearn(ours, theirs):
    # scikit-learn's products promote float64 X with float32 weights; X was cast down to
    # float32, so the predictions had the wrong dtype and were 1e-7 off
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    a = ours(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    b = theirs(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    for Xp in (X, X.astype(np.float32)):
        assert a.predict(Xp).dtype == b.predict(Xp).dtype
        if hasattr(a, "predict_proba"):
            assert a.predict_proba(Xp).dtype == b.predict_proba(Xp).dtype == Xp.dtype
    if hasattr(a, "predict_proba"):
        expected = a._raw(X.astype(np.float32)).astype(np.float64)
        assert not np.array_equal(a._raw(X), expected)  # computed in float64, not cast
