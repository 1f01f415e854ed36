"""Plain functions over simulated objects: their schemas, ids, examples and list filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lam.sandbox.collections import Resource
from lam.sandbox.examples import media_example
from lam.sandbox.shaping import item_schema_props

__all__ = [
    "filter_objects",
    "int_id",
    "item_schemas",
    "object_id",
    "response_example",
    "typed_id",
]


def item_schemas(operations: tuple[Any, ...], resources: Mapping[str, Resource]) -> dict[str, Any]:
    """Collection template -> the schema of one of its objects (item GET, else create, else list)."""
    found: dict[str, Any] = {}
    ranked: dict[str, int] = {}
    for op in operations:
        res = resources[op.path]
        if res.collection is None:
            continue
        rank, schema = 9, None
        method = op.method.upper()
        if res.kind == "item" and method == "GET":
            rank, schema = 0, _schema_of(op, 200)
        elif res.kind == "collection" and method == "POST":
            rank, schema = 1, _schema_of(op, 201) or _schema_of(op, 200)
        elif res.kind in ("collection", "search") and method == "GET":
            listed = _schema_of(op, 200)
            rank, schema = 2, listed.get("items") if isinstance(listed, Mapping) else None
        if schema is not None and rank < ranked.get(res.collection, 9):
            found[res.collection], ranked[res.collection] = schema, rank
    return found


def _schema_of(op: Any, status: int) -> Any:
    found = op.response_schema(status)
    return found[1] if found else None


def response_example(spec: Any, op: Any) -> Any:
    response = op.responses.get("200") or op.responses.get("201")
    response = spec.resolve(response) if response is not None else None
    if not isinstance(response, Mapping):
        return None
    for media_type, media in (response.get("content") or {}).items():
        if "json" in media_type and isinstance(media, Mapping):
            has, value = media_example(media, spec.resolve)
            if has:
                schema = media.get("schema")
                if schema is None or spec.validator(schema).is_valid(value):
                    return value
    return None


def int_id(schema: Any, id_field: str, spec: Any) -> bool:
    props = item_schema_props(spec, schema)
    sub = spec.resolve(props.get(id_field, {}))
    kind = sub.get("type") if isinstance(sub, Mapping) else None
    return kind in ("integer", "number") or (isinstance(kind, list) and "integer" in kind)


def typed_id(oid: str, schema: Any, id_field: str, spec: Any) -> Any:
    if int_id(schema, id_field, spec) and oid.lstrip("-").isdigit():
        return int(oid)
    return oid


def object_id(obj: Any, fields: set[str]) -> str | None:
    if isinstance(obj, dict):
        for name in ("id", *sorted(fields)):
            if obj.get(name) is not None:
                return str(obj[name])
    return None


_PAGING = {"limit", "per_page", "page", "offset", "cursor", "starting_after", "ending_before"}


def filter_objects(
    objects: list[Any], query: Mapping[str, list[str]], props: Mapping[str, Any]
) -> list[Any]:
    for name, values in query.items():
        if name in _PAGING or name not in props or not values:
            continue
        wanted = {w for v in values for w in str(v).split(",")}
        objects = [
            o for o in objects if isinstance(o, dict) and _field_matches(o.get(name), wanted)
        ]
    limit = next((query[k][0] for k in ("limit", "per_page") if query.get(k)), None)
    if limit is not None and limit.isdigit():
        objects = objects[: int(limit)]
    return objects


def _field_matches(value: Any, wanted: set[str]) -> bool:
    if isinstance(value, list):
        return any(_field_matches(v, wanted) for v in value)
    if isinstance(value, dict):
        return str(value.get("name")) in wanted
    if isinstance(value, bool):
        return str(value).lower() in wanted
    return str(value) in wanted
