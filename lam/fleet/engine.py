"""How rows are run in parallel: the :class:`Engine` protocol and the local engine.

An engine runs :func:`lam.fleet.job.run_row` for each row on up to ``workers`` workers and
hands every outcome to ``on_outcome`` in the driver's thread of choice (the driver serialises
what it does with them). When ``stop`` is set it starts no more rows and stops the rows in
flight (their runs end as killed, at a step boundary or with the request cut: the kill switch
of lam.runtime.kill) and returns within about a second.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from lam.fleet.job import RowJob, RowOutcome, run_row
from lam.fleet.rows import Row

__all__ = ["DRAIN_SECONDS", "Engine", "LocalEngine", "kill_in_flight"]


class Engine(Protocol):
    """Runs a batch's rows, every one with the same ``job`` (the driver calls ``run`` again
    for rows that get other counted approvals: :mod:`lam.fleet.batch`). An engine may also
    have a ``close()`` method: the driver calls it once, when the batch ends (the local engine
    keeps its worker processes between calls of ``run`` until then)."""

    def run(
        self,
        job: RowJob,
        rows: Sequence[Row],
        workers: int,
        on_outcome: Callable[[RowOutcome], None],
        stop: threading.Event,
    ) -> None:
        """Run every row (unless stopped); call ``on_outcome`` once per row that ran."""
        ...


DRAIN_SECONDS = 0.5
"""On a stop, rows in flight get this long to end by themselves (an API row takes ~0.1 s): a
row stopped between its steps is clean, one whose request is cut may be ``unknown``."""
_KILL_WAIT = 2.0  # then their kill switches are pulled; this long for them to end as killed
_TICK = 0.05


def kill_in_flight(job: RowJob, keys: Collection[str]) -> int:
    """Pull the kill switch of each row in ``keys`` whose run has started (its record named
    in the job's journal): a ``KILL`` file in its record directory, which the run's own
    watcher sees within 0.1 s (lam.runtime.kill). Works across processes and machines that
    share the folder. Returns how many were told."""
    if job.journal is None or not keys:
        return 0
    from lam.fleet.results import read_journal
    from lam.runtime.kill import KILL_FILE

    told = 0
    started = read_journal(Path(job.journal))
    for key in keys:
        record = (started.get(key) or {}).get("record")
        if record and Path(record).is_dir():
            with contextlib.suppress(OSError):
                (Path(record) / KILL_FILE).write_text("batch stopped\n")
                told += 1
    return told


class LocalEngine:
    """Rows on this machine: ``processes`` (one worker process per slot, each row's run in the
    worker's main thread, so each has its own guard proxy and signal handling, and runs in
    parallel beyond the GIL) or ``threads`` (one process; API-only plans: the guard proxy of
    UI plans is one per process). ``lam run --engine local`` picks threads for API plans and
    processes for UI plans; docs/scale.md has the measurement behind it."""

    def __init__(self, kind: Literal["processes", "threads"] = "processes") -> None:
        self.kind = kind
        self._pool: _Pool | None = None

    def run(
        self,
        job: RowJob,
        rows: Sequence[Row],
        workers: int,
        on_outcome: Callable[[RowOutcome], None],
        stop: threading.Event,
    ) -> None:
        """See :class:`Engine`."""
        workers = max(1, min(workers, len(rows)))
        if not rows or stop.is_set():
            return
        if self.kind == "threads":
            _Threads(job, rows, workers, on_outcome, stop).run()
            return
        if self._pool is None:
            self._pool = _Pool()
        _Processes(self._pool, job, rows, workers, on_outcome, stop).run()

    def close(self) -> None:
        """End the worker processes (they are kept between calls of :meth:`run`)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class _Threads:
    def __init__(
        self, job: RowJob, rows: Sequence[Row], workers: int,
        on_outcome: Callable[[RowOutcome], None], stop: threading.Event,
    ) -> None:  # fmt: skip
        self.job, self.workers, self.on_outcome, self.stop = job, workers, on_outcome, stop
        self.pending = collections.deque(rows)
        self.in_flight: set[str] = set()
        self.lock = threading.Lock()

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._work, name=f"lam-row-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            if self.stop.wait(_TICK):
                break
        if not self.stop.is_set():
            return
        _wait(lambda: not any(t.is_alive() for t in threads), DRAIN_SECONDS)
        with self.lock:
            left = set(self.in_flight)
        kill_in_flight(self.job, left)
        _wait(lambda: not any(t.is_alive() for t in threads), _KILL_WAIT)

    def _work(self) -> None:
        while True:
            with self.lock:
                if self.stop.is_set() or not self.pending:
                    return
                row = self.pending.popleft()
                self.in_flight.add(row.key)
            outcome = run_row(self.job, row)
            with self.lock:  # one outcome at a time: the driver's callback need not lock
                self.in_flight.discard(row.key)
                self.on_outcome(outcome)


class _Pool:
    """Worker processes and their two queues, kept across a batch's groups of rows."""

    def __init__(self) -> None:
        # spawn: each worker a fresh child of the driver (so it sees the driver die: its parent
        # changes), with nothing inherited from the driver's threads
        self.context = multiprocessing.get_context("spawn")
        self.tasks: Any = self.context.Queue()
        self.results: Any = self.context.Queue()
        self.processes: list[Any] = []

    def grow(self, workers: int) -> None:
        self.processes = [p for p in self.processes if p.is_alive()]
        while len(self.processes) < workers:
            process = self.context.Process(
                target=_worker, args=(self.tasks, self.results, os.getpid()),
                name=f"lam-row-{len(self.processes)}", daemon=True,
            )  # fmt: skip
            process.start()
            self.processes.append(process)

    def alive(self) -> bool:
        return any(p.is_alive() for p in self.processes)

    def close(self) -> None:
        for _ in self.processes:
            with contextlib.suppress(Exception):
                self.tasks.put(None)
        for process in self.processes:
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=1.0)
        self.tasks.close()
        self.results.close()


