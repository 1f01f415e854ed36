"""One row of a batch as one guarded run: :class:`RowJob` (what to run, as plain data),
:func:`run_row` (a top-level function any process can import and call: a worker process, a
thread, a Ray task) and :class:`RowOutcome` (what happened, as plain data).

A row's run is an ordinary ``lam run`` (or ``lam replay``) with the row's values as its
``--input`` values: validated, preflighted, guarded, recorded in its own run record. Before
the run's first step, :func:`run_row` appends the row's run id and record directory to the
batch's *journal* (fsynced), so a batch that dies mid-row can later tell from that record
whether the row's effect was sent (:func:`lam.fleet.results.settle`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_KILLED, EXIT_OK, LamError, UsageError
from lam.fleet.rows import Row

if TYPE_CHECKING:
    from lam.plans import Plan, Step

__all__ = [
    "RowJob",
    "RowOutcome",
    "append_line",
    "batch_digest",
    "plan_digest",
    "run_row",
    "trace_facts",
]

Status = Literal["ok", "failed", "held", "killed", "unknown", "incomplete", "skipped"]


@dataclass(frozen=True)
class RowJob:
    """What every row of a batch runs, as plain, picklable data.

    ``policy`` is the policy file in force (None: lam's built-in defaults) and
    ``policy_sha256`` its digest when the batch started: a worker that finds another file
    there refuses the row. ``counted`` are the counted batch approvals (``STEP@DIGEST``, the step's *batch digest*:
    :func:`batch_digest`) the driver grants to every row it runs with this job
    (:mod:`lam.fleet.batch`); :func:`run_row` binds each to the row's own step digest before
    the run starts, and the outcome's ``used`` says whether the row's run started that step.
    ``journal`` is the file a row's start is noted in (None: not noted). ``plan_sha256`` is
    the plan (or recording) file's digest when the batch started (:func:`plan_digest`): a
    worker that finds another file refuses the row, and each row's record names it in its
    ``batch-row`` event with the row's number and key.
    """

    kind: Literal["run", "replay"]
    path: str
    policy: str | None = None
    policy_sha256: str | None = None
    counted: tuple[str, ...] = ()
    runs_dir: str | None = None
    dry_run: bool = False
    apps: tuple[tuple[str, str], ...] = ()
    apis: tuple[tuple[str, str], ...] = ()
    strict: bool = False
    screenshots: Literal["all", "failures"] = "failures"
    seed: int = 0
    reads: Literal["sandbox", "live"] = "sandbox"
    journal: str | None = None
    plan_sha256: str | None = None


@dataclass(frozen=True)
class RowOutcome:
    """How one row went. ``status``: ok, failed, held (blocked: denied or unapproved), killed,
    unknown (its effect may or may not have happened: see docs/scale.md, Guarantees),
    incomplete (its state-changing steps ended, the run did not) or
    skipped (done in an earlier run of the batch). ``outputs``: each step's outputs by step
    id. ``used``: the counted approvals whose step started in this row's run. ``held``: the
    steps a blocked preflight named (what a held row waits for)."""

    number: int
    key: str
    status: Status
    exit_code: int
    outputs: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    record: str | None = None
    error: str | None = None
    used: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The row's line in the results file."""
        return {
            "row": self.number,
            "key": self.key,
            "status": self.status,
            "exit": self.exit_code,
            "outputs": dict(self.outputs),
            "run_id": self.run_id,
            "record": self.record,
            "error": self.error,
            "used": list(self.used),
            "held": list(self.held),
            "seconds": round(self.seconds, 4),
        }


_STATUS = {EXIT_OK: "ok", EXIT_BLOCKED: "held", EXIT_KILLED: "killed"}


def run_row(job: RowJob, row: Row) -> RowOutcome:
    """Run ``job`` for ``row``: its own guarded run and record. Never raises for the row's own
    failures (a blocked preflight, an invalid plan, a failed step, anything unexpected): each
    is the outcome's status and error, so one bad row cannot stop a worker."""
    started = time.perf_counter()
    record: list[tuple[str, str]] = []
    try:
        options = _options(job, row, record)
        if job.kind == "replay":
            from lam.replayer import replay

            replayed = replay(Path(job.path), options)
            result = replayed.run
            report = replayed.report
        else:
            from lam.runtime.start import execute_plan

            report, result = execute_plan(Path(job.path), options)
        if result is None:
            first = report.errors[0] if report.errors else None
            message = first.message if first is not None else "the plan is invalid"
            return _failed(job, row, EXIT_FAILED, f"invalid plan: {message}", started)
    except LamError as exc:  # refused before a run started (blocked, a missing secret ...)
        code = exc.exit_code
        status: Status = "held" if code == EXIT_BLOCKED else "failed"
        held = tuple(getattr(exc, "steps", ()) or ([exc.step] if exc.step else []))
        outcome = _failed(job, row, code, exc.one_line(), started, status=status, held=held)
        if record:  # the run started after all (an error while closing): say which
            run_id, directory = record[0]
            return _with_record(outcome, run_id, directory, job)
        return outcome
    except Exception as exc:  # a bug must cost one row, not the batch
        return _failed(job, row, EXIT_FAILED, f"{type(exc).__name__}: {exc}", started)
    code = result.exit_code
    facts = trace_facts(Path(result.directory))
    return RowOutcome(
        row.number, row.key, _STATUS.get(code, "failed"), code,  # type: ignore[arg-type]
        outputs=facts["outputs"], run_id=result.run_id, record=result.directory,
        error=result.error.one_line() if result.error is not None else None,
        used=_used(job, facts),
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _options(job: RowJob, row: Row, started: list[tuple[str, str]]) -> Any:
    from lam.policy import Policy, default_policy
    from lam.policy_source import load_policy_file
    from lam.runtime.record import RunRecord
    from lam.runtime.start import RunOptions

    if job.plan_sha256 is not None and _digest_of(job.path) != job.plan_sha256:
        # the rows run the plan the batch checked and names on its lines, or none of it
        raise UsageError(
            "the plan changed since the batch started (its sha256 is not the one the batch "
            "checked): restore it, or start the batch again with another --results",
            file=job.path, code="plan-changed",
        )  # fmt: skip
    policy: Policy = load_policy_file(Path(job.policy)) if job.policy else default_policy()
    if job.policy and job.policy_sha256 and policy.sha256 != job.policy_sha256:
        raise UsageError(
            "the policy file changed since the batch started; start the batch again",
            file=job.policy, code="policy-changed",
        )  # fmt: skip

    def on_start(record: RunRecord) -> None:
        started.append((record.run_id, str(record.directory)))
        # the record says, signed, which row of which batch it is (before the journal names
        # it): a resume takes a record as a row's outcome only when it is that row's
        record.event(
            "batch-row", row=row.number, row_key=row.key, kind=job.kind,
            mode="dry-run" if job.dry_run else "live", plan_sha256=job.plan_sha256,
        )  # fmt: skip
        if job.journal is not None:
            from lam.runtime.registry import process_start

            # the process too, so a rerun can tell a row still running (an orphaned worker)
            note = {"row": row.number, "key": row.key, "run_id": record.run_id,
                    "record": str(record.directory), "pid": os.getpid(),
                    "proc_start": process_start(os.getpid())}  # fmt: skip
            append_line(Path(job.journal), note)

    return RunOptions(
        policy=policy,
        inputs=dict(row.values),
        app_overrides=dict(job.apps),
        api_overrides=dict(job.apis),
        approvals=_bound(job, row),
        dry_run=job.dry_run,
        strict=job.strict,
        runs_dir=Path(job.runs_dir) if job.runs_dir else None,
        seed=job.seed,
        reads=job.reads,
        on_start=on_start,
        screenshots=job.screenshots,
    )


def plan_digest(path: Path) -> str:
    """The SHA-256 of the plan (or recording) file's bytes, as ``sha256sum`` prints it: what
    a batch's results lines name, so a resume can tell the plan was edited since."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest_of(path: str) -> str | None:
    try:
        return plan_digest(Path(path))
    except OSError:
        return None  # gone: the run itself says so


def batch_digest(plan: Plan, step: Step) -> str:
    """A step's digest for a batch approval: the step as written, each input it reads named
    but not valued (the rows give the values; ``--max-approved`` bounds how many)."""
    from lam.plans import step_digest

    return step_digest(plan, step, {})


def _bound(job: RowJob, row: Row) -> frozenset[str]:
    """The counted approvals as this row's run takes them: ``STEP@<the row's digest>``, once
    the batch digest is checked against the plan as it is now (edited since: refused)."""
    if not job.counted:
        return frozenset()
    from lam.errors import BlockedError
    from lam.plans import load_plan, step_digest
    from lam.runtime.inputs import resolve_inputs

    plan = load_plan(Path(job.path))
    inputs = resolve_inputs(plan, row.values)
    bound = set()
    for approval in job.counted:
        step_id, _, digest = approval.partition("@")
        step = next((s for s in plan.steps if s.id == step_id), None)
        if step is None or batch_digest(plan, step) != digest:
            raise BlockedError(
                f"--approve {approval}: the plan's step is not what was approved "
                "(the plan changed since the batch started)",
                code="stale-approval", step=step_id,
            )  # fmt: skip
        bound.add(f"{step_id}@{step_digest(plan, step, inputs)}")
    return frozenset(bound)


def _used(job: RowJob, facts: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(a for a in job.counted if a.partition("@")[0] in facts["started"])


def _failed(
    job: RowJob,
    row: Row,
    code: int,
    error: str,
    started: float,
    *,
    status: Status = "failed",
    held: tuple[str, ...] = (),
) -> RowOutcome:
    return RowOutcome(
        row.number,
        row.key,
        status,
        code,
        error=error,
        held=held if status == "held" else (),
        seconds=time.perf_counter() - started,
    )


def _with_record(outcome: RowOutcome, run_id: str, directory: str, job: RowJob) -> RowOutcome:
    facts = trace_facts(Path(directory))
    used = _used(job, facts)
    return RowOutcome(
        outcome.number, outcome.key, outcome.status, outcome.exit_code, facts["outputs"],
        run_id, directory, outcome.error, used, outcome.held, outcome.seconds,
    )  # fmt: skip


_CHANGING = ("write", "destructive")  # risks whose allowed action may have changed state


def trace_facts(directory: Path) -> dict[str, Any]:
    """What a run record says about a row: ``outputs`` (step id -> outputs of each step that
    ended ok), ``started`` (step ids with a ``step-start``), ``ended`` (step id -> status),
    ``end`` (the ``end`` event, or None: the run never finished), ``let_through`` (steps with
    a write or destructive action the guard allowed, so it may have been sent, in order),
    ``row`` (the ``batch-row`` event: which row of which batch the run was, or None) and
    ``events`` (how many events the record holds)."""
    from lam.runtime.record import read_trace

    outputs: dict[str, Any] = {}
    started: set[str] = set()
    ended: dict[str, str] = {}
    end: dict[str, Any] | None = None
    bound: dict[str, Any] | None = None
    events = 0
    let_through: dict[str, None] = {}
    with contextlib.suppress(OSError, ValueError):
        for event in read_trace(directory / "trace.jsonl"):
            events += 1
            kind = event.get("type")
            if kind == "batch-row" and bound is None:
                bound = event
            elif kind == "guard":
                if event.get("verdict") == "allow" and event.get("risk") in _CHANGING:
                    let_through.setdefault(str(event.get("step")), None)
            elif kind == "step-start":
                started.add(str(event.get("step")))
            elif kind == "step":
                ended[str(event.get("step"))] = str(event.get("status"))
                if event.get("status") == "ok" and event.get("outputs") is not None:
                    outputs[str(event.get("step"))] = event["outputs"]
            elif kind == "end":
                end = event
    return {
        "outputs": outputs, "started": started, "ended": ended, "end": end,
        "let_through": list(let_through), "row": bound, "events": events,
    }  # fmt: skip


def append_line(path: Path, document: Mapping[str, Any]) -> None:
    """Append ``document`` as one JSON line in a single write, then fsync: a line is in the
    file whole or not at all (O_APPEND keeps lines from several processes apart)."""
    data = (json.dumps(document, default=str, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, data)
        if written != len(data):  # never seen on a local file; a torn line is found by readers
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
