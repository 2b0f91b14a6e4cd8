"""Real datasets, user data from CSV and NPZ files, reproducible splits, standardisation and
minibatches.

The bundled datasets are the copies that scikit-learn ships inside its package (no network is
ever used); scikit-learn is imported only inside :func:`load_dataset`, so that ``import
steepest`` stays a NumPy-only import.

Examples
--------
>>> import steepest as st
>>> ds = st.data.load_dataset("iris")
>>> split = st.data.train_val_test_split(ds.X, ds.y, val=0.2, test=0.2, seed=0)
>>> scaler = st.data.Standardizer().fit(split.X_train)
>>> X_train = scaler.transform(split.X_train)
>>> for xb, yb in st.data.batches(X_train, split.y_train, batch_size=32, rng=0):
...     pass
"""

from __future__ import annotations

import csv
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _random
from ._validation import check_bool, check_choice, check_int, check_real
from .io import NPY_HEADER_ERRORS

__all__ = [
    "Dataset", "DATASETS", "load_dataset", "load_csv", "load_npz", "Split",
    "train_val_test_split", "Standardizer", "batches", "infer_task",
]

TASKS = ("classification", "regression")

#: scikit-learn loader name and task of every bundled dataset.
_BUNDLED: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}

#: Names accepted by :func:`load_dataset`.
DATASETS: tuple[str, ...] = tuple(_BUNDLED)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A table of features with one target.

    Attributes
    ----------
    X : numpy.ndarray
        Features, float64 of shape ``(n, d)``, all finite.
    y : numpy.ndarray
        Targets of shape ``(n,)``: class indices ``0 .. k-1`` (int64) for classification, float64
        for regression.
    feature_names : list of str
        One name per column of ``X``.
    target_names : list of str
        The class names (``target_names[y[i]]`` is the class of row ``i``); for regression, the
        name of the target column (or empty when unknown).
    task : {"classification", "regression"}
    name : str
        Where the data came from (a dataset name or a file name).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    task: str = "classification"
    name: str = ""

    def __post_init__(self) -> None:
        check_choice("Dataset", "task", self.task, TASKS)
        if self.X.ndim != 2 or self.y.shape != (self.X.shape[0],):
            raise ValueError(f"Dataset: X must be (n, d) and y (n,); got X {self.X.shape} and "
                             f"y {self.y.shape}")

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return self.X.shape[1]

    @property
    def n_classes(self) -> int | None:
        """Number of classes (None for regression)."""
        if self.task != "classification":
            return None
        return max(len(self.target_names), int(self.y.max()) + 1 if self.y.size else 0)

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        classes = f", classes={self.n_classes}" if self.task == "classification" else ""
        return (f"Dataset(name={self.name!r}, task={self.task!r}, n_samples={self.n_samples}, "
                f"n_features={self.n_features}{classes})")


# --------------------------------------------------------------------------- loading
def load_dataset(name: str) -> Dataset:
    """Load one of the real datasets bundled with scikit-learn (no network access).

    Parameters
    ----------
    name : {"digits", "iris", "wine", "breast_cancer", "diabetes"}
        ``digits``: 1797 8x8 handwritten digits, 64 features, 10 classes. ``iris``: 150 flowers,
        4 features, 3 classes. ``wine``: 178 wines, 13 features, 3 classes. ``breast_cancer``:
        569 tumours, 30 features, 2 classes. ``diabetes``: 442 patients, 10 features, a
        regression target (disease progression after one year); the features are the raw
        measurements, not scikit-learn's pre-scaled ones.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        When scikit-learn (the ``data`` extra) is not installed.
    """
    check_choice("load_dataset", "name", name, DATASETS)
    loader_name, task = _BUNDLED[name]
    try:
        from sklearn import datasets as sk_datasets
    except ImportError:  # pragma: no cover - the test environment has scikit-learn
        raise ImportError("load_dataset needs scikit-learn, which bundles these datasets: "
                          "pip install 'steepest[data]'") from None
    loader = getattr(sk_datasets, loader_name)
    bunch = loader(scaled=False) if name == "diabetes" else loader()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    feature_names = [str(f) for f in bunch.feature_names]
    if task == "classification":
        y = np.asarray(bunch.target, dtype=np.int64)
        target_names = [str(t) for t in bunch.target_names]
    else:
        y = np.asarray(bunch.target, dtype=np.float64)
        target_names = ["disease_progression"]
    return Dataset(X, y, feature_names, target_names, task, name)


