"""From a plan file and the command line's options to a finished run: the one place where
live and dry runs differ, by the executors they are given — never by branches in the runner."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from lam.errors import PlanError
from lam.plan import Plan
from lam.policy import Policy
from lam.run.api_step import ApiStepExecutor
from lam.run.context import StepExecutor
from lam.run.effects import EffectLog
from lam.run.guard import DryRunGuard, LiveGuard, Prompt
from lam.run.inputs import resolve_inputs
from lam.run.kill import KillSwitch
from lam.run.record import RunRecord, runs_root
from lam.run.runner import Runner, RunResult, StepResult, preflight
from lam.validate import ValidationReport, declared_hosts, validate_plan

__all__ = ["RunOptions", "execute_plan", "executors_for", "open_run"]


@dataclass
class RunOptions:
    """What the command line (or a caller) says about one run."""

    policy: Policy
    inputs: Mapping[str, Any] = field(default_factory=dict)
    app_overrides: Mapping[str, str] = field(default_factory=dict)
    api_overrides: Mapping[str, str] = field(default_factory=dict)
    approvals: frozenset[str] = frozenset()
    dry_run: bool = False
    strict: bool = False
    headed: bool = False
    prompt: Prompt | None = None
    runs_dir: Path | None = None
    seed: int = 0
    on_step: Callable[[StepResult], None] | None = None
    on_start: Callable[[RunRecord], None] | None = None


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
    if not options.dry_run:
        preflight(report, options.approvals, interactive=options.prompt is not None)
    return report, open_run(plan, report, options, inputs).run()


def open_run(
    plan: Plan, report: ValidationReport, options: RunOptions, inputs: Mapping[str, Any]
) -> Runner:
    """A runner for a validated plan, with its record, kill switch, guard and executors."""
    root = options.runs_dir or runs_root()
    record = RunRecord.create(root)
    if options.on_start:
        options.on_start(record)
    kill = KillSwitch(record.directory, root.parent)
    hosts = declared_hosts(plan, report.specs, options.api_overrides, options.app_overrides)
    guard_type = DryRunGuard if options.dry_run else LiveGuard
    guard = guard_type(
        options.policy,
        declared_hosts=hosts,
        record=record,
        approvals=options.approvals,
        prompt=None if options.dry_run else options.prompt,
    )
    effects = EffectLog() if options.dry_run else None
    api_urls = _api_urls(plan, report, options.api_overrides)
    app_urls = {name: options.app_overrides.get(name, app.url) for name, app in plan.apps.items()}
    record.event(
        "plan",
        file=plan.file,
        name=plan.name,
        mode="dry-run" if options.dry_run else "live",
        document=plan.document,
        inputs=inputs,
        apps=app_urls,
        apis=api_urls,
        argv=sys.argv[1:],
    )
    record.event("verdicts", steps=[s.to_json() for s in report.steps])
    return Runner(
        plan,
        executors=executors_for(plan, report, options, api_urls),
        guard=guard,
        record=record,
        kill=kill,
        inputs=inputs,
        app_urls=app_urls,
        api_urls=api_urls,
        effects=effects,
        strict=options.strict,
        on_step=options.on_step,
    )


def _api_urls(plan: Plan, report: ValidationReport, overrides: Mapping[str, str]) -> dict[str, str]:
    urls = {}
    for name, api in plan.apis.items():
        url = overrides.get(name) or api.base_url
        if url is None and name in report.specs and report.specs[name].servers:
            url = report.specs[name].servers[0]
        urls[name] = url or ""
    return urls


def executors_for(
    plan: Plan, report: ValidationReport, options: RunOptions, api_urls: Mapping[str, str]
) -> dict[str, StepExecutor]:
    transports: dict[str, httpx.BaseTransport] = {}
    if options.dry_run:
        from lam.sandbox.simulator import Simulator
        from lam.sandbox.transport import SimulatorTransport

        for name, spec in report.specs.items():
            base_path = urlsplit(api_urls.get(name, "")).path
            sim = Simulator(spec, seed=options.seed, base_path=base_path)
            transports[name] = SimulatorTransport(sim)
    executors: dict[str, StepExecutor] = {
        "api": ApiStepExecutor(report.specs, report.operations, transports=transports)
    }
    if plan.apps or any(step.kind == "ui" for step in plan.steps):
        executors["ui"] = _ui_executor(plan, report, options)
    return executors


def _ui_executor(plan: Plan, report: ValidationReport, options: RunOptions) -> StepExecutor:
    try:
        from lam.run.ui_step import UiStepExecutor
    except ModuleNotFoundError:
        raise PlanError("UI steps cannot run yet in this build", file=plan.file) from None
    return UiStepExecutor(report, options)  # type: ignore[no-any-return]
