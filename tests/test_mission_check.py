"""lam.mission.check and ``lam mission --check``: a whole mission validated before anything runs."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from lam.cli.main import main
from lam.errors import UsageError
from lam.mission.check import check_mission, mission_problems, task_plan
from lam.mission.load import load_mission
from lam.mission.model import Mission, MissionOptions
from lam.plans import load_plan
from lam.policy_source import load_policy_file

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "missions"
PETSTORE = DATA / "petstore.yaml"
READ = ROOT / "examples" / "petstore_read.yaml"
DELETE = ROOT / "examples" / "petstore_delete.yaml"
SPEC = ROOT / "specs" / "petstore.yaml"
DENY_DELETE = Path(__file__).parent / "data" / "plans" / "policy_deny_delete.yaml"

HEAD = f"""\
arazzo: 1.0.1
info: {{title: T, version: "1"}}
sourceDescriptions:
  - {{name: petstore, url: {SPEC}, type: openapi}}
"""


@pytest.fixture(autouse=True)
def _outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No project policy (.lam/policy.yaml) is picked up: the built-in defaults hold."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAM_DEBUG", raising=False)


def mission(tmp_path: Path, body: str) -> Mission:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return load_mission(path)


def test_the_approvals_a_run_needs_are_said_up_front(tmp_path: Path) -> None:
    report = check_mission(load_mission(PETSTORE), folder=tmp_path / "plans")
    assert report.ok and report.exit_code == 3
    assert report.approvals == ("remove_ten.remove@11f413e9d7",)
    by_id = {c.task.id: c for c in report.tasks}
    # remove deletes the pet find chose: its digest covers that value, known once find ran
    assert by_id["remove"].pending == {"remove.remove": ("find",)}
    assert by_id["find"].report is not None and not by_id["find"].held
    assert by_id["look"].report is None and by_id["look"].errors == ()


def test_the_digest_is_the_one_lam_run_asks_for(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETSTORE_TOKEN", "x")  # refused before any request: nothing listens
    code = main(["run", str(DELETE), "--input", "pet_id=10", "--no-prompt"])
    asked = re.findall(r"--approve (remove@\w+)", capsys.readouterr().err)
    assert code == 3 and asked == ["remove@11f413e9d7"]


def test_given_approvals_are_not_asked_again(tmp_path: Path) -> None:
    loaded = load_mission(PETSTORE)
    given = MissionOptions(approvals={"remove_ten": frozenset({"remove@11f413e9d7"}),
                                      "remove": frozenset({"remove"})})  # fmt: skip
    report = check_mission(loaded, options=given, folder=tmp_path)
    assert report.exit_code == 0 and report.approvals == () and not report.held
    stale = MissionOptions(approvals={"remove_ten": frozenset({"remove@0000000000"})})
    assert check_mission(loaded, options=stale, folder=tmp_path).approvals == (
        "remove_ten.remove@11f413e9d7",
    )


def test_another_input_is_another_digest(tmp_path: Path) -> None:
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {DELETE}, x-lam-inputs: {{pet_id: $inputs.pet}}}}
        """)  # fmt: skip
    one = check_mission(m, options=MissionOptions(inputs={"pet": "10"}), folder=tmp_path)
    two = check_mission(m, options=MissionOptions(inputs={"pet": "11"}), folder=tmp_path)
    assert one.approvals == ("a.remove@11f413e9d7",)
    assert two.approvals != one.approvals and two.approvals[0].startswith("a.remove@")


def test_a_denied_step_is_reported_under_the_operators_policy(tmp_path: Path) -> None:
    report = check_mission(
        load_mission(PETSTORE), policy=load_policy_file(DENY_DELETE), folder=tmp_path
    )
    by_id = {c.task.id: c for c in report.tasks}
    assert report.exit_code == 3 and report.approvals == ()
    assert by_id["remove_ten"].denied and by_id["remove_ten"].denied[0].startswith(
        "remove_ten.remove ("
    )


def test_a_workflow_the_spec_does_not_know_is_an_error_of_the_mission(tmp_path: Path) -> None:
    m = mission(
        tmp_path,
        """\
        workflows:
          - workflowId: a
            steps: [{stepId: s, operationId: getPetByID}]
        """,
    )
    report = check_mission(m, folder=tmp_path / "plans")
    assert report.exit_code == 1
    (error,) = report.errors
    assert error.file == str(tmp_path / "m.yaml") and error.task == "a"
    assert error.location is not None and error.location.startswith("workflows[0] (as a plan: ")
    assert "getPetByID" in error.message
    assert "\n" not in error.one_line()


