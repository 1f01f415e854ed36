"""A dry run's answer to a page's requests (the sandbox's
:class:`~lam.runtime.mode.RequestHandling`): nothing state-changing reaches the app.

Each state-changing request the network guard sees is held, logged as an
:class:`~lam.runtime.effects.Effect` and answered by the sandbox simulator of the app's API (for URLs
under that API), or by a synthetic response otherwise. Sign-in requests pass through so the dry
run goes on as the signed-in user. Reads under a simulated API are answered by the simulator
(which reads live data and merges in its own changes); other reads go on in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

from lam.egress.decide import ApiRoute, Outgoing
from lam.policy import url_host
from lam.risk.http import url_classification
from lam.runtime.effects import Effect
from lam.runtime.sign_in import PASSED_LIVE, spec_sign_in
from lam.sandbox.simulator import SimRequest
from lam.spec import Operation
from lam.types import Risk

if TYPE_CHECKING:
    from playwright.sync_api import Request, Route

    from lam.runtime.network_guard import NetworkGuard

__all__ = ["HeldRequests"]


class HeldRequests:
    """Holds what a page sends that would change something; answers it from the sandbox."""

    def read(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None,
    ) -> None:  # fmt: skip
        if api_route is not None and api_route.simulator is not None:
            _simulate(route, seen, api_route)
        else:
            net.continue_granted(route, request, seen)

    def sends_changes(self) -> bool:
        return False  # held, never sent: a redirect into a change is not followed either

    def change(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None, verdict: tuple[str, str],
    ) -> None:  # fmt: skip
        state = net.state
        op = _operation(seen, api_route)
        risk, said = verdict
        why = _signs_in(net, seen, op, api_route, Risk(risk))
        if why is not None:  # listed in the effects and the record as sent live
            state.record.event(
                "passthrough", step=net.step, method=seen.method, url=seen.url,
                reason=f"sign-in ({why}): the dry run goes on as the signed-in user",
            )  # fmt: skip
            state.mode.effects.add(Effect(
                net.step, seen.method, seen.url, "(credentials not recorded)", risk, said,
                PASSED_LIVE,
            ))  # fmt: skip
            net.send_checked(route, seen)
            return
        simulated = api_route is not None and api_route.simulator is not None
        answered_by = "simulator" if simulated else "synthetic"
        state.mode.effects.add(
            Effect(net.step, seen.method, seen.url, seen.body, risk, said, answered_by)
        )
        if api_route is not None and api_route.simulator is not None:
            _simulate(route, seen, api_route)
            return
        state.record.event(
            "note", step=net.step,
            message=f"{seen.method} {seen.url} was held and answered by a synthetic response: "
            "the page after this point is not the one the app would show",
        )  # fmt: skip
        if seen.form or request.is_navigation_request():
            back = urljoin(seen.url, request.headers.get("referer") or request.frame.url or "/")
            if seen.form and _safe_to_follow(net, back) and back.split("#")[0] != seen.url:
                route.fulfill(status=303, headers={"location": back}, body="")
            else:  # a 303 is followed unrouted, and a page that reloads may loop: stay put
                route.fulfill(status=204, body="")
        else:
            route.fulfill(status=200, content_type="application/json", body="{}")


def _operation(seen: Outgoing, api_route: ApiRoute | None) -> Operation | None:
    if api_route is None:
        return None
    found = api_route.spec.match(seen.method, urlsplit(seen.url).path)
    return found[0] if found else None


def _safe_to_follow(net: NetworkGuard, url: str) -> bool:
    """Whether the browser may go to ``url`` unrouted: a read on one of the plan's hosts."""
    guard = net.state.guard
    return guard.policy.host_allowed(url_host(url), guard.declared_hosts) and (
        url_classification("GET", url).risk is Risk.READ
    )


def _signs_in(
    net: NetworkGuard, seen: Outgoing, op: Operation | None, api_route: ApiRoute | None, risk: Risk
) -> str | None:
    """Why a held request may go live as a sign-in (:mod:`lam.runtime.sign_in`), or None: never
    a destructive one, never for a word in its path."""
    if seen.method != "POST" or risk.rank > Risk.WRITE.rank:
        return None
    if api_route is not None:
        return spec_sign_in(api_route.spec, op, seen.url, risk)
    form = (net.step, seen.url.split("#", 1)[0])
    if form in net.sign_in_forms:
        net.sign_in_forms.discard(form)  # once: the form's own submission
        return "the credentials form this step submitted"
    return None


def _simulate(route: Route, seen: Outgoing, api_route: ApiRoute) -> None:
    assert api_route.simulator is not None
    parts = urlsplit(seen.url)
    answer = api_route.simulator.handle(
        SimRequest(
            method=seen.method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(_headers_of(route.request)),
            body=seen.raw,
        )
    )
    route.fulfill(status=answer.status, headers=dict(answer.headers), body=answer.body)


def _headers_of(request: Request) -> Mapping[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}
