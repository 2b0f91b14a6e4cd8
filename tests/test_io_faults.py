"""Damaged checkpoints always raise CheckpointError; faults during a save name the checkpoint
and leave nothing behind (issue 10, items 5 and 6)."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import io as st_io
from steepest.io import CheckpointError

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
OBJ = {"w": np.arange(6.0).reshape(2, 3), "step": 3, "betas": (0.9, 0.999), "name": "adam"}


def saved(tmp_path, obj=OBJ):
    path = tmp_path / "c.npz"
    st.save(obj, path)
    return path


def _temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(st_io.TEMP_SUFFIX))


# --------------------------------------------------------------------------- compression
@pytest.mark.parametrize("method", [8, 12, 14, 99, 0xFFFF])
def test_a_compression_method_byte_is_refused_with_checkpoint_error(tmp_path, method):
    path = saved(tmp_path)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = raw.find(signature)
        while start != -1:
            raw[start + offset:start + offset + 2] = method.to_bytes(2, "little")
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        st.load(path)


def _archive(path, metadata, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        for name, data in members.items():
            archive.writestr(name, data)


def _npy(shape, dtype="<f8", data=b""):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue() + data


def _metadata(shape, digest="0" * 64):
    return {"format": st_io.FORMAT, "version": 1, "writer": "x",
            "arrays": {"a0": {"dtype": "<f8", "shape": list(shape), "sha256": digest}},
            "tree": {"type": "array", "array": "a0"}}


def _peak_of(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_deflate_bomb_is_refused_before_inflating(tmp_path):
    shape = (1 << 27,)  # 1 GiB of float64 zeros, about 1 MiB deflated
    path = tmp_path / "bomb.npz"
    _archive(path, _metadata(shape), {"a0.npy": _npy(shape, data=bytes(8 << 27))},
             zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 << 20

    def attempt():
        with pytest.raises(CheckpointError, match="compression"):
            st.load(path)
    assert _peak_of(attempt) < 16 << 20


def test_an_npy_header_larger_than_the_metadata_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npz"
    _archive(path, _metadata((2,)), {"a0.npy": _npy((1 << 27,), data=bytes(16))})

    def attempt():
        with pytest.raises(CheckpointError, match="metadata says"):
            st.load(path)
    assert _peak_of(attempt) < 16 << 20


def test_metadata_and_header_agreeing_on_a_huge_shape_cannot_exceed_the_file(tmp_path):
    path = tmp_path / "huge.npz"
    shape = (1 << 27,)
    _archive(path, _metadata(shape), {"a0.npy": _npy(shape, data=bytes(64))})

    def attempt():
        with pytest.raises(CheckpointError):
            st.load(path)
    assert _peak_of(attempt) < 16 << 20


def test_an_overflowing_shape_product_is_refused(tmp_path):
    path = tmp_path / "overflow.npz"
    shape = (1 << 40, 1 << 40, 1 << 40)
    _archive(path, _metadata(shape), {"a0.npy": _npy(shape)})
    with pytest.raises(CheckpointError):
        st.load(path)


# --------------------------------------------------------------------------- random damage
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hs.data())
def test_random_damage_raises_checkpoint_error_or_loads_the_same(tmp_path, data):
    path = tmp_path / "d.npz"
    st.save(OBJ, path)
    raw = bytearray(path.read_bytes())
    kind = data.draw(hs.sampled_from(["flip", "truncate", "splice"]))
    if kind == "flip":
        for _ in range(data.draw(hs.integers(1, 4))):
            i = data.draw(hs.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(hs.integers(1, 255))
    elif kind == "truncate":
        raw = raw[:data.draw(hs.integers(0, len(raw) - 1))]
    else:
        i = data.draw(hs.integers(0, len(raw)))
        raw[i:i] = data.draw(hs.binary(min_size=1, max_size=64))
    path.write_bytes(bytes(raw))
    try:
        loaded = st.load(path)
    except CheckpointError:
        return
    assert set(loaded) == set(OBJ)
    np.testing.assert_array_equal(loaded["w"], OBJ["w"])
    assert loaded["step"] == 3 and loaded["betas"] == (0.9, 0.999) and loaded["name"] == "adam"


# --------------------------------------------------------------------------- disk full, read-only
def test_disk_full_names_the_checkpoint_and_leaves_the_old_file(tmp_path, monkeypatch):
    path = saved(tmp_path)
    before = path.read_bytes()

    def full(file, metadata, arrays):
        file.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(st_io, "_write_archive", full)
    with pytest.raises(OSError) as info:
        st.save({"w": np.zeros(3)}, path)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value) and st_io.TEMP_SUFFIX not in str(info.value)
    assert info.value.filename == str(path)
    assert path.read_bytes() == before
    assert _temporaries(tmp_path) == []


def test_read_only_directory_names_the_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    real_open = os.open

    def refuse(name, *args, **kwargs):
        if str(name).endswith(st_io.TEMP_SUFFIX):
            raise PermissionError(errno.EROFS, "Read-only file system", name)
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OSError) as info:
        st.save(OBJ, path)
    assert info.value.errno == errno.EROFS
    assert str(path) in str(info.value) and st_io.TEMP_SUFFIX not in str(info.value)


# --------------------------------------------------------------------------- killed saves
_CHILD = textwrap.dedent("""
    import sys, time, numpy as np
    sys.path.insert(0, {src!r})
    import steepest as st
    from steepest import io as st_io
    real = st_io._write_archive
    def slow(file, metadata, arrays):
        file.write(b"x" * 100000)
        file.flush()
        print("writing", flush=True)
        time.sleep(60)
    st_io._write_archive = slow
    st.save({{"w": np.zeros(1000)}}, {path!r})
