"""The browser adapter: Chromium through Playwright, page snapshots, grounding, UI actions.

::

    from lam.adapters.browser import BrowserSession, perform

    with BrowserSession() as session:
        perform(session.page, "goto", None, "http://127.0.0.1:8000/")
        perform(session.page, "click", {"role": "button", "name": "Save"})
"""

from __future__ import annotations

from lam.adapters.browser.actions import ACTIONS, ActionResult, check_expect, perform
from lam.adapters.browser.chromium import BrowserNotFound, find_chromium, launch, launch_args
from lam.adapters.browser.facts import element_facts, guard_facts
from lam.adapters.browser.grounding import Grounding, ground
from lam.adapters.browser.locators import Resolved, build_locator, resolve_target
from lam.adapters.browser.session import BrowserSession
from lam.adapters.browser.snapshot import ElementInfo, snapshot

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
