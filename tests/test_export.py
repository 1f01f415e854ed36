"""Exports: plan -> Arazzo -> plan round trips; Arazzo import errors; pytest export text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.cli.main import main
from lam.errors import DocumentError, PlanError
from lam.export.arazzo import to_arazzo
from lam.export.arazzo_import import from_arazzo
from lam.export.pytest import to_pytest
from lam.plans import Plan, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def api_view(plan: Plan) -> list[dict[str, Any]]:
    """What an API step means, independent of how it was written."""
    view = []
    for step in plan.steps:
        if step.kind != "api":
            continue
        raw = next(s for s in plan.document["steps"] if s["id"] == step.id)
        view.append(
            {
                "id": step.id,
                "api": step.api_name,
                "operation": step.operation_ref,
                "params": raw.get("params", {}),
                "body": raw.get("body"),
                "content_type": raw.get("content_type"),
                "expect": raw.get("expect", {}),
                "outputs": raw.get("outputs", {}),
            }
        )
    return view


@pytest.mark.parametrize("name", ["demo_api_pets.yaml", "demo_delete_pet.yaml"])
def test_plan_to_arazzo_to_plan_keeps_api_steps(name: str, tmp_path: Path) -> None:
    original = load_plan(EXAMPLES / name)
    out = tmp_path / "flows" / "x.arazzo.yaml"
    assert main(["export", str(EXAMPLES / name), "--to", "arazzo", "-o", str(out)]) == 0
    back = tmp_path / "plans" / "x.yaml"
    assert main(["import", str(out), "-o", str(back)]) == 0
    imported = load_plan(back)
    assert api_view(imported) == api_view(original)
    assert imported.inputs == original.inputs
    # the spec paths were rewritten for each file's own folder and still point at the spec
    assert (
        Path(imported.apis["shop"].spec_source).resolve()
        == Path(original.apis["shop"].spec_source).resolve()
    )
    assert main(["validate", str(back)]) == main(["validate", str(EXAMPLES / name)])


def test_arazzo_document_shape() -> None:
    plan = load_plan(EXAMPLES / "demo_api_pets.yaml")
    document, skipped = to_arazzo(plan, out_dir=EXAMPLES)
    assert skipped == []
    assert document["arazzo"].startswith("1.0.")
    assert document["sourceDescriptions"] == [
        {"name": "shop", "url": "../specs/demo.yaml", "type": "openapi"}
    ]
    flow = document["workflows"][0]
    assert flow["inputs"]["type"] == "object" and "new_name" in flow["inputs"]["properties"]
    add = next(s for s in flow["steps"] if s["stepId"] == "add")
    assert add["operationId"] == "createPet"
    assert add["successCriteria"] == [{"condition": "$statusCode == 201"}]
    assert {
        "name": "Authorization",
        "in": "header",
        "value": "Bearer {$steps.login.outputs.token}",
    } in add["parameters"]
    check = next(s for s in flow["steps"] if s["stepId"] == "check")
    assert check["operationPath"] == "{$sourceDescriptions.shop.url}#/paths/~1pets~1{petId}/get"
    assert {"name": "petId", "in": "path", "value": "$steps.add.outputs.id"} in check["parameters"]


def test_mixed_plan_leaves_ui_steps_out(tmp_path: Path, capsys: Any) -> None:
    plan = load_plan(EXAMPLES / "demo_mixed.yaml")
    document, skipped = to_arazzo(plan)
    ids = [s["stepId"] for s in document["workflows"][0]["steps"]]
    assert skipped and not set(skipped) & set(ids)
    out = tmp_path / "m.arazzo.yaml"
    assert (
        main(["export", str(EXAMPLES / "demo_mixed.yaml"), "--to", "arazzo", "-o", str(out)]) == 0
    )
    assert "use outputs of left-out UI steps: read_name" in capsys.readouterr().err
    # such a workflow does not stand on its own: importing it says which reference broke
    assert main(["import", str(out), "-o", str(tmp_path / "m.yaml")]) == 1
    assert "no step named 'read_name'" in capsys.readouterr().err


def test_ui_only_plan_has_nothing_for_arazzo(tmp_path: Path) -> None:
    plan = parse_plan("lam: 1\nname: ui\nsteps: [{id: a, goto: 'http://x/'}]\n")
    with pytest.raises(PlanError, match="no API steps"):
        to_arazzo(plan)


ARAZZO = {
    "arazzo": "1.0.1",
    "info": {"title": "t", "version": "1"},
    "sourceDescriptions": [{"name": "shop", "url": "shop.yaml", "type": "openapi"}],
    "workflows": [
        {
            "workflowId": "one",
            "inputs": {"$ref": "#/components/inputs/creds"},
            "steps": [
                {
                    "stepId": "a",
                    "operationId": "listPets",
                    "successCriteria": [
                        {"condition": "$statusCode == 200 || $statusCode == 204"},
                        {"condition": "$response.body#/0/id != null"},
                    ],
                    "onSuccess": [{"name": "end", "type": "end"}],
                }
            ],
        },
        {"workflowId": "two", "steps": [{"stepId": "b", "workflowId": "one"}]},
    ],
    "components": {
        "inputs": {"creds": {"type": "object", "properties": {"user": {"type": "string"}}}}
    },
}


def test_import_one_workflow_carries_its_criteria_and_actions() -> None:
    plan, notes = from_arazzo(ARAZZO, workflow="one")
    assert plan["inputs"] == {"user": {"type": "string"}}
    assert plan["steps"] == [
        {
            "id": "a",
            "call": "shop.listPets",
            "expect": {"status": [200, 204]},
            "successCriteria": [{"condition": "$response.body#/0/id != null"}],
            "onSuccess": [{"name": "end", "type": "end"}],
        }
    ]
    assert notes == []


@pytest.mark.parametrize(
    ("document", "workflow", "message"),
    [
        ({"openapi": "3.1.0"}, None, "not an Arazzo"),
        (ARAZZO, None, "pick one with --workflow"),
        (ARAZZO, "three", "no workflow 'three'"),
        ({**ARAZZO, "workflows": [{"workflowId": "two", "steps": [{"stepId": "b",
          "workflowId": "two"}]}]}, "two", "in a loop"),
        ({**ARAZZO, "sourceDescriptions": []}, "one", "sourceDescriptions"),
        (
            {
                **ARAZZO,
                "workflows": [
                    {"workflowId": "w", "steps": [{"stepId": "s", "operationPath": "/pets"}]}
                ],
            },
            None,
            "operationPath must read",
        ),
    ],
)
def test_import_errors_name_the_place(document: Any, workflow: str | None, message: str) -> None:
    with pytest.raises(DocumentError, match=message) as info:
        from_arazzo(document, file="flow.yaml", workflow=workflow)
    assert info.value.file == "flow.yaml" and info.value.location


def test_import_command_errors_are_one_line(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "flow.yaml"
    bad.write_text(yaml.safe_dump(ARAZZO))
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "flow.yaml: workflows:" in err
    assert main(["import", str(tmp_path / "missing.yaml")]) == 2


UI_PLAN = """
lam: 1
name: sign-in
inputs: {user: {type: string, default: ann}}
apps: {shop: {url: "http://127.0.0.1:9/base/"}}
steps:
  - {id: open, goto: "shop:/login", expect: {url: /login}}
  - {id: who, fill: {label: User, frame: "#f"}, value: "{$inputs.user}!"}
  - {id: pw, fill: {role: textbox, name: Password, nth: 1}, value: $secrets.PW}
  - {id: go, click: {testid: send, candidates: [{css: button}]}, expect: {text: Welcome}}
  - {id: key, press: Enter}
