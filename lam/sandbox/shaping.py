"""Making simulated objects fit the spec: server-side fields, schema conformance, problems.

Objects a plan sends are stored as given, then made valid against the schema of the object the
API answers with: required fields it lacks are filled with deterministic examples, fields of
the wrong shape are replaced, unknown fields are dropped where the schema forbids them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lam import json_pointer
from lam.sandbox.collections import split_path
from lam.sandbox.examples import ExampleGenerator, media_example

__all__ = [
    "Missing",
    "Shaper",
    "error_value",
    "item_schema_props",
    "missing",
    "problem",
    "status_after",
    "without_write_only",
]

_ROUNDS = 4


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem document."""
    out: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        out["errors"] = errors
    return out


@dataclass(frozen=True)
class Missing:
    """The payload of a 404 for an object that does not exist: what to tell the caller."""

    message: str


def missing(coll: str, oid: str) -> tuple[int, Missing, dict[str, str]]:
    """``/pets``, ``9`` -> 404 "no pet with id 9"."""
    parts = split_path(coll)
    word = parts[-1] if parts else "object"
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return 404, Missing(f"no {word} with id {oid}"), {}


_MESSAGE_FIELDS = (
    "error",
    "message",
    "detail",
    "msg",
    "error_description",
    "description",
    "reason",
    "title",
)


def error_value(spec: Any, schema: Any, found: Mapping[str, Any]) -> dict[str, Any]:
    """A problem document with its text also in the fields of the spec's error shape.

    ``{error: string}`` gets ``{error: "no pet with id 9"}``: the first string field named
    like a message (``error``, ``message``, ``detail``...), else the first required string
    field, carries the problem's detail; an integer ``code``/``status`` field its status.
    Fields the schema forbids are dropped later, when the value is made to fit.
    """
    out = dict(found)
    props = item_schema_props(spec, schema)
    if not props:
        return out
    detail = str(found.get("detail") or found.get("title") or "")

    def kind(name: str) -> Any:
        sub = spec.resolve(props[name])
        return sub.get("type") if isinstance(sub, Mapping) else None

    strings = [n for n in props if kind(n) == "string"]
    named = [n for n in _MESSAGE_FIELDS if n in strings]
    resolved = spec.resolve(schema)
    required = list(resolved.get("required") or ()) if isinstance(resolved, Mapping) else []
    target = named[0] if named else next((n for n in required if n in strings), None)
    if target is not None:
        out[target] = detail
    for name in ("code", "status", "statusCode"):
        if name in props and kind(name) == "integer":
            out[name] = found.get("status")
    for name in props:  # {error: {message: ...}}: one level down
        sub = spec.resolve(props[name])
        if name in _MESSAGE_FIELDS and isinstance(sub, Mapping) and sub.get("type") == "object":
            out[name] = error_value(spec, sub, found)
    return out


def _past_forms(word: str) -> set[str]:
    """``cancel`` -> {cancel, canceled, cancelled, ...}: the states an action word leads to."""
    w = word.lower().replace("-", "").replace("_", "")
    forms = {w, w + "d", w + "ed", w + w[-1:] + "ed"}
    if w.endswith("y"):
        forms |= {w[:-1] + "ied", w[:-1] + "id"}
    return forms


def status_after(spec: Any, props: Mapping[str, Any], action: str) -> tuple[str, Any] | None:
    """The status-like field an action sub-path moves and the enum value it moves it to.

    A field named like ``status`` or ``state`` whose enum holds the action word or its past
    form (``cancel`` -> ``cancelled``/``canceled``, ``close`` -> ``closed``, ``pay`` ->
    ``paid``), compared ignoring case; ``None`` when no field fits.
    """
    forms = _past_forms(action)
    for name, sub in props.items():
        if "status" not in name.lower() and "state" not in name.lower():
            continue
        resolved = spec.resolve(sub)
        enum = resolved.get("enum") if isinstance(resolved, Mapping) else None
        for value in enum or ():
            if isinstance(value, str) and value.lower().replace("_", "") in forms:
                return name, value
    return None


def item_schema_props(spec: Any, schema: Any) -> dict[str, Any]:
    """The properties of an object schema, following ``$ref`` and merging ``allOf``."""
    schema = spec.resolve(schema) if schema is not None else None
    if not isinstance(schema, Mapping):
        return {}
    props: dict[str, Any] = {}
    for part in schema.get("allOf") or ():
        props.update(item_schema_props(spec, part))
    props.update(schema.get("properties") or {})
    return props


