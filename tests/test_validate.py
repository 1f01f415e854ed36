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
from lam.validation import ValidationReport, validate_plan

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
        assert err.startswith("policy: ") and len(err.splitlines()) == 1  # the policy in force
    return code, document


def check_shape(document: dict[str, Any]) -> None:
    """The documented shape of ``lam validate --json``."""
    assert {"ok", "errors", "steps"} <= set(document)
    assert set(document) - {"ok", "errors", "steps"} <= {"file", "policy"}
    assert isinstance(document["ok"], bool)
    assert document["ok"] == (document["errors"] == [])
    for error in document["errors"]:
        assert set(error) == {"step", "path", "code", "message"}
        assert all(isinstance(error[k], str) for k in ("path", "code", "message"))
        assert error["step"] is None or isinstance(error["step"], str)
    for step in document["steps"]:
        assert set(step) >= STEP_KEYS, step
        assert step["kind"] in ("api", "ui")
        # an invalid step (its operation unknown) claims no risk class and gets no verdict
        assert step["risk"] in [r.value for r in Risk] or step["risk"] is step["verdict"] is None
        assert step["verdict"] in [v.value for v in Verdict] or step["verdict"] is None
        assert step["reasons"] and all(isinstance(r, str) for r in step["reasons"])


def verdicts(document: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
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
    assert err == "policy: built-in defaults (read and write allowed, destructive approve)\n"
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
    """An --api override to a host the policy denies makes the call denied (policy hosts
    extend the plan's; restricting is a deny rule)."""
    policy = policy_from_data(
        {
            "hosts": ["127.0.0.1"],
            "rules": [{"match": {"host": "prod.example.com"}, "verdict": "deny"}],
        }
    )
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


# Answers a user can trust.

PETSTORE = ROOT / "specs" / "petstore.yaml"


def test_a_step_calling_an_unknown_operation_claims_no_risk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Nothing is known of what an unknown operation does: it is not shown as read/allow."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"lam: 1\nname: unknown-op\napis:\n  petstore: {{spec: {PETSTORE}}}\nsteps:\n"
        "  - {id: gone, call: petstore.deleteEverything}\n"
    )
    report = validate_plan(plan)
    (step,) = report.steps
    assert (step.risk, step.verdict) == (None, None)
    assert step.to_json()["risk"] is None and step.to_json()["verdict"] is None
    assert main(["validate", str(plan)]) == EXIT_FAILED
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if line.startswith("gone "))
    assert row.split()[3:5] == ["unknown", "invalid"], row
    assert " read " not in row and "allow" not in row
    assert "no operation 'deleteEverything'" in err
    code, document = validate_json(capsys, str(plan))
    assert code == EXIT_FAILED and verdicts(document) == {"gone": (None, None)}


@pytest.mark.parametrize("option", ["--api", "--app"])
@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://host/x", "http://", "/relative/path", "http://h:port/"]
)
def test_a_bad_override_url_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str], option: str, url: str
) -> None:
    code = main(["validate", str(READ), option, f"petstore={url}"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"lam: {option} petstore={url}: not an http(s) URL with a host "
        "(write NAME=http://HOST[:PORT][/PATH])"
    ]


def test_a_good_override_url_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(READ), "--api", "petstore=http://127.0.0.1:8/api/v3"]) == EXIT_OK


def test_every_problem_of_a_plan_in_one_round(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A schema error, an unknown operation, a bad reference and a parameter error, each in its
    own step: one run of `lam validate` names all four, each on one line with file and place."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"lam: 1\nname: four-problems\ninputs:\n  name: {{type: string}}\n"
        f"apis:\n  petstore: {{spec: {PETSTORE}}}\nsteps:\n"
        "  - {id: find, call: petstore.findPetsByStatus, params: {status: sold}, bogus: 1,\n"
        "     outputs: {id: $response.body#/0/id}}\n"
        "  - {id: add, call: petstore.addPett, body: {name: x, photoUrls: []}}\n"
        "  - {id: show, call: petstore.getPetById, params: {petId: $inputs.nmae}}\n"
        "  - {id: tag, call: petstore.getPetById, params: {petId: abc}}\n"
        "  - {id: again, call: petstore.getPetById, params: {petId: $steps.find.outputs.id}}\n"
    )
    assert main(["validate", str(plan)]) == EXIT_FAILED
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("lam: ")]
    assert [line.split(": ")[1:3] for line in lines] == [
        [str(plan), "steps[0]"],
        [str(plan), "steps[1].call"],
        [str(plan), "steps[2].params.petId"],
        [str(plan), "steps[3].params.petId"],
    ], err
    assert "unknown key 'bogus'" in lines[0]
    assert "no operation 'addPett'" in lines[1]
    assert "no input named 'nmae'" in lines[2]
    assert 'expected integer, got "abc"' in lines[3]
    # the broken step is not blamed twice: the step that uses its output is not reported
    assert "again" not in err and "no step named" not in err
    assert out.rstrip().endswith("invalid: 4 error(s), each on stderr")
    assert f"({plan}): 4 steps (1 too broken to classify, see the errors)" in out


def test_a_broken_api_declaration_does_not_hide_the_steps_problems(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"lam: 1\nname: broken-decl\napis:\n  petstore: {{spec: {PETSTORE}}}\n"
        "  other: {base_url: http://x/}\nsteps:\n"
        "  - {id: a, call: other.anything}\n"
        "  - {id: b, call: petstore.getPetById, params: {petId: abc}}\n"
    )
    report = validate_plan(plan)
    assert [e.location for e in report.errors] == ["apis.other", "steps[1].params.petId"]
    assert report.errors[0].message == "'spec' is required"
    assert [(s.id, s.risk) for s in report.steps] == [("a", None), ("b", Risk.READ)]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--api", "petstroe=http://127.0.0.1:8/api/v3",
         "--api petstroe: the plan has no api named 'petstroe' (apis: petstore)"),
        ("--app", "shop=http://127.0.0.1:8/", "--app shop: the plan has no app named 'shop' (apps: none)"),
    ],
)  # fmt: skip
def test_an_override_that_names_nothing_in_the_plan_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    """A misspelt name would move nothing, and the plan would be checked against the place the
    user meant to leave."""
    assert main(["validate", str(READ), option, value]) == 2
    _, err = capsys.readouterr()
    assert [line for line in err.splitlines() if line.startswith("lam: ")] == [
        f"lam: {READ}: {message}"
    ]


def test_a_goto_whose_host_cannot_be_read_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by fuzzing: ``http://[]host/`` made urlsplit raise inside the guard's host check
    (an internal error); it is an invalid plan naming the step instead."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "lam: 1\nname: x\napps:\n  web: {url: 'http://127.0.0.1:8080/'}\n"
        "steps:\n  - id: a\n    goto: 'http://[]127.0.0.1:8080/'\n"
    )
    assert main(["validate", str(plan)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "steps[0].goto" in err and "internal error" not in err
