"""``lam validate`` and ``lam.validate``: the example plans get the verdicts the policy gives them.

Read-only and write plans pass (exit 0); the DELETE plan is held for approval (exit 3) unless
the operator's policy allows it, and a policy that denies it makes the verdict ``deny``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from lam.cli.main import main
from lam.documents import schema
from lam.errors import EXIT_BLOCKED, EXIT_FAILED, EXIT_OK
from lam.policy import load_policy, policy_from_data
from lam.types import Risk, Verdict
from lam.validate import ValidationReport, validate_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).parent / "data" / "plans"
READ = EXAMPLES / "petstore_read.yaml"
WRITE = EXAMPLES / "petstore_write.yaml"
DELETE = EXAMPLES / "petstore_delete.yaml"

STEP_KEYS = {"id", "kind", "operation", "method", "path", "risk", "reasons", "verdict"}


@pytest.fixture(autouse=True)
def _outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def validate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", "--json", *argv])
    out, err = capsys.readouterr()
    document = json.loads(out)
    check_shape(document)
    if document["ok"]:
        assert err == ""
    return code, document


def check_shape(document: dict[str, Any]) -> None:
    """The documented shape of ``lam validate --json``."""
    assert {"ok", "errors", "steps"} <= set(document)
    assert set(document) - {"ok", "errors", "steps"} <= {"file"}
    assert isinstance(document["ok"], bool)
    assert document["ok"] == (document["errors"] == [])
    for error in document["errors"]:
        assert set(error) == {"step", "path", "code", "message"}
        assert all(isinstance(error[k], str) for k in ("path", "code", "message"))
        assert error["step"] is None or isinstance(error["step"], str)
    for step in document["steps"]:
        assert set(step) >= STEP_KEYS, step
        assert step["kind"] in ("api", "ui")
        assert step["risk"] in [r.value for r in Risk]
        assert step["verdict"] in [v.value for v in Verdict]
        assert step["reasons"] and all(isinstance(r, str) for r in step["reasons"])


def verdicts(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {s["id"]: (s["risk"], s["verdict"]) for s in document["steps"]}


def test_read_only_plan_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = validate_json(capsys, str(READ))
    assert code == EXIT_OK
    assert document["ok"] is True
    assert verdicts(document) == {
        "find": ("read", "allow"),
        "show": ("read", "allow"),
        "stock": ("read", "allow"),
    }
    show = document["steps"][1]
    assert (show["operation"], show["method"], show["path"]) == (
        "petstore.getPetById",
        "GET",
        "/pet/{petId}",
    )


def test_write_plan_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = validate_json(capsys, str(WRITE))
    assert code == EXIT_OK
    assert verdicts(document) == {
        "add": ("write", "allow"),
        "rename": ("write", "allow"),
        "order": ("write", "allow"),
        "check": ("read", "allow"),
    }
    assert [s["method"] for s in document["steps"]] == ["POST", "POST", "POST", "GET"]


def test_delete_plan_is_held_for_approval(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = validate_json(capsys, str(DELETE))
    assert code == EXIT_BLOCKED
    assert document["ok"] is True  # valid, but not allowed to run as it stands
    assert verdicts(document) == {"show": ("read", "allow"), "remove": ("destructive", "approve")}
    remove = document["steps"][1]
    assert (remove["method"], remove["path"]) == ("DELETE", "/pet/{petId}")
    assert any("DELETE" in reason for reason in remove["reasons"])


def test_policy_allowing_delete(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(DATA / "policy_allow_delete.yaml")
    code, document = validate_json(capsys, str(DELETE), "--policy", policy)
    assert code == EXIT_OK
    assert verdicts(document)["remove"] == ("destructive", "allow")


def test_policy_denying_delete(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(DATA / "policy_deny_delete.yaml")
    code, document = validate_json(capsys, str(DELETE), "--policy", policy)
    assert code == EXIT_BLOCKED
    assert verdicts(document) == {"show": ("read", "allow"), "remove": ("destructive", "deny")}


def test_project_policy_is_found_from_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".lam").mkdir()
    (tmp_path / ".lam" / "policy.yaml").write_text((DATA / "policy_allow_delete.yaml").read_text())
    code, document = validate_json(capsys, str(DELETE))
    assert code == EXIT_OK
    assert verdicts(document)["remove"] == ("destructive", "allow")


def test_human_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DELETE)]) == EXIT_BLOCKED
    out, err = capsys.readouterr()
    assert err == ""
    assert "petstore.deletePet" in out
    assert out.rstrip().splitlines()[-1].startswith("valid, but held: remove (approve")
    assert main(["validate", str(READ)]) == EXIT_OK
    out, _ = capsys.readouterr()
    assert out.rstrip().splitlines()[-1] == "valid: every step is allowed"


def test_invalid_plan_report_lists_every_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    spec = ROOT / "specs" / "petstore.yaml"
    plan.write_text(
        f"lam: 1\nname: two-errors\napis:\n  petstore: {{spec: {spec}}}\nsteps:\n"
        "  - {id: a, call: petstore.getPetById, params: {petId: abc}}\n"
        "  - {id: b, call: petstore.addPet}\n"
    )
    assert main(["validate", str(plan)]) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f'lam: {plan}: steps[0].params.petId: expected integer, got "abc"',
        f"lam: {plan}: steps[1].body: POST /pet requires a request body",
    ]
    assert out.rstrip().endswith("invalid: 2 error(s), each on stderr")


# The library, without the command line.


def test_library_report() -> None:
    report = validate_plan(DELETE)
    assert isinstance(report, ValidationReport)
    assert report.ok and report.exit_code == EXIT_BLOCKED
    assert [s.id for s in report.held] == ["remove"]
    remove = report.steps[1]
    assert remove.risk is Risk.DESTRUCTIVE and remove.verdict is Verdict.APPROVE
    assert set(report.operations) == {"show", "remove"}
    assert report.operations["remove"].operation_id == "deletePet"


def test_library_policies() -> None:
    allow = load_policy(DATA / "policy_allow_delete.yaml")
    assert validate_plan(DELETE, policy=allow).exit_code == EXIT_OK
    deny = policy_from_data(
        {"rules": [{"match": {"method": "DELETE", "path": "/pet/*"}, "verdict": "deny"}]}
    )
    report = validate_plan(DELETE, policy=deny)
    assert report.steps[1].verdict is Verdict.DENY
    assert report.exit_code == EXIT_BLOCKED
    everything_approved = policy_from_data({"defaults": {"read": "approve"}})
    assert [s.verdict for s in validate_plan(READ, policy=everything_approved).steps] == [
        Verdict.APPROVE
    ] * 3


def test_api_override_moves_the_host() -> None:
    """An --api override to a host outside a policy's hosts makes the call denied."""
    policy = policy_from_data({"hosts": ["127.0.0.1"]})
    assert validate_plan(READ, policy=policy).exit_code == EXIT_OK
    moved = validate_plan(
        READ, policy=policy, api_overrides={"petstore": "http://prod.example.com/api/v3"}
    )
    assert {s.verdict for s in moved.steps} == {Verdict.DENY}
    assert "prod.example.com" in moved.steps[0].verdict_reasons[0]


def test_json_round_trip_of_library_report() -> None:
    document = json.loads(json.dumps(validate_plan(WRITE).to_json()))
    check_shape(document)


# lam schema plan


def test_schema_plan_is_the_shipped_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "plan"]) == EXIT_OK
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert err == ""
    assert printed == schema("plan")
    Draft202012Validator.check_schema(printed)  # valid against the 2020-12 metaschema
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(printed["required"]) == {"lam", "name", "steps"}


@pytest.mark.parametrize("plan", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_fit_the_printed_schema(plan: Path) -> None:
    import yaml

    validator = Draft202012Validator(schema("plan"))
    assert list(validator.iter_errors(yaml.safe_load(plan.read_text()))) == []


def test_schema_rejects_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "plans"]) == 2
    _, err = capsys.readouterr()
    assert "invalid choice: 'plans'" in err
