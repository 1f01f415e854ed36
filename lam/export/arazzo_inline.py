"""A workflow's steps as plan steps, with the workflows it calls inlined.

A step with ``workflowId`` (Arazzo's sub-workflow step) becomes the called workflow's steps,
in place. Their ids are prefixed with the calling step's (``place-order__find``), except the
last, which takes the calling step's own id, so ``$steps.CALLER.outputs.X`` still reads what
the call produced. Inside them:

- ``$inputs.NAME`` is what the calling step's ``parameters`` give NAME (an expression of the
  caller, or a literal); an input the caller does not give becomes an input of the plan
  (with the called workflow's schema for it);
- ``$steps.T.outputs.X`` and ``goto`` targets follow the renamed steps;
- the caller's ``outputs`` (``$outputs.W``: the called workflow's output W) are set on the last
  step, from what W names; the caller's ``successCriteria`` and actions apply to the last step;
- an ``end`` inside the called workflow ends only that workflow in Arazzo: it becomes a
  ``goto`` to the step after the call (noted).

A workflow that calls itself, directly or not, is refused (a DocumentError).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lam import json_pointer
from lam.export.arazzo_steps import Reader, actions, criteria, operation_step, parameters

__all__ = ["MAX_DEPTH", "Inliner"]

MAX_DEPTH = 8
"""Workflows calling workflows: at most this deep."""

_INPUT = re.compile(r"\$inputs\.([A-Za-z0-9_\-]+)((?:#/[^\s{}()\[\]!=<>&|]*)?)")
_STEP = re.compile(r"\$steps\.([A-Za-z0-9_\-]+)\.outputs\.")
_OUTPUT = re.compile(r"^\$outputs\.([A-Za-z0-9_\-]+)((?:#/\S*)?)$")
_STEP_OUTPUT = re.compile(r"^\$steps\.([A-Za-z0-9_\-]+)\.outputs\.([A-Za-z0-9_\-]+)((?:#/\S*)?)$")


class Inliner:
    """Reads workflows of one document into plan steps, inlining the ones they call."""

    def __init__(self, reader: Reader, workflows: list[Mapping[str, Any]]) -> None:
        self.reader = reader
        self.workflows = workflows
        self.index = {str(w.get("workflowId")): i for i, w in enumerate(workflows)}
        self.inputs: dict[str, Any] = {}  # the plan's inputs, grown by inputs a call leaves out

    def steps(
        self,
        position: int,
        *,
        prefix: str = "",
        last_id: str | None = None,
        args: Mapping[str, Any] | None = None,
        after: str | None = None,
        chain: tuple[str, ...] = (),
    ) -> list[dict[str, Any]]:
        """The plan steps of ``workflows[position]``. For a called workflow: its ids get
        ``prefix``, its last step is named ``last_id``, ``args`` give its inputs and an
        ``end`` goes to ``after``."""
        flow = self.workflows[position]
        place = f"workflows[{position}]"
        flow_id = str(flow.get("workflowId"))
        raw_steps = flow.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.reader.error("a workflow needs steps", f"{place}.steps")
        ids = {}
        for i, raw in enumerate(raw_steps):
            if not isinstance(raw, Mapping) or not isinstance(raw.get("stepId"), str):
                raise self.reader.error("a step needs a stepId", f"{place}.steps[{i}]")
            ids[raw["stepId"]] = f"{prefix}__{raw['stepId']}" if prefix else raw["stepId"]
        if last_id is not None:
            ids[raw_steps[-1]["stepId"]] = last_id
        shared = flow.get("parameters") or []
        out: list[dict[str, Any]] = []
        for i, raw in enumerate(raw_steps):
            at = f"{place}.steps[{i}]"
            if prefix:
                raw = self._rewrite_step(raw, ids, args or {}, flow, after, at)
            if "workflowId" in raw and not (
                isinstance(raw.get("workflowId"), str) and raw["workflowId"].startswith("$")
            ):
                following = ids[raw_steps[i + 1]["stepId"]] if i + 1 < len(raw_steps) else after
                out += self._call(raw, at, ids[raw["stepId"]], following, (*chain, flow_id))
            else:
                step = operation_step(raw, at, self.reader, shared)
                step["id"] = ids[raw["stepId"]]
                out.append(step)
        return out

    def _call(
        self, raw: Mapping[str, Any], place: str, step_id: str, after: str | None,
        chain: tuple[str, ...],
    ) -> list[dict[str, Any]]:  # fmt: skip
        called = str(raw["workflowId"])
        if called not in self.index:
            raise self.reader.error(
                f"no workflow {called!r} in this document", f"{place}.workflowId"
            )
        if called in chain:
            loop = " -> ".join((*chain, called))
            raise self.reader.error(f"workflows call each other in a loop ({loop})",
                                    f"{place}.workflowId")  # fmt: skip
        if len(chain) >= MAX_DEPTH:
            raise self.reader.error(f"workflows nested more than {MAX_DEPTH} deep",
                                    f"{place}.workflowId")  # fmt: skip
        position = self.index[called]
        flow = self.workflows[position]
        if not isinstance(flow.get("steps"), list):
            raise self.reader.error(
                f"workflow {called!r} has no steps to run here (a lam task: make it a "
                "dependsOn of this workflow instead)",
                f"{place}.workflowId",
            )
        given = parameters(raw.get("parameters") or [], f"{place}.parameters", self.reader)
        args = {name: value for name, (_, value) in given.items()}
        declared = _properties(flow.get("inputs"), self.reader.document)
        for name in args:
            if declared and name not in declared:
                raise self.reader.error(
                    f"workflow {called!r} has no input {name!r} (inputs: {', '.join(declared)})",
                    f"{place}.parameters",
                )
        for name in declared:
            if name not in args:  # left to the plan's caller: an input of the plan
                args[name] = "$inputs." + self._plan_input(name, declared[name], step_id)
        if flow.get("dependsOn"):
            self.reader.notes.append(
                f"{place}: {called!r} depends on {flow['dependsOn']}: run those first (a mission "
                "does)"
            )
        steps = self.steps(position, prefix=step_id, last_id=step_id, args=args, after=after,
                           chain=chain)  # fmt: skip
        self._finish_call(raw, place, steps[-1], flow, step_id, position)
        return steps

    def _finish_call(
        self, raw: Mapping[str, Any], place: str, last: dict[str, Any], flow: Mapping[str, Any],
        prefix: str, position: int,
    ) -> None:  # fmt: skip
        """The caller's outputs, criteria and actions, on the call's last step."""
        wf_outputs = flow.get("outputs") or {}
        outputs = dict(last.get("outputs") or {})
        for name, text in (raw.get("outputs") or {}).items():
            match = _OUTPUT.match(str(text))
            if not match:
                outputs[name] = text
                continue
            output, pointer = match.group(1), match.group(2)
            if output not in wf_outputs:
                raise self.reader.error(
                    f"{text}: workflow {flow.get('workflowId')!r} has no output {output!r}",
                    f"{place}.outputs.{name}",
                )
            named = _STEP_OUTPUT.match(str(wf_outputs[output]))
            if named is None:
                raise self.reader.error(
                    f"output {output!r} of workflow {flow.get('workflowId')!r} reads "
                    f"{wf_outputs[output]!r}: lam follows $steps.ID.outputs.NAME here",
                    f"workflows[{position}].outputs.{output}",
                )
            step, out_name, inner = named.group(1), named.group(2), named.group(3)
            if _renamed(step, prefix, flow) == last["id"]:
                source = (last.get("outputs") or {}).get(out_name)
                if source is None:
                    raise self.reader.error(
                        f"{wf_outputs[output]}: step {step!r} has no output {out_name!r}",
                        f"workflows[{position}].outputs.{output}",
                    )
                outputs[name] = _join(str(source), inner + pointer.removeprefix("#"))
            else:
                target = f"$steps.{_renamed(step, prefix, flow)}.outputs.{out_name}"
                outputs[name] = _join(target, inner + pointer.removeprefix("#"))
        if outputs:
            last["outputs"] = outputs
        extra = criteria(raw.get("successCriteria"), f"{place}.successCriteria", self.reader,
                         keep_status=True)  # fmt: skip
        if extra:
            last["successCriteria"] = [*last.get("successCriteria", []),
                                       *extra["successCriteria"]]  # fmt: skip
        for key, listed in actions(raw, place, self.reader).items():
            last[key] = [*last.get(key, []), *listed]
        if raw.get("onFailure"):
            self.reader.notes.append(
                f"{place}.onFailure: applies to the called workflow's last step only"
            )

    def _plan_input(self, name: str, schema: Any, caller: str) -> str:
        chosen = name if name not in self.inputs or self.inputs[name] == schema else None
        chosen = chosen or f"{caller}_{name}"
        self.inputs[chosen] = dict(schema) if isinstance(schema, Mapping) else {}
        return chosen

    def _rewrite_step(
        self, raw: Mapping[str, Any], ids: Mapping[str, str], args: Mapping[str, Any],
        flow: Mapping[str, Any], after: str | None, place: str,
    ) -> dict[str, Any]:  # fmt: skip
        step = _rewrite_fields(raw, ids, args)
        for key in ("onSuccess", "onFailure"):
            listed = actions(step, place, self.reader).get(key)
            if not listed:
                continue
            for action in listed:
                if action.get("type") == "goto" and action.get("stepId") in ids:
                    action["stepId"] = ids[action["stepId"]]
                elif action.get("type") == "end" and after is not None:
                    action["type"], action["stepId"] = "goto", after
                    self.reader.notes.append(
                        f"{place}.{key}: 'end' of workflow {flow.get('workflowId')!r} goes on "
                        f"at {after!r}, the step after the call"
                    )
            step[key] = listed
        return step


def _renamed(step: str, prefix: str, flow: Mapping[str, Any]) -> str:
    steps = flow.get("steps") or []
    last = steps[-1].get("stepId") if steps and isinstance(steps[-1], Mapping) else None
    return prefix if step == last else f"{prefix}__{step}"


def _join(expression: str, pointer: str) -> str:
    """An expression with a JSON pointer appended (``$steps.a.outputs.b`` + ``/0/id``)."""
    if not pointer:
        return expression
    return f"{expression}{pointer}" if "#" in expression else f"{expression}#{pointer}"


def _rewrite_fields(
    raw: Mapping[str, Any], ids: Mapping[str, str], args: Mapping[str, Any]
) -> dict[str, Any]:
    """A called workflow's raw step with its inputs and step ids rewritten where expressions
    live: parameter values, the request body, criteria, actions' criteria, outputs."""
    step = dict(raw)

    def each(listed: Any, fix: Any) -> Any:
        return (
            [fix(dict(item)) if isinstance(item, Mapping) else item for item in listed]
            if isinstance(listed, list)
            else listed
        )

    def param(item: dict[str, Any]) -> dict[str, Any]:
        if "value" in item:
            item["value"] = _rewrite(item["value"], ids, args)
        return item

    def criterion(item: dict[str, Any]) -> dict[str, Any]:
        for key in ("condition", "context"):
            if isinstance(item.get(key), str):
                item[key] = _rewrite(item[key], ids, args, condition=key == "condition")
        return item

    def action(item: dict[str, Any]) -> dict[str, Any]:
        item["criteria"] = each(item.get("criteria"), criterion)
        if item["criteria"] is None:
            del item["criteria"]
        return item

    step["parameters"] = each(raw.get("parameters"), param)
    if step["parameters"] is None:
        del step["parameters"]
    body = raw.get("requestBody")
    if isinstance(body, Mapping):
        body = dict(body)
        if "payload" in body:
            body["payload"] = _rewrite(body["payload"], ids, args)
        body["replacements"] = each(body.get("replacements"), param)
        if body["replacements"] is None:
            del body["replacements"]
        step["requestBody"] = body
    for key in ("successCriteria",):
        if key in raw:
            step[key] = each(raw[key], criterion)
    for key in ("onSuccess", "onFailure"):
        if key in raw:
            step[key] = each(raw[key], action)
    if isinstance(raw.get("outputs"), Mapping):
        step["outputs"] = {k: _rewrite(v, ids, args) for k, v in raw["outputs"].items()}
    return step


