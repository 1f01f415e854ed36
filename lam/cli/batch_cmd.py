"""``lam run PLAN --inputs ROWS`` and ``lam replay REC --inputs ROWS``: a batch, one guarded run
per row (lam.fleet.batch). The options and the hand-off; the batch itself is lam.fleet's."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lam.cli.common import pairs, print_json, url_pairs

__all__ = ["GUARANTEES", "add_batch_options", "run_batch_args"]

GUARANTEES = (
    "With --inputs, the plan runs once per row (columns are its inputs), each row its own "
    "guarded run and record; one JSON line per row goes to the results file (--results, "
    "default ROWS.results.jsonl beside ROWS), fsynced as each row ends. Rerun with the same "
    "results file to resume: rows that ended (ok, failed) are skipped; a row in flight when the "
    "batch died is settled from its run record: nothing sent -> run again; its writes answered "
    "-> not run again (incomplete); a write sent and never answered -> unknown, not run again "
    "(check the target, delete its line to run it). So no row's write is sent twice by lam. "
    "lam kill BATCH_ID (or SIGTERM, Ctrl-C) stops the batch: no new row starts, rows in flight "
    "get 0.5 s to end, then their kill switches are pulled. "
    "Exit 0 all rows ok, 1 any failed/unknown/incomplete, 3 any held, 4 killed, 2 bad rows or "
    "options (before anything runs). docs/scale.md, Guarantees."
)


def add_batch_options(parser: argparse.ArgumentParser, *, approvals: bool = True) -> None:
    """``--inputs``, ``--workers``, ``--results``, ``--engine``, ``--address`` and (with
    ``approvals``) ``--max-approved``."""
    group = parser.add_argument_group("batch (one run per row of a data file)", GUARANTEES)
    group.add_argument(
        "--inputs", metavar="ROWS", help="a .csv (header line: input names) or .jsonl file: "
        "run once per row, typed by each input's schema as --input is",
    )  # fmt: skip
    group.add_argument("--workers", type=int, default=1, metavar="N", help="rows at once (1)")
    group.add_argument(
        "--results", metavar="FILE", help="the results file (JSONL, one line per row); an "
        "existing one resumes the batch",
    )  # fmt: skip
    group.add_argument(
        "--engine", choices=("local", "threads", "processes", "ray"), default="local",
        help="local (default): on this machine, threads for an API plan, worker processes "
        "for a plan with UI steps; threads or processes: that, always (threads: API plans "
        "only); ray: a Ray cluster (--address)",
    )  # fmt: skip
    group.add_argument("--address", metavar="ADDR", help="with --engine ray: the cluster")
    if approvals:
        group.add_argument(
            "--max-approved", type=int, metavar="N", help="with --approve STEP@DIGEST (the "
            "step's batch digest, as the held summary prints it): at most N rows run that step, "
            "counted across workers and reruns; further rows are held (exit 3)",
        )  # fmt: skip


def run_batch_args(args: argparse.Namespace, kind: str, path: Path, policy: Any) -> int:
    """Run the batch the command line describes; returns the exit code."""
    from lam.errors import UsageError
    from lam.fleet.batch import BatchOptions, run_batch

    if pairs(args.input, "--input"):
        raise UsageError("--input and --inputs: give the value as a column of ROWS instead")
    if getattr(args, "update", False):
        raise UsageError("--update writes healed locators back: replay one recording for it")
    options = BatchOptions(
        kind="replay" if kind == "replay" else "run",
        path=path,
        inputs=Path(args.inputs),
        policy=policy,
        workers=args.workers,
        results=Path(args.results) if args.results else None,
        approvals=tuple(getattr(args, "approve", None) or ()),
        max_approved=getattr(args, "max_approved", None),
        engine=args.engine,
        address=args.address,
        apps=url_pairs(args.app, "--app"),
        apis=url_pairs(args.api, "--api"),
        dry_run=bool(args.dry_run),
        strict=args.strict,
        screenshots="failures" if args.screenshots == "failures" else "all",
        seed=args.seed,
        reads="live" if getattr(args, "reads", "sandbox") == "live" else "sandbox",
    )
    result = run_batch(options)
    if args.json:
        print_json(
            {
                "batch": result.batch_id,
                "results": str(result.results),
                "killed": result.killed,
                "exit": result.exit_code,
                "rows": {str(n): s for n, s in result.statuses.items()},
            }
        )
    return result.exit_code
