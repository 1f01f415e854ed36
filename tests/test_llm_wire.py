"""The LLM backends against a local server that speaks each provider's wire protocol.

The server (Starlette on 127.0.0.1) checks that every request has the provider's real shape —
path, headers, required body fields, tool call/result pairing — and answers from recorded
exchanges in tests/data/llm/. A request of the wrong shape gets the provider's 400 error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lam.adapters.llm import (
    AnthropicMessages,
    LlmActionModel,
    LlmConfig,
    LlmError,
    OpenAIChat,
    config_from_env,
    tool_spec,
)
from lam.errors import UsageError
from lam.planner.base import HistoryItem, Observation
from lam.spec import load_spec

DATA = Path(__file__).parent / "data" / "llm"
ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-not-a-real-key"

pytestmark = pytest.mark.integration


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WireServer:
    """Answers recorded exchanges in order, after checking each request's shape."""

    provider: str
    exchanges: list[dict[str, Any]]
    received: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    delay: float = 0.0

    async def handle(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(request.url.path, headers, body))
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        exchange = self.exchanges.pop(0)
        check = _check_openai if self.provider == "openai" else _check_anthropic
        found = check(request.url.path, headers, body) + _check_recorded(
            exchange["request"], request.url.path, headers, body
        )
        if found:
            self.problems += found
            return JSONResponse(_error(self.provider, "; ".join(found)), status_code=400)
        answer = exchange["response"]
        return JSONResponse(answer["body"], answer["status"], headers=answer["headers"])

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])


