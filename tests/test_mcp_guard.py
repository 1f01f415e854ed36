"""`lam mcp`'s guard, driven over stdio by the official MCP client against the demo shop: a
record changed through snapshot refs (the shop's database shows it), a destructive click held
with nothing reaching the shop (its access log shows it) until a person says yes through
elicitation or the operator runs `lam approve`, and the session's record and plan afterwards:
`lam verify` passes (the person's no is in it), and `lam replay` of the session's plan does the
same to a fresh shop."""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from mcp_harness import Client, lam_mcp, ref_of, shop_args
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.runtime.record import read_trace, runs_root

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


def pet_names(server: DemoServer) -> set[str]:
    with sqlite3.connect(server.db) as db:
        return {row[0] for row in db.execute("SELECT name FROM pets")}


async def sign_in(client: Client, url: str) -> str:
    """Log in through the login page's refs; the pets list's snapshot."""
    page = await client.text("browser_navigate", {"url": f"{url}/login"})
    page = await client.text(
        "browser_type", {"element": "Username", "ref": ref_of(page, "Username"), "text": "admin"}
    )
    return await client.text(
        "browser_type",
        {
            "element": "Password",
            "ref": ref_of(page, "Password"),
            "text": "admin-pass",
            "submit": True,
        },
    )


def test_rename_through_refs_then_the_record_verifies_and_the_plan_replays(
    demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> tuple[str, str]:
        async with lam_mcp(shop_args(demo.url), tmp_path) as client:
            pets = await sign_in(client, demo.url)
            edit = await client.text(
                "browser_click", {"element": "Edit Rex", "ref": ref_of(pets, r'"Edit Rex"')}
            )
            edit = await client.text(
                "browser_type",
                {"element": "Name", "ref": ref_of(edit, r'textbox "Name"'), "text": "Rexy"},
            )
            await client.text("browser_click", {"element": "Save", "ref": ref_of(edit, "Save")})
            plan = await client.text("session_plan", {})
            return client.run_id, plan

    run_id, plan = asyncio.run(go())
    assert "Rexy" in pet_names(demo) and "Rex" not in pet_names(demo)
    assert main(["verify", run_id]) == 0
    assert "$secrets.PASSWORD" in plan and "admin-pass" not in plan  # typed password kept out
    # the session's plan, replayed by `lam replay` against a fresh shop: the same change there
    path = Path(re.search(r"# lam replay (\S+)", plan).group(1))  # type: ignore[union-attr]
    with start_demo(tmp_path / "fresh") as fresh:
        monkeypatch.setenv("PASSWORD", "admin-pass")
        argv = ["replay", str(path), "--app", f"shop={fresh.url}/", "--api", f"shop={fresh.api}"]
        assert main([*argv, "--no-prompt"]) == 0
        assert "Rexy" in pet_names(fresh) and "Rex" not in pet_names(fresh)


def test_a_destructive_click_is_held_until_the_operator_approves(
    demo: DemoServer, tmp_path: Path
) -> None:
    async def go() -> None:
        async with lam_mcp(shop_args(demo.url), tmp_path) as client:  # no elicitation
            pets = await sign_in(client, demo.url)
            delete = {"element": "Delete Rex", "ref": ref_of(pets, r'"Delete Rex"')}
            held = await client.call("browser_click", delete)
            text = held.content[0].text  # type: ignore[union-attr]
            assert held.isError and "held for approval" in text and "destructive" in text, text
            approval = re.search(r"lam approve (\S+) (\S+@[0-9a-f]{10})", text)
            assert approval is not None and approval.group(1) == client.run_id, text
            assert not any("/delete" in r["path"] for r in demo.requests())  # nothing reached it
            # a grant for another digest (what the agent might forge) grants nothing
            assert main(["approve", client.run_id, approval.group(2)[:-10] + "0" * 10]) == 0
            again = await client.call("browser_click", delete)
            assert again.isError and not any("/delete" in r["path"] for r in demo.requests())
            assert main(["approve", client.run_id, approval.group(2)]) == 0  # the operator
            confirm = await client.text("browser_click", delete)
            assert "Yes, delete" in confirm
            # the grant was used up: the next destructive step is held again
            yes = await client.call("browser_click", {"ref": ref_of(confirm, "Yes, delete")})
            assert yes.isError and "held for approval" in yes.content[0].text  # type: ignore[union-attr]

    asyncio.run(go())
    paths = [(r["method"], r["path"]) for r in demo.requests()]
    assert ("GET", "/pets/1/delete") in paths and ("POST", "/pets/1/delete") not in paths
    assert "Rex" in pet_names(demo)


def test_elicitation_asks_the_person_and_acts_only_on_yes(demo: DemoServer, tmp_path: Path) -> None:
    asked: list[str] = []
    answers = [False, True, True]  # Delete Rex: no; Delete Bella: yes; "Yes, delete": yes

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        if answers.pop(0):
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action="decline")

    async def go() -> str:
        async with lam_mcp(shop_args(demo.url), tmp_path, elicit=answer) as client:
            pets = await sign_in(client, demo.url)
            rex = {"element": "Delete Rex", "ref": ref_of(pets, r'"Delete Rex"')}
            declined = await client.call("browser_click", rex)
            text = declined.content[0].text  # type: ignore[union-attr]
            assert declined.isError and "not approved by the person" in text, text
            assert not any("/delete" in r["path"] for r in demo.requests())
            bella = {"element": "Delete Bella", "ref": ref_of(pets, r'"Delete Bella"')}
            confirm = await client.text("browser_click", bella)
            done = await client.text("browser_click", {"ref": ref_of(confirm, "Yes, delete")})
            assert "Bella" not in done and "Rex" in done
            return client.run_id

    run_id = asyncio.run(go())
    assert len(asked) == 3 and answers == []
    assert "Delete Rex" in asked[0] and "destructive" in asked[0]
    assert re.search(r"s\d+_click@[0-9a-f]{10}", asked[0]), asked[0]  # the step's digest
    assert "Rex" in pet_names(demo) and "Bella" not in pet_names(demo)
    deletes = [(r["method"], r["path"]) for r in demo.requests() if "/delete" in r["path"]]
    assert deletes == [("GET", "/pets/2/delete"), ("POST", "/pets/2/delete")], deletes
    # the record keeps each answer, the no included, and still verifies
    decisions = [
        (e["decision"], e["channel"], e["approval"])
        for e in read_trace(runs_root() / run_id / "trace.jsonl")
        if e["type"] == "decision"
    ]
    assert [(d, c) for d, c, _ in decisions] == [
        ("declined", "elicitation"), ("approved", "elicitation"), ("approved", "elicitation")
    ]  # fmt: skip
    assert decisions[0][2] in asked[0]  # the no is about the step the person was shown
    assert main(["verify", run_id]) == 0


