"""Steps are ApiStep or UiStep; plans load as before and their approval digests do not move.

The digests below were taken from the example plans before the split: a person's approval
(``--approve remove@5968fc6837``) names them, so they must never change by a refactor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lam.plans import ApiStep, Step, UiStep, load_plan, parse_plan, step_digest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

DIGESTS = {
    "demo_delete_pet.yaml": {"login": "e2589b6d0a", "look": "241ab787e0", "remove": "5968fc6837"},
    "demo_mixed.yaml": {
        "login": "c0a60bca50", "find": "8356f51966", "open_app": "003b4794d5",
        "username": "76da0dfa0b", "password": "33c5f9bc30", "sign_in": "fe02df8797",
        "open_pet": "097ec53f5e", "read_name": "8e4f804cfc", "copy": "0438020c96",
        "rename": "fff2c48f4d", "save": "f6bbb375b5", "list": "ae4e414a45",
    },
    "petstore_write.yaml": {
        "add": "2164b95c04", "rename": "e20c52801d", "order": "2dcaac282d", "check": "a0fb5884d8",
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_known_plans_keep_their_step_digests(name: str) -> None:
    plan = load_plan(EXAMPLES / name)
    assert {s.id: step_digest(plan, s) for s in plan.steps} == DIGESTS[name]


def test_a_call_is_an_api_step_and_the_rest_are_ui_steps() -> None:
    plan = load_plan(EXAMPLES / "demo_mixed.yaml")
    kinds = {s.id: (type(s).__name__, s.kind) for s in plan.steps}
    assert kinds["login"] == ("ApiStep", "api")
    assert kinds["username"] == ("UiStep", "ui")
    assert all(isinstance(s, ApiStep | UiStep) for s in plan.steps)


def test_api_steps_name_their_api_and_operation_without_fallbacks() -> None:
    plan = parse_plan(
        "lam: 1\nname: t\napis: {shop: {spec: s.yaml}}\nsteps:\n"
        "  - {id: a, call: shop.listPets, params: {limit: 3}}\n"
        "  - {id: b, call: 'shop GET /pets/{id}'}\n"
        "  - {id: c, click: Save}\n"
        "  - {id: d, goto: 'https://example.test/'}\n",
        base=Path("."),
    )
    a, b, c, d = plan.steps
    assert isinstance(a, ApiStep) and isinstance(b, ApiStep)
    assert (a.api_name, a.operation_ref, dict(a.params)) == ("shop", "listPets", {"limit": 3})
    assert (b.api_name, b.operation_ref) == ("shop", "GET /pets/{id}")
    assert isinstance(c, UiStep) and c.target == {"describe": "Save"}
    assert isinstance(d, UiStep) and d.target is None and d.argument == "https://example.test/"
    step: Step = c
    assert step.place == "steps[2]"
