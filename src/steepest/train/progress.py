"""Progress display of a training run: tqdm when installed, a plain text line otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any


# --------------------------------------------------------------------------- progress
class _Progress:
    """Shows epoch and batch, the running loss and metrics; throttled so that a batch costs one
    counter update and a clock read."""

    interval = 0.2  # seconds between refreshes

    def __init__(self, epochs: int, n_batches: int) -> None:
        self.epochs, self.n_batches = epochs, n_batches
        self.next_refresh = 0.0

    def epoch_begin(self, epoch: int) -> None:
        raise NotImplementedError

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        """After each update: the epoch's running sums so far (formatted only on refresh)."""
        raise NotImplementedError

    def epoch_end(self, logs: dict[str, float]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the display."""


def _summary(logs: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("epoch", "time", "lr"))


def _running(total_loss: float, metric_totals: dict[str, float], seen: int) -> str:
    """The epoch's running means so far, as the bar shows them."""
    seen = max(seen, 1)
    parts = [f"loss {total_loss / seen:.4g}"]
    parts += [f"{name} {total / seen:.4g}" for name, total in metric_totals.items()]
    return "  ".join(parts)


class _TqdmProgress(_Progress):
    def __init__(self, epochs: int, n_batches: int, tqdm: Any) -> None:
        super().__init__(epochs, n_batches)
        self.tqdm, self.bar = tqdm, None

    def epoch_begin(self, epoch: int) -> None:
        width = len(str(self.epochs))
        self.bar = self.tqdm(total=self.n_batches, desc=f"epoch {epoch:>{width}}/{self.epochs}",
                             unit="batch", leave=True, dynamic_ncols=True, file=sys.stderr)
        self.next_refresh = 0.0

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        self.bar.update(1)
        now = time.monotonic()
        if now >= self.next_refresh:
            self.next_refresh = now + self.interval
            self.bar.set_postfix_str(_running(total_loss, metric_totals, seen), refresh=False)

    def epoch_end(self, logs: dict[str, float]) -> None:
        self.bar.set_postfix_str(_summary(logs), refresh=True)
        self.bar.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _PlainProgress(_Progress):
    """The fallback without tqdm: on a terminal, one line per epoch redrawn in place with a text
    bar; elsewhere (a log file, a notebook's captured stream) just the line that ends each
    epoch, so that logs hold no carriage-return debris."""

    width = 24

    def __init__(self, epochs: int, n_batches: int, stream: Any = None) -> None:
        super().__init__(epochs, n_batches)
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())
        self.epoch = 0
        self.start = 0.0
        self.drawn = 0

    def _prefix(self) -> str:
        width = len(str(self.epochs))
        return f"epoch {self.epoch:>{width}}/{self.epochs}"

    def _write(self, text: str, end: str = "") -> None:
        padding = " " * max(self.drawn - len(text), 0)  # blank what a longer line left behind
        self.stream.write(f"\r{text}{padding}{end}" if self.live else text + end)
        self.stream.flush()
        self.drawn = 0 if end else len(text)

    def epoch_begin(self, epoch: int) -> None:
        self.epoch, self.start, self.next_refresh = epoch, time.monotonic(), 0.0

    def batch(self, done: int, total_loss: float, metric_totals: dict[str, float], seen: int
              ) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now < self.next_refresh:
            return
        self.next_refresh = now + self.interval
        filled = self.width * done // max(self.n_batches, 1)
        bar = ("=" * filled + ">" + " " * self.width)[:self.width]
        self._write(f"{self._prefix()} [{bar}] {done}/{self.n_batches} "
                    f"{_running(total_loss, metric_totals, seen)}")

    def epoch_end(self, logs: dict[str, float]) -> None:
        seconds = time.monotonic() - self.start
        self._write(f"{self._prefix()} [{'=' * self.width}] {self.n_batches}/{self.n_batches} "
                    f"{seconds:.2f}s  {_summary(logs)}", end="\n")


def _make_progress(progress: bool | str, epochs: int, n_batches: int) -> _Progress | None:
    if progress is False:
        return None
    if progress in (True, "tqdm"):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if progress == "tqdm":
                raise ImportError("fit: progress='tqdm' needs tqdm: pip install tqdm") from None
        else:
            return _TqdmProgress(epochs, n_batches, tqdm)
    return _PlainProgress(epochs, n_batches)
