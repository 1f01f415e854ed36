"""``lam kill [RUN]``: stop a running run now, from any directory.

Runs register in a per-user folder while they run (:mod:`lam.runtime.registry`); ``lam kill``
finds them there, whatever the working directory. ``RUN`` is a run id, ``last`` (the newest
running run) or a run's record directory; without it, every running run of this user stops.
Each one gets a ``KILL`` file in its record and SIGTERM, and ends within a second, mid-step,
with exit 4 (a mission's supervisor registers too, under its mission run id: it stops every
task's process and leaves the registry only once they have all ended); ``lam kill`` waits (up to 5 s) to see them end and says which stopped. Exit 0
when every run it found stopped, 1 when no running run matched or one is still running.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]

EXIT_NOTHING = 1
WAIT_S = 5.0  # how long lam kill waits to see the runs end before it reports them


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "kill",
        help="stop a running run now, mid-step (every running run of yours when none is named)",
        description="Stop running runs from any directory: RUN is a run id, 'last', a run "
        "directory or a mission run id (the mission and all its tasks); none means every run "
        "of this user. Exit 0 when the runs stopped, "
        "1 when no running run matched or one did not stop within 5 s.",
    )
    parser.add_argument("run", nargs="?", metavar="RUN", help="a run id, 'last' or its directory")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from lam.cli.common import print_json
    from lam.runtime.kill import stop_run
    from lam.runtime.registry import find_runs, runtime_dir, wait_ended

    started = time.monotonic()
    entries = find_runs(args.run)
    told = [(entry, stop_run(entry)) for entry in entries]
    running = {e.run_id for e in wait_ended(entries, timeout=WAIT_S)}
    seconds = round(time.monotonic() - started, 3)
    if args.json:
        print_json(
            {
                "ok": bool(told) and not running,
                "stopped": [e.to_json() for e, _ in told if e.run_id not in running],
                "still_running": sorted(running),
                "seconds": seconds,
                "registry": str(runtime_dir()),
            }
        )
    elif told:
        for entry, how in told:
            state = "still running" if entry.run_id in running else "stopped"
            print(f"{state}: {entry.run_id} (pid {entry.pid}, {how}) {entry.directory}")
        print(f"{len(told) - len(running)} of {len(told)} run(s) stopped in {seconds:.2f} s")
    if not told:
        which = f"running run {args.run!r}" if args.run else "running run"
        print(f"lam: no {which} found (registry {runtime_dir()})", file=sys.stderr)
        return EXIT_NOTHING
    return EXIT_NOTHING if running else 0
