"""Anthropic's Messages API: ``POST {base}/v1/messages`` with one tool forced by
``tool_choice: {type: tool, name}``; the answer is the ``tool_use`` block's ``input``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from lam.adapters.llm.config import LlmConfig
from lam.adapters.llm.wire import LlmError, ToolAnswer, ToolSpec, Turn, post_json

__all__ = ["ANTHROPIC_VERSION", "AnthropicMessages"]

ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header value Anthropic documents for the Messages API."""


class AnthropicMessages:
    """A backend speaking Anthropic's Messages protocol."""

    def __init__(self, config: LlmConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self._client = client or httpx.Client(timeout=config.timeout)

    @property
    def url(self) -> str:
        return f"{self.config.base_url}/v1/messages"

    def request_body(self, system: str, turns: Sequence[Turn], tool: ToolSpec) -> dict[str, Any]:
        """The JSON body lam sends for this conversation."""
        return {
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "temperature": 0,
            "system": system,
            "messages": [self._message(turn) for turn in turns],
            "tools": [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": dict(tool.schema),
                }
            ],
            "tool_choice": {"type": "tool", "name": tool.name},
        }

    def ask(self, system: str, turns: Sequence[Turn], tool: ToolSpec) -> ToolAnswer:
        headers = {
            "content-type": "application/json",
            "x-api-key": self.config.api_key or "",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        answer = post_json(
            self._client, self.config, self.url, headers, self.request_body(system, turns, tool)
        )
        return self._answer(answer, tool)

    def _message(self, turn: Turn) -> dict[str, Any]:
        if turn.kind == "user":
            return {"role": "user", "content": turn.text}
        assert turn.answer is not None
        if turn.kind == "answer":
            return dict(turn.answer.native)
        if turn.answer.call_id:
            block = {
                "type": "tool_result",
                "tool_use_id": turn.answer.call_id,
                "content": turn.text,
                "is_error": True,
            }
            return {"role": "user", "content": [block]}
        return {"role": "user", "content": turn.text}

    def _answer(self, body: Any, tool: ToolSpec) -> ToolAnswer:
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, list):
            raise LlmError("the answer has no content list", file=self.url, code="llm-bad-answer")
        native = {"role": "assistant", "content": content}
        for block in content:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and block.get("name") == tool.name
            ):
                arguments = block.get("input")
                return ToolAnswer(
                    arguments,
                    json.dumps(arguments),
                    str(block.get("id") or ""),
                    {"role": "assistant", "content": [block]},
                )
        said = " ".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
        return ToolAnswer(None, " ".join(said.split())[:200], None, native)
