"""Rows on Ray (``--engine ray [--address ADDR]``): the :class:`~lam.fleet.engine.Engine` of
:mod:`lam.fleet.engine` with each row a Ray task that calls :func:`lam.fleet.job.run_row`.

- Without an address, a local Ray instance is started for the batch (``num_cpus`` = the
  workers, no dashboard, a small object store, its files in a temporary folder) and shut down
  at the end; with one (``host:port``, ``ray://host:port`` or ``auto``) the batch joins that
  cluster and leaves it running. An address nobody answers on is one line, not Ray's minutes
  of retries.
- At most ``workers`` rows are in flight; each outcome is handed on as its task ends
  (``ray.wait``), so the results file and the progress bar move row by row as with the local
  engine. A task is never retried by Ray (``max_retries=0``): a row whose worker died may
  have sent its effect, and the batch decides that from the row's record
  (:func:`lam.fleet.results.settle`), not Ray.
- What a worker on another node needs to read travels with the task: the plan (or
  recording), the API specs it names and the policy file, as bytes (:class:`Bundle`). A
  worker that finds the same bytes at the same paths uses them; otherwise it writes them
  under a folder of its own, keeping their relative layout, and runs from there.
- A stop (``lam kill``, Ctrl-C) starts no more rows, gives the rows in flight
  :data:`~lam.fleet.engine.DRAIN_SECONDS` to end, then drops a ``KILL`` file in each one's
  record (their run's kill switch ends them as ``killed``, on any node that shares the
  records folder), then ``ray.cancel``; a task still running a second later is force-cancelled
  (its worker process is killed) and the row's outcome is read from its record: ``killed``
  when nothing that changes state had left lam (a rerun runs it again), else ``unknown`` or
  ``incomplete`` as :func:`~lam.fleet.results.settle` says.

Records go to ``job.runs_dir`` (the driver's, ``$LAM_HOME/runs``): on a cluster, a folder every node mounts at
the same path (docs/scale.md). Ray is imported only when this engine runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lam.errors import EXIT_FAILED, EXIT_KILLED, UsageError
from lam.fleet.engine import DRAIN_SECONDS, kill_in_flight
from lam.fleet.job import RowJob, RowOutcome, run_row
from lam.fleet.rows import Row

__all__ = ["Bundle", "RayEngine", "bundle_for", "import_ray", "ray_row", "ray_session", "unpack"]

_TICK = 0.05
_KILL_WAIT = 2.0  # after the KILL files: this long for the runs to end as killed
_CANCEL_WAIT = 1.0  # after ray.cancel: this long before the worker process is killed
_CONNECT_TIMEOUT = 5.0
_OBJECT_STORE = 100 * 1024 * 1024  # rows and outcomes are a few KB each
INSTALL_HINT = "pip install 'lam[ray]'"


@dataclass(frozen=True)
class Bundle:
    """The files a row's run reads, as ``(absolute path, bytes)`` pairs, and ``root``: the
    deepest folder holding them all (their layout below it is kept when unpacked)."""

    root: str
    files: tuple[tuple[str, bytes], ...]

    @property
    def digest(self) -> str:
        hashed = hashlib.sha256()
        for path, data in self.files:
            hashed.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        return hashed.hexdigest()[:16]


def bundle_for(job: RowJob) -> Bundle:
    """The plan or recording of ``job``, each local API spec it names (a path relative to
    the file, as the plan format has it), and the policy file."""
    paths = [Path(job.path).resolve()]
    paths += _spec_files(paths[0])  # a recording is a plan too
    if job.policy:
        paths.append(Path(job.policy).resolve())
    unique = list(dict.fromkeys(paths))
    files = tuple((str(p), p.read_bytes()) for p in unique if p.is_file())
    root = os.path.commonpath([os.path.dirname(p) for p, _ in files]) if files else "/"
    return Bundle(root, files)


def _spec_files(plan_path: Path) -> list[Path]:
    from lam.plans import load_plan

    try:
        plan = load_plan(plan_path)
    except Exception:  # an invalid plan fails in the row, with the validator's own line
        return []
    found = []
    for api in plan.apis.values():
        if "://" not in api.spec:
            found.append((plan_path.parent / api.spec).resolve())
    return found


def unpack(job: RowJob, bundle: Bundle, into: Path | None = None) -> RowJob:
    """``job`` as this machine can run it: unchanged when every bundled file is here with the
    same bytes; otherwise with its paths pointing into a copy of the files under ``into``
    (default: a folder per bundle under the system's temporary folder)."""
    if all(_same(Path(path), data) for path, data in bundle.files):
        return job
    base = (into or Path(tempfile.gettempdir()) / "lam-ray-bundles") / bundle.digest
    for path, data in bundle.files:
        target = base / os.path.relpath(path, bundle.root)
        if not _same(target, data):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            partial.write_bytes(data)
            os.replace(partial, target)  # whole, even with two workers unpacking at once

    def moved(path: str | None) -> str | None:
        if path is None:
            return None
        resolved = str(Path(path).resolve())
        if any(resolved == p for p, _ in bundle.files):
            return str(base / os.path.relpath(resolved, bundle.root))
        return path

    return replace(job, path=moved(job.path) or job.path, policy=moved(job.policy))


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def ray_row(job: RowJob, row: Row, bundle: Bundle) -> RowOutcome:
    """What a Ray task runs: ``row`` of ``job`` with the bundled files at hand."""
    try:
        job = unpack(job, bundle)
    except OSError as exc:
        return RowOutcome(row.number, row.key, "failed", EXIT_FAILED,
                          error=f"cannot write the plan's files on this worker: {exc}")  # fmt: skip
    return run_row(job, row)


class RayEngine:
    """Rows as Ray tasks, on a local instance (``address`` None) or the cluster at
    ``address``. See the module's docstring."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address

    def run(
        self,
        job: RowJob,
        rows: Sequence[Row],
        workers: int,
        on_outcome: Callable[[RowOutcome], None],
        stop: threading.Event,
    ) -> None:
        """See :class:`lam.fleet.engine.Engine`."""
        if not rows or stop.is_set():
            return
        workers = max(1, min(workers, len(rows)))
        ray = import_ray()
        job = _absolute(job)
        bundle = bundle_for(job)
        with ray_session(ray, self.address, workers):
            _Batch(ray, job, bundle, rows, workers, on_outcome, stop).run()


class _Batch:
    def __init__(
        self, ray: Any, job: RowJob, bundle: Bundle, rows: Sequence[Row], workers: int,
        on_outcome: Callable[[RowOutcome], None], stop: threading.Event,
    ) -> None:  # fmt: skip
        self.ray, self.job, self.workers = ray, job, workers
        self.on_outcome, self.stop = on_outcome, stop
        self.rows = iter(rows)
        self.task = ray.remote(num_cpus=1, max_retries=0)(ray_row)
        self.job_ref = ray.put(job)
        self.bundle_ref = ray.put(bundle)
        self.in_flight: dict[Any, Row] = {}

    def run(self) -> None:
        for _ in range(self.workers):
            self._submit()
        while self.in_flight and not self.stop.is_set():
            self._collect(_TICK)
        if self.stop.is_set():
            self._stop()

    def _submit(self) -> None:
        row = next(self.rows, None)
        if row is not None:
            self.in_flight[self.task.remote(self.job_ref, row, self.bundle_ref)] = row

    def _collect(self, timeout: float) -> None:
        ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=timeout)
        for ref in ready:
            row = self.in_flight.pop(ref)
            self.on_outcome(self._outcome(ref, row))
            if not self.stop.is_set():
                self._submit()

    def _outcome(self, ref: Any, row: Row) -> RowOutcome:
        try:
            outcome: RowOutcome = self.ray.get(ref)
            return outcome
        except self.ray.exceptions.TaskCancelledError:
            return _from_record(self.job, row, "cancelled on Ray (ray.cancel)")
        except self.ray.exceptions.RayError as exc:  # the worker died, or Ray lost the task
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return _from_record(self.job, row, f"the Ray task ended without an outcome: {reason}")

    def _stop(self) -> None:
        self._until(DRAIN_SECONDS)
        kill_in_flight(self.job, [row.key for row in self.in_flight.values()])
        self._until(_KILL_WAIT)
        for ref in list(self.in_flight):  # KeyboardInterrupt in the task: its run's kill switch
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=False)
        self._until(_CANCEL_WAIT)
        for ref in list(self.in_flight):  # still running: its worker process is killed
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self._until(_CANCEL_WAIT)
        for ref, row in list(self.in_flight.items()):  # Ray never answered: the record says
            self.in_flight.pop(ref)
            self.on_outcome(_from_record(self.job, row, "cancelled on Ray; no answer from it"))

    def _until(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.in_flight and time.monotonic() < deadline:
            self._collect(min(_TICK, max(0.0, deadline - time.monotonic())))


def _from_record(job: RowJob, row: Row, why: str) -> RowOutcome:
    """The outcome of a row whose task gave none back, from its journal entry and record."""
    from lam.fleet.results import read_journal, settle

    if job.journal is None:  # nothing says whether its run started: never assume it did not
        return RowOutcome(row.number, row.key, "unknown", EXIT_FAILED,
                          error=f"{why}: no journal says whether its run started")  # fmt: skip
    started = read_journal(Path(job.journal)).get(row.key)
    settled = settle(row, None, started, job.counted)
    if settled is not None:  # its record ended, or something that changes state was sent
        return replace(settled, error=f"{why}; {settled.error}" if settled.error else why)
    run_id = (started or {}).get("run_id")
    record = (started or {}).get("record")
    detail = "nothing that changes state had been let through" if record else "it had not started"
    return RowOutcome(row.number, row.key, "killed", EXIT_KILLED, run_id=run_id, record=record,
                      error=f"{why}: {detail} (a rerun of the batch runs it again)")  # fmt: skip


def _absolute(job: RowJob) -> RowJob:
    """Paths a worker with another working folder reads the same: absolute, and the records
    folder named (the driver's default, ``.lam/runs`` here) rather than left to the worker."""
    from lam.runtime.record import runs_root

    def absolute(path: str | None) -> str | None:
        return str(Path(path).resolve()) if path else None

    return replace(
        job,
        path=str(Path(job.path).resolve()),
        policy=absolute(job.policy),
        runs_dir=absolute(job.runs_dir) or str(runs_root().resolve()),
        journal=absolute(job.journal),
    )


def import_ray() -> Any:
    """The ``ray`` module, or a one-line usage error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            f"--engine ray needs Ray, which is not installed here: {INSTALL_HINT}",
            code="no-ray",
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(ray: Any, address: str | None, workers: int) -> Iterator[None]:
    """Ray initialised for a batch (or a mission): this process's instance if it already has
    one (left as it is), the cluster at ``address``, or a local instance with ``workers``
    CPUs, shut down at the end."""
    if ray.is_initialized():
        yield
        return
    label = f"--address {address}"
    if address is None and os.environ.get("RAY_ADDRESS"):  # Ray's own variable: its cluster
        address = os.environ["RAY_ADDRESS"]
        label = f"RAY_ADDRESS={address}"
    if address is not None:
        _reachable(address, label)
        try:
            with _signals_kept():
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except Exception as exc:  # Ray's own errors: a version mismatch, a refused token ...
            raise UsageError(f"{label}: cannot join the Ray cluster: "
                             f"{_first_line(exc)}", code="ray-unreachable") from None  # fmt: skip
        try:
            yield
        finally:
            ray.shutdown()  # leaves the cluster; the cluster goes on
        return
    temp = tempfile.mkdtemp(prefix="lam-ray-")  # short: Ray's socket paths must stay < 108
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report to Ray's servers
    try:
        with _signals_kept():
            ray.init(
                    num_cpus=workers, include_dashboard=False, object_store_memory=_OBJECT_STORE,
                _temp_dir=temp, logging_level=logging.ERROR, log_to_driver=False,
            )  # fmt: skip
    except Exception as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise UsageError(f"--engine ray: cannot start a local Ray instance: {_first_line(exc)}",
                         code="ray-start") from None  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """``ray.init`` makes SIGTERM exit the process at once; the batch's own handlers (a
    ``lam kill`` stops the batch and lets its rows end as killed) are put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def _reachable(address: str, label: str) -> None:
    """A one-line error now for an address nobody answers on (Ray itself retries for
    minutes). ``auto`` and ``local`` are Ray's own words and are left to it."""
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"ray-gcs://{address}")
    host, port = parts.hostname, parts.port
    if not host:
        raise UsageError(f"{label}: not HOST:PORT or ray://HOST:PORT",
                         code="ray-address")  # fmt: skip
    port = port or (10001 if parts.scheme == "ray" else 6379)
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise UsageError(
            f"{label}: no Ray cluster answers there ({exc.strerror or exc})",
            code="ray-unreachable",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
