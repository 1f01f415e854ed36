"""Risk classes of UI actions: what clicking this element, or typing into it, can do.

The rules, in the order they are tried (first that applies gives the class):

1. typing into a field (fill, select) is read: nothing changes until a form is submitted;
2. a label that declines ("No, take me back", "Keep my account", "Don't delete") is read;
3. a plain dismiss ("Cancel", "Close", "Dismiss", "×") inside a dialog, or marked as a dismiss
   control, is read; outside a dialog it is write, since what it cancels is unclear;
4. markers on the element (``data-method="delete"``, id/class/test id/icon saying danger/
   destroy/delete/remove/trash) make it destructive;
5. a label whose words say delete/remove/pay/send... is destructive; "Cancel X" and
   "Close account" are, "Close issue" is write; "Undo delete" is write;
6. a confirming control ("Yes", "Confirm", "OK") in a dialog whose text is about destroying,
   or one that says "I'm sure" / "I understand", is destructive;
7. a submit control: destructive when the form posts to a destructive-looking URL, read for a
   GET form (a search), write otherwise;
8. a link whose URL looks destructive (``/pets/3/delete``) is destructive, other links read;
9. a label saying save/create/update/submit... is write; checkboxes, radios, tabs, options are
   read; anything else is write (lam does not assume an unknown control is harmless).

Before the page is seen (``lam validate``) a target given as a CSS or Playwright selector is
read for the same words (:func:`selector_facts`): its class names, ids, test ids, aria-label
and title attributes, and its ``:has-text()``/``text=`` parts, so ``button.destroy`` and
``button:has-text('Delete Project')`` are destructive before the run starts. On the page, an
icon-only control is read by its icons (``<i class="fa fa-trash">``, ``<use href="#icon-delete">``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lam.risk.http import url_classification
from lam.risk.words import (
    CLOSE_OBJECTS,
    CONFIRM_PHRASES,
    DANGER_MARKERS,
    DISMISS_LEADS,
    DISMISS_WORDS,
    WRITE_WORDS,
    tokens,
    verb,
)
from lam.types import Classification, Risk

__all__ = [
    "READ_ACTIONS",
    "TYPING_ACTIONS",
    "ElementFacts",
    "classify_ui",
    "classify_ui_action",
    "selector_facts",
]

READ_ACTIONS = frozenset({"goto", "hover", "scroll", "wait", "assert", "extract"})
"""UI actions that only look."""

TYPING_ACTIONS = frozenset({"fill", "select", "check", "uncheck", "upload"})
"""UI actions that set a field's value; nothing is sent until a form is submitted."""

_LONG_TEXT = 12
_DISMISS_MARKERS = frozenset({"dismiss", "close", "cancel"})
_READ_ROLES = frozenset({"checkbox", "radio", "tab", "option", "treeitem", "menuitemradio"})
_UNDO_LEADS = frozenset({"undo", "restore", "recover", "unarchive", "undelete"})
_CANCEL_HARMLESS = frozenset({"edit", "editing", "changes", "change", "search", "filter"})
_STRONG_CONFIRMS: tuple[tuple[str, ...], ...] = (
    ("im", "sure"),
    ("i", "am", "sure"),
    ("i", "understand"),
)


@dataclass(frozen=True)
class ElementFacts:
    """What the guard knows about the element an action targets.

    ``name`` is the accessible name, ``text`` the visible text; ``attributes`` holds the
    telling HTML attributes (id, class, title, aria-label, type, value, name, href,
    data-testid, data-method...), ``icon`` the icons of an icon-only control, and ``css`` a
    selector the plan targets it by (before the page is seen). ``form_*`` describe the
    enclosing form, if any (``form_credentials``: it is a sign-in form, see
    :mod:`lam.runtime.sign_in`);
    ``dialog_text`` is the text of the enclosing dialog when ``in_dialog``; ``typing`` is true
    for fill/select.
    """

    tag: str | None = None
    role: str | None = None
    name: str = ""
    text: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    form_method: str | None = None
    form_action: str | None = None
    form_has_password: bool = False
    form_credentials: bool = False
    in_dialog: bool = False
    dialog_text: str = ""
    typing: bool = False

    @property
    def label(self) -> str:
        """The words a user reads on the control: accessible name, else text, value, title."""
        attrs = self.attributes
        for candidate in (
            self.name,
            self.text,
            attrs.get("aria-label", ""),
            attrs.get("value", ""),
        ):
            if candidate.strip():
                return " ".join(candidate.split())
        return " ".join(attrs.get("title", "").split())


