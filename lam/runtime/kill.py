"""The kill switch: ``lam kill [RUN]`` from any shell, or SIGTERM/SIGINT to the run's process.

A run registers itself (:mod:`lam.runtime.registry`) for as long as it runs. ``lam kill`` finds it
there, drops a ``KILL`` file into its record directory and sends its process SIGTERM
(:func:`stop_run`). Inside the run the signal only sets a flag; a watcher thread notices it
(or a ``KILL`` file: the run's own, or a fresh ``.lam/KILL`` for the whole project) within
50 ms, trips the switch and aborts whatever blocks the run:

- work that registered an *aborter* (:meth:`KillSwitch.abortable`) is aborted from the
  watcher thread: an HTTP request's sockets are shut down (the server sees the connection
  drop), a browser that does not give the step back within its grace period is killed;
- waits sleep in slices of at most 50 ms and look at the switch between slices;
- the approval prompt (:meth:`KillSwitch.interrupting`) is left at once: the signal handler
  raises :class:`KilledError` there, and nothing of the step is sent.

The step then ends as killed, the runner writes a ``killed`` event and closes the record the
normal way (exit 4). A second SIGINT does not wait: it kills the browser, removes the run's
registry entry and exits at once with exit 4 (events already written stay; the record ends
where it was, without its ``end`` event).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

from lam.errors import EXIT_KILLED, KilledError, LamError
from lam.runtime.registry import RunEntry, registered

__all__ = ["KILL_FILE", "KillSwitch", "signals_to", "stop_run"]

KILL_FILE = "KILL"
P = ParamSpec("P")
T = TypeVar("T")
_TICK = 0.05  # how often the watcher looks: a kill is noticed within this
_FILE_EVERY = 0.1  # KILL files are looked at no more often than this


class KillSwitch:
    """Knows whether this run was told to stop, and why; aborts blocking work when it is."""

    def __init__(self, run_dir: Path, project_dir: Path) -> None:
        self._files = (run_dir / KILL_FILE, project_dir / KILL_FILE)
        self._since = time.time()
        self._event = threading.Event()
        self._signal: int | None = None  # set by the signal handler, nothing else there
        self._files_seen = 0.0
        self._aborters: dict[int, tuple[Callable[[], None], float]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._emergency: list[Callable[[], None]] = []
        self._interruptible = 0  # >0 while the main thread waits where a raise is harmless
        self._where = "at the approval prompt"
        self._handling = False  # our signal handlers are installed
        self.reason: str | None = None
        self.pulled_at: float | None = None  # time.time() when the switch tripped

    # -- is it pulled? -----------------------------------------------------------------------

    def pulled(self) -> bool:
        """True once the switch is pulled (by a signal, a KILL file or :meth:`trip`)."""
        if self._event.is_set():
            return True
        if self._signal is not None:
            self.trip(f"signal {signal.Signals(self._signal).name}")
            return True
        now = time.monotonic()
        if now - self._files_seen < _FILE_EVERY:
            return False
        self._files_seen = now
        for path in self._files:
            try:
                found = path.stat()
            except OSError:
                continue
            # A project-wide switch left over from before this run started does not count.
            if path == self._files[0] or found.st_mtime >= self._since - 1:
                self.trip(f"kill switch {path}")
                return True
        return False

    def trip(self, reason: str) -> None:
        """Pull the switch from inside the process."""
        if not self._event.is_set():
            self.reason = reason
            self.pulled_at = time.time()
            self._event.set()

    def check(self, where: str, *, step: str | None = None) -> None:
        """Raise :class:`KilledError` if pulled (``where``: "before step 'x'", ...)."""
        if self.pulled():
            raise KilledError(f"stopped {where}: {self.reason}", step=step, code="killed")

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking within 50 ms when pulled. True if pulled."""
        deadline = time.monotonic() + seconds
        while True:
            if self.pulled():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, _TICK))

    # -- aborting blocking work ----------------------------------------------------------------

    @contextmanager
    def abortable(self, abort: Callable[[], None], *, grace: float = 0.0) -> Iterator[None]:
        """While inside, a pull calls ``abort`` (from another thread) once ``grace`` seconds
        have passed and the block still has not ended. ``abort`` must not block: shut a
        socket down, kill a process."""
        key = next(self._ids)
        with self._lock:
            self._aborters[key] = (abort, grace)
        try:
            yield
        finally:
            with self._lock:
                self._aborters.pop(key, None)

    @contextmanager
    def interruptible(self, where: str = "at the approval prompt") -> Iterator[None]:
        """While inside (main thread), a pull raises :class:`KilledError` right where the
        thread waits, out of a blocking call (the approval prompt reading the terminal, a
        request to a language model). Only around code that a half-finished call cannot leave
        in a bad state, and that does not drive the browser."""
        self.check(where)
        outer = self._where
        self._where = where
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1
            self._where = outer

    def interrupting(self, call: Callable[P, T]) -> Callable[P, T]:
        """``call`` run inside :meth:`interruptible` (for the approval prompt)."""

        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.interruptible():
                return call(*args, **kwargs)

        return wrapped

    def on_emergency(self, callback: Callable[[], None]) -> None:
        """Something to do before a second SIGINT ends the process at once (must not block)."""
        self._emergency.append(callback)

    def _run_aborters(self) -> None:
        """Call (once) the aborters whose grace has passed."""
        assert self.pulled_at is not None
        waited = time.time() - self.pulled_at
        with self._lock:
            due = [(k, a) for k, (a, grace) in self._aborters.items() if grace <= waited]
            for key, _ in due:
                del self._aborters[key]
        for _, abort in due:
            with contextlib.suppress(Exception):  # an abort that fails must not stop the others
                abort()

    # -- for the life of a run -------------------------------------------------------------------

    @contextmanager
    def watch(
        self, run_id: str, run_dir: Path, *, warn: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """For the life of a run: registered for ``lam kill``, SIGINT and SIGTERM routed to
        the switch, and a watcher thread that aborts blocking work once it is pulled.

        A registry that cannot be used (another user's folder) does not stop the run: it is
        said on stderr and to ``warn``; signals and ``KILL`` files still stop it.
        """
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(done,), name="lam-kill", daemon=True)
        with contextlib.ExitStack() as stack:
            try:
                entry = stack.enter_context(registered(run_id, run_dir))
                self._emergency.append(lambda: _unlink(entry))
            except (LamError, OSError) as exc:
                message = f"not registered for lam kill: {exc}"
                print(f"lam: warning: {message}", file=sys.stderr)
                if warn is not None:
                    warn(message)
            stack.enter_context(self._signals())
            watcher.start()
            try:
                yield
            finally:
                done.set()
                watcher.join(timeout=1.0)

    def _watch(self, done: threading.Event) -> None:
        nudged = False
        while not done.is_set():
            if self.pulled():
                self._run_aborters()  # again each tick: a block may start after the pull
                if self._interruptible and self._handling and not nudged and self._signal is None:
                    # pulled by a KILL file while the main thread waits where it may be
                    # interrupted: the handler, run in the main thread, raises there
                    nudged = True
                    with contextlib.suppress(OSError, ValueError):
                        ident = threading.main_thread().ident
                        if ident is not None:
                            signal.pthread_kill(ident, signal.SIGTERM)
            done.wait(_TICK)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM pull the switch instead of killing the process; a second SIGINT
        ends it at once. (Only from the main thread: see :func:`signals_to`.)"""
        interrupts = itertools.count(1)

        def handler(signum: int, frame: FrameType | None) -> None:
            # Mostly a flag: the handler may run in the middle of anything, even a lock held.
            # It raises only where the main thread waits inside interruptible() (the prompt).
            if signum == signal.SIGINT and next(interrupts) > 1:
                self._die()
            if self._signal is None:
                self._signal = signum
            if self._interruptible:
                raise KilledError(
                    f"stopped {self._where}: signal {signal.Signals(signum).name}",
                    code="killed",
                )

        with signals_to(handler) as installed:
            self._handling = installed
            try:
                yield
            finally:
                self._handling = False

    def _die(self) -> None:
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), b"lam: second interrupt: stopping now\n")
        for abort, _ in tuple(self._aborters.values()):
            with contextlib.suppress(Exception):
                abort()
        for callback in tuple(self._emergency):
            with contextlib.suppress(Exception):
                callback()
        os._exit(EXIT_KILLED)


@contextmanager
def signals_to(handler: Callable[[int, FrameType | None], None]) -> Iterator[bool]:
    """While inside, SIGINT and SIGTERM go to ``handler``; after, to what had them before.
    Yields whether it took them: Python's signal handlers live in the main thread, so from
    any other nothing changes (False)."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield True
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def stop_run(entry: RunEntry) -> str:
    """Tell a registered run to stop: its ``KILL`` file, then SIGTERM to its process.

    Returns how it was told ("signalled" or "KILL file only" when the signal could not be
    sent: the process is gone or not this user's).
    """
    folder = Path(entry.directory)
    if folder.is_dir():
        with contextlib.suppress(OSError):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            (folder / KILL_FILE).write_text(f"killed at {stamp} by pid {os.getpid()}\n")
    try:
        os.kill(entry.pid, signal.SIGTERM)
    except OSError:
        return "KILL file only"
    return "signalled"
