"""``lam verify [RUN|FILE|--all] [--json] [--key PUBKEY]`` and ``lam export-run RUN -o FILE``:
check that run records are the ones lam wrote (signed, complete, in the ledger), and carry one
to another machine as a single file that verifies there."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from lam.cli.common import print_json
from lam.errors import UsageError

__all__ = ["register"]


def register(sub: Any) -> None:
    verify: argparse.ArgumentParser = sub.add_parser(
        "verify",
        help="check that a run's record is intact: signed, complete, its files unchanged, "
        "in the ledger",
        description="Exit 0 when every run checked is intact (or still in progress), 1 naming "
        "what broke. RUN is a run id, a run folder, 'last', or a file written by "
        "'lam export-run'; or a mission record (its id or folder): its own chain and every "
        "run record it links.",
    )
    verify.add_argument("run", nargs="?", metavar="RUN|FILE")
    verify.add_argument(
        "--all", action="store_true", help="every run under the runs folder, and runs deleted"
    )
    verify.add_argument(
        "--key",
        metavar="PUBKEY",
        help="trust this public key (ed25519:BASE64 as 'lam key show' prints it, or a file) "
        "instead of this machine's operator key or the key inside an exported file",
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(func=run_verify)
    export: argparse.ArgumentParser = sub.add_parser(
        "export-run",
        help="write a run, its files and the public key as one file that 'lam verify FILE' "
        "checks on another machine",
    )
    export.add_argument("run", metavar="RUN", help="run id, run folder, or 'last'")
    export.add_argument("-o", "--out", required=True, metavar="FILE")
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    from lam.evidence.keys import parse_public_key

    if args.all == bool(args.run):
        raise UsageError("name one run (an id, a folder, 'last' or an exported file) or --all")
    pinned = parse_public_key(args.key) if args.key else None
    from lam.mission.record import find_mission

    mission = find_mission(args.run) if args.run else None
    if mission is not None:  # a mission record: its chain and every run record it links
        from lam.mission.report import verify_command

        return verify_command(mission, pinned=pinned, as_json=args.json)
    if args.run and Path(args.run).is_file():
        return _verify_bundle(Path(args.run), pinned, as_json=args.json)
    from lam.evidence.ledger import Ledger
    from lam.evidence.verify import deleted_runs, local_trust, verify_run
    from lam.runtime.record import runs_root

    key = local_trust(pinned)
    ledger = Ledger()
    root = runs_root()
    if args.all:
        checked = ledger.check(key)
        folders = sorted(p for p in root.glob("*") if (p / "trace.jsonl").is_file())
        verdicts = [verify_run(p, key=key, ledger=ledger, ledger_check=checked) for p in folders]
        verdicts += deleted_runs(root, checked)
        verdicts += _missions(key, ledger, checked)
        return _show(verdicts, as_json=args.json, ledger_problem=checked.problem)
    folder = _find(args.run, root)
    if folder is None:
        checked = ledger.check(key)
        gone = [v for v in deleted_runs(root, checked) if v.run == args.run]
        if not gone:
            raise UsageError(f"no run {args.run!r} (looked in {root})", code="not-found")
        return _show(gone, as_json=args.json)
    return _show([verify_run(folder, key=key, ledger=ledger)], as_json=args.json)


def _missions(key: Any, ledger: Any, checked: Any) -> list[Any]:
    """Each mission record beside the runs folder: its own chain's verdict, and a linked run
    record whose trace no longer ends where the mission wrote it down (or is broken)."""
    from lam.mission.record import is_mission_record, missions_root, verify_mission

    found: list[Any] = []
    for folder in sorted(missions_root().glob("mission-*")):
        if not is_mission_record(folder):
            continue
        verdict = verify_mission(folder, key=key, ledger=ledger, ledger_check=checked)
        found.append(verdict.mission)
        for run in verdict.runs:
            if not run.ok:
                run.notes.append(f"linked from {folder.name}")
                found.append(run)
    return found


def _find(run: str, root: Path) -> Path | None:
    from lam.report import find_run

    try:
        return find_run(run, root)
    except UsageError:
        return None


def _verify_bundle(path: Path, pinned: Any, *, as_json: bool) -> int:
    from lam.evidence.bundle import open_bundle
    from lam.evidence.verify import verify_run

    with tempfile.TemporaryDirectory(prefix="lam-verify-") as scratch:
        bundle = open_bundle(path, Path(scratch))
        key = pinned or bundle.key
        verdict = verify_run(bundle.run_dir, key=key, ledger=bundle.ledger)
        verdict.path = str(path)
        if pinned is None:
            verdict.notes.append(
                f"trusting key {key.key_id} carried by {path.name} (pin one with --key)"
            )
        else:
            verdict.notes.append(f"trusting the pinned key {key.key_id}")
        verdict.notes.append(
            "the ledger entries were checked one by one; their place in the ledger's chain "
            "is checked only where that ledger is"
        )
        return _show([verdict], as_json=as_json)


def _show(verdicts: list[Any], *, as_json: bool, ledger_problem: str | None = None) -> int:
    ok = all(v.ok for v in verdicts) and ledger_problem is None
    if as_json:
        print_json(
            {"ok": ok, "ledger_problem": ledger_problem, "runs": [v.to_json() for v in verdicts]}
        )
        return 0 if ok else 1
    for verdict in verdicts:
        print(f"{verdict.run}: {verdict.describe()}")
        for note in verdict.notes:
            print(f"  note: {note}")
    if ledger_problem and not verdicts:
        print(f"ledger: broken: {ledger_problem}")
    if len(verdicts) != 1:
        broken = sum(not v.ok for v in verdicts)
        print(f"{len(verdicts)} runs checked, {broken} broken")
    return 0 if ok else 1


def run_export(args: argparse.Namespace) -> int:
    from lam.evidence.bundle import export_run
    from lam.evidence.ledger import Ledger
    from lam.evidence.verify import local_trust
    from lam.report import find_run

    folder = find_run(args.run)
    key = local_trust()
    checked = Ledger().check(key, frozenset({folder.name}))
    entries = [
        found[1]
        for found in (checked.starts.get(folder.name), checked.ends.get(folder.name))
        if found is not None
    ]
    out = Path(args.out)
    count = export_run(folder, out, key=key, ledger_entries=entries)
    print(f"wrote {out}: run {folder.name}, {count} files, public key {key.key_id}")
    return 0
