"""``lam.Session``: one guarded run that a caller drives step by step.

::

    with lam.Session(apps={"shop": "http://127.0.0.1:8321/"}, apis={"shop": "specs/demo.yaml"}) as s:
        page = s.observe()                      # the page as text, each element with [ref=eN]
        s.act({"goto": "shop:/login"})
        result = s.act({"click": {"ref": "e4"}})  # or any UI/API step of lam's plan format
        if result.status == "held":             # a destructive step waits for the operator
            ...
        s.plan_text()                           # what ran, as a plan `lam run` replays

Every step goes through what ``lam run`` uses: the plan parser, the validator (specs and the
operator's policy), the step guard and the network guard, the kill switch and the hash-chained
run record. The session is registered like any run (``lam kill`` stops it; ``lam report`` and
``lam verify`` read its record).

Threat model. The step passed to :meth:`Session.act` is what an agent wrote: it can never
approve anything (a plan cannot carry approvals, and act() has no approval argument). Approvals
come from the operator only: the constructor's ``approvals`` and ``prompt``, and
:meth:`Session.approve`. In-process, the Python caller that builds the Session *is* the operator:
code that holds the object can call ``approve`` as it can edit the policy file, so an agent
whose tool calls reach Python must be given tools that wrap :meth:`observe` and :meth:`act` only
(as the MCP server and examples/agent_loop.py do), never the Session object, ``approve`` or
``record_decision`` (which writes a person's answer into the record).
An approval names the step's digest (``STEP@DIGEST``): it covers that step as it was shown and
nothing else, so an agent cannot get a different step through under an approved id.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import yaml

from lam.errors import (
    BlockedError,
    GroundingError,
    KilledError,
    LamError,
    PlanError,
    StepFailed,
    UsageError,
)
from lam.page_refs import PageSnapshot, RefBook
from lam.plans import Step
from lam.policy import Policy
from lam.runtime.growing import step_document
from lam.runtime.guard import GuardCheck, Prompt
from lam.runtime.runner import Runner, RunResult
from lam.runtime.start import RunOptions, open_growing
from lam.types import Risk, Verdict
from lam.validation import StepReport

__all__ = ["ActResult", "ActStatus", "Session"]

_APPROVAL = re.compile(r"^(?P<id>[^@:\s]+)(?:@(?P<digest>[0-9a-f]{6,64}))?(?::(?P<risk>\w+))?$")
_WHERE = Path("<session>")  # the plan's "file" in messages: it has none; its specs are absolute
_TARGETED = ("click", "fill", "select", "check", "uncheck", "hover", "upload", "extract", "assert")


class ActStatus(enum.StrEnum):
    """How one :meth:`Session.act` ended."""

    OK = "ok"
    FAILED = "failed"  # the step ran and failed: a missing element, an expectation, an error
    HELD = "held"  # it needs the operator's approval: nothing was done
    DENIED = "denied"  # the policy denies it: nothing was done, no approval can change that
    KILLED = "killed"  # the run was stopped (lam kill); the session is closed


@dataclass(frozen=True)
class ActResult:
    """What one step did. For a held step, ``approval`` is what the operator passes to
    :meth:`Session.approve` (``STEP@DIGEST``, with ``:RISK`` for a request the step sent)."""

    step: str
    status: ActStatus
    summary: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: LamError | None = None
    risk: str | None = None
    reasons: tuple[str, ...] = ()
    digest: str | None = None
    approval: str | None = None
    screenshot: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is ActStatus.OK

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (the error as its one line)."""
        return {
            "step": self.step,
            "status": self.status.value,
            "summary": self.summary,
            "outputs": dict(self.outputs),
            "error": self.error.one_line() if self.error else None,
            "risk": self.risk,
            "reasons": list(self.reasons),
            "digest": self.digest,
            "approval": self.approval,
            "screenshot": self.screenshot,
        }


