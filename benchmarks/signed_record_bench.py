"""What signing a run record costs: events written through :class:`lam.runtime.record.RunRecord`
(chained, Ed25519-signed, ledgered) against the same events written the old way (chained with
plain SHA-256, unsigned) in the same run, and what ``lam verify`` costs per event.

    .venv/bin/python benchmarks/signed_record_bench.py [--events 2000] [--rounds 5]

Each event is a typical ``response`` event (a JSON body of about 2 KB). Printed: the median
microseconds per event for each writer and their ratio; the time to open and seal a record
(two ledger appends, each with an fsync, and one fsync of the trace); and the time
``verify_run`` takes per event (hashes, signatures, the ledger). The operator key and ledger are
in a temporary ``LAM_CONFIG_DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

BODY = {"items": [{"id": i, "name": f"pet {i}", "species": "dog", "tags": ["a", "b"]}
                  for i in range(30)]}  # fmt: skip


def old_writer(path: Path, events: int) -> float:
    """The unkeyed chain lam wrote before records were signed (the baseline)."""
    prev = "0" * 64
    start = time.perf_counter()
    with path.open("a", encoding="utf-8") as handle:
        for seq in range(events):
            event: dict[str, Any] = {"seq": seq, "time": round(time.time(), 6), "type": "response",
                                     "step": "list", "status": 200, "body": BODY, "prev": prev}  # fmt: skip
            body = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str).encode()
            event["hash"] = hashlib.sha256(body).hexdigest()
            handle.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
            handle.flush()
            prev = event["hash"]
    return time.perf_counter() - start


class Unsigned:
    """A notary that signs nothing and keeps no ledger: RunRecord's own cost (redaction,
    hashing, writing) without the signature."""

    key_id = "none"

    def sign_event(self, run_id: str, event_hash: str) -> str:
        return ""

    def started(self, run_id: str, directory: Path) -> None:
        pass

    def ended(self, run_id: str, **fields: Any) -> None:
        pass


def signed_writer(root: Path, events: int, notary: Any = None) -> tuple[float, float, Path]:
    from lam.runtime.record import RunRecord

    opened = time.perf_counter()
    record = RunRecord.create(root, notary=notary)
    open_s = time.perf_counter() - opened
    start = time.perf_counter()
    for _ in range(events):
        record.event("response", step="list", status=200, body=BODY)
    per_events = time.perf_counter() - start
    sealed = time.perf_counter()
    record.close()
    return per_events, open_s + time.perf_counter() - sealed, record.directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LAM_CONFIG_DIR"] = str(Path(tmp) / "config")
        from lam.evidence.keys import load_operator_key
        from lam.evidence.ledger import Ledger
        from lam.evidence.verify import verify_run

        key = load_operator_key()
        old, unsigned, new, seal, check = [], [], [], [], []
        for n in range(args.rounds):
            old.append(old_writer(Path(tmp) / f"old-{n}.jsonl", args.events))
            unsigned.append(signed_writer(Path(tmp) / "unsigned", args.events, Unsigned())[0])
            per_events, open_seal, run_dir = signed_writer(Path(tmp) / "runs", args.events)
            new.append(per_events)
            seal.append(open_seal)
            start = time.perf_counter()
            verdict = verify_run(run_dir, key=key.public, ledger=Ledger())
            check.append(time.perf_counter() - start)
            assert verdict.status == "intact", verdict.problems
    old_us = statistics.median(old) / args.events * 1e6
    new_us = statistics.median(new) / args.events * 1e6
    bare_us = statistics.median(unsigned) / args.events * 1e6
    print(f"{args.events} events of ~{len(json.dumps(BODY))} bytes, {args.rounds} rounds (medians)")
    print(f"unkeyed chain (before) : {old_us:8.1f} us per event")
    print(f"RunRecord, unsigned    : {bare_us:8.1f} us per event (redaction included)")
    print(f"signed record (now)    : {new_us:8.1f} us per event")
    print(f"ratio signed/unkeyed   : {new_us / old_us:8.2f}x")
    print(f"ratio signed/unsigned  : {new_us / bare_us:8.2f}x (the signature alone)")
    print(f"open + seal a record   : {statistics.median(seal) * 1000:8.1f} ms (ledger start/end)")
    sign_start = time.perf_counter()
    for n in range(args.events):
        key.sign(b"lam-event/1\0run\0" + str(n).encode())
    sign_us = (time.perf_counter() - sign_start) / args.events * 1e6
    print(f"one Ed25519 signature  : {sign_us:8.1f} us")
    verify_us = statistics.median(check) / (args.events + 1) * 1e6
    print(f"lam verify             : {verify_us:8.1f} us per event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
