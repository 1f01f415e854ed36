"""Starting one attempt of a mission task, each in its own process.

A :class:`TaskAttempt` is plain data: what the child runs (a plan, a recording or a goal),
its inputs as plain JSON values, the approvals for this task only, the policy file, where run
records go and the attempt's budget. A :class:`TaskLauncher` starts it and hands back a
:class:`RunningTask` to wait on or stop; :class:`LocalLauncher` runs
``python -m lam.mission.task_main ATTEMPT.json`` as a child process in its own process group,
so that a stop (or a kill of the mission) reaches the child and everything it started (its
browser) with one signal, and the attempt's ``timeout`` is enforced from outside the child.

Why a process per attempt: the guard's proxy is one per process, parallel UI tasks need a
browser each, a fooled agent can only fail its own process, and a kill is a signal to a
process group. What the child did is read back from its run record (status, step outputs,
final hash), not taken from what it printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_KILLED
from lam.runtime.record import read_trace, verify_trace

__all__ = [
    "AttemptKind",
    "AttemptOutcome",
    "LocalLauncher",
    "RunningTask",
    "TaskAttempt",
    "TaskLauncher",
    "read_outcome",
]

AttemptKind = Literal["run", "replay", "do"]
AttemptStatus = Literal["ok", "failed", "held", "killed", "timeout", "invalid"]
_TICK = 0.05  # how often a waiting attempt looks at its child
_GRACE = 3.0  # seconds a stopped child has to close its record before SIGKILL


@dataclass(frozen=True)
class TaskAttempt:
    """One attempt of one task, as plain data (it crosses a process boundary as JSON).

    ``inputs`` are plain values (upstream outputs already resolved): they reach the child's
    plan as ``$inputs``, never as steps, approvals, policy or hosts. ``approvals`` are the
    operator's ``STEP@DIGEST`` approvals for this task alone. ``note`` is what failed before,
    for a re-planned goal, and ``failed_step`` the step that failed (as the previous attempt's
    agent proposed it, read from its run record): the planner gets them as history (data), not
    as part of the goal.
    """

    task: str
    attempt: int
    kind: AttemptKind
    work_dir: str  # where the attempt's command, result and log files go
    runs_dir: str
    source: str | None = None  # the plan or recording
    goal: str | None = None
    agent: Literal["ui", "api"] | None = None
    app_url: str | None = None
    api_spec: str | None = None
    api_url: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    approvals: tuple[str, ...] = ()
    dry_run: bool = False
    policy: str | None = None
    apps: Mapping[str, str] = field(default_factory=dict)  # overrides, for names the plan has
    apis: Mapping[str, str] = field(default_factory=dict)
    max_steps: int | None = None
    timeout: float | None = None
    note: str | None = None
    failed_step: Mapping[str, Any] | None = None
    planner: Literal["embedded", "llm"] = "embedded"  # a goal's action model, as lam do's

    @property
    def name(self) -> str:
        return f"{self.task}.{self.attempt}"

    def file(self, suffix: str) -> Path:
        return Path(self.work_dir) / f"{self.name}.{suffix}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["approvals"] = list(self.approvals)
        data["inputs"] = dict(self.inputs)
        data["apps"], data["apis"] = dict(self.apps), dict(self.apis)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskAttempt:
        values = dict(data)
        values["approvals"] = tuple(values.get("approvals") or ())
        return cls(**values)


@dataclass
class AttemptOutcome:
    """How an attempt ended, read from the child's run record where there is one."""

    status: AttemptStatus
    exit_code: int
    run_id: str | None = None
    record: str | None = None
    final_hash: str | None = None
    events: int = 0
    step_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # as the run resolved them
    error: str | None = None
    needs: tuple[str, ...] = ()  # STEP@DIGEST approvals a held attempt asks for
    failed_step: str | None = None
    failed_proposal: dict[str, Any] | None = None  # that step, as the run's agent proposed it
    seconds: float = 0.0
    unchecked: tuple[str, ...] = ()  # a dry run's "STEP: what it could not check"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["needs"] = list(self.needs)
        data["unchecked"] = list(self.unchecked)
        return data


