"""Healing: find a recorded element again on a changed page by fingerprint similarity.

A recording keeps a ``fingerprint`` of each target (tag, role, accessible name, text, label,
a few attributes, neighbours' text, position, frame path). When none of a target's locators
finds it uniquely, every visible element of the page is scored against that fingerprint: a
weighted mean of per-property similarities, in the spirit of the Similo approach (Nass,
Alégroth, Feldt et al., "Similarity-based web element localization for robust test
automation", TOSEM 2023), which compares many properties at once instead of trusting one.

The best element is only taken when its score reaches ``threshold`` *and* beats the runner-up
by ``margin``, or, when the close ones are within the margin, it is the only one whose
accessible name, label or placeholder is exactly the recorded one (a decoy whose placeholder
merely contains the recorded text does not tie with the field that still says it). Otherwise :func:`choose` raises a :class:`GroundingError` listing the top
candidates with their scores: lam never clicks a guess.

The ``place`` property (:func:`alone_in_place`) is whether an element is the only one of the
recorded role under the recorded heading. It lets a field named by its placeholder alone heal
when a redesign rewrote that placeholder; the calibration behind the weights is in
docs/replay.md (benchmarks/replay_heal_bench.py ``--dump``/``--calibrate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from lam.adapters.browser.snapshot import ElementInfo, snapshot, with_safe_dom
from lam.errors import GroundingError

__all__ = [
    "MARGIN",
    "NAME_GATE",
    "THRESHOLD",
    "VERIFY",
    "WEIGHTS",
    "Extras",
    "Healing",
    "Scored",
    "agrees",
    "alone_in_place",
    "choose",
    "extras_of",
    "heal",
    "rank",
    "score",
    "text_similarity",
]

THRESHOLD = 0.55
"""The least score a healed element needs (scores are weighted means in [0, 1])."""
MARGIN = 0.08
"""How far the best element must score above the runner-up."""
NAME_GATE = 0.4
"""The healed element's name, text or label must be at least this like the recorded one."""
VERIFY = 0.45
"""A locator's unique match that scores below this against the fingerprint is not trusted."""

WEIGHTS: Mapping[str, float] = {
    "tag": 1.0,
    "role": 1.0,
    "type": 0.5,
    "name": 2.0,
    "text": 1.0,
    "label": 1.5,
    "id": 1.0,
    "class": 0.5,
    "attr-name": 1.5,
    "href": 1.0,
    "aria-label": 1.0,
    "title": 0.5,
    "placeholder": 1.0,
    "testid": 2.0,
    "previous": 0.75,
    "next": 0.75,
    "row": 1.0,
    "group": 0.5,
    "heading": 0.5,
    "box": 0.5,
    "index": 0.25,
    "frame": 1.0,
    "place": 1.0,
}
"""Each property's weight in the mean; only properties the fingerprint has are counted."""

_LISTED = 5
_NAMED = ("name", "text", "label", "aria-label")
_NEAR_PX = 400.0

# Attributes, sibling text, position among siblings and fieldset legend of elements given by
# css path (the same facts the recorder keeps in a fingerprint). Run once per frame; the page is
# read through safe_dom.js (a form's controls cannot stand in for its attributes).
_EXTRAS_JS = """(paths) => {
  const dom = /*@safe-dom*/;
  const ATTRS = ["id", "class", "name", "type", "href", "aria-label", "title", "placeholder",
    "data-testid"];
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "\\u2026" : s);
  function sibling(el, dir) {
    let cur = dir < 0 ? dom.previous(el) : dom.next(el);
    while (cur && !norm(dom.text(cur))) {
      cur = dir < 0 ? dom.previous(cur) : dom.next(cur);
    }
    return cur ? clip(norm(dom.text(cur)), 80) : "";
  }
  return JSON.stringify(paths.map((css) => {
    let el = null;
    try { el = dom.one(document, css); } catch (e) { el = null; }
    if (!el) return null;
    const attrs = {};
    for (const a of ATTRS) if (dom.has(el, a)) attrs[a] = dom.attr(el, a);
    const parent = dom.parentElement(el);
    return {attrs, index: parent ? [...dom.children(parent)].indexOf(el) : 0,
      prev: sibling(el, -1), next: sibling(el, 1)};
  }));
}"""


@dataclass(frozen=True)
class Extras:
    """What a snapshot entry lacks but a fingerprint has: attributes, neighbours, index."""

    attrs: Mapping[str, str]
    index: int = 0
    previous: str = ""
    next: str = ""


