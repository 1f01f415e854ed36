"""``lam replay``: a recording replayed on changed pages heals, shows a diff, writes it back.

The recording (tests/pages/heal/edit_flow.yaml) was made with ``lam.record`` on the demo app's
saved pages; the replays run it with ``--app app=URL`` against those pages served mutated.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lam.adapters.browser.chromium import find_chromium
from lam.cli.main import main
from lam.replayer import HealedStep, render_diff, update_recording, updated_target

HEAL = Path(__file__).parent / "pages" / "heal"
sys.path.insert(0, str(HEAL))

import heal_site  # noqa: E402

RECORDING = """\
# a hand-kept note that must survive an update
lam: 1
name: tiny
apps:
  app: {url: "http://127.0.0.1:1/"}
steps:
- id: open
  goto: app:/login
- id: click_save   # the save button
  click:
    role: button
    name: Save
    candidates:
    - css: '#save'
    fingerprint:
      tag: button
      name: Save
      near:
        heading: Edit
  description: keep me
- id: click_flow
  click: {text: Cancel, fingerprint: {tag: button, name: Cancel}}
"""

HEALED = HealedStep(
    "click_save", "click", {"role": "button", "name": "Save"},
    {"role": "button", "name": "Save changes", "exact": True}, 0.87, 0.61,
)  # fmt: skip


def test_updated_target_keeps_the_old_hints_as_first_candidate() -> None:
    target = yaml.safe_load(RECORDING)["steps"][1]["click"]
    new = updated_target(target, HEALED.new)
    assert new["role"] == "button" and new["name"] == "Save changes" and new["exact"] is True
    assert new["candidates"] == [{"role": "button", "name": "Save"}, {"css": "#save"}]
    assert new["fingerprint"] == target["fingerprint"]  # what the element looked like


def test_update_recording_rewrites_only_the_healed_targets(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(RECORDING, encoding="utf-8")
    flow = HealedStep("click_flow", "click", {"text": "Cancel"}, {"text": "Cancel now"}, 0.8)
    update_recording(path, [HEALED, flow])
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    assert document["steps"][1]["click"]["name"] == "Save changes"
    assert document["steps"][1]["description"] == "keep me"
    assert document["steps"][2]["click"]["text"] == "Cancel now"
    assert document["steps"][2]["click"]["candidates"] == [{"text": "Cancel"}]
    before, after = RECORDING.split("  click:\n")[0], RECORDING.split("  description:")[1]
    assert text.startswith(before + "  click:\n")  # the comments and all above: same bytes
    assert "  description:" + after.split("- id: click_flow")[0] in text


def test_render_diff_shows_old_and_new_hints() -> None:
    shown = render_diff([HEALED])
    assert "step click_save (click; healed, score 0.87, runner-up 0.61)" in shown
    assert '  - role: "button", name: "Save"' in shown
    assert '  + role: "button", name: "Save changes", exact: true' in shown
    assert render_diff([]) == "no target needed healing"


@pytest.fixture
def site() -> Iterator[heal_site.Site]:
    with heal_site.serve_site() as served:
        yield served


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PASSWORD", "admin-pass")
    monkeypatch.setenv("CI", "1")
    copy = tmp_path / "edit_flow.yaml"
    shutil.copyfile(HEAL / "edit_flow.yaml", copy)
    return copy


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed")
def test_replay_heals_shows_the_diff_and_updates(
    site: heal_site.Site, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.mutation = "all"
    original = recording.read_text(encoding="utf-8")
    args = ["replay", str(recording), "--app", f"app={site.url}/"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "target(s) healed:" in out and "run again with --update" in out
    assert '  + role: "button", name: "Save changes", exact: true' in out
    assert site.posts == ["/login", "/pets/1/edit"]  # the real Log in and Save buttons
    assert recording.read_text(encoding="utf-8") == original  # nothing written without --update

    assert main([*args, "--update"]) == 0
    assert "written back to" in capsys.readouterr().out
    updated = yaml.safe_load(recording.read_text(encoding="utf-8"))
    save = next(s for s in updated["steps"] if s["id"] == "click_save")["click"]
    assert save["name"] == "Save changes"
    assert save["candidates"][0] == {"role": "button", "name": "Save"}

    assert main([*args, "--json"]) == 0  # the updated recording needs no healing here
    assert '"healed": []' in capsys.readouterr().out


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed")
def test_replay_refuses_look_alikes_and_clicks_nothing(
    site: heal_site.Site, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.mutation = "twins"
    original = recording.read_text(encoding="utf-8")
    code = main(["replay", str(recording), "--app", f"app={site.url}/", "--update"])
    assert code == 1
    captured = capsys.readouterr()
    assert "FAIL click_log_in" in captured.out  # "Log in draft" and "Log in copy"
    assert "cannot heal" in captured.err and "too close" in captured.err
    assert site.posts == []  # the login form had look-alikes too: nothing was submitted
    assert recording.read_text(encoding="utf-8") == original


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed")
def test_dry_run_replay_heals_without_posting(
    site: heal_site.Site, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.mutation = "reword,wrap"
    code = main(["replay", str(recording), "--app", f"app={site.url}/", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "target(s) healed:" in out
    # the save was held by the sandbox (a dry run lets only the sign-in form through)
    assert "/pets/1/edit" not in site.posts


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed")
def test_a_dry_run_does_not_sign_in_through_a_form_with_two_password_fields(
    site: heal_site.Site, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The decoy mutation clones every field, so the login form asks for two passwords: that is
    not a credentials form (a change-password or sign-up form looks so), and a dry run sends
    nothing of it live: the replay stops signed out, having posted nothing."""
    site.mutation = "decoy"
    code = main(["replay", str(recording), "--app", f"app={site.url}/", "--dry-run"])
    capsys.readouterr()
    assert code != 0
    assert site.posts == []
