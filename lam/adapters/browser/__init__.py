"""The browser adapter: Chromium through Playwright, page snapshots, grounding, UI actions.

::

    from lam.adapters.browser import BrowserSession, perform

    with BrowserSession() as session:
        perform(session.page, "goto", None, "http://127.0.0.1:8000/")
        perform(session.page, "click", {"role": "button", "name": "Save"})

The names of the modules that drive Chromium are imported on first use, not with the package:
the pure modules (``page_model``, ``grounding``, and ``snapshot``, which imports Playwright only
when it asks a page) must import where Playwright is not installed, and importing one of them
runs this file first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lam.adapters.browser.grounding import Grounding, ground
from lam.adapters.browser.page_model import ElementInfo
from lam.adapters.browser.snapshot import snapshot  # the function, not the module of its name

if TYPE_CHECKING:
    from lam.adapters.browser.actions import ACTIONS, ActionResult, check_expect, perform
    from lam.adapters.browser.chromium import (
        BrowserNotFound,
        find_chromium,
        launch,
        launch_args,
    )
    from lam.adapters.browser.facts import element_facts, guard_facts
    from lam.adapters.browser.locators import Resolved, build_locator, resolve_target
    from lam.adapters.browser.session import BrowserSession

_WHERE = {
    "ACTIONS": "actions",
    "ActionResult": "actions",
    "check_expect": "actions",
    "perform": "actions",
    "BrowserNotFound": "chromium",
    "find_chromium": "chromium",
    "launch": "chromium",
    "launch_args": "chromium",
    "element_facts": "facts",
    "guard_facts": "facts",
    "Resolved": "locators",
    "build_locator": "locators",
    "resolve_target": "locators",
    "BrowserSession": "session",
}

__all__ = [
    "ACTIONS",
    "ActionResult",
    "BrowserNotFound",
    "BrowserSession",
    "ElementInfo",
    "Grounding",
    "Resolved",
    "build_locator",
    "check_expect",
    "element_facts",
    "find_chromium",
    "ground",
    "guard_facts",
    "launch",
    "launch_args",
    "perform",
    "resolve_target",
    "snapshot",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once found, a plain attribute
    return value
