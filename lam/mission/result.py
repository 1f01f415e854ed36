"""How a mission ended: each task's :class:`TaskResult`, the :class:`MissionResult`, and the
one rule that turns the tasks' statuses into the mission's status and exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_KILLED, EXIT_OK

__all__ = ["MissionResult", "TaskResult", "mission_outcome"]


@dataclass
class TaskResult:
    """How one task ended: ``ok``, ``failed``, ``held``, ``killed``, ``blocked`` (a task it
    depends on did not succeed) or ``skipped`` (the mission stopped first)."""

    id: str
    status: str
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    record: str | None = None
    error: str | None = None
    needs: tuple[str, ...] = ()  # TASK.STEP@DIGEST approvals a held task asks for
    unchecked: tuple[str, ...] = ()  # a dry run's checks its sandbox could not make

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.id, "status": self.status, "attempts": self.attempts,
            "outputs": self.outputs, "run": self.run_id, "record": self.record,
            "error": self.error, "needs": list(self.needs), "unchecked": list(self.unchecked),
        }  # fmt: skip


@dataclass
class MissionResult:
    """How the whole mission ended; ``directory`` is its mission record."""

    mission_id: str
    directory: Path
    status: str  # ok | failed | held | killed
    exit_code: int
    tasks: dict[str, TaskResult]

    def to_json(self) -> dict[str, Any]:
        return {
            "mission": self.mission_id, "record": str(self.directory), "status": self.status,
            "exit": self.exit_code, "tasks": [t.to_json() for t in self.tasks.values()],
        }  # fmt: skip


def mission_outcome(results: Iterable[TaskResult], *, killed: bool) -> tuple[str, int]:
    """The mission's status and exit code: killed (4) before failed (1) before held (3)."""
    statuses = {r.status for r in results}
    if killed or "killed" in statuses:
        return "killed", EXIT_KILLED
    if "failed" in statuses:
        return "failed", EXIT_FAILED
    if "held" in statuses:
        return "held", EXIT_BLOCKED
    return "ok", EXIT_OK
