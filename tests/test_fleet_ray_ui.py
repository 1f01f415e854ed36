"""UI rows on Ray: ``lam replay REC --inputs ROWS --engine ray`` on a local Ray instance, each
row replayed in a Ray worker process with its own Chromium and guard proxy, checked in the
demo shop's SQLite (each pet added once) and in the journal (the rows ran in Ray's worker
processes, not in the test's)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from servers import DemoServer

from lam.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]


def test_ui_rows_replay_on_ray_each_in_its_own_browser_once(
    tmp_path: Path, demo: DemoServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("PASSWORD", "admin-pass")  # the recording's $secrets.PASSWORD
    monkeypatch.setenv("LAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "registry"))
    rows = tmp_path / "pets.jsonl"
    rows.write_text(
        '{"pet_name": "Ray A", "notes": "one"}\n{"pet_name": "Ray B", "notes": "two"}\n'
    )
    code = main([
        "replay", str(ROOT / "recordings" / "demo_add_pet.yaml"), "--inputs", str(rows),
        "--workers", "2", "--engine", "ray", "--app", f"app={demo.url}",
        "--screenshots", "failures",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with sqlite3.connect(demo.db) as db:
        pets = db.execute("select name, notes from pets where name like 'Ray %'").fetchall()
    assert sorted(pets) == [("Ray A", "one"), ("Ray B", "two")]
    lines = [json.loads(x) for x in (tmp_path / "pets.results.jsonl").read_text().splitlines()]
    assert {line["status"] for line in lines} == {"ok"}
    assert len({line["run_id"] for line in lines}) == 2
    journal = tmp_path / "pets.results.jsonl.journal"
    pids = {json.loads(x)["pid"] for x in journal.read_text().splitlines()}
    assert os.getpid() not in pids
