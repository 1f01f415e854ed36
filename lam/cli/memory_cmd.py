"""``lam memory [show] [--site URL] [--json]`` and ``lam memory clear [--site URL]``: what the
planner remembers per site (locators that worked, and those that failed)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from lam.cli.common import print_json, table
from lam.memory import MemoryStore, Remembered, site_of

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "memory", help="show or clear the planner's memory of locators per site"
    )
    parser.add_argument("action", nargs="?", choices=("show", "clear"), default="show")
    parser.add_argument("--site", metavar="URL", help="only this site (scheme, host and port)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = MemoryStore()
    site = site_of(args.site) if args.site else None
    if args.action == "clear":
        gone = store.forget(site) if store.path.exists() else 0
        if args.json:
            print_json({"forgotten": gone, "site": site, "store": str(store.path)})
        else:
            where = f" for {site}" if site else ""
            print(f"forgot {gone} entr{'y' if gone == 1 else 'ies'}{where} ({store.path})")
        return 0
    entries = store.entries(site) if store.path.exists() else []
    if args.json:
        print_json({"store": str(store.path), "entries": [_json(e) for e in entries]})
        return 0
    if not entries:
        print(f"nothing remembered{f' for {site}' if site else ''} ({store.path})")
        return 0
    rows = [
        (
            e.site,
            e.key,
            _hints(e),
            str(e.successes),
            str(e.failures),
            _when(e.last_used),
            _state(e),
        )
        for e in entries
    ]
    print(table(("SITE", "KEY", "LOCATOR", "OK", "FAILED", "LAST USED", "LAST ERROR"), rows))
    return 0


def _state(entry: Remembered) -> str:
    if entry.refused is not None:  # never recalled again (see lam.agent): say so first
        return "REFUSED: " + (entry.last_error or "").removeprefix("refused: ")
    return ("FAILED: " + (entry.last_error or "")) if entry.failed else ""


def _hints(entry: Remembered) -> str:
    return ", ".join(f"{k}={v}" for k, v in entry.hints.items())


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"


def _json(entry: Remembered) -> dict[str, Any]:
    return {
        "site": entry.site,
        "key": entry.key,
        "hints": dict(entry.hints),
        "fingerprint": dict(entry.fingerprint) if entry.fingerprint is not None else None,
        "successes": entry.successes,
        "failures": entry.failures,
        "failed": entry.failed,
        "refused": entry.refused,
        "last_error": entry.last_error,
        "last_success": entry.last_success,
        "last_failure": entry.last_failure,
    }
