"""The run's guard proxy: the one way out for everything the browser sends.

One mitmproxy master per run, with its own asyncio loop on a daemon thread, listening on
127.0.0.1 on a port the OS picks. Chromium is launched to send every request through it (loopback
too) and trusts the run's own CA for HTTPS (:mod:`lam.egress.ca`); Playwright's ``route.fetch``
uses the same proxy. The proxy:

- lets a request through when it carries a valid grant (:mod:`lam.egress.grants`): the route
  handler saw it, attributed it to a step and the guard allowed it. The grant is stripped.
- judges any other request on its own (:func:`lam.egress.decide.judge_unattended`) with the
  same classification and policy, never prompting, and answers a refused one with a 403 that
  never reaches a server. Each refusal is handed to ``on_refusal`` (the run records it and the
  step sees it).
- refuses every upstream connection to a host outside the plan (``server_connect``), and every
  stream that is not HTTP (raw TCP, UDP, DNS): nothing it cannot read gets out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.egress.grants import GRANT_HEADER, Grants
from lam.errors import LamError
from lam.types import Decision, Verdict

__all__ = ["EgressError", "GuardProxy", "Judge", "Judged", "ProxyRefusal"]

_BLOCKED_BODY = b"blocked by lam: this request is outside what the run may send\n"
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 5.0
_BODY_LIMIT = "64m"
_MAX_HEADERS = 256
_RUNNING: list[GuardProxy] = []  # at most one (see GuardProxy.start)
_RUNNING_LOCK = threading.Lock()
_MAX_HEADER_BYTES = 256 * 1024


class EgressError(LamError):
    """The guard proxy could not start: nothing may be sent without it."""

    exit_code = 1


@dataclass(frozen=True)
class Judged:
    """A judge's answer: the decision, and what the request was."""

    decision: Decision
    destructive: bool = False
    changing: bool = False
    navigation: bool = False  # the browser said so (``Sec-Fetch-Mode: navigate``)
    off_plan: bool = False  # its host is outside the plan


@dataclass(frozen=True)
class ProxyRefusal:
    """A request (or connection) the proxy refused."""

    method: str
    url: str
    reasons: tuple[str, ...]
    destructive: bool = False
    changing: bool = False
    navigation: bool = False
    off_plan: bool = False


Judge = Callable[[str, str, dict[str, str], bytes], Judged]
"""``(method, url, headers, body) -> Judged`` for a request without a valid grant."""
HostCheck = Callable[[str], bool]
"""Whether the proxy may open a connection to ``host:port``."""


class GuardProxy:
    """A guard proxy for one run. ``start()`` returns once it listens; ``stop()`` ends it.

    ``judge`` decides requests without a grant, ``host_allowed`` gates upstream connections,
    ``on_refusal`` and ``on_allowed`` hear about each judged request (called on the proxy's
    thread: they must be thread-safe and quick). Servers' certificates are checked against the
    usual roots, or ``upstream_ca`` (a PEM file) when given.
    """

    def __init__(
        self,
        *,
        confdir: Path,
        grants: Grants,
        judge: Judge,
        host_allowed: HostCheck,
        on_refusal: Callable[[ProxyRefusal], None],
        on_allowed: Callable[[str, str, Decision], None] | None = None,
        upstream_ca: Path | None = None,
    ) -> None:
        self.confdir = confdir
        self.upstream_ca = upstream_ca
        self.grants = grants
        self.judge = judge
        self.host_allowed = host_allowed
        self.on_refusal = on_refusal
        self.on_allowed = on_allowed
        self.port = 0
        self._master: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what the browser is given as its proxy."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the proxy on its own thread; raises :class:`EgressError` if it cannot listen,
        or if another guard proxy runs in this process: mitmproxy keeps its master and options
        in module globals, so a second one would have the first judged by the second's rules."""
        with _RUNNING_LOCK:
            if _RUNNING:
                raise EgressError(
                    "another guard proxy is running in this process (one run at a time)",
                    code="egress",
                )
            _RUNNING.append(self)
        _quiet_logs()
        self._thread = threading.Thread(target=self._serve, name="lam-egress", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or not self.port:
            self.stop()
            why = f": {self._failure}" if self._failure else ""
            raise EgressError(f"the guard proxy did not start{why}", code="egress")

    def stop(self) -> None:
        """Stop the proxy and wait (briefly) for its thread."""
        master = self._master
        if master is not None:
            with contextlib.suppress(Exception):
                master.shutdown()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            self._thread = None
        with _RUNNING_LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)

    # -- the proxy's thread ----------------------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._run())
        except BaseException as exc:  # reported by start(); a dying thread must not print
            self._failure = exc
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.close()

    async def _run(self) -> None:
        from mitmproxy import options
        from mitmproxy.addons import core, next_layer, proxyserver, tlsconfig
        from mitmproxy.master import Master

        opts = options.Options(listen_host="127.0.0.1", listen_port=0, confdir=str(self.confdir))
        master = Master(opts)
        master.addons.add(  # type: ignore[no-untyped-call]
            core.Core(),
            proxyserver.Proxyserver(),  # type: ignore[no-untyped-call]
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            _Gate(self),
        )
        opts.update(  # type: ignore[no-untyped-call]
            connection_strategy="lazy",  # connect upstream only for a request already judged
            body_size_limit=_BODY_LIMIT,
            http3=False,
            rawtcp=False,
            ssl_insecure=False,  # the browser would have checked the server's certificate
        )
        if self.upstream_ca is not None:  # servers whose certificates a private CA signed
            opts.update(ssl_verify_upstream_trusted_ca=str(self.upstream_ca))  # type: ignore[no-untyped-call]
        self._master = master
        await master.run()

    def _listening(self, port: int) -> None:
        self.port = port
        self._ready.set()


