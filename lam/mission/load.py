"""Reading a mission: an Arazzo 1.0 document whose workflows are tasks.

Each workflow is one task of one kind: ``steps`` (an Arazzo workflow, run as a plan),
``x-lam-plan`` (a plan file), ``x-lam-recording`` (a recording file) or ``x-lam-goal`` (a goal
for the ``x-lam-agent`` agent, using only its ``x-lam-apps`` / ``x-lam-apis``). ``dependsOn``
orders them; ``$workflows.NAME.outputs.X`` hands one task's outputs to another.

Everything that can be known from the document alone is checked here, before anything runs,
and each problem is a :class:`~lam.mission.model.MissionError` naming the file and the place:
a cycle (named), an unknown task, an expression naming a task that is not a dependency, a task
with no kind or two, a missing file, an unknown agent. Plans, specs and policy verdicts are
checked by :mod:`lam.mission.check`.

Hand-offs are data by construction: inside a workflow task's steps every
``$workflows.NAME.outputs.X`` is rewritten to ``$inputs.NAME__X`` and declared as an input of
that workflow, so an upstream output reaches a task only as an input value of its own plan.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from lam.documents import MAX_DOCUMENT_BYTES, load_document, parse_text
from lam.errors import DocumentError
from lam.expressions import Expression, ExpressionError, Template, parse_value, walk_expressions
from lam.limits import DOCUMENT_LIMITS, Limits
from lam.mission.model import Mission, MissionError, OnFailure, Task, TaskKind
from lam.plans import did_you_mean

__all__ = [
    "MAX_RETRIES",
    "build_mission",
    "handoff_input",
    "is_mission",
    "load_mission",
    "mission_from_text",
]

MAX_RETRIES = 10
"""``x-lam-retries`` above this is refused: a task that failed ten times will not pass next."""

_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
_KINDS: tuple[tuple[str, TaskKind], ...] = (
    ("steps", "workflow"),
    ("x-lam-plan", "plan"),
    ("x-lam-recording", "recording"),
    ("x-lam-goal", "goal"),
)
_TASK_EXTENSIONS = frozenset(
    {"x-lam-plan", "x-lam-recording", "x-lam-goal", "x-lam-agent", "x-lam-apps", "x-lam-apis",
     "x-lam-inputs", "x-lam-retries", "x-lam-budget"}
)  # fmt: skip
_MISSION_KEYS = frozenset({"on_failure", "apps", "apis"})
_AGENTS = ("ui", "api")
# $workflows.NAME.outputs.X inside any string of a workflow's steps (whole value or {...} part)
_HANDOFF = re.compile(r"\$workflows\.([A-Za-z0-9_\-]+)\.outputs\.([A-Za-z0-9_\-]+)")


def handoff_input(task: str, output: str) -> str:
    """The input name a workflow task's plan reads ``$workflows.TASK.outputs.OUTPUT`` as."""
    return f"{task}__{output}"


