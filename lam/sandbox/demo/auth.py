"""Signed tokens for the demo app: API bearer tokens and the pages' session cookie.

A token is ``PURPOSE.USERNAME.NONCE.SIGNATURE`` where the signature is an HMAC-SHA256 of the
rest under the secret stored in the database at seed time. Nothing is written when a token is
issued, so logging in (which a dry run lets through) never changes the database file.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["API_PURPOSE", "SESSION_PURPOSE", "Signer"]

API_PURPOSE = "api"
SESSION_PURPOSE = "session"


@dataclass(frozen=True)
class Signer:
    """Issues and checks tokens under one secret."""

    secret: bytes

    def _signature(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, purpose: str, username: str) -> str:
        """A fresh token for ``username`` valid only for ``purpose``."""
        body = f"{purpose}.{username}.{secrets.token_hex(8)}"
        return f"{body}.{self._signature(body)}"

    def verify(self, purpose: str, token: str | None) -> str | None:
        """The username a valid ``purpose`` token names, or None."""
        if not token:
            return None
        body, _, signature = token.rpartition(".")
        parts = body.split(".")
        if len(parts) != 3 or parts[0] != purpose or not parts[1]:
            return None
        if not hmac.compare_digest(signature, self._signature(body)):
            return None
        return parts[1]
