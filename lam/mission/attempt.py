"""What one attempt of a mission task runs: the :class:`~lam.mission.launch.TaskAttempt` the
supervisor hands to a launcher, built from the mission, the operator's options and the task.

Only the operator's options give an attempt its approvals (this task's alone), policy, runs
folder and dry-run mode; the upstream tasks give it nothing but ``inputs`` (plain JSON values,
resolved by :mod:`lam.mission.handoff`) and, for a goal, the goal's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lam.mission.launch import AttemptKind, TaskAttempt
from lam.mission.model import Mission, MissionOptions, Task
from lam.runtime.record import runs_root

__all__ = ["attempt_for", "spec_path"]


def attempt_for(
    mission: Mission,
    options: MissionOptions,
    task: Task,
    *,
    number: int,
    inputs: dict[str, Any],
    goal: Any,
    note: str | None,
    work_dir: Path,
    failed_step: Mapping[str, Any] | None = None,
) -> TaskAttempt:
    """Attempt ``number`` of ``task``: its command, result and log files in ``work_dir`` (the
    mission record's attempts folder; a workflow task's plan is written under it too, so the
    plan a task ran stays with the record). ``note`` is what failed before, for a goal, and
    ``failed_step`` the step that failed, as the previous attempt's agent proposed it."""
    apps = {**mission.apps, **options.apps}
    apis = {**mission.apis, **options.apis}
    common: dict[str, Any] = {
        "task": task.id,
        "attempt": number,
        "work_dir": str(work_dir),
        "runs_dir": str((options.runs_dir or runs_root()).resolve()),
        "inputs": inputs,
        "approvals": tuple(sorted(options.approvals.get(task.id, ()))),
        "dry_run": options.dry_run,
        "policy": str(options.policy) if options.policy else None,
        "max_steps": task.max_steps,
        "timeout": task.timeout,
    }
    if task.kind == "goal":
        target = task.allowed[0] if task.allowed else None
        return TaskAttempt(
            kind="do", goal=str(goal), agent=task.agent, note=note, failed_step=failed_step,
            planner=options.planner,
            app_url=apps.get(target) if task.agent == "ui" and target else None,
            api_spec=spec_path(mission, target) if task.agent == "api" and target else None,
            api_url=apis.get(target) if task.agent == "api" and target else None,
            **common,
        )  # fmt: skip
    if task.kind == "workflow":
        from lam.mission.check import task_plan  # the plan from_arazzo made of the workflow

        source = Path(task_plan(mission, task, work_dir / "plans"))
    else:
        source = Path(task.source or "")
    kind: AttemptKind = "replay" if task.kind == "recording" else "run"
    return TaskAttempt(kind=kind, source=str(source.resolve()), apps=apps, apis=apis, **common)


def spec_path(mission: Mission, name: str) -> str | None:
    """The OpenAPI document the mission's ``sourceDescriptions`` entry ``name`` names: its URL,
    or its path resolved from the mission file's folder; None when there is no such entry."""
    for source in mission.document.get("sourceDescriptions") or ():
        if isinstance(source, Mapping) and source.get("name") == name:
            url = str(source.get("url", ""))
            if url.startswith(("http://", "https://")):
                return url
            return str((Path(mission.file).parent / url).resolve())
    return None
