"""Scoring a planner against a goal set: goals with their gold operations and values.

A goal set is YAML: ``spec`` (relative to the file) and ``goals``, each a ``goal`` with either
``steps`` (``call`` — an operationId — and the ``params`` and ``body`` values the goal gives) or
``refuse: true`` for a goal the spec cannot serve. A planned goal scores:

- *operation*: the planned calls are exactly the gold calls, in order;
- *parameters*: and every gold param and body value is in the plan, equal;
- *refused*: the planner declined (the right answer for a ``refuse`` goal, a miss otherwise).

A planner that acts on a ``refuse`` goal, or picks another operation, is *wrong*: the worst
outcome, since a wrong plan may run while a refusal only asks the person to say more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from lam.documents import load_document
from lam.errors import DocumentError
from lam.planner.base import ActionModel, Observation, Proposal
from lam.spec import Spec, load_spec

__all__ = ["GoalOutcome", "GoalResult", "GoalSet", "Score", "load_goal_set", "score_goal_set"]


@dataclass(frozen=True)
class GoalSet:
    """A loaded goal set: the spec and the goals with their gold answers."""

    file: str
    spec: Spec
    goals: tuple[Mapping[str, Any], ...]


class GoalOutcome(StrEnum):
    """How the planner did on one goal (worst last)."""

    OK = "ok"  # the right calls and values, or a refusal where refusing is right
    PARAMS = "params"  # the right calls, a value wrong or missing
    REFUSED = "refused"  # declined a goal that had an answer
    WRONG = "wrong"  # acted: another operation, or on a goal it should refuse


@dataclass(frozen=True)
class GoalResult:
    """How the planner did on one goal, with what it planned and what was wanted."""

    goal: str
    outcome: GoalOutcome
    got: tuple[str, ...]
    want: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class Score:
    """The figures of a goal set run."""

    results: tuple[GoalResult, ...]

    def _count(self, *outcomes: GoalOutcome) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def operation_accuracy(self) -> float:
        """Goals whose calls (or refusal) were right, over all goals."""
        return self._count(GoalOutcome.OK, GoalOutcome.PARAMS) / self.total if self.total else 0.0

    @property
    def parameter_accuracy(self) -> float:
        """Goals fully right, calls and values (or refusal), over all goals."""
        return self._count(GoalOutcome.OK) / self.total if self.total else 0.0

    @property
    def refused(self) -> int:
        """Goals the planner declined though they had an answer."""
        return self._count(GoalOutcome.REFUSED)

    @property
    def wrong(self) -> int:
        """Goals where the planner acted wrongly: another operation, or acted on a refuse goal."""
        return self._count(GoalOutcome.WRONG)


def load_goal_set(path: Path | str) -> GoalSet:
    """Read a goal set file and load its spec."""
    path = Path(path)
    document = load_document(path, error=DocumentError)
    if not isinstance(document, Mapping) or not isinstance(document.get("goals"), list):
        raise DocumentError("a goal set needs 'spec' and a 'goals' list", file=str(path))
    spec = load_spec(str(document.get("spec", "")), relative_to=path.parent)
    return GoalSet(str(path), spec, tuple(document["goals"]))


def _values(step: Mapping[str, Any]) -> dict[str, Any]:
    out = {f"params.{k}": v for k, v in (step.get("params") or {}).items()}
    body = step.get("body")
    if isinstance(body, Mapping):
        out |= {f"body.{k}": v for k, v in body.items()}
    return out


def _score_one(entry: Mapping[str, Any], proposal: Proposal, api: str) -> GoalResult:
    goal = str(entry["goal"])
    got = tuple(str(s.get("call", "")).removeprefix(f"{api}.") for s in proposal.steps)
    if entry.get("refuse"):
        if proposal.grounded:
            return GoalResult(goal, GoalOutcome.WRONG, got, (), "acted on a goal it should refuse")
        return GoalResult(goal, GoalOutcome.OK, (), (), "; ".join(proposal.unsure)[:200])
    gold: Sequence[Mapping[str, Any]] = entry.get("steps") or ()
    want = tuple(str(s["call"]) for s in gold)
    if not proposal.grounded:
        return GoalResult(goal, GoalOutcome.REFUSED, (), want, "; ".join(proposal.unsure)[:200])
    if got != want:
        return GoalResult(goal, GoalOutcome.WRONG, got, want)
    for index, (mine, theirs) in enumerate(zip(proposal.steps, gold, strict=True)):
        have = _values(mine)
        for key, value in _values(theirs).items():
            if have.get(key) != value:
                return GoalResult(
                    goal,
                    GoalOutcome.PARAMS,
                    got,
                    want,
                    f"step {index + 1} {key}: {have.get(key)!r} != {value!r}",
                )
    return GoalResult(goal, GoalOutcome.OK, got, want)


def score_goal_set(planner: ActionModel, goal_set: GoalSet, *, api: str = "api") -> Score:
    """Run ``planner`` on every goal of the set and score it."""
    results = []
    for entry in goal_set.goals:
        observation = Observation(str(entry["goal"]), apis={api: goal_set.spec})
        results.append(_score_one(entry, planner.propose(observation, ()), api))
    return Score(tuple(results))
