"""Issue 16: the copy-on-write overlay (lam.sandbox.overlay), the change plan
(lam.runtime.change_plan), and ``lam dry-run --reads live`` through the demo shop's UI.

The overlay reads from a real server on 127.0.0.1 that logs every request it receives (a
Starlette app holding a small /posts collection): writes never reach it, later reads see them.
The UI test drives the demo shop in Chromium: the page keeps working on real reads while its
writes are held and answered from the overlay, and it predicts the live run's outcome.
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
from servers import DemoServer, serve_app, start_demo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.runtime.change_plan import attach, counts, diff, render, summary
from lam.sandbox.overlay import Change, Overlay
from lam.sandbox.simulator import SimRequest, SimResponse
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
POSTS_SPEC = ROOT / "tests" / "realapps" / "json_server.yaml"
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")


class Posts:
    """A live API of posts that logs every request; it never changes unless written to."""

    def __init__(self) -> None:
        self.posts = {1: {"id": 1, "title": "First", "author": "ann"}}
        self.log: list[tuple[str, str]] = []
        every = ["GET", "POST", "PATCH", "DELETE"]
        self.app = Starlette(
            routes=[
                Route("/posts", self.collection, methods=every),
                Route("/posts/{id:int}", self.item, methods=every),
            ]
        )

    async def collection(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path))
        return JSONResponse(list(self.posts.values()))

    async def item(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path))
        found = self.posts.get(request.path_params["id"])
        if found is None:
            return JSONResponse({"live": "no such post"}, status_code=404)
        return JSONResponse(found)


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Posts, str]]:
    site = Posts()
    with serve_app(site.app) as url:
        yield site, url


def _overlay(url: str | None, changes: list[Change] | None = None) -> Overlay:
    import httpx

    client = httpx.Client(base_url=url or "http://unused", timeout=10)

    def read(request: SimRequest) -> SimResponse | None:
        answer = client.get(request.path, params={k: v[0] for k, v in request.query.items()})
        return SimResponse(answer.status_code, dict(answer.headers), answer.content, answer.json())

    spec = load_spec(POSTS_SPEC)
    return Overlay(spec, base_path="", live=read if url else None, changes=changes)


def _call(sim: Overlay, method: str, path: str, body: Any = None) -> SimResponse:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"} if body is not None else {}
    return sim.handle(SimRequest(method, path, {}, headers, data))


def test_writes_stay_in_the_overlay_and_later_reads_see_them(live: tuple[Posts, str]) -> None:
    site, url = live
    site.log.clear()
    sim = _overlay(url)
    created = _call(sim, "POST", "/posts", {"title": "Mine", "author": "lam"})
    assert created.status == 201 and created.json["id"] == 2  # after the live ids
    assert [p["title"] for p in _call(sim, "GET", "/posts").json] == ["First", "Mine"]
    assert _call(sim, "PATCH", "/posts/1", {"title": "Changed"}).status == 200
    assert _call(sim, "GET", "/posts/1").json["title"] == "Changed"
    assert _call(sim, "DELETE", "/posts/1").status == 200
    assert _call(sim, "GET", "/posts/1").status == 404
    assert [p["id"] for p in _call(sim, "GET", "/posts").json] == [2]
    assert {m for m, _ in site.log} == {"GET"}  # nothing but reads reached the live API
    assert site.posts == {1: {"id": 1, "title": "First", "author": "ann"}}
    actions = [(c.action, c.resource, c.before_source, c.after_source) for c in sim.changes]
    assert actions == [
        ("create", "/posts/2", "none", "simulated"),
        ("update", "/posts/1", "live", "simulated"),
        ("delete", "/posts/1", "simulated", "simulated"),
    ]


def test_a_record_missing_live_gets_the_live_404(live: tuple[Posts, str]) -> None:
    _, url = live
    sim = _overlay(url)
    answer = _call(sim, "DELETE", "/posts/77")
    assert answer.status == 404 and answer.json == {"live": "no such post"}
    assert _call(sim, "PATCH", "/posts/77", {"title": "x"}).status == 404
    assert [(c.action, c.before, c.before_source) for c in sim.changes] == [
        ("fails", None, "live"),
        ("fails", None, "live"),
    ]


def test_without_live_reads_every_materialized_resource_is_assumed() -> None:
    sim = _overlay(None)
    assert _call(sim, "DELETE", "/posts/77").status == 200  # invented, so it "exists"
    (change,) = sim.changes
    assert change.action == "delete" and change.before_source == "assumed"
    assert isinstance(change.before, dict) and change.before["id"] == 77


def test_field_diff_and_terraform_like_counts() -> None:
    assert diff({"a": 1, "b": {"c": 2}, "gone": 0}, {"a": 1, "b": {"c": 3}, "new": "x"}) == [
        {"field": "/b/c", "before": 2, "after": 3},
        {"field": "/gone", "before": 0},
        {"field": "/new", "after": "x"},
    ]
    changes = [
        Change("POST", "/posts", "/posts/2", "create", 201, None, "none", {"id": 2}, "simulated"),
        Change("DELETE", "/posts/1", "/posts/1", "delete", 200, {"id": 1}, "live", None, "simulated"),
    ]  # fmt: skip
    effects = [
        {"step": "a", "method": "POST", "url": "http://h/posts", "answered_by": "simulator"},
        {"step": "s", "method": "POST", "url": "http://h/login", "answered_by": "live (sign-in)"},
        {"step": "b", "method": "DELETE", "url": "http://h/posts/1", "answered_by": "simulator"},
    ]
    joined = attach(effects, changes)
    assert [e.get("change", {}).get("action") for e in joined] == ["create", None, "delete"]
    assert joined[2]["change"]["diff"] == [{"field": "/id", "before": 1}]
    assert summary(counts(joined)) == "Plan: 1 to create, 0 to change, 1 to delete"
    # a page's form post the sandbox answered with no object to show: counted, never hidden
    form = {"step": "f", "method": "POST", "url": "http://h/pets/1/edit", "answered_by": "synthetic"}
    assert summary(counts([*joined, form])).endswith(
        "; 1 held write(s) whose effect lam cannot predict"
    )
    assert render(joined)[0] == "  + /posts/2: create (step a, POST -> 201)"


# -- the demo shop through its UI -------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plan(tmp: Path, name: str) -> Path:
    """An API step creates a pet; the shop's list page shows it; the page renames pet 1."""
    token = {"Authorization": "Bearer {$steps.login.outputs.token}"}
    steps: list[dict[str, Any]] = [
        {"id": "login", "call": "shop.login", "body": {"username": "admin", "password": "admin-pass"},
         "outputs": {"token": "$response.body#/token"}},
        {"id": "create", "call": "shop.createPet", "params": token,
         "body": {"name": name, "species": "dog", "status": "available"}, "expect": {"status": 201}},
        {"id": "open_app", "goto": "shop:/app/pets"},
        {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
        {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
        {"id": "sign_in", "click": {"role": "button", "name": "Log in"}, "expect": {"text": name}},
        {"id": "open_pet", "goto": "shop:/app/pets/1", "expect": {"visible": {"label": "Name"}}},
        {"id": "rename", "fill": {"label": "Name"}, "value": f"{name} Senior"},
        {"id": "save", "click": {"role": "button", "name": "Save"}, "expect": {"text": "Saved"}},
        {"id": "list", "goto": "shop:/app/pets", "expect": {"text": f"{name} Senior"}},
    ]  # fmt: skip
    plan = {
        "lam": 1,
        "name": "held-create",
        "apps": {"shop": {"url": "http://127.0.0.1:8321/", "api": "shop"}},
        "apis": {"shop": {"spec": DEMO_SPEC}},
        "steps": steps,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoServer]:
    with start_demo(tmp_path / "shop") as server:
        yield server


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_the_shop_list_shows_the_held_creation_and_predicts_the_live_run(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = str(_plan(tmp_path, "Heldie"))
    targets = ["--app", f"shop={shop.url}/", "--api", f"shop={shop.api}", "--json"]
    before, seen = _digest(shop.db), len(shop.requests())
    code = main(["dry-run", plan, *targets, "--reads", "live", "--screenshots", "failures"])
    dry = json.loads(capsys.readouterr().out)
    assert code == 0, dry
    assert _digest(shop.db) == before  # nothing written
    sent = [(r["method"], r["path"]) for r in shop.requests()[seen:]]
    assert {m for m, p in sent if p not in ("/api/login",)} == {"GET"}, sent
    with sqlite3.connect(shop.db) as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM pets")}
    assert "Heldie" not in names and "Heldie Senior" not in names
    changes = dry["change_plan"]["changes"]
    assert [(c["step"], c["action"]) for c in changes] == [("create", "create"), ("save", "update")]
    save = changes[1]
    assert save["before_from"] == "live" and {"field": "/name", "before": save["before"]["name"],
                                              "after": "Heldie Senior"} in save["diff"]  # fmt: skip
    code_live = main(["run", plan, *targets, "--no-prompt", "--screenshots", "failures"])
    live = json.loads(capsys.readouterr().out)
    assert code_live == code, live
    assert [(s["id"], s["status"]) for s in live["results"]] == [
        (s["id"], s["status"]) for s in dry["results"]
    ]
    with sqlite3.connect(shop.db) as conn:
        assert "Heldie" in {n for (n,) in conn.execute("SELECT name FROM pets")}


@pytest.mark.integration
def test_the_issues_example_a_delete_of_a_missing_pet_fails_as_it_would_live(
    shop: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lam dry-run examples/demo_delete_pet.yaml --input pet=424242`` said ok; with
    ``--reads live`` it signs in (passed through, listed), reads the pet live and fails."""
    plan = str(ROOT / "examples" / "demo_delete_pet.yaml")
    argv = [plan, "--api", f"shop={shop.api}", "--input", "pet=424242", "--json"]
    before = _digest(shop.db)
    assert main(["dry-run", *argv]) == 0  # the sandbox invents pet 424242
    sandbox = json.loads(capsys.readouterr().out)
    plan_of = [
        (c["step"], c["action"], c["before_from"]) for c in sandbox["change_plan"]["changes"]
    ]
    assert plan_of == [("login", "other", "none"), ("remove", "delete", "assumed")]
    assert main(["dry-run", *argv, "--reads", "live"]) == 1
    dry = json.loads(capsys.readouterr().out)
    assert "404" in dry["error"]["message"] and dry["error"]["step"] == "look"
    assert [e["answered_by"] for e in dry["effects"]] == ["live (sign-in)"]
    assert main(["run", *argv, "--approve", "remove", "--no-prompt"]) == 1
    live = json.loads(capsys.readouterr().out)
    assert live["error"]["step"] == "look" and "404" in live["error"]["message"]
    assert _digest(shop.db) == before