def test_a_workflow_task_becomes_a_plan_that_loads(tmp_path: Path) -> None:
    m = load_mission(PETSTORE)
    path = task_plan(m, m.task("show"), tmp_path / "elsewhere")
    plan = load_plan(path)  # the spec path was relocated to the plan's folder
    assert plan.step("read").kind == "api"
    assert set(plan.inputs) == {"find__pet_id"}
    assert task_plan(m, m.task("remove")) == m.task("remove").source


def test_inputs_each_need_a_value_the_plan_declares(tmp_path: Path) -> None:
    plan = tmp_path / "p.yaml"
    text = DELETE.read_text(encoding="utf-8").replace("minimum: 1, default: 10", "minimum: 1")
    plan.write_text(text.replace("../specs/", f"{ROOT}/specs/"), encoding="utf-8")
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {plan}}}
          - {{workflowId: b, x-lam-plan: {DELETE}, x-lam-inputs: {{petid: 3}}}}
          - {{workflowId: c, x-lam-plan: {DELETE}, x-lam-inputs: {{pet_id: 0}}}}
        """)  # fmt: skip
    report = check_mission(m, folder=tmp_path)
    found = {(e.task, e.code) for e in report.errors}
    assert found == {("a", "missing-input"), ("b", "unknown-input"), ("c", "bad-input")}
    given = check_mission(m, options=MissionOptions(inputs={"pet_id": "4"}), folder=tmp_path)
    assert {(e.task, e.code) for e in given.errors} == {("b", "unknown-input"), ("c", "bad-input")}


def test_a_ui_goal_needs_a_url_for_its_app(tmp_path: Path) -> None:
    m = mission(
        tmp_path,
        """\
        x-lam: {apps: {shop: "http://127.0.0.1:9"}}
        workflows:
          - {workflowId: a, x-lam-goal: buy a lamp, x-lam-agent: ui, x-lam-apps: [shop]}
        """,
    )
    assert check_mission(m, folder=tmp_path).exit_code == 0


def test_an_override_that_moves_nothing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--app shop: no task of the mission uses app"):
        check_mission(load_mission(PETSTORE), options=MissionOptions(apps={"shop": "http://x"}))
    moved = MissionOptions(apis={"petstore": "http://127.0.0.1:9/api/v3"})
    assert check_mission(load_mission(PETSTORE), options=moved, folder=tmp_path).ok


def test_mission_problems_of_a_document_that_does_not_load() -> None:
    (problem,) = mission_problems(DATA / "cycle.yaml")
    assert problem.one_line().endswith(
        "cycle.yaml: workflows[0].dependsOn: dependency cycle: a -> c -> b -> a"
    )
    assert mission_problems(PETSTORE) == []


def run_lam(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_lam_validate_checks_a_mission(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_lam(capsys, "validate", str(PETSTORE))
    assert code == 3
    assert "needs approval: --approve remove_ten.remove@11f413e9d7" in out
    assert "needs approval: remove.remove, whose digest covers a value not known yet (find)" in out
    assert err.startswith("policy: built-in defaults")


@pytest.mark.parametrize(
    ("name", "place"),
    [("cycle.yaml", "workflows[0].dependsOn"), ("unknown_task.yaml", "workflows[0].x-lam-inputs")],
)
def test_a_bad_mission_is_one_line_and_nothing_runs(
    capsys: pytest.CaptureFixture[str], name: str, place: str
) -> None:
    for command in (["validate"], ["mission", "--check"], ["mission"], ["dry-run"]):
        code, out, err = run_lam(capsys, *command, str(DATA / name))
        assert code == 1 and out == ""
        (line,) = err.splitlines()
        assert line.startswith(f"lam: {DATA / name}: {place}")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--approve", "nope.remove"], "--approve nope.remove: write TASK.STEP@DIGEST"),
        (["--approve", "remove"], "--approve remove: write TASK.STEP@DIGEST"),
        (["--input", "colour=red"], "--input colour: no task of the mission has such an input"),
        (["--app", "shop=http://127.0.0.1:9"], "--app shop: no task of the mission uses app"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = run_lam(capsys, "mission", str(PETSTORE), "--check", *argv)
    assert code == 2 and fragment in err and len(err.splitlines()) == 1


def test_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lam(capsys, "mission", str(PETSTORE), "--check", "--json",
                           "--approve", "remove_ten.remove@11f413e9d7")  # fmt: skip
    document = json.loads(out)
    assert code == 3 and document["ok"] is True and document["approvals"] == []
    assert document["order"] == [["find", "remove_ten", "stock"], ["show"], ["remove", "look"]]
    tasks = {t["task"]: t for t in document["tasks"]}
    assert tasks["remove"]["pending"] == {"remove.remove": ["find"]}
    assert [s["verdict"] for s in tasks["remove_ten"]["steps"]] == ["allow", "approve"]


def test_lam_validate_takes_no_input_so_a_missing_one_is_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {DELETE}, x-lam-inputs: {{pet_id: $inputs.pet}}}}
        """)  # fmt: skip
    later = check_mission(m, folder=tmp_path, inputs_final=False)
    assert later.ok and later.tasks[0].pending == {"a.remove": ("--input pet",)}
    assert check_mission(m, folder=tmp_path).errors[0].code == "missing-input"
    code, out, _ = run_lam(capsys, "validate", str(m.file))
    assert code == 3 and "a.remove, whose digest covers a value not known yet (--input pet)" in out
    code, _, err = run_lam(capsys, "mission", str(m.file), "--check")
    assert code == 1 and "the mission needs --input pet=VALUE" in err


