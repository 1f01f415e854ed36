"""A plan that grows while it runs (lam.runtime.growing, Runner.add_step and Runner.observe), against
the demo shop's API on 127.0.0.1: each added step is validated with the plan so far, held
under the same approval rules as ``lam run`` (nothing reaches the server), and joins the plan
only once it ran."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from servers import DemoServer

from lam.adapters.browser import find_chromium
from lam.errors import BlockedError, PlanError, StepFailed
from lam.plans import load_plan, step_digest
from lam.policy import default_policy, policy_from_data
from lam.runtime.growing import approvals_naming, step_document
from lam.runtime.guard import GuardCheck
from lam.runtime.record import read_trace
from lam.runtime.runner import Runner
from lam.runtime.start import RunOptions, open_growing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")
AUTH = "Bearer {$steps.login.outputs.token}"
LOGIN = {
    "id": "login",
    "call": "shop.login",
    "body": {"username": "admin", "password": "admin-pass"},
    "outputs": {"token": "$response.body#/token"},
}


def remove(pet: int, step_id: str = "remove") -> dict[str, Any]:
    return {
        "id": step_id,
        "call": "shop.deletePet",
        "params": {"Authorization": AUTH, "petId": pet},
    }


def pets(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM pets ORDER BY id")]


def deletes(demo: DemoServer) -> list[dict[str, Any]]:
    return [r for r in demo.requests() if r.get("method") == "DELETE"]


def runner_for(
    demo: DemoServer, path: Path, document: dict[str, Any] | None = None, **options: Any
) -> Runner:
    if document is None:
        document = {"lam": 1, "name": "grown", "apis": {"shop": {"spec": DEMO_SPEC}}}
    options.setdefault("policy", default_policy())
    run = RunOptions(api_overrides={"shop": demo.api}, **options)
    return open_growing({**document, "steps": []}, run, path=path / "grown.yaml")


def test_steps_added_one_by_one_run_and_become_the_plan(demo: DemoServer, tmp_path: Path) -> None:
    runner = runner_for(demo, tmp_path)
    with runner.session():
        runner.add_step(LOGIN)
        outcome = runner.add_step(
            {"id": "look", "call": "shop.getPet", "params": {"Authorization": AUTH, "petId": 2},
             "outputs": {"name": "$response.body#/name"}}
        )  # fmt: skip
        assert runner.observe() is None  # API steps alone: no browser to look at
    assert outcome.response["status"] == 200
    assert runner.result.status == "ok"
    assert [s.id for s in runner.plan.steps] == ["login", "look"]
    assert [s["id"] for s in runner.plan.document["steps"]] == ["login", "look"]
    assert runner.state.outputs["look"]["name"]
    events = read_trace(Path(runner.result.directory) / "trace.jsonl")
    verdicts = [s["id"] for e in events if e["type"] == "verdicts" for s in e["steps"]]
    assert verdicts == ["login", "look"]  # each added step's verdict is in the record


def test_a_destructive_step_is_held_naming_its_digest_and_nothing_is_sent(
    demo: DemoServer, tmp_path: Path
) -> None:
    runner = runner_for(demo, tmp_path)
    with runner.session():
        runner.add_step(LOGIN)
        with pytest.raises(BlockedError) as held:
            runner.add_step(remove(2))
        message = held.value.message
        assert held.value.step == "remove" and "destructive" in message, message
        flag = re.search(r"--approve (remove@[0-9a-f]{10})", message)
        assert flag is not None, message
        assert [s.id for s in runner.plan.steps] == ["login"]  # the held step is not in it
        assert 2 in pets(demo.db) and deletes(demo) == []
        runner.add_step(remove(2), approvals=[flag.group(1)])
    assert 2 not in pets(demo.db) and runner.result.status == "ok"
    assert [s.id for s in runner.plan.steps] == ["login", "remove"]


def test_an_approval_for_other_content_is_stale_and_sends_nothing(
    demo: DemoServer, tmp_path: Path
) -> None:
    runner = runner_for(demo, tmp_path)
    with runner.session():
        runner.add_step(LOGIN)
        with pytest.raises(BlockedError) as held:
            runner.add_step(remove(2))
        flag = re.search(r"--approve (remove@[0-9a-f]{10})", held.value.message)
        assert flag is not None
        with pytest.raises(BlockedError) as stale:
            runner.add_step(remove(3), approvals=[flag.group(1)])  # same id, another pet
        assert stale.value.code == "stale-approval"
    assert pets(demo.db)[:3] == [1, 2, 3] and deletes(demo) == []
    assert runner.result.status == "ok"  # the caller took the refusals: the run went on


def test_a_plain_or_risk_approval_naming_the_step_binds_and_others_wait(
    demo: DemoServer, tmp_path: Path
) -> None:
    runner = runner_for(demo, tmp_path)
    given = ["remove:destructive", "later@0123456789"]  # the second names a step not added
    assert approvals_naming("remove", given) == frozenset({"remove:destructive"})
    with runner.session():
        runner.add_step(LOGIN, approvals=given)
        runner.add_step(remove(3), approvals=given)
    assert 3 not in pets(demo.db) and runner.result.status == "ok"
    assert "remove:destructive" in runner.state.guard.approvals


def test_a_dry_run_takes_a_held_step_in_the_sandbox_and_refuses_a_denied_one(
    demo: DemoServer, tmp_path: Path
) -> None:
    policy = policy_from_data(
        {"rules": [{"match": {"operation": "deleteOrder"}, "verdict": "deny"}]}
    )
    runner = runner_for(demo, tmp_path, dry_run=True, policy=policy)
    with runner.session():
        runner.add_step(LOGIN)
        runner.add_step(remove(2))  # no approval: the sandbox answers it
        with pytest.raises(BlockedError, match="denied"):
            runner.add_step({"id": "drop", "call": "shop.deleteOrder",
                             "params": {"Authorization": AUTH, "orderId": 1}})  # fmt: skip
    assert 2 in pets(demo.db) and deletes(demo) == []
    assert runner.result.dry_run and runner.result.effects_json is not None
    assert [e["step"] for e in runner.result.effects_json] == ["login", "remove"]


def test_an_invalid_step_is_a_plan_error_at_its_place_and_the_plan_stays(
    demo: DemoServer, tmp_path: Path
) -> None:
    runner = runner_for(demo, tmp_path)
    with runner.session():
        runner.add_step(LOGIN)
        with pytest.raises(PlanError) as bad:
            runner.add_step({"id": "nope", "call": "shop.noSuchOperation"})
        assert bad.value.location == "steps[1].call", bad.value.one_line()
        with pytest.raises(PlanError) as later:
            runner.add_step({"id": "x", "call": "shop.getPet",
                             "params": {"petId": "$steps.nowhere.outputs.id"}})  # fmt: skip
        assert later.value.location is not None and later.value.location.startswith("steps[1]")
        assert [s.id for s in runner.plan.steps] == ["login"]


def test_a_failed_step_leaves_the_plan_and_its_id_can_be_tried_again(
    demo: DemoServer, tmp_path: Path
) -> None:
    runner = runner_for(demo, tmp_path)
    look = {"id": "look", "call": "shop.getPet", "params": {"Authorization": AUTH, "petId": 2}}
    with runner.session():
        runner.add_step(LOGIN)
        with pytest.raises(StepFailed):
            runner.add_step({**look, "expect": {"status": 404}})
        assert [s.id for s in runner.plan.steps] == ["login"]
        runner.add_step(look)
    assert [s.status for s in runner.result.steps] == ["ok", "failed", "ok"]
    assert [s.id for s in runner.plan.steps] == ["login", "look"]


def test_add_step_outside_the_session_is_refused(demo: DemoServer, tmp_path: Path) -> None:
    runner = runner_for(demo, tmp_path)
    with pytest.raises(RuntimeError, match=r"inside Runner\.session"):
        runner.add_step(LOGIN)
    with runner.session():
        pass


def test_a_parsed_step_is_written_back_as_the_plan_holds_it() -> None:
    plan = load_plan(ROOT / "examples" / "demo_delete_pet.yaml")
    for step in plan.steps:
        assert step_document(step) == plan.document["steps"][step.index]


def test_a_step_object_is_added_under_the_digest_of_its_plan_file(
    demo: DemoServer, tmp_path: Path
) -> None:
    plan = load_plan(ROOT / "examples" / "demo_delete_pet.yaml")
    digest = step_digest(plan, plan.step("remove"), {"pet": 3})
    runner = runner_for(demo, ROOT / "examples", dict(plan.document), inputs={"pet": 3})
    with runner.session():
        for step in plan.steps:
            runner.add_step(step, approvals=[f"remove@{digest}"])
    assert 3 not in pets(demo.db) and runner.result.status == "ok"


@pytest.mark.parametrize("answer", [True, False])
def test_with_a_human_at_the_prompt_a_held_step_is_asked_about_when_it_acts(
    demo: DemoServer, tmp_path: Path, answer: bool
) -> None:
    asked: list[str] = []

    def prompt(check: GuardCheck) -> bool:
        asked.append(check.summary)
        return answer

    runner = runner_for(demo, tmp_path, prompt=prompt)
    with runner.session():
        runner.add_step(LOGIN)
        if answer:
            runner.add_step(remove(2))
        else:
            with pytest.raises(BlockedError, match="needs approval"):
                runner.add_step(remove(2))
    assert len(asked) == 1 and asked[0].startswith("DELETE ")
    assert (2 in pets(demo.db)) is not answer
    assert [s.id for s in runner.plan.steps] == (["login", "remove"] if answer else ["login"])


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_observe_shows_the_page_the_added_steps_reached(demo: DemoServer, tmp_path: Path) -> None:
    document = {"lam": 1, "name": "grown", "apps": {"shop": {"url": demo.url + "/"}}}
    run = RunOptions(policy=default_policy())
    runner = open_growing({**document, "steps": []}, run, path=tmp_path / "grown.yaml")
    with runner.session():
        first = runner.observe()  # the browser starts for it: a blank page
        runner.add_step({"id": "open", "goto": "shop:/login"})
        view = runner.observe()
    assert first is not None and view is not None
    assert view.url == demo.url + "/login"
    names = {(e.role, e.name) for e in view.elements}
    assert ("button", "Log in") in names, names
    assert runner.result.status == "ok"
