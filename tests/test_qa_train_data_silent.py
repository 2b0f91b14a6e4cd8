"""QA: silent wrong answers in steepest.train's metrics and steepest.data's splitting.

Each test compares against scikit-learn or a hand count on random data."""

import numpy as np
import pytest
from sklearn import metrics as skm

import steepest as st
from steepest import data, nn, optim, train


# --------------------------------------------------------------------------- metric names
def _model():
    st.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3))


def _xy(n=20, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, n)


@pytest.mark.parametrize("name", ["loss", "epoch", "lr", "time", "val_loss", "val_accuracy"])
def test_a_metric_named_like_a_reserved_key_is_refused(name):
    # A callable named "loss" was added into evaluate's loss (loss + metric) and replaced the
    # training loss in fit's history (which EarlyStopping monitors); "lr"/"time"/"epoch" were
    # overwritten by fit's own values, and "val_*" by the validation results.
    metric = lambda out, t: 100.0  # noqa: E731
    metric.__name__ = name
    X, y = _xy()
    with pytest.raises(ValueError, match=name):
        train.evaluate(_model(), nn.CrossEntropyLoss(), (X, y), metrics=[metric])
    model = _model()
    with pytest.raises(ValueError, match=name):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
                  epochs=1, progress=False, metrics=[metric])


def test_two_different_metrics_with_one_name_are_refused_not_dropped():
    # Two lambdas (or two functools.partials) share a name: only the last one was reported.
    X, y = _xy()
    with pytest.raises(ValueError, match="<lambda>"):
        train.evaluate(_model(), nn.CrossEntropyLoss(), (X, y),
                       metrics=[lambda o, t: 1.0, lambda o, t: 2.0])


def test_the_same_metric_twice_is_still_accepted_once():
    X, y = _xy()
    result = train.evaluate(_model(), nn.CrossEntropyLoss(), (X, y),
                            metrics=["accuracy", "accuracy", train.accuracy])
    assert set(result) == {"loss", "accuracy"}


# --------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("k", [3, 5])
def test_accuracy_of_a_label_column_matches_sklearn(k):
    # Labels as an (n, 1) column met an (n, k) output: the column was "argmaxed" to all zeros,
    # so accuracy was the share of rows predicted as class 0.
    rng = np.random.default_rng(k + 10)
    out, y = rng.normal(size=(101, k)), rng.integers(0, k, 101)
    expected = skm.accuracy_score(y, out.argmax(axis=1))
    assert train.accuracy(out, y[:, None]) == pytest.approx(expected)
    assert train.accuracy(out, y) == pytest.approx(expected)
    assert train.accuracy(out, np.eye(k)[y]) == pytest.approx(expected)


@pytest.mark.parametrize("classes,length", [(4, 4), (3, 5)])
def test_accuracy_of_per_position_scores_takes_the_class_axis_1(classes, length):
    # CrossEntropyLoss reads (N, C, d1, ...) scores with the class axis 1 (as PyTorch); accuracy
    # took the argmax over the last axis instead (wrong when C == d1, an error otherwise).
    rng = np.random.default_rng(classes)
    out, y = rng.normal(size=(7, classes, length)), rng.integers(0, classes, (7, length))
    expected = float(np.mean(out.argmax(axis=1) == y))
    assert train.accuracy(out, y) == pytest.approx(expected)
    onehot = np.moveaxis(np.eye(classes)[y], -1, 1)
    assert train.accuracy(out, onehot) == pytest.approx(expected)


def test_metrics_match_sklearn_over_a_short_last_batch():
    # The epoch metric is the metric over the whole set, not a plain mean of batch means.
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(53, 4)), rng.normal(size=(53, 2))
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2))
    history = train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), (X, Y),
                        validation=(X, Y), epochs=1, batch_size=10, eval_batch_size=9,
                        progress=False, metrics=["mse", "mae"])
    P = train.predict(model, X, batch_size=7)
    for key in ("loss", "mse", "val_loss", "val_mse"):
        assert history[key][0] == pytest.approx(skm.mean_squared_error(Y, P), rel=1e-5)
    for key in ("mae", "val_mae"):
        assert history[key][0] == pytest.approx(skm.mean_absolute_error(Y, P), rel=1e-5)


# --------------------------------------------------------------------------- splitting
@pytest.mark.parametrize("n,classes,val,test", [(10, 2, 0.33, 0.33), (37, 2, 0.33, 0.33),
                                                 (15, 5, 0.287, 0.421), (68, 2, 0.415, 0.273),
                                                 (242, 2, 0.352, 0.171)])
