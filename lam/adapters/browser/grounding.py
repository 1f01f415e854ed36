"""Grounding ``describe:`` targets: free text -> one snapshot element, or a refusal.

Scores are lexical by default: the description's words against each element's accessible
name, label, placeholder and test id; role words ("button", "link", "field") steer to matching
roles; a trailing clause such as "in the row with Bob" or "for Alice" is matched against the
element's surrounding text; ordinal words ("first", "second", "last") pick among equally good
matches in document order. With an :class:`~lam.adapters.browser.embeddings.Embedder`, a
semantic similarity joins the lexical score.

The best element is returned only when it is clearly ahead: a score of at least
:data:`THRESHOLD` and :data:`MARGIN` over the runner-up, or, among candidates too close to
call, the only one whose name, label or placeholder is exactly the description's words ("Save"
against "Save and add another"). Otherwise :func:`ground` raises a GroundingError listing the
top candidates with their scores. It never guesses: two exact matches are still refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lam.adapters.browser.embeddings import Embedder
from lam.adapters.browser.page_model import ElementInfo
from lam.errors import GroundingError
from lam.text import stem, words

__all__ = ["MARGIN", "THRESHOLD", "Grounding", "Query", "ground", "parse_query", "score"]

THRESHOLD = 0.5
"""The least score an element needs to be chosen."""
MARGIN = 0.15
"""How far the chosen element must lead the best element it was not tied with."""
_TIE = 0.02

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "to",
        "on",
        "in",
        "at",
        "of",
        "for",
        "with",
        "and",
        "or",
        "please",
        "click",
        "press",
        "tap",
        "hit",
        "select",
        "choose",
        "pick",
        "open",
        "type",
        "enter",
        "into",
        "fill",
        "out",
        "go",
        "use",
        "my",
        "your",
        "its",
        "it",
        "which",
        "is",
        "called",
        "named",
        "labelled",
        "labeled",
        "saying",
        "says",
    ]
)
_ROLE_WORDS: dict[str, frozenset[str]] = {
    "button": frozenset({"button"}),
    "btn": frozenset({"button"}),
    "icon": frozenset({"button", "link"}),
    "link": frozenset({"link"}),
    "field": frozenset({"textbox", "searchbox", "combobox", "spinbutton"}),
    "input": frozenset({"textbox", "searchbox", "combobox", "spinbutton"}),
    "textbox": frozenset({"textbox", "searchbox"}),
    "box": frozenset({"textbox", "searchbox", "checkbox", "combobox"}),
    "checkbox": frozenset({"checkbox", "switch"}),
    "toggle": frozenset({"checkbox", "switch", "button"}),
    "switch": frozenset({"switch", "checkbox"}),
    "radio": frozenset({"radio"}),
    "dropdown": frozenset({"combobox", "listbox"}),
    "menu": frozenset({"combobox", "listbox", "menuitem", "button"}),
    "tab": frozenset({"tab"}),
    "option": frozenset({"option", "radio"}),
}
_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2,
    "fourth": 3, "4th": 3, "fifth": 4, "5th": 4, "last": -1,
}  # fmt: skip
_CONTEXT = re.compile(
    r"\b(?:(?:in|on|within|inside)\s+the\s+(?:row|line|item|card|entry|section|form|dialog)"
    r"(?:\s+(?:with|for|of|containing|that\s+says))?|next\s+to|beside|near|under|for)\s+(.+)$",
    re.IGNORECASE,
)


def _tokens(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in _STOP}


def _phrase(text: str) -> tuple[str, ...]:
    """The content words of a text in order (stemmed, stop words left out)."""
    return tuple(stem(w) for w in words(text) if w not in _STOP)


@dataclass(frozen=True)
class Query:
    """A parsed description: content words, wanted roles, context words and an ordinal
    (``phrase``: the content words in order, for telling an exact name apart)."""

    text: str
    words: frozenset[str]
    roles: frozenset[str]
    context: frozenset[str]
    ordinal: int | None
    phrase: tuple[str, ...] = ()


def parse_query(description: str) -> Query:
    """Split a description into what names the element, its role, its context and ordinal."""
    main, context = description, ""
    found = _CONTEXT.search(description)
    if found:
        main, context = description[: found.start()], found.group(1)
    raw = list(words(main))
    roles: set[str] = set()
    ordinal = None
    phrase: list[str] = []
    for i, word in enumerate(raw):
        if word in _ORDINALS and raw[i + 1 : i + 2] not in (["name"], ["names"]):
            # ("First name" and "Last name" are fields, not positions.)
            ordinal = _ORDINALS[word]
        elif word in _ROLE_WORDS:
            roles |= _ROLE_WORDS[word]
        elif word not in _STOP:
            phrase.append(stem(word))
    return Query(
        description,
        frozenset(phrase),
        frozenset(roles),
        frozenset(_tokens(context)),
        ordinal,
        tuple(phrase),
    )


def _exact(query: Query, el: ElementInfo) -> bool:
    """Whether the element's name, label or placeholder says just the description's words
    (and its role is one the description asks for, if it asks)."""
    if not query.phrase or (query.roles and el.role not in query.roles):
        return False
    return any(_phrase(text) == query.phrase for text in (el.name, el.label, el.placeholder))


def _own_text(el: ElementInfo) -> str:
    parts = [el.name, el.label, el.placeholder, el.testid or "", el.id, el.text[:80]]
    return " ".join(p.replace("-", " ").replace("_", " ") for p in parts if p)


def score(query: Query, el: ElementInfo) -> float:
    """How well ``el`` fits ``query``, from 0 to 1 (lexical)."""
    own = _tokens(_own_text(el))
    if query.words:
        hit = len(query.words & own)
        recall = hit / len(query.words)
        precision = hit / len(own) if own else 0.0
        value = 0.8 * recall + 0.2 * precision
    else:
        value = 0.6 if query.roles else 0.0  # "the first button": the role is all there is
    if query.roles:
        value *= 1.0 if el.role in query.roles else 0.5
    if query.context:
        near = _tokens(" ".join(el.context))
        value *= 0.3 + 0.7 * (len(query.context & near) / len(query.context))
    return round(value, 4)


@dataclass(frozen=True)
class Grounding:
    """The chosen element, its score, and the ranking it won (best first)."""

    element: ElementInfo
    score: float
    ranking: tuple[tuple[ElementInfo, float], ...]


def _semantic(
    query: Query, elements: Sequence[ElementInfo], lexical: list[float], embedder: Embedder
) -> list[float]:
    texts = [query.text, *(f"{el.role} {_own_text(el)} {' '.join(el.context)}" for el in elements)]
    vectors = embedder.embed(texts)
    target = vectors[0]
    combined = []
    for lex, vec in zip(lexical, vectors[1:], strict=True):
        cos = _cosine(target, vec)
        sem = min(1.0, max(0.0, (cos - 0.2) / 0.6))
        combined.append(round(max(lex, 0.5 * lex + 0.5 * sem), 4))
    return combined


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def ground(
    description: str,
    elements: Sequence[ElementInfo],
    *,
    embedder: Embedder | None = None,
    step: str | None = None,
    location: str | None = None,
) -> Grounding:
    """The one visible element that ``description`` clearly means, or a GroundingError."""
    query = parse_query(description)
    pool = [el for el in elements if el.visible]
    scores = [score(query, el) for el in pool]
    if embedder is not None and pool:
        scores = _semantic(query, pool, scores, embedder)
    ranked = sorted(zip(pool, scores, strict=True), key=lambda p: (-p[1], p[0].index))
    top = tuple(ranked[:5])
    if not ranked or ranked[0][1] < THRESHOLD:
        raise GroundingError(
            f"no element clearly matches {description!r} (best score below {THRESHOLD})",
            candidates=_listing(top),
            step=step,
            location=location,
            code="not-found",
        )
    best = ranked[0][1]
    close = [p for p in ranked if best - p[1] < MARGIN]
    exact = [p for p in ranked if p[1] >= THRESHOLD and _exact(query, p[0])]
    if len(close) > 1 and len(exact) == 1 and exact[0] in close and query.ordinal is None:
        # "Save" among "Save and add another", "Save and continue editing": the one element
        # named exactly so is meant (two named exactly so would still be refused below).
        return Grounding(exact[0][0], exact[0][1], tuple(ranked[:10]))
    tied = [p for p in ranked if best - p[1] <= _TIE]
    rest = ranked[len(tied)] if len(ranked) > len(tied) else None
    if rest is not None and best - rest[1] < MARGIN:
        raise GroundingError(
            f"{description!r} is ambiguous: the best matches are too close to call",
            candidates=_listing(top),
            step=step,
            location=location,
            code="ambiguous",
        )
    if len(tied) > 1:
        if query.ordinal is None or query.ordinal >= len(tied):
            raise GroundingError(
                f"{description!r} matches {len(tied)} elements equally well; "
                "say which (first, second, last, or 'in the row with ...')",
                candidates=_listing(tuple(tied[:5])),
                step=step,
                location=location,
                code="ambiguous",
            )
        in_order = sorted(tied, key=lambda p: p[0].index)
        chosen = in_order[query.ordinal]
    else:
        chosen = tied[0]
    return Grounding(chosen[0], chosen[1], tuple(ranked[:10]))


def _listing(pairs: Sequence[tuple[ElementInfo, float]]) -> list[str]:
    return [f"{el.describe()} score={value:.2f}" for el, value in pairs]
