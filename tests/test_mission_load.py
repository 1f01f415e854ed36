"""lam.mission.load: a mission document read into tasks, and every bad one refused in one line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from bounded import assert_bounded, run_bounded

from lam.errors import PlanError
from lam.expressions import Expression, ExpressionError, Template, parse_value
from lam.mission.load import handoff_input, is_mission, load_mission, mission_from_text
from lam.mission.model import Mission, MissionError
from lam.plans import load_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "missions"
READ = ROOT / "examples" / "petstore_read.yaml"
DELETE = ROOT / "examples" / "petstore_delete.yaml"
SPEC = ROOT / "specs" / "petstore.yaml"

HEAD = f"""\
arazzo: 1.0.1
info: {{title: T, version: "1"}}
sourceDescriptions:
  - {{name: petstore, url: {SPEC}, type: openapi}}
"""


def mission(tmp_path: Path, body: str) -> Mission:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return load_mission(path)


def refused(tmp_path: Path, body: str) -> MissionError:
    with pytest.raises(MissionError) as caught:
        mission(tmp_path, body)
    line = caught.value.one_line()
    assert "\n" not in line and line.startswith(str(tmp_path / "m.yaml") + ": ")
    assert caught.value.exit_code == 1
    return caught.value


def test_the_example_mission_loads_with_every_kind_of_task() -> None:
    m = load_mission(DATA / "petstore.yaml")
    assert m.name == "Petstore tidy-up"
    assert [(t.id, t.kind) for t in m.tasks] == [
        ("find", "workflow"), ("show", "workflow"), ("remove", "plan"),
        ("remove_ten", "plan"), ("stock", "plan"), ("look", "goal"),
    ]  # fmt: skip
    assert m.order() == (("find", "remove_ten", "stock"), ("show",), ("remove", "look"))
    assert m.dependents("find") == ("show", "remove", "look")
    assert m.ancestors("remove") == {"show", "find"}
    remove = m.task("remove")
    assert remove.source == DATA / "../../../examples/petstore_delete.yaml"
    assert remove.retries == 1 and remove.max_steps == 5 and remove.timeout == 60.0
    assert remove.declared_inputs == ("pet_id",)
    assert remove.upstream == {"find"}
    look = m.task("look")
    assert look.agent == "api" and look.allowed == ("petstore",)
    assert isinstance(look.goal, Template) and look.upstream == {"show"}
    assert m.apis == {"petstore": "http://127.0.0.1:8080/api/v3"} and m.on_failure == "stop"


def test_a_workflow_reads_an_upstream_output_only_as_an_input_of_its_own() -> None:
    m = load_mission(DATA / "petstore.yaml")
    show = m.task("show")
    name = handoff_input("find", "pet_id")
    assert show.inputs == {name: Expression.parse("$workflows.find.outputs.pet_id", workflows=True)}
    flow = m.document["workflows"][1]
    assert flow["steps"][0]["parameters"][0]["value"] == f"$inputs.{name}"
    assert name in flow["inputs"]["properties"]
    assert "$workflows" not in str(flow["steps"])


def test_a_plan_that_names_another_task_is_refused_when_loaded(tmp_path: Path) -> None:
    text = READ.read_text(encoding="utf-8").replace("$inputs.status", "$workflows.a.outputs.s")
    plan = tmp_path / "plan.yaml"
    plan.write_text(text.replace("../specs/", f"{ROOT}/specs/"), encoding="utf-8")
    with pytest.raises(PlanError, match=r"\$workflows names another task of a mission"):
        load_plan(plan)
    with pytest.raises(ExpressionError):
        parse_value("{$workflows.a.outputs.s}")
    assert parse_value("$workflows.a.outputs.s#/0", workflows=True).pointer == "/0"


def test_a_cycle_is_named(tmp_path: Path) -> None:
    error = load_error(DATA / "cycle.yaml")
    assert error.location == "workflows[0].dependsOn"
    assert error.message == "dependency cycle: a -> c -> b -> a"


def load_error(path: Path) -> MissionError:
    with pytest.raises(MissionError) as caught:
        load_mission(path)
    return caught.value


def test_a_task_that_depends_on_itself(tmp_path: Path) -> None:
    error = refused(tmp_path, f"workflows: [{{workflowId: a, dependsOn: [a], x-lam-plan: {READ}}}]")
    assert error.code == "cycle" and "depends on itself" in error.message


def test_an_unknown_task_in_depends_on(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: find, x-lam-plan: {READ}}}
          - {{workflowId: b, dependsOn: [fnd], x-lam-plan: {READ}}}
        """)  # fmt: skip
    assert error.location == "workflows[1].dependsOn[0]"
    assert error.message == "no task named 'fnd' (did you mean 'find'?)"


def test_an_unknown_task_in_an_expression() -> None:
    error = load_error(DATA / "unknown_task.yaml")
    assert error.location == "workflows[0].x-lam-inputs.pet_id"
    assert "no task named 'fnd'" in error.message and error.code == "unknown-task"


