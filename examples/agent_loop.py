"""An OpenAI-compatible tool-calling agent whose hands are a ``lam.Session``.

The model gets two tools: ``observe`` (the page as text, each element with ``[ref=eN]``) and
``act`` (one step of lam's plan format; a UI target may be ``{"ref": "eN"}``). Every step is
validated, guarded and recorded by lam: a destructive step is held, and nothing the model sends
can approve it. The loop ends when the model answers without a tool call, or after
``max_turns``. Held steps are handed back to the operator with their ``STEP@DIGEST``: given
back with ``--approve`` (the Session's constructor: the operator's channel, never the model's),
it covers that step with that content only, should the agent propose it again.

It speaks the chat completions protocol over httpx, so any OpenAI-compatible server works::

    OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=... OPENAI_MODEL=... \\
    python examples/agent_loop.py --app shop=http://127.0.0.1:8321/ \\
        --api shop=specs/demo.yaml "sign in as admin (password admin-pass), rename Bella to Bea"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

import lam

__all__ = ["TOOLS", "AgentOutcome", "agent_loop", "call_tool", "main"]

SYSTEM = """You operate web apps and HTTP APIs through lam, which checks and guards every step.
Call observe to see the page: each actionable element carries [ref=eN]. Call act with one step
in lam's plan format, for example {"goto": "shop:/login"}, {"fill": {"ref": "e3"}, "value": "x"},
{"click": {"ref": "e5"}}, {"call": "shop.listPets", "params": {}}. Observe again after a page
changes. A step lam holds for approval is not done: do not try to get around it; finish and say
what is waiting for the operator. Answer in plain words when the goal is reached."""

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "observe",
            "description": "The current page as text; each actionable element has [ref=eN].",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "act",
            "description": "Take one step (lam plan format); returns its status and outputs.",
            "parameters": {
                "type": "object",
                "properties": {
                    "step": {
                        "type": "object",
                        "description": "one plan step: goto, click, fill (+value), select, "
                        "check, press, call (+params, body)...; a UI target may be "
                        '{"ref": "eN"} from the last observe',
                    }
                },
                "required": ["step"],
                "additionalProperties": False,
            },
        },
    },
]


@dataclass
class AgentOutcome:
    """How the loop ended: the model's last words, the steps lam held for the operator, and
    how many model turns it took."""

    answer: str
    held: list[lam.ActResult] = field(default_factory=list)
    turns: int = 0


def call_tool(session: lam.Session, name: str, arguments: str) -> tuple[str, lam.ActResult | None]:
    """Run one tool call; the text goes back to the model. A bad call is an error text the
    model can correct, never an exception out of the loop."""
    try:
        args = json.loads(arguments or "{}")
        if name == "observe":
            return session.observe().text(), None
        if name == "act" and isinstance(args, dict) and isinstance(args.get("step"), dict):
            result = session.act(args["step"])
            return json.dumps(result.to_json()), result
        return json.dumps({"error": f"unknown tool or bad arguments: {name} {arguments}"}), None
    except json.JSONDecodeError as exc:
        return json.dumps({"error": f"arguments are not JSON: {exc}"}), None
    except lam.LamError as exc:
        return json.dumps({"error": exc.one_line()}), None


def agent_loop(
    session: lam.Session,
    goal: str,
    *,
    base_url: str,
    api_key: str,
    model: str,
    max_turns: int = 20,
    client: httpx.Client | None = None,
) -> AgentOutcome:
    """Ask the model for tool calls and answer them through ``session`` until it is done."""
    http = client or httpx.Client(timeout=120)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": goal},
    ]
    outcome = AgentOutcome("")
    while outcome.turns < max_turns:
        if session.stop_if_killed():  # lam kill while the model was thinking: stop now
            outcome.answer = "stopped by lam kill"
            return outcome
        outcome.turns += 1
        response = http.post(
            f"{base_url.rstrip('/')}/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": model, "messages": messages, "tools": TOOLS},
        )
        response.raise_for_status()
        message = response.json()["choices"][0]["message"]
        calls = message.get("tool_calls") or []
        messages.append(
            {"role": "assistant", "content": message.get("content"), "tool_calls": calls}
            if calls
            else {"role": "assistant", "content": message.get("content") or ""}
        )
        if not calls:
            outcome.answer = message.get("content") or ""
            return outcome
        for call in calls:
            function = call["function"]
            text, result = call_tool(session, function["name"], function.get("arguments", ""))
            if result is not None and result.status is lam.ActStatus.HELD:
                outcome.held.append(result)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": text})
    outcome.answer = f"stopped after {max_turns} turns"
    return outcome


def _pairs(values: Sequence[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or ():
        name, _, rest = item.partition("=")
        spec, _, base = rest.partition("=")
        out[name] = (spec, base or None) if base else spec
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("goal")
    parser.add_argument("--app", action="append", metavar="NAME=URL")
    parser.add_argument("--api", action="append", metavar="NAME=SPEC[=BASE_URL]")
    parser.add_argument("--dry-run", action="store_true", help="every step in the sandbox")
    parser.add_argument("--approve", action="append", default=[], metavar="STEP@DIGEST")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the steps that ran here")
    args = parser.parse_args(argv)
    apps = {k: str(v) for k, v in _pairs(args.app).items()}
    with lam.Session(
        apps=apps, apis=_pairs(args.api), dry_run=args.dry_run, approvals=args.approve
    ) as session:
        outcome = agent_loop(
            session,
            args.goal,
            base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            api_key=os.environ.get("OPENAI_API_KEY", ""),
            model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        )
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(session.plan_text())
    print(outcome.answer)
    print(f"record: lam report {session.run_id}")
    for held in outcome.held:
        print(f"held for the operator: {held.step} ({held.risk}: {'; '.join(held.reasons)}); "
              f"approve with --approve {held.approval}", file=sys.stderr)  # fmt: skip
    return 3 if outcome.held else 0


if __name__ == "__main__":
    sys.exit(main())
