"""The one switch by which eager code tells a step recorder (``st.compile``) what it does.

The eager engine knows nothing of capture. It checks one module attribute, :data:`recorder`,
at the few places where a step does something a recorder must see: an op is applied
(``ops.apply``), a backward pass starts (``Tensor.backward``), a module is called, a tensor's
value steers Python (``bool(t)``, ``t.item()``), or a function whose effect is not an op runs
(an optimizer's ``step``, ``zero_grad``, a dropout mask's draw, gradient clipping). Outside a
recording :data:`recorder` is ``None`` and each check costs one attribute load. While one is
active, ``recorder.here()`` tells the recording thread from any other, whose code runs eagerly
and unrecorded; one step records at a time (``capture`` holds a lock), so the switch is never
another recording's.

Functions of that last kind are marked with :func:`replayed`: while a recording runs, the call
goes to ``recorder.call(fn, args, kwargs)``, which runs it (with recording paused) and records
it, so that a replay calls it again with the same arguments.

A call may also offer an *in-line form* (``recorder.call(fn, args, kwargs, inline=form)``):
``form()``, asked after ``fn`` ran, returns ``None`` or ``(condition, lines, names, grads)``,
Python source that does exactly what ``fn`` does whenever ``condition`` holds at replay time
(an optimizer's plain update, written out per parameter). ``{p}`` in the source stands for a
prefix the recorder chooses; ``names`` maps each ``{p}name`` the source uses to its object;
``grads`` lists the tensors whose ``.grad`` must be the arrays the step's own backward pass
handed them (the recorder adds that test). Where the condition fails, the replay makes the call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["recorder", "replayed"]

#: The active recorder of ``autodiff.capture`` while a step is being recorded, else None.
recorder: Any = None


def replayed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as an effect a recorded step must run again on every replay."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if recorder is not None and recorder.here():
            return recorder.call(fn, args, kwargs)
        return fn(*args, **kwargs)

    wrapper.__wrapped_replayed__ = fn
    return wrapper
