"""``lam policy show [--policy FILE] [--json]``: the policy in force here, and where it came
from (the same choice ``lam run``, ``lam validate`` and ``lam dry-run`` make in this folder)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lam.cli.common import add_policy_option, existing_file, print_json

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "policy",
        help="show the policy in force here and where it came from",
        description="The effective policy of a command run in this folder: --policy FILE, "
        "else .lam/policy.yaml found from here up to the project root (.git or "
        "pyproject.toml) or home, else the built-in defaults. Files another user owns or "
        "others can write are ignored, with a warning.",
    )
    parser.add_argument("action", nargs="?", choices=("show",), default="show")
    add_policy_option(parser)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lam.policy_source import discover_policy, operator_policy

    given = existing_file(args.policy, what="policy") if args.policy else None
    policy, source = operator_policy(given, Path.cwd())
    searched = discover_policy(Path.cwd()) if given is None else None
    for warning in source.warnings:
        print(f"lam: warning: {warning}", file=sys.stderr)
    document = {
        "source": source.to_json(),
        "searched": searched.searched() if searched is not None else None,
        "warnings": list(source.warnings),
        **effective(policy),
    }
    if args.json:
        print_json(document)
        return 0
    print(source.describe())
    if document["searched"]:
        print(f"  (.lam/policy.yaml looked for {document['searched']})")
    defaults = document["defaults"]
    shown = [
        f"{risk} {d['verdict']}" + (" (lam's default)" if d["set_by"] == "lam" else "")
        for risk, d in defaults.items()
    ]
    print("defaults: " + ", ".join(shown))
    hosts = document["hosts"]
    print(
        "hosts: the plan's declared apis and apps" + (f", and {', '.join(hosts)}" if hosts else "")
    )
    rules = document["rules"]
    print(f"rules: {len(rules)}" + ("" if rules else " (the defaults decide)"))
    for rule in rules:
        note = f"  # {rule['note']}" if rule["note"] else ""
        print(f"  {rule['describe']}: {rule['verdict']}{note}")
    return 0


def effective(policy: Any) -> dict[str, Any]:
    """The policy as it applies: each risk's verdict (and whether the file or lam set it),
    the extra hosts, the rules in the order they are tried."""
    from lam.policy import DEFAULT_VERDICTS

    defaults = {
        risk.value: {
            "verdict": policy.defaults.get(risk, lam_default).value,
            "set_by": "policy" if risk in policy.defaults else "lam",
        }
        for risk, lam_default in DEFAULT_VERDICTS.items()
    }
    return {
        "defaults": defaults,
        "hosts": list(policy.hosts) if policy.hosts else [],
        "rules": [
            {
                "index": rule.index,
                "match": dict(rule.match),
                "verdict": rule.verdict.value,
                "note": rule.note,
                "describe": rule.describe(),
            }
            for rule in policy.rules
        ],
    }
