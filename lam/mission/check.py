"""A whole mission checked before anything runs, as ``lam validate`` checks one plan.

Each task's plan is validated with the validator ``lam validate`` uses
(:func:`lam.validation.validate_plan`): a ``workflow`` task's plan is the one
:func:`lam.export.arazzo_import.from_arazzo` makes of it (:func:`task_plan`), a ``plan`` or
``recording`` task's is its file. Every input a task reads must have a value (an operator's
``--input``, ``x-lam-inputs``, a default, or an upstream output); every step's policy verdict
is taken under the operator's policy, and the approvals a run would need are said up front as
``--approve TASK.STEP@DIGEST``. A goal task is planned only at run time: its apps or specs are
checked here, its steps when its agent proposes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_OK, DocumentError, LamError, UsageError
from lam.expressions import ExpressionError, walk_expressions
from lam.mission.load import load_mission
from lam.mission.model import Mission, MissionError, MissionOptions, Task
from lam.plans import raw_expressions, step_digest
from lam.policy import Policy
from lam.types import Verdict
from lam.validation import ValidationReport, validate_plan

__all__ = [
    "MissionProblem",
    "MissionReport",
    "TaskCheck",
    "check_mission",
    "mission_problems",
    "plan_with_notes",
    "task_plan",
]


@dataclass(frozen=True)
class MissionProblem:
    """One thing that keeps the mission from running: where it is and what."""

    message: str
    file: str
    location: str | None = None
    task: str | None = None
    code: str = "mission"

    def one_line(self) -> str:
        """``file: place: task 'T': message``, as every lam error prints."""
        parts = [p for p in (self.file, self.location) if p]
        if self.task:
            parts.append(f"task {self.task!r}")
        return ": ".join([*parts, " ".join(self.message.split())])

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "file": self.file, "path": self.location,
                "code": self.code, "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class TaskCheck:
    """What validation found for one task.

    ``approvals`` are the ``TASK.STEP@DIGEST`` a run needs and was not given; a step whose
    digest depends on an upstream output is listed as ``TASK.STEP`` with ``pending`` naming
    the tasks it waits for. ``denied`` are steps the policy refuses whatever is approved.
    """

    task: Task
    plan: Path | None = None
    report: ValidationReport | None = None
    errors: tuple[MissionProblem, ...] = ()
    approvals: tuple[str, ...] = ()
    pending: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    denied: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def held(self) -> bool:
        return bool(self.approvals or self.pending or self.denied)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task.id,
            "kind": self.task.kind,
            "plan": str(self.plan) if self.plan else None,
            "depends_on": list(self.task.depends_on),
            "errors": [e.to_json() for e in self.errors],
            "steps": [s.to_json() for s in self.report.steps] if self.report else [],
            "approvals": list(self.approvals),
            "pending": {k: list(v) for k, v in self.pending.items()},
            "denied": list(self.denied),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class MissionReport:
    """Every task's check. Exit 1 with any error, 3 when a step would be held, else 0."""

    mission: Mission
    tasks: tuple[TaskCheck, ...]

    @property
    def errors(self) -> tuple[MissionProblem, ...]:
        return tuple(e for t in self.tasks for e in t.errors)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def held(self) -> tuple[TaskCheck, ...]:
        return tuple(t for t in self.tasks if t.held)

    @property
    def approvals(self) -> tuple[str, ...]:
        """Every ``--approve TASK.STEP@DIGEST`` the run needs and was not given, in task order."""
        return tuple(a for t in self.tasks for a in t.approvals)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_FAILED
        return EXIT_BLOCKED if self.held else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "file": str(self.mission.file),
            "mission": self.mission.name,
            "order": [list(layer) for layer in self.mission.order()],
            "errors": [e.to_json() for e in self.errors],
            "tasks": [t.to_json() for t in self.tasks],
            "approvals": [f"--approve {a}" for a in self.approvals],
        }


