"""``lam schema plan|policy``: print a shipped JSON Schema (for LLM planners and tools)."""

from __future__ import annotations

import argparse
from typing import Any

from lam.cli.common import print_json
from lam.documents import schema

__all__ = ["register"]

SCHEMAS = ("plan", "policy", "recording")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("schema", help="print a JSON Schema")
    parser.add_argument("name", choices=SCHEMAS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print_json(schema(args.name))
    return 0
