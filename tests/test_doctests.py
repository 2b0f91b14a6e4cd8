"""The examples in the docstrings run: every module's doctests, as the documentation shows them."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import steepest

# Modules whose import needs an optional extra that may be absent are skipped, not failed.
_OPTIONAL = {"steepest.sweep", "steepest.explore", "steepest.explore.server", "steepest.kernels._numba"}


def _modules() -> list[str]:
    names = [steepest.__name__]
    for info in pkgutil.walk_packages(steepest.__path__, prefix="steepest."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        if name in _OPTIONAL:
            pytest.skip(f"{name} needs an optional extra: {error}")
        raise
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
