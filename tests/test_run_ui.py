"""UI steps run in real Chromium against the demo app: guarded clicks, the network guard, dry
runs that never reach the app, and annotated screenshots in the run record.

One demo server serves the whole module; each test reads only its own slice of the access log
and checks changes relative to the state it found.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.runtime.record import read_trace, verify_trace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

ROOT = Path(__file__).resolve().parents[1]
MIXED = ROOT / "examples" / "demo_mixed.yaml"
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")

# the fetch()-driven admin keeps its API token in localStorage
SIGN_IN_APP: list[dict[str, Any]] = [
    {"id": "open_app", "goto": "shop:/app/pets"},
    {"id": "app_user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "app_pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "app_login", "click": {"role": "button", "name": "Log in"}, "expect": {"text": "Pets"}},
]
# the server-rendered pages use a session cookie
SIGN_IN_PAGES: list[dict[str, Any]] = [
    {"id": "open_login", "goto": "shop:/login"},
    {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "login", "click": {"role": "button", "name": "Log in"}},
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def targets(server: DemoServer) -> list[str]:
    return ["--app", f"shop={server.url}/", "--api", f"shop={server.api}"]


def write_plan(tmp: Path, steps: list[dict[str, Any]]) -> Path:
    plan = {
        "lam": 1,
        "name": "ui-test",
        "apps": {"shop": {"url": "http://127.0.0.1:8321/", "api": "shop"}},
        "apis": {"shop": {"spec": DEMO_SPEC}},
        "steps": steps,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def pets(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, name FROM pets").fetchall())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def changing(requests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """State-changing requests that reached the app (signing in does not change state)."""
    return [
        (r["method"], r["path"])
        for r in requests
        if r["method"] not in ("GET", "HEAD") and r["path"] not in ("/login", "/api/login")
    ]


def trace(result: dict[str, Any]) -> list[dict[str, Any]]:
    return list(read_trace(Path(result["record"]) / "trace.jsonl"))


def step_of(result: dict[str, Any], step: str) -> dict[str, Any]:
    return next(s for s in result["results"] if s["id"] == step)


def test_mixed_plan_dry_run_leaves_the_app_untouched_and_shows_the_simulated_change(
    shop: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before, seen = digest(shop.db), len(shop.requests())
    code, result = run_json(
        capsys, "dry-run", str(MIXED), *targets(shop), "--input", "new_name=Dryford"
    )
    assert code == 0, result
    assert digest(shop.db) == before
    assert changing(shop.requests()[seen:]) == []
    held = {(e["step"], e["method"], e["answered_by"]) for e in result["effects"]}
    assert ("save", "PATCH", "simulator") in held
    save = next(e for e in result["effects"] if e["step"] == "save")
    assert save["body"]["name"] == "Dryford" and save["url"].startswith(shop.api + "/pets/")
    # the list page renders what the API answers: its expect saw the simulated name
    assert step_of(result, "list")["status"] == "ok"
    assert "Dryford" not in pets(shop.db).values()


def test_mixed_plan_live_changes_the_database_with_a_screenshot_per_ui_step(
    shop: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first = min(pets(shop.db))
    original = pets(shop.db)[first]
    code, result = run_json(
        capsys, "run", str(MIXED), *targets(shop), "--input", "new_name=Liveford"
    )
    assert code == 0, result
    now = pets(shop.db)
    assert now[first] == "Liveford"
    assert f"{original} Junior" in now.values()  # text read off the page, used in an API call
    assert ("PATCH", f"/api/pets/{first}") in changing(shop.requests())
    run_dir = Path(result["record"])
    for step in result["results"]:
        if step["id"] in ("login", "find", "copy"):
            assert step["screenshot"] is None
            continue
        shot = run_dir / step["screenshot"]
        with Image.open(shot) as image:
            assert image.format == "PNG" and image.width > 100
    assert verify_trace(run_dir / "trace.jsonl").ok
    screenshots = [e["screenshot"] for e in trace(result) if e["type"] == "step"]
    assert "screenshots/" in str(screenshots)


def test_a_delete_click_needs_approval_and_runs_once_approved(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = sorted(pets(shop.db))[2]
    steps: list[dict[str, Any]] = [
        *SIGN_IN_PAGES,
        {"id": "open", "goto": f"shop:/pets/{victim}"},
        {"id": "delete", "click": {"role": "button", "name": "Delete"}},
        {"id": "confirm", "click": {"role": "button", "name": "Yes, delete"}},
    ]
    plan = str(write_plan(tmp_path, steps))
    seen = len(shop.requests())
    assert main(["run", plan, *targets(shop)]) == 3
    assert "needs approval" in capsys.readouterr().err
    assert victim in pets(shop.db) and changing(shop.requests()[seen:]) == []

    code, result = run_json(
        capsys, "run", plan, *targets(shop), "--approve", "delete", "--approve", "confirm"
    )
    assert code == 0, result
    assert victim not in pets(shop.db)
    assert ("POST", f"/pets/{victim}/delete") in changing(shop.requests()[seen:])


def test_a_disguised_target_is_judged_by_the_element_it_resolves_to(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = sorted(pets(shop.db))[-1]
    steps: list[dict[str, Any]] = [
        *SIGN_IN_PAGES,
        {"id": "open", "goto": f"shop:/pets/{victim}"},
        # a selector without a risk word (button.danger is destructive at validate time)
        {"id": "proceed", "click": {"css": "form[method=get] button[type=submit]"}},
    ]
    seen = len(shop.requests())
    code, result = run_json(capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 3, result
    blocked = step_of(result, "proceed")
    assert blocked["status"] == "blocked" and "'Delete'" in blocked["error"]
    assert blocked["screenshot"] and (Path(result["record"]) / blocked["screenshot"]).is_file()
    assert victim in pets(shop.db) and changing(shop.requests()[seen:]) == []


def test_a_save_button_that_sends_delete_is_stopped_at_the_network(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [
        *SIGN_IN_APP,
        {"id": "open_trap", "goto": "shop:/lab/trap"},
        {"id": "note", "fill": {"label": "Note"}, "value": "hello"},
        {"id": "save", "click": {"role": "button", "name": "Save"}},
    ]
    before, seen = pets(shop.db), len(shop.requests())
    code, result = run_json(capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 3, result
    assert step_of(result, "save")["status"] == "blocked"
    assert "DELETE" in step_of(result, "save")["error"]
    assert pets(shop.db) == before
    assert not [r for r in shop.requests()[seen:] if r["method"] == "DELETE"]
    refused = [e for e in trace(result) if e["type"] == "guard" and e["origin"] == "request"]
    assert refused[-1]["risk"] == "destructive" and refused[-1]["verdict"] == "approve"


def test_approving_the_save_step_does_not_let_its_page_delete(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [
        *SIGN_IN_APP,
        {"id": "open_trap", "goto": "shop:/lab/trap"},
        {"id": "save", "click": {"role": "button", "name": "Save"}},
    ]
    before = pets(shop.db)
    code, result = run_json(
        capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop), "--approve", "save"
    )
    assert code == 3, result
    assert pets(shop.db) == before


def test_a_request_to_a_host_outside_the_plan_is_refused(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the page's own pixel while it loads: refused and noted, and the run goes on (issue 11)
    steps: list[dict[str, Any]] = [{"id": "open", "goto": "shop:/lab/outside"}]
    code, result = run_json(capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 0, result
    denied = [e for e in trace(result) if e["type"] == "guard" and e["verdict"] == "deny"]
    assert denied and "evil.invalid" in denied[0]["action"]
    # what a step sends there stops the run, approved or not
    steps.append({"id": "send", "click": {"role": "button", "name": "Send report"}})
    plan = str(write_plan(tmp_path, steps))
    code, result = run_json(capsys, "run", plan, *targets(shop), "--approve", "send")
    assert code == 3, result
    assert "evil.invalid" in step_of(result, "send")["error"]


def test_page_text_cannot_make_anything_happen_that_the_plan_does_not_say(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, seen = pets(shop.db), len(shop.requests())
    steps: list[dict[str, Any]] = [
        *SIGN_IN_APP,
        {"id": "open", "goto": "shop:/lab/injection"},
        {"id": "refresh", "click": {"role": "button", "name": "Refresh"}},
        {"id": "check", "wait": "Refreshed"},
    ]
    code, result = run_json(capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 0, result
    # a plan that clicks the page's own suggestion, by position, is still refused at the element
    steps[-2:] = [{"id": "obey", "click": {"css": "p > button:first-child"}}]
    code, result = run_json(capsys, "run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 3, result
    assert "Delete all" in step_of(result, "obey")["error"]
    assert pets(shop.db) == before
    assert changing(shop.requests()[seen:]) == []


def test_a_dry_run_answers_a_form_post_synthetically_and_says_so(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pet = min(pets(shop.db))
    steps: list[dict[str, Any]] = [
        *SIGN_IN_PAGES,
        {"id": "edit", "goto": f"shop:/pets/{pet}/edit"},
        {"id": "rename", "fill": {"label": "Name"}, "value": "Nobody"},
        {"id": "save", "click": {"role": "button", "name": "Save"}},
    ]
    before, seen = digest(shop.db), len(shop.requests())
    code, result = run_json(capsys, "dry-run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 0, result
    assert digest(shop.db) == before
    assert changing(shop.requests()[seen:]) == []
    assert ("POST", "/login") in [(r["method"], r["path"]) for r in shop.requests()[seen:]]
    live = [e for e in result["effects"] if e["answered_by"] == "live (sign-in)"]
    assert [e["step"] for e in live] == ["login"]  # the sign-in went live, and says so
    (effect,) = [e for e in result["effects"] if e not in live]
    assert effect["answered_by"] == "synthetic" and effect["body"]["name"] == "Nobody"
    assert effect["url"] == f"{shop.url}/pets/{pet}/edit"
    notes = [e for e in trace(result) if e["type"] == "note"]
    assert notes and "not the one the app would show" in notes[0]["message"]


def test_a_dry_run_shows_the_trap_delete_as_a_held_destructive_effect(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [
        *SIGN_IN_APP,
        {"id": "open_trap", "goto": "shop:/lab/trap"},
        {"id": "save", "click": {"role": "button", "name": "Save"}},
        {"id": "said", "extract": {"role": "status"}},
    ]
    before, seen = digest(shop.db), len(shop.requests())
    code, result = run_json(capsys, "dry-run", str(write_plan(tmp_path, steps)), *targets(shop))
    assert code == 0, result
    live = [e for e in result["effects"] if e["answered_by"] == "live (sign-in)"]
    assert [(e["step"], e["url"]) for e in live] == [("app_login", shop.api + "/login")]
    (effect,) = [e for e in result["effects"] if e not in live]
    assert (effect["step"], effect["method"], effect["risk"]) == ("save", "DELETE", "destructive")
    assert effect["verdict"] == "approve" and effect["answered_by"] == "simulator"
    assert digest(shop.db) == before
    assert changing(shop.requests()[seen:]) == []
    said = next(e for e in trace(result) if e["type"] == "step" and e["step"] == "said")
    assert said["outputs"]["value"] == "Saved"  # the simulator answered the page's DELETE


def test_a_websocket_to_a_host_outside_the_plan_is_refused(
    shop: DemoServer, tmp_path: Path
) -> None:
    from lam.adapters.browser import BrowserSession
    from lam.plans import AppDecl, Plan
    from lam.policy import default_policy
    from lam.runtime.context import RunState
    from lam.runtime.guard import LiveGuard
    from lam.runtime.kill import KillSwitch
    from lam.runtime.network_guard import NetworkGuard
    from lam.runtime.record import RunRecord

    plan = Plan(name="ws", steps=(), apps={"shop": AppDecl("shop", shop.url + "/")})
    record = RunRecord.create(tmp_path / "runs")
    guard = LiveGuard(default_policy(), declared_hosts=["127.0.0.1"], record=record)
    state = RunState(
        plan=plan, inputs={}, outputs={}, guard=guard, record=record,
        kill=KillSwitch(record.directory, tmp_path),
        app_urls={"shop": shop.url + "/"}, api_urls={},
    )  # fmt: skip
    net = NetworkGuard(state, [])
    with BrowserSession() as session:
        net.attach(session.new_context())
        net.begin("probe")
        session.page.goto(shop.url + "/login")
        closed = session.page.evaluate(
            """() => new Promise((done) => {
                 const ws = new WebSocket("ws://evil.invalid/feed");
                 ws.onclose = (event) => done(event.code);
               })"""
        )
    record.close()
    refusal = net.take_refusal()
    assert closed == 1008
    assert refusal is not None and "evil.invalid" in refusal.message
