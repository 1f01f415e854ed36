"""UI actions and expectations (lam.adapters.browser.actions) on a real page: everything the
plan schema accepts does what it says."""

from __future__ import annotations

import pytest

from lam.adapters.browser import BrowserSession, find_chromium
from lam.adapters.browser.actions import check_expect, perform
from lam.documents import schema

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]


def test_every_expectation_the_plan_schema_allows_is_checked(session: BrowserSession) -> None:
    """`title` and `no_text` are in the plan schema: a plan using them is valid, so a run must
    check them, not fail with "unknown expectation"."""
    page = session.page
    page.set_content("<title>Pets - admin</title><p>Saved</p><p hidden>Error</p>")
    assert check_expect(page, {"title": "Pets", "no_text": "Error"}, timeout_ms=200) == []
    assert check_expect(page, {"title": "*admin"}, timeout_ms=200) == []
    failures = check_expect(page, {"title": "Orders", "no_text": "Saved"}, timeout_ms=200)
    assert failures == [
        "title: expected 'Orders', the page's title is 'Pets - admin'",
        "no_text: 'Saved' is still visible",
    ]
    schema_keys = set(schema("plan")["$defs"]["expect"]["properties"])
    api_only = {"status", "body", "headers"}
    ui_keys = {"url", "title", "text", "no_text", "visible", "hidden", "enabled", "checked"}
    assert schema_keys - api_only == ui_keys | {"value"}


@pytest.mark.parametrize("where", ["down", "up", "top", "bottom"])
def test_scroll_words_of_the_schema_all_scroll(session: BrowserSession, where: str) -> None:
    page = session.page
    page.set_content("<div style='height: 5000px'>tall</div>")
    page.evaluate("window.scrollTo(0, 2000)")
    perform(page, "scroll", None, where, timeout_ms=1_000)
    page.wait_for_timeout(100)
    after = page.evaluate("window.scrollY")
    moved = {"down": after > 2000, "up": after < 2000, "top": after == 0, "bottom": after > 2000}
    assert moved[where], (where, after)
