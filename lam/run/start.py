"""Starting runs: from a plan file and the command line's options to a finished run
(:func:`execute_plan`), or to an open runner a caller drives (:func:`open_run`). The one place
where live and dry runs differ, by the executors they are given — never by branches in the
runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from lam.errors import PlanError, UsageError
from lam.expressions import walk_expressions
from lam.plan import Plan
from lam.policy import Policy
from lam.policy_source import policy_identity
from lam.run.api_step import PASSED_THROUGH, ApiStepExecutor
from lam.run.context import StepExecutor, read_secret
from lam.run.effects import EffectLog
from lam.run.growing import Validator, checked_plan
from lam.run.guard import DryRunGuard, LiveGuard, Prompt
from lam.run.inputs import resolve_inputs
from lam.run.kill import KillSwitch
from lam.run.record import RunRecord, runs_root
from lam.run.runner import Runner, RunResult, StepResult, bind_approvals, preflight
from lam.run.sign_in import api_sign_in
from lam.validate import ValidationReport, declared_hosts, validate_loaded, validate_plan

__all__ = ["RunOptions", "execute_plan", "executors_for", "open_growing", "open_run"]


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
    placeholders = _check_secrets(plan, dry_run=options.dry_run)
    options = replace(options, approvals=bind_approvals(plan, options.approvals, inputs))
    if options.on_policy is not None:
        options.on_policy(options.policy)
    if not options.dry_run:
        preflight(report, options.approvals, interactive=options.prompt is not None, inputs=inputs)
    runner = open_run(plan, report, options, inputs, secrets=_with_placeholders(placeholders))
    if placeholders:
        names = ", ".join(sorted(placeholders))
        print(f"lam: dry run: placeholders stand in for unset secrets: {names}", file=sys.stderr)
        runner.record.event("secret-placeholders", names=sorted(placeholders))
    return report, runner.run()


def _check_secrets(plan: Plan, *, dry_run: bool = False) -> dict[str, str]:
    """Every secret the plan reads is set before anything starts (a run that stops half-way
    for a missing variable helps nobody). A dry run sends no secret anywhere, so there an unset
    one gets a placeholder instead: returned by name, for the run to use and say so."""
    needed: list[tuple[str, str]] = [
        (api.auth["secret"], f"apis.{name}.auth.secret")
        for name, api in plan.apis.items()
        if api.auth and api.auth.get("secret")
    ]
    for step in plan.steps:
        fields = (step.argument, step.params, step.body, step.value, step.expect)
        for value in fields:
            needed += [
                (expr.name or "", f"{step.place}") for _, expr in walk_expressions(value)
                if expr.source == "secrets"
            ]  # fmt: skip
    placeholders: dict[str, str] = {}
    for name, where in needed:
        if name in os.environ:
            continue
        if dry_run:
            placeholders[name] = f"lam-dry-run-placeholder-{name}"
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
) -> Runner:
    """A runner for a validated plan, with its record, kill switch, guard and executors."""
    root = options.runs_dir or runs_root()
    record = RunRecord.create(root, secrets=options.secrets)
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
        # a kill stops the prompt where it waits for the human's answer
        prompt=None if options.dry_run or not options.prompt else kill.interrupting(options.prompt),
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
        policy=policy_identity(options.policy),  # the policy in force: its file and sha256
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
        secrets=secrets,
        validate=_validator(options),
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
    """The step executors of a run. A dry run gets one simulator per API, shared by the API
    steps and the pages, so what a plan's API step creates, its pages show."""
    transports: dict[str, httpx.BaseTransport] = {}
    simulators: dict[str, Any] = {}
    readers: list[Any] = []
    if options.dry_run:
        from lam.run.ui_step import LiveReader
        from lam.sandbox.simulator import Simulator
        from lam.sandbox.transport import SimulatorTransport

        behind_apps = {app.api for app in plan.apps.values() if app.api}
        for name, spec in report.specs.items():
            base = api_urls.get(name, "")
            # Pages read live data through the simulator; a plan of API steps alone reads
            # nothing live, so its dry run sends no request at all.
            live = name in behind_apps and "://" in base
            reader = LiveReader(base, spec=spec) if live else None
            if reader is not None:
                readers.append(reader)
            sim = Simulator(spec, seed=options.seed, base_path=urlsplit(base).path, fallback=reader)
            simulators[name] = sim
            transports[name] = (
                SignInPassThrough(SimulatorTransport(sim), spec, base_path=urlsplit(base).path)
                if reader is not None
                else SimulatorTransport(sim)
            )
    executors: dict[str, StepExecutor] = {
        "api": ApiStepExecutor(report.specs, report.operations, transports=transports)
    }
    if plan.apps or any(step.kind == "ui" for step in plan.steps):
        executors["ui"] = _ui_executor(plan, report, options, simulators, readers)
    return executors


class SignInPassThrough(httpx.BaseTransport):
    """A dry run's transport for an API behind an app: signing in reaches the live API (it
    changes no business data, and the pages of the same run sign in for real too); every
    other request goes to the simulator. What signs in is :func:`lam.run.sign_in.api_sign_in`:
    a token operation of the spec, no worse than write; the API step lists it as passed
    through."""

    def __init__(self, simulated: httpx.BaseTransport, spec: Any, *, base_path: str = "") -> None:
        self._simulated = simulated
        self._live = httpx.HTTPTransport()
        self._spec = spec
        self._base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        why = api_sign_in(self._spec, request, base_path=self._base_path)  # a token operation
        if why is not None:
            response = self._live.handle_request(request)
            response.extensions[PASSED_THROUGH] = why
            return response
        return self._simulated.handle_request(request)

    def close(self) -> None:
        self._live.close()
        self._simulated.close()


def _ui_executor(
    plan: Plan,
    report: ValidationReport,
    options: RunOptions,
    simulators: Mapping[str, Any],
    readers: list[Any],
) -> StepExecutor:
    try:
        from lam.run.ui_step import UiStepExecutor
    except ModuleNotFoundError:
        raise PlanError("UI steps cannot run yet in this build", file=plan.file) from None
    return UiStepExecutor(report, options, simulators=simulators, readers=readers)  # type: ignore[no-any-return]
