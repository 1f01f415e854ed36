"""``lam plan GOAL --api SPEC``: a goal in plain words -> a plan for a person to review.

A shell over :mod:`lam.planning` (the library's goal-to-plan pipeline): the plan is validated
(against its specs and the operator's policy) before it is printed or written; a planner that
cannot ground the goal, or a plan that does not validate, writes nothing and exits 1 with the
candidates it weighed. Exit codes: 0 written · 1 could not plan or invalid · 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lam.cli.common import add_policy_option, load_operator_policy, print_json
from lam.errors import EXIT_FAILED, EXIT_OK, UsageError
from lam.planning import PlannedPlan, api_names, plan_api_goal, plan_ui_goal

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="turn a goal into a plan for review",
        description="Turn a goal in plain words into a validated plan (YAML) for review.",
    )
    parser.add_argument("goal", metavar="GOAL", help='what to do, e.g. "list available pets"')
    parser.add_argument(
        "--api",
        action="append",
        metavar="[NAME=]SPEC",
        help="an OpenAPI spec the plan may call (repeatable)",
    )
    parser.add_argument("--api-name", metavar="NAME", help="the plan's name for a single --api")
    parser.add_argument("--base-url", metavar="URL", help="the API's base URL in the plan")
    parser.add_argument("--app", metavar="URL", help="a web app to plan UI steps for")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the plan here")
    parser.add_argument("--json", action="store_true", help="print a JSON result")
    add_policy_option(parser)
    parser.set_defaults(func=run)


def _unsure(planned: PlannedPlan, as_json: bool) -> int:
    if as_json:
        print_json(
            {
                "ok": False,
                "confidence": planned.confidence,
                "unsure": list(planned.unsure),
                "candidates": [list(group) for group in planned.candidates],
            }
        )
    for line in planned.unsure:
        print(f"lam: cannot plan: {line}", file=sys.stderr)
    print("lam: nothing written; say more in the goal (an id, a name, the action)", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """The ``plan`` command."""
    if args.app:
        return _plan_ui(args)
    if not args.api:
        raise UsageError("give --api SPEC (the API the goal is about)", code="usage")
    out = Path(args.output) if args.output else None
    if out is not None and out.is_dir():
        raise UsageError("-o is a directory", file=str(out), code="not-a-file")
    if out is not None and not out.parent.is_dir():
        raise UsageError("-o: no such directory", file=str(out.parent), code="not-found")
    paths = api_names(args.api or [], single_name=args.api_name)
    policy = load_operator_policy(args.policy)
    planned = plan_api_goal(
        args.goal, paths, policy=policy, base=out.parent if out else Path.cwd(),
        base_url=args.base_url, file_name=out.name if out else "<plan>",
    )  # fmt: skip
    if not planned.ok and not planned.errors:
        return _unsure(planned, args.json)
    if not planned.ok or planned.text is None:
        for line in planned.errors:
            print(f"lam: planned steps do not validate: {line}", file=sys.stderr)
        if args.json:
            print_json({"ok": False, "errors": list(planned.errors), "plan": planned.document})
        return EXIT_FAILED
    if out is not None:
        out.write_text(planned.text, encoding="utf-8")
    if args.json:
        print_json(
            {
                "ok": True,
                "written": str(out) if out else None,
                "confidence": planned.confidence,
                "notes": list(planned.notes),
                "plan": planned.document,
            }
        )
    elif out is None:
        sys.stdout.write(planned.text)
    for note in planned.notes:
        print(f"lam: note: {note}", file=sys.stderr)
    if out is not None and not args.json:
        print(f"lam: wrote {out} ({planned.steps} steps)", file=sys.stderr)
    return EXIT_OK


def _plan_ui(args: argparse.Namespace) -> int:
    """A UI goal is planned by doing it in the sandbox: every step is grounded on the real
    page, and every state-changing request is held, so planning changes nothing."""
    out = Path(args.output) if args.output else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError("-o must name a file in an existing directory", file=str(out))
    paths = api_names(args.api or [], single_name=args.api_name)
    if len(paths) > 1:
        raise UsageError("with --app, give at most one --api (the app's backend)", code="usage")
    base = Path(os.path.abspath(out.parent if out else Path.cwd()))
    planned = plan_ui_goal(
        args.goal, args.app, policy=load_operator_policy(args.policy), base=base,
        api=next(iter(paths.values()), None), base_url=args.base_url,
    )  # fmt: skip
    if not planned.ok or planned.text is None:
        print(f"lam: cannot plan: {'; '.join(planned.errors)}", file=sys.stderr)
        print(f"lam: nothing written; the dry run is in {planned.dry_run}", file=sys.stderr)
        return EXIT_FAILED
    if planned.password_secret:
        print(
            "lam: the password is not written into the plan: it reads $secrets.PASSWORD, "
            "so set PASSWORD in the environment before lam run",
            file=sys.stderr,
        )
    effects = [dict(e) for e in planned.effects]
    if out is not None:
        out.write_text(planned.text, encoding="utf-8")
    if args.json:
        print_json({"ok": True, "plan": planned.document, "file": str(out) if out else None,
                    "dry_run": planned.dry_run, "effects": effects})  # fmt: skip
    elif out is None:
        print(planned.text, end="")
    else:
        print(f"wrote {out} ({planned.steps} steps; dry run in {planned.dry_run})")
    from lam.runtime.sign_in import PASSED_LIVE

    for effect in effects:
        did = "the dry run signed in live:" if effect.get("answered_by") == PASSED_LIVE else None
        print(
            f"lam: {did or 'the plan would'} {effect['method']} {effect['url']} "
            f"({effect['risk']}, {effect['verdict']})",
            file=sys.stderr,
        )
    return EXIT_OK
