"""OpenAPI 3.0 / 3.1 specs: loading, ``$ref`` resolution, the operation index, schemas.

:func:`load_spec` reads a spec (JSON or YAML, with local and relative-file refs), makes cheap
structural checks and returns a :class:`Spec`. Loads are cached by content hash (see
:mod:`lam.spec.cache`), so a big spec loaded again in a new process costs little. The full
validation of the spec itself is :func:`check_spec`, which is slow and so never on the load path.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lam import json_pointer
from lam.errors import SpecError
from lam.spec.cache import read_entry, write_entry
from lam.spec.check import SpecProblem, check_spec
from lam.spec.fanout import check_fanout
from lam.spec.operations import (
    METHODS,
    Operation,
    Parameter,
    build_operations,
    server_urls,
    url_path,
)
from lam.spec.refs import (
    MAX_REF_CHAIN,
    Bundle,
    SourceText,
    bundle_document,
    check_refs,
    lookup_pointer,
    parse_source,
    read_source,
)
from lam.spec.schema import SchemaValidator, make_registry, validator_class

__all__ = [
    "METHODS",
    "Operation",
    "Parameter",
    "SchemaValidator",
    "Spec",
    "SpecProblem",
    "check_spec",
    "load_spec",
]

_TEMPLATE_VAR = re.compile(r"\{([^{}/]+)\}")


class Spec:
    """A loaded OpenAPI document with its operations indexed. Build it with :func:`load_spec`."""

    def __init__(self, source: str, content_hash: str, document: dict[str, Any]) -> None:
        self.source = source
        self.content_hash = content_hash
        self.document: Mapping[str, Any] = document
        self._targets: dict[str, Any] = {}
        self.openapi: str = str(document["openapi"])
        info = document.get("info")
        self.title: str = str(info.get("title", "")) if isinstance(info, Mapping) else ""
        self.servers: tuple[str, ...] = server_urls(document.get("servers"))
        components = document.get("components")
        schemes = components.get("securitySchemes", {}) if isinstance(components, dict) else {}
        self.security_schemes: Mapping[str, Mapping[str, Any]] = {
            name: self.resolve(value) for name, value in (schemes or {}).items()
        }
        self.operations: tuple[Operation, ...] = tuple(
            build_operations(document, self.resolve, source)
        )
        self._by_ref: dict[str, Operation] = {}
        for op in self.operations:
            self._by_ref[op.key] = op
            if op.operation_id:
                self._by_ref.setdefault(op.operation_id, op)
        self._routes: dict[str, list[tuple[re.Pattern[str], Operation, tuple[str, ...]]]] = {}
        self._registry = make_registry(document, self.openapi)
        self._validator_class = validator_class(self.openapi)
        self._validators: dict[int, tuple[Mapping[str, Any], SchemaValidator]] = {}
        self._base_paths = tuple(
            sorted({p for p in (url_path(s) for s in self.servers) if p}, key=len, reverse=True)
        )

    def __repr__(self) -> str:
        return f"<Spec {self.title!r} {self.source} ({len(self.operations)} operations)>"

    def find(self, ref: str) -> Operation | None:
        """The operation named by operationId or ``"METHOD /path"``, or None."""
        found = self._by_ref.get(ref)
        if found is None and " " in ref:
            method, _, path = ref.strip().partition(" ")
            found = self._by_ref.get(f"{method.upper()} {path.strip()}")
        return found

    def operation(self, ref: str) -> Operation:
        """The operation named by ``ref``; SpecError(code="unknown-operation") if none."""
        found = self.find(ref)
        if found is not None:
            return found
        close = difflib.get_close_matches(ref, list(self._by_ref), n=3, cutoff=0.6)
        if not close:
            lowered = {k.lower(): k for k in self._by_ref}
            close = [lowered[k] for k in difflib.get_close_matches(ref.lower(), list(lowered))]
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SpecError(
            f"no operation {ref!r} in {self.title or 'the spec'}{hint}",
            file=self.source,
            code="unknown-operation",
        )

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving a concrete request path, and its path parameters."""
        routes = self._routes_for(method.upper())
        path = path.split("?", 1)[0].split("#", 1)[0] or "/"
        candidates = [
            path[len(base) :] or "/"
            for base in self._base_paths
            if path == base or path.startswith(base + "/")
        ]
        for candidate in [*candidates, path]:
            for pattern, op, names in routes:
                found = pattern.fullmatch(candidate)
                if found:
                    return op, {n: unquote(v) for n, v in zip(names, found.groups(), strict=True)}
        return None

    def _routes_for(self, method: str) -> list[tuple[re.Pattern[str], Operation, tuple[str, ...]]]:
        routes = self._routes.get(method)
        if routes is None:
            built = []
            for op in self.operations:
                if op.method != method:
                    continue
                names = tuple(_TEMPLATE_VAR.findall(op.path))
                literal = _TEMPLATE_VAR.split(op.path)[::2]
                regex = "([^/]+)".join(re.escape(part) for part in literal)
                # Literal segments beat templated ones: /pets/mine before /pets/{id}.
                rank = (len(names), -sum(len(p) for p in literal))
                built.append((rank, re.compile(regex), op, names))
            built.sort(key=lambda r: r[0])
            routes = [(p, op, names) for _, p, op, names in built]
            self._routes[method] = routes
        return routes

    def resolve(self, node: Any) -> Any:
        """Follow a ``$ref`` chain (local or relative-file, bundled at load) one node deep."""
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            target = self._targets.get(ref)
            if target is None:
                target = lookup_pointer(self.document, ref[1:]) if ref.startswith("#") else None
                if target is None or not isinstance(target, Mapping | list | str | int | float):
                    raise SpecError(f"$ref {ref!r} cannot be resolved", file=self.source)
                self._targets[ref] = target
            node = target
            seen += 1
            if seen > MAX_REF_CHAIN:
                raise SpecError(f"$ref {ref!r} loops", file=self.source, code="bad-ref")
        return node

    def validator(self, schema: Mapping[str, Any]) -> SchemaValidator:
        """A compiled validator for ``schema`` (cached per schema object)."""
        cached = self._validators.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        compiled = SchemaValidator(schema, self._validator_class, self._registry)
        self._validators[id(schema)] = (schema, compiled)
        return compiled

    def schema_at(self, schema: Mapping[str, Any], pointer: str) -> Mapping[str, Any] | None:
        """The sub-schema an instance pointer (``/0/id``) reaches, or None if unknown."""
        current: Any = self.resolve(schema)
        for token in json_pointer.parse(pointer):
            current = self._step(current, token)
            if current is None:
                return None
        return current if isinstance(current, Mapping) else None

    def read_only(self, schema: Mapping[str, Any], pointer: str) -> bool:
        """Whether the property an instance pointer reaches is ``readOnly``: the server sets
        it, so a request may leave it out even where the schema requires it."""
        target = self.schema_at(schema, pointer)
        return target is not None and target.get("readOnly") is True

    def _step(self, schema: Any, token: str) -> Mapping[str, Any] | None:
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return None
        position = json_pointer.index(token)
        if position is not None:
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list) and position < len(prefix):
                return self._resolved(prefix[position])
            if isinstance(schema.get("items"), Mapping):
                return self._resolved(schema["items"])
        props = schema.get("properties")
        if isinstance(props, Mapping) and token in props:
            return self._resolved(props[token])
        for key in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(key) or ():
                found = self._step(branch, token)
                if found is not None:
                    return found
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and position is None:
            return self._resolved(extra)
        return None

    def _resolved(self, node: Any) -> Mapping[str, Any] | None:
        node = self.resolve(node)
        return node if isinstance(node, Mapping) else None


