"""Plans that grow while they run: one more step, checked as part of the whole plan so far.

``lam do``, the Python API's session and the MCP server do not know their plan up front: they
add a step, see what it did, and choose the next. Each added step is checked exactly as a plan
file would be (schema, expressions, specs, policy), because it becomes part of one: the plan so
far plus the new step, built from the plan's own document. A step given as a :class:`Step` is
written back in the plan format first, so its digest (what ``--approve STEP@DIGEST`` names) is
the digest of what a reviewer reads in the plan the run leaves behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from lam.errors import PlanError
from lam.expressions import Expression, Template
from lam.plans import NO_BODY, Plan, PlanProblem, Step, plan_from_document
from lam.validation import ValidationReport

__all__ = [
    "Validator",
    "approval_step",
    "approvals_naming",
    "checked_plan",
    "grow_plan",
    "step_document",
]

Validator = Callable[[Plan, list[PlanProblem]], ValidationReport]
"""Checks a parsed plan (specs, expressions, policy): :func:`lam.validation.validate_loaded`
with the run's policy and overrides bound."""

_UNSET: dict[str, Any] = {
    "params": {}, "body": NO_BODY, "content_type": None, "value": None, "expect": {},
    "outputs": {}, "description": "", "timeout": None,
}  # fmt: skip


def step_document(step: Step | Mapping[str, Any]) -> dict[str, Any]:
    """A step in the plan format (what a plan file holds): a mapping as given, a :class:`Step`
    with its expressions written back as text and its unset fields left out."""
    if isinstance(step, Mapping):
        return dict(step)
    raw: dict[str, Any] = {"id": step.id, step.action: _written(step.argument)}
    for name, unset in _UNSET.items():
        value = getattr(step, name, unset)
        if value is unset or (value == unset and type(value) is type(unset)):
            continue
        raw[name] = _written(value)
    return raw


def _written(value: Any) -> Any:
    if isinstance(value, Expression | Template):
        return value.text
    if isinstance(value, Mapping):
        return {k: _written(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_written(v) for v in value]
    return value


def grow_plan(
    plan: Plan, step: Step | Mapping[str, Any], validate: Validator
) -> tuple[Plan, ValidationReport]:
    """The plan so far with ``step`` appended, validated as a whole; the report's last step
    is the new one. Any problem (in the new step, or one it causes) is a PlanError naming its
    place."""
    document = dict(plan.document)
    document["steps"] = [*plan.document.get("steps", []), step_document(step)]
    return checked_plan(document, path=plan.path or Path.cwd() / plan.name, validate=validate)


def checked_plan(
    document: Mapping[str, Any], *, path: Path, validate: Validator
) -> tuple[Plan, ValidationReport]:
    """A plan from its document (its steps may be none yet), validated; the first problem
    found is a PlanError naming its place."""
    plan, problems = plan_from_document(document, path=path)
    if plan is not None:
        report = validate(plan, problems)
        problems = list(report.errors)
    if plan is None or problems:
        first = problems[0]
        raise PlanError(
            first.message, file=str(path), location=first.location, step=first.step,
            code=first.code,
        )  # fmt: skip
    return plan, report


def approvals_naming(step_id: str, approvals: Iterable[str]) -> frozenset[str]:
    """The ``--approve`` values (``STEP``, ``STEP@DIGEST``, ``STEP:RISK``...) that name
    ``step_id``; the others are for steps not added yet."""
    return frozenset(a for a in approvals if approval_step(a) == step_id)


def approval_step(approval: str) -> str:
    """The step id an ``--approve`` value names."""
    return approval.partition(":")[0].partition("@")[0]
