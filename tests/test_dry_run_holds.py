"""Issue 9, "dry runs hold every write": a dry run sends live only what signs in, never a
destructive request, never for a word in a path, and says what it let through.

Attacks run against a real server on 127.0.0.1 that logs every request (not a mock): before
the fix, ``POST /api/tokens/all/revoke`` and ``POST /api/sessions/purge`` reached it in a dry
run (their paths say token and session), and so did the "enter your password to delete your
account" form (any form with a password field counted as signing in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.risk.ui import ElementFacts
from lam.runtime.record import read_trace
from lam.runtime.sign_in import PASSED_LIVE, credentials_form, spec_sign_in
from lam.spec import load_spec
from lam.types import Risk

HERE = Path(__file__).parent / "pages" / "signin"
SPEC = HERE / "api.yaml"


class Logged:
    """The live app: pages under /pages/, a sign-in that hands out a token, and every other
    request answered and logged."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.url = ""
        every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(
            routes=[
                Route("/pages/{name}", self.page),
                Route("/{path:path}", self.anything, methods=every),
            ]
        )

    async def page(self, request: Request) -> Response:
        return FileResponse(HERE / request.path_params["name"])

    async def anything(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path))
        if request.url.path == "/login" and request.method == "POST":
            form = await request.form()
            return RedirectResponse(str(form.get("next") or "/pages/login.html"), status_code=303)
        return JSONResponse({"token": "live-token"})

    def changing(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log if m != "GET"]


@pytest.fixture(scope="module")
def live() -> Iterator[Logged]:
    site = Logged()
    with serve_app(site.app) as url:
        site.url = url
        yield site


@pytest.fixture
def site(live: Logged) -> Logged:
    live.log.clear()
    return live


def _plan(tmp: Path, url: str, steps: list[dict[str, Any]]) -> Path:
    plan = {
        "lam": 1,
        "name": "sign-in attacks",
        "apps": {"web": {"url": url + "/", "api": "svc"}},
        "apis": {"svc": {"spec": str(SPEC), "base_url": url + "/api"}},
        "steps": steps,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def _dry_run(capsys: pytest.CaptureFixture[str], plan: Path) -> dict[str, Any]:
    """The dry run's JSON; a dry run that sent something live still ends ok."""
    code = main(["dry-run", str(plan), "--json"])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0, result
    return result


def _passthroughs(result: dict[str, Any]) -> list[dict[str, Any]]:
    trace = read_trace(Path(result["record"]) / "trace.jsonl")
    return [e for e in trace if e.get("type") == "passthrough"]


# -- the sign-in rule, on the spec -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "risk", "signs_in"),
    [
        ("/api/login", Risk.WRITE, True),  # no security, hands out the bearer token
        ("/api/oauth/token", Risk.WRITE, True),  # the OAuth2 tokenUrl
        ("/api/tokens/all/revoke", Risk.DESTRUCTIVE, False),  # destructive, whatever else
        ("/api/tokens/all/revoke", Risk.WRITE, True),  # (the rule alone would say yes)
        ("/api/sessions/purge", Risk.DESTRUCTIVE, False),
        ("/api/tokens", Risk.WRITE, False),  # needs the token itself: creates one, a write
        ("/api/login", Risk.DESTRUCTIVE, False),
    ],
)
def test_a_sign_in_is_a_token_operation_of_the_spec_never_a_word(
    path: str, risk: Risk, signs_in: bool
) -> None:
    spec = load_spec(str(SPEC))
    found = spec.match("POST", path.removeprefix("/api"))  # the spec names no server
    assert found is not None
    assert (spec_sign_in(spec, found[0], "http://h" + path, risk) is not None) is signs_in


def test_the_demo_shops_login_is_a_sign_in_and_its_pet_calls_are_not() -> None:
    spec = load_spec(str(Path(__file__).resolve().parents[1] / "specs" / "demo.yaml"))
    login, create = spec.match("POST", "/api/login"), spec.match("POST", "/api/pets")
    assert login is not None and create is not None
    assert spec_sign_in(spec, login[0], "http://h/api/login", Risk.WRITE)
    assert spec_sign_in(spec, create[0], "http://h/api/pets", Risk.WRITE) is None


def _submit(label: str, **form: Any) -> ElementFacts:
    facts: dict[str, Any] = {"form_method": "post", "form_action": "http://app:8000/login",
                             "form_has_password": True, "form_credentials": True, **form}  # fmt: skip
    return ElementFacts(tag="button", role="button", name=label, **facts)


@pytest.mark.parametrize(
    ("el", "risk", "signs_in"),
    [
        (_submit("Log in"), Risk.WRITE, True),
        (_submit("Log in", form_credentials=False), Risk.WRITE, False),  # a lone password
        (_submit("Delete my account"), Risk.DESTRUCTIVE, False),
        (_submit("Create account"), Risk.WRITE, False),  # signing up makes an account
        (_submit("Sign up"), Risk.WRITE, False),
        (_submit("Log in", form_action="http://other:8000/login"), Risk.WRITE, False),
        (_submit("Log in", form_method="get"), Risk.READ, False),
    ],
)
def test_a_sign_in_form_is_a_credentials_form_of_the_plans_app(
    el: ElementFacts, risk: Risk, signs_in: bool
) -> None:
    assert credentials_form(el, risk, ["http://app:8000/"]) is signs_in


