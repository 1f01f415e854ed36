"""The embedded API planner: words, ranking, values from the goal, wiring, goal-set accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.planner import (
    ActionModel,
    ApiGoalPlanner,
    HistoryItem,
    Observation,
    Proposal,
    plan_document,
    split_clauses,
)
from lam.planner.bm25 import BM25, stem, tokens
from lam.planner.evaluate import load_goal_set, score_goal_set
from lam.planner.params import fill_slots, slots_of
from lam.plans import parse_plan
from lam.spec import Spec, load_spec
from lam.validation import validate_loaded

ROOT = Path(__file__).resolve().parents[1]
GOALS = ROOT / "tests" / "data" / "goals"
PETSTORE = ROOT / "specs" / "petstore.yaml"
DEMO = ROOT / "specs" / "demo.yaml"


@pytest.fixture(scope="module")
def petstore() -> Spec:
    return load_spec(PETSTORE)


@pytest.fixture(scope="module")
def demo() -> Spec:
    return load_spec(DEMO)


def propose(spec: Spec, goal: str, name: str = "api") -> Proposal:
    return ApiGoalPlanner().propose(Observation(goal, apis={name: spec}), ())


# --- words and ranking -------------------------------------------------------------------


def test_tokens_split_camel_case_fold_synonyms_and_drop_stopwords() -> None:
    assert tokens("findPetsByStatus") == ["get", "pet", "status"]
    assert tokens("Show me the pets") == ["get", "pet"]
    assert tokens("log in then sign out") == ["login", "logout"]
    assert tokens("remove a user") == tokens("delete the users") == ["delete", "user"]
    assert tokens("rename pet") == ["update", "name", "pet"]


def test_stem_folds_plurals_and_verb_endings() -> None:
    assert stem("pets") == stem("pet") == "pet"
    assert stem("categories") == "category"
    assert stem("cancelled") == stem("cancel")
    assert stem("created") == stem("create")


def test_bm25_prefers_the_document_with_the_rarer_matching_term() -> None:
    index = BM25([["get", "pet"], ["get", "order"], ["get", "user"], ["get", "pet", "tag"]])
    scores = index.scores(["get", "tag"])
    assert max(range(4), key=lambda i: scores[i]) == 3
    assert all(s <= index.ceiling(["get", "tag"]) for s in scores)
    assert index.scores(["nothing"]) == [0.0, 0.0, 0.0, 0.0]


def test_split_clauses_cuts_at_then_and_action_verbs_but_not_inside_quotes() -> None:
    assert split_clauses("log in as admin then list pets") == ["log in as admin", "list pets"]
    assert split_clauses("add a dog named Rex and order it") == ["add a dog named Rex", "order it"]
    assert split_clauses("add a pet named 'Salt and then Pepper'") == [
        "add a pet named 'Salt and then Pepper'"
    ]
    assert split_clauses("list cats and dogs") == ["list cats and dogs"]


# --- values from the goal ----------------------------------------------------------------


def values(spec: Spec, ref: str, clause: str) -> dict[str, Any]:
    op = spec.operation(ref)
    return {f.slot.name: f.value for f in fill_slots(clause, slots_of(spec, op))}


def test_values_quoted_numbers_enums_and_names(petstore: Spec, demo: Spec) -> None:
    assert values(petstore, "loginUser", "sign in as ada with password 'x y'") == {
        "username": "ada",
        "password": "x y",
    }
    assert values(petstore, "getPetById", "show pet #12") == {"petId": 12}
    assert values(petstore, "findPetsByStatus", "the sold pets") == {"status": "sold"}
    assert values(demo, "createPet", "a cat called 'Tom Kitten'") == {
        "name": "Tom Kitten",
        "species": "cat",
    }
    assert values(demo, "patchPet", "rename pet 2 to Bo") == {"petId": 2, "name": "Bo"}
    assert values(demo, "patchPet", "mark pet 8 as not vaccinated") == {
        "petId": 8,
        "vaccinated": False,
    }


def test_no_value_is_invented(demo: Spec) -> None:
    assert values(demo, "getPet", "show me a pet") == {}
    # "placed" is an order status; "place" (the verb) is not
    assert values(demo, "listOrders", "place an order") == {}


# --- proposals ---------------------------------------------------------------------------


def test_the_planner_is_an_action_model() -> None:
    assert isinstance(ApiGoalPlanner(), ActionModel)


def test_login_token_and_created_id_are_wired_into_later_steps(demo: Spec) -> None:
    proposal = propose(
        demo, "log in as admin with password 'pw' then add a dog named Rex, order it"
    )
    assert proposal.grounded
    login, add, order = proposal.steps
    assert login["outputs"] == {"token": "$response.body#/token"}
    assert add["params"] == {"Authorization": "Bearer {$steps.login.outputs.token}"}
    assert add["outputs"] == {"id": "$response.body#/id"}
    assert order["body"] == {"petId": "$steps.createPet.outputs.id"}


def test_an_id_found_in_a_list_is_taken_from_its_first_item(petstore: Spec) -> None:
    proposal = propose(petstore, "find sold pets, then delete the first one")
    find, delete = proposal.steps
    assert find["outputs"] == {"id": "$response.body#/0/id"}
    assert delete["params"] == {"petId": "$steps.findPetsByStatus.outputs.id"}


def test_schema_examples_fill_required_fields_and_say_so(petstore: Spec) -> None:
    proposal = propose(petstore, "add a pet named Rex")
    assert proposal.grounded
    assert proposal.steps[0]["body"]["photoUrls"] == ["https://pets.example/rex.jpg"]
    assert any("photoUrls" in n and "example" in n for n in proposal.notes)


def test_a_required_value_the_goal_lacks_is_unsure_not_guessed(demo: Spec) -> None:
    proposal = propose(demo, "delete a pet")
    assert not proposal.grounded
    assert any("petId" in u for u in proposal.unsure)


def test_off_topic_and_close_calls_are_refused_with_candidates(petstore: Spec, demo: Spec) -> None:
    off = propose(petstore, "bake a chocolate cake")
    assert not off.grounded and off.steps == () and "no operation matches" in off.unsure[0]
    close = propose(demo, "fix order 3")  # read it? delete it? cancel it?
    assert not close.grounded
    assert close.candidates and len(close.candidates[0]) >= 2


def test_history_skips_the_steps_already_done(demo: Spec) -> None:
    observation = Observation("list pets then list orders", apis={"shop": demo})
    first = ApiGoalPlanner().propose(observation, ())
    later = ApiGoalPlanner().propose(observation, [HistoryItem(first.steps[0], "ok")])
    assert [s["call"] for s in later.steps] == ["shop.listOrders"]


def test_ranking_spans_several_apis(petstore: Spec, demo: Spec) -> None:
    apis = {"store": petstore, "shop": demo}
    proposal = ApiGoalPlanner().propose(Observation("cancel order 3", apis=apis), ())
    # both specs can cancel an order: too close to call across APIs
    refs = {c.ref for c in proposal.candidates[0]}
    assert {"store.deleteOrder", "shop.cancelOrder"} <= refs


# --- goal sets ---------------------------------------------------------------------------

GOAL_SETS = sorted(GOALS.glob("*.yaml"))


def test_goal_sets_hold_at_least_30_goals_with_refusals() -> None:
    goals = [g for p in GOAL_SETS for g in yaml.safe_load(p.read_text())["goals"]]
    assert len(goals) >= 30
    assert sum(1 for g in goals if g.get("refuse")) >= 3


@pytest.mark.parametrize("path", GOAL_SETS, ids=lambda p: p.stem)
def test_goal_set_accuracy_holds(path: Path) -> None:
    """Measured by benchmarks/plan_api_bench.py: every goal right, nothing wrongly acted on."""
    score = score_goal_set(ApiGoalPlanner(), load_goal_set(path))
    misses = [r for r in score.results if r.outcome != "ok"]
    assert score.operation_accuracy >= 1.0, misses
    assert score.parameter_accuracy >= 1.0, misses
    assert score.wrong == 0, misses


@pytest.mark.parametrize("path", GOAL_SETS, ids=lambda p: p.stem)
def test_every_grounded_plan_validates(path: Path) -> None:
    goal_set = load_goal_set(path)
    for entry in goal_set.goals:
        proposal = propose(goal_set.spec, str(entry["goal"]))
        if not proposal.grounded:
            continue
        document = plan_document(
            "p", entry["goal"], {"api": (goal_set.spec.source, None)}, proposal.steps
        )
        plan = parse_plan(yaml.safe_dump(document), name="p.yaml")
        report = validate_loaded(plan, [], api_overrides={}, app_overrides={})
        assert report.ok, (entry["goal"], report.errors)
