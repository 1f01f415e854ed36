"""Chaining backwards from the spec: the calls a goal needs before the one it asks for.

"Who was the lead actor in the movie The Dark Knight?" asks for ``GET /movie/{movie_id}/credits``,
which wants a ``movie_id`` the goal does not give. The goal gives a title instead, and the spec
has an operation that turns a title into a movie id: ``GET /search/movie`` takes a ``query`` and
its response carries ``results[].id``. This module finds such producers and plans the chain
(search, then credits, the id passed as ``$steps.search_movie.outputs.movie_id``).

A producer is one of two kinds:

- a **search**: it takes one required text parameter, which the goal's named thing fills (a
  quoted string or a capitalised name such as "The Dark Knight"), and its path or the key that
  holds the id names the resource the id is for (``/search/movie`` for ``movie_id``; Spotify's
  ``/search`` with ``type=album`` for an album's ``id``);
- a **list**: it takes nothing required, its path names the resource, and the goal says the
  words that pick that list ("the most popular TV show" -> ``GET /tv/popular``).

Only one level is chained: a producer must itself need nothing the goal does not give.
The planner (:mod:`lam.planner.api_goals`) scores whole chains and refuses when the best two
chains that start differently are close; this module only builds them.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lam.planner.bm25 import STOPWORDS, stem, tokens, words
from lam.planner.params import Filled, Slot, slots_of
from lam.planner.wiring import success_schema
from lam.spec import Operation, Spec

__all__ = [
    "Link",
    "Named",
    "Producer",
    "id_pointer",
    "named_things",
    "producers",
    "resource_of",
    "wants_id",
]

# A run of capitalised words, joined by the small words titles keep in lower case
# ("Lord of the Rings", "The Fast and the Furious"), or a quoted string.
_TITLE = re.compile(
    r"(?:[A-Z0-9][\w&.\-’']*[A-Za-z0-9]|[A-Z])"
    r"(?:(?:\s+(?:of|the|and|in|on|de|la|a|an|to|for)){0,3}\s+(?:[A-Z0-9][\w&.\-’']*[A-Za-z0-9]|[A-Z]))*"
)
_QUOTED = re.compile(r"""'([^']+)'|"([^"]+)"|“([^”]+)”|‘([^’]+)’""")
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")
# Capitalised words that are not names: the pronoun, and abbreviations used as common nouns.
_NOT_NAMES = frozenset(["i", "i'm", "tv", "ok", "id"])
# The word before (or after) a name that says what kind of thing it is: resource stems.
_CUES: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(["movie", "movies", "film", "films"], frozenset(["movie"])),
    **dict.fromkeys(["tv", "show", "shows", "series", "sitcom"], frozenset(["tv"])),
    **dict.fromkeys(["collection"], frozenset(["collection"])),
    **dict.fromkeys(["company", "studio"], frozenset(["company"])),
    **dict.fromkeys(["network", "channel"], frozenset(["network"])),
    **dict.fromkeys(["album"], frozenset(["album"])),
    **dict.fromkeys(["song", "track"], frozenset(["track"])),
    **dict.fromkeys(["artist", "singer", "band"], frozenset(["artist"])),
    **dict.fromkeys(["playlist"], frozenset(["playlist"])),
    **dict.fromkeys(
        ["person", "actor", "actress", "director", "by"], frozenset(["person", "artist"])
    ),
}
_BY_SOMEONE = frozenset(["person", "artist"])
# Words that pick one item of a list: without one, taking a list's first item is a guess.
_ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|last|latest|newest|top)\b", re.I)
# Words after which a name is a value being set, not a thing to find: "rename it to 'Jazz'",
# "a playlist named 'Love Taylor'", "name it Quiet".
_SETS = re.compile(r"\b(?:to|named|called|name\s+it|as)\s*$", re.I)
# Path words that say nothing about which list an operation returns.
_GENERIC = frozenset(["get", "search", "list", "me", "my", "v1", "api"])


@dataclass(frozen=True)
class Named:
    """A thing the goal names (a title, a person), where, and what kind it may be."""

    text: str
    start: int
    end: int
    kinds: frozenset[str]  # resource stems its cue word suggests; empty when nothing says
    new: bool = False  # a value the goal sets ("rename it to 'Jazz'"), not a thing to look up
    own: bool = False  # the user's own ("my playlist 'My Rock'"): a public search finds others'


@dataclass(frozen=True)
class Link:
    """A slot of a later step filled from an earlier step's output.

    ``back`` counts steps backwards from the step holding the link (1 = the step just before);
    ``pointer`` is the runtime expression of the value in that step's response.
    """

    where: str
    name: str
    back: int
    output: str
    pointer: str


