"""``lam record URL -o FILE`` and ``lam recording params FILE``: make and tune recordings."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from lam.cli.common import existing_file, pairs, print_json, table

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "record",
        help="record a workflow in Chromium as a plan",
        description="Open URL in Chromium and record what you do as a plan. Close the window "
        "(or press Ctrl+C) to finish. Password fields become $secrets.NAME; typed values can "
        "become inputs with --param.",
    )
    parser.add_argument("url", metavar="URL")
    parser.add_argument("-o", "--out", required=True, metavar="FILE", help="the plan to write")
    parser.add_argument(
        "--param", action="append", metavar="NAME=FIELD", default=[],
        help="make the value typed into FIELD (label, name, id or step id) input NAME",
    )  # fmt: skip
    parser.add_argument("--name", help="the plan's name (default: the file's name)")
    parser.add_argument(
        "--headed", action="store_true", default=None,
        help="show the window (the default wherever a display exists)",
    )  # fmt: skip
    parser.add_argument(
        "--headless", dest="headed", action="store_false", help="no window (record by script)"
    )
    parser.set_defaults(func=record)

    recording = sub.add_parser("recording", help="work with a recording")
    inner = recording.add_subparsers(dest="recording_command", metavar="COMMAND")
    params = inner.add_parser(
        "params",
        help="list typed values; turn chosen ones into inputs",
        description="Without --name: list the values typed in REC. With --name NAME=FIELD: "
        "make each chosen field's value input NAME, defaulting to the recorded value.",
    )
    params.add_argument("recording", metavar="REC")
    params.add_argument(
        "--name", action="append", metavar="NAME=FIELD", default=[],
        help="input NAME takes the value typed in FIELD (step id, label, name or id)",
    )  # fmt: skip
    params.add_argument("-o", "--out", metavar="FILE", help="write here (default: in place)")
    params.add_argument("--json", action="store_true", help="one JSON document on stdout")
    params.set_defaults(func=recording_params)


def record(args: argparse.Namespace) -> int:
    from lam.adapters.browser.display import virtual_display
    from lam.errors import UsageError
    from lam.recording import Recorder

    if Path(args.out).is_dir():
        raise UsageError("the recording's path is a directory", file=args.out, code="not-a-file")
    screen = virtual_display() if args.headed is not False else contextlib.nullcontext(None)
    with screen as display:
        headed = bool(display) if args.headed is None else bool(args.headed)
        if headed and not display:
            print(
                "lam: no display and no Xvfb: recording headless (install xvfb, or run "
                "scripts/setup.sh, to see the window)",
                file=sys.stderr,
            )
        recorder = Recorder(
            args.url,
            out=args.out,
            params=pairs(args.param, "--param"),
            name=args.name,
            headed=headed and bool(display),
        )
        recorder.start()
        where = f" on display {display}" if display and headed else ""
        # Ctrl+C ends a recording from the moment the person is told so
        with contextlib.suppress(KeyboardInterrupt):
            print(f"recording {args.url}{where}: close the window or press Ctrl+C to finish",
                  file=sys.stderr, flush=True)  # fmt: skip
            recorder.wait_until_closed()
        written = recorder.stop()  # before the virtual display goes away
    steps = len(_load(written)["steps"]) if written else 0
    print(f"wrote {written} ({steps} steps)")
    return 0


def _load(path: Path) -> Any:
    from lam.documents import load_document
    from lam.errors import RecordingError

    return load_document(path, error=RecordingError)


def recording_params(args: argparse.Namespace) -> int:
    from lam.errors import RecordingError
    from lam.plans import load_plan
    from lam.recording import dump_plan, parameterize, typed_fields

    path = existing_file(args.recording, what="recording")
    load_plan(path)  # a recording is a plan: refuse a broken one with its place
    document = _load(path)
    if not isinstance(document, dict):
        raise RecordingError("a recording is a mapping", file=str(path))
    chosen = pairs(args.name, "--name")
    if not chosen:
        fields = typed_fields(document)
        if args.json:
            print_json([{"step": f.step, "field": f.field, "value": f.value} for f in fields])
        elif fields:
            print(table(("step", "field", "value"), [(f.step, f.field, f.value) for f in fields]))
        else:
            print("no typed values to turn into inputs")
        return 0
    updated = parameterize(document, chosen)
    out = Path(args.out) if args.out else path
    out.write_text(dump_plan(updated), encoding="utf-8")
    load_plan(out)
    if args.json:
        print_json({"written": str(out), "inputs": updated.get("inputs", {})})
    else:
        for name in chosen:
            print(f"input {name} (default {updated['inputs'][name]['default']!r})")
        print(f"wrote {out}")
    return 0
