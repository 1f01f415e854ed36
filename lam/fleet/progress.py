"""The live progress line of a batch on stderr: rows done, failed, held, rate, ETA.

On a terminal the line is redrawn in place; otherwise (a log, a CI job) a line is written
at most every ``every`` seconds, and a last one when the batch ends.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts outcomes and says how far the batch is. ``total`` is every row of the batch;
    ``skipped`` those done in an earlier run (not counted in the rate)."""

    def __init__(
        self, total: int, *, skipped: int = 0, stream: TextIO | None = None, every: float = 5.0
    ) -> None:
        self.total = total
        self.skipped = skipped
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self.counts: dict[str, int] = {}
        self._started = time.monotonic()
        self._shown = 0.0
        self._width = 0

    @property
    def ran(self) -> int:
        """Rows that ended in this run of the batch."""
        return sum(self.counts.values())

    def add(self, status: str) -> None:
        """One row ended with ``status``."""
        self.counts[status] = self.counts.get(status, 0) + 1
        now = time.monotonic()
        if self.tty or now - self._shown >= self.every:
            self._shown = now
            self._show(self.line())

    def line(self) -> str:
        """``rows 120/200 (3 skipped): 110 ok, 2 failed, 5 held | 14.2 rows/s, ETA 6s``."""
        done = self.skipped + self.ran
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self.ran / elapsed
        left = self.total - done
        eta = f"ETA {_duration(left / rate)}" if rate > 0 and left > 0 else "ETA -"
        parts = [f"{self.counts.get(s, 0)} {s}" for s in ("ok", "failed", "held")]
        parts += [f"{n} {s}" for s, n in sorted(self.counts.items()) if s not in _MAIN]
        skipped = f" ({self.skipped} skipped)" if self.skipped else ""
        return f"rows {done}/{self.total}{skipped}: {', '.join(parts)} | {rate:.1f} rows/s, {eta}"

    def finish(self, summary: str) -> None:
        """The last line: the progress as it ended, then ``summary``."""
        if self.tty:
            self._show(self.line())
            self.stream.write("\n")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.write(summary + "\n")
        self.stream.flush()

    def _show(self, text: str) -> None:
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


_MAIN = ("ok", "failed", "held")


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
