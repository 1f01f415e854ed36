"""Issue 9, "words wherever they hide": verbs in id-like path segments, matrix parameters,
escapes, query parameters on any method and action fields of form and JSON bodies are read,
so a page cannot send them past the guard; policy path rules see the path as servers route it.

The attacks run against a real server on 127.0.0.1 that logs every request (not a mock).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.risk import classify_request
from lam.risk.http import body_reasons, url_classification
from lam.types import Risk

PAGES = Path(__file__).parent / "pages" / "words"


class Logged:
    """A site that serves /pages/* and answers (and logs) every other request."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.url = ""
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(
            routes=[
                Route("/pages/{name}", self.page),
                Route("/{path:path}", self.anything, methods=methods),
            ]
        )

    async def page(self, request: Request) -> Response:
        return FileResponse(PAGES / request.path_params["name"])

    async def anything(self, request: Request) -> Response:
        raw = request.scope.get("raw_path", b"").decode("latin-1")
        self.log.append(
            (request.method, raw + ("?" + request.url.query if request.url.query else ""))
        )
        return JSONResponse({})


@pytest.fixture(scope="module")
def logged() -> Iterator[Logged]:
    site = Logged()
    with serve_app(site.app) as url:
        site.url = url
        yield site


@pytest.fixture
def site(logged: Logged) -> Logged:
    logged.log.clear()
    return logged


# -- the classifier -----------------------------------------------------------------------------

HIDDEN = [
    ("POST", "/admin/delete-all-users-permanently"),  # 24+ characters: was skipped as an id
    ("POST", "/items/3/delete2"),  # a digit: was skipped as an id
    ("GET", "/items/remove3"),
    ("GET", "/items/4/delete;v=1"),  # matrix parameters, stripped by Tomcat-style servers
    ("POST", "/items;action=delete/4"),
    ("POST", "/a/deleteAllUsersPermanentlyNow"),
    ("GET", "/items/4/d%2565lete"),  # escaped twice
    ("POST", "/items/4?action=delete"),  # the query was read on GETs only
    ("PUT", "/items/4?op=purge_all"),
    ("POST", "/items/4?_method=delete"),
    ("POST", "/items/4?item%5Bop%5D=delete"),
    ("PATCH", "/pets/4?pet[toys_attributes][0][_destroy]=1"),
]


@pytest.mark.parametrize(("method", "path"), HIDDEN)
def test_a_hidden_verb_is_read(method: str, path: str) -> None:
    found = classify_request(method, "http://h" + path)
    assert found.risk is Risk.DESTRUCTIVE, found.reasons


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/static/js/main.3f2a9c1e.chunk.js"),
        ("GET", "/x8PayQ3/photos"),  # a random id whose letters happen to spell a verb
        ("GET", "/users/5f3a9b2c8d1e4f6a7b8c9d0e/deleted-items"),
        ("GET", "/v1/payouts"),
        ("POST", "/api/pets?sort=name"),
        ("POST", "/api/pets/3;jsessionid=ABC123"),
        ("GET", "/search?q=delete"),  # a search for the word is not an action
    ],
)
def test_ids_data_and_searches_stay_quiet(method: str, path: str) -> None:
    found = url_classification(method, "http://h" + path)
    assert found.risk is not Risk.DESTRUCTIVE, found.reasons


@pytest.mark.parametrize(
    "body",
    [
        {"action": "delete_selected", "_selected_action": ["1", "2"]},  # Django admin bulk action
        {"_method": "DELETE"},
        {"op": "purge"},
        {"intent": "cancel-subscription"},
        {"query": "mutation { deleteUser(id: 3) { id } }"},
        {"query": "mutation Wipe { wipe: removeAll { ok } }"},
        {"item[op]": "delete"},  # bracketed names (PHP, Rails, qs)
        {"op[]": ["purge"]},
        {"pet[items_attributes][0][_destroy]": "1"},  # Rails nested attributes
        {"pet": {"items_attributes": [{"id": 3, "_destroy": True}]}},
    ],
)
def test_action_fields_of_a_body_are_read(body: dict[str, Any]) -> None:
    assert body_reasons(body)
    assert classify_request("POST", "http://h/items/4", body=body).risk is Risk.DESTRUCTIVE


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Delete me", "notes": "remove later"},  # data, not intent
        {"action": "save"},
        {"query": "query { deletedItems { id } }"},
        {"pet": {"items_attributes": [{"id": 3, "_destroy": False}]}},
        {"history": [{"action": "delete"}]},  # nested data, not this request's action
        ["delete"],
        "action=delete",
    ],
)
def test_data_fields_of_a_body_are_not_intent(body: Any) -> None:
    assert body_reasons(body) == []


# -- the attacks, against a server that logs ----------------------------------------------------

BROWSER = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


def browser(test: Any) -> Any:
    for mark in BROWSER:
        test = mark(test)
    return test


PAGE_SENDS = [
    ("POST", "/admin/delete-all-users-permanently", None, None),
    ("POST", "/items/3/delete2", None, None),
    ("GET", "/items/remove3", None, None),
    ("GET", "/items/4/delete;v=1", None, None),
    ("POST", "/items/4?action=delete", None, None),
    ("POST", "/items/4", "action=delete_selected&_selected_action=4",
     "application/x-www-form-urlencoded"),
    ("POST", "/items/4", json.dumps({"op": "purge"}), "application/json"),
]  # fmt: skip


def _steps(n: int, method: str, url: str, body: str | None, media: str | None) -> list[Any]:
    query = {"m": method, "u": url, **({"b": body, "t": media} if body is not None else {})}
    return [
        {"id": f"open{n}", "goto": "app:/pages/edit.html?" + urlencode(query)},
        {"id": f"save{n}", "click": {"role": "button", "name": "Save"}},
    ]


def _plan(tmp: Path, url: str, steps: list[Any]) -> Path:
    plan = {"lam": 1, "name": "words", "apps": {"app": {"url": url + "/"}}, "steps": steps}
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


@browser
@pytest.mark.parametrize(("method", "url", "body", "media"), PAGE_SENDS)
def test_a_page_cannot_send_a_hidden_verb_in_a_live_run(
    method: str,
    url: str,
    body: str | None,
    media: str | None,
    site: Logged,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = _run(
        capsys, "run", str(_plan(tmp_path, site.url, _steps(0, method, url, body, media)))
    )
    assert site.log == [], (url, result)
    assert code == 3, result


@browser
def test_a_dry_run_holds_every_hidden_verb(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [s for n, send in enumerate(PAGE_SENDS) for s in _steps(n, *send)]
    code, result = _run(capsys, "dry-run", str(_plan(tmp_path, site.url, steps)))
    assert code == 0, result
    assert site.log == [], result
    held = [(e["step"], e["risk"]) for e in result["effects"]]
    assert len(held) == len(PAGE_SENDS) and {r for _, r in held} == {"destructive"}, result
    # each held by its Save; one the page sends late counts against the step after it
    for n, (step, _) in enumerate(held):
        assert step in (f"save{n}", f"open{n + 1}"), result


# -- policy path rules see the path as the server routes it -------------------------------------


@browser
@pytest.mark.parametrize(
    "path", ["/%61dmin/users/3", "/Admin/users/4", "//admin/users/5", "/./admin/x", "/a/../admin/x"]
)
def test_a_deny_rule_on_admin_holds_for_every_spelling_of_the_path(
    path: str, site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "defaults: {destructive: allow}\n"
        "rules:\n  - match: {path: '/admin/**'}\n    verdict: deny\n"
    )
    # an absolute URL, so "//admin" stays a path; Chromium itself resolves the dot segments
    steps = _steps(0, "DELETE", site.url + path, None, None)
    plan = _plan(tmp_path, site.url, steps)
    code, result = _run(capsys, "run", str(plan), "--policy", str(policy))
    assert [p for _, p in site.log if "admin" in p.lower()] == [], result
    assert code == 3, result


@browser
def test_the_deny_rule_on_admin_lets_other_paths_through(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control of the spellings above: the rule is not a wall."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "defaults: {destructive: allow}\n"
        "rules:\n  - match: {path: '/admin/**'}\n    verdict: deny\n"
    )
    code, result = _run(
        capsys, "run", str(_plan(tmp_path, site.url, _steps(0, "DELETE", "/pets/3", None, None))),
        "--policy", str(policy),
    )  # fmt: skip
    assert code == 0, result
    assert ("DELETE", "/pets/3") in site.log
