"""The batch driver: ``lam run PLAN --inputs ROWS`` (and ``lam replay REC --inputs ROWS``).

It checks everything before a row runs (the plan, every row, the approvals), settles rows an
earlier run of the batch left (:func:`lam.fleet.results.settle`), then hands the rows to an
engine (:mod:`lam.fleet.engine`, or Ray) and writes each outcome to the results file as it
comes, with a progress line on stderr. It registers for ``lam kill`` like a run does: a kill
(``lam kill BATCH``, SIGTERM, Ctrl-C, a ``KILL`` file in the batch's folder) stops it starting
rows, lets rows in flight end for up to half a second, then pulls their kill switches.

Counted approvals: ``--approve STEP@DIGEST --max-approved N`` lets at most N rows run that
step (DIGEST is the step's *batch digest*: :func:`lam.fleet.job.batch_digest`). The driver
hands them out: rows run in groups no bigger than what is left of every count, so the count
holds whatever the number of workers; the rows a count does not cover run without that
approval and are held (exit 3) at that step. The count goes on across reruns: the results
file says which rows used it.

Exit: 0 every row ok, 1 any row failed (or is ``unknown``/``incomplete``), 3 any held (and none
failed), 4 the batch was killed; 2 a usage error before anything ran.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from lam.errors import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_KILLED,
    EXIT_OK,
    EXIT_USAGE,
    BlockedError,
    UsageError,
)
from lam.fleet.job import RowJob, RowOutcome, batch_digest, plan_digest
from lam.fleet.progress import Progress
from lam.fleet.results import (
    check_batch,
    default_results,
    journal_path,
    read_journal,
    read_results,
    repair_tail,
    settle,
    write_outcome,
)
from lam.fleet.rows import Row, read_rows

if TYPE_CHECKING:
    from lam.fleet.engine import Engine
    from lam.plans import Plan
    from lam.policy import Policy

__all__ = ["BatchOptions", "BatchResult", "run_batch"]

EngineName = Literal["local", "threads", "processes", "ray"]


@dataclass(frozen=True)
class BatchOptions:
    """What the command line says about a batch."""

    kind: Literal["run", "replay"]
    path: Path
    inputs: Path
    policy: Policy
    workers: int = 1
    results: Path | None = None
    approvals: tuple[str, ...] = ()
    max_approved: int | None = None
    engine: EngineName = "local"
    address: str | None = None
    apps: Mapping[str, str] = field(default_factory=dict)
    apis: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    strict: bool = False
    screenshots: Literal["all", "failures"] = "failures"
    seed: int = 0
    reads: Literal["sandbox", "live"] = "sandbox"
    runs_dir: Path | None = None  # (the Python API's: the CLI's records go to $LAM_HOME/runs)


@dataclass
class BatchResult:
    """How a batch ended: its id, results file, each row's last status, the exit code."""

    batch_id: str
    results: Path
    statuses: dict[int, str]
    killed: bool
    exit_code: int
    summary: str


def run_batch(options: BatchOptions, *, stream: TextIO | None = None) -> BatchResult:
    """Run the batch ``options`` describe; see the module docstring. Raises
    :class:`~lam.facade.InvalidPlanError` for an invalid plan and a
    :class:`~lam.errors.UsageError` (exit 2) for bad rows or options, before any row runs."""
    err = stream if stream is not None else sys.stderr
    if options.workers < 1:
        raise UsageError("--workers must be at least 1", code="usage")
    try:  # read before the plan is checked: rows run only if they find these same bytes
        digest = plan_digest(options.path)
    except OSError as exc:
        raise UsageError(f"cannot read it: {exc.strerror}", file=str(options.path)) from None
    plan = _checked_plan(options)
    rows = read_rows(options.inputs, plan.inputs)
    counted = _counted(plan, options)
    engine = _engine(options, plan)
    from lam.evidence.keys import load_operator_key

    load_operator_key()  # made (or refused) once here, not by the first rows all at once
    given = options.results or default_results(options.inputs, dry_run=options.dry_run)
    results = given.resolve()
    if results.exists() and not results.is_file():
        raise UsageError("--results must name a file", file=str(results), code="usage")
    results.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(results):
        return _drive(options, plan, rows, counted, engine, results, err, digest)


