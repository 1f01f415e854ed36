"""Imperative goals in plain language -> :class:`Intent` values, one per clause.

The embedded UI planner reads goals such as ``Enter "Bob" into the name field, then click
Save`` without a model. This module does the language half: quoted values are set aside first
(so "and", commas and full stops inside them split nothing), the goal is cut into clauses at
sentence ends, "then", "and" and commas, and each clause becomes an :class:`Intent`: what to do
(click, fill, select, check, uncheck, goto, press, scroll, focus, hover, submit, login, search,
wait), which element (a description in words, a quoted exact name, an ordinal, role words) and
with what value. A clause without a verb of its own ("Select A, B and C") borrows the verb of
the clause before it. Clauses that say nothing actionable are returned as ``unknown`` intents so
the planner can report them instead of silently dropping them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lam.planner.phrasing import LOGIN_SLOT, Phrased, extract_logins, read_phrased

__all__ = ["KEYS", "Intent", "parse_clause", "parse_goal", "split_clauses"]

KEYS = {
    "enter": "Enter", "return": "Enter", "tab": "Tab", "escape": "Escape", "esc": "Escape",
    "space": "Space", "backspace": "Backspace", "delete": "Delete", "up": "ArrowUp",
    "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight", "home": "Home",
    "end": "End", "pageup": "PageUp", "pagedown": "PageDown",
}  # fmt: skip
"""Key names a ``press`` clause may use, mapped to Playwright's key names."""

_VERBS: dict[str, str] = {
    "click": "click", "tap": "click", "hit": "press", "push": "press", "press": "press",
    "expand": "click", "close": "click", "switch": "click",
    "type": "fill", "enter": "fill", "fill": "fill", "input": "fill", "write": "fill",
    "put": "fill", "set": "fill",
    "select": "select", "choose": "select", "pick": "select",
    "check": "check", "tick": "check", "mark": "check",
    "uncheck": "uncheck", "untick": "uncheck", "deselect": "uncheck", "unselect": "uncheck",
    "go": "goto", "open": "goto", "visit": "goto", "navigate": "goto", "browse": "goto",
    "log": "login", "login": "login", "sign": "login", "signin": "login",
    "search": "search", "find": "search", "look": "search",
    "submit": "submit", "send": "submit",
    "scroll": "scroll", "focus": "focus", "hover": "hover", "wait": "wait",
}  # fmt: skip
_POLITE = re.compile(r"^(?:please\s+|now\s+|also\s+|just\s+|and\s+|finally\s+|next\s+)+", re.I)
_QUOTES = re.compile(r"\"([^\"]*)\"|“([^”]*)”|‘([^’]*)’|(?<![\w])'([^']+)'(?![\w])")
_SLOT = re.compile(r"\x00(\d+)\x00")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z\x00])|;\s*|\n+")
_JOINERS = re.compile(
    r"\s*,\s*(?:and\s+)?then\s+|\s+and\s+then\s+|\s+then\s+|\s*,\s*and\s+|\s+and\s+|\s*,\s*",
    re.IGNORECASE,
)
_ORDINAL_WORDS = {
    "first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5,
    "seventh": 6, "eighth": 7, "ninth": 8, "tenth": 9, "last": -1,
}  # fmt: skip
# ("First name" and "Last name" are fields, not positions.)
_ORDINAL = re.compile(
    r"\b(?:(\d+)(?:st|nd|rd|th)|(" + "|".join(_ORDINAL_WORDS) + r"))\b(?!\s+names?\b)", re.I
)
_ALL = re.compile(r"\b(?:both|all|each|every)\b", re.IGNORECASE)
_INTO = re.compile(r"\s+(?:into|in|inside|to|on|as|for)\s+(?:the\s+|a\s+|an\s+|both\s+|all\s+)?")
_BY_DOING = re.compile(r"\bby\s+(clicking|pressing|tapping|selecting|choosing|typing|entering)\b")
_GERUNDS = {
    "clicking": "click", "pressing": "press", "tapping": "tap", "selecting": "select",
    "choosing": "choose", "typing": "type", "entering": "enter",
}  # fmt: skip
_VALUE_NOUNS = frozenset({"number", "text", "value", "word", "string", "answer", "name"})
_USE_TO = re.compile(r"^use\s+(.+?)\s+to\s+(\w+)\s+(.+)$", re.IGNORECASE)
_URL = re.compile(r"^(?:https?://\S+|file://\S+|[\w-]+:/\S*|/\S*)$")


