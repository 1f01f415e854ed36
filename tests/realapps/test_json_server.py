"""json-server (npm, pinned in tests/realapps/package.json) as a real HTTP API: plans against
a small OpenAPI spec of its /posts resource (tests/realapps/json_server.yaml), checked in the
db.json json-server writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lam.cli.main import main

from .apps import HERE, JsonServer, json_server_over

pytestmark = pytest.mark.integration

PLANS = HERE / "plans"
SEED = {
    "posts": [
        {"id": 1, "title": "json-server", "author": "typicode"},
        {"id": 2, "title": "Second post", "author": "alice"},
    ]
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[JsonServer]:
    with json_server_over(tmp_path, SEED) as server:
        yield server


def lam_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def posts(api: JsonServer) -> list[dict[str, Any]]:
    return api.items()


def test_validate_knows_the_delete_is_destructive(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = lam_json(capsys, "validate", str(PLANS / "json_server_posts.yaml"))
    assert code == 0, result
    assert [s["risk"] for s in result["steps"]] == ["write", "write", "read"]
    code, result = lam_json(capsys, "validate", str(PLANS / "json_server_delete.yaml"))
    assert code == 3, result
    assert {s["id"]: s["verdict"] for s in result["steps"]} == {
        "show": "allow",
        "remove": "approve",
    }


def test_dry_run_leaves_db_json_byte_identical(
    api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before, served = api.db.read_bytes(), posts(api)
    argv = [str(PLANS / "json_server_posts.yaml"), "--api", f"posts={api.url}"]
    code, result = lam_json(capsys, "dry-run", *argv)
    assert code == 0, result
    assert posts(api) == served and api.db.read_bytes() == before
    assert [e["method"] for e in result["effects"]] == ["POST", "PATCH"]


def test_run_writes_through_to_db_json(api: JsonServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(PLANS / "json_server_posts.yaml"), "--api", f"posts={api.url}"]
    code, result = lam_json(capsys, "run", *argv, "--input", "title=Draft", "--no-prompt")
    assert code == 0, result
    added = posts(api)[-1]
    assert added["title"] == "Retitled by lam" and added["author"] == "lam"
    assert len(posts(api)) == 3


def test_delete_is_held_without_approval(
    api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(PLANS / "json_server_delete.yaml"), "--api", f"posts={api.url}"]
    before, served = api.db.read_bytes(), posts(api)
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    assert code == 3, result
    assert posts(api) == served and api.db.read_bytes() == before
    code, result = lam_json(capsys, "run", *argv, "--approve", "remove", "--no-prompt")
    assert code == 0, result
    assert [p["id"] for p in posts(api)] == [2]
