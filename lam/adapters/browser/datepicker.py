"""A date into a read-only field that takes dates only through its calendar pop-up.

A read-only text field with a date picker (jQuery UI's, and calendars that label their day
buttons with the date) cannot be typed into. :func:`pick_date` opens the calendar by clicking the
field, steps month by month with the calendar's previous/next controls until the wanted month is
shown, clicks the day, and checks that the field now holds that date. Each step acts on what the
calendar shows, by the calendar's own marks (``data-year``/``data-month`` on day cells, a date
in a day button's ``aria-label``); a calendar without them, or a field that ends up holding
another date, is a failed step, never a nearby date.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lam.errors import StepFailed
from lam.planner.conversions import parse_date

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

__all__ = ["pick_date"]

_MAX_MONTHS = 36

# What the calendar shows: its month (from day cells marked with year and month, or from a
# day button whose aria-label is a date), whether the wanted day is there, and its controls.
_LOOK_JS = r"""([y, m, d]) => {
  const shown = el => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; };
  const months = new Set();
  let day = null;
  for (const td of document.querySelectorAll("td[data-year][data-month]")) {
    if (!shown(td)) continue;
    const ty = +td.dataset.year, tm = +td.dataset.month + 1;
    months.add(ty * 12 + tm - 1);
    const a = td.querySelector("a,button") || td;
    if (ty === y && tm === m && a.textContent.trim() === String(d)) day = a;
  }
  for (const b of document.querySelectorAll("[aria-label]")) {
    if (!shown(b) || !/^(button|a|td|div)$/i.test(b.localName)) continue;
    const when = new Date(b.getAttribute("aria-label"));
    if (isNaN(when) || when.getFullYear() < 1000) continue;
    months.add(when.getFullYear() * 12 + when.getMonth());
    if (when.getFullYear() === y && when.getMonth() + 1 === m && when.getDate() === d) day = b;
  }
  const pick = sel => [...document.querySelectorAll(sel)].find(shown) || null;
  const prev = pick("[data-handler=prev], [title=Prev i], [aria-label*=previous i]");
  const next = pick("[data-handler=next], [title=Next i], [aria-label*='next month' i]");
  return {months: [...months].sort((a, b) => a - b), day, prev, next};
}"""


def pick_date(page: Page, field: Locator, date: dt.date, timeout_ms: float) -> None:
    """Set ``date`` into the read-only ``field`` through its calendar, or raise StepFailed."""
    field.click(timeout=timeout_ms)
    wanted = date.year * 12 + date.month - 1
    for _ in range(_MAX_MONTHS):
        look = page.evaluate_handle(_LOOK_JS, [date.year, date.month, date.day])
        shown = {k: look.get_property(k).as_element() for k in ("day", "prev", "next")}
        months = [int(m) for m in look.get_property("months").json_value()]
        day = shown["day"]
        if day is not None:
            day.click(timeout=timeout_ms)
            break
        if not months:
            raise StepFailed(
                "the field is read-only and shows no calendar lam can read", code="date-picker"
            )
        way = "prev" if wanted < months[0] else "next" if wanted > months[-1] else ""
        control = shown.get(way) if way else None
        if control is None:
            raise StepFailed(f"the calendar has no day {date.isoformat()}", code="date-picker")
        control.click(timeout=timeout_ms)
    else:
        raise StepFailed(
            f"{date.isoformat()} is more than {_MAX_MONTHS} months away", code="date-picker"
        )
    now = parse_date(field.input_value(timeout=timeout_ms))
    if now != date:
        raise StepFailed(
            f"the calendar set {field.input_value()!r}, not {date.isoformat()}", code="date-picker"
        )
