"""Goals as people write them: sign-in phrasings, references and the compound verbs.

:mod:`lam.planner.instructions` reads literal commands ("click Save", "type X into Y"). People
write goals differently: "sign in as admin using admin-pass, find Rex and set his species to
cat", "log in (admin / admin-pass), open Orders and get rid of order 1". This module reads
those phrasings into the same :class:`~lam.planner.instructions.Intent` values, with a few more
actions that the UI planner grounds in several steps, re-observing the page between them:

- ``open``: go to the thing a goal names ("find Rex", "look up carol"): its link, else the
  search box ("search for bob" stays a search, and opens bob's link where there is no box);
- ``delete``: remove something ("delete it", "get rid of order 1", "clear out", "drop her"),
  through a control that says so, after opening the thing when the page has no such control;
- ``change``: set a field of something ("change his first name to Bobby", "make its status
  available", "mark him as vaccinated"), opening its edit form first when the field is not
  on the page, then saving;
- ``create``: add something "called"/"named" X (its add control, its name field, save);
- ``confirm`` and ``save``: the confirmation and save buttons.

Sign-in phrases are found in the whole goal before it is cut into clauses ("log in with
username admin and password x" holds an "and" that is no clause boundary), and become one
``login`` intent whose password is a secret (:func:`goal_secrets`). References ("it", "her",
"his", "its", "them", "the pet") mean the thing an earlier clause named; the parser passes it
in as ``entity``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "REFERENCES",
    "Login",
    "extract_logins",
    "goal_secrets",
    "is_reference",
    "read_phrased",
]

_VALUE = r"(?:'([^']+)'|\"([^\"]+)\"|“([^”]+)”|([^\s,;()/'\"]+))"
_SECRET = r"(?:'([^']+)'|\"([^\"]+)\"|“([^”]+)”|([^\s,;()'\"]*[^\s,;()'\".!?]))"
_VERB = r"\b(?:log(?:\s*-?\s*in(?:to)?|\s+on)|login|sign(?:\s*-?\s*in|\s+on)|signin)\b"
_AS = r"\s+(?:as|with|using)\s+"
_WHO = r"(?:(?:the\s+)?(?:user\s*name|username|user|login|account|e-?mail)\s+(?:is\s+)?)?"
_PASSWORD = r"(?:the\s+|a\s+|my\s+)?(?:password|passwd|pass|pw|pwd)(?:\s+is|\s*:|\s*=)?\s*"
_LOGINS = [
    re.compile(_VERB + r"\s*\(\s*" + _VALUE + r"\s*/\s*" + _SECRET + r"\s*\)", re.I),
    re.compile(_VERB + _AS + _WHO + _VALUE + r"\s*/\s*" + _SECRET, re.I),
    re.compile(
        _VERB
        + _AS
        + _WHO
        + _VALUE
        + r"(?:\s*,\s*|\s+)(?:(?:and|with|using)\s+)?"
        + _PASSWORD
        + _SECRET,
        re.I,
    ),
    re.compile(_VERB + _AS + _WHO + _VALUE + r"\s+(?:and|with|using)\s+" + _SECRET, re.I),
]
_LOGIN_SLOT = "\x02{}\x02"
# Words that start a clause: never a password in "log in as admin and open Users".
_NOT_SECRETS = frozenset(
    ["open", "go", "navigate", "visit", "find", "look", "search", "click", "press", "type", "enter", "fill", "select", "choose", "check", "tick", "uncheck", "delete", "remove", "get", "clear", "drop", "cancel", "add", "create", "make", "set", "change", "update", "edit", "then", "mark", "rename", "confirm", "save", "submit"]
)


@dataclass(frozen=True)
class Login:
    """A sign-in the goal asks for: who, and the password (a secret)."""

    user: str
    password: str
    text: str  # the words of the goal it was read from


def _first(groups: tuple[str | None, ...]) -> str:
    return next((g for g in groups if g), "")


def extract_logins(goal: str) -> tuple[str, list[Login]]:
    """``goal`` with each sign-in phrase replaced by ``log in <slot>``, and the sign-ins."""
    found: list[Login] = []

    def slot(match: re.Match[str]) -> str:
        groups = match.groups()
        user, password = _first(groups[:4]), _first(groups[4:8])
        if password.lower() in _NOT_SECRETS or not user or not password:
            return match.group(0)
        found.append(Login(user, password, match.group(0)))
        return "log in " + _LOGIN_SLOT.format(len(found) - 1)

    text = goal
    for pattern in _LOGINS:
        text = pattern.sub(slot, text)
    return text, found


LOGIN_SLOT = re.compile("\x02(\\d+)\x02")


def goal_secrets(goal: str) -> list[str]:
    """The passwords a goal gives in any sign-in phrasing (the run record must not show them)."""
    return [login.password for login in extract_logins(goal)[1]]


REFERENCES = frozenset(
    ["it", "him", "her", "them", "this", "that", "its", "his", "their", "hers", "theirs", "one"]
)  # fmt: skip
_GENERIC = frozenset(
    ["pet", "user", "order", "item", "record", "entry", "account", "group", "thing", "one", "row", "page", "post", "person", "customer", "product"]
)
_POSSESSIVE = re.compile(r"^(?:his|her|its|their|the)\s+(.+)$", re.I)
_OWNED = re.compile(r"^(.+?)['’]s?\s+(.+)$")
_OF = re.compile(r"^(?:the\s+)?(.+?)\s+of\s+(.+)$", re.I)
_REMOVE = re.compile(
    r"^(?:delete|remove|get\s+rid\s+of|clear\s+out|drop|erase|destroy|trash|discard|cancel)"
    r"(?:\s+(.*))?$", re.I,
)  # fmt: skip
_CHANGE = re.compile(r"^(change|set|update|edit|modify)\s+(.+?)\s+(?:to|=)\s+(.+)$", re.I)
_RENAME = re.compile(r"^rename\s+(.+?)\s+(?:to|as)\s+(.+)$", re.I)
_MAKE = re.compile(r"^make\s+(.+)$", re.I)
_MARK = re.compile(r"^(?:mark|flag|set)\s+(.+?)\s+as\s+(not\s+|un)?(.+)$", re.I)
_CREATE = re.compile(
    r"^(?:add|create|make|register|new)\s+(?:a\s+|an\s+|the\s+|one\s+)?(?:new\s+)?"
    r"(.+?)\s+(?:called|named|with\s+(?:the\s+)?name)\s+(.+)$", re.I,
)  # fmt: skip
_OPEN = re.compile(r"^(find|look\s+up|look\s+for|show|view)\s+(.+)$", re.I)
_CONFIRM = re.compile(
    r"^(?:confirm|accept|approve|say\s+yes|agree)(?:\s+(?:it|that|this|the\s+\w+))?$", re.I
)
_SAVE = re.compile(r"^save(?:\s+(?:it|them|that|this|the\s+changes?|changes?|the\s+form))?$", re.I)
_ARTICLES = re.compile(r"^(?:the|a|an|this|that)\s+", re.I)
_PAGE_WORDS = re.compile(r"\s+(?:page|screen|section|view|list|listing)$", re.I)


def is_reference(words: str) -> bool:
    """True for "it", "her", "the pet", "this user": a thing named before, not a name."""
    low = " ".join(words.lower().split())
    if low in REFERENCES:
        return True
    found = re.fullmatch(r"(?:the|this|that)\s+(\w+)", low)
    return bool(found and found.group(1).rstrip("s") in _GENERIC)


def _clean(words: str) -> str:
    return _PAGE_WORDS.sub("", _ARTICLES.sub("", words.strip().rstrip(".!?,"))).strip()


@dataclass(frozen=True)
class Phrased:
    """What a clause in people's words asks, before it becomes an Intent."""

    action: str  # open, delete, change, create, confirm, save
    target: str = ""  # the thing (a name), "" when the page's own thing is meant
    refers: bool = False  # a reference to what was opened or named before
    every: bool = False
    field: str = ""
    value: str | None = None  # None with ``field`` empty: the field and value are split later
    mode: str = ""  # open: find/search; change: fill or on/off for a checkbox


