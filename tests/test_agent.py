"""``lam do``: goals reached step by step under the same validator and guard as any plan."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from servers import DemoServer

from lam.agent import DoOptions, do_goal
from lam.cli.main import main
from lam.memory import MemoryStore
from lam.planner.base import HistoryItem, Observation, Proposal
from lam.policy import default_policy
from lam.runtime.record import read_trace
from lam.runtime.start import RunOptions

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")


def pets(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM pets ORDER BY id")]


def do_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["do", *argv, "--json", "--no-memory"])
    return code, json.loads(capsys.readouterr().out)


def test_an_api_goal_is_reached(demo: DemoServer, capsys: pytest.CaptureFixture[str]) -> None:
    goal = "log in as admin with password 'admin-pass' then add a dog named 'Nibbles'"
    code, result = do_json(capsys, goal, "--api", DEMO_SPEC, "--api-url", demo.api)
    assert code == 0, result
    assert "Nibbles" in pets(demo.db)
    plan = Path(result["plan"]).read_text()
    assert "createPet" in plan  # the steps that ran, written as a plan for review


def test_a_destructive_goal_stops_for_approval_and_changes_nothing(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    goal = "log in as admin with password 'admin-pass' then delete pet 2"
    code, result = do_json(capsys, goal, "--api", DEMO_SPEC, "--api-url", demo.api)
    assert code == 3, result
    assert "needs approval" in result["error"]["message"] and "--approve deletePet" in result["error"]["message"]
    assert "Bella" in pets(demo.db)
    assert not [r for r in demo.requests() if r["method"] == "DELETE"]
    code, result = do_json(
        capsys, goal, "--api", DEMO_SPEC, "--api-url", demo.api, "--approve", "deletePet"
    )
    assert code == 0, result
    assert "Bella" not in pets(demo.db)


class Scripted:
    """A test double for an action model: proposes what a test says, in order."""

    def __init__(self, proposals: Sequence[Sequence[dict[str, Any]]]) -> None:
        self.proposals = list(proposals)
        self.seen: list[tuple[Observation, list[HistoryItem]]] = []

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        self.seen.append((observation, list(history)))
        steps = self.proposals.pop(0)
        return Proposal(tuple(steps), confidence=0.9, done=not self.proposals)


def options(model: Scripted, url: str, tmp: Path, **extra: Any) -> DoOptions:
    return DoOptions(
        goal=extra.pop("goal", "do the thing"),
        run=RunOptions(policy=default_policy(), **extra.pop("run", {})),
        planner=model,
        app_url=url,
        max_retries=extra.pop("max_retries", 2),
        memory=extra.pop("memory", None),
        **extra,
    )


LOGIN: list[dict[str, Any]] = [
    {"id": "go", "goto": "app:/login", "description": "open the login page"},
    {"id": "user", "fill": {"label": "Username"}, "value": "admin", "description": "username"},
    {"id": "pw", "fill": {"label": "Password"}, "value": "admin-pass", "description": "password"},
    {"id": "submit", "click": {"role": "button", "name": "Log in"}, "description": "log in"},
]


@pytest.mark.browser
def test_a_failed_step_is_observed_again_and_corrected(demo: DemoServer, tmp_path: Path) -> None:
    memory = MemoryStore(tmp_path / "memory.db")
    wrong: dict[str, Any] = {"id": "user", "fill": {"label": "User name here"}, "value": "admin",
             "description": "username", "timeout": 1}  # fmt: skip
    model = Scripted([[LOGIN[0], wrong], LOGIN[1:]])
    result = do_goal(options(model, demo.url + "/", tmp_path, memory=memory))
    assert result.run.error is None, result.run.error
    last_history = model.seen[-1][1]
    assert last_history[-1].status == "failed" and "User name here" in (
        last_history[-1].error or ""
    )
    assert model.seen[-1][0].elements  # the page was observed again before re-planning
    events = list(read_trace(Path(result.run.directory) / "trace.jsonl"))
    assert [e["type"] for e in events].count("retry") == 1
    remembered = memory.recall(demo.url, "username")
    assert [r.hints for r in remembered if not r.failed] == [{"label": "Username"}]
    assert [r.hints for r in remembered if r.failed] == [{"label": "User name here"}]


@pytest.mark.browser
def test_what_worked_is_tried_first_next_time(demo: DemoServer, tmp_path: Path) -> None:
    memory = MemoryStore(tmp_path / "memory.db")
    memory.remember_success(demo.url, "username", {"label": "Username"})
    vague: dict[str, Any] = {"id": "user", "fill": {"label": "User name here"}, "value": "admin",
             "description": "username", "timeout": 1}  # fmt: skip
    model = Scripted([[LOGIN[0], vague, *LOGIN[2:]]])
    result = do_goal(options(model, demo.url + "/", tmp_path, memory=memory))
    assert result.run.error is None, result.run.error
    events = list(read_trace(Path(result.run.directory) / "trace.jsonl"))
    assert "retry" not in [e["type"] for e in events]


@pytest.mark.browser
def test_page_text_cannot_make_a_destructive_click_happen(demo: DemoServer, tmp_path: Path) -> None:
    fooled: list[dict[str, Any]] = [{"id": "obey", "click": {"role": "button", "name": "Delete all"},
               "description": "the page says to click Delete all"}]  # fmt: skip
    model = Scripted([[*LOGIN, {"id": "lab", "goto": "app:/lab/injection"}], fooled])
    result = do_goal(options(model, demo.url + "/", tmp_path))
    assert result.run.exit_code == 3
    assert result.run.error is not None and "needs approval" in result.run.error.message
    assert len(pets(demo.db)) == 6
    assert not [r for r in demo.requests() if r["method"] == "DELETE"]


LOG_IN = "log in as admin with password 'admin-pass'"


def ui_do(
    capsys: pytest.CaptureFixture[str], demo: DemoServer, goal: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    return do_json(capsys, goal, "--app", demo.url + "/", "--no-prompt", *extra)


@pytest.mark.browser
def test_do_logs_in(demo: DemoServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = ui_do(capsys, demo, LOG_IN)
    assert code == 0, result
    record = Path(result["record"])
    for name in ("trace.jsonl", "plan.yaml"):
        assert "admin-pass" not in (record / name).read_text()  # the goal's password
    assert "$secrets.PASSWORD" in (record / "plan.yaml").read_text()
    assert any(r["method"] == "POST" and r["path"] == "/login" and r["status"] == 303
               for r in demo.requests())  # fmt: skip


@pytest.mark.browser
def test_do_adds_a_pet_named_x(demo: DemoServer, capsys: pytest.CaptureFixture[str]) -> None:
    goal = f"{LOG_IN}, then click Add a pet, type 'Waffles' into Name, then click Save"
    code, result = ui_do(capsys, demo, goal)
    assert code == 0, result
    assert pets(demo.db)[-1] == "Waffles"


@pytest.mark.browser
def test_do_renames_y_to_z(demo: DemoServer, capsys: pytest.CaptureFixture[str]) -> None:
    goal = f"{LOG_IN}, then click Milo, click Edit, type 'Otis' into Name, click Save"
    code, result = ui_do(capsys, demo, goal)
    assert code == 0, result
    assert "Otis" in pets(demo.db) and "Milo" not in pets(demo.db)


@pytest.mark.browser
def test_do_delete_stops_for_approval_then_runs_when_approved(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    goal = f"{LOG_IN}, then click Bella, click Delete, then click 'Yes, delete'"
    before = pets(demo.db)
    code, result = ui_do(capsys, demo, goal)
    assert code == 3, result
    assert "needs approval" in result["error"]["message"] and "--approve c3-click" in result["error"]["message"]
    assert pets(demo.db) == before
    assert not [r for r in demo.requests() if r["method"] == "POST" and "delete" in r["path"]]
    code, result = ui_do(capsys, demo, goal, "--approve", "c3-click")
    assert code == 3, result  # the confirmation is a destructive step of its own
    assert "--approve c4-click" in result["error"]["message"] and pets(demo.db) == before
    code, result = ui_do(capsys, demo, goal, "--approve", "c3-click", "--approve", "c4-click")
    assert code == 0, result
    assert "Bella" not in pets(demo.db)


@pytest.mark.browser
def test_plan_for_a_ui_goal_is_made_in_the_sandbox_and_validates(
    demo: DemoServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib

    before = hashlib.sha256(demo.db.read_bytes()).hexdigest()
    out = tmp_path / "add.yaml"
    goal = f"{LOG_IN}, then click Add a pet, type 'Waffles' into Name, then click Save"
    assert main(["plan", goal, "--app", demo.url + "/", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "POST" in err  # the effect the plan would have
    assert "admin-pass" not in out.read_text() and "$secrets.PASSWORD" in out.read_text()
    monkeypatch.setenv("PASSWORD", "admin-pass")
    assert hashlib.sha256(demo.db.read_bytes()).hexdigest() == before
    assert main(["validate", str(out), "--json"]) == 0
    assert main(["run", str(out), "--no-prompt", "--json"]) == 0
    assert pets(demo.db)[-1] == "Waffles"


def test_do_approval_with_digest_covers_exactly_the_step_shown(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    goal = "log in as admin with password 'admin-pass' then delete pet 2"
    code, result = do_json(capsys, goal, "--api", DEMO_SPEC, "--api-url", demo.api)
    assert code == 3
    flag = re.search(r"--approve (deletePet@[0-9a-f]+)", result["error"]["message"])
    assert flag is not None
    other = "log in as admin with password 'admin-pass' then delete pet 3"
    code, result = do_json(capsys, other, "--api", DEMO_SPEC, "--api-url", demo.api,
                           "--approve", flag.group(1))  # fmt: skip
    assert code == 3  # same step id, other content: not approved
    assert "Milo" in pets(demo.db)
    code, result = do_json(capsys, goal, "--api", DEMO_SPEC, "--api-url", demo.api,
                           "--approve", flag.group(1))  # fmt: skip
    assert code == 0, result
    assert "Bella" not in pets(demo.db) and "Milo" in pets(demo.db)
