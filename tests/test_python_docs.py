"""docs/python.md runs as written, and examples/agent_loop.py drives a lam.Session for a model
behind an OpenAI-compatible server.

The docs' ``python`` blocks run in order as one script from the repository's root, against a
fresh demo shop (its URL put in place of the default port's), and the shop's database shows
what they did. The agent loop talks to a local server that speaks the chat completions wire
protocol: it checks each request's shape and answers as a model would, choosing its next tool
calls from what the tools returned (refs read off the snapshot text).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from servers import DemoServer, serve_app, start_demo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import lam
from lam.adapters.browser import find_chromium

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python.md"
DEFAULT = "http://127.0.0.1:8321"
DEMO_SPEC = ROOT / "specs" / "demo.yaml"


def pets(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, name FROM pets").fetchall())


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_python_docs_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6 and all(DEFAULT not in b or "8321" in b for b in blocks)
    monkeypatch.chdir(ROOT)
    with start_demo(tmp_path) as shop:
        before = pets(shop.db)
        namespace: dict[str, Any] = {"__name__": "docs_python_md"}
        for number, block in enumerate(blocks, 1):
            code = compile(block.replace(DEFAULT, shop.url), f"{DOC.name} block {number}", "exec")
            exec(code, namespace)
        after = pets(shop.db)
    # the live run added Muffin and renamed it Pancake (the dry run changed nothing: one only)
    assert list(after.values()).count("Pancake") == 1 and "Muffin" not in after.values()
    assert after[1] == "Rexina"  # renamed by the session
    assert set(before) - set(after) == {2, 5}  # 5 by lam.run with approval, 2 by the session
    out = capsys.readouterr().out
    assert "[ref=e" in out and "not started: remove needs approval" in out
    session = namespace["session"]
    assert session.closed and session.result.status == "ok"
    approvals = namespace["approvals"]
    assert len(approvals) == 2 and approvals[0] == namespace["held"].approval


# -- the agent loop against a chat completions server ----------------------------------------


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_loop", ROOT / "examples" / "agent_loop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@dataclass
class ScriptedModel:
    """A chat completions server whose "model" signs in, renames a pet, then tries to delete
    one; it reads refs off the observe tool's text, as a model would."""

    victim: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def handle(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        self.requests.append(body)
        self.problems += shape_problems(dict(request.headers), body)
        if self.problems:
            error = {"message": "; ".join(self.problems), "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=400)
        return JSONResponse(self.answer(body["messages"]))

    def answer(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        turn = sum(1 for m in messages if m["role"] == "assistant")
        last = [m["content"] for m in messages if m["role"] == "tool"]
        page = last[-1] if last else ""

        def ref(name: str) -> str:
            found = re.search(rf'"{re.escape(name)}"[^\n]*\[ref=(e\d+)\]', page)
            assert found, page
            return found.group(1)

        script: list[list[tuple[str, dict[str, Any]]]] = [
            [("act", {"step": {"goto": "shop:/login"}})],
            [("observe", {})],
            [
                ("act", {"step": {"fill": {"ref": "USER"}, "value": "admin"}}),
                ("act", {"step": {"fill": {"ref": "PASS"}, "value": "admin-pass"}}),
                ("act", {"step": {"click": {"ref": "LOGIN"}}}),
            ],
            [("act", {"step": {"goto": "shop:/pets/4/edit"}}), ("observe", {})],
            [
                ("act", {"step": {"fill": {"ref": "NAME"}, "value": "Lunette"}}),
                ("act", {"step": {"click": {"ref": "SAVE"}, "expect": {"text": "Lunette"}}}),
            ],
            [("act", {"step": {"goto": f"shop:/pets/{self.victim}"}}), ("observe", {})],
            [("act", {"step": {"click": {"ref": "DELETE"}}})],
            [("act", {"step": {"clik": "oops"}})],  # a malformed step: an error to correct
        ]
        if turn >= len(script):
            return completion({"role": "assistant", "content": "Renamed Luna; delete is held."})
        names = {"USER": "Username", "PASS": "Password", "LOGIN": "Log in", "NAME": "Name",
                 "SAVE": "Save", "DELETE": "Delete"}  # fmt: skip
        calls = []
        for n, (tool, args) in enumerate(script[turn]):
            text = json.dumps(args)
            for key, name in names.items():
                if f'"{key}"' in text:
                    text = text.replace(f'"{key}"', f'"{ref(name)}"')
            calls.append({"id": f"call_{turn}_{n}", "type": "function",
                          "function": {"name": tool, "arguments": text}})  # fmt: skip
        return completion({"role": "assistant", "content": None, "tool_calls": calls})


def completion(message: dict[str, Any]) -> dict[str, Any]:
    reason = "tool_calls" if message.get("tool_calls") else "stop"
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": reason}]}  # fmt: skip


def shape_problems(headers: dict[str, str], body: dict[str, Any]) -> list[str]:
    """What a chat completions server refuses: the checks of tests/test_llm_wire.py, for a
    client that sends tools and answers each tool call."""
    found = []
    if not headers.get("authorization", "").startswith("Bearer "):
        found.append("authorization must be a Bearer token")
    if not isinstance(body.get("model"), str):
        found.append("model is required")
    calls: set[str] = set()
    for i, m in enumerate(body.get("messages") or [{"role": None}]):
        if m.get("role") not in ("system", "user", "assistant", "tool"):
            found.append(f"messages[{i}].role")
        if m.get("role") == "assistant":
            for call in m.get("tool_calls") or ():
                if not isinstance(call["function"]["arguments"], str):
                    found.append(f"messages[{i}]: arguments must be a string")
                calls.add(call["id"])
        elif m.get("role") == "tool" and m.get("tool_call_id") not in calls:
            found.append(f"messages[{i}].tool_call_id answers no earlier tool call")
        elif m.get("role") != "assistant" and not isinstance(m.get("content"), str):
            found.append(f"messages[{i}].content must be text")
    for tool in body.get("tools") or ():
        if tool.get("type") != "function" or "parameters" not in tool["function"]:
            found.append("tools[] must be functions with parameters")
    return found


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoServer]:
    with start_demo(tmp_path) as server:
        yield server


def test_the_agent_loop_example_acts_through_the_session_and_cannot_approve(
    shop: DemoServer,
) -> None:
    example = load_example()
    model = ScriptedModel(victim=3)
    app = Starlette(routes=[Route("/v1/chat/completions", model.handle, methods=["POST"])])
    seen = len(shop.requests())
    with serve_app(app) as url, lam.Session(
        apps={"shop": shop.url + "/"}, apis={"shop": (DEMO_SPEC, shop.api)}
    ) as session:  # fmt: skip
        outcome = example.agent_loop(
            session, "rename Luna to Lunette, then delete Milo",
            base_url=url + "/v1", api_key="sk-test", model="m",
        )  # fmt: skip
    assert model.problems == []
    assert outcome.answer == "Renamed Luna; delete is held." and outcome.turns == 9
    assert pets(shop.db)[4] == "Lunette" and 3 in pets(shop.db)
    posted = [r["path"] for r in shop.requests()[seen:] if r["method"] == "POST"]
    assert "/pets/4/edit" in posted and not any("delete" in p for p in posted)
    [held] = outcome.held
    assert held.risk == "destructive" and held.approval.startswith(f"{held.step}@")
    answers = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert any("[ref=e" in a for a in answers)
    assert json.loads(answers[-2])["status"] == "held"
    assert "unknown key 'clik'" in json.loads(answers[-1])["error"]
    assert session.result.status == "ok" and "clik" not in session.plan_text()
