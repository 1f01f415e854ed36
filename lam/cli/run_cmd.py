"""``lam run PLAN`` and ``lam dry-run PLAN``: the same runner, live or in the sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from lam.cli.batch_cmd import add_batch_options, run_batch_args
from lam.cli.common import (
    add_policy_option,
    add_run_options,
    add_target_options,
    announce_policy,
    error_json,
    existing_file,
    load_operator_policy,
    pairs,
    print_json,
    table,
    url_pairs,
)

if TYPE_CHECKING:
    from pathlib import Path

    from lam.runtime.guard import GuardCheck, Prompt
    from lam.runtime.runner import RunResult, StepResult
    from lam.validation import ValidationReport

__all__ = ["register"]


def register(sub: Any) -> None:
    for name, dry in (("run", False), ("dry-run", True)):
        helptext = (
            "run every step in the sandbox: no effect on live systems; report the effects"
            if dry
            else "run a plan live, under the guard"
        )
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=helptext,
            description=helptext + ". Exit 0 ok, 1 invalid plan or failed step, 2 usage, "
            "3 blocked (denied or unapproved), 4 killed.",
        )
        parser.add_argument("plan", metavar="PLAN")
        add_policy_option(parser)
        add_target_options(parser)
        add_run_options(parser, approvals=not dry)
        if dry:
            parser.add_argument(
                "--reads", choices=("sandbox", "live"), default="sandbox",
                help="where API reads go: the sandbox invents what they return (default), or "
                "live: reads the policy allows go to the live API and writes are simulated "
                "over what they returned (a change plan per write)",
            )  # fmt: skip
        parser.add_argument(
            "--screenshots",
            choices=("all", "failures"),
            default="all",
            help="which UI steps keep a boxed screenshot in the run record: all (default) or "
            "only those that failed or were blocked (faster)",
        )
        add_batch_options(parser, approvals=not dry)
        parser.set_defaults(func=run, dry_run=dry)


def run(args: argparse.Namespace) -> int:
    from lam import facade
    from lam.mission.load import is_mission

    path = existing_file(args.plan, what="plan")
    if args.dry_run and is_mission(path):  # every task in the sandbox (lam.cli.mission_cmd)
        from lam.cli.mission_cmd import check_and_run

        return check_and_run(args.plan, args, check_only=False, dry_run=True)
    if args.inputs is not None:  # a batch: one run per row (lam.fleet)
        return _batch(args, "run", path)
    settings, reported = run_settings(args, path, label=args.command)
    try:
        if args.dry_run:
            result = facade.dry_run(path, seed=args.seed, reads=args.reads, **settings)
        else:
            result = facade.run(
                path, approvals=args.approve or (), prompt=_prompt(args), **settings
            )
    except facade.InvalidPlanError as exc:
        return print_invalid(exc.report, as_json=args.json, policy=settings["policy"])
    if args.json:
        print_json(_json(reported[0], result, policy=settings["policy"]))
    else:
        _print_end(result)
    return result.exit_code


def _batch(args: argparse.Namespace, kind: str, path: Path) -> int:
    from lam import facade

    policy = load_operator_policy(args.policy, path)
    try:
        return run_batch_args(args, kind, path, policy)
    except facade.InvalidPlanError as exc:
        return print_invalid(exc.report, as_json=args.json, policy=policy)


def run_settings(
    args: argparse.Namespace, path: Path, *, label: str
) -> tuple[dict[str, Any], list[ValidationReport]]:
    """The keyword arguments of :func:`lam.run`/:func:`lam.dry_run`/:func:`lam.replay` that
    run, dry-run and replay share, from the command line; and the list that receives the
    validation report the run started from (for ``--json``)."""
    from lam.facade import Hooks

    quiet = args.json
    reported: list[ValidationReport] = []
    hooks = Hooks(
        on_policy=announce_policy,
        on_step=None if quiet else _print_step,
        on_start=None if quiet else lambda rec: print(f"{label} {rec.run_id}: {rec.directory}"),
        on_progress=None if quiet else _print_progress,
        on_report=reported.append,
    )
    settings: dict[str, Any] = {
        "policy": load_operator_policy(args.policy, path),
        "inputs": pairs(args.input, "--input"),
        "apps": url_pairs(args.app, "--app"),
        "apis": url_pairs(args.api, "--api"),
        "headed": args.headed,
        "strict": args.strict,
        "screenshots": args.screenshots,
        "hooks": hooks,
    }
    return settings, reported


def _prompt(args: argparse.Namespace) -> Prompt | None:
    """The terminal prompt for a held step, when a person is there to answer it."""
    interactive = (
        not args.dry_run and not args.json and not getattr(args, "no_prompt", False)
        and sys.stdin.isatty() and not os.environ.get("CI")
    )  # fmt: skip
    return _ask if interactive else None


def print_invalid(report: ValidationReport, *, as_json: bool, policy: Any = None) -> int:
    """An invalid plan: nothing ran. The report on stderr (or as JSON), its exit code."""
    from lam.cli.validate_cmd import error_lines, render_report
    from lam.policy_source import policy_identity

    for line in error_lines(report):  # each error one line, as `lam validate` prints them
        print(f"lam: {line}", file=sys.stderr)
    if as_json:
        identity = policy_identity(policy) if policy is not None else None
        print_json({**report.to_json(), "run": None, "status": "invalid", "policy": identity})
    else:
        print(render_report(report), file=sys.stderr)
    return report.exit_code


def _print_progress(message: str) -> None:
    print(f"  ...  {message}", flush=True)


def _print_step(result: StepResult) -> None:
    mark = {"ok": "ok  ", "failed": "FAIL", "blocked": "STOP", "killed": "KILL"}[result.status]
    print(f"  {mark} {result.id}: {result.summary}")
    for warning in result.warnings:
        print(f"       warning: {warning}")
    for expectation in result.unchecked:
        print(f"       expect {expectation}")


def _print_end(result: RunResult) -> None:
    if result.effects_json is not None:
        from lam.runtime.sign_in import PASSED_LIVE

        effects = result.effects_json
        live = [e for e in effects if e.get("answered_by") == PASSED_LIVE]
        if live:  # a sign-in the dry run let through (lam.runtime.sign_in) is said, never hidden
            print(
                f"\n{len(effects) - len(live)} effect(s) held in the sandbox; {len(live)} "
                f"sign-in request(s) passed through to the live app (answered by {PASSED_LIVE}):"
            )
        else:
            print(
                f"\n{len(effects)} effect(s) held in the sandbox (no state-changing request reached a live system):"
            )
        if effects:
            keys = ("step", "method", "url", "risk", "verdict", "answered_by")
            rows = [tuple(str(e[k]) for k in keys) for e in effects]
            print(
                table(("step", "method", "url", "risk", "verdict", "answered by"), rows, width=70)
            )
    _print_change_plan(result)
    if result.unchecked:  # said, never hidden: a dry run that is ok did not check these
        print(
            f"\n{result.unchecked} expectation(s) not checked in this dry run (the page after "
            "a held write is a stand-in); they are marked under their steps above"
        )
    if result.error is not None:
        print(f"\n{result.status}: {result.error.one_line()}", file=sys.stderr)
    else:
        print(f"\n{result.status}: {len(result.steps)} steps, record in {result.directory}")


def _print_change_plan(result: RunResult) -> None:
    """The change plan of a dry run (lam.runtime.change_plan), like terraform plan's."""
    from lam.runtime.change_plan import counts, render, summary

    if result.effects_json is None:
        return
    lines = render(result.effects_json)
    if lines:
        print("\nchanges (before/after from: live = read from the live system, simulated = "
              "predicted from the spec, assumed = invented, no read was possible):")
        print("\n".join(lines))
    print(f"\n{summary(counts(result.effects_json))}")