def _subject(text: str) -> tuple[str, str, bool]:
    """("Rex's species" | "his species" | "the species of Rex") -> (thing, field, refers)."""
    text = text.strip()
    owned = _OWNED.match(text)
    if owned and not is_reference(owned.group(1)):
        return _clean(owned.group(1)), owned.group(2).strip(), False
    of = _OF.match(text)
    if of:
        thing = of.group(2).strip()
        return ("" if is_reference(thing) else _clean(thing)), of.group(1), is_reference(thing)
    possessive = _POSSESSIVE.match(text)
    if possessive:
        return "", possessive.group(1).strip(), text.split()[0].lower() != "the"
    return "", text, False


def read_phrased(text: str) -> Phrased | None:
    """The clause (quotes already set aside as slots) in people's words, or None."""
    text = " ".join(text.split())
    if _CONFIRM.match(text):
        return Phrased("confirm")
    if _SAVE.match(text):
        return Phrased("save")
    removal = _REMOVE.match(text)
    if removal:
        what = (removal.group(1) or "").strip()
        every = re.match(r"^(?:every|all(?:\s+the)?|each|all\s+of\s+the)\s+(.+)$", what, re.I)
        if every:
            return Phrased("delete", _clean(every.group(1)), every=True)
        if not what or is_reference(what):
            return Phrased("delete", "", refers=True, every=what.lower() in ("them", "these"))
        return Phrased("delete", _clean(what))
    create = _CREATE.match(text)
    if create:
        return Phrased("create", _clean(create.group(1)), value=create.group(2).strip())
    mark = _MARK.match(text)
    if mark:
        thing = mark.group(1)
        on = "off" if mark.group(2) else "on"
        refers = is_reference(thing)
        return Phrased("change", "" if refers else _clean(thing), refers, field=mark.group(3),
                       value=on, mode="toggle")  # fmt: skip
    rename = _RENAME.match(text)
    if rename:
        thing = rename.group(1)
        refers = is_reference(thing)
        return Phrased("change", "" if refers else _clean(thing), refers, field="name",
                       value=rename.group(2).strip())  # fmt: skip
    change = _CHANGE.match(text)
    if change:
        thing, field, refers = _subject(change.group(2))
        if not thing and not refers and change.group(1).lower() == "set":
            return None  # "set the date to X": a plain fill, with the fill's conversions
        return Phrased("change", thing, refers, field=field, value=change.group(3).strip())
    make = _MAKE.match(text)
    if make:
        thing, rest, refers = _subject(make.group(1))
        if refers or thing:
            return Phrased("change", thing, refers, field="", value=rest)
        return None
    opened = _OPEN.match(text)
    if opened and not re.match(r"^and\b", opened.group(2), re.I):
        mode = "find"
        target = opened.group(2).strip()
        if is_reference(target):
            return None
        return Phrased("open", _clean(target), mode=mode)
    return None
