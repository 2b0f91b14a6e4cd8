"""Progress display of a training run: tqdm when installed, a plain text line otherwise.

In a terminal each epoch gets its own line (a tqdm bar, or a redrawn text bar) that stays as
a log of the run. In a Jupyter notebook the whole run is one display that updates in place:
tqdm's widget when ipywidgets is installed (``tqdm.auto``), otherwise one text line redrawn
with carriage returns (tqdm's text bar, or the plain bar), so a notebook neither fills with one
line per epoch nor shows tqdm's "IProgress not found" warning.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (checked without importing IPython)."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _has_ipywidgets() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


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
    bar; elsewhere (a log file) just the line that ends each epoch, so that logs hold no
    carriage-return debris; in a notebook (``one_line``) a single line for the whole run."""

    width = 24

    def __init__(self, epochs: int, n_batches: int, stream: Any = None, live: bool | None = None,
                 one_line: bool = False) -> None:
        super().__init__(epochs, n_batches)
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty()) if live is None else live
        self.one_line = one_line  # a notebook: the whole run redraws one line
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
                    f"{seconds:.2f}s  {_summary(logs)}", end="" if self.one_line else "\n")

    def close(self) -> None:
        if self.one_line and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = 0


class _RunProgress(_Progress):
    """One tqdm bar for the whole run (notebooks): epochs advance its description, batches its
    count, and the last epoch's values stay in its postfix."""

    def __init__(self, epochs: int, n_batches: int, tqdm: Any, first_epoch: int = 0) -> None:
        super().__init__(epochs, n_batches)
        self.bar = tqdm(total=epochs * n_batches, initial=first_epoch * n_batches, unit="batch",
                        desc=f"epoch {first_epoch + 1}/{epochs}", leave=True, file=sys.stderr)

    def epoch_begin(self, epoch: int) -> None:
        self.bar.set_description_str(f"epoch {epoch}/{self.epochs}", refresh=False)
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

    def close(self) -> None:
        self.bar.close()


def _make_progress(progress: bool | str, epochs: int, n_batches: int, first_epoch: int = 0
                   ) -> _Progress | None:
    if progress is False:
        return None
    notebook = _in_notebook()
    if progress in (True, "tqdm"):
        tqdm = _import_tqdm(notebook)
        if tqdm is None and progress == "tqdm":
            raise ImportError("fit: progress='tqdm' needs tqdm: pip install tqdm")
        if tqdm is not None:
            if notebook:
                return _RunProgress(epochs, n_batches, tqdm, first_epoch)
            return _TqdmProgress(epochs, n_batches, tqdm)
    if notebook:
        return _PlainProgress(epochs, n_batches, live=True, one_line=True)
    return _PlainProgress(epochs, n_batches)


def _import_tqdm(notebook: bool) -> Any:
    """tqdm's class for this display: ``tqdm.auto`` (the widget in a notebook with ipywidgets),
    the text bar in a notebook without them (``tqdm.auto`` would warn and fall back to it), or
    None without tqdm."""
    try:
        if notebook and not _has_ipywidgets():
            from tqdm.std import tqdm
        else:
            from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm
