"""What every model backend shares: the conversation shapes, and one careful HTTP POST.

A backend turns a system prompt, a list of :class:`Turn` and a :class:`ToolSpec` into its
provider's request, and the provider's answer into a :class:`ToolAnswer` (the arguments of the
forced tool call). :func:`post_json` does the HTTP: a timeout, one retry on 429 and 5xx that
honours ``Retry-After``, and a :class:`LlmError` naming the status and the provider's own error
message — never the key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from lam.adapters.llm.config import LlmConfig
from lam.errors import LamError
from lam.http_retry import retry_after

__all__ = ["LlmBackend", "LlmError", "ToolAnswer", "ToolSpec", "Turn", "post_json"]


class LlmError(LamError):
    """The model's server failed, refused, or answered something lam cannot use."""


@dataclass(frozen=True)
class ToolSpec:
    """The one tool the model must call: its name, what it is for, and its JSON Schema."""

    name: str
    description: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class ToolAnswer:
    """What the model answered: the tool arguments (parsed, or ``None`` when they were not
    JSON), the raw text, and the provider's own assistant message for a repair round-trip."""

    arguments: Any
    raw: str
    call_id: str | None = None
    native: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation: lam's text, or a model answer, or lam's correction of
    that answer (``text`` then holds the validation errors)."""

    kind: Literal["user", "answer", "correction"]
    text: str = ""
    answer: ToolAnswer | None = None


class LlmBackend(Protocol):
    """One provider's wire protocol."""

    config: LlmConfig

    def ask(self, system: str, turns: Sequence[Turn], tool: ToolSpec) -> ToolAnswer:
        """Send the conversation, forcing ``tool``; return the call's arguments."""
        ...


_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})


def post_json(
    client: httpx.Client,
    config: LlmConfig,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
) -> Any:
    """POST ``body`` as JSON and return the decoded JSON answer, retrying once when the
    server is busy or failing (429, 5xx), after its ``Retry-After`` (capped)."""
    response = _send(client, config, url, headers, body)
    if response.status_code in _RETRY_STATUSES:
        asked = retry_after(response.headers.get("retry-after"))
        wait = 1.0 if asked is None else asked
        if wait > config.max_retry_wait:
            raise _http_error(config, url, response, f" (asked to retry after {wait:.0f} s)")
        time.sleep(wait)
        response = _send(client, config, url, headers, body)
    if response.status_code >= 400:
        raise _http_error(config, url, response, "")
    try:
        return response.json()
    except ValueError:
        raise LlmError(
            f"the model server answered {response.status_code} with a body that is not JSON",
            file=url,
            code="llm-bad-answer",
        ) from None


def _send(
    client: httpx.Client,
    config: LlmConfig,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
) -> httpx.Response:
    try:
        return client.post(url, headers=dict(headers), content=json.dumps(body).encode())
    except httpx.TimeoutException:
        raise LlmError(
            f"the model server did not answer within {config.timeout:g} s",
            file=url,
            code="llm-timeout",
        ) from None
    except httpx.HTTPError as exc:
        raise LlmError(
            f"cannot reach the model server: {config.redact(str(exc))}",
            file=url,
            code="llm-unreachable",
        ) from None


def _http_error(config: LlmConfig, url: str, response: httpx.Response, extra: str) -> LlmError:
    detail = _provider_message(response)
    text = f"the model server answered HTTP {response.status_code}{extra}"
    if detail:
        text += f": {detail}"
    return LlmError(config.redact(text), file=url, code=f"llm-http-{response.status_code}")


def _provider_message(response: httpx.Response) -> str:
    """The message in OpenAI's ``{"error": {"message"}}`` or Anthropic's
    ``{"type": "error", "error": {"type", "message"}}``, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind = error.get("type")
        message = str(error.get("message", ""))
        return f"{kind}: {message}" if kind and message else message or str(kind or "")
    if isinstance(error, str):
        return error[:200]
    return json.dumps(body)[:200]
