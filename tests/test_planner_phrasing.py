"""Goals as people write them (lam.planner.phrasing, lam.planner.ui_tasks), without a browser:
sign-in phrasings and their secrets, references, the compound verbs, and the grounding rule
for each new task -- an unsure grounding is refused with its candidates and scores."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lam.adapters.browser.page_model import ElementInfo
from lam.planner.base import HistoryItem, Observation
from lam.planner.instructions import parse_goal
from lam.planner.phrasing import extract_logins, goal_secrets
from lam.planner.ui_goals import UiGoalPlanner

_SCORE = re.compile(r"score \d\.\d\d")


@pytest.mark.parametrize(
    "goal",
    [
        "sign in as admin using admin-pass, then open Users",
        "log in (admin / admin-pass), open Orders",
        "Log in with username admin and password admin-pass, then open Users",
        "login as admin with admin-pass and open Users",
        "log in as admin, password admin-pass, then open Users",
        "sign in as admin/admin-pass and open Users",
        "sign in with admin and admin-pass, go to Users",
        "log in as admin with password 'admin-pass' then open Users",
        "sign in as admin using the password admin-pass, open Users",
    ],
)
def test_every_sign_in_phrasing_gives_the_user_and_a_secret_password(goal: str) -> None:
    first = parse_goal(goal)[0]
    assert (first.action, first.value, first.secret) == ("login", "admin", "admin-pass")
    assert goal_secrets(goal) == ["admin-pass"]
    assert [i.action for i in parse_goal(goal)][1] == "click"  # the rest is still read


def test_a_verb_after_the_user_is_no_password() -> None:
    assert extract_logins("log in as admin and open Users")[1] == []
    assert parse_goal("log in as admin and open Users")[0].action == "unknown"


def test_references_mean_what_was_named_before() -> None:
    intents = parse_goal("sign in as admin using x, find Rex and set his species to cat")
    change = intents[2]
    assert (change.action, change.target, change.refers) == ("change", "Rex", True)
    assert (change.field, change.value, change.save) == ("species", "cat", True)
    spot = parse_goal("add a pet called Spot, then make its status sold")
    assert spot[0].action == "create" and (spot[0].target, spot[0].value) == ("pet", "Spot")
    assert (spot[1].target, spot[1].field, spot[1].value) == ("Spot", "", "status sold")


@pytest.mark.parametrize(
    "clause", ["delete it", "remove her", "get rid of it", "clear out the pet", "drop him"]
)
def test_removal_in_any_words_is_a_delete_of_the_thing_named(clause: str) -> None:
    intent = parse_goal(f"open Rex and {clause}")[1]
    assert (intent.action, intent.target, intent.refers) == ("delete", "Rex", True)


def test_a_run_of_changes_saves_once_after_the_last() -> None:
    intents = parse_goal("open bob, change his first name to Bobby and his last name to Jones")
    assert [(i.field, i.value, i.save) for i in intents[1:]] == [
        ("first name", "Bobby", False), ("last name", "Jones", True),
    ]  # fmt: skip
    explicit = parse_goal("open alice, set her first name to Ally and save")
    assert [i.action for i in explicit] == ["click", "change", "save"] and not explicit[1].save


# -- grounding, on snapshots made by hand ------------------------------------------------------


def el(index: int, role: str, name: str, **extra: Any) -> ElementInfo:
    tag = {"link": "a", "textbox": "input", "checkbox": "input", "combobox": "select"}
    return ElementInfo(index, role, name, extra.pop("tag", tag.get(role, role)), True,
                       css=f"#e{index}", hint_kinds="r", **extra)  # fmt: skip


def propose(goal: str, elements: list[ElementInfo], ran: list[str] = ()) -> Any:  # type: ignore[assignment]
    history = [HistoryItem({"id": step}, "ok") for step in ran]
    return UiGoalPlanner().propose(Observation(goal, elements), history)


USERS = [
    el(0, "link", "Users", href="/admin/auth/user/"),
    el(1, "combobox", "Action: --------- Delete selected users"),
    el(2, "button", "Go"),
    el(3, "checkbox", "Select all objects on this page for an action"),
    *[el(4 + i, "checkbox", f"Select this object for an action - {n}") for i, n in
      enumerate(("alice", "bob", "carol"))],
    *[el(7 + i, "link", n, href=f"/admin/auth/user/{i + 2}/change/") for i, n in
      enumerate(("alice", "bob", "carol"))],
]  # fmt: skip


def test_each_clause_is_grounded_on_the_page_it_applies_to() -> None:
    # "Delete" is not looked for on the list (its bulk action select): after carol's link the
    # proposal stops, and the next one is grounded on carol's page.
    first = propose("click carol, click Delete and confirm", USERS)
    assert [s["id"] for s in first.steps] == ["c1-click"] and not first.done
    assert first.steps[0]["click"]["name"] == "carol"
    carol = [el(0, "link", "Users", href="/u/"), el(1, "link", "Delete", href="/u/4/delete/")]
    second = propose("click carol, click Delete and confirm", carol, ["c1-click"])
    assert second.steps[0]["click"]["name"] == "Delete" and not second.done


def test_bulk_delete_uses_the_lists_selection_and_action() -> None:
    proposal = propose("delete every user", USERS)
    assert proposal.grounded
    kinds = [next(k for k in s if k != "id" and k != "value") for s in proposal.steps]
    assert kinds == ["check", "select", "click"]
    assert proposal.steps[1]["value"] == "Delete selected users"
    assert proposal.steps[2]["click"]["name"] == "Go"
    chosen = propose("select alice and carol and delete them", USERS)
    names = [s.get("check", s.get("select", s.get("click")))["name"] for s in chosen.steps]
    assert names[:2] == [USERS[4].name, USERS[6].name] and names[-1] == "Go"


def test_a_named_thing_is_removed_by_its_own_control_or_opened_first() -> None:
    shop = [el(0, "link", "Rex", href="/pets/1"), el(1, "button", "Delete Rex"),
            el(2, "link", "Bella", href="/pets/2"), el(3, "button", "Delete Bella")]  # fmt: skip
    assert propose("remove Bella", shop).steps[0]["click"]["name"] == "Delete Bella"
    opened = propose("get rid of carol", USERS)
    assert opened.steps[0]["id"] == "c1s1-click" and opened.steps[0]["click"]["name"] == "carol"
    assert not opened.done  # the Delete is looked for on carol's page


def test_a_removal_that_fits_no_control_is_refused_with_candidates() -> None:
    orders = [el(0, "button", "Cancel order #1"), el(1, "button", "Cancel order #2")]
    refused = propose("get rid of order 3", orders)
    assert not refused.grounded and "nothing on this page removes 'order 3'" in refused.unsure[0]
    assert len(_SCORE.findall(refused.unsure[0])) == 2
    assert propose("get rid of order 2", orders).steps[0]["click"]["name"] == "Cancel order #2"


def test_two_delete_controls_on_a_page_are_too_close_to_call() -> None:
    page = [el(0, "button", "Delete"), el(1, "link", "Delete", href="/x/delete")]
    refused = propose("delete it", page)
    assert not refused.grounded and "too close to call" in refused.unsure[0]
    assert len(_SCORE.findall(refused.unsure[0])) == 2


def test_a_field_named_by_half_its_label_is_not_guessed() -> None:
    form = [el(0, "textbox", "First name:", label="First name:"),
            el(1, "textbox", "Last name:", label="Last name:"), el(2, "button", "Save")]  # fmt: skip
    refused = propose("open bob and set his name to Bob", form, ["c1-click"])
    assert not refused.grounded and "name" in refused.unsure[0]
    assert len(_SCORE.findall(refused.unsure[0])) >= 2
    done = propose("open bob and set his last name to Jones", form, ["c1-click"])
    assert [s["id"] for s in done.steps] == ["c2-fill", "c2-click"]
    assert done.steps[0]["value"] == "Jones" and done.steps[1]["click"]["name"] == "Save"


def test_two_add_controls_for_different_places_are_refused() -> None:
    page = [el(0, "link", "Add group", href="/groups/add/"),
            el(1, "link", "Add group", href="/other/groups/add/")]  # fmt: skip
    refused = propose("add a group called Ops", page)
    assert not refused.grounded and "add a 'group'" in refused.unsure[0]
    same = [
        el(0, "link", "Add a pet", href="/pets/new"),
        el(1, "link", "New pet", href="/pets/new"),
    ]
    opened = propose("add a pet called Spot", same)
    assert opened.steps[0]["id"] == "c1s1-click"  # two links to one page are one way there


def test_an_unreadable_clause_refuses_the_goal_before_anything_runs() -> None:
    refused = propose("bake a cake, then open carol", USERS)
    assert refused.steps == () and "not an instruction" in refused.unsure[0]
    # A verb-less clause borrows the verb before it, and is refused where nothing fits it.
    later = propose("open carol and translate her into French", USERS, ["c1-click"])
    assert later.steps == () and "no element clearly matches" in later.unsure[0]


def test_several_named_removals_on_a_list_are_one_bulk_action() -> None:
    proposal = propose("delete alice and bob", USERS)
    assert proposal.grounded and not proposal.done  # the confirmation Django asks comes next
    assert [s["id"] for s in proposal.steps] == [
        "c1-check-1",
        "c1-check-2",
        "c2-select",
        "c2-click",
    ]
    assert [s["check"]["name"] for s in proposal.steps[:2]] == [USERS[4].name, USERS[5].name]
    # a name with no row to check: each is removed on its own, the first opened first
    alone = propose("delete alice and zoe", USERS)
    assert alone.steps[0]["id"] == "c1s1-click" and alone.steps[0]["click"]["name"] == "alice"


def test_a_removal_takes_the_confirmation_it_brings_and_only_that() -> None:
    asked = [el(0, "button", "Yes, I'm sure"), el(1, "link", "No, take me back", href="/u/")]
    ran = ["c1-click"]
    confirmed = propose("open carol and delete her", asked, [*ran, "c2-click"])
    assert confirmed.steps[0]["click"]["name"] == "Yes, I'm sure" and confirmed.done
    plain = [el(0, "button", "OK"), el(1, "link", "Users", href="/u/")]
    none = propose("open carol and delete her", plain, [*ran, "c2-click"])
    assert none.steps == () and none.done and not none.unsure  # nothing asked: nothing clicked
