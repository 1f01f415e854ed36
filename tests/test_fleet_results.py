"""lam.fleet.results: how a rerun settles a row the batch left unfinished, from the row's real
run record (a hash-chained trace written by RunRecord), and the results file's own hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lam.errors import UsageError
from lam.fleet.job import RowOutcome, append_line
from lam.fleet.results import read_results, repair_tail, settle, write_outcome
from lam.fleet.rows import Row
from lam.runtime.record import RunRecord

ROW = Row(7, 8, "7-abc", {"title": "x"})


def record(tmp_path: Path, *events: tuple[str, dict[str, object]]) -> str:
    rec = RunRecord.create(tmp_path / "runs")
    for kind, data in events:
        rec.event(kind, **data)
    return str(rec.directory)  # left open: as a process that died mid-run leaves it


def start(step: str) -> tuple[str, dict[str, object]]:
    return "step-start", {"step": step, "kind": "api", "action": "call"}


def guard(step: str, risk: str, verdict: str = "allow") -> tuple[str, dict[str, object]]:
    return "guard", {"step": step, "origin": "api", "risk": risk, "verdict": verdict}


def ended(step: str, status: str = "ok") -> tuple[str, dict[str, object]]:
    return "step", {"step": step, "status": status, "outputs": {"id": 3}}


def journal(directory: str) -> dict[str, object]:
    return {"row": 7, "key": "7-abc", "run_id": Path(directory).name, "record": directory}


def test_a_row_never_started_or_held_before_its_run_runs_again(tmp_path: Path) -> None:
    assert settle(ROW, None, None) is None
    held = {"key": "7-abc", "status": "held", "exit": 3, "record": None}
    assert settle(ROW, held, None) is None


def test_a_row_whose_line_is_final_is_done(tmp_path: Path) -> None:
    line = {"key": "7-abc", "status": "failed", "exit": 1, "error": "boom", "used": ["a@1"]}
    done = settle(ROW, line, None)
    assert done is not None and (done.status, done.exit_code, done.used) == ("failed", 1, ("a@1",))


def test_nothing_let_through_runs_again(tmp_path: Path) -> None:
    directory = record(tmp_path, start("show"), guard("show", "read"), ended("show"),
                       start("add"), guard("add", "write", verdict="approve"))  # fmt: skip
    assert settle(ROW, None, journal(directory)) is None


def test_a_write_sent_and_never_answered_is_unknown_not_run_again(tmp_path: Path) -> None:
    directory = record(tmp_path, start("add"), guard("add", "write"))
    outcome = settle(ROW, None, journal(directory), counted=("add@0123456789",))
    assert outcome is not None
    assert (outcome.status, outcome.exit_code, outcome.record) == ("unknown", 1, directory)
    assert "'add' was sent and never answered" in (outcome.error or "")
    assert outcome.used == ("add@0123456789",)  # counted against --max-approved all the same


def test_writes_answered_then_stopped_is_incomplete_not_run_again(tmp_path: Path) -> None:
    directory = record(tmp_path, start("add"), guard("add", "write"), ended("add"),
                       start("check"))  # fmt: skip
    killed = {"key": "7-abc", "status": "killed", "exit": 4, "run_id": Path(directory).name,
              "record": directory}  # fmt: skip
    outcome = settle(ROW, killed, journal(directory))
    assert outcome is not None and outcome.status == "incomplete"
    assert outcome.outputs == {"add": {"id": 3}}


def test_a_record_that_ended_gives_the_row_its_outcome(tmp_path: Path) -> None:
    directory = record(tmp_path, start("add"), guard("add", "write"), ended("add"),
                       ("end", {"status": "ok", "error": None, "exit_code": 0}))  # fmt: skip
    outcome = settle(ROW, None, journal(directory))
    assert outcome is not None
    assert (outcome.status, outcome.exit_code, outcome.outputs) == ("ok", 0, {"add": {"id": 3}})


def test_results_keep_the_last_line_per_row_and_torn_tails_are_cut(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_outcome(path, RowOutcome(1, "1-a", "held", 3))
    write_outcome(path, RowOutcome(1, "1-a", "ok", 0, {"s": {"v": 1}}))
    with path.open("a") as handle:
        handle.write('{"row": 2, "key": "2-b", "sta')  # a writer that died mid-line
    assert read_results(path)["1-a"]["status"] == "ok"
    assert "2-b" not in read_results(path)
    repair_tail(path)
    append_line(path, {"row": 2, "key": "2-b", "status": "ok"})
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == [
        "1-a",
        "1-a",
        "2-b",
    ]


def test_a_results_file_that_is_not_one_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"row": 1, "key": "1-a", "status": "ok"}\nhello\n')
    with pytest.raises(UsageError, match=r"r\.jsonl:2: not a line of a lam results file"):
        read_results(path)
