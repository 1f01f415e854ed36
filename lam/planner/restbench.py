"""Scoring the API planner on RestBench: how often it answers, and how often an answer is right.

RestBench (RestGPT, github.com/Yifan-Song793/RestGPT, MIT) gives natural-language queries over the
TMDB and Spotify APIs, each with its gold call chain (``["GET /search/movie",
"GET /movie/{movie_id}/credits"]``). A query is *answered* when the planner's proposal is grounded
(nothing unsure); an answer's *first call* is right when the first planned operation is the
first gold call, and its *whole path* is right when the planned operations are the gold chain.

The split is fixed by query index, before any tuning: even indexes tune, odd ones are held out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.planner.base import ActionModel, Observation, Proposal
from lam.spec import Spec

__all__ = ["GOLD_TYPOS", "Outcome", "Query", "Tally", "load_queries", "score", "split_of", "tally"]

# Two gold calls that name no operation of their own spec (typos in the dataset), read as the
# operation they plainly mean.
GOLD_TYPOS: Mapping[str, str] = {
    "GET /person/{movie_id}/movie_credits": "GET /person/{person_id}/movie_credits",
    "GET /track/{id}": "GET /tracks/{id}",
}


@dataclass(frozen=True)
class Query:
    """One RestBench query: its index in the file, its words and its gold call chain."""

    index: int
    goal: str
    gold: tuple[str, ...]

    @property
    def split(self) -> str:
        return split_of(self.index)


@dataclass(frozen=True)
class Outcome:
    """What the planner did with one query."""

    query: Query
    proposal: Proposal
    calls: tuple[str, ...]  # the planned operations as "METHOD /path"; empty when refused

    @property
    def answered(self) -> bool:
        return self.proposal.grounded

    @property
    def first_right(self) -> bool:
        return self.answered and self.calls[:1] == self.query.gold[:1]

    @property
    def whole_right(self) -> bool:
        return self.answered and self.calls == self.query.gold


@dataclass
class Tally:
    """Counts over a set of outcomes."""

    queries: int = 0
    answered: int = 0
    first_right: int = 0
    whole_right: int = 0
    wrong: list[Outcome] = field(default_factory=list)

    @property
    def answer_rate(self) -> float:
        return self.answered / self.queries if self.queries else 0.0

    @property
    def precision(self) -> float:
        """Share of answered queries whose first call is right (1.0 when none answered)."""
        return self.first_right / self.answered if self.answered else 1.0

    @property
    def whole_precision(self) -> float:
        return self.whole_right / self.answered if self.answered else 1.0


def split_of(index: int) -> str:
    """``"tune"`` for even query indexes, ``"held-out"`` for odd ones."""
    return "tune" if index % 2 == 0 else "held-out"


def load_queries(path: Path) -> list[Query]:
    """The queries of a RestBench dataset file (``tmdb.json``, ``spotify.json``)."""
    items: list[Any] = json.loads(path.read_text(encoding="utf-8"))
    return [
        Query(
            i,
            str(item["query"]).strip(),
            tuple(GOLD_TYPOS.get(c.strip(), c.strip()) for c in item["solution"]),
        )
        for i, item in enumerate(items)
    ]


def _calls(proposal: Proposal, spec: Spec, name: str) -> tuple[str, ...]:
    out = []
    for step in proposal.steps:
        ref = str(step.get("call", ""))
        op = spec.find(ref.removeprefix(f"{name}.")) or spec.find(ref.removeprefix(f"{name} "))
        out.append(op.key if op is not None else ref)
    return tuple(out)


def score(planner: ActionModel, queries: Iterable[Query], spec: Spec, name: str) -> list[Outcome]:
    """Plan every query against ``spec`` (as API ``name``) and compare with the gold chains."""
    out = []
    for query in queries:
        proposal = planner.propose(Observation(query.goal, apis={name: spec}), ())
        calls = _calls(proposal, spec, name) if proposal.grounded else ()
        out.append(Outcome(query, proposal, calls))
    return out


def tally(outcomes: Sequence[Outcome], split: str | None = None) -> Tally:
    """Counts over ``outcomes`` (of one split when given)."""
    result = Tally()
    for o in outcomes:
        if split is not None and o.query.split != split:
            continue
        result.queries += 1
        result.answered += o.answered
        result.first_right += o.first_right
        result.whole_right += o.whole_right
        if o.answered and not o.first_right:
            result.wrong.append(o)
    return result
