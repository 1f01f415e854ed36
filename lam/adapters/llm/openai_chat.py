"""The OpenAI-compatible chat API: OpenAI, Ollama, vLLM, llama.cpp server and the like.

``POST {base}/chat/completions`` with one function tool and ``tool_choice`` forcing it; or, for
servers without tool calling (``mode="json_schema"``), ``response_format`` of type
``json_schema`` with the same schema, the answer then being the message's content.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from lam.adapters.llm.config import LlmConfig
from lam.adapters.llm.wire import LlmError, ToolAnswer, ToolSpec, Turn, post_json

__all__ = ["OpenAIChat"]


class OpenAIChat:
    """A backend speaking OpenAI's chat completions protocol."""

    def __init__(self, config: LlmConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self._client = client or httpx.Client(timeout=config.timeout)

    @property
    def url(self) -> str:
        return f"{self.config.base_url}/chat/completions"

    def request_body(self, system: str, turns: Sequence[Turn], tool: ToolSpec) -> dict[str, Any]:
        """The JSON body lam sends for this conversation."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for turn in turns:
            messages += self._messages(turn)
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
            "temperature": 0,
        }
        if self.config.mode == "tools":
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": dict(tool.schema),
                    },
                }
            ]
            body["tool_choice"] = {"type": "function", "function": {"name": tool.name}}
        else:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": tool.name, "schema": dict(tool.schema)},
            }
        return body

    def ask(self, system: str, turns: Sequence[Turn], tool: ToolSpec) -> ToolAnswer:
        headers = {"content-type": "application/json"}
        if self.config.api_key:
            headers["authorization"] = f"Bearer {self.config.api_key}"
        answer = post_json(
            self._client, self.config, self.url, headers, self.request_body(system, turns, tool)
        )
        return self._answer(answer, tool)

    def _messages(self, turn: Turn) -> list[dict[str, Any]]:
        if turn.kind == "user":
            return [{"role": "user", "content": turn.text}]
        assert turn.answer is not None
        native = dict(turn.answer.native)
        if turn.kind == "answer":
            return [native]
        if turn.answer.call_id and self.config.mode == "tools":
            return [{"role": "tool", "tool_call_id": turn.answer.call_id, "content": turn.text}]
        return [{"role": "user", "content": turn.text}]

    def _answer(self, body: Any, tool: ToolSpec) -> ToolAnswer:
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise LlmError(
                "the answer has no choices[0].message", file=self.url, code="llm-bad-answer"
            ) from None
        if not isinstance(message, dict):
            raise LlmError(
                "choices[0].message is not an object", file=self.url, code="llm-bad-answer"
            )
        native = {k: v for k, v in message.items() if k in ("role", "content", "tool_calls")}
        native.setdefault("role", "assistant")
        if self.config.mode == "json_schema":
            raw = message.get("content") or ""
            return ToolAnswer(_loads(raw), str(raw), None, native)
        calls = [
            c
            for c in message.get("tool_calls") or ()
            if isinstance(c, dict) and (c.get("function") or {}).get("name") == tool.name
        ]
        if not calls:
            said = " ".join(str(message.get("content") or "").split())[:200]
            return ToolAnswer(None, said, None, native)
        call = calls[0]
        raw = call["function"].get("arguments") or ""
        arguments = raw if isinstance(raw, dict) else _loads(str(raw))
        native["tool_calls"] = [call]
        return ToolAnswer(
            arguments,
            raw if isinstance(raw, str) else json.dumps(raw),
            str(call.get("id") or ""),
            native,
        )


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None
