"""Run records: ``.lam/runs/<run-id>/`` with a hash-chained, signed ``trace.jsonl``.

Each event is one JSON line holding the hash of the event before it (``prev``), its own
``hash`` (SHA-256 over the canonical JSON of the event without ``hash`` and ``sig``) and
``sig``, the operator key's signature over the run id and that hash (see
:mod:`lam.evidence.chain`). Editing, removing or reordering a line breaks the chain; recomputing
the chain needs the operator key, which lives outside every run folder. The final event
(``end``, or ``seal`` for a record closed without one) carries ``count`` and ``key`` (the key
id); the ledger (:mod:`lam.evidence.ledger`) gets an entry when the record opens and one with
the final hash and count when it ends. Files the record keeps (screenshots, ``effects.json``)
are hashed into a ``file`` event once their bytes are final.

Lines are written and flushed one at a time, so a run that dies half-way leaves every event
before the death intact. Secret values and credential headers are redacted before an event is
hashed or written. :func:`verify_trace` checks the chain alone; ``lam verify``
(:mod:`lam.evidence.verify`) checks signatures, files and the ledger too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lam.evidence.chain import GENESIS, digest, event_message
from lam.evidence.keys import PublicKey
from lam.evidence.paths import UnsafePath, resolve_in

if TYPE_CHECKING:
    from lam.evidence.notary import Notary

__all__ = [
    "FINAL_TYPES",
    "GENESIS",
    "REDACTED",
    "EventChain",
    "RunRecord",
    "TraceCheck",
    "new_run_id",
    "read_trace",
    "redact",
    "runs_root",
    "verify_trace",
]

REDACTED = "***"
_SENSITIVE_KEY = re.compile(
    r"(^|[-_])(authorization|cookie|set-cookie|password|passwd|passphrase|secret|token|"
    r"access[-_]?token|refresh[-_]?token|api[-_]?key|client[-_]?secret)$"
    # anti-forgery tokens under the names frameworks give them (Django's
    # csrfmiddlewaretoken, Rails' authenticity_token, X-XSRF-TOKEN ...)
    r"|csrf|xsrf|authenticity[-_]?token",
    re.IGNORECASE,
)


def redact(value: Any, hide: Collection[str] = ()) -> Any:
    """``value`` as a record writes it down: values under credential-like keys (``password``,
    ``token``, ``authorization``...) are hidden unless they are plan expressions (``$...``),
    and so is each of ``hide`` inside any string. One rule for run and mission records."""
    if isinstance(value, str):
        for secret in hide:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {k: _redact_item(str(k), v, hide) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, hide) for v in value]
    return value


def _redact_item(key: str, value: Any, hide: Collection[str]) -> Any:
    if _SENSITIVE_KEY.search(key) and not (isinstance(value, str) and value.startswith("$")):
        return REDACTED if value not in (None, "") else value
    return redact(value, hide)


def runs_root(base: Path | None = None) -> Path:
    """Where run records live: ``$LAM_HOME/runs`` or ``./.lam/runs``."""
    home = os.environ.get("LAM_HOME")
    root = Path(home) if home else (base or Path.cwd()) / ".lam"
    return root / "runs"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


FINAL_TYPES = ("end", "seal")
"""Event types that close a record: they carry ``count`` and ``key``, and nothing follows."""


class EventChain:
    """The writing end of a chained, signed JSONL file of events: run and mission records
    write through one. Each event gets ``seq``, ``time``, ``type``, its data, ``prev``,
    ``hash`` and ``sig`` (the notary's signature over ``name`` and the hash) and is flushed at
    once; a final event also carries ``run``, ``count`` and ``key``, is synced to disk and
    anchored in the ledger, and nothing may follow it. The owner redacts the data and
    serialises the calls."""

    def __init__(self, path: Path, *, name: str, what: str, notary: Notary) -> None:
        self.name = name
        self.what = what  # "run record", "mission record": for the error a late event gets
        self.notary = notary
        notary.started(name, path.parent)
        self.file: IO[str] = path.open("a", encoding="utf-8")
        self.prev = GENESIS
        self.seq = 0
        self.sealed = False

    def append(self, event_type: str, data: Mapping[str, Any], *, final: bool) -> dict[str, Any]:
        """Write one event (``final``: the last); returns it as written."""
        if self.sealed:
            raise RuntimeError(f"{self.what} {self.name} is sealed; no {event_type!r} event")
        event: dict[str, Any] = {
            "seq": self.seq,
            "time": round(time.time(), 6),
            "type": event_type,
            **data,
        }
        if final:
            event.update(run=self.name, count=self.seq + 1, key=self.notary.key_id)
        event["prev"] = self.prev
        event["hash"] = digest(event)
        event["sig"] = self.notary.sign_event(self.name, event["hash"])
        self.file.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
        self.file.flush()
        self.prev = event["hash"]
        self.seq += 1
        if final:
            self.sealed = True
            os.fsync(self.file.fileno())
            self.notary.ended(
                self.name, head=event["hash"], events=self.seq, status=event.get("status")
            )
        return event

    def close(self) -> None:
        """Close the file (sealed or not: an unsealed chain is what a death leaves)."""
        self.file.close()


class RunRecord:
    """One run's directory. Use as a context manager, or call :meth:`close`.

    ``notary`` signs the events and anchors the run in the ledger; by default the user's
    operator key and ledger (:meth:`lam.evidence.notary.Notary.default`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        run_id: str,
        secrets: Iterable[str] = (),
        notary: Notary | None = None,
    ) -> None:
        from lam.evidence.notary import Notary

        self.run_id = run_id
        self.directory = directory
        self._notary = notary or Notary.default()
        self.screenshots = directory / "screenshots"
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.trace_path = directory / "trace.jsonl"
        self._chain = EventChain(
            self.trace_path, name=run_id, what="run record", notary=self._notary
        )
        self._named: dict[str, None] = {}  # files events named, in order (screenshots)
        self._hashed: set[str] = set()  # files a ``file`` event covers
        self._lock = threading.Lock()  # a kill or a screenshot may be recorded from a thread
        self._secrets = {s for s in secrets if s and len(s) >= 3}

    @classmethod
    def create(
        cls, root: Path | None = None, *, secrets: Iterable[str] = (), notary: Notary | None = None
    ) -> RunRecord:
        run_id = new_run_id()
        return cls((root or runs_root()) / run_id, run_id=run_id, secrets=secrets, notary=notary)

    @property
    def key_id(self) -> str:
        return self._notary.key_id

    def add_secret(self, value: str) -> None:
        """A value learnt at run time (a token) that must never be written down."""
        if value and len(value) >= 3:
            self._secrets.add(value)

    def event(self, event_type: str, /, **data: Any) -> dict[str, Any]:
        """Append one event; returns it as written (redacted, with seq, prev, hash and sig).

        An ``end`` event seals the record: files events named and no ``file`` event covers
        yet are hashed first, then the end carries the event count and the key id, the ledger
        gets the final hash, and no event may follow it.
        """
        with self._lock:
            if event_type in FINAL_TYPES and not self._chain.sealed:
                self._hash_named_files()
            return self._write(event_type, data)

    def _write(self, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        event = self._chain.append(event_type, self.redact(data), final=event_type in FINAL_TYPES)
        if isinstance(event.get("screenshot"), str):
            self._named.setdefault(event["screenshot"], None)
        if event_type == "file":
            self._hashed.add(str(event.get("path")))
        return event

    def _hash_named_files(self) -> None:
        """Before the seal: every file an event named that no ``file`` event covers yet (a
        screenshot taken by code that did not hand it to :meth:`attach`) is hashed now."""
        for name in [n for n in self._named if n not in self._hashed]:
            try:
                path = resolve_in(self.directory, name)
            except UnsafePath:
                continue  # never read; lam verify names it
            if path.is_file():
                self._write_file_event(path, name)

    def attach(self, path: Path) -> dict[str, Any]:
        """Hash a file the record keeps (its bytes are final) into a ``file`` event."""
        relative = path.relative_to(self.directory).as_posix()
        with self._lock:
            return self._write_file_event(path, relative)

    def _write_file_event(self, path: Path, relative: str) -> dict[str, Any]:
        data = path.read_bytes()
        digest_hex = hashlib.sha256(data).hexdigest()
        return self._write("file", {"path": relative, "sha256": digest_hex, "bytes": len(data)})

    def write_json(self, name: str, document: Any) -> Path:
        """A side file (effects.json, summary.json), written atomically and hashed into the
        record."""
        target = self.directory / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(self.redact(document), indent=2, default=str), "utf-8")
        os.replace(tmp, target)
        self.attach(target)
        return target

    def redact(self, value: Any) -> Any:
        """``value`` as this record writes it down (:func:`redact` with the run's secrets)."""
        return redact(value, self._secrets)

    def close(self) -> None:
        """Seal the record (a ``seal`` event, when no ``end`` did) and close the trace."""
        if self._chain.file.closed:
            return
        if not self._chain.sealed:
            self.event("seal")
        self._chain.close()

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_trace(path: Path) -> Iterator[dict[str, Any]]:
    """Events of a trace; a torn last line (the process died mid-write) is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            yield json.loads(line)


@dataclass(frozen=True)
class TraceCheck:
    """The outcome of checking a trace's hash chain (and, given a key, its signatures).

    ``head`` is the hash of the last good event, ``final`` the closing event (``end`` or
    ``seal``) when the trace has one, ``line`` the line a problem is on.
    """

    ok: bool
    events: int
    problem: str | None = None
    head: str = GENESIS
    final: Mapping[str, Any] | None = None
    line: int | None = None

    def describe(self) -> str:
        if self.ok:
            return f"intact: {self.events} events, hash chain verified"
        return f"broken: {self.problem}"


def verify_trace(
    path: Path, *, key: PublicKey | None = None, run_id: str | None = None
) -> TraceCheck:
    """Check every event's hash and its link to the one before; with ``key``, also that each
    event is signed by it for ``run_id`` (default: the name of the trace's folder)."""
    prev = GENESIS
    count = 0
    final: Mapping[str, Any] | None = None
    run = run_id or path.parent.name

    def broken(number: int, problem: str) -> TraceCheck:
        return TraceCheck(False, count, f"line {number} {problem}", prev, final, number)

    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    return broken(number, "is torn (no newline)")
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    return broken(number, "is not JSON")
                if final is not None:
                    return broken(number, f"follows the {final.get('type')} of the record")
                if not isinstance(event, dict) or event.get("prev") != prev:
                    return broken(
                        number,
                        f"does not follow line {number - 1} (a line was removed, added or moved)",
                    )
                if event.get("hash") != digest(event):
                    return broken(number, "was changed after it was written")
                if key is not None:
                    if not isinstance(event.get("sig"), str):
                        return broken(
                            number,
                            "is not signed (a record from before signing, or re-chained with "
                            "the old unkeyed scheme)",
                        )
                    if not key.verify(event["sig"], event_message(run, event["hash"])):
                        return broken(
                            number,
                            "has a signature that does not match it (re-chained or re-signed "
                            f"without the trusted key {key.key_id})",
                        )
                prev = event["hash"]
                count += 1
                if event.get("type") in FINAL_TYPES:
                    final = event
    except OSError as exc:
        return TraceCheck(False, count, f"cannot read {path}: {exc.strerror}", prev, final)
    return TraceCheck(True, count, None, prev, final)
