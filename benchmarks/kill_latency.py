"""How long ``lam kill`` takes to end a run that is blocked mid-step.

Each round starts a real ``lam run`` process whose step is blocked — an API call to a server on
127.0.0.1 that holds the request 60 s, or a UI step waiting for an element that never appears —
then runs ``lam kill`` from another directory. Times are measured from the run's ``KILL`` file
(``lam kill`` writes it just before it sends SIGTERM) to the server seeing the connection drop
and to the record's ``end`` event; the baseline in the same run is the time a plain run of a
one-step plan takes from its ``plan`` event to its ``end`` event (the run's own set-up and
close, with no kill at all).

    .venv/bin/python benchmarks/kill_latency.py [--rounds 3] [--ui]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import serve_directory  # noqa: E402
from test_kill import api_plan, hanging_server, write_plan  # noqa: E402

from lam.runtime.record import read_trace  # noqa: E402


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return list(read_trace(run_dir / "trace.jsonl"))


def _start(plan: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lam", "run", str(plan), "--json", "--no-prompt"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _registered(folder: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entries = list(folder.glob("*.json")) if folder.is_dir() else []
        if entries:
            return dict(json.loads(entries[0].read_text()))
        time.sleep(0.01)
    raise RuntimeError("no run registered")


def _kill_and_time(
    proc: subprocess.Popen[str], runtime: Path, tmp: Path
) -> tuple[dict[str, float], float]:
    entry = _registered(runtime)
    run_dir = Path(entry["directory"])
    subprocess.run([sys.executable, "-m", "lam", "kill"], cwd=tmp, check=True,
                   capture_output=True)  # fmt: skip
    proc.communicate(timeout=30)
    assert proc.returncode == 4, proc.returncode
    pulled = (run_dir / "KILL").stat().st_mtime
    events = _events(run_dir)
    return {"end": events[-1]["time"] - pulled}, pulled


def _api_round(tmp: Path, runtime: Path) -> dict[str, float]:
    with hanging_server() as server:
        proc = _start(api_plan(tmp / "p", server.url), tmp)
        server.wait_for("request")
        times, pulled = _kill_and_time(proc, runtime, tmp)
        times["dropped"] = server.wait_for("disconnected")["time"] - pulled
    return times


def _ui_round(tmp: Path, runtime: Path) -> dict[str, float]:
    pages = tmp / "pages"
    pages.mkdir(exist_ok=True)
    (pages / "index.html").write_text("<p>No button here</p>")
    with serve_directory(pages) as url:
        steps = [{"id": "open", "goto": "site:/index.html"},
                 {"id": "stuck", "hover": {"role": "button", "name": "Never"}, "timeout": 120}]  # fmt: skip
        plan = write_plan(tmp / "u", {"apps": {"site": {"url": url}}, "steps": steps})
        proc = _start(plan, tmp)
        entry = _registered(runtime)
        trace = Path(entry["directory"]) / "trace.jsonl"
        while not any(e["type"] == "step-start" and e["step"] == "stuck"
                      for e in (read_trace(trace) if trace.exists() else [])):  # fmt: skip
            time.sleep(0.02)
        time.sleep(0.3)
        return _kill_and_time(proc, runtime, tmp)[0]


def _baseline(tmp: Path) -> float:
    """A plain one-step run (no kill): from its plan event to its end event."""
    with hanging_server() as server:
        plan = write_plan(tmp / "b", {
            "apis": {"q": {"spec": str(ROOT / "tests/data/specs/quirks.yaml"),
                           "base_url": server.url + "/api"}},
            "steps": [{"id": "ok", "call": "q.ok"}],
        })  # fmt: skip
        proc = _start(plan, tmp)
        out, _ = proc.communicate(timeout=60)
    events = _events(Path(json.loads(out)["record"]))
    start = next(e["time"] for e in events if e["type"] == "plan")
    return float(events[-1]["time"] - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ui", action="store_true", help="also a UI step (starts Chromium)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        runtime = tmp / "runtime"
        os.environ.update(LAM_HOME=str(tmp / "home"), LAM_RUNTIME_DIR=str(runtime),
                          LAM_CONFIG_DIR=str(tmp / "config"))  # fmt: skip
        base = _baseline(tmp)
        print(f"baseline: a one-step run from plan to end event: {base * 1000:.0f} ms")
        kinds = [("api", _api_round)] + ([("ui", _ui_round)] if args.ui else [])
        for kind, one_round in kinds:
            rounds = []
            for i in range(args.rounds):
                sub = tmp / f"{kind}{i}"
                sub.mkdir()
                rounds.append(one_round(sub, runtime))
            for key in rounds[0]:
                values = [r[key] for r in rounds]
                print(
                    f"{kind}: kill -> {key}: median {statistics.median(values) * 1000:.0f} ms, "
                    f"max {max(values) * 1000:.0f} ms ({max(values):.2f}x the 1 s bound; "
                    f"{statistics.median(values) / base:.2f}x the baseline)"
                )


if __name__ == "__main__":
    main()
