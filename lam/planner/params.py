"""Values from the goal: quoted strings, numbers, enum words and names, put into an operation's slots.

A *slot* is a place an operation takes a value: a path, query or header parameter, or a
top-level field of its JSON (or form) body. :func:`slots_of` lists them from the spec;
:func:`fill_slots` reads one clause of a goal and says which value goes where, and why, so a
reviewer can follow each choice. Nothing is guessed from thin air: a slot the clause does not
speak to stays empty (the planner then takes the schema's default or example, or reports it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lam.planner.bm25 import stem, words
from lam.spec import Operation, Spec

__all__ = ["Filled", "Slot", "fill_slots", "slots_of"]

_QUOTED = re.compile(r"""(?:(?<=[\s(:=,])|^)(?:'([^']+)'|"([^"]+)"|“([^”]+)”|‘([^’]+)’)""")
_NUMBER = re.compile(r"(?<![\w.-])#?(\d+)(?![\w.])")
_NAME_CUE = re.compile(
    r"\b(?:named|called|name(?:d)?\s+(?:it|is|to)?|rename(?:d)?\s+(?:\w+\s+)?(?:\d+\s+)?to|"
    r"(?:change|set)\s+(?:\w+\s+)?(?:\d+\s+)?(?:'s\s+)?name\s+to)\s+"
    r"""(?:'([^']+)'|"([^"]+)"|([A-Za-z][\w-]*))""",
    re.I,
)
_AS_USER = re.compile(r"\bas\s+(?:user\s+)?(?:'([^']+)'|\"([^\"]+)\"|([A-Za-z][\w.@-]*))", re.I)
_NOT_VALUES = frozenset(
    ["to", "and", "then", "with", "a", "an", "the", "called", "named", "is", "of", "for"]
)
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\s+([A-Za-z]+)", re.I)
_NEGATED = re.compile(r"\b(?:not|un|non)[\s-]*$", re.I)


@dataclass(frozen=True)
class Slot:
    """A place an operation takes a value."""

    name: str
    where: str  # "path" | "query" | "header" | "cookie" | "body"
    required: bool
    schema: Mapping[str, Any]  # resolved one level

    @property
    def kind(self) -> str:
        """The JSON type the slot wants ("string" when unsaid)."""
        kind = self.schema.get("type", "string")
        return str(kind[0] if isinstance(kind, list) else kind)

    @property
    def enum(self) -> tuple[str, ...]:
        values = self.schema.get("enum")
        if self.kind == "array" and isinstance(self.schema.get("items"), Mapping):
            values = self.schema["items"].get("enum")
        return tuple(str(v) for v in values or () if isinstance(v, str))

    @property
    def stems(self) -> tuple[str, ...]:
        """The slot name's words, stemmed: ``petId`` -> ``("pet", "id")``."""
        return tuple(stem(w) for w in words(self.name))


@dataclass(frozen=True)
class Filled:
    """A value the goal gives for a slot, and the words that gave it."""

    slot: Slot
    value: Any
    because: str


def _resolved_schema(spec: Spec, schema: Any) -> Mapping[str, Any]:
    node = spec.resolve(schema) if schema is not None else {}
    if not isinstance(node, Mapping):
        return {}
    for combinator in ("allOf",):  # merge the common "allOf: [$ref]" wrapping
        parts = node.get(combinator)
        if isinstance(parts, list) and len(parts) == 1:
            inner = spec.resolve(parts[0])
            if isinstance(inner, Mapping):
                node = {**inner, **{k: v for k, v in node.items() if k != combinator}}
    return node


