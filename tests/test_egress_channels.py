"""Channels that Playwright's routes never see, against the run's guard proxy.

A logging app on 127.0.0.1 serves hostile pages; each test runs ``lam run`` and ``lam dry-run``
on them and reads from the app's own log what reached it. A control test drives a plain Chromium
(no proxy, no lam) at the same page, so each attack is shown to work where nothing contains it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from lam.adapters.browser import BrowserSession, find_chromium
from lam.cli.main import main
from lam.runtime.record import read_trace

PAGES = Path(__file__).parent / "pages" / "egress"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


class Logging:
    """Pages under /pages/; every other request answers 200 and is logged with its headers."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.url = ""
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
        self.app = Starlette(
            routes=[
                Route("/pages/{name}", self.page),
                Route("/{path:path}", self.anything, methods=methods),
            ]
        )

    async def page(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path, dict(request.headers)))
        name = request.path_params["name"]
        media = "text/javascript" if name.endswith(".js") else "text/html"
        return FileResponse(PAGES / name, media_type=media)

    async def anything(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path, dict(request.headers)))
        return JSONResponse({})

    def reached(self) -> list[tuple[str, str]]:
        """Requests other than the pages and the browser's icon."""
        return [
            (m, p) for m, p, _ in self.log if not p.startswith("/pages/") and p != "/favicon.ico"
        ]


@pytest.fixture(scope="module")
def app() -> Iterator[Logging]:
    site = Logging()
    with serve_app(site.app) as url:
        site.url = url
        yield site


@pytest.fixture(scope="module")
def bystander() -> Iterator[Logging]:
    """Another service on the same machine, on a port the plan does not declare."""
    other = Logging()
    with serve_app(other.app) as url:
        other.url = url
        yield other


@pytest.fixture
def site(app: Logging) -> Logging:
    app.log.clear()
    return app


def plan_file(tmp: Path, url: str, steps: list[dict[str, Any]]) -> Path:
    plan = {"lam": 1, "name": "egress", "apps": {"evil": {"url": url + "/"}}, "steps": steps}
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def events(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in read_trace(Path(result["record"]) / "trace.jsonl") if e["type"] == kind]


def click_save(page: str) -> list[dict[str, Any]]:
    return [
        {"id": "open", "goto": f"evil:/pages/{page}"},
        {"id": "save", "click": {"role": "button", "name": "Save"}},
        {"id": "linger", "wait": 800},  # a worker's request may come after the click settled
    ]


def plain_chromium(url: str, *, linger_ms: int = 1500, click: bool = False) -> None:
    """The control: a plain Chromium opens ``url`` (no proxy, no routes, no lam)."""
    with BrowserSession(timeout_ms=5_000) as session:
        page = session.page
        page.goto(url)
        if click:
            page.get_by_role("button", name="Save").click()
        page.wait_for_timeout(linger_ms)


# -- workers the routes never see ---------------------------------------------------------------

WORKER_PAGES = {
    "shared_worker.html": ("DELETE", "/items/6"),
    "blob_worker.html": ("DELETE", "/items/7"),
}


@pytest.mark.parametrize("page", sorted(WORKER_PAGES))
def test_control_a_shared_worker_sends_delete_when_nothing_contains_it(
    page: str, site: Logging
) -> None:
    plain_chromium(f"{site.url}/pages/{page}", click=True)
    assert WORKER_PAGES[page] in site.reached()


