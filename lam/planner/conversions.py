"""A goal's values in the form the control wants: dates, times, letter case.

People write "Enter 05/20/2010 as the date" or "9:37 PM"; an ``<input type="date">`` takes
``2010-05-20`` and an ``<input type="time">`` ``21:37``. "Type "agustina" in all upper case
letters" asks for ``AGUSTINA``. Each conversion is exact or it does not happen: a value that
does not read as one unambiguous date or time for such an input is reported (``None``) so the
planner refuses the step with a reason rather than type something the input will drop.

- :func:`apply_case` rewrites a goal's case instructions into the quoted value itself.
- :func:`for_input` converts a value for an input of a given ``type``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "apply_case",
    "copy_paste",
    "described",
    "for_input",
    "names_control",
    "parse_date",
    "parse_time",
    "read_off",
    "value_into",
]

_CASE = re.compile(
    r"(?P<q>[\"“])(?P<value>[^\"”]*)[\"”]\s*,?\s*(?:written\s+|typed\s+)?in\s+(?:all\s+)?"
    r"(?P<case>upper|lower|capital|small)[\s-]*case(?:\s+letters)?|"
    r"(?P<q2>[\"“])(?P<value2>[^\"”]*)[\"”]\s*,?\s*in\s+(?:all\s+)?(?P<case2>capitals|capital\s+"
    r"letters|small\s+letters|lowercase|uppercase)",
    re.IGNORECASE,
)
_UPPER = ("upper", "capital", "capitals", "capital letters", "uppercase")

# Numeric dates are read month first (MM/DD/YYYY), as US forms and MiniWoB++ write them; a date
# whose fields cannot be month/day (13/05/2010) is read day first only when that is the one way.
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_MONTHS = {
    m.lower(): i
    for i, m in enumerate(
        ["January", "February", "March", "April", "May", "June", "July", "August",
         "September", "October", "November", "December"], start=1,
    )
}  # fmt: skip
_NAMED_DATE = re.compile(r"^\s*([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(m)?\.?\s*$", re.I)


def apply_case(goal: str) -> str:
    """``goal`` with 'X' in all upper/lower case letters rewritten as the converted 'X'.

    >>> apply_case('Type "agustina" in all upper case letters in the text input')
    'Type "AGUSTINA" in the text input'
    """

    def convert(found: re.Match[str]) -> str:
        value = found.group("value") if found.group("q") else found.group("value2")
        case = (found.group("case") or found.group("case2") or "").lower()
        upper = any(case.startswith(u) for u in _UPPER)
        return '"' + (value.upper() if upper else value.lower()) + '"'

    return _CASE.sub(convert, goal)


def parse_date(text: str) -> dt.date | None:
    """One date from 05/20/2010, 2010-05-20 or May 20, 2010; None when not exactly one."""
    found = _ISO_DATE.match(text)
    if found:
        y, m, d = (int(g) for g in found.groups())
        return _date(y, m, d)
    found = _NUMERIC_DATE.match(text)
    if found:
        a, b, y = (int(g) for g in found.groups())
        return _date(y, a, b) or (_date(y, b, a) if a > 12 else None)
    found = _NAMED_DATE.match(text)
    month = _month_names().get(found.group(1).lower()) if found else None
    if found and month:
        return _date(int(found.group(3)), month, int(found.group(2)))
    return None


def _month_names() -> dict[str, int]:
    names = dict(_MONTHS)
    names.update({k[:3]: v for k, v in _MONTHS.items()})
    names["sept"] = 9
    return names


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_time(text: str) -> dt.time | None:
    """One time of day from 9:37 PM, 21:37, 9pm or 09:37:05; None when it is not one."""
    found = _TIME.match(text)
    if not found or (found.group(2) is None and found.group(4) is None):
        return None  # a bare number is not a time
    hour, minute, second = int(found.group(1)), int(found.group(2) or 0), int(found.group(3) or 0)
    half = (found.group(4) or "").lower()
    if half:
        if found.group(5) is None or not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        return None


def for_input(value: str, input_type: str) -> str | None:
    """``value`` as an ``<input type=input_type>`` takes it; None when it cannot be converted.

    Types other than date, time, datetime-local and month take the value as written.
    """
    kind = input_type.lower()
    if kind == "date":
        date = parse_date(value)
        return date.isoformat() if date else None
    if kind == "month":
        date = parse_date(value)
        return f"{date.year:04d}-{date.month:02d}" if date else None
    if kind == "time":
        time = parse_time(value)
        if time is None:
            return None
        return time.strftime("%H:%M:%S" if time.second else "%H:%M")
    if kind == "datetime-local":
        parts = re.split(r"\s+(?:at\s+)?|T", value.strip(), maxsplit=1)
        date = parse_date(parts[0])
        time = parse_time(parts[1]) if len(parts) == 2 else None
        return f"{date.isoformat()}T{time.strftime('%H:%M')}" if date and time else None
    return value


_VALUE_INTO = re.compile(
    r"^(?P<value>.+?)\s+(?:with|using|as|in|on)\s+(?:the\s+|a\s+|an\s+)?(?P<control>[\w -]+?)\s*$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")


def value_into(text: str) -> tuple[str, str] | None:
    """("-10", "spinner") from "-10 with the spinner", ("12/02/2016", "date") from
    "12/02/2016 as the date": a number, date or time set into a named control; else None."""
    found = _VALUE_INTO.match(text.strip())
    if not found:
        return None
    value = found.group("value").strip()
    if _NUMBER.match(value) or parse_date(value) or parse_time(value):
        return value, found.group("control").strip()
    return None


def names_control(word: str, input_type: str, role: str, element_id: str) -> bool:
    """Whether one word of a goal ("date", "time", "spinner") names a control by what it is:
    its input type, its role, or the first word of its id ("datepicker")."""
    word = word.casefold()
    if not word:
        return False
    if word == input_type.casefold() or (word == "spinner" and role == "spinbutton"):
        return True
    return len(word) >= 4 and element_id.casefold().startswith(word)


_COPY = re.compile(
    r"^\s*copy\s+the\s+(?:text|value|contents?)\s+(?:in|from|of)\s+(?:the\s+)?(?P<src>.+?)"
    r"(?:\s+(?:below|above))?\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?:then\s+)?paste\s+it\s+"
    r"(?:into|in|to)\s+(?:the\s+)?(?P<dst>.+?)(?P<rest>(?:\s*,\s*|\s+)(?:and\s+|then\s+).*)?"
    r"[.!]?\s*$",
    re.IGNORECASE,
)
_WORD_OF = re.compile(
    r"^\s*find\s+the\s+(?P<which>last|first|\d+(?:st|nd|rd|th))\s+word\s+(?:in|of|from)\s+"
    r"(?!(?:the\s+)?paragraph\b)(?:the\s+)?(?P<src>.+?)\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?:enter|type|put)\s+"
    r"(?:it|that)\s+"
    r"(?:into|in)\s+(?:the\s+)?(?P<dst>.+?)(?P<rest>(?:\s*,\s*|\s+)(?:and\s+|then\s+).*)?"
    r"[.!]?\s*$",
    re.IGNORECASE,
)


def _ordinal(word: str) -> int:
    digits = re.match(r"\d+", word)
    return int(digits.group(0)) if digits else _ORDINALS[word.lower()]


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}


def copy_paste(goal: str, elements: Sequence[Any]) -> tuple[str, str, str]:
    """'Copy the text in the X, paste it into the Y ...' as 'Enter "<X's text>" into the Y ...'
    ('Find the last word in the X, enter it into the Y' the same, with that word of X's text).

    Returns (goal, problem, value): the goal rewritten with the value read from the snapshot
    (and that value as it is, spaces included: the clause parser trims what it reads), or the
    goal unchanged and why the copy cannot be made (no such field, several and no ordinal, a
    value with a double quote). A goal without a copy comes back unchanged with no problem.
    """
    found = _COPY.match(goal) or _WORD_OF.match(goal)
    if found is None:
        return goal, "", ""
    src = found.group("src").strip()
    pool = [e for e in elements if e.visible and e.value is not None and e.role == "textbox"]
    if re.search(r"\btext\s*areas?\b", src, re.I):
        pool = [e for e in pool if e.tag == "textarea"]
    where = re.search(r"\b(?:(\d+)(?:st|nd|rd|th)|(" + "|".join(_ORDINALS) + r"))\b", src, re.I)
    if where:
        n = int(where.group(1)) if where.group(1) else _ORDINALS[where.group(2).lower()]
        chosen = pool[n - 1 : n] if n > 0 else pool[-1:]
    else:
        chosen = pool if len(pool) == 1 else []
    if len(chosen) != 1:
        return (
            goal,
            f"the field to copy from ({src!r}) is not one field here ({len(pool)} candidates)",
            "",
        )
    value = str(chosen[0].value)
    which = found.groupdict().get("which")
    if which:  # "the last word in the text area": a word, its punctuation left out
        words = [w.strip(".,;:!?()\"'") for w in value.split()]
        words = [w for w in words if w]
        at = -1 if which.lower() == "last" else _ordinal(which) - 1
        if not words or not -len(words) <= at < len(words):
            return goal, f"the field has no {which} word", ""
        value = words[at]
    if '"' in value:
        return goal, "the text to copy holds a double quote", ""
    rest = found.group("rest") or ""
    return f'Enter "{value}" into the {found.group("dst")}{rest}', "", value


_DESCRIBED = re.compile(r"^(?:the|your|a|an|its|their|his|her)\s+\w+", re.IGNORECASE)


def described(value: str, clause: str) -> bool:
    """Whether a value the goal gives unquoted is a description of one ("the text below", "the
    value of Last name", "the total number of blocks"): something to find, not to type."""
    if not value or f'"{value}"' in clause or f"“{value}”" in clause:
        return False
    return bool(_DESCRIBED.match(value.strip()))


_VALUE_OF = re.compile(
    r"^\s*(?:enter|type|put)\s+the\s+value\s+of\s+(?P<key>.+?)\s+(?:into|in)\s+(?:the\s+)?"
    r"(?P<dst>.+?)(?P<rest>(?:\s*,\s*|\s+)(?:and\s+|then\s+).*)?[.!]?\s*$",
    re.IGNORECASE,
)
_WORD_OF_PARAGRAPH = re.compile(
    r"^\s*find\s+the\s+(?P<which>last|first|\d+(?:st|nd|rd|th))\s+word\s+(?:in|of)\s+the\s+"
    r"paragraph\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?:enter|type|put)\s+(?:it|that)\s+(?:into|in)\s+"
    r"(?:the\s+)?(?P<dst>.+?)(?P<rest>(?:\s*,\s*|\s+)(?:and\s+|then\s+).*)?[.!]?\s*$",
    re.IGNORECASE,
)


def read_off(goal: str, blocks: Sequence[Any]) -> tuple[str, str, str]:
    """'Enter the value of KEY into the Y' (KEY: a table row's first cell, its value the
    second) and 'Find the Nth word in the paragraph, type that into the Y' (the one shown
    paragraph) as 'Enter "<value>" into the Y ...'; the same triple as :func:`copy_paste`.

    Exactly one row must start with KEY (case and spacing ignored) and have two cells, and
    exactly one paragraph must be shown; anything else is a problem, never a nearby value.
    """
    found = _VALUE_OF.match(goal)
    if found is not None:
        key = " ".join(found.group("key").casefold().split())
        rows = [
            b.cells for b in blocks
            if b.kind == "row" and len(b.cells) == 2 and " ".join(b.cells[0].casefold().split()) == key
        ]  # fmt: skip
        if len(rows) != 1:
            return goal, f"{len(rows)} table rows are labelled {found.group('key')!r}", ""
        value = rows[0][1]
    else:
        found = _WORD_OF_PARAGRAPH.match(goal)
        if found is None:
            return goal, "", ""
        paragraphs = [b.cells[0] for b in blocks if b.kind == "paragraph" and b.cells[0]]
        if len(paragraphs) != 1:
            return goal, f"{len(paragraphs)} paragraphs are shown, not one", ""
        words = [w.strip(".,;:!?()\"'") for w in paragraphs[0].split()]
        words = [w for w in words if w]
        which = found.group("which")
        at = -1 if which.lower() == "last" else _ordinal(which) - 1
        if not -len(words) <= at < len(words):
            return goal, f"the paragraph has no {which} word", ""
        value = words[at]
    if '"' in value or not value:
        return goal, "the value read is empty or holds a double quote", ""
    rest = found.group("rest") or ""
    return f'Enter "{value}" into the {found.group("dst")}{rest}', "", value
