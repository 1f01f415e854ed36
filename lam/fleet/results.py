"""The results file of a batch, its journal, and how a row left unfinished is settled.

The results file is JSON Lines, one line per row that ended (``row``, ``key``, ``status``,
``exit``, ``outputs``, ``run_id``, ``record``, ``error``, ``used``, ``held``, ``seconds``),
each appended in one write and fsynced (:func:`lam.fleet.job.append_line`), so a batch killed
at any moment leaves whole lines only (a torn last line, from a machine that lost power, is cut
off before the file is appended to again). A row may have several lines (a held row run again);
the last one counts. Each line names its ``batch`` (the plan's path and digest, run or replay,
live or dry run), and each row's run record says, signed, which row of which batch it ran (its
``batch-row`` event): :func:`check_batch` refuses a file another batch (or the plan before an
edit) wrote, and a line handing a row a run record that is not its own.

The *journal* beside it (``NAME.journal``) gets a line when a row's run record is created,
before its first step: row, key, run id, record directory. A row with a journal line but no
final line in the results file was in flight when the batch died; :func:`settle` decides from
its run record what it is:

- the record ended ``ok`` or ``failed``: that is the row's outcome (the line was lost);
- no step that changes state was let through by the guard (no allowed write or destructive
  ``guard`` event): nothing was sent, the row runs again;
- every such step ended (its ``step`` event: the server answered): ``incomplete``, not run
  again (that would apply those steps twice);
- a step that changes state was let through and never ended (sent, no answer): ``unknown``,
  not run again; a person looks at the server, then deletes the row's line to run it again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_KILLED, EXIT_OK, EXIT_USAGE, UsageError
from lam.fleet.job import RowOutcome, Status, append_line, trace_facts
from lam.fleet.rows import Row

if TYPE_CHECKING:
    from lam.evidence.keys import PublicKey

__all__ = [
    "FINAL",
    "check_batch",
    "default_results",
    "journal_path",
    "read_journal",
    "read_results",
    "repair_tail",
    "settle",
    "write_outcome",
]

FINAL: frozenset[str] = frozenset({"ok", "failed", "unknown", "incomplete"})
"""Statuses of a row that is done: a rerun of the batch skips it. ``held`` and ``killed`` rows
are looked at again (:func:`settle`): run again when nothing of them changed state; so is a
``failed`` row refused as a usage error before its run began (exit 2, no record: a secret that
was not set)."""

_EXIT = {"ok": EXIT_OK, "held": EXIT_BLOCKED, "killed": EXIT_KILLED}


def default_results(inputs: Path, *, dry_run: bool = False) -> Path:
    """``NAME.results.jsonl`` (``NAME.dry-run.results.jsonl`` for a dry run, so it never
    passes for the live batch's) beside the inputs file, or under ``.lam/batches/`` when that
    folder cannot be written."""
    middle = ".dry-run" if dry_run else ""
    beside = inputs.with_name(f"{inputs.stem}{middle}.results.jsonl")
    if os.access(inputs.parent, os.W_OK):
        return beside
    from lam.runtime.record import runs_root

    folder = runs_root().parent / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / beside.name


def journal_path(results: Path) -> Path:
    """The journal of the batch whose results file is ``results``."""
    return results.with_name(results.name + ".journal")


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no newline: the writer died mid-line) so the next append starts
    on a line of its own. Whole lines are never touched."""
    with contextlib.suppress(FileNotFoundError), path.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)
            handle.flush()
            os.fsync(handle.fileno())


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read it: {exc}", file=str(path)) from None
    for number, line in enumerate(text.split("\n")[:-1], start=1):  # a torn tail is left out
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("key"), str):
            raise UsageError(
                "not a line of a lam results file (a JSON object with row and key)",
                file=f"{path}:{number}", code="bad-results",
            )  # fmt: skip
        yield number, document


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """Each row's last line in the results file, by key ({} when there is no file yet)."""
    return {line["key"]: line for _, line in _lines(path)}


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """Each row's last start in the journal, by key."""
    return {line["key"]: line for _, line in _lines(path)}


def write_outcome(path: Path, outcome: RowOutcome, batch: Mapping[str, Any] | None = None) -> None:
    """Append the row's line (whole, fsynced); ``batch``: what the batch is (its plan, kind
    and mode: :func:`check_batch`), on every line."""
    append_line(path, {**outcome.to_json(), **({"batch": dict(batch)} if batch else {})})