def test_an_expression_naming_a_task_that_is_not_a_dependency(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{id: $steps.find.outputs.pet_id}}}}
          - workflowId: b
            x-lam-plan: {DELETE}
            x-lam-inputs: {{pet_id: $workflows.a.outputs.id}}
        """)  # fmt: skip
    assert error.code == "not-a-dependency"
    assert "does not depend on 'a'; add it to dependsOn" in error.message


def test_a_dependency_through_another_task_is_enough(tmp_path: Path) -> None:
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{id: $steps.find.outputs.pet_id}}}}
          - {{workflowId: b, dependsOn: [a], x-lam-plan: {READ}}}
          - workflowId: c
            dependsOn: [b]
            x-lam-plan: {DELETE}
            x-lam-inputs: {{pet_id: $workflows.a.outputs.id}}
        """)  # fmt: skip
    assert m.task("c").upstream == {"a"}


def test_an_expression_inside_workflow_steps_is_checked_too(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{id: $steps.find.outputs.pet_id}}}}
          - workflowId: b
            steps:
              - stepId: s
                operationId: getPetById
                parameters: [{{name: petId, in: path, value: $workflows.a.outputs.nope}}]
        """)  # fmt: skip
    assert error.location == "workflows[1].steps"
    assert "task 'a' does not depend on" not in error.message
    assert "does not depend on 'a'" in error.message


def test_an_unknown_output(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{id: $steps.find.outputs.pet_id}}}}
          - workflowId: b
            dependsOn: [a]
            x-lam-plan: {DELETE}
            x-lam-inputs: {{pet_id: $workflows.a.outputs.idd}}
        """)  # fmt: skip
    assert error.message.endswith("task 'a' has no output 'idd' (outputs: id)")


@pytest.mark.parametrize(
    ("fields", "what"),
    [
        (
            f"x-lam-plan: {READ}, x-lam-recording: {READ}",
            "has 2 kinds (x-lam-plan, x-lam-recording)",
        ),
        ("description: nothing to do", "has no kind"),
    ],
)
def test_a_task_needs_exactly_one_kind(tmp_path: Path, fields: str, what: str) -> None:
    error = refused(tmp_path, f"workflows: [{{workflowId: a, {fields}}}]")
    assert error.location == "workflows[0]" and what in error.message


def test_a_missing_plan_file(tmp_path: Path) -> None:
    error = refused(tmp_path, "workflows: [{workflowId: a, x-lam-plan: plans/none.yaml}]")
    assert error.location == "workflows[0].x-lam-plan"
    assert "plan file 'plans/none.yaml' not found" in error.message


def test_a_missing_recording_file(tmp_path: Path) -> None:
    error = refused(tmp_path, "workflows: [{workflowId: a, x-lam-recording: rec.json}]")
    assert error.location == "workflows[0].x-lam-recording" and "not found" in error.message


@pytest.mark.parametrize(
    ("fields", "place", "fragment"),
    [
        ("x-lam-agent: robot, x-lam-apis: [petstore]", "x-lam-agent", "unknown agent 'robot'"),
        ("x-lam-apis: [petstore]", "x-lam-agent", "a goal needs x-lam-agent"),
        ("x-lam-agent: api", "x-lam-apis", "a api goal needs x-lam-apis"),
        ("x-lam-agent: api, x-lam-apis: [petstor]", "x-lam-apis[0]", "did you mean 'petstore'"),
        ("x-lam-agent: ui, x-lam-apps: [shop]", "x-lam-apps[0]", "no app named 'shop'"),
        ("x-lam-agent: ui, x-lam-apis: [petstore]", "x-lam-apis", "uses x-lam-apps"),
    ],
)
def test_a_goal_needs_a_known_agent_and_what_it_may_use(
    tmp_path: Path, fields: str, place: str, fragment: str
) -> None:
    error = refused(tmp_path, f"workflows: [{{workflowId: a, x-lam-goal: find a pet, {fields}}}]")
    assert error.location == f"workflows[0].{place}" and fragment in error.message


def test_a_goal_cannot_be_an_upstream_output(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {READ}, outputs: {{g: $steps.find.outputs.pet_id}}}}
          - workflowId: b
            dependsOn: [a]
            x-lam-goal: $workflows.a.outputs.g
            x-lam-agent: api
            x-lam-apis: [petstore]
        """)  # fmt: skip
    assert "never the goal itself" in error.message


def test_agent_fields_go_only_with_a_goal(tmp_path: Path) -> None:
    error = refused(
        tmp_path, f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-agent: ui}}]"
    )
    assert error.message == "x-lam-agent goes with x-lam-goal (a plan task)"


def test_inputs_read_only_upstream_outputs_or_mission_inputs(tmp_path: Path) -> None:
    error = refused(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {DELETE}, x-lam-inputs: {{pet_id: $secrets.TOKEN}}}}
        """)  # fmt: skip
    assert error.code == "expression" and "read only $workflows" in error.message
    m = mission(tmp_path, f"""\
        workflows:
          - {{workflowId: a, x-lam-plan: {DELETE}, x-lam-inputs: {{pet_id: $inputs.pet}}}}
        """)  # fmt: skip
    assert m.task("a").upstream == frozenset()