def _drive(
    options: BatchOptions, plan: Plan, rows: list[Row],
    counted: tuple[str, ...], engine: Engine, results: Path, err: TextIO, digest: str,
) -> BatchResult:  # fmt: skip
    repair_tail(results)
    journal = journal_path(results)
    repair_tail(journal)

    from lam.runtime.record import new_run_id, runs_root

    runs = (options.runs_dir or runs_root()).resolve()
    job = replace(_job(options, runs, journal), plan_sha256=digest)
    identity = {
        "plan": str(options.path.resolve()),
        "plan_sha256": digest,  # a plan edited between two runs of the batch is refused
        "kind": options.kind,
        "mode": "dry-run" if options.dry_run else "live",
    }
    check_batch(results, identity, journal)
    lines, started = read_results(results), read_journal(journal)
    _refuse_running(rows, lines, started)
    outcomes: dict[int, RowOutcome] = {}
    pending: list[Row] = []
    for row in rows:
        settled = settle(row, lines.get(row.key), started.get(row.key), counted)
        if settled is None:
            pending.append(row)
            continue
        outcomes[row.number] = settled
        old = lines.get(row.key) or {}
        if old.get("status") != settled.status or old.get("run_id") != settled.run_id:
            write_outcome(results, settled, identity)  # what the record says now, said once
    used = {a: sum(a in o.used for o in outcomes.values()) for a in counted}
    batch_id = f"batch-{new_run_id()}"
    folder = runs.parent / "batches" / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    from lam.policy_source import policy_line

    print(policy_line(options.policy), file=err)  # the policy every row runs under, said once
    print(
        f"batch {batch_id}: {len(rows)} rows ({len(outcomes)} done earlier, skipped), "
        f"{min(options.workers, max(1, len(pending)))} worker(s); results in {results}",
        file=err, flush=True,
    )  # fmt: skip
    progress = Progress(len(rows), skipped=len(outcomes), stream=err)
    stop = threading.Event()
    lock = threading.Lock()

    by_number = {row.number: row for row in rows}

    def on_outcome(outcome: RowOutcome) -> None:
        with lock:
            if outcome.status == "killed" and outcome.record is not None:
                # said now as a rerun would say it: unknown or incomplete when a write had
                # left lam (killed stays killed when nothing had: a rerun runs it)
                line = outcome.to_json()
                outcome = settle(by_number[outcome.number], line, None, counted) or outcome
            write_outcome(results, outcome, identity)
            outcomes[outcome.number] = outcome
            for approval in outcome.used:
                used[approval] = used.get(approval, 0) + 1
            progress.add(outcome.status)
            if outcome.exit_code == EXIT_USAGE and outcome.record is None and not refused:
                # refused before its run began for a reason no row's values cause (the rows
                # were checked): a secret not set, the policy file changed. Every row would
                # say the same: stop the batch (these rows run again on the next run).
                refused.append(outcome)
                stop.set()

    refused: list[RowOutcome] = []
    with _registered(batch_id, folder, stop):
        try:
            _run_groups(engine, job, pending, options, counted, used, on_outcome, stop)
        finally:
            close = getattr(engine, "close", None)  # a pool kept between groups of rows
            if close is not None:
                close()
    killed = not refused and (stop.is_set() or any(o.status == "killed" for o in outcomes.values()))
    statuses: dict[int, str] = {n: o.status for n, o in sorted(outcomes.items())}
    code = EXIT_USAGE if refused else _exit_code(statuses, killed=killed, total=len(rows))
    summary = _summary(batch_id, rows, outcomes, plan, code, results)
    if refused:
        summary = f"stopped: row {refused[0].number}: {refused[0].error}\n{summary}"
    progress.finish(summary)
    return BatchResult(batch_id, results, statuses, killed, code, summary)


