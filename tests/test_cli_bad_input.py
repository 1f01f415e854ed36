"""Bad input to ``lam validate``: one clear line on stderr, the documented exit code, no traceback.

Each case names a file in tests/data/plans (or one generated in tmp_path), the exit code, and
the exact place the error line must name. The line must read ``lam: FILE: PLACE: MESSAGE``.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from lam.cli.main import main

DATA = Path(__file__).parent / "data" / "plans"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PETSTORE = Path(__file__).resolve().parents[1] / "specs" / "petstore.yaml"


@pytest.fixture(autouse=True)
def _outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory so no project policy (.lam/policy.yaml) is picked up."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAM_DEBUG", raising=False)


def run_lam(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, file: str, place: str | None, *fragments: str) -> str:
    """stderr is exactly one ``lam: FILE: PLACE: ...`` line holding every fragment."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    prefix = f"lam: {file}: {place}: " if place else f"lam: {file}: "
    assert lines[0].startswith(prefix), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# (file under tests/data/plans, exit code, place named, fragments of the message)
CASES = [
    ("malformed.yaml", 1, "line 3, column 6", ["invalid YAML"]),
    ("malformed.json", 1, "line 2, column 12", ["invalid JSON", "Expecting value"]),
    ("a_list.yaml", 1, "(top level)", ["a plan is a mapping, not a list"]),
    ("a_scalar.yaml", 1, "(top level)", ["a plan is a mapping, not a string"]),
    ("empty.yaml", 1, "(top level)", ["a plan is a mapping, not empty"]),
    ("unknown_top_key.yaml", 1, "(top level)", ["unknown key 'stesp'", "did you mean 'steps'"]),
    ("unknown_step_key.yaml", 1, "steps[1]", ["unknown key 'expcet'", "did you mean 'expect'"]),
    ("unknown_target_key.yaml", 1, "steps[1].click", ["unknown key 'nmae'", "mean 'name'"]),
    ("duplicate_ids.yaml", 1, "steps[2].id", ["'open' is already used by steps[0]"]),
    ("two_actions.yaml", 1, "steps[1]", ["exactly one action", "found goto, click"]),
    ("no_action.yaml", 1, "steps[0]", ["exactly one action", "found none"]),
    ("missing_spec.yaml", 1, "apis.petstore.spec", ["not found"]),
    ("unreadable_spec.yaml", 1, "apis.petstore.spec", ["is a directory"]),
    ("invalid_spec.yaml", 1, "apis.old.spec", ["Swagger 2.0", "OpenAPI 3"]),
    ("ref_cycle.yaml", 1, "apis.things.spec", ["cycle", "#/components/responses/Things"]),
    (
        "unknown_operation.yaml",
        1,
        "steps[1].call",
        ["no operation 'getPetByID'", "did you mean 'getPetById'"],
    ),
    (
        "unknown_input.yaml",
        1,
        "steps[0].params.petId",
        ["no input named 'petid'", "did you mean 'pet_id'"],
    ),
    ("unknown_step.yaml", 1, "steps[1].params.petId", ["no step named 'find'"]),
    (
        "unknown_output.yaml",
        1,
        "steps[1].params.petId",
        ["step 'find' has no output 'petid'", "outputs: pet_id"],
    ),
    ("later_step.yaml", 1, "steps[0].params.petId", ["step 'find' runs later"]),
    ("response_in_params.yaml", 1, "steps[1].params.petId", ["no response yet"]),
    ("wrong_type.yaml", 1, "steps[1].params.petId", ['expected integer, got "abc"']),
    ("missing_param.yaml", 1, "steps[1].params.petId", ["required", "'petId' is missing"]),
    ("missing_body.yaml", 1, "steps[1].body", ["POST /pet requires a request body"]),
]


