"""Every workflow of the Arazzo specification's examples/1.0.0 (copies in tests/data/arazzo,
with their licence): imported by ``lam import`` into a plan that ``lam validate`` accepts, or
the document's own error reported, each in one line naming file and place.

The examples' own errors, as lam reports them (checked against their specs by hand):
FAPI-PAR calls ``PAR`` where its spec says ``Par``; LoginAndRetrievePets points an
``operationPath`` at a path item; ExtendedParameters names ``./animals.yaml``, which the
repository lacks; bnpl sends bodies and parameters its spec does not take and reads outputs no
step has; oauth's refresh leaves out the ``client_id`` its spec requires; apply-coupon names
parameters ``pet_tags`` and ``pet_id`` where the spec says ``tags`` and ``petId``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.cli.main import main
from lam.errors import DocumentError
from lam.export.arazzo_import import from_arazzo, load_arazzo
from lam.plans import load_plan

EXAMPLES = Path(__file__).parent / "data" / "arazzo"
BNPL_URL = "https://raw.githubusercontent.com/OAI/Arazzo-Specification/main/examples/1.0.0/"

# (document, workflowId, None when the plan is valid, else where lam stops (import, validate)
# and the first error line's place and words)
WORKFLOWS = [
    ("pet-coupons.arazzo.yaml", "apply-coupon",
     ("validate", "steps[0].params.pet_tags",
      "unknown parameter 'pet_tags' (did you mean 'tags'?)")),
    ("pet-coupons.arazzo.yaml", "buy-available-pet", None),
    ("pet-coupons.arazzo.yaml", "place-order", None),
    ("oauth.arazzo.yaml", "refresh-token-flow",
     ("validate", "steps[2].body.client_id", "required property is missing")),
    ("oauth.arazzo.yaml", "client-credentials-flow", None),
    ("oauth.arazzo.yaml", "authorization-code-flow", None),
    ("FAPI-PAR.arazzo.yaml", "OIDC-PAR-AuthzCode",
     ("validate", "steps[0].call",
      "no operation 'PAR' in Authentication API (did you mean 'Par'?)")),
    ("bnpl-arazzo.yaml", "ApplyForLoanAtCheckout",
     ("import", "steps[4].params.redirectAuthToken",
      "step 'authenticateCustomerAndAuthorizeLoan' runs later")),
    ("ExtendedParametersExample.arazzo.yaml", "animal-workflow",
     ("validate", "apis.animals.spec", "animals.yaml: file not found")),
]  # fmt: skip


def test_the_copies_keep_their_licence_and_source() -> None:
    assert "Apache License" in (EXAMPLES / "LICENSE").read_text()
    notice = (EXAMPLES / "NOTICE").read_text()
    assert "github.com/OAI/Arazzo-Specification" in notice
    assert "fc140d26c440291b0061c62a53e45a8fb07cc369" in notice
    workflows = [
        (path.name, flow["workflowId"])
        for path in sorted(EXAMPLES.glob("*arazzo.yaml"))
        for flow in yaml.safe_load(path.read_text())["workflows"]
    ]
    assert len(workflows) == 10  # the count: every one is tested here or below
    named = {(f, w) for f, w, _ in WORKFLOWS} | {
        ("LoginAndRetrievePets.arazzo.yaml", "loginUserRetrievePet")
    }
    assert set(workflows) == named


def imported(tmp_path: Path, document: str, workflow: str) -> Path:
    """The workflow as `lam import` writes it; bnpl's, which `lam import` refuses for its
    reference errors, as from_arazzo reads it (to check the rest of it too)."""
    out = tmp_path / f"{workflow}.yaml"
    plan, _ = load_arazzo(EXAMPLES / document, workflow=workflow, out_dir=tmp_path)
    for api in plan["apis"].values():  # bnpl names its spec by URL: the copy is beside it
        if api["spec"].startswith(BNPL_URL):
            api["spec"] = str(EXAMPLES / api["spec"].removeprefix(BNPL_URL))
    out.write_text(yaml.safe_dump(plan, sort_keys=False))
    return out


@pytest.mark.parametrize(("document", "workflow", "expected"), WORKFLOWS)
def test_each_example_workflow_imports_and_validates_or_says_its_own_error(
    tmp_path: Path, document: str, workflow: str, expected: tuple[str, str, str] | None,
    capsys: Any,
) -> None:  # fmt: skip
    out = tmp_path / "cli" / f"{workflow}.yaml"
    out.parent.mkdir()
    code = main(["import", str(EXAMPLES / document), "--workflow", workflow, "-o", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if expected is not None and expected[0] == "import":
        _, place, words = expected
        assert code == 1 and err.count("\n") == 1, err
        assert err.startswith(f"lam: {out.name}: {place}: ") and words in err, err
        assert not out.exists()
        return
    assert code == 0, err
    plan = imported(tmp_path, document, workflow)
    code = main(["validate", str(plan)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if expected is None:
        assert code == 0, err
        return
    assert code == 1
    lines = err.splitlines()
    _, place, words = expected
    assert lines[0].startswith(f"lam: {plan}: {place}: "), lines[0]
    assert words in lines[0]
    assert all(line.startswith(f"lam: {plan}: ") for line in lines)  # one line per error


def test_login_and_retrieve_pets_points_an_operation_path_at_a_path_item(
    tmp_path: Path, capsys: Any
) -> None:
    source = EXAMPLES / "LoginAndRetrievePets.arazzo.yaml"
    assert main(["import", str(source), "-o", str(tmp_path / "p.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"lam: {source}: workflows[0].steps[1].operationPath: ")
    assert "points at the path item '/pet/findByStatus', not at an operation" in err
    assert not (tmp_path / "p.yaml").exists()


def load(document: str, workflow: str) -> dict[str, Any]:
    plan, _ = load_arazzo(EXAMPLES / document, workflow=workflow)
    return plan


def step(plan: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in plan["steps"] if s["id"] == step_id)


def test_a_sub_workflow_is_inlined_with_its_inputs_mapped_and_its_outputs_wired() -> None:
    plan = load("pet-coupons.arazzo.yaml", "apply-coupon")
    assert [s["id"] for s in plan["steps"]] == ["find-pet", "find-coupons", "place-order"]
    order = step(plan, "place-order")
    assert order["call"] == "pet-coupons.placeOrder"
    assert order["body"]["petId"] == "$steps.find-pet.outputs.my_pet_id"
    assert order["body"]["couponCode"] == "$steps.find-coupons.outputs.my_coupon_code"
    assert order["body"]["quantity"] == "$inputs.quantity"  # not given: an input of the plan
    assert plan["inputs"]["quantity"]["type"] == "integer"
    # the caller's output reads the called workflow's output, from the step that makes it
    assert order["outputs"]["my_order_id"] == "$response.body#/id"
    assert order["successCriteria"] == [{"condition": "$statusCode == 200"}]


def test_a_called_workflow_of_several_steps_keeps_its_ids_apart() -> None:
    plan = load("oauth.arazzo.yaml", "refresh-token-flow")
    ids = [s["id"] for s in plan["steps"]]
    assert ids == ["do-the-auth-flow__browser-authorize", "do-the-auth-flow", "do-the-refresh"]
    token = step(plan, "do-the-auth-flow")
    assert token["body"]["code"] == "$steps.do-the-auth-flow__browser-authorize.outputs.code"
    assert token["body"]["client_id"] == "$inputs.my_client_id"
    assert token["outputs"]["my_refresh_token"] == "$response.body#/refresh_token"
    refresh = step(plan, "do-the-refresh")
    assert refresh["body"]["refresh_token"] == "$steps.do-the-auth-flow.outputs.my_refresh_token"
    assert refresh["successCriteria"] == [
        {"context": "$response.body", "condition": "$[?@.access_token != null]", "type": "jsonpath"}
    ]


def test_reusable_parameters_are_resolved_with_their_value_overrides() -> None:
    plan = load("pet-coupons.arazzo.yaml", "buy-available-pet")
    assert step(plan, "find-pet")["params"] == {"status": "available", "page": 1, "pageSize": 10}
    assert plan["inputs"]["store_id"]["type"] == "string"  # a $ref inside components.inputs


def test_workflow_level_parameters_reach_every_step() -> None:
    plan = load("ExtendedParametersExample.arazzo.yaml", "animal-workflow")
    assert step(plan, "post-step")["params"] == {
        "workflowLevelParamOne": "someValue",
        "workflowLevelParamTwo": "someValue",
        "authentication": "SUPER_SECRET",
    }


def test_goto_and_end_with_their_criteria_are_carried_into_the_plan(tmp_path: Path) -> None:
    plan = load("bnpl-arazzo.yaml", "ApplyForLoanAtCheckout")
    first = step(plan, "checkLoanCanBeProvided")
    assert [a["name"] for a in first["onSuccess"]] == [
        "existingCustomerNotEligible", "qualifyingProductsFound", "qualifyingProductsNotFound",
    ]  # fmt: skip
    assert first["onSuccess"][1]["type"] == "goto"
    assert first["onSuccess"][1]["criteria"][1]["type"] == "jsonpath"
    # a JSON text payload is read as JSON; "{$inputs.customer}" alone keeps its type
    assert first["body"] == {"customer": "$inputs.customer", "products": "$inputs.products"}
    # the plan's own structure is sound: the flow parses, every goto lands on a step
    path = tmp_path / "bnpl.yaml"
    plan["steps"] = [
        {k: v for k, v in s.items() if k not in ("params", "body")} for s in plan["steps"]
    ]  # the document's own reference errors set aside
    path.write_text(yaml.safe_dump(plan))
    (tmp_path / "bnpl-openapi.yaml").write_text((EXAMPLES / "bnpl-openapi.yaml").read_text())
    loaded = load_plan(path)
    gotos = {a.step_id for s in loaded.steps for a in s.on_success if a.type == "goto"}
    assert gotos <= {s.id for s in loaded.steps} and len(gotos) == 5


def test_every_workflow_of_a_multi_workflow_document_is_a_plan_of_its_own() -> None:
    document = yaml.safe_load((EXAMPLES / "oauth.arazzo.yaml").read_text())
    names = []
    for flow in document["workflows"]:
        plan, _ = from_arazzo(document, file="oauth.arazzo.yaml", workflow=flow["workflowId"],
                              base=EXAMPLES, out_dir=EXAMPLES)  # fmt: skip
        names.append(plan["name"])
    assert names == ["refresh-token-flow", "client-credentials-flow", "authorization-code-flow"]
    with pytest.raises(DocumentError, match="3 workflows"):
        from_arazzo(document, file="oauth.arazzo.yaml")