def is_mission(path: Path | str) -> bool:
    """Whether ``path`` is a mission: a readable YAML/JSON Arazzo document (``arazzo: 1.x``
    with ``workflows``). Never raises: anything else (a plan, a broken file) is not one, and
    the command that was given it reports that in its own words."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json") or not path.is_file():
        return False
    try:
        with path.open("rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError:
        return False
    if b"arazzo" not in data:  # cheap: a plan of many megabytes is not parsed twice
        return False
    try:
        document = load_document(path)
    except DocumentError:
        return False
    return _is_arazzo(document)


def _is_arazzo(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and str(document.get("arazzo", "")).startswith("1.")
        and "workflows" in document
    )


def load_mission(path: Path | str, *, limits: Limits = DOCUMENT_LIMITS) -> Mission:
    """Read and check a mission document; the first problem is a :class:`MissionError`."""
    path = Path(path)
    document = load_document(path, error=MissionError, limits=limits)
    return build_mission(document, path)


def mission_from_text(text: str, *, path: Path | str) -> Mission:
    """A mission from its text (tests, generated missions); ``path`` places relative files."""
    path = Path(path)
    return build_mission(parse_text(text, name=str(path), error=MissionError), path)


def build_mission(document: Any, path: Path) -> Mission:
    """A parsed mission document checked and turned into a :class:`Mission`."""
    where = _Where(str(path))
    if not _is_arazzo(document):
        raise where.error(
            "not a mission: a mission is an Arazzo 1.x document ('arazzo: 1.0.1' and 'workflows')",
            "arazzo",
        )
    document = copy.deepcopy(dict(document))  # rewritten hand-offs must not touch the caller's
    on_failure, apps, apis = _mission_settings(document.get("x-lam"), where)
    flows = document.get("workflows")
    if not isinstance(flows, list) or not flows:
        raise where.error("a mission needs at least one workflow (a task)", "workflows")
    ids = _task_ids(flows, where)
    sources = _source_names(document)
    tasks = [
        _task(flow, i, ids, document, path.parent, apps, {**sources, **apis}, where)
        for i, flow in enumerate(flows)
    ]
    _refuse_cycles(tasks, where)
    tasks = [_with_plan_inputs(t, document, path) if t.kind == "workflow" else t for t in tasks]
    info = document.get("info")
    name = str(info.get("title")) if isinstance(info, Mapping) and info.get("title") else path.stem
    mission = Mission(
        name=name,
        file=path,
        document=document,
        tasks=tuple(tasks),
        on_failure=on_failure,
        apps=apps,
        apis=apis,
    )
    _check_handoffs(mission, where)
    return mission


class _Where:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, message: str, location: str, code: str = "mission") -> MissionError:
        return MissionError(message, file=self.file, location=location, code=code)


def _mission_settings(raw: Any, where: _Where) -> tuple[OnFailure, dict[str, str], dict[str, str]]:
    if raw is None:
        return "stop", {}, {}
    if not isinstance(raw, Mapping):
        raise where.error("x-lam must be a mapping (on_failure, apps, apis)", "x-lam")
    _unknown_keys(raw, _MISSION_KEYS, "x-lam", where)
    on_failure = raw.get("on_failure", "stop")
    if on_failure not in ("stop", "continue"):
        raise where.error(
            f"on_failure is {on_failure!r}: it must be stop or continue", "x-lam.on_failure"
        )
    urls: list[dict[str, str]] = []
    for key in ("apps", "apis"):
        value = raw.get(key) or {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise where.error(f"{key} must map names to URLs", f"x-lam.{key}")
        for name, url in value.items():
            if not url.startswith(("http://", "https://")):
                raise where.error(f"{url[:80]!r} is not an http(s) URL", f"x-lam.{key}.{name}")
        urls.append(dict(value))
    return cast(OnFailure, on_failure), urls[0], urls[1]


def _source_names(document: Mapping[str, Any]) -> dict[str, str]:
    """The OpenAPI source descriptions by name (their url), the apis an api goal may use."""
    found: dict[str, str] = {}
    for source in document.get("sourceDescriptions") or []:
        if (
            isinstance(source, Mapping)
            and source.get("type", "openapi") == "openapi"
            and isinstance(source.get("name"), str)
        ):
            found[source["name"]] = str(source.get("url", ""))
    return found


def _task_ids(flows: Sequence[Any], where: _Where) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i, flow in enumerate(flows):
        place = f"workflows[{i}]"
        if not isinstance(flow, Mapping):
            raise where.error("a workflow must be a mapping", place)
        task_id = flow.get("workflowId")
        if not isinstance(task_id, str) or not _ID.match(task_id):
            raise where.error(
                "a workflow needs a workflowId of letters, digits, '_' and '-'",
                f"{place}.workflowId",
            )
        if task_id in ids:
            raise where.error(
                f"workflowId {task_id!r} is also workflows[{ids[task_id]}]: ids must be unique",
                f"{place}.workflowId",
            )
        ids[task_id] = i
    return ids


def _task(
    flow: dict[str, Any],
    index: int,
    ids: Mapping[str, int],
    document: dict[str, Any],
    base: Path,
    apps: Mapping[str, str],
    apis: Mapping[str, str],
    where: _Where,
) -> Task:
    place = f"workflows[{index}]"
    task_id = str(flow["workflowId"])
    unknown = sorted(k for k in flow if str(k).startswith("x-lam") and k not in _TASK_EXTENSIONS)
    if unknown:
        raise where.error(f"unknown key {unknown[0]!r}" + did_you_mean(unknown[0],
                          sorted(_TASK_EXTENSIONS)), f"{place}.{unknown[0]}")  # fmt: skip
    kinds = [(key, kind) for key, kind in _KINDS if key in flow]
    if len(kinds) != 1:
        given = ", ".join(key for key, _ in kinds)
        what = f"has {len(kinds)} kinds ({given})" if kinds else "has no kind"
        raise where.error(
            f"task {task_id!r} {what}: give exactly one of steps, x-lam-plan, "
            "x-lam-recording or x-lam-goal",
            place,
            "task-kind",
        )
    key, kind = kinds[0]
    depends_on = _depends_on(flow.get("dependsOn"), ids, task_id, place, where)
    inputs = _parse(flow.get("x-lam-inputs") or {}, f"{place}.x-lam-inputs", where, mission=True)
    if not isinstance(inputs, Mapping):
        raise where.error("x-lam-inputs must map input names to values", f"{place}.x-lam-inputs")
    source: Path | None = None
    goal: Any = None
    agent: Any = None
    allowed: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()
    if kind in ("plan", "recording"):
        source, declared = _task_file(flow[key], base, f"{place}.{key}", kind, where)
    elif kind == "goal":
        goal, agent, allowed = _goal(flow, place, apps, apis, where)
    else:
        declared, handoffs = _workflow_handoffs(flow, document, place, where)
        inputs = {**handoffs, **inputs}
    for other in ("x-lam-apps", "x-lam-apis", "x-lam-agent"):
        if other in flow and kind != "goal":
            raise where.error(f"{other} goes with x-lam-goal (a {kind} task)", f"{place}.{other}")
    retries = flow.get("x-lam-retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise where.error(
            f"x-lam-retries must be a whole number from 0 to {MAX_RETRIES}",
            f"{place}.x-lam-retries",
        )
    max_steps, timeout = _budget(flow.get("x-lam-budget"), f"{place}.x-lam-budget", where)
    raw_outputs = flow.get("outputs") or {}
    if not isinstance(raw_outputs, Mapping):
        raise where.error("outputs must map names to expressions", f"{place}.outputs")
    outputs = {
        str(k): _parse(v, f"{place}.outputs.{str(k)[:80]}", where, mission=False)
        for k, v in raw_outputs.items()
    }
    return Task(
        id=task_id,
        index=index,
        kind=kind,
        place=place,
        source=source,
        goal=goal,
        agent=agent,
        allowed=allowed,
        inputs=dict(inputs),
        depends_on=depends_on,
        retries=retries,
        max_steps=max_steps,
        timeout=timeout,
        outputs=dict(outputs),
        declared_inputs=tuple(dict.fromkeys([*declared, *inputs])),
    )


def _depends_on(
    raw: Any, ids: Mapping[str, int], task_id: str, place: str, where: _Where
) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
        raise where.error("dependsOn must be a list of workflowIds", f"{place}.dependsOn")
    for i, name in enumerate(raw):
        at = f"{place}.dependsOn[{i}]"
        if name.startswith("$sourceDescriptions."):
            raise where.error(
                f"{name}: a workflow of another document cannot be a task of this mission", at
            )
        if name == task_id:
            raise where.error(f"task {task_id!r} depends on itself", at, "cycle")
        if name not in ids:
            raise where.error(
                f"no task named {name!r}" + did_you_mean(name, list(ids)), at, "unknown-task"
            )
    return tuple(dict.fromkeys(raw))


def _task_file(
    raw: Any, base: Path, place: str, kind: str, where: _Where
) -> tuple[Path, tuple[str, ...]]:
    if not isinstance(raw, str) or not raw.strip():
        raise where.error(f"the {kind} must be a path", place)
    path = Path(raw) if Path(raw).is_absolute() else base / raw
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise where.error(f"{kind} file {raw!r} {what} (looked at {path})", place, "not-found")
    try:  # only its inputs; the file's own problems are lam.mission.check's to report in full
        document = load_document(path)
    except DocumentError:
        return path, ()
    declared = document.get("inputs") if isinstance(document, Mapping) else None
    return path, tuple(str(k) for k in declared) if isinstance(declared, Mapping) else ()


def _goal(
    flow: Mapping[str, Any],
    place: str,
    apps: Mapping[str, str],
    apis: Mapping[str, str],
    where: _Where,
) -> tuple[Any, str, tuple[str, ...]]:
    text = flow["x-lam-goal"]
    if not isinstance(text, str) or not text.strip():
        raise where.error("x-lam-goal must be the goal in words", f"{place}.x-lam-goal")
    parsed = "{$" in text or text.startswith("$")
    goal = _parse(text, f"{place}.x-lam-goal", where, mission=True) if parsed else text
    if isinstance(goal, Expression):  # a whole "$workflows..." goal: words come from upstream
        raise where.error(
            "x-lam-goal must be words, not only an expression: another task's output is "
            "data inside a goal, never the goal itself",
            f"{place}.x-lam-goal",
        )
    agent = flow.get("x-lam-agent")
    if agent not in _AGENTS:
        raise where.error(
            f"unknown agent {agent!r}: x-lam-agent is ui or api" if agent is not None
            else "a goal needs x-lam-agent: ui or api",
            f"{place}.x-lam-agent",
            "unknown-agent",
        )  # fmt: skip
    key, known, kind = ("x-lam-apps", apps, "app") if agent == "ui" else ("x-lam-apis", apis, "api")
    wrong = "x-lam-apis" if agent == "ui" else "x-lam-apps"
    if wrong in flow:
        raise where.error(f"a {agent} agent uses {key}, not {wrong}", f"{place}.{wrong}")
    allowed = flow.get(key)
    if not isinstance(allowed, list) or not allowed or not all(isinstance(a, str) for a in allowed):
        raise where.error(f"a {agent} goal needs {key}: a list of {kind} names", f"{place}.{key}")
    for i, name in enumerate(allowed):
        if name not in known:
            where_known = "x-lam.apps" if agent == "ui" else "sourceDescriptions or x-lam.apis"
            raise where.error(
                f"no {kind} named {name!r} in {where_known}" + did_you_mean(name, list(known)),
                f"{place}.{key}[{i}]",
            )
    return goal, str(agent), tuple(dict.fromkeys(allowed))


def _budget(raw: Any, place: str, where: _Where) -> tuple[int | None, float | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, Mapping):
        raise where.error("x-lam-budget must be a mapping (max_steps, timeout)", place)
    _unknown_keys(raw, frozenset({"max_steps", "timeout"}), place, where)
    max_steps = raw.get("max_steps")
    if max_steps is not None and (
        isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1
    ):
        raise where.error("max_steps must be a whole number of at least 1", f"{place}.max_steps")
    timeout = raw.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise where.error("timeout must be a positive number of seconds", f"{place}.timeout")
    return max_steps, float(timeout) if timeout is not None else None


def _workflow_handoffs(
    flow: dict[str, Any], document: Mapping[str, Any], place: str, where: _Where
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A workflow task's declared inputs, and its ``$workflows`` hand-offs turned into inputs.

    The steps are rewritten in place (``flow`` is the loader's own copy): each
    ``$workflows.T.outputs.X`` becomes ``$inputs.T__X`` and ``T__X`` is declared as a string
    or any-typed input, so the plan ``from_arazzo`` makes of it reads the value as an input.
    """
    handoffs: dict[str, Any] = {}

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):

            def swap(match: re.Match[str]) -> str:
                name = handoff_input(match.group(1), match.group(2))
                handoffs[name] = Expression.parse(match.group(0), workflows=True)
                return f"$inputs.{name}"

            return _HANDOFF.sub(swap, value)
        if isinstance(value, Mapping):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    flow["steps"] = rewrite(flow.get("steps"))
    raw_inputs = flow.get("inputs")
    if isinstance(raw_inputs, Mapping) and "$ref" in raw_inputs:
        raw_inputs = _ref(document, str(raw_inputs["$ref"]))
    properties = raw_inputs.get("properties") if isinstance(raw_inputs, Mapping) else None
    declared = tuple(str(k) for k in properties) if isinstance(properties, Mapping) else ()
    if handoffs:
        schema: dict[str, Any] = (
            dict(raw_inputs) if isinstance(raw_inputs, Mapping) else {"type": "object"}
        )
        props = dict(schema.get("properties") or {})
        for name in handoffs:
            if name in props:
                raise where.error(
                    f"input {name!r} is also the name lam gives a hand-off; rename it",
                    f"{place}.inputs",
                )
            props[name] = {}  # any value: the upstream task's output, checked by the plan's use
        flow["inputs"] = {**schema, "properties": props}
    return declared, handoffs


