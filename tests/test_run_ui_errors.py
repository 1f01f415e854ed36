"""UI steps that answer truly: an app that is not there is one line saying so, exit 1, not a
guard refusal (exit 3) with Playwright's call log (the API step's answer for the same fault is
the model); every expectation and scroll word the plan schema accepts does what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from servers import free_port

from lam.adapters.browser import BrowserSession, find_chromium
from lam.adapters.browser.actions import (
    _from_the_proxy,
    _proxy_reason,
    cannot_connect,
    check_expect,
    perform,
)
from lam.cli.main import main
from lam.documents import schema
from lam.errors import BlockedError, StepFailed


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
@pytest.mark.parametrize("command", ["run", "dry-run"])
def test_a_refused_connection_on_a_ui_step_is_one_line_and_exit_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    plan = tmp_path / "plan.yaml"
    document = {"lam": 1, "name": "gone", "apps": {"web": {"url": url}}}
    plan.write_text(yaml.safe_dump({**document, "steps": [{"id": "open", "goto": "web:/"}]}))
    code = main([command, str(plan), *(["--no-prompt"] if command == "run" else [])])
    out, err = capsys.readouterr()
    assert code == 1, err
    (line,) = [line for line in err.splitlines() if line.strip()]
    # the reason in brackets is what reported it: Chromium, Playwright's fetch, or lam's proxy
    assert line.startswith(f"failed: {plan}: steps[0]: step 'open': cannot connect to {url} (")
    assert "Call log" not in out + err and "blocked" not in out + err
    assert "guard" not in out + err


def test_cannot_connect_reads_chromium_and_node_codes() -> None:
    refused = BlockedError(
        "GET http://127.0.0.1:9/: the network guard failed (Route.fetch: connect "
        "ECONNREFUSED 127.0.0.1:9\nCall log:\n  - → GET http://127.0.0.1:9/\n)"
    )
    found = cannot_connect(refused)
    assert isinstance(found, StepFailed) and found.exit_code == 1
    assert found.message == "cannot connect to http://127.0.0.1:9/ (ECONNREFUSED)"
    goto = Exception("Page.goto: net::ERR_NAME_NOT_RESOLVED at http://nowhere.invalid/\nCall log:")
    found = cannot_connect(goto, "http://nowhere.invalid/")
    assert found is not None
    assert found.message == "cannot connect to http://nowhere.invalid/ (ERR_NAME_NOT_RESOLVED)"
    assert found.code == "cannot-connect"
    # a refusal by the guard, or any other failure, is not a connection problem
    assert cannot_connect(BlockedError("POST http://x/: host x is not allowed")) is None
    assert cannot_connect(Exception("Timeout 5000ms exceeded")) is None


def test_the_egress_proxys_own_502_is_told_from_the_servers() -> None:
    page = "<html><body><h1>502 Bad Gateway</h1><p>[Errno 111] Connect call failed</p></body>"
    assert _proxy_reason(page) == "[Errno 111] Connect call failed"
    assert _from_the_proxy(502, {"server": "mitmproxy 11.0.2"})
    assert not _from_the_proxy(502, {"server": "nginx"})  # the app's own gateway error
    assert not _from_the_proxy(200, {"server": "mitmproxy 11.0.2"})


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_every_expectation_the_plan_schema_allows_is_checked(session: BrowserSession) -> None:
    """`title` and `no_text` are in the plan schema: a plan using them is valid, so a run must
    check them, not fail with "unknown expectation"."""
    page = session.page
    page.set_content("<title>Pets - admin</title><p>Saved</p><p hidden>Error</p>")
    assert check_expect(page, {"title": "Pets", "no_text": "Error"}, timeout_ms=200) == []
    assert check_expect(page, {"title": "*admin"}, timeout_ms=200) == []
    failures = check_expect(page, {"title": "Orders", "no_text": "Saved"}, timeout_ms=200)
    assert failures == [
        "title: expected 'Orders', the page's title is 'Pets - admin'",
        "no_text: 'Saved' is still visible",
    ]
    schema_keys = set(schema("plan")["$defs"]["expect"]["properties"])
    api_only = {"status", "body", "headers"}
    ui_keys = {"url", "title", "text", "no_text", "visible", "hidden", "enabled", "checked"}
    assert schema_keys - api_only == ui_keys | {"value"}


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
@pytest.mark.parametrize("where", ["down", "up", "top", "bottom"])
def test_scroll_words_of_the_schema_all_scroll(session: BrowserSession, where: str) -> None:
    page = session.page
    page.set_content("<div style='height: 5000px'>tall</div>")
    page.evaluate("window.scrollTo(0, 2000)")
    perform(page, "scroll", None, where, timeout_ms=1_000)
    page.wait_for_timeout(100)
    after = page.evaluate("window.scrollY")
    moved = {"down": after > 2000, "up": after < 2000, "top": after == 0, "bottom": after > 2000}
    assert moved[where], (where, after)
