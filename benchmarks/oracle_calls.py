"""Calls to check, generated from real OpenAPI operations: one valid call per operation, then
one call per mutation that should make it invalid (benchmarks/oracle_differential.py asks lam
and openapi-core about each).

The valid call fills in every required parameter and some optional ones, and a body with the
required properties (readOnly ones left out) and some optional ones, from each schema's enum,
format, bounds, length and pattern. Each mutation changes one place (named by ``Call.where``);
everything is seeded by the operation, so the same seed gives the same calls.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from lam import json_pointer
from lam.api_checks import NO_BODY
from lam.spec import Operation, Parameter, Spec

__all__ = ["MUTATIONS", "Call", "generate_calls", "kind_of"]

MUTATIONS = (
    "missing-param",
    "wrong-type",
    "enum",
    "extra-property",
    "bad-format",
    "content-type",
    "out-of-range",
    "pattern",
    "missing-body",
    "missing-property",
    "unknown-param",
)

_FORMAT_SAMPLES = {
    "date-time": "2026-01-02T03:04:05Z",
    "date": "2026-01-02",
    "time": "03:04:05Z",
    "email": "octo@example.org",
    "uri": "https://example.org/x",
    "url": "https://example.org/x",
    "uri-reference": "https://example.org/x",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.org",
    "byte": base64.b64encode(b"octo").decode(),
}
_STRING_CANDIDATES = ("octo", "a", "abc", "A1", "1", "octo-cat_1", "2026-01-02", "x" * 8)
_EXTRA = "zz_not_in_the_spec"
_MAX_DEPTH = 8


# ----------------------------------------------------------------------------- calls


@dataclass(frozen=True)
class Call:
    """One call of an operation: ``kind`` is "valid" or the mutation made, at ``where``."""

    spec: str
    op: Operation
    kind: str
    where: str
    params: Mapping[str, Any]
    body: Any = NO_BODY
    content_type: str | None = None

    @property
    def label(self) -> str:
        """``"POST /pet enum at body.status"``: how a report names the call."""
        at = f" at {self.where}" if self.where else ""
        return f"{self.spec}: {self.op.key} {self.kind}{at}"


@dataclass
class _Site:
    """A place in a call a mutation can change: a parameter or a body pointer."""

    param: Parameter | None
    pointer: str  # into the body; "" with a parameter
    schema: Mapping[str, Any]


class _Unsupported(Exception):
    """The generator cannot build a valid value for this schema."""


class _Generator:
    def __init__(self, spec: Spec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng

    # -- valid values

    def value(self, schema: Any, depth: int = 0) -> Any:
        node = self.spec.resolve(schema) if isinstance(schema, Mapping) else {}
        if not isinstance(node, Mapping):
            return "octo"
        if depth > _MAX_DEPTH:
            raise _Unsupported("too deep")
        if "const" in node:
            return node["const"]
        enum = node.get("enum")
        if isinstance(enum, list) and enum:
            usable = [v for v in enum if v is not None and v != ""]
            return (usable or enum)[0]
        if isinstance(node.get("allOf"), list) and node["allOf"]:
            merged: dict[str, Any] = {}
            for branch in node["allOf"]:
                part = self.value(branch, depth + 1)
                if not isinstance(part, dict):
                    return part
                merged.update(part)
            if "properties" in node or "required" in node:
                merged.update(self._object(node, depth))
            return merged
        for key in ("oneOf", "anyOf"):
            branches = node.get(key)
            if isinstance(branches, list) and branches:
                return self.value(branches[0], depth + 1)
        kind = kind_of(node)
        if kind == "integer":
            return self._integer(node)
        if kind == "number":
            return self._integer(node)  # a whole number is a number too
        if kind == "boolean":
            return True
        if kind == "array":
            low = int(node.get("minItems", 1) or 1)
            if node.get("maxItems") == 0:
                return []
            if node.get("uniqueItems") and low > 1:
                raise _Unsupported("unique items")
            return [self.value(node.get("items", {}), depth + 1) for _ in range(max(low, 1))]
        if kind == "object":
            return self._object(node, depth)
        if kind == "null":
            return None
        return self._string(node)

    def _integer(self, node: Mapping[str, Any]) -> int:
        low, high = _bounds(node)
        value = 1
        if low is not None and value < low:
            value = int(low) if low == int(low) else int(low) + 1
        if high is not None and value > high:
            value = int(high)
        step = node.get("multipleOf")
        if isinstance(step, int) and step > 1 and value % step:
            value += step - value % step
        return value

    def _string(self, node: Mapping[str, Any]) -> str:
        fmt = node.get("format")
        candidates: list[Any] = [node.get("example"), node.get("default")]
        if isinstance(fmt, str) and fmt in _FORMAT_SAMPLES:
            candidates.insert(0, _FORMAT_SAMPLES[fmt])
        candidates.extend(_STRING_CANDIDATES)
        low = int(node.get("minLength", 0) or 0)
        high = node.get("maxLength")
        pattern = node.get("pattern")
        for text in candidates:
            if not isinstance(text, str):
                continue
            if len(text) < low:
                text = text + "o" * (low - len(text))
            if isinstance(high, int) and len(text) > high:
                text = text[:high]
            if isinstance(pattern, str) and not _search(pattern, text):
                continue
            return text
        raise _Unsupported(f"no string matches {pattern!r}")

    def _object(self, node: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props = node.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = node.get("required")
        wanted = [str(n) for n in required] if isinstance(required, list) else []
        for name in props:  # some optional ones too, for mutations to reach
            if name not in wanted and depth < 3 and self.rng.random() < 0.3:
                wanted.append(str(name))
        out: dict[str, Any] = {}
        for name in wanted:
            prop = self.spec.resolve(props.get(name, {}))
            if isinstance(prop, Mapping) and prop.get("readOnly") is True:
                continue  # the server fills it in; a request leaves it out
            try:
                out[name] = self.value(prop, depth + 1)
            except _Unsupported:
                if isinstance(required, list) and name in required:
                    raise
        return out

    # -- parameters and bodies

    def param_value(self, param: Parameter) -> Any:
        return self.value(param.schema)


def generate_calls(spec_name: str, spec: Spec, op: Operation, seed: int) -> Iterator[Call]:
    """The valid call of ``op`` and one call per applicable mutation (seeded)."""
    rng = random.Random(f"{seed}:{spec_name}:{op.key}")
    gen = _Generator(spec, rng)
    try:
        params: dict[str, Any] = {}
        for param in op.parameters:
            if param.location == "header" and param.name.lower() in _SET_BY_LAM:
                continue
            if param.required or (_simple(spec, param.schema) and rng.random() < 0.5):
                params[param.name] = gen.param_value(param)
        body: Any = NO_BODY
        media: str | None = None
        chosen = op.request_schema()
        if chosen is not None:
            media = chosen[0]
            required = bool(op.request_body and op.request_body.get("required"))
            if not _writable(media):
                if required:
                    return  # multipart and binary bodies: not generated
                media = None
            elif required or (op.method in ("POST", "PUT", "PATCH") and rng.random() < 0.7):
                body = gen.value(chosen[1])
            else:
                media = None
    except _Unsupported:
        return
    valid = Call(spec_name, op, "valid", "", params, body, media)
    yield valid
    sites = list(_sites(spec, op, valid))
    for kind in MUTATIONS:
        mutated = _mutate(spec, op, valid, kind, sites, rng)
        if mutated is not None:
            yield mutated


_SET_BY_LAM = frozenset({"accept", "content-type", "authorization"})


def _writable(media: str) -> bool:
    base = media.split(";")[0].strip().lower()
    return base.endswith("json") or base == "application/x-www-form-urlencoded"


def _simple(spec: Spec, schema: Any) -> bool:
    node = spec.resolve(schema)
    if not isinstance(node, Mapping):
        return False
    kind = kind_of(node)
    if kind == "array":
        items = spec.resolve(node.get("items", {}))
        return isinstance(items, Mapping) and kind_of(items) in ("string", "integer", "number")
    return kind in ("string", "integer", "number", "boolean")


def _sites(spec: Spec, op: Operation, call: Call) -> Iterator[_Site]:
    for param in op.parameters:
        if param.name in call.params:
            node = spec.resolve(param.schema)
            if isinstance(node, Mapping):
                yield _Site(param, "", node)
    if call.body is NO_BODY or call.content_type is None:
        return
    chosen = op.request_schema(call.content_type)
    if chosen is None:
        return
    root = spec.resolve(chosen[1])
    if not isinstance(root, Mapping):
        return

    def walk(value: Any, pointer: str) -> Iterator[_Site]:
        node = spec.schema_at(root, pointer)
        if node is not None:
            yield _Site(None, pointer, spec.resolve(node))
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, f"{pointer}/{json_pointer.escape(key)}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, f"{pointer}/{i}")

    yield from walk(call.body, "")


def _mutate(
    spec: Spec, op: Operation, valid: Call, kind: str, sites: list[_Site], rng: random.Random
) -> Call | None:
    def pick(candidates: list[_Site]) -> _Site | None:
        return candidates[rng.randrange(len(candidates))] if candidates else None

    def at(site: _Site, value: Any) -> Call:
        if site.param is not None:
            params = dict(valid.params)
            params[site.param.name] = value
            return replace(valid, kind=kind, where=f"params.{site.param.name}", params=params)
        body = _set(valid.body, site.pointer, value)
        return replace(valid, kind=kind, where=_where(site.pointer), body=body)

    form = (valid.content_type or "").startswith("application/x-www-form-urlencoded")
    if kind == "missing-param":
        names = [p for p in op.parameters if p.required and p.location != "path"]
        names = [p for p in names if p.name in valid.params]
        if not names:
            return None
        gone = names[rng.randrange(len(names))]
        params = {k: v for k, v in valid.params.items() if k != gone.name}
        return replace(valid, kind=kind, where=f"params.{gone.name}", params=params)
    if kind == "unknown-param":
        params = {**valid.params, _EXTRA: "1"}
        return replace(valid, kind=kind, where=f"params.{_EXTRA}", params=params)
    if kind == "missing-body":
        if valid.body is NO_BODY or not (op.request_body or {}).get("required"):
            return None
        return replace(valid, kind=kind, where="body", body=NO_BODY, content_type=None)
    if kind == "content-type":
        if valid.body is NO_BODY or op.request_schema("text/plain") is not None:
            return None
        return replace(valid, kind=kind, where="body", content_type="text/plain")
    if kind == "missing-property":
        if not isinstance(valid.body, dict) or not valid.body:
            return None
        root = [s for s in sites if s.param is None and s.pointer == ""]
        required = root[0].schema.get("required") if root else None
        present = [str(n) for n in valid.body if isinstance(required, list) and n in required]
        if not present:
            return None
        dropped = present[rng.randrange(len(present))]
        body = {k: v for k, v in valid.body.items() if k != dropped}
        return replace(
            valid, kind=kind, where=_where("/" + json_pointer.escape(dropped)), body=body
        )
    if kind == "extra-property":
        site = pick(
            [
                s
                for s in sites
                if s.param is None
                and s.schema.get("additionalProperties") is False
                and isinstance(json_pointer.resolve(valid.body, s.pointer), dict)
            ]
        )
        if site is None:
            return None
        target = dict(json_pointer.resolve(valid.body, site.pointer))
        target[_EXTRA] = "1"
        body = _set(valid.body, site.pointer, target)
        return replace(valid, kind=kind, where=_where(f"{site.pointer}/{_EXTRA}"), body=body)
    scalar = [s for s in sites if _is_leaf(s)]
    if kind == "wrong-type":
        candidates = [s for s in scalar if kind_of(s.schema) in ("integer", "number", "boolean")]
        if not form:
            candidates += [s for s in scalar if s.param is None and kind_of(s.schema) == "string"]
        site = pick(candidates)
        if site is None:
            return None
        return at(site, 12345 if kind_of(site.schema) == "string" else "not-a-number")
    if kind == "enum":
        site = pick([s for s in scalar if isinstance(s.schema.get("enum"), list)])
        if site is None:
            return None
        values = site.schema["enum"]
        wrong: Any = 987654 if all(isinstance(v, int) for v in values) else "zz-not-in-enum"
        return at(site, wrong)
    if kind == "bad-format":
        site = pick(
            [
                s
                for s in scalar
                if s.schema.get("format") in _FORMAT_SAMPLES and "enum" not in s.schema
            ]
        )
        if site is None:
            return None
        return at(site, f"not-a-{site.schema['format']}")
    if kind == "out-of-range":
        candidates = [s for s in scalar if kind_of(s.schema) in ("integer", "number")]
        site = pick([s for s in candidates if _bounds(s.schema) != (None, None)])
        if site is None:
            return None
        low, high = _bounds(site.schema)
        value = int(low) - 1 if low is not None else int(high or 0) + 1
        return at(site, value)
    if kind == "pattern":
        site = pick(
            [
                s
                for s in scalar
                if isinstance(s.schema.get("pattern"), str)
                and not _search(s.schema["pattern"], "!~ *")
            ]
        )
        if site is None:
            return None
        return at(site, "!~ *")
    raise ValueError(f"unknown mutation {kind!r}")


def _is_leaf(site: _Site) -> bool:
    return kind_of(site.schema) in ("string", "integer", "number", "boolean") and not any(
        k in site.schema for k in ("oneOf", "anyOf", "allOf", "not")
    )


# ----------------------------------------------------------------------------- helpers


def kind_of(node: Mapping[str, Any]) -> str:
    raw = node.get("type")
    if isinstance(raw, list):
        raw = next((t for t in raw if t != "null"), "null")
    if isinstance(raw, str):
        return raw
    if "properties" in node or "additionalProperties" in node:
        return "object"
    if "items" in node:
        return "array"
    return ""


def _bounds(node: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low, high = node.get("minimum"), node.get("maximum")
    low = low if isinstance(low, int | float) and not isinstance(low, bool) else None
    high = high if isinstance(high, int | float) and not isinstance(high, bool) else None
    ex_low, ex_high = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if ex_low is True and low is not None:
        low = low + 1
    elif isinstance(ex_low, int | float) and not isinstance(ex_low, bool):
        low = ex_low + 1
    if ex_high is True and high is not None:
        high = high - 1
    elif isinstance(ex_high, int | float) and not isinstance(ex_high, bool):
        high = ex_high - 1
    return low, high


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True  # a pattern Python cannot read: treat it as met


def _set(value: Any, pointer: str, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``pointer`` (the containers on the way copied)."""
    tokens = json_pointer.parse(pointer)
    if not tokens:
        return new
    head, rest = tokens[0], json_pointer.join(tokens[1:])
    if isinstance(value, list):
        copy_list = list(value)
        copy_list[int(head)] = _set(value[int(head)], rest, new)
        return copy_list
    copy = dict(value)
    copy[head] = _set(value[head], rest, new)
    return copy


def _where(pointer: str) -> str:
    out = "body"
    for token in json_pointer.parse(pointer):
        out += f"[{token}]" if token.isdigit() else f".{token}"
    return out
