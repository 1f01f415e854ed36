"""A dry run's outputs and success criteria on answers the sandbox made up from the spec: what
the made-up body lacks is *unchecked*, known after a live run (a placeholder value, a note on
the step), never a failure of the dry run and never counted as holding; what the spec states
(the status) is still checked; a live run is as strict as ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import lam
from lam.errors import StepFailed

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tokens", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:1/"}],
    "paths": {
        # as oauth.openapi.yaml in Arazzo's examples: a 200 declared without a body
        "/token": {"post": {"operationId": "getToken",
                            "responses": {"200": {"description": "a token"}}}},
        "/items/{id}": {"get": {
            "operationId": "getItem",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "an item", "content": {"application/json": {
                "schema": {"type": "object", "required": ["name"],
                           "properties": {"name": {"type": "string", "example": "Lamp"}}}}}}},
        }},
    },
}  # fmt: skip

TOKEN_STEP: dict[str, Any] = {
    "id": "token",
    "call": "tokens.getToken",
    "successCriteria": [
        {"condition": "$statusCode == 200"},
        {"context": "$response.body", "condition": "$[?@.access_token]", "type": "jsonpath"},
    ],
    "outputs": {"token": "$response.body#/access_token"},
}
ITEM_STEP: dict[str, Any] = {
    "id": "item",
    "call": "tokens.getItem",
    "params": {"id": "$steps.token.outputs.token"},
    "outputs": {"name": "$response.body#/name"},
}


def plan(tmp: Path, steps: list[dict[str, Any]]) -> Path:
    (tmp / "tokens.yaml").write_text(yaml.safe_dump(SPEC))
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump({
        "lam": 1, "name": "stand-in", "apis": {"tokens": {"spec": "tokens.yaml"}},
        "steps": steps,
    }, sort_keys=False))  # fmt: skip
    return path


def test_what_a_made_up_body_lacks_is_unchecked_and_later_steps_run(tmp_path: Path) -> None:
    result = lam.dry_run(plan(tmp_path, [TOKEN_STEP, ITEM_STEP]), runs_dir=tmp_path / "runs")
    assert result.status == "ok" and result.exit_code == 0, result.error
    token, item = result.steps
    assert len(token.unchecked) == 2, token.unchecked  # the output and the body criterion
    assert token.unchecked[0].startswith("outputs.token: $response.body#/access_token")
    assert "known after a live run" in token.unchecked[0]
    assert token.unchecked[1].startswith("successCriteria[1]:")
    assert not any("$statusCode" in note for note in token.unchecked)  # the status held
    assert item.unchecked == ()  # the spec's example gives the name: checked as usual
    assert result.unchecked == 2


def test_a_status_the_spec_does_not_give_still_fails_the_dry_run(tmp_path: Path) -> None:
    wrong = {**TOKEN_STEP, "successCriteria": [{"condition": "$statusCode == 201"}]}
    result = lam.dry_run(plan(tmp_path, [wrong]), runs_dir=tmp_path / "runs")
    assert result.status == "failed" and isinstance(result.error, StepFailed)
    assert result.error.location == "steps[0].successCriteria[0]"


@pytest.fixture
def server() -> Iterator[str]:
    async def token(_: Request) -> JSONResponse:
        return JSONResponse({"token_type": "bearer"})  # no access_token: the live answer

    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"]})  # no name, live

    app = Starlette(routes=[
        Route("/token", token, methods=["POST"]), Route("/items/{id}", item, methods=["GET"]),
    ])  # fmt: skip
    with serve_app(app) as url:
        yield url


def test_a_live_run_is_as_strict_as_ever(tmp_path: Path, server: str) -> None:
    result = lam.run(
        plan(tmp_path, [TOKEN_STEP]), apis={"tokens": server}, runs_dir=tmp_path / "runs"
    )
    assert result.status == "failed" and isinstance(result.error, StepFailed)
    assert "access_token" in result.error.message and result.steps[0].unchecked == ()


def test_a_live_read_in_a_dry_run_is_checked_as_live(tmp_path: Path, server: str) -> None:
    read = {**ITEM_STEP, "params": {"id": "7"}}
    result = lam.dry_run(
        plan(tmp_path, [read]), apis={"tokens": server}, reads="live", runs_dir=tmp_path / "runs"
    )
    assert result.status == "failed" and isinstance(result.error, StepFailed)
    assert "name" in result.error.message and result.steps[0].unchecked == ()