def mission_problems(
    path: Path | str,
    *,
    policy: Policy | None = None,
    options: MissionOptions | None = None,
    folder: Path | None = None,
) -> list[MissionProblem]:
    """Every problem of the mission file at ``path`` (empty: it may run). A document that
    cannot be loaded is one problem, the first the loader met."""
    try:
        mission = load_mission(path)
    except DocumentError as exc:
        return [MissionProblem(exc.message, exc.file or str(path), exc.location, code=exc.code)]
    return list(check_mission(mission, policy=policy, options=options, folder=folder).errors)


def check_mission(
    mission: Mission,
    *,
    policy: Policy | None = None,
    options: MissionOptions | None = None,
    folder: Path | None = None,
    inputs_final: bool = True,
) -> MissionReport:
    """Validate every task of ``mission`` under ``policy``; nothing runs.

    ``folder`` receives the plans of ``workflow`` tasks (default: a new temporary folder).
    An ``--app``/``--api`` override naming nothing the mission uses is a usage error.
    ``inputs_final``: ``options.inputs`` are all the run will get, so an input without a value
    is an error; otherwise (``lam validate``, which takes no ``--input``) it is only a value
    not known yet, and a step whose digest covers it is ``pending``.
    """
    options = options or MissionOptions()
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="lam-mission-"))
    _refuse_stray_overrides(mission, options)
    checks = [
        _check_task(mission, task, policy, options, folder, inputs_final) for task in mission.tasks
    ]
    return MissionReport(mission, tuple(checks))


def task_plan(mission: Mission, task: Task, folder: Path | None = None) -> Path:
    """The plan file a task runs.

    A ``workflow`` task's plan is made by ``from_arazzo`` and written to
    ``folder/TASK.plan.json`` (default: a new temporary folder) with its spec paths relocated
    to ``folder``; a ``plan`` or ``recording`` task's is its own file. A goal has no plan
    before it runs (MissionError). Raises the DocumentError of a workflow ``from_arazzo``
    cannot read.
    """
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="lam-mission-"))
    return plan_with_notes(mission, task, folder)[0]


def plan_with_notes(mission: Mission, task: Task, folder: Path) -> tuple[Path, tuple[str, ...]]:
    """:func:`task_plan`, with notes on what of the workflow did not carry over into it."""
    if task.kind in ("plan", "recording") and task.source is not None:
        return task.source, ()
    if task.kind != "workflow":
        raise MissionError(
            f"task {task.id!r} is a goal: its steps are planned when it runs",
            file=str(mission.file),
            location=task.place,
        )
    from lam.export.arazzo_import import from_arazzo

    folder.mkdir(parents=True, exist_ok=True)
    document, notes = from_arazzo(
        mission.document,
        file=str(mission.file),
        workflow=task.id,
        base=mission.file.parent,
        out_dir=folder,
    )
    path = folder / f"{task.id}.plan.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path, tuple(notes)


