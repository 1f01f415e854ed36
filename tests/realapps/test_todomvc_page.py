"""TodoMVC (vanilla JS, npm) through lam's browser adapter, reading the app's localStorage:
what lam's actions did is what the app stored; the destroy button, an icon-only control shown
on hover, is found, read by the guard as destructive, and removes exactly its todo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page
from servers import serve_directory

from lam.adapters.browser import BrowserSession, find_chromium, guard_facts, perform, resolve_target
from lam.risk import classify_ui
from lam.types import Risk

from .apps import NODE_MODULES, npm_missing

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

VANILLA = NODE_MODULES / "todomvc" / "examples" / "vanillajs"
NEW = {"placeholder": "What needs to be done?"}


@pytest.fixture(scope="module")
def todomvc() -> Iterator[str]:
    missing = npm_missing("todomvc")
    if missing:
        pytest.fail(missing)
    with serve_directory(VANILLA) as url:
        yield url


@pytest.fixture
def page(session: BrowserSession, todomvc: str) -> Page:
    session.new_context()
    session.page.goto(todomvc + "index.html")
    return session.page


def stored(page: Page) -> list[dict[str, Any]]:
    raw = page.evaluate("() => localStorage.getItem('todos-vanillajs')")
    return list(json.loads(raw)["todos"]) if raw else []


def add(page: Page, *titles: str) -> None:
    for title in titles:
        perform(page, "fill", NEW, title, timeout_ms=2_000)
        perform(page, "press", NEW, "Enter", timeout_ms=2_000)


def test_added_and_completed_todos_are_what_the_app_stored(page: Page) -> None:
    add(page, "Buy milk", "Bake bread")
    perform(page, "check", {"css": "#todo-list li:nth-child(2) input.toggle"}, timeout_ms=2_000)
    assert [(t["title"], t["completed"]) for t in stored(page)] == [
        ("Buy milk", False),
        ("Bake bread", True),
    ]


def test_the_destroy_button_is_destructive_and_removes_its_todo(page: Page) -> None:
    add(page, "Buy milk", "Brew tea")
    perform(page, "hover", {"css": "#todo-list li:nth-child(1)"}, timeout_ms=2_000)
    target = {"css": "#todo-list li:nth-child(1) button.destroy"}
    found = resolve_target(page, target, timeout_ms=2_000)
    assert found.element.role == "button" and found.element.name == ""  # icon-only
    assert classify_ui(guard_facts(page, found.locator)).risk is Risk.DESTRUCTIVE
    perform(page, "click", target, timeout_ms=2_000)
    assert [t["title"] for t in stored(page)] == ["Brew tea"]