def classify_ui_action(action: str, el: ElementFacts | None = None) -> Classification:
    """Classify a UI step's action; ``click`` and ``press`` look at the element."""
    if action in READ_ACTIONS:
        return Classification(Risk.READ, (f"{action} only looks",))
    if action in TYPING_ACTIONS:
        return Classification(
            Risk.READ, (f"{action} sets a field; nothing is sent until a form is submitted",)
        )
    if action == "click":
        if el is None:
            return Classification(Risk.WRITE, ("click on an element not yet known",))
        return classify_ui(el)
    if action == "press":
        if el is not None and el.form_method is not None:
            found = _submit(el, "pressing a key in a form may submit it")
            if found is not None:
                return found
        return Classification(Risk.WRITE, ("press may trigger the focused control",))
    return Classification(Risk.WRITE, (f"unknown action {action!r} counts as write",))


def classify_ui(el: ElementFacts) -> Classification:
    """Classify clicking (or, with ``el.typing``, typing into) one element."""
    if el.typing:
        return Classification(
            Risk.READ, ("typing into a field; nothing is sent until a form is submitted",)
        )
    if el.attributes.get("css") or el.attributes.get("xpath"):
        el = selector_facts(el)
    label = el.label
    words = tokens(label)
    shown = repr(label)
    for lead in DISMISS_LEADS:
        if words[: len(lead)] == lead:
            return Classification(Risk.READ, (f"{shown} declines or keeps things",))
    if words and set(words) <= DISMISS_WORDS:
        if el.in_dialog or _marked_dismiss(el):
            return Classification(Risk.READ, (f"{shown} dismisses the dialog",))
        if _is_link(el):
            return Classification(Risk.READ, (f"{shown} is a link",))
        return Classification(
            Risk.WRITE, (f"{shown} outside a dialog: what it cancels or closes is unclear",)
        )
    marker = _danger_marker(el)
    if marker:
        return Classification(Risk.DESTRUCTIVE, (marker,))
    said = _label_words(el)
    if said is not None:
        return said
    confirm = _confirmation(el, words, shown)
    if confirm is not None:
        return confirm
    submitted = _submit(el, f"{shown or el.tag or 'the control'} submits the form")
    if submitted is not None:
        return submitted
    href = el.attributes.get("href", "")
    if href and not href.startswith(("#", "javascript:")):
        found = url_classification("GET", href)
        if found.risk is Risk.DESTRUCTIVE:
            return Classification(Risk.DESTRUCTIVE, (f"link to {href}", *found.reasons[1:]))
        return Classification(Risk.READ, (f"{shown} is a link to {href}",))
    hits = [w for w in words if w in WRITE_WORDS]
    if hits:
        return Classification(Risk.WRITE, (f"{shown} says {hits[0]!r}",))
    if el.role in _READ_ROLES or el.attributes.get("type", "").lower() in {"checkbox", "radio"}:
        return Classification(Risk.READ, (f"{el.role or 'checkbox'} only selects",))
    if _is_link(el):
        return Classification(Risk.READ, (f"{shown} is a link",))
    return Classification(
        Risk.WRITE, (f"click on {shown or el.tag or 'an element'}: not known to be harmless",)
    )


def _is_link(el: ElementFacts) -> bool:
    return el.role == "link" or ((el.tag or "").lower() == "a" and "href" in el.attributes)


def _marked_dismiss(el: ElementFacts) -> bool:
    attrs = el.attributes
    if any(k in attrs for k in ("data-dismiss", "data-bs-dismiss")):
        return True
    marks = tokens(" ".join(attrs.get(k, "") for k in ("class", "id", "data-testid")))
    return bool(_DISMISS_MARKERS & set(marks))


