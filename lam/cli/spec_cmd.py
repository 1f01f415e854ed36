"""``lam spec check SPEC`` and ``lam spec ops SPEC``: look at an OpenAPI spec."""

from __future__ import annotations

import argparse
from typing import Any

from lam.cli.common import existing_file, print_json, table
from lam.errors import EXIT_FAILED, EXIT_OK

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "spec", help="check an OpenAPI spec or list its operations with their risk"
    )
    spec_sub = parser.add_subparsers(dest="spec_command", metavar="SUBCOMMAND", required=True)
    check = spec_sub.add_parser(
        "check",
        help="validate the spec itself (cached per content)",
        description="Exit 0 valid, 1 problems found, 2 the file is missing.",
    )
    check.add_argument("spec", metavar="SPEC", help="a file path or an http(s) URL")
    check.add_argument("--json", action="store_true", help="one JSON document on stdout")
    check.set_defaults(func=run_check)
    ops = spec_sub.add_parser("ops", help="list the operations: method, path, id, risk, reasons")
    ops.add_argument("spec", metavar="SPEC", help="a file path or an http(s) URL")
    ops.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ops.set_defaults(func=run_ops)


def _source(value: str) -> str:
    if value.startswith(("http://", "https://")):
        return value
    return str(existing_file(value, what="spec"))


def run_check(args: argparse.Namespace) -> int:
    from lam.spec import check_spec

    source = _source(args.spec)
    problems = check_spec(source)
    if args.json:
        print_json(
            {
                "spec": source,
                "valid": not problems,
                "problems": [{"location": p.location, "message": p.message} for p in problems],
            }
        )
    elif problems:
        for p in problems:
            print(f"{source}: {p.location}: {p.message}")
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {source}")
    else:
        print(f"{source}: valid")
    return EXIT_FAILED if problems else EXIT_OK


def run_ops(args: argparse.Namespace) -> int:
    from lam.risk import classify_operation  # written alongside; imported only when listing
    from lam.spec import load_spec

    spec = load_spec(_source(args.spec))
    rows: list[dict[str, Any]] = []
    cells: list[list[str]] = []
    for op in spec.operations:
        found = classify_operation(op)
        reasons = [str(r) for r in found.reasons]
        rows.append(
            {
                "method": op.method,
                "path": op.path,
                "operationId": op.operation_id,
                "risk": str(found.risk),
                "reasons": reasons,
            }
        )
        cells.append(
            [op.method, op.path, op.operation_id or "-", str(found.risk), "; ".join(reasons)]
        )
    if args.json:
        print_json({"spec": spec.source, "title": spec.title, "operations": rows})
        return EXIT_OK
    print(f"{spec.title} ({spec.source}): {len(rows)} operations")
    print(table(["METHOD", "PATH", "OPERATION", "RISK", "REASONS"], cells, width=60))
    return EXIT_OK
    print(f"{spec.title} ({spec.source}): {len(rows)} operations")
    print(
        table(
            ["METHOD", "PATH", "OPERATION", "RISK", "REASONS"],
            [
                [
                    r["method"],
                    r["path"],
                    r["operationId"] or "-",
                    r["risk"],
                    "; ".join(r["reasons"]),
                ]
                for r in rows
            ],
            width=60,
        )
    )
    return EXIT_OK