def _change_plan(result: RunResult) -> dict[str, Any] | None:
    from lam.runtime.change_plan import counts, summary

    if result.effects_json is None:
        return None
    total = counts(result.effects_json)
    changes = [{"step": e["step"], **e["change"]} for e in result.effects_json if "change" in e]
    return {"changes": changes, "counts": total, "summary": summary(total)}


def _json(report: ValidationReport, result: RunResult, *, policy: Any = None) -> dict[str, Any]:
    from lam.policy_source import policy_identity

    return {
        "policy": policy_identity(policy) if policy is not None else None,
        "ok": result.error is None,
        "run": result.run_id,
        "record": result.directory,
        "status": result.status,
        "error": error_json(result.error),
        "exit": result.exit_code,
        "steps": [s.to_json() for s in report.steps],
        "results": [s.to_json() for s in result.steps],
        "effects": result.effects_json,
        "change_plan": _change_plan(result),
        "unchecked_expectations": result.unchecked,
    }


def _ask(check: GuardCheck) -> bool:
    """The interactive approval: show exactly what is about to happen, default no."""
    print(f"\n  step {check.step} needs approval ({check.classification.risk.value}):")
    print(f"    {check.summary}")
    for reason in check.classification.reasons:
        print(f"    - {reason}")
    body = check.detail.get("body")
    if body not in (None, {}):
        print(f"    body: {body}")
    try:
        answer = input("  approve this step? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
