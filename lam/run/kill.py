"""The kill switch: ``lam kill [RUN]`` from another shell, or SIGINT/SIGTERM in this one.

``lam kill RUN`` drops a ``KILL`` file into that run's directory; ``lam kill`` with no run
drops ``.lam/KILL``, which stops every run of the project. The runner looks before every step
(and while a ``wait`` step waits) and stops at that boundary: it starts nothing new.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

__all__ = ["KillSwitch", "pull"]

KILL_FILE = "KILL"


class KillSwitch:
    """Knows whether this run was told to stop, and why."""

    def __init__(self, run_dir: Path, project_dir: Path) -> None:
        self._files = (run_dir / KILL_FILE, project_dir / KILL_FILE)
        self._since = time.time()
        self._event = threading.Event()
        self.reason: str | None = None

    def pulled(self) -> bool:
        if self._event.is_set():
            return True
        for path in self._files:
            try:
                stat = path.stat()
            except OSError:
                continue
            # A project-wide switch left over from before this run started does not count.
            if path == self._files[0] or stat.st_mtime >= self._since - 1:
                self.trip(f"kill switch {path}")
                return True
        return False

    def trip(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early when pulled. True if pulled."""
        deadline = time.monotonic() + seconds
        while True:
            if self.pulled():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, 0.1))

    @contextmanager
    def signals(self) -> Iterator[None]:
        """While inside, SIGINT and SIGTERM pull the switch instead of killing the process."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.trip(f"signal {signal.Signals(signum).name}")

        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, previous in old.items():
                signal.signal(sig, previous)


def pull(project_dir: Path, run_dir: Path | None) -> Path:
    """Pull the switch for one run, or for every run of the project."""
    target = (run_dir or project_dir) / KILL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"killed at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    return target
