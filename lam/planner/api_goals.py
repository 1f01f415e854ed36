"""The embedded API planner: a goal in plain words -> API call steps, with no model and no network.

For each clause of the goal ("log in as admin with password 'x' then list available pets" has
two) it ranks every operation of the observed APIs with BM25 (:mod:`lam.planner.bm25`), reranks
the best few by how well the clause's values fit their parameters (:mod:`lam.planner.params`),
puts before each the calls that yield the ids it lacks (a search by the title the goal names,
:mod:`lam.planner.api_chain`), scores those chains (:mod:`lam.planner.api_plans`) and takes the
best only when it is clearly ahead of the best chain that starts differently: a low coverage, a
close runner-up, a missing id or a named thing left unused makes the whole proposal unsure,
listing the candidates, and nothing is planned on a guess.

Given a history with failed calls, it plans around them where it can (:func:`_around`): a
clause whose best chain uses an operation that failed takes the best chain without one, when
that chain is judged sure on its own and ends in the same HTTP method (it does the same kind
of thing); otherwise the plan stays as it was, and the failed call is tried again.

Steps are wired together: a login step's token becomes the ``Authorization`` header of later
steps that need a bearer token, and an id that one step creates or finds fills a later step's
id parameter or field ("add a pet named Rex then order it").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from lam.planner.api_chain import named_things
from lam.planner.api_plans import Chain, Ranked, chains_for, distinct_candidates
from lam.planner.base import Candidate, HistoryItem, Observation, Proposal
from lam.planner.bm25 import BM25, METHOD_VERBS, stem, tokens, words
from lam.planner.params import Filled, Slot, fill_slots, slots_of
from lam.spec import Operation, Spec

__all__ = ["ApiGoalPlanner", "Chain", "Ranked", "split_clauses"]

_QUOTES = re.compile(r"""'[^']*'|"[^"]*"|“[^”]*”""")
_SPLIT = re.compile(
    r"\s*(?:;|\.\s+|,?\s*\band\s+then\b|,?\s*\bthen\b|,?\s*\bafter\s+that\b|,\s*next\b,?|"
    r"^next\b,?|\bnext\s*,)\s*",
    re.I,
)
_AND = re.compile(r",?\s+\band\b\s+|,\s+", re.I)
_VERBS = frozenset({"get", "create", "delete", "update", "login", "logout", "order", "count"})
# Words that start a new action after "and" or a comma ("... and cancel order 2").
_SPLIT_VERBS = _VERBS | frozenset(
    [
        "cancel",
        "upload",
        "close",
        "open",
        "send",
        "pay",
        "approve",
        "reject",
        "book",
        "start",
        "stop",
        "play",
        "follow",
        "save",
    ]
)
# Imperatives that name no HTTP method ("follow", "pause"): a clause that starts with one is
# an action, not a read, and starts a new clause after "and" or a comma.
_IMPERATIVES = frozenset(
    tokens(
        "pause resume skip turn enable disable switch increase decrease unfollow append "
        "remove add set make put save follow play recommend"
    )
)
_PRONOUN = re.compile(r"\b(it|them|that|this|the\s+new\s+\w+|the\s+same\s+\w+)\b", re.I)
_RERANK = 8
_NUMBERS = re.compile(r"(?<![\w.-])#?\d+(?![\w.])")


def _mask_quotes(text: str) -> str:
    return _QUOTES.sub(lambda m: "\0" * len(m.group(0)), text)


def split_clauses(goal: str) -> list[str]:
    """The goal cut into clauses, in order: at "then", ";", sentence ends, and at "and" or a
    comma when what follows starts with an action verb. Quoted text is never cut."""
    masked = _mask_quotes(goal)
    pieces: list[tuple[int, int]] = []
    start = 0
    for m in _SPLIT.finditer(masked):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, len(goal)))
    out: list[str] = []
    for a, b in pieces:
        sub_start = a
        for m in _AND.finditer(masked, a, b):
            following = tokens(goal[m.end() : b])[:1]
            if (
                following
                and following[0] in _SPLIT_VERBS | _IMPERATIVES
                and tokens(goal[sub_start : m.start()])
            ):
                out.append(goal[sub_start : m.start()])
                sub_start = m.end()
        out.append(goal[sub_start:b])
    return [c.strip(" ,.") for c in out if tokens(c) or _QUOTES.search(c)]


