"""Plain functions over simulated objects: their schemas, ids, examples and list filters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from lam.sandbox.collections import Resource
from lam.sandbox.examples import media_example
from lam.sandbox.shaping import item_schema_props

__all__ = [
    "Collection",
    "contains_params",
    "int_id",
    "item_schemas",
    "matches",
    "merge_live",
    "object_id",
    "response_example",
    "select",
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


def merge_live(
    items: list[Any],
    objects: Mapping[str, Any],
    *,
    gone: set[str],
    ours: set[str],
    id_fields: set[str],
    keep: Callable[[Any], bool],
) -> list[Any]:
    """A live list with the simulated changes: deleted ids dropped, stored objects in place of
    the live ones, and created or changed objects the live list lacks added at its end.

    The live app filtered its own objects; ``keep`` filters the simulated ones by the same
    query, so a changed object leaves or joins a filtered list as it would live.
    """
    merged: list[Any] = []
    seen: set[str] = set()
    for obj in items:
        oid = object_id(obj, id_fields)
        if oid is not None and oid in gone:
            continue
        if oid is not None and oid in objects:
            seen.add(oid)
            if keep(objects[oid]):
                merged.append(objects[oid])
        else:
            merged.append(obj)
    merged.extend(o for k, o in objects.items() if k not in seen and k in ours and keep(o))
    return merged


_PAGING = {"limit", "per_page", "page", "offset", "cursor", "starting_after", "ending_before"}


class Collection(MutableMapping[str, Any]):
    """The objects of one collection by id, in creation order, with per-field value indexes.

    An index is built the first time a list is filtered by that field and kept up to date on
    every write after, so filtered lists cost what they return, not what the collection holds.
    """

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}
        self._order: dict[str, int] = {}
        self._counter = 0
        self._indexes: dict[str, dict[str, dict[str, None]]] = {}

    def __getitem__(self, oid: str) -> Any:
        return self._objects[oid]

    def __setitem__(self, oid: str, obj: Any) -> None:
        if oid in self._objects:
            self._unindex(oid, self._objects[oid])
        else:
            self._counter += 1
            self._order[oid] = self._counter
        self._objects[oid] = obj
        for name, index in self._indexes.items():
            for key in _keys(obj.get(name) if isinstance(obj, dict) else None):
                index.setdefault(key, {})[oid] = None

    def __delitem__(self, oid: str) -> None:
        self._unindex(oid, self._objects.pop(oid))
        del self._order[oid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def where(self, name: str, wanted: set[str]) -> list[str]:
        """Ids of the objects whose field ``name`` matches one of ``wanted``, in order."""
        index = self._indexes.get(name)
        if index is None:
            index = self._indexes[name] = {}
            for oid, obj in self._objects.items():
                for key in _keys(obj.get(name) if isinstance(obj, dict) else None):
                    index.setdefault(key, {})[oid] = None
        found: dict[str, None] = {}
        for key in wanted:
            found.update(index.get(key, {}))
        return sorted(found, key=self._order.__getitem__)

    def _unindex(self, oid: str, obj: Any) -> None:
        for name, index in self._indexes.items():
            for key in _keys(obj.get(name) if isinstance(obj, dict) else None):
                index.get(key, {}).pop(oid, None)


_SEARCH_NAMES = frozenset({"name", "q", "search", "query", "term", "keyword"})
_SEARCH_WORDS = ("contain", "search", "substring", "part of", "matching")


def contains_params(op: Any) -> frozenset[str]:
    """The query parameters of ``op`` that match substrings rather than whole values.

    The rule: a parameter named ``name``, ``q``, ``search``, ``query``, ``term`` or
    ``keyword``, or one whose description says "contains", "search", "substring", "part of"
    or "matching", matches any value that holds it, ignoring case. ``q``-style parameters that
    name no field match any string field of the object.
    """
    found = set()
    for param in getattr(op, "parameters", ()):
        if param.location != "query":
            continue
        text = (param.description or "").lower()
        if param.name.lower() in _SEARCH_NAMES or any(w in text for w in _SEARCH_WORDS):
            found.add(param.name)
    return frozenset(found)


def matches(
    obj: Any,
    query: Mapping[str, list[str]],
    props: Mapping[str, Any],
    contains: frozenset[str] = frozenset(),
) -> bool:
    """Whether one object passes the filters of a list request (see :func:`select`)."""
    for name, values in query.items():
        if name in _PAGING or not values:
            continue
        if name in contains:
            if not _holds(obj, name, values, props):
                return False
        elif name in props:
            wanted = {w for v in values for w in str(v).split(",")}
            if not _keys(obj.get(name) if isinstance(obj, dict) else None) & wanted:
                return False
    return True


def select(
    objects: Collection,
    query: Mapping[str, list[str]],
    props: Mapping[str, Any],
    contains: frozenset[str] = frozenset(),
) -> list[Any]:
    """The objects a list request asks for: query parameters that name fields filter them.

    Exact parameters use the collection's indexes; ``contains`` parameters (see
    :func:`contains_params`) match substrings and scan what the exact ones left.
    """
    chosen: list[str] | None = None
    for name, values in query.items():
        if name in _PAGING or name not in props or name in contains or not values:
            continue
        wanted = {w for v in values for w in str(v).split(",")}
        found = objects.where(name, wanted)
        chosen = found if chosen is None else [o for o in chosen if o in set(found)]
    out = [objects[o] for o in chosen] if chosen is not None else list(objects.values())
    searches = {k: v for k, v in query.items() if k in contains and v}
    if searches:
        out = [obj for obj in out if matches(obj, searches, props, contains)]
    limit = next((query[k][0] for k in ("limit", "per_page") if query.get(k)), None)
    if limit is not None and limit.isdigit():
        out = out[: int(limit)]
    return out


def _holds(obj: Any, name: str, values: list[str], props: Mapping[str, Any]) -> bool:
    if not isinstance(obj, dict):
        return False
    # a field's own parameter reads that field; a free-text one (q) any string field
    texts = [obj.get(name)] if name in props else list(obj.values())
    strings = [t.lower() for t in texts if isinstance(t, str)]
    return any(v.lower() in t for v in values for t in strings)


def _keys(value: Any) -> set[str]:
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    if isinstance(value, dict):
        return {str(value["name"])} if "name" in value else set()
    if isinstance(value, bool):
        return {str(value).lower()}
    return set() if value is None else {str(value)}
