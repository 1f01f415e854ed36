"""Words and ranking for the embedded planner: tokens, light stemming, synonyms, BM25.

The planner ranks an API's operations against one clause of a goal. Each operation is a small
document made of its operationId (camelCase split), summary, description, path segments, tags
and a verb for its HTTP method; the clause is the query. Okapi BM25 (Robertson & Zaragoza,
"The Probabilistic Relevance Framework: BM25 and Beyond", 2009) scores them, with the usual
``k1 = 1.2`` and ``b = 0.75``.

Synonyms fold the many ways a person says the same action onto one word (``find``, ``list``,
``show``, ``fetch`` -> ``get``), applied to queries and documents alike, so "show me the pets"
meets ``listPets``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["BM25", "METHOD_VERBS", "STOPWORDS", "stem", "tokens", "words"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "me",
        "my",
        "our",
        "your",
        "their",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "please",
        "i",
        "we",
        "you",
        "can",
        "could",
        "would",
        "will",
        "want",
        "need",
        "let",
        "us",
        "all",
        "any",
        "some",
        "one",
        "each",
        "every",
        "into",
        "as",
        "up",
        "out",
        "about",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "there",
        "here",
        "do",
        "does",
        "just",
        "so",
        "then",
        "now",
        "also",
    ]
)

# Phrases first (joined before single words are looked at), then single words.
_PHRASES = (
    (re.compile(r"\b(log|sign)\s*(in|on)\b", re.I), "login"),
    (re.compile(r"\b(log|sign)\s*out\b", re.I), "logout"),
    (re.compile(r"\bplace\s+an?\s+order\b", re.I), "order"),
    (re.compile(r"\bput\s+up\s+for\s+sale\b", re.I), "create"),
    (re.compile(r"\bhow\s+many\b", re.I), "count"),
    (re.compile(r"\brenam(e|ed|ing)\b", re.I), "update name"),
    (re.compile(r"^\W*(order|buy|purchase)\b", re.I), "create order"),
)

_SYNONYMS: Mapping[str, str] = {
    **dict.fromkeys(
        [
            "find",
            "get",
            "list",
            "show",
            "fetch",
            "retrieve",
            "read",
            "look",
            "display",
            "view",
            "see",
            "search",
            "query",
            "lookup",
            "give",
            "which",
        ],
        "get",
    ),
    **dict.fromkeys(["add", "create", "new", "make", "register", "post", "insert"], "create"),
    **dict.fromkeys(["remove", "delete", "destroy", "erase", "drop", "purge"], "delete"),
    **dict.fromkeys(
        [
            "update",
            "change",
            "rename",
            "modify",
            "edit",
            "set",
            "replace",
            "put",
            "patch",
            "alter",
            "mark",
        ],
        "update",
    ),
    **dict.fromkeys(["signin", "logon"], "login"),
    **dict.fromkeys(["signout", "logoff"], "logout"),
    **dict.fromkeys(["buy", "purchase"], "order"),
    **dict.fromkeys(["animal"], "pet"),
    **dict.fromkeys(["account"], "user"),
    **dict.fromkeys(["photo", "picture", "image"], "image"),
    **dict.fromkeys(["stock", "inventory"], "inventory"),
    **dict.fromkeys(["info", "detail", "details"], "detail"),
}

METHOD_VERBS: Mapping[str, str] = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}

_STEMMED_SYNONYMS: Mapping[str, str] = {}  # filled below, once stem() exists

_IRREGULAR = {"children": "child", "people": "person", "mice": "mouse", "data": "data"}


def stem(word: str) -> str:
    """A light English stem: plurals and the commonest verb endings, nothing clever."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3:
        return w
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("xes", "x"),
        ("ches", "ch"),
        ("shes", "sh"),
    ):
        if w.endswith(suffix):
            return w[: -len(suffix)] + repl
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
    elif w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiousl":
        w = w[:-1]  # "stopp" -> "stop"
    if w.endswith("ll") and len(w) > 5:
        w = w[:-1]  # "cancell" -> "cancel"
    return w


_STEMMED_SYNONYMS = {stem(k): v for k, v in _SYNONYMS.items()}


def words(text: str) -> list[str]:
    """The raw words of ``text``: camelCase and snake_case split, lower case, in order."""
    text = _CAMEL.sub(" ", text)
    return [w.lower() for w in _WORD.findall(text)]


def tokens(text: str, *, keep_numbers: bool = False) -> list[str]:
    """Index terms of ``text``: phrases folded, stopwords dropped, stemmed, synonyms applied."""
    for pattern, replacement in _PHRASES:
        text = pattern.sub(f" {replacement} ", text)
    out: list[str] = []
    for word in words(text):
        if word in STOPWORDS or (word.isdigit() and not keep_numbers):
            continue
        canonical = _SYNONYMS.get(word)
        if canonical is None:
            stemmed = stem(word)
            canonical = _STEMMED_SYNONYMS.get(stemmed, stemmed)
        out.append(canonical)
    return out


@dataclass(frozen=True)
class _Doc:
    terms: Counter[str]
    length: int


class BM25:
    """An Okapi BM25 index over a fixed list of token lists (one per document)."""

    def __init__(
        self, documents: Sequence[Iterable[str]], *, k1: float = 1.2, b: float = 0.75
    ) -> None:
        self._docs = [_Doc(Counter(d), 0) for d in documents]
        self._docs = [_Doc(d.terms, sum(d.terms.values())) for d in self._docs]
        self.k1 = k1
        self.b = b
        count = len(self._docs)
        self._avg = (sum(d.length for d in self._docs) / count) if count else 0.0
        df: Counter[str] = Counter()
        for d in self._docs:
            df.update(d.terms.keys())
        # The "plus one" IDF variant stays positive for terms in most documents.
        self._idf = {t: math.log(1.0 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def __len__(self) -> int:
        return len(self._docs)

    def idf(self, term: str) -> float:
        """The term's inverse document frequency (0 for a term in no document)."""
        return self._idf.get(term, 0.0)

    def score(self, query: Sequence[str], index: int) -> float:
        """BM25 score of document ``index`` for ``query`` (repeated query terms count once)."""
        doc = self._docs[index]
        total = 0.0
        for term in set(query):
            tf = doc.terms.get(term, 0)
            if not tf:
                continue
            norm = 1.0 - self.b + self.b * (doc.length / self._avg if self._avg else 1.0)
            total += self._idf[term] * tf * (self.k1 + 1.0) / (tf + self.k1 * norm)
        return total

    def scores(self, query: Sequence[str]) -> list[float]:
        """Scores of every document, in document order."""
        return [self.score(query, i) for i in range(len(self._docs))]

    def ceiling(self, query: Sequence[str]) -> float:
        """An upper bound on any document's score: each query term at its best."""
        return sum(self.idf(t) * (self.k1 + 1.0) for t in set(query))
