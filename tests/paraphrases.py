"""The paraphrase suite's driver: goals in people's words, run in-process on one shared page.

``lam do`` starts a Chromium and its egress proxy per goal (seconds each); the suite runs 80+
goals, so it drives the embedded planner the way ``lam do`` does on one page per test module:
observe (a snapshot), propose, and for each proposed step the same three holds lam's guard
applies -- the plan validator's verdict for the step, the guard's classification of the element
it resolves to at run time (:func:`lam.risk.classify_ui_action` over
:func:`lam.adapters.browser.facts.guard_facts`), and a route on the browser context that holds
any request :func:`lam.risk.classify_request` calls destructive (Django's bulk "Go" posts
``action=delete_selected``). A held step ends the goal as ``held`` before it acts; an unsure
proposal ends it as ``refused``. A few goals of each app also run through the ``lam do``
command itself (see the test modules).

Splits live in ``tests/data/paraphrases/``: ``heldout.yaml`` was written before the planner's
phrasing rules were tuned on ``tuning.yaml``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from playwright.sync_api import BrowserContext, Page, Request, Route
from playwright.sync_api import Error as PlaywrightError

from lam.adapters.browser import BrowserSession, snapshot
from lam.adapters.browser.actions import perform
from lam.adapters.browser.facts import guard_facts
from lam.adapters.browser.locators import resolve_target
from lam.errors import LamError
from lam.planner.base import HistoryItem, Observation, plan_document
from lam.planner.ui_goals import UiGoalPlanner
from lam.plans import parse_plan
from lam.policy import ActionFacts, Policy, default_policy, url_host
from lam.risk import classify_request, classify_ui_action
from lam.types import Risk, Verdict
from lam.validation import validate_loaded

DATA = Path(__file__).parent / "data" / "paraphrases"
SPLITS = ("tuning", "heldout")
_ACTIONS = ("click", "fill", "select", "check", "uncheck", "press", "hover", "goto", "scroll")
_TYPING = ("fill", "press")
_SCORE = re.compile(r"score \d\.\d\d")
_ASSET = re.compile(r"\.(?:css|js|mjs|png|svg|gif|jpe?g|ico|woff2?|ttf|map)(?:\?|$)")


def _NOT_ASSETS(url: str) -> bool:  # (only requests that may change something are looked at)
    return _ASSET.search(url) is None


@dataclass(frozen=True)
class Case:
    """One goal of a split, with what must come of it."""

    split: str
    number: int
    goal: str
    expect: str  # done, held or refused
    check: tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...] = ()
    candidates: bool = False

    @property
    def id(self) -> str:
        return f"{self.split}-{self.number:02d}"


def cases(app: str) -> list[Case]:
    """Every goal for ``app`` (demo or django) in both splits."""
    found = []
    for split in SPLITS:
        entries = yaml.safe_load((DATA / f"{split}.yaml").read_text(encoding="utf-8"))[app]
        for n, entry in enumerate(entries, start=1):
            checks = tuple(
                (str(sql), tuple(tuple(row) for row in rows))
                for sql, rows in entry.get("check", [])
            )
            found.append(Case(split, n, entry["goal"], entry["expect"], checks,
                              bool(entry.get("candidates"))))  # fmt: skip
    return found


@dataclass
class Outcome:
    """How a goal ended: done, held (a destructive step, not taken), refused, failed."""

    kind: str
    detail: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)


def table_state(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, but sessions and last-login times (signing in writes those)."""
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        state = {}
        for table in sorted(tables):
            if table in ("django_session", "sqlite_sequence"):
                continue
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
            kept = ", ".join(c for c in columns if c != "last_login")
            state[table] = list(conn.execute(f"SELECT {kept} FROM {table} ORDER BY 1"))
    return state


def check_case(case: Case, outcome: Outcome, db: Path, before: dict[str, Any]) -> None:
    """The outcome the case expects, and the app's state to match it."""
    said = f"{case.goal!r} -> {outcome.kind}: {outcome.detail} after {[s['id'] for s in outcome.steps]}"
    assert outcome.kind == case.expect, said
    if case.expect != "done":
        assert table_state(db) == before, "a held or refused goal changed the app: " + said
    for sql, wanted in case.check:
        assert rows(db, sql) == wanted, f"{sql}: {said}"
    if case.expect == "refused":
        assert outcome.detail.strip(), said  # a reason, always
    if case.expect == "held":  # stopped at the destructive step itself, before it acted
        assert "destructive" in outcome.detail, said
    if case.candidates:
        assert len(_SCORE.findall(outcome.detail)) >= 2, "no candidates with scores: " + said


