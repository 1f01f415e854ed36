"""The values a mission is made of: tasks, the mission, the options of one mission run.

A mission is one Arazzo 1.0 document; each workflow is a :class:`Task`. What Arazzo lacks
(plans, recordings, goals, budgets) comes from ``x-lam-`` fields, so an Arazzo document is a
mission as it stands. These are plain frozen values: the loader builds them, the checker and
the supervisor read them, and nothing here touches a file, a process or a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
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
        return self._by_id[task_id]

    @cached_property
    def _by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    @cached_property
    def _users(self) -> dict[str, tuple[str, ...]]:
        """Task id -> the tasks that name it in ``dependsOn``, in document order."""
        users: dict[str, list[str]] = {}
        for t in self.tasks:
            for dep in dict.fromkeys(t.depends_on):
                users.setdefault(dep, []).append(t.id)
        return {k: tuple(v) for k, v in users.items()}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks)

    def order(self) -> tuple[tuple[str, ...], ...]:
        """The tasks in topological layers: each layer depends only on earlier layers.

        Tasks of one layer may run in parallel. The loader has refused cycles, so every task
        is in exactly one layer; within a layer, document order.
        """
        waiting = {t.id: len(set(t.depends_on)) for t in self.tasks}
        users = self._users
        position = {t.id: t.index for t in self.tasks}
        layer = [t.id for t in self.tasks if waiting[t.id] == 0]
        layers: list[tuple[str, ...]] = []
        while layer:
            layers.append(tuple(layer))
            ready = []
            for done in layer:
                for user in users.get(done, ()):
                    waiting[user] -= 1
                    if waiting[user] == 0:
                        ready.append(user)
            layer = sorted(ready, key=position.__getitem__)
        if sum(map(len, layers)) != len(self.tasks):  # load_mission refuses cycles: a bug
            raise MissionError("the tasks depend on each other in a cycle", file=str(self.file))
        return tuple(layers)

    def only(self, task_ids: Sequence[str]) -> Mission:
        """The mission cut down to ``task_ids`` and every task they depend on (``--task``);
        KeyError naming the first id that is not a task."""
        keep = set()
        for task_id in task_ids:
            keep |= {task_id, *self.ancestors(task_id)}  # KeyError for an unknown id
        return replace(self, tasks=tuple(t for t in self.tasks if t.id in keep))

    def dependents(self, task_id: str) -> tuple[str, ...]:
        """Every task that depends on ``task_id`` directly or through others, in document order."""
        found = _reach(task_id, lambda name: self._users.get(name, ()))
        return tuple(t.id for t in self.tasks if t.id in found)

    def ancestors(self, task_id: str) -> frozenset[str]:
        """Every task ``task_id`` depends on, directly or through others."""
        return frozenset(_reach(task_id, lambda name: self._by_id[name].depends_on))


def _reach(start: str, edges: Callable[[str], Sequence[str]]) -> set[str]:
    """Every node reachable from ``start`` (not itself, unless on a cycle): one walk, each
    node once, so a chain of thousands of tasks costs thousands of steps."""
    found: set[str] = set()
    stack = list(edges(start))
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(edges(name))
    return found


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
    planner: Literal["embedded", "llm"] = "embedded"  # for goal tasks, as lam do --planner
    address: str | None = None
