"""Strict containment: the browser in a network namespace whose only way out is the proxy.

"A channel that ignores the proxy settings" is played by Chromium told to go direct
(``--proxy-server=direct://``): contained by the proxy alone it reaches a server on
127.0.0.1; in its own namespace it reaches nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lam.adapters.browser import find_chromium
from lam.adapters.browser.chromium import launch
from lam.cli.main import main
from lam.egress.containment import Containment, strict_wanted
from lam.egress.decide import UnattendedWrites
from lam.egress.netns import strict_available
from lam.egress.proxy import EgressError
from lam.policy import default_policy
from lam.runtime.record import read_trace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]
needs_netns = pytest.mark.skipif(not strict_available(), reason="needs Linux, root and unshare")


class Logged:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.url = ""
        self.app = Starlette(routes=[Route("/{path:path}", self.any)])

    async def any(self, request: Request) -> Response:
        self.log.append(request.url.path)
        return PlainTextResponse(
            "<!doctype html><title>Here</title><p>here</p>", media_type="text/html"
        )


@pytest.fixture(scope="module")
def app() -> Iterator[Logged]:
    site = Logged()
    with serve_app(site.app) as url:
        site.url = url
        yield site


@pytest.fixture(scope="module")
def other() -> Iterator[Logged]:
    site = Logged()
    with serve_app(site.app) as url:
        site.url = url
        yield site


def go_direct(gate: Containment, url: str) -> None:
    """Chromium launched as the run launches it, but told to ignore the proxy."""
    options = gate.launch_options()
    options.pop("proxy")
    options["args"] = [*options["args"], "--proxy-server=direct://"]
    with sync_playwright() as playwright:
        browser = launch(playwright, **options)
        try:
            browser.new_page().goto(url, timeout=5_000)
        finally:
            browser.close()


@pytest.mark.parametrize("strict", [False, pytest.param(True, marks=needs_netns)])
def test_a_direct_connection_past_the_proxy_reaches_nothing_in_strict_mode(
    strict: bool, app: Logged, other: Logged
) -> None:
    other.log.clear()
    gate = Containment(
        policy=default_policy(), declared_hosts=[app.url.removeprefix("http://")], routes=(),
        writes=UnattendedWrites.POLICY, record=None, strict=strict,
    )  # fmt: skip
    gate.start()
    try:
        if strict:
            with pytest.raises(PlaywrightError, match="ERR_CONNECTION_REFUSED"):
                go_direct(gate, other.url + "/collect")
            assert other.log == []
        else:  # the control: the proxy alone does not stop a browser that ignores it
            go_direct(gate, other.url + "/collect")
            assert "/collect" in other.log  # (the browser may ask for /favicon.ico too)
    finally:
        gate.close()


@needs_netns
def test_lam_run_in_strict_mode_loads_pages_and_says_so_in_its_record(
    app: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAM_EGRESS", "strict")
    plan: dict[str, Any] = {"lam": 1, "name": "strict", "apps": {"here": {"url": app.url + "/"}},
                            "steps": [{"id": "open", "goto": "here:/page", "expect": {"text": "here"}}]}  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    code = main(["run", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    browser = next(
        e for e in read_trace(Path(result["record"]) / "trace.jsonl") if e["type"] == "browser"
    )
    assert browser["containment"]["mode"] == "proxy+netns"


def test_the_containment_mode_is_chosen_by_lam_egress() -> None:
    assert strict_wanted({"LAM_EGRESS": "proxy"}) is False
    assert strict_wanted({}) is strict_available()
    if strict_available():
        assert strict_wanted({"LAM_EGRESS": "strict"}) is True
    else:
        with pytest.raises(EgressError):
            strict_wanted({"LAM_EGRESS": "strict"})
