"""lam.api_checks.check_call: every rule, with a valid and an invalid case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import lam.spec.loader
from lam.api_checks import NO_BODY, CallProblem, check_call
from lam.expressions import Expression, Template, parse_value
from lam.spec import Spec, load_spec

PETSTORE = Path(__file__).resolve().parent.parent / "specs" / "petstore.yaml"
TREES = Path(__file__).resolve().parent / "data" / "specs" / "tree31.json"
READINGS = Path(__file__).resolve().parent / "data" / "specs" / "nullable30.yaml"


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})


@pytest.fixture
def spec() -> Spec:
    return load_spec(PETSTORE)


def check(spec: Spec, op_id: str, params: Mapping[str, Any], **kwargs: Any) -> list[CallProblem]:
    """check_call with plan-like values: expression strings parsed as a plan loader would."""
    if kwargs.get("body", NO_BODY) is not NO_BODY:
        kwargs["body"] = parse_value(kwargs["body"])
    return check_call(spec, spec.operation(op_id), params=parse_value(dict(params)), **kwargs)


def codes(problems: list[CallProblem]) -> list[tuple[str, str]]:
    return [(p.location, p.code) for p in problems]


# ------------------------------------------------------------------------ parameters


def test_valid_call_has_no_problems(spec: Spec) -> None:
    assert check(spec, "getPetById", {"petId": 7}) == []
    assert check(spec, "findPetsByStatus", {"status": "sold"}) == []
    assert check(spec, "findPetsByTags", {"tags": ["a", "b"]}) == []


def test_required_param_missing(spec: Spec) -> None:
    problems = check(spec, "loginUser", {"username": "ada"})
    assert codes(problems) == [("params.password", "missing-param")]
    assert problems[0].message == "required query parameter 'password' is missing"
    assert codes(check(spec, "getPetById", {})) == [("params.petId", "missing-param")]


def test_unknown_param_with_did_you_mean(spec: Spec) -> None:
    problems = check(spec, "findPetsByStatus", {"status": "sold", "stauts": "x"})
    assert codes(problems) == [("params.stauts", "unknown-param")]
    assert "did you mean 'status'" in problems[0].message
    problems = check(spec, "logoutUser", {"zzz": 1})
    assert problems[0].message == "unknown parameter 'zzz' (GET /user/logout takes no parameters)"


def test_header_params_match_case_insensitively(spec: Spec) -> None:
    assert check(spec, "deletePet", {"petId": 1, "API_KEY": "k"}) == []
    # Accept, Content-Type and Authorization are lam's to set; never "unknown".
    assert check(spec, "getPetById", {"petId": 1, "Accept": "application/json"}) == []


@pytest.mark.parametrize(
    ("op_id", "params", "location", "message"),
    [
        ("getPetById", {"petId": "abc"}, "params.petId", 'expected integer, got "abc"'),
        ("getPetById", {"petId": 0}, "params.petId", "0 is less than the minimum of 1"),
        (
            "findPetsByStatus",
            {"status": "lost"},
            "params.status",
            'expected one of "available", "pending", "sold", got "lost"',
        ),
        ("findPetsByTags", {"tags": ["a", 3]}, "params.tags[1]", "expected string, got 3"),
        ("getOrderById", {"orderId": 2.5}, "params.orderId", "expected integer, got 2.5"),
    ],
)
def test_literal_values_match_param_schema(
    spec: Spec, op_id: str, params: dict[str, Any], location: str, message: str
) -> None:
    problems = check(spec, op_id, params)
    assert [(p.location, p.code, p.message) for p in problems] == [
        (location, "invalid-param", message)
    ]


def test_numeric_text_is_a_fine_integer_param(spec: Spec) -> None:
    assert check(spec, "getPetById", {"petId": "42"}) == []


def test_uuid_format_on_31_param() -> None:
    trees = load_spec(TREES)
    good = {"treeId": "123e4567-e89b-12d3-a456-426614174000"}
    assert check(trees, "getTree", good) == []
    problems = check(trees, "getTree", {"treeId": "oak"})
    assert [p.message for p in problems] == ['expected uuid, got "oak"']


def test_expressions_without_types_are_skipped(spec: Spec) -> None:
    assert check(spec, "getPetById", {"petId": "$inputs.pet"}) == []


def _schemas(known: Mapping[str, Mapping[str, Any]]) -> Any:
    def lookup(expr: Expression) -> Mapping[str, Any] | None:
        return known.get(expr.text)

    return lookup


def test_expression_types_are_checked_when_known(spec: Spec) -> None:
    types = _schemas(
        {
            "$inputs.pet": {"type": "integer"},
            "$inputs.name": {"type": "string"},
            "$inputs.tags": {"type": "array", "items": {"type": "string"}},
            "$steps.find.outputs.pet": {"$ref": "#/components/schemas/Pet"},
        }
    )
    assert check(spec, "getPetById", {"petId": "$inputs.pet"}, expression_schema=types) == []
    problems = check(spec, "getPetById", {"petId": "$inputs.name"}, expression_schema=types)
    assert codes(problems) == [("params.petId", "type-mismatch")]
    assert problems[0].message == "$inputs.name is string, expected integer"
    problems = check(
        spec, "getPetById", {"petId": "$steps.find.outputs.pet"}, expression_schema=types
    )
    assert codes(problems) == [("params.petId", "type-mismatch")]
    # An integer fills a string query param: it is text on the wire.
    assert check(spec, "loginUser", {"username": "$inputs.pet", "password": "x"},
                 expression_schema=types) == []  # fmt: skip
    assert codes(
        check(spec, "findPetsByTags", {"tags": "$inputs.pet"}, expression_schema=types)
    ) == [("params.tags", "type-mismatch")]


def test_templates_are_strings(spec: Spec) -> None:
    # Path params of any scalar type are serialized, so a template fits.
    assert check(spec, "getPetById", {"petId": "{$inputs.a}"}) == []
    assert check(spec, "loginUser", {"username": "u-{$inputs.a}", "password": "p"}) == []
    assert isinstance(parse_value("x{$inputs.a}"), Template)


def test_template_into_integer_query_param_only_when_it_cannot_be_a_number(spec: Spec) -> None:
    status_op = spec.operation("getOrderById")
    problems = check_call(
        spec, status_op, params={"orderId": Template.parse("{$inputs.a}")}
    )  # path param: fine
    assert problems == []
    trees = load_spec(TREES)
    assert check(trees, "getTree", {"treeId": "{$inputs.a}"}) == []
    readings = load_spec(READINGS)
    assert check(readings, "listReadings", {"limit": "{$inputs.n}"}) == []  # may be "5"
    assert check(readings, "listReadings", {"limit": "{$inputs.n}0"}) == []
    problems = check(readings, "listReadings", {"limit": "n-{$inputs.n}"})
    assert codes(problems) == [("params.limit", "type-mismatch")]
    assert problems[0].message == "expected integer, got a string template 'n-{$inputs.n}'"


# ------------------------------------------------------------------------ body


PET = {"name": "Rex", "photoUrls": [], "status": "available"}


def test_valid_body(spec: Spec) -> None:
    assert check(spec, "addPet", {}, body=PET) == []
    assert check(spec, "addPet", {}, body=PET, content_type="application/json") == []


def test_required_body_missing(spec: Spec) -> None:
    problems = check(spec, "addPet", {})
    assert [(p.location, p.code, p.message) for p in problems] == [
        ("body", "missing-body", "POST /pet requires a request body")
    ]
    # updatePetWithForm's body is optional.
    assert check(spec, "updatePetWithForm", {"petId": 1}, body=NO_BODY) == []


def test_body_where_none_is_taken(spec: Spec) -> None:
    problems = check(spec, "getPetById", {"petId": 1}, body={"x": 1})
    assert codes(problems) == [("body", "unexpected-body")]
    # None is a JSON null body, not "no body".
    assert codes(check(spec, "getPetById", {"petId": 1}, body=None)) == [
        ("body", "unexpected-body")
    ]


def test_content_type_must_be_accepted(spec: Spec) -> None:
    problems = check(spec, "addPet", {}, body=PET, content_type="text/plain")
    assert codes(problems) == [("body", "content-type")]
    assert "accepts: application/json" in problems[0].message
    form = {"name": "Rex"}
    assert (
        check(
            spec,
            "updatePetWithForm",
            {"petId": 1},
            body=form,
            content_type="application/x-www-form-urlencoded",
        )
        == []
    )


def test_body_validated_against_schema(spec: Spec) -> None:
    bad = {"photoUrls": "nope", "status": "lost", "tags": [{"id": "x"}]}
    problems = check(spec, "addPet", {}, body=bad)
    assert sorted((p.location, p.code, p.message) for p in problems) == [
        ("body.name", "invalid-body", "required property is missing"),
        ("body.photoUrls", "invalid-body", 'expected array, got "nope"'),
        ("body.status", "invalid-body", 'expected one of "available", "pending", "sold", got "lost"'),
        ("body.tags[0].id", "invalid-body", 'expected integer, got "x"'),
    ]  # fmt: skip


def test_required_read_only_property_may_be_left_out(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /things:\n    post:\n"
        "      operationId: addThing\n      requestBody:\n        content:\n"
        "          application/json:\n            schema:\n              type: object\n"
        "              required: [id, name]\n              properties:\n"
        "                id: {type: integer, readOnly: true}\n                name: {type: string}\n"
        "      responses: {'201': {description: made}}\n"
    )
    things = load_spec(path)
    assert check(things, "addThing", {}, body={"name": "x"}) == []
    assert codes(check(things, "addThing", {}, body={"id": 1})) == [("body.name", "invalid-body")]


def test_body_errors_under_expressions_are_ignored(spec: Spec) -> None:
    body: dict[str, Any] = {"name": "$inputs.name", "photoUrls": "$inputs.urls", "tags": "$inputs.tags"}
    assert check(spec, "addPet", {}, body=body) == []
    # The whole body from an earlier step's output.
    assert check(spec, "addPet", {}, body="$steps.make.outputs.pet") == []
    # Errors elsewhere still count.
    body = {"name": "$inputs.name", "photoUrls": [], "status": "lost"}
    assert codes(check(spec, "addPet", {}, body=body)) == [("body.status", "invalid-body")]


def test_body_expression_types_checked_when_known(spec: Spec) -> None:
    types = _schemas({"$inputs.qty": {"type": "string"}, "$inputs.n": {"type": "integer"}})
    good = {"petId": "$inputs.n", "quantity": "$inputs.n"}
    assert check(spec, "placeOrder", {}, body=good, expression_schema=types) == []
    bad = {"petId": 10, "quantity": "$inputs.qty"}
    problems = check(spec, "placeOrder", {}, body=bad, expression_schema=types)
    assert codes(problems) == [("body.quantity", "type-mismatch")]


def test_template_in_body_where_integer_wanted(spec: Spec) -> None:
    body = {"petId": "{$inputs.n}", "status": "{$inputs.s}"}
    problems = check(spec, "placeOrder", {}, body=body)
    assert codes(problems) == [("body.petId", "type-mismatch")]
    assert "string template" in problems[0].message
    # Where the schema is unknown, a template is not flagged.
    free = {"name": "x", "photoUrls": [], "extra": "{$inputs.n}"}
    assert check(spec, "addPet", {}, body=free) == []


def test_recursive_body_31() -> None:
    trees = load_spec(TREES)
    tree = {"label": "r", "children": [{"label": "$inputs.x", "weight": None}]}
    assert check(trees, "plantTree", {}, body=tree) == []
    bad = {"label": "r", "children": [{"label": "a", "children": [{"weight": -1}]}]}
    assert sorted(codes(check(trees, "plantTree", {}, body=bad))) == [
        ("body.children[0].children[0].label", "invalid-body"),
        ("body.children[0].children[0].weight", "invalid-body"),
    ]


def test_no_body_marker() -> None:
    assert repr(NO_BODY) == "NO_BODY"
    assert not NO_BODY
