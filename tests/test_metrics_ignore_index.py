"""'accuracy' under a loss with ignore_index (CrossEntropyLoss, NLLLoss) leaves the ignored rows
out of both the count of correct predictions and the count of rows, as the loss does, over the
whole epoch (not as a mean of batch accuracies); a batch whose rows are all ignored counts for
nothing. Every expected value below is counted by hand."""

import math

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim, train

IGNORE = -1
# The model is the identity map, so row i predicts class PREDICTED[i] (its one-hot input).
PREDICTED = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]
TARGET = [0, 1, IGNORE,        # batch 1: 2 of its 2 counted rows right
          2, IGNORE, IGNORE,   # batch 2: 0 of 1
          0, 0, IGNORE,        # batch 3: 1 of 2
          IGNORE, IGNORE, IGNORE]  # batch 4: nothing counted
# over the epoch: 3 right of 5 counted rows. Counting ignored rows as wrong gave 3 / 12; a mean
# of the batches' accuracies (weighted by rows) 5 / 12, unweighted 1 / 2.
EXPECTED = 3 / 5


def identity_model():
    model = nn.Linear(3, 3, bias=False, dtype=np.float64)
    model.weight.data[...] = np.eye(3)
    return model


def data(rows=12):
    X = np.eye(3)[PREDICTED[:rows]]
    return X, np.array(TARGET[:rows])


def test_the_hand_count_holds():
    X, y = data()
    kept = y != IGNORE
    assert np.count_nonzero(kept) == 5
    assert np.count_nonzero((X.argmax(axis=1) == y) & kept) == 3


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(ignore_index=IGNORE),
                                  nn.NLLLoss(ignore_index=IGNORE)], ids=["cross_entropy", "nll"])
@pytest.mark.parametrize("batch_size", [3, 5, None])
def test_evaluate_counts_only_the_rows_the_loss_counts(loss, batch_size):
    scores = train.evaluate(identity_model(), loss, data(), batch_size=batch_size,
                            metrics=["accuracy"])
    assert scores["accuracy"] == pytest.approx(EXPECTED, abs=1e-15)


def test_the_accuracy_function_passed_itself_counts_the_same():
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
    scores = train.evaluate(identity_model(), loss, data(), batch_size=3,
                            metrics=[train.accuracy])
    assert scores["accuracy"] == pytest.approx(EXPECTED, abs=1e-15)


def test_fit_training_and_validation_accuracy_are_over_the_epochs_counted_rows():
    # lr = 0 keeps the weights, so each batch's predictions are the hand-counted ones; the last
    # batch of the training set is left out here (its loss, a mean over no rows, is NaN: see the
    # next test), the validation set keeps it
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
    model = identity_model()
    history = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.0), data(9),
                        validation=data(), epochs=2, batch_size=3, shuffle=False,
                        metrics=["accuracy"], progress=False, eval_batch_size=3)
    assert history["accuracy"] == pytest.approx([EXPECTED, EXPECTED], abs=1e-15)
    assert history["val_accuracy"] == pytest.approx([EXPECTED, EXPECTED], abs=1e-15)


def test_a_training_batch_with_every_row_ignored_contributes_nothing():
    # its mean loss is 0/0: fit raised NonFiniteError ("loss (nan) is not finite ... Lower the
    # learning rate"), though nothing diverged; the batch has nothing to learn from
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
    model = identity_model()
    history = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.0), data(),
                        epochs=1, batch_size=3, shuffle=False, metrics=["accuracy"],
                        progress=False)
    assert history["accuracy"] == pytest.approx([EXPECTED], abs=1e-15)
    whole = float(loss(model(st.tensor(data()[0])), data()[1]).data)
    assert history["loss"][0] == pytest.approx(whole, rel=1e-12)
    assert history.skipped_steps == 0


def test_an_epoch_with_every_row_ignored_has_no_accuracy():
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
    X, _ = data()
    scores = train.evaluate(identity_model(), loss, (X, np.full(12, IGNORE)), batch_size=4,
                            metrics=["accuracy"])
    assert math.isnan(scores["accuracy"]) and math.isnan(scores["loss"])


def test_the_default_ignore_index_and_other_losses_change_nothing():
    # -100 is never a class here: the plain fraction of right rows, as before
    X, y = data()
    y = np.where(y == IGNORE, 2, y)
    right = np.count_nonzero(X.argmax(axis=1) == y) / 12
    for loss in (nn.CrossEntropyLoss(), nn.MSELoss()):
        target = y if isinstance(loss, nn.CrossEntropyLoss) else np.eye(3)[y]
        scores = train.evaluate(identity_model(), loss, (X, target), batch_size=5,
                                metrics=["accuracy"])
        assert scores["accuracy"] == pytest.approx(right, abs=1e-15)


def test_probability_targets_are_not_masked():
    # ignore_index applies to class indices only (as in PyTorch); one-hot rows are compared by
    # their argmax, every row counted
    X, y = data()
    y = np.where(y == IGNORE, 2, y)
    loss = nn.CrossEntropyLoss(ignore_index=0)
    scores = train.evaluate(identity_model(), loss, (X, np.eye(3)[y]), batch_size=5,
                            metrics=["accuracy"])
    assert scores["accuracy"] == pytest.approx(np.mean(X.argmax(axis=1) == y), abs=1e-15)


def test_a_label_column_and_a_positions_axis_are_masked_too():
    # an (N, 1) column of labels, and (N, C, d) scores with (N, d) targets as CrossEntropyLoss
    # reads them (the class axis is 1)
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
    metric = train.metrics._resolve_metrics(["accuracy"], "test", loss)["accuracy"]
    X, y = data()
    output = np.eye(3)[np.array(PREDICTED).reshape(6, 2)].transpose(0, 2, 1)  # (6, 3, 2)
    for scores, target in ((X, y.reshape(-1, 1)), (output, y.reshape(6, 2))):
        assert metric.totals(scores, target) == (3, 5)
        assert metric(scores, target) == pytest.approx(EXPECTED, abs=1e-15)
    assert float(loss(st.tensor(output), y.reshape(6, 2)).data) == pytest.approx(
        float(loss(st.tensor(X), y).data), rel=1e-12)  # the loss reads them as the same rows
