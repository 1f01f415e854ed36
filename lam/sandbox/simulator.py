"""A stateful in-memory API generated from an OpenAPI spec: the dry run's world for API calls.

POST to a collection creates, GET reads (stored objects, or deterministic examples that are
materialized on first access), PUT replaces, PATCH merges, DELETE removes (later GETs answer
404). Requests are validated against the spec (400 with a problem JSON); responses are made to
fit the spec's response schema for their status. A ``fallback`` reads through to a live app
for objects and lists the simulator does not know, and simulated changes are merged into what
it answers (new ids skip the ids the live list already uses).

Rules a plan author can count on:

- List filters: a query parameter that names a field keeps the objects whose field equals one
  of its values (comma-separated values are alternatives). A parameter named ``name``, ``q``,
  ``search``, ``query``, ``term`` or ``keyword``, or described as "contains"/"search"/
  "substring"/"matching", matches substrings ignoring case (``q`` and friends: any string
  field). ``limit``/``per_page`` cut the list.
- Actions: ``POST /orders/{id}/cancel`` moves a field named like ``status``/``state`` to the
  enum value that is the action word or its past form (cancelled/canceled, closed, paid).
- Seed data is a collection's whole state: unknown ids in it answer 404 (elsewhere, without a
  fallback, an unknown id is materialized from examples).
- A 404 says what is missing ("no pet with id 9") in the spec's error shape: the first string
  field named like a message (``error``, ``message``, ``detail``...) carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from lam.sandbox.collections import Resource, Route, Router, build_resources, split_path
from lam.sandbox.examples import ExampleGenerator
from lam.sandbox.objects import (
    Collection,
    contains_params,
    int_id,
    item_schemas,
    matches,
    merge_live,
    object_id,
    response_example,
    select,
    typed_id,
)
from lam.sandbox.security import challenge, unauthorized
from lam.sandbox.shaping import (
    Missing,
    Shaper,
    error_value,
    item_schema_props,
    missing,
    problem,
    status_after,
)
from lam.sandbox.validation import coerce, decode_body, request_errors

if TYPE_CHECKING:
    from lam.spec import Spec

__all__ = ["Fallback", "JournalEntry", "SimRequest", "SimResponse", "Simulator"]


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request as the simulator sees it."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class SimResponse:
    """The simulator's answer; ``json`` is the decoded body (``None`` when empty)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    json: Any = None


@dataclass(frozen=True)
class JournalEntry:
    """A state-changing request the simulator handled."""

    method: str
    path: str
    operation_id: str | None
    status: int
    collection: str | None
    object_id: str | None
    body: Any


Fallback = Callable[[SimRequest], SimResponse | None]
_Key = tuple[str, str]


