"""The instruction interpreter: goals -> clauses -> intents (no browser needed)."""

from __future__ import annotations

import pytest

from lam.planner.instructions import Intent, parse_clause, parse_goal, split_clauses


def test_clauses_split_at_then_and_commas_but_not_inside_quotes() -> None:
    goal = 'Enter "Tom, Ann and Bo" into the name field, then click Save and press Enter.'
    assert split_clauses(goal) == [
        'Enter "Tom, Ann and Bo" into the name field',
        "click Save",
        "press Enter",
    ]


def test_sentences_split_and_quotes_survive() -> None:
    assert split_clauses('Click "A. B." Then click C') == ['Click "A. B."', "click C"]


def test_verbless_clauses_borrow_the_previous_verb() -> None:
    intents = parse_goal("Select nb, 8qiSp3m, pKybC69 and click Submit.")
    assert [(i.action, i.value) for i in intents] == [
        ("select", "nb"), ("select", "8qiSp3m"), ("select", "pKybC69"), ("click", None),
    ]  # fmt: skip
    assert intents[-1].target == "Submit"


def test_fill_value_and_target_forms() -> None:
    first, second, _ = parse_goal(
        'Enter the username "karrie" and the password "AU" into the text fields and press login.'
    )
    assert (first.action, first.target, first.value) == ("fill", "username", "karrie")
    assert (second.action, second.target, second.value) == ("fill", "password", "AU")
    assert parse_clause("fill the email field with bob@example.com") == Intent(
        "fill", "fill the email field with bob@example.com", target="email field",
        value="bob@example.com",
    )  # fmt: skip
    dated = parse_clause("Enter 05/20/2010 as the date")
    assert (dated.target, dated.value) == ("date", "05/20/2010")
    both = parse_clause('Enter the password "yA" into both text fields')
    assert (both.target, both.value, both.every) == ("text fields", "yA", True)
    second_box = parse_clause('enter the number "-5" into the 2nd textbox')
    assert (second_box.target, second_box.value, second_box.ordinal) == ("2nd textbox", "-5", 1)


@pytest.mark.parametrize(
    ("clause", "action", "value"),
    [
        ("press Enter", "press", "Enter"),
        ("hit the escape key", "press", "Escape"),
        ("go to https://example.com/a", "goto", "https://example.com/a"),
        ("open shop:/cart", "goto", "shop:/cart"),
        ("scroll to the bottom", "scroll", "bottom"),
        ("scroll up", "scroll", "up"),
        ("wait 2 seconds", "wait", "2000"),
        ('search for "red shoes"', "search", "red shoes"),
        ("select nothing", "none", None),
    ],
)
def test_simple_verbs(clause: str, action: str, value: str | None) -> None:
    intent = parse_clause(clause)
    assert (intent.action, intent.value) == (action, value)


def test_quoted_names_ordinals_and_means() -> None:
    quoted = parse_clause('Click on the "okay" button')
    assert (quoted.action, quoted.exact, quoted.target) == ("click", "okay", "button")
    means = parse_clause('Close the dialog box by clicking the "x"')
    assert (means.action, means.exact) == ("click", "x")
    third = parse_clause("Focus into the 3rd input textbox")
    assert (third.action, third.ordinal) == ("focus", 2)
    assert parse_clause("press the last button").ordinal == -1


def test_login_and_what_is_not_an_instruction() -> None:
    login = parse_clause("log in as alice with password s3cret")
    assert (login.action, login.value, login.secret) == ("login", "alice", "s3cret")
    assert parse_clause("Buy the ticket with the cheapest cost").action == "unknown"
    assert parse_clause("type that into the textbox").action == "unknown"
    assert parse_clause("log in somehow").action == "unknown"
    chosen = parse_clause("Choose 5ft 9in from the dropdown")
    assert (chosen.value, chosen.container) == ("5ft 9in", "dropdown")


def test_an_indefinite_article_accepts_any_of_equal_matches() -> None:
    assert parse_clause('Click on a "checkbox" widget').any_one
    assert parse_clause("click any button").any_one
    assert not parse_clause('Click on the "okay" button').any_one
    assert not parse_clause("click Save").any_one
