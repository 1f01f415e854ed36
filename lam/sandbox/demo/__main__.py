"""``python -m lam.sandbox.demo``: serve the demo pet shop admin on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, seed the database if needed, and serve until interrupted."""
    import uvicorn

    from lam.errors import EXIT_USAGE, LamError
    from lam.sandbox.demo import DEFAULT_PORT, create_app, seed_database

    parser = argparse.ArgumentParser(
        prog="python -m lam.sandbox.demo", description="Serve lam's demo pet shop admin."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    parser.add_argument(
        "--db", type=Path, default=Path("demo.sqlite3"), help="SQLite file (demo.sqlite3)"
    )
    parser.add_argument("--access-log", type=Path, help="append one JSON line per request here")
    parser.add_argument("--reset", action="store_true", help="re-seed the database first")
    args = parser.parse_args(argv)
    try:
        if args.reset or not args.db.exists():
            seed_database(args.db)
        app = create_app(args.db, args.access_log)
    except LamError as exc:
        print(f"lam: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"lam: {exc.filename or args.db}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"demo pet shop on http://{args.host}:{args.port}/ (log in as admin / admin-pass)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