def slots_of(spec: Spec, op: Operation) -> tuple[Slot, ...]:
    """The operation's parameters and top-level body fields, in spec order."""
    out = [
        Slot(p.name, p.location, p.required, _resolved_schema(spec, p.schema))
        for p in op.parameters
    ]
    picked = op.request_schema()
    if picked is None and op.request_body is not None:
        content = op.request_body.get("content")
        if isinstance(content, Mapping) and content:
            media, obj = next(iter(content.items()))
            picked = (media, obj.get("schema", {}) if isinstance(obj, Mapping) else {})
    if picked is not None:
        body = _resolved_schema(spec, picked[1])
        required = body.get("required", [])
        props = body.get("properties")
        if isinstance(props, Mapping):
            for name, sub in props.items():
                schema = _resolved_schema(spec, sub)
                if schema.get("readOnly"):
                    continue
                out.append(Slot(str(name), "body", str(name) in required, schema))
    return tuple(out)


def _quoted(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), next(g for g in m.groups() if g)) for m in _QUOTED.finditer(text)]


def _is_id(slot: Slot) -> bool:
    return bool(slot.stems) and slot.stems[-1] in ("id", "ids", "uri", "uris")


def _coerce(slot: Slot, raw: str) -> Any:
    if slot.kind == "integer":
        return int(raw) if raw.lstrip("-").isdigit() else None
    if slot.kind == "number":
        try:
            return float(raw)
        except ValueError:
            return None
    if slot.kind == "boolean":
        return None
    if slot.kind == "array":
        items = slot.schema.get("items")
        kind = items.get("type") if isinstance(items, Mapping) else "string"
        if kind == "integer":
            return [int(raw)] if raw.isdigit() else None
        if kind not in (None, "string") or (isinstance(items, Mapping) and "$ref" in items):
            return None  # a list of objects ("tracks": [{"uri": ...}]) takes no plain word
        return [raw]
    return raw


def _word_before(text: str, start: int, count: int = 1) -> list[str]:
    return [stem(w) for w in words(text[:start])[-count:]]


def _mentions(slot: Slot, before: Sequence[str]) -> bool:
    """Does the word(s) just before a value name this slot? ("password 'x'", "pet 5")."""
    stems = [s for s in slot.stems if s != "id"] or list(slot.stems)
    return bool(stems) and any(b in stems for b in before) and bool(before)


