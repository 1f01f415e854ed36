"""The sandbox: a dry run's mode (:class:`lam.run.mode.RunMode`).

Nothing state-changing reaches a live system. Each API of the plan gets one simulator
(:mod:`lam.sandbox.simulator`), built here and only here, shared by the plan's API steps (as
their httpx transport) and by its pages (the network guard answers their requests from it), so
what an API step creates, the pages show. Reads go live: pages load, and a simulator behind an
app reads live lists and items through a :class:`LiveReader`, merging in its own changes.
Signing in goes live too (:mod:`lam.run.sign_in`): the run goes on as the signed-in user. Every
state-changing request is held and logged as an :class:`~lam.run.effects.Effect`; the guard
(:class:`~lam.run.guard.DryRunGuard`) records each verdict and lets the sandbox answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from lam.egress.decide import UnattendedWrites
from lam.plan import Plan
from lam.policy import Policy
from lam.run.api_step import PASSED_THROUGH
from lam.run.effects import EffectLog
from lam.run.guard import DryRunGuard, Guard, Prompt
from lam.run.held_requests import HeldRequests
from lam.run.mode import EffectSink, ModeName, RequestHandling
from lam.run.record import RunRecord
from lam.run.sign_in import api_sign_in, read_stays_read
from lam.sandbox.simulator import SimRequest, SimResponse, Simulator
from lam.sandbox.transport import SimulatorTransport
from lam.validate import ValidationReport

__all__ = ["PLACEHOLDER", "LiveReader", "SandboxMode", "SignInPassThrough"]

PLACEHOLDER = "lam-dry-run-placeholder-{name}"
"""What stands in for a secret that is not set: a dry run sends no secret anywhere."""

_FORWARDED = ("authorization", "accept", "cookie")


class SandboxMode:
    """A dry run (see the module docstring)."""

    name = ModeName.DRY_RUN
    egress = UnattendedWrites.REFUSED

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
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
        return DryRunGuard(policy, declared_hosts=declared_hosts, record=record, approvals=approvals)

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
            if name in behind_apps and "://" in base:
                reader = LiveReader(base, spec=spec)
                self._readers.append(reader)
            sim = Simulator(spec, seed=self.seed, base_path=base_path, fallback=reader)
            self._simulators[name] = sim
            simulated = SimulatorTransport(sim)
            self._transports[name] = (
                SignInPassThrough(simulated, spec, base_path=base_path)
                if reader is not None
                else simulated
            )

    def simulator(self, api: str) -> Simulator | None:
        return self._simulators.get(api)

    def write_effects(self, record: RunRecord) -> list[dict[str, Any]] | None:
        held: list[dict[str, Any]] = record.redact(self.log.to_json())
        record.write_json("effects.json", held)
        return held

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers.clear()


class SignInPassThrough(httpx.BaseTransport):
    """A dry run's transport for an API behind an app: signing in reaches the live API (it
    changes no business data, and the pages of the same run sign in for real too); every
    other request goes to the simulator. What signs in is :func:`lam.run.sign_in.api_sign_in`:
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


class LiveReader:
    """A simulator fallback that performs the same GET against the live API (reads are safe),
    so a dry run's lists and items merge live data with the simulated changes. A GET that
    ``spec`` or its words call destructive is never read live (:func:`read_stays_read`)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, spec: Any = None) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path
        self._spec = spec
        self._client = httpx.Client(timeout=timeout)

    def __call__(self, request: SimRequest) -> SimResponse | None:
        if request.method.upper() not in ("GET", "HEAD"):
            return None
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        params = httpx.QueryParams([(k, v) for k, vs in request.query.items() for v in vs])
        url = str(httpx.URL(self.origin + request.path, params=params))
        if not read_stays_read(self._spec, self._base_path, request.method, url):
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