@dataclass(frozen=True)
class Intent:
    """One clause of a goal, understood.

    ``action`` is one of click, press, fill, select, check, uncheck, goto, scroll, focus, hover,
    submit, login, search, wait, none (an explicit no-op such as "select nothing") or unknown.
    ``target`` is the element in words (without filler), ``exact`` a quoted name the element
    should carry, ``value`` what to type/choose/press/open, ``ordinal`` a 0-based position
    (-1: last), ``every`` is set for "both"/"all" targets, ``container`` names where an option
    is chosen from ("from the list"), ``secret`` holds a password for ``login``; ``any_one``
    says the goal asked for "a"/"any" such element, so equally good matches are all right.

    Goals in people's words (:mod:`lam.planner.phrasing`) add the actions open, delete,
    change, create, confirm and save: ``refers`` says the target is a thing named before ("it",
    "her", "the pet"; ``target`` is then its name, or "" when none was), ``field`` is the field
    a change sets (empty: the value's first words name it), ``mode`` says how ("find" or
    "search" for open, "toggle" for a checkbox change, "implied" for the confirmation a removal
    brings, skipped where none is asked), ``save`` that a change ends by saving.
    """

    action: str
    clause: str
    target: str = ""
    exact: str | None = None
    value: str | None = None
    ordinal: int | None = None
    every: bool = False
    any_one: bool = False
    container: str = ""
    secret: str | None = None
    refers: bool = False
    field: str = ""
    mode: str = ""
    save: bool = False


def _protect(goal: str) -> tuple[str, list[str]]:
    """Replace quoted strings by numbered slots so splitting never cuts through them."""
    quoted: list[str] = []

    def slot(found: re.Match[str]) -> str:
        quoted.append(next(g for g in found.groups() if g is not None))
        return f"\x00{len(quoted) - 1}\x00"

    return _QUOTES.sub(slot, goal), quoted


def _restore(text: str, quoted: list[str], *, marks: bool = False) -> str:
    if marks:  # back into the goal's text: keep them quoted for the clause parser
        return _SLOT.sub(lambda m: '"' + quoted[int(m.group(1))] + '"', text)
    return _SLOT.sub(lambda m: quoted[int(m.group(1))], text)


def split_clauses(goal: str) -> list[str]:
    """The goal's clauses, in order, with quoted values intact."""
    protected, quoted = _protect(goal.strip())
    clauses: list[str] = []
    for sentence in _SENTENCES.split(protected):
        for part in _JOINERS.split(sentence):
            part = part.strip().rstrip(".!?,").strip()
            if part:
                clauses.append(_restore(part, quoted, marks=True))
    return clauses


def _first_word(text: str) -> str:
    found = re.match(r"[a-z]+", text.lower())
    return found.group(0) if found else ""


def _strip_articles(text: str) -> str:
    text = re.sub(r"^(?:on|at|in|into|onto|over|to)\s+", "", text.strip(), flags=re.I)
    return re.sub(r"^(?:the|a|an|my|your|this|that)(?:\s+|$)", "", text, flags=re.I).strip()


def parse_goal(goal: str) -> list[Intent]:
    """Every clause of ``goal`` as an Intent; verb-less clauses borrow the previous verb.

    Sign-in phrases are read from the whole goal first; references ("it", "her") are resolved
    to the thing the clauses before named; a change of a thing's fields ends by saving unless
    the goal goes on to fill, choose or save itself."""
    text, logins = extract_logins(goal)
    intents: list[Intent] = []
    previous: Intent | None = None
    entity: str | None = None
    for clause in split_clauses(text):
        slot = LOGIN_SLOT.search(clause)
        if slot is not None and clause.lower().startswith("log in"):
            login = logins[int(slot.group(1))]
            intent = Intent("login", login.text, value=login.user, secret=login.password)
        else:
            intent = parse_clause(LOGIN_SLOT.sub(lambda m: logins[int(m.group(1))].text, clause),
                                  previous, entity=entity)  # fmt: skip
        intents.append(intent)
        if intent.action not in ("unknown", "none"):
            previous = intent
        entity = _named(intent) or entity
    return _confirming(_saving(intents, entity_known=False))


def _confirming(intents: list[Intent]) -> list[Intent]:
    """A removal asked in words means it done: the confirmation the app may ask for after it
    is part of it (an ``implied`` confirm, skipped where the page asks none)."""
    out: list[Intent] = []
    for i, intent in enumerate(intents):
        out.append(intent)
        after = intents[i + 1] if i + 1 < len(intents) else None
        if intent.action == "delete" and (after is None or after.action not in ("confirm", "delete")):
            out.append(Intent("confirm", intent.clause, mode="implied"))
    return out