def _check_task(
    mission: Mission,
    task: Task,
    policy: Policy | None,
    options: MissionOptions,
    folder: Path,
    inputs_final: bool,
) -> TaskCheck:
    file = str(mission.file)
    if task.kind == "goal":
        return TaskCheck(task, errors=tuple(_goal_problems(mission, task, options)),
                         notes=("planned at run time: a step that needs approval is held then",))  # fmt: skip
    try:
        plan_file, notes = plan_with_notes(mission, task, folder)
    except LamError as exc:
        return TaskCheck(task, errors=(_problem(exc, task, file),))
    apps = {**mission.apps, **options.apps}
    apis = {**mission.apis, **options.apis}
    try:
        report = validate_plan(
            plan_file,
            policy=policy,
            api_overrides=_declared(plan_file, "apis", apis),
            app_overrides=_declared(plan_file, "apps", apps),
        )
    except LamError as exc:
        return TaskCheck(task, plan_file, errors=(_problem(exc, task, str(plan_file)),))
    where = file if task.kind == "workflow" else str(plan_file)
    errors = [
        MissionProblem(e.message, where, _place(task, e.location), task.id, e.code)
        for e in report.errors
    ]
    if report.plan is None or errors:
        return TaskCheck(task, plan_file, report, tuple(errors), notes=notes)
    values, upstream, input_errors = _input_values(mission, task, report, options, inputs_final)
    errors += input_errors
    approvals: list[str] = []
    pending: dict[str, tuple[str, ...]] = {}
    denied: list[str] = []
    granted = options.approvals.get(task.id, frozenset())
    for step in report.steps:
        if step.verdict is Verdict.DENY:
            denied.append(f"{task.id}.{step.id} ({'; '.join(step.verdict_reasons)})")
            continue
        if step.verdict is not Verdict.APPROVE:
            continue
        raw = report.plan.document["steps"][report.plan.step(step.id).index]
        reads = {e.name for _, e in walk_expressions(raw_expressions(raw)) if e.source == "inputs"}
        waits = tuple(sorted({t for name in reads for t in upstream.get(name or "", ())}))
        if waits:
            if step.id not in granted:
                pending[f"{task.id}.{step.id}"] = waits
            continue
        digest = step_digest(report.plan, report.plan.step(step.id), values)
        if step.id not in granted and f"{step.id}@{digest}" not in granted:
            approvals.append(f"{task.id}.{step.id}@{digest}")
    return TaskCheck(task, plan_file, report, tuple(errors), tuple(approvals), pending,
                     tuple(denied), notes)  # fmt: skip


def _input_values(
    mission: Mission,
    task: Task,
    report: ValidationReport,
    options: MissionOptions,
    inputs_final: bool,
) -> tuple[dict[str, Any], dict[str, tuple[str, ...]], list[MissionProblem]]:
    """The inputs known before the run (for digests); the ones known only later, each with
    what supplies it (an upstream task, or ``--input NAME`` when ``inputs_final`` is false);
    and the inputs without a value or not declared by the plan."""
    from lam.runtime.inputs import coerce_input, input_problem

    assert report.plan is not None
    declared = report.plan.inputs
    file, place = str(mission.file), f"{task.place}.x-lam-inputs"
    problems: list[MissionProblem] = []
    values: dict[str, Any] = {}
    upstream: dict[str, tuple[str, ...]] = {}
    for name, value in task.inputs.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(MissionProblem(
                f"the {task.kind} has no input {name!r} (inputs: {known})",
                file, f"{place}.{name}", task.id, "unknown-input"))  # fmt: skip
            continue
        found = [e for _, e in walk_expressions([value])]
        if any(e.source == "workflows" for e in found):
            upstream[name] = tuple(sorted({e.step or "" for e in found if e.step}))
        elif found:  # only the mission's own --input values: known now
            missing = [e.name for e in found if e.name not in options.inputs]
            if missing and not inputs_final:
                upstream[name] = tuple(f"--input {m}" for m in missing)
                continue
            if missing:
                problems.append(MissionProblem(
                    f"$inputs.{missing[0]}: the mission needs --input {missing[0]}=VALUE",
                    file, f"{place}.{name}", task.id, "missing-input"))  # fmt: skip
                continue
            try:
                values[name] = coerce_input(name, _mission_input(value, options), declared[name])
            except (UsageError, ExpressionError) as exc:
                problems.append(MissionProblem(
                    str(exc), file, f"{place}.{name}", task.id, "bad-input"))  # fmt: skip
        else:
            values[name] = value
    for name, schema in declared.items():
        if name in upstream:
            continue
        try:
            # x-lam-inputs wins over --input, as the supervisor hands them in
            if name in values:
                values[name] = coerce_input(name, values[name], schema)
            elif name in options.inputs:
                values[name] = coerce_input(name, options.inputs[name], schema)
            elif "default" in schema:
                values[name] = schema["default"]
        except UsageError as exc:
            problems.append(_problem(exc, task, file))
            continue
        if name not in values and not inputs_final:
            upstream[name] = (f"--input {name}",)
            continue
        if name not in values:
            problems.append(MissionProblem(
                f"input {name!r} has no value: pass --input {name}=VALUE, or give it in "
                "x-lam-inputs or a default", file, place, task.id, "missing-input"))  # fmt: skip
            continue
        problem = input_problem(values[name], schema)
        if problem is not None:
            problems.append(MissionProblem(
                f"input {name!r}: {problem}", file, place, task.id, "bad-input"))  # fmt: skip
    return values, upstream, problems