@pytest.mark.parametrize("mode", ["run", "dry-run"])
@pytest.mark.parametrize("page", sorted(WORKER_PAGES))
def test_a_shared_worker_delete_is_refused_by_the_proxy(
    page: str, mode: str, site: Logging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run(capsys, mode, str(plan_file(tmp_path, site.url, click_save(page))))
    assert site.reached() == []
    method, path = WORKER_PAGES[page]
    refused = [e for e in events(result, "egress") if e["verdict"] == "deny"]
    assert any(e["action"] == f"{method} {site.url}{path}" for e in refused), result
    if mode == "run":
        assert code == 3, result
        assert "no route saw" in json.dumps(result["results"])
    else:
        assert code == 0, result
        denied = [e for e in events(result, "guard") if e["verdict"] == "deny"]
        assert any(path in e["action"] for e in denied)


def test_a_grant_the_page_makes_up_is_worth_nothing(
    site: Logging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run(
        capsys, "run", str(plan_file(tmp_path, site.url, click_save("forged_grant.html")))
    )
    assert site.reached() == []
    assert code == 3, result


def test_no_grant_reaches_a_server(
    site: Logging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [{"id": "open", "goto": "evil:/pages/speculation.html"},
             {"id": "post", "goto": "evil:/pages/shared_worker.html"}]  # fmt: skip
    code, _ = run(capsys, "run", str(plan_file(tmp_path, site.url, steps)))
    assert code in (0, 3)
    assert site.log, "the pages were served"
    assert all("x-lam-grant" not in headers for _, _, headers in site.log)


# -- speculation rules, prefetch, prerender, preconnect -----------------------------------------


@pytest.mark.parametrize("mode", ["run", "dry-run"])
def test_speculation_rules_cannot_fetch_a_destructive_url(
    mode: str, site: Logging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [{"id": "open", "goto": "evil:/pages/speculation.html"}, {"id": "linger", "wait": 1500}]
    code, result = run(capsys, mode, str(plan_file(tmp_path, site.url, steps)))
    assert [p for _, p in site.reached() if "/items/" in p] == []
    assert code in (0, 3), result  # 3 when Chromium tried (the proxy refused), else 0


@pytest.mark.parametrize("mode", ["run", "dry-run"])
def test_a_prefetch_cannot_carry_a_secret_to_another_port(
    mode: str,
    site: Logging,
    bystander: Logging,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bystander.log.clear()
    port = bystander.url.rsplit(":", 1)[1]
    steps: list[dict[str, Any]] = [{"id": "open", "goto": f"evil:/pages/other_port_prefetch.html?port={port}"},
             {"id": "linger", "wait": 1500}]  # fmt: skip
    code, result = run(capsys, mode, str(plan_file(tmp_path, site.url, steps)))
    assert bystander.log == []
    assert code == 0, result  # a page's own read outside the plan: refused, noted, run goes on


def test_control_a_prefetch_reaches_another_port_when_nothing_contains_it(
    site: Logging, bystander: Logging
) -> None:
    bystander.log.clear()
    port = bystander.url.rsplit(":", 1)[1]
    plain_chromium(f"{site.url}/pages/other_port_prefetch.html?port={port}")
    assert bystander.log != []


# -- WebRTC: UDP straight to a port ---------------------------------------------------------------


class UdpListener:
    """A UDP socket on 127.0.0.1 that counts the datagrams it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.packets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recvfrom(4096)
                self.packets += 1
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def udp() -> Iterator[UdpListener]:
    listener = UdpListener()
    yield listener
    listener.close()


def test_control_webrtc_sends_stun_when_nothing_contains_it(
    site: Logging, udp: UdpListener
) -> None:
    plain_chromium(f"{site.url}/pages/webrtc.html?port={udp.port}", linger_ms=2000)
    assert udp.packets > 0


@pytest.mark.parametrize("mode", ["run", "dry-run"])
def test_webrtc_cannot_send_udp_past_the_proxy(
    mode: str, site: Logging, udp: UdpListener, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [{"id": "open", "goto": f"evil:/pages/webrtc.html?port={udp.port}"},
             {"id": "linger", "wait": 2000}]  # fmt: skip
    code, result = run(capsys, mode, str(plan_file(tmp_path, site.url, steps)))
    time.sleep(0.2)
    assert udp.packets == 0
    assert code == 0, result


# -- bad input from a page: a flood of connections ------------------------------------------------


@pytest.mark.parametrize("mode", ["run", "dry-run"])
def test_a_page_opening_thousands_of_connections_ends_cleanly(
    mode: str, site: Logging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [{"id": "open", "goto": "evil:/pages/flood.html"}, {"id": "linger", "wait": 3000},
             {"id": "after", "goto": "evil:/pages/calm.html", "expect": {"text": "Still here"}}]  # fmt: skip
    started = time.monotonic()
    code, result = run(capsys, mode, str(plan_file(tmp_path, site.url, steps)))
    assert code == 0, result  # reads on the plan's own host: allowed; the run goes on
    assert time.monotonic() - started < 90
    assert [s["status"] for s in result["results"]] == ["ok", "ok", "ok"]
    assert sum(1 for _, p in site.reached() if p.startswith(("/n/", "/w/"))) > 100
