"""`lam mcp` over stdio, driven by the official MCP Python client: the tools it lists, bad
input answered with error results while the server keeps serving, and API calls checked
against the spec before anything is sent (the demo shop's access log says what reached it)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import SPEC, lam_mcp, ref_of, shop_args
from servers import DemoServer

from lam.adapters.browser import find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

PLAYWRIGHT_MCP_TOOLS = {
    "browser_navigate",
    "browser_snapshot",
    "browser_click",
    "browser_type",
    "browser_select_option",
    "browser_press_key",
    "browser_hover",
    "browser_wait_for",
    "browser_navigate_back",
    "browser_take_screenshot",
    "browser_tabs",
}
LAM_TOOLS = {
    "api_operations",
    "api_call",
    "plan_validate",
    "plan_dry_run",
    "plan_run",
    "session_plan",
}


def test_bad_input_is_an_error_result_and_the_server_keeps_serving(
    demo: DemoServer, tmp_path: Path
) -> None:
    async def go() -> None:
        async with lam_mcp(shop_args(demo.url, api=False), tmp_path) as client:
            login = await client.text("browser_navigate", {"url": f"{demo.url}/login"})
            user = ref_of(login, "Username")
            cases: list[tuple[str, dict[str, Any], str]] = [
                ("browser_teleport", {}, "unknown tool 'browser_teleport'"),
                ("api_call", {"api": "shop"}, "unknown tool"),  # no --api: not offered
                ("browser_click", {"ref": 7}, "arguments.ref: expected string"),
                ("browser_click", {"element": "x"}, "give one of: ref, target"),
                ("browser_type", {"ref": user, "text": "a", "speed": 3}, "unknown argument speed"),
                # nothing the model sends approves: there is no argument for it
                ("browser_click", {"ref": user, "approve": True}, "unknown argument approve"),
                ("browser_navigate", {"url": ["x"]}, "arguments.url: expected string"),
                ("browser_click", {"ref": "e999"}, "not on the current page"),
                ("browser_type", {"ref": user, "text": "x" * 10_000_000}, "more than the"),
                ("browser_navigate", {"url": "file:///etc/passwd"}, "is not a URL lam can read"),
                ("browser_navigate", {"url": "http://127.0.0.2:9/"}, "outside the allowed hosts"),
            ]
            for name, arguments, expected in cases:
                result = await client.call(name, arguments)
                text = result.content[0].text  # type: ignore[union-attr]
                assert result.isError, (name, text)
                assert expected in text, (name, text)
                assert len(text) < 2_000  # a 10 MB argument is not echoed back
            # a ref from the page before: the login page's refs after moving to another page
            moved = await client.text("browser_navigate", {"url": f"{demo.url}/login?next=/x"})
            stale = await client.call("browser_click", {"element": "Username", "ref": user})
            assert stale.isError and "stale or from another page" in stale.content[0].text  # type: ignore[union-attr]
            # still serving: the page is there and a ref of it works
            typed = await client.text(
                "browser_type",
                {"element": "Username", "ref": ref_of(moved, "Username"), "text": "admin"},
            )
            assert 'value="admin"' in typed
        sent = [r["path"] for r in demo.requests()]
        assert "/x" not in sent and all(p in ("/login", "/favicon.ico") for p in sent), sent

    asyncio.run(go())


def test_tools_listed_and_api_calls_checked_against_the_spec_before_anything_is_sent(
    demo: DemoServer, tmp_path: Path
) -> None:
    async def go() -> None:
        async with lam_mcp(shop_args(demo.url), tmp_path) as client:
            listed = {t.name: t for t in (await client.session.list_tools()).tools}
            assert set(listed) == PLAYWRIGHT_MCP_TOOLS | LAM_TOOLS
            click = listed["browser_click"].inputSchema["properties"]
            assert {"element", "ref"} <= set(click)  # Playwright MCP's argument names
            assert set(listed["browser_type"].inputSchema["properties"]) >= {"text", "submit"}
            annotations = listed["browser_snapshot"].annotations
            assert annotations is not None and annotations.readOnlyHint is True
            ops = json.loads(await client.text("api_operations", {"risk": "destructive"}))
            assert {o["operation"] for o in ops["operations"]} >= {"deletePet"}
            assert all(o["verdict"] == "approve" for o in ops["operations"])
            bad = await client.call(
                "api_call",
                {
                    "api": "shop",
                    "operation": "createPet",
                    "params": {"Authorization": "Bearer x"},
                    "body": {"name": 7, "species": "dog"},
                },
            )
            text = bad.content[0].text  # type: ignore[union-attr]
            assert bad.isError and "body" in text and "name" in text, text
            unknown = await client.call("api_call", {"api": "shop", "operation": "launchRocket"})
            assert unknown.isError and "launchRocket" in unknown.content[0].text  # type: ignore[union-attr]
            assert not any(r["path"].startswith("/api/pets") for r in demo.requests())
            login = json.loads(
                await client.text(
                    "api_call",
                    {
                        "api": "shop",
                        "operation": "login",
                        "body": {"username": "admin", "password": "admin-pass"},
                    },
                )
            )
            assert login["status"] == 200 and login["body"]["token"]
            listed_pets = json.loads(
                await client.text(
                    "api_call",
                    {
                        "api": "shop",
                        "method": "get",
                        "path": "/pets",
                        "params": {"Authorization": f"Bearer {login['body']['token']}"},
                    },
                )
            )
            assert "Rex" in json.dumps(listed_pets["body"])
            # a deleting call is held like a destructive click: nothing is sent
            delete = {
                "api": "shop",
                "operation": "deletePet",
                "params": {"petId": 1, "Authorization": f"Bearer {login['body']['token']}"},
            }
            held = await client.call("api_call", delete)
            assert held.isError and "lam approve" in held.content[0].text  # type: ignore[union-attr]
        assert [r["path"] for r in demo.requests()] == ["/api/login", "/api/pets"]

    asyncio.run(go())


def test_plan_tools_validate_and_run_whole_plans_under_the_operators_approval(
    demo: DemoServer, tmp_path: Path
) -> None:
    plan = {
        "lam": 1,
        "name": "remove a pet",
        "apis": {"shop": {"spec": str(SPEC), "base_url": demo.api}},
        "steps": [
            {
                "id": "login",
                "call": "shop.login",
                "body": {"username": "admin", "password": "admin-pass"},
                "outputs": {"token": "$response.body#/token"},
            },
            {
                "id": "remove",
                "call": "shop.deletePet",
                "params": {"petId": 2, "Authorization": "Bearer {$steps.login.outputs.token}"},
            },
        ],
    }

    async def go() -> None:
        async with lam_mcp(shop_args(demo.url), tmp_path) as client:
            broken = {**plan, "steps": [{"id": "x", "call": "shop.nothing"}]}
            invalid = await client.call("plan_validate", {"plan": broken})
            assert invalid.isError and "steps[0]" in invalid.content[0].text  # type: ignore[union-attr]
            report = json.loads(await client.text("plan_validate", {"plan": plan}))
            assert [s["verdict"] for s in report["steps"]] == ["allow", "approve"]
            held = await client.call("plan_run", {"plan": plan})
            text = held.content[0].text  # type: ignore[union-attr]
            assert held.isError and "needs approval" in text, text
            found = re.search(r"lam approve \S+ (remove@[0-9a-f]{10})", text)
            assert found is not None, text
            assert not any("/api/pets" in r["path"] for r in demo.requests())
            assert main(["approve", client.run_id, found.group(1)]) == 0  # the operator
            ran = json.loads(await client.text("plan_run", {"plan": plan}))
            assert ran["status"] == "ok", ran

    asyncio.run(go())
    assert ("DELETE", "/api/pets/2") in [(r["method"], r["path"]) for r in demo.requests()]
