"""`lam mcp --http PORT`: the same tools over streamable HTTP on 127.0.0.1, the person asked
through elicitation on the tool call's own stream, and `lam kill` stopping the session like
any run (exit 4, a record that verifies and says it was killed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from mcp_harness import answering, lam_mcp_http, ref_of, shop_args
from servers import DemoServer, free_port

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.runtime.record import read_trace, runs_root

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


def test_streamable_http_elicitation_and_lam_kill(demo: DemoServer, tmp_path: Path) -> None:
    asked: list[str] = []
    port = free_port()

    async def go() -> tuple[str, int | None]:
        async with lam_mcp_http(
            shop_args(demo.url, api=False), tmp_path, port, elicit=answering(True, asked)
        ) as (client, process):
            # one MCP session per process: a second client is refused (the harness checked,
            # before the first one connected, that a foreign Host header is refused: rebinding)
            initialize = {
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "second", "version": "0"}},
            }  # fmt: skip
            accept = {"Accept": "application/json, text/event-stream"}
            async with httpx.AsyncClient(timeout=10) as raw:
                second = await raw.post(f"http://127.0.0.1:{port}/mcp", json=initialize,
                                        headers=accept)  # fmt: skip
                assert second.status_code == 503 and "sessions" in second.text, second.text
            listed = {t.name for t in (await client.session.list_tools()).tools}
            assert "browser_click" in listed and "api_call" not in listed
            page = await client.text("browser_navigate", {"url": f"{demo.url}/login"})
            page = await client.text(
                "browser_type",
                {"ref": ref_of(page, "Username"), "element": "Username", "text": "admin"},
            )
            page = await client.text(
                "browser_type",
                {
                    "ref": ref_of(page, "Password"),
                    "element": "Password",
                    "text": "admin-pass",
                    "submit": True,
                },
            )
            confirm = await client.text(
                "browser_click", {"element": "Delete Rex", "ref": ref_of(page, r'"Delete Rex"')}
            )
            assert "Yes, delete" in confirm and len(asked) == 1
            assert main(["kill", client.run_id]) == 0  # from the operator's terminal
            code = process.wait(timeout=20)
            return client.run_id, code

    run_id, code = asyncio.run(go())
    assert code == 4
    assert main(["verify", run_id]) == 0
    trace = runs_root() / run_id / "trace.jsonl"
    events = list(read_trace(trace))
    kinds = [e.get("event") or e.get("type") for e in events]
    assert "killed" in kinds, kinds
    assert events[-1].get("status") == "killed", events[-1]
    assert ("GET", "/pets/1/delete") in [(r["method"], r["path"]) for r in demo.requests()]