def test_stratified_split_gives_the_documented_set_sizes(n, classes, val, test):
    # The validation set got ceil(val * n) - 1 rows when stratified (its share of the rows left
    # after the test set was taken as val / (1 - test), below ceil(val * n) / (n - n_test)).
    rng = np.random.default_rng(n)
    y = rng.integers(0, classes, n)
    y[:classes] = np.arange(classes)
    for seed in range(20):
        split = data.train_val_test_split(np.zeros((n, 1)), y, val=val, test=test, seed=seed)
        unstratified = data.train_val_test_split(np.zeros((n, 1)), y, val=val, test=test,
                                                 seed=seed, stratify=False)
        for s in (split, unstratified):
            assert len(s.test_index) == int(np.ceil(test * n))
            assert len(s.val_index) == int(np.ceil(val * n))
            everything = np.concatenate([s.train_index, s.val_index, s.test_index])
            assert np.array_equal(np.sort(everything), np.arange(n))
        counts = np.bincount(y, minlength=classes)
        for index in (split.val_index, split.test_index):
            share = np.bincount(y[index], minlength=classes) - counts * len(index) / n
            assert np.abs(share).max() <= 1.0


# --------------------------------------------------------------------------- weighted losses
@pytest.mark.parametrize("batch_size", [10, 7])
def test_batched_evaluation_of_a_class_weighted_or_ignoring_loss_equals_the_whole_set(batch_size):
    # Batch means were weighted by rows, but CrossEntropyLoss(weight=...) divides each batch by
    # its summed target weights and ignore_index drops rows from the mean: the batched loss
    # differed from the whole set's, and was NaN once a batch held only ignored targets.
    X, y = _xy(53)
    y_ignored = y.copy()
    y_ignored[:20] = -100
    model = _model()
    for loss, target in ((nn.CrossEntropyLoss(weight=[1.0, 5.0, 0.2]), y),
                         (nn.CrossEntropyLoss(), y_ignored),
                         (nn.CrossEntropyLoss(weight=[1.0, 5.0, 0.2]), y_ignored)):
        whole = train.evaluate(model, loss, (X, target))["loss"]
        batched = train.evaluate(model, loss, (X, target), batch_size=batch_size)["loss"]
        assert np.isfinite(whole)
        assert batched == pytest.approx(whole, rel=1e-6)


def test_the_epoch_loss_of_a_class_weighted_loss_is_the_whole_sets():
    # each batch's mean divides by its targets' weights: weighting batch means by rows gave an
    # epoch loss that was not the loss of the set (lr = 0 keeps the weights fixed)
    import steepest as st
    from steepest import nn, optim, train
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((53, 4)), rng.integers(0, 3, 53)
    for loss in (nn.CrossEntropyLoss(weight=np.array([1.0, 5.0, 0.2])),
                 nn.CrossEntropyLoss(ignore_index=1)):
        st.manual_seed(0)
        model = nn.mlp(4, [6], 3, "tanh", dtype=np.float64)
        history = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.0), (X, y),
                            epochs=1, batch_size=10, shuffle=False, progress=False)
        whole = float(loss(model(st.tensor(X)), y).data)
        assert history["loss"][0] == pytest.approx(whole, rel=1e-12)


def test_accuracy_under_bce_loss_thresholds_the_probability_at_one_half():
    # a Sigmoid model trained with BCELoss outputs probabilities: 'accuracy' read them as
    # logits (class 1 above 0), so every row was class 1
    from sklearn.metrics import accuracy_score

    import steepest as st
    from steepest import nn, train
    rng = np.random.default_rng(3)
    X = rng.standard_normal((41, 2))
    y = (X[:, :1] + 0.3 * rng.standard_normal((41, 1)) > 0.4).astype(np.float64)
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.Sigmoid())
    p = model(st.tensor(X)).data
    expected = accuracy_score(y[:, 0], p[:, 0] > 0.5)
    scores = train.evaluate(model, nn.BCELoss(), (X, y), batch_size=10, metrics=["accuracy"])
    assert scores["accuracy"] == pytest.approx(expected) and expected < 1.0
    # a logit model under BCEWithLogitsLoss keeps the threshold at 0
    logits = nn.Linear(2, 1, dtype=np.float64)
    z = logits(st.tensor(X)).data
    scores = train.evaluate(logits, nn.BCEWithLogitsLoss(), (X, y), metrics=["accuracy"])
    assert scores["accuracy"] == pytest.approx(accuracy_score(y[:, 0], z[:, 0] > 0))
