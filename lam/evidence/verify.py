"""``lam verify``: whether a run's record is the one lam wrote, and if not, what broke.

A run is *intact* when every line of its trace is chained and signed by the trusted key for
this run, it ends in a seal (``end`` or ``seal``) whose count matches, every file an event
names lies inside the run folder and has the bytes its ``file`` event hashed, and the ledger
holds a start entry and an end entry that name the same final hash and count. A run whose
ledger start has no end while its process is alive is *in progress* (what it wrote so far is
checked). Anything else is *broken*, with each problem named: the line, the file, truncated,
re-signed with another key, missing from the ledger, the ledger itself broken, deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lam.evidence.keys import PublicKey
from lam.evidence.ledger import LedgerCheck
from lam.evidence.paths import UnsafePath, resolve_in
from lam.runtime.record import verify_trace

__all__ = [
    "LedgerSource",
    "Verdict",
    "deleted_runs",
    "local_trust",
    "record_files",
    "still_running",
    "trace_events",
    "verify_here",
    "verify_run",
]


class LedgerSource(Protocol):
    """Where a run's ledger entries come from: the local ledger, or an export's copy."""

    def check(self, key: PublicKey, runs: frozenset[str] | None = None) -> LedgerCheck: ...


@dataclass
class Verdict:
    """What ``lam verify`` says about one run."""

    run: str
    path: str
    status: str = "intact"  # "intact" | "in-progress" | "broken"
    problems: list[str] = field(default_factory=list)
    events: int = 0
    key_id: str | None = None  # the key the record says signed it
    trusted: str | None = None  # the key id it was checked against
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "broken"

    def describe(self) -> str:
        """One line: the verdict and, when broken, every problem."""
        if self.status == "broken":
            return "broken: " + "; ".join(self.problems)
        text = (
            f"{self.events} events, hash chain verified, signed by key {self.trusted}, "
            "anchored in the ledger"
        )
        if self.status == "in-progress":
            return f"in progress: {text} so far"
        return f"intact: {text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "path": self.path,
            "status": self.status,
            "ok": self.ok,
            "problems": list(self.problems),
            "events": self.events,
            "key_id": self.key_id,
            "trusted_key_id": self.trusted,
            "notes": list(self.notes),
        }


def trace_events(trace: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The trace's events with their line numbers; lines that do not parse are skipped (the
    chain check names them)."""
    try:
        with trace.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield number, event
    except OSError:
        return


def record_files(events: Sequence[tuple[int, Mapping[str, Any]]]) -> Iterator[tuple[int, str]]:
    """Every ``(line, path)`` a trace names as a file of the run (``file`` events and the
    ``screenshot`` of step events)."""
    for number, event in events:
        if event.get("type") == "file" and "path" in event:
            yield number, event["path"]
        if event.get("screenshot") is not None:
            yield number, event["screenshot"]


def verify_run(
    run_dir: Path,
    *,
    key: PublicKey,
    ledger: LedgerSource,
    run_id: str | None = None,
    ledger_check: LedgerCheck | None = None,
) -> Verdict:
    """Check one run folder against ``key`` and the ledger (see the module's docstring).

    ``ledger_check`` is a ledger already read (``lam verify --all`` reads it once).
    """
    run = run_id or run_dir.name
    verdict = Verdict(run, str(run_dir), trusted=key.key_id)
    problems = verdict.problems
    trace = run_dir / "trace.jsonl"
    if not trace.is_file():
        problems.append(f"no trace.jsonl in {run_dir}")
        verdict.status = "broken"
        return verdict
    events = list(trace_events(trace))
    final = next((e for _, e in reversed(events) if e.get("type") in ("end", "seal")), None)
    verdict.key_id = str(final["key"]) if final and final.get("key") else None
    if verdict.key_id and verdict.key_id != key.key_id:
        problems.append(
            f"signed with key {verdict.key_id}, not the trusted key {key.key_id} "
            "(re-signed with another key)"
        )
    chain = verify_trace(trace, key=key, run_id=run)
    verdict.events = chain.events
    if not chain.ok:
        problems.append(f"trace.jsonl {chain.problem}")
    problems += _file_problems(run_dir, events, sealed=chain.final is not None)
    if chain.final is not None and chain.ok:
        if chain.final.get("count") != chain.events:
            problems.append(
                f"the seal counts {chain.final.get('count')} events, the trace has {chain.events}"
            )
        if chain.final.get("run") != run:
            problems.append(f"the seal names run {chain.final.get('run')!r}, not {run!r}")
    checked = ledger_check or ledger.check(key, frozenset({run}))
    if not checked.ok:
        problems.append(str(checked.problem))
    start = checked.starts.get(run)
    end = checked.ends.get(run)
    in_progress = False
    # Compared with the trace as it lies (not only its good prefix), so that a rewrite is
    # named by the ledger too, not only by the first line it breaks.
    head = str(events[-1][1].get("hash")) if events else ""
    if start is None:
        problems.append(f"missing from the ledger {checked.path} (no start entry for run {run})")
    if end is not None:
        said = end[1].get("events")
        if final is None:
            problems.append(
                f"truncated: the ledger says the run ended with {said} events, the trace has "
                f"{len(events)} and no end"
            )
        elif said != len(events) or end[1].get("head") != head:
            problems.append(
                f"the ledger says the run ended with {said} events "
                f"(head {str(end[1].get('head'))[:12]}), the trace has {len(events)} "
                f"(head {head[:12]})"
            )
    elif final is not None:
        if start is not None:
            problems.append(
                f"the ledger has no end entry for run {run} (the ledger was cut or rolled back)"
            )
    elif start is not None and still_running(start[1]):
        in_progress = True
        verdict.notes.append(f"run in progress (process {start[1].get('pid')} is alive)")
    else:
        problems.append(
            f"truncated or unfinished: the trace stops after {len(events)} events with no "
            "end (the run was killed hard or crashed, or its end was cut off)"
        )
    if problems:
        verdict.status = "broken"
    elif in_progress:
        verdict.status = "in-progress"
    return verdict