def infer_task(y: np.ndarray) -> str:
    """Guess the task from a target: class labels (integers, booleans, strings, or floats that
    are all whole numbers with at most 20 distinct values) mean classification, anything else
    regression.

    Parameters
    ----------
    y : numpy.ndarray

    Returns
    -------
    str
        ``"classification"`` or ``"regression"``.
    """
    y = np.asarray(y)
    if y.dtype.kind in "biuUSO":
        return "classification"
    whole = bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    return "classification" if whole and np.unique(y).size <= 20 else "regression"


def _encode_target(y_raw: np.ndarray, task: str, source: str, column: str
                   ) -> tuple[np.ndarray, list[str]]:
    """Class labels -> indices 0..k-1 with their names; regression -> float64."""
    if task == "regression":
        try:
            y = y_raw.astype(np.float64)
        except ValueError:
            raise ValueError(f"{source}: target {column!r} holds non-numbers, so it cannot be a "
                             f"regression target") from None
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"{source}: target {column!r} is not finite at row {bad[0]} "
                             f"(value {y_raw[bad[0]]!r})")
        return y, [column]
    if y_raw.dtype.kind == "f" and not np.all(np.isfinite(y_raw)):
        row = int(np.flatnonzero(~np.isfinite(y_raw))[0])
        raise ValueError(f"{source}: target {column!r} is not finite at row {row}")
    classes, y = np.unique(y_raw, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"{source}: target {column!r} has a single class ({classes[0].item()!r}); "
                         f"classification needs at least two")
    names = [_class_name(c) for c in classes]
    if len(set(names)) < len(names):  # two labels that print alike: keep their reprs apart
        names = [repr(c.item()) for c in classes]
    return y.astype(np.int64).reshape(-1), names