class _Processes:
    def __init__(
        self, pool: _Pool, job: RowJob, rows: Sequence[Row], workers: int,
        on_outcome: Callable[[RowOutcome], None], stop: threading.Event,
    ) -> None:  # fmt: skip
        self.job, self.workers, self.on_outcome, self.stop = job, workers, on_outcome, stop
        self.pool = pool
        self.tasks, self.results = pool.tasks, pool.results
        self.rows = iter(rows)
        self.queued: dict[str, Row] = {}  # handed to the queue, not yet ended
        self.running: dict[str, int] = {}  # started: key -> worker pid

    def run(self) -> None:
        self.pool.grow(self.workers)
        for _ in range(self.workers):
            self._feed()
        while self.queued and not self.stop.is_set():
            if not self._receive(_TICK) and not self.pool.alive():
                break  # every worker died (the rows in flight are settled on a rerun)
        if self.stop.is_set():
            self._stop()

    def _feed(self) -> None:
        row = next(self.rows, None)
        if row is not None:
            self.queued[row.key] = row
            self.tasks.put((self.job, row))

    def _receive(self, timeout: float) -> bool:
        try:
            message = self.results.get(timeout=timeout)
        except queue.Empty:
            return False
        if message[0] == "start":
            self.running[message[1]] = message[2]
            return True
        outcome: RowOutcome = message[1]
        self.queued.pop(outcome.key, None)
        self.running.pop(outcome.key, None)
        self.on_outcome(outcome)
        if not self.stop.is_set():
            self._feed()
        return True

    def _stop(self) -> None:
        # rows still in the queue never start: take them back
        with contextlib.suppress(queue.Empty, OSError, ValueError):
            while True:
                item = self.tasks.get_nowait()
                if item is not None:
                    self.queued.pop(item[1].key, None)
        self._until(DRAIN_SECONDS)
        kill_in_flight(self.job, list(self.queued))
        self._until(_KILL_WAIT)
        for pid in set(self.running.values()):  # still not ended: the signal (lam.runtime.kill)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        self._until(1.0)

    def _until(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.queued and time.monotonic() < deadline:
            self._receive(min(_TICK, max(0.0, deadline - time.monotonic())))


def _worker(tasks: Any, results: Any, parent: int) -> None:
    """A worker process: rows from ``tasks`` until None, or until the driver (``parent``) is
    gone: then the row in hand ends as usual and nothing more starts."""
    # Ctrl-C in the terminal reaches the driver, which stops the batch; a row's run installs
    # its own handlers while it runs (lam.runtime.kill).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            item = tasks.get(timeout=0.5)
        except queue.Empty:
            if os.getppid() != parent:
                return  # the driver died: start nothing more
            continue
        if item is None or os.getppid() != parent:
            return  # the end, or the driver died: a row taken now would run unwatched
        job, row = item
        results.put(("start", row.key, os.getpid()))
        results.put(("done", run_row(job, row)))


def _wait(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(_TICK)
