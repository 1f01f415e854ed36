"""Approvals given back as lam printed them when it held a step, against the demo app in real
Chromium: a step held at run time for a request its page sent names an approval
(``--approve STEP@DIGEST:RISK``) that covers that step's requests to the plan's hosts up to
that risk, and nothing else. The demo's "trap" page has a Save button whose click sends
``DELETE /api/pets/1``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")
STEPS: list[dict[str, Any]] = [
    {"id": "open_app", "goto": "shop:/app/pets"},
    {"id": "app_user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "app_pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "app_login", "click": {"role": "button", "name": "Log in"}, "expect": {"text": "Pets"}},
    {"id": "open_trap", "goto": "shop:/lab/trap"},
    {"id": "save", "click": {"role": "button", "name": "Save"}},
]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoServer]:
    with start_demo(tmp_path) as server:
        yield server


def plan_file(tmp: Path, steps: list[dict[str, Any]]) -> str:
    plan = {
        "lam": 1,
        "name": "approvals",
        "apps": {"shop": {"url": "http://127.0.0.1:8321/", "api": "shop"}},
        "apis": {"shop": {"spec": DEMO_SPEC}},
        "steps": steps,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return str(path)


def lam(capsys: pytest.CaptureFixture[str], shop: DemoServer, *argv: str) -> tuple[int, Any]:
    targets = ["--app", f"shop={shop.url}/", "--api", f"shop={shop.api}", "--no-prompt"]
    code = main(["run", *argv, *targets, "--screenshots", "failures", "--json"])
    return code, json.loads(capsys.readouterr().out)


def has_pet_one(shop: DemoServer) -> bool:
    with sqlite3.connect(shop.db) as conn:
        return conn.execute("SELECT 1 FROM pets WHERE id = 1").fetchone() is not None


def test_the_approval_a_held_request_names_covers_it(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_file(tmp_path, STEPS)
    code, result = lam(capsys, shop, plan)
    assert code == 3 and has_pet_one(shop), result
    # held mid-run: the same error object as a plan held before it starts (one shape)
    assert result["error"]["step"] == "save" and result["error"]["code"] == "needs-approval"
    assert result["error"]["type"] == "BlockedError" and result["exit"] == 3
    message = result["error"]["message"]
    (flag,) = re.findall(r"--approve (\S+?)\)", message)
    assert re.fullmatch(r"save@[0-9a-f]{10}:destructive", flag), message
    # the record's end event names it as data: what lam mission reads, never the message
    end = [json.loads(line) for line in (Path(result["record"]) / "trace.jsonl").open()][-1]
    assert end["type"] == "end" and end["approvals"] == [flag], end
    # the plain id approves the click as shown (no risk), not the DELETE its page sends
    code, result = lam(capsys, shop, plan, "--approve", "save")
    assert code == 3 and has_pet_one(shop), result
    # another step's approval, or a lower risk, covers nothing here
    for other in ("open_trap:destructive", flag.replace("destructive", "write")):
        code, result = lam(capsys, shop, plan, "--approve", other)
        assert code == 3 and has_pet_one(shop), (other, result)
    code, result = lam(capsys, shop, plan, "--approve", flag)
    assert code == 0, result
    assert not has_pet_one(shop)


def test_a_risk_approval_bound_to_other_content_is_stale(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_file(tmp_path, STEPS)
    code, result = lam(capsys, shop, plan)
    (flag,) = re.findall(r"--approve (\S+?)\)", result["error"]["message"])
    changed = [*STEPS[:-1], {**STEPS[-1], "description": "now something else"}]
    code, result = lam(capsys, shop, plan_file(tmp_path, changed), "--approve", flag)
    assert code == 3 and result["error"]["code"] == "stale-approval", result
    assert has_pet_one(shop)


def test_a_risk_approval_does_not_reach_outside_the_plan(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [
        {"id": "open", "goto": "shop:/lab/outside"},
        {"id": "send", "click": {"role": "button", "name": "Send report"}},
    ]
    code, result = lam(capsys, shop, plan_file(tmp_path, steps), "--approve", "send:destructive")
    assert code == 3 and "evil.invalid" in result["error"]["message"], result


def test_an_approval_with_an_unknown_risk_is_a_usage_error(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = lam(capsys, shop, plan_file(tmp_path, STEPS), "--approve", "save:everything")
    assert code == 3 and result["error"]["code"] == "usage", result
    assert "'everything' is not a risk" in result["error"]["message"]
