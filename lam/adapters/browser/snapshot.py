"""Page snapshots: the interactive elements of every frame, with names, state and locators.

One ``page.evaluate`` per frame runs ``snapshot.js``, which walks the DOM (and open shadow roots)
once and returns JSON text. Each element comes back as an :class:`ElementInfo`: what a person
would call it (role, accessible name, label, nearby text), its state, where it is, and a few
locator hint mappings that :func:`lam.adapters.browser.locators.resolve_target` accepts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Locator, Page

__all__ = [
    "ElementInfo",
    "describe_element",
    "elements_from_json",
    "frame_path",
    "snapshot",
    "snapshot_frame",
    "snapshot_js",
    "with_safe_dom",
    "xpath_of",
]


@dataclass(frozen=True)
class ElementInfo:
    """One interactive element as the snapshot saw it.

    ``frame`` is the chain of iframe css selectors from the top page down to the element's
    frame (empty for the top frame); ``shadow`` the css paths of the shadow hosts around it.
    ``locators`` are hint mappings, most robust first; ``context`` is nearby text (row, group,
    heading) used to tell look-alike elements apart.
    """

    index: int
    role: str
    name: str
    tag: str
    visible: bool
    type: str = ""
    text: str = ""
    value: str | None = None
    label: str = ""
    placeholder: str = ""
    testid: str | None = None
    id: str = ""
    href: str = ""
    checked: bool | None = None
    disabled: bool = False
    expanded: bool | None = None
    selected: bool | None = None
    box: tuple[float, float, float, float] | None = None
    frame: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()
    css: str = ""
    hint_kinds: str = ""
    context: tuple[str, ...] = ()

    @cached_property
    def locators(self) -> tuple[dict[str, Any], ...]:
        """Locator hint mappings for this element, most robust first (css and xpath last).

        Made on first use: a snapshot of thousands of elements rarely needs more than a few.
        """
        made: list[dict[str, Any]] = []
        for letter in self.hint_kinds:
            if letter == "d":
                made.append({"testid": self.testid})
            elif letter == "r":
                made.append({"role": self.role, "name": self.name})
            elif letter == "l":
                made.append({"label": self.label})
            elif letter == "p":
                made.append({"placeholder": self.placeholder})
            elif letter == "t":
                made.append({"text": self.text})
        made.append({"css": self.css})
        xpath = xpath_of(self.css, in_shadow=bool(self.shadow))
        if xpath:
            made.append({"xpath": xpath})
        return tuple(made)

    def describe(self) -> str:
        """A short human description: ``button "Save" (in: Orders)``."""
        what = self.role or self.tag
        where = next((c for c in self.context if c), "")
        frame = f" [frame {' > '.join(self.frame)}]" if self.frame else ""
        hidden = "" if self.visible else " (hidden)"
        near = f" (near: {where[:60]})" if where and where != self.name else ""
        return f'{what} "{self.name[:60]}"{near}{frame}{hidden}'

    def hints(self) -> dict[str, Any]:
        """The best locator hints for this element, with its frame path when it has one."""
        best: dict[str, Any] = dict(self.locators[0]) if self.locators else {"css": self.css}
        if self.frame:
            best["frame"] = list(self.frame)
        return best

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (for traces and recordings)."""
        return {
            "role": self.role,
            "name": self.name,
            "tag": self.tag,
            "text": self.text,
            "label": self.label,
            "placeholder": self.placeholder,
            "testid": self.testid,
            "visible": self.visible,
            "box": list(self.box) if self.box else None,
            "frame": list(self.frame),
            "css": self.css,
        }


_SAFE_DOM = "/*@safe-dom*/"


@cache
def _safe_dom() -> str:
    return (resources.files(__package__) / "safe_dom.js").read_text(encoding="utf-8").strip()


def with_safe_dom(js: str) -> str:
    """A page script with its ``/*@safe-dom*/`` marker replaced by safe_dom.js: the helpers
    through which lam reads the page, which a page cannot clobber (a form control named
    ``action`` shadows ``form.action``; an image named ``querySelectorAll`` shadows
    ``document.querySelectorAll``)."""
    return js.replace(_SAFE_DOM, _safe_dom())


@cache
def snapshot_js() -> str:
    """The source of snapshot.js (with its safe DOM helpers), read once from the package."""
    source = (resources.files(__package__) / "snapshot.js").read_text(encoding="utf-8")
    return with_safe_dom(source)


