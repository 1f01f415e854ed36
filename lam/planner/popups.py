"""A popup that appears mid-task and blocks the page: declined, by one rule, or left alone.

After each action the page is observed again (``benchmarks/miniwob_eval.py`` does this between
the steps of a proposal). :func:`dismissal` says whether what it sees is a popup the goal did not
ask for that stands in the way, and which control declines it:

- some visible control is disabled (the popup made the page modal), and
- exactly one visible, enabled button or link is a decline control: its whole name is
  cancel, close, dismiss, no, no thanks, not now, skip, later or the close glyph, and
- the goal does not name that control (then the dialog is the task: "click Cancel in the
  dialog").

Then the step is a click on that control (the guard judges it like any other); "OK" or "Yes"
are never clicked to make a popup go away. Anything else: None, and the plan goes on (a step
that cannot act fails or is refused as before).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lam.adapters.browser.page_model import ElementInfo

__all__ = ["DECLINE", "dismissal"]

DECLINE = frozenset(
    {"cancel", "close", "dismiss", "no", "no thanks", "not now", "skip", "later", "×", "x", "✕"}
)
"""Whole names of controls that decline a popup without accepting anything."""

_ACTIVE = frozenset({"button", "link"})
_CONTROLS = frozenset({"textbox", "searchbox", "combobox", "spinbutton", "button", "checkbox"})


def _name(el: ElementInfo) -> str:
    return " ".join((el.name or el.text).casefold().strip(" .!").split())


def dismissal(goal: str, elements: Sequence[Any]) -> ElementInfo | None:
    """The control that declines a blocking popup the goal did not ask for, or None."""
    shown = [e for e in elements if isinstance(e, ElementInfo) and e.visible]
    if not any(e.disabled and e.role in _CONTROLS for e in shown):
        return None
    declines = [e for e in shown if not e.disabled and e.role in _ACTIVE and _name(e) in DECLINE]
    if len(declines) != 1:
        return None
    said = _name(declines[0])
    if re.search(rf"(?<!\w){re.escape(said)}(?!\w)", goal.casefold()):
        return None  # the goal is about this dialog
    return declines[0]
