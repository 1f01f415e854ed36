"""lam replay REC --inputs ROWS: a recording per row; UI rows in parallel worker processes
(each its own Chromium and guard proxy), checked in the demo shop's SQLite; a batch-wide
refusal (a secret not set) stops the batch before every row fails the same way."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from realapps.apps import json_server_over
from servers import DemoServer

from lam.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = Path(__file__).parent / "realapps" / "json_server.yaml"
SIGNED = f"""\
lam: 1
name: fleet_signed
inputs:
  title: {{type: string}}
apis:
  posts:
    spec: {SPEC}
steps:
  - id: add
    call: posts.createPost
    body: {{title: $inputs.title, author: $secrets.FLEET_AUTHOR}}
    expect: {{status: 201}}
"""


@pytest.mark.browser
def test_ui_rows_replay_in_parallel_processes_each_row_once(
    tmp_path: Path, demo: DemoServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("PASSWORD", "admin-pass")
    rows = tmp_path / "pets.jsonl"
    rows.write_text(
        '{"pet_name": "Rex A", "notes": "one"}\n{"pet_name": "Rex B", "notes": "two"}\n'
    )
    code = main([
        "replay", str(ROOT / "recordings" / "demo_add_pet.yaml"), "--inputs", str(rows),
        "--workers", "2", "--app", f"app={demo.url}", "--screenshots", "failures",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with sqlite3.connect(demo.db) as db:
        pets = db.execute("select name, notes from pets where name like 'Rex %'").fetchall()
    assert sorted(pets) == [("Rex A", "one"), ("Rex B", "two")]
    lines = [json.loads(x) for x in (tmp_path / "pets.results.jsonl").read_text().splitlines()]
    assert {line["status"] for line in lines} == {"ok"}
    assert len({line["run_id"] for line in lines}) == 2


def test_threads_refuse_a_ui_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "pets.csv"
    rows.write_text("pet_name\nRex\n")
    argv = ["replay", str(ROOT / "recordings" / "demo_add_pet.yaml"), "--inputs", str(rows),
            "--engine", "threads", "--app", "app=http://127.0.0.1:9"]  # fmt: skip
    assert main(argv) == 2
    assert "--engine threads runs API plans only" in capsys.readouterr().err


def test_a_secret_not_set_stops_the_batch_and_the_rows_run_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "signed.yaml"
    plan.write_text(SIGNED)
    rows = tmp_path / "rows.csv"
    rows.write_text("title\n" + "".join(f"t{n}\n" for n in range(30)))
    monkeypatch.delenv("FLEET_AUTHOR", raising=False)
    with json_server_over(tmp_path, {"posts": []}) as api:
        argv = ["replay", str(plan), "--inputs", str(rows), "--engine", "threads",
                "--api", f"posts={api.url}"]  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "stopped: row 1:" in err and "FLEET_AUTHOR is not set" in err
        first = (tmp_path / "rows.results.jsonl").read_text().count("\n")
        assert first < 30  # it stopped, not 30 times the same failure
        monkeypatch.setenv("FLEET_AUTHOR", "fleet")
        assert main(argv) == 0
        posts = api.items()
    assert sorted(p["title"] for p in posts) == sorted(f"t{n}" for n in range(30))
    assert {p["author"] for p in posts} == {"fleet"}
