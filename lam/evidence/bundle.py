"""An exported run: one JSON file holding a run's trace, the files it hashed, its two ledger
entries and the operator's public key, so that the run verifies on another machine.

::

    {"format": "lam-run-bundle/1", "run": RUN_ID, "public_key": "ed25519:...",
     "key_id": "...", "ledger": [START, END], "files": {"trace.jsonl": BASE64, ...}}

Opening a bundle writes its files into a fresh folder (every name through
:func:`~lam.evidence.paths.resolve_in`), and the ordinary checks run there. Which key is
trusted is the verifier's choice: the one in the bundle (and ``lam verify`` says so, by id), or
one pinned with ``--key``. The bundle's two ledger entries are checked one by one (hash and
signature); their place in the ledger's chain can only be checked where that ledger is.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.errors import UsageError
from lam.evidence.keys import PublicKey, parse_public_key
from lam.evidence.ledger import LedgerCheck, check_entry
from lam.evidence.paths import UnsafePath, resolve_in
from lam.evidence.verify import record_files, trace_events

__all__ = ["BUNDLE_FORMAT", "Bundle", "BundleLedger", "export_run", "open_bundle"]

BUNDLE_FORMAT = "lam-run-bundle/1"
MAX_BUNDLE_BYTES = 1 << 30  # a run's screenshots are a few MB; beyond this it is not a bundle


def export_run(
    run_dir: Path, out: Path, *, key: PublicKey, ledger_entries: Sequence[Mapping[str, Any]]
) -> int:
    """Write ``run_dir`` as a bundle to ``out``; returns the number of files it holds. Files
    the record names outside the run folder are left out (verifying the bundle says so)."""
    trace = run_dir / "trace.jsonl"
    if not trace.is_file():
        raise UsageError(f"no trace.jsonl in {run_dir}", code="not-found")
    files = {"trace.jsonl": trace.read_bytes()}
    for _, name in record_files(list(trace_events(trace))):
        try:
            path = resolve_in(run_dir, name)
            files[name] = path.read_bytes()
        except (UnsafePath, OSError):
            continue  # missing or outside: the verifier names it
    document = {
        "format": BUNDLE_FORMAT,
        "run": run_dir.name,
        "public_key": key.text,
        "key_id": key.key_id,
        "ledger": [dict(e) for e in ledger_entries],
        "files": {name: base64.b64encode(data).decode() for name, data in sorted(files.items())},
    }
    partial = out.with_name(out.name + ".part")
    partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(partial, out)
    return len(files)


@dataclass(frozen=True)
class Bundle:
    """An opened bundle: its run folder (a copy), the key it carries, its ledger entries."""

    run: str
    run_dir: Path
    key: PublicKey
    ledger: BundleLedger


class BundleLedger:
    """The bundle's copy of the run's ledger entries, as a ledger to check against."""

    def __init__(self, source: str, entries: Sequence[Mapping[str, Any]]) -> None:
        self.source = source
        self.entries = [dict(e) for e in entries if isinstance(e, Mapping)]

    def check(self, key: PublicKey, runs: frozenset[str] | None = None) -> LedgerCheck:
        result = LedgerCheck(f"{self.source} (its ledger entries)", lines=len(self.entries))
        for number, entry in enumerate(self.entries, start=1):
            problem = check_entry(entry, key)
            if problem:
                result.problem = (
                    f"the bundle's ledger entry {number} ({entry.get('type')}) {problem}"
                )
                return result
            target = result.starts if entry.get("type") == "start" else result.ends
            target[str(entry.get("run"))] = (number, entry)
        return result


def open_bundle(path: Path, into: Path) -> Bundle:
    """Unpack the bundle at ``path`` into a new folder under ``into``. Raises
    :class:`UsageError` (naming the file) when it is not a bundle."""
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise UsageError(f"{path}: larger than any run bundle", code="bad-bundle")
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", code="not-found") from None
    except (ValueError, RecursionError):
        raise UsageError(f"{path}: not a run bundle (not JSON)", code="bad-bundle") from None
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise UsageError(f"{path}: not a run bundle (format {BUNDLE_FORMAT} expected)",
                         code="bad-bundle")  # fmt: skip
    run = document.get("run")
    files = document.get("files")
    if not isinstance(run, str) or not run or "/" in run or run in (".", ".."):
        raise UsageError(f"{path}: the bundle's run id is missing or unsafe", code="bad-bundle")
    if not isinstance(files, dict) or not isinstance(document.get("ledger"), list):
        raise UsageError(f"{path}: the bundle has no files or ledger", code="bad-bundle")
    key = parse_public_key(str(document.get("public_key", "")))
    run_dir = into / run
    run_dir.mkdir(parents=True)
    for name, data in files.items():
        try:
            target = resolve_in(run_dir, name)
            raw = base64.b64decode(str(data), validate=True)
        except UnsafePath as exc:
            raise UsageError(f"{path}: files: {exc.message}", code="bad-bundle") from None
        except (binascii.Error, ValueError):
            raise UsageError(f"{path}: files: {name!r} is not base64", code="bad-bundle") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    return Bundle(run, run_dir, key, BundleLedger(str(path), document["ledger"]))
