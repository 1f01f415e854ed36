"""``lam do GOAL``: reach a goal on a web app (or an API) step by step, under the guard."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam.cli.common import (
    add_policy_option,
    announce_policy,
    error_json,
    existing_file,
    load_operator_policy,
    print_json,
)
from lam.errors import UsageError

if TYPE_CHECKING:
    from lam.planner.base import ActionModel

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "do",
        help="reach a goal step by step: observe, propose, validate, guard, act, verify",
        description="Exit 0 goal reached, 1 failed or unsure, 2 usage, 3 a step is denied or "
        "needs approval (nothing of it ran), 4 killed. The steps that ran are written as a "
        "plan in the run record, for review and replay.",
    )
    parser.add_argument("goal", metavar="GOAL")
    parser.add_argument("--app", metavar="URL", help="the web app to act on")
    parser.add_argument("--api", metavar="SPEC", help="the app's (or the goal's) OpenAPI spec")
    parser.add_argument("--api-url", metavar="URL", help="the API's base URL (default: spec)")
    add_policy_option(parser)
    parser.add_argument("--approve", action="append", metavar="STEP", default=[])
    parser.add_argument("--no-prompt", action="store_true", help="never ask at the terminal")
    parser.add_argument("--planner", choices=("embedded", "llm"), default="embedded")
    parser.add_argument("--max-steps", type=int, default=25, metavar="N")
    parser.add_argument("--max-seconds", type=float, default=180.0, metavar="S")
    parser.add_argument("--no-memory", action="store_true", help="neither use nor update memory")
    parser.add_argument("--dry-run", action="store_true", help="act in the sandbox")
    parser.add_argument("--headed", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lam.agent import DoOptions, do_goal
    from lam.cli.run_cmd import _ask, _print_end, _print_progress, _print_step
    from lam.memory import MemoryStore
    from lam.policy_source import policy_identity
    from lam.runtime.start import RunOptions

    if not args.app and not args.api:
        raise UsageError("give --app URL (a web app) and/or --api SPEC", code="usage")
    if args.max_steps < 1 or args.max_seconds <= 0:
        raise UsageError("--max-steps and --max-seconds must be positive", code="usage")
    spec = existing_file(args.api, what="spec") if args.api else None
    interactive = (
        not args.json and not args.no_prompt and not args.dry_run
        and sys.stdin.isatty() and not os.environ.get("CI")
    )  # fmt: skip
    memory = None if args.no_memory else MemoryStore()
    options = DoOptions(
        goal=args.goal,
        app_url=args.app,
        api_spec=Path(spec) if spec else None,
        api_base_url=args.api_url,
        run=RunOptions(
            policy=announce_policy(load_operator_policy(args.policy)),
            approvals=frozenset(args.approve),
            dry_run=args.dry_run,
            headed=args.headed,
            prompt=_ask if interactive else None,
            on_step=None if args.json else _print_step,
            on_start=None if args.json else lambda r: print(f"do {r.run_id}: {r.directory}"),
            on_progress=None if args.json else _print_progress,
        ),
        planner=_planner(args, memory),
        max_steps=args.max_steps,
        max_seconds=args.max_seconds,
        memory=memory,
    )
    result = do_goal(options)
    if args.json:
        print_json(
            {
                "ok": result.run.error is None,
                "run": result.run.run_id,
                "record": result.run.directory,
                "status": result.run.status,
                "error": error_json(result.run.error),
                "exit": result.run.exit_code,
                "plan": str(result.plan_file) if result.plan_file else None,
                "results": [s.to_json() for s in result.run.steps],
                "effects": result.run.effects_json,
                "policy": policy_identity(options.run.policy),
            }
        )
    else:
        _print_end(result.run)
        if result.plan_file:
            print(f"the steps that ran, as a plan: {result.plan_file}")
    return result.run.exit_code


def _planner(args: argparse.Namespace, memory: Any) -> ActionModel:
    if args.planner == "llm":
        from lam.adapters.llm.model import LlmActionModel

        return LlmActionModel(memory=memory)
    if args.app:
        from lam.planner.ui_goals import UiGoalPlanner

        return UiGoalPlanner()
    from lam.planner.api_goals import ApiGoalPlanner

    return ApiGoalPlanner()