def _danger_marker(el: ElementFacts) -> str | None:
    attrs = el.attributes
    method = attrs.get("data-method", "").strip().lower()
    if method == "delete":
        return "data-method=delete"
    for key in ("id", "class", "data-testid", "data-action", "name", "icon", "aria-label", "title"):
        value = attrs.get(key, "")
        hit = DANGER_MARKERS & set(tokens(value))
        if hit:
            return f"{key} {value!r} says {sorted(hit)[0]!r}"
    return None


def _label_words(el: ElementFacts) -> Classification | None:
    """Destructive verbs in the control's own words (name, text, aria-label, title, value)."""
    attrs = el.attributes
    sources = [el.name, attrs.get("aria-label", ""), attrs.get("title", ""), attrs.get("value", "")]
    if len(tokens(el.text)) <= _LONG_TEXT:
        sources.append(el.text)
    for source in sources:
        words = tokens(source)
        if not words:
            continue
        if words[0] in _UNDO_LEADS:
            return Classification(Risk.WRITE, (f"{source.strip()!r} undoes or restores",))
        for i, word in enumerate(words):
            base = verb(word, inflected=True)
            if base is None:
                continue
            rest = words[i + 1 :]
            if base == "cancel" and (not rest or rest[0] in _CANCEL_HARMLESS):
                continue
            if base == "close":
                if not rest:
                    continue
                if not CLOSE_OBJECTS & set(rest[:3]):
                    return Classification(
                        Risk.WRITE, (f"{source.strip()!r} closes something reopenable",)
                    )
            return Classification(Risk.DESTRUCTIVE, (f"{source.strip()!r} says {word!r}",))
    return None


def _confirmation(el: ElementFacts, words: tuple[str, ...], shown: str) -> Classification | None:
    for phrase in _STRONG_CONFIRMS:
        if _contains(words, phrase):
            return Classification(Risk.DESTRUCTIVE, (f"{shown} confirms something irreversible",))
    if not any(words[: len(p)] == p for p in CONFIRM_PHRASES):
        return None
    if el.in_dialog:
        about = _destroying_word(el.dialog_text)
        if about is not None:
            return Classification(
                Risk.DESTRUCTIVE, (f"{shown} confirms a dialog that says {about!r}",)
            )
    return Classification(Risk.WRITE, (f"{shown} confirms",))


def _destroying_word(text: str) -> str | None:
    """The word that makes a dialog's text about destroying ("delete", "cancel your plan")."""
    words = tokens(text)
    for i, word in enumerate(words):
        base = verb(word, inflected=True)
        if base is None:
            continue
        rest = words[i + 1 : i + 4]
        if base == "close" and not CLOSE_OBJECTS & set(rest):
            continue
        if base == "cancel" and (not rest or rest[0] in _CANCEL_HARMLESS):
            continue
        return word
    return None


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _submit(el: ElementFacts, what: str) -> Classification | None:
    if el.form_method is None:
        return None
    kind = el.attributes.get("type", "").lower()
    tag = (el.tag or "").lower()
    is_submit = kind in {"submit", "image"} or (tag == "button" and kind in {"", "submit"})
    if not is_submit and not what.startswith("pressing"):
        return None
    method = el.form_method.upper() or "GET"
    action = el.form_action or ""
    if action:
        found = url_classification(method, action)
        if found.risk is Risk.DESTRUCTIVE:
            return Classification(Risk.DESTRUCTIVE, (f"{what} ({method} {action})", *found.reasons))
    if method == "GET":
        return Classification(Risk.READ, (f"{what} by GET (a search or filter)",))
    if el.form_has_password:
        return Classification(Risk.WRITE, (f"{what}: signs in (the form has a password)",))
    return Classification(Risk.WRITE, (f"{what} ({method})",))


# -- selectors, read before the page is seen ------------------------------------------------------

