"""``lam do GOAL``: observe, propose, validate and guard, act, verify, repeat.

The loop grows a plan one proposal at a time through the runner's public API
(:meth:`lam.runtime.runner.Runner.add_step`, :meth:`~lam.runtime.runner.Runner.observe`): every
proposed step is validated as part of the whole plan so far (so expressions, specs and policy
apply as to any plan), its verdict is checked before it runs with the approval rules of
``lam run``, and it runs through the same runner, guard and executors — so text on a page cannot
approve, unblock or add a denied step: the page is only an observation, and only the operator's
policy and approvals decide.

Self-correction: when a step fails (a missing element, an expectation that does not hold), the
failure goes back to the action model as history, the page is observed again and the model
re-grounds or re-plans, up to ``max_retries`` times in a row. What worked is remembered per
site and tried first next time; what failed is remembered and handed back as history.

Memory only changes where a step acts, never what may happen: a remembered locator re-targets
only a step that would run without anyone's approval, and runs with no approvals; when its
locator, or the element it resolves to, would need an approval (or is denied), the entry is
refused (a ``memory-refused`` event, never recalled again) and the step runs as proposed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from lam.errors import BlockedError, GroundingError, LamError, StepFailed
from lam.memory import MemoryStore, site_of
from lam.planner.base import ActionModel, HistoryItem, Observation, Proposal, plan_document
from lam.runtime.guard import GuardCheck
from lam.runtime.runner import Runner, RunResult
from lam.runtime.start import RunOptions, open_growing
from lam.types import Decision, Verdict

__all__ = ["DoOptions", "DoResult", "do_goal", "passwords_in", "secret_passwords"]

APP = "app"
API = "api"
_PLAN_NAME = "lam-do-plan.yaml"  # where the plan would be: spec paths resolve from here


@dataclass
class DoOptions:
    """What ``lam do`` was asked: the goal, where, with which model and budgets."""

    goal: str
    run: RunOptions
    planner: ActionModel
    app_url: str | None = None
    api_spec: Path | None = None
    api_base_url: str | None = None
    max_steps: int = 25
    max_seconds: float = 180.0
    max_retries: int = 2
    memory: MemoryStore | None = None


@dataclass
class DoResult:
    run: RunResult
    plan_file: Path | None
    steps: list[dict[str, Any]] = field(default_factory=list)


def do_goal(options: DoOptions) -> DoResult:
    """Reach a goal step by step; the steps that ran are written as a plan for review."""
    loop = _Loop(options)
    return loop.run()


class _Loop:
    def __init__(self, options: DoOptions) -> None:
        self.o = options
        self.done_steps: list[dict[str, Any]] = []
        self.history: list[HistoryItem] = []
        self.pending: list[dict[str, Any]] = []
        self.goal_done = False
        self.first: Proposal | None = None  # an API goal's plan, proposed before the run opens
        self.started = time.monotonic()
        self.site = site_of(options.app_url) if options.app_url else None
        self.base = Path.cwd()
        apis: dict[str, tuple[str, str | None]] = {}
        if options.api_spec is not None:
            apis[API] = (str(options.api_spec.resolve()), options.api_base_url)
        self.apis = apis
        if options.app_url:
            self.pending.append({"id": "open", "goto": f"{APP}:/", "description": "open the app"})

    # -- the plan so far ----------------------------------------------------------------

    def _document(self, steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        apps = {APP: self.o.app_url} if self.o.app_url else None
        document = plan_document(
            f"do: {self.o.goal[:60]}", self.o.goal, self.apis, steps, apps=apps
        )
        if self.o.app_url and self.apis:
            document["apps"][APP]["api"] = API
        return document

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> DoResult:
        if not self.pending:
            self._propose_first()
        # the goal may say a password; the record never does
        run_options = replace(
            self.o.run, secrets=(*self.o.run.secrets, *passwords_in(self.o.goal))
        )
        runner = open_growing(self._document([]), run_options, path=self.base / _PLAN_NAME)
        runner.record.event("goal", goal=self.o.goal, planner=type(self.o.planner).__name__)
        if self.first is not None:  # proposed before the record was open: recorded first
            self._record_proposal(runner, self.first)
        with runner.session():
            self._loop(runner)
        plan_file = self._write_plan(runner)
        return DoResult(runner.result, plan_file, self.done_steps)

    def _propose_first(self) -> None:
        proposal = self.o.planner.propose(Observation(self.o.goal, apis=self._specs()), [])
        self._accept(proposal, None)
        self.first = proposal

    def _specs(self) -> Mapping[str, Any]:
        if not self.apis:
            return {}
        from lam.spec import load_spec

        return {API: load_spec(self.apis[API][0])}

    def _loop(self, runner: Runner) -> None:
        retries = 0
        while True:
            self._check_budget()
            if not self.pending:
                if self.goal_done:
                    return
                observation = self._observe(runner)
                with runner.kill.interruptible("waiting for the action model"):
                    proposal = self.o.planner.propose(observation, list(self.history))
                self._accept(proposal, runner)
            step_doc = self.pending.pop(0)
            if self._ran_remembered(runner, step_doc):
                continue
            try:
                self._run_one(runner, step_doc, self.o.run.approvals)
            except (StepFailed, GroundingError) as exc:
                self.history.append(HistoryItem(step_doc, "failed", exc.one_line()))
                self._remember(step_doc, None, exc.one_line())
                retries += 1
                runner.record.event(
                    "retry", step=step_doc["id"], attempt=retries, error=exc.one_line()
                )
                if retries > self.o.max_retries:
                    raise
                self.pending.clear()
                self.goal_done = False
                continue
            retries = 0

    def _accept(self, proposal: Proposal, runner: Runner | None) -> None:
        if runner is not None:
            self._record_proposal(runner, proposal)
        finished = proposal.done and not proposal.unsure and bool(self.done_steps)
        if not proposal.grounded and not finished:  # (done with nothing left to do is done)
            why = "; ".join(proposal.unsure) or "it proposed nothing"
            raise StepFailed(f"the action model is not sure how to go on: {why}", code="unsure")
        taken = {s["id"] for s in self.done_steps}
        for raw in proposal.steps:
            step = dict(raw)
            step["id"] = _unique(str(step.get("id", "step")), taken)
            taken.add(step["id"])
            self.pending.append(step)
        self.goal_done = proposal.done

    def _record_proposal(self, runner: Runner, proposal: Proposal) -> None:
        runner.record.event(
            "proposal", steps=list(proposal.steps), confidence=proposal.confidence,
            done=proposal.done, unsure=list(proposal.unsure), notes=list(proposal.notes),
        )  # fmt: skip

    def _ran_remembered(self, runner: Runner, step: dict[str, Any]) -> bool:
        """Run ``step`` with the locator memory has for it; False when it is to run as proposed.

        The record says why another locator than proposed runs (``memory-hit``), or why the
        remembered one did not (``memory-skipped``, ``memory-refused``, ``memory-miss``)."""
        recalled = self._recalled(step)
        if recalled is None:
            return False
        action = next(a for a in _TARGETED if recalled.get(a) != step.get(a))
        said = {"step": step["id"], "proposed": step[action], "remembered": recalled[action]}
        verdict = _verdict(runner, step)
        if verdict is None:
            return False  # invalid as proposed: add_step says why
        if verdict is not Verdict.ALLOW:
            # an approval is a person's word on the step as proposed: memory never moves it
            why = f"the step as proposed {_SAYS[verdict]}: memory never re-targets it"
            runner.record.event("memory-skipped", **said, why=why)
            return False
        runner.record.event("memory-hit", **said)
        verdict = _verdict(runner, recalled)
        if verdict is not Verdict.ALLOW:  # held (or invalid) by its locator alone
            says = _SAYS[verdict] if verdict is not None else "is invalid"
            why = f"with the remembered locator the step {says}"
            self._refuse(recalled, why)
            runner.record.event("memory-refused", **said, error=why)
            return False
        checks = runner.state.guard.decisions  # what the guard judged, in order
        seen = len(checks)
        try:
            self._run_one(runner, recalled, approvals=())  # no approval covers a swap
            return True
        except BlockedError as exc:
            if not _held_at_its_element(checks[seen:], step["id"]):
                raise  # held for something else (a page's request): not the entry's doing
            self._refuse(recalled, exc.one_line())
            runner.record.event("memory-refused", **said, error=exc.one_line())
        except (StepFailed, GroundingError) as exc:
            self._remember(recalled, None, exc.one_line())
            runner.record.event("memory-miss", step=step["id"], error=exc.one_line())
        return False

    def _run_one(
        self, runner: Runner, step_doc: dict[str, Any], approvals: Iterable[str]
    ) -> None:
        # validated with the plan so far and held unless approved, as any plan's step; the
        # page is only an observation: what it says cannot approve or unblock anything
        outcome = runner.add_step(step_doc, approvals=approvals)
        self.done_steps.append(step_doc)
        self.history.append(HistoryItem(step_doc, "ok"))
        self._remember(step_doc, outcome.detail.get("element"), None)

    def _observe(self, runner: Runner) -> Observation:
        view = runner.observe() if self.o.app_url else None
        return Observation(
            self.o.goal,
            elements=view.elements if view is not None else (),
            apis=self._specs(),
            url=view.url if view is not None else None,
        )

    def _check_budget(self) -> None:
        if len(self.done_steps) >= self.o.max_steps:
            raise StepFailed(f"step budget spent ({self.o.max_steps} steps)", code="budget")
        if time.monotonic() - self.started > self.o.max_seconds:
            raise StepFailed(f"time budget spent ({self.o.max_seconds:.0f} s)", code="budget")

    def _recalled(self, step: Mapping[str, Any]) -> dict[str, Any] | None:
        """The step with the locator that worked here before, if memory knows a different one."""
        memory, site = self.o.memory, self.site
        key = str(step.get("description") or "")
        action = next((a for a in _TARGETED if isinstance(step.get(a), Mapping)), None)
        if memory is None or site is None or not key or action is None:
            return None
        try:
            found = memory.recall(site, key)
        except LamError:
            return None
        best = next((r for r in found if not r.failed), None)
        if best is None or dict(best.hints) == dict(step[action]):
            return None
        return {**step, action: dict(best.hints)}

    def _memory_of(
        self, step: Mapping[str, Any]
    ) -> tuple[MemoryStore, str, str, dict[str, Any]] | None:
        """The store, site, key and target a step is remembered under; None when it is not
        (no store, no site, no description, no target)."""
        memory, site = self.o.memory, self.site
        key = str(step.get("description") or "")
        target = next((step[a] for a in _TARGETED if isinstance(step.get(a), Mapping)), None)
        if memory is None or site is None or not key or target is None:
            return None
        return memory, site, key, dict(target)

    def _refuse(self, step: Mapping[str, Any], why: str) -> None:
        found = self._memory_of(step)
        if found is None:
            return
        memory, site, key, target = found
        with suppress(LamError):  # unmarked, it comes back next run and is refused again
            memory.refuse(site, key, target, f"refused: {why}")

    def _remember(self, step: Mapping[str, Any], element: Any, error: str | None) -> None:
        found = self._memory_of(step)
        if found is None:
            return
        memory, site, key, target = found
        try:
            if error is None:
                fingerprint = element.get("fingerprint", {}) if isinstance(element, Mapping) else {}
                memory.remember_success(site, key, target, dict(fingerprint or {}))
            else:
                memory.remember_failure(site, key, target, error)
        except LamError:
            pass  # memory helps; it never stops a run

    def _write_plan(self, runner: Runner) -> Path | None:
        if not self.done_steps:
            return None
        target = Path(runner.result.directory) / "plan.yaml"
        document = self._document([dict(step) for step in self.done_steps])
        secret_passwords(document["steps"])
        document = runner.record.redact(document)  # no password left in the description
        target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return target


_TARGETED = ("click", "fill", "select", "check", "uncheck", "press", "hover", "upload", "extract")
_SAYS = {Verdict.APPROVE: "needs approval", Verdict.DENY: "is denied"}


def _verdict(runner: Runner, step: Mapping[str, Any]) -> Verdict | None:
    """The verdict on ``step`` checked with the plan so far (ALLOW: it runs without anyone's
    approval); None when it is not valid."""
    try:
        return runner.check_step(step).verdict.verdict
    except LamError:
        return None


def _held_at_its_element(judged: Sequence[tuple[GuardCheck, Decision]], step_id: str) -> bool:
    """Whether the last guard check of the step's run held the element it resolved to (the
    guard raises at the check it does not allow), with no request of the page refused."""
    if not judged:
        return False
    check, decision = judged[-1]
    requests = [c for c, d in judged if c.origin == "request" and d.verdict is not Verdict.ALLOW]
    held = decision.verdict is not Verdict.ALLOW
    return held and check.origin == "ui" and check.step == step_id and not requests


_PASSWORD = re.compile(r"password\s+(?:is\s+)?(?:'([^']+)'|\"([^\"]+)\"|(\S+))", re.IGNORECASE)


def passwords_in(goal: str) -> list[str]:
    """The passwords a goal says, for records to hide: values it gives as a password ("...
    with password 'x'", "as admin using x", "(admin / x)": every sign-in phrasing the planner
    reads, lam.planner.phrasing)."""
    from lam.planner.phrasing import goal_secrets

    found = [next(g for g in m.groups() if g) for m in _PASSWORD.finditer(goal)]
    return [*found, *(s for s in goal_secrets(goal) if s not in found)]


def secret_passwords(steps: list[dict[str, Any]]) -> list[str]:
    """Typed passwords become ``$secrets.PASSWORD``: a plan is for review and sharing.

    Returns the values replaced."""
    replaced: list[str] = []
    for step in steps:
        target = step.get("fill")
        if not isinstance(target, Mapping):
            continue
        words = " ".join(str(target.get(k, "")) for k in ("name", "label", "placeholder", "css"))
        if "password" in words.lower() and not str(step.get("value", "")).startswith("$"):
            replaced.append(str(step.get("value", "")))
            step["value"] = "$secrets.PASSWORD"
    return replaced


def _unique(wanted: str, taken: set[str]) -> str:
    base = "".join(c if c.isalnum() or c in "_-" else "_" for c in wanted).strip("_") or "step"
    if not base[0].isalpha():
        base = "s_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name
