"""UI targets -> exactly one visible element, or a GroundingError that lists candidates.

A target is a mapping of locator hints (``role``+``name``, ``text``, ``label``, ``placeholder``,
``testid``, ``css``, ``xpath``, ``frame``, ``nth``, ``exact``) or ``describe:`` free text.
Several hints in one mapping must all hold (they are intersected). A name, text, label or
placeholder hint matches as a substring (Playwright's default), but when that finds several
elements and exactly one of them says just the hint (case and spacing ignored), that one is
the target: ``name: Save`` means "Save", not "Save and add another". Recordings add
``candidates`` (alternative hint mappings, best first) tried in order when the main hints find
nothing unique, and a ``fingerprint`` (what the element looked like): a locator's match that
looks nothing like it is not trusted, and when no locator finds the element uniquely it is
healed by fingerprint similarity (:mod:`lam.adapters.browser.healing`) or refused.

Playwright's css, text and role engines pierce open shadow roots; ``frame`` (one css selector
of an iframe, or a list for nested frames) scopes the hints to a frame.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import FrameLocator, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from lam.adapters.browser.embeddings import Embedder
from lam.adapters.browser.facts import FACT_ATTRIBUTES, facts_js
from lam.adapters.browser.grounding import ground
from lam.adapters.browser.healing import agrees, heal
from lam.adapters.browser.snapshot import (
    ElementInfo,
    describe_element,
    elements_from_json,
    snapshot,
    snapshot_js,
)
from lam.errors import GroundingError

__all__ = ["HINT_KEYS", "Resolved", "build_locator", "frames_of", "resolve_target"]

HINT_KEYS = frozenset(
    {
        "role",
        "name",
        "text",
        "label",
        "placeholder",
        "testid",
        "css",
        "xpath",
        "frame",
        "nth",
        "exact",
        "describe",
        "candidates",
        "fingerprint",
        "title",
        "alt",
    }
)
_LOCATOR_KEYS = frozenset(
    {"role", "text", "label", "placeholder", "testid", "css", "xpath", "title", "alt"}
)
_LISTED = 8


@dataclass(frozen=True)
class Resolved:
    """The one element a target resolved to: a locator for acting, what it is, and how found.

    A healed target has ``how="healed"``, its fingerprint ``score``, the runner-up's score and
    the ``hints`` that now find it (what a recording would be updated with). ``facts`` is
    what :func:`lam.adapters.browser.facts.element_facts` reads, when it was read in the same
    round trip as the element (the guard then need not ask the page again).
    """

    locator: Locator
    element: ElementInfo
    how: str
    score: float | None = None
    runner_up: float | None = None
    hints: Mapping[str, Any] | None = None
    facts: Mapping[str, Any] | None = None


def frames_of(hints: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``frame`` hint as a tuple of iframe selectors, outermost first."""
    frame = hints.get("frame")
    if frame is None:
        return ()
    if isinstance(frame, str):
        return (frame,)
    return tuple(str(f) for f in frame)


def _error(message: str, where: Mapping[str, str | None], **kw: Any) -> GroundingError:
    return GroundingError(message, step=where.get("step"), location=where.get("location"), **kw)