def xpath_of(css: str, *, in_shadow: bool = False) -> str | None:
    """The XPath equivalent of a css path made by snapshot.js (None inside shadow DOM)."""
    if in_shadow:
        return None
    steps = []
    for part in css.split(" > "):
        if part.startswith("#"):
            steps = [f"//*[@id='{part[1:]}']"]
        elif ":nth-of-type(" in part:
            tag, _, n = part.partition(":nth-of-type(")
            steps.append(f"{tag}[{n.rstrip(')')}]")
        else:
            steps.append(part)
    head = steps[0] if steps and steps[0].startswith("//") else "/" + steps[0]
    return "/".join([head, *steps[1:]])


def _element(
    raw: Mapping[str, Any], strings: Sequence[str], index: int, frame: tuple[str, ...]
) -> ElementInfo:
    box = raw.get("box")
    name = raw["name"]
    text = raw.get("text", name)
    return ElementInfo(
        index=index,
        role=raw["role"],
        name=name,
        tag=raw["tag"],
        visible=bool(raw["visible"]),
        type=raw.get("type", ""),
        text=text,
        value=raw.get("value"),
        label=raw.get("label", ""),
        placeholder=raw.get("placeholder", ""),
        testid=raw.get("testid"),
        id=raw.get("id", ""),
        href=raw.get("href", ""),
        checked=raw.get("checked"),
        disabled=bool(raw.get("disabled", False)),
        expanded=raw.get("expanded"),
        selected=raw.get("selected"),
        box=(box[0], box[1], box[2], box[3]) if box else None,
        frame=frame,
        shadow=tuple(raw.get("shadow", ())),
        css=raw["css"],
        hint_kinds=raw.get("loc", ""),
        context=tuple(strings[i] for i in raw["context"]),
    )


def elements_from_json(
    text: str, *, start: int = 0, frame: Sequence[str] = ()
) -> list[ElementInfo]:
    """The elements of snapshot.js's JSON (a frame's snapshot or one described element),
    indexed from ``start``, in the frame reached by the iframe selectors ``frame``."""
    data = json.loads(text)
    frame = tuple(frame)
    strings = data["strings"]
    return [_element(raw, strings, start + i, frame) for i, raw in enumerate(data["items"])]


def snapshot_frame(
    frame: Frame, *, path: tuple[str, ...] = (), start: int = 0
) -> list[ElementInfo]:
    """The interactive elements of one frame (its own DOM and open shadow roots)."""
    text = frame.evaluate(snapshot_js(), {"mode": "snapshot"})
    return elements_from_json(text, start=start, frame=path)


def describe_element(
    locator: Locator, *, frame: Sequence[str] = (), timeout_ms: float = 5_000
) -> ElementInfo:
    """The snapshot entry of the one element ``locator`` points at (which must exist)."""
    text = locator.evaluate(snapshot_js(), timeout=timeout_ms)
    return elements_from_json(text, frame=frame)[0]


def frame_path(frame: Frame) -> tuple[str, ...]:
    """The iframe css selectors leading from the top page down to ``frame``."""
    path: list[str] = []
    current = frame
    while current.parent_frame is not None:
        parent = current.parent_frame
        handle = current.frame_element()
        try:
            css = json.loads(parent.evaluate(snapshot_js(), {"mode": "csspath", "el": handle}))
        finally:
            handle.dispose()
        path.insert(0, css)
        current = parent
    return tuple(path)


def snapshot(page: Page, *, frames: bool = True) -> list[ElementInfo]:
    """Every interactive element on the page, top frame first, then each iframe.

    Frames that vanish or cannot be read while the snapshot is taken are skipped: a snapshot
    describes what could be seen, it does not fail because an ad frame navigated.
    """
    elements = snapshot_frame(page.main_frame)
    if not frames:
        return elements
    for frame in _child_frames(page.main_frame):
        try:
            path = frame_path(frame)
            elements.extend(snapshot_frame(frame, path=path, start=len(elements)))
        except PlaywrightError:
            continue
    return elements


def _child_frames(frame: Frame) -> Sequence[Frame]:
    found: list[Frame] = []
    for child in frame.child_frames:
        if child.is_detached():
            continue
        found.append(child)
        found.extend(_child_frames(child))
    return found
