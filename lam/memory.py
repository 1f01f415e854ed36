"""The planner's memory: per site, which locator resolved a goal step, and which failed.

A site is ``scheme://host:port``. An entry maps a *key* (a goal clause or a step description,
compared case- and space-insensitively) and the locator *hints* that were tried to how often
they worked, what the element looked like (its fingerprint), and the last failure's error.
Planners and grounding call :meth:`MemoryStore.recall` first and try what worked before; hints
whose last attempt failed come back flagged so a caller does not repeat them blindly.
Hints a caller refused (:meth:`MemoryStore.refuse`: ``lam do`` refuses a remembered locator
that got its step held) are never recalled again; only :meth:`MemoryStore.forget` clears them.

Memory holds locators, never steps or approvals: :meth:`MemoryStore.recall` hands back only
hints that are a UI step's target as the plan schema defines it (:func:`is_locator`). A row
of any other shape (written into the file by something other than lam, say with an
``approve`` key) is skipped, so it can neither ride into a step nor make the step that
recalls it invalid; :meth:`MemoryStore.entries` still lists it, as what the file holds.

The store is one SQLite file: ``$LAM_MEMORY_DB``, else ``$LAM_HOME/memory.sqlite3``, else
``memory.sqlite3`` in the user's data directory. WAL mode and one short transaction per call
keep several lam processes safe side by side.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lam.errors import DocumentError, UsageError

__all__ = [
    "MemoryStore",
    "Remembered",
    "default_memory_path",
    "is_locator",
    "normalize_key",
    "site_of",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    hints TEXT NOT NULL,
    fingerprint TEXT,
    successes INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_success REAL,
    last_failure REAL,
    refused REAL,
    PRIMARY KEY (site, key, hints)
)
"""
_COLUMNS = (
    "site, key, hints, fingerprint, successes, failures, last_error, last_success, last_failure,"
    " refused"
)
_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Remembered:
    """One remembered locator for a key on a site."""

    site: str
    key: str
    hints: Mapping[str, Any]
    fingerprint: Mapping[str, Any] | None
    successes: int
    failures: int
    last_error: str | None
    last_success: float | None
    last_failure: float | None
    refused: float | None = None  # when a caller refused these hints: never recalled again

    @property
    def failed(self) -> bool:
        """True when the last attempt with these hints failed, or they were refused: do not
        retry them blindly."""
        if self.refused is not None:
            return True
        if self.last_failure is None:
            return False
        return self.last_success is None or self.last_failure >= self.last_success

    @property
    def last_used(self) -> float:
        return max(self.last_success or 0.0, self.last_failure or 0.0)


def site_of(url: str) -> str:
    """``https://Shop.example.com/a?b`` -> ``https://shop.example.com:443``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _PORTS or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}", code="bad-site")
    try:
        port = parts.port or _PORTS[parts.scheme]
    except ValueError:
        raise UsageError(f"bad port in {url!r}", code="bad-site") from None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


def normalize_key(key: str) -> str:
    """Keys compare without case and with runs of white space as one space."""
    return " ".join(key.split()).casefold()


def is_locator(hints: Any) -> bool:
    """True when ``hints`` is a locator the plan format takes as a UI step's target (the plan
    schema's ``target``, in its object form): nothing else is ever recalled."""
    return isinstance(hints, Mapping) and _target_validator().is_valid(dict(hints))


@cache
def _target_validator() -> Any:
    from jsonschema import Draft202012Validator

    from lam.documents import schema

    plan = schema("plan")
    return Draft202012Validator({"$defs": plan["$defs"], "$ref": "#/$defs/target"})


def default_memory_path() -> Path:
    """``$LAM_MEMORY_DB``, else ``$LAM_HOME/memory.sqlite3``, else the user data directory."""
    explicit = os.environ.get("LAM_MEMORY_DB")
    if explicit:
        return Path(explicit)
    home = os.environ.get("LAM_HOME")
    if home:
        return Path(home) / "memory.sqlite3"
    from platformdirs import user_data_dir

    return Path(user_data_dir("lam")) / "memory.sqlite3"


