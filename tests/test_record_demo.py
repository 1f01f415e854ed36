"""Round trip on the demo app: record -> validate -> run elsewhere -> export to pytest -> run it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from servers import DemoServer, start_demo

import lam
from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.plans import load_plan

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed"),
]


def pet_names(server: DemoServer) -> dict[int, str]:
    with sqlite3.connect(server.db) as db:
        return dict(db.execute("SELECT id, name FROM pets"))


def test_record_validate_run_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = tmp_path / "rename.yaml"
    (tmp_path / "a").mkdir()
    with start_demo(tmp_path / "a") as first:
        with lam.record(first.url + "/login", out=rec, params={"new_name": "Name"}) as page:
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill("admin-pass")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("link", name="Rex").click()
            page.get_by_role("link", name="Edit").click()
            page.get_by_label("Name").fill("Rexy")
            page.get_by_role("button", name="Save").click()
            page.get_by_text("Saved").wait_for()
        assert pet_names(first)[1] == "Rexy"  # recording really happens in the app

    text = rec.read_text()
    assert "admin-pass" not in text
    plan = load_plan(rec)
    assert [s.id for s in plan.steps] == [
        "goto_login", "fill_username", "fill_password", "click_log_in", "click_rex",
        "click_edit", "fill_name", "click_save",
    ]  # fmt: skip
    assert plan.inputs["new_name"]["default"] == "Rexy"
    assert main(["validate", str(rec)]) == 0

    # run it on another instance of the app, with another name, the password from the env
    monkeypatch.setenv("PASSWORD", "admin-pass")
    (tmp_path / "b").mkdir()
    with start_demo(tmp_path / "b") as second:
        before = pet_names(second)
        code = main(
            ["run", str(rec), "--app", f"app={second.url}/", "--input", "new_name=Rexford",
             "--no-prompt"]
        )  # fmt: skip
        assert code == 0
        assert pet_names(second) == {**before, 1: "Rexford"}

        # export to a standalone pytest file and run it against the same instance
        test_file = tmp_path / "test_exported.py"
        assert main(["export", str(rec), "--to", "pytest", "-o", str(test_file)]) == 0
        assert "import lam" not in test_file.read_text()
        env = {
            **os.environ,
            "LAM_APP_APP": second.url + "/",
            "LAM_INPUT_NEW_NAME": "Rexington",
            "PASSWORD": "admin-pass",
            "LAM_CHROMIUM": find_chromium() or "",
        }
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert pet_names(second)[1] == "Rexington"


def test_shipped_recordings_are_plans_that_move(tmp_path: Path) -> None:
    recordings = sorted((ROOT / "recordings").glob("*.yaml"))
    assert len(recordings) >= 2
    for path in recordings:
        document = yaml.safe_load(path.read_text())
        assert set(document["apps"]) == {"app"}
        gotos = [s["goto"] for s in document["steps"] if "goto" in s]
        assert gotos and all(g.startswith("app:/") for g in gotos), path
        assert main(["validate", str(path)]) == 0, path


def test_a_shipped_recording_replays_on_a_fresh_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD", "admin-pass")
    with start_demo(tmp_path) as server:
        before = pet_names(server)
        code = main(
            ["replay", str(ROOT / "recordings" / "demo_rename_pet.yaml"), "--app",
             f"app={server.url}/", "--input", "new_name=Maxine", "--no-prompt"]
        )  # fmt: skip
        assert code == 0
        after = pet_names(server)
        assert [after[k] for k in after if after[k] != before.get(k)] == ["Maxine"]
