"""Issue 16: ``lam dry-run --reads live`` predicts the live run, against json-server (npm).

For each plan (create, update and delete of existing and missing records, create-then-list,
delete-then-read) the dry run's predicted outcome — each step's HTTP status and status, the
final exit code, what a read step read — equals the live run's on the same data; json-server's
own request log shows only reads during the dry run; its db.json is byte-identical after it.
The default dry run (the sandbox invents what it reads) is measured alongside: it says "ok" to
plans that fail live. ``pytest -s`` prints the agreement rates that docs/dry-run.md quotes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.cli.main import main
from lam.runtime.record import read_trace

from .apps import HERE, JsonServer, json_server_over

pytestmark = pytest.mark.integration

SPEC = HERE / "json_server.yaml"
SEED = {
    "posts": [
        {"id": 1, "title": "json-server", "author": "typicode"},
        {"id": 2, "title": "Second post", "author": "alice"},
    ]
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) (\d{3})")

CREATE = {"id": "add", "call": "posts.createPost", "body": {"title": "New", "author": "lam"},
          "expect": {"status": 201}, "outputs": {"id": "$response.body#/id"}}  # fmt: skip
LIST = {"id": "list", "call": "posts.listPosts", "expect": {"status": 200}}


def _delete(post: int) -> dict[str, Any]:
    return {"id": "remove", "call": "posts.deletePost", "params": {"id": post},
            "expect": {"status": 200}}  # fmt: skip


def _patch(post: int) -> dict[str, Any]:
    return {"id": "retitle", "call": "posts.patchPost", "params": {"id": post},
            "body": {"title": "Retitled"}, "expect": {"status": 200}}  # fmt: skip


PLANS: dict[str, list[dict[str, Any]]] = {
    "create": [CREATE],
    "update-existing": [_patch(1), {"id": "read", "call": "posts.getPost", "params": {"id": 1}}],
    "update-missing": [_patch(99)],
    "delete-existing": [_delete(2)],
    "delete-missing": [_delete(99)],
    "create-then-list": [CREATE, LIST],
    "delete-then-read": [
        _delete(1),
        {"id": "read", "call": "posts.getPost", "params": {"id": 1}, "expect": {"status": 404}},
        LIST,
    ],
}


@dataclass(frozen=True)
class Outcome:
    """What a run did, in the terms a prediction is checked in."""

    exit: int
    steps: tuple[tuple[str, str, int | None], ...]  # (step, ok/failed/..., HTTP status)
    reads: tuple[Any, ...]  # the body every GET step that succeeded received

    @classmethod
    def of(cls, code: int, result: dict[str, Any]) -> Outcome:
        events = list(read_trace(Path(result["record"]) / "trace.jsonl"))
        statuses = {e["step"]: e["status"] for e in events if e["type"] == "response"}
        methods = {e["step"]: e["method"] for e in events if e["type"] == "request"}
        reads = tuple(
            e["body"]
            for e in events
            if e["type"] == "response" and methods[e["step"]] == "GET" and e["status"] < 300
        )  # an error's body is the spec's shape, not the app's: its status is compared
        steps = tuple((s["id"], s["status"], statuses.get(s["id"])) for s in result["results"])
        return cls(code, steps, reads)


@contextmanager
def fresh_server(folder: Path) -> Iterator[tuple[JsonServer, Path]]:
    """json-server over its own copy of SEED, logging every request it receives."""
    log = folder / "requests.log"
    with json_server_over(folder, SEED, log=log) as api:
        yield api, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JsonServer, Path]]:
    """One server for the tests that only dry-run (each checks it was not written)."""
    with fresh_server(tmp_path_factory.mktemp("server")) as found:
        yield found


def requests_logged(log: Path) -> list[tuple[str, str, int]]:
    """json-server's own request log: (method, path, status) per request."""
    lines = (_ANSI.sub("", line).strip() for line in log.read_text().splitlines())
    found = (_LINE.match(line) for line in lines)
    return [(m[1], m[2], int(m[3])) for m in found if m]


def lam_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def write_plan(tmp: Path, name: str, steps: list[dict[str, Any]]) -> Path:
    plan = {"lam": 1, "name": name, "apis": {"posts": {"spec": str(SPEC)}}, "steps": steps}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def test_dry_run_with_live_reads_predicts_the_live_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agree = {"live": 0, "sandbox": 0}
    wrong: list[str] = []
    with ExitStack() as stack, ThreadPoolExecutor(len(PLANS)) as pool:
        # a server per plan, each over its own copy of SEED (started side by side: node is slow)
        started = pool.map(lambda n: stack.enter_context(fresh_server(tmp_path / n)), PLANS)
        servers = dict(zip(PLANS, started, strict=True))
        for name, steps in PLANS.items():
            plan = str(write_plan(tmp_path, name, steps))
            api, log = servers[name]
            target = ["--api", f"posts={api.url}"]
            before, seen = api.db.read_bytes(), len(requests_logged(log))
            code, dry = lam_json(capsys, "dry-run", plan, *target, "--reads", "live")
            during = requests_logged(log)[seen:]
            assert during and {m for m, _, _ in during} == {"GET"}, (name, during)
            assert api.db.read_bytes() == before, name
            sandbox_code, sandbox = lam_json(capsys, "dry-run", plan, *target)
            assert api.db.read_bytes() == before, name
            # the same data: the dry runs changed nothing (checked above, byte for byte)
            approve = [a for s in steps if s["id"] == "remove" for a in ("--approve", "remove")]
            live_code, live = lam_json(capsys, "run", plan, *target, "--no-prompt", *approve)
            actual = Outcome.of(live_code, live)
            predicted = Outcome.of(code, dry)
            agree["live"] += predicted == actual
            agree["sandbox"] += Outcome.of(sandbox_code, sandbox) == actual
            if predicted != actual:
                wrong.append(f"{name}: predicted {predicted}, live {actual}")
            writes = [c for c in dry["change_plan"]["changes"] if c["action"] != "fails"]
            assert [c["after_from"] for c in writes] == ["simulated"] * len(writes), name
    total = len(PLANS)
    print(f"\nagreement with the live run over {total} plans: --reads live "
          f"{agree['live']}/{total}, default dry run {agree['sandbox']}/{total}")  # fmt: skip
    assert not wrong, wrong
    assert agree["sandbox"] < total  # the default dry run invents: it cannot see a missing post