@contextlib.contextmanager
def _exclusive(results: Path) -> Iterator[None]:
    """One batch at a time on a results file: an exclusive lock on ``NAME.lock`` beside it
    for the driver's life (released by the system however the driver ends)."""
    import fcntl

    lock = results.with_name(results.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                "another batch is running with this results file", file=str(results),
                code="batch-running",
            ) from None  # fmt: skip
        yield
    finally:
        os.close(fd)


def _refuse_running(
    rows: Sequence[Row], lines: Mapping[str, Any], started: Mapping[str, Any]
) -> None:
    """A row whose run is still going (a worker of a batch that died, finishing its row) is
    not settled or run again now: that could apply it twice."""
    from lam.runtime.registry import process_start

    for row in rows:
        entry = started.get(row.key)
        if entry is None or (lines.get(row.key) or {}).get("run_id") == entry.get("run_id"):
            continue
        pid = entry.get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except OSError:
            continue
        if entry.get("proc_start") not in (None, process_start(pid)):
            continue  # the pid is another process now
        raise UsageError(
            f"row {row.number} is still running in process {pid} (a worker of a batch that "
            "stopped); wait for it to end, then run the batch again",
            file=str(entry.get("record")), code="row-running",
        )  # fmt: skip


def _checked_plan(options: BatchOptions) -> Plan:
    from lam.facade import InvalidPlanError
    from lam.validation import validate_plan

    report = validate_plan(
        options.path, policy=options.policy, api_overrides=dict(options.apis),
        app_overrides=dict(options.apps),
    )  # fmt: skip
    if not report.ok or report.plan is None:
        raise InvalidPlanError(report)
    return report.plan


def _counted(plan: Plan, options: BatchOptions) -> tuple[str, ...]:
    """The counted approvals, each checked against the step's batch digest."""
    if options.max_approved is None:
        if options.approvals:
            raise UsageError(
                f"--approve {options.approvals[0]} with --inputs needs --max-approved N: a "
                "batch approves a step for at most N rows, never for every row",
                code="usage",
            )
        return ()
    if options.max_approved < 0:
        raise UsageError("--max-approved must be 0 or more", code="usage")
    if not options.approvals:
        raise UsageError("--max-approved counts --approve STEP@DIGEST: give one", code="usage")
    steps = {step.id: step for step in plan.steps}
    for approval in options.approvals:
        named = approval.partition(":")[0]
        step_id, at, digest = named.partition("@")
        if step_id not in steps:
            raise UsageError(f"--approve {approval}: the plan has no step {step_id!r}")
        now = batch_digest(plan, steps[step_id])
        if not at:
            raise UsageError(
                f"--approve {approval}: a batch approval names the step's batch digest: "
                f"--approve {step_id}@{now}",
                code="usage",
            )
        if digest != now:
            raise BlockedError(
                f"--approve {approval}: step {step_id!r} is not what was approved (its batch "
                f"digest is now @{now}); review it and approve again",
                code="stale-approval",
                step=step_id,
            )
    return tuple(dict.fromkeys(options.approvals))


def _engine(options: BatchOptions, plan: Plan) -> Engine:
    if options.engine == "ray":
        import importlib

        try:  # lam.fleet.ray_engine needs the ray package, an optional dependency
            module = importlib.import_module("lam.fleet.ray_engine")
        except ImportError as exc:
            raise UsageError(f"--engine ray: not available here ({exc})", code="usage") from None
        engine: Engine = module.RayEngine(options.address)
        return engine
    if options.address is not None:
        raise UsageError("--address goes with --engine ray", code="usage")
    from lam.fleet.engine import LocalEngine

    ui = bool(plan.apps) or any(step.kind == "ui" for step in plan.steps)
    if options.engine == "threads" and ui:
        raise UsageError(
            "--engine threads runs API plans only: a UI plan's guard proxy is one per "
            "process (use --engine processes, or local)",
            code="usage",
        )
    if options.engine == "processes" or (options.engine == "local" and ui):
        return LocalEngine("processes")
    # local, API-only plan: threads measured faster here (no worker to start; docs/scale.md)
    return LocalEngine("threads")


