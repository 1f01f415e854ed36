"""What the model is shown of the APIs: every operation when they fit, else the closest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from real_specs import real_spec

from lam.adapters.llm.render import MAX_OPERATIONS, relevant_operations, render_apis
from lam.planner.base import Observation
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _big_spec(tmp_path: Path, count: int) -> Path:
    paths: dict[str, Any] = {
        f"/things{i}": {"get": {"operationId": f"listThings{i}", "summary": f"List things {i}"}}
        for i in range(count)
    }
    paths["/pets/{petId}/vaccinations"] = {
        "post": {
            "operationId": "vaccinatePet",
            "summary": "Record a vaccination of a pet",
            "parameters": [
                {"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
        }
    }
    document = {"openapi": "3.1.0", "info": {"title": "big", "version": "1"}, "paths": paths}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document))
    return path


def test_all_operations_when_they_fit() -> None:
    spec = load_spec(ROOT / "specs" / "petstore.yaml")
    text = render_apis(Observation(goal="x", apis={"petstore": spec}))
    assert text.count("\n- petstore.") == len(spec.operations)
    assert "left out" not in text


def test_a_big_api_is_cut_to_the_operations_closest_to_the_goal(tmp_path: Path) -> None:
    spec = load_spec(_big_spec(tmp_path, 300))
    goal = "record the vaccination of pet 7"
    chosen = relevant_operations(spec.operations, goal)
    assert len(chosen) == MAX_OPERATIONS
    assert "vaccinatePet" in [op.operation_id for op in chosen]
    text = render_apis(Observation(goal=goal, apis={"big": spec}))
    assert "- big.vaccinatePet = POST /pets/{petId}/vaccinations" in text
    assert "(101 operations less related to the goal left out)" in text


def test_githubs_spec_keeps_the_operation_the_goal_names() -> None:
    spec = load_spec(real_spec("github_api.github.com.json"))
    goal = "list the open issues of the repository octocat/hello-world"
    text = render_apis(Observation(goal=goal, apis={"github": spec}))
    assert "github.issues/list-for-repo = GET /repos/{owner}/{repo}/issues" in text
    assert text.count("\n- github.") == MAX_OPERATIONS