"""


def test_pytest_export_is_standalone_python() -> None:
    text = to_pytest(parse_plan(UI_PLAN))
    compile(text, "test_x.py", "exec")
    assert "import lam" not in text and "from lam" not in text
    assert "page.goto(app_url('shop', '/login'))" in text
    assert "page.frame_locator('#f').get_by_label('User').fill(str(INPUTS['user']) + '!')" in text
    assert "page.get_by_role('textbox', name='Password').nth(1).fill(str(os.environ['PW']))" in text
    assert "page.get_by_test_id('send').click()" in text
    assert "expect(page.get_by_text('Welcome').first).to_be_visible()" in text
    assert "page.keyboard.press('Enter')" in text
    assert "'LAM_APP_SHOP', 'http://127.0.0.1:9/base/'" in text


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{id: s, click: Save}", "only 'describe' text"),
        ("{id: s, fill: {label: X}, value: $steps.a.outputs.value#/x}", "can be exported"),
    ],
)
def test_pytest_export_refuses_what_it_cannot_write(step: str, message: str) -> None:
    plan = parse_plan(f"lam: 1\nname: p\nsteps:\n  - {{id: a, extract: {{css: p}}}}\n  - {step}\n")
    with pytest.raises(PlanError, match=message) as info:
        to_pytest(plan)
    assert info.value.step == "s"


def test_pytest_export_refuses_api_steps(tmp_path: Path, capsys: Any) -> None:
    assert main(["export", str(EXAMPLES / "demo_api_pets.yaml"), "--to", "pytest"]) == 1
    assert "export the plan to arazzo" in capsys.readouterr().err
