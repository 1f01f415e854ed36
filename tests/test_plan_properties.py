"""Property tests: whatever document the plan loader is given, it returns a Plan or raises PlanError.

Three sources of input: random JSON-like values, random mappings built from plan-like keys and
values (so that the checks past the schema are reached too), and random text and bytes.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lam.errors import PlanError
from lam.plans import Plan, load_plan, parse_plan, plan_problems

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Random JSON-like values.

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

# Plan-like documents: real keys, mostly plausible values, sometimes wrong ones.

NAMES = st.sampled_from(["a", "b", "find", "pet_id", "shop", "petstore", "x-1", "1bad", ""])
EXPRESSION_TEXT = st.sampled_from(
    [
        "$inputs.a", "$inputs.pet_id", "$inputs.", "$steps.a.outputs.x", "$steps.b.outputs.v",
        "$steps.find.outputs.pet_id#/0", "$response.body#/0/id", "$response.header.ETag",
        "$statusCode", "$secrets.TOKEN", "$secrets.T#/x", "$url", "$$literal", "$", "$5",
        "/pets/{$inputs.a}", "{$steps.a.outputs.x}{$inputs.b}", "{$nope}", "{$", "shop:/pets",
        "nope:/x", "http://127.0.0.1:8080/", "petstore.getPetById", "petstore GET /pet/{petId}",
        "petstore", ".op", "Save", "Enter", "down", "",
    ]
)  # fmt: skip
plan_values = st.recursive(
    st.one_of(scalars, EXPRESSION_TEXT, NAMES),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(NAMES, EXPRESSION_TEXT), inner, max_size=3),
    ),
    max_leaves=8,
)
UI_TARGET_ACTIONS = ["click", "fill", "select", "check", "uncheck", "hover", "assert", "extract",
                     "upload"]  # fmt: skip
ACTIONS = ["call", "goto", "press", "scroll", "wait", *UI_TARGET_ACTIONS]
EXTRA_KEYS = ["description", "params", "body", "content_type", "value", "expect", "outputs",
              "timeout", "bogus"]  # fmt: skip
TARGET_KEYS = ["role", "name", "text", "label", "css", "describe", "nth", "frame", "nmae"]
OUTPUT_NAMES = st.sampled_from(["x", "v", "pet_id", "value", "1bad"])


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten: enough wrong values to hit errors, enough right ones to pass."""
    return one_in(10).flatmap(lambda rare: bad if rare else good)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws (integer draws lean towards 0, so they would not do)."""
    return st.sampled_from([False] * (n - 1) + [True])


STEP_IDS = mostly(st.sampled_from(["a", "b", "c", "find", "show"]), st.just("1bad"))
INPUT_NAMES = mostly(st.sampled_from(["a", "b", "pet_id"]), st.sampled_from(["", "1bad"]))


@st.composite
def targets(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(EXPRESSION_TEXT)
    keys = draw(st.lists(st.sampled_from(TARGET_KEYS), min_size=1, max_size=3, unique=True))
    return {k: draw(mostly(EXPRESSION_TEXT, st.integers(0, 3))) for k in keys}


def argument_for(action: str) -> st.SearchStrategy[Any]:
    if action == "call":
        return st.sampled_from(["petstore.getPetById", "petstore GET /pet/{petId}", "p.op",
                                "petstore", "nope.op"])  # fmt: skip
    if action == "goto":
        return st.sampled_from(["shop:/pets", "http://127.0.0.1:8080/x", "nope:/x",
                                "shop:/pets/{$steps.a.outputs.x}", "/p/{$inputs.a}"])  # fmt: skip
    if action == "press":
        return st.one_of(st.just("Enter"), targets())
    if action == "scroll":
        return st.one_of(st.sampled_from(["down", "top", "the footer"]), targets())
    if action == "wait":
        return st.one_of(st.integers(-5, 10**6), targets())
    return targets()


def extra_value(key: str) -> st.SearchStrategy[Any]:
    if key == "outputs":
        return st.dictionaries(OUTPUT_NAMES, EXPRESSION_TEXT, max_size=2)
    if key == "expect":
        return st.fixed_dictionaries(
            {},
            optional={
                "status": st.sampled_from([200, 204, [200, 201]]),
                "text": NAMES,
                "body": plan_values,
            },
        )
    if key in ("params", "body"):
        return st.dictionaries(NAMES, plan_values, max_size=3)
    if key == "description":
        return mostly(st.text(max_size=10), plan_values)
    if key == "content_type":
        return mostly(st.sampled_from(["application/json", "text/plain"]), plan_values)
    if key == "timeout":
        return st.sampled_from([1, 2.5, 0, -1])
    return plan_values


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    step: dict[str, Any] = {} if draw(one_in(20)) else {"id": draw(STEP_IDS)}
    count = draw(st.sampled_from([1] * 18 + [0, 2]))  # exactly one action, mostly
    for action in draw(st.lists(st.sampled_from(ACTIONS), min_size=count, max_size=count)):
        step[action] = draw(argument_for(action))
    for key in draw(st.lists(st.sampled_from(EXTRA_KEYS), max_size=3, unique=True)):
        step[key] = draw(extra_value(key))
    return step


@st.composite
def plan_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "lam": draw(mostly(st.just(1), st.sampled_from([2, "1", None]))),
        "name": draw(mostly(st.just("a-plan"), plan_values)),
    }
    if draw(one_in(20)):
        del document[draw(st.sampled_from(["lam", "name"]))]
    if draw(st.booleans()):
        document["inputs"] = draw(
            st.dictionaries(
                INPUT_NAMES, mostly(st.just({"type": "string"}), plan_values), max_size=2
            )
        )
    if not draw(one_in(4)):
        document["apis"] = {
            "petstore": draw(
                mostly(
                    st.fixed_dictionaries(
                        {"spec": st.sampled_from(["s.yaml", "https://x/o.json"])},
                        optional={
                            "base_url": EXPRESSION_TEXT,
                            "auth": st.just({"secret": "TOKEN"}),
                        },
                    ),
                    plan_values,
                )
            )
        }
    if draw(st.booleans()):
        document["apps"] = {
            "shop": draw(
                st.fixed_dictionaries(
                    {"url": st.just("http://127.0.0.1:8080/")}, optional={"api": NAMES}
                )
            )
        }
    document["steps"] = draw(mostly(st.lists(steps(), min_size=1, max_size=5), plan_values))
    if draw(one_in(20)):
        document[draw(st.sampled_from(["bogus", "Steps", "version"]))] = draw(plan_values)
    return document


def loads_or_plan_error(text: str, name: str) -> Plan | None:
    """The property: a Plan, or a PlanError naming the file; nothing else escapes."""
    try:
        plan = parse_plan(text, name=name)
    except PlanError as exc:
        assert exc.file == name
        assert exc.message
        assert "\n" not in exc.one_line()
        return None
    assert isinstance(plan, Plan)
    assert plan.steps
    return plan


@BOUNDED
@given(json_values)
def test_random_json_values(value: Any) -> None:
    loads_or_plan_error(json.dumps(value), "plan.json")
    loads_or_plan_error(yaml.safe_dump(value), "plan.yaml")


def test_random_plan_like_documents() -> None:
    outcomes: Counter[str] = Counter()

    @BOUNDED
    @given(plan_documents())
    def check(document: dict[str, Any]) -> None:
        loads_or_plan_error(json.dumps(document), "plan.json")
        outcomes[_code_of(document)] += 1

    check()
    # The generator must reach the loader's later checks, not only schema errors.
    assert outcomes["ok"] > 0, outcomes
    assert len(set(outcomes) - {"ok", "schema"}) >= 4, outcomes


def _code_of(document: dict[str, Any]) -> str:
    try:
        parse_plan(json.dumps(document), name="plan.json")
    except PlanError as exc:
        return exc.code
    return "ok"


@BOUNDED
@given(plan_documents())
def test_plan_like_documents_in_files(document: dict[str, Any]) -> None:
    with _folder() as folder:
        path = folder / "plan.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        try:
            plan = load_plan(path)
        except PlanError as exc:
            assert exc.file == str(path)
        else:
            assert plan.path == path
        # plan_problems reports instead of raising, past a readable file within the limits
        # on input (a NUL, say, is refused while parsing: docs/limits.md)
        try:
            loaded, problems = plan_problems(path)
        except PlanError as exc:
            assert exc.code in ("syntax", "too-large"), exc
            return
        assert loaded is not None or problems


@BOUNDED
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    loads_or_plan_error(text, "plan.yaml")
    loads_or_plan_error(text, "plan.json")


@BOUNDED
@given(st.binary(max_size=200))
def test_random_bytes_in_files(data: bytes) -> None:
    with _folder() as folder:
        path = folder / "plan.yaml"
        path.write_bytes(data)
        try:
            load_plan(path)
        except PlanError as exc:
            assert exc.file == str(path)


def test_a_plausible_document_does_load() -> None:
    """Guard against a generator that never reaches past the schema."""
    document = {
        "lam": 1,
        "name": "a",
        "apps": {"shop": {"url": "http://127.0.0.1:8080/"}},
        "steps": [
            {"id": "a", "goto": "shop:/pets"},
            {"id": "b", "extract": {"css": "h1"}},
            {"id": "c", "goto": "/pets/{$steps.b.outputs.value}"},
        ],
    }
    assert loads_or_plan_error(json.dumps(document), "plan.json") is not None


@contextmanager
def _folder() -> Iterator[Path]:
    """A fresh folder per example (pytest's tmp_path is one folder per test, not per example)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)