def _named(intent: Intent) -> str | None:
    """The thing a clause names, for later references to it."""
    if intent.action == "create":
        return intent.value
    if intent.action in ("open", "delete", "change") and intent.target and not intent.refers:
        return intent.target
    if intent.action == "click" and intent.target and not intent.every:
        return intent.exact or intent.target
    return None


# Verbs a verb-less clause does not borrow: "find the email by Hedy and reply to them" is
# not a second "find".
_NO_LENDING = frozenset(
    {"login", "goto", "scroll", "wait", "open", "create", "confirm", "save", "delete", "change"}
)
_EDITS = frozenset({"change", "fill", "select", "check", "uncheck", "save", "submit"})


def _saving(intents: list[Intent], *, entity_known: bool) -> list[Intent]:
    """A change of a thing ("set his species to cat") is saved after the last of a run."""
    out: list[Intent] = []
    for i, intent in enumerate(intents):
        after = intents[i + 1] if i + 1 < len(intents) else None
        saved_later = after is not None and (
            after.action in _EDITS or (after.action == "click" and "save" in after.target.lower())
        )
        if intent.action == "change" and (intent.refers or intent.target) and not saved_later:
            intent = replace(intent, save=True)
        out.append(intent)
    return out


def parse_clause(
    clause: str, previous: Intent | None = None, *, entity: str | None = None
) -> Intent:
    """One clause as an Intent (``previous`` lends its verb to a clause that has none;
    ``entity`` is what "it", "her" or "the pet" refer to)."""
    protected, quoted = _protect(clause)
    text = _POLITE.sub("", protected).strip()
    doing = _BY_DOING.search(text)
    if doing:  # "Close the dialog by clicking the x": the means is the action
        text = _GERUNDS[doing.group(1)] + text[doing.end() :]
    use = _USE_TO.match(text)
    if use:  # "use the search box to enter X": X goes into the named thing
        text = f"{use.group(2)} {use.group(3)} into {use.group(1)}"
    word = _first_word(text)
    verb = _VERBS.get(word)
    phrased = read_phrased(text)
    if phrased is None and verb is None and previous and previous.action in ("delete", "change"):
        phrased = read_phrased(f"{previous.action} {text}")  # "delete alice and bob"
    if phrased is not None:
        return _from_phrased(phrased, quoted, clause, entity)
    if verb is None:
        if previous is None or previous.action in _NO_LENDING:
            return Intent("unknown", clause)
        rest = text
        verb = previous.action
    else:
        rest = text[len(word) :].strip()
    return _build(verb, word, rest, quoted, clause, previous)


def _build(
    verb: str, word: str, rest: str, quoted: list[str], clause: str, previous: Intent | None
) -> Intent:
    low = rest.lower()
    ordinal = _ordinal(low)
    every = bool(_ALL.search(low))
    if verb == "goto":
        rest = re.sub(r"^(?:to|into)\s+", "", rest, flags=re.I)
        target = _restore(rest, quoted).strip()
        if _URL.match(target):
            return Intent("goto", clause, value=target)
        return _element_intent("click", rest, quoted, clause, ordinal, every)
    if verb == "login":
        return _login(rest, quoted, clause)
    if verb == "wait":
        seconds = re.search(r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)?", low)
        value = None
        if seconds:
            scale = 1 if (seconds.group(2) or "s").startswith("m") else 1000
            value = str(int(float(seconds.group(1)) * scale))
        return Intent("wait", clause, value=value)
    if verb == "scroll":
        where = "up" if re.search(r"\bup\b", low) else "down"
        where = "top" if re.search(r"\btop\b", low) else where
        where = "bottom" if re.search(r"\bbottom\b|\bend\b", low) else where
        return Intent("scroll", clause, value=where)
    if verb == "search":
        rest = re.sub(r"^(?:for|up)\s+", "", rest, flags=re.I)
        if word in ("find", "look") and not quoted:  # "find and click X": the click acts
            return Intent("none" if not rest.strip() else "unknown", clause)
        return Intent("search", clause, value=_restore(rest, quoted).strip() or None)
    if verb == "submit":
        return Intent("submit", clause, target=_strip_articles(_restore(rest, quoted)))
    if verb == "press":
        key = _restore(rest, quoted).strip().lower()
        key = re.sub(r"^(?:the\s+)?(.+?)(?:\s+key)?$", r"\1", key)
        if key in KEYS or re.fullmatch(r"(?:control|ctrl|shift|alt|meta)\+\w+", key):
            return Intent("press", clause, value=KEYS.get(key, key))
        verb = "click"
    if verb == "fill":
        return _fill(rest, quoted, clause, ordinal, every, previous)
    if verb == "select":
        return _select(rest, quoted, clause, ordinal, every)
    return _element_intent(verb, rest, quoted, clause, ordinal, every)


