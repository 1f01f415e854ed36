"""Recording: each captured event type, iframes, secrets, parameters — real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_directory

import lam
from lam.adapters.browser import BrowserSession, find_chromium, perform
from lam.cli.main import main
from lam.errors import UsageError
from lam.plans import UiStep, load_plan
from lam.recording import parameterize, typed_fields

PAGES = Path(__file__).parent / "pages" / "record"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed"),
]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_directory(PAGES) as url:
        yield url


@pytest.fixture(scope="module")
def recorded(site: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One recording that exercises every event type (one Chromium for the whole module)."""
    out = tmp_path_factory.mktemp("rec") / "signup.yaml"
    cv = out.parent / "cv.txt"
    cv.write_text("curriculum vitae")
    with lam.record(site + "form.html", out=out, params={"email": "Email"}) as page:
        page.get_by_label("Email").fill("an")
        page.get_by_label("Email").press_sequentially("n@example.co")
        page.get_by_label("Email").type("m")
        page.get_by_label("Password").fill("hunter2-secret")
        page.get_by_placeholder("Search terms").fill("$cheap {$plans}")
        page.get_by_label("Plan").select_option("pro")
        page.get_by_label("Newsletter").uncheck()
        page.get_by_label("I agree").check()
        page.get_by_label("Blue").check()
        page.get_by_label("CV").set_input_files(str(cv))
        page.get_by_role("button", name="Edit").nth(1).click()
        page.frame_locator("#inner").get_by_label("Card number").fill("4242")
        page.frame_locator("#inner").get_by_role("button", name="Apply code").click()
        page.get_by_label("Email").press("Enter")
        page.get_by_text("Submitted").wait_for()
        page.get_by_role("link", name="Next page").click()
        page.wait_for_url("**/next.html")
        page.goto(site + "form.html?again=1")
        page.keyboard.press("Escape")
    return out