def _mission_input(value: Any, options: MissionOptions) -> Any:
    """A task input made only of ``$inputs.NAME`` parts, filled in from ``--input``."""
    from lam.expressions import Context, resolve_value

    def no_secret(name: str) -> str:
        raise ExpressionError(f"$secrets.{name}: not readable here")

    return resolve_value(value, Context(inputs=options.inputs, outputs={}, secret=no_secret))


def _goal_problems(mission: Mission, task: Task, options: MissionOptions) -> list[MissionProblem]:
    """A goal's apps have a URL; an api goal's specs load."""
    from lam.spec import load_spec

    problems: list[MissionProblem] = []
    file = str(mission.file)
    if task.agent == "ui":
        apps = {**mission.apps, **options.apps}
        for i, name in enumerate(task.allowed):
            if name not in apps:
                problems.append(MissionProblem(
                    f"app {name!r} has no URL: give it in x-lam.apps or --app {name}=URL",
                    file, f"{task.place}.x-lam-apps[{i}]", task.id, "no-url"))  # fmt: skip
        return problems
    sources = {
        str(s.get("name")): str(s.get("url", ""))
        for s in mission.document.get("sourceDescriptions") or []
        if isinstance(s, Mapping)
    }
    for i, name in enumerate(task.allowed):
        if name not in sources:
            continue  # only a base URL in x-lam.apis: the agent reads the spec from the API
        try:
            load_spec(sources[name], relative_to=mission.file.parent)
        except LamError as exc:
            problems.append(MissionProblem(
                exc.one_line(), file, f"{task.place}.x-lam-apis[{i}]", task.id, exc.code))  # fmt: skip
    return problems


def _declared(plan_file: Path, kind: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The overrides naming an app or api this plan declares (the others move other tasks)."""
    from lam.documents import load_document

    try:
        document = load_document(plan_file)
    except DocumentError:
        return {}
    declared = document.get(kind) if isinstance(document, Mapping) else None
    return {k: v for k, v in overrides.items() if isinstance(declared, Mapping) and k in declared}


def _refuse_stray_overrides(mission: Mission, options: MissionOptions) -> None:
    """An ``--app``/``--api`` naming nothing of the mission would move nothing: usage error."""
    sources = {
        str(s.get("name"))
        for s in mission.document.get("sourceDescriptions") or []
        if isinstance(s, Mapping)
    }
    named: dict[str, set[str]] = {"apps": set(mission.apps), "apis": set(mission.apis) | sources}
    for task in mission.tasks:
        if task.kind == "goal":
            named["apps" if task.agent == "ui" else "apis"].update(task.allowed)
        elif task.source is not None:
            from lam.documents import load_document

            try:
                document = load_document(task.source)
            except DocumentError:
                continue
            for kind in ("apps", "apis"):
                if isinstance(document, Mapping) and isinstance(document.get(kind), Mapping):
                    named[kind].update(document[kind])
    for option, given, kind in (("--app", options.apps, "apps"), ("--api", options.apis, "apis")):
        for name in sorted(set(given) - named[kind]):
            known = ", ".join(sorted(named[kind])) or "none"
            raise UsageError(f"{option} {name}: no task of the mission uses {kind[:-1]} "
                             f"{name!r} ({kind}: {known})", code="usage")  # fmt: skip


def _place(task: Task, location: str | None) -> str:
    """A plan problem's place, under the task when the plan was made from the workflow."""
    if task.kind != "workflow":
        return location or ""
    return f"{task.place} (as a plan: {location})" if location else task.place


def _problem(exc: LamError, task: Task, file: str) -> MissionProblem:
    return MissionProblem(exc.message, exc.file or file, exc.location, task.id, exc.code)
