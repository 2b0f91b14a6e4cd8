"""File-system faults of steepest.save: a target that is a named pipe or a device is refused,
never replaced by the checkpoint."""

import os
import stat

import numpy as np
import pytest

import steepest as st
from steepest import io as st_io

OBJ = {"w": np.arange(4.0), "step": 3}


def _temporaries(directory):
    return [n for n in os.listdir(directory) if n.endswith(st_io.TEMP_SUFFIX)]


# --------------------------------------------------------------------------- non-regular targets
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_not_replaced_by_the_checkpoint(tmp_path):
    pipe = tmp_path / "ck.npz"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match=r"named pipe.*not a regular file") as info:
        st.save(OBJ, pipe)
    assert str(pipe) in str(info.value)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)  # still the pipe
    assert _temporaries(tmp_path) == []


@pytest.mark.skipif(not (hasattr(os, "mknod") and hasattr(os, "geteuid") and os.geteuid() == 0),
                    reason="creating a device node needs root")
def test_a_device_such_as_dev_null_is_not_replaced(tmp_path):
    # `--checkpoint /dev/null` run as root (a container) used to rename the checkpoint over
    # /dev/null itself; this is a copy of that device node
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with pytest.raises(OSError, match="character device"):
        st.save(OBJ, null)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert _temporaries(tmp_path) == []


def test_a_symlink_to_a_regular_file_is_still_followed(tmp_path):
    real = tmp_path / "real.npz"
    st.save(OBJ, real)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    st.save({"w": np.zeros(2)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(st.load(real)["w"], np.zeros(2))