def rows(db: Path, sql: str) -> tuple[tuple[Any, ...], ...]:
    with sqlite3.connect(db) as conn:
        return tuple(tuple(r) for r in conn.execute(sql))


class GoalDriver:
    """Runs goals with the embedded planner on ``page``, holding what lam's guard holds."""

    def __init__(self, session: BrowserSession, app_url: str, *, policy: Policy | None = None):
        self.session = session
        self.app_url = app_url
        self.policy = policy or default_policy()
        self.planner = UiGoalPlanner()
        self.held: str | None = None
        self.context: BrowserContext | None = None
        self.page: Page = session.page

    def _fresh_page(self) -> Page:
        """One browser context for all goals (its cache makes pages load fast), signed out and
        its storage cleared before each goal."""
        if self.context is None:
            self.context = self.session.new_context()
            self.context.route(_NOT_ASSETS, self._route)
            self.page = self.context.new_page()
        self.context.clear_cookies()
        return self.page

    def _route(self, route: Route, request: Request) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            body: object = None
            if request.post_data and "urlencoded" in (request.headers.get("content-type") or ""):
                body = {k: v[0] for k, v in parse_qs(request.post_data).items()}
            found = classify_request(request.method, request.url, body=body)
            if found.risk is Risk.DESTRUCTIVE:
                self.held = (
                    f"{found.risk}: {request.method} {request.url}: {'; '.join(found.reasons)}"
                )
                route.abort()
                return
        route.continue_()

    def drive(self, goal: str, *, rounds: int = 12) -> Outcome:
        """Sign out, open the app, then observe-propose-act until done, held or refused."""
        self.page = self._fresh_page()
        for attempt in range(3):  # the goal before's last (aborted) request may still settle
            try:
                self.page.goto(self.app_url)
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
                self.page.wait_for_timeout(250)
        self.page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
        self.held = None
        history: list[HistoryItem] = []
        done: list[dict[str, Any]] = []
        for _ in range(rounds):
            observed = Observation(goal, snapshot(self.page), url=self.page.url)
            proposal = self.planner.propose(observed, history)
            if not proposal.grounded:
                return Outcome("refused", "; ".join(proposal.unsure) or "nothing", done)
            for step in proposal.steps:
                why = self._verdict(goal, done, step)
                if why is None:
                    try:
                        why = self._act(step)
                    except LamError as exc:
                        return Outcome("failed", f"{step['id']}: {exc.one_line()}", done)
                if why is not None:
                    return Outcome("held", f"{step['id']}: {why}", done)
                done.append(step)
                history.append(HistoryItem(step, "ok"))
            if proposal.done:
                return Outcome("done", "", done)
        return Outcome("failed", f"not done after {rounds} proposals", done)

    def _verdict(self, goal: str, done: list[dict[str, Any]], step: dict[str, Any]) -> str | None:
        """The validator's verdict for the step as part of the plan so far (as ``lam do``)."""
        document = plan_document("goal", goal, {}, [*done, step], apps={"app": self.app_url})
        plan = parse_plan(yaml.safe_dump(document, sort_keys=False), name="goal.yaml")
        report = validate_loaded(plan, [], policy=self.policy, api_overrides={}, app_overrides={})
        verdict = report.steps[-1]
        if verdict.verdict is Verdict.ALLOW:
            return None
        assert verdict.verdict is not None  # a step of a valid plan has a verdict
        return f"{verdict.verdict.value}: {verdict.risk}: {'; '.join(verdict.reasons)}"

    def _act(self, step: Mapping[str, Any]) -> str | None:
        action = next(a for a in _ACTIONS if a in step)
        target = step[action]
        hints = target if isinstance(target, Mapping) else None
        value = step.get("value", None if hints is not None else target)
        page = self.page
        resolved = resolve_target(page, hints, timeout_ms=5_000, step=step["id"]) if hints else None
        if resolved is not None:  # the guard's look at the element itself, at run time
            facts = guard_facts(page, resolved.locator, typing=action in _TYPING,
                                info=resolved.element, read=resolved.facts)  # fmt: skip
            found = classify_ui_action(action, facts)
            decision = self.policy.decide(ActionFacts(
                kind="ui", risk=found.risk, host=url_host(page.url) or None,
                ui_text=facts.label or None,
            ))  # fmt: skip
            if decision.verdict is not Verdict.ALLOW:
                return f"{found.risk}: {'; '.join(found.reasons)}"
        # (a select tries the option's value, then its label: the first try must fail fast)
        wait = 1_500 if action == "select" else 5_000
        perform(page, action, hints, value, timeout_ms=wait, step=step["id"], resolved=resolved)
        try:
            page.wait_for_load_state()
        except PlaywrightError:  # the navigation a held request would have made, aborted
            if self.held is None:
                raise
        return self.held
