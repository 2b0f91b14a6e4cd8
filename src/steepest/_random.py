"""The library's one random generator: seeded by :func:`manual_seed`, shared by initialisers,
dropout and data shuffling, and saved in checkpoints so that a resumed run draws what the
uninterrupted run would have drawn."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["manual_seed", "generator", "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind initialisation, shuffling and dropout (as ``torch.manual_seed``).

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        The freshly seeded generator.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The current library-wide generator."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's state as plain JSON-able data (bit generator name and integers)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    global _generator
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name != "PCG64":
        raise ValueError(f"set_rng_state: expected a PCG64 generator state, got {name!r}")
    bit_generator = np.random.PCG64()
    bit_generator.state = state
    _generator = np.random.Generator(bit_generator)