class _Index:
    """BM25 over every operation of the observed APIs."""

    def __init__(self, apis: Mapping[str, Spec]) -> None:
        self.entries: list[tuple[str, Spec, Operation]] = []
        documents: list[list[str]] = []
        for api, spec in apis.items():
            for op in spec.operations:
                self.entries.append((api, spec, op))
                documents.append(_document(op))
        self.bm25 = BM25(documents)
        self.terms = [frozenset(d) for d in documents]
        self._of = {id(op): i for i, (_, _, op) in enumerate(self.entries)}

    def coverage(self, query: Sequence[str], ops: Sequence[Operation]) -> float:
        """The share of the query's weight (IDF) that the operations' words cover.

        Only words some operation of the index has are counted: a word no operation says
        ("lead" in "the lead actor") neither helps nor hurts, while "review" that none of the
        chain's steps says counts against it."""
        known = {t for t in query if self.bm25.idf(t) > 0}
        total = sum(self.bm25.idf(t) for t in known)
        if not total:
            return 0.0
        said = frozenset().union(
            *(self.terms[self._of[id(op)]] for op in ops if id(op) in self._of)
        )
        return sum(self.bm25.idf(t) for t in known & said) / total


def _document(op: Operation) -> list[str]:
    path_words = " ".join(p for p in op.path.split("/") if p and not p.startswith("{"))
    terms = tokens(op.operation_id or "") * 2
    terms += tokens(op.summary) + tokens(path_words) + tokens(" ".join(op.tags))
    terms += tokens(op.description[:400])
    terms.append(METHOD_VERBS.get(op.method, op.method.lower()))
    return terms


_CHAIN_TARGETS = 20  # how many of the ranked operations are tried as a chain's target


