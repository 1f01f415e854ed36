"""``lam sandbox serve SPEC``: the API simulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lam.errors import EXIT_OK, UsageError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``lam sandbox serve``."""
    parser = subparsers.add_parser("sandbox", help="the dry-run world: an API simulator")
    sub = parser.add_subparsers(dest="sandbox_command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve a stateful simulator of an OpenAPI spec")
    serve.add_argument("spec", help="OpenAPI spec (YAML/JSON file or URL)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    serve.add_argument("--seed", metavar="FILE", help="seed data: collection path -> objects")
    serve.add_argument("--seed-number", type=int, default=0, help="seed for generated values")
    serve.add_argument(
        "--no-validate", action="store_true", help="skip request validation (speed only)"
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="answer requests that lack the spec's required credentials (default: 401)",
    )
    serve.set_defaults(func=_serve)
    parser.set_defaults(func=lambda args: _missing(parser))


def _missing(parser: argparse.ArgumentParser) -> int:
    raise UsageError("which sandbox command? (serve)", code="usage")


def _serve(args: argparse.Namespace) -> int:
    from lam.sandbox.server import load_seed_file, serve
    from lam.sandbox.simulator import Simulator
    from lam.spec import load_spec

    if not args.spec.startswith(("http://", "https://")) and not Path(args.spec).is_file():
        raise UsageError("file not found", file=args.spec, code="not-found")
    if args.seed and not Path(args.seed).is_file():
        raise UsageError("file not found", file=args.seed, code="not-found")
    spec = load_spec(args.spec)
    seed_data = load_seed_file(Path(args.seed)) if args.seed else None
    simulator = Simulator(
        spec,
        seed=args.seed_number,
        seed_data=seed_data,
        validate=not args.no_validate,
        security=not args.no_auth,
    )

    def announce(url: str) -> None:
        print(f"lam sandbox: serving {spec.title} at {url}", flush=True)

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        serve(
            simulator,
            host=args.host,
            port=args.port,
            announce=announce,
            log=None if args.quiet else log,
        )
    except KeyboardInterrupt:
        print("lam sandbox: stopped", file=sys.stderr)
    return EXIT_OK