def build_locator(
    page: Page, hints: Mapping[str, Any], *, where: Mapping[str, str | None] | None = None
) -> Locator:
    """The Playwright locator for a hint mapping (``describe``/``nth`` are not handled here)."""
    where = where or {}
    unknown = sorted(set(hints) - HINT_KEYS)
    if unknown:
        raise _error(f"unknown target hint(s): {', '.join(unknown)}", where, code="bad-target")
    scope: Page | FrameLocator = page
    for selector in frames_of(hints):
        scope = scope.frame_locator(selector)
    exact = hints.get("exact")
    parts: list[Locator] = []
    if "role" in hints:
        name = hints.get("name")
        parts.append(
            scope.get_by_role(hints["role"], name=_text_of(name), exact=exact)
            if name is not None
            else scope.get_by_role(hints["role"])
        )
    elif "name" in hints:
        raise _error("a 'name' hint needs a 'role' hint beside it", where, code="bad-target")
    getters = {
        "text": scope.get_by_text,
        "label": scope.get_by_label,
        "placeholder": scope.get_by_placeholder,
        "title": scope.get_by_title,
        "alt": scope.get_by_alt_text,
    }
    for key, getter in getters.items():
        if key in hints:
            parts.append(getter(_text_of(hints[key]), exact=exact))
    if "testid" in hints:
        parts.append(scope.get_by_test_id(str(hints["testid"])))
    if "css" in hints:
        parts.append(scope.locator(str(hints["css"])))
    if "xpath" in hints:
        parts.append(scope.locator("xpath=" + str(hints["xpath"])))
    if not parts:
        raise _error("the target has no locator hint", where, code="bad-target")
    locator = parts[0]
    for other in parts[1:]:
        locator = locator.and_(other)
    return locator


def _text_of(value: Any) -> str | re.Pattern[str]:
    return value if isinstance(value, re.Pattern) else str(value)


_WORDED = ("name", "text", "label", "placeholder")


