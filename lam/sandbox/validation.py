"""Request validation for the simulator: parameters and JSON bodies against the operation.

Parameters arrive as strings; they are coerced to the type their schema names (``integer``,
``number``, ``boolean``, ``array``) before validation, as a real server's framework would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs

from lam.json_pointer import escape

__all__ = ["INVALID_JSON", "coerce", "decode_body", "request_errors"]


class _Request(Protocol):
    @property
    def query(self) -> Mapping[str, list[str]]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


def request_errors(
    spec: Any, op: Any, path_params: Mapping[str, str], request: _Request, body: Any
) -> list[dict[str, str]]:
    """Every problem with ``request`` against ``op``, as ``{in, name, message}`` entries."""
    errors: list[dict[str, str]] = []
    headers = {k.lower(): v for k, v in request.headers.items()}
    for param in op.parameters:
        where = param.location
        raw: list[str] | None
        if where == "path":
            raw = [path_params[param.name]] if param.name in path_params else None
        elif where == "query":
            raw = request.query.get(param.name)
        elif where == "header":
            value = headers.get(param.name.lower())
            raw = [value] if value is not None else None
        else:
            continue
        if not raw:
            if param.required:
                errors.append(
                    _err(where, param.name, f"{where} parameter {param.name!r} is required")
                )
            continue
        schema = spec.resolve(param.schema) if param.schema else {}
        value, ok = coerce(raw, schema if isinstance(schema, Mapping) else {}, spec)
        if not ok:
            errors.append(
                _err(where, param.name, f"{param.name!r}: expected {_kind(schema)}, got {raw[0]!r}")
            )
            continue
        if _spelled_member(schema, value):
            continue  # `enum: [0, 1]` on a string parameter: the wire can only send "0"
        for pointer, message in spec.validator(param.schema).errors(value) if param.schema else ():
            errors.append(_err(where, param.name + pointer, f"{param.name}{pointer}: {message}"))
    request_body = op.request_body
    if request_body is None:
        return errors
    null = body is None and request.body.strip() == b"null"  # JSON null: a body, and a value
    if body is None and not null:
        if request_body.get("required") and not request.body and not _empty_ok(spec, op, headers):
            errors.append(_err("body", "", "a request body is required"))
        return errors
    if not null and not isinstance(body, dict | list | str | int | float | bool):
        errors.append(_err("body", "", "the request body is not valid JSON"))
        return errors
    ctype = headers.get("content-type")
    found = op.request_schema(ctype.split(";")[0].strip() if ctype else None)
    if found is not None and ("json" in found[0] or "form" in found[0]):
        form = "form" in found[0]
        if form and isinstance(body, dict):  # form fields are strings on the wire: read them
            body, wrong = _form_values(spec, found[1], body)
            errors.extend(wrong)
        for problem in spec.validator(found[1]).problems(body):
            if form and problem.keyword == "type":
                continue  # a field _form_values could not read is reported already
            if problem.keyword == "required" and spec.read_only(found[1], problem.pointer):
                continue  # the server fills required readOnly fields; clients leave them out
            if form and problem.keyword == "required" and _array(spec, found[1], problem.pointer):
                continue  # an empty list has no field on a form: absent is []
            pointer = problem.pointer
            errors.append(_err("body", pointer, f"body{pointer or ''}: {problem.message}"))
    return errors


def decode_body(request: _Request, op: Any) -> Any:
    """The JSON (or form) body as a value; None for other media types and empty bodies."""
    if not request.body:
        return None
    ctype = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    if not ctype:  # unlabelled: read it as the operation's first media type would be
        found = op.request_schema(None)
        ctype = found[0] if found else "application/json"
    if "form-urlencoded" in ctype:
        text = request.body.decode("utf-8", "replace")
        # `name=` is a field holding "", not a missing one
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    if ctype and "json" not in ctype:
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return INVALID_JSON


INVALID_JSON: Any = object()
"""What :func:`decode_body` gives for a body labelled JSON that does not parse."""


def coerce(raw: list[str], schema: Mapping[str, Any], spec: Any) -> tuple[Any, bool]:
    """Wire strings -> the value their schema describes; ``(value, False)`` if impossible."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "array":
        items = spec.resolve(schema.get("items") or {})
        parts = [p for v in raw for p in (v.split(",") if len(raw) == 1 else [v])]
        values = []
        for part in parts:
            value, ok = coerce([part], items if isinstance(items, Mapping) else {}, spec)
            if not ok:
                return None, False
            values.append(value)
        return values, True
    text = raw[0]
    try:
        if kind == "integer":
            return int(text), True
        if kind == "number":
            return float(text), True
    except ValueError:
        return None, False
    if kind == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true", True
        return None, False
    return text, True


def _empty_ok(spec: Any, op: Any, headers: Mapping[str, str]) -> bool:
    """An empty body labelled with a media type whose schema is a string (an octet-stream
    upload) is that string, empty: present, and valid unless the schema sets a minLength."""
    ctype = headers.get("content-type")
    found = op.request_schema(ctype.split(";")[0].strip()) if ctype else None
    schema = spec.resolve(found[1]) if found is not None else None
    return (
        isinstance(schema, Mapping)
        and schema.get("type") == "string"
        and not schema.get("minLength")
    )


def _form_values(
    spec: Any, schema: Any, body: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Form fields read as the types their properties declare (``userStatus=2`` -> 2), so
    their bounds are checked; a field that cannot be read so is an error."""
    out: dict[str, Any] = dict(body)
    errors: list[dict[str, str]] = []
    for name, raw in body.items():
        target = spec.schema_at(schema, "/" + escape(name))
        if not isinstance(target, Mapping) or target.get("type") not in _SCALARS:
            continue
        value, ok = coerce([str(raw)], target, spec)
        if ok:
            out[name] = value
        else:
            errors.append(
                _err("body", "/" + name, f"body/{name}: expected {_kind(target)}, got {raw!r}")
            )
    return out, errors


_SCALARS = ("integer", "number", "boolean")


def _spelled_member(schema: Any, value: Any) -> bool:
    """Whether a string ``value`` spells a non-string member of ``schema``'s enum (TMDB types
    its status filter as a string with the members 0-5; no value could satisfy both)."""
    members = schema.get("enum") if isinstance(schema, Mapping) else None
    return (
        isinstance(value, str)
        and isinstance(members, list)
        and any(not isinstance(m, str) and json.dumps(m) == value for m in members)
    )


def _array(spec: Any, schema: Any, pointer: str) -> bool:
    target = spec.schema_at(schema, pointer)
    return isinstance(target, Mapping) and (target.get("type") == "array" or "items" in target)


def _kind(schema: Any) -> str:
    return str(schema.get("type", "a value")) if isinstance(schema, Mapping) else "a value"


def _err(where: str, name: str, message: str) -> dict[str, str]:
    return {"in": where, "name": name, "message": message}
