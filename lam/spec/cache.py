"""The spec cache: loaded documents and check results, keyed by content hash.

Entries live under ``platformdirs.user_cache_dir("lam")/specs`` (or ``$LAM_CACHE_DIR/specs``).
An entry is written atomically (a temporary file renamed into place) and carries a digest of its
own payload, so a torn, corrupt or foreign entry is detected, ignored and rewritten: the cache can
make lam faster but never makes it fail.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CACHE_FORMAT", "cache_dir", "read_entry", "write_entry"]

CACHE_FORMAT = 1
"""Bumped whenever what lam stores in an entry changes; older entries are then ignored."""

_MAGIC = b"LAMSPEC1"
_DIGEST_BYTES = 32


def cache_dir() -> Path:
    """Where spec cache entries are kept (``$LAM_CACHE_DIR`` wins over the user cache dir)."""
    override = os.environ.get("LAM_CACHE_DIR")
    if override:
        return Path(override) / "specs"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lam")) / "specs"


def _path(key: str, kind: str) -> Path:
    return cache_dir() / f"{key}.v{CACHE_FORMAT}.{kind}"


def read_entry(key: str, kind: str) -> Any | None:
    """The value stored under ``key`` and ``kind``, or None when absent, stale or corrupt."""
    try:
        data = _path(key, kind).read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST_BYTES
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(_MAGIC) : head]:
        return None
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None


def write_entry(key: str, kind: str, value: Any) -> None:
    """Store ``value`` (plain data: dict, list, str, numbers) atomically; errors are ignored."""
    try:
        payload = marshal.dumps(value)
    except ValueError:
        return  # not plain data: do not cache it
    data = _MAGIC + hashlib.sha256(payload).digest() + payload
    target = _path(key, kind)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=f".{kind}")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a read-only or full disk: run without the cache
