"""The guard: the operator's policy enforced at the moment an action is about to happen.

Every resolved action passes through :meth:`Guard.check` before it reaches the world: the API
request about to be sent, the element about to be clicked, each request a page sends. The plan
may lie or be incomplete; the guard sees what is really about to happen.

Approvals come only from the human: ``--approve STEP`` on the command line, or an answer at an
interactive prompt. An approval covers exactly one step and only the risk it was given for: a
Save step approved as a write does not let the page send a DELETE. ``--approve STEP:RISK`` (what
lam prints when it holds a step for a request its page sent) also lets the requests that step
sends to the plan's hosts through up to ``RISK``: a "Go" button whose form asks for a delete.

Two guards share the decision logic: :class:`LiveGuard` refuses (BlockedError), and
:class:`DryRunGuard` records the verdict and lets the sandbox carry on, so a dry run shows
everything that would have been refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lam.errors import BlockedError
from lam.policy import ActionFacts, Policy
from lam.runtime.record import RunRecord
from lam.types import Classification, Decision, Risk, Verdict

__all__ = ["DryRunGuard", "Guard", "GuardCheck", "LiveGuard", "Prompt"]


@dataclass(frozen=True)
class GuardCheck:
    """One action about to happen, as the guard sees it."""

    step: str
    origin: str  # "api" (a plan's call), "ui" (an element acted on), "request" (a page's request)
    facts: ActionFacts
    classification: Classification
    summary: str  # "DELETE http://127.0.0.1:8321/api/pets/3" or "click button 'Delete'"
    detail: Mapping[str, Any] = field(default_factory=dict)


Prompt = Callable[[GuardCheck], bool]
"""Asks a human whether to let one check through; True means approved."""


class Guard:
    """Shared decision logic. Subclasses say what happens to a verdict that is not allow."""

    def __init__(
        self,
        policy: Policy,
        *,
        declared_hosts: Iterable[str],
        record: RunRecord | None = None,
        approvals: Iterable[str] = (),
        prompt: Prompt | None = None,
    ) -> None:
        self.policy = policy
        self.declared_hosts = frozenset(declared_hosts)
        self.record = record
        # step ids, and "STEP:RISK" for a step whose requests were approved up to RISK
        self.approvals = frozenset(approvals)
        self.prompt = prompt
        # how a hint names a step's approval ("go@3f9c2a1b07"); the runner binds the digest
        self.approval_name: Callable[[str], str] = lambda step: step
        self.cleared: dict[str, Risk] = {}  # step id -> highest risk it was cleared for
        self.decisions: list[tuple[GuardCheck, Decision]] = []

    def decide(self, check: GuardCheck) -> Decision:
        """The verdict for a check, with approvals and the step's clearance applied."""
        facts = check.facts
        if facts.host and not self.policy.host_allowed(facts.host, self.declared_hosts):
            return Decision(Verdict.DENY, (f"host {facts.host} is not among the allowed hosts",))
        decision = self.policy.decide(facts)
        if decision.verdict is not Verdict.APPROVE:
            return decision
        cleared = self.cleared.get(check.step)
        risk = check.classification.risk
        if check.origin == "request" and cleared is not None and risk.rank <= cleared.rank:
            return Decision(
                Verdict.ALLOW, (f"within what step {check.step!r} was cleared for ({cleared})",)
            )
        approved = self.approved_risk(check.step)
        if check.origin == "request" and approved is not None and risk.rank <= approved.rank:
            # only the plan's hosts get here: a host outside the plan was denied above
            return Decision(
                Verdict.ALLOW,
                (f"approved on the command line up to {approved} "
                 f"(--approve {check.step}:{approved})",),
            )  # fmt: skip
        if check.step in self.approvals and check.origin != "request":
            return Decision(
                Verdict.ALLOW, (f"approved on the command line (--approve {check.step})",)
            )
        return decision

    def grant(self, step: str, approvals: Iterable[str]) -> None:
        """Approvals for ``step`` as it is now (bound by :func:`lam.runtime.runner.bind_approvals`),
        replacing any the step's id had before: a step added again under the same id after a
        failure is not covered by what was approved, or cleared, for the step it replaces."""
        kept = {a for a in self.approvals if a.partition(":")[0] != step}
        self.approvals = frozenset(kept | set(approvals))
        self.cleared.pop(step, None)

    @property
    def answers_held(self) -> bool:
        """Whether a step that waits for an approval may start: it is answered at run time
        (a human at the prompt, or the sandbox in a dry run)."""
        return self.prompt is not None

    def approved_risk(self, step: str) -> Risk | None:
        """The highest risk ``--approve STEP:RISK`` approved the step's requests up to."""
        given = [r for r in Risk if f"{step}:{r.value}" in self.approvals]
        return Risk.highest(*given) if given else None

    def approval_flag(self, check: GuardCheck) -> str:
        """The ``--approve`` value that, given back, covers ``check`` (and no more)."""
        name = self.approval_name(check.step)
        if check.origin == "request":
            return f"{name}:{check.classification.risk.value}"
        return name

    def check(self, check: GuardCheck) -> Decision:
        decision = self.decide(check)
        if decision.verdict is Verdict.APPROVE and self.prompt is not None and self.prompt(check):
            decision = Decision(Verdict.ALLOW, ("approved at the interactive prompt",))
        self._log(check, decision)
        if decision.verdict is Verdict.ALLOW and check.origin != "request":
            previous = self.cleared.get(check.step, Risk.READ)
            self.cleared[check.step] = Risk.highest(previous, check.classification.risk)
        if decision.verdict is not Verdict.ALLOW:
            self.refuse(check, decision)
        return decision

    def refuse(self, check: GuardCheck, decision: Decision) -> None:
        raise NotImplementedError

    def _log(self, check: GuardCheck, decision: Decision) -> None:
        self.decisions.append((check, decision))
        if self.record is not None:
            self.record.event(
                "guard",
                step=check.step,
                origin=check.origin,
                action=check.summary,
                risk=check.classification.risk.value,
                reasons=list(check.classification.reasons),
                verdict=decision.verdict.value,
                verdict_reasons=list(decision.reasons),
                detail=dict(check.detail),
            )


class LiveGuard(Guard):
    """Refuses: a denied or unapproved action raises BlockedError before it happens."""

    def refuse(self, check: GuardCheck, decision: Decision) -> None:
        what = "denied" if decision.verdict is Verdict.DENY else "needs approval"
        hint = (
            ""
            if decision.verdict is Verdict.DENY
            else f" (approve with --approve {self.approval_flag(check)})"
        )
        raise BlockedError(
            f"{check.summary}: {what}: {'; '.join(decision.reasons)}{hint}",
            steps=[check.step],
            approvals=[] if decision.verdict is Verdict.DENY else [self.approval_flag(check)],
            step=check.step,
            code="denied" if decision.verdict is Verdict.DENY else "needs-approval",
        )


class DryRunGuard(Guard):
    """Records every verdict and lets the sandbox answer: nothing here reaches a live system."""

    @property
    def answers_held(self) -> bool:
        """Always: the sandbox answers what a step sends, nothing reaches a live system."""
        return True

    def refuse(self, check: GuardCheck, decision: Decision) -> None:
        return None
