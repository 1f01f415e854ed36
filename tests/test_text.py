"""lam.text: the one rule lam cuts words by, shared by risk, grounding and the planner."""

from __future__ import annotations

import pytest

from lam.adapters.browser import grounding
from lam.planner import bm25
from lam.risk import words as risk_words
from lam.text import canonical, stem, terms, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancelSubscription", ("cancel", "subscription")),
        ("HTTPServer", ("http", "server")),
        ("repos/delete-file", ("repos", "delete", "file")),
        ("payment_methods", ("payment", "methods")),
        ("/v1/invoices/{id}/pay", ("v", "1", "invoices", "id", "pay")),
        ("delete2", ("delete", "2")),  # a risk word glued to a number is still seen
        ("the 1st row, the 22nd", ("the", "1st", "row", "the", "22nd")),
        ("3rdParty", ("3rd", "party")),
        ("Close ×", ("close", "×")),
        ("deleteé", ("delete",)),  # a foreign letter separates, it does not hide a risk word
        ("", ()),
    ],
)
def test_words_split_identifiers_paths_and_labels(text: str, expected: tuple[str, ...]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, I'm sure", ("yes", "i", "am", "sure")),
        ("Don't delete", ("do", "not", "delete")),
        ("I can’t", ("i", "can", "not")),
        ("WON'T", ("will", "not")),
        ("I'd like", ("i", "would", "like")),  # never the word "id"
        ("we'll", ("we", "will")),  # never the word "well"
        ("Bob's pets", ("bob", "pets")),
        ("rock'n'roll", ("rocknroll",)),
    ],
)
def test_contractions_are_spelled_out(text: str, expected: tuple[str, ...]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("pets", "pet"),
        ("categories", "category"),
        ("boxes", "box"),
        ("cancelled", "cancel"),
        ("stopping", "stop"),
        ("status", "status"),
        ("children", "child"),
        ("Names", "name"),
        ("id", "id"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_terms_fold_phrases_stop_words_and_synonyms() -> None:
    assert terms("Please show me all the animals") == ["get", "pet"]
    assert terms("sign in as ada") == ["login", "ada"]
    assert terms("delete pet 7") == ["delete", "pet"]
    assert terms("delete pet 7", keep_numbers=True) == ["delete", "pet", "7"]
    assert terms("I'd like to see the animals") == ["like", "get", "pet"]  # no "id" term
    assert canonical("fetching") == "get" and canonical("pets") == "pet"


def test_risk_grounding_and_bm25_cut_words_by_the_same_rule() -> None:
    """One rule: the three users take their words from lam.text, not from copies."""
    assert risk_words.tokens is words
    assert bm25.words is words and bm25.stem is stem and bm25.tokens is terms
    assert vars(grounding)["words"] is words and vars(grounding)["stem"] is stem


def test_grounding_queries_keep_ordinals_whole() -> None:
    query = grounding.parse_query("the save button")
    assert query.words == frozenset({"save"})
    assert grounding.parse_query("the 2nd link").ordinal == 1
    assert grounding.parse_query("First name field").ordinal is None
