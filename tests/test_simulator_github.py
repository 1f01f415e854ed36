"""Every GET operation of GitHub's REST spec answers with a body valid against its schema.

The 13 MB spec is shipped compressed in tests/data/specs/real (see tests/real_specs.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from real_specs import real_spec

from lam.sandbox.examples import ExampleGenerator
from lam.sandbox.simulator import SimRequest, Simulator
from lam.spec import Operation, Spec, load_spec


@pytest.fixture(scope="module")
def github() -> Spec:
    return load_spec(real_spec("github_api.github.com.json"))


def _wire(value: Any) -> list[str]:
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, list):
        return [",".join(map(str, value))]
    return [str(value)]


def _request(op: Operation, spec: Spec, params: ExampleGenerator) -> SimRequest:
    values = {
        p.name: params.generate(p.schema, f"{op.key}/{p.name}")
        for p in op.parameters
        if p.location in ("path", "query") and (p.required or p.location == "path")
    }
    path = re.sub(r"\{([^{}]+)\}", lambda m: _wire(values[m.group(1)])[0], op.path)
    query = {
        p.name: _wire(values[p.name]) for p in op.parameters if p.location == "query" and p.required
    }
    return SimRequest("GET", path, query, {}, b"")


def test_every_get_answer_is_valid(github: Spec) -> None:
    sim = Simulator(github, seed=3)
    check = lambda schema, value: github.validator(schema).is_valid(value)  # noqa: E731
    params = ExampleGenerator(github.resolve, seed=3, check=check)
    failures: list[str] = []
    answered = 0
    for op in github.operations:
        if op.method != "GET":
            continue
        request = _request(op, github, params)
        answer = sim.handle(request)
        answered += 1
        if answer.status >= 400:
            failures.append(f"{op.key}: {request.path} -> {answer.status} {answer.json}")
            continue
        found = op.response_schema(answer.status)
        if found is not None and "json" in found[0]:
            errors = github.validator(found[1]).errors(answer.json)
            if errors:
                failures.append(f"{op.key} -> {answer.status}: {errors[:3]}")
    assert answered > 500
    assert failures == []
