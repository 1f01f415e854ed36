"""``lam``: the entry point. Parses the command line and renders errors as one line.

Each command lives in its own module under ``lam.cli`` and exposes ``register(subparsers)``
which adds its parser and sets ``func`` (``args -> exit code``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from lam.cli.common import error_json
from lam.errors import EXIT_USAGE, LamError, UsageError

__all__ = ["main"]

COMMAND_MODULES = (
    "lam.cli.validate_cmd",
    "lam.cli.schema_cmd",
    "lam.cli.spec_cmd",
    "lam.cli.sandbox_cmd",
    "lam.cli.run_cmd",
    "lam.cli.kill_cmd",
    "lam.cli.policy_cmd",
    "lam.cli.plan_cmd",
    "lam.cli.report_cmd",
    "lam.cli.do_cmd",
    "lam.cli.record_cmd",
    "lam.cli.replay_cmd",
    "lam.cli.export_cmd",
    "lam.cli.memory_cmd",
    "lam.cli.verify_cmd",
    "lam.cli.key_cmd",
    "lam.cli.mcp_cmd",
    "lam.cli.mission_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse that fails with lam's usage error (one line, exit 2), not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ParseError(f"{message} (see '{self.prog} --help')", prog=self.prog)


class _ParseError(UsageError):
    """A command line argparse could not parse; printed as ``PROG: MESSAGE``."""

    def __init__(self, message: str, *, prog: str) -> None:
        super().__init__(message, code="usage")
        self.prog = prog


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
    argv = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that a command line that does not parse still answers in JSON.
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except _ParseError as exc:
        print(f"{exc.prog}: {exc.one_line()}", file=sys.stderr)
        return _json_error(exc) if as_json else exc.exit_code
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return _json_error(UsageError("no command given", code="usage")) if as_json else EXIT_USAGE
    try:
        code: int = args.func(args)
    except LamError as exc:
        print(f"lam: {exc.one_line()}", file=sys.stderr)
        return _json_error(exc) if getattr(args, "json", False) else exc.exit_code
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


def _json_error(exc: LamError) -> int:
    """An error that ended the command, as the one JSON document on stdout ``--json`` asks for."""
    error = error_json(exc)
    json.dump({"ok": False, "error": error, "exit": exc.exit_code}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
