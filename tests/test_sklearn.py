"""Tests for steepest.sklearn: scikit-learn's estimator suite and the estimators' own features."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import steepest as st
from steepest import data, optim, schedules
from steepest.sklearn import OPTIMIZERS, MLPClassifier, MLPRegressor

# Short test runs stop at max_epochs on purpose; the warning itself is tested below.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------------------- scikit-learn's suite
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def iris():
    ds = data.load_dataset("iris")
    return StandardScaler().fit_transform(ds.X), ds.y


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    Y = np.stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0]) + X[:, 1] ** 2], axis=1)
    return X, Y


def small(cls, **kwargs):
    params = {"hidden_layer_sizes": (16,), "lr": 0.01, "random_state": 0, "max_epochs": 60}
    params.update(kwargs)
    return cls(**params)


# --------------------------------------------------------------------------- behaviour
def test_import_is_lazy():
    code = ("import sys, steepest as st; assert 'sklearn' not in sys.modules; "
            "st.sklearn; assert 'sklearn' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_classifier_learns_and_exposes_curves(iris):
    X, y = iris
    clf = small(MLPClassifier).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert len(clf.loss_curve_) == clf.n_iter_ <= 60
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.t_ == clf.n_iter_ * len(X)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-10)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (3,)]


def test_text_labels_round_trip(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = small(MLPClassifier).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X)) <= set(names)


def test_early_stopping_records_validation_scores(iris):
    X, y = iris
    clf = small(MLPClassifier, early_stopping=True, validation_fraction=0.2,
                n_iter_no_change=5, max_epochs=300).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 300  # stopped on the validation score
    assert clf.t_ == clf.n_iter_ * (len(X) - 30)  # 20% of 150 rows held out


def test_random_state_is_deterministic_and_leaves_global_generator_alone(iris):
    X, y = iris
    st.manual_seed(0)
    before = st._random.get_rng_state()
    a = small(MLPClassifier, random_state=3).fit(X, y)
    assert st._random.get_rng_state() == before
    b = small(MLPClassifier, random_state=3).fit(X, y)
    c = small(MLPClassifier, random_state=4).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_ != c.loss_curve_
    for wa, wb in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_random_state_none_follows_manual_seed(iris):
    X, y = iris
    st.manual_seed(21)
    a = small(MLPClassifier, random_state=None, max_epochs=5).fit(X, y)
    st.manual_seed(21)
    b = small(MLPClassifier, random_state=None, max_epochs=5).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_


def test_partial_fit_without_random_state_uses_the_library_generator(iris):
    X, y = iris

    def curve():
        st.manual_seed(8)
        clf = small(MLPClassifier, random_state=None, batch_size=32)
        for _ in range(3):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        return clf.loss_curve_, st._random.get_rng_state()

    (curve_a, state_a), (curve_b, state_b) = curve(), curve()
    assert curve_a == curve_b and state_a == state_b
    st.manual_seed(8)
    assert st._random.get_rng_state() != state_a  # the generator was advanced, not forked


def test_partial_fit_continues_training(iris):
    X, y = iris
    clf = small(MLPClassifier)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        clf.partial_fit(X, y)
    for _ in range(15):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == len(clf.loss_curve_) == 15
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    updates = clf.optimizer_.param_groups[0]["num_updates"]
    assert updates == 15  # "auto" batch: one batch of 150 rows per call
    with pytest.raises(ValueError, match=r"labels \[7\] not in classes_"):
        clf.partial_fit(X[:3], np.array([7, 7, 7]))
    with pytest.raises(ValueError, match="differ from the first call"):
        clf.partial_fit(X, y, classes=[0, 1])


def test_partial_fit_matches_fit_epoch_by_epoch(iris):
    X, y = iris
    full = small(MLPClassifier, max_epochs=4, tol=0.0, n_iter_no_change=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full.fit(X, y)
    step = small(MLPClassifier)
    for _ in range(4):
        step.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(full.coefs_[0], step.coefs_[0])
    assert full.loss_curve_ == step.loss_curve_


def test_regressor_multioutput_and_1d(regression):
    X, Y = regression
    reg = small(MLPRegressor, hidden_layer_sizes=(32,), max_epochs=300, batch_size=16).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (150, 2)
    assert reg.score(X, Y) > 0.9
    single = small(MLPRegressor, max_epochs=300, batch_size=16).fit(X, Y[:, 0])
    assert single.predict(X).shape == (150,) and single.score(X, Y[:, 0]) > 0.95
    with pytest.raises(ValueError, match="y has 1 targets, the first call had 2"):
        reg.partial_fit(X, Y[:, 0])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_trains(iris, name):
    X, y = iris
    lr = {"adadelta": 1.0, "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05}.get(name, 0.01)
    clf = small(MLPClassifier, optimizer=name, lr=lr, max_epochs=40, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.85, name
    expected = optim.OPTIMIZERS[OPTIMIZERS[name][0]]
    assert type(clf.optimizer_) is expected


def test_schedule_and_optimizer_params(iris):
    X, y = iris
    clf = small(MLPClassifier, optimizer="sgd", lr="0.5/t^0.6",
                optimizer_params={"momentum": 0.5}, max_epochs=3, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    group = clf.optimizer_.param_groups[0]
    assert isinstance(group["lr"], schedules.Schedule) and group["momentum"] == 0.5
    assert group["last_lr"] == pytest.approx(0.5 * 3 ** -0.6)  # 3 epochs of one batch
    obj = small(MLPClassifier, lr=schedules.cosine(0.01, 100), max_epochs=2).set_params(tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        obj.fit(X, y)
    assert isinstance(obj.optimizer_.param_groups[0]["lr"], schedules.Schedule)


def test_convergence_warning_when_max_epochs_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        small(MLPClassifier, max_epochs=2).fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"activation": "softplus"}, ValueError, "MLPClassifier: activation must be one of"),
    ({"optimizer": "lbfgs"}, ValueError, "MLPClassifier: optimizer must be one of"),
    ({"hidden_layer_sizes": (16, 0)}, ValueError, r"hidden_layer_sizes\[1\] must be in"),
    ({"lr": -1.0}, ValueError, r"MLPClassifier: lr must be in \(0, inf\)"),
    ({"lr": "fast"}, ValueError, "(?s)cannot read .fast.*accepted schedule syntax"),
    ({"batch_size": 0}, ValueError, "batch_size must be in"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be in"),
    ({"optimizer_params": {"bogus": 1}}, TypeError, "optimizer='adam' rejects"),
])
def test_parameters_are_checked_in_fit(iris, params, error, message):
    X, y = iris
    clf = MLPClassifier(**params)  # constructing never validates (scikit-learn's contract)
    with pytest.raises(error, match=message):
        clf.fit(X, y)


def test_single_class_is_refused(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="only one class"):
        small(MLPClassifier).fit(X, np.zeros(len(X)))


def test_works_in_pipelines_and_cross_validation(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), small(MLPClassifier, max_epochs=30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    assert clone(small(MLPClassifier)).get_params()["lr"] == 0.01
