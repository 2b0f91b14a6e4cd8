"""Tests for steepest.data: bundled datasets, CSV/NPZ loading, splits, scaling, minibatches."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import steepest as st
from steepest import data

EXPECTED_SHAPES = {
    "digits": (1797, 64, 10),
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2),
    "diabetes": (442, 10, None),
}


# --------------------------------------------------------------------------- bundled datasets
@pytest.mark.parametrize("name", data.DATASETS)
def test_load_dataset_shapes_and_types(name):
    ds = data.load_dataset(name)
    n, d, k = EXPECTED_SHAPES[name]
    assert ds.X.shape == (n, d) and ds.X.dtype == np.float64
    assert ds.y.shape == (n,)
    assert len(ds.feature_names) == d
    assert np.all(np.isfinite(ds.X))
    assert ds.name == name
    if k is None:
        assert ds.task == "regression" and ds.y.dtype == np.float64 and ds.n_classes is None
    else:
        assert ds.task == "classification" and ds.y.dtype == np.int64
        assert ds.n_classes == k and len(ds.target_names) == k
        assert set(np.unique(ds.y)) == set(range(k))


def test_diabetes_has_raw_measurements():
    ds = data.load_dataset("diabetes")
    age = ds.X[:, ds.feature_names.index("age")]
    assert 18 <= age.min() and age.max() <= 80  # years, not scikit-learn's scaled values


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="load_dataset: name must be one of .*'digits'.*'mnist'"):
        data.load_dataset("mnist")


def test_import_does_not_load_sklearn():
    code = ("import sys, steepest, steepest.data; "
            "assert 'sklearn' not in sys.modules, 'sklearn imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reachable_as_attribute():
    assert st.data is data


# --------------------------------------------------------------------------- CSV
def write(path, text):
    path.write_text(text)
    return path


def test_load_csv_text_labels(tmp_path):
    path = write(tmp_path / "flowers.csv",
                 "width,species,height\n1.5,setosa,2\n2.5,virginica,3\n3.5,setosa,4.5\n")
    ds = data.load_csv(path, target="species")
    np.testing.assert_array_equal(ds.X, [[1.5, 2.0], [2.5, 3.0], [3.5, 4.5]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.target_names == ["setosa", "virginica"]
    assert ds.feature_names == ["width", "height"]
    assert ds.task == "classification" and ds.name == "flowers"


def test_load_csv_regression_and_delimiter(tmp_path):
    path = write(tmp_path / "r.csv", "a;price\n1;10.5\n2;11.25\n3;9.75\n")
    ds = data.load_csv(path, target="price", delimiter=";")
    assert ds.task == "regression"
    np.testing.assert_array_equal(ds.y, [10.5, 11.25, 9.75])


def test_load_csv_integer_labels_and_forced_task(tmp_path):
    path = write(tmp_path / "i.csv", "x,y\n0.1,3\n0.2,7\n0.3,3\n")
    ds = data.load_csv(path, target="y")
    assert ds.task == "classification" and ds.target_names == ["3", "7"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    reg = data.load_csv(path, target="y", task="regression")
    np.testing.assert_array_equal(reg.y, [3.0, 7.0, 3.0])


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file.*nope.csv"):
        data.load_csv(tmp_path / "nope.csv", target="y")


def test_load_csv_missing_target_lists_columns(tmp_path):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n3,4\n")
    with pytest.raises(ValueError, match=r"no target column 'label'; the columns are \['a', 'b'\]"):
        data.load_csv(path, target="label")


@pytest.mark.parametrize("cell, message", [
    ("nan", r"line 3, column 'b' is nan"),
    ("", r"line 3, column 'b' is empty"),
    ("abc", r"line 3, column 'b' is not a number: 'abc'"),
])
def test_load_csv_bad_feature_names_row_and_column(tmp_path, cell, message):
    path = write(tmp_path / "a.csv", f"a,b,y\n1,2,0\n3,{cell},1\n")
    with pytest.raises(ValueError, match=message):
        data.load_csv(path, target="y")


def test_load_csv_single_class(tmp_path):
    path = write(tmp_path / "a.csv", "a,y\n1,cat\n2,cat\n")
    with pytest.raises(ValueError, match="single class.*'cat'"):
        data.load_csv(path, target="y")


def test_load_csv_counts_lines_of_the_file(tmp_path):
    path = write(tmp_path / "a.csv", "a,y\n1,0\n\n2,1\ninf,0\n")
    with pytest.raises(ValueError, match=r"line 5, column 'a' is inf"):
        data.load_csv(path, target="y")


def test_load_csv_ragged_and_empty(tmp_path):
    with pytest.raises(ValueError, match="line 3 has 1 fields, the header has 2"):
        data.load_csv(write(tmp_path / "a.csv", "a,y\n1,0\n2\n"), target="y")
    with pytest.raises(ValueError, match="empty"):
        data.load_csv(write(tmp_path / "b.csv", ""), target="y")
    with pytest.raises(ValueError, match="no data rows"):
        data.load_csv(write(tmp_path / "c.csv", "a,y\n"), target="y")


# --------------------------------------------------------------------------- NPZ
def test_load_npz_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 4, 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = data.load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.target_names, [str(c) for c in np.unique(y)])
    assert ds.task == "classification"


def test_load_npz_custom_keys_and_regression(tmp_path):
    np.savez(tmp_path / "d.npz", feats=np.arange(5.0), target=np.linspace(0, 1, 5) ** 2)
    ds = data.load_npz(tmp_path / "d.npz", x_key="feats", y_key="target")
    assert ds.X.shape == (5, 1) and ds.task == "regression"


def test_load_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.load_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), labels=np.arange(3))
    with pytest.raises(KeyError, match=r"y_key='y' is not in the archive; its arrays are"):
        data.load_npz(tmp_path / "d.npz")
    np.savez(tmp_path / "n.npz", X=np.array([[1.0, np.nan]]), y=np.array([0.5]))
    with pytest.raises(ValueError, match=r"row 0, column 1 is nan"):
        data.load_npz(tmp_path / "n.npz")
    np.savez(tmp_path / "o.npz", X=np.array([1, "a"], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="object arrays are refused|pickle"):
        data.load_npz(tmp_path / "o.npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ValueError, match="single array"):
        data.load_npz(tmp_path / "single.npy")


# --------------------------------------------------------------------------- splitting
def test_split_sizes_and_stratification():
    ds = data.load_dataset("digits")
    split = data.train_val_test_split(ds.X, ds.y, val=0.15, test=0.15, seed=1)
    n = ds.n_samples
    sizes = [split.train_index.size, split.val_index.size, split.test_index.size]
    assert sizes == [n - 2 * 270, 270, 270]
    all_rows = np.concatenate([split.train_index, split.val_index, split.test_index])
    np.testing.assert_array_equal(np.sort(all_rows), np.arange(n))
    overall = np.bincount(ds.y) / n
    for y_part in (split.y_train, split.y_val, split.y_test):
        share = np.bincount(y_part, minlength=10) / y_part.size
        assert np.max(np.abs(share - overall)) < 0.01  # one row of 270 is 0.0037
    np.testing.assert_array_equal(split.X_val, ds.X[split.val_index])
    assert split.train[0] is split.X_train and split.test[1] is split.y_test


def test_split_is_reproducible_by_seed_and_by_manual_seed():
    X, y = np.arange(200.0).reshape(100, 2), np.repeat([0, 1, 2, 3], 25)
    a = data.train_val_test_split(X, y, seed=7)
    b = data.train_val_test_split(X, y, seed=7)
    c = data.train_val_test_split(X, y, seed=8)
    np.testing.assert_array_equal(a.test_index, b.test_index)
    assert not np.array_equal(a.test_index, c.test_index)
    st.manual_seed(3)
    d = data.train_val_test_split(X, y)
    st.manual_seed(3)
    e = data.train_val_test_split(X, y)
    np.testing.assert_array_equal(d.val_index, e.val_index)


def test_split_regression_target_is_uniform():
    y = np.linspace(0.0, 1.0, 40)
    split = data.train_val_test_split(np.zeros((40, 1)), y, val=0.25, test=0.25, seed=0)
    assert (split.train_index.size, split.val_index.size, split.test_index.size) == (20, 10, 10)


@settings(max_examples=40, deadline=None)
@given(n=hst.integers(10, 300), classes=hst.integers(2, 6), val=hst.floats(0.0, 0.4),
       test=hst.floats(0.05, 0.4), seed=hst.integers(0, 2**31))
def test_split_partitions_rows(n, classes, val, test, seed):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(classes), rng.integers(0, classes, n - classes)])
    try:
        split = data.train_val_test_split(np.zeros((n, 1)), y, val=val, test=test, seed=seed)
    except ValueError as error:
        assert "empty" in str(error)
        return
    rows = np.concatenate([split.train_index, split.val_index, split.test_index])
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    assert split.test_index.size == int(np.ceil(test * n))
    assert abs(split.val_index.size - int(np.ceil(val * n))) <= 1
    if val == 0:
        assert split.val_index.size == 0


def test_split_errors():
    X, y = np.zeros((10, 1)), np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match=r"val \+ test must be below 1"):
        data.train_val_test_split(X, y, val=0.5, test=0.5)
    with pytest.raises(ValueError, match=r"test must be in \[0, 1\), got 1.5"):
        data.train_val_test_split(X, y, test=1.5)
    with pytest.raises(ValueError, match="single class"):
        data.train_val_test_split(X, np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="one row per entry"):
        data.train_val_test_split(X, y[:5])
    with pytest.raises(ValueError, match="training set would be empty"):
        data.train_val_test_split(np.zeros((2, 1)), [0, 1], val=0.4, test=0.4)
    with pytest.raises(TypeError, match="stratify must be True or False"):
        data.train_val_test_split(X, y, stratify="yes")


# --------------------------------------------------------------------------- Standardizer
def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train, test = rng.normal(3.0, 2.0, (500, 3)), rng.normal(10.0, 1.0, (50, 3))
    scaler = data.Standardizer().fit(train)
    z = scaler.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(scaler.transform(test), (test - train.mean(0)) / train.std(0))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test)


def test_standardizer_constant_column_and_dtype():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], dtype=np.float32)
    z = data.Standardizer().fit_transform(X)
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z[:, 1], 0.0)
    assert np.all(np.isfinite(z))


def test_standardizer_state_dict_roundtrip_and_errors():
    X = np.random.default_rng(1).normal(size=(30, 4))
    scaler = data.Standardizer().fit(X)
    copy = data.Standardizer().load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(copy.transform(X), scaler.transform(X))
    with pytest.raises(RuntimeError, match="call fit"):
        data.Standardizer().transform(X)
    with pytest.raises(ValueError, match="X has 3 features, but it was fitted on 4"):
        scaler.transform(X[:, :3])
    with pytest.raises(ValueError, match="is nan"):
        data.Standardizer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        scaler.transform(np.ones(4))


# --------------------------------------------------------------------------- batches
def test_batches_cover_every_row_once():
    X, y = np.arange(23.0)[:, None], np.arange(23)
    seen = [yb for _, yb in data.batches(X, y, batch_size=5, rng=0)]
    assert [b.size for b in seen] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), y)
    assert not np.array_equal(np.concatenate(seen), y)  # shuffled
    for xb, yb in data.batches(X, y, batch_size=5, rng=0):
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows stay paired


def test_batches_options():
    X = np.arange(10.0)
    ordered = list(data.batches(X, batch_size=4, shuffle=False))
    np.testing.assert_array_equal(ordered[-1], [8.0, 9.0])
    dropped = list(data.batches(X, batch_size=4, shuffle=False, drop_last=True))
    assert len(dropped) == 2
    a = np.concatenate(list(data.batches(X, batch_size=3, rng=np.random.default_rng(5))))
    b = np.concatenate(list(data.batches(X, batch_size=3, rng=5)))
    np.testing.assert_array_equal(a, b)


def test_batches_follow_manual_seed():
    X = np.arange(50.0)
    st.manual_seed(11)
    first = np.concatenate(list(data.batches(X, batch_size=8)))
    st.manual_seed(11)
    again = np.concatenate(list(data.batches(X, batch_size=8)))
    np.testing.assert_array_equal(first, again)


def test_batches_validate_eagerly():
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, inf\), got 0"):
        data.batches(np.ones(3), batch_size=0)
    with pytest.raises(ValueError, match="same number of rows"):
        data.batches(np.ones((3, 2)), np.ones(4), batch_size=2)


@settings(max_examples=30, deadline=None)
@given(n=hst.integers(0, 60), batch_size=hst.integers(1, 20), drop_last=hst.booleans())
def test_batches_sizes(n, batch_size, drop_last):
    sizes = [len(b) for b in data.batches(np.zeros(n), batch_size=batch_size, drop_last=drop_last,
                                          rng=0)]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert sizes == expected
