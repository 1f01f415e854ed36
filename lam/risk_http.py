"""Risk from HTTP alone: the method, and the words of a URL's path and query.

Used by :mod:`lam.risk` for operations and the network guard, and by :mod:`lam.risk_ui` for
links and form actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from lam.risk_words import money_noun, tokens, verb
from lam.types import Classification, Risk

__all__ = [
    "READ_METHODS",
    "WRITE_METHODS",
    "action_segment",
    "classify_method",
    "decode_escapes",
    "effective_method",
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


def _looks_like_id(segment: str) -> bool:
    return any(c in _ID_LIKE for c in segment) or len(segment) >= 24


def decode_escapes(text: str) -> str:
    """``text`` with percent-escapes undone until none are left (``de%256Cete`` is
    ``delete`` to a server that decodes twice), so escapes cannot hide a verb."""
    for _ in range(5):
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    return text


def url_classification(method: str, url: str) -> Classification:
    """The risk of a request from its method and the words of its URL (decoded first)."""
    base = classify_method(method)
    if base.risk is Risk.DESTRUCTIVE:
        return base
    parts = urlsplit(url)
    segs = [s for s in decode_escapes(parts.path).split("/") if s]
    reasons: list[str] = []
    # A GET that deletes (``GET /pets/3/delete``, ``?action=delete``) is the classic
    # unsafe link; only base-form verbs count for reads so ``/deleted-items`` stays a read.
    for seg in segs:
        if _looks_like_id(seg):
            continue
        for tok in tokens(seg):
            if verb(tok):
                reasons.append(f"path segment {seg!r} says {tok!r}")
                break
        if reasons:
            break
    if base.risk is Risk.READ:
        for key, value in parse_qsl(decode_escapes(parts.query), keep_blank_values=True):
            if key.lower() in {"action", "op", "do", "cmd", "command", "method"} and verb(
                value.strip().lower()
            ):
                reasons.append(f"query {key}={value} says {value.strip().lower()!r}")
                break
    else:
        named = [s for s in segs if not _looks_like_id(s)]
        if not reasons and named and not _looks_like_id(segs[-1]):
            noun_reason = action_segment(named[-1], nouns=True)
            if noun_reason:
                reasons.append(noun_reason)
    if reasons:
        return Classification(Risk.DESTRUCTIVE, (*base.reasons, *reasons))
    return base
