"""Options and rendering shared by several commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lam.arguments import existing_file, pairs, url_pairs  # re-exported for the commands
from lam.errors import BlockedError, LamError

__all__ = [
    "add_policy_option",
    "add_run_options",
    "add_target_options",
    "announce_policy",
    "error_json",
    "existing_file",
    "load_operator_policy",
    "pairs",
    "print_json",
    "table",
    "url_pairs",
]


def add_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="the operator's policy (default: .lam/policy.yaml of the project, found up to "
        "the project root or home; else built-in)",
    )


def add_target_options(parser: argparse.ArgumentParser, *, inputs: bool = True) -> None:
    """``--input NAME=VALUE`` (only with ``inputs``), ``--app NAME=URL`` and ``--api NAME=URL``:
    where a plan's apps and apis are, and its inputs."""
    if inputs:
        parser.add_argument("--input", action="append", metavar="NAME=VALUE", help="set an input")
    parser.add_argument("--app", action="append", metavar="NAME=URL", help="move an app")
    parser.add_argument("--api", action="append", metavar="NAME=URL", help="move an api")


def add_run_options(parser: argparse.ArgumentParser, *, approvals: bool = True) -> None:
    """The options of a run that ``lam run``, ``lam dry-run`` and ``lam replay`` share, in
    order: ``--approve`` and ``--no-prompt`` (only with ``approvals``; a dry run asks nothing),
    then ``--strict``, ``--headed``, ``--seed`` and ``--json``."""
    if approvals:
        parser.add_argument(
            "--approve", action="append", metavar="STEP", default=[],
            help="approve this step (repeatable); covers exactly that step. STEP@DIGEST: only "
            "as lam showed it; STEP:RISK (as lam prints when it holds a step for a request its "
            "page sent): also that step's requests to the plan's hosts up to RISK",
        )  # fmt: skip
        parser.add_argument("--no-prompt", action="store_true", help="never ask at the terminal")
    parser.add_argument("--strict", action="store_true", help="a response off-spec fails")
    parser.add_argument("--headed", action="store_true", help="show the browser window")
    parser.add_argument("--seed", type=int, default=0, help="sandbox seed (dry runs)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


def load_operator_policy(option: str | None, plan_path: Path | None = None) -> Any:
    """The policy from --policy, else the project's (found from the working directory, see
    :mod:`lam.policy_source`), else lam's defaults. A policy file it ignored (planted: another
    user's, or writable by others) is a warning on stderr."""
    from lam.policy_source import operator_policy

    policy, source = operator_policy(
        existing_file(option, what="policy") if option else None, Path.cwd()
    )
    for warning in source.warnings:
        print(f"lam: warning: {warning}", file=sys.stderr)
    return policy


def announce_policy(policy: Any) -> Any:
    """Say on stderr which policy is in force (``policy: FILE (sha256 …)`` or ``policy:
    built-in defaults``): once a plan is valid, before its verdicts count. Returns it."""
    from lam.policy_source import policy_line

    print(policy_line(policy), file=sys.stderr)
    return policy


def error_json(error: LamError | None) -> dict[str, Any] | None:
    """An error as every ``--json`` document gives it (docs/exit-codes.md): the same object
    whether it ended the command before a run started or stopped a step mid-run."""
    if error is None:
        return None
    public = next(c for c in type(error).__mro__ if not c.__name__.startswith("_"))
    return {
        "code": error.code,
        "message": error.message,
        "file": error.file,
        "location": error.location,
        "step": error.step,
        "type": public.__name__,
        # the --approve values that let the held steps run, as data: no caller reads them
        # out of the message, whose text a plan or a page can write into
        "approvals": list(error.approvals) if isinstance(error, BlockedError) else [],
    }


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, width: int = 48) -> str:
    """A plain text table; cells longer than ``width`` are cut with an ellipsis."""
    cut = [[_cell(c, width) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cut)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cut]
    return "\n".join(lines)


def _cell(value: str, width: int) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= width else value[: width - 1] + "…"
