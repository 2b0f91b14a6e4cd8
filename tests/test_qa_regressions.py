"""Regressions found by QA: bad input must fail with a clear, named error, and a failed call
must leave no half-done state behind."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import cli, diagnostics, nn, train
from steepest._validation import check_choice
from steepest.nn import functional as F

# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize("pos_weight", [np.ones(2), []])
def test_bce_pos_weight_of_the_wrong_length_is_named(pos_weight):
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="pos_weight"):
        nn.BCEWithLogitsLoss(pos_weight=pos_weight)(x, x)
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=pos_weight)


@pytest.mark.parametrize("pos_weight", [np.nan, np.inf, -1.0, [1.0, np.nan, 2.0]])
def test_bce_pos_weight_must_be_finite_and_non_negative(pos_weight):
    with pytest.raises(ValueError, match="pos_weight"):
        nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(3), pos_weight=pos_weight)


def test_bce_pos_weight_one_per_class_or_single_still_works():
    x = np.linspace(-2, 2, 12).reshape(4, 3)
    y = (x > 0).astype(float)
    per_class = nn.BCEWithLogitsLoss(pos_weight=[2.0, 2.0, 2.0])(x, y).item()
    single = nn.BCEWithLogitsLoss(pos_weight=[2.0])(x, y).item()
    scalar = nn.BCEWithLogitsLoss(pos_weight=2.0)(x, y).item()
    assert per_class == pytest.approx(single) == pytest.approx(scalar)


def test_label_smoothing_with_misshaped_targets_names_the_shapes():
    with pytest.raises(ValueError, match=r"targets of shape \(3,\).*\(4, 3\)"):
        nn.CrossEntropyLoss(label_smoothing=0.1)(np.zeros((4, 3)), np.array([0, 1, 2]))


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dim", ["a", 1.5, None])
def test_functional_softmax_dim_is_checked(fn, dim):
    with pytest.raises(TypeError, match="dim"):
        fn(np.zeros((2, 3)), dim)


def test_check_choice_refuses_an_array_that_compares_equal_elementwise():
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction=np.array(["mean"]))
    with pytest.raises(ValueError, match="progress"):
        check_choice("fit", "progress", 1, (True, False, "tqdm", "plain"))
    assert check_choice("x", "mode", np.str_("sum"), ("mean", "sum")) == "sum"


# --------------------------------------------------------------------------- io


def test_save_and_load_name_a_bad_path(tmp_path):
    with pytest.raises(TypeError, match="save: path"):
        st.save({"a": 1}, 5)
    with pytest.raises(TypeError, match="load: path"):
        st.load(None)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        st.save({"a": 1}, tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        st.load(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


# --------------------------------------------------------------------------- diagnostics


def test_observed_rate_refuses_a_path_of_iterates():
    errors = 0.9 ** np.arange(400)
    assert diagnostics.observed_rate(errors).rate == pytest.approx(0.9)
    with pytest.raises(ValueError, match="1-D"):
        diagnostics.observed_rate(np.stack([errors, errors], axis=1))
    with pytest.raises(TypeError, match="values"):
        diagnostics.observed_rate("abc")


# --------------------------------------------------------------------------- train


def test_fit_names_a_model_loss_or_optimizer_of_the_wrong_kind():
    model = nn.Sequential(nn.Linear(3, 2))
    loss, opt = nn.CrossEntropyLoss(), st.optim.SGD(model.parameters(), lr=0.1)
    data = (np.zeros((4, 3)), np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="model"):
        train.fit(5, loss, opt, data, progress=False)
    with pytest.raises(TypeError, match="loss"):
        train.fit(model, 5, opt, data, progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        train.fit(model, loss, 5, data, progress=False)


# --------------------------------------------------------------------------- cli


def test_cli_train_refuses_an_out_directory_it_cannot_create_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    status = cli.main(["train", "iris", "--epochs", "1", "--quiet", "--out", str(blocker / "run")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0]


# --------------------------------------------------------------------------- sklearn

sklearn = pytest.importorskip("sklearn")


@pytest.fixture
def labelled():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = np.array(["cat", "dog", "emu"])[np.arange(30) % 3]
    return X, y


def test_partial_fit_with_labels_outside_classes_leaves_the_estimator_unfitted(labelled):
    from steepest.sklearn import MLPClassifier

    X, y = labelled
    clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(ValueError, match="emu"):
        clf.partial_fit(X, y, classes=["cat", "dog"])
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    clf.partial_fit(X, y, classes=["cat", "dog", "emu"])  # the corrected call works
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]


def test_failed_refit_keeps_the_previous_fit(labelled):
    from steepest.sklearn import MLPClassifier, MLPRegressor

    X, y = labelled
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X[:, :2], y[:10])
    assert clf.n_features_in_ == 3 and clf.classes_.tolist() == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(clf.predict_proba(X), before)

    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(Warning):
        reg.fit(X, X[:, 0])
    with pytest.raises(ValueError):
        reg.fit(X[:, :2], np.full(30, np.nan))
    assert reg.n_features_in_ == 3 and reg.predict(X).shape == (30,)
