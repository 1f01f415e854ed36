"""The spec's security requirements, checked as a mock server can check them: is a credential
there, in the declared place and shape? (The simulator cannot know which tokens are valid.)

An operation's ``security`` (else the document's) is a list of alternatives; each alternative
names schemes that must all be present. An empty alternative (``{}``) or an empty list means
no credential is needed. A request that satisfies no alternative is answered 401, as Prism's
mock answers it, with a ``WWW-Authenticate`` header naming the HTTP schemes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any, Protocol

__all__ = ["challenge", "unauthorized"]


class _Request(Protocol):
    @property
    def query(self) -> Mapping[str, list[str]]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


def unauthorized(spec: Any, op: Any, request: _Request) -> str | None:
    """Why ``request`` lacks the credentials ``op`` requires, or None when it has them."""
    requirements = op.security if op.security is not None else spec.document.get("security")
    if not isinstance(requirements, list | tuple) or not requirements:
        return None
    schemes: Mapping[str, Mapping[str, Any]] = spec.security_schemes
    headers = {k.lower(): v for k, v in request.headers.items()}
    reasons: list[str] = []
    for alternative in requirements:
        if not isinstance(alternative, Mapping):
            continue
        missing = [
            name for name in alternative if not _present(schemes.get(name), headers, request)
        ]
        if not missing:
            return None  # {} (anonymous allowed) lands here too
        reasons.append(" and ".join(_describe(name, schemes.get(name)) for name in missing))
    if not reasons:
        return None
    return "credentials required: " + " or ".join(dict.fromkeys(reasons))


def challenge(spec: Any, op: Any) -> str:
    """A ``WWW-Authenticate`` value for ``op``'s HTTP schemes (``Bearer``, ``Basic``)."""
    requirements = op.security if op.security is not None else spec.document.get("security")
    found: list[str] = []
    for alternative in requirements if isinstance(requirements, list | tuple) else ():
        for name in alternative if isinstance(alternative, Mapping) else ():
            scheme = spec.security_schemes.get(name) or {}
            if scheme.get("type") == "http":
                found.append(str(scheme.get("scheme", "bearer")).capitalize())
            elif scheme.get("type") in ("oauth2", "openIdConnect"):
                found.append("Bearer")
    return ", ".join(dict.fromkeys(found)) or "Bearer"


def _present(
    scheme: Mapping[str, Any] | None, headers: Mapping[str, str], request: _Request
) -> bool:
    if not isinstance(scheme, Mapping):
        return True  # a scheme the spec does not define cannot be asked for
    kind = scheme.get("type")
    if kind == "apiKey":
        name = str(scheme.get("name", ""))
        place = scheme.get("in")
        if place == "header":
            return bool(headers.get(name.lower()))
        if place == "query":
            return bool(request.query.get(name))
        if place == "cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers.get("cookie", ""))
            except Exception:  # a malformed Cookie header carries no credential
                return False
            return name in jar and bool(jar[name].value)
        return True
    value = headers.get("authorization", "")
    if kind == "http":
        wanted = str(scheme.get("scheme", "")).lower()
        word, _, rest = value.partition(" ")
        if word.lower() != wanted or not rest.strip():
            return False
        return wanted != "basic" or _basic_pair(rest.strip())
    if kind in ("oauth2", "openIdConnect"):
        word, _, rest = value.partition(" ")
        return word.lower() == "bearer" and bool(rest.strip())
    return True  # mutualTLS and unknown kinds: nothing a request header can show


def _basic_pair(token: str) -> bool:
    try:
        return b":" in base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False


def _describe(name: str, scheme: Mapping[str, Any] | None) -> str:
    if not isinstance(scheme, Mapping):
        return name
    if scheme.get("type") == "apiKey":
        return f"{scheme.get('in', 'header')} {scheme.get('name', name)!r} ({name})"
    if scheme.get("type") == "http":
        return f"Authorization: {str(scheme.get('scheme', '')).capitalize()} ({name})"
    return f"Authorization: Bearer ({name})"
