"""Names at the file system's length limit: steepest.save writes a temporary file next to the
target first, whose name is longer than the target's; a legal target name must still work, and
the temporaries of killed saves of such names must still be recognised and removed."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import io as st_io

SRC = str(Path(__file__).resolve().parents[1] / "src")
OBJ = {"w": np.arange(4.0), "step": 3}


def _temporaries(directory):
    return [n for n in os.listdir(directory) if n.endswith(st_io.TEMP_SUFFIX)]


# --------------------------------------------------------------------------- long names
def _name_max(directory):
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


@pytest.mark.parametrize("char", ["c", "\u00e9"])  # one byte, two bytes in UTF-8
def test_a_name_near_the_length_limit_can_be_saved(tmp_path, char):
    limit = _name_max(tmp_path)
    width = len(char.encode("utf-8"))
    name = char * ((limit - 4) // width) + ".npz"  # as long as the file system allows
    path = tmp_path / name
    st.save(OBJ, path)  # the temporary's name, longer than the target's, used to be refused
    st.save({"w": np.ones(2)}, path)
    np.testing.assert_array_equal(st.load(path)["w"], np.ones(2))
    assert sorted(os.listdir(tmp_path)) == [name]


_CHILD = textwrap.dedent("""
    import sys, time, numpy as np
    sys.path.insert(0, {src!r})
    import steepest as st
    from steepest import io as st_io
    def slow(file, metadata, arrays):
        file.write(b"x" * 1000)
        file.flush()
        print("writing", flush=True)
        time.sleep(60)
    st_io._write_archive = slow
    st.save({{"w": np.zeros(10)}}, {path!r})
""")


def test_the_temporary_of_a_killed_save_of_a_long_name_is_removed_next_time(tmp_path):
    path = tmp_path / ("k" * (_name_max(tmp_path) - 4) + ".npz")
    other = tmp_path / ("k" * (_name_max(tmp_path) - 5) + "x.npz")  # the same long prefix
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(src=SRC, path=str(path))],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert len(_temporaries(tmp_path)) == 1
    st.save(OBJ, other)  # another target's save leaves that temporary alone
    assert len(_temporaries(tmp_path)) == 1
    st.save(OBJ, path)
    assert _temporaries(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, other.name])
