"""What the page says it sent (lam.runtime.announced): a state-changing request the renderer
started stays pending until a route has it or the browser ends it, and a settle waits for it.

The route is held by the test (a page route that answers later), so "the guard has not seen
it yet" is a fact of the test, not a race with a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, sync_playwright
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route as Path

from lam.adapters.browser import find_chromium
from lam.runtime.announced import Announcements

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

PAGE = """<!doctype html><title>Edit</title>
<button id="save" onclick="fetch('/api/pets/1', {method: 'DELETE'})">Save</button>
<button id="read" onclick="fetch('/api/pets')">Read</button>
<button id="cancel" onclick="window.c = new AbortController();
  fetch('/api/pets/2', {method: 'DELETE', signal: window.c.signal}).catch(() => {})">Cancel</button>
<button id="abort" onclick="window.c.abort()">Abort</button>"""
ROUND_TRIP = "() => new Promise((done) => setTimeout(done, 0))"


async def _page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def _api(request: Request) -> Response:
    return JSONResponse({})


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    app = Starlette(
        routes=[Path("/", _page), Path("/api/{rest:path}", _api, methods=["GET", "DELETE"])]
    )
    with serve_app(app) as url:
        yield url


@pytest.fixture
def page(site: str) -> Iterator[tuple[Page, Announcements, list[Route]]]:
    held: list[Route] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium())
        context = browser.new_context()
        page = context.new_page()
        page.route("**/api/**", lambda route: held.append(route))  # held: no route has it yet
        announced = Announcements.watch(page)
        assert announced is not None
        page.goto(site)
        yield page, announced, held
        browser.close()


def _click_and_round_trip(page: Page, announced: Announcements, button: str) -> None:
    page.click(f"#{button}")
    announced.round_trip(ROUND_TRIP)


def test_a_delete_the_page_started_is_pending_until_a_route_has_it(
    page: tuple[Page, Announcements, list[Route]],
) -> None:
    tab, announced, held = page
    _click_and_round_trip(tab, announced, "save")
    assert announced.pending() == 1  # announced on the round trip's channel, before its answer
    deadline = time.monotonic() + 5
    while not held and time.monotonic() < deadline:
        tab.wait_for_timeout(10)
    announced.routed(held[0].request)
    assert announced.pending() == 0


def test_a_read_is_not_awaited(page: tuple[Page, Announcements, list[Route]]) -> None:
    tab, announced, _ = page
    _click_and_round_trip(tab, announced, "read")
    assert announced.pending() == 0


def test_a_request_the_browser_ends_unrouted_is_no_longer_pending(
    page: tuple[Page, Announcements, list[Route]],
) -> None:
    tab, announced, _ = page
    _click_and_round_trip(tab, announced, "cancel")
    assert announced.pending() == 1
    tab.click("#abort")
    deadline = time.monotonic() + 5
    while announced.pending() and time.monotonic() < deadline:
        tab.wait_for_timeout(10)
    assert announced.pending() == 0  # the page aborted it: Network.loadingFailed


def test_a_route_seen_before_its_announcement_counts_against_it() -> None:
    class _Request:
        method, url = "DELETE", "http://127.0.0.1:1/api/pets/1#top"

    found = Announcements.__new__(Announcements)
    Announcements.__init__(found, page=None, session=None)  # type: ignore[arg-type]
    found.routed(_Request())  # type: ignore[arg-type]
    event: dict[str, Any] = {
        "requestId": "7",
        "request": {"method": "DELETE", "url": "http://127.0.0.1:1/api/pets/1"},
    }
    found._will_be_sent(event)
    assert found.pending() == 0
    found._will_be_sent({**event, "requestId": "8"})  # a second one, not routed yet
    assert found.pending() == 1
