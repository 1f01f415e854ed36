"""Grants: the route handler's word to the proxy that it saw a request and let it go.

A grant is a header the network guard adds to a request it lets through (continue or fetch).
It is an HMAC, under a secret made for the run that never enters a page, over the request's
method, its URL (canonical form) and a digest of its body, with an expiry and a nonce::

    x-lam-grant: v1.<expires, unix seconds>.<nonce>.<hex HMAC-SHA256>

The proxy checks it and strips it before the request goes on, so neither the page nor the
server ever sees one. A grant is good for one request (its nonce is spent on first use), for
:data:`GRANT_TTL_S` seconds, and only for the request it was made for: a page that learnt one
could not move it to another method, URL or body.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from urllib.parse import urlsplit, urlunsplit

__all__ = ["GRANT_HEADER", "GRANT_TTL_S", "Grants", "canonical_url"]

GRANT_HEADER = "x-lam-grant"
GRANT_TTL_S = 30.0
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def canonical_url(url: str) -> str:
    """``url`` as both ends see it: scheme and host lower-cased, the default port dropped, no
    fragment (a fragment is never sent). Path and query stay byte for byte."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


class Grants:
    """Makes and checks grants for one run (thread-safe: the proxy checks on its own thread)."""

    def __init__(self, *, secret: bytes | None = None, ttl_s: float = GRANT_TTL_S) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._ttl_s = ttl_s
        self._spent: dict[str, float] = {}  # nonce -> expiry
        self._lock = threading.Lock()

    def issue(self, method: str, url: str, body: bytes | None) -> str:
        """A grant for exactly this request."""
        expires = int(time.time() + self._ttl_s) + 1
        nonce = secrets.token_hex(8)
        return f"v1.{expires}.{nonce}.{self._mac(method, url, body, expires, nonce)}"

    def verify(self, grant: str | None, method: str, url: str, body: bytes | None) -> bool:
        """Whether ``grant`` was issued for this request, has not expired and was not used
        before. A good grant is spent by this call."""
        if not grant:
            return False
        fields = grant.strip().split(".")
        if len(fields) != 4 or fields[0] != "v1" or not fields[1].isdigit():
            return False
        expires, nonce, mac = int(fields[1]), fields[2], fields[3]
        now = time.time()
        if expires < now or len(nonce) > 64:
            return False
        if not hmac.compare_digest(mac, self._mac(method, url, body, expires, nonce)):
            return False
        with self._lock:
            for old in [n for n, until in self._spent.items() if until < now]:
                del self._spent[old]
            if nonce in self._spent:
                return False
            self._spent[nonce] = float(expires)
        return True

    def _mac(self, method: str, url: str, body: bytes | None, expires: int, nonce: str) -> str:
        digest = hashlib.sha256(body or b"").hexdigest()
        message = "\n".join((method.upper(), canonical_url(url), digest, str(expires), nonce))
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()
