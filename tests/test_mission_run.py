"""Running missions against real servers on 127.0.0.1: outputs wired from an API task into a UI
task (the demo shop, real Chromium), a task that fails once and recovers by retry, a
destructive task held while independent tasks finish (exit 3) and then approved as
``--approve TASK.STEP@DIGEST`` (exit 0). Each checks the server's own state."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mission_apps import items_server, write_mission, write_spec, write_yaml
from servers import start_demo

from lam.adapters.browser import find_chromium
from lam.mission.load import load_mission
from lam.mission.model import MissionOptions
from lam.mission.record import read_events
from lam.mission.supervisor import run_mission

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")


def _mission(tmp: Path, workflows: list[dict[str, Any]], **x_lam: Any) -> Path:
    return write_mission(tmp, "test mission", workflows, **x_lam)


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_api_task_creates_ui_task_sees_it(tmp_path: Path) -> None:
    with start_demo(tmp_path) as shop:
        api = {"shop": {"spec": DEMO_SPEC, "base_url": shop.api}}
        write_yaml(tmp_path / "create.yaml", {
            "lam": 1, "name": "create-pet", "apis": api,
            "inputs": {"name": {"type": "string", "default": "Mission Lamp"}},
            "steps": [
                {"id": "login", "call": "shop.login",
                 "body": {"username": "admin", "password": "admin-pass"},
                 "outputs": {"token": "$response.body#/token"}},
                {"id": "make", "call": "shop.createPet",
                 "params": {"Authorization": "Bearer {$steps.login.outputs.token}"},
                 "body": {"name": "$inputs.name", "species": "cat", "status": "available"},
                 "expect": {"status": 201},
                 "outputs": {"id": "$response.body#/id", "name": "$response.body#/name"}},
            ],
        })  # fmt: skip
        write_yaml(tmp_path / "check.yaml", {
            "lam": 1, "name": "check-pet",
            "inputs": {"pet_id": {"type": "integer"}, "name": {"type": "string"}},
            "apps": {"shop": {"url": shop.url + "/"}},
            "steps": [
                {"id": "open_login", "goto": "shop:/login"},
                {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
                {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
                {"id": "login", "click": {"role": "button", "name": "Log in"}},
                {"id": "open", "goto": "shop:/pets/{$inputs.pet_id}",
                 "expect": {"text": "$inputs.name"}},
                {"id": "read", "extract": {"role": "heading", "name": "$inputs.name"}},
            ],
        })  # fmt: skip
        mission = _mission(tmp_path, [
            {"workflowId": "create", "x-lam-plan": "create.yaml",
             "outputs": {"pet_id": "$steps.make.outputs.id", "name": "$steps.make.outputs.name"}},
            {"workflowId": "check", "dependsOn": ["create"], "x-lam-plan": "check.yaml",
             "x-lam-inputs": {"pet_id": "$workflows.create.outputs.pet_id",
                              "name": "$workflows.create.outputs.name"},
             "outputs": {"seen": "$steps.read.outputs.value"}},
        ])  # fmt: skip
        write_spec(tmp_path, "http://127.0.0.1:1")  # the mission names it; no task uses it
        result = run_mission(
            load_mission(mission),
            MissionOptions(inputs={"name": "Mission Lamp"}, missions_dir=tmp_path / "m"),
        )
        assert result.exit_code == 0, {k: v.error for k, v in result.tasks.items()}
        pet_id = result.tasks["create"].outputs["pet_id"]
        with sqlite3.connect(shop.db) as db:
            rows = db.execute("SELECT name FROM pets WHERE id = ?", (pet_id,)).fetchall()
        assert rows == [("Mission Lamp",)]
        assert "Mission Lamp" in str(result.tasks["check"].outputs["seen"])
        attempts = [e for e in read_events(result.directory) if e["type"] == "attempt"]
        check = next(e for e in attempts if e["task"] == "check")
        assert check["command"]["inputs"] == {"pet_id": pet_id, "name": "Mission Lamp"}


def test_a_task_that_fails_once_recovers_by_retry(tmp_path: Path) -> None:
    with items_server() as items:
        items.fail_next = 1  # the first creation answers 503
        write_spec(tmp_path, items.url)
        write_yaml(tmp_path / "create.yaml", {
            "lam": 1, "name": "create", "apis": {"items": {"spec": "items.openapi.yaml"}},
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "Lamp"},
                       "expect": {"status": 201}, "outputs": {"id": "$response.body#/id"}}],
        })  # fmt: skip
        mission = _mission(tmp_path, [
            {"workflowId": "create", "x-lam-plan": "create.yaml", "x-lam-retries": 2,
             "outputs": {"id": "$steps.make.outputs.id"}},
        ])  # fmt: skip
        result = run_mission(load_mission(mission), MissionOptions(missions_dir=tmp_path / "m"))
        assert result.exit_code == 0
        assert result.tasks["create"].attempts == 2
        assert [i["title"] for i in items.items.values()] == ["Lamp"]  # created exactly once
        assert items.hits.count(("POST", "/items")) == 2
    events = read_events(result.directory)
    results = [e for e in events if e["type"] == "result"]
    assert [r["status"] for r in results] == ["failed", "ok"]
    assert results[0]["record"] != results[1]["record"]  # each attempt its own run record
    retry = next(e for e in events if e["type"] == "decision" and e["action"] == "retry")
    assert retry["by"] == "supervisor" and "503" in retry["why"]
    second = [e for e in events if e["type"] == "attempt"][1]
    assert second["why"].startswith("retry after") and second["decided_by"] == "supervisor"


def test_a_held_task_blocks_only_its_dependents_then_runs_approved(tmp_path: Path) -> None:
    with items_server() as items:
        items.items[1] = {"id": 1, "title": "old"}
        write_spec(tmp_path, items.url)
        api = {"items": {"spec": "items.openapi.yaml"}}
        write_yaml(tmp_path / "remove.yaml", {
            "lam": 1, "name": "remove", "apis": api,
            "steps": [{"id": "drop", "call": "items.deleteItem", "params": {"id": 1},
                       "expect": {"status": 204}}],
        })  # fmt: skip
        write_yaml(tmp_path / "add.yaml", {
            "lam": 1, "name": "add", "apis": api,
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "new"},
                       "expect": {"status": 201}}],
        })  # fmt: skip
        write_yaml(tmp_path / "list.yaml", {
            "lam": 1, "name": "list", "apis": api,
            "steps": [{"id": "all", "call": "items.listItems"}],
        })  # fmt: skip
        mission = load_mission(_mission(tmp_path, [
            {"workflowId": "remove", "x-lam-plan": "remove.yaml"},
            {"workflowId": "add", "x-lam-plan": "add.yaml"},
            {"workflowId": "after", "dependsOn": ["remove"], "x-lam-plan": "list.yaml"},
        ]))  # fmt: skip
        held = run_mission(mission, MissionOptions(missions_dir=tmp_path / "m"))
        assert held.exit_code == 3
        statuses = {k: v.status for k, v in held.tasks.items()}
        assert statuses == {"remove": "held", "add": "ok", "after": "blocked"}
        assert 1 in items.items and not [h for h in items.hits if h[0] == "DELETE"]
        (needed,) = held.tasks["remove"].needs
        assert needed.startswith("remove.drop@")
        hold = next(e for e in read_events(held.directory) if e.get("action") == "hold")
        assert f"--approve {needed}" in hold["why"] and "after" in hold["why"]

        # an approval for one task is that task's only: "add" and "after" get none
        task, step = needed.split(".", 1)
        approved = run_mission(
            mission, MissionOptions(approvals={task: frozenset({step})},
                                    missions_dir=tmp_path / "m"),
        )  # fmt: skip
        assert approved.exit_code == 0, {k: v.error for k, v in approved.tasks.items()}
        assert 1 not in items.items
        assert items.hits.count(("DELETE", "/items/1")) == 1
    commands = {e["task"]: e["command"] for e in read_events(approved.directory)
                if e["type"] == "attempt"}  # fmt: skip
    assert commands["remove"]["approvals"] == [step]
    assert commands["add"]["approvals"] == [] and commands["after"]["approvals"] == []


def test_a_failed_goal_is_re_planned_with_what_failed(tmp_path: Path) -> None:
    with items_server() as items:
        items.fail_next = 3  # more than lam do's own retries inside one attempt
        write_spec(tmp_path, items.url)
        mission = _mission(tmp_path, [
            {"workflowId": "make", "x-lam-goal": "create an item titled Lamp",
             "x-lam-agent": "api", "x-lam-apis": ["items"], "x-lam-retries": 2},
        ], apis={"items": items.url})  # fmt: skip
        result = run_mission(load_mission(mission), MissionOptions(missions_dir=tmp_path / "m"))
        posts = items.hits.count(("POST", "/items"))
        created = [i["title"] for i in items.items.values()]
    assert result.exit_code == 0, result.tasks["make"].error
    assert created == ["Lamp"] and posts == 4  # three 503s in attempt 1, then one creation
    events = read_events(result.directory)
    attempts = [e for e in events if e["type"] == "attempt"]
    assert [a["decided_by"] for a in attempts] == ["supervisor", "planner"]
    first_error = next(e for e in events if e["type"] == "result")["error"]
    assert "503" in first_error
    assert attempts[1]["why"] == f"re-plan from the goal with what failed: {first_error}"
    # the failure reaches the planner as a note (history), the goal stays the operator's words
    assert attempts[1]["command"]["note"] == first_error
    assert attempts[1]["command"]["goal"] == "create an item titled Lamp"
    trace = Path(str(result.tasks["make"].record)) / "trace.jsonl"
    replan = [json.loads(x) for x in trace.open() if '"type": "re-plan"' in x]
    assert replan and replan[0]["note"] == first_error
    # who decided what, from what: the tree shows each attempt's decider and its agent's steps
    from lam.mission.report import tree_lines

    tree = "\n".join(tree_lines(result.directory))
    assert "attempt 2 by planner: re-plan from the goal with what failed" in tree
    assert tree.count("agent proposed: createItem") == 4  # attempt 1: the plan, 2 retries


def test_a_dry_run_mission_runs_every_task_in_the_sandbox(tmp_path: Path) -> None:
    with items_server() as items:
        items.items[1] = {"id": 1, "title": "old"}
        write_spec(tmp_path, items.url)
        api = {"items": {"spec": "items.openapi.yaml"}}
        write_yaml(tmp_path / "create.yaml", {
            "lam": 1, "name": "create", "apis": api,
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "Lamp"},
                       "outputs": {"id": "$response.body#/id"}}],
        })  # fmt: skip
        write_yaml(tmp_path / "remove.yaml", {
            "lam": 1, "name": "remove", "apis": api, "inputs": {"id": {"type": "integer"}},
            "steps": [{"id": "drop", "call": "items.deleteItem", "params": {"id": "$inputs.id"}}],
        })  # fmt: skip
        mission = _mission(tmp_path, [
            {"workflowId": "create", "x-lam-plan": "create.yaml",
             "outputs": {"id": "$steps.make.outputs.id"}},
            {"workflowId": "remove", "dependsOn": ["create"], "x-lam-plan": "remove.yaml",
             "x-lam-inputs": {"id": "$workflows.create.outputs.id"}},
        ])  # fmt: skip
        result = run_mission(
            load_mission(mission), MissionOptions(dry_run=True, missions_dir=tmp_path / "m")
        )
        assert result.exit_code == 0, {k: v.error for k, v in result.tasks.items()}
        assert items.hits == [] and items.items == {1: {"id": 1, "title": "old"}}
    for task in result.tasks.values():
        plan = next(
            json.loads(x) for x in (Path(str(task.record)) / "trace.jsonl").open()
            if '"type": "plan"' in x
        )  # fmt: skip
        assert plan["mode"] == "dry-run"
    assert next(e for e in read_events(result.directory) if e["type"] == "mission")["dry_run"]


def test_an_arazzo_document_runs_as_a_mission_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lam.cli.main import main

    with items_server() as items:
        write_spec(tmp_path, items.url)
        mission = _mission(tmp_path, [
            {"workflowId": "create",
             "inputs": {"type": "object", "properties": {"title": {"type": "string"}}},
             "steps": [{"stepId": "make", "operationId": "createItem",
                        "requestBody": {"payload": {"title": "$inputs.title"}},
                        "successCriteria": [{"condition": "$statusCode == 201"}],
                        "outputs": {"id": "$response.body#/id"}}],
             "outputs": {"item": "$steps.make.outputs.id"}},
            {"workflowId": "check", "dependsOn": ["create"],
             "steps": [{"stepId": "read", "operationId": "getItem",
                        "parameters": [{"name": "id", "in": "path",
                                        "value": "$workflows.create.outputs.item"}],
                        "successCriteria": [{"condition": "$statusCode == 200"}],
                        "outputs": {"title": "$response.body#/title"}}],
             "outputs": {"title": "$steps.read.outputs.title"}},
        ])  # fmt: skip
        code = main(["mission", str(mission), "--input", "title=Lamp", "--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        result = json.loads(out[out.index("{") :])
        tasks = {t["task"]: t for t in result["tasks"]}
        assert tasks["check"]["outputs"] == {"title": "Lamp"}
        assert [i["title"] for i in items.items.values()] == ["Lamp"]
        assert ("GET", f"/items/{tasks['create']['outputs']['item']}") in items.hits


def test_a_recording_task_is_replayed_again_after_a_failure(tmp_path: Path) -> None:
    with items_server() as items:
        items.fail_next = 1
        write_spec(tmp_path, items.url)
        write_yaml(tmp_path / "recorded.yaml", {
            "lam": 1, "name": "recorded", "apis": {"items": {"spec": "items.openapi.yaml"}},
            "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "Rec"},
                       "expect": {"status": 201}}],
        })  # fmt: skip
        mission = _mission(tmp_path, [
            {"workflowId": "again", "x-lam-recording": "recorded.yaml", "x-lam-retries": 1},
        ])  # fmt: skip
        result = run_mission(load_mission(mission), MissionOptions(missions_dir=tmp_path / "m"))
        assert result.exit_code == 0 and [i["title"] for i in items.items.values()] == ["Rec"]
    attempts = [e for e in read_events(result.directory) if e["type"] == "attempt"]
    assert [a["command"]["kind"] for a in attempts] == ["replay", "replay"]
    assert attempts[1]["why"].endswith("(the replay heals moved targets)")


LOG_IN = "log in as admin with password 'admin-pass'"


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_a_ui_goal_task_is_reached_and_its_password_kept_out_of_the_records(
    tmp_path: Path,
) -> None:
    with start_demo(tmp_path) as shop:
        write_spec(tmp_path, "http://127.0.0.1:1")
        mission = _mission(tmp_path, [
            {"workflowId": "add", "x-lam-agent": "ui", "x-lam-apps": ["shop"],
             "x-lam-goal": f"{LOG_IN}, then click Add a pet, type 'Waffles' into Name, "
                           "then click Save"},
        ], apps={"shop": shop.url + "/"})  # fmt: skip
        result = run_mission(load_mission(mission), MissionOptions(missions_dir=tmp_path / "m"))
        assert result.exit_code == 0, {k: v.error for k, v in result.tasks.items()}
        with sqlite3.connect(shop.db) as db:
            assert ("Waffles",) in db.execute("SELECT name FROM pets").fetchall()
    (attempt,) = [e for e in read_events(result.directory) if e["type"] == "attempt"]
    assert attempt["command"]["agent"] == "ui"
    assert attempt["command"]["app_url"] == shop.url + "/"
    # the goal's password is in neither the mission record nor the run's record
    assert "admin-pass" not in (result.directory / "events.jsonl").read_text()
    assert "***" in attempt["command"]["goal"]
    assert "admin-pass" not in (Path(str(result.tasks["add"].record)) / "trace.jsonl").read_text()


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_a_ui_task_held_at_run_time_names_its_approval_and_runs_with_it(tmp_path: Path) -> None:
    # the demo's trap page: its Save click sends DELETE /api/pets/1, held mid-run by the guard
    with start_demo(tmp_path) as shop:
        write_yaml(tmp_path / "trap.yaml", {
            "lam": 1, "name": "trap",
            "apps": {"shop": {"url": shop.url + "/", "api": "shop"}},
            "apis": {"shop": {"spec": DEMO_SPEC, "base_url": shop.api}},
            "steps": [
                {"id": "open_app", "goto": "shop:/app/pets"},
                {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
                {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
                {"id": "login", "click": {"role": "button", "name": "Log in"},
                 "expect": {"text": "Pets"}},
                {"id": "open_trap", "goto": "shop:/lab/trap"},
                {"id": "save", "click": {"role": "button", "name": "Save"}},
            ],
        })  # fmt: skip
        write_spec(tmp_path, "http://127.0.0.1:1")  # the mission names it; no task uses it
        mission = load_mission(_mission(tmp_path, [{"workflowId": "t", "x-lam-plan": "trap.yaml"}]))

        def pet_one() -> bool:
            with sqlite3.connect(shop.db) as db:
                return db.execute("SELECT 1 FROM pets WHERE id = 1").fetchone() is not None

        held = run_mission(mission, MissionOptions(missions_dir=tmp_path / "m"))
        assert held.exit_code == 3 and pet_one(), held.tasks["t"].error
        # read from the run record's end event: exactly the value to give back, nothing
        # of the message around it
        (needed,) = held.tasks["t"].needs
        task, step = needed.split(".", 1)
        assert task == "t" and re.fullmatch(r"save@[0-9a-f]{10}:destructive", step), needed
        approved = run_mission(
            mission,
            MissionOptions(approvals={task: frozenset({step})}, missions_dir=tmp_path / "m"),
        )
        assert approved.exit_code == 0, approved.tasks["t"].error
        assert not pet_one()
