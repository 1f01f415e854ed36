"""The browser adapter against real Chromium and small pages served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from servers import serve_directory

from lam.adapters.browser import (
    BrowserSession,
    check_expect,
    element_facts,
    find_chromium,
    guard_facts,
    launch_args,
    perform,
    resolve_target,
    snapshot,
)
from lam.errors import GroundingError, LamError, StepFailed
from lam.risk import classify_ui
from lam.types import Risk

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


def open_page(page: Page, base_url: str, name: str) -> Page:
    page.goto(base_url + name)
    return page


# -- finding and launching -------------------------------------------------------------------


def test_find_chromium_prefers_env_and_rejects_missing(tmp_path: Path) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium({"LAM_CHROMIUM": str(fake), "PATH": ""}) == str(fake)
    assert find_chromium({"LAM_CHROMIUM": str(tmp_path / "none"), "PATH": ""}) is None
    assert find_chromium({"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)}) is None


def test_launch_args_sandbox_only_as_root() -> None:
    assert "--no-sandbox" in launch_args(root=True)
    assert "--no-sandbox" not in launch_args(root=False)
    assert "--disable-background-networking" in launch_args(root=False)


def test_missing_browser_is_a_clear_lam_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAM_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(LamError, match="apt-get install chromium"), BrowserSession():
        pass


def test_new_context_forgets_cookies(session: BrowserSession, base_url: str) -> None:
    session.new_context()
    session.page.goto(base_url + "people.html")
    session.context.add_cookies([{"name": "k", "value": "v", "url": base_url}])
    session.new_context()
    assert session.context.cookies() == []


# -- snapshot --------------------------------------------------------------------------------


def test_snapshot_names_roles_state_and_context(page: Page, base_url: str) -> None:
    open_page(page, base_url, "form.html")
    elements = snapshot(page)
    by_name = {(e.role, e.name): e for e in elements}
    assert ("textbox", "Name") in by_name
    assert by_name[("textbox", "Name")].value == "Ann"
    assert ("textbox", "Email") in by_name  # wrapping label
    assert by_name[("combobox", "Country")].value == "France"
    assert by_name[("radio", "Free")].checked is True
    assert by_name[("button", "Locked")].disabled is True
    password = by_name[("textbox", "Password")]
    assert password.value is None  # never read out
    assert by_name[("button", "Save")].context[-1] == "Profile"


def test_snapshot_marks_hidden_and_icon_buttons(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    elements = snapshot(page)
    archive = [e for e in elements if e.name == "Archive"]
    assert len(archive) == 1 and not archive[0].visible and archive[0].box is None
    names = {e.name for e in elements if e.role == "button"}
    assert {"Settings", "Print page"} <= names
    bob_delete = next(e for e in elements if e.name == "Delete" and "Bob" in e.context[0])
    assert any("xpath" in loc for loc in bob_delete.locators)


def test_snapshot_covers_shadow_roots_and_frames(page: Page, base_url: str) -> None:
    open_page(page, base_url, "shadow.html")
    nick = next(e for e in snapshot(page) if e.name == "Nickname")
    assert len(nick.shadow) == 2  # two nested hosts
    open_page(page, base_url, "frames.html")
    page.frame_locator("#pay").get_by_text("Pay now").wait_for()
    elements = snapshot(page)
    pay = next(e for e in elements if e.name == "Pay now")
    assert pay.frame == ("#pay",)
    confirm = next(e for e in elements if e.name == "Confirm")
    assert confirm.frame == ("#pay", "#nested")


# -- resolving targets -----------------------------------------------------------------------


def test_ambiguous_target_lists_candidates(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    with pytest.raises(GroundingError) as caught:
        resolve_target(page, {"role": "button", "name": "Delete"}, timeout_ms=1_000)
    assert caught.value.code == "ambiguous"
    assert len(caught.value.candidates) == 3
    assert "Bob" in caught.value.candidates[1]


def test_nth_picks_among_many(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    perform(page, "click", {"role": "button", "name": "Delete", "nth": 1}, timeout_ms=1_000)
    assert page.locator("#status").inner_text() == "Deleted Bob"
    perform(page, "click", {"role": "button", "name": "Delete", "nth": -1}, timeout_ms=1_000)
    assert page.locator("#status").inner_text() == "Deleted Carol"


def test_hidden_elements_are_not_offered(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    resolved = resolve_target(page, {"text": "Archive"}, timeout_ms=500)
    assert resolved.element.name == "Archive all"  # the hidden "Archive" is skipped
    with pytest.raises(GroundingError) as caught:
        resolve_target(page, {"css": "button[style]"}, timeout_ms=300)
    assert caught.value.code == "not-found"


def test_missing_target_suggests_closest(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    with pytest.raises(GroundingError) as caught:
        resolve_target(page, {"role": "button", "name": "Setings"}, timeout_ms=300)
    assert caught.value.candidates
    assert "Delete" in caught.value.one_line() or "Setings" in caught.value.one_line()


def test_late_elements_are_waited_for(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    result = perform(page, "click", {"role": "button", "name": "Load more"}, timeout_ms=3_000)
    assert result.element is not None and result.element.name == "Load more"
    assert check_expect(page, {"text": "More loaded"}) == []


def test_icon_only_buttons_by_aria_label_and_title(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    assert resolve_target(page, {"role": "button", "name": "Settings"}).element.tag == "button"
    assert resolve_target(page, {"role": "button", "name": "Print page"}).element.name == (
        "Print page"
    )


def test_frames_and_shadow_dom(page: Page, base_url: str) -> None:
    open_page(page, base_url, "frames.html")
    perform(page, "fill", {"frame": "#pay", "label": "Card number"}, "4242")
    perform(page, "click", {"frame": ["#pay", "#nested"], "role": "button", "name": "Confirm"})
    nested = page.frame_locator("#pay").frame_locator("#nested")
    assert nested.get_by_role("button").inner_text() == "Confirmed"
    open_page(page, base_url, "shadow.html")
    perform(page, "fill", {"label": "Nickname"}, "Zed")
    perform(page, "click", {"role": "button", "name": "Apply nickname"})
    assert check_expect(page, {"text": "Nickname Zed"}) == []


def test_candidates_heal_a_stale_locator(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    hints = {"css": "#gone", "candidates": [{"testid": "edit-bob"}]}
    resolved = resolve_target(page, hints, timeout_ms=500)
    assert resolved.how == "candidates[0]"
    assert "Bob" in resolved.element.context[0]


def test_unknown_hint_is_refused(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    with pytest.raises(GroundingError, match="unknown target hint"):
        resolve_target(page, {"colour": "red"}, step="s1")


# -- describe grounding ----------------------------------------------------------------------


def test_describe_grounds_with_context_and_ordinals(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    perform(page, "click", {"describe": "the delete button in the row with Bob"}, timeout_ms=1_000)
    assert page.locator("#status").inner_text() == "Deleted Bob"
    perform(page, "click", {"describe": "last delete button"}, timeout_ms=1_000)
    assert page.locator("#status").inner_text() == "Deleted Carol"
    resolved = resolve_target(page, {"describe": "settings icon"}, timeout_ms=1_000)
    assert resolved.element.name == "Settings"


def test_describe_refuses_to_guess(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    with pytest.raises(GroundingError) as tied:
        resolve_target(page, {"describe": "delete button"}, timeout_ms=300)
    assert tied.value.code == "ambiguous" and len(tied.value.candidates) == 3
    with pytest.raises(GroundingError) as nothing:
        resolve_target(page, {"describe": "export to spreadsheet"}, timeout_ms=300)
    assert nothing.value.code == "not-found" and "score=" in nothing.value.candidates[0]


# -- actions and expectations ----------------------------------------------------------------


def test_each_action(page: Page, base_url: str, tmp_path: Path) -> None:
    result = perform(page, "goto", None, base_url + "form.html")
    assert result.url.endswith("form.html")
    perform(page, "fill", {"label": "Name"}, "Bea")
    perform(page, "select", {"label": "Country"}, "Germany")
    assert page.locator("#country").input_value() == "de"
    perform(page, "check", {"label": "Newsletter"}, None)
    assert page.locator("#news").is_checked()
    perform(page, "uncheck", {"label": "Newsletter"}, None)
    assert not page.locator("#news").is_checked()
    perform(page, "check", {"role": "radio", "name": "Pro"}, None)
    perform(page, "fill", {"label": "Bio"}, "Hello")
    upload = tmp_path / "me.png"
    upload.write_bytes(b"\x89PNG")
    perform(page, "upload", {"label": "Avatar"}, str(upload))
    assert page.locator("#avatar").evaluate("e => e.files[0].name") == "me.png"
    perform(page, "hover", {"text": "Hover me"}, None)
    assert check_expect(page, {"visible": {"text": "Tooltip shown"}}) == []
    perform(page, "fill", {"placeholder": "Search"}, "cats")
    perform(page, "press", {"placeholder": "Search"}, "Enter")
    assert perform(page, "extract", {"css": "#msg"}, None).extracted == "Searched cats"
    bottom = perform(page, "scroll", {"role": "button", "name": "Bottom button"}, None)
    assert bottom.box is not None
    assert page.evaluate("window.scrollY") > 1000
    perform(page, "wait", None, "Hover me")
    perform(page, "assert", {"label": "Name"}, "Bea")
    with pytest.raises(StepFailed):
        perform(page, "assert", {"label": "Name"}, "Ann", step="check-name")
    perform(page, "click", {"role": "button", "name": "Save"}, None)
    assert check_expect(page, {"text": "Saved Bea", "url": "*form.html"}) == []


def test_disabled_click_fails_as_step_failed(page: Page, base_url: str) -> None:
    open_page(page, base_url, "form.html")
    with pytest.raises(StepFailed) as caught:
        perform(
            page, "click", {"role": "button", "name": "Locked"}, None, timeout_ms=500, step="lock"
        )
    assert caught.value.step == "lock"


def test_expect_reports_each_failure(page: Page, base_url: str) -> None:
    open_page(page, base_url, "form.html")
    failures = check_expect(
        page,
        {
            "url": "*/other.html",
            "text": "Nowhere to be seen",
            "checked": {"label": "Newsletter"},
            "enabled": {"role": "button", "name": "Locked"},
            "hidden": {"text": "Tooltip shown"},
            "value": {"label": "Name", "value": "Ann"},
        },
        timeout_ms=300,
    )
    assert [f.split(":")[0] for f in failures] == ["url", "text", "checked", "enabled"]


def test_element_facts_for_the_guard(page: Page, base_url: str) -> None:
    open_page(page, base_url, "form.html")
    save = resolve_target(page, {"role": "button", "name": "Save"}).locator
    facts = element_facts(page, save)
    assert facts["tag"] == "button" and facts["role"] == "button" and facts["name"] == "Save"
    assert facts["form_method"] == "post" and facts["form_action"] == base_url + "save"
    assert facts["form_has_password"] is True and facts["in_dialog"] is False
    delete = resolve_target(page, {"role": "button", "name": "Delete project"}).locator
    dialog_facts = guard_facts(page, delete)
    assert dialog_facts.in_dialog and "cannot be undone" in dialog_facts.dialog_text
    assert classify_ui(dialog_facts).risk is Risk.DESTRUCTIVE
    pw = element_facts(page, page.get_by_label("Password"))
    assert "value" not in pw["attributes"]


def test_fingerprint_heals_when_every_locator_is_stale(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    hints = {
        "css": "#old-archive",
        "candidates": [{"testid": "archive-everything"}],
        "fingerprint": {"role": "button", "name": "Archive all"},
    }
    resolved = resolve_target(page, hints, timeout_ms=300)
    assert resolved.how == "healed" and resolved.score is not None
    assert resolved.element.name == "Archive all"


def test_snapshot_candidate_locators_resolve_back(page: Page, base_url: str) -> None:
    open_page(page, base_url, "form.html")
    for element in snapshot(page):
        if not element.visible or element.disabled:
            continue
        for hints in element.locators:
            if "text" in hints or "label" in hints:
                continue  # substring matches may legitimately be wider; role/css/xpath may not
            resolved = resolve_target(page, {**hints, "exact": True}, timeout_ms=500)
            assert resolved.element.css == element.css, hints


def test_describe_grounds_inside_nested_frames(page: Page, base_url: str) -> None:
    open_page(page, base_url, "frames.html")
    page.frame_locator("#pay").frame_locator("#nested").get_by_text("Confirm").wait_for()
    resolved = resolve_target(page, {"describe": "confirm button"}, timeout_ms=1_000)
    assert resolved.element.frame == ("#pay", "#nested")
    resolved.locator.click()
    nested = page.frame_locator("#pay").frame_locator("#nested")
    assert nested.get_by_role("button").inner_text() == "Confirmed"


def test_fingerprint_alone_waits_for_a_late_element(page: Page, base_url: str) -> None:
    open_page(page, base_url, "people.html")
    hints = {"fingerprint": {"role": "button", "name": "Load more"}}
    resolved = resolve_target(page, hints, timeout_ms=3_000)
    assert resolved.element.name == "Load more"


# -- exact names win over longer ones ----------------------------------------------------------


def test_an_exact_name_wins_over_longer_ones(page: Page, base_url: str) -> None:
    # Django admin's change form: "Save", "Save and add another", "Save and continue editing".
    open_page(page, base_url, "exact_names.html")
    save = resolve_target(page, {"role": "button", "name": "Save"}, timeout_ms=1_000)
    assert save.element.name == "Save" and save.locator.get_attribute("name") == "_save"
    spaced = resolve_target(page, {"role": "button", "name": " save  "}, timeout_ms=1_000)
    assert spaced.locator.get_attribute("name") == "_save"  # case and spacing ignored
    first = resolve_target(page, {"label": "First name:"}, timeout_ms=1_000)
    assert first.locator.get_attribute("name") == "first_name"
    bare = resolve_target(page, {"label": "first name"}, timeout_ms=1_000)
    assert bare.locator.get_attribute("name") == "first_name"  # a label's colon aside
    search = resolve_target(page, {"placeholder": "Search"}, timeout_ms=1_000)
    assert search.locator.get_attribute("name") == "q"
    longer = resolve_target(page, {"role": "button", "name": "Save and add"}, timeout_ms=1_000)
    assert longer.locator.get_attribute("name") == "_addanother"  # a unique substring still


def test_two_exact_names_are_still_refused(page: Page, base_url: str) -> None:
    open_page(page, base_url, "exact_names.html")
    with pytest.raises(GroundingError) as caught:  # two links say just "Delete"
        resolve_target(page, {"role": "link", "name": "Delete"}, timeout_ms=1_000)
    assert caught.value.code == "ambiguous" and len(caught.value.candidates) == 3
    with pytest.raises(GroundingError) as caught:  # "Export" and "export": both exact
        resolve_target(page, {"role": "button", "name": "Export"}, timeout_ms=1_000)
    assert caught.value.code == "ambiguous"
    with pytest.raises(GroundingError):  # asked for exactly: Playwright's exact rules hold
        resolve_target(page, {"role": "link", "name": "Delete", "exact": True}, timeout_ms=500)