def _canonical(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class MemoryStore:
    """The memory in one SQLite file. Each method is one short transaction."""

    def __init__(self, path: Path | str | None = None, *, timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_memory_path()
        self._timeout = timeout
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        name = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(name, timeout=self._timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise DocumentError(
                f"cannot open the memory store: {exc}", file=name, code="memory-unreadable"
            ) from None
        try:
            # WAL with synchronous=NORMAL cannot corrupt the file; a power cut may lose the
            # last few entries, which a memory of hints can afford (fsync per write is ~25 ms).
            conn.execute("PRAGMA synchronous=NORMAL")
            if not self._ready:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")  # one process adds a missing column, not two
                conn.execute(_SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(memory)")}
                if "refused" not in columns:  # a store from before refusals
                    conn.execute("ALTER TABLE memory ADD COLUMN refused REAL")
                conn.execute("COMMIT")
                self._ready = True
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            text = str(exc)
            if any(w in text for w in ("locked", "busy", "unable to open", "readonly", "disk")):
                raise DocumentError(
                    f"cannot use the memory store: {text}", file=name, code="memory-unusable"
                ) from None
            raise DocumentError(
                f"the memory store is damaged or not a lam memory database ({exc}); "
                "remove it or point LAM_MEMORY_DB elsewhere",
                file=name,
                code="memory-corrupt",
            ) from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def remember_success(
        self,
        site: str,
        key: str,
        hints: Mapping[str, Any],
        fingerprint: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``hints`` resolved ``key`` on ``site`` (a URL or a site)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO memory (site, key, hints, fingerprint, successes, last_success)"
                " VALUES (?, ?, ?, ?, 1, ?)"
                " ON CONFLICT (site, key, hints) DO UPDATE SET"
                " successes = successes + 1, last_success = excluded.last_success,"
                " fingerprint = COALESCE(excluded.fingerprint, fingerprint)",
                (
                    site_of(site),
                    normalize_key(key),
                    _canonical(hints),
                    _canonical(fingerprint) if fingerprint is not None else None,
                    time.time(),
                ),
            )

    def remember_failure(self, site: str, key: str, hints: Mapping[str, Any], error: str) -> None:
        """Record that ``hints`` failed for ``key`` on ``site``, with the error text."""
        self._failed(site, key, hints, error, refused=False)

    def refuse(self, site: str, key: str, hints: Mapping[str, Any], why: str) -> None:
        """Record that ``hints`` must not be used for ``key`` on ``site`` again (``why`` is
        kept as the last error): :meth:`recall` leaves them out from now on, whatever
        successes are recorded for them later."""
        self._failed(site, key, hints, why, refused=True)

    def _failed(
        self, site: str, key: str, hints: Mapping[str, Any], error: str, *, refused: bool
    ) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO memory (site, key, hints, failures, last_error, last_failure,"
                " refused) VALUES (?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT (site, key, hints) DO UPDATE SET"
                " failures = failures + 1, last_error = excluded.last_error,"
                " last_failure = excluded.last_failure,"
                " refused = COALESCE(excluded.refused, refused)",  # once refused, always
                (site_of(site), normalize_key(key), _canonical(hints), error[:500], now,
                 now if refused else None),
            )  # fmt: skip

    def recall(self, site: str, key: str) -> list[Remembered]:
        """What is remembered for ``key`` on ``site``: hints that worked first (most
        successes, then most recent), hints whose last attempt failed last. Only locators
        come back (:func:`is_locator`): a row of another shape is not for running; refused
        hints (:meth:`refuse`) never come back."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM memory WHERE site = ? AND key = ? AND refused IS NULL",
                (site_of(site), normalize_key(key)),
            ).fetchall()
        found = [e for e in map(self._row, rows) if is_locator(e.hints)]
        found.sort(key=lambda r: (r.failed, -r.successes, -r.last_used))
        return found

    def entries(self, site: str | None = None) -> list[Remembered]:
        """Everything remembered, or everything for one site, by site and key."""
        query = f"SELECT {_COLUMNS} FROM memory"
        args: tuple[str, ...] = ()
        if site is not None:
            query += " WHERE site = ?"
            args = (site_of(site),)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY site, key, successes DESC", args).fetchall()
        return [self._row(r) for r in rows]

    def forget(self, site: str | None = None) -> int:
        """Forget one site, or everything; returns how many entries went."""
        with self._connect() as conn:
            if site is None:
                cursor = conn.execute("DELETE FROM memory")
            else:
                cursor = conn.execute("DELETE FROM memory WHERE site = ?", (site_of(site),))
            return int(cursor.rowcount)

    def _row(self, row: tuple[Any, ...]) -> Remembered:
        site, key, hints, fingerprint, ok, bad, error, last_ok, last_bad, refused = row
        try:
            return Remembered(
                site=site,
                key=key,
                hints=json.loads(hints),
                fingerprint=json.loads(fingerprint) if fingerprint else None,
                successes=int(ok),
                failures=int(bad),
                last_error=error,
                last_success=last_ok,
                last_failure=last_bad,
                refused=refused,
            )
        except (TypeError, ValueError):
            raise DocumentError(
                f"the memory store holds an unreadable entry for {site} {key!r}",
                file=str(self.path),
                code="memory-corrupt",
            ) from None