@dataclass(frozen=True)
class Producer:
    """An operation that yields the value a slot wants, with what it needs from the goal."""

    op: Operation
    filled: tuple[Filled, ...]
    pointer: str
    kind: str  # "search" | "list"
    named: Named | None  # the named thing a search consumes
    fit: float  # how well it fits: cue agreement for a search, words matched for a list


def _cue(goal: str, start: int, end: int, possessive: bool) -> frozenset[str]:
    return frozenset(stem(k) for k in _cue_words(goal, start, end, possessive))


def _cue_words(goal: str, start: int, end: int, possessive: bool) -> frozenset[str]:
    before = words(goal[:start])[-3:]
    after = words(goal[end:])[:1]
    for w in reversed(before):
        if w in _CUES:
            return _CUES[w]
        if w not in STOPWORDS and w not in ("the", "from"):
            break
    if after and after[0] in _CUES and after[0] != "by":
        return _CUES[after[0]]
    return _BY_SOMEONE if possessive else frozenset()


def _own(goal: str, start: int) -> bool:
    return "my" in words(goal[:start])[-3:]


def named_things(goal: str) -> list[Named]:
    """Quoted strings and capitalised names in ``goal``, in order, with a guess at their kind.

    The goal's first word is never a name on its own ("Who", "Play"): sentences start with a
    capital letter whatever they are about.
    """
    out: list[Named] = []
    taken: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(goal):
        text = next(g for g in m.groups() if g)
        cue = _cue(goal, m.start(), m.end(), False)
        new = bool(_SETS.search(goal[: m.start()]))
        out.append(Named(text, m.start(), m.end(), cue, new, _own(goal, m.start())))
        taken.append(m.span())
    for m in _TITLE.finditer(goal):
        start, end = m.span()
        if any(a < end and start < b for a, b in taken):
            continue
        text = m.group(0)
        sentence_start = not goal[:start].strip() or goal[:start].rstrip()[-1:] in ".!?"
        if sentence_start:
            first, _, rest = text.partition(" ")
            if not rest:
                continue
            start += len(first) + 1
            text = rest.lstrip()
            start = end - len(text)
        possessive = bool(_POSSESSIVE.search(text))
        text = _POSSESSIVE.sub("", text)
        parts = text.split()
        while len(parts) > 1 and parts[0].lower() in _NOT_NAMES:
            parts = parts[1:]  # "TV Friends" -> "Friends"; "The Dark Knight" keeps its article
        if not parts or all(p.lower() in _NOT_NAMES for p in parts) or parts[0] == "My":
            continue  # "My Music" is the user's own library, not a name to look up
        if not any(c.isalpha() for c in text) or text.isdigit():
            continue
        text = " ".join(parts)
        start = end - len(m.group(0)) + m.group(0).find(text)
        cue = _cue(goal, start, end, possessive)
        new = bool(_SETS.search(goal[:start]))
        out.append(Named(text, start, start + len(text), cue, new, _own(goal, start)))
    return sorted(out, key=lambda n: n.start)


def wants_id(slot: Slot) -> str | None:
    """The response key a slot's value comes from (``id``/``uri``), or None for other slots."""
    stems = slot.stems
    if not stems:
        return None
    if stems[-1] in ("id", "ids"):
        return "id"
    if stems[-1] in ("uri", "uris"):
        return "uri"
    return None


def resource_of(slot: Slot, op: Operation) -> str | None:
    """The resource an id slot points at, as a stem: ``movie_id`` -> ``movie``; a bare ``id``
    takes the path segment before it (``/albums/{id}`` -> ``album``), a body or query ``ids``
    the last segment of the path (``PUT /me/albums`` -> ``album``)."""
    named = [s for s in slot.stems if s not in ("id", "ids", "uri", "uris")]
    if named:
        return named[-1]
    segments = [s for s in op.path.split("/") if s]
    if slot.where == "path":
        marker = "{" + slot.name + "}"
        if marker in segments:
            before = [s for s in segments[: segments.index(marker)] if not s.startswith("{")]
            return stem(words(before[-1])[-1]) if before and words(before[-1]) else None
    plain = [s for s in segments if not s.startswith("{")]
    return stem(words(plain[-1])[-1]) if plain and words(plain[-1]) else None


