"""Plans follow Arazzo's success criteria and onSuccess/onFailure actions (lam.runtime.flow),
against a real server on 127.0.0.1 that logs every request it receives.

The attacks come first: a goto loop must not re-send an approved DELETE without end, an
approval must not cover a loop added after it was given, a huge ``retryAfter`` must not hang a
run nor outlive ``lam kill``, a guard refusal must not be retried or jumped over.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import lam
from lam.errors import BlockedError, PlanError, StepFailed
from lam.expressions import Context
from lam.plans import Step, load_plan, step_digest
from lam.runtime.flow import DEFAULT_STEP_RUNS, MAX_RETRY_AFTER, walk
from lam.runtime.record import read_trace

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "items", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:1/"}],
    "paths": {
        "/items": {
            "get": {"operationId": "listItems", "responses": {"200": {"description": "ok"}}}
        },
        "/items/{id}": {
            "delete": {
                "operationId": "deleteItem",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"204": {"description": "gone"}},
            }
        },
        "/flaky": {"get": {"operationId": "flaky", "responses": {"200": {"description": "ok"}}}},
        "/state": {"get": {"operationId": "state", "responses": {"200": {"description": "ok"}}}},
    },
}


class Shop:
    """Items to list and delete, an endpoint that fails its first ``fail_first`` calls, and a
    state that says what the plan should do next. Every request is logged."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.fail_first = 0
        self.state: dict[str, Any] = {"next": "done", "token": None}
        self.app = Starlette(
            routes=[
                Route("/items", self.items),
                Route("/items/{id}", self.delete, methods=["DELETE"]),
                Route("/flaky", self.flaky),
                Route("/state", self.current),
            ]
        )

    async def items(self, request: Request) -> Response:
        self.log.append(("GET", "/items"))
        return JSONResponse([{"id": "a"}, {"id": "b"}])

    async def delete(self, request: Request) -> Response:
        self.log.append(("DELETE", request.url.path))
        return Response(status_code=204)

    async def flaky(self, request: Request) -> Response:
        self.log.append(("GET", "/flaky"))
        if self.fail_first > 0:
            self.fail_first -= 1
            return JSONResponse({"error": "busy"}, status_code=409)
        return JSONResponse({"ok": True})

    async def current(self, request: Request) -> Response:
        self.log.append(("GET", "/state"))
        return JSONResponse(self.state)

    def count(self, method: str, prefix: str = "") -> int:
        return sum(1 for m, p in self.log if m == method and p.startswith(prefix))


@pytest.fixture
def shop() -> Iterator[tuple[Shop, str]]:
    served = Shop()
    with serve_app(served.app) as url:
        yield served, url


