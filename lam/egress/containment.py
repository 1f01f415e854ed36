"""One run's containment: its CA, its grants and its guard proxy, wired to the run's policy and
record.

:class:`Containment` is what the UI step executor starts before the browser: it makes a CA in a
temporary folder, starts the :class:`~lam.egress.proxy.GuardProxy` with a judge that applies the
run's policy and declared hosts (:func:`~lam.egress.decide.judge_unattended`), writes each
request the proxy refused (and each one it let through unattributed) to the run record, and
keeps the refusals until the network guard collects them for the step that is running.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.adapters.browser.chromium import BrowserNotFound, find_chromium
from lam.egress.ca import RunCA, make_run_ca
from lam.egress.decide import (
    ApiRoute,
    UnattendedWrites,
    assess,
    judge_unattended,
    read_outgoing,
)
from lam.egress.grants import GRANT_HEADER, Grants
from lam.egress.netns import NetnsGate, strict_available
from lam.egress.proxy import EgressError, GuardProxy, Judged, ProxyRefusal
from lam.policy import Policy
from lam.runtime.record import RunRecord
from lam.types import Decision, Risk

__all__ = ["MODE_PROXY", "MODE_STRICT", "Containment", "Unattended", "strict_wanted"]

MODE_PROXY = "proxy"
MODE_STRICT = "proxy+netns"


@dataclass(frozen=True)
class Unattended:
    """A refusal by the proxy, with the step that was running when it came."""

    refusal: ProxyRefusal
    step: str
    acting: bool  # the step was acting on the page (a click, a fill...), not just loading it


def strict_wanted(env: Mapping[str, str] | None = None) -> bool:
    """Whether a run's browser goes in its own network namespace: ``LAM_EGRESS=strict`` asks
    for it (and fails where it cannot be had), ``LAM_EGRESS=proxy`` declines it, and by default
    it is used wherever the machine allows (Linux, root)."""
    wanted = (os.environ if env is None else env).get("LAM_EGRESS", "auto").strip().lower()
    if wanted == "proxy":
        return False
    if wanted == "strict":
        if not strict_available():
            raise EgressError(
                "LAM_EGRESS=strict: this machine cannot give the browser its own network "
                "namespace (needs Linux, root, unshare and ip)",
                code="egress",
            )
        return True
    return strict_available()


class Containment:
    """The run's egress chokepoint (see the module docstring). ``where`` tells, when asked
    from the proxy's thread, which step is running and whether it is acting on the page."""

    def __init__(
        self,
        *,
        policy: Policy,
        declared_hosts: Iterable[str],
        routes: Sequence[ApiRoute],
        writes: UnattendedWrites,
        record: RunRecord | None,
        where: Callable[[], tuple[str, bool]] = lambda: ("", False),
        upstream_ca: Path | None = None,
        strict: bool = False,
    ) -> None:
        self.upstream_ca = upstream_ca
        self.strict = strict
        self.policy = policy
        self.declared_hosts = frozenset(declared_hosts)
        self.routes = tuple(routes)
        self.writes = writes  # the run mode's rule for state changes no step sent
        self.record = record
        self.where = where
        self.grants = Grants()
        self.mode = MODE_STRICT if strict else MODE_PROXY
        self._netns: NetnsGate | None = None
        self.ca: RunCA | None = None
        self._proxy: GuardProxy | None = None
        self._folder: Path | None = None
        self._refused: list[Unattended] = []
        self._lock = threading.Lock()

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Make the CA and start the proxy (raises EgressError if it cannot)."""
        self._folder = Path(tempfile.mkdtemp(prefix="lam-egress-"))
        self.ca = make_run_ca(self._folder)
        self._proxy = GuardProxy(
            confdir=self._folder,
            grants=self.grants,
            judge=self._judge,
            host_allowed=self._host_allowed,
            on_refusal=self._on_refusal,
            on_allowed=self._on_allowed,
            upstream_ca=self.upstream_ca,
        )
        try:
            self._proxy.start()
            if self.strict:
                chromium = find_chromium()
                if chromium is None:
                    raise BrowserNotFound("no Chromium found", code="no-browser")
                self._netns = NetnsGate(self._folder, self._proxy.port, chromium)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the proxy and delete the CA's folder (its key goes with it)."""
        if self._netns is not None:
            self._netns.close()
            self._netns = None
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- what the browser is given ---------------------------------------------------------

    @property
    def proxy_url(self) -> str:
        """The proxy Chromium and ``route.fetch`` send through."""
        assert self._proxy is not None, "Containment.start() first"
        return self._proxy.url

    def launch_options(self) -> dict[str, Any]:
        """Playwright launch options: every request through the proxy, loopback included
        (Playwright adds ``<-loopback>`` to the bypass list when it names no loopback host),
        and the run's CA pinned for this browser only."""
        assert self.ca is not None
        options: dict[str, Any] = {
            "proxy": {"server": self.proxy_url},
            "args": [f"--ignore-certificate-errors-spki-list={self.ca.spki_sha256}"],
        }
        if self._netns is not None:  # strict: started in its own network namespace
            options["executable"] = str(self._netns.wrapper)
        return options

    def grant_headers(
        self, headers: dict[str, str], method: str, url: str, body: bytes | None
    ) -> dict[str, str]:
        """``headers`` plus a grant for exactly this request."""
        return {**headers, GRANT_HEADER: self.grants.issue(method, url, body)}

    def take(self) -> list[Unattended]:
        """The proxy's refusals since the last call."""
        with self._lock:
            taken, self._refused = self._refused, []
        return taken

    def describe(self) -> dict[str, Any]:
        """What the run record keeps about the containment a run used."""
        return {
            "mode": self.mode,
            "proxy": self.proxy_url,
            "ca_spki_sha256": self.ca.spki_sha256 if self.ca else None,
        }

    # -- called on the proxy's thread --------------------------------------------------------

    def _host_allowed(self, host: str) -> bool:
        return self.policy.host_allowed(host, self.declared_hosts)

    def _judge(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> Judged:
        out = read_outgoing(method, url, headers, raw)
        found = assess(out, self.routes, self.policy, self.declared_hosts)
        return Judged(
            judge_unattended(found, self.policy, writes=self.writes),
            destructive=found.classification.risk is Risk.DESTRUCTIVE,
            changing=found.changing,
            # a prefetch or prerender says "navigate" too, but no step went anywhere
            navigation=headers.get("sec-fetch-mode") == "navigate" and "sec-purpose" not in headers,
            off_plan=not found.allowed_host,
        )

    def _on_refusal(self, refusal: ProxyRefusal) -> None:
        step, acting = self.where()
        with self._lock:
            self._refused.append(Unattended(refusal, step, acting))
        if self.record is not None:
            self.record.event(
                "egress",
                step=step,
                verdict="deny",
                action=f"{refusal.method} {refusal.url}",
                reasons=list(refusal.reasons),
                by="proxy",
            )

    def _on_allowed(self, method: str, url: str, decision: Decision) -> None:
        if self.record is not None:
            step, _ = self.where()
            self.record.event(
                "egress",
                step=step,
                verdict="allow",
                action=f"{method} {url}",
                reasons=list(decision.reasons),
                by="proxy",
            )
