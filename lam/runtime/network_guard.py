"""The network guard: every request a page sends passes here before it leaves the browser.

Installed with ``context.route("**/*", ...)`` on the run's browser context. A request to a host
outside the plan's apps and apis is aborted. A state-changing request (any method but
GET/HEAD/OPTIONS, or a GET whose URL says it destroys) is classified — through the app's API
spec when it has one — and checked by the guard for the step that is running: a Save click
cleared as a write does not let its page send a DELETE.

Route handlers run on the thread that drives Playwright, inside whatever call is waiting, so a
refusal cannot be raised through the action that caused it. The handler aborts the request and
keeps the refusal; the step asks for it (:meth:`NetworkGuard.take_refusal`) after the action
and after the page has settled, and raises it then.

What becomes of a request the guard lets through is the run mode's
(:class:`~lam.runtime.mode.RequestHandling`, from ``state.mode.requests``): a live run sends it on
(:meth:`NetworkGuard.continue_granted`, :meth:`NetworkGuard.send_checked`); a dry run holds
what would change something and answers it from the sandbox (:mod:`lam.runtime.held_requests`).

With a :class:`~lam.egress.containment.Containment` (every run lam starts has one) the routes
are where requests are attributed to steps, and the run's guard proxy is where they leave: each
request the handler lets go carries a grant the proxy checks, and whatever reaches the proxy
without one (a channel the routes never saw) is judged there on its own. The proxy's refusals
come back to the step through :meth:`NetworkGuard.take_refusal`.

What decides a step is what the step does: a request the page sends on its own (a tracking
pixel, a font or script from another host, while a page loads or between steps) that is refused
for its host alone is recorded and the run goes on; a navigation outside the plan, any request
while the step acts on the page (a click, a fill...), and anything destructive or
state-changing that is refused stop the step.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import BrowserContext, Page, Request, Route, WebSocketRoute

from lam.egress.containment import Containment, Unattended
from lam.egress.decide import ApiRoute, Outgoing, assess, changes_state, read_outgoing
from lam.errors import BlockedError
from lam.policy import ActionFacts, url_host
from lam.runtime.announced import Announcements
from lam.runtime.context import RunState
from lam.runtime.guard import GuardCheck
from lam.types import Classification, Decision, Risk, Verdict

__all__ = ["ApiRoute", "NetworkGuard"]

_GRACE_MS = 15
# the tasks the page had queued run, then a grace for the browser's events to land, in one
# round trip: the answer leaves the page _GRACE_MS after those tasks
_NEXT_TASK = f"() => new Promise((done) => setTimeout(() => setTimeout(done, {_GRACE_MS}), 0))"
_POLL_MS = 10
_MAX_LAG_S = 0.5  # the most settle waits again after a slow round trip


_Seen = Outgoing  # a request as the guard reads it (lam.egress.decide)


class NetworkGuard:
    """Routes one browser context's requests through the guard (see the module docstring)."""

    def __init__(
        self,
        state: RunState,
        routes: Sequence[ApiRoute],
        *,
        settle_ms: int = 200,
        containment: Containment | None = None,
    ) -> None:
        self.state = state
        self.containment = containment
        self.acting = False  # the running step acts on the page (see begin())
        self.routes = tuple(routes)
        self.requests = state.mode.requests  # what becomes of what the guard lets through
        self.settle_ms = settle_ms
        self.step = ""
        # (step, action URL) of credentials forms a step's click submits (lam.runtime.sign_in)
        self.sign_in_forms: set[tuple[str, str]] = set()
        self._refusals: list[BlockedError] = []
        self._in_flight = 0
        self._started_count = 0  # requests seen since the guard was attached
        self._last_activity = time.monotonic()
        # reads let go in the browser (continue_): their first redirect hop is checked as the
        # browser sends it (see _started), the proxy holding the line before it leaves
        self._continued: weakref.WeakSet[Request] = weakref.WeakSet()
        self._announced: Announcements | None = None  # the page's own word on what it sent

    def attach(self, context: BrowserContext) -> None:
        """Route every request of ``context`` through :meth:`handle`; track requests in flight."""
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)
        context.route("**/*", self.handle)
        context.route_web_socket("**/*", self.handle_socket)

    def begin(self, step: str, *, acting: bool = False) -> None:
        """Requests from now on belong to ``step``; ``acting``: it acts on the page (a click, a
        fill...), so whatever the page sends from now on is its doing."""
        self.step = step
        self.acting = acting

    def watch(self, page: Page) -> None:
        """Listen to what ``page`` announces it sends (:mod:`lam.runtime.announced`), so a
        settle waits for the route handler to have seen it; once per page."""
        if self._announced is None or self._announced.page is not page:
            self._announced = Announcements.watch(page)

    def where(self) -> tuple[str, bool]:
        """The running step and whether it acts on the page (asked from the proxy's thread)."""
        return self.step, self.acting

    def take_refusal(self) -> BlockedError | None:
        """The first refusal since the last call, if any (later ones are in the trace),
        including the guard proxy's refusals of requests no route saw."""
        if self.containment is not None:
            for unattended in self.containment.take():
                self._proxy_refused(unattended)
        if not self._refusals:
            return None
        first = self._refusals[0]
        self._refusals.clear()
        return first

    def _proxy_refused(self, found: Unattended) -> None:
        """A request the proxy refused (it never left): unless only its host was wrong (see
        below), log it with the guard's decisions and have the guard refuse it for the step
        (a live run's guard stops the step; a dry run's records it)."""
        refusal = found.refusal
        # No route saw it, so no step is known to have sent it: Chromium's own traffic and a
        # page's side channels look alike here. A request refused for its host alone left
        # nothing behind: a note. Anything destructive, a navigation, or a state change to one
        # of the plan's own hosts stops the step.
        incidental = not (
            refusal.destructive or refusal.navigation or (refusal.changing and not refusal.off_plan)
        )
        if incidental:
            return  # the proxy's own "egress" event is its record
        summary = f"{refusal.method} {refusal.url} (by a channel no route saw)"
        risk = (
            Risk.DESTRUCTIVE
            if refusal.destructive
            else Risk.WRITE
            if refusal.changing
            else Risk.READ
        )
        check = GuardCheck(
            step=found.step,
            origin="request",
            facts=ActionFacts(
                kind="request",
                risk=risk,
                method=refusal.method,
                host=url_host(refusal.url) or None,
                ui_text=None,
            ),
            classification=Classification(risk, ()),
            summary=summary,
            detail={"by": "proxy"},
        )
        decision = Decision(Verdict.DENY, refusal.reasons)
        self.state.guard.decisions.append((check, decision))
        self.state.record.event(
            "guard", step=found.step, origin="request", action=summary, risk=risk.value,
            reasons=[], verdict="deny", verdict_reasons=list(refusal.reasons),
            detail={"by": "proxy"},
        )  # fmt: skip
        try:
            self.state.guard.refuse(replace(check, step=found.step or self.step), decision)
        except BlockedError as refused:
            self._refusals.append(refused)

    def mark(self) -> int:
        """A mark to pass to :meth:`settle`: taken just before an action."""
        return self._started_count

    def settle(self, page: Any, *, limit_ms: float = 3_000, since: int | None = None) -> None:
        """Return once the page is quiet, letting the route handler see what the last action
        sent (at most ``limit_ms``).

        Quiet means: nothing in flight, then one round trip into the page (the tasks the page
        had queued run: a click handler's ``fetch``, a form's submit, a response handler's next
        request) and a short grace for the browser's events to land, and still nothing new.
        With ``since`` (a :meth:`mark` taken before the action) a page that sent nothing is
        quiet after one such check; without it the page must also have been idle for
        ``settle_ms``.
        """
        deadline = time.monotonic() + limit_ms / 1000
        idle = self.settle_ms / 1000 if since is None else 0.0
        announced = self._announced if self._announced and self._announced.page is page else None
        while time.monotonic() < deadline:
            unseen = announced.pending() if announced else 0
            if self._in_flight > 0 or unseen or time.monotonic() - self._last_activity < idle:
                page.wait_for_timeout(_POLL_MS)
                continue
            seen = self._started_count
            began = time.monotonic()
            try:
                if announced is not None:  # on the channel the page's announcements take
                    announced.round_trip(_NEXT_TASK)
                else:
                    page.evaluate(_NEXT_TASK)
            except Exception:  # a page navigating away has no context: wait out the grace
                page.wait_for_timeout(_GRACE_MS)
            # On a loaded machine the browser's request events reach us late, as late as the
            # round trip was slow: after a slow one, wait as long again before calling it quiet.
            lag = time.monotonic() - began - _GRACE_MS / 1000
            if lag > _GRACE_MS / 1000:
                page.wait_for_timeout(min(lag, _MAX_LAG_S) * 1000)
            unseen = announced.pending() if announced else 0
            if self._started_count == seen and self._in_flight <= 0 and not unseen:
                return
        if announced is not None and announced.pending():
            self.state.record.event(
                "note", step=self.step,
                message=f"{announced.pending()} state-changing request(s) the page started were "
                f"not yet at the guard after {limit_ms:.0f} ms; each is judged when it arrives",
            )  # fmt: skip

    def _started(self, request: Request) -> None:
        earlier = request.redirected_from
        if earlier is not None and earlier.redirected_from is not None:
            self._late_hop(request)  # the second hop on: no route saw it (see send_checked)
        elif earlier is not None and earlier in self._continued:
            self._first_hop(request)  # a read's redirect (see continue_granted)
        self._in_flight += 1
        self._started_count += 1
        self._last_activity = time.monotonic()

    def _late_hop(self, request: Request) -> None:
        try:
            hop, refused = _read(request), len(self._refusals)
            # a hop the guard did not refuse itself (a dry run's) still may not go: say so
            if not self._hop_allowed(hop) and len(self._refusals) == refused:
                self._refusals.append(
                    BlockedError(
                        f"{hop.method} {hop.url}: a redirect chain reached it unchecked",
                        step=self.step,
                        steps=[self.step],
                        code="redirect",
                    )
                )
        except Exception as exc:  # an event handler must not raise into Playwright
            self.state.record.event("warning", step=self.step, message=f"redirect: {exc}")

    def _first_hop(self, request: Request) -> None:
        """The first redirect hop of a read let go in the browser: the guard judges it for the
        step (recorded; refused, it stops a live step) while the proxy, which it reaches without
        a grant, refuses it before it leaves (:func:`lam.egress.decide.judge_unattended`)."""
        try:
            self._hop_allowed(_read(request))
        except Exception as exc:  # an event handler must not raise into Playwright
            self.state.record.event("warning", step=self.step, message=f"redirect: {exc}")

    def _ended(self, _: Request) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._last_activity = time.monotonic()

    # -- the route handler -------------------------------------------------------------------

    def handle(self, route: Route, request: Request) -> None:
        """Refuse a request, or hand it to the mode's request handling (sent on, or held and
        answered from the sandbox)."""
        try:
            self._handle(route, request)
        except Exception as exc:  # a handler must answer every request, or the page hangs
            self.state.record.event(
                "warning", step=self.step, message=f"network guard: {request.url}: {exc}"
            )
            _abort(route)  # whatever failed, nothing more of this request leaves
            if self._on_its_own(request):
                self.state.record.event(
                    "note", step=self.step,
                    message=f"{request.method} {request.url} failed and was dropped; the page "
                    "sent it on its own (a read, while no step acted on the page), so the run "
                    "goes on",
                )  # fmt: skip
                return
            self._refusals.append(
                BlockedError(
                    f"{request.method} {request.url}: the network guard failed ({exc})",
                    step=self.step,
                    steps=[self.step],
                    code="network-guard",
                )
            )

    def _arrived(self, request: Request) -> None:
        """A state-changing request of the watched page is here: no longer awaited."""
        announced = self._announced
        if announced is None:
            return
        try:
            from_page = request.frame.page is announced.page
        except Exception:  # a worker's request has no frame
            return
        if from_page:
            announced.routed(request)

    def _on_its_own(self, request: Request) -> bool:
        """A read the page sent on its own: not a navigation, not while a step acts on it."""
        try:
            return (
                request.method in ("GET", "HEAD")
                and not self.acting
                and not request.is_navigation_request()
            )
        except Exception:  # a request whose frame is gone: count it as the step's
            return False

    def handle_socket(self, socket: WebSocketRoute) -> None:
        """A WebSocket may open to the plan's hosts only; its messages are not classified."""
        host = url_host(socket.url)
        if self.state.guard.policy.host_allowed(host, self.state.guard.declared_hosts):
            socket.connect_to_server()
            return
        seen = _Seen("GET", socket.url, host, None, b"", False)
        self._check(seen, None)  # denied: the host is outside the plan
        with contextlib.suppress(Exception):
            socket.close(code=1008, reason="blocked by lam: host outside the plan")

    def _handle(self, route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            route.continue_()
            return
        seen = _read(request)
        api_route = next((r for r in self.routes if r.covers(seen.url)), None)
        changing = changes_state(seen.method, seen.url)
        if changing:
            self._arrived(request)
        allowed_host = self.state.guard.policy.host_allowed(
            seen.host, self.state.guard.declared_hosts
        )
        verdict: tuple[str, str] | None = None
        if not allowed_host or changing:
            # what the page sends on its own (not a navigation, not while the step acts on the
            # page) to a host outside the plan: refused, recorded, and the run goes on
            incidental = not (self.acting or request.is_navigation_request())
            verdict = self._check(seen, api_route, incidental=incidental)
            if verdict is None or not allowed_host:  # a dry run lets it pass; it never leaves
                _abort(route)
                return
        if not changing:
            self.requests.read(self, route, request, seen, api_route)
            return
        assert verdict is not None
        self.requests.change(self, route, request, seen, api_route, verdict)

    def continue_granted(self, route: Route, request: Request, seen: _Seen) -> None:
        """Let a read on the plan's hosts go on in the browser, with a grant for exactly it.

        A read's redirect is a read too (301/302/303 turn anything into a GET, 307/308 keep
        the GET or HEAD), and its hops reach the guard proxy without a grant: the proxy judges
        each on its own before it leaves (a host outside the plan, a destructive or, in a dry
        run, any state-changing URL is refused there), and :meth:`_started` has the guard judge
        the first hop for the step as well. Sending it on here rather than through
        :meth:`send_checked` spares a proxy tunnel and a copy of the response per request.
        """
        if self.containment is None:  # no proxy to hold the redirect line: check it here
            self.send_checked(route, seen)
            return
        headers = self.containment.grant_headers(
            dict(request.headers), request.method, request.url, request.post_data_buffer
        )
        self._continued.add(request)
        route.continue_(headers=headers)

    def send_checked(self, route: Route, seen: _Seen) -> None:
        """Send a request on, checking where a redirect would take it before the browser goes.

        Playwright routes only the first URL of a redirect chain: after ``continue_()``
        Chromium follows the redirects unseen, so a 307 from an allowed URL could re-send a POST
        to a delete URL, and a 302 could carry a read to a host outside the plan. The request is
        sent here without following redirects; the next hop is checked like a request of its
        own and, refused, the request is aborted. Hops after that one reach the egress proxy
        without a grant, which judges them before they leave (and :meth:`_started` stops the
        run for them).
        """
        sent = route.request
        headers = None
        if self.containment is not None:  # the proxy lets it out on this grant alone
            headers = self.containment.grant_headers(
                dict(sent.headers), sent.method, sent.url, sent.post_data_buffer
            )
        response = route.fetch(max_redirects=0, headers=headers)
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location:
            hop = _next_hop(seen, response.status, location)
            if not self._hop_allowed(hop):
                _abort(route)
                return
        route.fulfill(response=response)

    def _hop_allowed(self, hop: _Seen) -> bool:
        """Whether the guard lets a redirect's next hop go (a state change only where the
        mode sends changes: not in a dry run)."""
        guard = self.state.guard
        allowed_host = guard.policy.host_allowed(hop.host, guard.declared_hosts)
        changing = changes_state(hop.method, hop.url)
        if allowed_host and not changing:
            return True
        api_route = next((r for r in self.routes if r.covers(hop.url)), None)
        verdict = self._check(hop, api_route, via="redirect")
        return verdict is not None and allowed_host and self.requests.sends_changes()

    def _check(
        self,
        seen: _Seen,
        api_route: ApiRoute | None,
        *,
        via: str = "",
        incidental: bool = False,
    ) -> tuple[str, str] | None:
        """Ask the guard: (risk, verdict), or None when it refused (kept for the step, unless
        ``incidental``, not destructive and refused for its host: then only recorded)."""
        guard = self.state.guard
        found = assess(seen, self.routes, guard.policy, guard.declared_hosts)
        classification = found.classification
        check = GuardCheck(
            step=self.step,
            origin="request",
            facts=found.facts,
            classification=classification,
            summary=f"{seen.method} {seen.url}" + (f" (by {via})" if via else ""),
            detail={"body": seen.body},
        )
        try:
            decision = guard.check(check)
        except BlockedError as refusal:
            if (
                incidental
                and not found.allowed_host
                and classification.risk is not Risk.DESTRUCTIVE
            ):
                self.state.record.event(
                    "note", step=self.step,
                    message=f"{check.summary} was refused (host outside the plan); the page "
                    "sent it on its own, so the run goes on",
                )  # fmt: skip
                return None
            self._refusals.append(refusal)
            return None
        return classification.risk.value, decision.verdict.value


def _read(request: Request) -> _Seen:
    raw = request.post_data_buffer or b""
    return read_outgoing(request.method, request.url, request.headers, raw)


def _next_hop(seen: _Seen, status: int, location: str) -> _Seen:
    """The request a browser sends after a redirect: 307/308 keep the method and body,
    301/302/303 turn it into a GET (HEAD stays HEAD)."""
    url = urljoin(seen.url, location)
    if status in (307, 308):
        return _Seen(seen.method, url, url_host(url), seen.body, seen.raw, seen.form)
    method = "HEAD" if seen.method == "HEAD" else "GET"
    return _Seen(method, url, url_host(url), None, b"", False)


def _abort(route: Route) -> None:
    with contextlib.suppress(Exception):  # the page may already be gone
        route.abort("blockedbyclient")
