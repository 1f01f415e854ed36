"""The operation index of an OpenAPI document: parameters, operations, media types.

Built by :class:`lam.spec.Spec` from its document; the value types here are re-exported by
:mod:`lam.spec`, which is where the rest of lam imports them from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lam.documents import format_path
from lam.errors import SpecError

__all__ = ["METHODS", "Operation", "Parameter", "build_operations", "server_urls", "url_path"]

Resolve = Callable[[Any], Any]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_LOCATIONS = ("path", "query", "header", "cookie")
_TEMPLATE_VAR = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operation (path-level and operation-level merged)."""

    name: str
    location: str  # "path" | "query" | "header" | "cookie"
    required: bool
    schema: Mapping[str, Any]  # may still contain "$ref"; use Spec.resolve / Spec.validator
    description: str = ""


def _media_matches(wanted: str, offered: str) -> bool:
    wanted = wanted.split(";")[0].strip().lower()
    offered = offered.split(";")[0].strip().lower()
    if offered in (wanted, "*/*"):
        return True
    return offered.endswith("/*") and wanted.startswith(offered[:-1])


def _pick_media(content: Any, content_type: str | None) -> tuple[str, Mapping[str, Any]] | None:
    if not isinstance(content, Mapping) or not content:
        return None
    if content_type is not None:
        for media, obj in content.items():
            if _media_matches(content_type, media):
                return content_type, _schema_of(obj)
        return None
    for media, obj in content.items():
        base = media.split(";")[0].strip().lower()
        if base == "application/json":
            return media, _schema_of(obj)
    for media, obj in content.items():
        if media.split(";")[0].strip().lower().endswith("json"):
            return media, _schema_of(obj)
    media, obj = next(iter(content.items()))
    return media, _schema_of(obj)


def _schema_of(media_object: Any) -> Mapping[str, Any]:
    if isinstance(media_object, Mapping) and isinstance(media_object.get("schema"), Mapping):
        schema: Mapping[str, Any] = media_object["schema"]
        return schema
    return {}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per spec
class Operation:
    """One operation of a spec: a method on a path template."""

    method: str  # upper case: "GET"
    path: str  # template as in the spec: "/pets/{petId}"
    operation_id: str | None
    summary: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    request_body: Mapping[str, Any] | None  # the requestBody object, $ref resolved one level
    responses: Mapping[str, Any]  # status -> response object, $ref resolved one level
    extensions: Mapping[str, Any]  # x-* keys of the operation
    security: tuple[Mapping[str, Any], ...] | None

    @property
    def key(self) -> str:
        """``"GET /pets/{petId}"``."""
        return f"{self.method} {self.path}"

    def request_schema(
        self, content_type: str | None = None
    ) -> tuple[str, Mapping[str, Any]] | None:
        """The body's media type and schema (JSON preferred), or None when none fits."""
        if self.request_body is None:
            return None
        return _pick_media(self.request_body.get("content"), content_type)

    def response_schema(self, status: int | str) -> tuple[str, Mapping[str, Any]] | None:
        """The media type and schema of the best matching response (exact, ``2XX``, default)."""
        code = str(status)
        for key in (code, code[:1] + "XX", code[:1] + "xx", "default"):
            response = self.responses.get(key)
            if isinstance(response, Mapping):
                return _pick_media(response.get("content"), None)
        return None


def server_urls(servers: Any) -> tuple[str, ...]:
    out = []
    for server in servers if isinstance(servers, list) else ():
        if not isinstance(server, Mapping) or not isinstance(server.get("url"), str):
            continue
        url: str = server["url"]
        variables = server.get("variables")
        for name, var in (variables or {}).items() if isinstance(variables, Mapping) else ():
            if isinstance(var, Mapping) and "default" in var:
                url = url.replace("{" + str(name) + "}", str(var["default"]))
        out.append(url)
    return tuple(out)


def url_path(url: str) -> str:
    if "://" in url:
        url = url.split("://", 1)[1]
        url = "/" + url.split("/", 1)[1] if "/" in url else ""
    return url.rstrip("/")