def _walk(
    spec: Spec, node: Any, pointer: str, keys: tuple[str, ...], seen: frozenset[int] = frozenset()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(pointer, keys on the way) of every property reachable in a response schema; each
    schema object is entered once per branch, so recursive schemas end."""
    node = spec.resolve(node)
    if not isinstance(node, Mapping) or id(node) in seen or len(keys) > 6:
        return
    seen = seen | {id(node)}
    for combinator in ("allOf", "oneOf", "anyOf"):
        parts = node.get(combinator)
        for part in parts if isinstance(parts, list) else ():
            yield from _walk(spec, part, pointer, keys, seen)
    if node.get("type") == "array" or "items" in node:
        yield from _walk(spec, node.get("items"), pointer + "/0", keys, seen)
        return
    props = node.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            here = f"{pointer}/{name}"
            yield here, (*keys, str(name))
            yield from _walk(spec, sub, here, (*keys, str(name)), seen)


# Each operation's response keys, walked once: chaining asks every operation, for every slot.
_KEYS: weakref.WeakKeyDictionary[Operation, tuple[tuple[str, tuple[str, ...]], ...]] = (
    weakref.WeakKeyDictionary()
)


def _response_keys(spec: Spec, op: Operation) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = _KEYS.get(op)
    if found is None:
        schema = success_schema(spec, op)
        found = tuple(_walk(spec, schema, "", ())) if schema is not None else ()
        _KEYS[op] = found
    return found


def id_pointer(spec: Spec, op: Operation, key: str, resource: str) -> str | None:
    """Where ``op``'s success response carries the ``key`` of a ``resource``, as a runtime
    expression (``$response.body#/results/0/id``), or None.

    The response must be about the resource: the operation's path names it, or a key on the
    way to the value does (``albums/items/0/id`` for an album).
    """
    path_stems = {stem(w) for s in op.path.split("/") if not s.startswith("{") for w in words(s)}
    if op.path.strip("/") == "me":
        path_stems.add("user")  # GET /me: the signed-in user, whose id is a user_id
    best: tuple[int, str] | None = None
    for pointer, keys in _response_keys(spec, op):
        if keys[-1] != key:
            continue
        on_way = {stem(w) for k in keys[:-1] for w in words(k)}
        if resource in on_way:
            rank = 0
        elif resource in path_stems and len(keys) <= 2 and not on_way - {"result", "item"}:
            rank = 1  # /search/movie -> results/0/id
        else:
            continue
        if best is None or (rank, len(pointer)) < (best[0], len(best[1])):
            best = (rank, pointer)
    return f"$response.body#{best[1]}" if best else None


def _required_inputs(spec: Spec, op: Operation) -> list[Slot]:
    return [
        s
        for s in slots_of(spec, op)
        if s.required and not (s.where == "header" and s.name.lower() in ("authorization",))
    ]


def producers(
    spec: Spec,
    slot: Slot,
    target: Operation,
    goal: str,
    named: Sequence[Named],
) -> list[Producer]:
    """Operations of ``spec`` that yield ``slot``'s value from what ``goal`` gives, best first."""
    key = wants_id(slot)
    resource = resource_of(slot, target)
    if key is None or resource is None:
        return []
    goal_terms = set(tokens(goal))
    out: list[Producer] = []
    for op in spec.operations:
        if op is target or op.method != "GET":
            continue
        pointer = id_pointer(spec, op, key, resource)
        if pointer is None:
            continue
        needs = _required_inputs(spec, op)
        if any(s.where == "path" for s in needs):
            continue  # one level only
        texts = [s for s in needs if s.kind == "string" and not s.enum]
        kinds = [s for s in needs if s.enum]
        if len(texts) > 1 or len(texts) + len(kinds) != len(needs):
            continue
        filled: list[Filled] = []
        for s in kinds:  # Spotify's search: type=album
            hit = next((v for v in s.enum if stem(v) == resource), None)
            if hit is None:
                break
            filled.append(Filled(s, [hit] if s.kind == "array" else hit, f"resource {resource}"))
        if len(filled) != len(kinds):
            continue
        if texts:
            for thing in named:
                if thing.new or thing.own or (thing.kinds and resource not in thing.kinds):
                    continue  # "directed by Sofia Coppola" is a person: no movie search
                fit = 1.0 if resource in thing.kinds else 0.0
                value = Filled(texts[0], thing.text, f"named thing {thing.text!r}")
                out.append(Producer(op, (*filled, value), pointer, "search", thing, fit))
            continue
        own = {stem(w) for s in op.path.split("/") if not s.startswith("{") for w in words(s)}
        said = tokens(" ".join(own - _GENERIC - {resource}))
        matched = [w for w in said if w in goal_terms]
        if said and len(matched) == len(said):
            out.append(Producer(op, tuple(filled), pointer, "list", None, 0.5 * len(matched)))
        elif not said and "/0" not in pointer:
            # One object, nothing to pick: GET /me gives the signed-in user's id.
            out.append(Producer(op, tuple(filled), pointer, "list", None, 0.25))
        elif not said and resource in goal_terms and _ORDINAL.search(goal):
            # "my first playlist" -> GET /me/playlists; "delete a pet" picks none from a list.
            out.append(Producer(op, tuple(filled), pointer, "list", None, 0.25))
    out.sort(key=lambda p: -p.fit)
    return out