def test_a_delete_of_a_missing_post_gets_the_live_404_and_no_change(
    server: tuple[JsonServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, log = server
    plan = str(write_plan(tmp_path, "gone", [_delete(99)]))
    code, dry = lam_json(capsys, "dry-run", plan, "--api", f"posts={api.url}", "--reads", "live")
    assert code == 1, dry
    assert "404" in dry["error"]["message"]
    change = dry["change_plan"]["changes"][0]
    assert change["action"] == "fails" and change["status"] == 404
    assert change["before"] is None and change["before_from"] == "live"
    assert dry["change_plan"]["counts"] == {
        "create": 0,
        "update": 0,
        "delete": 0,
        "fails": 1,
        "other": 0,
        "unpredicted": 0,
    }
    # the default dry run invents the post and says the delete succeeds, labelled assumed
    code, sandbox = lam_json(capsys, "dry-run", plan, "--api", f"posts={api.url}")
    assert code == 0, sandbox
    change = sandbox["change_plan"]["changes"][0]
    assert change["action"] == "delete" and change["before_from"] == "assumed"
    assert ("DELETE", "/posts/99", 404) not in requests_logged(log)


def test_change_plan_shows_live_state_before_and_a_field_diff(
    server: tuple[JsonServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    steps = [CREATE, _patch(1), _delete(2)]
    plan = str(write_plan(tmp_path, "three", steps))
    code, dry = lam_json(capsys, "dry-run", plan, "--api", f"posts={api.url}", "--reads", "live")
    assert code == 0, dry
    create, update, delete = dry["change_plan"]["changes"]
    assert create["action"] == "create" and create["resource"] == "/posts/3"
    assert create["after"] == {"id": 3, "title": "New", "author": "lam"}
    assert update["before"] == SEED["posts"][0] and update["before_from"] == "live"
    assert update["diff"] == [{"field": "/title", "before": "json-server", "after": "Retitled"}]
    assert delete["before"] == SEED["posts"][1] and delete["after"] is None
    assert dry["change_plan"]["summary"] == "Plan: 1 to create, 1 to change, 1 to delete"
    effects = json.loads((Path(dry["record"]) / "effects.json").read_text())
    assert [e["change"]["action"] for e in effects] == ["create", "update", "delete"]
    main(["dry-run", plan, "--api", f"posts={api.url}", "--reads", "live"])
    text = capsys.readouterr().out
    assert "Plan: 1 to create, 1 to change, 1 to delete" in text
    assert "/title: 'json-server' -> 'Retitled'" in text


def test_a_policy_that_denies_reads_keeps_them_off_the_live_api(
    server: tuple[JsonServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, log = server
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump({"rules": [{"match": {"operation": "getPost"}, "verdict": "deny"}]})
    )
    plan = str(write_plan(tmp_path, "patch", [_patch(1)]))
    time.sleep(0.3)  # json-server logs a request just after answering it
    seen = len(requests_logged(log))
    argv = ["dry-run", plan, "--api", f"posts={api.url}", "--reads", "live", "--policy"]
    code, dry = lam_json(capsys, *argv, str(policy))
    assert code == 0, dry
    time.sleep(0.3)
    assert [p for _, p, _ in requests_logged(log)[seen:]] == []
    assert dry["change_plan"]["changes"][0]["before_from"] == "assumed"


def test_replay_and_a_session_read_live_too(
    server: tuple[JsonServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lam replay --dry-run --reads live`` and ``lam.Session(dry_run=True, reads="live")``
    (what ``lam mcp --dry-run --reads live`` opens) see the live data under the overlay."""
    from lam.hands import Session

    api, _ = server
    before = api.db.read_bytes()
    plan = str(write_plan(tmp_path, "gone", [_delete(99)]))
    target = ["--api", f"posts={api.url}"]
    code, result = lam_json(capsys, "replay", plan, *target, "--dry-run", "--reads", "live")
    assert code == 1 and result["change_plan"]["counts"]["fails"] == 1, result
    session = Session(
        apis={"posts": (str(SPEC), api.url)}, dry_run=True, reads="live",
        runs_dir=tmp_path / "runs",
    )  # fmt: skip
    with session:
        done = session.act({"id": "retitle", "call": "posts.patchPost", "params": {"id": 1},
                            "body": {"title": "Held"}})  # fmt: skip
        assert done.ok, done
        read = session.act({"id": "read", "call": "posts.getPost", "params": {"id": 1}})
        assert read.ok, read
    effects = session.result.effects_json or []
    assert effects[0]["change"]["before"] == SEED["posts"][0]
    assert effects[0]["change"]["before_from"] == "live"
    assert api.db.read_bytes() == before
