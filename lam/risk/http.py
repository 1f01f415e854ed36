"""Risk from HTTP alone: the method, the words of a URL's path and query, and the action
fields of a body.

Used by :mod:`lam.risk` for operations and the network guard, and by :mod:`lam.risk.ui` for
links and form actions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lam.risk.words import money_noun, tokens, verb
from lam.types import Classification, Risk
from lam.url_path import decode_escapes, normalize_path

__all__ = [
    "ACTION_FIELDS",
    "READ_METHODS",
    "WRITE_METHODS",
    "action_segment",
    "body_reasons",
    "classify_method",
    "decode_escapes",
    "effective_method",
    "path_reasons",
    "query_reasons",
    "url_classification",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def classify_method(method: str) -> Classification:
    """The risk an HTTP method alone implies; an unknown method counts as write."""
    upper = method.upper()
    if upper in READ_METHODS:
        return Classification(Risk.READ, (f"{upper} method",))
    if upper in WRITE_METHODS:
        return Classification(Risk.WRITE, (f"{upper} method",))
    if upper == "DELETE":
        return Classification(Risk.DESTRUCTIVE, ("DELETE method",))
    return Classification(Risk.WRITE, (f"unknown method {upper!r} counts as write",))


def action_segment(segment: str, *, nouns: bool) -> str | None:
    """A reason when a path segment names a destructive action or (``nouns``) money moving."""
    toks = tokens(segment)
    if not toks:
        return None
    for tok in (toks[0], toks[-1]):
        if verb(tok):
            return f"path segment {segment!r} says {tok!r}"
    if nouns and money_noun(toks[-1]):
        return f"path segment {segment!r}: creating a {money_noun(toks[-1])} moves money"
    return None


OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
_OVERRIDE_FIELDS = ("_method", "x-http-method-override")


def effective_method(
    method: str,
    headers: Mapping[str, str] | None = None,
    url: str = "",
    form: Mapping[str, Any] | None = None,
) -> str:
    """The method a server may act on: a POST carrying ``X-HTTP-Method-Override: DELETE`` (or
    a ``_method=DELETE`` form field or query parameter, as Rails and Laravel read it) is a
    DELETE. Only an override that raises the risk counts; the riskiest one wins."""
    found = method.upper()
    claims = [v for k, v in (headers or {}).items() if k.lower() in OVERRIDE_HEADERS]
    claims += [v for k, v in parse_qsl(urlsplit(url).query) if k.lower() in _OVERRIDE_FIELDS]
    for key, value in (form or {}).items():
        if str(key).lower() in _OVERRIDE_FIELDS:
            claims += value if isinstance(value, list) else [value]
    for claim in claims:
        text = str(claim).strip().upper()
        if text and classify_method(text).risk.rank > classify_method(found).risk.rank:
            found = text
    return found


_ID_LIKE = frozenset("0123456789")
_LETTER_RUN = re.compile(r"[A-Za-z]+")

ACTION_FIELDS = frozenset(
    {
        "action", "_action", "op", "operation", "do", "cmd", "command", "method", "_method",
        "intent", "task", "verb", "x-http-method-override",
    }
)  # fmt: skip
"""Names of query parameters and body fields that frameworks read as the action to take
(``?action=delete``, Django admin's ``action=delete_selected``, Remix's ``intent``,
Rails' ``_method``): a destructive verb in their value makes the request destructive."""


def _looks_like_id(segment: str) -> bool:
    return any(c in _ID_LIKE for c in segment) or len(segment) >= 24


def _segment_verb(segment: str) -> str | None:
    """The destructive verb a path segment (matrix parameters cut off) names, or None.

    A word-like segment is cut into tokens (``deleteAll``, ``bulk-delete``). An id-like one
    (a digit, or 24+ characters) is read by its letter runs, so ``delete2``, ``remove3`` and
    ``delete-all-users-permanently`` still say delete; a run counts when it is a verb itself
    or splits into words of three letters or more, so random ids (``x8PayQ3``) stay quiet.
    """
    if not _looks_like_id(segment):
        return next((tok for tok in tokens(segment) if verb(tok)), None)
    for run in _LETTER_RUN.findall(segment):
        whole = str(run).lower()
        if verb(whole):
            return whole
        words = tokens(run)
        if len(words) > 1 and all(len(w) >= 3 for w in words):
            hit = next((w for w in words if verb(w)), None)
            if hit:
                return hit
    return None


def _value_verb(value: object) -> str | None:
    """The destructive verb an action field's value (or any of its values) names, or None."""
    values = value if isinstance(value, list | tuple) else [value]
    for one in values:
        if isinstance(one, str):
            hit = next((t for t in tokens(decode_escapes(one)) if verb(t)), None)
            if hit:
                return hit
    return None


def path_reasons(path: str) -> list[str]:
    """Reasons from the words of a concrete path: every segment, in every reading a server
    may route (decoded, dot segments resolved), matrix parameters (``;action=delete``) too."""
    for reading in (decode_escapes(path), normalize_path(path)):
        for seg in (s for s in reading.split("/") if s):
            name, _, matrix = seg.partition(";")
            hit = _segment_verb(name)
            if hit:
                return [f"path segment {seg!r} says {hit!r}"]
            for key, value in parse_qsl(matrix.replace(";", "&"), keep_blank_values=True):
                acts = key.strip().lower() in ACTION_FIELDS
                hit = _segment_verb(key) or (_value_verb(value) if acts else None)
                if hit:
                    return [f"matrix parameter {key}={value} in {seg!r} says {hit!r}"]
    return []


_BRACKETS = re.compile(r"[^\[\]]+")
_DESTROY_FLAGS = frozenset({"_destroy", "_delete", "_remove"})
_TRUE = frozenset({"1", "true", "on", "yes"})


def _field_name(key: object) -> str:
    """A form field's own name: ``item[op]`` and ``op[]`` are ``op`` (PHP, Rails, Qs)."""
    parts = _BRACKETS.findall(decode_escapes(str(key)).strip().lower())
    return parts[-1].strip() if parts else ""


def _field_reason(where: str, key: object, value: object) -> str | None:
    """A reason when one field says a destructive action: an action field naming a verb, or a
    destroy flag set (Rails' nested ``items_attributes[0][_destroy]=1``)."""
    name = _field_name(key)
    if name in ACTION_FIELDS:
        hit = _value_verb(value)
        if hit:
            return f"{where} {key}={value!r} says {hit!r}"
    if name in _DESTROY_FLAGS and str(value).strip().lower() in _TRUE:
        return f"{where} {key}={value!r} marks a record for destruction"
    return None


def query_reasons(query: str) -> list[str]:
    """Reasons from a query string's action parameters (``?action=delete``), on any method."""
    for key, value in parse_qsl(query, keep_blank_values=True):
        reason = _field_reason("query", key, value)
        if reason:
            return [reason]
    return []


def _destroy_flag(node: object, depth: int = 0) -> str | None:
    """A destroy flag set anywhere in a JSON body (nested attributes), looked for a few levels
    deep."""
    if depth > 6:
        return None
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in list(items)[:200]:
        if (
            isinstance(key, str)
            and _field_name(key) in _DESTROY_FLAGS
            and value in (True, 1, "1", "true")
        ):
            return f"body field {key}={value!r} marks a record for destruction"
        if isinstance(value, dict | list):
            found = _destroy_flag(value, depth + 1)
            if found:
                return found
    return None


_MUTATION = re.compile(r"^\s*mutation\b[^{]*\{\s*(?:\w+\s*:\s*)?(\w+)", re.DOTALL)


def body_reasons(body: object) -> list[str]:
    """Reasons from a parsed form or JSON body: an action field whose value says a
    destructive verb (``action=delete_selected``, ``{"op": "purge"}``, ``item[op]=purge``), a
    destroy flag set (``items_attributes[0][_destroy]=1``, nested in JSON too), or a GraphQL
    mutation whose first field says one (``mutation { deleteUser(id: 3) }``)."""
    if not isinstance(body, dict):
        return []
    for key, value in body.items():
        reason = _field_reason("body field", key, value)
        if reason:
            return [reason]
    flag = _destroy_flag(body)
    if flag:
        return [flag]
    query = body.get("query")
    if isinstance(query, str):
        found = _MUTATION.match(query)
        if found:
            hit = next((t for t in tokens(found.group(1)) if verb(t)), None)
            if hit:
                return [f"GraphQL mutation {found.group(1)!r} says {hit!r}"]
    return []


def url_classification(method: str, url: str) -> Classification:
    """The risk of a request from its method and the words of its URL (decoded first).

    Any segment naming a destructive verb makes it destructive, a GET too (``GET
    /pets/3/delete`` is the classic unsafe link); only base-form verbs count, so
    ``/deleted-items`` stays a read. Action parameters of the query count on every method.
    """
    base = classify_method(method)
    if base.risk is Risk.DESTRUCTIVE:
        return base
    parts = urlsplit(url)
    reasons = path_reasons(parts.path) or query_reasons(parts.query)
    if not reasons and base.risk is not Risk.READ:
        segs = [s.split(";", 1)[0] for s in decode_escapes(parts.path).split("/") if s]
        named = [s for s in segs if not _looks_like_id(s)]
        if named and not _looks_like_id(segs[-1]):
            noun_reason = action_segment(named[-1], nouns=True)
            if noun_reason:
                reasons.append(noun_reason)
    if reasons:
        return Classification(Risk.DESTRUCTIVE, (*base.reasons, *reasons))
    return base
