"""``lam validate``: a plan checked against its specs and the operator's policy.

Nothing here touches a live system. The result is a :class:`ValidationReport`: every problem
with its place, and for each step its kind, operation or target, risk class with reasons, and
the policy's verdict. The runner starts from the same report, so a plan runs only as validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.adapters.http import credential_headers
from lam.api_checks import check_call
from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_OK, SpecError, UsageError
from lam.expressions import Expression, Template
from lam.plans import Plan, PlanProblem, Step, UiStep, plan_problems
from lam.policy import ActionFacts, Policy, default_policy, url_host
from lam.risk import ElementFacts, classify_operation, classify_ui_action
from lam.spec import Operation, Spec, load_spec
from lam.types import Classification, Decision, Risk, Verdict

__all__ = [
    "StepReport",
    "ValidationReport",
    "classify_step",
    "target_text",
    "upload_named_by_data",
    "upload_rule",
    "validate_plan",
]


@dataclass(frozen=True)
class StepReport:
    """What the validator knows about one step before anything runs."""

    id: str
    kind: str  # "api" | "ui"
    action: str
    operation: str | None  # "petstore.findPetsByStatus" or a UI target in words
    method: str | None
    path: str | None
    risk: Risk | None  # None: not classified, the step is invalid (its operation is unknown)
    reasons: tuple[str, ...]
    verdict: Verdict | None  # None with risk: no verdict is given on an invalid step
    verdict_reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "action": self.action,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "risk": self.risk.value if self.risk else None,
            "reasons": list(self.reasons),
            "verdict": self.verdict.value if self.verdict else None,
            "verdict_reasons": list(self.verdict_reasons),
        }


@dataclass(frozen=True)
class ValidationReport:
    """Every problem and every step's risk and verdict. ``plan`` is None if unparsable."""

    file: str
    plan: Plan | None
    errors: tuple[PlanProblem, ...]
    steps: tuple[StepReport, ...]
    specs: Mapping[str, Spec] = field(default_factory=dict)
    operations: Mapping[str, Operation] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def held(self) -> tuple[StepReport, ...]:
        """Steps that may not run as they stand: denied, or waiting for an approval."""
        return tuple(s for s in self.steps if s.verdict is not Verdict.ALLOW)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_FAILED
        return EXIT_BLOCKED if self.held else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "file": self.file,
            "errors": [
                {"step": e.step, "path": e.location, "code": e.code, "message": e.message}
                for e in self.errors
            ],
            "steps": [s.to_json() for s in self.steps],
        }


