"""httpx transports that answer from a :class:`~lam.sandbox.simulator.Simulator`.

The API adapter dry-runs by swapping its transport for one of these: requests never leave the
process, and the simulator's state changes instead of the live system's.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

import httpx

from lam.sandbox.simulator import SimRequest, SimResponse, Simulator

__all__ = ["SANDBOX_ANSWER", "AsyncSimulatorTransport", "SimulatorTransport", "to_sim_request"]

SANDBOX_ANSWER = "lam_sandbox_answer"
"""Set on every answer the simulator made up from the spec: a body read from it is the spec's
example, not the live system's (what it lacks is known only after a live run)."""


def to_sim_request(request: httpx.Request, body: bytes) -> SimRequest:
    """An httpx request as the simulator takes it."""
    query = parse_qs(request.url.query.decode("ascii", "replace"), keep_blank_values=True)
    return SimRequest(
        method=request.method,
        path=request.url.path,
        query=query,
        headers=dict(request.headers.items()),
        body=body,
    )


def _to_httpx(answer: SimResponse, request: httpx.Request, simulator: Simulator) -> httpx.Response:
    # A read through an overlay that reads live (lam.sandbox.overlay) answers with live data.
    live = request.method.upper() in ("GET", "HEAD") and getattr(simulator, "reads_live", False)
    return httpx.Response(
        answer.status,
        headers=dict(answer.headers),
        content=answer.body,
        request=request,
        extensions={SANDBOX_ANSWER: not live},
    )


class SimulatorTransport(httpx.BaseTransport):
    """A synchronous httpx transport over a simulator (thread-safe: one request at a time)."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            answer = self.simulator.handle(to_sim_request(request, body))
        return _to_httpx(answer, request, self.simulator)


class AsyncSimulatorTransport(httpx.AsyncBaseTransport):
    """The asyncio variant of :class:`SimulatorTransport`."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = self.simulator.handle(to_sim_request(request, body))
        return _to_httpx(answer, request, self.simulator)