def build_operations(document: Mapping[str, Any], resolve: Resolve, source: str) -> list[Operation]:
    """Every operation under ``paths``, with cheap structural checks (SpecError on failure)."""
    paths = document.get("paths", {})
    if paths is None:
        paths = {}
    if not isinstance(paths, Mapping):
        raise SpecError("'paths' must be a mapping", file=source, location="paths", code="spec")
    out: list[Operation] = []
    for path, item_raw in paths.items():
        where: list[str | int] = ["paths", str(path)]
        item = resolve(item_raw)
        if not isinstance(item, Mapping):
            raise SpecError(
                "a path item must be a mapping",
                file=source,
                location=format_path(where),
                code="spec",
            )
        common = _parameters(resolve, item.get("parameters"), source, [*where, "parameters"])
        for method in [m for m in item if m in METHODS]:
            raw = item[method]
            if raw is None:
                continue
            at: list[str | int] = [*where, method]
            if not isinstance(raw, Mapping):
                raise SpecError(
                    "an operation must be a mapping",
                    file=source,
                    location=format_path(at),
                    code="spec",
                )
            merged = dict(common)
            merged.update(_parameters(resolve, raw.get("parameters"), source, [*at, "parameters"]))
            params = tuple(merged.values())
            _check_path_params(str(path), params, source, at)
            body = resolve(raw.get("requestBody")) if raw.get("requestBody") else None
            responses = raw.get("responses") or {}
            out.append(
                Operation(
                    method=method.upper(),
                    path=str(path),
                    operation_id=str(raw["operationId"]) if raw.get("operationId") else None,
                    summary=str(raw.get("summary") or ""),
                    description=str(raw.get("description") or ""),
                    tags=tuple(str(t) for t in raw.get("tags") or ()),
                    parameters=params,
                    request_body=body if isinstance(body, Mapping) else None,
                    responses={
                        str(k): resolve(v)
                        for k, v in (responses.items() if isinstance(responses, Mapping) else ())
                    },
                    extensions={k: v for k, v in raw.items() if str(k).startswith("x-")},
                    security=tuple(raw["security"])
                    if isinstance(raw.get("security"), list)
                    else None,
                )
            )
    return out


_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})


def _parameters(
    resolve: Resolve, raw: Any, source: str, where: list[str | int]
) -> dict[tuple[str, str], Parameter]:
    out: dict[tuple[str, str], Parameter] = {}
    if raw is None:
        return out
    if not isinstance(raw, list):
        raise SpecError(
            "'parameters' must be a list", file=source, location=format_path(where), code="spec"
        )
    for i, item in enumerate(raw):
        param = resolve(item)
        name = param.get("name") if isinstance(param, Mapping) else None
        location = param.get("in") if isinstance(param, Mapping) else None
        if not isinstance(name, str) or location not in _LOCATIONS:
            raise SpecError(
                "a parameter needs a 'name' and 'in' (path, query, header or cookie)",
                file=source,
                location=format_path([*where, i]),
                code="spec",
            )
        schema = param.get("schema")
        if not isinstance(schema, Mapping):
            schema = _pick_media(param.get("content"), None)
            schema = schema[1] if schema else {}
        out[(name, location)] = Parameter(
            name=name,
            location=location,
            # OpenAPI 3: a header parameter named Accept, Content-Type or Authorization "SHALL be
            # ignored" (the body and security say those): known, but never required
            required=(_flag(param.get("required")) or location == "path")
            and not (location == "header" and name.lower() in _IGNORED_HEADERS),
            schema=schema,
            description=str(param.get("description") or ""),
        )
    return out


def _flag(value: Any) -> bool:
    """A boolean field, also when the spec writes it as text: Spotify's has "required": "true"
    and "required": "false" (``bool("false")`` would be true)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _check_path_params(
    path: str, params: tuple[Parameter, ...], source: str, where: list[str | int]
) -> None:
    declared = {p.name for p in params if p.location == "path"}
    for name in _TEMPLATE_VAR.findall(path):
        if name not in declared:
            raise SpecError(
                f"path parameter {{{name}}} is not declared in parameters",
                file=source,
                location=format_path(where),
                code="spec",
            )