def _class_name(value: Any) -> str:
    """How a class label reads: integral floats without ``.0``, bytes (an ``S`` array of an
    NPZ) as the text they encode (UTF-8; undecodable bytes as ``\\xNN``), not ``"b'...'"``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    return str(value)


def _check_path(owner: str, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{owner}: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{owner}: {path!r} is a directory, not a file")
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
        # reading a FIFO would wait for a writer forever
        raise ValueError(f"{owner}: {path!r} is not a regular file (it is {kind}); save the "
                         f"data to a file first")
    return path


def load_csv(path: str | os.PathLike, target: str, delimiter: str = ",",
             task: str | None = None) -> Dataset:
    """Read a table with a header row; one column, named by ``target``, is the target.

    Parameters
    ----------
    path : str or path-like
    target : str
        The header name of the target column; every other column is a numeric feature.
    delimiter : str, default ","
    task : {"classification", "regression"}, optional
        Inferred from the target column when omitted (see :func:`infer_task`); text labels are
        always classes. A target column is read as numbers when every cell is one, as text
        labels when most cells are not numbers; a column of numbers with a few cells that are
        not (``"?"``, ``"n/a"``, a typo) is refused, naming their lines.

    Returns
    -------
    Dataset
        Features as float64; class labels encoded as ``0 .. k-1`` in sorted order of the labels,
        whose text is kept in ``target_names``.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        For an empty file, a missing target column (the message lists the columns), a file with
        no feature column besides the target, a row of the wrong length, a non-numeric or
        missing (NaN) feature value or an empty target cell (named by line and column), a
        numeric target with stray non-numbers (their lines named), an integer target beyond
        the 64-bit range, a classification target with a single class, or a path that is not
        a regular file (a named pipe is never read from).

    A UTF-8 byte-order mark before the header (Excel's "CSV UTF-8") is ignored.
    """
    source = f"load_csv({os.fspath(path)!r})"
    path = _check_path("load_csv", path)
    if task is not None:
        check_choice("load_csv", "task", task, TASKS)
    rows = _read_rows(path, source, delimiter)
    if not rows:
        raise ValueError(f"{source}: the file is empty; expected a header row and data rows")
    header = [name.strip() for name in rows[0][1]]
    if target not in header:
        raise ValueError(f"{source}: no target column {target!r}; the columns are {header}")
    if header.count(target) > 1:
        columns = [j + 1 for j, name in enumerate(header) if name == target]
        raise ValueError(f"{source}: the header names the target column {target!r} "
                         f"{len(columns)} times (columns {columns}); rename the copies so that "
                         f"the target is unambiguous")
    if len(rows) < 2:
        raise ValueError(f"{source}: the file has a header but no data rows")
    target_col = header.index(target)
    feature_cols = [j for j in range(len(header)) if j != target_col]
    if not feature_cols:
        raise ValueError(f"{source}: the only column is the target {target!r}; a model needs at "
                         f"least one feature column besides it")
    X = np.empty((len(rows) - 1, len(feature_cols)), dtype=np.float64)
    y_text: list[str] = []
    lines: list[int] = []
    for i, (line, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(f"{source}: line {line} has {len(row)} fields, the header has "
                             f"{len(header)}")
        for k, j in enumerate(feature_cols):
            X[i, k] = _parse_float(row[j], source, line, header[j])
        label = row[target_col].strip()
        if label == "":
            raise ValueError(f"{source}: line {line}, column {target!r} (the target) is empty "
                             f"(missing value); fill or drop the row first")
        y_text.append(label)
        lines.append(line)
    y_raw = _text_to_numbers(y_text, lines, source, target)
    task = task or infer_task(y_raw)
    y, target_names = _encode_target(y_raw, task, source, target)
    name = os.path.splitext(os.path.basename(path))[0]
    return Dataset(X, y, [header[j] for j in feature_cols], target_names, task, name)


def _read_rows(path: str, source: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows with their line numbers, or a ValueError naming the file and line
    for text that is not UTF-8 or a field over the csv module's size limit."""
    rows: list[tuple[int, list[str]]] = []
    reader = None
    try:
        # utf-8-sig: drops the byte-order mark that Excel's "CSV UTF-8" puts before the header
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            # keep each row's line number in the file (blank lines are skipped, not counted away)
            rows = [(reader.line_num, row) for row in reader if row]
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: the file is not UTF-8 text (it holds the byte "
                         f"{error.object[error.start]:#04x}); save it as UTF-8") from None
    except csv.Error as error:
        line = reader.line_num if reader is not None else 0
        raise ValueError(f"{source}: line {line} cannot be read as CSV ({error})") from None
    return rows


def _parse_float(text: str, source: str, line: int, column: str) -> float:
    text = text.strip()
    if text == "":
        raise ValueError(f"{source}: line {line}, column {column!r} is empty (missing value); "
                         f"fill or drop it first")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{source}: line {line}, column {column!r} is not a number: "
                         f"{text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{source}: line {line}, column {column!r} is {value!r}; features must "
                         f"be finite numbers")
    return value


_INT64 = np.iinfo(np.int64)


def _text_to_numbers(values: list[str], lines: list[int], source: str, column: str
                     ) -> np.ndarray:
    """A target column's cells as numbers if every one parses as a number (integers stay
    integers), as text labels if most do not.

    A column where most cells are numbers and a few are not (``"?"``, ``"n/a"``, a typo) is
    refused, naming the lines: read as text it would turn a regression target, or numeric
    classes, into one class per distinct spelling. So is an integer beyond the 64-bit range.
    """
    numbers: list[int | float | None] = []
    for text in values:
        try:
            numbers.append(int(text))
        except ValueError:
            try:
                numbers.append(float(text))
            except ValueError:
                numbers.append(None)
    stray = [k for k, value in enumerate(numbers) if value is None]
    if stray:
        if len(stray) * 2 >= len(values):  # mostly (or all) text: class names
            return np.array(values)
        shown = ", ".join(f"line {lines[k]} ({values[k]!r})" for k in stray[:5])
        more = f" and {len(stray) - 5} more" if len(stray) > 5 else ""
        raise ValueError(f"{source}: target {column!r} holds numbers except at {shown}{more}; "
                         f"fix or drop those rows (a missing value cannot be a class or a "
                         f"regression target)")
    if all(type(value) is int for value in numbers):
        for k, value in enumerate(numbers):
            if not _INT64.min <= value <= _INT64.max:
                raise ValueError(f"{source}: line {lines[k]}, column {column!r} holds the integer "
                                 f"{values[k]}, beyond the 64-bit range "
                                 f"[{_INT64.min}, {_INT64.max}]; write it as a decimal "
                                 f"number (e.g. {float(value):.6g}) for a regression target")
        return np.array(numbers, dtype=np.int64)
    return np.array([float(value) for value in numbers], dtype=np.float64)


