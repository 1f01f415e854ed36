"""Grounding the tasks people ask for: open, delete, change, create, confirm and save.

:mod:`lam.planner.phrasing` reads "get rid of order 1" or "set his species to cat"; this module
finds, on the page in front of it, the controls that do it. A task may take several pages: to
delete a user from a list, open the user, then use the Delete on its page; to change a pet's
species, open its edit form, choose the species, save. A step that only gets the task to its
next page is *partial* (its id is ``c<clause>s<stage>-...``): the planner stops there, the
page is observed again and the same clause is grounded on the page it now applies to, knowing
how many stages ran.

The rule is the grounding rule of :mod:`lam.planner.ui_goals`: a control is taken only when it
clearly is the one; otherwise the clause is refused with the candidates and their scores. Words
are compared with :func:`lam.text.words` and :func:`lam.text.stem`, whole words only: "order 3"
is never "Cancel order #1", and "Change password" is no edit control for a user's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lam.adapters.browser.grounding import THRESHOLD
from lam.adapters.browser.page_model import ElementInfo
from lam.planner.instructions import Intent
from lam.text import stem, words

__all__ = ["Grounded", "ground_task", "same_place"]


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in text.split())


_REMOVAL = _stems("delete remove cancel trash discard erase destroy drop")
_EDIT = _stems("edit change modify")
_ADD = _stems("add new create")
_YES = _stems("yes confirm sure ok proceed continue")
_NO = _stems("no not back keep")
_SAVE_NAMES = ("save", "save changes", "update", "submit", "apply", "done")
_GO_NAMES = frozenset({"go", "apply", "run", "submit"})
# Nouns that name a kind of thing, not one thing: "Delete pet" and "Cancel order #2" fit them.
_GENERIC = _stems(
    "pet user order item record entry account group thing row selected this it the a an all object"
)
_ON = _stems("on yes true checked ticked enabled active")
_OFF = _stems("off no false unchecked unticked disabled inactive")
_CONTROL_ROLES = frozenset({"button", "link", "menuitem", "tab"})
_FIELD_ROLES = frozenset({"textbox", "combobox", "listbox", "spinbutton", "checkbox", "switch"})
_MAX_STAGES = 3


@dataclass(frozen=True)
class Grounded:
    """Steps for one task on this page (partial ones, ``c<n>s<stage>-``, lead on to the page
    where the task goes on).

    ``problem`` says why nothing was grounded, ``ranking`` the candidates it weighed."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    ranking: tuple[tuple[ElementInfo, float], ...] = ()
    score: float = 1.0
    problem: str = ""
    note: str = ""
    covers: int = 0  # clauses after this one that these steps also carry out


