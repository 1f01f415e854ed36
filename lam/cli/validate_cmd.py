"""``lam validate PLAN``: check a plan against its specs and the operator's policy."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from lam.cli.common import (
    add_policy_option,
    add_target_options,
    announce_policy,
    existing_file,
    load_operator_policy,
    print_json,
    table,
    url_pairs,
)
from lam.errors import PlanError

if TYPE_CHECKING:
    from lam.validation import ValidationReport

__all__ = ["error_lines", "register", "render_report"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check a plan against its OpenAPI specs and the policy; nothing runs",
        description="Exit 0 valid and allowed, 1 invalid, 2 usage error, 3 a step is "
        "denied or needs approval.",
    )
    parser.add_argument("plan", metavar="PLAN")
    add_policy_option(parser)
    add_target_options(parser, inputs=False)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lam.facade import validate
    from lam.mission.load import is_mission
    from lam.policy_source import policy_identity

    path = existing_file(args.plan, what="plan")
    if is_mission(path):  # an Arazzo document: every task checked (lam.cli.mission_cmd)
        from lam.cli.mission_cmd import check_and_run

        return check_and_run(args.plan, args, check_only=True, dry_run=False)
    apis, apps = url_pairs(args.api, "--api"), url_pairs(args.app, "--app")  # usage first
    policy = load_operator_policy(args.policy, path)
    try:
        report = validate(path, policy=policy, apis=apis, apps=apps)
    except PlanError as exc:
        if not args.json:
            raise
        # A machine asked for JSON: it gets a document even when the plan cannot be read.
        error = {"step": exc.step, "path": exc.location, "code": exc.code, "message": exc.message}
        print_json(
            {"ok": False, "file": str(path), "errors": [error], "steps": [],
             "policy": policy_identity(policy)}
        )  # fmt: skip
        print(f"lam: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    if report.ok:
        announce_policy(policy)  # (an invalid plan met no policy: its errors stay alone)
    # Each error is also one line on stderr, in the same form as any other lam error.
    for error_line in error_lines(report):
        print(f"lam: {error_line}", file=sys.stderr)
    if args.json:
        print_json({**report.to_json(), "policy": policy_identity(policy)})
    else:
        print(render_report(report))
    return report.exit_code


def error_lines(report: ValidationReport) -> list[str]:
    """Each error of a report as ``file: location: message``."""
    return [
        PlanError(e.message, file=report.file, location=e.location).one_line()
        for e in report.errors
    ]


def render_report(report: ValidationReport) -> str:
    """The human-readable report: a table of steps, then the outcome (errors go to stderr)."""
    out: list[str] = []
    if report.plan is not None:
        written = report.plan.document.get("steps") or []
        aside = len(written) - len(report.steps) if isinstance(written, list) else 0
        shown = f" ({aside} too broken to classify, see the errors)" if aside > 0 else ""
        out.append(f"plan {report.plan.name!r} ({report.file}): {len(report.steps)} steps{shown}")
    if report.steps:
        rows = [
            (
                s.id,
                s.kind,
                s.operation or "",
                s.risk.value if s.risk else "unknown",
                s.verdict.value if s.verdict else "invalid",
                "; ".join(s.reasons),
            )
            for s in report.steps
        ]
        out.append(
            table(("step", "kind", "operation / target", "risk", "verdict", "reasons"), rows)
        )
    out.append("")
    if not report.ok:
        out.append(f"invalid: {len(report.errors)} error(s), each on stderr")
    elif report.held:
        parts = [f"{s.id} ({s.verdict}: {'; '.join(s.verdict_reasons)})" for s in report.held]
        out.append("valid, but held: " + ", ".join(parts))
    else:
        out.append("valid: every step is allowed")
    return "\n".join(out)
