"""Run modes: a live run and a dry run differ by one object handed in, never by flags.

A :class:`RunMode` supplies everything that differs between acting on the live systems and
acting in the sandbox: the guard (:class:`~lam.runtime.guard.LiveGuard` refuses,
:class:`~lam.runtime.guard.DryRunGuard` records), the API transports (none: httpx's own; or the
sandbox simulators), the effect sink (a no-op live; the :class:`~lam.runtime.effects.EffectLog` of
what a dry run held), what the network guard does with a page's request it lets through (sent
on; or held and answered by the sandbox), the egress proxy's rule for requests no step sent,
what stands in for a secret that is not set, and whether verdicts hold a run before it starts.

:func:`mode_for` is the one place a mode is chosen (``--dry-run`` chooses the sandbox). The
runner, the executors and the network guard ask the mode they were given; none of them knows
which one it is. The sandbox itself is :mod:`lam.runtime.sandbox_mode`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from lam.egress.decide import UnattendedWrites
from lam.plans import Plan
from lam.policy import Policy
from lam.runtime.effects import Effect
from lam.runtime.guard import Guard, LiveGuard, Prompt
from lam.runtime.record import RunRecord
from lam.validation import ValidationReport

if TYPE_CHECKING:
    from playwright.sync_api import Request, Route

    from lam.egress.decide import ApiRoute, Outgoing
    from lam.runtime.network_guard import NetworkGuard
    from lam.runtime.start import RunOptions
    from lam.sandbox.simulator import Simulator

__all__ = [
    "LIVE",
    "EffectSink",
    "LiveMode",
    "LiveRequests",
    "ModeName",
    "NoEffects",
    "RequestHandling",
    "RunMode",
    "mode_for",
]


class ModeName(StrEnum):
    """What a run acts on, as its record and results say."""

    LIVE = "live"
    DRY_RUN = "dry-run"  # the sandbox


class EffectSink(Protocol):
    """Where state-changing requests go that a run held instead of sending."""

    def add(self, effect: Effect) -> None: ...

    @property
    def held(self) -> tuple[Effect, ...]: ...


class NoEffects:
    """A live run's sink: nothing is held, every request the guard allows is sent."""

    def add(self, effect: Effect) -> None:
        return None

    @property
    def held(self) -> tuple[Effect, ...]:
        return ()


class RequestHandling(Protocol):
    """What the network guard does with a page's request the guard let through."""

    def read(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None,
    ) -> None:  # fmt: skip
        """A read on the plan's hosts."""

    def change(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None, verdict: tuple[str, str],
    ) -> None:  # fmt: skip
        """A state-changing request, with its (risk, verdict)."""

    def sends_changes(self) -> bool:
        """Whether a state-changing request the guard allows goes on to the app (a redirect's
        next hop is judged by this)."""


class LiveRequests:
    """A live run: what the guard lets through is sent on, checked hop by hop."""

    def read(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None,
    ) -> None:  # fmt: skip
        net.continue_granted(route, request, seen)

    def change(
        self, net: NetworkGuard, route: Route, request: Request, seen: Outgoing,
        api_route: ApiRoute | None, verdict: tuple[str, str],
    ) -> None:  # fmt: skip
        net.send_checked(route, seen)

    def sends_changes(self) -> bool:
        return True


class RunMode(Protocol):
    """What a run acts on: the live systems or the sandbox (see the module docstring)."""

    name: ModeName
    effects: EffectSink
    requests: RequestHandling
    egress: UnattendedWrites  # the proxy's rule for a state change no step sent
    transports: Mapping[str, httpx.BaseTransport]  # by api name; none: httpx's own

    def guard(
        self,
        policy: Policy,
        *,
        declared_hosts: Iterable[str],
        record: RunRecord,
        approvals: Iterable[str],
        prompt: Prompt | None,
    ) -> Guard:
        """The run's guard, asking ``prompt`` (if any) where a human may approve."""

    def stand_in(self, secret: str) -> str | None:
        """A value for a secret whose variable is not set, or None: the run cannot start."""

    def preflight(
        self,
        report: ValidationReport,
        approvals: frozenset[str],
        *,
        interactive: bool,
        inputs: Mapping[str, Any],
    ) -> None:
        """Refuse to start while a step is held (see :func:`lam.runtime.runner.preflight`)."""

    def start(self, plan: Plan, report: ValidationReport, api_urls: Mapping[str, str]) -> None:
        """Set up what the mode needs for this plan, before the executors are built."""

    def simulator(self, api: str) -> Simulator | None:
        """The sandbox's simulator of ``api``, shared by API steps and pages; None live."""

    def write_effects(self, record: RunRecord) -> list[dict[str, Any]] | None:
        """At the end: what was held, written to the record (secrets redacted) and returned;
        None when the mode holds nothing."""

    def close(self) -> None:
        """Release what :meth:`start` opened."""


class LiveMode:
    """Acting on the live systems, under the :class:`~lam.runtime.guard.LiveGuard`."""

    name = ModeName.LIVE
    egress = UnattendedWrites.POLICY

    def __init__(self) -> None:
        self.effects: EffectSink = NoEffects()
        self.requests: RequestHandling = LiveRequests()
        self.transports: Mapping[str, httpx.BaseTransport] = {}

    def guard(
        self,
        policy: Policy,
        *,
        declared_hosts: Iterable[str],
        record: RunRecord,
        approvals: Iterable[str],
        prompt: Prompt | None,
    ) -> Guard:
        return LiveGuard(
            policy, declared_hosts=declared_hosts, record=record, approvals=approvals,
            prompt=prompt,
        )  # fmt: skip

    def stand_in(self, secret: str) -> str | None:
        return None  # a live run sends its secrets: each must be set

    def preflight(
        self,
        report: ValidationReport,
        approvals: frozenset[str],
        *,
        interactive: bool,
        inputs: Mapping[str, Any],
    ) -> None:
        from lam.runtime.runner import preflight

        preflight(report, approvals, interactive=interactive, inputs=inputs)

    def start(self, plan: Plan, report: ValidationReport, api_urls: Mapping[str, str]) -> None:
        return None

    def simulator(self, api: str) -> Simulator | None:
        return None

    def write_effects(self, record: RunRecord) -> list[dict[str, Any]] | None:
        return None

    def close(self) -> None:
        return None


LIVE: RunMode = LiveMode()
"""A live mode for callers that build a runner by hand (it holds no state of a run)."""


def mode_for(options: RunOptions) -> RunMode:
    """The one place a run's mode is chosen: the sandbox when the caller asked for a dry run
    (``--dry-run``; with ``--reads live`` its API reads go live, writes simulated over them),
    else the live systems."""
    if options.dry_run:
        from lam.runtime.sandbox_mode import SandboxMode

        return SandboxMode(seed=options.seed, reads=options.reads)
    return LiveMode()
