"""UI steps that answer truly: an app that is not there is one line saying so, exit 1, not a
guard refusal (exit 3) with Playwright's call log (the API step's answer for the same fault is
the model); starting Chromium is said, and each UI step reports its time as API steps do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from servers import free_port, serve_directory

from lam.adapters.browser import find_chromium
from lam.adapters.browser.actions import _from_the_proxy, _proxy_reason, cannot_connect
from lam.cli.main import main
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
    # (the policy in force may be said too: one line, not about the step)
    (line,) = [line for line in err.splitlines() if line.strip() and not line.startswith("policy:")]
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
    page = (
        "<h1>502 Bad Gateway</h1><p>[Errno 111] Connect call failed (&#x27;127.0.0.1&#x27;, 9)</p>"
    )
    assert _proxy_reason(page) == "[Errno 111] Connect call failed ('127.0.0.1', 9)"
    assert _from_the_proxy(502, {"server": "mitmproxy 11.0.2"})
    assert not _from_the_proxy(502, {"server": "nginx"})  # the app's own gateway error
    assert not _from_the_proxy(200, {"server": "mitmproxy 11.0.2"})


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_chromium_starting_is_said_and_ui_steps_report_their_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<title>t</title><p>hello</p>", encoding="utf-8")
    with serve_directory(site) as url:
        plan = tmp_path / "plan.yaml"
        steps = [
            {"id": "open", "goto": "web:/index.html"},
            {"id": "look", "assert": {"text": "hello"}},
        ]
        plan.write_text(
            yaml.safe_dump({"lam": 1, "name": "t", "apps": {"web": {"url": url}}, "steps": steps})
        )
        code = main(["run", "--no-prompt", str(plan)])
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert code == 0, captured
    progress = [line for line in out if line.startswith("  ...  ")]
    assert progress[0] == "  ...  starting Chromium"
    assert re.fullmatch(r"  \.\.\.  Chromium started in \d+\.\d s", progress[1])
    assert (
        out.index(progress[0])
        < out.index(progress[1])
        < min(i for i, line in enumerate(out) if line.startswith("  ok "))
    )
    ok = [line for line in out if line.startswith("  ok ")]
    assert len(ok) == 2 and all(re.search(r" \(\d+ ms\)$", line) for line in ok), ok
    assert main(["run", "--json", "--no-prompt", str(plan)]) in (0, 1)  # no server now
    assert "starting Chromium" not in capsys.readouterr().out  # --json: one document only
