"""The simulator served over HTTP: a plain ASGI app on uvicorn (``lam sandbox serve``).

A bare ASGI callable rather than a framework app: the simulator does its own routing and
validation, so every layer in between would only cost requests per second.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from lam.documents import load_document
from lam.errors import DocumentError, UsageError
from lam.sandbox.simulator import SimRequest, SimResponse, Simulator

__all__ = ["SimulatorApp", "load_seed_file", "request_line", "serve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SimulatorApp:
    """An ASGI app answering every HTTP request from ``simulator``; ``log`` gets one line per
    request (:func:`request_line`), as Prism's mock logs what it received and answered."""

    def __init__(self, simulator: Simulator, *, log: Callable[[str], None] | None = None) -> None:
        self.simulator = simulator
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        request = SimRequest(
            method=scope["method"],
            path=scope["path"],
            query=parse_qs(query, keep_blank_values=True) if query else {},
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=b"".join(chunks),
        )
        started = time.perf_counter()
        answer = self.simulator.handle(request)
        if self.log is not None:
            self.log(request_line(self.simulator, request, answer, time.perf_counter() - started))
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else answer.body
        await send({"type": "http.response.body", "body": body})


def request_line(
    simulator: Simulator, request: SimRequest, answer: SimResponse, seconds: float
) -> str:
    """``12:04:31 GET /api/pet/5 -> 200 OK getPetById (0.4 ms)``; an error answer says why
    (``-> 400 Bad Request addPet: /name: required property is missing``)."""
    query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
    target = request.path + (f"?{query}" if query else "")
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = ""
    found = simulator.spec.match(request.method, request.path)
    operation = (found[0].operation_id or found[0].key) if found else ""
    line = f"{time.strftime('%H:%M:%S')} {request.method} {target} -> {answer.status} {reason}"
    line += f" {operation}" if operation else ""
    detail = answer.json.get("detail") if isinstance(answer.json, Mapping) else None
    if answer.status >= 400 and isinstance(detail, str):
        line += f": {' '.join(detail.split())[:200]}"
    return f"{line} ({seconds * 1000:.1f} ms)"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def load_seed_file(path: Path) -> dict[str, list[Any]]:
    """A seed file: a mapping of collection path (``/pets``) to a list of objects."""
    data = load_document(path, error=DocumentError)
    if not isinstance(data, dict):
        raise DocumentError(
            "a seed file maps collection paths to lists of objects", file=str(path), code="seed"
        )
    for key, value in data.items():
        if not isinstance(key, str) or not key.startswith("/"):
            raise DocumentError(
                "expected a collection path starting with '/'",
                file=str(path),
                location=str(key),
                code="seed",
            )
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise DocumentError(
                "expected a list of objects", file=str(path), location=key, code="seed"
            )
    return data


def serve(
    simulator: Simulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    announce: Callable[[str], None] = print,
    log: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; ``port=0`` picks a free port. ``announce`` gets the URL,
    ``log`` a line per request."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this; without it small responses wait on delayed ACKs
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}", code="listen") from None
    # listening before the URL is announced: a client that connects at once is queued, not refused
    sock.listen(2048)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(
        SimulatorApp(simulator, log=log),
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="auto",
        loop="auto",
    )
    server = uvicorn.Server(config)
    announce(f"http://{shown}:{bound}{simulator.base_path}")
    asyncio.run(server.serve(sockets=[sock]))
