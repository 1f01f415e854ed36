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
(as the MCP server and examples/agent_loop.py do), never the Session object or ``approve``.
An approval names the step's digest (``STEP@DIGEST``): it covers that step as it was shown and
nothing else, so an agent cannot get a different step through under an approved id.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import yaml

from lam.errors import BlockedError, KilledError, LamError, PlanError, UsageError
from lam.expressions import Expression, Template
from lam.page_refs import PageSnapshot, RefBook
from lam.plan import Plan, Step, parse_plan, step_digest
from lam.policy import Policy
from lam.run.guard import Prompt
from lam.run.runner import Runner, RunResult
from lam.run.start import RunOptions, open_run
from lam.types import Risk, Verdict
from lam.validate import StepReport, validate_loaded

__all__ = ["ActResult", "ActStatus", "Session"]

_APPROVAL = re.compile(r"^(?P<id>[^@:\s]+)(?:@(?P<digest>[0-9a-f]{6,64}))?(?::(?P<risk>\w+))?$")
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
    ``--approve`` values (``STEP``, ``STEP@DIGEST``, ``...:RISK``); ``prompt`` asks a person
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
    ) -> None:
        from lam.facade import resolve_policy

        self._granted: set[str] = set()
        for approval in approvals:
            self._granted.add(_parse_approval(approval, digest_needed=False)[0])
        self._options = RunOptions(
            policy=resolve_policy(policy),
            dry_run=dry_run,
            headed=headed,
            prompt=prompt,
            secrets=tuple(secrets),
            runs_dir=runs_dir,
            screenshots=screenshots,
        )
        self._document = _base_document(name, description, apps or {}, apis or {})
        self._steps: list[dict[str, Any]] = []  # the steps that ran, as written (refs resolved)
        self._used: list[str] = []  # STEP@DIGEST of approved steps that ran
        self._refs = RefBook()
        self._last: PageSnapshot | None = None
        self._stack = contextlib.ExitStack()
        self._runner = self._open()
        self._closed = False

    # -- life ----------------------------------------------------------------------------------

    def _open(self) -> Runner:
        first = parse_plan(
            yaml.safe_dump({**self._document, "steps": [{"id": "open", "wait": 0}]}),
            name="session",
        )
        plan = replace(first, steps=(), document={**self._document, "steps": []})
        report = validate_loaded(
            plan, [], policy=self._options.policy, api_overrides={}, app_overrides={}
        )
        if report.errors:
            problem = report.errors[0]
            raise UsageError(problem.message, location=problem.location, code=problem.code)
        runner = open_run(plan, report, self._options, {})
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

    # -- the page --------------------------------------------------------------------------------

    def observe(self) -> PageSnapshot:
        """The current page: its visible actionable elements, each with a stable ref. Starts
        the browser if no step has yet. A session without apps has no page: UsageError."""
        self._check_open()
        ui = self._runner.executors.get("ui")
        if ui is None:
            raise UsageError(
                "observe(): this session has no app, so there is no page", code="no-app"
            )
        from lam.adapters.browser.snapshot import snapshot

        page = ui.page(self._runner.state)  # type: ignore[attr-defined]
        self._last = self._refs.snapshot(page.url, page.title(), snapshot(page))
        return self._last

    def target(self, ref: str) -> dict[str, Any]:
        """Locator hints (plan format) for a ref of the last :meth:`observe`."""
        if self._last is None:
            raise UsageError(f"ref {ref!r}: call observe() first", code="stale-ref")
        return self._last.target(ref)

    # -- steps ---------------------------------------------------------------------------------

    def act(self, step: Mapping[str, Any] | Step) -> ActResult:
        """Validate, guard and run one step (a plan step mapping, or a :class:`~lam.plan.Step`).

        A UI target may be ``{"ref": "eN"}`` from the last :meth:`observe`: it is replaced by
        locator hints for that element. Without an ``id`` the step gets ``stepN``. Returns an
        :class:`ActResult`; a step that is not a valid plan step, or that refers to what the
        session does not have, raises :class:`~lam.errors.PlanError` or
        :class:`~lam.errors.UsageError` with where and why.
        """
        self._check_open()
        doc = self._step_document(step)
        plan, report = self._build(doc)
        new = plan.steps[-1]
        verdict = report.steps[-1]
        digest = step_digest(plan, new)
        bound = self._bind(new.id, digest)
        if not self._options.dry_run:
            refused = self._refuse(verdict, digest, bound)
            if refused is not None:
                return refused
        return self._run(plan, new, doc, digest, bound)

    def approve(self, approval: str) -> None:
        """The operator's channel: let a held step run, as it was shown.

        ``approval`` is the held result's ``approval`` (``STEP@DIGEST``, or
        ``STEP@DIGEST:RISK`` for the requests a step sends). It covers that step with that
        content only. Never hand this method to an agent (see the module's threat model).
        """
        self._check_open()
        key, _ = _parse_approval(approval, digest_needed=True)
        self._granted.add(key)
        self._runner.record.event("approval", approval=key, channel="operator")

    def plan(self) -> dict[str, Any]:
        """What ran so far, as a plan (mapping) that ``lam run``/``lam replay`` runs again.
        Held steps that were approved need the same ``--approve STEP@DIGEST`` there:
        :meth:`approvals_used` lists them."""
        return {**self._document, "steps": [dict(s) for s in self._steps]}

    def plan_text(self) -> str:
        """:meth:`plan` as YAML text."""
        return yaml.safe_dump(self.plan(), sort_keys=False, allow_unicode=True, width=100)

    def approvals_used(self) -> list[str]:
        """The ``STEP@DIGEST`` approvals the steps that ran needed (for ``lam run --approve``)."""
        return list(self._used)

    # -- inside ----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("the session is closed", code="closed")

    def _step_document(self, step: Mapping[str, Any] | Step) -> dict[str, Any]:
        if isinstance(step, Step):
            doc = _from_step(step)
        elif isinstance(step, Mapping):
            doc = dict(step)
        else:
            raise PlanError(
                f"a step is a mapping of lam's plan format, not {type(step).__name__}",
                file="session", code="not-a-mapping",
            )  # fmt: skip
        taken = {s["id"] for s in self._steps}
        given = doc.get("id")
        if given is None:
            n = len(self._steps) + 1
            while f"step{n}" in taken:
                n += 1
            doc = {"id": f"step{n}", **doc}
        elif given in taken:
            raise PlanError(
                f"step id {given!r} is taken by a step that already ran; give another id",
                file="session", location=f"steps[{len(self._steps)}].id", code="duplicate-id",
            )  # fmt: skip
        for action in _TARGETED:
            target = doc.get(action)
            if isinstance(target, Mapping) and "ref" in target:
                hints = self.target(str(target["ref"]))
                extra = {k: v for k, v in target.items() if k not in ("ref", "element")}
                doc[action] = {**hints, **extra}
        return doc

    def _build(self, doc: dict[str, Any]) -> tuple[Plan, Any]:
        document = {**self._document, "steps": [*self._steps, doc]}
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        plan = parse_plan(text, name="session")
        report = validate_loaded(
            plan, [], policy=self._options.policy, api_overrides={}, app_overrides={}
        )
        if report.errors:
            first = report.errors[0]
            raise PlanError(
                first.message, file="session", location=first.location, step=first.step,
                code=first.code,
            )  # fmt: skip
        return plan, report

    def _bind(self, step_id: str, digest: str) -> frozenset[str]:
        """The guard approvals the operator's grants give this step as it is now."""
        bound: set[str] = set()
        for key in self._granted:
            sid, given, risk = _split(key)
            if sid != step_id or (given is not None and given != digest):
                continue
            bound.add(sid)
            if risk is not None:
                bound.add(f"{sid}:{risk}")
        return frozenset(bound)

    def _refuse(self, verdict: StepReport, digest: str, bound: frozenset[str]) -> ActResult | None:
        """A step the validator holds or denies, before anything runs (None: it may run)."""
        if verdict.verdict is Verdict.ALLOW:
            return None
        if verdict.verdict is Verdict.APPROVE and (
            verdict.id in bound or self._options.prompt is not None
        ):
            return None  # the guard lets it through when it acts (or asks the prompt)
        denied = verdict.verdict is Verdict.DENY
        reasons = verdict.verdict_reasons if denied else verdict.reasons
        what = verdict.operation or verdict.action
        approval = None if denied else f"{verdict.id}@{digest}"
        message = (
            f"{what} is denied: {'; '.join(reasons)}" if denied
            else f"{what} needs approval ({verdict.risk}): {'; '.join(reasons)}; "
            f"the operator approves it with {approval}"
        )  # fmt: skip
        error = BlockedError(
            message, steps=[verdict.id], step=verdict.id,
            code="denied" if denied else "needs-approval",
        )  # fmt: skip
        self._runner.record.event(
            "step-held", step=verdict.id, verdict=verdict.verdict.value if verdict.verdict else None,
            risk=verdict.risk.value if verdict.risk else None, reasons=list(reasons), digest=digest,
        )  # fmt: skip
        return ActResult(
            verdict.id, ActStatus.DENIED if denied else ActStatus.HELD, message, error=error,
            risk=verdict.risk.value if verdict.risk else None, reasons=tuple(reasons),
            digest=digest, approval=approval,
        )  # fmt: skip

    def _run(
        self, plan: Plan, new: Step, doc: dict[str, Any], digest: str, bound: frozenset[str]
    ) -> ActResult:
        runner = self._runner
        guard = runner.state.guard
        before = guard.approvals
        guard.approvals = before | bound  # for this step only: the next may reuse nothing
        guard.approval_name = lambda sid: f"{sid}@{digest}" if sid == new.id else sid
        runner.plan = plan
        runner.state.plan = plan
        try:
            outcome = runner.step(new)
        except BlockedError as exc:
            return self._blocked(new, digest, exc)
        except KilledError as exc:
            self._finish(type(exc), exc, exc.__traceback__)
            return ActResult(new.id, ActStatus.KILLED, exc.message, error=exc)
        except LamError as exc:
            return ActResult(new.id, ActStatus.FAILED, exc.message, error=exc, digest=digest,
                             screenshot=getattr(exc, "screenshot", None))  # fmt: skip
        finally:
            guard.approvals = before
        self._steps.append(doc)
        if bound:
            self._used.append(f"{new.id}@{digest}")
        return ActResult(
            new.id, ActStatus.OK, outcome.summary,
            outputs=dict(runner.state.outputs.get(new.id, {})), digest=digest,
            screenshot=outcome.screenshot,
        )  # fmt: skip

    def _blocked(self, step: Step, digest: str, exc: BlockedError) -> ActResult:
        """The guard stopped the step as it acted (the element or a request it sent)."""
        guard = self._runner.state.guard
        check = next((c for c, _ in reversed(guard.decisions) if c.step == step.id), None)
        denied = exc.code == "denied"
        approval = None
        if not denied and check is not None:
            approval = guard.approval_flag(check)
        return ActResult(
            step.id, ActStatus.DENIED if denied else ActStatus.HELD, exc.message, error=exc,
            risk=check.classification.risk.value if check else None,
            reasons=tuple(check.classification.reasons) if check else (),
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


def _from_step(step: Step) -> dict[str, Any]:
    """A parsed step back as a plan step mapping (expressions as their text)."""
    from lam.plan import NO_BODY

    doc: dict[str, Any] = {"id": step.id, step.action: _raw(step.argument)}
    if step.params:
        doc["params"] = _raw(step.params)
    if step.body is not NO_BODY:
        doc["body"] = _raw(step.body)
    if step.content_type:
        doc["content_type"] = step.content_type
    if step.value is not None:
        doc["value"] = _raw(step.value)
    if step.expect:
        doc["expect"] = _raw(step.expect)
    if step.outputs:
        doc["outputs"] = {k: v.text for k, v in step.outputs.items()}
    if step.description:
        doc["description"] = step.description
    if step.timeout is not None:
        doc["timeout"] = step.timeout
    return doc


def _raw(value: Any) -> Any:
    if isinstance(value, Expression | Template):
        return value.text
    if isinstance(value, Mapping):
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_raw(v) for v in value]
    return value


def _parse_approval(approval: str, *, digest_needed: bool) -> tuple[str, str | None]:
    match = _APPROVAL.match(approval.strip()) if isinstance(approval, str) else None
    if match is None:
        raise UsageError(
            f"approval {approval!r}: expected STEP, STEP@DIGEST or STEP@DIGEST:RISK",
            code="usage",
        )
    if digest_needed and match["digest"] is None:
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
    return approval.strip(), match["digest"]


def _split(key: str) -> tuple[str, str | None, str | None]:
    match = _APPROVAL.match(key)
    assert match is not None  # keys were parsed on the way in
    return match["id"], match["digest"], match["risk"]
