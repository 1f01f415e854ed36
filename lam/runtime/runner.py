"""The runner: a validated plan's steps in order, through adapters, under the guard.

It refuses to start while a step is denied or lacks its approval, checks the kill switch before
every step (a pull during a step aborts it: see :mod:`lam.runtime.kill`), resolves expressions,
records outputs, checks ``expect`` and stops at the first failed step. Every event goes to the
run record as it happens, so a record is readable even when a run dies half-way. Live runs and
dry runs are the same loop with other executors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lam.criteria import Criterion, evaluate
from lam.errors import BlockedError, KilledError, LamError, StepFailed
from lam.expressions import Context
from lam.plans import Plan, PlanProblem, Step, step_digest
from lam.runtime.context import (
    STAND_IN,
    Observer,
    PageView,
    RunState,
    StepExecutor,
    StepOutcome,
    read_secret,
)
from lam.runtime.flow import DEFAULT_STEP_RUNS, walk
from lam.runtime.growing import Validator, approvals_naming, grow_plan
from lam.runtime.guard import Guard
from lam.runtime.kill import KillSwitch
from lam.runtime.mode import LIVE, ModeName, RunMode
from lam.runtime.record import RunRecord
from lam.types import Risk, Verdict
from lam.validation import StepReport, ValidationReport, validate_loaded

__all__ = [
    "CheckedStep",
    "RunResult",
    "Runner",
    "Status",
    "StepResult",
    "bind_approvals",
    "preflight",
]


class Status(StrEnum):
    """How a step or a run went (a run is ``running`` until it ends). The values are what
    records, ``--json`` output and reports say."""

    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    KILLED = "killed"
    RUNNING = "running"


@dataclass(frozen=True)
class StepResult:
    id: str
    status: Status  # never RUNNING
    summary: str
    seconds: float
    warnings: tuple[str, ...] = ()
    error: str | None = None
    screenshot: str | None = None
    unchecked: tuple[str, ...] = ()  # a dry run's expectations it could not check, with why

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "seconds": round(self.seconds, 4),
            "warnings": list(self.warnings),
            "error": self.error,
            "screenshot": self.screenshot,
            "unchecked": list(self.unchecked),
        }


@dataclass
class RunResult:
    run_id: str
    directory: str
    status: Status = Status.RUNNING
    steps: list[StepResult] = field(default_factory=list)
    error: LamError | None = None
    mode: ModeName = ModeName.LIVE  # what it acted on: the live systems, or the sandbox
    effects_json: list[dict[str, Any]] | None = None  # a dry run's, as recorded: redacted

    @property
    def dry_run(self) -> bool:
        """Whether the run acted in the sandbox (for callers: lam itself asks the mode)."""
        return self.mode is ModeName.DRY_RUN

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    @property
    def unchecked(self) -> int:
        """How many expectations the dry run could not check (a stand-in page after a write)."""
        return sum(len(s.unchecked) for s in self.steps)


def bind_approvals(
    plan: Plan, approvals: frozenset[str], inputs: Mapping[str, Any] | None = None
) -> frozenset[str]:
    """The step ids that ``--approve`` values cover, and ``STEP:RISK`` for each raised one.

    ``STEP`` approves that step as the plan now says it; ``STEP@DIGEST`` approves it only while
    its content is the one the human saw (the digest lam printed when it held the step). A
    ``:RISK`` suffix (``go:destructive``, ``go@3f9c2a1b07:destructive``: what lam prints when it
    holds a step for a request its page sent) also approves the requests that step sends to the
    plan's hosts up to that risk (see :class:`lam.runtime.guard.Guard`).
    """
    ids = {step.id: step for step in plan.steps}
    bound = set()
    for approval in sorted(approvals):
        named, colon, risk = approval.partition(":")
        step_id, sep, digest = named.partition("@")
        if step_id not in ids:
            raise BlockedError(
                f"--approve {approval}: the plan has no step with that id", code="usage"
            )
        if colon and risk not in {r.value for r in Risk}:
            raise BlockedError(
                f"--approve {approval}: {risk!r} is not a risk (read, write or destructive)",
                code="usage",
            )
        if sep:
            now = step_digest(plan, ids[step_id], inputs)
            if digest != now:
                raise BlockedError(
                    f"--approve {approval}: step {step_id!r} is not what was approved "
                    f"(it is now @{now}); review it and approve again",
                    code="stale-approval",
                    step=step_id,
                    approvals=[f"{step_id}@{now}"],
                )
        bound.add(step_id)
        if colon:
            bound.add(f"{step_id}:{risk}")
    return frozenset(bound)


def preflight(
    report: ValidationReport,
    approvals: frozenset[str],
    *,
    interactive: bool,
    inputs: Mapping[str, Any] | None = None,
) -> None:
    """Refuse to start a live run while a step is denied or waits for an approval.

    ``approvals`` are step ids (see :func:`bind_approvals`). Steps whose verdict is
    ``approve`` may start when approved on the command line, or when a human is at a terminal
    to answer the prompt at that step.
    """
    _refuse_held(
        report.steps, report.plan, approvals, interactive=interactive, inputs=inputs,
        lead="not started",
    )  # fmt: skip


def _refuse_held(
    steps: Sequence[StepReport],
    plan: Plan | None,
    approvals: frozenset[str],
    *,
    interactive: bool,
    inputs: Mapping[str, Any] | None,
    lead: str,
    step: str | None = None,
) -> None:
    """The one rule for steps about to start: a denied step never does, a step waiting for
    an approval does when approved or when it is answered at run time."""
    denied = [s for s in steps if s.verdict is Verdict.DENY]
    waiting = [
        s for s in steps
        if s.verdict is Verdict.APPROVE and s.id not in approvals and not interactive
    ]  # fmt: skip
    if denied or waiting:
        parts = [f"{s.id} is denied ({'; '.join(s.verdict_reasons)})" for s in denied]
        parts += [f"{s.id} needs approval ({s.risk}: {'; '.join(s.reasons)})" for s in waiting]
        hint = ""
        needed: list[str] = []
        if waiting and plan is not None:
            needed = [f"{s.id}@{step_digest(plan, plan.step(s.id), inputs)}" for s in waiting]
            hint = " — review, then approve with " + " ".join(f"--approve {a}" for a in needed)
        raise BlockedError(
            f"{lead}: " + ", ".join(parts) + hint,
            steps=[s.id for s in denied + waiting],
            approvals=needed,
            step=step,
        )


@dataclass(frozen=True)
class CheckedStep:
    """One more step checked with the plan so far (:meth:`Runner.check_step`): the grown plan,
    its report and the step's digest, handed to :meth:`Runner.add_step` so it is not checked
    again."""

    base: Plan  # the plan it was checked against: add_step checks again if the run moved on
    plan: Plan
    report: ValidationReport
    digest: str

    @property
    def step(self) -> Step:
        return self.plan.steps[-1]

    @property
    def verdict(self) -> StepReport:
        return self.report.steps[-1]


class Runner:
    """Runs one plan once. Build it, call :meth:`run`, read the :class:`RunResult`.

    A plan may also grow while it runs (``lam do``, :class:`lam.Session`, ``lam mcp``): inside
    :meth:`session`, :meth:`add_step` checks one more step as part of the plan so far and runs
    it, and :meth:`observe` shows what the executors see between steps.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        executors: Mapping[str, StepExecutor],
        guard: Guard,
        record: RunRecord,
        kill: KillSwitch,
        inputs: Mapping[str, Any],
        app_urls: Mapping[str, str],
        api_urls: Mapping[str, str],
        mode: RunMode = LIVE,
        strict: bool = False,
        on_step: Any = None,
        secrets: Callable[[str], str] = read_secret,
        validate: Validator | None = None,
    ) -> None:
        self.plan = plan
        # goto/retry loops are bounded: the plan's budget, else the default
        self.max_step_runs = max(plan.max_step_runs or DEFAULT_STEP_RUNS, len(plan.steps))
        self._ran: set[str] = set()
        self._response: Mapping[str, Any] | None = None
        self._validate = validate or _validator(guard)
        self.executors = executors
        self.record = record
        self.kill = kill
        self.mode = mode
        self.on_step = on_step
        self.state = RunState(
            plan=plan, inputs=inputs, outputs={}, guard=guard, record=record, kill=kill,
            app_urls=app_urls, api_urls=api_urls, strict=strict, secrets=secrets, mode=mode,
        )  # fmt: skip
        self.result = RunResult(record.run_id, str(record.directory), mode=mode.name)
        # a step held at run time names its approval bound to its content, as preflight does
        guard.approval_name = self._digest_name
        self._open = False

    def run(self) -> RunResult:
        """Run the plan's steps in order, following their ``onSuccess``/``onFailure`` actions
        (:mod:`lam.runtime.flow`), at most ``max_step_runs`` step executions in all."""
        with self.session():
            walk(self.plan.steps, self._attempt, kill=self.kill,
                 max_step_runs=self.max_step_runs, event=self.record.event)  # fmt: skip
        return self.result

    def _attempt(self, step: Step) -> tuple[StepFailed | None, Context]:
        """One execution of a step for the flow: its failure (None if it succeeded) and the
        context its actions' criteria read. A step run again (a goto, a retry) is checked by
        the guard afresh: what it was cleared for last time is forgotten, its approvals kept."""
        if step.id in self._ran:
            guard = self.state.guard
            guard.grant(step.id, {a for a in guard.approvals if a.partition(":")[0] == step.id})
        self._ran.add(step.id)
        self._response = None
        failure = None
        try:
            self.step(step)
        except StepFailed as exc:
            failure = exc
            self._response = getattr(exc, "response", None) or self._response
        return failure, self.state.context(self._response)

    def _digest_name(self, step_id: str) -> str:
        try:
            step = self.plan.step(step_id)
        except KeyError:  # no step of this plan (a request before the first step): the id
            return step_id
        return f"{step_id}@{step_digest(self.plan, step, self.state.inputs)}"

    @contextmanager
    def session(self) -> Iterator[RunResult]:
        """Registered for ``lam kill``, signals routed to the kill switch, the outcome
        captured, the record finished (a killed run too: a ``killed`` event, then ``end``).

        Callers that grow a plan while it runs (``lam do``, :class:`lam.Session`, ``lam mcp``)
        call :meth:`add_step` and :meth:`observe` inside it.
        """
        with self.kill.watch(self.record.run_id, self.record.directory, warn=self._warn):
            try:
                self._open = True
                yield self.result
                self._open = False
                for executor in self.executors.values():
                    finish = getattr(executor, "finish", None)
                    if finish is not None:
                        finish()  # e.g. a page's request refused after the last step
                self.result.status = Status.OK
            except LamError as exc:
                self.result.error = exc
                self.result.status = _status_of(exc)
            finally:
                self._open = False
                self._finish()

    def _warn(self, message: str) -> None:
        self.record.event("warning", message=message)

    def step(self, step: Step) -> StepOutcome:
        """Run one step of the plan: kill switch first, then the step through its executor."""
        self.kill.check(f"before step {step.id!r}", step=step.id)
        return self._run_step(step)

    def check_step(self, step: Step | Mapping[str, Any]) -> CheckedStep:
        """Validate one more step with the plan so far (a problem is a PlanError naming its
        place), without running it: what :meth:`add_step` would check, and the step's digest."""
        grown, report = grow_plan(self.plan, step, self._validate)
        digest = step_digest(grown, grown.steps[-1], self.state.inputs)
        return CheckedStep(self.plan, grown, report, digest)

    def add_step(
        self, step: Step | Mapping[str, Any] | CheckedStep, *, approvals: Iterable[str] = ()
    ) -> StepOutcome:
        """Check one more step as part of the plan so far, then run it (inside :meth:`session`).

        ``step`` is a :class:`Step` or a step in the plan format (a mapping, as a plan file
        holds it), or what :meth:`check_step` returned for it (not checked again while the plan
        is the one it was checked against). It is validated with the whole plan (specs, expressions, policy): a problem
        is a PlanError naming its place. ``approvals`` are ``--approve`` values: those naming
        this step bind as :func:`bind_approvals` binds them (``STEP``, ``STEP@DIGEST``,
        ``:RISK``; a digest that is not the step's now is a stale-approval BlockedError); those
        naming other steps are left for them. A denied step, or one that waits for an approval
        nobody gave and nobody is there to answer, is a BlockedError naming the step, its risk,
        its reasons and the ``--approve STEP@DIGEST`` it needs (the rule of :func:`preflight`):
        nothing of it ran and the plan is as it was.

        A step that ran joins the plan; one that failed is in the record but not in the plan,
        so its id may be used again for another try.
        """
        if not self._open:
            raise RuntimeError("Runner.add_step runs inside Runner.session()")
        checked = step if isinstance(step, CheckedStep) else None
        if checked is None or checked.base is not self.plan:
            checked = self.check_step(
                step.plan.steps[-1] if isinstance(step, CheckedStep) else step
            )
        grown, report, added = checked.plan, checked.report, checked.step
        inputs = self.state.inputs
        guard = self.state.guard
        self.record.event("verdicts", steps=[report.steps[-1].to_json()])
        bound = bind_approvals(grown, approvals_naming(added.id, approvals), inputs)
        _refuse_held(
            report.steps[-1:], grown, bound, interactive=guard.answers_held, inputs=inputs,
            lead="not run", step=added.id,
        )  # fmt: skip
        guard.grant(added.id, bound)
        before = self.plan
        self._use(grown)
        try:
            return self.step(added)
        except BaseException:
            self._use(before)
            raise

    def _use(self, plan: Plan) -> None:
        self.plan = plan
        self.state.plan = plan

    def observe(self) -> PageView | None:
        """What the run's browser shows now (its page's URL and interactive elements), starting
        it if no UI step has yet; None for a run without a browser (API steps alone)."""
        for executor in self.executors.values():
            if isinstance(executor, Observer):
                return executor.observe(self.state)
        return None

    def screenshot(self, *, full_page: bool = False, jpeg: bool = False) -> bytes | None:
        """The run's page as an image (PNG, or JPEG), starting the browser if no UI step has
        yet; None for a run without a browser."""
        for executor in self.executors.values():
            if isinstance(executor, Observer):
                return executor.screenshot(self.state, full_page=full_page, jpeg=jpeg)
        return None

    def _run_step(self, step: Step) -> StepOutcome:
        self.record.event("step-start", step=step.id, kind=step.kind, action=step.action)
        started = time.perf_counter()
        try:
            outcome = self.executors[step.kind].run_step(step, self.state)
            self._response = outcome.response
            self._outputs(step, outcome)
            if outcome.expect_failures:
                raise StepFailed(
                    "; ".join(outcome.expect_failures),
                    step=step.id,
                    location=f"{step.place}.expect",
                    code="expect",
                )
            self._criteria(step, outcome)
        except LamError as failure:
            exc = failure
            if self.kill.pulled() and not isinstance(exc, KilledError):
                # the kill aborted the step (a request cut, a browser closed): say so
                exc = KilledError(f"stopped during step {step.id!r}: {self.kill.reason}")
            exc.step = exc.step or step.id
            exc.file = exc.file or self.plan.file
            exc.location = exc.location or step.place
            seconds = time.perf_counter() - started
            result = StepResult(
                step.id, _status_of(exc), exc.message, seconds, error=exc.one_line(),
                screenshot=getattr(exc, "screenshot", None),
            )  # fmt: skip
            self._step_done(result, kind=step.kind, code=exc.code)
            if exc is failure:
                raise
            raise exc from None
        seconds = time.perf_counter() - started
        result = StepResult(
            step.id, Status.OK, outcome.summary, seconds, tuple(outcome.warnings),
            screenshot=outcome.screenshot, unchecked=tuple(outcome.expect_unchecked),
        )  # fmt: skip
        self._step_done(result, kind=step.kind, detail=outcome.detail)
        return outcome

    def _criteria(self, step: Step, outcome: StepOutcome) -> None:
        context = self.state.context(outcome.response)
        for i, criterion in enumerate(step.success_criteria):
            if not evaluate(criterion, context):
                if outcome.response.get(STAND_IN) and _reads_the_answer(criterion):
                    # the sandbox's answer is the spec's example: whether the live answer
                    # meets this is known only after a live run, and is said, not passed
                    outcome.expect_unchecked.append(
                        f"successCriteria[{i}]: {criterion.condition!r} does not hold on the "
                        "sandbox's answer (made up from the spec): known after a live run"
                    )
                    continue
                raise StepFailed(
                    f"success criterion {criterion.condition!r} does not hold",
                    step=step.id,
                    location=f"{step.place}.successCriteria[{i}]",
                    code="criteria",
                )

    def _outputs(self, step: Step, outcome: StepOutcome) -> None:
        if outcome.response.get(STAND_IN):
            values = self._stand_in_outputs(step, outcome)
        else:
            values = self.state.resolve_with(step, dict(step.outputs), "outputs", outcome.response)
        if step.action == "extract":
            values.setdefault("value", outcome.response.get("body"))
        self.state.outputs[step.id] = values

    def _stand_in_outputs(self, step: Step, outcome: StepOutcome) -> dict[str, Any]:
        """Outputs read from a sandbox answer: one the made-up body lacks (a spec that declares
        no body, an optional member its example leaves out) is a placeholder naming what it
        waits for, and the step says it is unchecked; later steps run with the placeholder."""
        values: dict[str, Any] = {}
        for name, expression in step.outputs.items():
            try:
                values[name] = self.state.resolve_with(
                    step, expression, f"outputs.{name}", outcome.response
                )
            except StepFailed as exc:
                if exc.code != "expression":
                    raise
                # no slash in it: a later step may put it in a URL path
                values[name] = f"(known after a live run: $steps.{step.id}.outputs.{name})"
                outcome.expect_unchecked.append(
                    f"outputs.{name}: {expression.text} is not in the sandbox's answer (made up "
                    "from the spec): known after a live run"
                )
        return values

    def _step_done(self, result: StepResult, **extra: Any) -> None:
        self.result.steps.append(result)
        self.record.event(
            "step",
            step=result.id,
            status=result.status,
            summary=result.summary,
            seconds=round(result.seconds, 4),
            warnings=list(result.warnings),
            error=result.error,
            screenshot=result.screenshot,
            unchecked=list(result.unchecked),
            outputs=self.state.outputs.get(result.id),
            **extra,
        )
        if self.on_step is not None:
            self.on_step(result)

    def _finish(self) -> None:
        killed = isinstance(self.result.error, KilledError)
        for executor in self.executors.values():
            try:
                abort = getattr(executor, "abort", None)
                if killed and abort is not None:
                    abort()  # a killed run does not wait for a browser to close politely
                executor.close()
            except Exception as exc:  # closing must not hide the run's own outcome
                self.record.event("warning", message=f"closing an adapter failed: {exc}")
        try:
            self.mode.close()  # a dry run's live readers
        except Exception as exc:
            self.record.event("warning", message=f"closing the run's mode failed: {exc}")
        self.result.effects_json = self.mode.write_effects(self.record)
        error = self.result.error
        if isinstance(error, KilledError):
            self.record.event(
                "killed", step=error.step, reason=self.kill.reason, pulled_at=self.kill.pulled_at
            )
        held = {"approvals": list(error.approvals)} if isinstance(error, BlockedError) else {}
        self.record.event(
            "end",
            status=self.result.status,
            error=error.one_line() if error else None,
            exit_code=self.result.exit_code,
            effects=self.result.effects_json,
            unchecked=self.result.unchecked,
            **held,  # a held run's --approve values, as data (lam mission reads them)
        )
        self.record.close()


def _reads_the_answer(criterion: Criterion) -> bool:
    """Whether a criterion reads what a made-up answer makes up (its body or headers), rather
    than only its status, which the spec states and the sandbox answers as it says."""
    context = criterion.context.source if criterion.context is not None else ""
    return context.startswith("response.") or "$response." in criterion.condition


def _validator(guard: Guard) -> Validator:
    """Validation under the guard's policy, with no overrides (as a plan file says)."""

    def validate(plan: Plan, problems: list[PlanProblem]) -> ValidationReport:
        return validate_loaded(plan, problems, policy=guard.policy, api_overrides={},
                               app_overrides={})  # fmt: skip

    return validate


def _status_of(exc: LamError) -> Status:
    if isinstance(exc, KilledError):
        return Status.KILLED
    if isinstance(exc, BlockedError):
        return Status.BLOCKED
    return Status.FAILED
