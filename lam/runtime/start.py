"""Starting runs: from a plan file and the command line's options to a finished run
(:func:`execute_plan`), or to an open runner a caller drives (:func:`open_run`,
:func:`open_growing`). Live and dry runs differ by the mode the options choose
(:func:`lam.runtime.mode.mode_for`), which supplies the guard, the transports and the effect sink —
never by branches here or in the runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from lam.errors import PlanError, UsageError
from lam.expressions import walk_expressions
from lam.plans import Plan
from lam.policy import Policy
from lam.policy_source import policy_identity
from lam.runtime.api_step import ApiStepExecutor
from lam.runtime.context import StepExecutor, read_secret
from lam.runtime.growing import Validator, checked_plan
from lam.runtime.guard import Prompt
from lam.runtime.inputs import resolve_inputs
from lam.runtime.kill import KillSwitch
from lam.runtime.mode import RunMode, mode_for
from lam.runtime.record import RunRecord, runs_root
from lam.runtime.runner import Runner, RunResult, StepResult, bind_approvals
from lam.validation import ValidationReport, declared_hosts, validate_loaded, validate_plan

__all__ = ["RunOptions", "execute_plan", "executors_for", "open_growing", "open_run"]


@dataclass
class RunOptions:
    """What the command line (or a caller) says about one run."""

    policy: Policy
    inputs: Mapping[str, Any] = field(default_factory=dict)
    app_overrides: Mapping[str, str] = field(default_factory=dict)
    api_overrides: Mapping[str, str] = field(default_factory=dict)
    approvals: frozenset[str] = frozenset()
    dry_run: bool = False  # chooses the run's mode (lam.runtime.mode.mode_for), read nowhere else
    strict: bool = False
    headed: bool = False
    prompt: Prompt | None = None
    runs_dir: Path | None = None
    seed: int = 0
    reads: Literal["sandbox", "live"] = "sandbox"  # a dry run's API reads (mode_for reads it)
    on_step: Callable[[StepResult], None] | None = None
    on_start: Callable[[RunRecord], None] | None = None
    on_progress: Callable[[str], None] | None = None  # slow set-up (Chromium starting), said
    on_policy: Callable[[Policy], None] | None = None  # the plan is valid: policy applies now
    secrets: tuple[str, ...] = ()  # values known up front that the record must never show
    screenshots: Literal["all", "failures"] = "all"  # "failures": only failed or blocked steps


def execute_plan(path: Path, options: RunOptions) -> tuple[ValidationReport, RunResult | None]:
    """Validate, check verdicts, then run live or dry. Returns the report and the result.

    An invalid plan returns ``(report, None)``: nothing ran. Blocked preflight raises
    BlockedError before a run record exists.
    """
    report = validate_plan(
        path,
        policy=options.policy,
        api_overrides=options.api_overrides,
        app_overrides=options.app_overrides,
    )
    if not report.ok or report.plan is None:
        return report, None
    plan = report.plan
    inputs = resolve_inputs(plan, options.inputs)
    mode = mode_for(options)
    placeholders = _check_secrets(plan, mode)
    options = replace(options, approvals=bind_approvals(plan, options.approvals, inputs))
    if options.on_policy is not None:
        options.on_policy(options.policy)
    mode.preflight(report, options.approvals, interactive=options.prompt is not None, inputs=inputs)
    runner = open_run(
        plan, report, options, inputs, secrets=_with_placeholders(placeholders), mode=mode
    )
    if placeholders:
        names = ", ".join(sorted(placeholders))
        print(f"lam: dry run: placeholders stand in for unset secrets: {names}", file=sys.stderr)
        runner.record.event("secret-placeholders", names=sorted(placeholders))
    return report, runner.run()


def _check_secrets(plan: Plan, mode: RunMode) -> dict[str, str]:
    """Every secret the plan reads is set before anything starts (a run that stops half-way
    for a missing variable helps nobody). A dry run sends no secret anywhere, so there an unset
    one gets the mode's stand-in instead: returned by name, for the run to use and say so."""
    needed: list[tuple[str, str]] = [
        (api.auth["secret"], f"apis.{name}.auth.secret")
        for name, api in plan.apis.items()
        if api.auth and api.auth.get("secret")
    ]
    for step in plan.steps:
        for _, value in step.expression_fields():
            needed += [
                (expr.name or "", f"{step.place}") for _, expr in walk_expressions(value)
                if expr.source == "secrets"
            ]  # fmt: skip
    placeholders: dict[str, str] = {}
    for name, where in needed:
        if name in os.environ:
            continue
        stand_in = mode.stand_in(name)
        if stand_in is not None:
            placeholders[name] = stand_in
            continue
        raise UsageError(
            f"the plan reads the secret {name} but the environment variable {name} is not set",
            file=plan.file,
            location=where,
            code="missing-secret",
        )
    return placeholders


