"""What the guard needs to know about an element before lam acts on it.

:func:`element_facts` reads, in one call into the page, the element's tag, role, accessible
name, text and telling attributes, the form around it (method, action, whether it asks for a
password) and the dialog around it with its text, so :mod:`lam.risk` can classify the action
("Delete" inside a "Delete project?" dialog reads differently from a plain "Delete" link).
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page

from lam.adapters.browser.snapshot import describe_element

__all__ = ["FACT_ATTRIBUTES", "element_facts"]

FACT_ATTRIBUTES = (
    "id", "class", "title", "aria-label", "type", "value", "name", "href", "data-testid",
)  # fmt: skip

_FACTS_JS = """
(el, attrs) => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const attributes = {};
  for (const a of attrs) {
    let v = el.getAttribute(a);
    if (a === "value" && el.localName === "input" && el.type === "password") v = null;
    if (v !== null) attributes[a] = v;
  }
  const form = el.form || el.closest("form");
  const dialog = el.closest("dialog,[role=dialog],[role=alertdialog],[aria-modal=true]");
  return JSON.stringify({
    tag: el.localName,
    text: norm(el.innerText || el.textContent).slice(0, 300),
    attributes,
    form: form ? {
      method: (form.getAttribute("method") || "get").toLowerCase(),
      action: form.action || "",
      has_password: !!form.querySelector("input[type=password]"),
    } : null,
    in_dialog: !!dialog,
    dialog_text: dialog ? norm(dialog.innerText || dialog.textContent).slice(0, 500) : "",
  });
}
"""


def element_facts(page: Page, locator: Locator, *, timeout_ms: float = 5_000) -> dict[str, Any]:
    """A plain mapping describing the element for the guard.

    Keys: ``tag``, ``role``, ``name`` (accessible name), ``text``, ``attributes`` (those in
    :data:`FACT_ATTRIBUTES` that are present; a password field's value never), ``form``
    (``method``, ``action`` as an absolute URL, ``has_password``) or None, ``in_dialog`` and
    ``dialog_text``, and ``url`` of the page.
    """
    raw: dict[str, Any] = json.loads(
        locator.evaluate(_FACTS_JS, list(FACT_ATTRIBUTES), timeout=timeout_ms)
    )
    info = describe_element(locator, timeout_ms=timeout_ms)
    raw["role"] = info.role
    raw["name"] = info.name
    raw["url"] = page.url
    return raw