@pytest.mark.parametrize(("name", "code", "place", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_plan_gives_one_line(
    capsys: pytest.CaptureFixture[str], name: str, code: int, place: str, fragments: list[str]
) -> None:
    plan = str(DATA / name)
    exit_code, _out, err = run_lam(capsys, "validate", plan)
    assert exit_code == code
    assert_one_line(err, plan, place, *fragments)


@pytest.mark.parametrize(("name", "code", "place", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_plan_json_is_a_document(
    capsys: pytest.CaptureFixture[str], name: str, code: int, place: str, fragments: list[str]
) -> None:
    """With --json a machine gets the same error as data, even when the plan cannot be parsed."""
    plan = str(DATA / name)
    exit_code, out, err = run_lam(capsys, "validate", "--json", plan)
    assert exit_code == code
    document = json.loads(out)
    assert document["ok"] is False
    first = document["errors"][0]
    assert set(first) == {"step", "path", "code", "message"}
    assert first["path"] == place
    for fragment in fragments:
        assert fragment in first["message"]
    assert_one_line(err, plan, place, *fragments)


def test_step_errors_name_the_step_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run_lam(capsys, "validate", "--json", str(DATA / "wrong_type.yaml"))
    (error,) = json.loads(out)["errors"]
    assert error == {
        "step": "show",
        "path": "steps[1].params.petId",
        "code": error["code"],
        "message": 'expected integer, got "abc"',
    }
    assert isinstance(error["code"], str) and error["code"]


def test_huge_plan_is_refused_unread(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.write(b"lam: 1\nname: big\nsteps:\n")
        f.write(b"  - {id: a, goto: 'http://127.0.0.1/'}\n" * (50 * 1024 * 1024 // 40))
    assert big.stat().st_size >= 50_000_000
    started = time.perf_counter()
    exit_code, _out, err = run_lam(capsys, "validate", str(big))
    elapsed = time.perf_counter() - started
    assert exit_code == 1
    line = assert_one_line(err, str(big), None)
    assert re.search(r": file is 5\d\.\d MB, more than the 8 MB allowed$", line), line
    assert elapsed < 1.0, f"took {elapsed:.2f}s: the file was read, not refused"


def test_non_utf8_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = tmp_path / "latin1.yaml"
    plan.write_bytes("lam: 1\nname: café\nsteps: []\n".encode("latin-1"))
    exit_code, _out, err = run_lam(capsys, "validate", str(plan))
    assert exit_code == 1
    assert_one_line(err, str(plan), "line 2", "not UTF-8", "0xe9")


def test_non_utf8_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_bytes(b"openapi: 3.0.3\ninfo: {title: \xff}\npaths: {}\n")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "lam: 1\nname: t\napis:\n  x: {spec: spec.yaml}\nsteps:\n  - {id: a, call: x GET /a}\n"
    )
    exit_code, _out, err = run_lam(capsys, "validate", str(plan))
    assert exit_code == 1
    assert_one_line(err, str(plan), "apis.x.spec", "not UTF-8")


def test_plan_that_is_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    exit_code, _out, err = run_lam(capsys, "validate", str(tmp_path))
    assert exit_code == 2
    assert_one_line(err, str(tmp_path), None, "is a directory")


# Usage errors: exit 2.


def test_missing_plan_file(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, out, err = run_lam(capsys, "validate", "no/such/plan.yaml")
    assert (exit_code, out) == (2, "")
    assert_one_line(err, "no/such/plan.yaml", None, "plan not found")


def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, out, err = run_lam(
        capsys, "validate", str(EXAMPLES / "petstore_read.yaml"), "--bogus"
    )
    assert (exit_code, out) == (2, "")
    assert err.splitlines() == ["lam: unrecognized arguments: --bogus (see 'lam --help')"]


def test_malformed_override(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, _out, err = run_lam(
        capsys, "validate", str(EXAMPLES / "petstore_read.yaml"), "--api", "petstore"
    )
    assert exit_code == 2
    assert err.splitlines() == ["lam: --api takes NAME=VALUE, got 'petstore'"]


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, out, _err = run_lam(capsys)
    assert (exit_code, out) == (2, "")


def test_missing_policy_file(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, _out, err = run_lam(
        capsys, "validate", str(EXAMPLES / "petstore_read.yaml"), "--policy", "nope.yaml"
    )
    assert exit_code == 2
    assert_one_line(err, "nope.yaml", None, "policy not found")


@pytest.mark.parametrize(
    ("name", "place", "fragment"),
    [
        ("policy_bad.yaml", "rules[0].verdict", "'maybe' is not one of"),
        ("policy_unknown_key.yaml", "(top level)", "unknown key 'rulez'"),
        ("malformed.yaml", "line 3, column 6", "invalid YAML"),
        ("a_list.yaml", "(top level)", "mapping"),
    ],
)
def test_bad_policy_file(
    capsys: pytest.CaptureFixture[str], name: str, place: str, fragment: str
) -> None:
    policy = str(DATA / name)
    exit_code, out, err = run_lam(
        capsys, "validate", str(EXAMPLES / "petstore_read.yaml"), "--policy", policy
    )
    assert (exit_code, out) == (2, "")
    assert_one_line(err, policy, place, fragment)


def test_internal_errors_are_one_line_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a bug in lam shows one line, not a traceback (unless LAM_DEBUG asks for it)."""
    import importlib

    # the module: the attribute ``lam.validate`` is the function lam.validate (lam.facade's),
    # and setting an attribute on it would patch nothing that `lam validate` calls
    validate_module = importlib.import_module("lam.validation")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate_module, "validate_plan", broken)
    exit_code, _out, err = run_lam(capsys, "validate", str(EXAMPLES / "petstore_read.yaml"))
    assert exit_code == 1
    assert err.splitlines() == [
        "lam: internal error: RuntimeError: boom (LAM_DEBUG=1 shows the traceback)"
    ]
    monkeypatch.setenv("LAM_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["validate", str(EXAMPLES / "petstore_read.yaml")])


def test_data_files_stay_small() -> None:
    """The bad inputs are small files; big ones are generated by the tests that need them."""
    sizes = {p.name: p.stat().st_size for p in DATA.rglob("*") if p.is_file()}
    assert sizes and max(sizes.values()) < 4096, sizes
    assert os.path.isdir(DATA / "spec_is_a_directory.yaml")
    assert PETSTORE.is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "--json", "x.yaml", "--bogus"], "unrecognized arguments: --bogus"),
        (["validate", "--json"], "the following arguments are required: PLAN"),
        (["run", "--json", "--seed", "many", "x.yaml"], "invalid int value: 'many'"),
        (["validate", "--json", "no/such/plan.yaml"], "plan not found"),
        (["validate", "--json", str(EXAMPLES / "petstore_read.yaml"), "--api", "petstore"],
         "--api takes NAME=VALUE"),
        (["validate", "--json", str(EXAMPLES / "petstore_read.yaml"), "--api", "petstore=x"],
         "not an http(s) URL"),
    ],
)  # fmt: skip
def test_usage_errors_with_json_are_a_json_document_too(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A machine that asked for JSON gets a document on stdout even when the command line is
    wrong; the one line on stderr stays."""
    exit_code, out, err = run_lam(capsys, *argv)
    assert exit_code == 2
    document = json.loads(out)
    assert document["ok"] is False and document["exit"] == 2
    assert document["error"]["type"] == "UsageError"
    assert message in document["error"]["message"]
    assert len(err.splitlines()) == 1 and message in err


def test_a_usage_error_without_json_prints_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code, out, _ = run_lam(capsys, "validate", "x.yaml", "--bogus")
    assert (exit_code, out) == (2, "")


@pytest.mark.parametrize("command", ["run --no-prompt", "dry-run"])
def test_run_of_an_invalid_plan_prints_each_error_line(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`lam run` refuses an invalid plan with the same error lines `lam validate` prints (it
    used to say "each on stderr" and print none)."""
    plan = str(DATA / "wrong_type.yaml")
    exit_code, _out, err = run_lam(capsys, *command.split(), plan)
    assert exit_code == 1
    lines = [line for line in err.splitlines() if line.startswith("lam: ")]
    assert lines[0] == f'lam: {plan}: steps[1].params.petId: expected integer, got "abc"'
