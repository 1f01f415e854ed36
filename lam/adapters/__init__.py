"""Adapters: the parts of lam that touch the world (the browser, HTTP, language models).

Nothing is imported here on purpose: importing ``lam.adapters`` must not pull in Playwright.
"""

from __future__ import annotations

__all__: list[str] = []
