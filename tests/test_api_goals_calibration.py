"""The API planner knows when it does not know: RestBench answers are right or refused.

RestBench's queries and specs ship with the tests (tests/data/restbench/, tests/data/specs/real/,
sources and licences in their NOTICE.md). The split is fixed by query index (even: tune, odd:
held out; lam.planner.restbench); the floors below are the figures measured on each split, so a
change that makes the planner guess more fails here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from real_specs import real_spec

from lam.planner import ApiGoalPlanner, Observation, Proposal, plan_document
from lam.planner.api_chain import id_pointer, named_things, resource_of
from lam.planner.params import slots_of
from lam.planner.restbench import Outcome, load_queries, score, split_of, tally
from lam.plans import parse_plan
from lam.spec import Spec, load_spec
from lam.validation import validate_loaded

DATA = Path(__file__).parent / "data" / "restbench"
DIGESTS = {
    "tmdb.json": "6a9686067683ec6c33221de05bd2e763cfbfedf2cac6f4e6b607d7ab80a858d4",
    "spotify.json": "b6ba57cc6f29adf352c6a1ceeb4434d6fd508eedfe514afb2d79b6a282f8efc0",
}


@pytest.fixture(scope="module")
def tmdb() -> Spec:
    return load_spec(real_spec("restbench_tmdb_oas.json"))


@pytest.fixture(scope="module")
def spotify() -> Spec:
    return load_spec(real_spec("restbench_spotify_oas.json"))


@pytest.fixture(scope="module")
def outcomes(tmdb: Spec, spotify: Spec) -> dict[str, list[Outcome]]:
    planner = ApiGoalPlanner()
    return {
        "tmdb": score(planner, load_queries(DATA / "tmdb.json"), tmdb, "tmdb"),
        "spotify": score(planner, load_queries(DATA / "spotify.json"), spotify, "spotify"),
    }


def plan(spec: Spec, name: str, goal: str) -> Proposal:
    return ApiGoalPlanner().propose(Observation(goal, apis={name: spec}), ())


def test_shipped_queries_are_the_published_bytes() -> None:
    for name, digest in DIGESTS.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest
    assert [split_of(i) for i in range(4)] == ["tune", "held-out", "tune", "held-out"]


# (dataset, split) -> (least answered, least share of answers whose first call is right): a little
# under what was measured (docs/planner.md: tmdb 23 at 1.00 / 27 at 0.89, spotify 13 at 0.92 /
# 12 at 0.58), so that small shifts in the shared tokenizer do not fail the suite while a
# planner that guesses does. The tuning split holds the 0.9 the issue asks for; Spotify's
# held-out split does not (docs/planner.md says so).
FLOORS = {
    ("tmdb", "tune"): (21, 0.9),
    ("tmdb", "held-out"): (25, 0.85),
    ("spotify", "tune"): (11, 0.9),
    ("spotify", "held-out"): (10, 0.55),
}


@pytest.mark.parametrize(("name", "split"), sorted(FLOORS))
def test_answers_are_right_at_the_measured_rate(
    outcomes: dict[str, list[Outcome]], name: str, split: str
) -> None:
    least_answered, least_precision = FLOORS[(name, split)]
    t = tally(outcomes[name], split)
    wrong = [(o.query.goal, o.calls) for o in t.wrong]
    assert t.answered >= least_answered, (t.answered, wrong)
    assert t.precision >= least_precision, wrong


def test_every_answer_validates(
    outcomes: dict[str, list[Outcome]], tmdb: Spec, spotify: Spec
) -> None:
    """An answered plan is a valid plan: values of the right types, chained ids as expressions."""
    specs = {"tmdb": tmdb, "spotify": spotify}
    for name, found in outcomes.items():
        for o in found:
            if not o.answered:
                continue
            document = plan_document(
                "p", o.query.goal, {name: (specs[name].source, None)}, o.proposal.steps
            )
            plan_ = parse_plan(yaml.safe_dump(document), name="p.yaml")
            report = validate_loaded(plan_, [], api_overrides={}, app_overrides={})
            assert report.ok, (o.query.goal, report.errors)


def test_the_thresholds_are_what_keeps_answers_right(tmdb: Spec) -> None:
    """Without the margin and coverage rules the same planner answers more and guesses wrong:
    the refusals are doing the work, not the ranking alone."""
    queries = [q for q in load_queries(DATA / "tmdb.json") if q.split == "tune"]
    loose = tally(score(ApiGoalPlanner(min_coverage=0, min_margin=0), queries, tmdb, "tmdb"))
    strict = tally(score(ApiGoalPlanner(), queries, tmdb, "tmdb"))
    assert loose.answered > strict.answered
    assert loose.first_right - strict.first_right < loose.answered - strict.answered
    assert strict.precision > loose.precision


def test_every_refusal_names_candidates_with_scores(outcomes: dict[str, list[Outcome]]) -> None:
    refused = [o for name in outcomes for o in outcomes[name] if not o.answered]
    assert len(refused) > 50
    for o in refused:
        assert o.proposal.unsure, o.query.goal  # an unsure proposal is never acted on
        if o.proposal.candidates and any(o.proposal.candidates):
            first = next(c for c in o.proposal.candidates if c)[0]
            assert first.ref and isinstance(first.score, float)


def test_a_hidden_first_call_is_chained_backwards(tmdb: Spec) -> None:
    proposal = plan(tmdb, "tmdb", "Give me some keywords of the movie The Dark Knight")
    assert proposal.grounded, proposal.unsure
    search, target = proposal.steps
    assert search["call"] == "tmdb.GET_search-movie"
    assert target["call"] == "tmdb.GET_movie-movie_id-keywords"
    assert search["params"]["query"] == "The Dark Knight"
    assert search["outputs"] == {"movie_id": "$response.body#/results/0/id"}
    assert target["params"]["movie_id"] == f"$steps.{search['id']}.outputs.movie_id"
    document = plan_document("p", "g", {"tmdb": (tmdb.source, None)}, proposal.steps)
    report = validate_loaded(
        parse_plan(yaml.safe_dump(document), name="p.yaml"), [], api_overrides={}, app_overrides={}
    )
    assert report.ok, report.errors


def test_a_list_feeds_the_chain_when_the_goal_picks_from_it(tmdb: Spec, spotify: Spec) -> None:
    proposal = plan(tmdb, "tmdb", "What are the keywords of the most popular movie right now")
    assert proposal.grounded, proposal.unsure
    assert proposal.steps[0]["call"] == "tmdb.GET_movie-popular"
    proposal = plan(spotify, "spotify", "remove the third track from my music library")
    assert not proposal.grounded or proposal.steps[0]["call"] == "spotify.get-users-saved-tracks"


def test_never_a_guess(tmdb: Spec, spotify: Spec) -> None:
    # Movie or TV show? Nothing in the goal says which: both searches are offered, none taken.
    proposal = plan(tmdb, "tmdb", "I need a review for Breaking Bad")
    assert not proposal.grounded
    refs = [c.ref for c in proposal.candidates[0]]
    assert any("search-tv" in r for r in refs) and any("search-movie" in r for r in refs), refs
    # The latest movie overall is not Christopher Nolan's latest: a plan that drops the name
    # the goal is about is refused.
    proposal = plan(tmdb, "tmdb", "What is the latest movie directed by Christopher Nolan?")
    assert not proposal.grounded
    assert any("unused" in u for u in proposal.unsure)
    # A person is not a movie: "directed by X" never becomes a movie search for X.
    for goal in ("give me the number of movies directed by Sofia Coppola",):
        proposal = plan(tmdb, "tmdb", goal)
        for step in proposal.steps:
            assert step["call"] != "tmdb.GET_search-movie", goal
    # Deleting "a pet" picks none: a list's first item is taken only when the goal says which.
    proposal = plan(spotify, "spotify", "remove a track from my library")
    assert not proposal.grounded


def test_named_things_and_their_kinds() -> None:
    found = named_things("Who is the director of Leonardo DiCaprio's latest movie?")
    assert [(n.text, sorted(n.kinds)) for n in found] == [
        ("Leonardo DiCaprio", ["artist", "person"])
    ]
    found = named_things('When is the movie "Titanic" released?')
    assert [(n.text, sorted(n.kinds)) for n in found] == [("Titanic", ["movi"])]
    found = named_things("List movies from The Fast and the Furious collection")
    assert [n.text for n in found] == ["The Fast and the Furious"]
    assert named_things("Put the song now being played into My Music") == []
    assert named_things("Who is the most popular person?") == []


def test_resources_and_where_ids_come_from(tmdb: Spec, spotify: Spec) -> None:
    credits = tmdb.operation("GET /movie/{movie_id}/credits")
    assert resource_of(slots_of(tmdb, credits)[0], credits) == "movi"
    tracks = spotify.operation("GET /albums/{id}/tracks")
    slot = next(s for s in slots_of(spotify, tracks) if s.name == "id")
    assert resource_of(slot, tracks) == "album"
    search = spotify.operation("GET /search")
    assert id_pointer(spotify, search, "id", "album") == "$response.body#/albums/items/0/id"
    assert id_pointer(tmdb, tmdb.operation("GET /search/movie"), "id", "movi") == (
        "$response.body#/results/0/id"
    )
    assert id_pointer(tmdb, tmdb.operation("GET /search/movie"), "id", "person") is None