def fill_slots(clause: str, slots: Sequence[Slot]) -> list[Filled]:
    """Values for ``slots`` from the words of ``clause``, each value used once."""
    filled: dict[tuple[str, str], Filled] = {}
    used: list[tuple[int, int]] = []

    def key(s: Slot) -> tuple[str, str]:
        return (s.where, s.name)

    def free(s: Slot) -> bool:
        return key(s) not in filled

    def put(s: Slot, value: Any, because: str, span: tuple[int, int]) -> bool:
        if value is None or not free(s):
            return False
        if _is_id(s) and isinstance(value, str) and " " in value.strip():
            return False  # "my playlist 'My Rock'" names a playlist, it is not its id
        filled[key(s)] = Filled(s, value, because)
        used.append(span)
        return True

    def taken(span: tuple[int, int]) -> bool:
        return any(a < span[1] and span[0] < b for a, b in used)

    strings = [s for s in slots if s.kind in ("string", "array") and not s.enum]
    # Name-like slots, plain names first: "a pet named Rex", then "a user called 'linus'".
    named = sorted(
        (s for s in strings if any(x.startswith("nam") or x.endswith("nam") for x in s.stems)),
        key=lambda s: s.stems != ("name",),
    )
    # 1. "named Rex", "called 'Mr Whiskers'", "rename pet 4 to Bo".
    for m in _NAME_CUE.finditer(clause):
        value = next(g for g in m.groups() if g)
        group = next(i for i in range(1, 4) if m.group(i))
        for s in named:
            if put(s, value, f"name after {m.group(0).split()[0]!r}", m.span(group)):
                break
    # 2. "as admin" -> the user name slot.
    users = [s for s in strings if any(x.startswith("user") for x in s.stems)]
    for m in _AS_USER.finditer(clause):
        if taken(m.span()):
            continue
        value = next(g for g in m.groups() if g)
        for s in users:
            if put(s, value, "user after 'as'", m.span()):
                break
    # 3. Quoted strings: the slot named just before, else the first free required text slot.
    for start, end, value in _quoted(clause):
        if taken((start, end)):
            continue
        before = _word_before(clause, start, 2)
        # A spaced value is no id: "rename my first playlist to 'My First'" names none.
        spaced = " " in value.strip()
        target = next(
            (s for s in slots if free(s) and _mentions(s, before) and not (spaced and _is_id(s))),
            None,
        )
        if target is None:
            target = next((s for s in strings if free(s) and s.required and not _is_id(s)), None)
        if target is None:
            target = next(
                (s for s in strings if free(s) and s.where == "body" and not _is_id(s)), None
            )
        if target is not None:
            put(target, _coerce(target, value), f"quoted {value!r}", (start, end))
    # 4. Unquoted "password secret", "username ada", "tag friendly", "email x@y".
    for s in strings:
        if not free(s) or s.where == "header":
            continue
        stems = [x[:4] if len(x) > 4 else x for x in s.stems if x != "id"]
        pattern = (
            r"\b(" + "|".join(re.escape(x) for x in stems) + r")\w*\s+(?:is\s+|of\s+)?([\w.@+-]+)"
        )
        if not stems:
            continue
        for m in re.finditer(pattern, clause, re.I):
            if taken(m.span(2)) or m.group(2).lower() in _NOT_VALUES:
                continue
            if _is_id(s) and not any(c.isdigit() for c in m.group(2)):
                continue  # "reviews of Cate" gives no review id
            if put(s, _coerce(s, m.group(2)), f"after {m.group(1)!r}", m.span(2)):
                break
    # 5. Numbers: into the slot named just before ("pet 5", "order #3", "quantity 2"), else
    #    the one free integer path parameter, else a free integer body field.
    numeric = [s for s in slots if s.kind in ("integer", "number")]
    for m in _NUMBER.finditer(clause):
        if taken(m.span()):
            continue
        raw = m.group(1)
        before = _word_before(clause, m.start(), 2)
        after = [stem(w) for w in words(clause[m.end() :])[:1]]
        target = next((s for s in numeric if free(s) and _mentions(s, before)), None)
        if target is None:
            target = next((s for s in numeric if free(s) and _mentions(s, after)), None)
        if target is None:
            target = next((s for s in numeric if free(s) and s.where == "path"), None)
        if target is None:
            target = next((s for s in numeric if free(s) and s.required), None)
        if target is not None:
            put(target, _coerce(target, raw), f"number {raw}", m.span())
    # 5b. Ordinals naming a numbered slot: "the second season" -> season_number 2.
    for m in _ORDINAL.finditer(clause):
        if taken(m.span()):
            continue
        named_next = [stem(m.group(2))]
        target = next((s for s in numeric if free(s) and _mentions(s, named_next)), None)
        if target is not None:
            raw = str(_ORDINALS.index(m.group(1).lower()) + 1)
            put(target, _coerce(target, raw), f"ordinal {m.group(1)!r}", m.span(1))
    # 6. Enum words: "available", "a cat", "sold".
    for s in slots:
        if not s.enum or not free(s):
            continue
        by_word = {v.lower(): v for v in s.enum} | {v.lower() + "s": v for v in s.enum}
        for m in re.finditer(r"[A-Za-z][\w-]*", clause):
            hit = by_word.get(m.group(0).lower())
            if hit is not None and not taken(m.span()):
                value = [hit] if s.kind == "array" else hit
                if put(s, value, f"enum word {m.group(0)!r}", m.span()):
                    break
    # 7. Booleans named in the goal: "vaccinated" -> true, "not vaccinated" -> false.
    for s in slots:
        if s.kind != "boolean" or not free(s):
            continue
        for m in re.finditer(r"\b(un|non-?)?(" + re.escape(s.name) + r")\b", clause, re.I):
            negated = bool(m.group(1)) or bool(_NEGATED.search(clause[: m.start()]))
            put(s, not negated, f"word {m.group(0)!r}", m.span())
            break
    return list(filled.values())