# -- API steps, against the live server ---------------------------------------------------------------


@pytest.mark.integration
def test_api_steps_in_a_dry_run_send_only_the_sign_in_live(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [
        {"id": "login", "call": "svc.login", "body": {"username": "u", "password": "p"}},
        {"id": "oauth", "call": "svc.issueToken", "content_type": "application/x-www-form-urlencoded",
         "body": {"grant_type": "client_credentials", "client_id": "c"}},
        {"id": "revoke", "call": "svc.revokeAllTokens"},
        {"id": "purge", "call": "svc.purgeSessions"},
        {"id": "mint", "call": "svc.createToken"},
        {"id": "settings", "call": "svc.sessionSettings", "body": {"action": "delete"}},
    ]  # fmt: skip
    plan = _plan(tmp_path, site.url, steps)
    code = main(["dry-run", str(plan), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert site.changing() == [("POST", "/api/login"), ("POST", "/api/oauth/token")], result
    by_step = {e["step"]: e for e in result["effects"]}
    assert {s for s, e in by_step.items() if e["answered_by"] == PASSED_LIVE} == {"login", "oauth"}
    assert by_step["login"]["body"] == "(credentials not recorded)"
    assert {"revoke", "purge", "mint", "settings"} <= set(by_step)
    assert [e["url"] for e in _passthroughs(result)] == [
        site.url + "/api/login",
        site.url + "/api/oauth/token",
    ]
    assert code in (0, 1), result
    # the text a person reads says what went live
    site.log.clear()
    main(["dry-run", str(plan)])
    out = capsys.readouterr().out
    assert "2 sign-in request(s) passed through to the live app" in out, out
    assert PASSED_LIVE in out


# -- UI steps, against the live server ----------------------------------------------------------------

BROWSER = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


def browser(test: Any) -> Any:
    for mark in BROWSER:
        test = mark(test)
    return test


def _form_steps(n: int, page: str, button: str, *, user: bool = True) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"id": f"open{n}", "goto": f"web:/pages/{page}"}]
    if user:
        steps.append({"id": f"user{n}", "fill": {"label": "Username"}, "value": "admin"})
    steps += [
        {"id": f"pw{n}", "fill": {"css": "input[type=password]"}, "value": "secret"},
        {"id": f"submit{n}", "click": {"role": "button", "name": button}},
    ]
    return steps


@browser
def test_a_password_form_that_deletes_is_held_in_a_dry_run(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _form_steps(0, "account.html", "Delete my account", user=False)
    result = _dry_run(capsys, _plan(tmp_path, site.url, steps))
    assert site.changing() == [], result
    held = [e for e in result["effects"] if e["step"] == "submit0"]
    assert held and held[0]["answered_by"] != PASSED_LIVE, result
    assert _passthroughs(result) == []


@browser
def test_a_form_with_a_hidden_password_is_not_a_sign_in(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [{"id": "open", "goto": "web:/pages/hidden_password.html"},
             {"id": "save", "click": {"role": "button", "name": "Log in"}}]  # fmt: skip
    result = _dry_run(capsys, _plan(tmp_path, site.url, steps))
    assert site.changing() == [], result
    assert [e["step"] for e in result["effects"]] == ["save"], result


@browser
def test_a_sign_in_form_posting_to_a_destructive_url_is_held(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _form_steps(0, "login_elsewhere.html", "Log in")
    result = _dry_run(capsys, _plan(tmp_path, site.url, steps))
    assert site.changing() == [], result
    assert [e["risk"] for e in result["effects"]] == ["destructive"], result


@browser
def test_a_real_sign_in_form_goes_live_once_and_is_listed(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _form_steps(0, "login.html", "Log in") + _form_steps(1, "login_and_more.html", "Log in")
    result = _dry_run(capsys, _plan(tmp_path, site.url, steps))
    posts = site.changing()
    # the first form signs in; on the second, the form and its script both post to /login
    # in the same step, and only one of the two goes live
    assert posts == [("POST", "/login"), ("POST", "/login")], posts
    live = [e for e in result["effects"] if e["answered_by"] == PASSED_LIVE]
    assert [e["step"] for e in live] == ["submit0", "submit1"], result
    assert [e["step"] for e in _passthroughs(result)] == ["submit0", "submit1"]
    assert any(
        e["step"] == "submit1" and e["answered_by"] != PASSED_LIVE for e in result["effects"]
    )


@pytest.mark.integration
def test_a_dry_runs_live_reads_are_only_reads(
    site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the simulator reads live lists through the app's API; a GET the spec or its words call
    # destructive reached the live app that way while the summary said nothing had
    steps = [
        {"id": "list", "call": "svc.listItems"},
        {"id": "purge", "call": "svc.purgeItemsLink"},  # GET /items/purge: its path says purge
        {"id": "archive", "call": "svc.archiveAll"},  # GET /archive, x-lam-risk: destructive
    ]
    code = main(["dry-run", str(_plan(tmp_path, site.url, steps)), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert site.log == [("GET", "/api/items")], result
    held = {e["step"]: e["risk"] for e in result["effects"]}
    assert held == {"purge": "destructive", "archive": "destructive"}, result
