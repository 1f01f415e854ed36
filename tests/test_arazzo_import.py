"""`lam import` / `lam export --to arazzo` details: sub-workflows inlined faithfully or refused
with the place, reusable components, and a round trip that keeps criteria and actions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.errors import DocumentError, PlanError
from lam.export.arazzo import to_arazzo
from lam.export.arazzo_import import from_arazzo
from lam.plans import load_plan

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9/"}],
    "paths": {
        "/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}}},
        "/b": {"post": {"operationId": "postB", "responses": {"200": {"description": "ok"}}}},
    },
}


def document(*workflows: dict[str, Any], components: dict[str, Any] | None = None) -> Any:
    doc: dict[str, Any] = {
        "arazzo": "1.0.1",
        "info": {"title": "t", "version": "1"},
        "sourceDescriptions": [{"name": "api", "url": "spec.json", "type": "openapi"}],
        "workflows": list(workflows),
    }
    if components:
        doc["components"] = components
    return doc


CALLED: dict[str, Any] = {
    "workflowId": "inner",
    "inputs": {"type": "object", "properties": {"who": {"type": "string"}, "n": {"type": "integer"}}},
    "steps": [
        {"stepId": "first", "operationId": "getA",
         "parameters": [{"name": "q", "in": "query", "value": "hello {$inputs.who}"}],
         "successCriteria": [{"condition": "$inputs.n > 1"}],
         "onSuccess": [{"name": "stop", "type": "end", "criteria": [{"condition": "$statusCode == 204"}]}],
         "outputs": {"x": "$response.body#/x"}},
        {"stepId": "second", "operationId": "postB",
         "requestBody": {"payload": {"who": "$inputs.who", "x": "$steps.first.outputs.x"}},
         "outputs": {"y": "$response.body#/y"}},
    ],
    "outputs": {"made": "$steps.second.outputs.y", "seen": "$steps.first.outputs.x"},
}  # fmt: skip

CALLER: dict[str, Any] = {
    "workflowId": "outer",
    "steps": [
        {"stepId": "call", "workflowId": "inner",
         "parameters": [{"name": "who", "value": "Ada"}],
         "outputs": {"made": "$outputs.made", "seen": "$outputs.seen#/0"}},
        {"stepId": "after", "operationId": "getA",
         "parameters": [{"name": "q", "in": "query", "value": "$steps.call.outputs.made"}]},
    ],
}  # fmt: skip


def test_inlining_maps_literals_renames_steps_and_wires_outputs() -> None:
    plan, notes = from_arazzo(document(CALLER, CALLED), workflow="outer")
    steps = {s["id"]: s for s in plan["steps"]}
    assert list(steps) == ["call__first", "call", "after"]
    first = steps["call__first"]
    assert first["params"] == {"q": "hello Ada"}  # a literal put into a template
    assert first["successCriteria"] == [{"condition": "$inputs.n > 1"}]
    assert plan["inputs"] == {"n": {"type": "integer"}}  # the input the caller left out
    # an end inside the called workflow ends that workflow only: on to the step after the call
    assert first["onSuccess"][0]["type"] == "goto" and first["onSuccess"][0]["stepId"] == "after"
    assert any("'end' of workflow 'inner'" in n for n in notes)
    call = steps["call"]
    assert call["body"] == {"who": "Ada", "x": "$steps.call__first.outputs.x"}
    assert call["outputs"] == {
        "y": "$response.body#/y",
        "made": "$response.body#/y",
        "seen": "$steps.call__first.outputs.x#/0",
    }
    assert steps["after"]["params"] == {"q": "$steps.call.outputs.made"}


def test_an_inlined_plan_loads_and_its_flow_lands_on_its_steps(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(yaml.safe_dump(SPEC))
    plan, _ = from_arazzo(document(CALLER, CALLED), workflow="outer", base=tmp_path,
                          out_dir=tmp_path)  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    loaded = load_plan(path)
    assert loaded.step("call__first").on_success[0].step_id == "after"


def test_a_caller_expression_in_a_condition_is_put_in_as_is() -> None:
    called = copy.deepcopy(CALLED)
    caller = copy.deepcopy(CALLER)
    caller["steps"].insert(
        0, {"stepId": "get", "operationId": "getA", "outputs": {"n": "$response.body#/n"}}
    )
    caller["steps"][1]["parameters"].append({"name": "n", "value": "$steps.get.outputs.n"})
    plan, _ = from_arazzo(document(caller, called), workflow="outer")
    first = next(s for s in plan["steps"] if s["id"] == "call__first")
    assert first["successCriteria"] == [{"condition": "$steps.get.outputs.n > 1"}]
    assert "n" not in plan.get("inputs", {})


@pytest.mark.parametrize(
    ("change", "location", "words"),
    [
        (lambda c, i: c["steps"][0].update(workflowId="outer"), "workflows[1].steps[0].workflowId",
         "in a loop (outer -> inner -> outer)"),
        (lambda c, i: i["steps"][0].update(workflowId="nope"), "workflows[0].steps[0].workflowId",
         "no workflow 'nope'"),
        (lambda c, i: i["steps"][0]["parameters"].append({"name": "who2", "value": 1}),
         "workflows[0].steps[0].parameters", "has no input 'who2'"),
        (lambda c, i: i["steps"][0]["outputs"].update(z="$outputs.nothing"),
         "workflows[0].steps[0].outputs.z", "has no output 'nothing'"),
        (lambda c, i: c["steps"][0]["onSuccess"][0].update(type="goto", workflowId="outer"),
         "workflows[1].steps[0].onSuccess[0].workflowId", "a plan's actions stay within"),
        (lambda c, i: c["steps"][0]["successCriteria"].append({"condition": "/x", "type": "xpath"}),
         "workflows[1].steps[0].successCriteria[1]", "xpath criteria are not supported"),
        (lambda c, i: c["steps"][0]["parameters"].append({"reference": "$components.parameters.no"}),
         "workflows[1].steps[0].parameters[1].reference", "components.parameters has no 'no'"),
    ],
)  # fmt: skip
def test_a_document_error_is_one_error_naming_its_place(
    change: Any, location: str, words: str
) -> None:
    called, caller = copy.deepcopy(CALLED), copy.deepcopy(CALLER)
    # `c` is the called workflow (workflows[1]), `i` the caller (workflows[0])
    change(called, caller)
    with pytest.raises(DocumentError) as caught:
        from_arazzo(document(caller, called), file="flow.yaml", workflow="outer")
    assert caught.value.location == location, caught.value.one_line()
    assert words in caught.value.message
    assert caught.value.file == "flow.yaml"


def test_reusable_actions_and_inputs_are_resolved() -> None:
    flow = {
        "workflowId": "w",
        "inputs": {"$ref": "#/components/inputs/main"},
        "steps": [
            {"stepId": "a", "operationId": "getA",
             "onFailure": [{"reference": "$components.failureActions.again"}],
             "onSuccess": [{"reference": "$components.successActions.done"}]},
        ],
    }  # fmt: skip
    components = {
        "inputs": {
            "main": {"type": "object", "properties": {"id": {"$ref": "#/components/inputs/id"}}},
            "id": {"type": "integer"},
        },
        "failureActions": {
            "again": {"name": "again", "type": "retry", "retryAfter": 1, "retryLimit": 2}
        },
        "successActions": {"done": {"name": "done", "type": "end"}},
    }
    plan, _ = from_arazzo(document(flow, components=components))
    assert plan["inputs"] == {"id": {"type": "integer"}}
    step = plan["steps"][0]
    assert step["onFailure"] == [
        {"name": "again", "type": "retry", "retryAfter": 1, "retryLimit": 2}
    ]
    assert step["onSuccess"] == [{"name": "done", "type": "end"}]


def test_a_ref_loop_in_inputs_is_an_error_not_a_hang() -> None:
    flow = {"workflowId": "w", "inputs": {"$ref": "#/components/inputs/a"},
            "steps": [{"stepId": "s", "operationId": "getA"}]}  # fmt: skip
    components = {"inputs": {"a": {"$ref": "#/components/inputs/b"},
                             "b": {"$ref": "#/components/inputs/a"}}}  # fmt: skip
    with pytest.raises(DocumentError, match="a loop"):
        from_arazzo(document(flow, components=components))


FLOW_PLAN: dict[str, Any] = {
    "lam": 1,
    "name": "flow",
    "max_step_runs": 12,
    "apis": {"api": {"spec": "spec.json"}},
    "steps": [
        {"id": "a", "call": "api.getA", "expect": {"status": 200},
         "successCriteria": [{"condition": "$response.body#/ok == true"},
                             {"context": "$response.body", "type": "jsonpath", "condition": "$.items[0]"}],
         "onSuccess": [{"name": "skip", "type": "goto", "stepId": "c",
                        "criteria": [{"condition": "$response.body#/skip == true"}]}],
         "onFailure": [{"name": "again", "type": "retry", "retryAfter": 0.5, "retryLimit": 3}]},
        {"id": "b", "call": "api.postB", "body": {"x": 1}},
        {"id": "c", "call": "api.getA", "onSuccess": [{"name": "stop", "type": "end"}]},
    ],
}  # fmt: skip


def test_a_round_trip_through_arazzo_keeps_criteria_actions_and_the_step_cap(
    tmp_path: Path,
) -> None:
    (tmp_path / "spec.json").write_text(yaml.safe_dump(SPEC))
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(FLOW_PLAN, sort_keys=False))
    exported, skipped = to_arazzo(load_plan(path), out_dir=tmp_path)
    assert skipped == []
    workflow = exported["workflows"][0]
    assert workflow["x-lam-max-step-runs"] == 12
    assert workflow["steps"][0]["successCriteria"][0] == {"condition": "$statusCode == 200"}
    back, notes = from_arazzo(exported, base=tmp_path, out_dir=tmp_path)
    assert notes == []
    for key in ("max_step_runs", "steps"):
        assert back[key] == FLOW_PLAN[key]


def test_export_refuses_a_goto_to_a_ui_step(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(yaml.safe_dump(SPEC))
    plan = copy.deepcopy(FLOW_PLAN)
    plan["steps"][2] = {"id": "c", "goto": "http://127.0.0.1:9/"}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(PlanError, match="a UI step Arazzo cannot hold"):
        to_arazzo(load_plan(path))
