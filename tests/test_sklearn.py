"""Tests for steepest.sklearn: scikit-learn's estimator suite, and agreement with
``sklearn.neural_network`` itself (the same seed gives the same initial weights, so plain SGD
must follow scikit-learn's trajectory to rounding)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as skn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import steepest as st
from steepest import data, schedules
from steepest.sklearn import SOLVERS, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------------------- scikit-learn's suite
@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _passed(estimator) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    return sorted(r["check_name"] for r in results if r["status"] == "passed")


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_passes_every_check_sklearns_own_mlp_passes(name):
    theirs = _passed(getattr(skn, name)(max_iter=100))
    ours = _passed(getattr(st.sklearn, name)(max_iter=100))
    missing = list(theirs)
    for check in ours:
        if check in missing:
            missing.remove(check)
    assert missing == []


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


SGD = {"solver": "sgd", "learning_rate_init": 0.05, "hidden_layer_sizes": (7, 5), "max_iter": 15,
       "random_state": 3, "batch_size": 32, "alpha": 0.01}


def _both(name, X, y, fit_kwargs=None, **params):
    ours = getattr(st.sklearn, name)(**params).fit(X, y, **(fit_kwargs or {}))
    theirs = getattr(skn, name)(**params).fit(X, y, **(fit_kwargs or {}))
    return ours, theirs


def _assert_same_model(ours, theirs, rtol=1e-9):
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


# --------------------------------------------------------------------------- same as scikit-learn
@pytest.mark.parametrize("extra", [{"momentum": 0.0}, {"momentum": 0.9},
                                   {"momentum": 0.9, "nesterovs_momentum": False},
                                   {"momentum": 0.0, "shuffle": False},
                                   {"momentum": 0.0, "activation": "logistic"},
                                   {"momentum": 0.0, "activation": "tanh"},
                                   {"momentum": 0.0, "activation": "identity"}])
def test_sgd_follows_sklearns_trajectory_multiclass(iris, extra):
    ours, theirs = _both("MLPClassifier", *iris, **{**SGD, **extra})
    _assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert (ours.n_iter_, ours.t_, ours.loss_) == (theirs.n_iter_, theirs.t_, pytest.approx(theirs.loss_))
    np.testing.assert_allclose(ours.predict_proba(iris[0]), theirs.predict_proba(iris[0]), rtol=1e-8)


def test_binary_and_sample_weight_follow_sklearn(iris):
    X, y = iris
    y = (y == 1).astype(int)
    w = np.random.default_rng(0).uniform(0, 3, size=len(y))
    ours, theirs = _both("MLPClassifier", X, y, {"sample_weight": w}, **{**SGD, "momentum": 0.0})
    assert ours.coefs_[-1].shape == (5, 1) and ours.out_activation_ == "logistic"
    _assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert ours.predict_proba(X).shape == (len(y), 2)


def test_multilabel_follows_sklearn(iris):
    X, y = iris
    Y = np.stack([y == 0, y == 1, X[:, 0] > 0], axis=1).astype(int)
    ours, theirs = _both("MLPClassifier", X, Y, **{**SGD, "momentum": 0.0})
    _assert_same_model(ours, theirs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regression_follows_sklearn(regression, loss):
    X, Y = regression
    Y = np.abs(Y) if loss == "poisson" else Y
    w = np.random.default_rng(1).uniform(0, 2, size=len(X))
    params = {**SGD, "momentum": 0.0, "loss": loss, "learning_rate_init": 0.01}
    ours, theirs = _both("MLPRegressor", X, Y, {"sample_weight": w}, **params)
    _assert_same_model(ours, theirs, rtol=1e-8)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-7, atol=1e-9)
    ours1, theirs1 = _both("MLPRegressor", X, Y[:, 0], **params)
    assert ours1.predict(X).shape == (len(X),)
    _assert_same_model(ours1, theirs1, rtol=1e-8)


@pytest.mark.parametrize("momentum", [{"momentum": 0.0}, {"momentum": 0.9},
                                      {"momentum": 0.9, "nesterovs_momentum": False},
                                      # (a smaller rate: at 0.05 the undamped velocity
                                      # saturates the softmax, where scikit-learn's reported
                                      # loss clips the probabilities at machine epsilon)
                                      {"momentum": 1.0, "learning_rate_init": 0.005}])
@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive"])
def test_learning_rate_strategies_follow_sklearn(iris, learning_rate, momentum):
    # with momentum, a change of rate rescales optim.SGD's velocity (see _BaseMLP._set_lr):
    # without it, its form v = m v + g; p -= lr v left scikit-learn's u = m u - lr g; p += u
    params = {**SGD, **momentum, "learning_rate": learning_rate, "max_iter": 60,
              "n_iter_no_change": 2, "tol": 1e-2}
    ours, theirs = _both("MLPClassifier", *iris, **params)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    _assert_same_model(ours, theirs, rtol=1e-8)


def test_early_stopping_follows_sklearn(iris):
    params = {**SGD, "momentum": 0.0, "early_stopping": True, "max_iter": 40}
    ours, theirs = _both("MLPClassifier", *iris, **params)
    _assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None and theirs.best_loss_ is None
    assert len(ours.validation_loss_curve_) == ours.n_iter_
    assert all(np.isfinite(ours.validation_loss_curve_))


def test_adam_is_close_to_sklearn(iris):
    params = {"hidden_layer_sizes": (10,), "max_iter": 30, "random_state": 0,
              "learning_rate_init": 0.01}
    ours, theirs = _both("MLPClassifier", *iris, **params)
    # Adam's eps enters torch's and scikit-learn's updates slightly differently.
    _assert_same_model(ours, theirs, rtol=1e-4)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lbfgs_minimises_as_well_as_sklearn(iris, activation):
    # steepest runs its own L-BFGS (L-BFGS-B's rules, strong Wolfe line search), scikit-learn
    # runs SciPy's L-BFGS-B: the iterates differ, and on a seed each may stop (at the same
    # gradient tolerance) in another local minimum, so compare means over 10 seeds.
    ours_loss, theirs_loss, ours_score, theirs_score = [], [], [], []
    for seed in range(10):
        params = {"solver": "lbfgs", "hidden_layer_sizes": (6,), "max_iter": 300,
                  "activation": activation, "random_state": seed}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours, theirs = _both("MLPClassifier", *iris, **params)
        assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
        ours_loss.append(ours.loss_)
        theirs_loss.append(theirs.loss_)
        ours_score.append(ours.score(*iris))
        theirs_score.append(theirs.score(*iris))
    assert np.mean(ours_loss) <= 1.5 * np.mean(theirs_loss) + 1e-3
    assert np.mean(ours_score) >= np.mean(theirs_score) - 0.01


def test_lbfgs_stops_at_tol_and_keeps_float32(iris):
    X, y = iris
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(5,), tol=1e-3, max_iter=500,
                        random_state=0).fit(X.astype(np.float32), y)
    assert clf.n_iter_ < 500  # stopped by the gradient tolerance, not the limit
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_lbfgs_respects_max_fun(iris):
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf = MLPClassifier(solver="lbfgs", max_fun=5, random_state=0).fit(*iris)
    assert clf.n_iter_ <= 5


def test_partial_fit_with_lbfgs_is_as_sklearns():
    # scikit-learn 1.9: the classifier has no partial_fit for lbfgs, the regressor runs L-BFGS
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(skn.MLPClassifier(solver="lbfgs"), "partial_fit")
    X = np.random.default_rng(0).normal(size=(40, 3))
    kw = {"solver": "lbfgs", "random_state": 0, "max_iter": 50}
    ours, theirs = MLPRegressor(**kw), skn.MLPRegressor(**kw)
    for est in (ours, theirs):
        est.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert ours.n_iter_ == pytest.approx(theirs.n_iter_, abs=3)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0.2, abs=1e-5)
    assert ours.t_ == theirs.t_ == 0


# --------------------------------------------------------------------------- inputs
def test_sparse_input_gives_the_dense_result(iris):
    X, y = iris
    dense = MLPClassifier(**SGD).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = MLPClassifier(**SGD).fit(fmt(X), y)
        _assert_same_model(sparse, dense, rtol=1e-12)
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X))
    lbfgs = {"solver": "lbfgs", "max_iter": 5, "random_state": 0}
    _assert_same_model(MLPClassifier(**lbfgs).fit(sp.csr_matrix(X), y),
                       MLPClassifier(**lbfgs).fit(X, y), rtol=1e-10)


class _GuardedCSR(sp.csr_matrix):
    """A CSR matrix that refuses to be densified more than ``limit`` rows at a time."""

    limit = 0

    def toarray(self, *args, **kwargs):
        assert self.shape[0] <= _GuardedCSR.limit, f"densified {self.shape[0]} rows at once"
        return super().toarray(*args, **kwargs)


def test_sparse_input_is_densified_one_batch_at_a_time():
    rng = np.random.default_rng(0)
    X = sp.random(3000, 20, density=0.1, format="csr", random_state=0)
    y = rng.integers(0, 2, 3000)
    _GuardedCSR.limit = 200
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(_GuardedCSR(X), y)
    _GuardedCSR.limit = st.sklearn.CHUNK
    assert clf.predict(_GuardedCSR(X)).shape == (3000,)
    MLPClassifier(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=2).fit(_GuardedCSR(X), y)


def test_float32_in_float32_out(iris, regression):
    X, y = iris
    clf = MLPClassifier(**SGD).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    reg = MLPRegressor(**SGD).fit(regression[0].astype(np.float32), regression[1])
    assert reg.predict(regression[0].astype(np.float32)).dtype == np.float32
    assert MLPClassifier(**SGD).fit(X, y).predict_proba(X).dtype == np.float64


def test_all_zero_sample_weights_are_refused(iris):
    with pytest.raises(ValueError, match="zero"):
        MLPClassifier(**SGD).fit(*iris, sample_weight=np.zeros(len(iris[1])))
    with pytest.raises(ValueError, match="Negative"):  # stricter than scikit-learn
        MLPClassifier(**SGD).fit(*iris, sample_weight=-np.ones(len(iris[1])))


def test_zero_weight_equals_dropping_the_sample(iris):
    X, y = iris
    keep = np.arange(len(y)) % 3 != 0
    params = {**SGD, "shuffle": False, "batch_size": len(y), "momentum": 0.0}
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=keep.astype(float))
    dropped = MLPClassifier(**{**params, "batch_size": int(keep.sum())}).fit(X[keep], y[keep])
    _assert_same_model(weighted, dropped, rtol=1e-10)


def test_warm_start_continues_and_checks_classes(iris):
    X, y = iris
    clf = MLPClassifier(**{**SGD, "max_iter": 5, "warm_start": True}).fit(X, y)
    first = [c.copy() for c in clf.coefs_]
    t = clf.t_
    clf.fit(X, y)
    assert clf.t_ == 2 * t and len(clf.loss_curve_) == 10
    assert not np.allclose(first[0], clf.coefs_[0])
    cold = MLPClassifier(**{**SGD, "max_iter": 5}).fit(X, y)
    np.testing.assert_array_equal(cold.coefs_[0], first[0])
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X[y != 2], y[y != 2])


# --------------------------------------------------------------------------- all or nothing
def _snapshot(est):
    return ([c.copy() for c in est.coefs_ + est.intercepts_],
            st.sklearn.copy.deepcopy(est._optimizer.state_dict()),
            (est.n_iter_, est.t_, list(est.loss_curve_), est.best_loss_))


def _assert_unchanged(est, snap):
    now = _snapshot(est)
    for a, b in zip(now[0], snap[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert now[2] == snap[2]
    assert repr(now[1]) == repr(snap[1])


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_a_diverging_call_changes_nothing_and_names_the_lr(regression, how):
    X, Y = regression
    reg = MLPRegressor(solver="sgd", learning_rate_init=0.5, random_state=0, max_iter=3,
                       warm_start=how == "warm_start").fit(X * 0.01, Y)
    snap = _snapshot(reg)
    message = r"diverged.*learning rate 0.5\. Try learning_rate_init=0.05 or lower"
    with pytest.raises(ValueError, match=message):
        if how == "partial_fit":
            reg.partial_fit(X * 1e4, Y)
        else:
            reg.fit(X * 1e4, Y)
    _assert_unchanged(reg, snap)
    reg.partial_fit(X * 0.01, Y)  # and it still trains afterwards
    assert reg.t_ == snap[2][1] + len(X)


def test_a_failing_partial_fit_changes_nothing(iris):
    X, y = iris
    clf = MLPClassifier(**SGD).partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    snap = _snapshot(clf)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X, y + 10)
    _assert_unchanged(clf, snap)
    with pytest.raises(ValueError):
        clf.partial_fit(X, y, sample_weight=np.zeros(len(y)))
    _assert_unchanged(clf, snap)


def test_divergence_is_an_error_not_a_convergence_warning(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ValueError, match="diverged") as info:
            MLPClassifier(solver="sgd", learning_rate_init=1e4, momentum=0.99,
                          random_state=0).fit(X * 1e3, y)
    assert "raise" not in str(info.value)


@pytest.mark.parametrize("lr", [5.0, 50.0])
def test_a_run_diverged_from_its_first_epoch_is_reported(lr):
    # the loss is huge from epoch 1 on, so growth over the first epoch cannot show it: the check
    # compares with the loss at the start and the loss of a constant prediction
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier(solver="sgd", learning_rate_init=lr, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ValueError, match=rf"diverged at epoch \d+: the loss reached .* "
                                             rf"learning rate {lr:g}\. Try learning_rate_init="
                                             rf"{lr / 10:g} or lower"):
            clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


def test_a_slow_but_sane_run_is_not_called_diverged():
    # unscaled targets far from zero: a large loss, but no divergence
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor(solver="sgd", learning_rate_init=1e-4, max_iter=30,
                           random_state=0).fit(X, y + 1000)
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


# --------------------------------------------------------------------------- parameters
def test_defaults_and_names_are_sklearns():
    for ours, theirs in ((MLPClassifier(), skn.MLPClassifier()),
                         (MLPRegressor(), skn.MLPRegressor())):
        mine = ours.get_params()
        for key, value in theirs.get_params().items():
            assert mine[key] == value, key
        assert set(mine) - set(theirs.get_params()) == {"dropout", "clip_grad_norm",
                                                         "optimizer_params"}


def test_solver_typo_lists_the_solvers(iris):
    with pytest.raises(ValueError, match="solver") as info:
        MLPClassifier(solver="adma").fit(*iris)
    for name in SOLVERS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", [s for s in SOLVERS if s != "lbfgs"])
def test_every_solver_trains(iris, name):
    lr = {"adadelta": 1.0, "sgd": 0.1, "adagrad": 0.1, "asgd": 0.1}.get(name, 0.01)
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver=name, learning_rate_init=lr,
                        batch_size=16, max_iter=60, random_state=0).fit(*iris)
    assert clf.score(*iris) > 0.85


def test_learning_rate_init_may_be_a_schedule(iris):
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init="0.1/t",
                        max_iter=3, random_state=0).fit(*iris)
    assert clf._optimizer.param_groups[0]["last_lr"] == pytest.approx(0.1 / (3 * 1))
    same = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd",
                         learning_rate_init=schedules.parse("0.1/t"), max_iter=3,
                         random_state=0).fit(*iris)
    _assert_same_model(clf, same, rtol=0)


def test_dropout_is_reproducible_and_changes_training(iris):
    a = MLPClassifier(**SGD, dropout=0.3).fit(*iris)
    b = MLPClassifier(**SGD, dropout=0.3).fit(*iris)
    _assert_same_model(a, b, rtol=0)
    plain = MLPClassifier(**SGD).fit(*iris)
    assert not np.allclose(a.coefs_[0], plain.coefs_[0])


def test_random_state_none_follows_manual_seed(iris):
    st.manual_seed(5)
    a = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3).fit(*iris)
    st.manual_seed(5)
    b = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3).fit(*iris)
    _assert_same_model(a, b, rtol=0)


def test_convergence_warning_at_max_iter(iris):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(*iris)


# --------------------------------------------------------------------------- integration
def test_import_is_lazy():
    code = ("import sys, steepest as st; assert 'sklearn' not in sys.modules; "
            "st.sklearn; assert 'sklearn' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_works_in_pipelines_clone_and_cross_validation(iris):
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,),
                                                         learning_rate_init=0.01, max_iter=50,
                                                         random_state=0))
    scores = cross_val_score(pipe, *iris, cv=3)
    assert scores.mean() > 0.8
    assert clone(pipe).get_params()["mlpclassifier__max_iter"] == 50
