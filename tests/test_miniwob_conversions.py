"""Pure rules behind the MiniWoB++ breadth work: value conversion and reaching hidden targets.

lam.planner.conversions turns a goal's values into what a control takes (or refuses to);
lam.planner.reveal_steps decides, from sightings of a quoted text, whether to click it, open the
one control that reveals it, or refuse. Neither guesses: every ambiguous case is asserted here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lam.adapters.browser.reveal import Sighting, TextBlock
from lam.planner.base import Observation
from lam.planner.conversions import (
    apply_case,
    copy_paste,
    described,
    for_input,
    names_control,
    parse_date,
    parse_time,
    read_off,
    value_into,
)
from lam.planner.popups import dismissal
from lam.planner.reveal_steps import (
    menu_path,
    scroll_target,
    split_run_on,
    strip_means,
    text_target,
)
from lam.planner.ui_goals import UiGoalPlanner


@pytest.mark.parametrize(
    ("value", "kind", "want"),
    [
        ("05/20/2010", "date", "2010-05-20"),
        ("2010-05-20", "date", "2010-05-20"),
        ("May 20, 2010", "date", "2010-05-20"),
        ("13/05/2010", "date", "2010-05-13"),  # day first only when month first is impossible
        ("02/30/2010", "date", None),  # no such day
        ("tomorrow", "date", None),
        ("9:37 PM", "time", "21:37"),
        ("12:04 AM", "time", "00:04"),
        ("21:37", "time", "21:37"),
        ("9", "time", None),  # a bare number is not a time
        ("13:00 PM", "time", None),
        ("05/20/2010", "month", "2010-05"),
        ("05/20/2010 9:37 PM", "datetime-local", "2010-05-20T21:37"),
        ("05/20/2010", "text", "05/20/2010"),  # a text field takes what the goal wrote
    ],
)
def test_for_input_converts_or_says_it_cannot(value: str, kind: str, want: str | None) -> None:
    assert for_input(value, kind) == want


def test_parse_date_and_time() -> None:
    assert parse_date("12/02/2016") == dt.date(2016, 12, 2)
    assert parse_date("Sept 3, 2016") == dt.date(2016, 9, 3)
    assert parse_time("8:04 pm") == dt.time(20, 4)


def test_case_instructions_become_the_value() -> None:
    assert apply_case('Type "agustina" in all upper case letters in the text input') == (
        'Type "AGUSTINA" in the text input'
    )
    assert apply_case('Type "JERALD" in all lower case letters in the field') == (
        'Type "jerald" in the field'
    )
    assert apply_case('Type "Bob" in the field') == 'Type "Bob" in the field'


def test_value_into_a_named_control() -> None:
    assert value_into("-10 with the spinner") == ("-10", "spinner")
    assert value_into("12/02/2016 as the date") == ("12/02/2016", "date")
    assert value_into("Bob with the spinner") is None  # not a number, date or time
    assert names_control("date", "text", "textbox", "datepicker")
    assert names_control("spinner", "text", "spinbutton", "")
    assert not names_control("date", "text", "textbox", "update")


def test_goal_rewrites() -> None:
    assert strip_means('Switch between the tabs to find and click on the link "x".') == (
        'Click on the link "x".'
    )
    assert strip_means("Expand the section below and click submit.") == (
        "Expand the section below and click submit."
    )
    assert menu_path("Select Alvera>Terza>Ludovika") == (
        'Hover over "Alvera", then hover over "Terza", then click "Ludovika"'
    )
    assert menu_path("Select Martelle") == "Select Martelle"
    assert split_run_on("Scroll the textarea to the bottom of the text hit submit.") == (
        "Scroll the textarea to the bottom of the text and hit submit."
    )
    assert split_run_on("Please click the okay button") == "Please click the okay button"
    assert scroll_target("Scroll the textarea to the top of the text") == "textarea"
    assert scroll_target("scroll down") == ""


def _seen(text: str, visible: bool, css: str, revealer: str = "", said: str = "") -> Sighting:
    return Sighting(text.casefold(), visible, css, revealer, revealer, said or text)


def test_text_target_one_rule() -> None:
    shown = text_target("Eget", [_seen("Eget", True, "#a")])
    assert shown is not None and shown.step == {"text": "Eget", "exact": True}
    # "Eget" and "eget": the case decides, because the locator is exact
    both = text_target("Eget", [_seen("Eget", True, "#a"), _seen("eget", True, "#b", said="eget")])
    assert both is not None and both.step is not None
    twins = text_target("x", [_seen("x", True, "#a"), _seen("x", True, "#b")])
    assert twins is not None and twins.step is None and "2 shown" in twins.problem
    hidden = text_target("x", [_seen("x", False, "#p > span", revealer="#tab-2")])
    assert hidden is not None and hidden.reveal and hidden.step == {"css": "#tab-2"}
    apart = text_target(
        "x",
        [_seen("x", False, "#a", revealer="#tab-2"), _seen("x", False, "#b", revealer="#tab-3")],
    )
    assert apart is not None and apart.step is None and "different controls" in apart.problem
    stuck = text_target("x", [_seen("x", False, "#a")])
    assert stuck is not None and stuck.step is None and "nothing reveals it" in stuck.problem
    absent = text_target("x", [Sighting("x", False, "")])
    assert absent is not None and absent.step is None and "no element" in absent.problem
    assert text_target("x", []) is None  # no sightings: the planner's exact-text locator


def test_planner_opens_the_revealer_first_and_not_done() -> None:
    goal = 'Switch between the tabs to find and click on the link "aliquet".'
    seen = [Sighting("aliquet", False, "#tabs-3 > p > span", "#ui-id-3", "tab #3", "aliquet")]
    proposal = UiGoalPlanner().propose(Observation(goal=goal, elements=seen), [])
    assert [s["click"] for s in proposal.steps] == [{"css": "#ui-id-3"}]
    assert not proposal.done and not proposal.unsure
    assert proposal.steps[0]["id"].startswith("r")  # a reveal step never marks its clause done


def _box(css: str, tag: str, value: str) -> Any:
    from lam.adapters.browser.snapshot import ElementInfo

    return ElementInfo(
        index=0, role="textbox", name="", tag=tag, visible=True, value=value, css=css
    )


def test_copy_paste_reads_the_one_field_it_names() -> None:
    areas = [
        _box("#t1", "textarea", "one "),
        _box("#t2", "textarea", "two"),
        _box("#in", "input", ""),
    ]
    goal = "Copy the text from the 2nd text area below and paste it into the text input, then press Submit."
    assert copy_paste(goal, areas) == (
        'Enter "two" into the text input, then press Submit.',
        "",
        "two",
    )
    unsure = "Copy the text from the text area and paste it into the text input."
    rewritten, problem, _ = copy_paste(unsure, areas)  # two text areas, no ordinal: refused
    assert rewritten == unsure and "2 candidates" in problem
    assert copy_paste("Click Submit.", areas) == ("Click Submit.", "", "")


def test_a_word_of_a_field_and_described_values() -> None:
    area = [_box("#t", "textarea", "Donec ridiculus eget rhoncus, nunc."), _box("#in", "input", "")]
    goal = "Find the last word in the text area, enter it into the text field and hit Submit."
    assert copy_paste(goal, area)[0] == 'Enter "nunc" into the text field and hit Submit.'
    assert described("the value of Last name", "Enter the value of Last name into the field")
    assert described("the text below", "Type the text below into the text field")
    assert not described("the end", 'Type "the end" into the text field')  # quoted: given
    assert not described("05/20/2010", "Enter 05/20/2010 as the date")


def test_read_off_a_table_row_or_the_one_paragraph() -> None:
    rows = [TextBlock("row", ("First name", "Ada")), TextBlock("row", ("Last name", "Byron"))]
    goal = "Enter the value of Last name into the text field and press Submit."
    assert read_off(goal, rows)[0] == 'Enter "Byron" into the text field and press Submit.'
    twice = [*rows, TextBlock("row", ("last name", "Lovelace"))]
    assert "2 table rows" in read_off(goal, twice)[1]  # two rows say it: refused
    para = [TextBlock("paragraph", ("Lorem ipsum, dolor.",))]
    ask = "Find the 2nd word in the paragraph, type that into the textbox and press Submit."
    assert read_off(ask, para)[0] == 'Enter "ipsum" into the textbox and press Submit.'
    assert "2 paragraphs" in read_off(ask, para * 2)[1]


def _button(name: str, *, disabled: bool = False, role: str = "button") -> Any:
    from lam.adapters.browser.snapshot import ElementInfo

    return ElementInfo(index=0, role=role, name=name, tag="button", visible=True, disabled=disabled)


def test_a_blocking_popup_is_declined_never_accepted() -> None:
    form = [_button("", role="textbox", disabled=True), _button("OK"), _button("Cancel")]
    goal = 'Enter the username "karrie" and press OK.'
    chosen = dismissal(goal, form)
    assert chosen is not None and chosen.name == "Cancel"
    assert dismissal(goal, [_button("", role="textbox", disabled=True), _button("OK")]) is None
    assert dismissal(goal, [_button("", role="textbox"), _button("OK"), _button("Cancel")]) is None
    assert dismissal('Click "Cancel" in the dialog', form) is None  # the dialog is the task
    two = [*form, _button("Close")]
    assert dismissal(goal, two) is None  # two ways out: not ours to choose