def _refuse_nan(X: np.ndarray, source: str, names: list[str] | None, row_offset: int = 0,
                row_word: str = "row") -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        column = names[j] if names else j
        raise ValueError(f"{source}: feature {row_word} {i + row_offset}, column {column!r} is "
                         f"{float(X[i, j])!r}; features must be finite numbers "
                         f"({int(bad.sum())} such values in all)")


def load_npz(path: str | os.PathLike, x_key: str = "X", y_key: str = "y",
             task: str | None = None) -> Dataset:
    """Read features and targets from a NumPy ``.npz`` archive (never unpickling anything).

    Parameters
    ----------
    path : str or path-like
    x_key, y_key : str
        The names of the feature array (2-D, or 1-D for one feature) and the target array (1-D).
    task : {"classification", "regression"}, optional
        Inferred from the target when omitted (see :func:`infer_task`).

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    KeyError
        When ``x_key`` or ``y_key`` is not in the archive (the message lists its keys).
    ValueError
        For mismatched lengths, no feature columns (``X`` of shape ``(n, 0)``), non-finite
        features, object arrays, a single class, a damaged archive, or a path that is not a
        regular file.
    TypeError
        For complex arrays, non-numeric features, or a target that holds neither numbers nor
        text (datetimes, for example).
    """
    source = f"load_npz({os.fspath(path)!r})"
    path = _check_path("load_npz", path)
    if task is not None:
        check_choice("load_npz", "task", task, TASKS)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, *NPY_HEADER_ERRORS) as error:
        raise ValueError(f"{source}: not a readable .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{source}: expected an .npz archive of named arrays, found a single "
                         f"array (.npy); save with np.savez(path, X=..., y=...)")
    with archive:
        keys = list(archive.files)
        for key, what in ((x_key, "x_key"), (y_key, "y_key")):
            if key not in keys:
                raise KeyError(f"{source}: {what}={key!r} is not in the archive; its arrays are "
                               f"{keys}")
        try:
            X_raw, y_raw = archive[x_key], archive[y_key]
        except ValueError as error:
            raise ValueError(f"{source}: {error} (object arrays are refused)") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                *NPY_HEADER_ERRORS) as error:
            raise ValueError(f"{source}: the archive is damaged or truncated "
                             f"({type(error).__name__}: {error})") from None
    for key, array in ((x_key, X_raw), (y_key, y_raw)):
        if array.dtype.kind == "c":
            raise TypeError(f"{source}: {key!r} is complex ({array.dtype}); steepest's models "
                            f"are real-valued, and a complex value is never cast silently")
    if X_raw.dtype.kind not in "fiub":
        raise TypeError(f"{source}: {x_key!r} must hold numbers, got dtype {X_raw.dtype}")
    X = np.asarray(X_raw, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{source}: {x_key!r} must be 1-D or 2-D, got shape {X_raw.shape}")
    y_raw = np.asarray(y_raw).reshape(-1) if np.ndim(y_raw) == 2 and y_raw.shape[1] == 1 else y_raw
    if y_raw.ndim != 1 or y_raw.shape[0] != X.shape[0]:
        raise ValueError(f"{source}: {y_key!r} must be 1-D with one target per row of {x_key!r}; "
                         f"got {x_key} {X.shape} and {y_key} {y_raw.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{source}: the arrays have no rows")
    if X.shape[1] == 0:
        raise ValueError(f"{source}: {x_key!r} has no feature columns (shape {X_raw.shape}); a "
                         f"model needs at least one")
    if y_raw.dtype.kind not in "biufUS":
        raise TypeError(f"{source}: {y_key!r} must hold numbers or text labels, got dtype "
                        f"{y_raw.dtype}; convert it first (e.g. dates to numbers)")
    _refuse_nan(X, source, None)
    task = task or infer_task(y_raw)
    y, target_names = _encode_target(y_raw, task, source, y_key)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(np.ascontiguousarray(X), y, names, target_names, task,
                   os.path.splitext(os.path.basename(path))[0])


# --------------------------------------------------------------------------- splitting
@dataclass(frozen=True, eq=False)
class Split:
    """A train/validation/test split: the arrays and the row indices they were taken from.

    ``split.train``, ``split.val`` and ``split.test`` are ``(X, y)`` pairs, ready for
    :func:`steepest.train.fit`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_train, self.y_train

    @property
    def val(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_val, self.y_val

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_test, self.y_test

    def __repr__(self) -> str:
        return (f"Split(train={len(self.train_index)}, val={len(self.val_index)}, "
                f"test={len(self.test_index)})")


def _as_rng(rng: Any, owner: str) -> np.random.Generator:
    """None -> the library generator; an int -> a fresh seeded generator; a Generator as is."""
    if rng is None:
        return _random.generator()
    if isinstance(rng, np.random.Generator):
        return rng
    seed = check_int(owner, "seed", rng, 0)
    return np.random.default_rng(seed)


def _is_class_label(y: np.ndarray) -> bool:
    return y.dtype.kind in "biuUSO"


def _largest_remainder(counts: np.ndarray, fraction: float, total: int) -> np.ndarray:
    """Split ``total`` among groups in proportion to ``counts`` (never more than a group has)."""
    exact = counts * fraction
    take = np.minimum(np.floor(exact).astype(np.int64), counts)
    order = np.argsort(-(exact - take), kind="stable")
    for k in order:
        if take.sum() >= total:
            break
        if take[k] < counts[k]:
            take[k] += 1
    return take


def train_val_test_split(X: Any, y: Any, val: float = 0.15, test: float = 0.15,
                         stratify: bool = True, seed: int | np.random.Generator | None = None
                         ) -> Split:
    """Split rows at random into train, validation and test sets.

    Parameters
    ----------
    X : array_like of shape (n, d)
    y : array_like of shape (n,)
    val, test : float, default 0.15
        Fractions of the rows for validation and test, each in ``[0, 1)`` with ``val + test < 1``.
        The test set gets ``ceil(test * n)`` rows and the validation set ``ceil(val * n)`` (as
        scikit-learn rounds); a fraction of 0 gives an empty set.
    stratify : bool, default True
        Keep each class's share the same in every set. Applies when ``y`` holds class labels
        (integers, booleans or text); a floating-point (regression) target is split uniformly.
    seed : int or numpy.random.Generator, optional
        The same seed gives the same split. Default: the library generator seeded by
        :func:`steepest.manual_seed`.

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For fractions out of range, mismatched lengths, a stratified target with a single class,
        or a requested set that would be empty (too few rows for the fractions).
    """
    owner = "train_val_test_split"
    val = check_real(owner, "val", val, 0.0, 1.0, high_open=True)
    test = check_real(owner, "test", test, 0.0, 1.0, high_open=True)
    if val + test >= 1.0:
        raise ValueError(f"{owner}: val + test must be below 1 to leave rows for training, got "
                         f"{val} + {test} = {val + test}")
    check_bool(owner, "stratify", stratify)
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"{owner}: X must have one row per entry of the 1-D y; got X {X.shape} "
                         f"and y {y.shape}")
    n = y.shape[0]
    n_test, n_val = math.ceil(test * n), math.ceil(val * n)
    if n - n_test - n_val < 1:
        raise ValueError(f"{owner}: {n} rows are too few for val={val} and test={test}: the "
                         f"training set would be empty")
    rng = _as_rng(seed, owner)
    if stratify and _is_class_label(y):
        classes, labels = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"{owner}: y has a single class ({classes[0].item()!r}); "
                             f"stratifying (and classifying) needs at least two. Pass "
                             f"stratify=False to split it")
        groups = [rng.permutation(np.flatnonzero(labels == c)) for c in range(classes.size)]
        counts = np.array([g.size for g in groups])
        test_take = _largest_remainder(counts, test, n_test)
        # The share of the rows left after the test set that makes n_val in all: val / (1 - test)
        # falls short of it when ceil(test * n) rounded the test set up (one row too few).
        val_take = _largest_remainder(counts - test_take, n_val / (n - n_test), n_val)
        val_take = np.minimum(val_take, counts - test_take)
        parts = ([g[:t] for g, t in zip(groups, test_take, strict=True)],
                 [g[t:t + v] for g, t, v in zip(groups, test_take, val_take, strict=True)],
                 [g[t + v:] for g, t, v in zip(groups, test_take, val_take, strict=True)])
        test_idx, val_idx, train_idx = (rng.permutation(np.concatenate(p)) for p in parts)
    else:
        order = rng.permutation(n)
        test_idx, val_idx, train_idx = (order[:n_test], order[n_test:n_test + n_val],
                                        order[n_test + n_val:])
    for name, fraction, index in (("validation", val, val_idx), ("test", test, test_idx),
                                  ("training", 1.0, train_idx)):
        if fraction > 0 and index.size == 0:
            raise ValueError(f"{owner}: the {name} set would be empty with {n} rows; use more "
                             f"data or a larger fraction")
    return Split(X[train_idx], y[train_idx], X[val_idx], y[val_idx], X[test_idx], y[test_idx],
                 train_idx, val_idx, test_idx)


# --------------------------------------------------------------------------- scaling
class Standardizer:
    """Scale each feature to zero mean and unit variance, with statistics from training data.

    .. math:: z_{ij} = (x_{ij} - \\mu_j) / \\sigma_j

    where :math:`\\mu_j` and :math:`\\sigma_j` (population standard deviation) come from the
    array given to :meth:`fit` only, so no information leaks from validation or test rows. A
    constant column (:math:`\\sigma_j = 0`, or a spread at rounding level,
    :math:`\\sigma_j \\le 10^{-12}|\\mu_j|`) is given a scale of 1, so it maps to zeros instead
    of NaN. Columns of any magnitude the dtype holds (1e-300 or 1e300) are standardised alike.

    Attributes
    ----------
    mean_ : numpy.ndarray of shape (d,)
    scale_ : numpy.ndarray of shape (d,)
        The standard deviations, with 1 in place of 0.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Compute the per-column mean and standard deviation of ``X``; returns ``self``.

        All or nothing: on error the statistics of an earlier fit are kept. Each column is
        scaled by a power of two near its largest magnitude first (exact in floating point), so
        values near 1e300 neither overflow nor lose the spread.
        """
        X = self._check(X, fitting=True)
        if X.shape[0] == 0:
            raise ValueError("Standardizer.fit: X has no rows")
        exponent = np.frexp(np.max(np.abs(X), axis=0).astype(np.float64))[1]
        unit = np.ldexp(1.0, exponent - 1)  # a power of two within a factor 2 of max|x|
        scaled = X / unit
        mean = scaled.mean(axis=0) * unit
        # std <= (max - min) / 2 <= max|x| (Popoviciu): the results always fit the dtype
        std = scaled.std(axis=0) * unit
        mean, std = mean.astype(X.dtype), std.astype(X.dtype)
        # Columns whose spread is at rounding level of their magnitude are constant in truth.
        tiny = (std == 0) | (std <= 1e-12 * np.abs(mean))
        self.mean_, self.scale_ = mean, np.where(tiny, np.ones_like(std), std)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the standardised copy of ``X`` (float32 input stays float32)."""
        X = self._check(X)
        with np.errstate(over="ignore"):
            out = (X - self.mean_) / self.scale_
        if not np.all(np.isfinite(out)):  # x - mean overflowed: divide first (values near 1e308)
            out = X / self.scale_ - self.mean_ / self.scale_
        return out.astype(X.dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Map standardised values back to the original units."""
        Z = self._check(Z)
        return (Z * self.scale_ + self.mean_).astype(Z.dtype, copy=False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as plain arrays (for :func:`steepest.save`)."""
        self._require_fitted("state_dict")
        return {"mean": self.mean_.copy(), "scale": self.scale_.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> Standardizer:
        """Restore statistics saved by :meth:`state_dict`; returns ``self``."""
        mean = np.asarray(state["mean"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != scale.shape or np.any(scale <= 0):
            raise ValueError("Standardizer.load_state_dict: expected 1-D 'mean' and positive "
                             f"'scale' of one shape; got {mean.shape} and {scale.shape}")
        self.mean_, self.scale_ = mean, scale
        return self

    def _require_fitted(self, method: str) -> None:
        if self.mean_ is None:
            raise RuntimeError(f"Standardizer.{method}: call fit() first")

    def _check(self, X: Any, fitting: bool = False) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"Standardizer: X must be numeric, got dtype {X.dtype}")
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        if X.ndim != 2:
            raise ValueError(f"Standardizer: X must be 2-D (n_samples, n_features), got shape "
                             f"{X.shape}")
        _refuse_nan(X, "Standardizer", None)
        if not fitting:
            self._require_fitted("transform")
            if X.shape[1] != self.mean_.shape[0]:
                raise ValueError(f"Standardizer: X has {X.shape[1]} features, but it was fitted "
                                 f"on {self.mean_.shape[0]}")
        return X

    def __repr__(self) -> str:
        fitted = "unfitted" if self.mean_ is None else f"n_features={self.mean_.shape[0]}"
        return f"Standardizer({fitted})"


# --------------------------------------------------------------------------- minibatches
def batches(X: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
            drop_last: bool = False, rng: int | np.random.Generator | None = None
            ) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    """Iterate over minibatches of rows, as a ``torch.utils.data.DataLoader`` does.

    Parameters
    ----------
    X : array_like of shape (n, ...)
    y : array_like of shape (n, ...), optional
        When given, each item is ``(X_batch, y_batch)``; otherwise ``X_batch`` alone.
    batch_size : int, default 32
        Rows per batch (the last one may be smaller unless ``drop_last``).
    shuffle : bool, default True
        Visit rows in a fresh random order (one permutation per call).
    drop_last : bool, default False
        Skip a final batch smaller than ``batch_size``.
    rng : int or numpy.random.Generator, optional
        The source of the permutation. Default: the library generator of
        :func:`steepest.manual_seed`, so a seeded run shuffles reproducibly.

    Yields
    ------
    tuple of numpy.ndarray, or numpy.ndarray

    Raises
    ------
    ValueError
        For a non-positive ``batch_size`` or ``X``/``y`` of different lengths.
    """
    owner = "batches"
    batch_size = check_int(owner, "batch_size", batch_size, 1)
    check_bool(owner, "shuffle", shuffle)
    check_bool(owner, "drop_last", drop_last)
    X = np.asarray(X)
    if X.ndim == 0:
        raise ValueError(f"{owner}: X must have at least one dimension, got a scalar")
    n = X.shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"{owner}: X and y must have the same number of rows; got X "
                             f"{X.shape} and y {y.shape}")
    if shuffle:
        # One gather per epoch, then contiguous slices: cheaper than gathering every batch.
        order = _as_rng(rng, owner).permutation(n)
        X = X[order]
        y = y[order] if y is not None else None
    return _slices(X, y, batch_size, n - n % batch_size if drop_last else n)


def _slices(X: np.ndarray, y: np.ndarray | None, batch_size: int, stop: int
            ) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    # A separate generator, so that batches() checks its arguments (and draws its permutation)
    # when called, not at the first next().
    for start in range(0, stop, batch_size):
        end = start + batch_size
        if y is None:
            yield X[start:end]
        else:
            yield X[start:end], y[start:end]
