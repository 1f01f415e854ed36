"""``lam``: the entry point. Parses the command line and renders errors as one line.

Each command lives in its own module under ``lam.cli`` and exposes ``register(subparsers)``
which adds its parser and sets ``func`` (``args -> exit code``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from lam.errors import EXIT_USAGE, LamError

__all__ = ["main"]

COMMAND_MODULES = (
    "lam.cli.validate_cmd",
    "lam.cli.schema_cmd",
    "lam.cli.spec_cmd",
    "lam.cli.sandbox_cmd",
    "lam.cli.run_cmd",
    "lam.cli.kill_cmd",
    "lam.cli.plan_cmd",
    "lam.cli.report_cmd",
    "lam.cli.do_cmd",
    "lam.cli.record_cmd",
    "lam.cli.replay_cmd",
    "lam.cli.export_cmd",
    "lam.cli.memory_cmd",
    "lam.cli.verify_cmd",
    "lam.cli.key_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with lam's usage code and one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lam", description="Plans for agents that act on web apps and APIs.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command still being built
        module.register(sub)
    return parser


def _version() -> str:
    from lam import __version__

    return f"lam {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run lam with ``argv`` (default: the process's arguments) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except LamError as exc:
        print(f"lam: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lam: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in lam: one line, the traceback only on request
        if os.environ.get("LAM_DEBUG"):
            raise
        print(
            f"lam: internal error: {type(exc).__name__}: {exc} (LAM_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
