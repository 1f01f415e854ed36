"""``lam export PLAN --to pytest|arazzo`` and ``lam import ARAZZO``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lam.cli.common import existing_file

__all__ = ["register"]


def register(sub: Any) -> None:
    export: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="write a plan as a pytest test or an Arazzo workflow",
        description="pytest: a standalone Playwright test of the UI steps. arazzo: the API "
        "steps as an Arazzo 1.0 workflow.",
    )
    export.add_argument("plan", metavar="PLAN")
    export.add_argument("--to", required=True, choices=("pytest", "arazzo"))
    export.add_argument("-o", "--out", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(func=run_export)
    imp: argparse.ArgumentParser = sub.add_parser(
        "import",
        help="read an Arazzo 1.0 workflow into a plan",
        description="Read one workflow of an Arazzo 1.0 document into a plan.",
    )
    imp.add_argument("arazzo", metavar="ARAZZO")
    imp.add_argument("--workflow", metavar="ID", help="the workflow to read (when several)")
    imp.add_argument("-o", "--out", metavar="FILE", help="write here (default: stdout)")
    imp.set_defaults(func=run_import)


def _emit(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def run_export(args: argparse.Namespace) -> int:
    from lam.plans import load_plan

    path = existing_file(args.plan, what="plan")
    plan = load_plan(path)
    if args.to == "pytest":
        from lam.export.pytest import to_pytest

        _emit(to_pytest(plan, source=str(path)), args.out)
        return 0
    from lam.export.arazzo import to_arazzo
    from lam.recording.writer import dump_plan

    out_dir = Path(args.out).parent if args.out else Path.cwd()
    document, skipped = to_arazzo(plan, out_dir=out_dir)
    _emit(dump_plan(document), args.out)
    if skipped:
        print(f"lam: left out UI steps (no Arazzo form): {', '.join(skipped)}", file=sys.stderr)
        text = json.dumps(document)
        needed = [s for s in skipped if f"$steps.{s}." in text]
        if needed:
            print(
                f"lam: warning: API steps use outputs of left-out UI steps: {', '.join(needed)}",
                file=sys.stderr,
            )
    return 0


def run_import(args: argparse.Namespace) -> int:
    from lam.export.arazzo_import import load_arazzo
    from lam.plans import parse_plan
    from lam.recording.writer import dump_plan

    path = existing_file(args.arazzo, what="Arazzo document")
    out_dir = Path(args.out).parent if args.out else Path.cwd()
    document, notes = load_arazzo(path, workflow=args.workflow, out_dir=out_dir)
    text = dump_plan(document)
    name = Path(args.out).name if args.out else "<imported plan>"
    parse_plan(text, name=name, base=out_dir)  # what is written must load as a plan
    _emit(text, args.out)
    for note in notes:
        print(f"lam: note: {note}", file=sys.stderr)
    return 0
