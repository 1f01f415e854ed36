"""The mission record on its own, without servers: chained and signed events, credential-like
values hidden, found by id or folder, verified with the run records it links (a link whose
final hash does not match is named), in progress while its supervisor runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam.evidence.ledger import Ledger
from lam.evidence.verify import local_trust
from lam.mission.record import (
    MissionRecord,
    find_mission,
    read_events,
    trace_head,
    verify_mission,
)
from lam.runtime.record import RunRecord


def _run_record(root: Path) -> RunRecord:
    record = RunRecord.create(root)
    record.event("plan", name="p")
    record.event("end", status="ok")
    record.close()
    return record


def _verify(directory: Path) -> tuple[bool, str, list[str]]:
    verdict = verify_mission(directory, key=local_trust(), ledger=Ledger())
    problems = [p for v in (verdict.mission, *verdict.runs) for p in v.problems]
    return verdict.ok, verdict.mission.status, problems


def test_events_are_chained_signed_redacted_and_verified(tmp_path: Path) -> None:
    run = _run_record(tmp_path / "runs")
    head, count = trace_head(run.directory)
    record = MissionRecord.create(tmp_path / "missions")
    record.event("mission", name="m", approvals={})
    record.event(
        "attempt", task="t", attempt=1, command={"inputs": {"password": "pw-123", "title": "x"}}
    )
    record.event(
        "result", task="t", attempt=1, status="ok", run_id=run.run_id,
        record=str(run.directory), final_hash=head, events=count,
    )  # fmt: skip
    record.event("end", status="ok", exit_code=0)
    record.close()
    events = read_events(record.directory)
    assert [e["type"] for e in events] == ["mission", "attempt", "result", "end"]
    assert events[1]["command"]["inputs"] == {"password": "***", "title": "x"}
    assert all(e["sig"] for e in events) and events[-1]["count"] == 4
    assert _verify(record.directory) == (True, "intact", [])


def test_nothing_follows_the_end(tmp_path: Path) -> None:
    record = MissionRecord.create(tmp_path / "missions")
    record.event("mission", name="m")
    record.event("end", status="ok", exit_code=0)
    with pytest.raises(RuntimeError, match="is sealed"):
        record.event("note", message="late")
    record.close()
    assert [e["type"] for e in read_events(record.directory)] == ["mission", "end"]
    assert _verify(record.directory)[:2] == (True, "intact")


def test_a_link_whose_final_hash_differs_is_named(tmp_path: Path) -> None:
    run = _run_record(tmp_path / "runs")
    _, count = trace_head(run.directory)
    record = MissionRecord.create(tmp_path / "missions")
    record.event(
        "result", task="t", attempt=2, status="ok", run_id=run.run_id,
        record=str(run.directory), final_hash="0" * 64, events=count,
    )  # fmt: skip
    record.event("end", status="ok", exit_code=0)
    record.close()
    ok, _, problems = _verify(record.directory)
    assert not ok
    assert any("says task 't' attempt 2 ended in 000000000000" in p for p in problems)


def test_a_record_without_its_end_is_in_progress_while_the_supervisor_lives(
    tmp_path: Path,
) -> None:
    record = MissionRecord.create(tmp_path / "missions")
    record.event("mission", name="m")
    assert _verify(record.directory) == (True, "in-progress", [])
    record.close()


def test_find_mission_by_folder_id_or_last(tmp_path: Path) -> None:
    root = tmp_path / "missions"
    first = MissionRecord.create(root)
    first.event("end", status="ok")
    first.close()
    second = MissionRecord.create(root)
    second.close()
    assert find_mission(str(first.directory)) == first.directory
    assert find_mission(first.mission_id, root) == root / first.mission_id
    assert find_mission("last-mission", root) in (first.directory, second.directory)
    run = _run_record(tmp_path / "runs")
    assert find_mission(str(run.directory), root) is None  # a run is not a mission
    assert find_mission("mission-nope", root) is None
    assert find_mission("../mission-x", root) is None
