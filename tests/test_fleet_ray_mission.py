"""Mission task attempts on Ray (lam.fleet.ray_launcher.RayLauncher, the supervisor's
TaskLauncher): a task whose first attempt fails (the server answers 503) is retried by the
supervisor, each attempt a Ray task that runs the task's child process on the node, and the
item is created exactly once; a stopped attempt ends killed, its record closed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mission_apps import items_server, write_mission, write_spec, write_yaml

from lam.fleet.ray_launcher import RayLauncher
from lam.mission.launch import TaskAttempt
from lam.mission.load import load_mission
from lam.mission.model import MissionOptions
from lam.mission.record import read_events
from lam.mission.supervisor import run_mission

pytestmark = [pytest.mark.integration]


def test_a_mission_on_ray_retries_a_failed_task_and_stops_an_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "registry"))
    with items_server() as items, RayLauncher(workers=2) as launcher:
        items.fail_next = 1  # the first creation answers 503
        write_spec(tmp_path, items.url)
        write_yaml(tmp_path / "create.yaml", {
            "lam": 1, "name": "create", "apis": {"items": {"spec": "items.openapi.yaml"}},
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "Lamp"},
                       "expect": {"status": 201}, "outputs": {"id": "$response.body#/id"}}],
        })  # fmt: skip
        mission = write_mission(tmp_path, "on ray", [
            {"workflowId": "create", "x-lam-plan": "create.yaml", "x-lam-retries": 2,
             "outputs": {"id": "$steps.make.outputs.id"}},
        ])  # fmt: skip
        result = run_mission(
            load_mission(mission), MissionOptions(missions_dir=tmp_path / "m"),
            launcher=launcher,
        )  # fmt: skip
        assert result.exit_code == 0, result.to_json()
        assert result.tasks["create"].attempts == 2
        assert [i["title"] for i in items.items.values()] == ["Lamp"]  # created exactly once
        assert items.hits.count(("POST", "/items")) == 2
        results = [e for e in read_events(result.directory) if e["type"] == "result"]
        assert [r["status"] for r in results] == ["failed", "ok"]

        # an attempt stopped while its request hangs (GET /slow answers after 30 s): Ray
        # interrupts the task, which stops its child; the outcome is the child's record's
        write_yaml(tmp_path / "slow.yaml", {
            "lam": 1, "name": "slow", "apis": {"items": {"spec": "items.openapi.yaml"}},
            "steps": [{"id": "wait", "call": "items.slowRead"}],
        })  # fmt: skip
        work = tmp_path / "work"
        work.mkdir()
        attempt = TaskAttempt(
            task="slow", attempt=1, kind="run", work_dir=str(work),
            runs_dir=str(tmp_path / "runs"), source=str(tmp_path / "slow.yaml"),
        )  # fmt: skip
        running = launcher.start(attempt)
        deadline = time.monotonic() + 30
        while ("GET", "/slow") not in items.hits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("GET", "/slow") in items.hits
        stopped = time.monotonic()
        running.stop()
        outcome = running.wait()
        assert time.monotonic() - stopped < 8
        assert outcome.status == "killed", outcome
        assert outcome.record is not None
        trace = Path(outcome.record, "trace.jsonl").read_text().splitlines()
        assert json.loads(trace[-1])["type"] == "end"  # closed, not cut off
        assert json.loads(trace[-1])["status"] == "killed"


def test_lam_mission_engine_ray_runs_the_attempts_on_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lam.cli.main import main

    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "registry"))
    monkeypatch.chdir(tmp_path)
    with items_server() as items:
        write_spec(tmp_path, items.url)
        write_yaml(tmp_path / "create.yaml", {
            "lam": 1, "name": "create", "apis": {"items": {"spec": "items.openapi.yaml"}},
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "Desk"},
                       "expect": {"status": 201}}],
        })  # fmt: skip
        mission = write_mission(
            tmp_path, "cli on ray", [{"workflowId": "create", "x-lam-plan": "create.yaml"}]
        )
        code = main(["mission", str(mission), "--engine", "ray", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0, out
        assert [i["title"] for i in items.items.values()] == ["Desk"]
        events = read_events(Path(out["record"]))
        assert events[0]["type"] == "mission" and events[0]["launcher"] == "RayLauncher"
        (attempt,) = [e for e in events if e["type"] == "attempt"]
        assert attempt["task"] == "create"
