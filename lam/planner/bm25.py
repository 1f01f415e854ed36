"""Ranking for the embedded planner: BM25 over the words of :mod:`lam.text`.

The planner ranks an API's operations against one clause of a goal. Each operation is a small
document made of its operationId (camelCase split), summary, description, path segments, tags
and a verb for its HTTP method; the clause is the query. Okapi BM25 (Robertson & Zaragoza,
"The Probabilistic Relevance Framework: BM25 and Beyond", 2009) scores them, with the usual
``k1 = 1.2`` and ``b = 0.75``.

Queries and documents are cut into terms by :func:`lam.text.terms`: synonyms fold the many
ways a person says the same action onto one word (``find``, ``list``, ``show``, ``fetch`` ->
``get``), applied to queries and documents alike, so "show me the pets" meets ``listPets``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lam.text import STOPWORDS, stem, words
from lam.text import terms as tokens

# The words themselves (splitting, stemming, stop words, synonyms) are lam.text's, shared with
# risk and grounding; they are named here too for the planner modules that import them from here.
__all__ = ["BM25", "METHOD_VERBS", "STOPWORDS", "stem", "tokens", "words"]

METHOD_VERBS: Mapping[str, str] = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
"""The action word an HTTP method adds to an operation's document."""


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