def write_plan(folder: Path, steps: list[Any], **top: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.json").write_text(json.dumps(SPEC))
    path = folder / "plan.yaml"
    document = {"lam": 1, "name": "flow", "apis": {"shop": {"spec": "items.json"}}, **top}
    path.write_text(yaml.safe_dump({**document, "steps": steps}, sort_keys=False))
    return path


def run(plan: Path, url: str, **options: Any) -> lam.RunResult:
    return lam.run(plan, apis={"shop": url}, runs_dir=plan.parent / "runs", **options)


def events(result: lam.RunResult, kind: str) -> list[dict[str, Any]]:
    trace = Path(result.directory) / "trace.jsonl"
    return [e for e in read_trace(trace) if e["type"] == kind]


DELETE_LOOP = [
    {"id": "list", "call": "shop.listItems"},
    {
        "id": "remove",
        "call": "shop.deleteItem",
        "params": {"id": "a"},
        "expect": {"status": 204},
        "onSuccess": [{"name": "again", "type": "goto", "stepId": "remove"}],
    },
]


# -- attacks -----------------------------------------------------------------------------------


def test_a_goto_loop_over_an_approved_delete_stops_at_the_step_run_limit(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    plan = write_plan(tmp_path, DELETE_LOOP, max_step_runs=5)
    loaded = load_plan(plan)
    digest = step_digest(loaded, loaded.step("remove"))
    result = run(plan, url, approvals=[f"remove@{digest}"])
    assert result.exit_code == 1
    assert isinstance(result.error, StepFailed) and result.error.code == "step-run-limit"
    assert "max_step_runs: 5" in result.error.one_line()
    assert served.count("DELETE") == 4  # 5 executions in all: list once, remove four times
    guarded = [e for e in events(result, "guard") if e["step"] == "remove"]
    assert len(guarded) == 4  # every execution went through the guard, each one logged


def test_without_a_plan_limit_the_default_cap_holds(tmp_path: Path, shop: tuple[Shop, str]) -> None:
    served, url = shop
    plan = write_plan(tmp_path, DELETE_LOOP)
    loaded = load_plan(plan)
    result = run(plan, url, approvals=[f"remove@{step_digest(loaded, loaded.step('remove'))}"])
    assert result.exit_code == 1 and result.error is not None
    assert result.error.code == "step-run-limit"
    assert served.count("DELETE") == DEFAULT_STEP_RUNS - 1


def test_an_approval_given_before_a_goto_loop_was_added_no_longer_covers_the_step(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    once: list[dict[str, Any]] = [
        {"id": "remove", "call": "shop.deleteItem", "params": {"id": "a"}},
        {"id": "list", "call": "shop.listItems"},
    ]
    plan = write_plan(tmp_path, once)
    loaded = load_plan(plan)
    approved = f"remove@{step_digest(loaded, loaded.step('remove'))}"
    # the plan is edited after the human approved `remove`: a later step now jumps back to it
    looped = [
        once[0],
        {**once[1], "onSuccess": [{"name": "x", "type": "goto", "stepId": "remove"}]},
    ]
    write_plan(tmp_path, looped)
    with pytest.raises(BlockedError) as caught:
        run(plan, url, approvals=[approved])
    assert caught.value.code == "stale-approval"
    assert served.log == []  # nothing was sent


def test_a_goto_cannot_lead_around_the_guard_to_an_unapproved_delete(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    steps = [
        {"id": "look", "call": "shop.state",
         "onSuccess": [{"name": "skip", "type": "goto", "stepId": "remove"}]},
        {"id": "list", "call": "shop.listItems"},
        {"id": "remove", "call": "shop.deleteItem", "params": {"id": "a"}},
    ]  # fmt: skip
    plan = write_plan(tmp_path, steps)
    with pytest.raises(BlockedError) as caught:
        run(plan, url)  # no approval: refused before anything runs, as without the goto
    assert "remove needs approval" in caught.value.one_line()
    assert served.log == []


def test_a_blocked_step_is_not_retried_nor_jumped_over(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    steps = [
        {"id": "remove", "call": "shop.deleteItem", "params": {"id": "a"},
         "onFailure": [{"name": "again", "type": "retry", "retryLimit": 5},
                       {"name": "on", "type": "goto", "stepId": "list"}]},
        {"id": "list", "call": "shop.listItems"},
    ]  # fmt: skip
    plan = write_plan(tmp_path, steps)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(
        {"rules": [{"match": {"api": "shop", "operation": "deleteItem"}, "verdict": "deny"}]}
    ))  # fmt: skip
    with pytest.raises(BlockedError):
        run(plan, url, policy=policy)
    assert served.log == []


class _Kill:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        return False

    def check(self, where: str, *, step: str | None = None) -> None:
        pass


def test_a_guard_refusal_during_a_step_ends_the_walk_whatever_its_actions(
    tmp_path: Path,
) -> None:
    plan = load_plan(write_plan(tmp_path, [
        {"id": "a", "call": "shop.listItems",
         "onFailure": [{"name": "again", "type": "retry", "retryLimit": 5},
                       {"name": "on", "type": "goto", "stepId": "b"}]},
        {"id": "b", "call": "shop.listItems"},
    ]))  # fmt: skip
    tried: list[str] = []

    def attempt(step: Step) -> tuple[StepFailed | None, Context]:
        tried.append(step.id)
        raise BlockedError("a request needs approval", step=step.id)

    with pytest.raises(BlockedError):
        walk(plan.steps, attempt, kill=_Kill(), max_step_runs=100, event=lambda *a, **k: None)  # type: ignore[arg-type]
    assert tried == ["a"]


def test_a_huge_retry_after_is_capped(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "poll", "call": "shop.flaky",
         "onFailure": [{"name": "later", "type": "retry", "retryAfter": 1e9}]},
    ])  # fmt: skip
    loaded = load_plan(plan)
    assert loaded.step("poll").on_failure[0].retry_after == 1e9
    kill = _Kill()
    warned: list[Any] = []
    failures = iter([StepFailed("busy"), None])

    def attempt(step: Step) -> tuple[StepFailed | None, Context]:
        return next(failures), Context({}, {}, str)

    walk(loaded.steps, attempt, kill=kill, max_step_runs=10,  # type: ignore[arg-type]
         event=lambda what, **data: warned.append((what, data)))  # fmt: skip
    assert kill.slept == [MAX_RETRY_AFTER] and MAX_RETRY_AFTER <= 60
    assert any(kind == "warning" and "cut to" in data["message"] for kind, data in warned)


def test_lam_kill_ends_a_run_waiting_to_retry_within_a_second(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    served.fail_first = 10
    plan = write_plan(tmp_path, [
        {"id": "poll", "call": "shop.flaky",
         "onFailure": [{"name": "later", "type": "retry", "retryAfter": 1e9, "retryLimit": 3}]},
    ])  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "lam", "run", str(plan), "--api", f"shop={url}", "--json",
         "--no-prompt"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while served.count("GET", "/flaky") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # now asleep before the plan's retry
    sent = served.count("GET", "/flaky")
    asked = time.monotonic()
    killed = subprocess.run([sys.executable, "-m", "lam", "kill"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30, env=os.environ)  # fmt: skip
    out, err = proc.communicate(timeout=30)
    ended = time.monotonic()
    assert killed.returncode == 0, killed.stderr
    assert proc.returncode == 4, err
    assert ended - asked < 2.5  # the kill subprocess itself starts Python: 1 s plus that
    assert served.count("GET", "/flaky") == sent  # the retry never happened
    assert json.loads(out)["status"] == "killed"


# -- criteria and actions ----------------------------------------------------------------------


def test_retry_until_the_step_succeeds(tmp_path: Path, shop: tuple[Shop, str]) -> None:
    served, url = shop
    served.fail_first = 2
    plan = write_plan(tmp_path, [
        {"id": "poll", "call": "shop.flaky",
         "onFailure": [{"name": "later", "type": "retry", "retryAfter": 0.05, "retryLimit": 3}]},
        {"id": "list", "call": "shop.listItems"},
    ])  # fmt: skip
    result = run(plan, url)
    assert result.exit_code == 0, result.error
    assert [s.status for s in result.steps] == ["failed", "failed", "ok", "ok"]
    assert served.count("GET", "/flaky") == 3


def test_retries_end_at_the_retry_limit_with_the_failure(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    served.fail_first = 10
    plan = write_plan(tmp_path, [
        {"id": "poll", "call": "shop.flaky",
         "onFailure": [{"name": "later", "type": "retry", "retryLimit": 2}]},
        {"id": "list", "call": "shop.listItems"},
    ])  # fmt: skip
    result = run(plan, url)
    assert result.exit_code == 1 and result.error is not None
    assert "409" in result.error.one_line()
    assert served.count("GET", "/flaky") == 3  # the first try and two retries
    assert served.count("GET", "/items") == 0


def test_success_criteria_fail_the_step_and_name_the_criterion(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    served.state = {"next": "wait"}
    plan = write_plan(tmp_path, [
        {"id": "look", "call": "shop.state",
         "successCriteria": [{"condition": "$statusCode == 200"},
                             {"condition": "$response.body#/next == 'DONE'"}]},
    ])  # fmt: skip
    result = run(plan, url)
    assert result.exit_code == 1 and result.error is not None
    assert result.error.code == "criteria"
    assert result.error.location == "steps[0].successCriteria[1]"
    assert "$response.body#/next == 'DONE'" in result.error.one_line()
    served.state = {"next": "done"}  # strings compare case-insensitively, as Arazzo says
    assert run(plan, url).exit_code == 0


def test_on_success_goto_and_end_follow_the_first_action_whose_criteria_hold(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    served.state = {"next": "skip", "count": 3}
    steps = [
        {"id": "look", "call": "shop.state", "outputs": {"next": "$response.body#/next"},
         "onSuccess": [
             {"name": "stop", "type": "end",
              "criteria": [{"condition": "$response.body#/count == 0"}]},
             {"name": "jump", "type": "goto", "stepId": "last",
              "criteria": [{"context": "$response.body", "type": "jsonpath",
                            "condition": "$[?@ == 'skip']"}]},
         ]},
        {"id": "middle", "call": "shop.listItems"},
        {"id": "last", "call": "shop.flaky",
         "successCriteria": [{"context": "$steps.look.outputs.next", "type": "regex",
                              "condition": "^sk"}]},
    ]  # fmt: skip
    plan = write_plan(tmp_path, steps)
    result = run(plan, url)
    assert result.exit_code == 0, result.error
    assert [s.id for s in result.steps] == ["look", "last"]
    assert served.count("GET", "/items") == 0
    flow = events(result, "flow")
    assert flow[0]["action"] == "jump" and flow[0]["to"] == "last"
    served.state = {"next": "skip", "count": 0}
    ended = run(plan, url)
    assert ended.exit_code == 0 and [s.id for s in ended.steps] == ["look"]


def test_on_failure_goto_continues_elsewhere_and_end_keeps_the_failure(
    tmp_path: Path, shop: tuple[Shop, str]
) -> None:
    served, url = shop
    served.fail_first = 1
    steps: list[dict[str, Any]] = [
        {"id": "poll", "call": "shop.flaky",
         "onFailure": [{"name": "busy", "type": "goto", "stepId": "fallback",
                        "criteria": [{"condition": "$statusCode == 409"}]}]},
        {"id": "middle", "call": "shop.state"},
        {"id": "fallback", "call": "shop.listItems"},
    ]  # fmt: skip
    plan = write_plan(tmp_path, steps)
    result = run(plan, url)
    assert result.exit_code == 0, result.error
    assert [(s.id, s.status) for s in result.steps] == [("poll", "failed"), ("fallback", "ok")]
    served.fail_first = 1
    steps[0]["onFailure"] = [{"name": "give-up", "type": "end"}]
    result = run(write_plan(tmp_path, steps), url)
    assert result.exit_code == 1 and [s.id for s in result.steps] == ["poll"]


# -- bad plans: one clear error at load time ---------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "location", "words"),
    [
        ({"onSuccess": [{"name": "x", "type": "goto", "stepId": "nowhere"}]},
         "steps[0].onSuccess[0].stepId", "no step with that id"),
        ({"onSuccess": [{"name": "x", "type": "retry"}]}, "steps[0].onSuccess[0].type",
         "onSuccess actions are end | goto"),
        ({"onFailure": [{"name": "x", "type": "goto"}]}, "steps[0].onFailure[0].stepId",
         "a goto needs the stepId"),
        ({"successCriteria": [{"condition": "$statusCode = 200"}]}, "steps[0].successCriteria[0]",
         "cannot read"),
        ({"successCriteria": [{"condition": "$statusCode == OK"}]}, "steps[0].successCriteria[0]",
         "'OK' is not a value"),
        ({"successCriteria": [{"condition": "/a", "type": "xpath"}]},
         "steps[0].successCriteria[0]", "xpath criteria are not supported"),
        ({"successCriteria": [{"condition": "$[?", "type": "jsonpath"}]},
         "steps[0].successCriteria[0]", "JSONPath"),
        ({"successCriteria": [{"condition": "(", "type": "regex", "context": "$response.body"}]},
         "steps[0].successCriteria[0]", "regex"),
        ({"successCriteria": [{"condition": "$inputs.nope == 1"}]},
         "steps[0].successCriteria[0]", "no input named 'nope'"),
        ({"onFailure": [{"name": "x", "type": "end",
                         "criteria": [{"condition": "$steps.ghost.outputs.a == 1"}]}]},
         "steps[0].onFailure[0].criteria[0]", "no step named 'ghost'"),
        ({"onFailure": [{"name": "x", "type": "retry", "retryLimit": -1}]},
         "steps[0].onFailure[0].retryLimit", ""),
    ],
)  # fmt: skip
def test_a_malformed_flow_is_a_plan_error_naming_its_place(
    tmp_path: Path, extra: dict[str, Any], location: str, words: str
) -> None:
    plan = write_plan(tmp_path, [{"id": "a", "call": "shop.listItems", **extra}])
    with pytest.raises(PlanError) as caught:
        load_plan(plan)
    assert caught.value.location == location, caught.value.one_line()
    assert words in caught.value.one_line()
    assert str(plan) in caught.value.one_line()


def test_lam_validate_reports_a_bad_goto_in_one_line(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "a", "call": "shop.listItems",
         "onSuccess": [{"name": "x", "type": "goto", "stepId": "b2"}]},
        {"id": "b", "call": "shop.listItems"},
    ])  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "lam", "validate", str(plan)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert "steps[0].onSuccess[0].stepId" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
