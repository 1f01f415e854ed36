"""What counts as signing in, the one kind of request a dry run may send live.

A dry run holds every state-changing request; signing in is let through so the run goes on
as the signed-in user (its pages read live data with the session it gets). Because a request
let through reaches the live app, the test is narrow and never a word in a path:

A request may pass through only when **all** of these hold:

1. it is a POST, and its own classification is no worse than write (a destructive request is
   held whatever else is true);
2. it is one of the two kinds of sign-in:

   - **a security-scheme token operation of the app's API spec**: either its path is the
     ``tokenUrl`` (or ``refreshUrl``) of an OAuth2 flow the spec declares, or it needs no
     security itself (``security: []``, or none anywhere) while other operations need an
     ``http`` bearer, ``apiKey`` or OAuth2 scheme, and a 2xx response hands out that credential:
     a top-level body property whose name says ``token`` or ``jwt`` (``token``,
     ``access_token``, ``idToken``), the ``apiKey``'s own name, or, for a cookie ``apiKey``, a
     declared ``Set-Cookie`` header (:func:`spec_sign_in`);
   - **a credentials form submitted by the step's own click** (:func:`credentials_form`):
     the form holds exactly one password field, visible and not marked ``new-password``,
     and exactly one visible user field (text, email or tel, named or marked as a user name or
     e-mail), nothing else a person fills in besides checkboxes; the control clicked does not
     say it signs up (create, register, join, sign up); the click is classified no worse than
     write; the form posts to one of the plan's own apps; and the request is the POST to that
     form's action, sent during that step, once;
3. the policy did not refuse it (the guard decides before this module is asked).

Everything let through is listed as passed through in the dry run's effects (``answered_by``
``live (sign-in)``) and recorded as a ``passthrough`` event with the reason.

Reads go live in a dry run too (pages load, and the sandbox simulator reads live lists and
items through :class:`lam.runtime.ui_step.LiveReader`), but only reads: a GET classified
destructive (``GET /items/purge``, an operation the spec marks ``x-lam-risk: destructive``)
never reaches the live app (:func:`read_stays_read`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from lam.egress.decide import read_outgoing
from lam.policy import url_host
from lam.risk import classify_request
from lam.risk.ui import ElementFacts
from lam.risk.words import tokens
from lam.types import Risk

__all__ = ["PASSED_LIVE", "api_sign_in", "credentials_form", "read_stays_read", "spec_sign_in"]

PASSED_LIVE = "live (sign-in)"
"""How a dry run's effects list a request it let through to the live app."""

_TOKEN_WORDS = frozenset({"token", "jwt"})
_SIGN_UP = frozenset({"create", "register", "join", "signup", "enroll", "new"})
_CREDENTIAL_SCHEMES = frozenset({"http", "apiKey", "oauth2", "openIdConnect"})


class SpecLike(Protocol):
    """What the sign-in test needs of :class:`lam.spec.Spec`."""

    document: Mapping[str, Any]
    security_schemes: Mapping[str, Mapping[str, Any]]
    operations: tuple[Any, ...]

    def resolve(self, node: Any) -> Any: ...


def spec_sign_in(spec: SpecLike, op: Any, url: str, risk: Risk) -> str | None:
    """Why the request ``POST url``, served by ``op`` of ``spec``, is a sign-in; None if it is
    not one (see the module docstring, rule 2, first kind)."""
    if op is None or str(op.method).upper() != "POST" or risk.rank > Risk.WRITE.rank:
        return None
    for name, flow_url in _token_urls(spec):
        if _same_endpoint(url, str(op.path), flow_url):
            return f"the OAuth2 token URL of security scheme {name!r}"
    if _needs_security(spec, op):
        return None
    needed = _schemes_needed(spec, op)
    if not needed:
        return None
    for code, response in (op.responses or {}).items():
        if not str(code).startswith("2") or not isinstance(response, Mapping):
            continue
        handed = _hands_out(spec, response, needed)
        if handed:
            return f"needs no security and its {code} response hands out {handed}"
    return None


def api_sign_in(spec: Any, request: httpx.Request, *, base_path: str = "") -> str | None:
    """Why an API step's request to ``spec``'s API (served under ``base_path``) is a sign-in
    (first kind), or None."""
    out = read_outgoing(request.method, str(request.url), request.headers, request.content)
    op = _operation(spec, base_path, request.method, out.url)
    risk = classify_request(out.method, out.url, body=out.body, operation=op).risk
    return spec_sign_in(spec, op, out.url, risk) if out.method == "POST" else None


