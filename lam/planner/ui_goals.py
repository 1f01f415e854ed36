"""The embedded UI planner: imperative goals grounded on a page snapshot, no model, no network.

:class:`UiGoalPlanner` reads the goal with :mod:`lam.planner.instructions`, then grounds each
intent on the snapshot elements in ``Observation.elements``: a quoted name must match an
element's name, label or text exactly; otherwise the lexical scorer of
:mod:`lam.adapters.browser.grounding` ranks elements, with role words ("button", "field") and
ordinals ("the 2nd textbox") steering it. Steps carry concrete locator hints the runner resolves
uniquely (role+name with ``exact``, a label, or the snapshot's css path), plus alternatives.

It knows when it does not know: an element below the grounding threshold, two elements too
close to call, or a clause it cannot read goes into ``Proposal.unsure`` with the candidates and
their scores, and such a proposal must not be acted on. When an intent cannot be grounded yet
but an earlier step may change the page (a menu to open, a tab to switch), the proposal stops
there with ``done=False``; call :meth:`UiGoalPlanner.propose` again with the history after
running the steps, and it carries on from the next intent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lam.adapters.browser.grounding import MARGIN, THRESHOLD, parse_query, score
from lam.adapters.browser.snapshot import ElementInfo
from lam.planner.base import Candidate, HistoryItem, Observation, Proposal
from lam.planner.conversions import (
    apply_case,
    copy_paste,
    described,
    for_input,
    names_control,
    read_off,
    value_into,
)
from lam.planner.instructions import Intent, parse_goal
from lam.planner.reveal_steps import (
    REVEAL_PREFIX,
    Sighting,
    TextBlock,
    menu_path,
    scroll_target,
    split_run_on,
    strip_means,
    text_target,
)
from lam.planner.ui_tasks import ground_task, same_place

__all__ = ["UiGoalPlanner", "hints_for"]

_TYPABLE = frozenset({"textbox", "searchbox", "combobox", "spinbutton"})
_CHECKABLE = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_CHOOSABLE = _CHECKABLE | frozenset({"option", "tab", "link", "button", "menuitem", "treeitem"})
_FILLER = frozenset(
    [
        "below",
        "above",
        "labeled",
        "labelled",
        "named",
        "called",
        "widget",
        "both",
        "all",
        "each",
        "every",
        "text",
        "area",
        "that",
        "says",
        "saying",
    ]
)
_PLURAL = {"fields": "field", "buttons": "button", "boxes": "box", "inputs": "input",
           "links": "link", "checkboxes": "checkbox", "textboxes": "textbox", "tabs": "tab",
           "options": "option", "radios": "radio"}  # fmt: skip
_ROLE_NOUNS = frozenset(
    ["button", "btn", "link", "field", "box", "input", "textbox", "checkbox", "radio", "tab",
     "option", "menu", "dropdown", "icon", "toggle", "switch", "the", "a", "an"]
)  # fmt: skip
_CLOSE_WORDS = frozenset({"x", "×", "✕", "✖", "close", "dismiss"})
_SUBMIT = "submit"
_LOGIN_BUTTON = ("log in", "login", "sign in", "signin", "submit", "continue")
_STEP_ID = re.compile(r"^c(\d+)(?:s(\d+))?-")
_TASKS = frozenset({"delete", "change", "create", "confirm", "save"})
# Controls whose click usually loads another page: the clauses after it are grounded there.
_SUBMITS = frozenset({"save", "submit", "go", "search", "log in", "login", "sign in", "filter",
                      "continue", "next", "ok", "yes", "apply", "update"})  # fmt: skip
_TIE = 0.02


@dataclass(frozen=True)
class _Choice:
    """How one intent grounded: the elements chosen (or none) and the ranking it came from."""

    chosen: tuple[ElementInfo, ...]
    score: float
    ranking: tuple[tuple[ElementInfo, float], ...]
    problem: str = ""


def hints_for(element: ElementInfo, elements: Sequence[ElementInfo]) -> dict[str, Any]:
    """Locator hints that find ``element`` alone among ``elements``, with alternatives.

    role+name (exact) when no other visible element shares them, else a label or placeholder
    that is unique, else the snapshot's css path; the others follow under ``candidates``.
    """
    visible = [e for e in elements if e.visible]

    def unique(test: Any) -> bool:
        return sum(1 for e in visible if test(e)) == 1

    options: list[dict[str, Any]] = []
    if (
        "r" in element.hint_kinds
        and element.name
        and unique(lambda e: e.role == element.role and e.name == element.name)
    ):
        options.append({"role": element.role, "name": element.name, "exact": True})
    if element.testid and unique(lambda e: e.testid == element.testid):
        options.append({"testid": element.testid})
    if element.label and unique(lambda e: e.label == element.label):
        options.append({"label": element.label, "exact": True})
    if element.placeholder and unique(lambda e: e.placeholder == element.placeholder):
        options.append({"placeholder": element.placeholder, "exact": True})
    options.append({"css": element.css})
    best = dict(options[0])
    if len(options) > 1:
        best["candidates"] = [dict(o) for o in options[1:]]
    if element.frame:
        best["frame"] = list(element.frame)
    return best


def _norm(text: str) -> str:
    return " ".join(text.casefold().strip(" .:!?\"'").split())


def _names(el: ElementInfo) -> list[str]:
    # (what a field holds is not its name: "open bob" is not the search box that says bob)
    value = "" if el.role in _TYPABLE else (el.value or "")
    return [_norm(n) for n in (el.name, el.label, el.text, el.placeholder, value) if n]


def _query_text(intent: Intent, extra: str = "") -> str:
    words = []
    for word in f"{intent.target} {extra}".split():
        low = word.lower().strip(",.")
        low = _PLURAL.get(low, low)
        if low not in _FILLER:
            words.append(low)
    return " ".join(words)


def _rank(
    intent: Intent,
    elements: Sequence[ElementInfo],
    roles: frozenset[str] = frozenset(),
    extra: str = "",
) -> list[tuple[ElementInfo, float]]:
    """Visible, enabled elements with their scores for ``intent``, best first."""
    query = parse_query(_query_text(intent, extra))
    wanted = roles or query.roles
    exact = _norm(intent.exact) if intent.exact else ""
    named = [w for w in _query_text(intent, extra).split() if w.lower() not in _ROLE_NOUNS]
    # (a name of stop words only, "Go", is still a whole name to match exactly)
    whole = _norm(" ".join(named)) if named and query.ordinal is None else ""
    ranked: list[tuple[ElementInfo, float]] = []
    for el in elements:
        if not el.visible or el.disabled:
            continue
        if exact:
            names = _names(el)
            if exact in names or (exact in _CLOSE_WORDS and _CLOSE_WORDS & set(names)):
                value = 1.0
            elif any(re.search(rf"(?<!\w){re.escape(exact)}(?!\w)", n) for n in names):
                value = 0.7
            elif exact in (el.role, el.tag, el.type):  # 'a "textarea" widget'
                value = 0.8
            else:
                value = 0.0
            if wanted and el.role not in wanted:
                value *= 0.5
        else:
            value = score(query, el)
            if whole and whole in _names(el):
                value = 1.0  # "click Save" means the Save button, not "Save draft"
            elif whole:
                value = min(value, 0.84)
            if roles and el.role not in roles:
                value *= 0.5
        ranked.append((el, value))
    ranked.sort(key=lambda p: (-p[1], p[0].index))
    return ranked


def _decide(intent: Intent, ranked: list[tuple[ElementInfo, float]], count: int = 0) -> _Choice:
    """Pick the element(s) the intent clearly means, or say why not (the grounding rule)."""
    top = tuple(ranked[:5])
    if not ranked or ranked[0][1] < THRESHOLD:
        return _Choice((), ranked[0][1] if ranked else 0.0, top, "no element clearly matches")
    best = ranked[0][1]
    tied = [p for p in ranked if best - p[1] <= _TIE]
    rest = ranked[len(tied)] if len(ranked) > len(tied) else None
    if intent.every:
        chosen = tuple(p[0] for p in ranked if p[1] >= THRESHOLD)
        if count and len(chosen) != count:
            return _Choice((), best, top, f"expected {count} elements, found {len(chosen)}")
        return _Choice(chosen, best, top)
    if len(tied) > 1:
        tied = _innermost(tied)  # a panel titled "Submit" around the Submit button
    if rest is not None and best - rest[1] < MARGIN:
        return _Choice((), best, top, "the best matches are too close to call")
    if len(tied) > 1 and intent.any_one and intent.ordinal is None:
        return _Choice((min(tied, key=lambda p: p[0].index)[0],), best, top)  # "click a box"
    if len(tied) > 1 and intent.ordinal is None and same_place([p[0] for p in tied]):
        return _Choice((min(tied, key=lambda p: p[0].index)[0],), best, top)  # one address
    if len(tied) > 1:
        if intent.ordinal is None or intent.ordinal >= len(tied):
            return _Choice((), best, top, f"{len(tied)} elements match equally well")
        in_order = sorted(tied, key=lambda p: p[0].index)
        return _Choice((in_order[intent.ordinal][0],), best, top)
    if intent.ordinal not in (None, 0, -1):
        return _Choice((), best, top, "the ordinal names an element that is not there")
    return _Choice((tied[0][0],), best, top)


class UiGoalPlanner:
    """The embedded :class:`~lam.planner.base.ActionModel` for UI goals.

    ``propose`` grounds the goal's clauses on ``observation.elements`` (a page snapshot) and
    returns plan steps with ids ``c<clause>-<action>`` so a later call, given the history,
    resumes after the clauses that already ran.
    """

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        """Steps for the goal's clauses not yet run, or a refusal naming what is unsure.

        A clause lam cannot read refuses the whole goal before anything runs. After a step
        that loads another page (a link, a submit button, a sign-in) the proposal stops with
        ``done=False``: the clauses after it are grounded on the page they apply to."""
        controls = [e for e in observation.elements if not isinstance(e, Sighting | TextBlock)]
        goal, problem, self._copied = copy_paste(apply_case(observation.goal), controls)
        if not problem and not self._copied:  # "the value of KEY": read off a table row
            blocks = [e for e in observation.elements if isinstance(e, TextBlock)]
            goal, problem, self._copied = read_off(goal, blocks)
        if problem:
            return Proposal((), 0.3, done=False, unsure=(f"{observation.goal!r}: {problem}",))
        goal = menu_path(split_run_on(strip_means(goal)))
        intents = parse_goal(goal)  # (lam.planner.conversions and .reveal_steps)
        unread = [(n, i) for n, i in enumerate(intents, start=1) if i.action == "unknown"]
        if unread:
            lines = tuple(f"clause {n} {i.clause!r}: not an instruction lam can carry out"
                          for n, i in unread)  # fmt: skip
            return Proposal((), 0.3, done=False, unsure=lines)
        start, stage = _progress(history)
        elements = controls
        self._seen = [e for e in observation.elements if isinstance(e, Sighting)]
        self._round = len(history)
        self._picked: dict[str, list[str]] = {}
        steps: list[dict[str, Any]] = []
        unsure: list[str] = []
        notes: list[str] = []
        candidates: list[tuple[Candidate, ...]] = []
        confidence = 1.0
        covered = 0  # clauses a step of an earlier clause did too ("delete alice and bob")
        for number, intent in enumerate(intents, start=1):
            if number <= start or number <= covered:
                continue
            if intent.action in _TASKS:
                made, choice, note, partial, covers = self._task(
                    intent, elements, number, stage if number == start + 1 else 0, intents[number:]
                )
                covered = number + covers
                if not made and choice is not None and not choice.problem:  # (none was asked)
                    continue
            else:
                made, choice, note = self._ground(intent, elements, number)
                partial = False
            if note:
                notes.append(note)
            if choice is not None:
                candidates.append(tuple(_candidate(el, s) for el, s in choice.ranking))
                if made:
                    confidence = min(confidence, max(choice.score, THRESHOLD))
            if made:
                steps.extend(made)
                if made[-1]["id"].startswith(REVEAL_PREFIX):  # the target shows after it
                    return Proposal(tuple(steps), round(confidence, 4), done=False,
                                    notes=tuple(notes), candidates=tuple(candidates))  # fmt: skip
                last = max(number, covered)
                if partial or (last < len(intents) and _navigates(intent, choice, made)):
                    notes.append(f"clause {number + (0 if partial else 1)} is grounded on the "
                                 "page these steps lead to")  # fmt: skip
                    return Proposal(tuple(steps), round(confidence, 4), done=False,
                                    notes=tuple(notes), candidates=tuple(candidates))  # fmt: skip
                continue
            if intent.action == "none":
                continue
            why = choice.problem if choice else "not an instruction lam can carry out"
            if steps and _may_change_page(steps):
                notes.append(f"clause {number} ({intent.clause!r}) waits for the page to change")
                return Proposal(tuple(steps), confidence, done=False, notes=tuple(notes),
                                candidates=tuple(candidates))  # fmt: skip
            listing = "; ".join(
                str(_candidate(el, s)) for el, s in (choice.ranking if choice else ())
            )
            unsure.append(
                f"clause {number} {intent.clause!r}: {why}" + (f" ({listing})" if listing else "")
            )
        if unsure:
            confidence = min(confidence, 0.3)
        return Proposal(
            tuple(steps), round(confidence, 4), done=not unsure, unsure=tuple(unsure),
            notes=tuple(notes), candidates=tuple(candidates),
        )  # fmt: skip

    def _task(
        self,
        intent: Intent,
        elements: Sequence[ElementInfo],
        number: int,
        stage: int,
        then: Sequence[Intent],
    ) -> tuple[list[dict[str, Any]], _Choice | None, str, bool, int]:
        found = ground_task(intent, elements, number, stage, then=then)
        choice = _Choice((), found.score, found.ranking, found.problem)
        partial = any(re.match(r"^c\d+s\d+-", str(s["id"])) for s in found.steps)
        return found.steps, choice, found.note, partial, found.covers

    # -- one intent -------------------------------------------------------------------------

    def _ground(
        self, intent: Intent, elements: Sequence[ElementInfo], number: int
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        sid = f"c{number}"
        act = intent.action
        if act == "goto" and intent.value:
            return [{"id": f"{sid}-goto", "goto": intent.value}], None, ""
        if act == "press" and intent.value:
            return [{"id": f"{sid}-press", "press": intent.value}], None, ""
        if act == "scroll" and intent.value:
            what = scroll_target(intent.clause)  # "scroll the textarea to the bottom"
            if what:
                box = Intent("scroll", intent.clause, target=what)
                word = _norm(what)  # "the textarea": the element is named by what it is
                ranked = sorted(((el, 1.0 if names_control(word, el.tag, el.role, el.id) else v)
                                 for el, v in _rank(box, elements)),
                                key=lambda p: (-p[1], p[0].index))  # fmt: skip
                choice = _decide(box, ranked)
                steps = [{"id": f"{sid}-scroll", "scroll": hints_for(el, elements),
                          "value": intent.value} for el in choice.chosen]  # fmt: skip
                return steps, choice, ""
            return [{"id": f"{sid}-scroll", "scroll": intent.value}], None, ""
        if act == "wait":
            return [{"id": f"{sid}-wait", "wait": int(intent.value or 1000)}], None, ""
        if act in ("click", "focus", "hover", "check", "uncheck"):
            return self._element_step(intent, elements, sid)
        if act == "fill":
            return self._fill(intent, elements, sid)
        if act == "select":
            return self._select(intent, elements, sid)
        if act == "submit":
            submit = Intent("click", intent.clause, target=f"{intent.target} {_SUBMIT} button")
            return self._element_step(submit, elements, sid)
        if act == "login":
            return self._login(intent, elements, sid)
        if act in ("search", "open"):  # "find Rex": its link, else the search box; "search
            # for Rex": the search box, else its link
            box = Intent("search", intent.clause, value=intent.value or intent.target)
            link = Intent("click", intent.clause, target=box.value or "")
            first, second = (self._search, self._element_step)
            if act == "open":
                first, second = second, first
            made = first(box if act == "search" else link, elements, sid)
            if made[0] or not box.value:
                return made
            other = second(link if act == "search" else box, elements, sid)
            return other if other[0] else made
        return [], None, ""

    def _element_step(
        self, intent: Intent, elements: Sequence[ElementInfo], sid: str
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        roles = _CHECKABLE if intent.action in ("check", "uncheck") else frozenset()
        choice = _decide(intent, _rank(intent, elements, roles))
        action = {"focus": "click"}.get(intent.action, intent.action)
        if (
            not choice.chosen
            and intent.exact
            and intent.action == "click"
            and choice.score < THRESHOLD
        ):
            # A quoted name the snapshot has no control for (a span with a click handler):
            # its exact text is a locator the runner resolves uniquely or refuses; hidden,
            # the control that reveals it goes first (lam.planner.reveal_steps).
            hidden = [e for e in elements if not e.visible and _norm(intent.exact) in _names(e)]
            if hidden:  # a submenu item not open yet: grounded once an earlier step shows it
                return [], _Choice((), 0.0, (), f"{hidden[0].describe()} is not shown"), ""
            found = text_target(intent.exact, getattr(self, "_seen", ()))
            if found is not None and found.step is None:
                return [], _Choice((), 0.0, (), found.problem), ""
            if found is not None and found.reveal:
                rid = f"{REVEAL_PREFIX}{sid[1:]}x{getattr(self, '_round', 0)}-click"
                return [{"id": rid, "click": found.step}], _Choice((), THRESHOLD, ()), found.note
            hint = {"text": intent.exact, "exact": True}
            note = f"{intent.exact!r} is not a control in the snapshot; targeting its exact text"
            return [{"id": f"{sid}-click", "click": hint}], _Choice((), THRESHOLD, ()), note
        steps = [
            {"id": _sid(sid, action, i, choice), action: hints_for(el, elements)}
            for i, el in enumerate(choice.chosen)
        ]
        return steps, choice, ""

    def _fill(
        self, intent: Intent, elements: Sequence[ElementInfo], sid: str
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        typable = [e for e in elements if e.role in _TYPABLE and e.tag != "select"]
        typable = [e for e in typable if _kind_fits(intent.target, e.tag)]
        ranked = _rank(intent, typable, _TYPABLE)
        if len(_norm(intent.target).split()) == 1:  # "as the date": the date input is named so
            word = _norm(intent.target)
            ranked = [(el, 1.0 if names_control(word, el.type, el.role, el.id) else s)
                      for el, s in ranked]  # fmt: skip
            ranked.sort(key=lambda p: (-p[1], p[0].index))
        if not parse_query(_query_text(intent)).words:
            # "into the text field": the role is all there is (a field named by words that
            # no field here says is not there: never the only textbox instead)
            ranked = [(el, max(s, 0.6)) for el, s in ranked]
        count = 2 if re.search(r"\bboth\b", intent.clause, re.I) else 0
        choice = _decide(intent, ranked, count)
        wanted = intent.value or ""
        if described(wanted, intent.clause):  # "the value of Last name": to be found, not typed
            why = f"the value is described ({wanted!r}), not given"
            return [], _Choice((), 0.0, (), why), ""
        if self.__dict__.get("_copied") and wanted == self._copied.strip():
            wanted = self._copied  # copied as it is, spaces and all
        values = [for_input(wanted, el.type) for el in choice.chosen]
        if None in values:  # "tomorrow" into a date input: not a date it can take
            el = choice.chosen[values.index(None)]
            why = f"{intent.value!r} is not a value a {el.type} input takes"
            return [], _Choice((), choice.score, choice.ranking, why), ""
        steps = [
            {"id": _sid(sid, "fill", i, choice), "fill": hints_for(el, elements), "value": value}
            for i, (el, value) in enumerate(zip(choice.chosen, values, strict=True))
        ]
        return steps, choice, ""

    def _select(
        self, intent: Intent, elements: Sequence[ElementInfo], sid: str
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        into = value_into(intent.target) if not intent.container else None
        if into is not None:  # "select -10 with the spinner": a value set into a control
            return self._fill(replace(intent, action="fill", value=into[0], target=into[1],
                                      exact=None), elements, sid)  # fmt: skip
        lists = [e for e in elements if e.tag == "select" or e.role == "listbox"]
        row = _row_checkbox(intent.value or "", elements)
        if row is not None and not intent.container:  # "select bob" in a list: bob's row
            return [{"id": f"{sid}-check", "check": hints_for(row, elements)}], None, ""
        if not intent.container or not lists:
            choice = _decide(intent, _rank(intent, elements, _CHOOSABLE))
            if choice.chosen:
                el = choice.chosen[0]
                action = "check" if el.role in _CHECKABLE else "click"
                if el.role in _CHECKABLE and el.checked:
                    return [], choice, f"{el.describe()} is already checked"
                return [{"id": f"{sid}-{action}", action: hints_for(el, elements)}], choice, ""
            if not lists:
                return [], choice, ""
        where = Intent("select", intent.clause, target=intent.container or "list")
        ranked = _rank(where, lists)
        if len(lists) == 1:
            ranked = [(lists[0], max(ranked[0][1], 0.6))]
        choice = _decide(where, ranked)
        if not choice.chosen:
            return [], choice, ""
        step: dict[str, Any] = {"id": f"{sid}-select", "select": hints_for(choice.chosen[0], elements),
                "value": intent.value or ""}  # fmt: skip
        if choice.chosen[0].role == "listbox":  # a multiple select: "A, B from the list" keeps A
            so_far = self._picked.setdefault(repr(step["select"]), [])
            so_far.append(intent.value or "")
            step["value"] = list(so_far)
        return [step], choice, "the option's presence is checked when the step runs"

    def _login(
        self, intent: Intent, elements: Sequence[ElementInfo], sid: str
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        fields = [e for e in elements if e.visible and e.role in _TYPABLE]
        secret = [e for e in fields if e.type == "password"]
        user = Intent("fill", intent.clause, target="username user email login")
        ranked = [(el, s) for el, s in _rank(user, fields, _TYPABLE) if el.type != "password"]
        if len([e for e in fields if e.type != "password"]) == 1:
            ranked = [(el, max(s, 0.6)) for el, s in ranked]
        choices = [_decide(user, [(el, min(1.0, s * 2)) for el, s in ranked])]
        choices.append(_decide(user, [(el, 1.0) for el in secret[:1]]))
        button = _best_button(elements)
        choices.append(button)
        if not all(c.chosen for c in choices):
            failed = next(c for c in choices if not c.chosen)
            return [], failed, ""
        steps: list[dict[str, Any]] = [
            {"id": f"{sid}-fill-user", "fill": hints_for(choices[0].chosen[0], elements),
             "value": intent.value},
            {"id": f"{sid}-fill-password", "fill": hints_for(choices[1].chosen[0], elements),
             "value": intent.secret},
            {"id": f"{sid}-click", "click": hints_for(choices[2].chosen[0], elements)},
        ]  # fmt: skip
        note = "the password is written into the plan as the goal gave it; prefer $secrets.NAME"
        return steps, choices[0], note

    def _search(
        self, intent: Intent, elements: Sequence[ElementInfo], sid: str
    ) -> tuple[list[dict[str, Any]], _Choice | None, str]:
        box = Intent("fill", intent.clause, target="search")
        fields = [e for e in elements if e.role in _TYPABLE and e.tag != "select"]
        ranked = _rank(box, fields)
        ranked = [(el, 1.0 if el.role == "searchbox" else s) for el, s in ranked]
        if len(fields) == 1 and ranked:  # (a hidden or disabled one is not ranked)
            ranked = [(fields[0], max(ranked[0][1], 0.6))]
        choice = _decide(box, sorted(ranked, key=lambda p: (-p[1], p[0].index)))
        if not choice.chosen or not intent.value:
            return [], choice, ""
        field_el = choice.chosen[0]
        steps: list[dict[str, Any]] = [
            {"id": f"{sid}-fill", "fill": hints_for(field_el, elements), "value": intent.value}
        ]
        go = _decide(Intent("click", intent.clause),
                     _rank(Intent("click", "", target="search button"), elements,
                           frozenset({"button"})))  # fmt: skip
        if go.chosen:
            steps.append({"id": f"{sid}-click", "click": hints_for(go.chosen[0], elements)})
        else:
            steps.append({"id": f"{sid}-press", "press": hints_for(field_el, elements),
                          "value": "Enter"})  # fmt: skip
        return steps, choice, ""


def _kind_fits(target: str, tag: str) -> bool:
    """A "text area" is a textarea; a "text input", "textbox" or "text field" is not one."""
    if re.search(r"\btext\s*areas?\b", target, re.I):
        return tag == "textarea"
    if re.search(r"\b(?:text\s*)?inputs?\b|\btext\s*box(?:es)?\b|\btext\s*fields?\b", target, re.I):
        return tag != "textarea"
    return True


def _innermost(tied: list[tuple[ElementInfo, float]]) -> list[tuple[ElementInfo, float]]:
    """Equally good matches less those whose box holds another of them: a section that
    takes its name from the one control inside it is not a second control of that name."""

    def holds(outer: ElementInfo, inner: ElementInfo) -> bool:
        if outer is inner or outer.box is None or inner.box is None or outer.box == inner.box:
            return False
        ox, oy, ow, oh = outer.box
        ix, iy, iw, ih = inner.box
        return ox <= ix and oy <= iy and ix + iw <= ox + ow and iy + ih <= oy + oh

    return [p for p in tied if not any(holds(p[0], q[0]) for q in tied)]


def _row_checkbox(value: str, elements: Sequence[ElementInfo]) -> ElementInfo | None:
    """The selection checkbox of the row named ``value`` in a list whose rows each have one
    ("Select this object for an action - bob"): the same words, then the row's name."""
    if not value.strip():
        return None
    tail = re.compile(rf"^(.+?)\W*{re.escape(value.strip())}$", re.I)
    boxes = [e for e in elements if e.visible and not e.disabled and e.role == "checkbox"]
    mine = [(e, m.group(1)) for e in boxes if (m := tail.match(e.name))]
    if len(mine) != 1:
        return None
    lead = mine[0][1]
    rows = [e for e in boxes if e.name.startswith(lead)]
    return mine[0][0] if len(rows) >= 3 else None