@dataclass(frozen=True)
class Scored:
    """One element and how well it matches a fingerprint (per-property similarities too)."""

    element: ElementInfo
    score: float
    parts: Mapping[str, float]

    def describe(self) -> str:
        """``button "Save" (near: ...) score 0.83``."""
        return f"{self.element.describe()} score {self.score:.2f}"


@dataclass(frozen=True)
class Healing:
    """The element chosen for a fingerprint, its score, and the runner-up it beat."""

    best: Scored
    runner_up: Scored | None

    @property
    def margin(self) -> float:
        """How far the best scored above the runner-up (1.0 when alone)."""
        return self.best.score - (self.runner_up.score if self.runner_up else 0.0)


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _norm(value: Any) -> str:
    return " ".join(str(value or "").split()).lower()


def _trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def text_similarity(a: Any, b: Any) -> float:
    """How alike two short texts are, in [0, 1]: the better of word overlap (Jaccard) and
    character-trigram overlap (Dice), case and spacing ignored."""
    x, y = _norm(a), _norm(b)
    if x == y:
        return 1.0
    if not x or not y:
        return 0.0
    wx, wy = set(_WORD.findall(x)), set(_WORD.findall(y))
    jaccard = len(wx & wy) / len(wx | wy) if wx and wy else 0.0
    tx, ty = _trigrams(x), _trigrams(y)
    return max(jaccard, 2 * len(tx & ty) / (len(tx) + len(ty)))


def _tokens(a: Any, b: Any) -> float:
    x, y = set(str(a or "").split()), set(str(b or "").split())
    if not x and not y:
        return 1.0
    return len(x & y) / len(x | y) if x | y else 0.0


def _equal(a: Any, b: Any) -> float:
    return 1.0 if _norm(a) == _norm(b) else 0.0


def _box(recorded: Sequence[float], box: tuple[float, float, float, float] | None) -> float:
    if box is None or len(recorded) != 4:
        return 0.0
    cx, cy = recorded[0] + recorded[2] / 2, recorded[1] + recorded[3] / 2
    dx, dy = box[0] + box[2] / 2 - cx, box[1] + box[3] / 2 - cy
    distance: float = (dx * dx + dy * dy) ** 0.5
    return max(0.0, 1.0 - distance / _NEAR_PX)


def _pairs(
    fingerprint: Mapping[str, Any], element: ElementInfo, extras: Extras | None
) -> dict[str, tuple[Any, Any, str]]:
    """property -> (recorded value, current value, how to compare) for present properties."""
    attrs: Mapping[str, Any] = fingerprint.get("attributes") or {}
    near: Mapping[str, Any] = fingerprint.get("near") or {}
    live: Mapping[str, str] = extras.attrs if extras else {}
    row, group, heading = [*element.context, "", "", ""][:3]
    typed = element.type if element.tag == "input" else None  # a snapshot types inputs only
    pairs: dict[str, tuple[Any, Any, str]] = {
        "tag": (fingerprint.get("tag"), element.tag, "equal"),
        "role": (fingerprint.get("role"), element.role, "equal"),
        "type": (attrs.get("type"), live.get("type", typed), "equal"),
        "name": (fingerprint.get("name"), element.name, "text"),
        "text": (fingerprint.get("text"), element.text, "text"),
        "label": (fingerprint.get("label"), element.label, "text"),
        "id": (attrs.get("id"), live.get("id", element.id), "text"),
        "class": (attrs.get("class"), live.get("class"), "tokens"),
        "attr-name": (attrs.get("name"), live.get("name"), "text"),
        "href": (attrs.get("href"), live.get("href", element.href), "text"),
        "aria-label": (attrs.get("aria-label"), live.get("aria-label"), "text"),
        "title": (attrs.get("title"), live.get("title"), "text"),
        "placeholder": (attrs.get("placeholder"), live.get("placeholder", element.placeholder),
                        "text"),
        "testid": (attrs.get("data-testid"), live.get("data-testid", element.testid), "equal"),
        "previous": (near.get("previous"), extras.previous if extras else None, "text"),
        "next": (near.get("next"), extras.next if extras else None, "text"),
        "row": (near.get("row"), row, "text"),
        "group": (near.get("group"), group, "text"),
        "heading": (near.get("heading"), heading, "text"),
    }  # fmt: skip
    position: Mapping[str, Any] = fingerprint.get("position") or {}
    if position.get("box"):
        pairs["box"] = (position["box"], element.box, "box")
    if extras is not None and "index" in position:
        pairs["index"] = (position["index"], extras.index, "index")
    if fingerprint.get("frame") or element.frame:
        pairs["frame"] = (list(fingerprint.get("frame") or ()), list(element.frame), "frame")
    return {k: v for k, v in pairs.items() if v[0] not in (None, "", [], {})}


