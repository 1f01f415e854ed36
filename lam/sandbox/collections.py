"""Collections inferred from an OpenAPI spec's paths, and a fast router over them.

Every path template gets a :class:`Resource` that says what the simulator does with it:

- ``collection``: ``/pets``, ``/users/{u}/repos`` (ends in a word and has items or lists)
- ``item``: ``/pets/{id}`` (ends in a parameter; its collection is the path above it)
- ``search``: ``/pet/findByStatus`` (a word under a collection whose GET lists its objects)
- ``action``: ``/invoices/{id}/pay`` (a word under an item: acts on that item)
- ``other``: anything else (answered with examples, never stateful)

The router is a segment trie, so matching costs the same with 5 paths or 5,000.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Resource", "ResourceKind", "Route", "Router", "build_resources", "split_path"]

ResourceKind = Literal["collection", "item", "search", "action", "other"]


@dataclass(frozen=True)
class Resource:
    """What one path template is: its kind and the collection it belongs to."""

    template: str
    kind: ResourceKind
    collection: str | None
    """Template of the collection that holds the objects this path reads or changes."""
    id_param: str | None = None
    """For items and actions: the path parameter that names the object."""


@dataclass(frozen=True)
class Route:
    """A matched request: the operation, its resource and the concrete path parameters."""

    operation: Any
    resource: Resource
    params: dict[str, str] = field(default_factory=dict)


def split_path(path: str) -> list[str]:
    """``/pets/{id}/`` -> ``["pets", "{id}"]``."""
    return [part for part in path.split("/") if part]


def _is_param(segment: str) -> bool:
    return _is_single_param(segment)


def build_resources(templates: Iterable[str], operations: Iterable[Any]) -> dict[str, Resource]:
    """Classify every template; ``operations`` tell which paths list objects (GET -> array)."""
    templates = list(dict.fromkeys(templates))
    by_path: dict[str, dict[str, Any]] = {}
    for op in operations:
        by_path.setdefault(op.path, {})[op.method.upper()] = op
    parents_with_items = {
        _parent(t) for t in templates if split_path(t) and _is_param(split_path(t)[-1])
    }

    def lists(template: str) -> bool:
        get = by_path.get(template, {}).get("GET")
        found = get.response_schema(200) if get is not None else None
        return found is not None and _array_like(found[1])

    out: dict[str, Resource] = {}
    for template in templates:
        parts = split_path(template)
        parent = _parent(template)
        if not parts:
            out[template] = Resource(template, "other", None)
        elif _is_param(parts[-1]):
            out[template] = Resource(template, "item", parent, parts[-1][1:-1])
        elif template in parents_with_items:
            out[template] = Resource(template, "collection", template)
        elif len(parts) > 1 and _is_param(parts[-2]) and not lists(template):
            grand = _parent(parent)
            out[template] = Resource(template, "action", grand, parts[-2][1:-1])
        elif len(parts) > 1 and parent in parents_with_items and lists(template):
            out[template] = Resource(template, "search", parent)
        elif lists(template):
            out[template] = Resource(template, "collection", template)
        else:
            out[template] = Resource(template, "other", None)
    return out


def _parent(template: str) -> str:
    parts = split_path(template)
    return "/" + "/".join(parts[:-1]) if len(parts) > 1 else "/"


def _array_like(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "array" or "items" in schema:
        return True
    props = schema.get("properties")
    return (
        isinstance(props, Mapping)
        and any(isinstance(p, Mapping) and p.get("type") == "array" for p in props.values())
        and "$ref" not in schema
    )


class _Node:
    __slots__ = ("methods", "param", "patterns", "static", "template")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.patterns: dict[str, tuple[re.Pattern[str], _Node]] = {}
        self.methods: dict[str, tuple[Any, list[str]]] = {}
        self.template: str | None = None


class Router:
    """Matches concrete paths to operations through a segment trie (words before parameters)."""

    def __init__(self, operations: Iterable[Any], resources: Mapping[str, Resource]) -> None:
        self._root = _Node()
        self._resources = resources
        for op in operations:
            node = self._root
            names: list[str] = []
            for segment in split_path(op.path):
                if "{" in segment and not _is_single_param(segment):
                    names.extend(_PARAM.findall(segment))
                    if segment not in node.patterns:
                        node.patterns[segment] = (_segment_regex(segment), _Node())
                    node = node.patterns[segment][1]
                elif _is_param(segment):
                    names.append(segment[1:-1])
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.static.setdefault(segment, _Node())
            node.template = op.path
            node.methods[op.method.upper()] = (op, names)

    def match(self, method: str, path: str) -> Route | str | None:
        """The route, ``None`` for an unknown path, or the template when the method is wrong."""
        segments = split_path(path)
        found = self._walk(self._root, segments, 0, [])
        if found is None:
            return None
        node, values = found
        entry = node.methods.get(method.upper())
        if entry is None and method.upper() == "HEAD":
            entry = node.methods.get("GET")
        if entry is None:
            return node.template or path
        op, names = entry
        resource = self._resources[op.path]
        return Route(op, resource, dict(zip(names, values, strict=False)))

    def _walk(
        self, node: _Node, segments: list[str], index: int, values: list[str]
    ) -> tuple[_Node, list[str]] | None:
        if index == len(segments):
            return (node, values) if node.methods else None
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, values)
            if found is not None:
                return found
        for regex, pattern_node in node.patterns.values():
            matched = regex.fullmatch(segment)
            if matched is not None:
                found = self._walk(pattern_node, segments, index + 1, [*values, *matched.groups()])
                if found is not None:
                    return found
        if node.param is not None:
            return self._walk(node.param, segments, index + 1, [*values, segment])
        return None


_PARAM = re.compile(r"\{([^{}]+)\}")


def _is_single_param(segment: str) -> bool:
    return _PARAM.fullmatch(segment) is not None


def _segment_regex(segment: str) -> re.Pattern[str]:
    """``{base}...{head}`` -> a regex capturing each parameter."""
    out, last = "", 0
    for found in _PARAM.finditer(segment):
        out += re.escape(segment[last : found.start()]) + "(.+?)"
        last = found.end()
    return re.compile(out + re.escape(segment[last:]))
