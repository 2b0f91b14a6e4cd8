"""st.save / st.load: exact round trips, atomic writes, and refusal of damaged or unsafe files."""

from __future__ import annotations

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import zipfile
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import nn
from steepest.io import CheckpointError


def assert_identical(a, b, path="obj"):
    """Equal values *and* equal types, dtypes, shapes, key order and key types, recursively."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray | np.generic):
        assert a.dtype == b.dtype and a.dtype.str == b.dtype.str, path
        assert np.shape(a) == np.shape(b), path
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), path
    elif isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b], f"{path}: keys differ"
        for key in a:
            assert_identical(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a.hex() == b.hex() or (math.isnan(a) and math.isnan(b)), path
    elif isinstance(a, complex):
        assert_identical(a.real, b.real, path)
        assert_identical(a.imag, b.imag, path)
    else:
        assert a == b, path


def roundtrip(obj, tmp_path, name="checkpoint.npz"):
    path = tmp_path / name
    st.save(obj, path)
    return st.load(path)


OPTIMIZER_STATE = {
    "state": {
        0: {"step": 3, "exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3),
            "exp_avg_sq": np.full((2, 3), 1e-8, dtype=np.float32)},
        1: {"step": 3, "exp_avg": np.zeros(3, dtype=np.float32), "momentum_buffer": None},
    },
    "param_groups": [{"params": [0, 1], "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                      "weight_decay": 0, "amsgrad": False, "maximize": False, "foreach": None,
                      "schedule": {"kind": "cosine", "lr0": 0.1, "total_steps": 1000}}],
}


def test_optimizer_style_state_round_trips_exactly(tmp_path):
    loaded = roundtrip(OPTIMIZER_STATE, tmp_path)
    assert_identical(OPTIMIZER_STATE, loaded)
    assert list(loaded["state"]) == [0, 1] and type(next(iter(loaded["state"]))) is int
    assert loaded["param_groups"][0]["weight_decay"] == 0
    assert type(loaded["param_groups"][0]["weight_decay"]) is int
    assert loaded["state"][0]["exp_avg"].flags.writeable


def test_edge_values_round_trip_exactly(tmp_path):
    obj = {
        "floats": [0.1, -0.0, float("inf"), -float("inf"), float("nan"), 5e-324, 1.7976931348623157e308],
        "ints": [0, -1, 2**63, -(2**100)], "bools": (True, False), "none": None,
        "complex": 1.5 - 2j, "text": "naïve ∂x — \"quoted\"\n", "empty": ({}, [], (), ""),
        "scalars": [np.float32(1.1), np.float64(-0.0), np.int8(-3), np.uint64(2**64 - 1),
                    np.bool_(True), np.complex64(1 + 1j), np.float16(0.5)],
        "arrays": [np.zeros((0, 3)), np.array(7), np.arange(4, dtype=">i4"),
                   np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(12)[::3],
                   np.array([True, False]), np.array([1 + 2j], dtype=np.complex128),
                   np.array([np.nan, -0.0], dtype=np.float32)],
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "key order": {"z": 1, 3: 2, "a": 3, -1: 4},
        "nested": [[[[{"deep": (1, [2.0])}]]]],
    }
    assert_identical(obj, roundtrip(obj, tmp_path))


_leaves = hs.one_of(
    hs.none(), hs.booleans(), hs.integers(), hs.floats(allow_nan=True), hs.text(max_size=8),
    hs.complex_numbers(allow_nan=False),
    hs.builds(lambda shape, dtype, seed: (np.random.default_rng(seed).standard_normal(shape) * 10)
              .astype(dtype),
              hs.lists(hs.integers(0, 3), max_size=3).map(tuple),
              hs.sampled_from(["float32", "float64", "int64", "int8", "uint16", "bool", "complex64"]),
              hs.integers(0, 1000)),
)
_keys = hs.one_of(hs.text(max_size=6), hs.integers(-5, 5))
_trees = hs.recursive(_leaves, lambda inner: hs.one_of(
    hs.lists(inner, max_size=4), hs.lists(inner, max_size=4).map(tuple),
    hs.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_trees)
def test_any_supported_nesting_round_trips_exactly(tmp_path, obj):
    assert_identical(obj, roundtrip(obj, tmp_path))


def test_module_is_saved_as_its_state_dict(tmp_path):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    loaded = roundtrip(model, tmp_path)
    assert_identical(model.state_dict(), loaded)
    st.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    fresh.load_state_dict(loaded)
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    tensors = roundtrip({"w": st.tensor([1.0, 2.0], requires_grad=True)}, tmp_path)
    assert_identical(tensors, {"w": np.array([1.0, 2.0])})


def test_dict_and_sequence_subclasses_come_back_as_their_base(tmp_path):
    Pair = namedtuple("Pair", "a b")
    loaded = roundtrip({"d": defaultdict(list, x=[1]), "p": Pair(1, 2.0)}, tmp_path)
    assert_identical(loaded, {"d": {"x": [1]}, "p": (1, 2.0)})


def test_optimizer_continues_bit_for_bit_after_a_checkpoint(tmp_path):
    optim = pytest.importorskip("steepest.optim")
    if not hasattr(optim, "Adam"):
        pytest.skip("steepest.optim.Adam is not available yet")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.integers(0, 2, 16)

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            nn.CrossEntropyLoss()(model(x), y).backward()
            opt.step()

    def make():
        st.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 5, dtype=np.float64), nn.Tanh(),
                              nn.Linear(5, 2, dtype=np.float64))
        return model, optim.Adam(model.parameters(), lr=0.01)

    model, opt = make()
    run(model, opt, 10)
    reference_model, reference_opt = make()
    run(reference_model, reference_opt, 4)
    st.save(reference_model, tmp_path / "model.npz")
    st.save(reference_opt.state_dict(), tmp_path / "opt.npz")
    resumed_model, resumed_opt = make()
    resumed_model.load_state_dict(st.load(tmp_path / "model.npz"))
    resumed_opt.load_state_dict(st.load(tmp_path / "opt.npz"))
    run(resumed_model, resumed_opt, 6)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed_model.state_dict()[name], value)


# --------------------------------------------------------------------------- refusing bad input

@pytest.mark.parametrize("obj, where", [
    ({"state": {0: {"fn": len}}}, r"obj\['state'\]\[0\]\['fn'\]: builtins.builtin_function"),
    ({"a": [1, 2, object()]}, r"obj\['a'\]\[2\]: builtins.object is not supported"),
    ({"s": {1, 2}}, r"obj\['s'\]: builtins.set"),
    ({"b": b"bytes"}, r"obj\['b'\]: builtins.bytes"),
    ([np.array([object()])], r"obj\[0\]: NumPy values of dtype object"),
    ([np.array(["text"])], r"obj\[0\]: NumPy values of dtype <U4"),
    ({(1, 2): 3}, r"the key \(1, 2\) of obj: dict keys must be str or int"),
    ({True: 3}, r"the key True of obj: dict keys must be str or int, got bool"),
    ({"m": np.ma.masked_array([1.0])}, r"obj\['m'\]: numpy.ma.MaskedArray"),
    ({"t": np.datetime64("2024-01-01")}, r"obj\['t'\]: NumPy values of dtype datetime64"),
    ({"u": np.str_("text")}, r"obj\['u'\]: NumPy values of dtype <U4"),
])
def test_unsupported_values_are_refused_with_their_key_path(tmp_path, obj, where):
    path = tmp_path / "never.npz"
    with pytest.raises(TypeError, match=where):
        st.save(obj, path)
    assert list(tmp_path.iterdir()) == []


def test_cycles_are_refused(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match=r"obj\['a'\]\[0\] contains itself"):
        st.save(loop, tmp_path / "loop.npz")


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        st.save({}, tmp_path / "no" / "such.npz")


# --------------------------------------------------------------------------- atomic writes

def test_a_failure_mid_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    import steepest.io as io_module

    path = tmp_path / "run.npz"
    st.save({"epoch": 1, "w": np.ones(1000)}, path)
    before = path.read_bytes()
    real_write_array = np.lib.format.write_array
    calls = []

    def crash_on_second_array(file, array, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            file.write(b"\x93NUMPY partial")
            raise OSError("disk full (simulated)")
        real_write_array(file, array, **kwargs)

    monkeypatch.setattr(io_module.np.lib.format, "write_array", crash_on_second_array)
    with pytest.raises(OSError, match="disk full"):
        st.save({"epoch": 2, "w": np.zeros(1000), "v": np.zeros(10)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # the temporary file is gone
    assert st.load(path)["epoch"] == 1


_KILLED_SAVE = """
import os, signal, sys
import numpy as np
import steepest as st
real_write_array = np.lib.format.write_array
def write_then_die(file, array, **kwargs):
    real_write_array(file, array[: array.size // 2], **kwargs)   # half of the data is on its way
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)
np.lib.format.write_array = write_then_die
st.save({"epoch": 2, "w": np.zeros(200_000)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_during_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = tmp_path / "run.npz"
    previous = {"epoch": 1, "w": np.arange(200_000.0)}
    st.save(previous, path)
    result = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], capture_output=True,
                            timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert_identical(st.load(path), previous)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "run.npz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".run.npz.")  # the dead temp file
    with pytest.raises(CheckpointError):  # and it is not mistaken for a checkpoint
        st.load(tmp_path / leftovers[0])


def test_save_replaces_keeping_permissions_and_accepts_str_paths(tmp_path):
    path = tmp_path / "run.npz"
    st.save({"v": 1}, str(path))
    os.chmod(path, 0o600)
    st.save({"v": 2}, path)
    assert st.load(str(path)) == {"v": 2}
    assert path.stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- refusing bad files

def _members(path: pathlib.Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path: pathlib.Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:  # consistent zip CRCs: only our checks remain
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "good.npz"
    st.save({"w": np.arange(100, dtype=np.float64), "step": 5}, path)
    return path


@pytest.mark.parametrize("keep", [0, 10, 100, 400, -22, -1])
def test_truncated_files_are_refused(checkpoint, keep):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:keep] if keep >= 0 else data[:len(data) + keep])
    with pytest.raises(CheckpointError, match="not a valid steepest checkpoint"):
        st.load(checkpoint)


def test_a_flipped_byte_is_refused(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    position = data.index(np.arange(100, dtype=np.float64)[50:51].tobytes())
    data[position] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged|CRC"):
        st.load(checkpoint)


def test_a_replaced_array_with_valid_zip_checksums_is_refused(checkpoint):
    members = _members(checkpoint)
    members["a0.npy"] = members["a0.npy"][:-8] + np.float64(1e9).tobytes()
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match="SHA-256"):
        st.load(checkpoint)


@pytest.mark.parametrize("edit, match", [
    (lambda doc: doc["arrays"]["a0"].update(shape=[10, 10]), "metadata"),
    (lambda doc: doc["arrays"]["a0"].update(dtype="<f4"), "metadata"),
    (lambda doc: doc["arrays"]["a0"].update(dtype="|O"), "Python objects"),
    (lambda doc: doc.update(version=99), "format version 99 by a newer steepest"),
    (lambda doc: doc.update(format="other"), "does not describe"),
    (lambda doc: doc["tree"]["items"][1][1].update(type="eval"), "malformed node"),
    (lambda doc: doc["tree"]["items"][1][1].update(value="5"), "malformed int"),
    (lambda doc: doc["tree"]["items"][0][1].update(array="a7"), "missing or reused array"),
    (lambda doc: doc["tree"]["items"].pop(0), "not part of the structure"),
    (lambda doc: doc["tree"].update(type="list"), "malformed"),
])
def test_inconsistent_metadata_is_refused(checkpoint, edit, match):
    members = _members(checkpoint)
    document = json.loads(members["metadata.json"])
    edit(document)
    members["metadata.json"] = json.dumps(document).encode()
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match=match):
        st.load(checkpoint)


