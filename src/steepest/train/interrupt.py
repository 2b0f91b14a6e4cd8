"""Ctrl-C or SIGTERM during :func:`~steepest.train.fit`: finish the current batch, then stop cleanly.

While the loop runs in the main thread, SIGINT (Ctrl-C) and SIGTERM (what a job scheduler,
``timeout``, ``docker stop`` or systemd sends) only set a flag that the loop reads after every
batch; each signal is taken over only when its handler is the default one (Python's
``default_int_handler`` for SIGINT, ``SIG_DFL`` for SIGTERM), and the previous handlers are put
back when the loop ends. A second signal before the loop has stopped interrupts at once, as
Python does by default (the batch is abandoned: its half-made update is not checkpointed); one
that comes while a checkpoint is being written, or once the run is winding down, is noted and
waits for the file to be complete. Elsewhere (another thread, or a process that installed its
own handlers) nothing is changed, and a KeyboardInterrupt raised in the middle of a batch is
still caught and re-raised with the history attached.

The KeyboardInterrupt that ends the run carries the signal that stopped it as its ``signal``
attribute (``signal.SIGINT`` or ``signal.SIGTERM``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

#: The signals :func:`~steepest.train.fit` stops on, when their handlers are the default ones.
SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


def _default_handler(signum: int) -> Any:
    """The handler a signal has in a Python process nobody changed it in."""
    return signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL


def interrupt_error(signum: int | None) -> KeyboardInterrupt:
    """The KeyboardInterrupt that stands for ``signum``, which it carries as ``signal``."""
    if signum is None:
        return KeyboardInterrupt()
    received = signal.Signals(signum)
    error = KeyboardInterrupt() if received == signal.SIGINT else \
        KeyboardInterrupt(f"stopped by {received.name}")
    error.signal = received  # type: ignore[attr-defined]
    return error


class DeferredInterrupt:
    """Context manager: while active, the first SIGINT or SIGTERM sets :attr:`requested` instead
    of raising (or ending the process); :attr:`signum` is that signal."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None
        #: Whether a second signal interrupted the run at once (mid-batch, perhaps mid-update).
        self.forced = False
        #: How many of the signals arrived while active.
        self.received = 0
        self._quiet = False
        self._previous: dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        """Whether any of the handlers was taken over."""
        return bool(self._previous)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if not self.requested:
            self.requested, self.signum = True, signum
            return
        if self._quiet:  # a checkpoint is being written, or the run is winding down
            return
        self._quiet = self.forced = True  # the second signal: the user means it
        raise interrupt_error(self.signum)

    def stop(self) -> KeyboardInterrupt:
        """The exception that ends the run, at a point where its state is whole (after a batch
        or an epoch); from here on, signals no longer raise."""
        self._quiet = True
        return interrupt_error(self.signum)

    def wind_down(self) -> None:
        """The run is stopping (for whatever reason): signals no longer raise."""
        self._quiet = True

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """While a checkpoint is written: a second signal is noted, not raised, so that the file
        is completed (the loop stops after it, as the first signal asked)."""
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                current = signal.getsignal(signum)
                if current is _default_handler(signum):
                    signal.signal(signum, self._handler)
                    self._previous[signum] = current
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)
