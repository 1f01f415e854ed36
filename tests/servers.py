"""Real servers on 127.0.0.1 for tests: the demo app in its own process, small ASGI apps
served by uvicorn in a thread, and folders of static pages."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

__all__ = [
    "DemoServer",
    "free_port",
    "serve_app",
    "serve_directory",
    "start_demo",
    "wait_until_up",
]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
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
        """Every request the server has logged so far, once the log has stopped growing
        (a line may land a moment after its response reached the client)."""
        lines = self._lines()
        for _ in range(20):
            time.sleep(0.05)
            again = self._lines()
            if again == lines:
                break
            lines = again
        return [json.loads(line) for line in lines[self.skip :]]

    def _lines(self) -> list[str]:
        if not self.access_log.exists():
            return []
        return [line for line in self.access_log.read_text().splitlines() if line.endswith("}")]


@contextmanager
def start_demo(tmp: Path) -> Iterator[DemoServer]:
    """The demo app in a child process, with a fresh database and access log."""
    port = free_port()
    db, log = tmp / "shop.db", tmp / "access.log"
    cmd = [sys.executable, "-m", "lam.sandbox.demo", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen([*cmd, "--access-log", str(log)], stdout=subprocess.DEVNULL)
    server = DemoServer(f"http://127.0.0.1:{port}", db, log, process)
    try:
        wait_until_up(server.url + "/login", process)
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


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll ``url`` until it answers; fail early if ``process`` exits (its stderr, if piped,
    goes into the message)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {errors}")
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


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve the files under ``directory`` on 127.0.0.1 in a thread; yields the base URL
    (with a trailing slash)."""
    handler = functools.partial(_QuietFiles, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
