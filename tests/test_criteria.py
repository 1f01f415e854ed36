"""Arazzo Criterion objects (lam.criteria): simple conditions, regex, JSONPath; malformed ones
refused with a clear message; hostile responses cannot stall or break an evaluation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lam.criteria import (
    CriterionError,
    criterion_expressions,
    evaluate,
    parse_criterion,
)
from lam.expressions import Context

RESPONSE = {
    "status": 201,
    "headers": {"X-Rate-Limit": "100", "Location": "/loans/7"},
    "body": {"token": None, "items": [{"id": 1}, {"id": 2}], "name": "Rex", "ok": True},
}


def context(response: dict[str, Any] | None = None) -> Context:
    return Context(
        {"count": 3, "who": {"first": "Ada"}},
        {"find": {"flag": True, "id": "7"}},
        lambda name: "s3cret",
        RESPONSE if response is None else response,
    )


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("$statusCode == 201", True),
        ("$statusCode == 200 || $statusCode == 201", True),
        ("$statusCode == 200 && $statusCode == 201", False),
        ("$statusCode==201", True),
        ("$statusCode != 201", False),
        ("$statusCode >= 200 && $statusCode < 300", True),
        ("$response.body#/token == null", True),
        ("$response.body#/token != null", False),
        ("$response.body#/absent == null", True),  # a member the body lacks reads as null
        ("$response.body#/ok == true", True),
        ("$response.body#/ok", True),
        ("!$response.body#/ok", False),
        ("$response.body#/name == 'rex'", True),  # strings compare case-insensitively
        ('$response.body#/name == "REX"', True),
        ("$response.body#/items[1]", False),  # an object is not true
        ("$response.body#/items[1]['id'] == 2", True),
        ("$response.body#/items[9] == null", True),
        ("$response.header.X-Rate-Limit > 50", True),  # a numeric header compares as a number
        ("$response.header.x-rate-limit == 100", True),
        ("$response.header.Location == '/loans/7'", True),
        ("$response.header.Missing == null", True),
        ("$inputs.count < 4 && !($inputs.count < 3)", True),
        ("$inputs.who#/first == 'ada'", True),
        ("$steps.find.outputs.flag == true", True),
        ("$steps.find.outputs.id == 7", True),
        ("$steps.skipped.outputs.x == null", True),  # a step a goto skipped
        ("$statusCode > 'abc'", False),  # no order between a number and text
        ("true == 1", False),  # a boolean is not a number
        ("null == false", False),
        ("1.5e1 == 15", True),
    ],
)
def test_simple_conditions(condition: str, holds: bool) -> None:
    assert evaluate({"condition": condition}, context()) is holds


def test_a_criterion_without_a_response_reads_its_expressions_as_null() -> None:
    none = Context({}, {}, str, None)
    assert evaluate({"condition": "$statusCode == null"}, none)
    assert not evaluate({"condition": "$statusCode == 200"}, none)


def test_regex_searches_the_context_as_text() -> None:
    ctx = context()
    assert evaluate({"condition": "^/loans/\\d+$", "type": "regex",
                     "context": "$response.header.Location"}, ctx)  # fmt: skip
    assert evaluate({"condition": '"name":"Rex"', "type": "regex",
                     "context": "$response.body"}, ctx)  # fmt: skip
    assert not evaluate({"condition": "^cat", "type": "regex",
                         "context": "$response.body#/name"}, ctx)  # fmt: skip


def test_a_pathological_regex_on_a_hostile_response_gives_up_in_time() -> None:
    hostile = {"status": 200, "headers": {}, "body": "a" * 40 + "!"}
    started = time.monotonic()
    held = evaluate({"condition": "^(a+)+$", "type": "regex", "context": "$response.body"},
                    context(hostile))  # fmt: skip
    assert not held
    assert time.monotonic() - started < 5


def test_jsonpath_holds_when_the_query_selects_a_node() -> None:
    ctx = context()
    assert evaluate({"condition": "$.items[?@.id == 2]", "type": "jsonpath"}, ctx)
    assert not evaluate({"condition": "$.items[?@.id == 3]", "type": "jsonpath"}, ctx)
    assert evaluate({"condition": "$[?count(@.*) > 1]", "type": "jsonpath",
                     "context": "$response.body#/items"}, ctx) is False  # fmt: skip
    assert evaluate(
        {"condition": "$.name", "context": "$response.body",
         "type": {"type": "jsonpath", "version": "draft-goessner-dispatch-jsonpath-00"}},
        ctx,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"condition": "foo == 1"}, "'foo' is not a value"),
        ({"condition": "$statusCode =="}, "ends where a value was expected"),
        ({"condition": "($statusCode == 1"}, "'(' is not closed"),
        ({"condition": "$statusCode == 1 )"}, "unexpected ')'"),
        ({"condition": "$request.body == 1"}, "not a runtime expression"),
        ({"condition": "$statusCode # 1"}, "cannot read"),
        ({"condition": ""}, "needs a condition"),
        ({"condition": "x", "type": "xpath"}, "xpath criteria are not supported"),
        ({"condition": "x", "type": "sql"}, "criterion type 'sql'"),
        ({"condition": "x", "type": {"type": "jsonpath", "version": "9"}}, "jsonpath version"),
        ({"condition": "x", "type": "regex"}, "needs a context"),
        ({"condition": "(", "type": "regex", "context": "$response.body"}, "regex '('"),
        ({"condition": "$.a[", "type": "jsonpath"}, "JSONPath '$.a['"),
        ({"condition": "$statusCode == 1", "context": "body"}, "context"),
        ({"condition": "$statusCode == 1", "when": 1}, "not ['when']"),
        ({"condition": "$statusCode == 1" + " " * 5000}, "characters"),
        ("$statusCode == 200", "a criterion is a mapping"),
    ],
)
def test_malformed_criteria_are_refused_with_what_is_wrong(raw: Any, words: str) -> None:
    with pytest.raises(CriterionError) as caught:
        parse_criterion(raw)
    assert words in caught.value.message


def test_the_expressions_a_criterion_reads_are_listed_for_the_plan_checks() -> None:
    parsed = parse_criterion({"condition": "$inputs.a == $steps.s.outputs.o || $statusCode == 1"})
    assert [e.text for e in criterion_expressions(parsed)] == [
        "$inputs.a", "$steps.s.outputs.o", "$statusCode",
    ]  # fmt: skip
    regex = parse_criterion({"condition": "x", "type": "regex", "context": "$inputs.b"})
    assert [e.text for e in criterion_expressions(regex)] == ["$inputs.b"]