def _with_placeholders(placeholders: Mapping[str, str]) -> Callable[[str], str]:
    """Secrets from the environment, else from ``placeholders``."""

    def secret(name: str) -> str:
        return placeholders[name] if name in placeholders else read_secret(name)

    return secret


def open_growing(
    document: Mapping[str, Any],
    options: RunOptions,
    *,
    path: Path,
    secrets: Callable[[str], str] = read_secret,
) -> Runner:
    """A runner for a plan that grows while it runs (``lam do``, a Python API session, the
    MCP server): ``document`` is a plan in the plan format with its apps and apis declared and
    no steps yet; ``path`` is where such a file would be (spec paths resolve from it). Steps
    are added with :meth:`Runner.add_step` inside :meth:`Runner.session`, each with its own
    approvals (``options.approvals`` are not used)."""
    if document.get("steps"):
        raise UsageError("a plan that grows starts with no steps", file=str(path), code="usage")
    plan, report = checked_plan(document, path=path, validate=_validator(options))
    inputs = resolve_inputs(plan, options.inputs)
    return open_run(plan, report, replace(options, approvals=frozenset()), inputs, secrets=secrets)


def _validator(options: RunOptions) -> Validator:
    return partial(
        validate_loaded, policy=options.policy, api_overrides=options.api_overrides,
        app_overrides=options.app_overrides,
    )  # fmt: skip


def open_run(
    plan: Plan,
    report: ValidationReport,
    options: RunOptions,
    inputs: Mapping[str, Any],
    *,
    secrets: Callable[[str], str] = read_secret,
    mode: RunMode | None = None,
) -> Runner:
    """A runner for a validated plan, with its record, kill switch, guard and executors, in
    ``mode`` (by default the one ``options`` choose: :func:`lam.runtime.mode.mode_for`)."""
    mode = mode or mode_for(options)
    root = options.runs_dir or runs_root()
    record = RunRecord.create(root, secrets=options.secrets)
    if options.on_start:
        options.on_start(record)
    kill = KillSwitch(record.directory, root.parent)
    hosts = declared_hosts(plan, report.specs, options.api_overrides, options.app_overrides)
    guard = mode.guard(
        options.policy,
        declared_hosts=hosts,
        record=record,
        approvals=options.approvals,
        # a kill stops the prompt where it waits for the human's answer
        prompt=kill.interrupting(options.prompt) if options.prompt else None,
    )
    api_urls = _api_urls(plan, report, options.api_overrides)
    app_urls = {name: options.app_overrides.get(name, app.url) for name, app in plan.apps.items()}
    record.event(
        "plan",
        file=plan.file,
        name=plan.name,
        mode=mode.name,
        document=plan.document,
        inputs=inputs,
        apps=app_urls,
        apis=api_urls,
        argv=sys.argv[1:],
        policy=policy_identity(options.policy),  # the policy in force: its file and sha256
    )
    record.event("verdicts", steps=[s.to_json() for s in report.steps])
    return Runner(
        plan,
        executors=executors_for(plan, report, options, mode, api_urls),
        guard=guard,
        record=record,
        kill=kill,
        inputs=inputs,
        app_urls=app_urls,
        api_urls=api_urls,
        mode=mode,
        strict=options.strict,
        on_step=options.on_step,
        secrets=secrets,
        validate=_validator(options),
    )


def _api_urls(plan: Plan, report: ValidationReport, overrides: Mapping[str, str]) -> dict[str, str]:
    return {name: plan.api_base_url(name, report.specs, overrides) or "" for name in plan.apis}


def executors_for(
    plan: Plan,
    report: ValidationReport,
    options: RunOptions,
    mode: RunMode,
    api_urls: Mapping[str, str],
) -> dict[str, StepExecutor]:
    """The step executors of a run, on what ``mode`` supplies (a dry run: one simulator per
    API, shared by the API steps and the pages, so what a plan's API step creates, its pages
    show)."""
    mode.start(plan, report, api_urls)
    executors: dict[str, StepExecutor] = {
        "api": ApiStepExecutor(report.specs, report.operations, transports=mode.transports)
    }
    if plan.apps or any(step.kind == "ui" for step in plan.steps):
        executors["ui"] = _ui_executor(plan, report, options)
    return executors


def _ui_executor(plan: Plan, report: ValidationReport, options: RunOptions) -> StepExecutor:
    try:
        from lam.runtime.ui_step import UiStepExecutor
    except ModuleNotFoundError:
        raise PlanError("UI steps cannot run yet in this build", file=plan.file) from None
    return UiStepExecutor(report, options)  # type: ignore[no-any-return]