def validate_plan(
    path: Path | str,
    *,
    policy: Policy | None = None,
    api_overrides: Mapping[str, str] | None = None,
    app_overrides: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Validate a plan file. Unreadable or unparsable files raise PlanError."""
    plan, problems = plan_problems(path)
    if plan is None:
        return ValidationReport(str(path), None, tuple(problems), ())
    return validate_loaded(
        plan,
        problems,
        policy=policy,
        api_overrides=api_overrides or {},
        app_overrides=app_overrides or {},
    )


def validate_loaded(
    plan: Plan,
    problems: list[PlanProblem],
    *,
    policy: Policy | None = None,
    api_overrides: Mapping[str, str],
    app_overrides: Mapping[str, str],
) -> ValidationReport:
    """Validate an already parsed plan, adding to the structural problems found so far.

    An override that names no api or app of the plan is a usage error: it would move nothing,
    and the plan would be reported valid against the place the caller meant to leave.
    """
    for option, given, kind in (("--api", api_overrides, "apis"), ("--app", app_overrides, "apps")):
        declared = plan.document.get(kind) if isinstance(plan.document.get(kind), Mapping) else {}
        for name in sorted(set(given) - set(declared or {})):
            known = ", ".join(sorted(declared or {})) or "none"
            raise UsageError(
                f"{option} {name}: the plan has no {kind[:-1]} named {name!r} ({kind}: {known})",
                file=plan.file,
                code="unknown-override",
            )
    policy = policy or default_policy()
    errors = list(problems)
    specs: dict[str, Spec] = {}
    for name, api in plan.apis.items():
        try:
            specs[name] = load_spec(api.spec_source)
        except SpecError as exc:
            where = f"apis.{name}.spec"
            detail = (
                exc.one_line()
                if exc.file != api.spec_source
                else f"{api.spec_source}: {_tail(exc)}"
            )
            errors.append(PlanProblem(where, exc.code, detail))
    operations: dict[str, Operation] = {}
    for step in plan.steps:
        if step.kind != "api" or step.api_name not in specs:
            continue
        spec = specs[step.api_name]
        try:
            op = spec.operation(step.operation_ref)
        except SpecError as exc:
            errors.append(PlanProblem(f"{step.place}.call", exc.code, exc.message, step.id))
            continue
        operations[step.id] = op
        credentials = credential_headers(spec, op)
        for problem in check_call(
            spec,
            op,
            params=step.params,
            body=step.body,
            content_type=step.content_type,
            expression_schema=_expression_schemas(plan, specs, operations),
        ):
            name = problem.location.removeprefix("params.").lower()
            if problem.code == "unknown-param" and name in credentials:
                continue  # a credential header set by the plan, e.g. from a login step
            errors.append(
                PlanProblem(
                    f"{step.place}.{problem.location}", problem.code, problem.message, step.id
                )
            )
    declared = declared_hosts(plan, specs, api_overrides, app_overrides)
    reports = tuple(
        _step_report(step, plan, operations.get(step.id), specs, policy, declared, api_overrides)
        for step in plan.steps
    )
    errors.sort(key=lambda p: _order(p.location))
    return ValidationReport(plan.file, plan, tuple(errors), reports, specs, operations)


def _tail(exc: SpecError) -> str:
    return ": ".join(p for p in (exc.location, exc.message) if p)


def _order(location: str) -> tuple[int, str]:
    if location.startswith("steps["):
        return (1, f"{int(location[6 : location.index(']')]):06d}{location}")
    return (0, location)


def _expression_schemas(
    plan: Plan, specs: Mapping[str, Spec], operations: Mapping[str, Operation]
) -> Any:
    """A function giving the schema an expression resolves to, where a spec or input says."""

    def schema_of(expr: Expression) -> Mapping[str, Any] | None:
        if expr.source == "inputs":
            schema = plan.inputs.get(expr.name or "")
            return schema if schema and "type" in schema else None
        if expr.source != "steps":
            return None
        op = operations.get(expr.step or "")
        if op is None:
            return None
        source = plan.step(expr.step or "").outputs.get(expr.name or "")
        if source is None or source.source != "response.body":
            return None
        producer = plan.step(expr.step or "")
        if producer.kind != "api":
            return None
        spec = specs[producer.api_name]
        expected = plan.step(expr.step or "").expect.get("status", 200)
        status = expected[0] if isinstance(expected, list) else expected
        found = op.response_schema(status)
        if found is None:
            return None
        return spec.schema_at(found[1], source.pointer or "")

    return schema_of


def declared_hosts(
    plan: Plan,
    specs: Mapping[str, Spec],
    api_overrides: Mapping[str, str],
    app_overrides: Mapping[str, str],
) -> frozenset[str]:
    """The ``host:port`` pairs a plan declares through its apis and apps (after overrides)."""
    hosts = set()
    for name, app in plan.apps.items():
        hosts.add(url_host(app_overrides.get(name, app.url)))
    for name in plan.apis:
        base = plan.api_base_url(name, specs, api_overrides)
        if base:
            hosts.add(url_host(base))
    hosts.discard("")
    return frozenset(hosts)


def _step_report(
    step: Step,
    plan: Plan,
    op: Operation | None,
    specs: Mapping[str, Spec],
    policy: Policy,
    declared: frozenset[str],
    api_overrides: Mapping[str, str],
) -> StepReport:
    if step.kind == "api" and op is None:
        # Nothing is known of what the call would do: claim no risk class and no verdict.
        return StepReport(
            id=step.id,
            kind=step.kind,
            action=step.action,
            operation=_operation_label(step, op),
            method=None,
            path=None,
            risk=None,
            reasons=("operation unknown",),
            verdict=None,
        )
    classification = classify_step(step, op)
    if step.kind == "api":
        name = step.api_name
        base = plan.api_base_url(name, specs, api_overrides)
        facts = ActionFacts(
            kind="api",
            risk=classification.risk,
            api=name,
            operation=op.operation_id if op else step.operation_ref,
            method=op.method if op else None,
            path=op.path if op else None,
            host=url_host(base) or None if base else None,
            ui_text=None,
        )
    else:
        facts = ActionFacts(
            kind="ui",
            risk=classification.risk,
            api=None,
            operation=None,
            method=None,
            path=None,
            host=_goto_host(step, plan),
            ui_text=target_text(step.target) if step.target else None,
        )
    decision = _decide(policy, facts, declared)
    return StepReport(
        id=step.id,
        kind=step.kind,
        action=step.action,
        operation=_operation_label(step, op),
        method=op.method if op else None,
        path=op.path if op else None,
        risk=classification.risk,
        reasons=classification.reasons,
        verdict=decision.verdict,
        verdict_reasons=decision.reasons,
    )


def _decide(policy: Policy, facts: ActionFacts, declared: frozenset[str]) -> Decision:
    if facts.host and not policy.host_allowed(facts.host, declared):
        return Decision(Verdict.DENY, (f"host {facts.host} is outside the allowed hosts",))
    return policy.decide(facts)


def _goto_host(step: Step, plan: Plan) -> str | None:
    if step.action != "goto":
        return None
    text = str(step.argument)
    if "://" in text and not text.startswith("{"):
        return url_host(text) or None
    return None


def classify_step(step: Step, op: Operation | None) -> Classification:
    """The static risk of a step: from its operation, or from its UI action and target."""
    if step.kind == "api":
        if op is None:  # callers report the step as invalid; the guard treats it as the worst
            return Classification(Risk.DESTRUCTIVE, ("operation unknown",))
        return classify_operation(op)
    found = classify_ui_action(step.action, _facts_from_hints(step) if step.target else None)
    return upload_rule(step, found)


def upload_rule(step: Step, found: Classification, value: Any = None) -> Classification:
    """``found``, or destructive when ``step`` uploads a file named by data
    (:func:`upload_named_by_data`): at validation, and at run time with the ``value`` the
    step resolved to."""
    if not upload_named_by_data(step) or found.risk is Risk.DESTRUCTIVE:
        return found
    what = "a file" if value is None else f"{value!r}, a file"
    why = f"uploads {what} named by an input or an output, not the plan"
    return Classification(Risk.DESTRUCTIVE, (*found.reasons, why))


def upload_named_by_data(step: Step) -> bool:
    """An upload whose file, as the plan writes it, is an expression (``$inputs.file``): which
    local file leaves is then the choice of an input, a batch row or an upstream task (a
    ``.env``), so it is a person's call, whatever folder the file is in."""
    if not isinstance(step, UiStep) or step.action != "upload":
        return False
    raw = step.value
    items = raw if isinstance(raw, list | tuple) else [raw]
    return any(isinstance(item, Expression | Template) for item in items)


def _facts_from_hints(step: UiStep) -> ElementFacts:
    """What the plan says about its target, before the page is seen.

    A recorded target whose best locator is a CSS or XPath path says nothing in words; its
    fingerprint (what the element looked like when recorded) still does, so it is read too.
    """
    hints = step.target or {}
    fingerprint = hints.get("fingerprint") if isinstance(hints.get("fingerprint"), Mapping) else {}
    recorded_attrs = fingerprint.get("attributes") if isinstance(fingerprint, Mapping) else None
    text = target_text(hints) or target_text(fingerprint) or _candidate_text(hints)
    attributes = {
        key: str(hints[key])
        for key in ("title", "placeholder", "alt")
        if isinstance(hints.get(key), str)
    }
    if isinstance(recorded_attrs, Mapping):
        for key, value in recorded_attrs.items():
            attributes.setdefault(str(key), str(value))
    if isinstance(hints.get("testid"), str):
        attributes["data-testid"] = str(hints["testid"])
    for key in ("css", "xpath"):  # read for risk words by lam.risk.ui.selector_facts
        if isinstance(hints.get(key), str):
            attributes[key] = str(hints[key])
    role = hints.get("role") or (
        fingerprint.get("role") if isinstance(fingerprint, Mapping) else None
    )
    tag = fingerprint.get("tag") if isinstance(fingerprint, Mapping) else None
    return ElementFacts(
        tag=tag if isinstance(tag, str) else None,
        role=role if isinstance(role, str) else None,
        name=text,
        text=text,
        attributes=attributes,
        typing=step.action in ("fill", "select"),
    )


def _candidate_text(hints: Mapping[str, Any]) -> str:
    candidates = hints.get("candidates")
    if not isinstance(candidates, list):
        return ""
    return next((t for c in candidates if isinstance(c, Mapping) and (t := target_text(c))), "")


def target_text(hints: Mapping[str, Any] | None) -> str:
    """The words a target is known by: its name, text, label or description."""
    if not hints:
        return ""
    for key in ("name", "text", "label", "describe", "placeholder", "title", "alt", "testid"):
        value = hints.get(key)
        if isinstance(value, str | Template) and str(value):
            return str(value)
    return ""


def _operation_label(step: Step, op: Operation | None) -> str | None:
    if step.kind == "api":
        if op is None:
            return str(step.argument)
        return (
            f"{step.api_name}.{op.operation_id}" if op.operation_id else f"{step.api_name} {op.key}"
        )
    if step.action == "goto":
        return str(step.argument)
    if step.target:
        return _describe_target(step.target)
    return str(step.argument) if step.argument is not None else None


def _describe_target(hints: Mapping[str, Any]) -> str:
    shown = [
        f"{k}={v!s}"
        for k, v in hints.items()
        if k not in ("candidates", "fingerprint") and not isinstance(v, Mapping | list)
    ]
    return " ".join(shown)