class RunningTask(Protocol):
    """An attempt under way."""

    def wait(self) -> AttemptOutcome:
        """Block until the attempt ends (or its budget's timeout stops it)."""
        ...

    def stop(self) -> None:
        """Stop it now (the child ends as killed); must not block for long."""
        ...


class TaskLauncher(Protocol):
    """Starts attempts: the local one runs child processes; another engine may run them
    elsewhere, as long as the run records land where ``runs_dir`` says."""

    def start(self, attempt: TaskAttempt) -> RunningTask: ...


class LocalLauncher:
    """Each attempt a ``python -m lam.mission.task_main`` child in its own process group."""

    def __init__(self, *, python: str | None = None, env: Mapping[str, str] | None = None):
        self.python = python or sys.executable
        self.env = dict(env) if env is not None else None

    def start(self, attempt: TaskAttempt) -> RunningTask:
        command = attempt.file("attempt.json")
        # owner-only, and removed once the attempt ends: it holds the inputs unredacted (the
        # mission record holds the command with credential-like values hidden)
        fd = os.open(command, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(attempt.to_json(), handle, indent=2, default=str)
        for stale in ("result.json", "started.json"):
            with contextlib.suppress(OSError):
                attempt.file(stale).unlink()
        log = attempt.file("log").open("ab")
        try:
            process = subprocess.Popen(
                [self.python, "-m", "lam.mission.task_main", str(command)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal reaches it all
                env=self.env,
            )  # fmt: skip
        finally:
            log.close()
        return _LocalTask(attempt, process)


class _LocalTask:
    def __init__(self, attempt: TaskAttempt, process: subprocess.Popen[bytes]) -> None:
        self.attempt = attempt
        self.process = process
        self.started = time.monotonic()
        self.stopped: str | None = None  # why the supervisor stopped it, if it did
        self._term_at: float | None = None

    def stop(self, why: str = "killed") -> None:
        if self.stopped is None:
            self.stopped = why
        self._term_at = self._term_at or time.monotonic()
        _signal_group(self.process.pid, signal.SIGTERM)

    def wait(self) -> AttemptOutcome:
        timeout = self.attempt.timeout
        while True:
            try:
                self.process.wait(timeout=_TICK)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if timeout is not None and self.stopped is None and now - self.started > timeout:
                self.stop("timeout")
            if self._term_at is not None and (
                now - self._term_at > _GRACE or self.attempt.file("result.json").exists()
            ):
                # past the grace, or done: the child wrote its result after its record was
                # sealed and anchored, so nothing is left to save; its teardown (an interpreter
                # and a browser exiting) need not hold the mission up
                _signal_group(self.process.pid, signal.SIGKILL)
        # the group may still hold a grandchild (a browser) the child did not reap
        _signal_group(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.attempt.file("attempt.json").unlink()
        outcome = read_outcome(self.attempt, self.process.returncode)
        outcome.seconds = round(time.monotonic() - self.started, 3)
        if self.stopped == "timeout" and outcome.status in ("killed", "ok"):
            outcome.status, outcome.exit_code = "timeout", EXIT_FAILED
            outcome.error = f"the task's budget of {self.attempt.timeout:g} s ran out"
        elif self.stopped is not None and outcome.status != "killed":
            outcome.status, outcome.exit_code = "killed", EXIT_KILLED
        return outcome


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, sig)


def read_outcome(attempt: TaskAttempt, returncode: int | None) -> AttemptOutcome:
    """How an attempt ended: from the child's run record when it opened one (its end event,
    its step outputs, its final hash), else from the result the child wrote (a plan that did
    not validate, a step held before the run started), else from its exit status."""
    result = _read_json(attempt.file("result.json"))
    started = _read_json(attempt.file("started.json"))
    record = (result or {}).get("record") or (started or {}).get("record")
    run_id = (result or {}).get("run") or (started or {}).get("run")
    if record and (Path(record) / "trace.jsonl").is_file():
        return _from_record(Path(record), str(run_id or Path(record).name), result)
    if result is not None:
        status = str(result.get("status", "failed"))
        return AttemptOutcome(
            status=status if status in ("held", "invalid", "failed", "killed") else "failed",  # type: ignore[arg-type]
            exit_code=int(result.get("exit", EXIT_FAILED)),
            error=result.get("error"),
            needs=tuple(result.get("needs") or ()),
        )
    if returncode is not None and returncode < 0:
        return AttemptOutcome("killed", EXIT_KILLED, error=f"signal {-returncode}")
    return AttemptOutcome(
        "failed", EXIT_FAILED,
        error=f"the task's process ended with exit {returncode} and no result: {_tail(attempt)}",
    )  # fmt: skip


def _from_record(record: Path, run_id: str, result: Mapping[str, Any] | None) -> AttemptOutcome:
    events = list(_events(record / "trace.jsonl"))
    end = next((e for e in reversed(events) if e.get("type") in ("end", "seal")), None)
    plan = next((e for e in events if e.get("type") == "plan"), {})
    outputs: dict[str, dict[str, Any]] = {}
    failed_step = None
    unchecked: list[str] = []
    proposed: dict[str, dict[str, Any]] = {}  # a goal's steps by id, as its agent proposed them
    for event in events:
        if event.get("type") == "proposal":
            proposed.update({str(s.get("id")): s for s in event.get("steps") or ()
                             if isinstance(s, dict)})  # fmt: skip
        if event.get("type") == "step":
            unchecked += [f"{event.get('step')}: {u}" for u in event.get("unchecked") or ()]
            if isinstance(event.get("outputs"), dict):
                outputs[str(event.get("step"))] = dict(event["outputs"])
            if event.get("status") != "ok":
                failed_step = str(event.get("step"))
    # the trace is read once here: its head and count are those of the events just read
    head, count = (str(events[-1].get("hash")) if events else None), len(events)
    status_text = str((end or {}).get("status") or "failed")
    exit_code = (end or {}).get("exit_code")
    if not isinstance(exit_code, int):
        exit_code = EXIT_KILLED if status_text == "killed" else EXIT_FAILED
    status: AttemptStatus = {  # type: ignore[assignment]
        "ok": "ok", "blocked": "held", "killed": "killed",
    }.get(status_text, "failed")  # fmt: skip
    if status == "held":
        exit_code = EXIT_BLOCKED
    error = (end or {}).get("error") or (result or {}).get("error")
    if end is None:
        status, exit_code = "killed", EXIT_KILLED
        error = error or "the run ended without closing its record"
    chain = verify_trace(record / "trace.jsonl")
    if not chain.ok:  # the child's record is its own evidence; a broken one is no success
        status, exit_code = "failed", EXIT_FAILED
        error = f"its run record is broken: {chain.problem}"
    # held before the run started: the result file says; held at run time: the end event does
    needs = tuple((result or {}).get("needs") or ())
    if status == "held" and not needs:
        needs = tuple(str(a) for a in (end or {}).get("approvals") or ())
    return AttemptOutcome(
        status=status, exit_code=exit_code, run_id=run_id, record=str(record.resolve()),
        final_hash=head, events=count, step_outputs=outputs,
        inputs=dict(plan.get("inputs") or {}), error=error, needs=needs,
        failed_step=failed_step, unchecked=tuple(unchecked),
        failed_proposal=proposed.get(failed_step) if failed_step else None,
    )  # fmt: skip


def _events(trace: Path) -> list[dict[str, Any]]:
    try:
        return [e for e in read_trace(trace) if isinstance(e, dict)]
    except (OSError, ValueError):
        return []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _tail(attempt: TaskAttempt, lines: int = 3) -> str:
    try:
        text = attempt.file("log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "no log"
    return " | ".join(text.strip().splitlines()[-lines:]) or "no output"
