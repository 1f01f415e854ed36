"""An access log for the demo app: one JSON line per request, flushed as it is written.

Tests and dry runs read it to prove which requests reached the app (a dry run must leave no
state-changing request in it). Each line is ``{"time", "method", "path", "query", "status"}``.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "read_access_log"]


class AccessLog:
    """ASGI middleware that appends one JSON line per HTTP request to ``path``."""

    def __init__(self, app: ASGIApp, path: Path) -> None:
        self.app = app
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        logged = False

        def log() -> None:
            nonlocal logged
            logged = True
            self._write(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status,
                }
            )

        async def send_and_log(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # written before the last byte leaves, so a client that has its response
                # can already read the line
                log()
            await send(message)

        try:
            await self.app(scope, receive, send_and_log)
        finally:
            if not logged:
                log()

    def _write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()


def read_access_log(path: Path) -> list[dict[str, Any]]:
    """The entries of an access log file, oldest first (empty when there is no file)."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
