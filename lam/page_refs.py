"""A page as an agent reads it: the actionable elements as text, each with a ref (``[ref=e3]``).

:class:`PageSnapshot` wraps the page model of :mod:`lam.adapters.browser.page_model` (one
:class:`~lam.adapters.browser.page_model.ElementInfo` per interactive element) with the refs a
model names elements by, in the shape Playwright MCP uses, so an agent that knows one knows the
other. A ref is stable: :class:`RefBook` gives the same element on the same page the same ref
in every snapshot of a session, and an element of another page (or a page since left) a ref the
current snapshot does not hold, so a stale ref is an error, never a click on something else.

:meth:`PageSnapshot.target` turns a ref back into locator hints of lam's plan format: the most
robust hint mapping that names that element alone among the snapshot's elements of its frame
(``role``+``name``, ``label``...), else its css path. The step written with them replays.

Pure code: nothing here imports the browser driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag

from lam.errors import GroundingError

if TYPE_CHECKING:
    from lam.adapters.browser.page_model import ElementInfo

__all__ = ["PageSnapshot", "RefBook"]

_SHOWN = 80  # characters of a name or value shown in the text


@dataclass(frozen=True)
class PageSnapshot:
    """The current page: its URL and title, and its visible actionable elements with refs.

    ``elements`` and ``refs`` are parallel. ``url`` is None when the session has no page yet.
    """

    url: str | None
    title: str = ""
    elements: tuple[ElementInfo, ...] = ()
    refs: tuple[str, ...] = ()
    _by_ref: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.refs) != len(self.elements):
            raise ValueError("a snapshot needs one ref per element")
        object.__setattr__(self, "_by_ref", {ref: i for i, ref in enumerate(self.refs)})

    def text(self) -> str:
        """The page as text: a header, then one line per element with its ``[ref=eN]``."""
        lines = [f"- Page URL: {self.url or '(no page)'}"]
        if self.title:
            lines.append(f"- Page Title: {self.title}")
        lines.append("- Page Snapshot:")
        for ref, element in zip(self.refs, self.elements, strict=True):
            lines.append(f"  - {_line(element)} [ref={ref}]")
        if not self.elements:
            lines.append("  - (no actionable element)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def element(self, ref: str) -> ElementInfo:
        """The element behind ``ref``; a ref not in this snapshot is a GroundingError."""
        index = self._by_ref.get(ref.strip())
        if index is None:
            raise GroundingError(
                f"ref {ref!r} is not on the current page {self.url or '(no page)'}: it is "
                "stale or from another page; take a new snapshot and use its refs",
                code="stale-ref",
            )
        return self.elements[index]

    def find(self, name: str, *, role: str | None = None) -> str:
        """The ref of the one element called ``name`` (case and spacing ignored), of ``role``
        when given; none or several is a GroundingError listing what there is."""
        wanted = _norm(name)
        found = [
            ref
            for ref, e in zip(self.refs, self.elements, strict=True)
            if _norm(e.name) == wanted and (role is None or e.role == role)
        ]
        if len(found) != 1:
            what = f"{role} {name!r}" if role else repr(name)
            listed = [f"{r}: {_line(self.element(r))}" for r in found]
            raise GroundingError(
                f"{len(found) or 'no'} element(s) called {what} on {self.url or '(no page)'}",
                candidates=listed, code="ambiguous" if found else "not-found",
            )  # fmt: skip
        return found[0]

    def target(self, ref: str) -> dict[str, Any]:
        """Locator hints (plan format) that name the element behind ``ref`` and no other
        element of this snapshot in its frame: the first of its locators that is unique,
        else its css path (unique by construction)."""
        element = self.element(ref)
        same_frame = [e for e in self.elements if e.frame == element.frame and e is not element]
        chosen: dict[str, Any] = {"css": element.css}
        for hints in element.locators:
            if "css" in hints or "xpath" in hints:
                break
            if not any(_same_hints(hints, other) for other in same_frame):
                chosen = dict(hints)
                break
        if element.frame:
            chosen["frame"] = list(element.frame)
        return chosen

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping: url, title and each element with its ref."""
        return {
            "url": self.url,
            "title": self.title,
            "elements": [
                {"ref": ref, **element.to_dict()}
                for ref, element in zip(self.refs, self.elements, strict=True)
            ],
        }


def _same_hints(hints: Mapping[str, Any], other: ElementInfo) -> bool:
    """Whether ``other`` would also answer ``hints`` (the same attribute values, case and
    spacing ignored: locators match names as substrings, then prefer the exact one)."""
    for key, value in hints.items():
        theirs = getattr(other, key, None) if key != "testid" else other.testid
        if _norm(theirs) != _norm(value):
            return False
    return True


def _norm(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def _line(element: ElementInfo) -> str:
    role = element.role or element.tag
    name = _clip(element.name)
    parts = [f'{role} "{name}"' if name else role]
    if element.value and element.type != "password":  # a password field's value is not shown
        parts.append(f'value="{_clip(element.value)}"')
    if element.checked is not None:
        parts.append("[checked]" if element.checked else "[unchecked]")
    if element.disabled:
        parts.append("[disabled]")
    if element.expanded is not None:
        parts.append("[expanded]" if element.expanded else "[collapsed]")
    if element.selected:
        parts.append("[selected]")
    if element.href:
        parts.append(f"[url={element.href[:_SHOWN]}]")
    near = next((c for c in element.context if c and _norm(c) != _norm(element.name)), "")
    if near:
        parts.append(f"(in: {_clip(near)})")
    if element.frame:
        parts.append(f"[frame {' > '.join(element.frame)}]")
    return " ".join(parts)


def _clip(text: str) -> str:
    flat = " ".join(text.split()).replace('"', "'")
    return flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…"


class RefBook:
    """Hands out refs for one session: the same element of the same page keeps its ref from
    snapshot to snapshot; anything new gets the next number. An element is the same when its
    page (URL without fragment), frame, css path, role and name are."""

    def __init__(self) -> None:
        self._refs: dict[tuple[Any, ...], str] = {}

    def snapshot(
        self, url: str | None, elements: Sequence[ElementInfo], *, title: str = ""
    ) -> PageSnapshot:
        """A :class:`PageSnapshot` of the visible elements, with their refs."""
        page = urldefrag(url or "")[0]
        shown = tuple(e for e in elements if e.visible)
        refs = []
        for element in shown:
            key = (page, element.frame, element.css, element.role, element.name)
            ref = self._refs.get(key)
            if ref is None:
                ref = f"e{len(self._refs) + 1}"
                self._refs[key] = ref
            refs.append(ref)
        return PageSnapshot(url, title, shown, tuple(refs))
