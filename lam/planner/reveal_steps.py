"""Reaching a named text that is hidden: the disclosure control to open first, or a refusal.

The UI planner names a target that is not a control in the snapshot by its quoted text (a
``<span>`` a script made clickable). When the observation carries
:class:`~lam.adapters.browser.reveal.Sighting` entries for that text, :func:`text_target`
decides, by one rule, what to do:

- no element says it (the sightings looked): refuse;
- exactly one shown element says it: click it by its exact text;
- none is shown, and every hidden one is behind the same disclosure control (a tab, an
  accordion header, a ``<summary>``): click that control first; the planner proposes it with
  ``done=False`` and grounds the text again on the page that follows;
- several are shown, or the hidden ones sit behind different controls, or one has no control
  that structurally reveals it: refuse, listing them. Nothing is opened at random.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lam.adapters.browser.reveal import Sighting, TextBlock

__all__ = [
    "REVEAL_PREFIX",
    "Sighting",
    "TextBlock",
    "TextTarget",
    "menu_path",
    "scroll_target",
    "split_run_on",
    "strip_means",
    "text_target",
]

REVEAL_PREFIX = "r"
"""Step ids of reveal steps start ``r<clause>x<n>-``: they never mark their clause done."""


@dataclass(frozen=True)
class TextTarget:
    """What to do for a quoted text: ``step`` (the hint mapping to click), whether it is the
    target itself or a control that reveals it (``reveal``), or ``problem`` (refuse)."""

    step: dict[str, Any] | None
    reveal: bool = False
    problem: str = ""
    note: str = ""


def text_target(text: str, seen: Sequence[Sighting]) -> TextTarget | None:
    """The click for quoted ``text`` given the sightings; None when there are none for it."""
    wanted = " ".join(text.casefold().split())
    mine = [s for s in seen if s.text == wanted]
    if not mine:
        return None
    if not any(s.css for s in mine):
        return TextTarget(None, problem=f"no element on the page says {text!r}")
    same = [s for s in mine if s.said == " ".join(text.split())]
    mine = same or mine  # "Eget" is not "eget" when both are there (the locator is exact)
    shown = [s for s in mine if s.visible]
    if len(shown) == 1:
        return TextTarget({"text": text, "exact": True}, note=f"{text!r} is shown text")
    if len(shown) > 1:
        where = "; ".join(s.css for s in shown[:5])
        return TextTarget(None, problem=f"{len(shown)} shown elements say {text!r} ({where})")
    revealers = {s.revealer for s in mine}
    if "" in revealers:
        where = "; ".join(s.css for s in mine if not s.revealer)
        return TextTarget(None, problem=f"{text!r} is hidden and nothing reveals it ({where})")
    if len(revealers) > 1:
        where = "; ".join(f"{s.css} behind {s.revealer_name or s.revealer}" for s in mine[:5])
        return TextTarget(None, problem=f"{text!r} is hidden behind different controls ({where})")
    first = mine[0]
    return TextTarget(
        {"css": first.revealer},
        reveal=True,
        note=f"{text!r} is hidden; opening {first.revealer_name or first.revealer!r} first",
    )


_MEANS = re.compile(
    r"^\s*(?:switch\s+between|expand|open|go\s+through|navigate\s+through|browse)\s+"
    r"(?:the\s+|all\s+)*(?:\w+\s+)?(?:tabs|sections|folders|panels|tree)\b(?:\s+below)?"
    r"\s*(?:[,.]\s*)?(?:(?:in\s+order\s+)?to\s+)?find\s+and\s+",
    re.IGNORECASE,
)


def strip_means(goal: str) -> str:
    """``goal`` without a lead-in that only says how to search for the target.

    "Switch between the tabs to find and click on the link "X"" is "click on the link "X"":
    the tabs (sections, folders, a tree) are opened by the reveal rule above, only the one that
    holds the target and only when that is certain, not one after another at random.
    """
    stripped = _MEANS.sub("", goal, count=1)
    return stripped[:1].upper() + stripped[1:] if stripped != goal else goal


_RUN_ON = re.compile(
    r"(?<=\w)\s+(?=(?:hit|press|click)\s+(?:the\s+)?[\w\"“]+(?:\s+button)?\s*[.!]?\s*$)", re.I
)
_JOINS = frozenset({"and", "then", "please", "now", "to", "or", "just", "also", "finally"})
_SCROLL_WHAT = (
    re.compile(r"^scroll\s+(?:down\s+|up\s+)?(?:the\s+|a\s+)?(.+?)\s+(?:to|until)\b", re.I),
    re.compile(
        r"^scroll\s+(?:down\s+|up\s+)?to\s+the\s+(?:top|bottom|end)\s+of\s+(?:the\s+)?(.+)$", re.I
    ),
)


def split_run_on(goal: str) -> str:
    """A goal whose last instruction runs on without a joiner ("... to the bottom of the text
    hit submit.") with an "and" put in, so that the clause splitter sees two clauses."""
    found = _RUN_ON.search(goal)
    if found is None:
        return goal
    before = re.split(r"(?<=[.!?])\s+", goal[: found.start()])[-1].split()
    # only after an instruction of its own ("Scroll the textarea to the bottom of the text"),
    # never "Please click ..." or "... then click ..."
    if len(before) < 4 or before[-1].lower() in _JOINS or before[0].lower() in _JOINS:
        return goal
    return goal[: found.start()] + " and " + goal[found.end() :]


def scroll_target(clause: str) -> str:
    """The element a scroll clause names ("the textarea" in "Scroll the textarea to the
    bottom", "Scroll to the bottom of the textarea"), or "" for the page."""
    for pattern in _SCROLL_WHAT:
        found = pattern.match(clause.strip().rstrip(".!"))
        if found:
            what = found.group(1).strip()
            if what.lower() not in ("top", "bottom", "end", "the top", "the bottom", "page"):
                return what
    return ""


_MENU_PATH = re.compile(
    r"^\s*(?:select|choose|click|open|go\s+to)\s+(?:on\s+)?[\"“]?"
    r"(?P<path>[^>\"”]+(?:\s*>\s*[^>\"”]+)+?)[\"”]?\s*[.!]?\s*$",
    re.IGNORECASE,
)


def menu_path(goal: str) -> str:
    """'Select A>B>C' (a menu path) as 'Hover over "A", then hover over "B", then click "C"':
    each item opens, under the pointer, the submenu that shows the next, and each is grounded
    once it is shown."""
    found = _MENU_PATH.match(goal)
    if found is None:
        return goal
    names = [n.strip() for n in found.group("path").split(">")]
    if any(not n or '"' in n for n in names):
        return goal
    verbs = ["hover over"] * (len(names) - 1) + ["click"]  # a submenu opens under the pointer
    said = ", then ".join(f'{v} "{n}"' for v, n in zip(verbs, names, strict=True))
    return said[:1].upper() + said[1:]
