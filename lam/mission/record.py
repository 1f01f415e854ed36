"""The mission record: ``.lam/missions/<mission-run-id>/events.jsonl``, the tree of a mission.

One JSON line per event, hash-chained and signed exactly as run records are (the rules of
:mod:`lam.evidence.chain`: ``prev``, ``hash`` over the canonical JSON, ``sig`` by the operator
key over the mission run id and the hash), and anchored in the same ledger (a start entry when
the record opens, an end entry with the final hash and the event count when it closes). The
events say, in order:

- ``mission``: the document (file and sha256), its tasks, the layers they run in, the options;
- ``attempt``: one task attempt about to start: who decided it (``supervisor``, or the
  ``planner`` for a re-plan), why (first try, retry after X, re-plan with what failed), the
  command the child runs (its kind, plan, inputs as plain values, its own approvals);
- ``result``: how the attempt ended: status, exit code, the child's run id, its record
  directory and the final hash of its ``trace.jsonl``, the outputs it handed on;
- ``decision``: what the supervisor did next and why (retry, re-plan, hold, skip, stop);
- ``end``: the mission's status and exit code, with the event count and the key id.

:func:`verify_mission` checks the chain, the signatures and the ledger of the mission record,
then every run record a ``result`` links: each must verify on its own, and the final hash its
trace ends in must be the one the mission record wrote down.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam.runtime.record import (
    EventChain,
    new_run_id,
    read_trace,
    redact,  # the run records' own rule for credential-like keys and secrets: one rule
    runs_root,
    verify_trace,
)

if TYPE_CHECKING:
    from lam.evidence.keys import PublicKey
    from lam.evidence.ledger import LedgerCheck
    from lam.evidence.notary import Notary
    from lam.evidence.verify import LedgerSource, Verdict

__all__ = [
    "EVENTS_FILE",
    "MissionRecord",
    "MissionVerdict",
    "find_mission",
    "is_mission_record",
    "missions_root",
    "read_events",
    "summary",
    "trace_head",
    "verify_mission",
]

EVENTS_FILE = "events.jsonl"
_PREFIX = "mission-"


def missions_root(base: Path | None = None) -> Path:
    """Where mission records live: beside the runs folder (``$LAM_HOME/missions`` or
    ``./.lam/missions``)."""
    return runs_root(base).parent / "missions"


def is_mission_record(path: Path) -> bool:
    """Whether ``path`` is a mission record's folder (it holds ``events.jsonl``)."""
    return path.is_dir() and (path / EVENTS_FILE).is_file()


def find_mission(name: str, root: Path | None = None) -> Path | None:
    """A mission record's folder from its path or its mission run id (``mission-...``),
    ``last-mission`` for the newest; None when ``name`` is no mission record (a run, say)."""
    base = root or missions_root()
    if is_mission_record(Path(name)):
        return Path(name)
    if name == "last-mission":
        found = sorted(p for p in base.glob(f"{_PREFIX}*") if is_mission_record(p))
        return found[-1] if found else None
    if name.startswith(_PREFIX) and "/" not in name and is_mission_record(base / name):
        return base / name
    return None


class MissionRecord:
    """One mission run's folder and its chained, signed ``events.jsonl``; thread safe (the
    supervisor's task threads write their attempts' events)."""

    def __init__(self, directory: Path, *, mission_id: str, notary: Notary | None = None) -> None:
        from lam.evidence.notary import Notary

        self.mission_id = mission_id
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.attempts = directory / "attempts"  # each attempt's command, result and log
        self.attempts.mkdir(exist_ok=True)
        self.path = directory / EVENTS_FILE
        self._chain = EventChain(
            self.path, name=mission_id, what="mission record",
            notary=notary or Notary.default(),
        )  # fmt: skip
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add_secret(self, value: str) -> None:
        """A value the record must never show (a password a goal gives), as run records do."""
        if value and len(value) >= 3:
            with self._lock:
                self._secrets.add(value)

    @classmethod
    def create(cls, root: Path | None = None, *, notary: Notary | None = None) -> MissionRecord:
        mission_id = _PREFIX + new_run_id()
        return cls((root or missions_root()) / mission_id, mission_id=mission_id, notary=notary)

    def event(self, event_type: str, /, **data: Any) -> dict[str, Any]:
        """Append one event (``end`` seals the record: nothing may follow it)."""
        with self._lock:
            return self._chain.append(
                event_type, redact(data, self._secrets), final=event_type == "end"
            )

    def close(self) -> None:
        if not self._chain.file.closed:
            self._chain.close()


