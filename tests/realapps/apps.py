"""The real apps as servers on 127.0.0.1: a stock Django admin (PyPI) and json-server (npm).

Each runs in its own process with its own data (a SQLite file, a db.json) in a test's
temporary folder; the tests read that data directly to check what lam did.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import free_port, wait_until_up

__all__ = [
    "HERE",
    "NODE_MODULES",
    "DjangoAdmin",
    "JsonServer",
    "django_template",
    "json_server_over",
    "npm_missing",
    "start_django",
    "start_json_server",
]

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"


def _django_env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="djangoapp.settings",
        LAM_DJANGO_DB=str(db),
        PYTHONPATH=str(HERE),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def django_template(folder: Path) -> Path:
    """A migrated database with the admin and alice, bob and carol (made once, copied after)."""
    db = folder / "template.sqlite3"
    env = _django_env(db)
    for argv in (
        ["-m", "django", "migrate", "--noinput", "-v", "0"],
        [str(HERE / "djangoapp" / "seed.py")],
    ):
        subprocess.run([sys.executable, *argv], env=env, check=True, cwd=folder)
    return db


@dataclass
class DjangoAdmin:
    url: str  # http://127.0.0.1:PORT
    db: Path
    template: Path

    def reset(self) -> None:
        """Back to the seeded state (the server opens the file per request)."""
        shutil.copyfile(self.template, self.db)

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql, args))

    def users(self) -> dict[str, str]:
        """username -> first name."""
        return {str(u): str(f) for u, f in self.rows("SELECT username, first_name FROM auth_user")}


@contextmanager
def start_django(template: Path, folder: Path) -> Iterator[DjangoAdmin]:
    """Django's own development server (static files too) on a free port."""
    db = folder / "db.sqlite3"
    shutil.copyfile(template, db)
    port = free_port()
    argv = ["-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"]
    process = subprocess.Popen(
        [sys.executable, *argv], env=_django_env(db), cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/admin/login/", process)
        yield DjangoAdmin(f"http://127.0.0.1:{port}", db, template)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def npm_missing(package: str) -> str | None:
    """Why an npm package is not there (None when it is): scripts/setup.sh installs them."""
    if not (NODE_MODULES / package / "package.json").exists():
        return f"{package} is not installed in {NODE_MODULES} (run: bash scripts/setup.sh)"
    return None


@dataclass
class JsonServer:
    url: str
    db: Path

    def items(self, collection: str = "posts") -> list[dict[str, Any]]:
        """The collection as json-server serves it now: its own state. (It writes db.json
        after it has answered, asynchronously, so the file may be a moment behind.)"""
        response = httpx.get(f"{self.url}/{collection}", timeout=30)
        response.raise_for_status()
        return list(response.json())


@contextmanager
def start_json_server(
    db: Path, *, log: Path | None = None, delay_ms: int = 0
) -> Iterator[JsonServer]:
    """json-server (npm) over ``db`` (a db.json it rewrites on every change); ``log``: a file
    that gets json-server's own request log (one line per request: method, path, status);
    ``delay_ms``: every answer that late (json-server's ``--delay``: a slow or hanging API)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (json-server needs it)")
    port = free_port()
    script = NODE_MODULES / "json-server" / "lib" / "cli" / "bin.js"
    delay = ["--delay", str(delay_ms)] if delay_ms else []
    process = subprocess.Popen(
        [node, str(script), "--port", str(port), "--host", "127.0.0.1", *delay, str(db)],
        stdout=log.open("ab") if log is not None else subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        if delay_ms >= 1000:  # an answer would come too late to poll for: wait for the port
            _wait_for_port(port, process)
        else:
            wait_until_up(f"http://127.0.0.1:{port}/posts", process)
        yield JsonServer(f"http://127.0.0.1:{port}", db)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def json_server_over(
    folder: Path, data: Any, *, log: Path | None = None, delay_ms: int = 0
) -> Iterator[JsonServer]:
    """json-server over a fresh ``folder/db.json`` holding ``data`` (see
    :func:`start_json_server`); the test fails, naming the set-up step, when json-server is
    not installed (scripts/setup.sh installs it: a fresh clone without it is a set-up error)."""
    missing = npm_missing("json-server")
    if missing:
        pytest.fail(missing)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "db.json"
    db.write_text(json.dumps(data, indent=2))
    with start_json_server(db, log=log, delay_ms=delay_ms) as server:
        yield server


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"json-server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"json-server on port {port} did not come up")
