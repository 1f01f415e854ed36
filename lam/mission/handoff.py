"""Hand-offs between mission tasks, as data: expressions resolved into plain JSON values.

A task's ``x-lam-inputs`` (and a workflow task's rewritten ``$workflows`` hand-offs, and a
goal's ``{...}`` parts) may read ``$workflows.X.outputs.Y`` (what task X handed on) and
``$inputs.Z`` (the mission's own ``--input``). :func:`task_inputs` fills them in and keeps only
what survives a JSON round trip: that, and nothing else, crosses to the task's child process as
its input values, within lam's document limits (docs/limits.md). Text that looks like an expression inside an upstream value stays text: a
value is filled in once and never parsed again. :func:`task_outputs` reads a task's declared
``outputs`` from the step outputs its run recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lam.expressions import (
    Context,
    Expression,
    ExpressionError,
    Template,
    as_text,
    resolve_pointer,
)
from lam.expressions import resolve_value as _resolve_plan_value
from lam.limits import DOCUMENT_LIMITS, OverLimit, load_json
from lam.mission.model import MissionError, Task

__all__ = ["resolve", "task_inputs", "task_outputs"]

Outputs = Mapping[str, Mapping[str, Any]]  # succeeded task id -> its outputs


def task_inputs(task: Task, outputs: Outputs, mission_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The input values of ``task``'s run: the mission's ``--input`` values for the inputs it
    declares, then its ``x-lam-inputs`` resolved; plain JSON only."""
    values: dict[str, Any] = {
        name: value for name, value in mission_inputs.items() if name in task.declared_inputs
    }
    for name, value in task.inputs.items():
        values[name] = resolve(value, task, outputs, mission_inputs)
    try:
        # within the limits of any value a person writes: an upstream task cannot hand on a
        # value bigger or deeper than a plan itself may hold
        plain = load_json(json.dumps(values, allow_nan=False), DOCUMENT_LIMITS)
    except OverLimit as exc:
        raise MissionError(
            f"task {task.id}: an input is too big: {exc.message}", location=task.place
        ) from None
    except (TypeError, ValueError) as exc:
        raise MissionError(
            f"task {task.id}: an input is not a plain JSON value: {exc}", location=task.place
        ) from None
    assert isinstance(plain, dict)
    return plain


def resolve(value: Any, task: Task, outputs: Outputs, mission_inputs: Mapping[str, Any]) -> Any:
    """``value`` with ``$workflows.X.outputs.Y`` and ``$inputs.Z`` filled in; an expression of
    any other source is refused (ExpressionError)."""
    if isinstance(value, Expression):
        return _lookup(value, task, outputs, mission_inputs)
    if isinstance(value, Template):
        parts = []
        for part in value.parts:
            if isinstance(part, Expression):
                found = _lookup(part, task, outputs, mission_inputs)
                parts.append(found if isinstance(found, str) else as_text(found))
            else:
                parts.append(part)
        return "".join(parts)
    if isinstance(value, Mapping):
        return {str(k): resolve(v, task, outputs, mission_inputs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, task, outputs, mission_inputs) for v in value]
    return value


def _lookup(
    expr: Expression, task: Task, outputs: Outputs, mission_inputs: Mapping[str, Any]
) -> Any:
    if expr.source == "workflows":
        upstream = outputs.get(expr.step or "")
        if upstream is None:
            raise ExpressionError(f"{expr.text}: task {expr.step!r} has not succeeded")
        if expr.name not in upstream:
            known = ", ".join(sorted(upstream)) or "none"
            raise ExpressionError(
                f"{expr.text}: task {expr.step!r} has no output {expr.name!r} (outputs: {known})"
            )
        value = upstream[expr.name or ""]
    elif expr.source == "inputs":
        if expr.name not in mission_inputs:
            raise ExpressionError(f"{expr.text}: the mission was given no --input {expr.name}")
        value = mission_inputs[expr.name or ""]
    else:
        raise ExpressionError(
            f"{expr.text}: a task's inputs read $workflows or $inputs only (task {task.id})"
        )
    return resolve_pointer(value, expr.pointer) if expr.pointer else value


def task_outputs(task: Task, inputs: Mapping[str, Any], step_outputs: Outputs) -> dict[str, Any]:
    """``task``'s declared outputs, from the inputs and step outputs its run recorded."""

    def no_secret(name: str) -> str:
        raise ExpressionError(f"$secrets.{name}: a task's outputs never read a secret")

    context = Context(inputs, step_outputs, no_secret)
    return {name: _resolve_plan_value(value, context) for name, value in task.outputs.items()}
