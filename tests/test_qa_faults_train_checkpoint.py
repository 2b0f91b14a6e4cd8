"""A training checkpoint written by a newer steepest (a higher training-checkpoint version) is
refused as such, not called damaged; nothing is restored."""

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim, train
from steepest.io import CheckpointError


def _run(tmp_path, **options):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    st.manual_seed(0)
    model = nn.mlp(3, [4], 2, "relu")
    before = {k: v.copy() for k, v in model.state_dict().items()}
    train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), (X, y),
              progress=False, **options)
    return model, before


def test_a_newer_training_checkpoint_says_so(tmp_path):
    _run(tmp_path, epochs=2, checkpoint=str(tmp_path / "c.npz"))
    state = st.load(tmp_path / "c.npz")
    state["version"] += 1
    st.save(state, tmp_path / "newer.npz")
    with pytest.raises(CheckpointError, match="newer steepest") as info:
        _run(tmp_path, epochs=3, resume=str(tmp_path / "newer.npz"))
    assert "damaged" not in str(info.value) and "Nothing was restored" in str(info.value)


@pytest.mark.parametrize("version", [0, "2", None])
def test_a_version_that_no_steepest_writes_is_still_damaged(tmp_path, version):
    _run(tmp_path, epochs=1, checkpoint=str(tmp_path / "c.npz"))
    state = st.load(tmp_path / "c.npz")
    state["version"] = version
    st.save(state, tmp_path / "odd.npz")
    with pytest.raises(CheckpointError, match="damaged training checkpoint"):
        _run(tmp_path, epochs=2, resume=str(tmp_path / "odd.npz"))


def test_training_outputs_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    # a full disk while writing metrics.json had left it at 0 bytes, with an error naming no
    # file; the previous file stays and the error names the one that failed
    import errno
    from pathlib import Path

    from steepest import experiments

    target = tmp_path / "metrics.json"
    target.write_text('{"old": 1}', encoding="utf-8")
    real = Path.write_text

    def full_disk(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)  # half written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match=f"could not write {target}: No space left on device"):
        experiments._write_text(target, '{"new": 2}')
    monkeypatch.setattr(Path, "write_text", real)
    assert target.read_text(encoding="utf-8") == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary left
    experiments._write_text(target, '{"new": 2}')
    assert target.read_text(encoding="utf-8") == '{"new": 2}'
