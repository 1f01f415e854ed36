"""The ledger: ``ledger.jsonl`` next to the operator key, outside every run folder.

One line when a run starts (run id, folder, key id, process) and one when it ends (the final
hash of its trace, the number of events, its status). The lines form a hash chain like a
run's trace, and each is signed with the operator key, so a run that is cut short, rewritten,
re-chained or deleted no longer agrees with the ledger, and the ledger cannot be rewritten
without the key. Runs append under an exclusive ``flock``, so concurrent runs interleave whole
lines and the chain stays linear.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.evidence.chain import GENESIS, digest, ledger_message
from lam.evidence.keys import EvidenceError, OperatorKey, PublicKey, config_dir

__all__ = ["LEDGER_FILE", "Ledger", "LedgerCheck", "check_entry", "default_ledger_path"]

LEDGER_FILE = "ledger.jsonl"
_TAIL = 65536  # a ledger line is far shorter; the last one is found within this many bytes


def default_ledger_path() -> Path:
    return config_dir() / LEDGER_FILE


@dataclass
class LedgerCheck:
    """The ledger read and checked: ``problem`` names the first broken line, if any."""

    path: str
    problem: str | None = None
    starts: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    ends: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_entry(entry: Mapping[str, Any], key: PublicKey) -> str | None:
    """What is wrong with one ledger entry on its own (hash, signature), or None."""
    if entry.get("hash") != digest(entry):
        return "was changed after it was written"
    if not isinstance(entry.get("sig"), str):
        return "is not signed"
    if not key.verify(entry["sig"], ledger_message(entry["hash"])):
        return f"is not signed by the trusted key {key.key_id} (rewritten, or another key)"
    return None


class Ledger:
    """The append-only ledger file at ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_ledger_path()

    def append(self, signer: OperatorKey, entry_type: str, /, **fields: Any) -> dict[str, Any]:
        """Append one signed entry, chained to the last line. Raises :class:`EvidenceError`
        when the ledger cannot be written or its last line is damaged (a run that cannot be
        anchored does not start)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise EvidenceError(
                f"cannot open the ledger {self.path}: {exc.strerror}", code="ledger"
            ) from None
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                last = self._last(handle)
                entry: dict[str, Any] = {
                    "seq": last["seq"] + 1 if last else 0,
                    "time": round(time.time(), 6),
                    "type": entry_type,
                    **fields,
                    "prev": last["hash"] if last else GENESIS,
                }
                entry["hash"] = digest(entry)
                entry["sig"] = signer.sign(ledger_message(entry["hash"]))
                handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode())
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return entry

    def _last(self, handle: Any) -> dict[str, Any] | None:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(max(0, size - _TAIL))
        tail: bytes = handle.read()
        if not tail.endswith(b"\n"):
            raise EvidenceError(
                f"the ledger {self.path} ends in a torn line; 'lam verify --all' says more",
                code="ledger-broken",
            )
        line = tail[:-1].rsplit(b"\n", 1)[-1]
        try:
            last = json.loads(line)
            int(last["seq"]), str(last["hash"])
        except (ValueError, KeyError, TypeError):
            raise EvidenceError(
                f"the ledger {self.path} ends in a damaged line; 'lam verify --all' says more",
                code="ledger-broken",
            ) from None
        return dict(last)

    def check(self, key: PublicKey, runs: frozenset[str] | None = None) -> LedgerCheck:
        """Read the whole ledger: every line's hash and link to the one before; the signature
        of the last line (which, through the chain, covers every line before it) and of the
        lines of ``runs`` (every line when None)."""
        result = LedgerCheck(str(self.path))
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return result  # nothing anchored yet: each run then says it is missing
        except OSError as exc:
            result.problem = f"cannot read the ledger {self.path}: {exc.strerror}"
            return result
        prev, last_entry, last_number = GENESIS, None, 0
        lines = text.split(b"\n")
        if lines[-1]:
            result.problem = f"ledger {self.path} line {len(lines)} is torn (no newline)"
            return result
        for number, raw in enumerate(lines[:-1], start=1):
            where = f"ledger {self.path} line {number}"
            try:
                entry = json.loads(raw)
            except ValueError:
                result.problem = f"{where} is not JSON (the ledger was edited or torn)"
                return result
            if not isinstance(entry, dict) or entry.get("prev") != prev:
                result.problem = (
                    f"{where} does not follow line {number - 1} (a line was removed or added)"
                )
                return result
            if entry.get("hash") != digest(entry):
                result.problem = f"{where} was changed after it was written"
                return result
            run = str(entry.get("run"))
            if runs is None or run in runs:
                problem = check_entry(entry, key)
                if problem:
                    result.problem = f"{where} {problem}"
                    return result
            if entry.get("type") == "start":
                result.starts[run] = (number, entry)
            elif entry.get("type") == "end":
                result.ends[run] = (number, entry)
            prev, last_entry, last_number = entry["hash"], entry, number
        result.lines = last_number
        if last_entry is not None:
            problem = check_entry(last_entry, key)
            if problem:
                result.problem = f"ledger {self.path} line {last_number} {problem}"
        return result
