"""The functional API: ``lam.validate``, ``lam.dry_run``, ``lam.run``, ``lam.replay``, ``lam.plan``.

Each is what the command of the same name does, without the printing: it takes a plan file (or
a goal), the operator's policy and the same options, and returns the objects the commands
render (:class:`~lam.validation.ValidationReport`, :class:`~lam.runtime.runner.RunResult`,
:class:`~lam.replayer.ReplayResult`, :class:`~lam.planning.PlannedPlan`). What stops a run from
starting is raised, as a :class:`~lam.errors.LamError` subclass: a missing file
(:class:`~lam.errors.UsageError`), an invalid plan (:class:`InvalidPlanError`, with the report),
a denied or unapproved step (:class:`~lam.errors.BlockedError`). What happens once a run has
started is in its result (``status``, ``error``, ``exit_code``), as the run record has it.

The policy is a :class:`~lam.policy.Policy`, a policy file, or None for the operator's: the
project's policy found from the working directory, else lam's defaults (as the CLI finds it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lam.errors import LamError, PlanError, UsageError
from lam.policy import Policy

if TYPE_CHECKING:
    from lam.planning import PlannedPlan
    from lam.replayer import ReplayResult
    from lam.runtime.guard import Prompt
    from lam.runtime.record import RunRecord
    from lam.runtime.runner import RunResult, StepResult
    from lam.runtime.start import RunOptions
    from lam.validation import ValidationReport

__all__ = [
    "CannotPlanError",
    "Hooks",
    "InvalidPlanError",
    "dry_run",
    "plan",
    "replay",
    "resolve_policy",
    "run",
    "validate",
]

PathLike = str | os.PathLike[str]


class InvalidPlanError(PlanError):
    """The plan does not validate, so nothing ran. ``report`` holds every problem; the
    message is the first."""

    def __init__(self, report: ValidationReport) -> None:
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        super().__init__(
            first.message + more, file=report.file, location=first.location, step=first.step,
            code=first.code,
        )  # fmt: skip
        self.report = report


@dataclass(frozen=True)
class Hooks:
    """Callbacks a run calls as it goes (how ``lam run`` prints its progress): ``on_start``
    with the new run record, ``on_step`` with each step's result, ``on_progress`` with slow
    set-up said in words (Chromium starting), ``on_policy`` with the policy once the plan is
    valid and its verdicts count, ``on_report`` with the validation report the run started
    from (after it ends: for a caller that shows each step's verdict beside its result)."""

    on_start: Callable[[RunRecord], None] | None = None
    on_step: Callable[[StepResult], None] | None = None
    on_progress: Callable[[str], None] | None = None
    on_policy: Callable[[Policy], None] | None = None
    on_report: Callable[[ValidationReport], None] | None = None


class CannotPlanError(LamError):
    """The planner could not turn the goal into a valid plan. ``planned`` says why
    (``unsure``, ``candidates``, ``errors``)."""

    def __init__(self, message: str, planned: PlannedPlan) -> None:
        super().__init__(message, code="cannot-plan")
        self.planned = planned


def resolve_policy(policy: Policy | PathLike | None) -> Policy:
    """A policy object as given; a policy file loaded; None: the operator's policy (the
    project's, found from the working directory, else lam's defaults), as the CLI finds it."""
    if isinstance(policy, Policy):
        return policy
    from lam.policy_source import operator_policy

    given = _existing(policy, "policy") if policy is not None else None
    found, _source = operator_policy(given, Path.cwd())
    return found


def _existing(path: PathLike, what: str) -> Path:
    from lam.arguments import existing_file

    return existing_file(os.fspath(path), what=what)


def validate(
    plan: PathLike,
    *,
    policy: Policy | PathLike | None = None,
    apps: Mapping[str, str] | None = None,
    apis: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Check a plan file against its specs and the policy; nothing runs.

    Returns the report (``ok``, ``errors``, each step's risk and verdict, ``held``,
    ``exit_code``), an invalid plan included. ``apps``/``apis`` move the plan's apps and APIs
    to other URLs (``--app``/``--api``). A file that cannot be read or parsed raises
    :class:`~lam.errors.PlanError`."""
    from lam.validation import validate_plan

    path = _existing(plan, "plan")
    api_overrides, app_overrides = _urls(apis, "--api"), _urls(apps, "--app")
    return validate_plan(
        path,
        policy=resolve_policy(policy),
        api_overrides=api_overrides,
        app_overrides=app_overrides,
    )


def run(
    plan: PathLike,
    *,
    policy: Policy | PathLike | None = None,
    inputs: Mapping[str, Any] | None = None,
    apps: Mapping[str, str] | None = None,
    apis: Mapping[str, str] | None = None,
    approvals: Iterable[str] = (),
    prompt: Prompt | None = None,
    headed: bool = False,
    strict: bool = False,
    screenshots: Literal["all", "failures"] = "all",
    runs_dir: PathLike | None = None,
    hooks: Hooks | None = None,
) -> RunResult:
    """Run a plan live, under the guard, as ``lam run`` does.

    ``approvals`` are the operator's ``--approve`` values (``STEP``, ``STEP@DIGEST``,
    ``STEP@DIGEST:RISK``); ``prompt`` is asked about a held action as it is about to happen.
    Raises :class:`InvalidPlanError` or :class:`~lam.errors.BlockedError` when it cannot start;
    returns the result (with the step's error) when a step fails or the run is killed."""
    return _execute(plan, _options(policy, inputs, apps, apis, approvals=approvals,
                    prompt=prompt, headed=headed, strict=strict, screenshots=screenshots,
                    runs_dir=runs_dir, hooks=hooks), hooks)  # fmt: skip


def dry_run(
    plan: PathLike,
    *,
    policy: Policy | PathLike | None = None,
    inputs: Mapping[str, Any] | None = None,
    apps: Mapping[str, str] | None = None,
    apis: Mapping[str, str] | None = None,
    headed: bool = False,
    strict: bool = False,
    seed: int = 0,
    screenshots: Literal["all", "failures"] = "all",
    runs_dir: PathLike | None = None,
    hooks: Hooks | None = None,
    reads: Literal["sandbox", "live"] = "sandbox",
) -> RunResult:
    """Run a plan in the sandbox, as ``lam dry-run`` does: nothing changes on a live system.
    The held effects are in ``result.effects_json``, each simulated write with its ``change``.
    ``reads="live"`` (``--reads live``): reads go to the live API, writes are simulated over
    what they return (see docs/dry-run.md)."""
    return _execute(plan, _options(policy, inputs, apps, apis, dry_run=True, headed=headed,
                    strict=strict, seed=seed, screenshots=screenshots, reads=reads,
                    runs_dir=runs_dir, hooks=hooks), hooks)  # fmt: skip


def replay(
    recording: PathLike,
    *,
    dry_run: bool = False,
    update: bool = False,
    policy: Policy | PathLike | None = None,
    inputs: Mapping[str, Any] | None = None,
    apps: Mapping[str, str] | None = None,
    apis: Mapping[str, str] | None = None,
    approvals: Iterable[str] = (),
    prompt: Prompt | None = None,
    headed: bool = False,
    strict: bool = False,
    seed: int = 0,
    screenshots: Literal["all", "failures"] = "all",
    runs_dir: PathLike | None = None,
    hooks: Hooks | None = None,
    reads: Literal["sandbox", "live"] = "sandbox",
) -> ReplayResult:
    """Replay a recording (any plan) as ``lam replay`` does: targets that moved are healed by
    fingerprint or refused; ``update`` writes healed locators back into the file.
    Raises :class:`InvalidPlanError` when it does not validate."""
    from lam.replayer import replay as replay_recording

    path = _existing(recording, "recording")
    options = _options(policy, inputs, apps, apis, approvals=approvals, prompt=prompt,
                       dry_run=dry_run, headed=headed, strict=strict, seed=seed,
                       screenshots=screenshots, runs_dir=runs_dir, hooks=hooks,
                       reads=reads)  # fmt: skip
    result = replay_recording(path, options, update=update)
    if result.run is None:
        raise InvalidPlanError(result.report)
    if hooks is not None and hooks.on_report is not None:
        hooks.on_report(result.report)
    return result


def plan(
    goal: str,
    *,
    apis: Sequence[PathLike] | Mapping[str, PathLike] | None = None,
    app: str | None = None,
    base_url: str | None = None,
    policy: Policy | PathLike | None = None,
    output: PathLike | None = None,
) -> PlannedPlan:
    """Turn a goal in plain words into a validated plan, as ``lam plan`` does.

    With ``apis`` (spec files, named by their stem, or a mapping name -> spec) the API planner
    proposes the calls; with ``app`` (a URL) the goal is done in the sandbox, one grounded step
    at a time, with at most one API (the app's backend). Spec paths in the plan are relative to
    ``output``'s folder (else the working directory); ``output`` is written. Raises
    :class:`CannotPlanError` when the goal cannot be planned or the plan does not validate."""
    from lam.planning import api_names, plan_api_goal, plan_ui_goal

    out = Path(output) if output is not None else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError("output must name a file in an existing directory", file=str(out))
    base = out.parent if out is not None else Path.cwd()
    named = api_names(
        {k: os.fspath(v) for k, v in apis.items()} if isinstance(apis, Mapping)
        else [os.fspath(p) for p in apis or ()]
    )  # fmt: skip
    chosen = resolve_policy(policy)
    if app is not None:
        if len(named) > 1:
            raise UsageError("with app, give at most one API (the app's backend)", code="usage")
        spec = next(iter(named.values()), None)
        planned = plan_ui_goal(goal, app, policy=chosen, base=base, api=spec, base_url=base_url)
    elif named:
        planned = plan_api_goal(
            goal, named, policy=chosen, base=base, base_url=base_url,
            file_name=out.name if out else "<plan>",
        )  # fmt: skip
    else:
        raise UsageError("give apis (the specs the goal is about) or an app", code="usage")
    if not planned.ok or planned.text is None:
        why = "; ".join(planned.unsure or planned.errors) or "nothing was planned"
        raise CannotPlanError(f"cannot plan: {why}", planned)
    if out is not None:
        out.write_text(planned.text, encoding="utf-8")
    return planned


def _options(
    policy: Policy | PathLike | None,
    inputs: Mapping[str, Any] | None,
    apps: Mapping[str, str] | None,
    apis: Mapping[str, str] | None,
    *,
    approvals: Iterable[str] = (),
    runs_dir: PathLike | None = None,
    hooks: Hooks | None = None,
    **rest: Any,
) -> RunOptions:
    from lam.runtime.start import RunOptions

    hooks = hooks or Hooks()
    return RunOptions(
        policy=resolve_policy(policy),
        inputs=dict(inputs or {}),
        app_overrides=_urls(apps, "--app"),
        api_overrides=_urls(apis, "--api"),
        approvals=frozenset(approvals),
        runs_dir=Path(runs_dir) if runs_dir is not None else None,
        on_start=hooks.on_start,
        on_step=hooks.on_step,
        on_progress=hooks.on_progress,
        on_policy=hooks.on_policy,
        **rest,
    )


def _urls(given: Mapping[str, str] | None, option: str) -> dict[str, str]:
    """Overrides checked as the command line checks ``--app``/``--api``: absolute URLs."""
    from lam.arguments import url_pairs

    return url_pairs([f"{name}={url}" for name, url in (given or {}).items()], option)


def _execute(plan: PathLike, options: RunOptions, hooks: Hooks | None) -> RunResult:
    from lam.runtime.start import execute_plan

    report, result = execute_plan(_existing(plan, "plan"), options)
    if result is None:
        raise InvalidPlanError(report)
    if hooks is not None and hooks.on_report is not None:
        hooks.on_report(report)
    return result
