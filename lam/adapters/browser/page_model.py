"""The page model: the elements of a page as plain values, free of the browser driver.

:class:`ElementInfo` is one interactive element as a snapshot saw it; :func:`elements_from_json`
reads them from the JSON text snapshot.js returns. Nothing here imports Playwright, so pure
logic over pages (grounding, the no-model planner, recordings) runs without a browser installed;
:mod:`lam.adapters.browser.snapshot` is the part that asks a live page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

__all__ = ["ElementInfo", "elements_from_json", "xpath_of"]


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
