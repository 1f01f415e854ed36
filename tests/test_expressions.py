"""Arazzo runtime expressions: parsing, templates, the ``$$`` escape, JSON pointers, resolution."""

from __future__ import annotations

from typing import Any

import pytest

from lam.expressions import (
    Context,
    Expression,
    ExpressionError,
    Template,
    parse_value,
    resolve_pointer,
    resolve_value,
    walk_expressions,
)


@pytest.mark.parametrize(
    ("text", "source", "name", "step", "pointer"),
    [
        ("$inputs.pet_id", "inputs", "pet_id", None, None),
        ("$inputs.pet#/tags/0", "inputs", "pet", None, "/tags/0"),
        ("$steps.find.outputs.pet_id", "steps", "pet_id", "find", None),
        ("$steps.find-2.outputs.pets#/0/id", "steps", "pets", "find-2", "/0/id"),
        ("$secrets.PETSTORE_TOKEN", "secrets", "PETSTORE_TOKEN", None, None),
        ("$response.body", "response.body", None, None, ""),
        ("$response.body#/0/id", "response.body", None, None, "/0/id"),
        ("$response.body#/a~1b/c~0d", "response.body", None, None, "/a~1b/c~0d"),
        ("$response.header.X-Rate-Limit", "response.header", "X-Rate-Limit", None, None),
        ("$statusCode", "statusCode", None, None, None),
        ("$url", "url", None, None, None),
        ("$method", "method", None, None, None),
    ],
)
def test_parse(
    text: str, source: str, name: str | None, step: str | None, pointer: str | None
) -> None:
    expr = Expression.parse(text)
    assert (expr.source, expr.name, expr.step, expr.pointer) == (source, name, step, pointer)
    assert str(expr) == text


@pytest.mark.parametrize(
    "text",
    [
        "$foo",
        "$inputs",
        "$inputs.",
        "$inputs.a b",
        "$steps.find.pet_id",
        "$steps.find.output.pet_id",
        "$response",
        "$response.body#/a b",
        "$secrets.TOKEN#/x",
        "$statusCode#/0",
        "$response.header.X-A#/0",
        "inputs.x",
        "$5",
    ],
)
def test_malformed_expressions_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        Expression.parse(text)
    assert text in str(info.value)


def test_template_parts() -> None:
    template = Template.parse("/pets/{$steps.find.outputs.pet_id}/photos/{$inputs.n}.jpg")
    assert template.parts == (
        "/pets/",
        Expression.parse("$steps.find.outputs.pet_id"),
        "/photos/",
        Expression.parse("$inputs.n"),
        ".jpg",
    )
    assert [e.text for e in template.expressions] == ["$steps.find.outputs.pet_id", "$inputs.n"]
    assert str(template) == "/pets/{$steps.find.outputs.pet_id}/photos/{$inputs.n}.jpg"


def test_template_with_a_bad_part_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"\$nope"):
        Template.parse("hello {$nope}")


def test_parse_value_turns_strings_into_expressions_and_templates() -> None:
    parsed = parse_value(
        {
            "id": "$inputs.id",
            "path": "/pets/{$inputs.id}",
            "list": ["$statusCode", "plain", 3, None, True],
            "nested": {"deep": ["{$inputs.a}-{$inputs.b}"]},
        }
    )
    assert parsed["id"] == Expression.parse("$inputs.id")
    assert isinstance(parsed["path"], Template)
    assert parsed["list"][0] == Expression.parse("$statusCode")
    assert parsed["list"][1:] == ["plain", 3, None, True]
    assert [e.name for e in parsed["nested"]["deep"][0].expressions] == ["a", "b"]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("$$inputs.x", "$inputs.x"),
        ("$$", "$"),
        ("$$5.00", "$5.00"),
        ("costs $5", "costs $5"),  # a $ not at the start needs no escape
        ("a $$ b", "a $$ b"),  # and $$ in the middle is left alone
        ("", ""),
    ],
)
def test_dollar_escape(written: str, meant: str) -> None:
    assert parse_value(written) == meant


def test_dollar_escape_ahead_of_a_template_part() -> None:
    parsed = parse_value("$$5 for {$inputs.name}")
    assert isinstance(parsed, Template)
    assert resolve_value(parsed, context(inputs={"name": "Rex"})) == "$5 for Rex"


def test_walk_expressions_names_each_place() -> None:
    parsed = parse_value({"petId": "$inputs.id", "tags": ["x", "{$steps.a.outputs.t}"]})
    assert [(where, e.text) for where, e in walk_expressions(parsed, "params")] == [
        ("params.petId", "$inputs.id"),
        ("params.tags[1]", "$steps.a.outputs.t"),
    ]
    assert walk_expressions(parse_value("$statusCode")) == [("", Expression.parse("$statusCode"))]


# JSON pointers (RFC 6901)

