"""Running the demo app on 127.0.0.1 in a background thread, for tests and demos.

::

    with running(tmp_path / "shop.sqlite3", tmp_path / "access.jsonl") as shop:
        httpx.get(shop.url + "/api/pets")

The port is chosen by the operating system (no race for a "free" port), the database is
seeded when missing, and the server stops when the block ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lam.sandbox.demo.app import create_app

__all__ = ["DemoServer", "running"]


@dataclass(frozen=True)
class DemoServer:
    """A running demo app: its root URL (no trailing slash), database and access log."""

    url: str
    db_path: Path
    access_log: Path | None

    @property
    def api_url(self) -> str:
        """The JSON API's base URL (the spec's server, on this port)."""
        return self.url + "/api"


@contextmanager
def running(
    db_path: Path,
    access_log: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout: float = 10.0,
) -> Iterator[DemoServer]:
    """Serve the demo app under uvicorn in a daemon thread for the ``with`` block."""
    import uvicorn

    app = create_app(Path(db_path), access_log)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="lam-demo-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the demo app did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield DemoServer(f"http://{host}:{bound}", Path(db_path), access_log)
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout)