class ApiGoalPlanner:
    """The embedded :class:`~lam.planner.base.ActionModel` for API goals.

    Each clause gets candidate chains (the operation it asks for, preceded by the searches or
    lists that yield the ids it needs, :mod:`lam.planner.api_chain`). The best chain is taken
    only when it is sure: ``min_coverage`` is the least share of the clause's weighted words its
    target must match (BM25 score over the best any document could reach), ``min_margin`` the
    least lead over the best chain that *starts with a different call*, as a share of the best
    score; every required slot must be filled and every thing the goal names must be used.
    The defaults were chosen on the tuning half of RestBench (docs/planner.md).
    """

    def __init__(self, *, min_coverage: float = 0.2, min_margin: float = 0.08) -> None:
        self.min_coverage = min_coverage
        self.min_margin = min_margin
        self._indexes: dict[tuple[tuple[int, str], ...], _Index] = {}

    def _index(self, apis: Mapping[str, Spec]) -> _Index:
        # The index holds the specs, so their ids stay theirs while it is cached.
        key = tuple(sorted((id(s), n) for n, s in apis.items()))
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = _Index(apis)
        return index

    def rank(
        self,
        clause: str,
        apis: Mapping[str, Spec],
        *,
        wirable: frozenset[str] = frozenset(),
        mask: Sequence[tuple[int, int]] = (),
    ) -> list[Ranked]:
        """Operations for one clause, best first (the best few reranked by value fit).

        ``wirable`` holds stems of ids earlier steps yield (``pet``), which can fill an id slot.
        ``mask`` spans of the clause (named things: "The Dark Knight") are left out of the text
        score, so a title's words do not pull towards operations that share them.
        """
        index = self._index(apis)
        query, verb = _query(_masked(clause, mask))
        scores = index.bm25.scores(query)
        if verb is None and not any(index.bm25.scores(query[:-1])):
            return []  # only the assumed "get" matches: "bake a cake" is about none of these
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        ranked: list[Ranked] = []
        for rank_no, i in enumerate(order):
            api, spec, op = index.entries[i]
            if rank_no < max(_RERANK, _CHAIN_TARGETS if mask else 0) and scores[i] > 0:
                slots = slots_of(spec, op)
                filled = tuple(fill_slots(clause, slots))
                fit = _fit(slots, filled, wirable, clause) + _verb_fit(verb, op)
            else:
                filled, fit = (), 0.0
            ranked.append(Ranked(api, op, scores[i], fit, filled))
        ranked.sort(key=lambda r: -r.score)
        return ranked

    def chains(
        self, clause: str, apis: Mapping[str, Spec], *, wirable: frozenset[str] = frozenset()
    ) -> list[Chain]:
        """Candidate chains for one clause, best first."""
        named = named_things(clause)
        spans = [(n.start, n.end) for n in named]
        ranked = self.rank(clause, apis, wirable=wirable, mask=spans)
        if not ranked:
            return []
        index = self._index(apis)
        query = _query(_masked(clause, spans))[0]
        out: list[Chain] = []
        refers_back = bool(_PRONOUN.search(clause))
        for target in ranked[:_CHAIN_TARGETS]:
            if target.text_score <= 0:
                break
            found = chains_for(
                target, apis[target.api], clause, named, wirable, refers_back=refers_back
            )
            for chain in found:
                coverage = index.coverage(query, [p.op for p in chain.picks])
                out.append(replace(chain, coverage=coverage))
        out.sort(key=lambda c: -c.score)
        return out

    def judge_chain(self, chains: Sequence[Chain]) -> tuple[float, str | None]:
        """How sure the best chain is (0..1), and why it is not sure enough (None when it is).

        The margin is measured against the best chain whose *first call* differs: two chains
        that start the same way disagree only later, where the first step's result is seen.
        """
        if not chains or chains[0].score <= 0:
            return 0.0, "no operation matches"
        best = chains[0]
        rival = next((c for c in chains[1:] if c.first.op is not best.first.op), None)
        second = max(0.0, rival.score) if rival is not None else 0.0
        margin = max(0.0, (best.score - second) / best.score)
        sure = round(min(1.0, 0.5 + best.coverage / 2) * min(1.0, 0.6 + margin), 3)
        if best.unbound:
            return min(sure, 0.3), f"nothing gives {', '.join(best.unbound)}"
        if best.unused:
            return min(sure, 0.3), f"it would leave {', '.join(map(repr, best.unused))} unused"
        if best.coverage < self.min_coverage:
            return sure, f"too few of its words match (coverage {best.coverage:.2f})"
        if margin < self.min_margin:
            return sure, f"the best two are too close (margin {margin:.2f})"
        return sure, None

    def judge(
        self, clause: str, ranked: Sequence[Ranked], apis: Mapping[str, Spec]
    ) -> tuple[float, str | None]:
        """How sure the top single operation is (0..1), and why not (None when it is sure):
        coverage and margin as in :meth:`judge_chain`, over ``ranked`` without chaining."""
        if not ranked or ranked[0].text_score <= 0 or ranked[0].score <= 0:
            return 0.0, "no operation matches"
        ceiling = self._index(apis).bm25.ceiling(_query(clause)[0]) or 1.0
        coverage = min(1.0, ranked[0].text_score / ceiling)
        second = max(0.0, ranked[1].score) if len(ranked) > 1 else 0.0
        margin = max(0.0, (ranked[0].score - second) / ranked[0].score)
        sure = round(min(1.0, 0.5 + coverage / 2) * min(1.0, 0.6 + margin), 3)
        if coverage < self.min_coverage:
            return sure, f"too few of its words match (coverage {coverage:.2f})"
        if margin < self.min_margin:
            return sure, f"the best two are too close (margin {margin:.2f})"
        return sure, None

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        """The whole plan for ``observation.goal`` over ``observation.apis``.

        This planner plans the goal at once; with a history, it proposes the steps not yet run.
        """
        if not observation.apis:
            return Proposal((), 0.0, done=False, unsure=("no API to plan against",))
        from lam.planner.wiring import build_steps

        clauses = split_clauses(observation.goal)
        if not clauses:
            return Proposal((), 0.0, done=False, unsure=("the goal names no action",))
        picks: list[Ranked] = []
        step_clauses: list[str] = []
        unsure: list[str] = []
        per_clause: list[tuple[Candidate, ...]] = []
        confidences: list[float] = []
        yielded: set[str] = set()
        failed = {str(h.step["call"]) for h in history if h.status == "failed" and "call" in h.step}
        for clause in clauses:
            chains = self.chains(clause, observation.apis, wirable=frozenset(yielded))
            chains = _around(chains, failed, self.judge_chain)
            top = distinct_candidates(chains)
            per_clause.append(top)
            sure, why = self.judge_chain(chains)
            confidences.append(sure if why is None else min(sure, 0.3))
            if why is not None:
                listed = ", ".join(str(c) for c in top[:3]) or "none"
                unsure.append(f"cannot tell which operation {clause!r} means ({why}): {listed}")
                continue
            picks.extend(chains[0].picks)
            step_clauses.extend([clause] * len(chains[0].picks))
            for pick in chains[0].picks:
                yielded |= _yields(pick.op)
        if unsure:
            return Proposal(
                (), min(confidences), done=False, unsure=tuple(unsure), candidates=tuple(per_clause)
            )
        built = build_steps(picks, observation.apis, step_clauses)
        done_ok = sum(1 for h in history if h.status == "ok")
        steps = built.steps[done_ok:]
        return Proposal(
            steps=steps,
            confidence=min(confidences),
            done=True,
            unsure=built.unsure,
            notes=built.notes,
            inputs=built.inputs,
            candidates=tuple(per_clause),
        )