def _file_problems(
    run_dir: Path, events: Sequence[tuple[int, Mapping[str, Any]]], *, sealed: bool
) -> list[str]:
    problems: list[str] = []
    hashed: set[str] = set()
    for number, event in events:
        if event.get("type") != "file":
            continue
        name = event.get("path")
        try:
            path = resolve_in(run_dir, name)
        except UnsafePath as exc:
            problems.append(f"trace.jsonl line {number} names a file outside the run: {exc}")
            continue
        hashed.add(str(name))
        try:
            data = path.read_bytes()
        except OSError:
            problems.append(f"{name} (hashed at line {number}) is missing")
            continue
        if hashlib.sha256(data).hexdigest() != event.get("sha256"):
            problems.append(f"{name} (hashed at line {number}) was changed or swapped")
    for number, name in record_files(events):
        if name in hashed:
            continue
        try:
            resolve_in(run_dir, name)
        except UnsafePath as exc:
            problems.append(f"trace.jsonl line {number} names a file outside the run: {exc}")
            continue
        if sealed:
            problems.append(f"{name} (named at line {number}) is not hashed into the record")
    return problems


def still_running(start: Mapping[str, Any]) -> bool:
    """Whether the process a ledger's start entry names (its ``pid`` and ``host``) still runs:
    only a process on this machine can be seen. A run or mission record without an end whose
    process still runs is in progress, not broken."""
    pid = start.get("pid")
    if start.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def deleted_runs(root: Path, checked: LedgerCheck) -> list[Verdict]:
    """Runs the ledger says were started under ``root`` whose folder is gone."""
    verdicts = []
    base = root.absolute()
    for run, (number, start) in sorted(checked.starts.items()):
        folder = Path(str(start.get("dir")))
        if folder.parent != base or folder.exists():
            continue
        verdicts.append(
            Verdict(
                run,
                str(folder),
                status="broken",
                problems=[
                    f"deleted: the ledger (line {number}) has run {run} at {folder}; "
                    "the folder is gone"
                ],
                trusted=None,
            )
        )
    return verdicts


def local_trust(pinned: PublicKey | None = None) -> PublicKey:
    """The key a local record is checked against: ``pinned`` (``--key``), else the operator's
    own (never created here: a machine without one has nothing of its own to verify)."""
    from lam.evidence.keys import load_operator_key

    return pinned or load_operator_key(create=False).public


def verify_here(run_dir: Path, *, pinned: PublicKey | None = None) -> Verdict:
    """A run folder on this machine, against the operator key and the ledger here."""
    from lam.evidence.keys import EvidenceError
    from lam.evidence.ledger import Ledger

    try:
        key = local_trust(pinned)
    except EvidenceError as exc:
        return Verdict(run_dir.name, str(run_dir), status="broken", problems=[exc.message])
    return verify_run(run_dir, key=key, ledger=Ledger())
