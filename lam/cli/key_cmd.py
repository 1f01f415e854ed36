"""``lam key show [--json]``: the operator's public key and its id (the private key is
created on first use and never printed)."""

from __future__ import annotations

import argparse
from typing import Any

from lam.cli.common import print_json

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "key", help="show the operator key that signs run records (created on first use)"
    )
    parser.add_argument("action", choices=("show",), help="show: print the public key and id")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lam.evidence.keys import load_operator_key
    from lam.evidence.ledger import default_ledger_path

    key = load_operator_key()
    about = {
        "key_id": key.key_id,
        "public_key": key.public.text,
        "private_key_file": str(key.path),
        "ledger": str(default_ledger_path()),
    }
    if args.json:
        print_json(about)
        return 0
    print(f"key id:      {about['key_id']}")
    print(f"public key:  {about['public_key']}")
    print(f"private key: {about['private_key_file']} (owner only; never in a run folder)")
    print(f"ledger:      {about['ledger']}")
    return 0