def _ordinal(low: str) -> int | None:
    found = _ORDINAL.search(low)
    if not found:
        return None
    if found.group(1):
        return int(found.group(1)) - 1
    return _ORDINAL_WORDS[found.group(2).lower()]


def _element_intent(
    verb: str, rest: str, quoted: list[str], clause: str, ordinal: int | None, every: bool
) -> Intent:
    slots = [quoted[int(m.group(1))] for m in _SLOT.finditer(rest)]
    words = _strip_articles(_SLOT.sub(" ", rest))
    any_one = bool(re.match(r"(?:on\s+|at\s+)?(?:a|an|any)\s", rest.strip(), flags=re.I))
    return Intent(
        verb, clause, target=" ".join(words.split()), exact=slots[0] if slots else None,
        ordinal=ordinal, every=every, any_one=any_one,
    )  # fmt: skip


def _fill(
    rest: str,
    quoted: list[str],
    clause: str,
    ordinal: int | None,
    every: bool,
    previous: Intent | None,
) -> Intent:
    rest = re.sub(r"^(?:in|out)\s+", "", rest, flags=re.I)
    with_value = re.match(r"(.+?)\s+with\s+(.+)$", rest, flags=re.I)
    if with_value:  # "fill the name field with Bob"
        target, value = with_value.group(1), with_value.group(2)
    else:
        slot = _SLOT.search(rest)
        if slot:  # 'enter the password "x" into both fields': words before the quote name it
            before, after = rest[: slot.start()], rest[slot.end() :]
            value = slot.group(0)
            into = _INTO.search(" " + after)
            destination = after[into.end() - 1 :] if into else ""
            named = _strip_articles(before).lower()
            generic = named in _VALUE_NOUNS or every or not named
            target = destination if generic and destination else before
        else:  # 'enter 05/20/2010 as the date'
            into = _INTO.search(rest)
            if into is None:
                return Intent("unknown", clause)
            value, target = rest[: into.start()], rest[into.end() :]
    if not _strip_articles(_restore(target, quoted)) and previous and previous.action == "fill":
        target = previous.target
    value = _restore(value, quoted).strip()
    if value.lower() in ("that", "it", "this", "them", "the answer", "your answer"):
        return Intent("unknown", clause)  # a value found elsewhere: not an instruction
    intent = _element_intent("fill", target, quoted, clause, ordinal, every)
    return replace(intent, value=value, exact=None, target=_restore(intent.target, quoted))


def _select(rest: str, quoted: list[str], clause: str, ordinal: int | None, every: bool) -> Intent:
    if re.fullmatch(r"(?:nothing|none|no\s+\w+)", rest.strip(), flags=re.I):
        return Intent("none", clause)
    found = re.match(r"(.+?)\s+(?:from|in|on|within)\s+(?:the\s+|a\s+)?(.+)$", rest, flags=re.I)
    container = ""
    if found:
        rest, container = found.group(1), _restore(found.group(2), quoted)
    value = _restore(_SLOT.sub(lambda m: f"\x00{m.group(1)}\x00", rest), quoted).strip()
    value = re.sub(r"^(?:the\s+)?(?:option|item|entry|choice)\s+", "", value, flags=re.I)
    return Intent(
        "select", clause, target=value, exact=value, value=value, ordinal=ordinal,
        every=every, container=container,
    )  # fmt: skip


def _login(rest: str, quoted: list[str], clause: str) -> Intent:
    text = _restore(rest, quoted)
    found = re.match(
        r"(?:in|on)?\s*(?:as|with\s+(?:user(?:name)?|email)?)\s+(\S+)\s+"
        r"(?:with|and|using)\s+(?:the\s+)?(?:password|pass|pw)\s+(\S+)\s*$",
        text,
        flags=re.I,
    )
    if not found:
        return Intent("unknown", clause)
    return Intent("login", clause, value=found.group(1), secret=found.group(2))


def _from_phrased(phrased: Phrased, quoted: list[str], clause: str, entity: str | None) -> Intent:
    target = _restore(phrased.target, quoted).strip()
    if phrased.refers:
        target = entity or ""
    value = None if phrased.value is None else _restore(phrased.value, quoted).strip()
    return Intent(
        phrased.action, clause, target=target, value=value, every=phrased.every,
        refers=phrased.refers, field=_restore(phrased.field, quoted).strip(), mode=phrased.mode,
    )  # fmt: skip