""")


def _start_killable_save(path):
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(src=SRC, path=str(path))],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    return child


def test_a_save_after_sigkill_removes_the_stale_temporaries(tmp_path):
    path = tmp_path / "c.npz"
    st.save(OBJ, path)
    for _ in range(3):
        child = _start_killable_save(path)
        child.send_signal(signal.SIGKILL)
        child.wait()
        # each killed save leaves one file; the next save (the next child's) removes it
        assert len(_temporaries(tmp_path)) == 1
    st.load(path)  # the kills left the previous checkpoint intact
    st.save(OBJ, path)
    assert _temporaries(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]


def test_a_save_in_progress_keeps_its_temporary(tmp_path):
    path = tmp_path / "c.npz"
    child = _start_killable_save(path)
    try:
        st.save(OBJ, path)
        assert len(_temporaries(tmp_path)) == 1  # the live writer's file is left alone
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    st.save(OBJ, path)
    assert _temporaries(tmp_path) == []


def test_temporaries_of_other_machines_go_only_when_a_day_old(tmp_path):
    path = saved(tmp_path)
    fresh = tmp_path / f".c.npz.deadbeef-1-{'0' * 16}{st_io.TEMP_SUFFIX}"
    old = tmp_path / f".c.npz.deadbeef-2-{'1' * 16}{st_io.TEMP_SUFFIX}"
    legacy = tmp_path / f".c.npz.{'a' * 16}.tmp"
    other_target = tmp_path / f".d.npz.deadbeef-3-{'2' * 16}{st_io.TEMP_SUFFIX}"
    unrelated = tmp_path / ".c.npz.notes"
    for f in (fresh, old, legacy, other_target, unrelated):
        f.write_bytes(b"x")
    day_ago = time.time() - st_io.STALE_AFTER_S - 60
    for f in (old, legacy, other_target, unrelated):
        os.utime(f, (day_ago, day_ago))
    removed = st_io.remove_stale_temporaries(path)
    assert sorted(os.path.basename(r) for r in removed) == sorted([old.name, legacy.name])
    assert fresh.exists() and other_target.exists() and unrelated.exists()