_ANY_INPUT = re.compile(r"\{(" + _INPUT.pattern + r")\}|" + _INPUT.pattern)


def _rewrite(
    value: Any, ids: Mapping[str, str], args: Mapping[str, Any], *, condition: bool = False
) -> Any:
    """Inputs replaced by what the caller gives them, step ids renamed, in one pass (so a
    value put in is never rewritten again)."""
    if isinstance(value, Mapping):
        return {k: _rewrite(v, ids, args) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, ids, args) for v in value]
    if not isinstance(value, str):
        return value
    whole = _INPUT.fullmatch(value.strip())
    if whole and whole.group(1) in args and not condition:
        return _argument(args[whole.group(1)], whole.group(2))

    def swap(match: re.Match[str]) -> str:
        braced = match.group(1) is not None
        name, pointer = (match.group(2), match.group(3)) if braced else (match.group(4),
                                                                         match.group(5))  # fmt: skip
        if name not in args:
            return match.group(0)
        arg = args[name]
        if isinstance(arg, str) and arg.startswith("$"):
            joined = _join(arg, pointer.removeprefix("#"))
            return "{" + joined + "}" if braced else joined
        resolved = _argument(arg, pointer)
        if braced:
            return resolved if isinstance(resolved, str) else json.dumps(resolved)
        return _literal(resolved)

    value = _STEP.sub(lambda m: f"$steps.{ids.get(m.group(1), m.group(1))}.outputs.", value)
    return _ANY_INPUT.sub(swap, value)


def _argument(arg: Any, pointer: str) -> Any:
    if isinstance(arg, str) and arg.startswith("$"):
        return _join(arg, pointer.removeprefix("#"))
    if pointer:
        try:
            return json_pointer.resolve(arg, pointer.removeprefix("#"))
        except (json_pointer.PointerNotFound, ValueError):
            return None
    return arg


def _literal(value: Any) -> str:
    """A value written as a literal of a simple condition."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _properties(raw: Any, document: Mapping[str, Any]) -> dict[str, Any]:
    from lam.export.arazzo_import import input_schemas

    return input_schemas(raw, document)