def check_batch(path: Path, batch: Mapping[str, Any], journal: Path | None = None) -> None:
    """Refuse a results file whose lines come from another batch (another plan or recording,
    the plan as it was before an edit, or a dry run's for a live one), whose last line for a
    row says ``ok`` without a run record of that row that ended ok, or whose last line (or
    last ``journal`` entry) for a row names a run record of another row or batch: resuming
    from it would skip rows that never ran here, or mix two plans in one batch."""
    for number, line in _lines(path):
        theirs = line.get("batch")
        if not isinstance(theirs, Mapping):  # lam writes it on every line
            raise UsageError(
                "this line names no batch, so it cannot count as this batch's: give another "
                "--results", file=f"{path}:{number}", code="other-batch",
            )  # fmt: skip
        if dict(theirs) != dict(batch):
            differ = sorted(k for k in set(batch) | set(theirs) if theirs.get(k) != batch.get(k))
            then = theirs.get("plan_sha256")
            if differ == ["plan_sha256"] and not then:  # written before lines named it
                raise UsageError(
                    "this line names no plan digest, so the plan its row ran cannot be told "
                    "from this one: give another --results",
                    file=f"{path}:{number}", code="other-batch",
                )  # fmt: skip
            if differ == ["plan_sha256"]:
                raise UsageError(
                    f"the plan changed since this line was written (sha256 {str(then)[:12]} "
                    f"then, {str(batch['plan_sha256'])[:12]} now): restore the plan as it was "
                    "to resume, or give another --results to run every row with the plan as it is",
                    file=f"{path}:{number}", code="plan-changed",
                )  # fmt: skip
            what = ", ".join(f"{k} {theirs.get(k)}" for k in differ)
            raise UsageError(
                f"this results file is another batch's ({what}): give another --results",
                file=f"{path}:{number}", code="other-batch",
            )  # fmt: skip
    from lam.evidence.verify import local_trust

    trusted = functools.cache(local_trust)  # read once, when a record is first checked
    last = {line["key"]: (number, line) for number, line in _lines(path)}
    for number, line in last.values():
        record = line.get("record")
        if line.get("status") != "ok":
            # a held or killed line is settled from its record: it must be this row's
            _own(f"{path}:{number}", line, record, batch, trusted)
            continue
        # a last line saying ok must name a run record of this row that ended ok: a line
        # added or edited to mark a row done that never ran would make a rerun skip the row
        facts = trace_facts(Path(record)) if isinstance(record, str) and record else None
        end = facts["end"] if facts is not None else None
        if facts is None or end is None or end.get("status") != "ok":
            why: str | None = "it did not end ok"
        elif not _ran(Path(str(record)), batch):
            why = "it ran another plan"
        else:
            why = (_not_its_own(facts, line["key"], batch) or (None, None))[1]
            why = why or _unsigned(Path(str(record)), trusted)
        if why is not None:
            raise UsageError(
                f"row {line.get('row')} is said to be ok, but its run record ({record}) does "
                f"not say so ({why}): delete this line to run the row again",
                file=f"{path}:{number}", code="bad-results",
            )  # fmt: skip
    if journal is not None:
        entries = {line["key"]: (number, line) for number, line in _lines(journal)}
        for number, line in entries.values():
            if (last.get(line["key"]) or (0, {}))[1].get("record") != line.get("record"):
                _own(f"{journal}:{number}", line, line.get("record"), batch, trusted)  # not seen


def _own(
    where: str, line: Mapping[str, Any], record: Any, batch: Mapping[str, Any],
    trusted: Callable[[], PublicKey],
) -> None:  # fmt: skip
    """A line naming a run ``record`` that holds events: they must be this row's run in this
    batch (a record with no event tells nothing and is taken as a run that never began)."""
    if not isinstance(record, str) or not record:
        return
    facts = trace_facts(Path(record))
    found = _not_its_own(facts, str(line.get("key")), batch) if facts["events"] else None
    if found is None and facts["events"]:
        unsigned = _unsigned(Path(record), trusted)
        found = ("signature", unsigned) if unsigned else None
    if found is None:
        return
    differs, why = found
    remedy = "delete this line to run the row again"
    if differs == "plan_sha256":  # its row's run, with the plan before an edit
        remedy = "restore the plan as it was to resume, or give another --results"
    raise UsageError(
        f"row {line.get('row')}'s line names a run record that is not its own ({record}: "
        f"{why}): {remedy}", file=where, code="bad-results",
    )  # fmt: skip


def _not_its_own(
    facts: Mapping[str, Any], key: str, batch: Mapping[str, Any]
) -> tuple[str, str] | None:
    """What differs (``row``, ``kind``, ``mode`` or ``plan_sha256``) and why, when a run
    record (its :func:`~lam.fleet.job.trace_facts`) is not the run of the row ``key`` in
    ``batch``; None when it is. Its signed ``batch-row`` event says which row of which batch
    it ran."""
    bound = facts["row"]
    if bound is None:
        return "row", "it is not the run of a row of a batch"
    if bound.get("row_key") != key:
        return "row", f"it is row {bound.get('row')}'s run, key {bound.get('row_key')}"
    for name in ("kind", "mode", "plan_sha256"):
        if bound.get(name) != batch.get(name):
            return name, f"its run had {name} {bound.get(name)}, this batch {batch.get(name)}"
    return None


