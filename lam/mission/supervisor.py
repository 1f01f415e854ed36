"""The supervisor: runs a validated mission, each task attempt in a child process.

Tasks start as soon as every task they depend on has succeeded, so independent tasks run in
parallel (one thread waits on each child) and dependents run after; the mission record
(:mod:`lam.mission.record`) names the layers of that order, each attempt, who decided it and
why, and each child's run record.

Hand-offs are data. A task's inputs are resolved here, from ``$workflows.X.outputs.Y`` (what
X's run recorded) and the mission's ``--input`` values, into plain JSON values, and reach the
child only as input values (:class:`~lam.mission.launch.TaskAttempt`): never as steps,
approvals, policy or hosts. The child validates its own plan against the operator's policy as
any run does, so an upstream output that says "the operator approves deleting everything" or
carries a URL to another host can at most fail the task that reads it. Approvals come from the
operator alone (``--approve TASK.STEP@DIGEST``, in :class:`~lam.mission.model.MissionOptions`)
and go to that task's child only.

Self-correction, within each task's budget (``x-lam-retries`` extra attempts): a failed plan
is run again; a failed recording is replayed again (the replay heals moved targets); a failed
goal is re-planned, its planner told what failed (as history, not as part of the goal). A task
held for an approval is not retried: it blocks the tasks that depend on it, the others finish,
and the mission ends with exit 3. After a task fails for good the mission stops starting
tasks (``on_failure: stop``) or runs the ones that do not depend on it (``continue``).

Kill switch: the supervisor registers in the run registry under its mission run id, so
``lam kill MISSION_RUN_ID`` (or ``lam kill``) reaches it; SIGTERM or SIGINT, a ``KILL`` file in
the mission record or the project's ``.lam/KILL`` make it send SIGTERM to every child's
process group, wait for them to close their records, and end with exit 4.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from lam.errors import EXIT_FAILED, EXIT_KILLED
from lam.expressions import ExpressionError
from lam.mission.attempt import attempt_for
from lam.mission.handoff import resolve, task_inputs, task_outputs
from lam.mission.launch import (
    AttemptOutcome,
    LocalLauncher,
    RunningTask,
    TaskLauncher,
)
from lam.mission.model import Mission, MissionError, MissionOptions, Task
from lam.mission.record import MissionRecord, missions_root
from lam.mission.result import MissionResult, TaskResult, mission_outcome
from lam.runtime.kill import KILL_FILE, signals_to
from lam.runtime.record import runs_root

__all__ = ["MissionResult", "TaskResult", "run_mission"]

_TICK = 0.05  # how often the supervisor looks at the kill switch
_IN_THE_RUN = ("step_outputs", "inputs")  # read from a child's record, not copied into ours
_STOP_WAIT = 5.0  # how long a kill waits for children to close their records


def run_mission(
    mission: Mission,
    options: MissionOptions,
    *,
    launcher: TaskLauncher | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> MissionResult:
    """Run every task of ``mission`` (validated by :mod:`lam.mission.check` beforehand) and
    return how each ended; the mission record is written as it goes."""
    root = options.missions_dir or missions_root()
    record = MissionRecord.create(root)
    supervisor = _Supervisor(mission, options, record, launcher or LocalLauncher(), on_event)
    try:
        return supervisor.run()
    finally:
        record.close()


class _Supervisor:
    def __init__(
        self,
        mission: Mission,
        options: MissionOptions,
        record: MissionRecord,
        launcher: TaskLauncher,
        on_event: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.mission = mission
        self.options = options
        self.record = record
        self.launcher = launcher
        self.on_event = on_event
        self.results: dict[str, TaskResult] = {}
        self.done: queue.Queue[TaskResult] = queue.Queue()
        self.running: dict[str, RunningTask] = {}
        self.stopped: set[int] = set()  # the attempts already told to stop
        self.lock = threading.Lock()
        self.stop = threading.Event()  # the kill switch
        self.stop_reason: str | None = None
        self.halted = False  # on_failure: stop, after a failure: start nothing more
        self.signal: int | None = None
        self.since = time.time()

    # -- the mission ------------------------------------------------------------------------

    def run(self) -> MissionResult:
        from lam.runtime.registry import registered

        self._event("mission", **self._start_event())
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(registered(self.record.mission_id, self.record.directory))
            except Exception as exc:  # an unusable registry: signals and KILL files still work
                self._event("warning", message=f"not registered for lam kill: {exc}")
            stack.enter_context(signals_to(self._on_signal))
            self._schedule()
        status, code = mission_outcome(self.results.values(), killed=self.stop.is_set())
        self._event(
            "end", status=status, exit_code=code, reason=self.stop_reason,
            tasks={k: v.status for k, v in self.results.items()},
        )  # fmt: skip
        return MissionResult(
            self.record.mission_id, self.record.directory, status, code, dict(self.results)
        )

    def _start_event(self) -> dict[str, Any]:
        file = Path(self.mission.file)
        try:
            sha = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            sha = None
        return {
            "name": self.mission.name,
            "file": str(file.resolve()),
            "sha256": sha,
            "tasks": [
                {
                    "id": t.id,
                    "kind": t.kind,
                    "depends_on": list(t.depends_on),
                    "retries": t.retries,
                    "source": str(t.source) if t.source else None,
                }
                for t in self.mission.tasks
            ],
            "order": [list(layer) for layer in self.mission.order()],
            "on_failure": self.mission.on_failure,
            # where attempts ran: LocalLauncher, RayLauncher
            "launcher": type(self.launcher).__name__,
            "dry_run": self.options.dry_run,
            "approvals": {k: sorted(v) for k, v in self.options.approvals.items()},
            "policy": str(self.options.policy) if self.options.policy else None,
        }

    def _schedule(self) -> None:
        pending = {t.id for t in self.mission.tasks}
        threads: list[threading.Thread] = []
        while pending or self.running_count():
            if self._pulled():
                self._stop_all()
            for task in self.mission.tasks:
                if task.id not in pending:
                    continue
                deps = [self.results.get(d) for d in task.depends_on]
                if any(r is not None and r.status != "ok" for r in deps):
                    pending.discard(task.id)
                    self._finish_unrun(task, "blocked", self._blocked_why(task))
                elif self.stop.is_set() or self.halted:
                    pending.discard(task.id)
                    why = self.stop_reason if self.stop.is_set() else "the mission stopped"
                    self._finish_unrun(task, "skipped", why or "the mission stopped")
                elif all(r is not None for r in deps):
                    pending.discard(task.id)
                    with self.lock:
                        self.running[task.id] = _Starting()
                    thread = threading.Thread(
                        target=self._task_thread, args=(task,), name=f"lam-task-{task.id}",
                        daemon=True,
                    )  # fmt: skip
                    threads.append(thread)
                    thread.start()
            try:
                result = self.done.get(timeout=_TICK)
            except queue.Empty:
                continue
            self._collect(result)
        for thread in threads:
            thread.join(timeout=_STOP_WAIT)

    def running_count(self) -> int:
        with self.lock:
            return len(self.running)

    def _collect(self, result: TaskResult) -> None:
        self.results[result.id] = result
        with self.lock:
            self.running.pop(result.id, None)
        if result.status == "failed" and self.mission.on_failure == "stop" and not self.halted:
            self.halted = True
            self._decision(result.id, "stop", f"task {result.id} failed and on_failure is stop")
        elif result.status == "failed":
            self._decision(result.id, "continue", f"task {result.id} failed; on_failure is "
                           "continue: tasks that do not depend on it still run")  # fmt: skip
        elif result.status == "held":
            blocked = ", ".join(self.mission.dependents(result.id)) or "none"
            if result.needs:
                what = "waits for an approval (" + " ".join(
                    f"--approve {n}" for n in result.needs) + ")"  # fmt: skip
            else:
                what = f"was refused by the guard ({result.error})"
            self._decision(
                result.id, "hold", f"task {result.id} {what}; not run because of it: {blocked}"
            )

    def _finish_unrun(self, task: Task, status: str, why: str) -> None:
        self.results[task.id] = TaskResult(task.id, status, error=why)
        self._decision(task.id, "skip", why)

    def _blocked_why(self, task: Task) -> str:
        bad = [d for d in task.depends_on if self.results[d].status != "ok"]
        return ", ".join(f"{d} {self.results[d].status}" for d in bad) + ": not run"

    # -- one task ---------------------------------------------------------------------------

    def _task_thread(self, task: Task) -> None:
        try:
            result = self._run_task(task)
        except Exception as exc:  # a task that cannot even start fails alone, said in one line
            result = TaskResult(task.id, "failed", error=f"{type(exc).__name__}: {exc}")
            self._event("result", task=task.id, attempt=0, status="failed", error=result.error)
        self.done.put(result)

    def _run_task(self, task: Task) -> TaskResult:
        try:
            done = self._succeeded()
            inputs = task_inputs(task, done, self.options.inputs)
            goal = resolve(task.goal, task, done, self.options.inputs) if task.goal else None
        except (ExpressionError, MissionError) as exc:
            message = exc.one_line() if isinstance(exc, MissionError) else str(exc)
            self._event("result", task=task.id, attempt=0, status="failed", error=message)
            return TaskResult(task.id, "failed", error=message)
        note: str | None = None
        failed: dict[str, Any] | None = None  # the step that failed, for a goal's re-plan
        why, by = "first try", "supervisor"
        attempts = 1 + max(0, task.retries)
        outcome = AttemptOutcome("failed", EXIT_FAILED)
        if isinstance(goal, str):
            from lam.agent import passwords_in  # lam do's own rule for passwords in a goal

            for password in passwords_in(goal):
                self.record.add_secret(password)
        for number in range(1, attempts + 1):
            attempt = attempt_for(
                self.mission, self.options, task, number=number, inputs=inputs, goal=goal,
                note=note, work_dir=self.record.attempts, failed_step=failed,
            )  # fmt: skip
            self._event(
                "attempt", task=task.id, attempt=number, decided_by=by, why=why,
                command=attempt.to_json(),
            )  # fmt: skip
            if self.stop.is_set():
                outcome = AttemptOutcome("killed", EXIT_KILLED, error=self.stop_reason)
                break
            running = self.launcher.start(attempt)
            with self.lock:
                self.running[task.id] = running
            if self.stop.is_set():
                running.stop()
            outcome = running.wait()
            # the step outputs and inputs stay in the child's record (linked, hashed); the
            # mission record keeps what the supervisor decided from, and the outputs event
            shown = {k: v for k, v in outcome.to_json().items() if k not in _IN_THE_RUN}
            self._event("result", task=task.id, attempt=number, **shown)
            if outcome.status not in ("failed", "timeout") or number == attempts:
                break
            if self.stop.is_set() or self.halted:
                break
            what = outcome.error or f"exit {outcome.exit_code}"
            if task.kind == "goal":
                note, failed, by = what, outcome.failed_proposal, "planner"
                why = f"re-plan from the goal with what failed: {what}"
                action = "re-plan"
            else:
                by = "supervisor"
                why = f"retry after: {what}" + (
                    " (the replay heals moved targets)" if task.kind == "recording" else ""
                )
                action = "retry"
            self._decision(task.id, action, why, attempt=number + 1)
        return self._task_result(task, outcome, number)

    def _task_result(self, task: Task, outcome: AttemptOutcome, attempts: int) -> TaskResult:
        status = {"ok": "ok", "held": "held", "killed": "killed"}.get(outcome.status, "failed")
        result = TaskResult(
            task.id, status, attempts, run_id=outcome.run_id, record=outcome.record,
            error=outcome.error, needs=tuple(f"{task.id}.{n}" for n in outcome.needs),
            unchecked=outcome.unchecked,
        )  # fmt: skip
        if status == "ok":
            try:
                result.outputs = task_outputs(task, outcome.inputs, outcome.step_outputs)
            except ExpressionError as exc:
                result.status, result.error = "failed", f"outputs: {exc}"
            self._event("outputs", task=task.id, outputs=result.outputs)
        return result

    # -- hand-offs: data only (lam.mission.handoff) ---------------------------------------

    def _succeeded(self) -> dict[str, dict[str, Any]]:
        return {k: r.outputs for k, r in self.results.items() if r.status == "ok"}

    # -- kill switch ------------------------------------------------------------------------

    def _pulled(self) -> bool:
        if self.stop.is_set():
            return True
        if self.signal is not None:
            return self._trip(f"signal {signal.Signals(self.signal).name}")
        project = (self.options.runs_dir or runs_root()).parent  # where the runs' .lam/KILL is
        for path in (self.record.directory / KILL_FILE, project / KILL_FILE):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= self.since - 1:
                    return self._trip(f"kill switch {path}")
        return False

    def _trip(self, reason: str) -> bool:
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()
            self._event("killed", reason=reason)
        return True

    def _stop_all(self) -> None:
        """Stop each running attempt once (an attempt started after the pull is stopped by
        its own thread, which sees the switch)."""
        with self.lock:
            running = [t for t in self.running.values() if id(t) not in self.stopped]
            self.stopped.update(id(t) for t in running)
        for task in running:
            with contextlib.suppress(Exception):
                task.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum  # only a flag: the scheduling loop acts on it within 50 ms

    # -- the record -------------------------------------------------------------------------

    def _event(self, event_type: str, /, **data: Any) -> None:
        event = self.record.event(event_type, **data)
        if self.on_event is not None:
            self.on_event(event)

    def _decision(self, task: str, action: str, why: str, **extra: Any) -> None:
        self._event("decision", task=task, action=action, by="supervisor", why=why, **extra)


class _Starting:
    """A placeholder while a task's thread has not started its child yet."""

    def wait(self) -> AttemptOutcome:  # pragma: no cover - never waited on
        return AttemptOutcome("killed", EXIT_KILLED)

    def stop(self) -> None:
        return None  # the thread sees the switch before it starts the child
