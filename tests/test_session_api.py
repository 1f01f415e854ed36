"""``lam.Session``: one guarded run driven step by step, against the demo shop in real Chromium.

Changes are checked in the app's own database and its access log: a held step must leave no
trace there, an approved one must. The session's plan runs again with ``lam run`` on the shop
set back as the session found it, and gets there too.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer, start_demo

import lam
from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.errors import GroundingError, LamError, PlanError, UsageError
from lam.hands import ActStatus
from lam.runtime.record import read_trace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "specs" / "demo.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """One shop for the module: each test changes its own pet and reads its own log slice."""
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def pets(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, name FROM pets").fetchall())


def changing(requests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """State-changing requests that reached the app (signing in changes no state)."""
    return [
        (r["method"], r["path"])
        for r in requests
        if r["method"] not in ("GET", "HEAD") and r["path"] not in ("/login", "/api/login")
    ]


def shop_session(demo: DemoServer, **options: Any) -> lam.Session:
    return lam.Session(
        apps={"shop": demo.url + "/"}, apis={"shop": (DEMO_SPEC, demo.api)}, **options
    )


def ref(snapshot: lam.PageSnapshot, name: str) -> str:
    return next(r for r, e in zip(snapshot.refs, snapshot.elements, strict=True) if e.name == name)


def sign_in(session: lam.Session) -> None:
    assert session.act({"id": "open", "goto": "shop:/login"}).ok
    page = session.observe()
    assert "[ref=" in page.text() and 'textbox "Username"' in page.text()
    for name, value in (("Username", "admin"), ("Password", "admin-pass")):
        assert session.act({"fill": {"ref": ref(page, name)}, "value": value}).ok
    done = session.act({"id": "log_in", "click": {"ref": ref(page, "Log in")}})
    assert done.ok, done.error


def test_sign_in_and_rename_a_pet_by_refs_then_the_plan_replays_to_the_same_outcome(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop_session(demo) as session:
        sign_in(session)
        assert session.act({"id": "edit", "goto": "shop:/pets/2/edit"}).ok
        form = session.observe()
        assert form.refs == session.observe().refs  # the same page: the same refs
        renamed = session.act({"fill": {"ref": ref(form, "Name")}, "value": "Bellatrix"})
        assert renamed.ok and renamed.step == "step6"
        saved = session.act(
            {"id": "save", "click": {"ref": ref(form, "Save")}, "expect": {"text": "Bellatrix"}}
        )
        assert saved.ok, saved.error
        assert pets(demo.db)[2] == "Bellatrix"  # the app's own state
        text = session.plan_text()
        run_id = session.run_id
    assert session.closed and session.result.status == "ok"
    assert main(["verify", run_id]) == 0  # the record's chain and signature hold
    capsys.readouterr()

    plan = yaml.safe_load(text)
    assert [s["id"] for s in plan["steps"]] == [
        "open", "step2", "step3", "log_in", "edit", "step6", "save"
    ]  # fmt: skip
    assert all("ref" not in str(s) for s in plan["steps"])  # refs became locator hints
    path = tmp_path / "session-plan.yaml"
    path.write_text(text)
    with sqlite3.connect(demo.db) as conn:  # the shop as the session found it
        conn.execute("UPDATE pets SET name = 'Bella' WHERE id = 2")
    before = pets(demo.db)
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    assert pets(demo.db) == {**before, 2: "Bellatrix"}  # the same outcome


def test_a_destructive_step_is_held_until_the_operator_approves_it(demo: DemoServer) -> None:
    victim = 3
    with shop_session(demo) as session:
        sign_in(session)
        assert session.act({"id": "open_pet", "goto": f"shop:/pets/{victim}"}).ok
        seen = len(demo.requests())
        delete = {"id": "delete", "click": {"role": "button", "name": "Delete"}}
        held = session.act(delete)
        assert held.status is ActStatus.HELD and held.risk == "destructive"
        assert held.approval == f"delete@{held.digest}" and held.reasons
        assert isinstance(held.error, LamError) and "needs approval" in held.error.message
        assert changing(demo.requests()[seen:]) == [] and victim in pets(demo.db)

        # no risk word in the target: the guard judges the element it resolves to, as it acts
        disguised = {"id": "proceed", "click": {"css": "form[method=get] button[type=submit]"}}
        stopped = session.act(disguised)
        assert stopped.status is ActStatus.HELD and stopped.risk == "destructive"
        assert stopped.approval == f"proceed@{stopped.digest}"
        assert "'Delete'" in stopped.summary and changing(demo.requests()[seen:]) == []
        assert (session.observe().url or "").endswith(f"/pets/{victim}")  # it did not navigate
        session.approve(stopped.approval or "")
        assert session.act(disguised).ok  # approved as shown: on to the confirmation page
        assert (session.observe().url or "").endswith(f"/pets/{victim}/delete?")
        assert session.act({"id": "back", "goto": f"shop:/pets/{victim}"}).ok

        # an approval for other content does not cover this step
        with pytest.raises(UsageError, match="digest"):
            session.approve("delete")  # the operator must name what was shown
        session.approve("delete@0000000000")
        assert session.act(delete).status is ActStatus.HELD

        session.approve(held.approval or "")
        # the agent cannot swap the content under the approved id
        sneaky = session.act({"id": "delete", "click": {"css": "button.danger"}})
        assert sneaky.status is ActStatus.HELD and sneaky.digest != held.digest
        assert changing(demo.requests()[seen:]) == []

        assert session.act(delete).ok  # the step as shown: it runs
        confirm = session.act({"id": "confirm", "click": {"role": "button", "name": "Yes, delete"}})
        assert confirm.status is ActStatus.HELD
        assert changing(demo.requests()[seen:]) == [] and victim in pets(demo.db)
        session.approve(confirm.approval or "")
        assert session.act({"id": "confirm", "click": {"role": "button", "name": "Yes, delete"}}).ok
        assert victim not in pets(demo.db)
        assert ("POST", f"/pets/{victim}/delete") in changing(demo.requests()[seen:])
        used = session.approvals_used()
        assert used == [stopped.approval, held.approval, confirm.approval]
        directory = session.directory
    events = list(read_trace(directory / "trace.jsonl"))
    kinds = [e["type"] for e in events]
    assert "step-held" in kinds and kinds.count("approval") == 4 and kinds[-1] == "end"


def test_bad_input_is_a_lam_error_that_says_what_and_where(demo: DemoServer) -> None:
    seen = len(demo.requests())
    with shop_session(demo) as session:
        with pytest.raises(PlanError, match=r"steps\[0\]") as bad:
            session.act({"id": "x", "clik": {"text": "Save"}})
        assert "clik" in bad.value.one_line()
        with pytest.raises(PlanError, match="mapping"):
            session.act("click Save")  # type: ignore[arg-type]
        with pytest.raises(PlanError):
            session.act({"id": "two", "goto": "shop:/", "click": {"text": "x"}})
        with pytest.raises(LamError, match="no app named 'nowhere'"):
            session.act({"goto": "nowhere:/"})
        with pytest.raises(PlanError, match=r"body\.name: .*required"):
            session.act({"call": "shop.createPet", "body": {"species": "dog"}})
        with pytest.raises(UsageError, match="observe"):
            session.act({"click": {"ref": "e1"}})  # no snapshot yet
        with pytest.raises(PlanError, match="unknown key 'approve'"):
            session.act({"goto": "shop:/", "approve": True})  # a step cannot approve itself
        away = session.act({"id": "away", "goto": "http://127.0.0.2:9/steal"})
        assert away.status is ActStatus.DENIED and away.approval is None
        assert session.act({"id": "home", "goto": "shop:/login"}).ok
        page = session.observe()
        assert session.act({"goto": "shop:/pets"}).ok
        now = session.observe()
        old = ref(page, "Log in")
        assert old not in now.refs
        with pytest.raises(GroundingError, match="stale or from another page"):
            session.act({"click": {"ref": old}})
        with pytest.raises(PlanError, match="taken"):
            session.act({"id": "home", "goto": "shop:/"})
        with pytest.raises(UsageError, match="STEP@DIGEST"):
            session.approve("not an approval")
        with pytest.raises(UsageError, match="digest"):  # an id alone: whatever the agent sends
            lam.Session(apps={"shop": demo.url + "/"}, approvals=["delete"])
        failed = session.act({"click": {"text": "No such thing anywhere"}, "timeout": 1})
        assert failed.status is ActStatus.FAILED and failed.error is not None
        assert changing(demo.requests()[seen:]) == []
    with pytest.raises(UsageError, match="closed"):
        session.act({"goto": "shop:/"})


def test_api_steps_are_checked_guarded_and_held_like_any_plan(
    demo: DemoServer, tmp_path: Path
) -> None:
    seen = len(demo.requests())
    with lam.Session(apis={"shop": (DEMO_SPEC, demo.api)}) as session:
        login = session.act(
            {"id": "login", "call": "shop.login", "body": {"username": "admin",
             "password": "admin-pass"}, "outputs": {"token": "$response.body#/token"}}
        )  # fmt: skip
        assert login.ok and set(login.outputs) == {"token"}
        auth = {"Authorization": "Bearer {$steps.login.outputs.token}"}
        held = session.act({"id": "rm", "call": "shop.deletePet", "params": {**auth, "petId": 1}})
        assert held.status is ActStatus.HELD and held.risk == "destructive"
        assert changing(demo.requests()[seen:]) == [] and 1 in pets(demo.db)
        with pytest.raises(UsageError, match="no app"):
            session.observe()
    denied_policy = tmp_path / "policy.yaml"
    denied_policy.write_text(
        "rules:\n  - match: {api: shop, operation: deletePet}\n    verdict: deny\n"
    )
    with lam.Session(apis={"shop": (DEMO_SPEC, demo.api)}, policy=denied_policy) as session:
        denied = session.act({"id": "rm", "call": "shop.deletePet", "params": {"petId": 1}})
        assert denied.status is ActStatus.DENIED and denied.approval is None
    assert changing(demo.requests()[seen:]) == [] and 1 in pets(demo.db)


def test_a_dry_run_session_holds_every_change_in_the_sandbox(demo: DemoServer) -> None:
    seen = len(demo.requests())
    with lam.Session(apis={"shop": (DEMO_SPEC, demo.api)}, dry_run=True) as session:
        done = session.act({"id": "rm", "call": "shop.deletePet", "params": {"petId": 1}})
        assert done.ok  # the sandbox answered: verdicts are recorded, not enforced
    result = session.result
    assert result.dry_run and result.effects_json and result.effects_json[0]["method"] == "DELETE"
    assert changing(demo.requests()[seen:]) == [] and 1 in pets(demo.db)


def element(index: int, role: str, name: str, css: str, **extra: Any) -> Any:
    from lam.adapters.browser.page_model import ElementInfo

    fields: dict[str, Any] = {"visible": True, "hint_kinds": "r", **extra}
    return ElementInfo(index=index, role=role, name=name, tag="button", css=css, **fields)


def test_refs_are_stable_per_page_and_name_one_element() -> None:
    from lam.page_refs import RefBook

    book = RefBook()
    twins = [element(0, "button", "Save", "#a"), element(1, "button", "Save", "#b"),
             element(2, "textbox", "Name", "#n", value="Rex"),
             element(3, "button", "Hidden", "#h", visible=False)]  # fmt: skip
    page = book.snapshot("http://h/pets/1#top", twins, title="Rex")
    assert page.refs == ("e1", "e2", "e3")  # the hidden one has no ref
    assert book.snapshot("http://h/pets/1", twins).refs == page.refs  # same page, same refs
    other = book.snapshot("http://h/pets/2", twins)
    assert other.refs == ("e4", "e5", "e6")
    with pytest.raises(GroundingError, match="stale or from another page"):
        other.element("e1")
    assert page.target("e3") == {"role": "textbox", "name": "Name"}
    assert page.target("e1") == {"css": "#a"}  # role+name would also find its twin
    with pytest.raises(GroundingError, match="2 element") as several:
        page.find("save")
    assert len(several.value.candidates) == 2
    assert page.find("Name", role="textbox") == "e3"
    text = page.text()
    assert '- textbox "Name" value="Rex" [ref=e3]' in text and "Page Title: Rex" in text


def test_lam_kill_stops_the_session_and_an_exception_still_ends_the_record(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apis = {"shop": (DEMO_SPEC, demo.api)}
    login = {"call": "shop.login", "body": {"username": "admin", "password": "admin-pass"}}
    with lam.Session(apis=apis) as session:
        assert session.act(login).ok and not session.stop_if_killed()
        codes: list[int] = []
        killer = threading.Thread(target=lambda: codes.append(main(["kill", session.run_id])))
        killer.start()  # lam kill finds the session registered like any run
        deadline = time.monotonic() + 10
        while not session.stop_if_killed() and time.monotonic() < deadline:
            time.sleep(0.02)  # a caller waiting for its model polls the switch
        killer.join()
        assert codes == [0] and session.killed and session.closed
        with pytest.raises(UsageError, match="closed"):
            session.act(login)
    assert session.result.status == "killed"
    events = list(read_trace(session.directory / "trace.jsonl"))
    assert [e["type"] for e in events][-2:] == ["killed", "end"]

    seen = len(demo.requests())
    with lam.Session(apis=apis) as stopped:
        from lam.runtime.kill import stop_run
        from lam.runtime.registry import find_runs

        [entry] = find_runs(stopped.run_id)
        stop_run(entry)
        result = stopped.act(login)  # the next step is not taken
        assert result.status is ActStatus.KILLED and stopped.closed
    assert demo.requests()[seen:] == []
    capsys.readouterr()

    with pytest.raises(RuntimeError), lam.Session(apis=apis) as broken:
        raise RuntimeError("the caller's own bug")
    assert broken.closed
    assert [e["type"] for e in read_trace(broken.directory / "trace.jsonl")][-1] == "end"
    assert main(["verify", broken.run_id]) == 0


def test_a_look_at_the_page_and_a_persons_no_are_public_and_recorded(demo: DemoServer) -> None:
    """observe() shows the title, screenshot() is a look (no step), a person's answer goes into
    the record with record_decision(), and stop() ends the run as lam kill does."""
    with shop_session(demo) as session:
        sign_in(session)
        assert session.act({"id": "open_pet", "goto": "shop:/pets/4"}).ok
        page = session.observe()
        assert (
            page.title.endswith("Pet shop admin") and f"- Page Title: {page.title}" in page.text()
        )
        steps = len(session.plan()["steps"])
        assert session.screenshot().startswith(b"\x89PNG")
        assert session.screenshot(full_page=True, jpeg=True).startswith(b"\xff\xd8")
        assert len(session.plan()["steps"]) == steps  # a look, not a step

        seen = len(demo.requests())
        held = session.act({"id": "delete", "click": {"role": "button", "name": "Delete"}})
        assert held.status is ActStatus.HELD and held.approval
        session.record_decision(held.approval, "declined", channel="test person", reason="no")
        with pytest.raises(UsageError, match="decision"):
            session.record_decision(held.approval, "maybe", channel="test")  # type: ignore[arg-type]
        with pytest.raises(UsageError, match="digest"):
            session.record_decision("delete", "approved", channel="test")
        assert changing(demo.requests()[seen:]) == [] and 4 in pets(demo.db)
        session.stop("the test is over")
        assert session.closed and session.killed
    assert session.result.status == "killed"
    events = list(read_trace(session.directory / "trace.jsonl"))
    [decision] = [e for e in events if e["type"] == "decision"]
    assert decision["step"] == "delete" and decision["digest"] == held.digest
    assert (decision["decision"], decision["channel"]) == ("declined", "test person")
    assert [e["type"] for e in events][-2:] == ["killed", "end"]
    assert main(["verify", session.run_id]) == 0

    api_only = lam.Session(apis={"shop": (DEMO_SPEC, demo.api)})
    with api_only, pytest.raises(UsageError, match="no app"):
        api_only.screenshot()
