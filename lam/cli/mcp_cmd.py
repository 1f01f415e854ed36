"""``lam mcp``: serve lam's guarded tools to any MCP client; ``lam approve``: the operator
grants a step an MCP session holds.

``lam mcp`` speaks MCP over stdio (what an MCP client's configuration launches), or streamable
HTTP on 127.0.0.1 with ``--http PORT``. ``--app NAME=URL`` and ``--api NAME=SPEC[=BASE_URL]``
say where the session may act; ``--policy`` is the operator's policy; ``--dry-run`` acts in the
sandbox. Each MCP session is one lam run: ``lam report``, ``lam verify`` and ``lam kill`` take
its run id, which ``lam mcp`` prints on stderr. Exit 0 when the client went away, 4 when
stopped by ``lam kill``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from lam.cli.common import add_policy_option, existing_file, url_pairs
from lam.errors import UsageError

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "mcp",
        help="serve lam's guarded browser, API and plan tools to an MCP client (stdio)",
        description="An MCP server whose every action goes through lam's validator, guard and "
        "run record. stdio by default; --http PORT serves streamable HTTP on 127.0.0.1. "
        "Exit 0 when the client went away, 4 when stopped by lam kill.",
    )
    parser.add_argument(
        "--app", action="append", metavar="NAME=URL", help="an app the browser may act on"
    )
    parser.add_argument(
        "--api",
        action="append",
        metavar="NAME=SPEC[=BASE_URL]",
        help="an API (OpenAPI file or URL, and where it lives when not its first server)",
    )
    add_policy_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="every tool acts in the sandbox")
    parser.add_argument(
        "--reads", choices=("sandbox", "live"), default="sandbox",
        help="with --dry-run: where API reads go, the sandbox (default) or live (reads the policy "
            "allows go to the live API, writes are simulated over them; docs/dry-run.md)",
    )  # fmt: skip
    parser.add_argument("--headed", action="store_true", help="show the browser window")
    parser.add_argument(
        "--http", type=int, metavar="PORT", help="streamable HTTP on 127.0.0.1:PORT/mcp"
    )
    parser.set_defaults(func=run)

    approve: argparse.ArgumentParser = sub.add_parser(
        "approve",
        help="grant a step that a running lam mcp session holds (STEP@DIGEST, as it said)",
        description="The operator's approval of one held step of a running MCP session: "
        "SESSION is its run id (or 'last'), STEP@DIGEST what the held step's message names. "
        "The agent's retry of the same call then runs it, once.",
    )
    approve.add_argument("session", metavar="SESSION")
    approve.add_argument("approval", metavar="STEP@DIGEST")
    approve.set_defaults(func=run_approve)


def api_specs(values: list[str] | None) -> dict[str, tuple[str, str | None]]:
    """``--api NAME=SPEC[=BASE_URL]`` values: a spec file (which must exist) or URL, and an
    optional base URL after a second ``=``."""
    out: dict[str, tuple[str, str | None]] = {}
    for item in values or ():
        name, sep, rest = item.partition("=")
        if not sep or not name.strip() or not rest:
            raise UsageError(f"--api takes NAME=SPEC[=BASE_URL], got {item!r}", code="usage")
        spec, base = rest, None
        for scheme in ("=http://", "=https://"):
            if scheme in rest:
                spec, _, tail = rest.partition(scheme)
                base = scheme[1:] + tail
                break
        if base is not None:
            url_pairs([f"{name}={base}"], "--api")
        if "://" not in spec:
            spec = os.path.abspath(existing_file(spec, what="spec"))  # a symlink stays one
        out[name.strip()] = (spec, base)
    return out


def run(args: argparse.Namespace) -> int:
    from lam.mcp.plans import McpConfig
    from lam.mcp.server import serve

    apps = url_pairs(args.app, "--app")
    apis = api_specs(args.api)
    if not apps and not apis:
        raise UsageError("lam mcp needs --app NAME=URL or --api NAME=SPEC (or both)", code="usage")
    if args.http is not None and not 0 < args.http < 65536:
        raise UsageError(f"--http {args.http}: not a port", code="usage")
    policy = str(existing_file(args.policy, what="policy")) if args.policy else None
    config = McpConfig(
        apps=apps, apis=apis, policy=policy, dry_run=args.dry_run, headed=args.headed,
        reads=args.reads,
    )  # fmt: skip
    return serve(config, http_port=args.http)


def run_approve(args: argparse.Namespace) -> int:
    from lam.mcp.approvals import grant

    path = grant(args.session, args.approval)
    print(f"approved {args.approval} for session {path.parent.name}", file=sys.stderr)
    return 0