def _best_button(elements: Sequence[ElementInfo]) -> _Choice:
    for words in _LOGIN_BUTTON:
        exact = Intent("click", "", target="", exact=words)
        ranked = _rank(exact, elements, frozenset({"button", "link"}))
        choice = _decide(exact, ranked)
        if choice.chosen:
            return choice
    return _decide(Intent("click", ""), [])


def _sid(sid: str, action: str, i: int, choice: _Choice) -> str:
    return f"{sid}-{action}" + (f"-{i + 1}" if len(choice.chosen) > 1 else "")


def _candidate(el: ElementInfo, value: float) -> Candidate:
    return Candidate(el.describe(), value, el.css)


def _may_change_page(steps: Sequence[Mapping[str, Any]]) -> bool:
    return any(
        k in s for s in steps for k in ("click", "goto", "press", "select", "check", "hover")
    )


def _progress(history: Sequence[HistoryItem]) -> tuple[int, int]:
    """The last clause whose steps all ran (step ids are ``c<clause>-...``), and how many
    pages the next clause has already gone through (its partial steps, ``c<clause>s<n>-``)."""
    done = 0
    stages: dict[int, int] = {}
    for item in history:
        found = _STEP_ID.match(str(item.step.get("id", "")))
        if not found or item.status != "ok":
            continue
        if found.group(2):
            clause = int(found.group(1))
            stages[clause] = max(stages.get(clause, 0), int(found.group(2)))
        else:
            done = max(done, int(found.group(1)))
    return done, stages.get(done + 1, 0)


def _navigates(intent: Intent, choice: _Choice | None, made: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the clause's steps load another page (a real link, a submit, a sign-in)."""
    if intent.action in _TASKS:
        return any("click" in step for step in made)
    if intent.action in ("login", "search", "open"):
        return True
    if intent.action == "goto":
        return True
    if intent.action not in ("click", "press", "delete", "change") or choice is None:
        return False
    for el in choice.chosen:
        if el.role == "link" and el.href and not el.href.startswith(("#", "javascript:")):
            return True
        if el.type == "submit" or " ".join(el.name.casefold().split()) in _SUBMITS:
            return True
    return False