def _with_plan_inputs(task: Task, document: Mapping[str, Any], path: Path) -> Task:
    """A workflow task whose declared inputs are those of the plan ``from_arazzo`` makes of
    it: an inlined sub-workflow's inputs (or a ``components`` input) are the plan's too, and
    an operator's ``--input`` must reach them. A workflow ``from_arazzo`` refuses keeps its
    own; the checker reports why."""
    from lam.errors import LamError
    from lam.export.arazzo_import import from_arazzo

    try:
        plan, _ = from_arazzo(document, file=str(path), workflow=task.id)
    except LamError:
        return task
    names = plan.get("inputs") if isinstance(plan, Mapping) else None
    if not isinstance(names, Mapping):
        return task
    declared = tuple(dict.fromkeys([*task.declared_inputs, *map(str, names)]))
    return dataclasses.replace(task, declared_inputs=declared)


def _ref(document: Mapping[str, Any], ref: str) -> Any:
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target.get(part) if isinstance(target, Mapping) else None
    return target


def _parse(value: Any, place: str, where: _Where, *, mission: bool) -> Any:
    try:
        return parse_value(value, workflows=mission)
    except ExpressionError as exc:
        raise where.error(str(exc), place, "expression") from None


def _refuse_cycles(tasks: Sequence[Task], where: _Where) -> None:
    """Refuse a cycle in ``dependsOn``, naming it (``a -> c -> b -> a``).

    A depth-first walk with its own stack: a chain of thousands of tasks is no recursion.
    """
    by_id = {t.id: t for t in tasks}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in tasks:
        if root.id in state:
            continue
        path: list[str] = [root.id]
        stack = [iter(root.depends_on)]
        state[root.id] = 1
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                stack.pop()
                state[path.pop()] = 2
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                first = by_id[cycle[0]]
                shown = cycle if len(cycle) <= 12 else [*cycle[:6], "...", *cycle[-4:]]
                more = f" ({len(cycle) - 1} tasks)" if len(cycle) > 12 else ""
                raise where.error(
                    "dependency cycle: " + " -> ".join(shown) + more,
                    f"{first.place}.dependsOn",
                    "cycle",
                )
            if dep not in state:
                state[dep] = 1
                path.append(dep)
                stack.append(iter(by_id[dep].depends_on))


