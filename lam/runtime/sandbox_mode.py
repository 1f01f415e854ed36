"""The sandbox: a dry run's mode (:class:`lam.runtime.mode.RunMode`).

Nothing state-changing reaches a live system. Each API of the plan gets one simulator
(:mod:`lam.sandbox.simulator`), built here and only here, shared by the plan's API steps (as
their httpx transport) and by its pages (the network guard answers their requests from it), so
what an API step creates, the pages show. Reads go live: pages load, and a simulator behind an
app reads live lists and items through a :class:`LiveReader`, merging in its own changes.
Signing in goes live too (:mod:`lam.runtime.sign_in`): the run goes on as the signed-in user. Every
state-changing request is held and logged as an :class:`~lam.runtime.effects.Effect`; the guard
(:class:`~lam.runtime.guard.DryRunGuard`) records each verdict and lets the sandbox answer.

``reads="live"`` (``lam dry-run --reads live``) reads live for the plan's API steps too: every
simulator is a copy-on-write :class:`~lam.sandbox.overlay.Overlay` over the live API, each live
read allowed by the operator's policy first, and each held write gets a change-plan entry
(:mod:`lam.runtime.change_plan`). Without it, what an API step reads is invented and labelled
"assumed".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from lam.egress.decide import UnattendedWrites
from lam.plans import Plan
from lam.policy import ActionFacts, Policy, url_host
from lam.runtime.api_step import PASSED_THROUGH
from lam.runtime.change_plan import attach, counts
from lam.runtime.effects import EffectLog
from lam.runtime.guard import DryRunGuard, Guard, GuardCheck, Prompt
from lam.runtime.held_requests import HeldRequests
from lam.runtime.mode import EffectSink, ModeName, RequestHandling
from lam.runtime.record import RunRecord
from lam.runtime.sign_in import api_sign_in, read_stays_read
from lam.sandbox.overlay import Change, Overlay
from lam.sandbox.simulator import SimRequest, SimResponse, Simulator
from lam.sandbox.transport import SimulatorTransport
from lam.types import Classification, Risk, Verdict
from lam.validation import ValidationReport

__all__ = ["PLACEHOLDER", "LiveReader", "Reads", "SandboxMode", "SignInPassThrough"]

Reads = Literal["sandbox", "live"]
"""Where a dry run's API steps read: the sandbox's inventions, or the live API."""

PLACEHOLDER = "lam-dry-run-placeholder-{name}"
"""What stands in for a secret that is not set: a dry run sends no secret anywhere."""

_FORWARDED = ("authorization", "accept", "cookie")


class SandboxMode:
    """A dry run (see the module docstring)."""

    name = ModeName.DRY_RUN
    egress = UnattendedWrites.REFUSED

    def __init__(self, *, seed: int = 0, reads: Reads = "sandbox") -> None:
        self.seed = seed
        self.reads = reads
        self.changes: list[Change] = []  # every simulated write, in order, across the APIs
        self._guard: Guard | None = None
        self.log = EffectLog()
        self.effects: EffectSink = self.log
        self.requests: RequestHandling = HeldRequests()
        self._transports: dict[str, httpx.BaseTransport] = {}
        self.transports: Mapping[str, httpx.BaseTransport] = self._transports
        self._simulators: dict[str, Simulator] = {}
        self._readers: list[LiveReader] = []

    def guard(
        self,
        policy: Policy,
        *,
        declared_hosts: Iterable[str],
        record: RunRecord,
        approvals: Iterable[str],
        prompt: Prompt | None,
    ) -> Guard:
        # nobody is asked: every verdict is recorded and the sandbox answers
        self._guard = DryRunGuard(
            policy, declared_hosts=declared_hosts, record=record, approvals=approvals
        )
        return self._guard

    def stand_in(self, secret: str) -> str | None:
        return PLACEHOLDER.format(name=secret)

    def preflight(
        self,
        report: ValidationReport,
        approvals: frozenset[str],
        *,
        interactive: bool,
        inputs: Mapping[str, Any],
    ) -> None:
        return None  # verdicts are recorded, not enforced: the sandbox holds every effect

    def start(self, plan: Plan, report: ValidationReport, api_urls: Mapping[str, str]) -> None:
        """One simulator per API of the plan, and the transports of its API steps."""
        behind_apps = {app.api for app in plan.apps.values() if app.api}
        for name, spec in report.specs.items():
            base = api_urls.get(name, "")
            base_path = urlsplit(base).path
            # Pages read live data through the simulator; a plan of API steps alone reads
            # nothing live, so its dry run sends no request at all.
            reader = None
            live_reads = name in behind_apps or self.reads == "live"
            if live_reads and "://" in base:
                reader = LiveReader(base, spec=spec, permits=self._permits(name, spec))
                self._readers.append(reader)
            sim = Overlay(
                spec, seed=self.seed, base_path=base_path, live=reader, changes=self.changes
            )
            self._simulators[name] = sim
            simulated = SimulatorTransport(sim)
            self._transports[name] = (
                SignInPassThrough(simulated, spec, base_path=base_path)
                if reader is not None  # reads go live as the signed-in user
                else simulated
            )

    def _permits(self, api: str, spec: Any) -> Permits:
        """A live read goes only where the guard's policy allows it, like any read step."""

        def permits(method: str, url: str) -> bool:
            guard = self._guard
            if guard is None:
                return False
            found = spec.match(method, urlsplit(url).path)
            op = found[0] if found else None
            facts = ActionFacts(
                kind="api", risk=Risk.READ, api=api, method=method.upper(),
                operation=op.operation_id if op else None, path=op.path if op else None,
                host=url_host(url) or None,
            )  # fmt: skip
            check = GuardCheck(
                "(live read)", "request", facts,
                Classification(Risk.READ, ("a dry run reads the live system",)),
                f"{method.upper()} {url}",
            )  # fmt: skip
            allowed = guard.decide(check).verdict is Verdict.ALLOW
            if guard.record is not None:
                guard.record.event(
                    "live-read", method=method.upper(), url=url,
                    allowed=allowed,
                )  # fmt: skip
            return allowed

        return permits

    def simulator(self, api: str) -> Simulator | None:
        return self._simulators.get(api)

    def write_effects(self, record: RunRecord) -> list[dict[str, Any]] | None:
        held: list[dict[str, Any]] = record.redact(attach(self.log.to_json(), self.changes))
        record.write_json("effects.json", held)
        record.event("change-plan", reads=self.reads, **counts(held))
        return held

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers.clear()