def read_stays_read(spec: Any, base_path: str, method: str, url: str) -> bool:
    """Whether a dry run may send ``method url`` live as a read: a GET or HEAD that its URL's
    words and its operation in ``spec`` (when it has one) classify as read."""
    if method.upper() not in ("GET", "HEAD"):
        return False
    op = _operation(spec, base_path, method, url) if spec is not None else None
    return classify_request(method, url, operation=op).risk is Risk.READ


def _operation(spec: Any, base_path: str, method: str, url: str) -> Any:
    """The operation of ``spec`` serving ``method url`` under the API's ``base_path``, or None."""
    path = urlsplit(url).path
    base = base_path.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :] or "/"
    found = spec.match(method, path)
    return found[0] if found else None


def credentials_form(el: ElementFacts | None, click_risk: Risk, app_urls: Iterable[str]) -> bool:
    """Whether clicking ``el`` submits a credentials form of one of the plan's apps (see the
    module docstring, rule 2, second kind)."""
    if el is None or not el.form_credentials or not el.form_action:
        return False
    if (el.form_method or "").upper() != "POST" or click_risk.rank > Risk.WRITE.rank:
        return False
    words = tokens(el.label)
    if _SIGN_UP & set(words) or ("sign", "up") in pairwise(words):
        return False
    hosts = {url_host(u) for u in app_urls}
    return url_host(el.form_action) in hosts


def _token_urls(spec: SpecLike) -> list[tuple[str, str]]:
    found = []
    for name, scheme in spec.security_schemes.items():
        if not isinstance(scheme, Mapping) or scheme.get("type") != "oauth2":
            continue
        flows = scheme.get("flows")
        for flow in flows.values() if isinstance(flows, Mapping) else ():
            for key in ("tokenUrl", "refreshUrl"):
                if isinstance(flow, Mapping) and isinstance(flow.get(key), str) and flow[key]:
                    found.append((str(name), str(flow[key])))
    return found


def _same_endpoint(url: str, op_path: str, flow_url: str) -> bool:
    """Whether the request (``url``, served by the operation at ``op_path``) reaches
    ``flow_url``: an absolute one by the same host and path; a relative one (resolved against
    the API's server) when it is the operation's own path."""
    if "://" in flow_url:
        want_path = urlsplit(flow_url).path or "/"
        return url_host(url) == url_host(flow_url) and urlsplit(url).path == want_path
    want = "/" + urlsplit(flow_url).path.lstrip("/")
    return want != "/" and op_path.rstrip("/") == want.rstrip("/")


def _needs_security(spec: SpecLike, op: Any) -> bool:
    """Whether calling ``op`` needs a credential (its own requirement, else the spec's)."""
    own = op.security
    if own is None:
        own = spec.document.get("security")
    if not isinstance(own, list | tuple) or not own:
        return False
    return not any(isinstance(r, Mapping) and not r for r in own)  # {} makes it optional


def _schemes_needed(spec: SpecLike, op: Any) -> dict[str, Mapping[str, Any]]:
    """The credential schemes the spec's other operations need."""
    requirements: list[Any] = list(spec.document.get("security") or [])
    for other in spec.operations:
        if other is not op and other.security:
            requirements += list(other.security)
    names = {str(n) for r in requirements if isinstance(r, Mapping) for n in r}
    return {
        n: s
        for n, s in spec.security_schemes.items()
        if n in names and isinstance(s, Mapping) and s.get("type") in _CREDENTIAL_SCHEMES
    }


def _hands_out(
    spec: SpecLike, response: Mapping[str, Any], needed: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """What credential a response hands out, or None."""
    cookie_keys = [
        s for s in needed.values() if s.get("type") == "apiKey" and s.get("in") == "cookie"
    ]
    headers = response.get("headers")
    if (
        cookie_keys
        and isinstance(headers, Mapping)
        and any(str(h).lower() == "set-cookie" for h in headers)
    ):
        return "a session cookie (Set-Cookie)"
    key_names = {
        str(s.get("name", "")).lower() for s in needed.values() if s.get("type") == "apiKey"
    }
    content = response.get("content")
    for media in content.values() if isinstance(content, Mapping) else ():
        schema = spec.resolve(media.get("schema")) if isinstance(media, Mapping) else None
        for prop in _properties(spec, schema):
            if _TOKEN_WORDS & set(tokens(prop)) or prop.lower() in key_names:
                return f"the credential {prop!r}"
    return None


def _properties(spec: SpecLike, schema: Any, depth: int = 0) -> list[str]:
    """Top-level property names of a response schema (``allOf`` branches merged)."""
    if not isinstance(schema, Mapping) or depth > 8:
        return []
    names = [str(k) for k in schema.get("properties") or {}]
    for branch in schema.get("allOf") or ():
        names += _properties(spec, spec.resolve(branch), depth + 1)
    return names