DOC: dict[str, Any] = {
    "a/b": {"m~n": [10, 20]},
    "": "empty key",
    "pets": [{"id": 7, "tags": []}],
    "name": "Rex",
}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("", DOC),
        ("/", "empty key"),
        ("/a~1b/m~0n/1", 20),
        ("/a~1b/m~0n/0", 10),
        ("/pets/0/id", 7),
        ("/pets/0/tags", []),
    ],
)
def test_pointer(pointer: str, value: Any) -> None:
    assert resolve_pointer(DOC, pointer) == value


def test_pointer_escapes_apply_in_order() -> None:
    """``~01`` is the key ``~1``, not ``/``: ``~1`` is undone before ``~0``."""
    assert resolve_pointer({"~1": "tilde-one", "/": "slash"}, "/~01") == "tilde-one"


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        ("/nope", "no key 'nope' at #/"),
        ("/pets/3", "no item 3 at #/pets (list of 1)"),
        ("/pets/-", "no item - at #/pets (list of 1)"),
        ("/pets/00", "no item 00 at #/pets (list of 1)"),
        ("/pets/²", "no item ² at #/pets (list of 1)"),
        ("/pets/0/owner", "no key 'owner' at #/pets/0"),
        ("/a~1b/m~0n/x", "no item x at #/a~1b/m~0n (list of 2)"),
        ("/name/first", "cannot look up 'first' in a str at #/name"),
    ],
)
def test_pointer_errors_name_where_they_stopped(pointer: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        resolve_pointer(DOC, pointer)
    assert str(info.value) == message


# Resolution against a run's context


def context(
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, dict[str, Any]] | None = None,
    response: dict[str, Any] | None = None,
) -> Context:
    def secret(name: str) -> str:
        if name != "TOKEN":
            raise ExpressionError(f"secret {name!r} is not set")
        return "s3cret"

    return Context(inputs or {}, outputs or {}, secret, response)


def test_resolve_sources() -> None:
    ctx = context(
        inputs={"pet": {"tags": ["a", "b"]}, "n": 2},
        outputs={"find": {"pet_id": 7}},
        response={
            "status": 201,
            "headers": {"X-Rate-Limit": "9"},
            "body": [{"id": 7}],
            "url": "http://127.0.0.1/pet",
            "method": "POST",
        },
    )
    cases = {
        "$inputs.n": 2,
        "$inputs.pet#/tags/1": "b",
        "$steps.find.outputs.pet_id": 7,
        "$secrets.TOKEN": "s3cret",
        "$response.body#/0/id": 7,
        "$response.body": [{"id": 7}],
        "$response.header.x-rate-limit": "9",  # header names ignore case
        "$statusCode": 201,
        "$url": "http://127.0.0.1/pet",
        "$method": "POST",
    }
    for text, value in cases.items():
        assert ctx.resolve(Expression.parse(text)) == value, text


def test_expression_keeps_the_type_and_template_makes_text() -> None:
    ctx = context(inputs={"n": 2, "ok": True, "none": None, "tags": ["a"], "obj": {"k": 1}})
    assert resolve_value(parse_value("$inputs.n"), ctx) == 2
    assert resolve_value(parse_value("n={$inputs.n}"), ctx) == "n=2"
    assert resolve_value(parse_value("{$inputs.ok}/{$inputs.none}/"), ctx) == "true//"
    assert resolve_value(parse_value("{$inputs.tags}{$inputs.obj}"), ctx) == '["a"]{"k":1}'
    assert resolve_value(parse_value({"a": ["$inputs.n", 1]}), ctx) == {"a": [2, 1]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$inputs.missing", "$inputs.missing: no input named 'missing'"),
        ("$steps.later.outputs.x", "$steps.later.outputs.x: step 'later' has not run"),
        ("$steps.find.outputs.nope", "$steps.find.outputs.nope: step 'find' has no output 'nope'"),
        ("$inputs.pet#/name", "$inputs.pet#/name: no key 'name' at #/"),
        ("$secrets.OTHER", "secret 'OTHER' is not set"),
        ("$statusCode", "$statusCode: there is no response here"),
        ("$response.body#/id", "$response.body#/id: there is no response here"),
    ],
)
def test_resolution_errors_name_the_missing_piece(text: str, message: str) -> None:
    ctx = context(inputs={"pet": {"id": 1}}, outputs={"find": {"pet_id": 7}})
    with pytest.raises(ExpressionError) as info:
        ctx.resolve(Expression.parse(text))
    assert str(info.value) == message


def test_missing_response_header_is_named() -> None:
    ctx = context(response={"status": 200, "headers": {}, "body": None})
    with pytest.raises(ExpressionError, match=r"the response has no header 'ETag'"):
        ctx.resolve(Expression.parse("$response.header.ETag"))
    with pytest.raises(
        ExpressionError, match=r"^\$response.body#/0: cannot look up '0' in a NoneType"
    ):
        ctx.resolve(Expression.parse("$response.body#/0"))


def test_expressions_are_frozen_values() -> None:
    expr = Expression.parse("$inputs.x")
    assert expr == Expression.parse("$inputs.x") and hash(expr) == hash(
        Expression.parse("$inputs.x")
    )
    with pytest.raises(AttributeError):
        expr.name = "y"  # type: ignore[misc]
