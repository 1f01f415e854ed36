"""Page snapshots: the interactive elements of every frame, with names, state and locators.

One ``page.evaluate`` per frame runs ``snapshot.js``, which walks the DOM (and open shadow roots)
once and returns JSON text. Each element comes back as an :class:`ElementInfo`: what a person
would call it (role, accessible name, label, nearby text), its state, where it is, and a few
locator hint mappings that :func:`lam.adapters.browser.locators.resolve_target` accepts.

The element model itself lives in :mod:`lam.adapters.browser.page_model`, which never imports
Playwright; it is named here too. This module imports Playwright only when it asks a page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from lam.adapters.browser.page_model import ElementInfo, elements_from_json, xpath_of

if TYPE_CHECKING:  # Playwright's types only: the page model is importable without it
    from playwright.sync_api import Frame, Locator, Page

__all__ = [
    "ElementInfo",
    "describe_element",
    "elements_from_json",
    "frame_path",
    "snapshot",
    "snapshot_frame",
    "snapshot_js",
    "with_safe_dom",
    "xpath_of",
]


_SAFE_DOM = "/*@safe-dom*/"


@cache
def _safe_dom() -> str:
    return (resources.files(__package__) / "safe_dom.js").read_text(encoding="utf-8").strip()


def with_safe_dom(js: str) -> str:
    """A page script with its ``/*@safe-dom*/`` marker replaced by safe_dom.js: the helpers
    through which lam reads the page, which a page cannot clobber (a form control named
    ``action`` shadows ``form.action``; an image named ``querySelectorAll`` shadows
    ``document.querySelectorAll``)."""
    return js.replace(_SAFE_DOM, _safe_dom())


@cache
def snapshot_js() -> str:
    """The source of snapshot.js (with its safe DOM helpers), read once from the package."""
    source = (resources.files(__package__) / "snapshot.js").read_text(encoding="utf-8")
    return with_safe_dom(source)


def snapshot_frame(
    frame: Frame, *, path: tuple[str, ...] = (), start: int = 0
) -> list[ElementInfo]:
    """The interactive elements of one frame (its own DOM and open shadow roots)."""
    text = frame.evaluate(snapshot_js(), {"mode": "snapshot"})
    return elements_from_json(text, start=start, frame=path)


def describe_element(
    locator: Locator, *, frame: Sequence[str] = (), timeout_ms: float = 5_000
) -> ElementInfo:
    """The snapshot entry of the one element ``locator`` points at (which must exist)."""
    text = locator.evaluate(snapshot_js(), timeout=timeout_ms)
    return elements_from_json(text, frame=frame)[0]


def frame_path(frame: Frame) -> tuple[str, ...]:
    """The iframe css selectors leading from the top page down to ``frame``."""
    path: list[str] = []
    current = frame
    while current.parent_frame is not None:
        parent = current.parent_frame
        handle = current.frame_element()
        try:
            css = json.loads(parent.evaluate(snapshot_js(), {"mode": "csspath", "el": handle}))
        finally:
            handle.dispose()
        path.insert(0, css)
        current = parent
    return tuple(path)


def snapshot(page: Page, *, frames: bool = True) -> list[ElementInfo]:
    """Every interactive element on the page, top frame first, then each iframe.

    Frames that vanish or cannot be read while the snapshot is taken are skipped: a snapshot
    describes what could be seen, it does not fail because an ad frame navigated.
    """
    from playwright.sync_api import Error as PlaywrightError

    elements = snapshot_frame(page.main_frame)
    if not frames:
        return elements
    for frame in _child_frames(page.main_frame):
        try:
            path = frame_path(frame)
            elements.extend(snapshot_frame(frame, path=path, start=len(elements)))
        except PlaywrightError:
            continue
    return elements


def _child_frames(frame: Frame) -> Sequence[Frame]:
    found: list[Frame] = []
    for child in frame.child_frames:
        if child.is_detached():
            continue
        found.append(child)
        found.extend(_child_frames(child))
    return found
