"""Rows per second of a batch (``lam run PLAN --inputs ROWS``) on 1, 2 and 4 workers, in-process
(the local engine: threads or worker processes) and on a local Ray instance, against one plain sequential
loop of the same plan, all in one run against json-server (npm) on 127.0.0.1 (``--delay MS``:
each of its answers that late, for rows that wait on a server rather than on the CPU), or with
``--ui`` a one-step UI plan on the demo shop (each row its own Chromium).

The plan is tests/realapps/plans/json_server_posts.yaml (three API calls per row: create a
post, retitle it, read it back), each row its own guarded run and record. The baseline is a
Python loop calling ``lam.run`` once per row, one after another: no fleet code at all. Every
configuration runs the same number of rows with titles of its own, and afterwards each
title must be in json-server's db.json exactly once (a figure from a batch that lost or
doubled a row is not reported).

Two rates per configuration: ``wall`` counts everything from the call to its return (Ray's
start and shutdown, worker processes starting, the batch's checks); ``span`` counts from the
first row's run record opening to the last one closing (the rows themselves). Ratios are
against the sequential loop's rate of the same kind. This machine has 2 cores, shared by the
client, json-server and every worker: past 2 workers, more only overlap waiting.

    .venv/bin/python benchmarks/fleet_bench.py [--rows 200] [--workers 1 2 4]
        [--engines threads processes ray] [--delay MS | --ui] [--json FILE]

``local`` is what ``lam run`` chooses by default: threads for an API plan, worker processes
for a plan with UI steps (the guard proxy is one per process).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from realapps.apps import JsonServer, npm_missing, start_json_server  # noqa: E402
from servers import start_demo  # noqa: E402

import lam  # noqa: E402
from lam.fleet.batch import BatchOptions, run_batch  # noqa: E402
from lam.policy import default_policy  # noqa: E402
from lam.runtime.record import read_trace  # noqa: E402

PLAN = ROOT / "tests" / "realapps" / "plans" / "json_server_posts.yaml"
UI_PLAN = """\
lam: 1
name: fleet-bench-ui
description: Open the demo shop's sign-in page in Chromium and check it (--ui rows).
inputs:
  title: {type: string}
  new_title: {type: string}
apps:
  shop: {url: "http://127.0.0.1:8321/"}
steps:
  - id: open
    goto: shop:/login
    expect: {text: Log in}
