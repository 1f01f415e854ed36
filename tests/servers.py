"""Real servers on 127.0.0.1 for tests: the demo app in its own process, and small ASGI apps
served by uvicorn in a thread."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

__all__ = ["DemoServer", "free_port", "serve_app", "start_demo"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoServer:
    url: str  # http://127.0.0.1:PORT
    db: Path
    access_log: Path
    process: subprocess.Popen[bytes]
    skip: int = 0  # log lines from before the test (the readiness probe)

    @property
    def api(self) -> str:
        return self.url + "/api"

    def requests(self) -> list[dict[str, Any]]:
        """Every request the server has logged so far."""
        if not self.access_log.exists():
            return []
        lines = [line for line in self.access_log.read_text().splitlines() if line]
        return [json.loads(line) for line in lines[self.skip :]]


@contextmanager
def start_demo(tmp: Path) -> Iterator[DemoServer]:
    """The demo app in a child process, with a fresh database and access log."""
    port = free_port()
    db, log = tmp / "shop.db", tmp / "access.log"
    cmd = [sys.executable, "-m", "lam.sandbox.demo", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen([*cmd, "--access-log", str(log)], stdout=subprocess.DEVNULL)
    server = DemoServer(f"http://127.0.0.1:{port}", db, log, process)
    try:
        _wait_until_up(server.url + "/login", process)
        deadline = time.monotonic() + 5
        while not server.requests() and time.monotonic() < deadline:
            time.sleep(0.01)
        server.skip = len(server.requests())  # the readiness probe is not part of any test
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