class SignInPassThrough(httpx.BaseTransport):
    """A dry run's transport for an API behind an app: signing in reaches the live API (it
    changes no business data, and the pages of the same run sign in for real too); every
    other request goes to the simulator. What signs in is :func:`lam.runtime.sign_in.api_sign_in`:
    a token operation of the spec, no worse than write; the API step lists it as passed
    through."""

    def __init__(self, simulated: httpx.BaseTransport, spec: Any, *, base_path: str = "") -> None:
        self._simulated = simulated
        self._live = httpx.HTTPTransport()
        self._spec = spec
        self._base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        why = api_sign_in(self._spec, request, base_path=self._base_path)  # a token operation
        if why is not None:
            response = self._live.handle_request(request)
            response.extensions[PASSED_THROUGH] = why
            return response
        return self._simulated.handle_request(request)

    def close(self) -> None:
        self._live.close()
        self._simulated.close()


Permits = Callable[[str, str], bool]
"""Whether a live read of (method, url) may go: the policy's say."""


class LiveReader:
    """A simulator fallback that performs the same GET against the live API (reads are safe),
    so a dry run's lists and items merge live data with the simulated changes. A GET that
    ``spec`` or its words call destructive is never read live (:func:`read_stays_read`), nor
    one ``permits`` refuses."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, spec: Any = None,
        permits: Permits | None = None,
    ) -> None:  # fmt: skip
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path
        self._spec = spec
        self._permits = permits
        self._client = httpx.Client(timeout=timeout)

    def __call__(self, request: SimRequest) -> SimResponse | None:
        if request.method.upper() not in ("GET", "HEAD"):
            return None
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        params = httpx.QueryParams([(k, v) for k, vs in request.query.items() for v in vs])
        url = str(httpx.URL(self.origin + request.path, params=params))
        if not read_stays_read(self._spec, self._base_path, request.method, url):
            return None
        if self._permits is not None and not self._permits(request.method, url):
            return None
        try:
            answer = self._client.get(self.origin + request.path, params=params, headers=headers)
        except httpx.HTTPError:
            return None
        try:
            data = answer.json() if answer.content else None
        except ValueError:
            data = None
        media = {"content-type": answer.headers.get("content-type", "application/json")}
        return SimResponse(answer.status_code, media, answer.content, data)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()
