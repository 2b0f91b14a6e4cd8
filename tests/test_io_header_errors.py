"""Regressions: damage to an array's .npy header that NumPy's parser reports with exceptions other
than ValueError (tokenize.TokenError, SyntaxError) is a CheckpointError; a named pipe is refused
without being read."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

import steepest as st
from steepest.io import CheckpointError


def damaged(tmp_path, replacement: bytes):
    path = tmp_path / "ck.npz"
    st.save({"w": np.zeros((64, 64), np.float32)}, path)  # big enough that the header is
    # parsed before the zip CRC of the member is checked
    raw = path.read_bytes()
    k = raw.index(b"{'descr'")
    path.write_bytes(raw[:k] + replacement + raw[k + 1:])
    return path


def test_one_byte_header_corruption_is_a_checkpoint_error(tmp_path):
    # "{" -> 0x94: literal_eval fails, NumPy's Python 2 fallback tokenizer raises TokenError
    with pytest.raises(CheckpointError, match=r"damaged \.npy header \(TokenError"):
        st.load(damaged(tmp_path, b"\x94"))


@pytest.mark.parametrize("byte", [b"(", b"[", b" ", b"\t", b"#", b"'", b"\\"])
def test_other_single_byte_header_damage_is_a_checkpoint_error(tmp_path, byte):
    with pytest.raises(CheckpointError):
        st.load(damaged(tmp_path, byte))


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "mkfifo"),
                    reason="POSIX named pipes")
def test_load_refuses_a_named_pipe_without_blocking(tmp_path):
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("load blocked on a FIFO"))
    signal.alarm(10)
    try:
        with pytest.raises(CheckpointError, match=r"not a regular file \(it is a named pipe"):
            st.load(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
