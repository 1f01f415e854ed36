"""lam's call checker against openapi-core's request validator, on generated calls over real specs.

openapi-core is the oracle: for each sampled operation of a real spec (the Swagger Petstore,
GitHub, Stripe, Spotify, TMDB; shipped xz-compressed in tests/data/specs/real/) this builds
one valid call from the operation's parameters and request body schema, then one call per
mutation that should make it invalid (a required parameter left out, a wrong type, a value
outside its enum, an extra property where ``additionalProperties`` is false, a bad format, a
content type the operation does not take, a number out of range, a pattern violated, a
required body or body property left out, an undeclared query parameter). Each call goes to
lam's :func:`lam.api_checks.check_call` as a plan's ``call:`` step gives it, and to
openapi-core's ``OpenAPI.validate_request`` as the HTTP request lam would send (credentials
added the way lam adds them, since lam's checker leaves credentials to the run). Everything is
seeded: the same arguments give the same calls.

Where the two disagree on valid versus invalid, :func:`reason` names why; every reason it can
name is documented in docs/risk.md ("Where lam and openapi-core disagree"), and
tests/test_oracle_differential.py fails on a disagreement with no documented reason.

    .venv/bin/python benchmarks/oracle_differential.py [--ops 60] [--seed 12] [--show 5] [SPEC ...]

Prints per spec: calls, agreements, disagreements by reason, and the seconds each checker took
(openapi-core is the baseline of the ratio).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from lam import json_pointer
from lam.api_checks import NO_BODY, check_call
from lam.spec import Operation, Parameter, Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from real_specs import real_spec  # noqa: E402  (tests/ holds the shipped specs)

__all__ = [
    "MUTATIONS",
    "REASONS",
    "SPECS",
    "Call",
    "Oracle",
    "Tally",
    "Verdict",
    "differential",
    "generate_calls",
    "names_place",
    "reason",
]

SPECS = {
    "petstore": "petstore_v3.openapi.yaml",
    "github": "github_api.github.com.json",
    "stripe": "stripe_spec3_2023-09-12.yaml",
    "spotify": "restbench_spotify_oas.json",
    "tmdb": "restbench_tmdb_oas.json",
}

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

REASONS = {
    "unknown-param": "lam refuses a parameter the operation does not declare (a typo in a "
    "plan); OpenAPI lets a server ignore one, and openapi-core does",
    "core-deepobject": "openapi-core reads style deepObject only one level deep and only for a "
    "parameter or form field whose schema says type object; Stripe also puts it on arrays "
    "(expand), on anyOf object-or-integer (created) and on nested objects (billing[address]), "
    "and openapi-core then refuses every request to the operation, the field sent or not",
    "core-readonly-param": "openapi-core refuses a parameter whose schema is readOnly (GitHub's "
    "alert_number shares its schema with the response); OpenAPI gives readOnly a meaning only "
    "for object properties",
    "spec-text-values": 'Spotify\'s spec writes booleans and numbers as text (required "true", '
    'explode "false", maximum "50", default "20"): lam reads them as meant, '
    'openapi-core crashes on them, reads required "true" as false, or checks the text '
    "default as if it were sent",
}
"""Every reason a disagreement may have; docs/risk.md documents each under the same key."""

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
        kind = _kind(node)
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


_TEXT_NUMBERS = ("minimum", "maximum", "default")
_SET_BY_LAM = frozenset({"accept", "content-type", "authorization"})


def _writable(media: str) -> bool:
    base = media.split(";")[0].strip().lower()
    return base.endswith("json") or base == "application/x-www-form-urlencoded"


def _simple(spec: Spec, schema: Any) -> bool:
    node = spec.resolve(schema)
    if not isinstance(node, Mapping):
        return False
    kind = _kind(node)
    if kind == "array":
        items = spec.resolve(node.get("items", {}))
        return isinstance(items, Mapping) and _kind(items) in ("string", "integer", "number")
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
        candidates = [s for s in scalar if _kind(s.schema) in ("integer", "number", "boolean")]
        if not form:
            candidates += [s for s in scalar if s.param is None and _kind(s.schema) == "string"]
        site = pick(candidates)
        if site is None:
            return None
        return at(site, 12345 if _kind(site.schema) == "string" else "not-a-number")
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
        candidates = [s for s in scalar if _kind(s.schema) in ("integer", "number")]
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
    return _kind(site.schema) in ("string", "integer", "number", "boolean") and not any(
        k in site.schema for k in ("oneOf", "anyOf", "allOf", "not")
    )


# ----------------------------------------------------------------------------- the oracle


class Oracle:
    """openapi-core over one spec document, with requests built as lam would send them."""

    def __init__(self, document: Mapping[str, Any], spec: Spec) -> None:
        from openapi_core import Config, OpenAPI

        # The spec's own validity is not in question here (and costs 16 s on GitHub's); None
        # is openapi-core's switch for that, though its annotation leaves None out.
        config = Config(spec_validator_cls=None)  # type: ignore[arg-type]
        self.api = OpenAPI.from_dict(dict(document), config=config)
        self.spec = spec
        server = spec.servers[0] if spec.servers else "/"
        parts = urlsplit(server)
        self.host = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost"
        self.base = parts.path.rstrip("/")

    def raw_parameters(self, op: Operation) -> list[Mapping[str, Any]]:
        """The operation's parameter objects as the document writes them ($ref followed)."""
        item = self.spec.resolve(self.spec.document.get("paths", {}).get(op.path, {}))
        raw = item.get(op.method.lower(), {}) if isinstance(item, Mapping) else {}
        found = [*(raw.get("parameters") or ()), *(item.get("parameters") or ())]
        return [p for p in (self.spec.resolve(f) for f in found) if isinstance(p, Mapping)]

    def text_values(self, op: Operation) -> bool:
        """Whether a parameter writes a boolean or a number as text (Spotify's spec does)."""
        for param in self.raw_parameters(op):
            if any(isinstance(param.get(k), str) for k in ("required", "explode")):
                return True
            schema = self.spec.resolve(param.get("schema", {}))
            numeric = isinstance(schema, Mapping) and _kind(schema) in ("integer", "number")
            if numeric and any(isinstance(schema.get(k), str) for k in _TEXT_NUMBERS):
                return True
        return False

    def _server(self, op: Operation) -> tuple[str, str]:
        """Host and base path: the operation's own servers first (GitHub's uploads host)."""
        item = self.spec.resolve(self.spec.document.get("paths", {}).get(op.path, {}))
        raw = item.get(op.method.lower(), {}) if isinstance(item, Mapping) else {}
        for servers in (raw.get("servers"), item.get("servers")):
            if isinstance(servers, list) and servers and isinstance(servers[0], Mapping):
                parts = urlsplit(str(servers[0].get("url", "")))
                if parts.netloc:
                    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        return self.host, self.base

    def errors(self, call: Call) -> list[str]:
        """openapi-core's verdict on the request: empty when valid, else its first error."""
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.testing import MockRequest

        path, query, headers, cookies = self._place(call)
        data: bytes | None = None
        content_type = "application/json"
        if call.body is not NO_BODY:
            content_type = call.content_type or "application/json"
            data = _encode(call.body, content_type)
            headers["Content-Type"] = content_type
        host, base = self._server(call.op)
        request = MockRequest(
            host,
            call.op.method.lower(),
            base + path,
            args=query,
            headers=headers,
            cookies=cookies,
            data=data,
            content_type=content_type,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unsupported scheme type" for OAuth 2
            try:
                self.api.validate_request(request)
            except OpenAPIError as exc:
                return [f"{type(exc).__name__}: {_first_line(exc)}"]
            except Exception as exc:  # openapi-core itself failed: reported as its own kind
                return [f"CRASH {type(exc).__name__}: {_first_line(exc)}"]
        return []

    def _place(self, call: Call) -> tuple[str, dict[str, Any], dict[str, str], dict[str, str]]:
        path = call.op.path
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        declared = {p.name: p for p in call.op.parameters}
        raw = {
            str(p.get("name")): p for p in self.raw_parameters(call.op) if p.get("in") == "query"
        }
        for name, value in call.params.items():
            param = declared.get(name)
            location = param.location if param is not None else "query"
            if location == "path":
                path = path.replace("{" + name + "}", quote(_text(value), safe=""))
            elif location == "query":
                _query(query, name, value, raw.get(name, {}))
            elif location == "header":
                headers[name] = _text(value)
            else:
                cookies[name] = _text(value)
        self._credentials(call.op, query, headers, cookies)
        return path, query, headers, cookies

    def _credentials(
        self,
        op: Operation,
        query: dict[str, Any],
        headers: dict[str, str],
        cookies: dict[str, str],
    ) -> None:
        """What lam adds to a request from the run's credentials: the first requirement met."""
        required = op.security
        if required is None:
            raw = self.spec.document.get("security")
            required = tuple(raw) if isinstance(raw, list) else ()
        if not required:
            return
        for name in required[0]:
            scheme = self.spec.security_schemes.get(name, {})
            if scheme.get("type") == "apiKey":
                where = {"query": query, "header": headers, "cookie": cookies}
                where.get(str(scheme.get("in")), headers)[str(scheme.get("name"))] = "key"
            elif scheme.get("type") == "http":
                kind = str(scheme.get("scheme", "bearer")).lower()
                headers["Authorization"] = "Basic dTpw" if kind == "basic" else f"{kind} token"


def _query(query: dict[str, Any], name: str, value: Any, raw: Mapping[str, Any]) -> None:
    """Query serialization as the parameter object ``raw`` says: form (exploded unless
    ``explode`` is false, then a comma list) or deepObject. Text flags (Spotify's ``explode:
    "false"``) are read as they say."""
    style = str(raw.get("style", "form"))
    explode = str(raw.get("explode", style == "form")).lower() == "true"
    if isinstance(value, list):
        query[name] = [_text(v) for v in value] if explode else _text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            query[f"{name}[{key}]" if style == "deepObject" else str(key)] = _text(item)
    else:
        query[name] = _text(value)


def _encode(body: Any, content_type: str) -> bytes:
    base = content_type.split(";")[0].strip().lower()
    if base == "application/x-www-form-urlencoded" and isinstance(body, dict):
        return urlencode(list(_form_pairs(body, ""))).encode()
    return json.dumps(body).encode()


def _form_pairs(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """Stripe's bracket encoding: ``a[b]=1``, ``a[0]=x``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _form_pairs(item, f"{prefix}[{i}]")
    else:
        yield prefix, _text(value)


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """Both checkers' answers on one call, and why they differ (None when they agree)."""

    call: Call
    lam: tuple[str, ...]
    core: tuple[str, ...]
    reason: str | None = field(default=None)

    @property
    def agree(self) -> bool:
        """Both valid or both invalid; a crash on either side is never an agreement."""
        crashed = any(p.startswith("CRASH") for p in (*self.lam, *self.core))
        return bool(self.lam) == bool(self.core) and not crashed


def reason(call: Call, lam: tuple[str, ...], core: tuple[str, ...], *, text_values: bool) -> str:
    """The documented reason of a disagreement (a key of :data:`REASONS`), or "unexplained".

    ``text_values``: the operation's parameters carry booleans or numbers written as text.
    """
    said = " ".join(core)
    form = (call.content_type or "").startswith("application/x-www-form-urlencoded")
    if "deepObject" in said or (form and "Failed to cast value to object" in said):
        return "core-deepobject"
    if not lam and "read-only property" in said and "parameter" in said:
        return "core-readonly-param"
    if text_values and ("CRASH" in said or (core and not lam) or call.kind == "missing-param"):
        return "spec-text-values"
    if lam and not core and call.kind == "unknown-param":
        return "unknown-param"
    return "unexplained"


def lam_problems(spec: Spec, call: Call) -> tuple[str, ...]:
    """lam's verdict, as ``validate`` gives a ``call:`` step its params and body."""
    try:
        problems = check_call(
            spec, call.op, params=call.params, body=call.body, content_type=call.content_type
        )
    except Exception as exc:  # a crash is a finding, reported as such
        return (f"CRASH {type(exc).__name__}: {exc}",)
    return tuple(f"{p.code} {p.location}: {p.message}" for p in problems)


def names_place(call: Call, lam: tuple[str, ...]) -> bool:
    """Whether one of lam's problems is at the mutated place (or inside or around it)."""
    for problem in lam:
        where = problem.split(" ", 2)[1].rstrip(":") if " " in problem else ""
        if where and (where.startswith(call.where) or call.where.startswith(where)):
            return True
    return False


@dataclass
class Tally:
    """Per spec: calls, agreements, disagreements by reason, and each checker's time."""

    calls: int = 0
    agree: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)  # disagreements by mutation
    kinds: Counter[str] = field(default_factory=Counter)  # calls by mutation
    missed_by_both: int = 0  # mutated calls both accepted: the mutation was not a violation
    valid_flagged_by_both: int = 0  # "valid" calls both refused: the generator's limits
    hollow: int = 0  # agreements where openapi-core refused for its deepObject limit alone
    misplaced: int = 0  # mutated calls lam refused without naming the mutated place
    lam_s: float = 0.0
    core_s: float = 0.0


def differential(
    spec_name: str, *, ops: int | None, seed: int, include: tuple[str, ...] = ()
) -> tuple[list[Verdict], Tally]:
    """Generate calls over a sample of ``ops`` operations (all when None) and compare;
    ``include`` names operations (``"GET /path"``) taken besides the sample."""
    path = real_spec(SPECS[spec_name])
    spec = load_spec(path)
    # The parsed document is shared (parsing Stripe's 4 MB of YAML twice costs seconds); what
    # each checker reads from it, and how, is its own.
    oracle = Oracle(spec.document, spec)
    chosen = list(spec.operations)
    if ops is not None and ops < len(chosen):
        sample = random.Random(f"{seed}:{spec_name}").sample(chosen, ops)
        sample += [spec.operation(key) for key in include if spec.operation(key) not in sample]
        chosen = sorted(sample, key=_order(spec))
    verdicts: list[Verdict] = []
    tally = Tally()
    for op in chosen:
        for call in generate_calls(spec_name, spec, op, seed):
            t0 = time.perf_counter()
            lam = lam_problems(spec, call)
            t1 = time.perf_counter()
            core = tuple(oracle.errors(call))
            t2 = time.perf_counter()
            tally.lam_s += t1 - t0
            tally.core_s += t2 - t1
            tally.calls += 1
            tally.kinds[call.kind] += 1
            if call.kind != "valid" and lam and not names_place(call, lam):
                tally.misplaced += 1
            verdict = Verdict(call, lam, core)
            if verdict.agree:
                tally.agree += 1
                tally.hollow += any("deepObject" in c for c in core)
                if call.kind == "valid" and lam:
                    tally.valid_flagged_by_both += 1
                elif call.kind != "valid" and not lam:
                    tally.missed_by_both += 1
            else:
                texts = oracle.text_values(call.op)
                verdict = replace(verdict, reason=reason(call, lam, core, text_values=texts))
                tally.by_reason[verdict.reason or ""] += 1
                tally.by_kind[call.kind] += 1
            verdicts.append(verdict)
    return verdicts, tally


def _order(spec: Spec) -> Any:
    index = {id(op): i for i, op in enumerate(spec.operations)}
    return lambda op: index[id(op)]


# ----------------------------------------------------------------------------- helpers


def _kind(node: Mapping[str, Any]) -> str:
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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip():
        detail += f" ({str(cause).strip().splitlines()[0]})"
    return detail[:200]


# ----------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("specs", nargs="*", metavar="SPEC", help=f"of {', '.join(SPECS)}")
    parser.add_argument("--ops", type=int, default=60, help="operations per spec (0: all)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--show", type=int, default=3, help="disagreements shown per reason")
    args = parser.parse_args()
    unknown = sorted(set(args.specs) - set(SPECS))
    if unknown:
        parser.error(f"unknown spec {', '.join(unknown)} (choose from {', '.join(SPECS)})")
    unexplained = 0
    print(f"{'spec':9} {'ops':>5} {'calls':>6} {'agree':>6} {'differ':>6}  by reason")
    for name in args.specs or list(SPECS):
        verdicts, tally = differential(name, ops=args.ops or None, seed=args.seed)
        ops = len({id(v.call.op) for v in verdicts})
        reasons = ", ".join(f"{k} {n}" for k, n in sorted(tally.by_reason.items())) or "-"
        differ = tally.calls - tally.agree
        print(f"{name:9} {ops:5} {tally.calls:6} {tally.agree:6} {differ:6}  {reasons}")
        kinds = ", ".join(f"{k} {tally.by_kind[k]}/{n}" for k, n in sorted(tally.kinds.items()))
        print(f"{'':9} by mutation (disagreeing/calls): {kinds}")
        print(
            f"{'':9} mutations both accepted {tally.missed_by_both}, valid calls both refused "
            f"{tally.valid_flagged_by_both}; agreements where openapi-core refused for "
            f"deepObject alone {tally.hollow}; lam refusals not naming the mutated place "
            f"{tally.misplaced}"
        )
        print(
            f"{'':9} seconds lam {tally.lam_s:.3f}, openapi-core "
            f"{tally.core_s:.3f} (lam / openapi-core {tally.lam_s / max(tally.core_s, 1e-9):.3f})"
        )
        shown: Counter[str] = Counter()
        for v in verdicts:
            if v.agree or shown[v.reason or ""] >= args.show:
                continue
            shown[v.reason or ""] += 1
            print(f"    [{v.reason}] {v.call.label}")
            print(f"        lam:  {'; '.join(v.lam) or 'valid'}")
            print(f"        core: {'; '.join(v.core) or 'valid'}")
        unexplained += tally.by_reason["unexplained"]
    if unexplained:
        print(f"\n{unexplained} disagreements have no documented reason")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
