"""Risk of UI actions: typing, dismissing, destroying, confirming, submitting, following links."""

from __future__ import annotations

import pytest

from lam.risk import ElementFacts, classify_ui, classify_ui_action
from lam.types import Risk


def button(name: str, **kwargs: object) -> ElementFacts:
    return ElementFacts(tag="button", role="button", name=name, text=name, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["goto", "hover", "scroll", "wait", "assert", "extract"])
def test_looking_actions_are_read(action: str) -> None:
    found = classify_ui_action(action, None)
    assert found.risk is Risk.READ
    assert found.reasons == (f"{action} only looks",)


@pytest.mark.parametrize("action", ["fill", "select", "check", "uncheck", "upload"])
def test_setting_a_field_is_read(action: str) -> None:
    assert classify_ui_action(action, None).risk is Risk.READ


def test_typing_into_any_field_is_read() -> None:
    field = ElementFacts(tag="input", role="textbox", name="Account to delete", typing=True)
    assert classify_ui(field).risk is Risk.READ


def test_unknown_action_and_unknown_click_target_are_write() -> None:
    assert classify_ui_action("teleport", None).risk is Risk.WRITE
    assert classify_ui_action("click", None).risk is Risk.WRITE


@pytest.mark.parametrize(
    ("name", "word"),
    [("Delete", "delete"), ("Remove item", "remove"), ("Destroy", "destroy"), ("Pay now", "pay"),
     ("Send money", "send"), ("Transfer funds", "transfer"), ("Cancel subscription", "cancel"),
     ("Close account", "close"), ("Yes, delete it", "delete"), ("Revoke access", "revoke")],
)  # fmt: skip
def test_destructive_labels(name: str, word: str) -> None:
    found = classify_ui(button(name))
    assert found.risk is Risk.DESTRUCTIVE
    assert found.reasons == (f"{name!r} says {word!r}",)


def test_display_is_not_pay() -> None:
    assert classify_ui(button("Display options")).risk is Risk.WRITE


@pytest.mark.parametrize("name", ["Cancel", "Close", "Dismiss", "×", "Got it"])
def test_plain_dismiss_in_a_dialog_is_read(name: str) -> None:
    el = button(name, in_dialog=True, dialog_text="Delete this repository? This cannot be undone.")
    found = classify_ui(el)
    assert found.risk is Risk.READ
    assert found.reasons == (f"{name!r} dismisses the dialog",)


@pytest.mark.parametrize(
    "name",
    ["No, take me back", "No, keep my subscription", "Don't delete", "Keep account", "Never mind"],
)
def test_declining_labels_are_read_anywhere(name: str) -> None:
    assert classify_ui(button(name)).risk is Risk.READ


def test_plain_cancel_outside_a_dialog_is_write_not_read() -> None:
    found = classify_ui(button("Cancel"))
    assert found.risk is Risk.WRITE
    assert "unclear" in found.reasons[0]


def test_dismiss_marked_by_attributes_is_read() -> None:
    el = button("Close", attributes={"class": "btn-close", "data-bs-dismiss": "modal"})
    assert classify_ui(el).risk is Risk.READ


def test_cancel_link_is_read() -> None:
    el = ElementFacts(tag="a", role="link", name="Cancel", attributes={"href": "/pets"})
    assert classify_ui(el).risk is Risk.READ


def test_close_with_a_reopenable_object_is_write() -> None:
    found = classify_ui(button("Close issue"))
    assert found.risk is Risk.WRITE
    assert found.reasons == ("'Close issue' closes something reopenable",)


def test_cancel_editing_is_not_destructive() -> None:
    assert classify_ui(button("Cancel changes")).risk is not Risk.DESTRUCTIVE


def test_undo_delete_is_write() -> None:
    assert classify_ui(button("Undo delete")).risk is Risk.WRITE


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"class": "btn btn-danger"}, "class 'btn btn-danger' says 'danger'"),
        ({"id": "destroy-repo"}, "id 'destroy-repo' says 'destroy'"),
        ({"data-testid": "danger-delete"}, "data-testid 'danger-delete' says 'danger'"),
        ({"data-method": "delete", "href": "/pets/3"}, "data-method=delete"),
    ],
)
def test_markers_on_the_element(attributes: dict[str, str], reason: str) -> None:
    found = classify_ui(button("Go", attributes=attributes))
    assert found.risk is Risk.DESTRUCTIVE
    assert found.reasons == (reason,)