class _Gate:
    """The mitmproxy addon that applies the guard."""

    def __init__(self, proxy: GuardProxy) -> None:
        self.proxy = proxy

    def running(self) -> None:
        from mitmproxy import ctx

        server = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        addrs = server.listen_addrs() if server is not None else []
        self.proxy._listening(int(addrs[0][1]) if addrs else 0)

    def server_connect(self, data: Any) -> None:
        """The last gate: no connection leaves for a host outside the plan."""
        host, port = data.server.address or ("", 0)
        shown = f"[{host}]" if ":" in str(host) else str(host)
        if not self.proxy.host_allowed(f"{shown}:{port}"):
            data.server.error = "blocked by lam: host outside the plan"
            self._refused(
                ProxyRefusal(
                    "CONNECT", f"{shown}:{port}", ("host outside the plan",), off_plan=True
                )
            )

    def http_connect(self, flow: Any) -> None:
        """A tunnel to a host outside the plan is refused before it opens."""
        req = flow.request
        where = f"{req.host}:{req.port}"
        if not self.proxy.host_allowed(where):
            flow.response = _blocked(req)
            self._refused(
                ProxyRefusal(
                    "CONNECT", where, (f"host {where} is outside the plan",), off_plan=True
                )
            )

    def request(self, flow: Any) -> None:
        """Let a granted request through; judge any other one; refuse on any doubt."""
        req = flow.request
        try:
            fields = req.headers.fields  # (name, value) bytes pairs; .items() is quadratic
            size = sum(len(k) + len(v) for k, v in fields)
            if len(fields) > _MAX_HEADERS or size > _MAX_HEADER_BYTES:
                flow.response = _blocked(req)
                why = f"{len(fields)} headers, {size} bytes: more than a browser sends"
                self._refused(ProxyRefusal(req.method, _safe_url(req), (why,), changing=True))
                return
            grant = req.headers.get(GRANT_HEADER)
            if GRANT_HEADER in req.headers:
                del req.headers[GRANT_HEADER]
            raw = req.raw_content or b""
            url = req.url
            if self.proxy.grants.verify(grant, req.method, url, raw):
                return
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1", "replace") for k, v in fields
            }
            judged = self.proxy.judge(req.method, url, headers, raw)
        except Exception as exc:  # fail closed: a request the guard cannot read does not go
            flow.response = _blocked(req)
            why = f"the guard could not read it ({type(exc).__name__})"
            self._refused(ProxyRefusal(req.method, _safe_url(req), (why,), changing=True))
            return
        if judged.decision.verdict is Verdict.ALLOW:
            if self.proxy.on_allowed is not None:
                with contextlib.suppress(Exception):
                    self.proxy.on_allowed(req.method, url, judged.decision)
            return
        flow.response = _blocked(req)
        self._refused(
            ProxyRefusal(
                req.method,
                url,
                judged.decision.reasons,
                judged.destructive,
                judged.changing,
                judged.navigation,
                judged.off_plan,
            )
        )

    def tcp_start(self, flow: Any) -> None:
        """Bytes the proxy cannot read as HTTP do not go anywhere."""
        flow.kill()
        self._refused(ProxyRefusal("TCP", _peer(flow), ("not HTTP: the guard cannot read it",)))

    def udp_start(self, flow: Any) -> None:
        flow.kill()
        self._refused(ProxyRefusal("UDP", _peer(flow), ("not HTTP: the guard cannot read it",)))

    def dns_request(self, flow: Any) -> None:
        flow.kill()

    def _refused(self, refusal: ProxyRefusal) -> None:
        with contextlib.suppress(Exception):  # a listener's failure must not kill the proxy
            self.proxy.on_refusal(refusal)


def _blocked(req: Any) -> Any:
    from mitmproxy import http

    return http.Response.make(
        403, _BLOCKED_BODY, {"content-type": "text/plain", "x-lam": "blocked"}
    )


def _safe_url(req: Any) -> str:
    try:
        return str(req.url)
    except Exception:
        return "(unreadable URL)"


def _peer(flow: Any) -> str:
    try:
        host, port = flow.server_conn.address or ("", 0)
        return f"{host}:{port}"
    except Exception:
        return "(unknown)"


def _quiet_logs() -> None:
    """mitmproxy logs each client that hangs up or speaks garbage; lam's record keeps what
    matters, so its log does not reach the terminal."""
    logger = logging.getLogger("mitmproxy")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
