"""What the page says it sent: state-changing requests its renderer announced, until the
network guard has seen each (or the browser ended it unseen).

A click's ``fetch()`` reaches the guard's route handler on one path (renderer, network
service, interception, Playwright) and the page's own events on another; on a loaded machine
the first can lag the second by far more than a quiet page's settle allows, so a refusal
landed after its step had been reported ``ok``. The renderer announces each request it starts
(CDP ``Network.requestWillBeSent``) on a DevTools session of lam's own, and the settle's
round trip into the page travels on that same session (:meth:`Announcements.round_trip`): one
channel, in order, so once the round trip is back every request the page had started by then
is known here. :meth:`NetworkGuard.settle <lam.runtime.network_guard.NetworkGuard.settle>`
then waits until the route handler has seen every state-changing one.

This decides when a step's requests are judged, never whether: every request still passes
the route handler and the guard proxy whatever is (or is not) announced here. A page that
sends from a worker or another process is not seen here; its requests are still judged, and
a refusal that comes late stops the next step or the end of the run, as before.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from playwright.sync_api import CDPSession, Page, Request

from lam.egress.decide import changes_state

__all__ = ["Announcements"]

_CREDIT_S = 5.0  # a route seen before its announcement counts for that long


def _key(method: str, url: str) -> tuple[str, str]:
    return method.upper(), url.split("#", 1)[0]


class Announcements:
    """The state-changing requests one page's renderer started that the guard has not yet
    seen. Event handlers run on the thread that drives Playwright, as the guard's do."""

    def __init__(self, page: Page, session: CDPSession) -> None:
        self.page = page
        self._session = session
        self._open: dict[str, tuple[str, str]] = {}  # CDP request id -> (method, url)
        self._credits: Counter[tuple[str, str]] = Counter()  # routed before announced
        self._credited_at: dict[tuple[str, str], float] = {}

    @classmethod
    def watch(cls, page: Page) -> Announcements | None:
        """Start listening to ``page``'s renderer; None where the browser has no DevTools
        protocol to offer (the guard then settles as it would without)."""
        try:
            session = page.context.new_cdp_session(page)
        except Exception:  # not Chromium, or the page is gone
            return None
        found = cls(page, session)
        session.on("Network.requestWillBeSent", found._will_be_sent)
        session.on("Network.loadingFinished", found._ended)
        session.on("Network.loadingFailed", found._ended)
        try:
            # this session reads no bodies: keep none for it (Playwright's own session does)
            session.send("Network.enable", {"maxTotalBufferSize": 1, "maxResourceBufferSize": 1})
        except Exception:
            return None
        return found

    def pending(self) -> int:
        """How many announced state-changing requests no route has seen and the browser has
        not ended."""
        return len(self._open)

    def routed(self, request: Request) -> None:
        """The route handler has ``request``: it is no longer pending (called for the page's
        own requests only)."""
        key = _key(request.method, request.url)
        for request_id, announced in self._open.items():
            if announced == key:
                del self._open[request_id]
                return
        # the announcement is still on its way: count it against the next one with this key
        if changes_state(*key):
            self._credits[key] += 1
            self._credited_at[key] = time.monotonic()

    def round_trip(self, expression: str) -> None:
        """Evaluate ``expression`` (a function returning a promise) in the page on this
        session, awaiting it: the announcements the renderer sent before the answer are in."""
        self._session.send(
            "Runtime.evaluate",
            {"expression": f"({expression})()", "awaitPromise": True, "returnByValue": True},
        )

    def _will_be_sent(self, event: dict[str, Any]) -> None:
        if event.get("redirectResponse"):  # a hop of a redirect: judged where hops are
            return
        request = event.get("request") or {}
        method, url = str(request.get("method", "")), str(request.get("url", ""))
        if not url.startswith(("http://", "https://")):
            return
        key = _key(method, url)
        if not changes_state(*key):
            return
        if self._credits[key] > 0:
            if time.monotonic() - self._credited_at.get(key, 0.0) <= _CREDIT_S:
                self._credits[key] -= 1
                return
            del self._credits[key]
        self._open[str(event.get("requestId"))] = key

    def _ended(self, event: dict[str, Any]) -> None:
        # ended without passing a route (served from a cache, refused by CORS, cancelled)
        self._open.pop(str(event.get("requestId")), None)
