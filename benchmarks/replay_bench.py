"""Replay speed: a recorded flow (22 UI steps) under ``lam replay`` against the same flow as a
plain Playwright script, both measured in this run on the same pages.

    .venv/bin/python benchmarks/replay_bench.py [--rounds 5]

The flow (login, filter, links, edit a pet, delete one, log out) is recorded once with
``lam.record`` on the demo app's saved pages (tests/pages/heal/, served from 127.0.0.1). Each
round then times, in alternating order:

* plain: launch Chromium, open /login, run the flow as hand-written Playwright calls, close;
* lam: :func:`lam.replayer.replay` of the recording (validation, guard on every step, run
  record with a hash-chained trace, a screenshot per step, Chromium launched and closed);
* lam-failures: the same with ``--screenshots failures`` (pictures only of failed steps).

The figures are ratios of medians, lam / plain (the aim: at most 1.2, issue 11). To compare
with an older lam, put its tree first on the path (``PYTHONPATH=OLD/`` before the command).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "pages" / "heal"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heal_site  # noqa: E402
from replay_heal_bench import ACTIONS, drive, record_flow  # noqa: E402

from lam.adapters.browser.chromium import launch  # noqa: E402
from lam.policy import default_policy  # noqa: E402
from lam.replayer import replay  # noqa: E402
from lam.runtime.start import RunOptions  # noqa: E402


def plain(url: str) -> float:
    """Seconds for the flow as a plain Playwright script, browser launch included."""
    started = time.perf_counter()
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.goto(url + "/login")
        drive(page)
        browser.close()
    return time.perf_counter() - started


def lam_replay(
    recording: Path, url: str, runs: Path, approvals: frozenset[str], *, all_shots: bool = True
) -> float:
    """Seconds for ``lam replay`` of the recording (a live run), browser launch included."""
    options = RunOptions(
        policy=default_policy(),
        app_overrides={"app": url + "/"},
        approvals=approvals,
        runs_dir=runs,
        screenshots="all" if all_shots else "failures",
    )
    started = time.perf_counter()
    result = replay(recording, options)
    seconds = time.perf_counter() - started
    if result.run is None or result.run.error is not None:
        problem = result.run.error.one_line() if result.run and result.run.error else "invalid"
        raise SystemExit(f"the replay failed: {problem}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PASSWORD", "admin-pass")
    with heal_site.serve_site() as site, tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "flow.yaml"
        document = record_flow(site.url, recording)
        steps = [s for s in document["steps"] if any(a in s for a in ACTIONS)]
        approvals = frozenset(s["id"] for s in steps if "delete" in s["id"])
        print(f"recording: {len(steps)} UI steps (+ {len(document['steps']) - len(steps)} goto)")
        plain(site.url)  # warm up: page cache, Chromium's first start
        lam_replay(recording, site.url, Path(tmp) / "runs", approvals)
        times: dict[str, list[float]] = {"plain": [], "lam": [], "lam-failures": []}
        runs = Path(tmp) / "runs"
        for round_ in range(args.rounds):
            order = ["plain", "lam", "lam-failures"]
            for which in order[round_ % 3 :] + order[: round_ % 3]:  # rotate the order
                if which == "plain":
                    times["plain"].append(plain(site.url))
                else:
                    every = which == "lam"
                    seconds = lam_replay(recording, site.url, runs, approvals, all_shots=every)
                    times[which].append(seconds)
    p = statistics.median(times["plain"])
    labels = {
        "plain": "plain Playwright script",
        "lam": "lam replay",
        "lam-failures": "lam replay --screenshots failures",
    }
    for which, label in labels.items():
        median = statistics.median(times[which])
        runs_s = ", ".join(f"{t:.2f}" for t in times[which])
        print(f"{label:34s} median {median:.2f} s  ({runs_s})")
    for which in ("lam", "lam-failures"):
        ratio = statistics.median(times[which]) / p
        print(f"ratio {which}/plain: {ratio:.2f}x (aim <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