class Simulator:
    """An in-memory API for ``spec``; deterministic for a given ``seed`` and ``seed_data``.

    ``seed_data`` maps collection paths (``/pets``, ``/users/alice/repos``) to lists of
    objects. ``base_path`` is stripped from request paths (default: the first server's path).
    ``validate=False`` turns request validation off, for speed only. ``security=True`` answers
    401 to a request that lacks a credential its operation requires (``lam sandbox serve``); a
    dry run leaves it off, as the guard adds the operator's credentials only on the way out.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        seed: int = 0,
        seed_data: Mapping[str, Any] | None = None,
        base_path: str | None = None,
        fallback: Fallback | None = None,
        validate: bool = True,
        security: bool = False,
    ) -> None:
        self.spec: Any = spec
        self.seed = seed
        self.fallback = fallback
        self.validate = validate
        self.security = security
        if base_path is None:
            servers = tuple(getattr(spec, "servers", ()) or ())
            base_path = urlsplit(servers[0]).path if servers else ""
        self.base_path = "/" + "/".join(split_path(base_path)) if split_path(base_path) else ""
        operations = tuple(spec.operations)
        self._resources = build_resources([op.path for op in operations], operations)
        self._router = Router(operations, self._resources)
        self._examples = ExampleGenerator(
            spec.resolve, seed=seed, check=lambda s, v: bool(spec.validator(s).is_valid(v))
        )
        self._shaper = Shaper(spec, self._examples)
        self._item_schemas = item_schemas(operations, self._resources)
        self._id_fields: dict[str, str | None] = {}
        self._last_ids: dict[str, int] = {}
        self._store: dict[str, Collection] = {}
        self._deleted: set[_Key] = set()
        self._created: set[_Key] = set()
        self._changed: set[_Key] = set()
        self._contains_cache: dict[int, frozenset[str]] = {}
        self._given = {self._local(k): list(v) for k, v in (seed_data or {}).items()}
        self.journal: list[JournalEntry] = []

    # -- the one entry point ---------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request, changing the simulated state as the request would."""
        path = self._local(request.path.split("?", 1)[0])
        method = request.method.upper()
        route = self._router.match(method, path)
        if route is None:
            return self._problem(None, 404, "Not Found", f"no operation for {method} {path}")
        if isinstance(route, str):
            # `/user/` is /user/{username} with an empty username: no such user, not a 405
            item = self._router.match(method, path + "/-") if request.path.endswith("/") else None
            if item is not None and not isinstance(item, str) and item.resource.kind == "item":
                return self._respond(item, *missing(path, '""')[:2], {})
            allowed = sorted({op.method.upper() for op in self.spec.operations if op.path == route})
            answer = self._problem(None, 405, "Method Not Allowed", f"{method} {route}")
            return SimResponse(
                405, {**answer.headers, "allow": ", ".join(allowed)}, answer.body, answer.json
            )
        if self.security:
            why = unauthorized(self.spec, route.operation, request)
            if why is not None:
                answer = self._problem(route, 401, "Unauthorized", why)
                headers = {
                    **answer.headers,
                    "www-authenticate": challenge(self.spec, route.operation),
                }
                return SimResponse(401, headers, answer.body, answer.json)
        body = decode_body(request, route.operation)
        if self.validate:
            errors = request_errors(self.spec, route.operation, route.params, request, body)
            if errors:
                status = _client_error(route.operation, errors)
                title = "Not Found" if status == 404 else "Bad Request"
                return self._problem(route, status, title, errors[0]["message"], errors)
        status, payload, headers = self._dispatch(method, route, path, request, body)
        if method not in ("GET", "HEAD", "OPTIONS"):
            self._record(method, request.path, route, status, path, body, payload)
        return self._respond(route, status, payload, headers)

    def _local(self, path: str) -> str:
        """``/api/v3/pet/1`` -> ``/pet/1``: the path without the base path, if it has it."""
        path = "/" + "/".join(split_path(path))
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path) :] or "/"
        return path

    # -- dispatch --------------------------------------------------------------------------

    def _dispatch(
        self, method: str, route: Route, path: str, request: SimRequest, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        res = route.resource
        parts = split_path(path)
        if res.kind == "collection":
            coll = "/" + "/".join(parts)
            if method == "POST":
                return self._create(route, coll, body, request)
            if method in ("PUT", "PATCH") and isinstance(body, dict):
                oid = self._body_id(res, body)
                if oid is not None:
                    return self._update(route, coll, oid, body, method == "PATCH", request)
            if method == "GET":
                return self._list(route, coll, request)
        elif res.kind == "search" and method == "GET":
            return self._list(route, "/" + "/".join(parts[:-1]), request)
        elif res.kind == "item":
            coll, oid = "/" + "/".join(parts[:-1]), parts[-1]
            if method in ("GET", "HEAD"):
                return self._get(route, coll, oid, request)
            if method == "DELETE":
                return self._delete(route, coll, oid, request)
            if method in ("PUT", "PATCH", "POST"):
                merge = method != "PUT" or not isinstance(body, dict)
                return self._update(route, coll, oid, body, merge, request)
        elif res.kind == "action":
            coll, oid = "/" + "/".join(parts[:-2]), parts[-2]
            return self._action(route, coll, oid, body, request, path)
        return self._success(route.operation, method), None, {}

    def _create(
        self, route: Route, coll: str, body: Any, request: SimRequest
    ) -> tuple[int, Any, dict[str, str]]:
        objects = self._collection(coll, route.resource.template)
        schema = self._item_schemas.get(route.resource.template)
        obj = dict(body) if isinstance(body, dict) else {}
        id_field = self._id_field(route.resource.template)
        oid = str(obj[id_field]) if id_field and obj.get(id_field) is not None else None
        if oid is None and id_field:
            taken = self._live_ids(coll, id_field, request)
            known: Mapping[str, Any] = {**dict.fromkeys(taken), **objects} if taken else objects
            oid = self._new_id(coll, known, schema, id_field)
            obj[id_field] = typed_id(oid, schema, id_field, self.spec)
        oid = oid or str(len(objects) + 1)
        obj = self._shaper.fill_server_fields(obj, schema, f"{coll}/{oid}")
        obj = self._shaper.conform(obj, schema, f"{coll}/{oid}") if schema else obj
        objects[oid] = obj
        self._created.add((coll, oid))
        self._deleted.discard((coll, oid))
        status = self._success(route.operation, "POST")
        # percent-encoded: an id may hold any character, a header only latin-1 (a 500 before)
        return status, obj, {"location": quote(f"{self.base_path}{coll}/") + quote(oid, safe="")}

    def _get(
        self, route: Route, coll: str, oid: str, request: SimRequest
    ) -> tuple[int, Any, dict[str, str]]:
        obj = self._lookup(route, coll, oid, request)
        if obj is None:
            return missing(coll, oid)
        return self._success(route.operation, "GET"), obj, {}

    def _update(
        self, route: Route, coll: str, oid: str, body: Any, merge: bool, request: SimRequest
    ) -> tuple[int, Any, dict[str, str]]:
        current = self._lookup(route, coll, oid, request)
        if current is None:
            return missing(coll, oid)
        schema = self._item_schemas.get(self._resources[route.operation.path].collection or "")
        if isinstance(body, dict):
            changes = body
        else:  # a form-style update sends the fields as query parameters (updatePetWithForm)
            props = item_schema_props(self.spec, schema)
            changes = {}
            for name, raw in request.query.items():
                prop = self.spec.resolve(props.get(name))
                if raw and isinstance(prop, Mapping):
                    value, ok = coerce(raw, prop, self.spec)
                    if ok:
                        changes[name] = value
        obj = {**current, **changes} if merge else dict(changes)
        id_field = self._id_field(route.resource.collection or "")
        if id_field and id_field in current:
            obj[id_field] = current[id_field]
        if schema:
            obj = self._shaper.fill_server_fields(obj, schema, f"{coll}/{oid}", current)
            obj = self._shaper.conform(obj, schema, f"{coll}/{oid}")
        self._collection(coll, route.resource.collection or "")[oid] = obj
        self._changed.add((coll, oid))
        return self._success(route.operation, request.method.upper()), obj, {}

    def _delete(
        self, route: Route, coll: str, oid: str, request: SimRequest
    ) -> tuple[int, Any, dict[str, str]]:
        if self._lookup(route, coll, oid, request) is None:
            return missing(coll, oid)
        self._collection(coll, route.resource.collection or "").pop(oid, None)
        self._deleted.add((coll, oid))
        return self._success(route.operation, "DELETE"), None, {}

    def _action(
        self, route: Route, coll: str, oid: str, body: Any, request: SimRequest, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        item_route = Route(
            route.operation,
            self._resources.get(_parent(route.resource.template)) or route.resource,
            route.params,
        )
        current = self._lookup(item_route, coll, oid, request)
        if current is None:
            return missing(coll, oid)
        schema = self._item_schemas.get(route.resource.collection or "")
        props = item_schema_props(self.spec, schema)
        changes = {k: v for k, v in body.items() if k in props} if isinstance(body, dict) else {}
        # /orders/{id}/cancel moves a status-like field to "cancelled" when its enum has it
        moved = status_after(self.spec, props, split_path(path)[-1])
        if moved is not None and moved[0] not in changes:
            changes[moved[0]] = moved[1]
        if changes:
            current = {**current, **changes}
            if schema is not None:
                current = self._shaper.conform(current, schema, f"{coll}/{oid}")
            self._collection(coll, route.resource.collection or "")[oid] = current
            self._changed.add((coll, oid))
        status = self._success(route.operation, request.method.upper())
        answers = route.operation.response_schema(status)
        # an action that answers with its object shows the change; others get their own example
        return status, current if answers is not None and answers[1] == schema else None, {}

    def _list(
        self, route: Route, coll: str, request: SimRequest
    ) -> tuple[int, Any, dict[str, str]]:
        template = route.resource.collection or route.resource.template
        props = item_schema_props(self.spec, self._item_schemas.get(template))
        contains = self._contains(route.operation)
        if self.fallback is not None and coll not in self._given:
            answer = self.fallback(request)
            if answer is not None and 200 <= answer.status < 300:
                merged = self._merge_list(coll, answer.json, request.query, props, contains)
                return answer.status, merged, {}
        return 200, select(self._collection(coll, template), request.query, props, contains), {}

    def _contains(self, op: Any) -> frozenset[str]:
        found = self._contains_cache.get(id(op))
        if found is None:
            found = self._contains_cache[id(op)] = contains_params(op)
        return found

    # -- state ------------------------------------------------------------------------------

    def _collection(self, coll: str, template: str) -> Collection:
        objects = self._store.get(coll)
        if objects is None:
            objects = self._store[coll] = Collection()
            self._seed_collection(coll, template, objects)
        return objects

    def _seed_collection(self, coll: str, template: str, objects: Collection) -> None:
        seeds = self._given.get(coll)
        if seeds is None:
            seeds = self._example_list(template, coll) if self.fallback is None else []
        id_field = self._id_field(template)
        schema = self._item_schemas.get(template)
        for index, obj in enumerate(seeds):
            if not isinstance(obj, dict):
                continue
            oid = str(obj.get(id_field, index + 1)) if id_field else str(index + 1)
            if (coll, oid) in self._deleted:
                continue
            objects[oid] = (
                self._shaper.conform(dict(obj), schema, f"{coll}/{oid}") if schema else obj
            )

    def _example_list(self, template: str, coll: str) -> list[Any]:
        """The spec's list example, else two generated objects with distinct ids."""
        for op in self.spec.operations:
            if op.path == template and op.method.upper() == "GET":
                found = response_example(self.spec, op)
                if isinstance(found, list) and all(isinstance(o, dict) for o in found):
                    return found
        schema = self._item_schemas.get(template)
        if schema is None:
            return []
        id_field = self._id_field(template)
        out = []
        for n in (1, 2):
            obj = self._examples.generate(schema, f"{coll}/{n}")
            if isinstance(obj, dict) and id_field:
                obj[id_field] = typed_id(
                    str(n) if int_id(schema, id_field, self.spec) else f"{id_field}-{n}",
                    schema,
                    id_field,
                    self.spec,
                )
            out.append(obj)
        return out

    def _lookup(self, route: Route, coll: str, oid: str, request: SimRequest) -> Any:
        """The stored object, else the fallback's or a materialized one; None once deleted."""
        if (coll, oid) in self._deleted:
            return None
        template = route.resource.collection or ""
        objects = self._collection(coll, template)
        if oid in objects:
            return objects[oid]
        if coll in self._given:
            return None  # seed data is the whole collection: other ids do not exist
        schema = self._item_schemas.get(template)
        id_field = self._id_field(template)
        if self.fallback is not None:
            item_path = f"{self.base_path}{coll}/{oid}"
            answer = self.fallback(SimRequest("GET", item_path, {}, dict(request.headers), b""))
            if answer is None or answer.status == 404:
                return None
            if 200 <= answer.status < 300 and isinstance(answer.json, dict):
                objects[oid] = dict(answer.json)
                return objects[oid]
            return None
        obj: Any = None
        item_get = self._item_get(template)
        if item_get is not None:
            found = response_example(self.spec, item_get)
            obj = dict(found) if isinstance(found, dict) else None
        if obj is None and schema is not None:
            obj = self._examples.generate(schema, f"{coll}/{oid}")
        if not isinstance(obj, dict):
            obj = {}
        if id_field:
            obj[id_field] = typed_id(oid, schema, id_field, self.spec)
        objects[oid] = self._shaper.conform(obj, schema, f"{coll}/{oid}") if schema else obj
        return objects[oid]

    def _merge_list(
        self,
        coll: str,
        answer: Any,
        query: Mapping[str, list[str]],
        props: Mapping[str, Any],
        contains: frozenset[str],
    ) -> Any:
        """The live list with simulated changes: deleted gone, changed replaced, created added.

        The live app filtered its own objects; simulated ones are filtered here by the same
        query, so a changed object leaves or joins a filtered list as it would live.
        """
        if not isinstance(answer, list):
            return answer
        objects = self._store.get(coll) or Collection()
        id_fields = {f for f in (self._id_field(t) for t in self._resources) if f}
        return merge_live(
            answer,
            objects,
            gone={k for c, k in self._deleted if c == coll},
            ours={k for c, k in self._created | self._changed if c == coll},
            id_fields=id_fields,
            keep=lambda obj: matches(obj, query, props, contains),
        )

    # -- helpers ----------------------------------------------------------------------------

    def _item_get(self, template: str) -> Any:
        for res in self._resources.values():
            if res.kind == "item" and res.collection == template:
                for op in self.spec.operations:
                    if op.path == res.template and op.method.upper() == "GET":
                        return op
        return None

    def _id_field(self, template: str) -> str | None:
        if template not in self._id_fields:
            self._id_fields[template] = self._find_id_field(template)
        return self._id_fields[template]

    def _find_id_field(self, template: str) -> str | None:
        props = item_schema_props(self.spec, self._item_schemas.get(template))
        item = next(
            (r for r in self._resources.values() if r.kind == "item" and r.collection == template),
            None,
        )
        if item is not None and item.id_param in props:
            return item.id_param
        for name in ("id", "uuid", "key", "name"):
            if name in props:
                return name
        return None

    def _body_id(self, res: Resource, body: Mapping[str, Any]) -> str | None:
        field_name = self._id_field(res.template)
        value = body.get(field_name) if field_name else None
        return None if value is None else str(value)

    def _live_ids(self, coll: str, id_field: str, request: SimRequest) -> set[str]:
        """Ids the live app already uses in ``coll`` (asked once), so new ones do not clash."""
        if self.fallback is None or coll in self._given or coll in self._last_ids:
            return set()
        listing = SimRequest("GET", self.base_path + coll, {}, dict(request.headers), b"")
        answer = self.fallback(listing)
        items = answer.json if answer is not None and 200 <= answer.status < 300 else None
        found = (object_id(o, {id_field}) for o in items) if isinstance(items, list) else ()
        return {oid for oid in found if oid is not None}

    def _new_id(self, coll: str, objects: Mapping[str, Any], schema: Any, id_field: str) -> str:
        numeric = int_id(schema, id_field, self.spec)
        n = self._last_ids.get(coll)
        if n is None:  # once per collection; later creates count on from here
            taken = [int(k) for k in objects if k.lstrip("-").isdigit()]
            n = max(taken, default=0) if numeric else len(objects)
        n += 1
        while (str(n) if numeric else f"{id_field}-{n}") in objects:
            n += 1
        self._last_ids[coll] = n
        return str(n) if numeric else f"{id_field}-{n}"

    def _success(self, op: Any, method: str) -> int:
        codes = [c for c in op.responses if str(c).isdigit() and str(c).startswith("2")]
        preferred = {"POST": ("201", "200"), "DELETE": ("204", "200", "202")}.get(method, ("200",))
        for code in preferred:
            if code in codes:
                return int(code)
        return int(sorted(codes)[0]) if codes else 200

    def _record(
        self, method: str, raw: str, route: Route, status: int, path: str, body: Any, payload: Any
    ) -> None:
        parts = split_path(path)
        res = route.resource
        oid = parts[-1] if res.kind == "item" else parts[-2] if res.kind == "action" else None
        id_field = self._id_field(res.collection) if res.collection else None
        if oid is None and id_field and isinstance(payload, dict) and id_field in payload:
            oid = str(payload[id_field])
        self.journal.append(
            JournalEntry(
                method, raw, route.operation.operation_id, status, res.collection, oid, body
            )
        )

    def _respond(
        self, route: Route, status: int, payload: Any, headers: Mapping[str, str]
    ) -> SimResponse:
        if status == 404 and isinstance(payload, Missing):
            return self._problem(route, 404, "Not Found", payload.message)
        if status == 404 and payload is None:
            return self._problem(route, 404, "Not Found", "no such object (deleted or unknown)")
        value = self._shaper.response_value(
            route.operation,
            status,
            payload,
            self._item_schemas.get(route.resource.collection or ""),
        )
        if value is None and status == 204:
            return SimResponse(status, dict(headers), b"", None)
        if value is None:
            return SimResponse(status, dict(headers), b"", None)
        data = json.dumps(value, separators=(",", ":")).encode()
        # a fresh copy: callers may change what they get without changing the stored objects
        fresh = json.loads(data)
        return SimResponse(status, {"content-type": "application/json", **headers}, data, fresh)

    def _problem(
        self,
        route: Route | None,
        status: int,
        title: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
    ) -> SimResponse:
        value = problem(status, title, detail, errors)
        ctype = "application/problem+json"
        if route is not None:
            found = route.operation.response_schema(status)
            if found is not None and "json" in found[0]:
                value = error_value(self.spec, found[1], value)
                ctype = found[0]  # the media type the spec documents for this error
            value = self._shaper.response_value(route.operation, status, value, None, keep=True)
        data = json.dumps(value, separators=(",", ":")).encode()
        return SimResponse(status, {"content-type": ctype}, data, value)


def _client_error(op: Any, errors: list[dict[str, str]]) -> int:
    """The status for a request the spec rejects: 400, else the 4xx the operation documents
    for bad input (422, say), so the answer stays within what the spec says it can get. A path
    whose parameter breaks its schema (``/pet/-3`` where ids start at 1) names no resource: 404
    where the operation documents no 400."""
    codes = {str(c) for c in op.responses}
    if "400" in codes or "4XX" in codes or "4xx" in codes or "default" in codes:
        return 400
    if any(e["in"] == "path" for e in errors):
        return 404
    for code in ("422", "409"):
        if code in codes:
            return int(code)
    return 400


def _parent(template: str) -> str:
    parts = split_path(template)
    return "/" + "/".join(parts[:-1])