def _around(
    chains: list[Chain],
    failed: set[str],
    judge: Callable[[Sequence[Chain]], tuple[float, str | None]],
) -> list[Chain]:
    """``chains`` without those that use a call that failed (``api.operationId``), when the
    best of the rest is sure on its own and ends in the same HTTP method as the best of all;
    else ``chains`` as they were: with no other way, the failed call is tried again (it may
    have been a passing fault)."""
    if not chains or not any(p.ref in failed for p in chains[0].picks):
        return chains  # the plan it would make calls nothing that failed
    others = [c for c in chains if not any(p.ref in failed for p in c.picks)]
    if not others:
        return chains
    same_kind = others[0].picks[-1].op.method == chains[0].picks[-1].op.method
    return others if same_kind and judge(others)[1] is None else chains


def _masked(clause: str, spans: Sequence[tuple[int, int]]) -> str:
    for a, b in spans:
        clause = clause[:a] + " " * (b - a) + clause[b:]
    return clause


def _query(clause: str) -> tuple[list[str], str | None]:
    """The clause's BM25 query, and its action verb (None when it names none)."""
    query = tokens(clause)
    verb = next((t for t in query if t in _VERBS), None)
    if verb is None and query and query[0] in _IMPERATIVES:
        verb = query[0]  # "follow Taylor Swift": an action of no particular method
    if verb is None:
        query.append("get")  # "which pets are pending?" asks to read
    return query, verb


def _yields(op: Operation) -> set[str]:
    """Resource stems whose id this operation hands back (``POST /pets`` -> ``{"pet"}``)."""
    if op.method not in ("POST", "GET", "PUT"):
        return set()
    segments = [s for s in op.path.split("/") if s and not s.startswith("{")]
    return {stem(w) for s in segments for w in words(s)}


_VERB_METHODS = {
    "get": ("GET", "HEAD"),
    "create": ("POST", "PUT"),
    "update": ("PUT", "PATCH", "POST"),
    "delete": ("DELETE", "POST"),
}


_OPPOSITE = {"create": "delete", "delete": "create"}


def _verb_fit(verb: str | None, op: Operation) -> float:
    """A clause that says what kind of action it is favours operations of that method, and
    one whose name says the opposite action counts against it ("remove ... from my playlist"
    is never "Create Playlist", though both may be POSTs)."""
    methods = _VERB_METHODS.get(verb or "get")
    if methods is None:
        return 0.0
    opposite = _OPPOSITE.get(verb or "")
    if opposite is not None:
        said = set(tokens(f"{op.operation_id or ''} {op.summary}"))
        if opposite in said and verb not in said:
            return -2.0
    return 0.6 if op.method == methods[0] else 0.3 if op.method in methods else 0.0


def _fit(
    slots: Sequence[Slot], filled: Sequence[Filled], wirable: frozenset[str], clause: str
) -> float:
    """How well the clause's values fit an operation: values placed count for it, a required
    id with no value and nothing earlier to take it from counts against it."""
    got = {(f.slot.where, f.slot.name): f for f in filled}
    numbers = len(_NUMBERS.findall(_mask_quotes(clause)))
    placed = sum(1 for f in filled if f.because.startswith("number"))
    fit = -0.5 * max(0, numbers - placed)  # "pet 7" that this operation has no place for
    for f in filled:
        fit += 0.8 if f.slot.where == "path" else 0.5
    for s in slots:
        if (s.where, s.name) in got or not s.required:
            continue
        if s.where == "body" and "default" not in s.schema and "example" not in s.schema:
            fit -= 0.3
        elif s.where == "path":
            named = [x for x in s.stems if x != "id"]
            if not (wirable & set(named) or (wirable and _PRONOUN.search(clause))):
                fit -= 1.0
    return fit
