"""Where a named text is on the page, and what reveals it when it is hidden.

The page snapshot lists controls; a link that is a ``<span>`` with a script's click handler, in
a tab panel that is not shown or an accordion section that is collapsed, is not among them. The
planner names such a target by its quoted text ("click on the link "aliquet""), and
:func:`sightings` tells it where that text is: each element whose own text is exactly it, shown
or not, and for a hidden one the disclosure control that shows it: the visible element whose
``aria-controls`` or ``href="#id"`` names the hidden panel around it, the ``<summary>`` of a
closed ``<details>``, or the collapsed header (``aria-expanded="false"``, a tab) just before the
panel. Only those structural links count: a text in a hidden panel that nothing names as its
disclosure has no revealer, and the planner refuses it rather than open things at random.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["Sighting", "TextBlock", "sightings", "text_blocks"]


@dataclass(frozen=True)
class Sighting:
    """One element whose own text is ``text``: shown or not, where, and what reveals it.

    ``text`` is case-folded and ``said`` as written; ``css`` is a css path unique in the page
    (empty: no element says the text); ``revealer`` the css path of the visible
    disclosure control that shows the element (empty when it is shown, or when nothing
    structurally reveals it); ``revealer_name`` that control's text.
    """

    text: str
    visible: bool
    css: str
    revealer: str = ""
    revealer_name: str = ""
    said: str = ""  # the text as the page writes it (``text`` is case-folded)


_JS = r"""([texts, outside]) => {
  const norm = s => (s || "").replace(/\s+/g, " ").trim().toLowerCase();
  const wanted = new Set(texts.map(norm));
  const shown = el => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    const st = getComputedStyle(el);
    return st.visibility !== "hidden" && st.display !== "none";
  };
  const cssOf = el => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (e.id && document.querySelectorAll("#" + CSS.escape(e.id)).length === 1) {
        parts.unshift("#" + CSS.escape(e.id));
        return parts.join(" > ");
      }
      const tag = e.localName;
      if (tag === "html" || tag === "body") { parts.unshift(tag); continue; }
      let n = 1;
      for (let s = e.previousElementSibling; s; s = s.previousElementSibling)
        if (s.localName === tag) n++;
      parts.unshift(`${tag}:nth-of-type(${n})`);
    }
    return parts.join(" > ");
  };
  const revealerOf = el => {
    // the outermost hidden ancestor whose parent is shown: the panel to open
    let panel = null;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      if (!shown(a) && a.parentElement && shown(a.parentElement)) { panel = a; break; }
      if (a.localName === "details" && !a.open) { panel = a; break; }
    }
    if (!panel) return null;
    if (panel.localName === "details") {
      const summary = panel.querySelector(":scope > summary");
      return summary && shown(summary) ? summary : null;
    }
    if (panel.id) {
      const id = CSS.escape(panel.id);
      for (const c of document.querySelectorAll(`[aria-controls~="${panel.id}"], a[href="#${panel.id}"]`))
        if (shown(c)) return c;
    }
    const before = panel.previousElementSibling;
    if (before && shown(before) && (before.getAttribute("aria-expanded") === "false" ||
        before.getAttribute("role") === "tab")) return before;
    return null;
  };
  const out = [];
  const skip = outside ? [...document.querySelectorAll(outside)] : [];
  for (const el of document.body.querySelectorAll("*")) {
    if (skip.some(s => s.contains(el))) continue;
    if (["script", "style", "option"].includes(el.localName)) continue;
    const text = norm(el.textContent);
    if (!wanted.has(text)) continue;
    // the innermost element with that text: not one whose child says it all
    if ([...el.children].some(c => norm(c.textContent) === text)) continue;
    const visible = shown(el);
    const rev = visible ? null : revealerOf(el);
    const said = (el.textContent || "").replace(/\s+/g, " ").trim();
    out.push({text, said, visible, css: cssOf(el), revealer: rev ? cssOf(rev) : "",
              revealer_name: rev ? norm(rev.textContent).slice(0, 80) : ""});
  }
  return out;
}"""


def sightings(page: Page, texts: Iterable[str], *, outside: str = "") -> list[Sighting]:
    """Every element of the top frame whose own text is one of ``texts`` (case and spacing
    ignored), shown or hidden, with the disclosure control of each hidden one. A text no
    element says comes back as one Sighting with an empty ``css``: looked for, not there.

    ``outside`` is a css selector of parts of the page that are not the application (a test
    harness that shows the goal itself): nothing inside them is sighted."""
    wanted = [t for t in texts if t.strip()]
    if not wanted:
        return []
    found = page.evaluate(_JS, [wanted, outside])
    folded = {" ".join(t.casefold().split()) for t in wanted}
    missing = folded - {str(f["text"]) for f in found}
    return [Sighting(text, False, "") for text in sorted(missing)] + [
        Sighting(
            str(f["text"]),
            bool(f["visible"]),
            str(f["css"]),
            str(f["revealer"]),
            str(f["revealer_name"]),
            str(f["said"]),
        )
        for f in found
    ]


@dataclass(frozen=True)
class TextBlock:
    """Text the page shows outside its controls: a table row's cells, or a paragraph."""

    kind: str  # "row" or "paragraph"
    cells: tuple[str, ...]


_BLOCKS_JS = r"""outside => {
  const norm = s => (s || "").replace(/\s+/g, " ").trim();
  const shown = el => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; };
  const skip = outside ? [...document.querySelectorAll(outside)] : [];
  const out = [];
  for (const el of document.body.querySelectorAll("tr, p")) {
    if (skip.some(s => s.contains(el)) || !shown(el)) continue;
    if (el.localName === "tr")
      out.push({kind: "row", cells: [...el.children].map(c => norm(c.innerText))});
    else
      out.push({kind: "paragraph", cells: [norm(el.innerText)]});
  }
  return out.slice(0, 500);
}"""


def text_blocks(page: Page, *, outside: str = "") -> list[TextBlock]:
    """The shown table rows (their cells' text) and paragraphs of the top frame, in order;
    ``outside`` as for :func:`sightings`."""
    found = page.evaluate(_BLOCKS_JS, outside)
    return [TextBlock(str(f["kind"]), tuple(str(c) for c in f["cells"])) for f in found]
