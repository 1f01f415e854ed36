"""Words: how lam cuts text into words, stems them and folds synonyms.

One rule for everything that reads words: the risk vocabulary (:mod:`lam.risk.words`), grounding
of ``describe:`` targets (:mod:`lam.adapters.browser.grounding`) and the planner's BM25 ranking
(:mod:`lam.planner.bm25`). Two copies of a tokenizer with slightly different rules disagree on
the same label: a risk word one of them sees, the other misses.

The rule (:func:`words`):

- identifiers split the same way in camelCase, PascalCase, snake_case, kebab-case and URL paths
  (``cancelSubscription``, ``HTTPServer``, ``delete-file``, ``/v1/pets/{id}``);
- letters and digits are separate words (``v1`` -> ``v``, ``1``), so a risk word glued to a
  number (``delete2``) is still seen; an ordinal (``1st``, ``22nd``) stays one word;
- contractions are spelled out (``I'm sure`` -> ``i``, ``am``, ``sure``; ``don't`` -> ``do``,
  ``not``; ``I'd`` -> ``i``, ``would``), a possessive ``'s`` goes, other apostrophes join;
- every other character separates words, non-ASCII letters included: the vocabularies are
  English, and a risk word written against a foreign letter (``deleteé``) must still be seen;
- ``×``, the glyph of close buttons, is a word of its own;
- words come out in lower case, in order.

:func:`stem` is a light English stemmer (plurals and the commonest verb endings); :func:`terms`
adds stop words, phrases and synonyms on top for ranking, so "show me the pets" meets
``listPets``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["STOPWORDS", "canonical", "fold_phrases", "stem", "terms", "words"]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+(?:st|nd|rd|th)(?![a-z])|\d+|×")
# Contractions are spelled out, so that they meet the words a vocabulary lists ("I'm sure" is
# "i am sure") and never make a word of their own ("I'd" joined would be ``id``, "we'll"
# ``well``). A possessive ``'s`` goes; any other apostrophe joins (``O'Brien`` -> ``obrien``).
_CONTRACTIONS = (
    (re.compile(r"\b(ca)n['’]t\b", re.I), r"\1n not"),
    (re.compile(r"\b(w)on['’]t\b", re.I), r"\1ill not"),
    (re.compile(r"n['’]t\b", re.I), " not"),
    (re.compile(r"['’]m\b", re.I), " am"),
    (re.compile(r"['’]re\b", re.I), " are"),
    (re.compile(r"['’]ve\b", re.I), " have"),
    (re.compile(r"['’]ll\b", re.I), " will"),
    (re.compile(r"['’]d\b", re.I), " would"),
    (re.compile(r"['’]s\b", re.I), ""),
    (re.compile(r"['’]"), ""),
)


def words(text: str) -> tuple[str, ...]:
    """Cut an identifier, path, label or sentence into lower-case words (the rule above).

    ``cancelSubscription`` -> (cancel, subscription); ``/v1/invoices/{id}/pay`` ->
    (v, 1, invoices, id, pay); ``Yes, I'm sure`` -> (yes, i, am, sure).
    """
    if "'" in text or "’" in text:
        for pattern, replacement in _CONTRACTIONS:
            text = pattern.sub(replacement, text)
    return tuple([w.lower() for w in _WORD.findall(text)])


_IRREGULAR = {"children": "child", "people": "person", "mice": "mouse", "data": "data"}


def stem(word: str) -> str:
    """A light English stem: plurals and the commonest verb endings, nothing clever.

    ``pets`` -> ``pet``, ``categories`` -> ``category``, ``cancelled`` -> ``cancel``,
    ``stopping`` -> ``stop``. Words of three letters or fewer are left as they are.
    """
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


STOPWORDS: frozenset[str] = frozenset(
    {
        "a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "and",
        "or", "me", "my", "our", "your", "their", "its", "it", "this", "that", "these",
        "those", "is", "are", "be", "been", "was", "were", "please", "i", "we", "you", "can",
        "could", "would", "will", "want", "need", "let", "us", "all", "any", "some", "one",
        "each", "every", "into", "as", "up", "out", "about", "what", "which", "who", "whom",
        "how", "there", "here", "do", "does", "just", "so", "then", "now", "also",
    }
)  # fmt: skip
"""Words of a request that name no action and no thing ("please show me all the pets")."""

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
            "find", "get", "list", "show", "fetch", "retrieve", "read", "look", "display",
            "view", "see", "search", "query", "lookup", "give", "which",
        ],
        "get",
    ),
    **dict.fromkeys(["add", "create", "new", "make", "register", "post", "insert"], "create"),
    **dict.fromkeys(["remove", "delete", "destroy", "erase", "drop", "purge"], "delete"),
    **dict.fromkeys(
        [
            "update", "change", "rename", "modify", "edit", "set", "replace", "put", "patch",
            "alter", "mark",
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
}  # fmt: skip
_STEMMED_SYNONYMS: Mapping[str, str] = {stem(k): v for k, v in _SYNONYMS.items()}


def canonical(word: str) -> str:
    """The one word a word stands for: its synonym (``show`` -> ``get``, ``animals`` ->
    ``pet``), else its stem."""
    found = _SYNONYMS.get(word)
    if found is not None:
        return found
    stemmed = stem(word)
    return _STEMMED_SYNONYMS.get(stemmed, stemmed)


def fold_phrases(text: str) -> str:
    """``text`` with the phrases that mean one action joined into its word ("sign in" ->
    ``login``, "how many" -> ``count``)."""
    for pattern, replacement in _PHRASES:
        text = pattern.sub(f" {replacement} ", text)
    return text


def terms(text: str, *, keep_numbers: bool = False) -> list[str]:
    """Index terms of ``text`` for ranking: phrases folded, stop words (and numbers, unless
    ``keep_numbers``) dropped, each word made :func:`canonical`."""
    out: list[str] = []
    for word in words(fold_phrases(text)):
        if word in STOPWORDS or (not keep_numbers and word.isdigit()):
            continue
        found = _SYNONYMS.get(word)  # canonical(), inlined: this runs over whole specs
        if found is None:
            stemmed = stem(word)
            found = _STEMMED_SYNONYMS.get(stemmed, stemmed)
        out.append(found)
    return out
