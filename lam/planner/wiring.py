"""Picked operations -> plan steps: values placed, ids and tokens passed from step to step.

A value the clause gives goes where :mod:`lam.planner.params` put it. A required slot the
clause leaves empty is filled, in this order, from an earlier step (an id it created or found,
``$steps.add.outputs.id``), from the schema's ``default``, from its ``example`` (each noted for the
reviewer), or else reported as unsure. A step whose operation needs a bearer token gets the
``Authorization`` header from an earlier login step's output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lam.planner.bm25 import stem, tokens, words
from lam.planner.params import Slot, slots_of
from lam.spec import Operation, Spec

if TYPE_CHECKING:
    from lam.planner.api_goals import Ranked

__all__ = ["Built", "bearer_needed", "build_steps", "output_expression", "success_schema"]

_STEP_ID = re.compile(r"[^A-Za-z0-9_-]+")
_PRONOUN = re.compile(r"\b(it|them|that|this|its|new|same)\b", re.I)
_JSON = re.compile(r"^application/(?:[\w.+-]+\+)?json$", re.I)


@dataclass(frozen=True)
class Built:
    """Steps ready for a plan, with what the reviewer should know."""

    steps: tuple[dict[str, Any], ...]
    unsure: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class _Made:
    step: dict[str, Any]
    spec: Spec
    op: Operation
    resources: frozenset[str]


def bearer_needed(spec: Spec, op: Operation) -> bool:
    """Does the operation accept an HTTP bearer token (and need some credential)?"""
    security = op.security if op.security is not None else spec.document.get("security")
    if not security:
        return False
    for requirement in security:
        for scheme in requirement:
            found = spec.security_schemes.get(scheme, {})
            if found.get("type") == "http" and str(found.get("scheme", "")).lower() == "bearer":
                return True
    return False


def success_schema(spec: Spec, op: Operation) -> Mapping[str, Any] | None:
    """The schema of the operation's first 2xx response that has one, resolved."""
    for status in sorted(op.responses):
        if status.startswith("2"):
            picked = op.response_schema(status)
            if picked is not None:
                node = spec.resolve(picked[1])
                return node if isinstance(node, Mapping) else None
    return None


def output_expression(spec: Spec, op: Operation, what: str) -> str | None:
    """Where the success response carries ``what`` ("id" or "token"), as a runtime expression."""
    schema = success_schema(spec, op)
    if schema is None:
        return None
    prefix = "$response.body#"
    if schema.get("type") == "array":
        items = spec.resolve(schema.get("items", {}))
        if not isinstance(items, Mapping):
            return None
        schema, prefix = items, "$response.body#/0"
    if what == "token" and schema.get("type") == "string" and prefix == "$response.body#":
        return "$response.body"
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return None
    names = [str(n) for n in props]
    for name in names:
        if name == what or (what == "token" and "token" in name.lower()):
            return f"{prefix}/{name}"
    return None


def _is_login(op: Operation) -> bool:
    return "login" in tokens(f"{op.operation_id or ''} {op.summary} {op.path}")


def _step_id(op: Operation, taken: set[str]) -> str:
    base = _STEP_ID.sub("_", op.operation_id or f"{op.method.lower()}_{op.path}").strip("_-")
    if not base or not base[0].isalpha():
        base = f"step_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _resources(op: Operation) -> frozenset[str]:
    segments = [s for s in op.path.split("/") if s and not s.startswith("{")]
    return frozenset(stem(w) for s in segments for w in words(s))


def _producer(slot: Slot, made: Sequence[_Made], clause: str) -> tuple[_Made, str] | None:
    """The latest earlier step that yields the id this slot wants."""
    if "id" not in slot.stems or slot.kind not in ("integer", "string"):
        return None
    wanted = set(slot.stems) - {"id"}
    for m in reversed(made):
        if m.op.method == "DELETE":
            continue
        expr = output_expression(m.spec, m.op, "id")
        if expr and (wanted & m.resources or (not wanted and _PRONOUN.search(clause))):
            return m, expr
    if _PRONOUN.search(clause):
        for m in reversed(made):
            expr = output_expression(m.spec, m.op, "id")
            if expr and m.op.method != "DELETE":
                return m, expr
    return None


def build_steps(picks: Sequence[Ranked], apis: Mapping[str, Spec], clauses: Sequence[str]) -> Built:
    """Plan steps for the picked operations, one per clause, in order."""
    made: list[_Made] = []
    unsure: list[str] = []
    notes: list[str] = []
    taken: set[str] = set()
    login: _Made | None = None
    for pick, clause in zip(picks, clauses, strict=True):
        spec, op = apis[pick.api], pick.op
        step: dict[str, Any] = {"id": _step_id(op, taken), "description": clause, "call": pick.ref}
        params: dict[str, Any] = {}
        body: dict[str, Any] = {}
        got = {(f.slot.where, f.slot.name): f.value for f in pick.filled}
        for slot in slots_of(spec, op):
            where = "body" if slot.where == "body" else "params"
            target = body if where == "body" else params
            if (slot.where, slot.name) in got:
                target[slot.name] = got[(slot.where, slot.name)]
                continue
            if slot.where == "header" and slot.name.lower() in ("authorization", "api_key"):
                continue
            link = next(
                (k for k in pick.links if (k.where, k.name) == (slot.where, slot.name)), None
            )
            if link is not None and link.back <= len(made):  # a chain planned backwards
                source = made[len(made) - link.back]
                source.step.setdefault("outputs", {})[link.output] = link.pointer
                target[slot.name] = f"$steps.{source.step['id']}.outputs.{link.output}"
                continue
            found = _producer(slot, made, clause)
            if found is not None:
                source, expr = found
                source.step.setdefault("outputs", {})["id"] = expr
                target[slot.name] = f"$steps.{source.step['id']}.outputs.id"
                continue
            if not slot.required and slot.where != "path":
                continue
            place = f"{step['id']}: {'body field' if where == 'body' else slot.where} {slot.name}"
            if "default" in slot.schema:
                target[slot.name] = slot.schema["default"]
                notes.append(f"{place}: the goal gives no value; took the schema's default")
            elif "example" in slot.schema:
                target[slot.name] = slot.schema["example"]
                notes.append(f"{place}: the goal gives no value; took the schema's example")
            else:
                unsure.append(f"{place}: the goal gives no value and the spec has no default")
        if login is not None and bearer_needed(spec, op):
            token = output_expression(login.spec, login.op, "token")
            if token is not None:
                login.step.setdefault("outputs", {})["token"] = token
                params["Authorization"] = f"Bearer {{$steps.{login.step['id']}.outputs.token}}"
        if params:
            step["params"] = params
        if op.request_body is not None:
            picked = op.request_schema()
            content = op.request_body.get("content")
            media: str | None = picked[0] if picked else None
            if media is None and isinstance(content, Mapping):
                media = next(iter(content), None)
            if body or op.request_body.get("required"):
                step["body"] = body
                if media and not _JSON.match(media.split(";")[0].strip()):
                    step["content_type"] = media
            if not body and op.request_body.get("required") and not unsure:
                unsure.append(f"{step['id']}: the goal gives nothing to send in the body")
        current = _Made(step, spec, op, _resources(op))
        made.append(current)
        if _is_login(op) and output_expression(spec, op, "token"):
            login = current
    return Built(tuple(m.step for m in made), tuple(unsure), tuple(notes))
