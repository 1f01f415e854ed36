"""Run records: ``.lam/runs/<run-id>/`` with a hash-chained ``trace.jsonl``.

Each event is one JSON line holding the hash of the event before it (``prev``) and its own
``hash`` (SHA-256 over the canonical JSON of the event without ``hash``). Editing, removing or
reordering a line breaks the chain, and :func:`verify_trace` says where. Lines are written and
flushed one at a time, so a run that dies half-way leaves every event before the death intact.
Secret values and credential headers are redacted before an event is hashed or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "GENESIS",
    "REDACTED",
    "RunRecord",
    "TraceCheck",
    "new_run_id",
    "read_trace",
    "runs_root",
    "verify_trace",
]

GENESIS = "0" * 64
REDACTED = "***"
_SENSITIVE_KEY = re.compile(
    r"(^|[-_])(authorization|cookie|set-cookie|password|passwd|passphrase|secret|token|"
    r"access[-_]?token|refresh[-_]?token|api[-_]?key|client[-_]?secret)$",
    re.IGNORECASE,
)


def runs_root(base: Path | None = None) -> Path:
    """Where run records live: ``$LAM_HOME/runs`` or ``./.lam/runs``."""
    home = os.environ.get("LAM_HOME")
    root = Path(home) if home else (base or Path.cwd()) / ".lam"
    return root / "runs"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def _canonical(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in event.items() if k != "hash"})).hexdigest()


class RunRecord:
    """One run's directory. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        directory: Path,
        *,
        run_id: str,
        secrets: Iterable[str] = (),
    ) -> None:
        self.run_id = run_id
        self.directory = directory
        self.screenshots = directory / "screenshots"
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.trace_path = directory / "trace.jsonl"
        self._file: IO[str] = self.trace_path.open("a", encoding="utf-8")
        self._prev = GENESIS
        self._seq = 0
        self._secrets = {s for s in secrets if s and len(s) >= 3}

    @classmethod
    def create(cls, root: Path | None = None, *, secrets: Iterable[str] = ()) -> RunRecord:
        run_id = new_run_id()
        return cls((root or runs_root()) / run_id, run_id=run_id, secrets=secrets)

    def add_secret(self, value: str) -> None:
        """A value learnt at run time (a token) that must never be written down."""
        if value and len(value) >= 3:
            self._secrets.add(value)

    def event(self, event_type: str, /, **data: Any) -> dict[str, Any]:
        """Append one event; returns it as written (redacted, with seq, prev and hash)."""
        event: dict[str, Any] = {
            "seq": self._seq,
            "time": round(time.time(), 6),
            "type": event_type,
            **self.redact(data),
            "prev": self._prev,
        }
        event["hash"] = _digest(event)
        self._file.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
        self._file.flush()
        self._prev = event["hash"]
        self._seq += 1
        return event

    def write_json(self, name: str, document: Any) -> Path:
        """A side file (effects.json, summary.json), written atomically."""
        target = self.directory / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(self.redact(document), indent=2, default=str), "utf-8")
        os.replace(tmp, target)
        return target

    def redact(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, Mapping):
            return {k: self._redact_item(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(v) for v in value]
        return value

    def _redact_item(self, key: str, value: Any) -> Any:
        """Values under credential-like keys are hidden, unless they are plan expressions."""
        if _SENSITIVE_KEY.search(key) and not (isinstance(value, str) and value.startswith("$")):
            return REDACTED if value not in (None, "") else value
        return self.redact(value)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

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
    """The outcome of checking a trace's hash chain."""

    ok: bool
    events: int
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"intact: {self.events} events, hash chain verified"
        return f"broken: {self.problem}"


def verify_trace(path: Path) -> TraceCheck:
    """Check every event's hash and its link to the one before."""
    prev = GENESIS
    count = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    return TraceCheck(False, count, f"line {number} is torn (no newline)")
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    return TraceCheck(False, count, f"line {number} is not JSON")
                if not isinstance(event, dict) or event.get("prev") != prev:
                    return TraceCheck(
                        False, count, f"line {number} does not follow line {number - 1}"
                    )
                if event.get("hash") != _digest(event):
                    return TraceCheck(
                        False, count, f"line {number} was changed after it was written"
                    )
                prev = event["hash"]
                count += 1
    except OSError as exc:
        return TraceCheck(False, count, f"cannot read {path}: {exc.strerror}")
    return TraceCheck(True, count)