class Session:
    """One guarded run, driven a step at a time. Use it as a context manager (or call
    :meth:`close`): the record is finished on leaving, on an exception too.

    ``apps`` maps a name to its URL, or to ``{"url": URL, "api": API_NAME}``; an app and an API
    of the same name are linked (the API is the app's backend, so the network guard judges the
    page's requests by its spec). ``apis`` maps a name to a spec (path or URL) or to
    ``(spec, base_url)``. ``policy`` is a :class:`~lam.policy.Policy`, a policy file, or None for
    the operator's (the project's policy found from the working directory, else lam's
    defaults). ``dry_run`` runs every step in the sandbox. ``approvals`` are the operator's
    grants given up front, each ``STEP@DIGEST`` (``:RISK`` for the requests a step sends): the
    agent names its steps, so a grant always names the content too; ``prompt`` asks a person
    about a held action at the moment it is about to happen (True lets it through).

    Use a Session from one thread (the browser driver is thread-bound). In the main thread it
    routes SIGINT/SIGTERM to the run's kill switch while open, as ``lam run`` does.
    """

    def __init__(
        self,
        *,
        apps: Mapping[str, str | Mapping[str, str]] | None = None,
        apis: Mapping[str, str | Path | tuple[str | Path, str | None]] | None = None,
        policy: Policy | str | Path | None = None,
        dry_run: bool = False,
        headed: bool = False,
        approvals: Iterable[str] = (),
        prompt: Prompt | None = None,
        secrets: Iterable[str] = (),
        runs_dir: Path | None = None,
        name: str = "session",
        description: str = "",
        screenshots: Literal["all", "failures"] = "all",
        reads: Literal["sandbox", "live"] = "sandbox",
    ) -> None:
        from lam.facade import resolve_policy

        self._granted: set[str] = set()
        for approval in approvals:
            self._granted.add(_parse_approval(approval))
        self._options = RunOptions(
            policy=resolve_policy(policy),
            dry_run=dry_run,
            reads=reads,  # with dry_run: "live" reads the live API, writes simulated over it
            headed=headed,
            prompt=prompt,
            secrets=tuple(secrets),
            runs_dir=runs_dir,
            screenshots=screenshots,
        )
        self._document = _base_document(name, description, apps or {}, apis or {})
        self._used: list[str] = []  # STEP@DIGEST of approved steps that ran
        self._refs = RefBook()
        self._last: PageSnapshot | None = None
        self._stack = contextlib.ExitStack()
        self._runner = self._open()
        self._closed = False

    # -- life ----------------------------------------------------------------------------------

    def _open(self) -> Runner:
        document = {**self._document, "steps": []}
        runner = open_growing(document, self._options, path=_WHERE)
        runner.record.event("session", approvals=sorted(self._granted))
        self._stack.enter_context(runner.session())
        return runner

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(kind, exc, tb)

    def close(self) -> RunResult:
        """Finish the run record (idempotent). Returns the run's result."""
        self._finish(None, None, None)
        return self._runner.result

    def _finish(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        self._closed = True
        self._stack.__exit__(kind, exc, tb)

    @property
    def run_id(self) -> str:
        """The run's id (``lam report RUN``, ``lam verify RUN``, ``lam kill RUN``)."""
        return self._runner.record.run_id

    @property
    def directory(self) -> Path:
        """The run record's folder."""
        return Path(self._runner.record.directory)

    @property
    def result(self) -> RunResult:
        """The run's result so far (final once closed)."""
        return self._runner.result

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def killed(self) -> bool:
        """Whether ``lam kill`` (or SIGINT/SIGTERM in the main thread) pulled the run's kill
        switch. The next :meth:`act` returns ``killed``; :meth:`stop_if_killed` ends it now."""
        return self._runner.kill.pulled()

    def stop_if_killed(self) -> bool:
        """Finish the record as killed (a ``killed`` event, then ``end``) if the kill switch is
        pulled; True when the session is over because of it. A caller that waits between steps
        (for a model, for a client) calls this as it waits, so ``lam kill`` sees the run end
        at once rather than at the next step."""
        if self._closed:
            return isinstance(self._runner.result.error, KilledError)
        try:
            self._runner.kill.check("while the session waited for its next step")
        except KilledError as exc:
            self._finish(type(exc), exc, exc.__traceback__)
            return True
        return False

    def stop(self, reason: str = "stopped by the operator") -> None:
        """End the session as ``lam kill`` would: pull its kill switch (a switch already pulled
        keeps its own reason) and finish the record as killed (exit 4 for a command). For a
        caller that learns otherwise that the run must stop (its own signal, its client
        gone for a kill). Idempotent."""
        if not self._closed:
            self._runner.kill.trip(reason)
            self.stop_if_killed()

    # -- the page --------------------------------------------------------------------------------

    def observe(self) -> PageSnapshot:
        """The current page: its visible actionable elements, each with a stable ref. Starts
        the browser if no step has yet. A session without apps has no page: UsageError."""
        self._check_open()
        view = self._runner.observe()
        if view is None:
            raise UsageError(
                "observe(): this session has no app, so there is no page", code="no-app"
            )
        self._last = self._refs.snapshot(view.url, view.elements, title=view.title)
        return self._last

    def screenshot(self, *, full_page: bool = False, jpeg: bool = False) -> bytes:
        """The current page as an image (PNG, or JPEG with ``jpeg``): only the viewport, or the
        whole page with ``full_page``. A look, not a step: nothing is clicked and nothing is
        added to the plan (each step's own screenshot is in the record). Starts the browser if
        no step has yet; a session without apps has no page: UsageError."""
        self._check_open()
        data = self._runner.screenshot(full_page=full_page, jpeg=jpeg)
        if data is None:
            raise UsageError(
                "screenshot(): this session has no app, so there is no page", code="no-app"
            )
        return data

    def target(self, ref: str) -> dict[str, Any]:
        """Locator hints (plan format) for a ref of the last :meth:`observe`."""
        if self._last is None:
            raise UsageError(f"ref {ref!r}: call observe() first", code="stale-ref")
        return self._last.target(ref)

    # -- steps ---------------------------------------------------------------------------------

    def act(self, step: Mapping[str, Any] | Step) -> ActResult:
        """Validate, guard and run one step (a plan step mapping, or a :class:`~lam.plans.Step`).

        A UI target may be ``{"ref": "eN"}`` from the last :meth:`observe`: it is replaced by
        locator hints for that element. Without an ``id`` the step gets ``stepN``. Returns an
        :class:`ActResult`; a step that is not a valid plan step, or that refers to what the
        session does not have, raises :class:`~lam.errors.PlanError` or
        :class:`~lam.errors.UsageError` with where and why.
        """
        self._check_open()
        doc = self._step_document(step)
        runner = self._runner
        checked = runner.check_step(doc)
        new, verdict, digest = checked.step, checked.verdict, checked.digest
        approvals = self._approvals_for(new.id, digest)
        guard = runner.state.guard
        seen = len(guard.decisions)
        try:
            outcome = runner.add_step(checked, approvals=approvals)
        except BlockedError as exc:
            acted = [c for c, _ in guard.decisions[seen:] if c.step == new.id]
            if acted:  # the guard stopped it as it acted: the element, or a request it sent
                return self._blocked(new.id, digest, exc, acted[-1])
            return self._held(verdict, digest, exc)
        except KilledError as exc:
            self._finish(type(exc), exc, exc.__traceback__)
            return ActResult(new.id, ActStatus.KILLED, exc.message, error=exc)
        except (StepFailed, GroundingError) as exc:
            return ActResult(new.id, ActStatus.FAILED, exc.message, error=exc, digest=digest,
                             screenshot=getattr(exc, "screenshot", None))  # fmt: skip
        self._used += sorted(approvals)
        return ActResult(
            new.id, ActStatus.OK, outcome.summary,
            outputs=dict(runner.state.outputs.get(new.id, {})), digest=digest,
            screenshot=outcome.screenshot,
        )  # fmt: skip

    def approve(self, approval: str) -> None:
        """The operator's channel: let a held step run, as it was shown.

        ``approval`` is the held result's ``approval`` (``STEP@DIGEST``, or
        ``STEP@DIGEST:RISK`` for the requests a step sends). It covers that step with that
        content only. Never hand this method to an agent (see the module's threat model).
        """
        self._check_open()
        key = _parse_approval(approval)
        self._granted.add(key)
        self._runner.record.event("approval", approval=key, channel="operator")

    def record_decision(
        self,
        approval: str,
        decision: Literal["approved", "declined"],
        *,
        channel: str,
        reason: str = "",
    ) -> None:
        """Write a person's answer about a held step into the run record (a ``decision``
        event): ``approval`` is the held result's ``STEP@DIGEST[:RISK]``, ``channel`` says how
        the answer came (``"elicitation"``, ``"lam approve"``, ``"prompt"``...). It only
        records: a yes still needs :meth:`approve` to let the step run, a no needs nothing (the
        step stays held). Like :meth:`approve`, an operator's call, never an agent's."""
        self._check_open()
        key = _parse_approval(approval)
        if decision not in ("approved", "declined"):
            raise UsageError(
                f"decision {decision!r}: expected 'approved' or 'declined'", code="usage"
            )
        said = " ".join(str(channel).split())[:80]
        if not said:
            raise UsageError("a decision names the channel it came through", code="usage")
        step, digest, risk = _split(key)
        self._runner.record.event(
            "decision", step=step, digest=digest, risk=risk, approval=key, decision=decision,
            channel=said, reason=reason[:500],
        )  # fmt: skip

    def plan(self) -> dict[str, Any]:
        """What ran so far, as a plan (mapping) that ``lam run``/``lam replay`` runs again.
        Held steps that were approved need the same ``--approve STEP@DIGEST`` there:
        :meth:`approvals_used` lists them."""
        plan: dict[str, Any] = json.loads(json.dumps(self._runner.plan.document, default=str))
        return plan

    def plan_text(self) -> str:
        """:meth:`plan` as YAML text."""
        return yaml.safe_dump(self.plan(), sort_keys=False, allow_unicode=True, width=100)

    def approvals_used(self) -> list[str]:
        """The approvals (``STEP@DIGEST[:RISK]``) the steps that ran used, in order: what
        ``lam run --approve`` needs to run :meth:`plan` again."""
        return list(self._used)

    # -- inside ----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("the session is closed", code="closed")

    def _step_document(self, step: Mapping[str, Any] | Step) -> dict[str, Any]:
        if isinstance(step, Step | Mapping):
            doc = step_document(step)
        else:
            raise PlanError(
                f"a step is a mapping of lam's plan format, not {type(step).__name__}",
                file="session", code="not-a-mapping",
            )  # fmt: skip
        taken = {s.id for s in self._runner.plan.steps}
        given = doc.get("id")
        if given is None:
            n = len(taken) + 1
            while f"step{n}" in taken:
                n += 1
            doc = {"id": f"step{n}", **doc}
        elif given in taken:
            raise PlanError(
                f"step id {given!r} is taken by a step that already ran; give another id",
                file="session", location=f"steps[{len(taken)}].id", code="duplicate-id",
            )  # fmt: skip
        for action in _TARGETED:
            target = doc.get(action)
            if isinstance(target, Mapping) and "ref" in target:
                hints = self.target(str(target["ref"]))
                extra = {k: v for k, v in target.items() if k not in ("ref", "element")}
                doc[action] = {**hints, **extra}
        return doc

    def _approvals_for(self, step_id: str, digest: str) -> frozenset[str]:
        """The operator's grants that cover this step as it is now. One naming another digest
        is left out (the step is held, as if none were given), never an error for the agent."""
        return frozenset(key for key in self._granted if _split(key)[:2] == (step_id, digest))

    def _held(self, verdict: StepReport, digest: str, exc: BlockedError) -> ActResult:
        """The validator's verdict holds or denies the step: nothing of it ran."""
        denied = verdict.verdict is Verdict.DENY
        reasons = verdict.verdict_reasons if denied else verdict.reasons
        approval = None if denied else f"{verdict.id}@{digest}"
        exc.code = "denied" if denied else "needs-approval"
        risk = verdict.risk.value if verdict.risk else None
        self._runner.record.event(
            "step-held", step=verdict.id, verdict=verdict.verdict.value if verdict.verdict else None,
            risk=risk, reasons=list(reasons), digest=digest,
        )  # fmt: skip
        return ActResult(
            verdict.id, ActStatus.DENIED if denied else ActStatus.HELD, exc.message, error=exc,
            risk=risk, reasons=tuple(reasons), digest=digest, approval=approval,
        )  # fmt: skip

    def _blocked(self, step: str, digest: str, exc: BlockedError, check: GuardCheck) -> ActResult:
        """The guard stopped the step as it acted (the element, or a request it sent)."""
        denied = exc.code == "denied"
        # as Guard.approval_flag names it, bound to this content (the runner has already put
        # the plan back as it was without the step, so it cannot name the digest now)
        risk = f":{check.classification.risk.value}" if check.origin == "request" else ""
        approval = None if denied else f"{step}@{digest}{risk}"
        return ActResult(
            step, ActStatus.DENIED if denied else ActStatus.HELD, exc.message, error=exc,
            risk=check.classification.risk.value, reasons=tuple(check.classification.reasons),
            digest=digest, approval=approval,
        )  # fmt: skip


def _base_document(
    name: str,
    description: str,
    apps: Mapping[str, str | Mapping[str, str]],
    apis: Mapping[str, str | Path | tuple[str | Path, str | None]],
) -> dict[str, Any]:
    document: dict[str, Any] = {"lam": 1, "name": name}
    if description:
        document["description"] = description
    if apis:
        declared: dict[str, Any] = {}
        for api, given in apis.items():
            spec, base_url = given if isinstance(given, tuple) else (given, None)
            text = str(spec)
            if "://" not in text:
                path = Path(text).expanduser()
                if not path.is_file():
                    raise UsageError(
                        f"apis.{api}: no spec file {text}", file=text, code="not-found"
                    )
                text = os.path.abspath(path)  # as given: a symlink stays one
            declared[api] = {"spec": text, **({"base_url": base_url} if base_url else {})}
        document["apis"] = declared
    if apps:
        declared_apps: dict[str, Any] = {}
        for app, where in apps.items():
            entry = {"url": where} if isinstance(where, str) else dict(where)
            if "api" not in entry and app in (apis or {}):
                entry["api"] = app
            declared_apps[app] = entry
        document["apps"] = declared_apps
    return document


def _parse_approval(approval: str) -> str:
    """An approval as the operator gives it, checked: ``STEP@DIGEST`` or ``STEP@DIGEST:RISK``.
    The digest is required: the agent names its steps, so an approval by id alone would cover
    whatever the agent sends under that id."""
    match = _APPROVAL.match(approval.strip()) if isinstance(approval, str) else None
    if match is None:
        raise UsageError(
            f"approval {approval!r}: expected STEP@DIGEST or STEP@DIGEST:RISK",
            code="usage",
        )
    if match["digest"] is None:
        raise UsageError(
            f"approval {approval!r}: name the step with its digest (STEP@DIGEST), as the held "
            "step's result gives it, so the approval covers what was shown and nothing else",
            code="usage",
        )
    risk = match["risk"]
    if risk is not None and risk not in {r.value for r in Risk}:
        raise UsageError(
            f"approval {approval!r}: {risk!r} is not a risk (read, write or destructive)",
            code="usage",
        )
    return approval.strip()


def _split(key: str) -> tuple[str, str | None, str | None]:
    match = _APPROVAL.match(key)
    assert match is not None  # keys were parsed on the way in
    return match["id"], match["digest"], match["risk"]