def _exactly(hints: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The hints with each name, text, label and placeholder matched whole (case and spacing
    ignored) instead of as a substring; None when that changes nothing.

    Playwright matches these hints as case-insensitive substrings, so ``name: Save`` also
    finds "Save and add another": when that makes a target ambiguous, the one element whose
    words are exactly the hint's is what was meant.
    """
    if hints.get("exact") is not None or "nth" in hints:
        return None
    worded = {k: hints[k] for k in _WORDED if isinstance(hints.get(k), str) and hints[k].split()}
    if not worded or ("name" in worded and "role" not in hints):
        return None
    # (A label's trailing colon or required-field star is not part of what it says.)
    whole = {
        key: re.compile(
            r"^\s*" + r"\s+".join(map(re.escape, text.split())) + r"\s*[:*]?\s*$", re.I
        )
        for key, text in worded.items()
    }
    return {**hints, **whole}


def _describe_hints(hints: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in hints.items() if k not in ("candidates", "fingerprint")}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items())


def _visible_matches(locator: Locator, *, limit: int = _LISTED) -> list[Locator]:
    visible = locator.filter(visible=True)
    count = visible.count()
    return [visible.nth(i) for i in range(min(count, limit))] + (
        [visible.nth(limit)] if count > limit else []
    )


def _try_hints(
    page: Page, hints: Mapping[str, Any], where: Mapping[str, str | None]
) -> tuple[Locator | None, int, Locator]:
    """(the unique visible match or None, how many visible matches, the visible locator)."""
    visible = build_locator(page, hints, where=where).filter(visible=True)
    count = visible.count()
    nth = hints.get("nth")
    if nth is not None:
        index = int(nth) if int(nth) >= 0 else count + int(nth)
        return (visible.nth(index) if 0 <= index < count else None), count, visible
    return (visible if count == 1 else None), count, visible


_PROBE_JS: str | None = None


def _probe_js() -> str:
    """``(els, [index, attrs]) => JSON``: how many elements matched and, when ``index`` picks
    one of them, its snapshot entry and its guard facts, in one round trip into the page."""
    global _PROBE_JS
    if _PROBE_JS is None:
        _PROBE_JS = (
            "(els, [index, attrs]) => {\n"
            "  const i = index === null ? (els.length === 1 ? 0 : -1) :\n"
            "    index < 0 ? els.length + index : index;\n"
            "  if (i < 0 || i >= els.length) return JSON.stringify([els.length]);\n"
            f"  const describe = ({snapshot_js()}\n);\n"
            f"  const facts = ({facts_js()}\n);\n"
            "  return '[' + els.length + ',' + describe(els[i]) + ',' + facts(els[i], attrs) + ']';\n"
            "}"
        )
    return _PROBE_JS


def _probe(
    page: Page, hints: Mapping[str, Any], where: Mapping[str, str | None]
) -> tuple[tuple[Locator, ElementInfo, dict[str, Any]] | None, int, Locator]:
    """Like :func:`_try_hints`, with the unique match described (its snapshot entry and guard
    facts) in the same round trip: (the match, its entry and facts, or None; how many visible
    matches; the visible locator). A page navigating meanwhile reads as no match yet."""
    visible = build_locator(page, hints, where=where).filter(visible=True)
    nth = hints.get("nth")
    index = None if nth is None else int(nth)
    try:
        raw = json.loads(visible.evaluate_all(_probe_js(), [index, list(FACT_ATTRIBUTES)]))
    except PlaywrightError:
        return None, 0, visible
    count = int(raw[0])
    if len(raw) < 3:
        return None, count, visible
    found = visible if index is None else visible.nth(index if index >= 0 else count + index)
    text = json.dumps(raw[1])
    info = elements_from_json(text, frame=frames_of(hints))[0]
    return (found, info, raw[2]), count, visible


def _listing(visible: Locator, frames: Sequence[str]) -> list[str]:
    shown: list[str] = []
    count = visible.count()
    for i in range(min(count, _LISTED)):
        try:
            info = describe_element(visible.nth(i), frame=frames, timeout_ms=1_000)
            shown.append(f"[nth={i}] {info.describe()}")
        except PlaywrightError:
            shown.append(f"[nth={i}] (could not be described)")
    if count > _LISTED:
        shown.append(f"... and {count - _LISTED} more")
    return shown


def resolve_target(
    page: Page,
    hints: Mapping[str, Any],
    *,
    timeout_ms: float = 5_000,
    embedder: Embedder | None = None,
    step: str | None = None,
    location: str | None = None,
) -> Resolved:
    """Resolve a target to exactly one visible element, waiting up to ``timeout_ms`` for it.

    Several visible matches raise a GroundingError listing them (add ``nth`` or a narrower
    hint); none raises one listing the closest elements of a page snapshot.
    """
    where = {"step": step, "location": location}
    has_locator = not _LOCATOR_KEYS.isdisjoint(hints)
    if "describe" in hints and not has_locator:
        return _resolve_described(page, str(hints["describe"]), embedder, where, timeout_ms)
    alternatives: list[tuple[str, Mapping[str, Any]]] = []
    if has_locator or not (hints.get("candidates") or hints.get("fingerprint")):
        alternatives.append(("hints", hints))  # (a bare mapping still gets its error below)
    for i, candidate in enumerate(hints.get("candidates") or ()):
        merged = dict(candidate)
        if "frame" in hints and "frame" not in merged:
            merged["frame"] = hints["frame"]
        alternatives.append((f"candidates[{i}]", merged))
    fingerprint = hints.get("fingerprint")
    if not isinstance(fingerprint, Mapping):
        fingerprint = None
    deadline = time.monotonic() + timeout_ms / 1000
    while alternatives:
        ambiguous: tuple[str, Locator, Mapping[str, Any], int] | None = None
        distrusted = False
        for how, alt in alternatives:
            match, count, visible = _probe(page, alt, where)
            whole = _exactly(alt) if count > 1 else None
            if whole is not None:
                exact_match, _, _ = _probe(page, whole, where)
                if exact_match is not None:  # exactly one element is named just so
                    match = exact_match
            if match is not None:
                found, info, facts = match
                if fingerprint is not None and not (
                    agrees(fingerprint, info) and _among(found, ambiguous)
                ):
                    distrusted = True  # found, but not the element that was recorded
                    continue
                return Resolved(found, info, how, facts=facts)
            if count > 1 and ambiguous is None:
                ambiguous = (how, visible, alt, count)
        if fingerprint is not None and (ambiguous is not None or distrusted):
            return _heal(page, fingerprint, where)  # the page is there: no need to wait
        if ambiguous is not None:
            how, visible, alt, count = ambiguous
            raise _error(
                f"target {_describe_hints(alt)} matches {count} visible elements; add 'nth' "
                "or a narrower hint",
                where,
                candidates=_listing(visible, frames_of(alt)),
                code="ambiguous",
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        _wait_for_any(page, alternatives, where, remaining)
    if fingerprint is not None:
        return _heal(page, fingerprint, where, deadline)
    raise _error(
        f"target {_describe_hints(hints)} matches no visible element",
        where,
        candidates=_closest(page, hints),
        code="not-found",
    )


def _among(found: Locator, ambiguous: tuple[str, Locator, Mapping[str, Any], int] | None) -> bool:
    """Whether a candidate's match is one of the elements the better hints matched (if any)."""
    if ambiguous is None:
        return True
    try:
        return found.and_(ambiguous[1]).count() == 1
    except PlaywrightError:
        return False


def _heal(
    page: Page,
    fingerprint: Mapping[str, Any],
    where: Mapping[str, str | None],
    deadline: float = 0.0,
) -> Resolved:
    """The element the fingerprint describes, with hints that find it uniquely, or refusal.

    A refusal is retried until ``deadline`` (the element may not be there yet).
    """
    while True:
        try:
            healing = heal(
                page, fingerprint, step=where.get("step"), location=where.get("location")
            )
            break
        except GroundingError:
            if time.monotonic() >= deadline:
                raise
            page.wait_for_timeout(200)
    element = healing.best.element
    runner_up = healing.runner_up.score if healing.runner_up else None
    for hint in element.locators:
        merged = dict(hint)
        if element.frame:
            merged["frame"] = list(element.frame)
        if "name" in merged:
            merged["exact"] = True
        found, _, _ = _try_hints(page, merged, where)
        if found is not None:
            return Resolved(found, element, "healed", healing.best.score, runner_up, merged)
    raise _error(
        f"healed to {element.describe()} but no locator finds it uniquely",
        where,
        candidates=[healing.best.describe()],
        code="ambiguous",
    )


def _wait_for_any(
    page: Page,
    alternatives: Sequence[tuple[str, Mapping[str, Any]]],
    where: Mapping[str, str | None],
    remaining_s: float,
) -> None:
    """Wait until one alternative has a visible match (or a short slice of time passes)."""
    # With several alternatives only the first is waited on, so wake often to try the others.
    slice_ms = remaining_s * 1000 if len(alternatives) == 1 else min(remaining_s * 1000, 250.0)
    locator = build_locator(page, alternatives[0][1], where=where).filter(visible=True)
    with contextlib.suppress(PlaywrightTimeout):
        locator.first.wait_for(state="visible", timeout=max(slice_ms, 50.0))


def _closest(page: Page, hints: Mapping[str, Any]) -> list[str]:
    words = " ".join(
        str(hints[k])
        for k in ("name", "text", "label", "placeholder", "testid", "role")
        if k in hints
    )
    try:
        elements = [el for el in snapshot(page) if el.visible]
    except PlaywrightError:
        return []
    if not words:
        return [el.describe() for el in elements[:5]]
    from lam.adapters.browser.grounding import parse_query, score

    query = parse_query(words)
    ranked = sorted(elements, key=lambda el: -score(query, el))[:5]
    return [f"{el.describe()} locator={el.hints()}" for el in ranked]


def _resolve_described(
    page: Page,
    description: str,
    embedder: Embedder | None,
    where: Mapping[str, str | None],
    timeout_ms: float,
    *,
    how: str = "describe",
) -> Resolved:
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            chosen = ground(description, snapshot(page), embedder=embedder, **where)
            break
        except GroundingError as err:
            if err.code != "not-found" or time.monotonic() >= deadline:
                raise
            page.wait_for_timeout(200)
    element = chosen.element
    for hint in element.locators:
        merged = dict(hint)
        if element.frame:
            merged["frame"] = list(element.frame)
        found, _, _ = _try_hints(
            page, {**merged, "exact": True} if "name" in merged else merged, where
        )
        if found is not None:
            return Resolved(found, element, f"{how} (score {chosen.score:.2f}) via {merged}")
    raise _error(
        f"{description!r} grounded to {element.describe()} but no locator finds it uniquely",
        where,
        candidates=[element.describe()],
        code="ambiguous",
    )
