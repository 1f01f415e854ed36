"""Plans: the model (frozen dataclasses) and the loader for plan format version 1.

``load_plan(path)`` reads YAML or JSON, checks it against the shipped plan schema, checks each
step's structure (exactly one action, the values it needs) and every runtime expression
(unknown input, a later or unknown step, an unknown output). Any problem is a PlanError naming
the file and the place (``steps[3].params.petId``). ``plan_problems`` returns them all instead of
the first, for ``lam validate``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from lam.criteria import Criterion, CriterionError, criterion_expressions, parse_criterion
from lam.documents import load_document, parse_text, schema, schema_errors
from lam.errors import LamError, PlanError
from lam.expressions import (
    Expression,
    ExpressionError,
    Template,
    parse_value,
    walk_expressions,
)
from lam.runtime.flow import Action, parse_actions

__all__ = [
    "API_ACTION",
    "MAX_PLAN_BYTES",
    "NO_BODY",
    "UI_ACTIONS",
    "ApiDecl",
    "ApiStep",
    "AppDecl",
    "Plan",
    "PlanProblem",
    "Served",
    "Step",
    "UiArgument",
    "UiStep",
    "did_you_mean",
    "load_plan",
    "parse_plan",
    "plan_from_document",
    "plan_problems",
    "raw_expressions",
    "step_digest",
]

API_ACTION = "call"
UI_ACTIONS = (
    "goto", "click", "fill", "select", "check", "uncheck", "press",
    "hover", "scroll", "wait", "assert", "extract", "upload",
)  # fmt: skip
_ACTIONS = (API_ACTION, *UI_ACTIONS)
_NEEDS_VALUE = ("fill", "select", "upload")
_TAKES_VALUE = (*_NEEDS_VALUE, "press")
_API_EXPECT = {"status", "body", "headers"}
_SCROLL_WORDS = ("up", "down", "top", "bottom")
_RESPONSE_SOURCES = {"response.body", "response.header", "statusCode", "url", "method"}
_EXTRACT_OUTPUT = "value"  # every extract step outputs what it read under this name

MAX_PLAN_BYTES = 8 * 1024 * 1024
"""Larger plans are refused before they are parsed: a reviewable plan is never this big."""


class _NoBody:
    """The marker for a step that sends no body (``None`` would be a JSON null body)."""

    def __repr__(self) -> str:
        return "NO_BODY"

    def __bool__(self) -> bool:
        return False


NO_BODY: Any = _NoBody()
"""A step without a request body (distinct from a JSON ``null`` body)."""


@dataclass(frozen=True)
class ApiDecl:
    """An API a plan talks to: its spec and where it lives."""

    name: str
    spec: str  # as written: a path relative to the plan file, or a URL
    spec_source: str  # resolved: an absolute path, or the URL
    base_url: str | None = None
    auth: Mapping[str, str] | None = None


@dataclass(frozen=True)
class AppDecl:
    """A web app a plan drives: its root URL and, optionally, the API behind it."""

    name: str
    url: str
    api: str | None = None


UiArgument = Mapping[str, Any] | Expression | Template | str | int | float | None
"""What a UI step's action key holds, parsed: target hints (``{"role": "button", "name":
"Save"}``, a plain description becomes ``{"describe": ...}``) for the actions that act on an
element, a URL (``goto``, maybe a template), a key (``press``), a direction (``scroll``), a
duration or condition (``wait``)."""


@dataclass(frozen=True, kw_only=True)
class _StepBase:
    """What every step has: an id, its place, one action, what it expects and outputs."""

    id: str
    index: int
    action: str
    expect: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Expression] = field(default_factory=dict)
    description: str = ""
    timeout: float | None = None
    # Arazzo's: all must hold for the step to succeed; then which step next (lam.runtime.flow)
    success_criteria: tuple[Criterion, ...] = ()
    on_success: tuple[Action, ...] = ()
    on_failure: tuple[Action, ...] = ()

    @property
    def place(self) -> str:
        return f"steps[{self.index}]"

    @property
    def output_names(self) -> frozenset[str]:
        names = set(self.outputs)
        if self.action == "extract":
            names.add(_EXTRACT_OUTPUT)
        return frozenset(names)


@dataclass(frozen=True, kw_only=True)
class ApiStep(_StepBase):
    """A ``call`` step: one operation of a declared API, with its parameters and body."""

    argument: str  # the call as written: "petstore.findPets" or "petstore GET /pets"
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = NO_BODY
    content_type: str | None = None

    @property
    def kind(self) -> Literal["api"]:
        return "api"

    def expression_fields(self) -> tuple[tuple[str, Any], ...]:
        """The values that may hold runtime expressions, by the key they are written under."""
        return (
            ("argument", self.argument),
            ("params", self.params),
            ("body", self.body),
            ("expect", self.expect),
        )

    @property
    def api_name(self) -> str:
        """The API's name (``petstore`` in ``petstore.findPets``)."""
        return _split_call(self.argument)[0]

    @property
    def operation_ref(self) -> str:
        """``findPets`` or ``GET /pets`` within the API."""
        return _split_call(self.argument)[1]


