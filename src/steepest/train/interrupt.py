"""Ctrl-C during :func:`~steepest.train.fit`: finish the current batch, then stop cleanly.

While the loop runs in the main thread, SIGINT only sets a flag that the loop reads after every
batch; a second Ctrl-C (while the run winds down) interrupts at once, as Python does by default.
Elsewhere (another thread, or a process that installed its own SIGINT handler) nothing is
changed, and a KeyboardInterrupt raised in the middle of a batch is still caught and re-raised
with the history attached.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class DeferredInterrupt:
    """Context manager: while active, the first SIGINT sets :attr:`requested` instead of raising."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # the second Ctrl-C: the user means it
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGINT)
            if current is signal.default_int_handler:
                self._previous = current
                signal.signal(signal.SIGINT, self._handler)
                self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
