"""The hash chain and signature rules shared by run records and the ledger.

An entry's ``hash`` is the SHA-256 of its canonical JSON (sorted keys, no spaces) without the
``hash`` and ``sig`` fields; ``prev`` holds the hash of the entry before it (``GENESIS`` for
the first). ``sig`` is the operator key's Ed25519 signature over a message that names what is
signed, so that a signature made for one purpose never passes for another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["GENESIS", "canonical", "digest", "event_message", "ledger_message"]

GENESIS = "0" * 64
_UNHASHED = ("hash", "sig")


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(entry: Mapping[str, Any]) -> str:
    """The hash an entry must carry: over everything but ``hash`` and ``sig``."""
    return hashlib.sha256(
        canonical({k: v for k, v in entry.items() if k not in _UNHASHED})
    ).hexdigest()


def event_message(run_id: str, event_hash: str) -> bytes:
    """What a run event's signature covers: the run it belongs to and the event's hash (which
    covers ``prev``, so the whole chain before it)."""
    return b"lam-event/1\0" + run_id.encode() + b"\0" + event_hash.encode()


def ledger_message(entry_hash: str) -> bytes:
    """What a ledger entry's signature covers."""
    return b"lam-ledger/1\0" + entry_hash.encode()
