"""Choosing the kernels: set_kernels, STEEPEST_KERNELS, and import steepest staying NumPy-only."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from steepest import kernels

SRC = os.path.dirname(os.path.dirname(kernels.__file__)).rsplit(os.sep, 1)[0]


def _python(code: str, **env: str) -> dict:
    environment = {**os.environ, "PYTHONPATH": SRC, **env}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_steepest_does_not_import_numba():
    found = _python("import json, sys, steepest, steepest.kernels as k; k.get_kernels();"
                    "print(json.dumps({'numba': 'numba' in sys.modules, "
                    "'backend': k.current()}))", STEEPEST_KERNELS="")
    assert found == {"numba": False, "backend": "numpy"}


def test_environment_variable_is_read_lazily():
    pytest.importorskip("numba")
    found = _python("import json, sys, steepest.kernels as k; before = 'numba' in sys.modules;"
                    "k.get_kernels(); print(json.dumps({'before': before, "
                    "'after': 'numba' in sys.modules, 'backend': k.current(), "
                    "'wait': __import__('os').environ.get('OMP_WAIT_POLICY')}))",
                    STEEPEST_KERNELS="numba", OMP_WAIT_POLICY="")
    # an empty OMP_WAIT_POLICY counts as set by the user: the kernels leave it alone
    assert found == {"before": False, "after": True, "backend": "numba", "wait": ""}


def test_passive_waiting_is_set_before_numba_starts():
    pytest.importorskip("numba")
    code = ("import json, os; os.environ.pop('OMP_WAIT_POLICY', None);"
            "import steepest.kernels as k; k.set_kernels('numba');"
            "import numba; m = k.get_kernels();"
            "import numpy as np; x = np.ones(1 << 17, np.float32); m.sgd_(x, x.copy(), None, 0.1);"
            "print(json.dumps([os.environ['OMP_WAIT_POLICY'], os.environ['KMP_BLOCKTIME'],"
            " numba.threading_layer()]))")
    policy, blocktime, layer = _python(code)
    assert (policy, blocktime) == ("PASSIVE", "0")
    assert layer == "omp"  # this machine has numba's OpenMP layer


def test_bad_environment_variable_names_it():
    done = subprocess.run([sys.executable, "-c", "import steepest.kernels as k; k.get_kernels()"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": SRC, "STEEPEST_KERNELS": "cuda"})
    assert done.returncode != 0
    assert "STEEPEST_KERNELS must be one of 'numpy', 'numba', got 'cuda'" in done.stderr


def test_set_kernels_rejects_unknown_names(monkeypatch):
    monkeypatch.setattr(kernels, "_chosen", "numpy")
    with pytest.raises(ValueError, match="set_kernels: name must be one of 'numpy', 'numba', "
                                         "got 'fortran'"):
        kernels.set_kernels("fortran")
    assert kernels.current() == "numpy"


def test_numba_missing_is_a_clear_import_error(monkeypatch):
    monkeypatch.setattr(kernels, "_chosen", "numpy")
    monkeypatch.setattr(kernels, "numba_available", lambda: False)
    with pytest.raises(ImportError, match=r'pip install "steepest\[fast\]"'):
        kernels.set_kernels("numba")
    assert kernels.current() == "numpy"  # nothing changed


def test_both_backends_have_every_function(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(kernels, "_chosen", None)
    monkeypatch.setenv("STEEPEST_KERNELS", "NumPy")
    reference = kernels.get_kernels()
    kernels.set_kernels("numba")
    fast = kernels.get_kernels()
    kernels.set_kernels("numpy")  # kernels.fused back off: later tests run the NumPy path
    assert reference.__name__.endswith("_numpy") and fast.__name__.endswith("_numba")
    for name in kernels.FUNCTIONS:
        assert callable(getattr(reference, name)) and callable(getattr(fast, name))
    x = np.ones(4)
    assert fast.sgd_(x, np.ones(4), None, 0.5) is None
    np.testing.assert_array_equal(x, 0.5)
