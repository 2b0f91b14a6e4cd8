"""Regressions from QA of ``steepest train --checkpoint/--resume``: a resume that spells out the
optimizer's default lr (or leaves out an lr that equalled it) is the same run, not a settings
mismatch; the summary names the checkpoint file written last, not its ``{epoch}`` pattern; and
a resumed run says how many epochs it trained and how many it restored."""

from __future__ import annotations

import json

import pytest
from cli_harness import run

import steepest as st

COMMON = ("train", "iris", "--hidden", "8", "--quiet")




def train_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *COMMON, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


# ----------------------------------------------------------------- the lr a run left out
@pytest.mark.parametrize("first, again", [
    ((), ("--lr", "0.001")),           # adam's default, now spelled out
    ((), ("--lr", "1e-3")),            # ... in another spelling
    (("--lr", "0.001"), ()),           # given at first, left to the default now
    ((), ()),                          # left out both times
])
def test_resume_with_the_default_lr_spelled_out_or_left_out_is_the_same_run(
        capsys, tmp_path, first, again):
    straight = train_json(capsys, "--epochs", "4")
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint, *first)
    resumed = train_json(capsys, "--epochs", "4", "--resume", checkpoint, *again)
    assert resumed["epochs"] == 4
    assert resumed["test"] == straight["test"]  # bit for bit: the same rate all along


def test_resume_with_another_lr_than_the_default_used_is_still_refused(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint)
    code, out, err = run(capsys, *COMMON, "--epochs", "4", "--resume", checkpoint, "--lr", "0.01")
    assert code == 2 and out == ""
    assert "other settings: lr None there, 0.01 here" in err
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint, "--lr", "0.01")
    code, _, err = run(capsys, *COMMON, "--epochs", "4", "--resume", checkpoint)
    assert code == 2 and "other settings: lr 0.01 there, None here" in err


def test_the_default_compared_is_the_optimizers_own(capsys, tmp_path):
    # adamax's default is 0.002: 0.001 (adam's) is another rate for it
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--optimizer", "adamax", "--epochs", "2", "--checkpoint", checkpoint)
    code, _, err = run(capsys, *COMMON, "--optimizer", "adamax", "--epochs", "3",
                       "--resume", checkpoint, "--lr", "0.001")
    assert code == 2 and "lr None there, 0.001 here" in err
    resumed = train_json(capsys, "--optimizer", "adamax", "--epochs", "3",
                         "--resume", checkpoint, "--lr", "0.002")
    assert resumed["epochs"] == 3


def test_a_checkpoint_without_settings_resumes_with_the_default_lr_spelled_out(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint)
    state = st.load(checkpoint)  # as a steepest from before run settings were recorded wrote it
    del state["settings"]
    state["version"] = 1
    st.save(state, checkpoint)
    code, out, err = run(capsys, *COMMON, "--json", "--epochs", "3", "--resume", checkpoint,
                         "--lr", "0.001")
    assert code == 0 and "did not record the run's settings" in err
    assert json.loads(out)["epochs"] == 3


def test_the_resumed_checkpoint_keeps_recording_the_lr_as_the_first_run_did(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint)
    train_json(capsys, "--epochs", "3", "--resume", checkpoint, "--lr", "0.001",
               "--checkpoint", checkpoint)
    assert st.load(checkpoint)["settings"]["lr"] is None
    assert train_json(capsys, "--epochs", "4", "--resume", checkpoint)["epochs"] == 4


# ----------------------------------------------------------------- the file written last
def test_an_epoch_pattern_summary_names_the_file_written_last(capsys, tmp_path):
    pattern = str(tmp_path / "ck_{epoch:03d}.npz")
    code, out, err = run(capsys, *COMMON, "--epochs", "3", "--checkpoint", pattern)
    assert code == 0, err
    last = str(tmp_path / "ck_003.npz")
    assert out.rstrip().splitlines()[-1] == f"checkpoint {last} (continue with --resume)"
    assert "{epoch" not in out
    metrics = train_json(capsys, "--epochs", "5", "--checkpoint", pattern, "--resume", last)
    assert metrics["checkpoint"] == str(tmp_path / "ck_005.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ck_00{i}.npz" for i in range(1, 6)]


def test_a_resume_with_no_epoch_left_writes_no_checkpoint_and_says_so(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint)
    other = tmp_path / "other.npz"
    code, out, err = run(capsys, *COMMON, "--epochs", "2", "--resume", checkpoint,
                         "--checkpoint", str(other))
    assert code == 0, err
    assert not other.exists()
    assert "trained no more epochs (the 2 epochs restored from" in out
    assert f"no checkpoint written (no epoch was trained); {checkpoint} still holds the run" in out
    assert f"checkpoint {other}" not in out


# ----------------------------------------------------------------- epochs trained and restored
def test_a_resumed_run_says_how_many_epochs_it_trained_and_restored(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    code, out, _ = run(capsys, *COMMON, "--epochs", "2", "--checkpoint", checkpoint)
    assert "trained 2 epochs in " in out
    code, out, err = run(capsys, *COMMON, "--epochs", "5", "--resume", checkpoint)
    assert code == 0, err
    assert f"trained 3 more epochs (epochs 3-5; 2 restored from {checkpoint}) in " in out
    code, out, _ = run(capsys, *COMMON, "--epochs", "3", "--resume", checkpoint)
    assert f"trained 1 more epoch (epoch 3; 2 restored from {checkpoint}) in " in out


def test_json_keeps_the_total_and_adds_the_epochs_trained_and_restored(capsys, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    first = train_json(capsys, "--epochs", "2", "--checkpoint", checkpoint)
    assert (first["epochs"], first["epochs_trained"], first["epochs_restored"]) == (2, 2, 0)
    assert "resumed_from" not in first
    resumed = train_json(capsys, "--epochs", "5", "--resume", checkpoint)
    assert (resumed["epochs"], resumed["epochs_trained"], resumed["epochs_restored"]) == (5, 3, 2)
    assert resumed["resumed_from"] == checkpoint