def test_extra_or_missing_members_are_refused(checkpoint):
    members = _members(checkpoint)
    _rewrite(checkpoint, {**members, "a1.npy": members["a0.npy"]})
    with pytest.raises(CheckpointError, match="do not match its metadata"):
        st.load(checkpoint)
    del members["a0.npy"]
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match="do not match its metadata"):
        st.load(checkpoint)


class _Trap:
    """Unpickling this would create a file: proof that nothing was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickled_python_objects_are_refused_and_never_executed(checkpoint, tmp_path):
    marker = tmp_path / "executed"
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap(str(marker))
    evil = tmp_path / "evil.npy"
    np.save(evil, trap, allow_pickle=True)
    members = _members(checkpoint)
    members["a0.npy"] = evil.read_bytes()
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match="Python objects|metadata"):
        st.load(checkpoint)
    # also when the metadata is edited to fit the pickled array's size: the .npy header is refused
    document = json.loads(members["metadata.json"])
    document["arrays"]["a0"].update(shape=[1])
    members["metadata.json"] = json.dumps(document).encode()
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match="array a0 holds Python objects; they are never unpickled"):
        st.load(checkpoint)
    # and when the metadata claims an object array

    document["arrays"]["a0"].update(dtype="|O", shape=[1])
    members["metadata.json"] = json.dumps(document).encode()
    _rewrite(checkpoint, members)
    with pytest.raises(CheckpointError, match="Python objects"):
        st.load(checkpoint)
    # and a pickle file or a pickled-object .npz saved under a checkpoint's name
    import pickle
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps(_Trap(str(marker))))
    with pytest.raises(CheckpointError, match="not a zip"):
        st.load(pickled)
    np.savez(tmp_path / "objects.npz", a0=trap)
    with pytest.raises(CheckpointError, match="plain .npz"):
        st.load(tmp_path / "objects.npz")
    assert not marker.exists()


def test_plain_npz_and_missing_files(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    with pytest.raises(CheckpointError, match="plain .npz, not written by steepest.save"):
        st.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        st.load(tmp_path / "absent.npz")


def test_a_checkpoint_is_a_plain_npz_too(checkpoint):
    with np.load(checkpoint, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["a0"], np.arange(100.0))
