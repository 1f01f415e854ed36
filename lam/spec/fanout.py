"""Refusing schemas that multiply: ``$ref`` used the way YAML aliases are in an alias bomb.

``s0: {allOf: [$ref s1, $ref s1, ... nine times]}``, ``s1`` the same over ``s2``, and so on:
a spec of 3 kB whose ``s0`` is 9**8 (43 million) schemas once its refs are followed. Checking a
body against it (jsonschema applies every branch to the same value) or checking the spec
itself (openapi-spec-validator gathers the properties of every ``allOf`` branch) never ends.

:func:`check_fanout` counts, for every schema, the branches a validator applies to one value:
the schema itself plus, recursively, what its ``$ref``, ``allOf``, ``anyOf``, ``oneOf``,
``not`` and ``items`` lead to, each shared schema counted once per way it is reached (a cycle
counts once: validators stop there). The count is memoized, so it costs one visit per schema.
Real specs stay far below the limit: the largest count in GitHub's REST spec is 118, in
Stripe's 36.
"""

from __future__ import annotations

from typing import Any

from lam import json_pointer
from lam.errors import SpecError
from lam.spec.refs import Bundle, lookup_pointer

__all__ = ["MAX_SCHEMA_BRANCHES", "check_fanout"]

MAX_SCHEMA_BRANCHES = 10_000
"""A schema may lead through refs and applicators to at most this many schemas."""

_LISTS = ("allOf", "anyOf", "oneOf")
_SINGLE = ("not", "items")


def check_fanout(bundle: Bundle) -> None:
    """SpecError at the first schema whose branches, refs followed, exceed the limit."""
    document = bundle.document
    counts: dict[int, int] = {}
    targets: dict[str, Any] = {}
    for node in _fanning(document):
        if _count(document, node, counts, targets) > MAX_SCHEMA_BRANCHES:
            pointer = _pointer_of(document, node)
            file, inner = bundle.file_of(pointer)
            raise SpecError(
                f"this schema leads through $ref, allOf, anyOf or oneOf to more than "
                f"{MAX_SCHEMA_BRANCHES:,} schemas; no validator could finish with it",
                file=file or next(iter(bundle.hashes)),
                location="#" + inner,
                code="too-large",
            )


def _branches(document: Any, node: dict[str, Any], targets: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        if ref not in targets:
            targets[ref] = lookup_pointer(document, ref[1:])
        found.append(targets[ref])
    for key in _LISTS:
        value = node.get(key)
        if isinstance(value, list):
            found.extend(value)
    for key in _SINGLE:
        found.append(node.get(key))
    return [branch for branch in found if isinstance(branch, dict)]


def _count(
    document: Any, start: dict[str, Any], counts: dict[int, int], targets: dict[str, Any]
) -> int:
    """Branches under ``start``: post-order without recursion (an allOf chain can be long)."""
    open_now: set[int] = set()
    stack: list[tuple[dict[str, Any], bool]] = [(start, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _branches(document, node, targets)
        if finished:
            open_now.discard(key)
            # A branch still open is a cycle back to an ancestor: validators stop there.
            counts[key] = min(
                1 + sum(counts.get(id(child), 1) for child in children),
                MAX_SCHEMA_BRANCHES + 1,  # enough to refuse; keeps the numbers small
            )
            continue
        if key in counts or key in open_now:
            continue
        open_now.add(key)
        stack.append((node, True))
        stack.extend(
            (child, False)
            for child in children
            if id(child) not in counts and id(child) not in open_now
        )
    return counts[id(start)]


def _fanning(document: Any) -> list[dict[str, Any]]:
    """Every mapping holding allOf, anyOf or oneOf: only those can multiply."""
    found: list[dict[str, Any]] = []
    stack = [document]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            if "allOf" in current or "anyOf" in current or "oneOf" in current:
                found.append(current)
            stack.extend(v for v in current.values() if type(v) is dict or type(v) is list)
        elif type(current) is list:
            stack.extend(v for v in current if type(v) is dict or type(v) is list)
    return found


def _pointer_of(document: Any, target: dict[str, Any]) -> str:
    """The JSON pointer of ``target`` in ``document`` (slow path: only on refusal)."""
    stack: list[tuple[Any, list[str]]] = [(document, [])]
    while stack:
        current, where = stack.pop()
        if current is target:
            return json_pointer.join(where)
        if isinstance(current, dict):
            stack.extend((v, [*where, str(k)]) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, [*where, str(i)]) for i, v in enumerate(current))
    return ""