def _error(provider: str, message: str) -> dict[str, Any]:
    if provider == "openai":
        return {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def _check_recorded(
    recorded: Mapping[str, Any], path: str, headers: Mapping[str, str], body: Any
) -> list[str]:
    found = [] if path == recorded["path"] else [f"path {path} is not {recorded['path']}"]
    found += [f"header {h} missing" for h in recorded["headers"] if h not in headers]
    for key, want in recorded["body"].items():
        if not _subset(want, body.get(key)):
            found.append(f"{key} is {body.get(key)!r}, recorded {want!r}")
    return found


def _subset(want: Any, got: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_subset(v, got.get(k)) for k, v in want.items())
    return bool(want == got)


def _check_openai(path: str, headers: Mapping[str, str], body: Any) -> list[str]:
    found = []
    if headers.get("content-type") != "application/json":
        found.append("content-type must be application/json")
    if "authorization" in headers and not headers["authorization"].startswith("Bearer "):
        found.append("authorization must be a Bearer token")
    if not isinstance(body.get("model"), str):
        found.append("model is required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*found, "messages must be a non-empty list"]
    calls: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            found.append(f"messages[{i}].role {role!r}")
        if role == "assistant":
            for call in m.get("tool_calls") or ():
                if call.get("type") != "function" or not isinstance(
                    call.get("function", {}).get("arguments"), str
                ):
                    found.append(f"messages[{i}].tool_calls: bad call {call!r}")
                calls.add(call.get("id"))
        elif role == "tool" and m.get("tool_call_id") not in calls:
            found.append(f"messages[{i}].tool_call_id answers no earlier tool call")
        elif role != "assistant" and not isinstance(m.get("content"), str):
            found.append(f"messages[{i}].content must be text")
    if ("tools" in body) == ("response_format" in body):
        found.append("lam sends exactly one of tools and response_format")
    for tool in body.get("tools", ()):
        if tool.get("type") != "function":
            found.append("tools[].type must be function")
        Draft202012Validator.check_schema(tool["function"]["parameters"])
    if "tools" in body:
        names = {t["function"]["name"] for t in body["tools"]}
        if body.get("tool_choice", {}).get("function", {}).get("name") not in names:
            found.append("tool_choice names no tool")
    if "response_format" in body:
        Draft202012Validator.check_schema(body["response_format"]["json_schema"]["schema"])
    return found


def _check_anthropic(path: str, headers: Mapping[str, str], body: Any) -> list[str]:
    found = []
    if headers.get("anthropic-version") != "2023-06-01":
        found.append("anthropic-version header must be a documented version")
    if not headers.get("x-api-key"):
        found.append("x-api-key header is required")
    for key, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if not isinstance(body.get(key), kind):
            found.append(f"{key}: Field required")
    if found:
        return found
    if not isinstance(body.get("system", ""), str):
        found.append("system must be text")
    uses: set[str] = set()
    for i, m in enumerate(body["messages"]):
        want = "user" if i % 2 == 0 else "assistant"
        if m.get("role") != want:
            found.append(f"messages[{i}]: roles must alternate, starting with user")
        content = m.get("content")
        blocks = content if isinstance(content, list) else []
        for block in blocks:
            if block.get("type") == "tool_use":
                uses.add(block["id"])
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in uses:
                found.append(f"messages[{i}]: tool_result for an unknown tool_use id")
    names = set()
    for tool in body.get("tools", ()):
        names.add(tool.get("name"))
        if tool.get("input_schema", {}).get("type") != "object":
            found.append("tools[].input_schema must be an object schema")
        Draft202012Validator.check_schema(tool["input_schema"])
    if body.get("tool_choice", {}).get("name") not in names:
        found.append("tool_choice names no tool")
    return found


@contextmanager
def wire(provider: str, *names: str, delay: float = 0.0) -> Iterator[tuple[WireServer, str]]:
    exchanges = [json.loads((DATA / f"{n}.json").read_text()) for n in names]
    server = WireServer(provider, exchanges, delay=delay)
    with serve_app(server.app()) as url:
        yield server, url


def backend(provider: str, url: str, **options: Any) -> OpenAIChat | AnthropicMessages:
    if provider == "openai":
        config = LlmConfig("openai", "gpt-4o-mini", url + "/v1", KEY, **options)
        return OpenAIChat(config)
    config = LlmConfig("anthropic", "claude-sonnet-4-5", url, KEY, **options)
    return AnthropicMessages(config)


GOAL = Observation(goal="search for Rex", url="http://127.0.0.1:9/pets")


def recorded_args(name: str) -> Any:
    body = json.loads((DATA / f"{name}.json").read_text())["response"]["body"]
    if "choices" in body:
        message = body["choices"][0]["message"]
        raw = (
            message["tool_calls"][0]["function"]["arguments"]
            if message.get("tool_calls")
            else message["content"]
        )
        return json.loads(raw)
    return body["content"][0]["input"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_forced_tool_call_becomes_a_proposal(provider: str) -> None:
    with wire(provider, f"{provider}_search") as (server, url):
        proposal = LlmActionModel(backend(provider, url)).propose(GOAL, [])
    assert server.problems == []
    expected = recorded_args(f"{provider}_search")
    assert list(proposal.steps) == expected["steps"]
    assert proposal.confidence == pytest.approx(0.86)
    assert proposal.done and proposal.grounded
    body = server.received[0].body
    if provider == "openai":
        assert server.received[0].headers["authorization"] == f"Bearer {KEY}"
        assert body["messages"][0]["role"] == "system"
        assert body["tools"][0]["function"]["parameters"] == tool_spec().schema
    else:
        assert server.received[0].headers["x-api-key"] == KEY
        assert "propose_steps" in body["system"]
        assert body["tools"][0]["input_schema"] == tool_spec().schema


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_broken_answer_gets_one_repair_round_trip(provider: str) -> None:
    with wire(provider, f"{provider}_broken", f"{provider}_repaired") as (server, url):
        proposal = LlmActionModel(backend(provider, url)).propose(GOAL, [])
    assert server.problems == []
    assert list(proposal.steps) == [{"id": "save", "click": {"role": "button", "name": "Save"}}]
    second = server.received[1].body["messages"]
    if provider == "openai":
        answer, feedback = second[-2], second[-1]
        assert answer["tool_calls"][0]["id"] == "call_7Hq2mXb0"
        assert feedback["role"] == "tool" and feedback["tool_call_id"] == "call_7Hq2mXb0"
        text = feedback["content"]
    else:
        answer, feedback = second[-2], second[-1]
        assert answer["content"][0]["type"] == "tool_use"
        block = feedback["content"][0]
        assert block["type"] == "tool_result" and block["is_error"] is True
        text = block["content"]
    assert "steps[0]: 'id' is a required property" in text
    assert "'approved' was unexpected" in text


def test_a_second_broken_answer_fails_with_the_first_problem() -> None:
    with (
        wire("openai", "openai_two_actions", "openai_two_actions") as (server, url),
        pytest.raises(LlmError) as caught,
    ):
        LlmActionModel(backend("openai", url)).propose(GOAL, [])
    assert len(server.received) == 2
    assert caught.value.code == "llm-bad-plan"
    assert caught.value.location == "steps[0]"
    assert "exactly one action, found goto, click" in str(caught.value)


def test_prose_instead_of_a_tool_call_is_corrected_as_a_user_turn() -> None:
    with wire("openai", "openai_no_tool", "openai_repaired") as (server, url):
        proposal = LlmActionModel(backend("openai", url)).propose(GOAL, [])
    assert server.problems == []
    last = server.received[1].body["messages"][-1]
    assert last["role"] == "user"
    assert "no call of propose_steps" in last["content"]
    assert "I would click the Search button." in last["content"]
    assert proposal.steps[0]["id"] == "save"


def test_json_schema_mode_for_servers_without_tools_and_no_key_for_local_servers() -> None:
    with wire("openai", "openai_json_schema") as (server, url):
        config = LlmConfig("openai", "llama3.1:8b", url + "/v1", None, mode="json_schema")
        proposal = LlmActionModel(OpenAIChat(config)).propose(GOAL, [])
    assert server.problems == []
    sent = server.received[0]
    assert "authorization" not in sent.headers
    assert "tools" not in sent.body
    assert sent.body["response_format"]["json_schema"]["schema"] == tool_spec().schema
    assert len(proposal.steps) == 2


def test_api_steps_are_checked_against_the_observed_apis() -> None:
    spec = load_spec(ROOT / "specs" / "petstore.yaml")
    observation = Observation(goal="list available pets", apis={"petstore": spec})
    with wire("openai", "openai_api") as (server, url):
        proposal = LlmActionModel(backend("openai", url)).propose(observation, [])
    assert proposal.steps[0]["call"] == "petstore.findPetsByStatus"
    assert not proposal.done
    user = server.received[0].body["messages"][1]["content"]
    assert "petstore.findPetsByStatus = GET /pet/findByStatus" in user
    # the same answer without that API declared is a problem the model is told about
    with wire("openai", "openai_api", "openai_api") as (server, url), pytest.raises(LlmError):
        LlmActionModel(backend("openai", url)).propose(GOAL, [])
    assert "unknown api 'petstore'" in server.received[1].body["messages"][-1]["content"]


def test_ids_used_in_the_history_and_the_callers_validator_trigger_a_repair() -> None:
    history = [HistoryItem({"id": "search", "goto": "shop:/"}, "ok")]
    calls: list[Sequence[Mapping[str, Any]]] = []

    def validator(steps: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        calls.append(steps)
        return [] if len(calls) > 1 else [("steps[1]", "Search is not on this page")]

    with wire("openai", "openai_search", "openai_repaired", "openai_search", "openai_repaired") as (
        server,
        url,
    ):
        model = LlmActionModel(backend("openai", url))
        assert model.propose(GOAL, history).steps[0]["id"] == "save"
        assert "id 'search' is already used" in server.received[1].body["messages"][-1]["content"]
        with_validator = LlmActionModel(backend("openai", url), validator=validator)
        assert with_validator.propose(GOAL, []).steps[0]["id"] == "save"
    assert "Search is not on this page" in server.received[2 + 1].body["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("provider", "first"),
    [("openai", "openai_429"), ("openai", "openai_503"), ("anthropic", "anthropic_529")],
)
def test_one_retry_after_a_busy_answer(provider: str, first: str) -> None:
    with wire(provider, first, f"{provider}_search") as (server, url):
        proposal = LlmActionModel(backend(provider, url)).propose(GOAL, [])
    assert len(server.received) == 2 and len(proposal.steps) == 2


def test_a_second_server_error_is_a_clear_error() -> None:
    with (
        wire("openai", "openai_500", "openai_500") as (server, url),
        pytest.raises(LlmError) as caught,
    ):
        LlmActionModel(backend("openai", url)).propose(GOAL, [])
    assert len(server.received) == 2
    assert caught.value.code == "llm-http-500"
    assert "HTTP 500: server_error: The server had an error" in str(caught.value)


def test_http_errors_name_the_providers_message_never_the_key() -> None:
    with wire("openai", "openai_401") as (_, url), pytest.raises(LlmError) as caught:
        LlmActionModel(backend("openai", url)).propose(GOAL, [])
    text = str(caught.value)
    assert "HTTP 401: invalid_request_error: Incorrect API key provided: ***" in text
    assert KEY not in text
    with wire("anthropic", "anthropic_400") as (_, url), pytest.raises(LlmError) as caught:
        LlmActionModel(backend("anthropic", url)).propose(GOAL, [])
    assert "HTTP 400: invalid_request_error: max_tokens: Field required" in str(caught.value)


def test_a_long_retry_after_is_not_waited_out() -> None:
    with wire("openai", "openai_429") as (server, url):
        model = LlmActionModel(backend("openai", url, max_retry_wait=-1))
        with pytest.raises(LlmError, match=r"HTTP 429 \(asked to retry after 0 s\): requests"):
            model.propose(GOAL, [])
    assert len(server.received) == 1


def test_timeouts_and_unreachable_servers() -> None:
    with wire("openai", "openai_search", delay=2.0) as (_, url):
        started = time.monotonic()
        with pytest.raises(LlmError) as caught:
            LlmActionModel(backend("openai", url, timeout=0.3)).propose(GOAL, [])
        assert time.monotonic() - started < 1.5
    assert caught.value.code == "llm-timeout"
    config = LlmConfig("openai", "m", "http://127.0.0.1:9/v1", KEY, timeout=2)
    with pytest.raises(LlmError) as caught:
        LlmActionModel(OpenAIChat(config)).propose(GOAL, [])
    assert caught.value.code == "llm-unreachable"
    assert KEY not in str(caught.value)


def test_configuration_from_the_environment() -> None:
    openai = config_from_env({"OPENAI_API_KEY": KEY})
    assert (openai.provider, openai.base_url, openai.model) == (
        "openai",
        "https://api.openai.com/v1",
        "gpt-4o-mini",
    )
    assert KEY not in repr(openai)
    ollama = config_from_env(
        {
            "LAM_LLM_BASE_URL": "http://localhost:11434/v1/",
            "LAM_LLM_MODEL": "llama3.1",
            "LAM_LLM_MODE": "json_schema",
        }
    )
    assert (ollama.base_url, ollama.api_key, ollama.mode) == (
        "http://localhost:11434/v1",
        None,
        "json_schema",
    )
    claude = config_from_env(
        {"LAM_LLM": "Anthropic", "ANTHROPIC_API_KEY": KEY, "LAM_LLM_TIMEOUT": "5"}
    )
    assert (claude.base_url, claude.timeout) == ("https://api.anthropic.com", 5.0)
    for env, place in [
        ({"LAM_LLM": "gemini"}, "LAM_LLM"),
        ({}, "OPENAI_API_KEY"),
        ({"LAM_LLM": "anthropic"}, "ANTHROPIC_API_KEY"),
        ({"OPENAI_API_KEY": KEY, "LAM_LLM_TIMEOUT": "soon"}, "LAM_LLM_TIMEOUT"),
        ({"OPENAI_API_KEY": KEY, "LAM_LLM_BASE_URL": "localhost:8080"}, "LAM_LLM_BASE_URL"),
    ]:
        with pytest.raises(UsageError) as caught:
            config_from_env(env)
        assert caught.value.location == place
