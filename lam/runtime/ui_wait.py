"""A UI ``wait`` step that a kill interrupts: the wait is cut into slices of 50 ms, and the
kill switch is looked at between slices.

Each slice still waits through Playwright (``wait_for_timeout``, ``wait_for``), never
``time.sleep``: the page's requests are routed through the network guard on this same thread,
and they must be answered while the step waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from lam.adapters.browser import ActionResult
from lam.errors import KilledError, StepFailed

__all__ = ["SLICE_MS", "wait_on_page"]

SLICE_MS = 50.0
"""The longest the page waits without looking at the kill switch."""


class _Switch(Protocol):
    reason: str | None

    def pulled(self) -> bool: ...


def wait_on_page(
    page: Page, value: Any, timeout_ms: float, kill: _Switch, *, step: str | None = None
) -> ActionResult:
    """``wait: MS`` (up to the step's timeout), ``wait`` for a text to be visible, or for the
    page to load; raises :class:`KilledError` within a slice of a kill."""
    deadline = time.monotonic() + timeout_ms / 1000
    condition: Callable[[float], None] | None = None  # None: wait the time out
    if isinstance(value, int | float) and not isinstance(value, bool):
        deadline = time.monotonic() + min(float(value), timeout_ms) / 1000
    elif isinstance(value, str) and value:
        locator = page.get_by_text(value).first
        condition = lambda ms: locator.wait_for(state="visible", timeout=ms)  # noqa: E731
    else:
        condition = lambda ms: page.wait_for_load_state("load", timeout=ms)  # noqa: E731

    while True:
        if kill.pulled():
            raise KilledError(f"wait stopped: {kill.reason}", step=step, code="killed")
        left_ms = (deadline - time.monotonic()) * 1000
        if left_ms <= 0:
            if condition is None:
                break
            raise StepFailed(
                f"wait failed: not there after {timeout_ms:.0f} ms", step=step, code="action-failed"
            )
        piece = max(1.0, min(SLICE_MS, left_ms))
        try:
            if condition is None:
                page.wait_for_timeout(piece)
            else:
                condition(piece)
                break
        except PlaywrightTimeout:
            continue
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise StepFailed(f"wait failed: {first}", step=step, code="action-failed") from err
    return ActionResult(None, None, None, page.url)
