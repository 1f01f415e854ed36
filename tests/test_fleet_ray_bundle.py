"""What travels with a Ray task (lam.fleet.ray_engine.Bundle): a worker on a machine without
the plan's files (another node) writes them from the bundle, keeping their layout, and runs
the row from there against json-server on 127.0.0.1; a worker that has them uses them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from realapps.apps import JsonServer, json_server_over

from lam.fleet.job import RowJob
from lam.fleet.ray_engine import bundle_for, ray_row, unpack
from lam.fleet.rows import Row

REALAPPS = Path(__file__).parent / "realapps"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[JsonServer]:
    with json_server_over(tmp_path, {"posts": []}) as server:
        yield server


def copied_plan(folder: Path) -> Path:
    """The json-server plan and its spec (``../json_server.yaml``) under ``folder``."""
    (folder / "plans").mkdir(parents=True)
    shutil.copy(REALAPPS / "plans" / "json_server_posts.yaml", folder / "plans")
    shutil.copy(REALAPPS / "json_server.yaml", folder)
    policy = folder / "policy.yaml"
    policy.write_text("lam-policy: 1\n")
    return folder / "plans" / "json_server_posts.yaml"


def test_the_bundle_holds_the_plan_its_spec_and_the_policy(tmp_path: Path) -> None:
    plan = copied_plan(tmp_path / "project")
    job = RowJob(kind="run", path=str(plan), policy=str(tmp_path / "project" / "policy.yaml"))
    bundle = bundle_for(job)
    assert [Path(p).relative_to(bundle.root).as_posix() for p, _ in bundle.files] == [
        "plans/json_server_posts.yaml", "json_server.yaml", "policy.yaml",
    ]  # fmt: skip
    assert unpack(job, bundle, tmp_path / "elsewhere") == job  # the files are here: as is
    assert not (tmp_path / "elsewhere").exists()


def test_a_worker_without_the_files_runs_the_row_from_the_bundle(
    tmp_path: Path, api: JsonServer
) -> None:
    plan = copied_plan(tmp_path / "project")
    job = RowJob(kind="run", path=str(plan), apis=(("posts", api.url),),
                 runs_dir=str(tmp_path / "runs"))  # fmt: skip
    bundle = bundle_for(job)
    shutil.rmtree(tmp_path / "project")  # what another node sees: no such folder

    moved = unpack(job, bundle, tmp_path / "node")
    assert moved.path != job.path and Path(moved.path).is_file()
    assert (Path(moved.path).parent.parent / "json_server.yaml").is_file()  # layout kept

    outcome = ray_row(job, Row(1, 2, "1-a", {"title": "from a bundle"}), bundle)
    assert outcome.status == "ok", outcome.error
    posts = api.items()
    assert [p["title"] for p in posts] == ["Retitled by lam"] and len(posts) == 1
    trace = Path(str(outcome.record), "trace.jsonl").read_text().splitlines()
    assert json.loads(trace[-1])["status"] == "ok"
