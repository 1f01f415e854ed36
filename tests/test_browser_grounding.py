"""Grounding ``describe:`` targets over snapshot elements (no browser needed)."""

from __future__ import annotations

from typing import Any

import pytest

from lam.adapters.browser.embeddings import embeddings_available, load_embedder
from lam.adapters.browser.grounding import MARGIN, THRESHOLD, ground, parse_query
from lam.adapters.browser.snapshot import ElementInfo, xpath_of
from lam.errors import GroundingError

BOX = (0.0, 0.0, 10.0, 10.0)


def el(
    index: int, role: str, name: str, *, row: str = "", visible: bool = True, **extra: Any
) -> ElementInfo:
    return ElementInfo(
        index=index,
        role=role,
        name=name,
        tag=extra.pop("tag", "button"),  # type: ignore[arg-type]
        visible=visible,
        box=BOX if visible else None,
        context=(row, "", "Orders"),
        css=f"#e{index}",
        **extra,
    )  # type: ignore[arg-type]


PAGE = [
    el(0, "textbox", "Search orders", tag="input", placeholder="Search orders"),
    el(1, "button", "Edit", row="Order 17 Alice Edit Refund"),
    el(2, "button", "Refund", row="Order 17 Alice Edit Refund"),
    el(3, "button", "Edit", row="Order 18 Bob Edit Refund"),
    el(4, "button", "Refund", row="Order 18 Bob Edit Refund"),
    el(5, "link", "Refund policy"),
    el(6, "button", "Export CSV", visible=False),
    el(7, "button", "Settings"),
]


def test_parse_query_splits_role_context_and_ordinal() -> None:
    q = parse_query("the second Refund button in the row with Bob")
    assert q.words == {"refund"} and "button" in q.roles
    assert q.context == {"bob"} and q.ordinal == 1


def test_role_words_pick_between_button_and_link() -> None:
    chosen = ground("refund policy link", PAGE)
    assert chosen.element.index == 5
    assert chosen.score >= THRESHOLD


def test_context_clause_picks_the_row() -> None:
    assert ground("refund button for Bob", PAGE).element.index == 4
    assert ground("edit in the row with Alice", PAGE).element.index == 1


def test_ordinals_choose_among_equals_in_document_order() -> None:
    assert ground("first edit button", PAGE).element.index == 1
    assert ground("last edit button", PAGE).element.index == 3


def test_ties_without_ordinal_are_refused_with_scores() -> None:
    with pytest.raises(GroundingError) as caught:
        ground("edit button", PAGE)
    assert caught.value.code == "ambiguous"
    assert len(caught.value.candidates) == 2
    assert all("score=" in c for c in caught.value.candidates)


def test_close_runner_up_is_refused() -> None:
    close = [el(0, "button", "Save draft"), el(1, "button", "Save and send")]
    with pytest.raises(GroundingError) as caught:
        ground("save", close)
    assert caught.value.code == "ambiguous"
    assert MARGIN > 0


def test_hidden_elements_are_never_chosen() -> None:
    with pytest.raises(GroundingError) as caught:
        ground("export csv button", PAGE, step="export")
    assert caught.value.code == "not-found" and caught.value.step == "export"


def test_nothing_relevant_is_refused() -> None:
    with pytest.raises(GroundingError, match="no element clearly matches"):
        ground("upload a photo", PAGE)


def test_placeholder_and_field_words() -> None:
    assert ground("the search field", PAGE).element.index == 0


def test_xpath_from_css_path() -> None:
    assert xpath_of("html > body > table > tbody > tr:nth-of-type(2) > td > button") == (
        "/html/body/table/tbody/tr[2]/td/button"
    )
    assert xpath_of("#main > ul > li:nth-of-type(3) > a") == "//*[@id='main']/ul/li[3]/a"
    assert xpath_of("div > input", in_shadow=True) is None


def test_describe_and_hints_of_an_element() -> None:
    info = PAGE[4]
    assert 'button "Refund"' in info.describe() and "Bob" in info.describe()
    framed = ElementInfo(
        index=0,
        role="button",
        name="Pay",
        tag="button",
        visible=True,
        frame=("#pay",),
        css="#b",
        hint_kinds="r",
    )
    assert framed.hints() == {"role": "button", "name": "Pay", "frame": ["#pay"]}
    assert framed.locators[-1] == {"xpath": "//*[@id='b']"}


@pytest.mark.skipif(not embeddings_available(), reason="optional embedding model not installed")
def test_semantic_grounding_with_the_embedding_model() -> None:
    embedder = load_embedder()
    assert embedder is not None
    page = [el(0, "button", "Delete"), el(1, "button", "Download"), el(2, "link", "Home")]
    chosen = ground("remove this item", page, embedder=embedder)
    assert chosen.element.name == "Delete"


CHANGE_FORM = [
    el(0, "button", "Save", tag="input"),
    el(1, "button", "Save and add another", tag="input"),
    el(2, "button", "Save and continue editing", tag="input"),
    el(3, "textbox", "Email", tag="input", label="Email"),
    el(4, "textbox", "Email (work)", tag="input", label="Email (work)"),
    el(5, "link", "Delete"),
    el(6, "link", "Delete"),
    el(7, "link", "Delete all"),
]


def test_an_exact_name_wins_over_longer_ones() -> None:
    # "Save" scores 1.0 and "Save and add another" 0.87: too close on scores alone.
    assert ground("Save", CHANGE_FORM).element.index == 0
    assert ground("the Save button", CHANGE_FORM).element.index == 0
    assert ground("email field", CHANGE_FORM).element.index == 3
    assert ground("save and add another", CHANGE_FORM).element.index == 1


def test_two_exact_names_are_still_refused() -> None:
    with pytest.raises(GroundingError) as caught:
        ground("Delete link", CHANGE_FORM)
    assert caught.value.code == "ambiguous" and len(caught.value.candidates) >= 2
    with pytest.raises(GroundingError):  # an exact name of another role does not count
        ground(
            "Save link", [*CHANGE_FORM[:1], el(8, "link", "Save draft"), el(9, "link", "Save copy")]
        )


def test_first_name_is_a_field_not_an_ordinal() -> None:
    # Django admin's change form has "First name" and "Last name" fields.
    query = parse_query("First name field")
    assert query.ordinal is None and query.words == {"first", "name"}
    assert parse_query("the first Save button").ordinal == 0
    fields = [
        el(0, "textbox", "Username", tag="input"),
        el(1, "textbox", "Last name", tag="input"),
        el(2, "textbox", "First name", tag="input"),
    ]
    assert ground("First name", fields).element.index == 2
    assert ground("last name", fields).element.index == 1