"""


def _rows(folder: Path, label: str, count: int) -> tuple[Path, list[str]]:
    titles = [f"{label} row {n}" for n in range(1, count + 1)]
    path = folder / f"{label}.csv"
    path.write_text("title,new_title\n" + "".join(f"{t},{t}\n" for t in titles))
    return path, titles


def _span(runs: Path) -> tuple[float, int]:
    """Seconds from the first record's first event to the last record's last, and how many
    records ended ok."""
    first, last, ok = float("inf"), 0.0, 0
    for record in runs.iterdir():
        events = list(read_trace(record / "trace.jsonl"))
        first = min(first, float(events[0]["time"]))
        last = max(last, float(events[-1]["time"]))
        ok += events[-1].get("type") == "end" and events[-1].get("status") == "ok"
    return last - first, ok


@dataclass
class Target:
    """What every configuration runs: the plan, where its calls and pages go, and the check
    that each row did what it should, once."""

    plan: Path
    apis: dict[str, str] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)
    api: JsonServer | None = None  # json-server: every row's post is in its db.json once

    def check(self, titles: Sequence[str], ok: int) -> None:
        if ok != len(titles):
            raise SystemExit(f"fleet_bench: {len(titles) - ok} of {len(titles)} rows not ok")
        if self.api is None:
            return
        held = Counter(str(p["title"]) for p in json.loads(self.api.db.read_text())["posts"])
        wrong = [t for t in titles if held[t] != 1]
        if wrong:
            raise SystemExit(f"fleet_bench: {len(wrong)} rows not applied exactly once, e.g. "
                             f"{wrong[0]!r}: {held[wrong[0]]} times")  # fmt: skip


def sequential(target: Target, folder: Path, count: int) -> dict[str, Any]:
    """The baseline: one ``lam.run`` per row, one after another."""
    _, titles = _rows(folder, "sequential", count)
    runs = folder / "sequential-runs"
    started = time.perf_counter()
    for title in titles:
        result = lam.run(target.plan, apis=target.apis, apps=target.apps, runs_dir=runs,
                         inputs={"title": title, "new_title": title}, screenshots="failures")  # fmt: skip
        if result.exit_code != 0:
            raise SystemExit(f"fleet_bench: the sequential loop's row {title!r} failed")
    wall = time.perf_counter() - started
    span, ok = _span(runs)
    target.check(titles, ok)
    return {"engine": "sequential loop", "workers": 1, "rows": count, "ok": ok,
            "wall_s": wall, "span_s": span}  # fmt: skip


def batch(target: Target, folder: Path, engine: str, workers: int, count: int) -> dict[str, Any]:
    """One batch through the fleet driver, as ``lam run PLAN --inputs ROWS`` runs it."""
    label = f"{engine}-{workers}"
    rows, titles = _rows(folder, label, count)
    runs = folder / f"{label}-runs"
    options = BatchOptions(
        kind="run", path=target.plan, inputs=rows, policy=default_policy(), workers=workers,
        results=folder / f"{label}.results.jsonl", engine=engine,  # type: ignore[arg-type]
        apis=target.apis, apps=target.apps, runs_dir=runs,
    )  # fmt: skip
    started = time.perf_counter()
    result = run_batch(options, stream=io.StringIO())
    wall = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"fleet_bench: {label}: exit {result.exit_code}: {result.summary}")
    span, ok = _span(runs)
    target.check(titles, ok)
    return {"engine": engine, "workers": workers, "rows": count, "ok": ok,
            "wall_s": wall, "span_s": span}  # fmt: skip


@contextlib.contextmanager
def target_for(folder: Path, *, ui: bool, delay_ms: int) -> Iterator[Target]:
    if ui:
        plan = folder / "ui_plan.yaml"
        plan.write_text(UI_PLAN)
        with start_demo(folder) as demo:
            yield Target(plan, apps={"shop": demo.url})
        return
    db = folder / "db.json"
    db.write_text(json.dumps({"posts": []}))
    with start_json_server(db, delay_ms=delay_ms) as api:
        yield Target(PLAN, apis={"posts": api.url}, api=api)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=200, help="rows per configuration (200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--engines", nargs="+", default=["local", "ray"],
                        choices=["local", "threads", "processes", "ray"])  # fmt: skip
    parser.add_argument("--delay", type=int, default=0, metavar="MS",
                        help="json-server answers each request MS late (0): rows that wait")  # fmt: skip
    parser.add_argument("--ui", action="store_true", help="a one-step UI plan on the demo shop "
                        "instead (each row its own Chromium)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    missing = npm_missing("json-server")
    if missing:
        raise SystemExit(f"fleet_bench: {missing}")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory(prefix="lam-fleet-bench-") as temp:
        folder = Path(temp)
        os.environ["LAM_HOME"] = str(folder / "home")  # records and kill registry: ours
        os.environ["LAM_RUNTIME_DIR"] = str(folder / "registry")
        with target_for(folder, ui=args.ui, delay_ms=args.delay) as target:
            lam.run(target.plan, apis=target.apis, apps=target.apps, runs_dir=folder / "warm-up",
                    inputs={"title": "warm-up", "new_title": "warm-up"})  # imports, spec cache  # fmt: skip
            figures = [sequential(target, folder, args.rows)]
            for engine in args.engines:
                for workers in args.workers:
                    figures.append(batch(target, folder, engine, workers, args.rows))
                    print(f"  {engine} x{workers}: {figures[-1]['wall_s']:.1f} s", file=sys.stderr)
    base = figures[0]
    for figure in figures:
        figure["wall_rows_per_s"] = figure["rows"] / figure["wall_s"]
        figure["span_rows_per_s"] = figure["rows"] / figure["span_s"]
        figure["wall_ratio"] = base["wall_s"] / figure["wall_s"]
        figure["span_ratio"] = base["span_s"] / figure["span_s"]
    print(f"{'engine':<16} {'workers':>7} {'rows':>5} {'wall s':>7} {'rows/s':>7} {'x seq':>6}"
          f" {'span s':>7} {'rows/s':>7} {'x seq':>6}")  # fmt: skip
    for f in figures:
        print(f"{f['engine']:<16} {f['workers']:>7} {f['rows']:>5} {f['wall_s']:>7.1f} "
              f"{f['wall_rows_per_s']:>7.2f} {f['wall_ratio']:>6.2f} {f['span_s']:>7.1f} "
              f"{f['span_rows_per_s']:>7.2f} {f['span_ratio']:>6.2f}")  # fmt: skip
    plan = "ui (demo shop /login)" if args.ui else str(PLAN.relative_to(ROOT))
    report = {"cpus": os.cpu_count(), "plan": plan, "load": os.getloadavg(),
              "delay_ms": args.delay, "figures": figures}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
