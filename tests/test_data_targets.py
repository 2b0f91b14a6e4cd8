"""Regressions from a fault-injection pass over data loading: CSV target cells (missing, stray
non-numbers, beyond int64), a UTF-8 byte-order mark, files without features, NPZ targets that
are neither numbers nor text, damaged .npy headers and paths that are not regular files."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

from steepest import data


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def regression_lines(n=40):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 2))
    t = X @ [1.5, -2.0]
    return ["a,b,price"] + [f"{x0:.4f},{x1:.4f},{ti:.4f}" for (x0, x1), ti in zip(X, t, strict=True)]


def test_empty_regression_target_cell_is_refused_with_line_and_column(tmp_path):
    lines = regression_lines()
    lines[7] = lines[7].rsplit(",", 1)[0] + ","  # line 8 of the file
    with pytest.raises(ValueError, match=r"line 8, column 'price' \(the target\) is empty"):
        data.load_csv(write(tmp_path / "r.csv", lines), "price")


def test_empty_class_target_cell_is_refused_not_made_a_class(tmp_path):
    lines = ["a,label"] + [f"{i},{i % 2}" for i in range(20)]
    lines[5] = "4,"
    with pytest.raises(ValueError, match=r"line 6, column 'label' \(the target\) is empty"):
        data.load_csv(write(tmp_path / "c.csv", lines), "label")


def test_numeric_target_with_stray_text_names_the_lines(tmp_path):
    lines = regression_lines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",?"
    lines[10] = lines[10].rsplit(",", 1)[0] + ",n/a"
    with pytest.raises(ValueError, match=r"holds numbers except at line 4 \('\?'\), "
                                         r"line 11 \('n/a'\)"):
        data.load_csv(write(tmp_path / "r.csv", lines), "price")


def test_text_label_column_is_still_classes(tmp_path):
    lines = ["a,species"] + [f"{i},{['setosa', 'virginica', '3'][i % 3]}" for i in range(12)]
    ds = data.load_csv(write(tmp_path / "t.csv", lines), "species")
    assert ds.task == "classification" and ds.target_names == ["3", "setosa", "virginica"]


def test_byte_order_mark_is_not_part_of_the_first_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("label,a,b\n0,1,2\n1,3,4\n0,5,6\n1,7,8\n", encoding="utf-8-sig")
    ds = data.load_csv(path, "label")
    assert ds.feature_names == ["a", "b"] and ds.n_classes == 2
    path.write_text("a,b,label\n0,1,0\n1,3,1\n0,5,0\n1,7,1\n", encoding="utf-8-sig")
    assert data.load_csv(path, "label").feature_names == ["a", "b"]


def test_integer_target_beyond_int64_names_file_line_and_column(tmp_path):
    lines = ["a,label", "1,0", "2,1", "3,0", "4,99999999999999999999999", "5,1"]
    with pytest.raises(ValueError, match=r"big\.csv.*line 5, column 'label' holds the integer "
                                         r"99999999999999999999999, beyond the 64-bit range"):
        data.load_csv(write(tmp_path / "big.csv", lines), "label")


def test_csv_with_only_the_target_column_is_a_data_error(tmp_path):
    with pytest.raises(ValueError, match="the only column is the target 'label'"):
        data.load_csv(write(tmp_path / "one.csv", ["label", "0", "1", "0", "1"]), "label")


def test_npz_without_feature_columns_is_a_data_error(tmp_path):
    np.savez(tmp_path / "x0.npz", X=np.zeros((6, 0)), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match=r"'X' has no feature columns \(shape \(6, 0\)\)"):
        data.load_npz(tmp_path / "x0.npz")


def test_npz_datetime_target_is_a_data_error(tmp_path):
    y = np.array(["2020-01-01"] * 3 + ["2021-01-01"] * 3, dtype="datetime64[D]")
    np.savez(tmp_path / "dt.npz", X=np.arange(12.0).reshape(6, 2), y=y)
    with pytest.raises(TypeError, match=r"'y' must hold numbers or text labels, got dtype "
                                        r"datetime64\[D\]"):
        data.load_npz(tmp_path / "dt.npz")


def test_one_byte_header_damage_in_npz_is_the_documented_value_error(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.standard_normal((30, 3)), y=rng.integers(0, 3, 30))
    raw = path.read_bytes()
    k = raw.index(b"{'descr'")
    path.write_bytes(raw[:k] + b"\x94" + raw[k + 1:])  # NumPy's tokenizer raises TokenError
    with pytest.raises(ValueError, match="damaged or truncated"):
        data.load_npz(path)


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    # an open() of a FIFO waits for a writer forever: fail the test instead of hanging
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked on a FIFO"))
    signal.alarm(10)
    yield path
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX named pipes")
def test_csv_and_npz_loaders_refuse_a_named_pipe(fifo):
    with pytest.raises(ValueError, match=r"is not a regular file \(it is a named pipe"):
        data.load_csv(fifo, "y")
    with pytest.raises(ValueError, match=r"is not a regular file \(it is a named pipe"):
        data.load_npz(fifo)


def test_npz_bytes_labels_are_named_by_their_text(tmp_path):
    # an S array (bytes) read back from an NPZ was named "b'cat'"
    path = tmp_path / "bytes.npz"
    np.savez(path, X=np.arange(8.0).reshape(4, 2),
             y=np.array([b"cat", "café".encode(), b"cat", b"\xff"]))
    ds = data.load_npz(path)
    assert ds.target_names == ["café", "cat", "\\xff"]  # in the sorted order of the bytes
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 2])


def test_labels_that_would_read_alike_keep_distinct_names(tmp_path):
    path = tmp_path / "alike.npz"  # the bytes 0xff and the text "\xff" (4 characters) as bytes
    np.savez(path, X=np.arange(8.0).reshape(4, 2), y=np.array([b"\\xff", b"\xff", b"\xff", b"x"]))
    names = data.load_npz(path).target_names
    assert len(set(names)) == 3