def _unsigned(record: Path, trusted: Callable[[], PublicKey]) -> str | None:
    """Why the run ``record`` is not one this machine's operator key signed, or None when it
    is. The chain is checked whole and the last event's signature, which covers the hash of
    every event before it; a torn last line (its writer died mid-line) is left out, as
    readers leave it. Without this, whoever may write the records folder could write a
    ``batch-row`` event for any row."""
    from lam.evidence.chain import event_message
    from lam.evidence.keys import EvidenceError
    from lam.runtime.record import verify_trace

    trace = record / "trace.jsonl"
    check = verify_trace(trace)
    try:
        data = trace.read_bytes()
    except OSError as exc:
        return f"it cannot be read: {exc.strerror}"
    torn = not data.endswith(b"\n") and check.line == data.count(b"\n") + 1
    if not check.ok and not torn:
        return f"its trace is broken: {check.problem}"
    if check.events == 0:
        return None  # nothing in it to take as anything
    last = json.loads(data.split(b"\n")[check.events - 1])
    try:
        key = trusted()
    except EvidenceError as exc:
        return exc.message
    if not isinstance(last.get("sig"), str) or not key.verify(
        last["sig"], event_message(record.name, check.head)
    ):
        return f"it is not signed by this machine's operator key {key.key_id}"
    return None


def _ran(record: Path, batch: Mapping[str, Any]) -> bool:
    """The run ``record`` ran this batch's plan (a ``lam run`` batch; a replay's record names
    the plan made of the recording, so it is not compared)."""
    if batch.get("kind") != "run":
        return True
    from lam.runtime.record import read_trace

    with contextlib.suppress(OSError, ValueError):
        for event in read_trace(record / "trace.jsonl"):
            if event.get("type") == "plan":
                return str(Path(str(event.get("file"))).resolve()) == str(batch.get("plan"))
    return False


def settle(
    row: Row, line: Mapping[str, Any] | None, started: Mapping[str, Any] | None,
    counted: tuple[str, ...] = (),
) -> RowOutcome | None:  # fmt: skip
    """What a rerun of the batch does with ``row``, from its last results ``line`` and its
    last journal entry ``started``: None to run it (again), else its outcome (a row done;
    a new line to write when it differs from ``line``)."""
    refused = line is not None and line.get("exit") == EXIT_USAGE and not line.get("record")
    if line is not None and line.get("status") in FINAL and not refused:
        done = _from_line(row, line)
        if done.record and counted:
            # the count comes from the run record too, not from the line alone: a line edited
            # to drop its ``used`` must not hand the approval out again
            began = trace_facts(Path(str(done.record)))["started"]
            ran = tuple(a for a in counted if a.partition("@")[0] in began)
            done = replace(done, used=tuple(dict.fromkeys((*done.used, *ran))))
        return done
    record = (line or {}).get("record") or (started or {}).get("record")
    if line is not None and started is not None and started.get("run_id") != line.get("run_id"):
        record = started.get("record")  # started again after that line: the newer run counts
    if not record:
        return None  # never started (or held before its run began): run it
    facts = trace_facts(Path(str(record)))
    used = tuple(a for a in counted if a.partition("@")[0] in facts["started"])
    end = facts["end"]
    run_id = (started or line or {}).get("run_id")
    if end is not None and end.get("status") in ("ok", "failed"):
        status: Status = "ok" if end["status"] == "ok" else "failed"
        return RowOutcome(
            row.number, row.key, status, int(end.get("exit_code", EXIT_FAILED)),
            facts["outputs"], run_id, str(record), end.get("error"), used,
        )  # fmt: skip
    let_through = facts["let_through"]
    if not let_through:
        return None  # nothing that changes state left lam: safe to run again
    open_steps = [s for s in let_through if facts["ended"].get(s) not in ("ok", "failed")]
    if open_steps:
        error = (
            f"step {open_steps[0]!r} was sent and never answered before the batch stopped: "
            "its effect may or may not have happened; check the target, then delete this "
            "line to run the row again"
        )
        return RowOutcome(row.number, row.key, "unknown", EXIT_FAILED, facts["outputs"], run_id,
                          str(record), error, used)  # fmt: skip
    error = (
        f"stopped after its state-changing steps ended ({', '.join(let_through)}): not run "
        "again, which would apply them twice"
    )
    return RowOutcome(row.number, row.key, "incomplete", EXIT_FAILED, facts["outputs"], run_id,
                      str(record), error, used)  # fmt: skip


def _from_line(row: Row, line: Mapping[str, Any]) -> RowOutcome:
    status = str(line.get("status"))
    return RowOutcome(
        row.number, row.key, status,  # type: ignore[arg-type]
        int(line.get("exit", _EXIT.get(status, EXIT_FAILED))),
        line.get("outputs") or {}, line.get("run_id"), line.get("record"), line.get("error"),
        tuple(line.get("used") or ()), tuple(line.get("held") or ()),
    )  # fmt: skip