def read_events(directory: Path) -> list[dict[str, Any]]:
    """The events of a mission record as they lie (a torn last line skipped)."""
    try:
        return [e for e in read_trace(directory / EVENTS_FILE) if isinstance(e, dict)]
    except (OSError, ValueError):
        return []


def trace_head(record_dir: Path) -> tuple[str | None, int]:
    """The hash of the last event of a run record's ``trace.jsonl`` and its event count."""
    head: str | None = None
    count = 0
    try:
        for event in read_trace(record_dir / "trace.jsonl"):
            head = str(event.get("hash")) if isinstance(event, dict) else None
            count += 1
    except (OSError, ValueError):
        return None, 0
    return head, count


@dataclass
class MissionVerdict:
    """What ``lam verify MISSION_DIR`` says: the mission record's own verdict and one per run
    record it links."""

    mission: Verdict
    runs: list[Verdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mission.ok and all(v.ok for v in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mission": self.mission.to_json(),
            "runs": [v.to_json() for v in self.runs],
        }


def verify_mission(
    directory: Path, *, key: PublicKey, ledger: LedgerSource,
    ledger_check: LedgerCheck | None = None,
) -> MissionVerdict:  # fmt: skip
    """Check a mission record (chain, signatures, seal, ledger) and every run it links.

    ``ledger_check`` is a ledger already read (``lam verify --all`` reads it once, for every
    run and mission); without it the ledger is read for the mission and for each run."""
    from lam.evidence.verify import Verdict, verify_run

    mission_id = directory.name
    verdict = Verdict(mission_id, str(directory), trusted=key.key_id)
    problems = verdict.problems
    chain = verify_trace(directory / EVENTS_FILE, key=key, run_id=mission_id)
    verdict.events = chain.events
    if not chain.ok:
        problems.append(f"{EVENTS_FILE} {chain.problem}")
    events = read_events(directory)
    final = chain.final
    if final is not None:
        verdict.key_id = str(final.get("key"))
        if final.get("count") != chain.events:
            problems.append(
                f"the end counts {final.get('count')} events, the record has {chain.events}"
            )
    checked = ledger_check or ledger.check(key, frozenset({mission_id}))
    if not checked.ok:
        problems.append(str(checked.problem))
    start, end = checked.starts.get(mission_id), checked.ends.get(mission_id)
    head = str(events[-1].get("hash")) if events else ""
    if start is None:
        problems.append(f"missing from the ledger (no start entry for mission {mission_id})")
    if end is not None and (end[1].get("events") != len(events) or end[1].get("head") != head):
        problems.append(
            f"the ledger says the mission ended with {end[1].get('events')} events "
            f"(head {str(end[1].get('head'))[:12]}), the record has {len(events)} "
            f"(head {head[:12]})"
        )
    if end is None and final is not None:
        problems.append(f"the ledger has no end entry for mission {mission_id}")
    in_progress = False
    if final is None and end is None and start is not None:
        from lam.evidence.verify import still_running  # the run records' own rule

        if still_running(start[1]):
            in_progress = True
            verdict.notes.append(f"mission in progress (process {start[1].get('pid')} is alive)")
        else:
            problems.append("unfinished: the record has no end (the supervisor died)")
    runs: list[Verdict] = []
    for event in events:
        if event.get("type") != "result" or not event.get("record"):
            continue
        run_dir = Path(str(event["record"]))
        run_verdict = verify_run(run_dir, key=key, ledger=ledger, ledger_check=ledger_check)
        said = event.get("final_hash")
        actual, count = trace_head(run_dir)
        if said is not None and actual != said:
            run_verdict.problems.append(
                f"the mission record (line {int(event.get('seq', 0)) + 1}) says task "
                f"{event.get('task')!r} attempt {event.get('attempt')} ended in "
                f"{str(said)[:12]}, its trace ends in {str(actual)[:12]}"
            )
            run_verdict.status = "broken"
        if event.get("events") is not None and count != event.get("events"):
            run_verdict.problems.append(
                f"the mission record says {event.get('events')} events, the trace has {count}"
            )
            run_verdict.status = "broken"
        run_verdict.notes.append(f"task {event.get('task')} attempt {event.get('attempt')}")
        runs.append(run_verdict)
    if problems:
        verdict.status = "broken"
    elif in_progress:
        verdict.status = "in-progress"
    return MissionVerdict(verdict, runs)


def summary(events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The ``end`` event of a mission record, or an empty mapping."""
    return next((e for e in reversed(events) if e.get("type") == "end"), {})