def alone_in_place(fingerprint: Mapping[str, Any], elements: Sequence[ElementInfo]) -> set[int]:
    """Indexes of the visible elements that are alone in the recorded place.

    The place is the recorded role under the recorded heading: an element is alone there when
    it has that role, sits under that heading (the nearest one before it), and no other
    visible element does. A redesign renames ids, classes and placeholders; the heading a
    control sits under and that it is the one search box there usually stay.
    """
    role = fingerprint.get("role")
    heading = _norm((fingerprint.get("near") or {}).get("heading"))
    if not role or not heading:
        return set()
    there = [
        el.index
        for el in elements
        if el.visible and el.role == role and _norm([*el.context, "", "", ""][2]) == heading
    ]
    return set(there) if len(there) == 1 else set()


def score(
    fingerprint: Mapping[str, Any],
    element: ElementInfo,
    extras: Extras | None = None,
    *,
    alone: bool | None = None,
) -> Scored:
    """The weighted similarity of one element to a fingerprint, in [0, 1].

    Without ``extras`` the attributes and neighbours a snapshot lacks are left out of the mean
    (not counted as mismatches), so the score stays comparable for a quick check. ``alone``
    (from :func:`alone_in_place`, None when not known) counts the ``place`` property: 1.0 when
    the element is the only one of the recorded role under the recorded heading.
    """
    parts: dict[str, float] = {}
    total = weight_sum = 0.0
    pairs = _pairs(fingerprint, element, extras)
    if (
        alone is not None
        and fingerprint.get("role")
        and (fingerprint.get("near") or {}).get("heading")
    ):
        pairs["place"] = (True, alone, "equal-bool")
    for key, (recorded, current, how) in pairs.items():
        if extras is None and current is None:
            continue
        if how == "equal":
            value = _equal(recorded, current)
        elif how == "equal-bool":
            value = 1.0 if recorded == current else 0.0
        elif how == "tokens":
            value = _tokens(recorded, current)
        elif how == "box":
            value = _box(recorded, current)
        elif how in ("index", "frame"):
            value = 1.0 if recorded == current else 0.0
        else:
            value = text_similarity(recorded, current)
        parts[key] = value
        total += WEIGHTS[key] * value
        weight_sum += WEIGHTS[key]
    return Scored(element, total / weight_sum if weight_sum else 0.0, parts)


def agrees(fingerprint: Mapping[str, Any], element: ElementInfo) -> bool:
    """Whether an element a locator found still looks like the recorded one.

    A quick check on what the snapshot entry knows: the accessible name is the recorded one
    and the overall score reaches ``VERIFY``. A locator match that fails it (a css path now
    pointing at a neighbour, a name hint now matching "Save later" as a substring) is not
    acted on: the whole page is scored instead, where the threshold and margin apply.
    """
    recorded = fingerprint.get("name")
    if recorded is not None and _norm(recorded) != _norm(element.name):
        return False
    return score(fingerprint, element).score >= VERIFY


def rank(
    fingerprint: Mapping[str, Any],
    elements: Sequence[ElementInfo],
    extras: Mapping[int, Extras] | None = None,
) -> list[Scored]:
    """Visible elements scored against a fingerprint, best first."""
    extras = extras or {}
    alone = alone_in_place(fingerprint, elements)
    scored = [
        score(fingerprint, el, extras.get(el.index), alone=el.index in alone)
        for el in elements
        if el.visible
    ]
    return sorted(scored, key=lambda s: -s.score)