# ---------------------------------------------------------------------------------- loading

_LOADED: dict[tuple[str, str], tuple[Spec, dict[str, str]]] = {}


def load_spec(source: str | Path, *, relative_to: Path | None = None) -> Spec:
    """Load an OpenAPI 3.x spec from a file or URL; SpecError with file and place on failure.

    ``relative_to`` is the directory a relative ``source`` is taken from (a plan's folder).
    The same content is loaded once per process, and once per machine thanks to the cache.
    """
    name = str(source)
    if not name.startswith(("http://", "https://")):
        path = Path(name)
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        name = str(path)
    root = read_source(name)
    memo = _LOADED.get((name, root.sha256))
    if memo is not None and _unchanged(root, memo[1]):
        return memo[0]
    cached = _from_cache(root)
    if cached is None:
        bundle = _load_fresh(root)
        files = _files_of(root, bundle)
        spec = Spec(name, root.sha256, bundle.document)  # structural checks raise before caching
        write_entry(root.sha256, "doc", {"document": bundle.document, "files": files})
    else:
        document, files = cached
        spec = Spec(name, root.sha256, document)
    _LOADED[(name, root.sha256)] = (spec, files)
    return spec


def _load_fresh(root: SourceText) -> Bundle:
    document = parse_source(root)
    _check_top(document, root.name)
    bundle = bundle_document(root, document)
    check_refs(bundle)
    check_fanout(bundle)
    return bundle


def _check_top(document: Any, name: str) -> None:
    if not isinstance(document, dict):
        raise SpecError(
            "not an OpenAPI document: expected a mapping at the top level", file=name, code="spec"
        )
    version = document.get("openapi")
    if version is None and "swagger" in document:
        raise SpecError(
            f"Swagger {document['swagger']} is not supported; lam reads OpenAPI 3.x",
            file=name,
            location="swagger",
            code="spec",
        )
    if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
        raise SpecError(
            f"not an OpenAPI 3.0 or 3.1 document (openapi: {version!r})",
            file=name,
            location="openapi",
            code="spec",
        )
    for key in ("info", "components"):
        if key in document and not isinstance(document[key], dict):
            raise SpecError(f"'{key}' must be a mapping", file=name, location=key, code="spec")


def _from_cache(root: SourceText) -> tuple[dict[str, Any], dict[str, str]] | None:
    entry = read_entry(root.sha256, "doc")
    if not (isinstance(entry, dict) and isinstance(entry.get("document"), dict)):
        return None
    files = entry.get("files")
    if not isinstance(files, dict) or not _unchanged(root, files):
        return None
    return entry["document"], files


def _unchanged(root: SourceText, files: Mapping[str, str]) -> bool:
    """Whether every file the spec's refs reached still has the content it had."""
    base = Path(root.name).parent
    for relative, digest in files.items():
        other = str(relative) if "://" in str(relative) else str((base / relative).resolve())
        try:
            if read_source(other).sha256 != digest:
                return False
        except SpecError:
            return False
    return True


def _files_of(root: SourceText, bundle: Bundle) -> dict[str, str]:
    """The files refs reached, relative to the spec's folder, with their content hashes."""
    base = Path(root.name).parent.resolve()
    return {
        name if "://" in name else os.path.relpath(name, base): digest
        for name, digest in bundle.hashes.items()
        if name != root.name
    }