@dataclass(frozen=True, kw_only=True)
class UiStep(_StepBase):
    """A UI step (goto, click, fill, ...): what it acts on and the value it types or picks."""

    argument: UiArgument
    value: Any = None

    @property
    def kind(self) -> Literal["ui"]:
        return "ui"

    def expression_fields(self) -> tuple[tuple[str, Any], ...]:
        """The values that may hold runtime expressions, by the key they are written under."""
        return (("argument", self.argument), ("value", self.value), ("expect", self.expect))

    @property
    def target(self) -> Mapping[str, Any] | None:
        """Locator hints for UI actions that act on an element, else None."""
        return self.argument if isinstance(self.argument, Mapping) else None


Step = ApiStep | UiStep
"""One step of a plan: an id and exactly one action, a call (:class:`ApiStep`) or a UI
action (:class:`UiStep`). ``step.kind`` tells them apart (and narrows the type)."""


@dataclass(frozen=True)
class Plan:
    """A whole plan, as loaded. ``path`` is None for plans parsed from text."""

    name: str
    steps: tuple[Step, ...]
    description: str = ""
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    apis: Mapping[str, ApiDecl] = field(default_factory=dict)
    apps: Mapping[str, AppDecl] = field(default_factory=dict)
    path: Path | None = None
    document: Mapping[str, Any] = field(default_factory=dict)
    max_step_runs: int | None = None  # step executions a run may make (goto/retry loops)

    @property
    def file(self) -> str:
        return str(self.path) if self.path else "<plan>"

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def api_base_url(
        self, name: str, specs: Mapping[str, Served], overrides: Mapping[str, str]
    ) -> str | None:
        """Where the calls to API ``name`` go: the override given at run time
        (``--api NAME=URL``), else the plan's ``base_url``, else the spec's first server; None
        when none says. The one rule for validation (hosts, policy facts) and runs alike."""
        declared = self.apis.get(name)
        url = overrides.get(name) or (declared.base_url if declared else None)
        if url is None and name in specs and specs[name].servers:
            url = specs[name].servers[0]
        return url or None


