"""``lam kill [RUN]``: stop a run (or every run of this project) at its next step boundary."""

from __future__ import annotations

import argparse
from typing import Any

from lam.errors import UsageError

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "kill", help="stop a run at its next step boundary (all runs when none is named)"
    )
    parser.add_argument("run", nargs="?", metavar="RUN", help="a run id or its directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lam.run.kill import pull
    from lam.run.record import runs_root

    root = runs_root()
    run_dir = None
    if args.run:
        candidate = Path(args.run)
        run_dir = candidate if candidate.is_dir() else root / args.run
        if not run_dir.is_dir():
            raise UsageError(f"no run {args.run!r} under {root}", code="not-found")
    target = pull(root.parent, run_dir)
    print(f"kill switch pulled: {target}")
    return 0