class Shaper:
    """Fits values to response schemas; one per simulator (holds its example generator)."""

    def __init__(self, spec: Any, examples: ExampleGenerator) -> None:
        self._spec = spec
        self._examples = examples

    def fill_server_fields(
        self, obj: dict[str, Any], schema: Any, where: str, current: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add the readOnly fields the server sets (kept from ``current`` on updates)."""
        out = dict(obj)
        for name, sub in item_schema_props(self._spec, schema).items():
            resolved = self._spec.resolve(sub)
            if name in out or not isinstance(resolved, Mapping) or not resolved.get("readOnly"):
                continue
            if current is not None and name in current:
                out[name] = current[name]
            else:
                out[name] = self._examples.generate(sub, f"{where}/{name}")
        return out

    def conform(self, value: Any, schema: Any, where: str) -> Any:
        """``value`` changed as little as needed to be valid against ``schema``."""
        validator = self._spec.validator(schema)
        for _ in range(_ROUNDS):
            errors = validator.errors(value)
            if not errors:
                return value
            pointers = sorted({p for p, _ in errors}, key=lambda p: -p.count("/"))
            for pointer in pointers:
                value = self._fix(value, schema, pointer, where)
        if validator.errors(value):
            return self._examples.generate(schema, where)
        return value

    def response_value(
        self, op: Any, status: int, payload: Any, item_schema: Any, *, keep: bool = False
    ) -> Any:
        """The body to answer with: ``payload`` fitted to the response schema for ``status``."""
        found = op.response_schema(status)
        if found is None or "json" not in found[0]:
            return payload if keep else _no_schema(payload)
        schema = found[1]
        return without_write_only(self._spec, schema, self._fit(op, status, payload, item_schema))

    def _fit(self, op: Any, status: int, payload: Any, item_schema: Any) -> Any:
        schema = op.response_schema(status)[1]
        where = f"{op.path}#{status}"
        if payload is None:
            example = self._response_example(op, status, schema)
            return example if example is not None else self._examples.generate(schema, where)
        if isinstance(payload, list) and not _is_array(self._spec.resolve(schema)):
            payload = self._wrap(payload, schema, where)
        elif item_schema is not None and schema == item_schema and isinstance(payload, dict):
            return payload
        return self.conform(payload, schema, where)

    # -- internals --------------------------------------------------------------------------

    def _response_example(self, op: Any, status: int, schema: Any) -> Any:
        response = op.responses.get(str(status))
        response = self._spec.resolve(response) if response is not None else None
        content = response.get("content") if isinstance(response, Mapping) else None
        for media_type, media in (content or {}).items():
            if "json" in media_type and isinstance(media, Mapping):
                has, value = media_example(media, self._spec.resolve)
                if has and self._spec.validator(schema).is_valid(value):
                    return value
        return None

    def _wrap(self, items: list[Any], schema: Any, where: str) -> Any:
        shell = self._examples.generate(schema, where)
        if not isinstance(shell, dict):
            return shell
        for name, sub in item_schema_props(self._spec, schema).items():
            if _is_array(self._spec.resolve(sub)):
                shell[name] = items
                for counter in ("total_count", "total", "count"):
                    if isinstance(shell.get(counter), int):
                        shell[counter] = len(items)
                break
        return shell

    def _fix(self, value: Any, schema: Any, pointer: str, where: str) -> Any:
        parts = json_pointer.parse(pointer)
        while True:
            sub = self._schema_at(schema, pointer) if parts else schema
            if sub is not None or not parts:
                break
            parts = parts[:-1]
            pointer = json_pointer.join(parts)
        target = _get(value, parts)
        fixed = self._repair(target, sub if sub is not None else schema, f"{where}{pointer}")
        return fixed if not parts else _set(value, parts, fixed)

    def _repair(self, target: Any, schema: Any, where: str) -> Any:
        resolved = self._spec.resolve(schema)
        generated = self._examples.generate(schema, where)
        if (
            isinstance(target, dict)
            and isinstance(generated, dict)
            and isinstance(resolved, Mapping)
        ):
            props = item_schema_props(self._spec, resolved)
            required = set(resolved.get("required") or ())
            for part in resolved.get("allOf") or ():
                part = self._spec.resolve(part)
                if isinstance(part, Mapping):
                    required |= set(part.get("required") or ())
            changed = dict(target)
            for name in required:
                if name not in changed and name in generated:
                    changed[name] = generated[name]
            if resolved.get("additionalProperties") is False and props:
                changed = {k: v for k, v in changed.items() if k in props}
            if changed != target:
                return changed
        return generated

    def _schema_at(self, schema: Any, pointer: str) -> Any:
        schema_at = getattr(self._spec, "schema_at", None)
        return schema_at(schema, pointer) if schema_at is not None else None


def without_write_only(spec: Any, schema: Any, value: Any, depth: int = 0) -> Any:
    """``value`` without the properties ``schema`` marks ``writeOnly`` (a password): a server
    takes them in and never answers with them, and a response holding one breaks the spec."""
    resolved = spec.resolve(schema)
    if depth > 32 or not isinstance(resolved, Mapping):
        return value
    if isinstance(value, list):
        items = resolved.get("items")
        if items is None:
            return value
        return [without_write_only(spec, items, v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    props: dict[str, Any] = {}
    for part in [resolved, *(resolved.get("allOf") or ())]:
        part = spec.resolve(part)
        if isinstance(part, Mapping) and isinstance(part.get("properties"), Mapping):
            props.update(part["properties"])
    if not props:
        return value
    out = {}
    for name, item in value.items():
        sub = spec.resolve(props.get(name))
        if isinstance(sub, Mapping) and sub.get("writeOnly"):
            continue
        out[name] = without_write_only(spec, sub, item, depth + 1) if sub is not None else item
    return out


def _no_schema(payload: Any) -> Any:
    return None


def _is_array(schema: Any) -> bool:
    return isinstance(schema, Mapping) and (schema.get("type") == "array" or "items" in schema)


def _get(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(value, list):
            i = json_pointer.index(part)
            value = value[i] if i is not None and i < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _set(value: Any, parts: list[str], new: Any) -> Any:
    head, rest = parts[0], parts[1:]
    i = json_pointer.index(head) if isinstance(value, list) else None
    if isinstance(value, list) and i is not None and i < len(value):
        copy = list(value)
        copy[i] = new if not rest else _set(copy[i], rest, new)
        return copy
    if isinstance(value, dict):
        out = dict(value)
        out[head] = new if not rest else _set(out.get(head), rest, new)
        return out
    return value