def _job(options: BatchOptions, runs: Path, journal: Path) -> RowJob:
    from lam.policy_source import policy_identity

    identity = policy_identity(options.policy)
    return RowJob(
        kind=options.kind,
        path=str(options.path.resolve()),
        policy=identity["file"],
        policy_sha256=identity["sha256"],
        runs_dir=str(runs),
        dry_run=options.dry_run,
        apps=tuple(sorted(options.apps.items())),
        apis=tuple(sorted(options.apis.items())),
        strict=options.strict,
        screenshots=options.screenshots,
        seed=options.seed,
        reads=options.reads,
        journal=str(journal),
    )


def _run_groups(
    engine: Engine,
    job: RowJob,
    pending: Sequence[Row],
    options: BatchOptions,
    counted: tuple[str, ...],
    used: dict[str, int],
    on_outcome: Any,
    stop: threading.Event,
) -> None:
    """Rows in groups: while a counted approval has some left, the next rows (no more than
    the smallest count left) run with every approval that has some left; the rest without."""
    left = list(pending)
    while left and not stop.is_set():
        remaining = {a: (options.max_approved or 0) - used.get(a, 0) for a in counted}
        granted = tuple(a for a, n in remaining.items() if n > 0)
        size = min((remaining[a] for a in granted), default=len(left))
        group, left = left[:size], left[size:]
        engine.run(replace(job, counted=granted), group, options.workers, on_outcome, stop)
        if not granted:
            break


@contextlib.contextmanager
def _registered(batch_id: str, folder: Path, stop: threading.Event) -> Iterator[None]:
    """For the life of the batch: in the run registry (``lam kill`` lists and stops it),
    SIGTERM and SIGINT set ``stop`` (main thread only), and a ``KILL`` file in ``folder``
    does too."""
    from lam.runtime.kill import KILL_FILE, signals_to
    from lam.runtime.registry import registered

    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if (folder / KILL_FILE).exists():
                stop.set()
                return

    watcher = threading.Thread(target=watch, name="lam-batch-kill", daemon=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(registered(batch_id, folder))
        except (UsageError, OSError) as exc:
            print(f"lam: warning: not registered for lam kill: {exc}", file=sys.stderr)
        stack.enter_context(signals_to(lambda signum, frame: stop.set()))
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=1.0)


def _exit_code(statuses: Mapping[int, str], *, killed: bool, total: int) -> int:
    if killed:
        return EXIT_KILLED
    if len(statuses) < total:
        return EXIT_FAILED  # not killed, yet rows did not run: the workers ended early
    values = set(statuses.values())
    if values & {"failed", "unknown", "incomplete"}:
        return EXIT_FAILED
    if "held" in values:
        return EXIT_BLOCKED
    return EXIT_OK


def _summary(
    batch_id: str, rows: Sequence[Row], outcomes: Mapping[int, RowOutcome], plan: Plan,
    code: int, results: Path,
) -> str:  # fmt: skip
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    not_run = len(rows) - len(outcomes)
    parts = [f"{n} {s}" for s, n in sorted(counts.items())]
    if not_run:
        parts.append(f"{not_run} not run")
    lines = [f"batch {batch_id}: {len(rows)} rows: {', '.join(parts)}; results in {results}"]
    held: dict[str, int] = {}
    for outcome in outcomes.values():
        if outcome.status == "held":
            for step in outcome.held or ("?",):
                held[step] = held.get(step, 0) + 1
    steps = {step.id: step for step in plan.steps}
    for step_id, count in sorted(held.items()):
        if step_id in steps:
            flag = f"--approve {step_id}@{batch_digest(plan, steps[step_id])}"
            lines.append(
                f"  {count} row(s) held at step {step_id!r}: run again with {flag} "
                f"--max-approved N to let up to N rows run it"
            )
    unknown = [o for o in outcomes.values() if o.status in ("unknown", "incomplete")]
    for outcome in unknown[:5]:
        lines.append(f"  row {outcome.number} {outcome.status}: {outcome.error}")
    if len(unknown) > 5:
        lines.append(f"  ... and {len(unknown) - 5} more unknown or incomplete rows")
    lines.append(f"exit {code}")
    return "\n".join(lines)
