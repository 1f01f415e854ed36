"""DOM clobbering: a form's controls shadow the form's own properties (a control named
``action`` makes ``form.action`` the control), named images shadow the document's. Every place
lam reads a page (snapshot, guard facts, healing extras, the recorder, reading a target's
value) must read attributes and the prototypes' getters, never those properties (the recorder:
tests/test_record_clobbering.py, which needs a Chromium of its own).

Django admin's changelist is the real case: its form holds a select named ``action``, which
crashed the guard with "unhashable type: 'dict'". The pages are tests/pages/clobber*.html.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from playwright.sync_api import Page
from servers import serve_directory

from lam.adapters.browser import (
    BrowserSession,
    element_facts,
    find_chromium,
    guard_facts,
    perform,
    resolve_target,
    snapshot,
)
from lam.adapters.browser.healing import extras_of
from lam.adapters.browser.snapshot import ElementInfo
from lam.risk import classify_ui

PAGES = Path(__file__).parent / "pages"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed"),
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_directory(PAGES) as url:
        yield url


@pytest.fixture
def page(session: BrowserSession) -> Page:
    session.new_context()
    return session.page


def _plain(element: ElementInfo) -> None:
    """Every field is what its type says (a clobbered read comes back as a dict or list)."""
    for field in fields(element):
        value = getattr(element, field.name)
        assert not isinstance(value, dict), (field.name, value)
        if field.name in ("role", "name", "tag", "text", "label", "placeholder", "id", "css"):
            assert isinstance(value, str), (field.name, value)


def test_snapshot_reads_a_clobbered_form_as_it_is(page: Page, base_url: str) -> None:
    page.goto(base_url + "clobber.html")
    elements = snapshot(page)
    for element in elements:
        _plain(element)
    form = next(el for el in elements if el.tag == "form")
    assert form.id == "changelist-form" and form.css == "#changelist-form"
    assert form.name == "Bulk actions" and not form.disabled
    go = next(el for el in elements if el.name == "Go")
    assert go.css == "#changelist-form > button" and go.context[1] == "Bulk actions"
    assert [el.name for el in elements if el.role == "checkbox"] == ["Select alice", "Select bob"]


def test_snapshot_survives_a_clobbered_document(page: Page, base_url: str) -> None:
    # Images named querySelectorAll, getElementById, createTreeWalker, body; a form whose
    # controls are named getAttribute, hasAttribute, parentElement, shadowRoot...
    page.goto(base_url + "clobber_hostile.html")
    elements = snapshot(page)
    for element in elements:
        _plain(element)
    assert {"Action:", "Select alice", "Select bob", "Go", "Next page"} <= {
        el.name for el in elements
    }
    extras = extras_of(page, elements)  # healing's reading of attributes and neighbours
    go = next(el for el in elements if el.name == "Go")
    assert extras[go.index].attrs == {"type": "submit", "name": "index"}
    form = next(el for el in elements if el.tag == "form")
    assert extras[form.index].attrs["id"] == "changelist-form"


def test_guard_facts_read_the_forms_attributes(page: Page, base_url: str) -> None:
    page.goto(base_url + "clobber.html")
    go = resolve_target(page, {"role": "button", "name": "Go"})
    assert go.facts is not None  # read in the same round trip as the element
    assert go.facts["form_method"] == "post"
    assert go.facts["form_action"] == base_url + "bulk"
    facts = element_facts(page, go.locator)
    assert facts["form_method"] == "post" and facts["form_action"] == base_url + "bulk"
    assert facts["attributes"] == {"type": "submit", "value": "0", "name": "index"}
    classify_ui(guard_facts(page, go.locator))  # the guard classifies it (no crash)
    form = element_facts(page, page.locator("#changelist-form"))
    assert form["tag"] == "form" and form["attributes"]["id"] == "changelist-form"
    assert form["form_action"] == base_url + "bulk" and form["form_method"] == "post"


def test_actions_on_a_clobbered_form(page: Page, base_url: str) -> None:
    page.goto(base_url + "clobber.html")
    perform(page, "select", {"label": "Action:"}, "delete_selected", timeout_ms=2_000)
    perform(page, "check", {"role": "checkbox", "name": "Select bob"}, timeout_ms=2_000)
    perform(page, "assert", {"css": "#changelist-form"}, "Go", timeout_ms=2_000)