def _check_handoffs(mission: Mission, where: _Where) -> None:
    """Every ``$workflows.T.outputs.X`` names a task this one depends on, and an output of it."""
    bit = {t.id: 1 << t.index for t in mission.tasks}
    below: dict[str, int] = {}  # task -> its ancestors as a bit set, built layer by layer
    for layer in mission.order():
        for name in layer:
            deps = mission.task(name).depends_on
            below[name] = 0
            for dep in deps:
                below[name] |= below[dep] | bit[dep]
    for task in mission.tasks:
        found = walk_expressions(dict(task.inputs), f"{task.place}.x-lam-inputs")
        if isinstance(task.goal, Template):
            found += walk_expressions([task.goal], f"{task.place}.x-lam-goal")
        for at, expr in found:
            at = at.replace("x-lam-goal[0]", "x-lam-goal")
            if expr.source == "inputs":
                continue  # the mission's own --input NAME=VALUE
            if expr.source != "workflows":
                raise where.error(
                    f"{expr.text}: a task's inputs and goal read only $workflows.TASK.outputs.NAME"
                    " (another task's output) or $inputs.NAME (the mission's --input)",
                    at,
                    "expression",
                )
            if task.kind == "workflow" and at.endswith(
                "." + handoff_input(expr.step or "", expr.name or "")
            ):
                at = f"{task.place}.steps"  # found in the steps, made an input by the loader
            name = expr.step or ""
            if name not in mission.ids:
                raise where.error(
                    f"{expr.text}: no task named {name!r}" + did_you_mean(name, mission.ids),
                    at,
                    "unknown-task",
                )
            if not below[task.id] & bit[name]:
                raise where.error(
                    f"{expr.text}: task {task.id!r} does not depend on {name!r}; add it to "
                    "dependsOn so it runs first",
                    at,
                    "not-a-dependency",
                )
            outputs = mission.task(name).outputs
            if expr.name not in outputs:
                known = ", ".join(sorted(outputs)) or "none"
                raise where.error(
                    f"{expr.text}: task {name!r} has no output {expr.name!r} (outputs: {known})",
                    at,
                    "unknown-output",
                )


def _unknown_keys(raw: Mapping[str, Any], known: frozenset[str], place: str, where: _Where) -> None:
    for key in raw:
        if key not in known:
            raise where.error(
                f"unknown key {str(key)[:60]!r}" + did_you_mean(str(key), sorted(known)),
                f"{place}.{str(key)[:60]}",
            )


