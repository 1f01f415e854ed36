"""``lam replay REC``: run a recording like any plan; show (and with --update keep) what healed."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from lam.cli.common import (
    add_policy_option,
    add_run_options,
    add_target_options,
    existing_file,
    load_operator_policy,
    pairs,
    print_json,
)
from lam.cli.run_cmd import _ask, _json, _print_end, _print_step

__all__ = ["register"]


def register(sub: Any) -> None:
    helptext = "replay a recording; heal changed targets by fingerprint (never a guess)"
    parser: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help=helptext,
        description=helptext + ". Healed locators are shown as a diff; --update writes them "
        "back. Exit 0 ok, 1 invalid plan or failed step (a refused heal too), 2 usage, "
        "3 blocked, 4 killed.",
    )
    parser.add_argument("recording", metavar="REC")
    add_policy_option(parser)
    add_target_options(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="replay in the sandbox: no live effects"
    )
    parser.add_argument("--update", action="store_true", help="write healed locators back into REC")
    add_run_options(parser)
    parser.add_argument(
        "--screenshots",
        choices=("all", "failures"),
        default="all",
        help="which UI steps keep a boxed screenshot in the run record: all (default) or "
        "only those that failed or were blocked (faster)",
    )
    parser.set_defaults(func=replay)


def replay(args: argparse.Namespace) -> int:
    from lam.replay import render_diff
    from lam.replay import replay as run_replay
    from lam.run.session import RunOptions

    path = existing_file(args.recording, what="recording")
    interactive = (
        not args.dry_run and not args.json and not args.no_prompt
        and sys.stdin.isatty() and not os.environ.get("CI")
    )  # fmt: skip
    quiet = args.json
    options = RunOptions(
        policy=load_operator_policy(args.policy, path),
        inputs=pairs(args.input, "--input"),
        app_overrides=pairs(args.app, "--app"),
        api_overrides=pairs(args.api, "--api"),
        approvals=frozenset(args.approve),
        dry_run=args.dry_run,
        strict=args.strict,
        headed=args.headed,
        seed=args.seed,
        screenshots=args.screenshots,
        prompt=_ask if interactive else None,
        on_step=None if quiet else _print_step,
        on_start=None if quiet else lambda rec: print(f"replay {rec.run_id}: {rec.directory}"),
    )
    result = run_replay(path, options, update=args.update)
    if result.run is None:
        from lam.cli.validate_cmd import render_report

        if args.json:
            print_json({**result.report.to_json(), "run": None, "status": "invalid"})
        else:
            print(render_report(result.report), file=sys.stderr)
        return result.report.exit_code
    if args.json:
        print_json(
            {
                **_json(result.report, result.run),
                "healed": [h.to_json() for h in result.healed],
                "updated": str(result.updated) if result.updated else None,
            }
        )
        return result.run.exit_code
    _print_end(result.run)
    if result.healed:
        print(f"\n{len(result.healed)} target(s) healed:")
        print(render_diff(result.healed))
        if result.updated:
            print(f"\nwritten back to {result.updated} (old locators kept as candidates)")
        else:
            print("\nreview, then run again with --update to write them back")
    return result.run.exit_code
