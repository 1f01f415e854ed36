"""The plan model and loader: what a loaded plan holds, and each problem with its exact place."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lam.errors import PlanError
from lam.expressions import Expression, Template
from lam.plans import NO_BODY, ApiStep, Plan, UiStep, load_plan, parse_plan, plan_problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).parent / "data" / "plans"

HEAD = "lam: 1\nname: t\n"
APIS = "apis:\n  p: {spec: s.yaml}\n"


def plan_of(steps: str, extra: str = "") -> Plan:
    return parse_plan(HEAD + extra + "steps:\n" + steps, name="t.yaml")


def error_of(steps: str, extra: str = "") -> PlanError:
    with pytest.raises(PlanError) as info:
        plan_of(steps, extra)
    return info.value


# What a loaded plan holds


def test_load_example() -> None:
    plan = load_plan(EXAMPLES / "petstore_read.yaml")
    assert plan.name == "petstore-read"
    assert plan.path == EXAMPLES / "petstore_read.yaml"
    assert plan.file == str(EXAMPLES / "petstore_read.yaml")
    assert plan.inputs == {
        "status": {
            "type": "string",
            "enum": ["available", "pending", "sold"],
            "default": "available",
        }
    }
    api = plan.apis["petstore"]
    assert api.spec == "../specs/petstore.yaml"
    assert Path(api.spec_source) == ROOT / "specs" / "petstore.yaml"
    assert api.base_url == "http://127.0.0.1:8080/api/v3"
    assert api.auth == {"scheme": "bearer", "secret": "PETSTORE_TOKEN"}
    assert [s.id for s in plan.steps] == ["find", "show", "stock"]
    assert [s.index for s in plan.steps] == [0, 1, 2]


def test_call_steps() -> None:
    plan = load_plan(EXAMPLES / "petstore_read.yaml")
    find, show, _stock = plan.steps
    assert isinstance(find, ApiStep) and isinstance(show, ApiStep)
    assert (find.kind, find.action, find.place) == ("api", "call", "steps[0]")
    assert (find.api_name, find.operation_ref) == ("petstore", "findPetsByStatus")
    assert (show.api_name, show.operation_ref) == ("petstore", "GET /pet/{petId}")
    assert find.params == {"status": Expression.parse("$inputs.status")}
    assert find.outputs == {"pet_id": Expression.parse("$response.body#/0/id")}
    assert find.expect == {"status": 200}
    assert find.body is NO_BODY
    assert plan.step("show") is show
    with pytest.raises(KeyError):
        plan.step("nope")


def test_call_with_spaces_is_normalised() -> None:
    plan = plan_of("  - {id: a, call: 'p   GET    /pets'}\n", APIS)
    step = plan.steps[0]
    assert isinstance(step, ApiStep) and step.operation_ref == "GET /pets"


def test_null_body_is_not_no_body() -> None:
    plan = plan_of("  - {id: a, call: p.op, body: null}\n  - {id: b, call: p.op}\n", APIS)
    first, second = plan.steps
    assert isinstance(first, ApiStep) and isinstance(second, ApiStep)
    assert first.body is None
    assert second.body is NO_BODY


def test_ui_steps() -> None:
    plan = plan_of(
        "  - {id: open, goto: 'shop:/pets/{$inputs.id}'}\n"
        "  - {id: name, fill: {label: Name}, value: $inputs.name}\n"
        "  - {id: save, click: Save the pet}\n"
        "  - {id: key, press: Enter}\n"
        "  - {id: down, scroll: down}\n"
        "  - {id: read, extract: {css: h1}}\n"
        "  - {id: wait, wait: 250}\n",
        "inputs: {id: {type: integer}, name: {type: string}}\n"
        "apps: {shop: {url: 'http://127.0.0.1:8080/'}}\n",
    )
    open_, name, save, key, down, read, wait = plan.steps
    assert isinstance(name, UiStep) and isinstance(save, UiStep)
    assert isinstance(key, UiStep) and isinstance(down, UiStep) and isinstance(open_, UiStep)
    assert open_.kind == "ui"
    assert isinstance(open_.argument, Template)
    assert open_.target is None
    assert name.target == {"label": "Name"}
    assert name.value == Expression.parse("$inputs.name")
    assert save.target == {"describe": "Save the pet"}  # a string target is described in words
    assert (key.argument, key.target) == ("Enter", None)
    assert (down.argument, down.target) == ("down", None)
    assert read.output_names == frozenset({"value"})
    assert wait.argument == 250
    assert plan.apps["shop"].url == "http://127.0.0.1:8080/"


def test_extract_output_can_be_used_later() -> None:
    plan = plan_of(
        "  - {id: read, extract: {css: h1}}\n"
        "  - {id: go, goto: 'http://127.0.0.1/{$steps.read.outputs.value}'}\n"
    )
    argument = plan.steps[1].argument
    assert isinstance(argument, Template) and argument.expressions[0].step == "read"


def test_parse_plan_json_and_base(tmp_path: Path) -> None:
    text = '{"lam": 1, "name": "j", "apis": {"p": {"spec": "specs/p.yaml"}},'
    text += ' "steps": [{"id": "a", "call": "p.op"}]}'
    plan = parse_plan(text, name="plan.json", base=tmp_path)
    assert plan.apis["p"].spec_source == str(tmp_path / "specs" / "p.yaml")
    assert plan.file == str(tmp_path / "plan.json")


def test_spec_urls_and_absolute_paths_are_kept() -> None:
    plan = plan_of(
        "  - {id: a, call: web.op}\n",
        "apis:\n  web: {spec: 'https://example.com/openapi.json'}\n"
        "  abs: {spec: /srv/specs/a.yaml}\n  file: {spec: 'file:///srv/b.yaml'}\n",
    )
    assert plan.apis["web"].spec_source == "https://example.com/openapi.json"
    assert plan.apis["abs"].spec_source == "/srv/specs/a.yaml"
    assert plan.apis["file"].spec_source == "/srv/b.yaml"


def test_values_are_frozen() -> None:
    plan = load_plan(EXAMPLES / "petstore_write.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.steps[0].id = "other"  # type: ignore[misc]


# Problems, with their exact places


@pytest.mark.parametrize(
    ("steps", "extra", "location", "code", "message"),
    [
        ("  - {id: a, goto: 'http://x/'}\n", "lam: 2\n", "lam", "schema", "1 was expected"),
        ("  []\n", "", "steps", "schema", "should be non-empty"),
        ("  - {id: 1a, goto: 'http://x/'}\n", "", "steps[0].id", "schema", "does not match"),
        ("  - {goto: 'http://x/'}\n", "", "steps[0]", "schema", "'id' is required"),
        ("  - 5\n", "", "steps[0]", "schema", "expected object, got int 5"),
        (
            "  - {id: a, goto: 'http://x/', expect: {status: '200'}}\n",
            "",
            "steps[0].expect.status",
            "schema",
            "expected integer, got string '200'",
        ),
        (
            "  - {id: a, call: p.op, outputs: {x: id}}\n",
            APIS,
            "steps[0].outputs.x",
            "schema",
            "does not match",
        ),
        (
            "  - {id: a, goto: 'http://x/', params: {a: 1}}\n",
            "",
            "steps[0].params",
            "not-for-ui",
            "'params' belongs to API calls, not to a goto step",
        ),
        (
            "  - {id: a, click: Save, value: x}\n",
            "",
            "steps[0].value",
            "unused-value",
            "a click step takes no value",
        ),
        (
            "  - {id: a, fill: {label: Name}}\n",
            "",
            "steps[0].value",
            "missing-value",
            "a fill step needs a value",
        ),
        (
            "  - {id: a, press: {label: Name}}\n",
            "",
            "steps[0].value",
            "missing-value",
            "press on an element needs the key as value",
        ),
        (
            "  - {id: a, call: p.op, value: 3}\n",
            APIS,
            "steps[0].value",
            "not-for-api",
            "'value' belongs to UI steps",
        ),
        (
            "  - {id: a, call: p.op, expect: {text: hi}}\n",
            APIS,
            "steps[0].expect.text",
            "not-for-api",
            "a call's expect takes ['body', 'headers', 'status']",
        ),
        (
            "  - {id: a, call: p}\n",
            APIS,
            "steps[0].call",
            "call-format",
            "write 'api.operationId' or 'api METHOD /path'",
        ),
        (
            "  - {id: a, call: pp.op}\n",
            APIS,
            "steps[0].call",
            "unknown-api",
            "no api named 'pp' in apis (did you mean 'p'?)",
        ),
        (
            "  - {id: a, goto: 'shpo:/pets'}\n",
            "apps: {shop: {url: 'http://x/'}}\n",
            "steps[0].goto",
            "unknown-app",
            "no app named 'shpo' in apps (did you mean 'shop'?)",
        ),
        (
            "  - {id: a, goto: 's:/'}\n",
            APIS + "apps: {s: {url: 'http://x/', api: pp}}\n",
            "apps.s.api",
            "unknown-api",
            "no api named 'pp' (did you mean 'p'?)",
        ),
        (
            "  - {id: a, call: p.op, params: {x: [1, '$inputs.']}}\n",
            APIS,
            "steps[0].params.x[1]",
            "expression",
            "not a runtime expression: '$inputs.'",
        ),
        (
            "  - {id: a, call: p.op, outputs: {x: '$nope'}}\n",
            APIS,
            "steps[0].outputs.x",
            "expression",
            "not a runtime expression: '$nope'",
        ),
        (
            "  - {id: a, extract: {css: h1}}\n  - {id: b, goto: 'http://x/{$steps.a.outputs.text}'}\n",
            "",
            "steps[1].goto",
            "reference",
            "step 'a' has no output 'text' (outputs: value)",
        ),
        (
            "  - {id: a, goto: 'http://x/{$steps.a.outputs.v}'}\n",
            "",
            "steps[0].goto",
            "reference",
            "step 'a' runs later",
        ),
        (
            "  - {id: a, fill: {label: Name}, value: '{$secrets.X} and {$inputs.nme}'}\n",
            "inputs: {name: {type: string}}\n",
            "steps[0].value",
            "reference",
            "$inputs.nme: no input named 'nme' (did you mean 'name'?)",
        ),
        (
            "  - {id: a, call: p.op, body: {id: '$statusCode'}}\n",
            APIS,
            "steps[0].body.id",
            "reference",
            "$statusCode: there is no response yet; use it in outputs or expect",
        ),
    ],
)
def test_problem_places(steps: str, extra: str, location: str, code: str, message: str) -> None:
    head = extra + "name: t\n" if extra.startswith("lam:") else HEAD + extra
    text = head + "steps:\n" + steps
    with pytest.raises(PlanError) as info:
        parse_plan(text, name="t.yaml")
    error = info.value
    assert (error.file, error.location, error.code) == ("t.yaml", location, code)
    assert message in error.message, error.message
    assert error.one_line().startswith(f"t.yaml: {location}: ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("stesp: 1\n", "unknown key 'stesp' (did you mean 'steps'?)"),
        (
            "zzz: 1\n",
            "unknown key 'zzz' (allowed: apis, apps, description, inputs, lam, max_step_runs, name, steps)",
        ),
        ("zzz: 1\nyyy: 2\n", "unknown key 'yyy', 'zzz' (allowed: apis,"),
        ("3: 1\n", "unknown key 3 (allowed: apis,"),
    ],
)
def test_unknown_keys(extra: str, message: str) -> None:
    error = error_of("  - {id: a, goto: 'http://x/'}\n", extra)
    assert error.location == "(top level)"
    assert error.message.startswith(message), error.message


def test_response_expressions_are_fine_in_outputs_and_expect() -> None:
    plan = plan_of(
        "  - {id: a, call: p.op, expect: {status: 200, body: {ok: $response.body#/ok}},"
        " outputs: {s: $statusCode, h: $response.header.ETag}}\n",
        APIS,
    )
    assert set(plan.steps[0].outputs) == {"s", "h"}


def test_duplicate_yaml_keys_name_the_line() -> None:
    error = error_of("  - {id: a, goto: 'http://x/', goto: 'http://y/'}\n")
    assert error.location == "line 4, column 32"
    assert error.message == "invalid YAML: duplicate key 'goto'"


def test_plan_problems_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        HEAD + APIS + "steps:\n"
        "  - {id: a, goto: 'http://x/', params: {q: 1}}\n"
        "  - {id: b, click: Go, value: x}\n"
        "  - {id: a, goto: 'http://x/'}\n"
        "  - {id: c, call: p.op, params: {x: $inputs.missing}}\n"
    )
    plan, problems = plan_problems(path)
    assert plan is not None
    assert [(p.location, p.code, p.step) for p in problems] == [
        ("steps[0].params", "not-for-ui", "a"),
        ("steps[1].value", "unused-value", "b"),
        ("steps[2].id", "duplicate-id", "a"),
        ("steps[3].params.x", "reference", "c"),
    ]
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert (info.value.file, info.value.location) == (str(path), "steps[0].params")


def test_plan_problems_on_a_non_mapping(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("- 1\n")
    plan, problems = plan_problems(path)
    assert plan is None
    assert [(p.location, p.code) for p in problems] == [("(top level)", "not-a-mapping")]


@pytest.mark.parametrize(
    ("text", "kind"),
    [("", "empty"), ("~\n", "empty"), ("7\n", "a number"), ("true\n", "a boolean"),
     ("words\n", "a string"), ("[1]\n", "a list")],
)  # fmt: skip
def test_not_a_mapping(text: str, kind: str) -> None:
    with pytest.raises(
        PlanError, match=f"^t.yaml: \\(top level\\): a plan is a mapping, not {kind}$"
    ):
        parse_plan(text, name="t.yaml")


def test_huge_text_is_refused_before_parsing() -> None:
    with pytest.raises(PlanError) as info:
        parse_plan("#" * (9 * 1024 * 1024), name="big.yaml")
    assert info.value.code == "too-large"


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "nope.yaml")
    assert (info.value.code, info.value.file) == ("not-found", str(tmp_path / "nope.yaml"))


PLAN_FILES = sorted(p.name for p in DATA.glob("*.y*ml") if p.is_file() and "policy" not in p.name)


@pytest.mark.parametrize("name", PLAN_FILES)
def test_bad_data_plans_load_or_raise_plan_error(name: str) -> None:
    """The structural checks never need the spec: each data file loads or names its problem."""
    try:
        plan = load_plan(DATA / name)
    except PlanError as exc:
        assert exc.file == str(DATA / name)
        assert exc.location
    else:
        assert plan.steps
