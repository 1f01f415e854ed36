"""``lam plan GOAL --api SPEC``: validated plans written for review, refusals, usage errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer

from lam.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = str(ROOT / "specs" / "petstore.yaml")
DEMO = str(ROOT / "specs" / "demo.yaml")


def plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_is_written_with_spec_paths_relative_to_it_and_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plans" / "p.yaml"
    out.parent.mkdir()
    code, stdout, stderr = plan(capsys, "find available pets", "--api", PETSTORE, "-o", str(out))
    assert code == 0, stderr
    assert stdout == ""
    assert f"wrote {out}" in stderr
    document = yaml.safe_load(out.read_text())
    spec = document["apis"]["petstore"]["spec"]
    assert not Path(spec).is_absolute()
    assert (out.parent / spec).resolve() == Path(PETSTORE).resolve()
    assert document["steps"] == [
        {
            "id": "findPetsByStatus",
            "description": "find available pets",
            "call": "petstore.findPetsByStatus",
            "params": {"status": "available"},
        }
    ]
    assert main(["validate", str(out)]) == 0


def test_plan_prints_yaml_without_output_and_json_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = plan(capsys, "delete pet 4", "--api", PETSTORE, "--api-name", "store")
    assert code == 0
    assert yaml.safe_load(stdout)["steps"][0]["call"] == "store.deletePet"
    code, stdout, _ = plan(capsys, "show pet 4", "--api", f"shop={DEMO}", "--json")
    result = json.loads(stdout)
    assert code == 0 and result["ok"] is True and result["written"] is None
    assert result["plan"]["steps"][0]["params"] == {"petId": 4}
    assert 0 < result["confidence"] <= 1


def test_unsure_goal_exits_1_lists_candidates_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.yaml"
    code, _, stderr = plan(capsys, "fix order 3", "--api", DEMO, "-o", str(out))
    assert code == 1
    assert not out.exists()
    assert "demo.getOrder" in stderr and "demo.deleteOrder" in stderr
    code, stdout, _ = plan(capsys, "bake a cake", "--api", DEMO, "--json")
    assert code == 1 and json.loads(stdout)["ok"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["list pets", "--app", "http://127.0.0.1:1/", "--api", DEMO, "--api", PETSTORE],
            "at most one --api",
        ),
        (["list pets"], "give --api SPEC"),
        (["list pets", "--api", "missing.yaml"], "spec not found"),
        (["list pets", "--api", DEMO, "-o", "no/such/dir/p.yaml"], "no such directory"),
        (["list pets", "--api", DEMO, "--api", PETSTORE, "--api-name", "x"], "exactly one"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = plan(capsys, *argv)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.integration
def test_a_planned_goal_runs_against_the_live_demo_app(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.yaml"
    goal = "log in as admin with password 'admin-pass' then add a cat named Misty and order it"
    code, _, stderr = plan(
        capsys, goal, "--api", f"shop={DEMO}", "--base-url", demo.api, "-o", str(out)
    )
    assert code == 0, stderr
    assert main(["run", str(out), "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok", result
    with sqlite3.connect(demo.db) as conn:
        rows = conn.execute(
            "SELECT pets.name, pets.status FROM orders JOIN pets ON pets.id = orders.pet_id"
            " WHERE pets.name = 'Misty'"
        ).fetchall()
    assert rows == [("Misty", "pending")]