def test_in_a_dry_run_every_browser_tool_works_and_nothing_changes_the_shop(
    demo: DemoServer, tmp_path: Path
) -> None:
    async def go() -> str:
        async with lam_mcp([*shop_args(demo.url), "--dry-run"], tmp_path) as client:
            pets = await sign_in(client, demo.url)  # signing in reaches the shop, as in lam dry-run
            status = {"element": "Status", "ref": ref_of(pets, "combobox"), "values": ["Pending"]}
            page = await client.text("browser_select_option", status)
            assert 'value="Pending"' in page
            go_filter = {"element": "Filter", "ref": ref_of(page, '"Filter"')}
            await client.text("browser_hover", go_filter)
            page = await client.text("browser_click", go_filter)
            assert "status=pending" in page and "Milo" in page and '"Rex"' not in page
            await client.text("browser_wait_for", {"text": "Milo"})
            await client.text("browser_wait_for", {"textGone": "Nothing at all"})
            await client.text("browser_wait_for", {"time": 0.1})
            await client.text("browser_press_key", {"key": "Tab"})
            await client.text("browser_navigate", {"url": f"{demo.url}/orders"})
            back = await client.text("browser_navigate_back", {})
            assert "status=pending" in back
            tabs = await client.text("browser_tabs", {"action": "list"})
            assert "status=pending" in tabs
            shot = await client.call("browser_take_screenshot", {})
            image = shot.content[1]
            assert isinstance(image, types.ImageContent) and image.mimeType == "image/png"
            assert base64.b64decode(image.data)[:8] == b"\x89PNG\r\n\x1a\n"
            page = await client.text("browser_navigate", {"url": f"{demo.url}/pets"})
            rex = {"element": "Delete Rex", "ref": ref_of(page, r'"Delete Rex"')}
            # not held for a person: the sandbox holds what the click sends, and answers it
            return await client.text("browser_click", rex)

    said = asyncio.run(go())
    assert "Delete Rex" in said and "Rex" in pet_names(demo)
    assert not any("/delete" in r["path"] for r in demo.requests())
