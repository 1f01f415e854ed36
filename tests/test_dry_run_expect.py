"""A dry run's expectations against the demo app in real Chromium: after a write the dry run
held and answered with a stand-in page, the step's ``expect`` is marked not checked (in the
output, the JSON and the record), never failed or passed; expectations on pages the app really
served, and after a write the API simulator answered, are still checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.runtime.record import read_trace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")
SIGN_IN_PAGES: list[dict[str, Any]] = [
    {"id": "open_login", "goto": "shop:/login"},
    {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "login", "click": {"role": "button", "name": "Log in"}},
]
SIGN_IN_APP: list[dict[str, Any]] = [
    {"id": "open_app", "goto": "shop:/app/pets"},
    {"id": "app_user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "app_pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "app_login", "click": {"role": "button", "name": "Log in"}, "expect": {"text": "Pets"}},
]
STAND_IN = "not checked in a dry run (the page after a held write is a stand-in)"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def dry_run(
    capsys: pytest.CaptureFixture[str], shop: DemoServer, tmp: Path, steps: list[dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    plan = {
        "lam": 1,
        "name": "dry-expect",
        "apps": {"shop": {"url": "http://127.0.0.1:8321/", "api": "shop"}},
        "apis": {"shop": {"spec": DEMO_SPEC}},
        "steps": steps,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    targets = ["--app", f"shop={shop.url}/", "--api", f"shop={shop.api}"]
    code = main(["dry-run", str(path), *targets, "--screenshots", "failures", "--json"])
    return code, json.loads(capsys.readouterr().out)


def edit_steps(before: str, after: str) -> list[dict[str, Any]]:
    return [
        *SIGN_IN_PAGES,
        {"id": "edit", "goto": "shop:/pets/1/edit", "expect": {"text": before}},
        {"id": "rename", "fill": {"label": "Name"}, "value": "Nobody"},
        {"id": "save", "click": {"role": "button", "name": "Save"}, "expect": {"text": after}},
    ]


def test_an_expect_after_a_held_form_post_is_not_checked_and_says_so(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = dry_run(capsys, shop, tmp_path, edit_steps("Name", "words no page shows"))
    assert code == 0, result
    results = {s["id"]: s for s in result["results"]}
    assert results["save"]["unchecked"] == [f"text: 'words no page shows': {STAND_IN}"]
    assert all(not s["unchecked"] for i, s in results.items() if i != "save")
    assert result["unchecked_expectations"] == 1
    events = list(read_trace(Path(result["record"]) / "trace.jsonl"))
    step = next(e for e in events if e["type"] == "step" and e["step"] == "save")
    assert step["status"] == "ok" and step["unchecked"] == results["save"]["unchecked"]
    assert events[-1]["type"] == "end" and events[-1]["unchecked"] == 1


def test_the_summary_says_how_many_were_not_checked(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.yaml"
    dry_run(capsys, shop, tmp_path, edit_steps("Name", "words no page shows"))
    targets = ["--app", f"shop={shop.url}/", "--api", f"shop={shop.api}"]
    assert main(["dry-run", str(path), *targets, "--screenshots", "failures"]) == 0
    out = capsys.readouterr().out
    assert f"expect text: 'words no page shows': {STAND_IN}" in out
    assert "1 expectation(s) not checked in this dry run" in out


def test_an_expect_before_the_held_write_is_still_checked(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = dry_run(capsys, shop, tmp_path, edit_steps("words no page shows", "x"))
    assert code == 1 and result["error"]["step"] == "edit", result
    assert result["error"]["code"] == "expect"


@pytest.mark.parametrize(("said", "code"), [("Saved", 0), ("words no page shows", 1)])
def test_an_expect_after_a_simulated_write_is_checked(
    said: str,
    code: int,
    shop: DemoServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the trap page's Save sends DELETE /api/pets/1: the API simulator answers it, so the page
    # after it is the page the app's API would give
    steps: list[dict[str, Any]] = [
        *SIGN_IN_APP,
        {"id": "open_trap", "goto": "shop:/lab/trap"},
        {"id": "save", "click": {"role": "button", "name": "Save"}, "expect": {"text": said}},
    ]
    got, result = dry_run(capsys, shop, tmp_path, steps)
    assert got == code, result
    assert result["unchecked_expectations"] == 0
    assert [e["answered_by"] for e in result["effects"] if e["step"] == "save"] == ["simulator"]