def test_an_upstream_output_cannot_choose_the_operation_or_the_host(tmp_path: Path) -> None:
    """Hand-offs are values of inputs: written where a step names its operation or its
    source, they are that text, never a way to call something the plan does not say."""
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{op: $steps.find.outputs.pet_id}}}}
          - workflowId: b
            dependsOn: [a]
            steps:
              - stepId: s
                operationId: $workflows.a.outputs.op
          - workflowId: c
            dependsOn: [a]
            steps:
              - stepId: s
                operationPath: "{{$workflows.a.outputs.op}}#/paths/~1pet/delete"
        """)  # fmt: skip
    flows = m.document["workflows"]
    assert flows[1]["steps"][0]["operationId"] == "$inputs.a__op"
    report = check_mission(m, folder=tmp_path)
    assert {e.task for e in report.errors} == {"b", "c"}
    unchecked = [s for c in report.tasks[1:] if c.report for s in c.report.steps]
    assert all(s.verdict is None for s in unchecked)  # nothing of them may run


def test_lam_dry_run_checks_then_runs_every_task_in_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETSTORE_TOKEN", "x")
    code, out, err = run_lam(capsys, "dry-run", str(PETSTORE), "--json")
    document = json.loads(out)
    assert code == 0 and document["status"] == "ok", err
    statuses = {t["task"]: t["status"] for t in document["tasks"]}
    assert statuses == dict.fromkeys(
        ["find", "show", "remove", "remove_ten", "stock", "look"], "ok"
    )
    records = [Path(t["record"]) for t in document["tasks"]]
    assert all(r.is_dir() and (r / "trace.jsonl").is_file() for r in records), records


def test_task_picks_a_task_and_what_it_depends_on(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lam(capsys, "mission", str(PETSTORE), "--check", "--json",
                           "--task", "remove", "--task", "stock")  # fmt: skip
    document = json.loads(out)
    assert [t["task"] for t in document["tasks"]] == ["find", "show", "remove", "stock"]
    assert document["order"] == [["find", "stock"], ["show"], ["remove"]]
    assert code == 3  # remove's delete waits for an approval
    code, _, err = run_lam(capsys, "mission", str(PETSTORE), "--check", "--task", "shw")
    assert code == 2 and "--task shw: the mission has no such task (did you mean 'show'?)" in err


def test_a_plan_run_option_given_to_a_mission_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_lam(capsys, "dry-run", str(PETSTORE), "--reads", "live")
    assert code == 2 and "--reads is an option of a plan's run; a mission does not take it" in err


def test_an_api_goal_needs_a_spec_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent("""\
        arazzo: 1.0.1
        info: {title: T, version: "1"}
        sourceDescriptions: [{name: shop, url: ./missing.yaml, type: openapi}]
        workflows:
          - {workflowId: a, x-lam-goal: list pets, x-lam-agent: api, x-lam-apis: [shop]}
        """), encoding="utf-8")  # fmt: skip
    (error,) = check_mission(load_mission(path), folder=tmp_path).errors
    assert (error.task, error.location) == ("a", "workflows[0].x-lam-apis[0]")
    assert "missing.yaml" in error.message and "not found" in error.message