def steps_of(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    return list(document["steps"])


def one(steps: list[dict[str, Any]], action: str, **where: Any) -> dict[str, Any]:
    found = [
        s
        for s in steps
        if isinstance(s.get(action), dict)
        and all(s[action].get("fingerprint", {}).get(k) == v for k, v in where.items())
    ]
    assert len(found) == 1, (action, where, found)
    return found[0]


def test_the_recording_is_a_plan_naming_its_app(recorded: Path, site: str) -> None:
    plan = load_plan(recorded)
    assert plan.apps["app"].url == site
    assert plan.steps[0].action == "goto" and plan.steps[0].argument == "app:/form.html"
    assert main(["validate", str(recorded)]) == 0


def test_fill_once_per_field_with_the_final_value(recorded: Path) -> None:
    steps = steps_of(recorded)
    fills = [s for s in steps if "fill" in s]
    assert [s["fill"]["fingerprint"]["name"] for s in fills] == [
        "Email", "Password", "Search terms", "Card number",
    ]  # fmt: skip
    search = one(steps, "fill", name="Search terms")
    assert search["fill"]["name"] == "Search terms"
    assert {"placeholder": "Search terms"} in search["fill"]["candidates"]
    # typed text that looks like an expression is never read back as one: "{$" cannot be
    # escaped in a plan value, so the text becomes an input's default (which is not parsed)
    plan = load_plan(recorded)
    name = f"{search['id']}_text"
    assert search["value"] == f"$inputs.{name}"
    assert plan.inputs[name]["default"] == "$cheap {$plans}"


def test_password_is_never_written(recorded: Path) -> None:
    text = recorded.read_text()
    assert "hunter2" not in text
    assert one(steps_of(recorded), "fill", name="Password")["value"] == "$secrets.PASSWORD"


def test_select_check_uncheck_and_radio(recorded: Path) -> None:
    steps = steps_of(recorded)
    assert one(steps, "select", name="Plan")["value"] == "pro"
    assert one(steps, "uncheck", name="Newsletter")
    assert one(steps, "check", name="I agree")
    radio = one(steps, "check", name="Blue")
    assert radio["check"]["fingerprint"]["near"]["group"] == "Colour"


def test_upload_records_file_names(recorded: Path) -> None:
    assert one(steps_of(recorded), "upload", name="CV")["value"] == ["cv.txt"]


def test_click_on_a_repeated_name_is_told_apart(recorded: Path) -> None:
    click = one(steps_of(recorded), "click", name="Edit")["click"]
    # "Edit" is on two rows: the unique css path wins, role+name survives with its nth
    assert "css" in click
    assert {"role": "button", "name": "Edit", "nth": 1} in click["candidates"]
    assert click["fingerprint"]["near"]["row"] == "Beta Edit"


def test_iframe_steps_carry_the_frame(recorded: Path) -> None:
    steps = steps_of(recorded)
    card = one(steps, "fill", name="Card number")["fill"]
    pay = one(steps, "click", name="Apply code")["click"]
    assert card["frame"] == "#inner" and pay["frame"] == "#inner"
    assert card["fingerprint"]["frame"] == ["#inner"]


def test_keys_and_navigation(recorded: Path) -> None:
    steps = steps_of(recorded)
    enter = one(steps, "press", name="Email")
    assert enter["value"] == "Enter"
    # Enter submitted the form: the synthetic click on Send is not recorded on top of it
    assert not [s for s in steps if "click" in s and s["click"].get("testid") == "send"]
    # a link click is a click, not a redundant goto; a typed URL is a goto under the app
    assert one(steps, "click", name="Next page")
    gotos = [s["goto"] for s in steps if "goto" in s]
    assert gotos == ["app:/form.html", "app:/form.html?again=1"]
    assert steps[-1] == {"id": steps[-1]["id"], "press": "Escape"}


def test_targets_rank_locators_and_fingerprint(recorded: Path) -> None:
    fill = one(steps_of(recorded), "fill", name="Email")["fill"]
    assert fill["role"] == "textbox" and fill["name"] == "Email"
    kinds = [next(iter(c)) for c in fill["candidates"]]
    assert kinds == ["label", "css", "xpath"]
    fp = fill["fingerprint"]
    assert fp["tag"] == "input"
    assert fp["attributes"] == {"id": "email", "name": "email", "type": "email"}
    assert fp["near"]["previous"] == "Email" and fp["position"]["box"]


def test_param_at_record_time_becomes_an_input(recorded: Path) -> None:
    plan = load_plan(recorded)
    assert plan.inputs["email"] == {"type": "string", "default": "ann@example.com"}
    assert one(steps_of(recorded), "fill", name="Email")["value"] == "$inputs.email"


def test_recording_params_command(recorded: Path, tmp_path: Path, capsys: Any) -> None:
    assert main(["recording", "params", str(recorded)]) == 0
    listing = capsys.readouterr().out
    assert "Card number" in listing and "4242" in listing and "hunter2" not in listing
    out = tmp_path / "p.yaml"
    code = main(
        ["recording", "params", str(recorded), "--name", "card=Card number", "-o", str(out)]
    )
    assert code == 0
    plan = load_plan(out)
    assert plan.inputs["card"]["default"] == "4242"
    assert main(["recording", "params", str(recorded), "--name", "x=Nope"]) == 2
    assert "no typed field 'Nope'" in capsys.readouterr().err


def test_parameterize_refuses_secrets() -> None:
    document = {"steps": [{"id": "pw", "fill": {"label": "Password"}, "value": "$secrets.PW"}]}
    assert typed_fields(document) == []
    with pytest.raises(UsageError):
        parameterize(document, {"pw": "pw"})


def test_the_recording_replays_through_the_adapter(
    recorded: Path, site: str, tmp_path: Path
) -> None:
    plan = load_plan(recorded)
    cv = tmp_path / "cv.txt"
    cv.write_text("cv")
    values = {"fill_password": "x", "fill_email": "bob@example.com"}
    with BrowserSession(timeout_ms=5_000) as session:
        page = session.page
        for step in plan.steps:
            assert isinstance(step, UiStep)  # a recording holds UI steps only
            if step.action == "goto":
                perform(page, "goto", None, site + str(step.argument).removeprefix("app:/"))
            elif step.action == "upload":
                perform(page, "upload", step.target, str(cv), step=step.id)
            elif step.action == "press" and step.target is None:
                perform(page, "press", None, step.argument)
            else:
                value = values.get(step.id, step.value)
                result = perform(page, step.action, step.target, value, step=step.id)
                assert result.element is not None
                if step.id == "fill_email":
                    assert page.get_by_label("Email").input_value() == "bob@example.com"
        assert page.url.endswith("form.html?again=1")


@pytest.mark.timeout(60)
def test_closing_the_window_ends_the_recording(site: str, tmp_path: Path) -> None:
    from lam.recording import Recorder

    out = tmp_path / "closed.yaml"
    recorder = Recorder(site + "form.html", out=out)
    page = recorder.start()
    try:
        with page.context.expect_page() as opened:
            page.evaluate(f"() => window.open({site + 'form.html'!r})")
        popup = opened.value
        popup.wait_for_load_state()
        page.close()
        popup.get_by_label("Email").fill("typed before closing")
        # a window a script opened may close itself, as a person closes theirs
        popup.evaluate("() => setTimeout(() => window.close(), 300)")
        recorder.wait_until_closed()  # returns once the last window is gone
    finally:
        recorder.stop()
    fills = [s for s in steps_of(out) if "fill" in s]
    assert [s["value"] for s in fills] == ["typed before closing"]


def test_lam_record_command_ends_on_ctrl_c(site: str, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "cli.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "lam", "record", site + "next.html", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        # the command says it is recording once the page is open
        assert process.stderr is not None
        seen = ""
        while "close the window or press Ctrl+C" not in seen and time.monotonic() < deadline:
            seen += process.stderr.readline()
        # without a screen lam starts Xvfb (the set-up installs it) and records headed there
        assert "on display :" in seen or "no Xvfb" in seen
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert f"wrote {out} (1 steps)" in stdout
    assert steps_of(out) == [{"id": "goto_next_html", "goto": "app:/next.html"}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["record", "http://127.0.0.1:1/", "-o", "x.yaml", "--headless"], "cannot open http"),
        (["record", "not a url", "-o", "x.yaml", "--headless"], "cannot open not a url"),
        (["record", "http://127.0.0.1:1/", "-o", "."], "is a directory"),
        (["recording", "params", "missing.yaml"], "recording not found"),
    ],
)
def test_record_usage_errors_are_one_line(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.yaml").exists()


def test_a_param_naming_no_field_keeps_the_recording(site: str, tmp_path: Path) -> None:
    out = tmp_path / "kept.yaml"
    wanted = "written without inputs: no typed field 'Nope'"
    with (
        pytest.raises(UsageError, match=wanted) as info,
        lam.record(site + "form.html", out=out, params={"x": "Nope"}) as page,
    ):
        page.get_by_label("Email").fill("kept@example.com")
    assert info.value.file == str(out)
    assert [s.get("value") for s in steps_of(out) if "fill" in s] == ["kept@example.com"]


def test_cross_origin_frames_are_named_from_outside(site: str, tmp_path: Path) -> None:
    out = tmp_path / "cross.yaml"
    with lam.record(site + "cross.html", out=out) as page:
        frame = page.frame_locator("#psp")
        frame.get_by_label("Card number").fill("4242")
        frame.get_by_role("button", name="Apply code").click()
        frame.get_by_text("Applied").wait_for()
    steps = steps_of(out)
    # the frame's own script cannot see its host element; the session works the path out
    assert one(steps, "fill", name="Card number")["fill"]["frame"] == "#psp"
    assert one(steps, "click", name="Apply code")["click"]["frame"] == "#psp"


def test_lam_record_is_the_function_even_after_the_package_is_imported() -> None:
    import inspect

    import lam.recording.writer  # importing the package must not shadow lam.record
    from lam.recording import record

    assert inspect.isfunction(lam.record)
    assert lam.record is record
