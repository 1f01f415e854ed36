"""Candidate plans for one clause of an API goal, and what each is worth.

A :class:`Ranked` is one operation ranked for a clause; a :class:`Chain` is the operation the
clause asks for after the calls that feed it the ids it lacks (:mod:`lam.planner.api_chain`
finds those). :func:`chains_for` builds the chains that end in one ranked operation and scores
them; :class:`~lam.planner.api_goals.ApiGoalPlanner` compares them and refuses when unsure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lam.planner.api_chain import Link, Named, Producer, producers, wants_id
from lam.planner.base import Candidate
from lam.planner.params import Filled, Slot, slots_of
from lam.spec import Operation, Spec
from lam.text import stem, words

__all__ = ["Chain", "Ranked", "chains_for", "distinct_candidates"]


@dataclass(frozen=True)
class Ranked:
    """One operation ranked for a clause: BM25 score, fit adjustment, and the values found."""

    api: str
    op: Operation
    text_score: float
    fit: float
    filled: tuple[Filled, ...]
    links: tuple[Link, ...] = ()  # slots filled from an earlier step of a chain

    @property
    def score(self) -> float:
        return self.text_score + self.fit

    @property
    def ref(self) -> str:
        return (
            f"{self.api}.{self.op.operation_id}"
            if self.op.operation_id
            else (f"{self.api} {self.op.key}")
        )

    def candidate(self) -> Candidate:
        return Candidate(self.ref, round(self.score, 3), self.op.summary or self.op.key)


@dataclass(frozen=True)
class Chain:
    """A plan for one clause: the operation it asks for, after the calls that feed it.

    ``score`` is the target's rank score, plus how well its producers fit, less a penalty for
    each thing the goal names that no step uses; ``unbound`` names required slots nothing fills.
    """

    picks: tuple[Ranked, ...]
    score: float
    coverage: float
    unbound: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()

    @property
    def first(self) -> Ranked:
        return self.picks[0]

    @property
    def ref(self) -> str:
        return " -> ".join(p.ref for p in self.picks)

    def candidate(self) -> Candidate:
        target = self.picks[-1].op
        return Candidate(self.ref, round(self.score, 3), target.summary or target.key)


# The named thing a plan leaves unused costs this much: "the latest movie directed by
# Christopher Nolan" answered with GET /movie/latest ignores the one thing the goal is about.
_UNUSED_PENALTY = 2.0


def distinct_candidates(chains: Sequence[Chain], count: int = 5) -> tuple[Candidate, ...]:
    """The best chain for each different first call: what a reviewer chooses between."""
    seen: set[int] = set()
    out: list[Candidate] = []
    for chain in chains:
        if id(chain.first.op) in seen:
            continue
        seen.add(id(chain.first.op))
        out.append(chain.candidate())
        if len(out) == count:
            break
    return tuple(out)


def _used(picks: Sequence[Ranked], named: Sequence[Named]) -> tuple[str, ...]:
    """The named things no pick takes as a value."""
    values: list[str] = []
    for pick in picks:
        for f in pick.filled:
            items = f.value if isinstance(f.value, list) else [f.value]
            values.extend(str(v).lower() for v in items)
    return tuple(
        n.text
        for n in named
        if not any(n.text.lower() in v or v in n.text.lower() for v in values if v)
    )


def _needed(op: Operation, slots: Sequence[Slot]) -> set[tuple[str, str]]:
    """Id slots an action cannot do without even when the spec does not mark them required:
    ``DELETE /me/tracks`` with no ``ids`` removes nothing (Spotify's spec writes its
    ``required`` as the string "true", which OpenAPI reads as not required). One per name: a
    value may go in the query or the body."""
    if op.method in ("GET", "HEAD") or any(s.required and wants_id(s) for s in slots):
        return set()
    out: dict[str, tuple[str, str]] = {}
    for s in slots:
        if wants_id(s) and s.where in ("query", "body"):
            out.setdefault(s.name, (s.where, s.name))
    return set(out.values())


def chains_for(
    target: Ranked,
    spec: Spec,
    clause: str,
    named: Sequence[Named],
    wirable: frozenset[str],
    *,
    refers_back: bool = False,
) -> list[Chain]:
    """Chains ending in ``target``: alone when the clause fills it, else behind each producer
    of the first id it lacks (the other ids take their best producer).

    ``wirable`` holds stems of ids earlier steps yield; ``refers_back`` says the clause points
    at an earlier step ("order it"), which then fills any id slot (:mod:`lam.planner.wiring`).
    """
    got = {(f.slot.where, f.slot.name) for f in target.filled}
    filled = list(target.filled)
    bonus = 0.0
    missing: list[Slot] = []
    slots = slots_of(spec, target.op)
    needed = _needed(target.op, slots)
    for slot in slots:
        if (slot.where, slot.name) in got or slot.name in {n for _, n in got}:
            continue
        if not slot.required and (slot.where, slot.name) not in needed:
            continue
        if slot.where == "header" and slot.name.lower() in ("authorization", "api_key"):
            continue
        if wants_id(slot) is None and ("default" in slot.schema or "example" in slot.schema):
            continue  # an id from a schema's example is some other thing's id: not taken
        if wants_id(slot) and (wirable & (set(slot.stems) - {"id"}) or (wirable and refers_back)):
            continue  # an earlier step yields it (wiring.py)
        if slot.kind == "string" and not slot.enum and wants_id(slot) is None and named:
            # The target is itself a search: the named thing is its text, unless its cue says
            # it is another kind of thing (then it stays unused, and the chain is refused).
            thing = next((n for n in named if not n.new and not n.own), None)
            if thing is None:
                continue  # only values being set: wiring.py reports the missing text
            res = {stem(w) for s in target.op.path.split("/") for w in words(s)}
            if not thing.kinds or thing.kinds & res:
                bonus += 1.0 if thing.kinds else 0.0
                filled.append(Filled(slot, thing.text, f"named thing {thing.text!r}"))
                continue
        if wants_id(slot) is not None:
            missing.append(slot)  # other values the goal lacks are reported by wiring.py
    base = target.text_score + target.fit + bonus
    head = Ranked(target.api, target.op, target.text_score, target.fit, tuple(filled))
    if not missing:
        unused = _used([head], named)
        return [Chain((head,), base - _UNUSED_PENALTY * len(unused), 0.0, (), unused)]
    options: list[list[tuple[Slot, Producer]]] = [[]]
    for i, slot in enumerate(missing):
        found = producers(spec, slot, target.op, clause, named)
        if not found:
            return [Chain((head,), base, 0.0, (f"{target.ref}: {slot.where} {slot.name}",))]
        picks = found[:3] if i == 0 else found[:1]
        options = [[*o, (slot, p)] for o in options for p in picks]
    out: list[Chain] = []
    for option in options:
        steps: list[Ranked] = []
        links: list[Link] = []
        score = base
        for n, (slot, producer) in enumerate(option):
            steps.append(Ranked(target.api, producer.op, 0.0, 0.0, producer.filled))
            links.append(Link(slot.where, slot.name, len(option) - n, slot.name, producer.pointer))
            # A chained path id takes back half of what it cost the target in _fit: the chain
            # is an inference, so it should not outrank a target the goal fills by itself.
            score += producer.fit + (0.5 if slot.where == "path" else 0.0)
        last = Ranked(
            target.api, target.op, target.text_score, target.fit, tuple(filled), tuple(links)
        )
        picks_all = (*steps, last)
        unused = _used(picks_all, named)
        out.append(Chain(picks_all, score - _UNUSED_PENALTY * len(unused), 0.0, (), unused))
    return out
