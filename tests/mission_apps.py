"""Real servers on 127.0.0.1 for the mission tests: a small items API (its state in memory,
every request logged), which can fail its next creations, answer slowly, or hand out hostile
text; and a bystander that logs every request it gets (the "other host" a hostile output
points at). Plus the spec of the items API and helpers to write plans and missions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "ItemsApp",
    "LoggingApp",
    "items_server",
    "logging_server",
    "write_mission",
    "write_spec",
    "write_yaml",
]

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "items", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:1"}],
    "paths": {
        "/items": {
            "get": {
                "operationId": "listItems",
                "responses": {"200": {"description": "all items", "content": {
                    "application/json": {"schema": {"type": "array",
                                                    "items": {"$ref": "#/components/schemas/Item"}}}}}},
            },
            "post": {
                "operationId": "createItem",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewItem"}}}},
                "responses": {
                    "201": {"description": "created", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Item"}}}},
                    "503": {"description": "try again", "content": {"application/json": {
                        "schema": {"type": "object"}}}},
                },
            },
        },
        "/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "get": {
                "operationId": "getItem",
                "responses": {"200": {"description": "the item", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Item"}}}},
                    "404": {"description": "none", "content": {"application/json": {
                        "schema": {"type": "object"}}}}},
            },
            "delete": {"operationId": "deleteItem", "responses": {"204": {"description": "gone"}}},
        },
        "/notes/latest": {
            "get": {
                "operationId": "getNote",
                "responses": {"200": {"description": "the latest note", "content": {
                    "application/json": {"schema": {"type": "object"}}}}},
            }
        },
        "/slow": {
            "get": {
                "operationId": "slowRead",
                "responses": {"200": {"description": "late", "content": {"application/json": {
                    "schema": {"type": "object"}}}}},
            }
        },
    },
    "components": {"schemas": {
        "NewItem": {"type": "object", "required": ["title"],
                    "properties": {"title": {"type": "string"}, "note": {"type": "string"}}},
        "Item": {"type": "object", "required": ["id", "title"],
                 "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                                "note": {"type": "string"}}},
    }},
}  # fmt: skip


@dataclass
class ItemsApp:
    """The items API's state and request log."""

    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)
    note: dict[str, Any] = field(default_factory=dict)  # what GET /notes/latest answers
    fail_next: int = 0  # this many POST /items answer 503 before one succeeds
    slow_seconds: float = 30.0
    closing: bool = False  # set when the test is done: slow answers end at once
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def log(request: Request) -> None:
            with self.lock:
                self.hits.append((request.method, request.url.path))

        async def list_items(request: Request) -> Response:
            await log(request)
            return JSONResponse(list(self.items.values()))

        async def create(request: Request) -> Response:
            await log(request)
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "busy, try again"}, status_code=503)
            body = await request.json()
            with self.lock:
                new_id = max(self.items, default=0) + 1
                self.items[new_id] = {"id": new_id, **body}
            return JSONResponse(self.items[new_id], status_code=201)

        async def get_item(request: Request) -> Response:
            await log(request)
            found = self.items.get(int(request.path_params["id"]))
            return JSONResponse(found or {}, status_code=200 if found else 404)

        async def delete_item(request: Request) -> Response:
            await log(request)
            self.items.pop(int(request.path_params["id"]), None)
            return Response(status_code=204)

        async def note(request: Request) -> Response:
            await log(request)
            return JSONResponse(self.note)

        async def slow(request: Request) -> Response:
            await log(request)
            waited = 0.0
            while waited < self.slow_seconds and not self.closing:  # the server may stop
                await asyncio.sleep(0.1)
                waited += 0.1
            return JSONResponse({})

        async def page(request: Request) -> Response:
            await log(request)
            found = self.items.get(int(request.path_params["id"]))
            title = found["title"] if found else "no such item"
            return HTMLResponse(f"<html><body><h1>Item</h1><p id=title>{title}</p></body></html>")

        return Starlette(routes=[
            Route("/items", list_items, methods=["GET"]),
            Route("/items", create, methods=["POST"]),
            Route("/items/{id:int}", get_item, methods=["GET"]),
            Route("/items/{id:int}", delete_item, methods=["DELETE"]),
            Route("/notes/latest", note, methods=["GET"]),
            Route("/slow", slow, methods=["GET"]),
            Route("/pages/items/{id:int}", page, methods=["GET"]),
        ])  # fmt: skip


@dataclass
class LoggingApp:
    """Answers everything with 200 and logs it: what reached the host nobody declared."""

    hits: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.hits.append((request.method, request.url.path))
            return JSONResponse({"ok": True})

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", anything, methods=methods)])


@contextmanager
def items_server() -> Iterator[ItemsApp]:
    state = ItemsApp()
    with serve_app(state.app()) as url:
        state.url = url
        try:
            yield state
        finally:
            state.closing = True


@contextmanager
def logging_server() -> Iterator[tuple[LoggingApp, str]]:
    state = LoggingApp()
    with serve_app(state.app()) as url:
        yield state, url


def write_spec(folder: Path, base_url: str) -> Path:
    spec = dict(SPEC, servers=[{"url": base_url}])
    path = folder / "items.openapi.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_mission(folder: Path, title: str, workflows: list[dict[str, Any]], **x_lam: Any) -> Path:
    """``folder/mission.yaml``: an Arazzo mission over the items API (its spec written by
    :func:`write_spec` beside it) with these workflows and, given any, these ``x-lam``
    settings (``on_failure``, ``apis``...)."""
    return write_yaml(folder / "mission.yaml", {
        "arazzo": "1.0.1",
        "info": {"title": title, "version": "1"},
        "sourceDescriptions": [{"name": "items", "url": "./items.openapi.yaml", "type": "openapi"}],
        **({"x-lam": x_lam} if x_lam else {}),
        "workflows": workflows,
    })  # fmt: skip
