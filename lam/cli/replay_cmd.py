"""``lam replay REC``: run a recording like any plan; show (and with --update keep) what healed."""

from __future__ import annotations

import argparse
from typing import Any

from lam.cli.batch_cmd import add_batch_options
from lam.cli.common import (
    add_policy_option,
    add_run_options,
    add_target_options,
    existing_file,
    print_json,
)
from lam.cli.run_cmd import _batch, _json, _print_end, _prompt, print_invalid, run_settings

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
    parser.add_argument(
        "--reads", choices=("sandbox", "live"), default="sandbox",
        help="with --dry-run: where API reads go, the sandbox (default) or live (reads the policy "
            "allows go to the live API, writes are simulated over them; docs/dry-run.md)",
    )  # fmt: skip
    parser.add_argument("--update", action="store_true", help="write healed locators back into REC")
    add_run_options(parser)
    parser.add_argument(
        "--screenshots",
        choices=("all", "failures"),
        default="all",
        help="which UI steps keep a boxed screenshot in the run record: all (default) or "
        "only those that failed or were blocked (faster)",
    )
    add_batch_options(parser)
    parser.set_defaults(func=replay)


def replay(args: argparse.Namespace) -> int:
    from lam import facade
    from lam.replayer import render_diff

    path = existing_file(args.recording, what="recording")
    if args.inputs is not None:  # a batch: one replay per row (lam.fleet)
        return _batch(args, "replay", path)
    settings, _ = run_settings(args, path, label="replay")
    try:
        result = facade.replay(
            path, dry_run=args.dry_run, update=args.update, approvals=args.approve or (),
            prompt=_prompt(args), seed=args.seed, reads=args.reads, **settings,
        )  # fmt: skip
    except facade.InvalidPlanError as exc:
        return print_invalid(exc.report, as_json=args.json, policy=settings["policy"])
    assert result.run is not None  # an invalid recording raised above
    if args.json:
        print_json(
            {
                **_json(result.report, result.run, policy=settings["policy"]),
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
