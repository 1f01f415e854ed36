"""How long a server asks to be left alone: the ``Retry-After`` header (RFC 9110, 10.2.3).

The one reading of the header for lam's two HTTP clients, the API adapter
(:mod:`lam.adapters.http`) and the model wire (:mod:`lam.adapters.llm.wire`); each applies its
own cap. The header is either a number of seconds (``120``) or an HTTP date
(``Wed, 21 Oct 2026 07:28:00 GMT``). Anything else is unreadable and the caller falls back on
its own backoff: a negative, ``nan`` or ``inf`` is not a wait, and ``time.sleep`` raises on a
negative or ``nan`` one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time

__all__ = ["retry_after"]

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)  # RFC: digits; a fraction is tolerated


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """The seconds ``value`` (a ``Retry-After`` header) asks to wait, or None when it is absent
    or unreadable. A date in the past is 0 seconds; a huge wait is returned as it is, for the
    caller to cap. ``now`` is the current Unix time (for tests; the clock by default)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)  # digits only: never negative or nan; inf when absurdly long
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": HTTP dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))
