"""The values a mission is made of: tasks, the mission, the options of one mission run.

A mission is one Arazzo 1.0 document; each workflow is a :class:`Task`. What Arazzo lacks
(plans, recordings, goals, budgets) comes from ``x-lam-`` fields, so an Arazzo document is a
mission as it stands. These are plain frozen values: the loader builds them, the checker and
the supervisor read them, and nothing here touches a file, a process or a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lam.errors import DocumentError

__all__ = [
    "Mission",
    "MissionError",
    "MissionOptions",
    "OnFailure",
    "Task",
    "TaskKind",
]

TaskKind = Literal["workflow", "plan", "recording", "goal"]
OnFailure = Literal["stop", "continue"]


class MissionError(DocumentError):
    """A mission document that cannot be run as written (exit 1, one line: file, place, what).

    A cycle in ``dependsOn``, an unknown task, an expression naming a task that is not a
    dependency, a task with no kind or two, a missing plan or recording file.
    """


@dataclass(frozen=True)
class Task:
    """One workflow of the mission document, and how it is to be run.

    ``kind`` says who runs it: ``workflow`` (Arazzo ``steps``, turned into a plan by
    :func:`lam.export.arazzo_import.from_arazzo`), ``plan`` (``x-lam-plan``, a path),
    ``recording`` (``x-lam-recording``, a path) or ``goal`` (``x-lam-goal``, planned by the
    ``x-lam-agent`` agent using only the apps or apis in ``allowed``).

    ``inputs`` are the values handed to the task's run as ``--input``; they may hold
    :class:`~lam.expressions.Expression` / :class:`~lam.expressions.Template` objects reading
    ``$workflows.NAME.outputs.X``, resolved by the supervisor once NAME has finished. For a
    ``workflow`` task the loader has already turned every ``$workflows`` expression inside its
    steps into such an input, so an upstream output reaches a task only as input data.
    ``place`` is where the task sits in the document (``workflows[3]``), for error lines.
    """

    id: str
    index: int
    kind: TaskKind
    place: str
    source: Path | None = None
    goal: Any = None  # str, or a Template when the goal names upstream outputs
    agent: Literal["ui", "api"] | None = None
    allowed: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    retries: int = 0
    max_steps: int | None = None
    timeout: float | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    # The inputs the task itself declares: an operator's --input NAME=VALUE goes to these.
    declared_inputs: tuple[str, ...] = ()

    @property
    def upstream(self) -> frozenset[str]:
        """The tasks whose outputs this task's inputs or goal read (``$workflows.X``)."""
        from lam.expressions import Expression, Template, walk_expressions

        found = {e.step for _, e in walk_expressions(dict(self.inputs)) if e.source == "workflows"}
        if isinstance(self.goal, Template | Expression):
            found |= {e.step for _, e in walk_expressions([self.goal]) if e.source == "workflows"}
        return frozenset(name for name in found if name)


@dataclass(frozen=True)
class Mission:
    """A loaded mission: its tasks in document order and the mission-wide ``x-lam`` settings."""

    name: str
    file: Path
    document: Mapping[str, Any]
    tasks: tuple[Task, ...]
    on_failure: OnFailure = "stop"
    apps: Mapping[str, str] = field(default_factory=dict)
    apis: Mapping[str, str] = field(default_factory=dict)

    def task(self, task_id: str) -> Task:
        """The task named ``task_id``; KeyError when there is none."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks)

    def order(self) -> tuple[tuple[str, ...], ...]:
        """The tasks in topological layers: each layer depends only on earlier layers.

        Tasks of one layer may run in parallel. The loader has refused cycles, so every task
        is in exactly one layer; within a layer, document order.
        """
        done: set[str] = set()
        layers: list[tuple[str, ...]] = []
        left = list(self.tasks)
        while left:
            layer = tuple(t.id for t in left if set(t.depends_on) <= done)
            if not layer:  # a cycle: load_mission refuses these, so this is a bug upstream
                raise MissionError("the tasks depend on each other in a cycle", file=str(self.file))
            layers.append(layer)
            done.update(layer)
            left = [t for t in left if t.id not in done]
        return tuple(layers)

    def dependents(self, task_id: str) -> tuple[str, ...]:
        """Every task that depends on ``task_id`` directly or through others, in document order."""
        found: set[str] = set()
        frontier = {task_id}
        while frontier:
            frontier = {
                t.id for t in self.tasks if set(t.depends_on) & frontier and t.id not in found
            }
            found |= frontier
        return tuple(t.id for t in self.tasks if t.id in found)

    def ancestors(self, task_id: str) -> frozenset[str]:
        """Every task ``task_id`` depends on, directly or through others."""
        found: set[str] = set()
        frontier = set(self.task(task_id).depends_on)
        while frontier:
            found |= frontier
            frontier = {d for name in frontier for d in self.task(name).depends_on} - found
        return frozenset(found)


@dataclass(frozen=True)
class MissionOptions:
    """How one mission run goes: what ``lam mission`` was told on its command line.

    ``approvals`` maps a task id to the ``STEP@DIGEST`` approvals its run may use; they come
    only from the operator's command line, never from a task's outputs. ``inputs`` go to every
    task that declares an input of that name. ``apps`` / ``apis`` override the mission's own.
    """

    policy: Path | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    approvals: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dry_run: bool = False
    apps: Mapping[str, str] = field(default_factory=dict)
    apis: Mapping[str, str] = field(default_factory=dict)
    runs_dir: Path | None = None
    missions_dir: Path | None = None
    engine: Literal["local", "ray"] = "local"
    address: str | None = None
    json: bool = False
