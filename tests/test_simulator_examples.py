"""Example values from schemas, and collections inferred from paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from lam.sandbox.collections import Router, build_resources
from lam.sandbox.examples import ExampleGenerator

COMPONENTS: dict[str, Any] = {
    "Node": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Node"},
        },
    }
}


def resolve(node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        node = COMPONENTS[str(node["$ref"]).rsplit("/", 1)[-1]]
    return node


def test_values_meet_their_constraints() -> None:
    schema = {
        "type": "object",
        "required": ["when", "mail", "uid", "n", "code", "tag", "ratio", "short"],
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "uid": {"type": "string", "format": "uuid"},
            "n": {"type": "integer", "minimum": 10, "maximum": 20, "multipleOf": 5},
            "code": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "tag": {"enum": [None, "red", "blue"]},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
            "short": {"type": "string", "minLength": 12, "maxLength": 12},
        },
    }
    value = ExampleGenerator(resolve, seed=4).generate(schema)
    assert list(Draft202012Validator(schema).iter_errors(value)) == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value["when"])
    assert value["tag"] == "red"
    assert value["n"] in (10, 15, 20)


def test_examples_first_and_skipped_when_invalid() -> None:
    schema = {"type": "integer", "example": 7}
    assert ExampleGenerator(resolve).generate(schema) == 7
    wrong = {"type": "string", "example": 20.04}
    check = lambda s, v: Draft202012Validator(s).is_valid(v)  # noqa: E731
    assert isinstance(ExampleGenerator(resolve, check=check).generate(wrong), str)


def test_one_of_prefers_the_branch_that_matches_one() -> None:
    schema = {
        "oneOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}},
        ]
    }

    def check(s: Mapping[str, Any], v: Any) -> bool:
        return bool(Draft202012Validator(s).is_valid(v))

    value = ExampleGenerator(resolve, check=check).generate(schema)
    assert check(schema, value)


def test_recursion_ends_and_read_only_is_left_out_of_requests() -> None:
    node = ExampleGenerator(resolve).generate({"$ref": "#/components/schemas/Node"})
    assert isinstance(node["name"], str)
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
    }
    assert set(ExampleGenerator(resolve).generate(schema, writing=True)) == {"name"}
    assert set(ExampleGenerator(resolve).generate(schema)) == {"id", "name"}


def test_deterministic_per_seed_and_place() -> None:
    schema = {"type": "integer", "minimum": 0, "maximum": 10**9}
    one, two = ExampleGenerator(resolve, seed=1), ExampleGenerator(resolve, seed=2)
    assert one.generate(schema, "/a") == ExampleGenerator(resolve, seed=1).generate(schema, "/a")
    assert one.generate(schema, "/a") != one.generate(schema, "/b")
    assert one.generate(schema, "/a") != two.generate(schema, "/a")


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    answers: Mapping[str, Any] = field(default_factory=dict)

    def response_schema(self, status: int | str) -> tuple[str, Mapping[str, Any]] | None:
        schema = self.answers.get(str(status))
        return ("application/json", schema) if schema is not None else None


LIST = {"200": {"type": "array", "items": {"type": "object"}}}
OPS = [
    Op("GET", "/pets", LIST),
    Op("POST", "/pets"),
    Op("GET", "/pets/{id}"),
    Op("GET", "/pets/findByStatus", LIST),
    Op("POST", "/invoices/{id}/pay"),
    Op("GET", "/invoices/{id}"),
    Op("GET", "/users/{u}/repos/{r}"),
    Op("GET", "/users/{u}/repos", LIST),
    Op("GET", "/compare/{base}...{head}"),
    Op("GET", "/compare/{spec}"),
    Op("GET", "/store/inventory"),
]


def test_kinds_inferred_from_paths() -> None:
    resources = build_resources([op.path for op in OPS], OPS)
    kinds = {t: (r.kind, r.collection) for t, r in resources.items()}
    assert kinds["/pets"] == ("collection", "/pets")
    assert kinds["/pets/{id}"] == ("item", "/pets")
    assert kinds["/pets/findByStatus"] == ("search", "/pets")
    assert kinds["/invoices/{id}/pay"] == ("action", "/invoices")
    assert resources["/invoices/{id}/pay"].id_param == "id"
    assert kinds["/users/{u}/repos"] == ("collection", "/users/{u}/repos")
    assert kinds["/users/{u}/repos/{r}"] == ("item", "/users/{u}/repos")
    assert kinds["/store/inventory"] == ("other", None)


def test_router_prefers_words_and_reads_composite_segments() -> None:
    router = Router(OPS, build_resources([op.path for op in OPS], OPS))
    found = router.match("GET", "/pets/findByStatus")
    assert not isinstance(found, str) and found is not None
    assert found.operation.path == "/pets/findByStatus"
    item = router.match("GET", "/pets/12")
    assert not isinstance(item, str) and item is not None and item.params == {"id": "12"}
    both = router.match("GET", "/compare/main...dev")
    assert not isinstance(both, str) and both is not None
    assert both.params == {"base": "main", "head": "dev"}
    one = router.match("GET", "/compare/main")
    assert not isinstance(one, str) and one is not None and one.params == {"spec": "main"}
    assert router.match("DELETE", "/pets") == "/pets"
    assert router.match("GET", "/nothing/here") is None
