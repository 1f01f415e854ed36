"""The mission record: signed and hash-chained like a run record, linking each task's run
record by its final hash. ``lam verify MISSION`` passes on an untouched record and fails when
one linked run record, or the mission record itself, is edited; ``lam report MISSION`` draws
the tree of tasks, attempts and decisions, with upstream text escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mission_apps import items_server, write_mission, write_spec, write_yaml

from lam.cli.main import main
from lam.mission.load import load_mission
from lam.mission.model import MissionOptions
from lam.mission.record import read_events
from lam.mission.report import tree_lines
from lam.mission.supervisor import MissionResult, run_mission

pytestmark = [pytest.mark.integration]

PASSWORD = "s3cret-mission-value"


def _run(tmp_path: Path, missions_dir: Path | None = None) -> MissionResult:
    with items_server() as items:
        items.note = {"note": "<script>alert('upstream')</script>"}
        write_spec(tmp_path, items.url)
        api = {"items": {"spec": "items.openapi.yaml"}}
        write_yaml(tmp_path / "read.yaml", {
            "lam": 1, "name": "read", "apis": api,
            "steps": [{"id": "note", "call": "items.getNote",
                       "outputs": {"text": "$response.body#/note"}}],
        })  # fmt: skip
        write_yaml(tmp_path / "store.yaml", {
            "lam": 1, "name": "store", "apis": api,
            "inputs": {"title": {"type": "string"}, "password": {"type": "string"}},
            "steps": [{"id": "make", "call": "items.createItem",
                       "body": {"title": "$inputs.title", "note": "$inputs.password"},
                       "expect": {"status": 201}}],
        })  # fmt: skip
        mission = write_mission(tmp_path, "record", [
            {"workflowId": "read", "x-lam-plan": "read.yaml",
             "outputs": {"text": "$steps.note.outputs.text"}},
            {"workflowId": "store", "dependsOn": ["read"], "x-lam-plan": "store.yaml",
             "x-lam-inputs": {"title": "$workflows.read.outputs.text",
                              "password": PASSWORD}},
        ])  # fmt: skip
        options = MissionOptions(missions_dir=missions_dir or tmp_path / "m")
        result = run_mission(load_mission(mission), options)
        assert [i["note"] for i in items.items.values()] == [PASSWORD]  # the child got it
    assert result.exit_code == 0
    # the mission record hides it as run records do; the attempt file that held it is gone
    assert PASSWORD not in (result.directory / "events.jsonl").read_text()
    assert not list((result.directory / "attempts").glob("*.attempt.json"))
    return result


def test_verify_passes_then_fails_after_a_linked_run_record_is_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path)
    assert main(["verify", str(result.directory)]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "2 linked run record(s) checked, 0 broken" in out
    assert main(["verify", str(result.directory), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and len(verdict["runs"]) == 2

    # one word changed in the second task's run record
    trace = Path(str(result.tasks["store"].record)) / "trace.jsonl"
    lines = trace.read_text().splitlines(keepends=True)
    step = next(i for i, line in enumerate(lines) if '"type": "step"' in line)
    lines[step] = lines[step].replace('"status": "ok"', '"status": "failed"')
    trace.write_text("".join(lines))
    assert main(["verify", str(result.directory)]) == 1
    out = capsys.readouterr().out
    assert f"{result.tasks['store'].run_id} (task store attempt 1): broken" in out
    assert "was changed after it was written" in out
    assert "1 broken" in out


def test_verify_fails_when_the_mission_record_is_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path)
    events = result.directory / "events.jsonl"
    text = events.read_text()
    # claim the operator approved something: the chain breaks where the line was changed
    events.write_text(text.replace('"approvals": {}', '"approvals": {"store": ["make"]}', 1))
    assert main(["verify", str(result.directory)]) == 1
    assert "events.jsonl line 1 was changed after it was written" in capsys.readouterr().out


def test_verify_all_checks_the_mission_records_beside_the_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lam.mission.record import missions_root

    monkeypatch.setenv("LAM_HOME", str(tmp_path / "home"))
    result = _run(tmp_path, missions_dir=missions_root())
    assert main(["verify", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"{result.mission_id}: intact" in out, out
    # a linked run record rewritten whole (its own chain redone would still not end where
    # the mission wrote it down): here simply cut short, so both verdicts break
    trace = Path(str(result.tasks["read"].record)) / "trace.jsonl"
    trace.write_text("".join(trace.read_text().splitlines(keepends=True)[:-1]))
    assert main(["verify", "--all"]) == 1
    out = capsys.readouterr().out
    assert f"linked from {result.mission_id}" in out, out


def test_report_draws_the_tree_with_upstream_text_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path)
    assert main(["report", str(result.directory)]) == 0
    page = (result.directory / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "decided by <b>supervisor</b>: first try" in page
    run_id = result.tasks["read"].run_id
    assert run_id is not None and run_id in page and "intact" in page
    tree = tree_lines(result.directory)
    assert tree[0].endswith(": ok") and "  read: ok" in tree and "  store: ok" in tree
    types = [e["type"] for e in read_events(result.directory)]
    assert types[0] == "mission" and types[-1] == "end"
