"""``lam report RUN``: a self-contained HTML report of a run or dry run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report", help="write a self-contained HTML report of a run ('last' for the newest)"
    )
    parser.add_argument(
        "run", metavar="RUN", help="run id, run directory, or 'last'; or a mission record"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="default: RUN_DIR/report.html")
    parser.add_argument(
        "--verify", action="store_true", help="only check the record (as 'lam verify RUN' does)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lam.evidence.verify import verify_here
    from lam.mission.record import find_mission
    from lam.report import find_run, render_report

    mission = find_mission(args.run)
    if mission is not None:  # a mission record: the tree of its tasks and their runs
        from lam.mission.report import mission_report_command

        return mission_report_command(mission, output=args.output, verify=args.verify)
    run_dir = find_run(args.run)
    if args.verify:
        verdict = verify_here(run_dir)
        print(f"{run_dir.name}: {verdict.describe()}")
        return 0 if verdict.ok else 1
    target = Path(args.output) if args.output else run_dir / "report.html"
    target.write_text(render_report(run_dir), encoding="utf-8")
    print(target)
    return 0