class Served(Protocol):
    """What :meth:`Plan.api_base_url` needs of a spec: its server URLs, in order."""

    @property
    def servers(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class PlanProblem:
    """One problem with a plan: where it is, a stable code and a message."""

    location: str
    code: str
    message: str
    step: str | None = None


def step_digest(plan: Plan, step: Step, inputs: Mapping[str, Any] | None = None) -> str:
    """A short digest of a step as written and of the inputs it reads, so an approval can name
    exactly what it approves (``--approve remove@3f9c2a1b07``): edit the step, or give it
    another ``--input``, and the approval no longer covers it."""
    raw = plan.document.get("steps", [])[step.index] if plan.document else {}
    entries = _entries(plan, step.id)
    if entries:  # a goto back to this step is part of what an approval of it approves
        raw = {**raw, "reached_from": entries}
    used = {
        expr.name: (inputs or {}).get(expr.name or "")
        for _, expr in walk_expressions(raw_expressions(raw))
        if expr.source == "inputs"
    }
    text = json.dumps([raw, used], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _entries(plan: Plan, step_id: str) -> list[list[Any]]:
    """The other steps' actions that jump to ``step_id``, as written (for its digest)."""
    found: list[list[Any]] = []
    for raw in plan.document.get("steps", []) if plan.document else []:
        if not isinstance(raw, Mapping) or raw.get("id") == step_id:
            continue
        for key in ("onSuccess", "onFailure"):
            actions = raw.get(key)
            for action in actions if isinstance(actions, list) else []:
                if isinstance(action, Mapping) and action.get("stepId") == step_id:
                    found.append([raw.get("id"), key, action])
    return found


def raw_expressions(raw: Any) -> Any:
    """A raw step's values with expressions parsed, skipping malformed ones."""
    try:
        return parse_value(raw)
    except ExpressionError:
        return {}


def _split_call(ref: str) -> tuple[str, str]:
    ref = ref.strip()
    if " " in ref:
        api, _, rest = ref.partition(" ")
        return api, " ".join(rest.split())
    api, _, op = ref.partition(".")
    return api, op


def load_plan(path: Path | str) -> Plan:
    """Load a plan file; raise PlanError at the first problem found."""
    path = Path(path)
    document = load_document(path, error=PlanError, max_bytes=MAX_PLAN_BYTES)
    plan, problems = _build(document, path)
    if problems:
        first = problems[0]
        raise PlanError(first.message, file=str(path), location=first.location, code=first.code)
    assert plan is not None
    return plan


def parse_plan(text: str, *, name: str = "<plan>", base: Path | None = None) -> Plan:
    """Parse a plan from text (used by planners); spec paths resolve against ``base``."""
    if len(text) > MAX_PLAN_BYTES:
        raise PlanError(
            f"plan text is {len(text) / 1e6:.1f} MB, more than the "
            f"{MAX_PLAN_BYTES / 1e6:.0f} MB allowed",
            file=name,
            code="too-large",
        )
    document = parse_text(text, name=name, error=PlanError)
    plan, problems = _build(document, (base or Path.cwd()) / name)
    if problems:
        first = problems[0]
        raise PlanError(first.message, file=name, location=first.location, code=first.code)
    assert plan is not None
    return plan


def plan_problems(path: Path | str) -> tuple[Plan | None, list[PlanProblem]]:
    """Load a plan and return every problem found rather than the first.

    Unreadable or unparsable files still raise PlanError: there is nothing to report on.
    """
    path = Path(path)
    document = load_document(path, error=PlanError, max_bytes=MAX_PLAN_BYTES)
    return _build(document, path)


def plan_from_document(document: Any, *, path: Path) -> tuple[Plan | None, list[PlanProblem]]:
    """A plan from a document already parsed (a mapping), with every problem found.

    For a plan that grows step by step (:meth:`lam.runtime.runner.Runner.add_step`): an empty
    ``steps`` list is no problem here, the plan simply has no steps yet."""
    return _build(document, path, growing=True)


def _build(
    document: Any, path: Path, *, growing: bool = False
) -> tuple[Plan | None, list[PlanProblem]]:
    if not isinstance(document, Mapping):
        kind = "empty" if document is None else _KINDS.get(type(document), "a plain value")
        return None, [
            PlanProblem("(top level)", "not-a-mapping", f"a plan is a mapping, not {kind}")
        ]
    problems = [PlanProblem(loc, "schema", msg) for loc, msg in schema_errors(document, "plan")]
    if growing and document.get("steps") == []:  # its one schema problem: no step yet
        problems = [p for p in problems if p.location != "steps"]
    set_aside = _SetAside()
    if problems:
        # Check the rest too, so one round of `lam validate` shows every problem it can.
        usable = _set_aside(document, [p.location for p in problems], set_aside)
        if usable is None:
            return None, problems
        document = usable
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(document["steps"]):
        if index in set_aside.steps:
            continue
        step, step_problems = _build_step(index, raw)
        problems.extend(step_problems)
        if step is None:
            if isinstance(raw.get("id"), str):
                set_aside.step_ids.add(raw["id"])
            continue
        if step.id in seen:
            problems.append(
                PlanProblem(
                    f"steps[{index}].id",
                    "duplicate-id",
                    f"step id {step.id!r} is already used by steps[{seen[step.id]}]",
                    step.id,
                )
            )
            continue
        seen[step.id] = index
        steps.append(step)
    base = path.parent
    apis = {
        name: ApiDecl(
            name=name,
            spec=decl["spec"],
            spec_source=_spec_source(decl["spec"], base),
            base_url=decl.get("base_url"),
            auth=decl.get("auth"),
        )
        for name, decl in document.get("apis", {}).items()
    }
    apps = {
        name: AppDecl(name=name, url=decl["url"], api=decl.get("api"))
        for name, decl in document.get("apps", {}).items()
    }
    plan = Plan(
        name=document["name"],
        description=document.get("description", ""),
        inputs=document.get("inputs", {}),
        apis=apis,
        apps=apps,
        steps=tuple(steps),
        path=path,
        document=document,
        max_step_runs=document.get("max_step_runs"),
    )
    problems.extend(_declaration_problems(plan, set_aside))
    problems.extend(_reference_problems(plan, set_aside))
    return plan, problems


@dataclass
class _SetAside:
    """Parts of a plan left out of further checks because they are broken already (their own
    problem is reported), so that what refers to them is not reported a second time."""

    steps: set[int] = field(default_factory=set)
    step_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # apis and apps


_PLACE = re.compile(r"^(?:steps\[(\d+)\]|(apis|apps|inputs)\.([A-Za-z][A-Za-z0-9_\-]*))")


def _set_aside(
    document: Mapping[str, Any], locations: Sequence[str], aside: _SetAside
) -> dict[str, Any] | None:
    """The document less the steps, apis, apps and unknown top-level keys that break the
    schema, or None when what is left still breaks it (no name, no list of steps...)."""
    usable = {k: v for k, v in document.items() if k in schema("plan")["properties"]}
    for key in ("inputs", "apis", "apps"):
        if isinstance(usable.get(key), Mapping):
            usable[key] = dict(usable[key])
    steps = document.get("steps")
    for location in locations:
        found = _PLACE.match(location)
        if found is None:
            continue
        if found.group(1) is not None:
            index = int(found.group(1))
            aside.steps.add(index)
            raw = steps[index] if isinstance(steps, list) and index < len(steps) else None
            if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
                aside.step_ids.add(raw["id"])
        elif found.group(2) == "inputs":
            usable["inputs"][found.group(3)] = {}  # known by name, its schema set aside
        else:
            usable[found.group(2)].pop(found.group(3), None)
            aside.names.add(found.group(3))
    if isinstance(steps, list):
        # a stand-in keeps the indices of the other steps; it is skipped when steps are built
        usable["steps"] = [{"id": "x"} if i in aside.steps else s for i, s in enumerate(steps)]
    return usable if not schema_errors(usable, "plan") else None


_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _spec_source(spec: str, base: Path) -> str:
    if "://" in spec and not spec.startswith("file://"):
        return spec
    raw = spec.removeprefix("file://")
    return str((base / raw).resolve()) if not Path(raw).is_absolute() else raw


def _build_step(index: int, raw: Mapping[str, Any]) -> tuple[Step | None, list[PlanProblem]]:
    place = f"steps[{index}]"
    step_id = raw["id"]
    actions = [a for a in _ACTIONS if a in raw]
    if len(actions) != 1:
        what = "none" if not actions else ", ".join(actions)
        return None, [
            PlanProblem(
                place,
                "one-action",
                f"step {step_id!r} needs exactly one action ({', '.join(_ACTIONS)}); found {what}",
                step_id,
            )
        ]
    action = actions[0]
    problems: list[PlanProblem] = []

    def bad(where: str, code: str, message: str) -> None:
        problems.append(PlanProblem(f"{place}.{where}", code, message, step_id))

    if action == API_ACTION:
        api, op = _split_call(raw["call"])
        if not api or not op:
            bad("call", "call-format", "write 'api.operationId' or 'api METHOD /path'")
        for key in ("value",):
            if key in raw:
                bad(key, "not-for-api", f"'{key}' belongs to UI steps, not to a call")
        for key in set(raw.get("expect", {})) - _API_EXPECT:
            bad(f"expect.{key}", "not-for-api", f"a call's expect takes {sorted(_API_EXPECT)}")
    else:
        for key in ("params", "body", "content_type"):
            if key in raw:
                bad(key, "not-for-ui", f"'{key}' belongs to API calls, not to a {action} step")
        if action in _NEEDS_VALUE and "value" not in raw:
            bad("value", "missing-value", f"a {action} step needs a value")
        scrolls_in = action == "scroll" and isinstance(raw.get("scroll"), Mapping)
        if "value" in raw and action not in _TAKES_VALUE and not scrolls_in:
            bad("value", "unused-value", f"a {action} step takes no value")
        if scrolls_in and "value" in raw and raw["value"] not in _SCROLL_WORDS:
            bad("value", "bad-value", f"scrolling in an element takes one of {_SCROLL_WORDS}")
        if action == "press" and isinstance(raw["press"], Mapping) and "value" not in raw:
            bad("value", "missing-value", "press on an element needs the key as value")
    argument = raw[action]
    if isinstance(argument, str) and action not in ("call", "goto", "press", "scroll"):
        argument = {"describe": argument}
    elif action == "scroll" and isinstance(argument, str) and argument not in _SCROLL_WORDS:
        argument = {"describe": argument}  # scroll to an element described in words
    try:
        parsed = {
            "argument": parse_value(argument) if action != API_ACTION else argument,
            "params": parse_value(raw.get("params", {})),
            "body": parse_value(raw["body"]) if "body" in raw else NO_BODY,
            "value": parse_value(raw.get("value")),
            "expect": parse_value(raw.get("expect", {})),
            "outputs": {k: Expression.parse(v) for k, v in raw.get("outputs", {}).items()},
        }
    except ExpressionError as exc:
        bad(_find_bad_expression(raw), "expression", str(exc))
        return None, problems
    flow = _flow(raw, bad)
    if flow is None:
        return None, problems
    common: dict[str, Any] = {
        "id": step_id,
        "index": index,
        "action": action,
        "expect": parsed["expect"],
        "outputs": parsed["outputs"],
        "description": raw.get("description", ""),
        "timeout": raw.get("timeout"),
        **flow,
    }
    step: Step
    if action == API_ACTION:
        step = ApiStep(
            argument=parsed["argument"],
            params=parsed["params"],
            body=parsed["body"],
            content_type=raw.get("content_type"),
            **common,
        )
    else:
        step = UiStep(argument=parsed["argument"], value=parsed["value"], **common)
    return step, problems


def _flow(raw: Mapping[str, Any], bad: Any) -> dict[str, Any] | None:
    """A step's ``successCriteria``, ``onSuccess`` and ``onFailure``, parsed; None (with the
    problem reported through ``bad``) when one is malformed."""
    criteria = []
    for i, item in enumerate(raw.get("successCriteria", [])):
        try:
            criteria.append(parse_criterion(item))
        except CriterionError as exc:
            bad(f"successCriteria[{i}]", exc.code or "criterion", exc.message)
            return None
    parsed: dict[str, Any] = {"success_criteria": tuple(criteria)}
    for key, field_name in (("onSuccess", "on_success"), ("onFailure", "on_failure")):
        try:
            parsed[field_name] = parse_actions(raw.get(key, []), key)  # type: ignore[arg-type]
        except LamError as exc:
            bad(f"{key}{exc.location or ''}", exc.code or "action", exc.message)
            return None
    return parsed


def _find_bad_expression(raw: Mapping[str, Any]) -> str:
    """The location of the first malformed expression in a raw step, for the error line."""
    for key, value in raw.items():
        for where, text in _strings(value, key):
            try:
                parse_value(text)
            except ExpressionError:
                return where
    return "(step)"


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


def _declaration_problems(plan: Plan, aside: _SetAside) -> list[PlanProblem]:
    problems = []
    for name, app in plan.apps.items():
        if app.api and app.api not in plan.apis and app.api not in aside.names:
            problems.append(
                PlanProblem(
                    f"apps.{name}.api",
                    "unknown-api",
                    f"no api named {app.api!r}" + did_you_mean(app.api, plan.apis),
                )
            )
    for step in plan.steps:
        if (
            step.kind == "api"
            and step.api_name not in plan.apis
            and step.api_name not in aside.names
        ):
            problems.append(
                PlanProblem(
                    f"{step.place}.call",
                    "unknown-api",
                    f"no api named {step.api_name!r} in apis"
                    + did_you_mean(step.api_name, plan.apis),
                    step.id,
                )
            )
        if step.action == "goto" and isinstance(step.argument, str | Template):
            text = str(step.argument)
            app_name = text.partition(":")[0]
            if (
                ":" in text
                and "://" not in text
                and not text.startswith("{")
                and app_name not in plan.apps
                and app_name not in aside.names
            ):
                problems.append(
                    PlanProblem(
                        f"{step.place}.goto",
                        "unknown-app",
                        f"no app named {app_name!r} in apps" + did_you_mean(app_name, plan.apps),
                        step.id,
                    )
                )
            elif "://" in text and "{" not in text and not _readable_url(text):
                problems.append(
                    PlanProblem(
                        f"{step.place}.goto",
                        "bad-url",
                        f"{text[:80]!r} is not a URL lam can read (no host, or a malformed one)",
                        step.id,
                    )
                )
    return problems


def _readable_url(text: str) -> bool:
    """Whether ``text`` is an http(s) URL whose host and port can be read."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _reference_problems(plan: Plan, aside: _SetAside) -> list[PlanProblem]:
    problems: list[PlanProblem] = []
    earlier: dict[str, Step] = {}
    all_ids = {s.id: s for s in plan.steps}
    for step in plan.steps:
        fields = (*step.expression_fields(), ("outputs", dict(step.outputs)))
        for field_name, value in fields:
            prefix = step.action if field_name == "argument" else field_name
            for where, expr in walk_expressions(value, prefix):
                if expr.source == "steps" and expr.step in aside.step_ids:
                    continue  # the step it names is broken, and reported as such
                message = _reference_message(expr, plan, earlier, all_ids, field_name)
                if message:
                    problems.append(
                        PlanProblem(f"{step.place}.{where}", "reference", message, step.id)
                    )
        earlier[step.id] = step
    for step in plan.steps:
        problems.extend(_flow_problems(step, all_ids, plan.inputs, aside))
    return problems


def _flow_problems(
    step: Step, all_ids: Mapping[str, Step], inputs: Mapping[str, Any], aside: _SetAside
) -> list[PlanProblem]:
    """A goto to a step the plan lacks; a criterion naming an unknown input, step or output
    (any step of the plan may be named: a goto may have run a later one first)."""
    problems = []
    checks: list[tuple[str, Criterion]] = [
        (f"successCriteria[{i}]", c) for i, c in enumerate(step.success_criteria)
    ]
    for key, actions in (("onSuccess", step.on_success), ("onFailure", step.on_failure)):
        for i, action in enumerate(actions):
            if action.step_id is not None and (
                action.step_id not in all_ids and action.step_id not in aside.step_ids
            ):
                problems.append(PlanProblem(
                    f"{step.place}.{key}[{i}].stepId", "unknown-step",
                    f"goto {action.step_id!r}: no step with that id"
                    + did_you_mean(action.step_id, all_ids), step.id,
                ))  # fmt: skip
            checks += [(f"{key}[{i}].criteria[{j}]", c) for j, c in enumerate(action.criteria)]
    for where, criterion in checks:
        for expr in criterion_expressions(criterion):
            message = None
            if expr.source == "inputs" and expr.name not in inputs:
                message = f"{expr.text}: no input named {expr.name!r}" + did_you_mean(
                    expr.name or "", inputs
                )
            elif expr.source == "steps" and expr.step not in aside.step_ids:
                named = all_ids.get(expr.step or "")
                if named is None:
                    message = f"{expr.text}: no step named {expr.step!r}" + did_you_mean(
                        expr.step or "", all_ids
                    )
                elif expr.name not in named.output_names:
                    message = f"{expr.text}: step {expr.step!r} has no output {expr.name!r}"
            if message:
                problems.append(PlanProblem(f"{step.place}.{where}", "reference", message, step.id))
    return problems


def _reference_message(
    expr: Expression,
    plan: Plan,
    earlier: Mapping[str, Step],
    all_ids: Mapping[str, Step],
    field_name: str,
) -> str | None:
    if expr.source == "inputs" and expr.name not in plan.inputs:
        return f"{expr.text}: no input named {expr.name!r}" + did_you_mean(
            expr.name or "", plan.inputs
        )
    if expr.source == "steps":
        if expr.step not in all_ids:
            return f"{expr.text}: no step named {expr.step!r}" + did_you_mean(
                expr.step or "", all_ids
            )
        if expr.step not in earlier:
            return (
                f"{expr.text}: step {expr.step!r} runs later; a step can use only earlier outputs"
            )
        names = earlier[expr.step or ""].output_names
        if expr.name not in names:
            known = ", ".join(sorted(names)) or "none"
            return f"{expr.text}: step {expr.step!r} has no output {expr.name!r} (outputs: {known})"
    if expr.source in _RESPONSE_SOURCES and field_name not in ("outputs", "expect"):
        return f"{expr.text}: there is no response yet; use it in outputs or expect"
    return None


def did_you_mean(word: str, choices: Mapping[str, Any] | Sequence[str]) -> str:
    """`` (did you mean 'NAME'?)`` for the closest of ``choices`` to ``word``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