@pytest.mark.parametrize(
    ("body", "place", "fragment"),
    [
        ("x-lam: {on_failure: maybe}\nworkflows: []", "x-lam.on_failure", "stop or continue"),
        ("x-lam: {onfailure: stop}\nworkflows: []", "x-lam.onfailure", "did you mean 'on_failure'"),
        ("x-lam: {apps: {shop: ftp://x}}\nworkflows: []", "x-lam.apps.shop", "not an http(s) URL"),
        ("workflows: []", "workflows", "at least one workflow"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}}}, {{workflowId: a, x-lam-plan: {READ}}}]",
         "workflows[1].workflowId", "also workflows[0]"),
        (f"workflows: [{{workflowId: 'a b', x-lam-plan: {READ}}}]", "workflows[0].workflowId",
         "letters, digits"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-retries: 11}}]",
         "workflows[0].x-lam-retries", "0 to 10"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-retries: true}}]",
         "workflows[0].x-lam-retries", "0 to 10"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-budget: {{max_steps: 0}}}}]",
         "workflows[0].x-lam-budget.max_steps", "at least 1"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-budget: {{timeout: -1}}}}]",
         "workflows[0].x-lam-budget.timeout", "positive"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-budget: {{steps: 3}}}}]",
         "workflows[0].x-lam-budget.steps", "unknown key"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-lam-retry: 1}}]",
         "workflows[0].x-lam-retry", "did you mean 'x-lam-retries'"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {READ}, dependsOn: [$sourceDescriptions.o.w]}}]",
         "workflows[0].dependsOn[0]", "another document"),
        (f"workflows: [{{workflowId: a, x-lam-plan: {DELETE}, x-lam-inputs: {{p: '$nope'}}}}]",
         "workflows[0].x-lam-inputs", "not a runtime expression"),
    ],
)  # fmt: skip
def test_bad_fields_are_one_line_naming_the_place(
    tmp_path: Path, body: str, place: str, fragment: str
) -> None:
    error = refused(tmp_path, body)
    assert error.location == place and fragment in error.message


def test_other_extensions_are_left_alone(tmp_path: Path) -> None:
    m = mission(tmp_path, f"workflows: [{{workflowId: a, x-lam-plan: {READ}, x-vendor: 1}}]")
    assert m.task("a").kind == "plan"


def test_not_a_mission(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("lam: 1\nname: x\nsteps: []\n", encoding="utf-8")
    with pytest.raises(MissionError, match="not a mission"):
        load_mission(path)
    with pytest.raises(MissionError, match="invalid YAML"):
        mission_from_text("arazzo: [", path=path)


def test_is_mission(tmp_path: Path) -> None:
    assert is_mission(DATA / "petstore.yaml")
    assert is_mission(DATA / "cycle.yaml")  # a mission, if a bad one: lam says why
    assert not is_mission(READ)
    assert not is_mission(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("arazzo: 1.0.1\nworkflows: [\n", encoding="utf-8")
    assert not is_mission(broken)
    other = tmp_path / "m.txt"
    other.write_text((DATA / "petstore.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert not is_mission(other)
    assert not is_mission(tmp_path)
    late = tmp_path / "late.yaml"  # a long comment first: still a mission
    late.write_text("# " + "x" * 8000 + "\n" + (DATA / "petstore.yaml").read_text("utf-8"))
    assert is_mission(late)


def chain(length: int, *, cycle: bool) -> str:
    """A mission of ``length`` goal tasks, each depending on the one before and reading the
    first one's output; ``cycle``: the second depends on the last too."""
    rows = [
        "arazzo: 1.0.1", "info: {title: T, version: '1'}",
        "x-lam: {apps: {s: 'http://127.0.0.1:9'}}", "workflows:",
        "  - {workflowId: t0, x-lam-goal: go, x-lam-agent: ui, x-lam-apps: [s], "
        "outputs: {o: $inputs.x}}",
    ]  # fmt: skip
    for i in range(1, length):
        after = f"t{i - 1}, t{length - 1}" if cycle and i == 1 else f"t{i - 1}"
        rows.append(
            f"  - {{workflowId: t{i}, dependsOn: [{after}], x-lam-agent: ui, x-lam-apps: [s], "
            "x-lam-goal: 'go to {$workflows.t0.outputs.o}'}"
        )
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("cycle", [False, True])
def test_a_chain_of_thousands_of_tasks_is_checked_in_bounded_time(
    tmp_path: Path, cycle: bool
) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(chain(2000, cycle=cycle), encoding="utf-8")
    outcome = run_bounded(["validate", str(path)], memory=False)
    assert_bounded(outcome, codes=(1,) if cycle else (0,))
    if cycle:
        (line,) = outcome.error_lines
        assert line.endswith(
            "workflows[1].dependsOn: dependency cycle: t1 -> t1999 -> t1998 -> t1997 -> "
            "t1996 -> t1995 -> ... -> t4 -> t3 -> t2 -> t1 (1999 tasks)"
        ), line