_QUOTED = r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\]\s)"']+))"""
_SEL_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_SEL_ID = re.compile(r"#(-?[_a-zA-Z][\w-]*)")
_SEL_ATTR = re.compile(r"\[\s*([\w:-]+)\s*[~|^$*]?=\s*" + _QUOTED + r"\s*(?:[iIsS]\s*)?\]")
_SEL_TEXT = re.compile(
    r":(?:has-text|text|text-is|text-matches|contains)\(\s*"
    + _QUOTED.replace("\\]\\s)", ")")
    + r"\s*\)"
)
_SEL_ENGINE_TEXT = re.compile(r"^\s*(?:text|internal:text)\s*=\s*(.+?)\s*$", re.DOTALL)
_TEST_IDS = frozenset(
    {"data-testid", "data-test-id", "data-test", "data-qa", "data-cy", "data-e2e"}
)
_ATTR_KEYS = frozenset({"id", "class", "title", "aria-label", "name", "data-action", "data-method",
                        "href", "value", "formaction"})  # fmt: skip


def _split_top(selector: str, separators: str) -> list[str]:
    """``selector`` cut at the separators that stand outside quotes, brackets and parentheses."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(selector):
        if quote:
            quote = "" if c == quote and selector[i - 1] != "\\" else quote
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and c in separators:
            parts.append(selector[start:i])
            start = i + 1
    parts.append(selector[start:])
    return [p for p in parts if p.strip()]


def _subject(selector: str) -> str:
    """The part of a selector that names the element itself: the last compound of the last
    ``>>`` link (its ``:has(...)`` descendants included, for icon-only controls)."""
    link = selector.split(">>")[-1].strip()
    compounds = _split_top(link, " >+~\t\n")
    return compounds[-1] if compounds else link


_XP_ATTR = re.compile(
    r"(?:contains\(\s*)?@([\w:-]+)\s*(?:=|,)\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE
)
_XP_TEXT = re.compile(
    r"(?:contains\(\s*)?(?:text\(\)|\.|normalize-space\((?:\.|text\(\))?\))\s*(?:=|,)\s*"
    r"(?:\"([^\"]*)\"|'([^']*)')"
)


def _xpath_words(xpath: str, found: dict[str, list[str]], texts: list[str]) -> None:
    """The words of an XPath's last step (``//li[2]//button[contains(@class,'destroy')]``)."""
    steps = _split_top(xpath, "/")
    last = steps[-1] if steps else xpath
    for name, *quoted in _XP_ATTR.findall(last):
        value = next((q for q in quoted if q), "")
        key = "data-testid" if name.lower() in _TEST_IDS else name.lower()
        if key in _ATTR_KEYS or key == "data-testid":
            found.setdefault(key, []).append(value)
    texts += [next((q for q in quoted if q), "") for quoted in _XP_TEXT.findall(last)]


def selector_facts(el: ElementFacts) -> ElementFacts:
    """``el`` with the words of its ``css`` selector (or ``xpath``) added: class names as
    ``class``, ids as ``id``, test ids as ``data-testid``, other telling attributes by name,
    and the text of ``:has-text()``/``text=`` parts as its name when it has none."""
    selector = el.attributes.get("css", "")
    found: dict[str, list[str]] = {}
    texts: list[str] = []
    if el.attributes.get("xpath"):
        _xpath_words(el.attributes["xpath"], found, texts)
    for alternative in _split_top(selector, ","):
        engine = _SEL_ENGINE_TEXT.match(alternative.split(">>")[-1])
        if engine:
            texts.append(engine.group(1).strip("\"'"))
            continue
        part = _subject(alternative)
        found.setdefault("class", []).extend(_SEL_CLASS.findall(part))
        found.setdefault("id", []).extend(_SEL_ID.findall(part))
        for name, *quoted in _SEL_ATTR.findall(part):
            value = next((q for q in quoted if q), "")
            key = name.lower()
            if key in _TEST_IDS:
                key = "data-testid"
            if key == "name" and alternative.lstrip().startswith("role="):
                texts.append(value)
            elif key in _ATTR_KEYS or key == "data-testid":
                found.setdefault(key, []).append(value)
        texts += [next((q for q in quoted if q), "") for quoted in _SEL_TEXT.findall(part)]
    attributes = dict(el.attributes)
    for key, values in found.items():
        words = " ".join(v for v in values if v)
        if words and key not in attributes:
            attributes[key] = words
    text = " ".join(t for t in texts if t)
    return replace(
        el,
        attributes=attributes,
        name=el.name or text,
        text=el.text or text,
    )
