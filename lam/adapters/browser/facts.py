"""What the guard needs to know about an element before lam acts on it.

:func:`element_facts` reads, in one call into the page, the element's tag, role, accessible
name, text and telling attributes, the form around it (method, action, whether it asks for a
password) and the dialog around it with its text, so :mod:`lam.risk` can classify the action
("Delete" inside a "Delete project?" dialog reads differently from a plain "Delete" link).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from playwright.sync_api import Locator, Page

from lam.adapters.browser.snapshot import ElementInfo, describe_element, with_safe_dom
from lam.risk import ElementFacts

__all__ = ["FACT_ATTRIBUTES", "element_facts", "facts_js", "guard_facts"]

FACT_ATTRIBUTES = (
    "id", "class", "title", "aria-label", "type", "value", "name", "href", "data-testid",
    "data-method", "formaction", "formmethod",
)  # fmt: skip

_FACTS_JS = """
(el, attrs) => {
  // Read through safe_dom.js: a form whose control is named "action" or "method" would
  // otherwise report the control as its action (DOM clobbering).
  const dom = /*@safe-dom*/;
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const tag = dom.tag(el);
  const attributes = {};
  for (const a of attrs) {
    let v = dom.attr(el, a);
    if (a === "value" && tag === "input" &&
        (dom.attr(el, "type") || "").toLowerCase() === "password") v = null;
    if (v !== null) attributes[a] = v;
  }
  // A control's form owner (its form attribute or the form around it); a form's own `form`
  // and `formAction` would be its controls of those names, so they are not read on a form.
  const form = (tag !== "form" && el.form) || dom.closest(el, "form");
  const dialog = dom.closest(el, "dialog,[role=dialog],[role=alertdialog],[aria-modal=true]");
  if (!norm(dom.innerText(el))) {  // an icon-only control is read by its icons (lam.risk.ui)
    const icons = [];
    for (const d of [...dom.all(el, "i,svg,use,span,img,[data-icon]")].slice(0, 12))
      for (const a of ["class", "data-icon", "href", "xlink:href", "alt"])
        if (dom.attr(d, a)) icons.push(dom.attr(d, a));
    if (icons.length) attributes.icon = icons.join(" ").slice(0, 300);
  }
  // A credentials form (lam.runtime.sign_in): one password field, visible and not a new one, and
  // one visible user field; nothing else a person fills in but checkboxes.
  const credentials = (f) => {
    const type = (c) => (dom.attr(c, "type") || "text").toLowerCase();
    const shown = (c) => dom.shown(c, {visibilityProperty: true, opacityProperty: true});
    const fields = [...dom.all(f, "input,select,textarea")];
    const pw = fields.filter((c) => dom.tag(c) === "input" && type(c) === "password");
    if (pw.length !== 1 || !shown(pw[0])) return false;
    if ((dom.attr(pw[0], "autocomplete") || "").toLowerCase().includes("new-password")) return false;
    const quiet = ["hidden", "password", "checkbox", "submit", "button", "image", "reset"];
    const filled = fields.filter((c) => shown(c) && !(dom.tag(c) === "input" && quiet.includes(type(c))));
    if (filled.length !== 1 || dom.tag(filled[0]) !== "input") return false;
    if (!["text", "email", "tel"].includes(type(filled[0]))) return false;
    const says = ["name", "id", "autocomplete", "type"].map((a) => dom.attr(filled[0], a) || "");
    return /user|e-?mail|login|identifier|account|phone/i.test(says.join(" "));
  };
  return JSON.stringify({
    tag,
    text: norm(dom.innerText(el)).slice(0, 300),
    attributes,
    form_method: form ? (dom.attr(el, "formmethod") || dom.attr(form, "method") || "get")
      .toLowerCase() : null,
    form_action: form ? (tag !== "form" && dom.has(el, "formaction") ? el.formAction :
      dom.formAction(form)) : null,
    form_has_password: !!(form && dom.one(form, "input[type=password]")),
    form_credentials: !!form && credentials(form),
    in_dialog: !!dialog,
    dialog_text: dialog ? norm(dom.innerText(dialog)).slice(0, 500) : "",
  });
}
"""


def facts_js() -> str:
    """The page-side reader, ``(el, attrs) => JSON text`` (:data:`FACT_ATTRIBUTES` as
    ``attrs``), for callers that read the facts inside a larger evaluate."""
    return _facts_js()


@cache
def _facts_js() -> str:
    return with_safe_dom(_FACTS_JS)


def element_facts(
    page: Page,
    locator: Locator,
    *,
    timeout_ms: float = 5_000,
    info: ElementInfo | None = None,
    read: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A plain mapping describing the element for the guard, keyed like ElementFacts' fields.

    Keys: ``tag``, ``role``, ``name`` (accessible name), ``text``, ``attributes`` (those in
    :data:`FACT_ATTRIBUTES` that are present; a password field's value never), ``form_method``
    and ``form_action`` (absolute URL; a submit button's own formmethod/formaction win) or None
    outside a form, ``form_has_password``, ``form_credentials`` (a sign-in form, see
    :mod:`lam.runtime.sign_in`), ``in_dialog`` and ``dialog_text``; an icon-only control's icons
    come as the attribute ``icon``. ``info`` is the
    element's snapshot entry when the caller has just read it (its role and name are used
    instead of reading them again); ``read`` is :func:`facts_js`'s result when the caller
    read it in the same round trip as ``info`` (the page is then not asked again).
    """
    raw: dict[str, Any] = (
        dict(read)
        if read is not None
        else json.loads(locator.evaluate(_facts_js(), list(FACT_ATTRIBUTES), timeout=timeout_ms))
    )
    if info is None:
        info = describe_element(locator, timeout_ms=timeout_ms)
    raw["role"] = info.role or None
    raw["name"] = info.name
    return raw


def guard_facts(
    page: Page,
    locator: Locator,
    *,
    typing: bool = False,
    timeout_ms: float = 5_000,
    info: ElementInfo | None = None,
    read: Mapping[str, Any] | None = None,
) -> ElementFacts:
    """:func:`element_facts` as the :class:`lam.risk.ElementFacts` the guard classifies."""
    facts = element_facts(page, locator, timeout_ms=timeout_ms, info=info, read=read)
    return ElementFacts(**facts, typing=typing)
