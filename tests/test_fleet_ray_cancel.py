"""The Ray engine's last resort on a stop: rows whose records it cannot reach with a ``KILL``
file (no journal here, as on a cluster without a shared records folder) are stopped by
``ray.cancel``, which interrupts the task; the row's own kill switch then ends its run as
killed, with its record closed, while its request hangs on json-server (answers 20 s late)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from realapps.apps import JsonServer, json_server_over

from lam.fleet.job import RowJob, RowOutcome
from lam.fleet.ray_engine import RayEngine
from lam.fleet.rows import Row

pytestmark = pytest.mark.integration

PLAN = Path(__file__).parent / "realapps" / "plans" / "json_server_posts.yaml"


@pytest.fixture
def hanging_api(tmp_path: Path) -> Iterator[JsonServer]:
    # every answer 20 s late
    with json_server_over(tmp_path, {"posts": []}, delay_ms=20000) as server:
        yield server


def test_ray_cancel_ends_rows_the_kill_files_cannot_reach_as_killed(
    tmp_path: Path, hanging_api: JsonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "registry"))
    runs = tmp_path / "runs"
    job = RowJob(kind="run", path=str(PLAN), apis=(("posts", hanging_api.url),),
                 runs_dir=str(runs), journal=None)  # fmt: skip
    rows = [Row(n, n + 1, f"{n}-r", {"title": f"row {n}"}) for n in range(1, 5)]
    stop = threading.Event()
    outcomes: list[RowOutcome] = []
    stopped_at: list[float] = []

    def stop_once_both_rows_wait() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if runs.is_dir() and len(list(runs.iterdir())) >= 2:
                time.sleep(0.3)  # their first request is on its way
                stopped_at.append(time.monotonic())
                stop.set()
                return
            time.sleep(0.05)

    threading.Thread(target=stop_once_both_rows_wait, daemon=True).start()
    RayEngine(None).run(job, rows, 2, outcomes.append, stop)
    returned = time.monotonic()

    assert stopped_at, "the rows never started"
    assert returned - stopped_at[0] < 10  # drain 0.5 s, 2 s for KILL files, cancel, shutdown
    assert [o.status for o in outcomes] == ["killed", "killed"], outcomes
    assert {o.number for o in outcomes} == {1, 2}  # rows 3 and 4 never started
    for outcome in outcomes:
        assert "cancelled in flight by the kill switch" in str(outcome.error)
        trace = Path(str(outcome.record), "trace.jsonl").read_text().splitlines()
        assert json.loads(trace[-1])["type"] == "end"  # the record is closed, not cut off
        assert json.loads(trace[-1])["status"] == "killed"
    assert len(list(runs.iterdir())) == 2
