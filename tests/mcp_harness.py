"""`lam mcp` as a child process, driven by the official MCP Python client (stdio or streamable
HTTP), for tests/test_mcp_*.py and benchmarks/mcp_bench.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

__all__ = ["Client", "Elicit", "answering", "lam_mcp", "lam_mcp_http", "ref_of", "shop_args"]

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "lam" / "sandbox" / "demo" / "openapi.yaml"

Elicit = ElicitationFnT  # what ClientSession takes as elicitation_callback


def shop_args(url: str, *, api: bool = True) -> list[str]:
    """`lam mcp` options for the demo shop at ``url`` (its pages, and its API with its spec)."""
    args = ["--app", f"shop={url}/"]
    if api:
        args += ["--api", f"shop={SPEC}={url}/api"]
    return args


def answering(approve: bool, asked: list[str]) -> Elicit:
    """An elicitation callback that answers every question with ``approve`` (and notes it)."""

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        if approve:
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action="decline")

    return callback


@dataclass
class Client:
    """An initialized MCP client session with lam's run id."""

    session: ClientSession
    run_id: str
    stderr: Path

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await self.session.call_tool(name, arguments)

    async def text(self, name: str, arguments: dict[str, Any]) -> str:
        """The call's text; the call must succeed."""
        result = await self.call(name, arguments)
        text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
        assert not result.isError, text
        return text


async def _initialized(session: ClientSession, stderr: Path) -> Client:
    init = await session.initialize()
    found = re.search(r"lam session (\S+):", init.instructions or "")
    assert found, init.instructions
    return Client(session, found.group(1), stderr)


@asynccontextmanager
async def lam_mcp(
    args: Sequence[str], tmp: Path, *, elicit: Elicit | None = None
) -> AsyncIterator[Client]:
    """`lam mcp ARGS` over stdio in ``tmp`` (its stderr kept in tmp/mcp-stderr.log)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "lam", "mcp", *args], env=dict(os.environ), cwd=tmp
    )
    log_path = tmp / "mcp-stderr.log"
    with log_path.open("w") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(read, write, elicitation_callback=elicit) as session,
        ):
            yield await _initialized(session, log_path)


@asynccontextmanager
async def lam_mcp_http(
    args: Sequence[str], tmp: Path, port: int, *, elicit: Elicit | None = None
) -> AsyncIterator[tuple[Client, subprocess.Popen[bytes]]]:
    """`lam mcp --http PORT ARGS` as a child process (checked to refuse a foreign Host header),
    and a client over streamable HTTP."""
    log_path = tmp / "mcp-stderr.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lam", "mcp", "--http", str(port), *args],
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            _wait_listening(port, process)
            _refuses_foreign_hosts(url)
            async with (
                streamable_http_client(url) as (read, write, _),
                ClientSession(read, write, elicitation_callback=elicit) as session,
            ):
                yield await _initialized(session, log_path), process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


def _refuses_foreign_hosts(url: str) -> None:
    """A request whose Host header is not loopback's is refused (DNS rebinding)."""
    sent = httpx.post(
        url,
        json={"jsonrpc": "2.0", "id": 0, "method": "ping"},
        headers={"Host": "rebound.test", "Accept": "application/json, text/event-stream"},
        timeout=10,
    )
    assert sent.status_code == 421, (sent.status_code, sent.text)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"lam mcp --http exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("lam mcp --http did not come up")


def ref_of(snapshot: str, pattern: str) -> str:
    """The ref of the first snapshot line that matches ``pattern`` (a regular expression)."""
    for line in snapshot.splitlines():
        if re.search(pattern, line):
            found = re.search(r"\[ref=([A-Za-z0-9]+)\]", line)
            if found:
                return found.group(1)
    raise AssertionError(f"no element matching {pattern!r} in:\n{snapshot}")