def choose(
    fingerprint: Mapping[str, Any],
    elements: Sequence[ElementInfo],
    extras: Mapping[int, Extras] | None = None,
    *,
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
    step: str | None = None,
    location: str | None = None,
) -> Healing:
    """The one element that matches the fingerprint clearly enough, or a GroundingError.

    Refuses (code ``heal-refused``) when the best score is under ``threshold``, when its
    name, text and label are all unlike the recorded ones (under ``NAME_GATE``), or when it
    is within ``margin`` of the runner-up, unless exactly one element on the page reaching
    ``threshold`` has the recorded name, label or placeholder and it is among those close ones
    (it is then chosen); the error lists the top candidates with scores.
    """
    ranked = rank(fingerprint, elements, extras)
    described = _describe(fingerprint)
    if not ranked:
        raise GroundingError(
            f"cannot heal {described}: the page has no visible element",
            step=step, location=location, code="heal-refused",
        )  # fmt: skip
    best = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else None
    listing = [s.describe() for s in ranked[:_LISTED]]
    if best.score < threshold:
        raise GroundingError(
            f"cannot heal {described}: the closest element scores {best.score:.2f}, under the "
            f"threshold {threshold:.2f}",
            step=step, location=location, candidates=listing, code="heal-refused",
        )  # fmt: skip
    named = [best.parts[k] for k in _NAMED if k in best.parts]
    if named and max(named) < NAME_GATE and not _renamed_hint(fingerprint, best):
        raise GroundingError(
            f"cannot heal {described}: the closest element, {best.describe()}, has another "
            "name",
            step=step, location=location, candidates=listing, code="heal-refused",
        )  # fmt: skip
    if runner_up is not None and best.score - runner_up.score < margin:
        close = [s for s in ranked if best.score - s.score < margin]
        exact = [s for s in ranked if s.score >= threshold and _says(fingerprint, s.element)]
        if len(exact) == 1 and exact[0] in close and _named(exact[0]):
            chosen = exact[0]
            others = [s for s in ranked if s is not chosen]
            return Healing(chosen, others[0] if others else None)
        raise GroundingError(
            f"cannot heal {described}: two elements score too close ({best.score:.2f} and "
            f"{runner_up.score:.2f}, margin {margin:.2f})",
            step=step, location=location, candidates=listing, code="heal-refused",
        )  # fmt: skip
    return Healing(best, runner_up)


def _says(fingerprint: Mapping[str, Any], element: ElementInfo) -> bool:
    """Whether the element's name, label or placeholder is exactly the recorded one."""
    attrs: Mapping[str, Any] = fingerprint.get("attributes") or {}
    recorded = {
        _norm(v)
        for v in (fingerprint.get("name"), fingerprint.get("label"), attrs.get("placeholder"))
        if _norm(v)
    }
    return bool(recorded & {_norm(element.name), _norm(element.label), _norm(element.placeholder)})


def _renamed_hint(fingerprint: Mapping[str, Any], scored: Scored) -> bool:
    """Whether a changed name is only a changed placeholder of a field alone in its place.

    A field named by its placeholder alone (no label, no text, no aria-label) is named by hint
    text that redesigns rewrite freely ("Search pets" to "Find a pet by name"). Its name may
    then differ when the element is the only one of its role under the recorded heading and
    its tag is the recorded one. A button or link keeps the name gate: "Save" replaced by
    "Archive" is another action, not a redesign.
    """
    attrs: Mapping[str, Any] = fingerprint.get("attributes") or {}
    placeholder = _norm(attrs.get("placeholder"))
    if not placeholder or _norm(fingerprint.get("name")) not in ("", placeholder):
        return False
    if fingerprint.get("label") or fingerprint.get("text") or attrs.get("aria-label"):
        return False
    return scored.parts.get("place") == 1.0 and scored.parts.get("tag") == 1.0


def _named(scored: Scored) -> bool:
    named = [scored.parts[k] for k in _NAMED if k in scored.parts]
    return not named or max(named) >= NAME_GATE


def _describe(fingerprint: Mapping[str, Any]) -> str:
    what = fingerprint.get("role") or fingerprint.get("tag") or "element"
    name = fingerprint.get("name") or fingerprint.get("label") or fingerprint.get("text") or ""
    return f'{what} "{str(name)[:60]}"'


def extras_of(page: Page, elements: Sequence[ElementInfo]) -> dict[int, Extras]:
    """Attributes, sibling text and index of the top frame's elements (by snapshot index).

    Elements inside iframes or shadow roots are left out; they are scored on what the
    snapshot itself knows.
    """
    wanted = [el for el in elements if el.visible and not el.frame and not el.shadow]
    try:
        raw = json.loads(page.evaluate(with_safe_dom(_EXTRAS_JS), [el.css for el in wanted]))
    except PlaywrightError:
        return {}
    found: dict[int, Extras] = {}
    for el, item in zip(wanted, raw, strict=False):
        if item:
            found[el.index] = Extras(
                {str(k): str(v) for k, v in item["attrs"].items()},
                int(item["index"]),
                str(item["prev"]),
                str(item["next"]),
            )
    return found


def heal(
    page: Page,
    fingerprint: Mapping[str, Any],
    *,
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
    step: str | None = None,
    location: str | None = None,
) -> Healing:
    """Snapshot the page and :func:`choose` the element its fingerprint describes."""
    elements = snapshot(page)
    return choose(
        fingerprint, elements, extras_of(page, elements),
        threshold=threshold, margin=margin, step=step, location=location,
    )  # fmt: skip