def test_aria_label_speaks_for_an_icon_button() -> None:
    el = ElementFacts(tag="button", attributes={"aria-label": "Delete row"})
    assert classify_ui(el).risk is Risk.DESTRUCTIVE


@pytest.mark.parametrize("name", ["Yes, I'm sure", "I understand, continue"])
def test_strong_confirmation_is_destructive_anywhere(name: str) -> None:
    assert classify_ui(button(name)).risk is Risk.DESTRUCTIVE


@pytest.mark.parametrize("name", ["Yes", "Confirm", "OK", "Continue"])
def test_confirm_in_a_deleting_dialog_is_destructive(name: str) -> None:
    el = button(name, in_dialog=True, dialog_text="Are you sure you want to delete Rex?")
    found = classify_ui(el)
    assert found.risk is Risk.DESTRUCTIVE
    assert found.reasons == (f"{name!r} confirms a dialog that says 'delete'",)


def test_confirm_in_a_cancel_subscription_dialog_is_destructive() -> None:
    el = button("Yes", in_dialog=True, dialog_text="Cancel your subscription now?")
    assert classify_ui(el).risk is Risk.DESTRUCTIVE


def test_confirm_in_a_harmless_dialog_is_write() -> None:
    el = button("OK", in_dialog=True, dialog_text="Save changes to Rex? Close to keep editing.")
    assert classify_ui(el).risk is Risk.WRITE


def test_submitting_a_post_form_is_write() -> None:
    el = button("Go", attributes={"type": "submit"}, form_method="post", form_action="/pets")
    found = classify_ui(el)
    assert found.risk is Risk.WRITE
    assert found.reasons == ("'Go' submits the form (POST)",)


def test_form_posting_to_a_destructive_url_is_destructive() -> None:
    el = button("Go", form_method="post", form_action="/pets/3/delete")
    found = classify_ui(el)
    assert found.risk is Risk.DESTRUCTIVE
    assert "path segment 'delete' says 'delete'" in found.reasons


def test_get_form_is_a_search() -> None:
    el = button("Go", form_method="get", form_action="/search")
    assert classify_ui(el).risk is Risk.READ


def test_login_form_is_write_and_says_so() -> None:
    el = button("Go", form_method="post", form_action="/session", form_has_password=True)
    found = classify_ui(el)
    assert found.risk is Risk.WRITE
    assert "signs in" in found.reasons[0]


def test_press_in_a_form_follows_the_form() -> None:
    field = ElementFacts(tag="input", form_method="post", form_action="/account/close")
    assert classify_ui_action("press", field).risk is Risk.DESTRUCTIVE
    assert classify_ui_action("press", None).risk is Risk.WRITE


@pytest.mark.parametrize(
    ("href", "risk"), [("/pets/3", Risk.READ), ("/pets/3/delete", Risk.DESTRUCTIVE)]
)
def test_links(href: str, risk: Risk) -> None:
    el = ElementFacts(tag="a", role="link", name="Rex", attributes={"href": href})
    assert classify_ui(el).risk is risk


@pytest.mark.parametrize("name", ["Save", "Create pet", "Update", "Submit", "Add to cart"])
def test_write_labels(name: str) -> None:
    found = classify_ui(button(name))
    assert found.risk is Risk.WRITE
    assert "says" in found.reasons[0]


def test_tabs_and_checkboxes_only_select() -> None:
    assert classify_ui(ElementFacts(tag="div", role="tab", name="Details")).risk is Risk.READ
    box = ElementFacts(tag="input", attributes={"type": "checkbox"}, name="Remember me")
    assert classify_ui(box).risk is Risk.READ


def test_an_unknown_control_is_write() -> None:
    found = classify_ui(ElementFacts(tag="div", name="Frobnicate"))
    assert found.risk is Risk.WRITE
    assert "not known to be harmless" in found.reasons[0]


def test_facts_from_plan_hints_without_tag_or_role() -> None:
    el = ElementFacts(name="Delete", text="Delete", attributes={"css": "#x"})
    assert classify_ui(el).risk is Risk.DESTRUCTIVE
    assert classify_ui(ElementFacts(name="Go", form_method="post")).risk is Risk.WRITE


def test_long_text_around_a_button_does_not_decide() -> None:
    text = "This card explains how you could delete or remove your data in settings later on"
    el = ElementFacts(tag="button", name="Learn more", text=text)
    assert classify_ui(el).risk is Risk.WRITE