def _terms(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


def _usable(elements: Sequence[ElementInfo]) -> list[ElementInfo]:
    return [e for e in elements if e.visible and not e.disabled]


def same_place(elements: Sequence[ElementInfo]) -> bool:
    """Links that all go to one address (a menu entry and a button to the same page)."""
    hrefs = {e.href for e in elements}
    return (
        len(elements) > 1
        and len(hrefs) == 1
        and "" not in hrefs
        and all(e.role == "link" and not e.href.startswith(("#", "javascript:")) for e in elements)
    )


def _one(found: list[ElementInfo]) -> ElementInfo | None:
    """The one control found, or one of several that lead to the same place."""
    if len(found) == 1 or same_place(found):
        return found[0]
    return None


def _refuse(problem: str, ranked: Sequence[tuple[ElementInfo, float]]) -> Grounded:
    top = tuple(sorted(ranked, key=lambda p: (-p[1], p[0].index))[:5])
    return Grounded(ranking=top, score=top[0][1] if top else 0.0, problem=problem)


def _step(sid: str, stage: int, action: str, el: ElementInfo, elements: Sequence[ElementInfo],
          partial: bool = False, value: str | None = None, n: int = 0) -> dict[str, Any]:  # fmt: skip
    from lam.planner.ui_goals import hints_for

    prefix = f"{sid}s{stage + 1}" if partial else sid
    step: dict[str, Any] = {"id": f"{prefix}-{action}" + (f"-{n}" if n else ""),
                            action: hints_for(el, elements)}  # fmt: skip
    if value is not None:
        step["value"] = value
    return step


def ground_task(
    intent: Intent,
    elements: Sequence[ElementInfo],
    number: int,
    stage: int,
    *,
    then: Sequence[Intent] = (),
) -> Grounded:
    """Steps for a delete, change, create, confirm or save intent (clause ``number``) on this
    page; ``then`` are the clauses after it ("delete alice and bob": bob's is one of them)."""
    sid = f"c{number}"
    if stage >= _MAX_STAGES:
        return Grounded(problem=f"still not done after {stage} pages")
    act = intent.action
    if act == "delete":
        together = _several(intent, then, elements, number) if stage == 0 else None
        return together or _delete(intent, elements, sid, stage)
    if act == "change":
        return _change(intent, elements, sid, stage)
    if act == "create":
        return _create(intent, elements, sid, stage)
    if act == "confirm":
        return _confirm(elements, sid, implied=intent.mode == "implied")
    if act == "save":
        found = _save_button(elements)
        if isinstance(found, Grounded):
            return found
        return Grounded([_step(sid, stage, "click", found, elements)])
    return Grounded(problem=f"no task {act!r}")


# -- delete ---------------------------------------------------------------------------------


def _removers(elements: Sequence[ElementInfo]) -> list[ElementInfo]:
    return [e for e in _usable(elements)
            if e.role in _CONTROL_ROLES and _terms(e.name) & _REMOVAL]  # fmt: skip


def _delete(intent: Intent, elements: Sequence[ElementInfo], sid: str, stage: int) -> Grounded:
    removers = _removers(elements)
    if intent.every:
        bulk = _bulk(intent, elements, sid)
        if bulk is not None:
            return bulk
        return _delete_each(intent, removers, elements, sid)
    wanted = _terms(intent.target)
    distinct = wanted - _GENERIC
    on_its_page = intent.refers or stage > 0 or not intent.target
    fits: list[ElementInfo] = []
    for el in removers:
        rest = _terms(el.name) - _REMOVAL - _GENERIC
        if (on_its_page and rest <= wanted) or (
            not on_its_page and distinct and distinct <= rest and rest <= wanted
        ):
            fits.append(el)
    naming = [el for el in fits if _terms(el.name) - _REMOVAL - _GENERIC]
    chosen = _one(naming) or (_one(fits) if not naming else None)
    if chosen is not None:
        return Grounded([_step(sid, stage, "click", chosen, elements)])
    scored = [(el, 1.0 if el in fits else 0.3) for el in removers]
    if len(fits) > 1:
        return _refuse(f"{len(fits)} controls here remove it: too close to call", scored)
    if not on_its_page:  # the thing's own page has its delete control: open it first
        opened = _open(intent.target, elements, sid, stage)
        if opened is not None:
            return opened
    what = intent.target or "it"
    return _refuse(f"nothing on this page removes {what!r}", scored)


def _open(target: str, elements: Sequence[ElementInfo], sid: str, stage: int) -> Grounded | None:
    """A link or button named exactly ``target`` (its page is where the task goes on)."""
    name = " ".join(target.casefold().split())
    found = [e for e in _usable(elements) if e.role in _CONTROL_ROLES
             and " ".join(e.name.casefold().split()).strip(" .:") == name]  # fmt: skip
    el = _one(found)
    if el is None:
        return None
    return Grounded([_step(sid, stage, "click", el, elements, partial=True)],
                    note=f"opened {target!r} first: its page is where the task goes on")  # fmt: skip


def _delete_each(
    intent: Intent, removers: list[ElementInfo], elements: Sequence[ElementInfo], sid: str
) -> Grounded:
    """ "delete every pet" on a list with a Delete control per row: each of them."""
    verbs: dict[str, list[ElementInfo]] = {}
    for el in removers:
        names = words(el.name)
        if names and stem(names[0]) in _REMOVAL and len(_terms(el.name) - _REMOVAL) >= 1:
            verbs.setdefault(stem(names[0]), []).append(el)
    rows = max(verbs.values(), key=len, default=[])
    if len(rows) < 2 or len(verbs) > 1:
        return _refuse("no control removes every one of them here", [(e, 0.3) for e in removers])
    steps = [_step(sid, 0, "click", el, elements, n=i + 1) for i, el in enumerate(rows)]
    return Grounded(steps, note=f"{len(rows)} rows, one Delete each")


def _several(
    intent: Intent, then: Sequence[Intent], elements: Sequence[ElementInfo], number: int
) -> Grounded | None:
    """ "delete alice and bob" on a list with selection and action controls: check each one's
    row, then the delete action and Go. None when the goal names one thing or the page has no
    row to check for one of them."""
    from lam.planner.ui_goals import _row_checkbox

    named = [intent]
    for more in then:
        if more.action != "delete" or more.refers or more.every or not more.target:
            break
        named.append(more)
    if len(named) < 2 or intent.refers or intent.every or not intent.target:
        return None
    rows = [_row_checkbox(i.target, elements) for i in named]
    if any(row is None for row in rows):
        return None
    last = number + len(named) - 1
    bulk = _bulk(Intent("delete", intent.clause, refers=True), elements, f"c{last}")
    if bulk is None:
        return None
    checks = [_step(f"c{number}", 0, "check", row, elements, n=i + 1)
              for i, row in enumerate(rows) if row is not None]  # fmt: skip
    return Grounded([*checks, *bulk.steps], note="their rows, then the list's delete action",
                    covers=len(named) - 1)  # fmt: skip


def _bulk(intent: Intent, elements: Sequence[ElementInfo], sid: str) -> Grounded | None:
    """A list's selection and action controls: select all (for "every"), the delete action,
    then its Go button. None when the page has no such controls."""
    usable = _usable(elements)
    actions = [e for e in usable if e.tag == "select" and _terms(e.name) & _REMOVAL]
    go = [e for e in usable if e.role == "button" and e.name.strip().lower() in _GO_NAMES]
    if len(actions) != 1 or len(go) != 1:
        return None
    option = re.search(r"\b((?:delete|remove)\b[^:\n]*)$", actions[0].name, re.I)
    if option is None:
        return None
    steps: list[dict[str, Any]] = []
    if intent.target and not intent.refers:  # "every user": select them all first
        every = [
            e for e in usable if e.role == "checkbox" and _stems("select all") <= _terms(e.name)
        ]
        if len(every) != 1:
            return None
        if not every[0].checked:
            steps.append(_step(sid, 0, "check", every[0], elements))
    steps.append(_step(sid, 0, "select", actions[0], elements, value=option.group(1).strip()))
    steps.append(_step(sid, 0, "click", go[0], elements))
    return Grounded(steps, note="the list's selection and its delete action")


# -- change -----------------------------------------------------------------------------------


def _fields(elements: Sequence[ElementInfo]) -> list[ElementInfo]:
    return [e for e in _usable(elements) if e.role in _FIELD_ROLES and (e.name or e.label)]


def _field(words_: str, fields: list[ElementInfo]) -> tuple[ElementInfo | None, list[Any]]:
    from lam.planner.ui_goals import _decide, _rank

    probe = Intent("fill", words_, target=words_)
    ranked = _rank(probe, fields)
    choice = _decide(probe, ranked)
    return (choice.chosen[0] if choice.chosen else None), ranked


def _change(intent: Intent, elements: Sequence[ElementInfo], sid: str, stage: int) -> Grounded:
    if intent.target and not intent.refers and stage == 0:
        opened = _open(intent.target, elements, sid, stage)
        if opened is not None:
            return opened
    fields = _fields(elements)
    found, value, ranked = _find_field(intent, fields)
    if found is None:
        edit = _edit_control(intent, elements, sid, stage)
        if edit is not None:
            return edit
        what = intent.field or (intent.value or "")
        return _refuse(f"no field here for {what!r}", ranked)
    step = _set(found, value, intent, elements, sid, stage)
    if isinstance(step, Grounded):
        return step
    steps = [step]
    if intent.save:
        save = _save_button(elements)
        if isinstance(save, Grounded):
            return save
        steps.append(_step(sid, stage, "click", save, elements))
    return Grounded(steps)


def _find_field(
    intent: Intent, fields: list[ElementInfo]
) -> tuple[ElementInfo | None, str, list[Any]]:
    if intent.field:
        found, ranked = _field(intent.field, fields)
        return found, intent.value or "", ranked
    said = (intent.value or "").split()  # "its status available": the field's words first
    best: list[Any] = []
    for cut in range(len(said) - 1, 0, -1):
        found, ranked = _field(" ".join(said[:cut]), fields)
        best = best or ranked
        if found is not None:
            return found, " ".join(said[cut:]), ranked
    return None, "", best


def _set(
    el: ElementInfo,
    value: str,
    intent: Intent,
    elements: Sequence[ElementInfo],
    sid: str,
    stage: int,
) -> dict[str, Any] | Grounded:
    if el.role in ("checkbox", "switch"):
        said = _terms(value)
        on = intent.value == "on" if intent.mode == "toggle" else None
        if on is None and said and said <= _ON:
            on = True
        elif on is None and said and said <= _OFF:
            on = False
        if on is None:
            return _refuse(f"{value!r} is not on or off for {el.describe()}", [(el, 1.0)])
        return _step(sid, stage, "check" if on else "uncheck", el, elements)
    if intent.mode == "toggle":
        return _refuse(f"{el.describe()} is not a checkbox", [(el, 1.0)])
    if el.tag == "select" or el.role in ("combobox", "listbox"):
        return _step(sid, stage, "select", el, elements, value=value)
    return _step(sid, stage, "fill", el, elements, value=value)


def _edit_control(
    intent: Intent, elements: Sequence[ElementInfo], sid: str, stage: int
) -> Grounded | None:
    """The thing's Edit (or Change) control, when its fields are on another page."""
    wanted = _terms(intent.target)
    found = []
    for el in _usable(elements):
        names = _terms(el.name)
        if el.role in _CONTROL_ROLES and names & _EDIT and (names - _EDIT - _GENERIC) <= wanted:
            found.append(el)
    naming = [el for el in found if _terms(el.name) - _EDIT - _GENERIC]
    edit = _one(naming) or (_one(found) if not naming else None)
    if edit is None:
        return None
    return Grounded([_step(sid, stage, "click", edit, elements, partial=True)],
                    note="opened the edit form first")  # fmt: skip


def _save_button(elements: Sequence[ElementInfo]) -> ElementInfo | Grounded:
    buttons = [e for e in _usable(elements) if e.role == "button"]
    for name in _SAVE_NAMES:
        found = [e for e in buttons if " ".join(e.name.casefold().split()) == name]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return _refuse(f"{len(found)} {name!r} buttons here", [(e, 1.0) for e in found])
    return _refuse("no Save button here", [(e, 0.2) for e in buttons])


# -- create, confirm ---------------------------------------------------------------------------


def _create(intent: Intent, elements: Sequence[ElementInfo], sid: str, stage: int) -> Grounded:
    kind = _terms(intent.target) - _stems("new a an the")
    if stage == 0:
        adds = []
        for el in _usable(elements):
            names = _terms(el.name)
            about = names | (_terms(el.context[0]) if el.context else set())
            if el.role in _CONTROL_ROLES and names & _ADD and kind and kind <= about:
                adds.append(el)
        named = [el for el in adds if kind <= _terms(el.name)]
        add = _one(named) or _one(adds)
        if add is not None:
            return Grounded([_step(sid, stage, "click", add, elements, partial=True)],
                            note=f"opened the form to add a {intent.target}")  # fmt: skip
        if len(adds) > 1:
            return _refuse(
                f"{len(adds)} controls add a {intent.target!r}", [(e, 1.0) for e in adds]
            )
    name, ranked = _field("name", [e for e in _fields(elements) if e.role == "textbox"])
    if name is None:
        return _refuse(f"no form to add a {intent.target!r} here", ranked)
    save = _save_button(elements)
    if isinstance(save, Grounded):
        return save
    steps = [_step(sid, stage, "fill", name, elements, value=intent.value or ""),
             _step(sid, stage, "click", save, elements)]  # fmt: skip
    return Grounded(steps)


def _confirm(elements: Sequence[ElementInfo], sid: str, *, implied: bool = False) -> Grounded:
    """The one yes-button (or link). Implied by a removal, only one that says what it
    confirms ("Yes, delete", "Yes, I'm sure", "Confirm"), and nothing where none is asked."""
    found = [e for e in _usable(elements) if e.role in ("button", "link")
             and _terms(e.name) & _YES and not _terms(e.name) & _NO]  # fmt: skip
    if implied:
        found = [e for e in found if _terms(e.name) & (_REMOVAL | _stems("sure confirm"))]
        if not found:
            return Grounded(note="no confirmation asked")
    buttons = [e for e in found if e.role == "button"]
    el = _one(buttons) or (_one(found) if not buttons else None)
    if el is None:
        return _refuse("no single confirmation control here", [(e, THRESHOLD) for e in found])
    return Grounded([_step(sid, 0, "click", el, elements)])
