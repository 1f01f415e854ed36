"""lam run PLAN --inputs ROWS against a real API (json-server, whose db.json is its state):
every row's effect lands exactly once, also when the batch is killed halfway and resumed;
a rerun skips rows done; counted approvals hold across workers and reruns; exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from realapps.apps import JsonServer, json_server_over

from lam.cli.main import main

pytestmark = pytest.mark.integration

SPEC = Path(__file__).parent / "realapps" / "json_server.yaml"
ADD = f"""\
lam: 1
name: fleet_add
inputs:
  title: {{type: string, minLength: 1}}
apis:
  posts:
    spec: {SPEC}
steps:
  - id: add
    call: posts.createPost
    body: {{title: $inputs.title, author: fleet}}
    expect: {{status: 201}}
    outputs: {{id: $response.body#/id}}
"""
REMOVE = f"""\
lam: 1
name: fleet_remove
inputs:
  post: {{type: integer, minimum: 1}}
apis:
  posts:
    spec: {SPEC}
steps:
  - id: show
    call: posts.getPost
    params: {{id: $inputs.post}}
    expect: {{status: 200}}
  - id: remove
    call: posts.deletePost
    params: {{id: $inputs.post}}
    expect: {{status: 200}}
"""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[JsonServer]:
    with json_server_over(tmp_path, {"posts": [{"id": n, "title": f"seed {n}"} for n in range(1, 7)]}) as server:
        yield server


def titles(api: JsonServer) -> Counter[str]:
    return Counter(p["title"] for p in api.items())


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rows_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("title\n" + "".join(f"row {n}\n" for n in range(1, count + 1)))
    return path


def test_200_rows_each_applied_exactly_once(
    tmp_path: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 200)
    argv = ["run", str(plan), "--inputs", str(rows), "--workers", "2", "--api", f"posts={api.url}"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    out = tmp_path / "rows.results.jsonl"
    assert f"results in {out}" in err
    assert "rows 200/200: 200 ok, 0 failed, 0 held" in err
    made = titles(api)
    assert all(made[f"row {n}"] == 1 for n in range(1, 201)), made.most_common(3)
    lines = results(out)
    assert sorted(line["row"] for line in lines) == list(range(1, 201))
    assert {line["status"] for line in lines} == {"ok"}
    by_row = {line["row"]: line for line in lines}
    created = {p["title"]: p["id"] for p in api.items()}
    assert by_row[17]["outputs"] == {"add": {"id": created["row 17"]}}  # the row's own outputs
    assert Path(by_row[17]["record"], "trace.jsonl").is_file()  # each row its own record

    # the same results file again: every row is done, nothing is sent
    assert main(argv) == 0
    assert "200 rows (200 done earlier, skipped)" in capsys.readouterr().err
    assert sum(titles(api).values()) == 206
    assert len(results(out)) == 200


def test_killed_halfway_then_resumed_still_exactly_once(tmp_path: Path, api: JsonServer) -> None:
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 200)
    out = tmp_path / "rows.results.jsonl"
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows),
            "--workers", "2", "--engine", "processes", "--api", f"posts={api.url}"]  # fmt: skip
    batch = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.read_text().count("\n") < 100) and batch.poll() is None:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.02)
        from lam.runtime.registry import live_runs

        batch_id = next(e.run_id for e in live_runs() if e.run_id.startswith("batch-"))
        killed_at = time.monotonic()
        assert main(["kill", batch_id]) == 0  # lam kill waits until the batch has ended
        stopped = time.monotonic() - killed_at
        _, err = batch.communicate(timeout=10)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 4, err
    print(f"stopped in {stopped:.2f} s")
    assert stopped < 3.0, stopped  # drain 0.5 s, then the rows' kill switches
    text = out.read_text()
    assert text.endswith("\n")  # whole lines only
    first = results(out)
    assert 100 <= len(first) < 200, len(first)
    assert "exit 4" in err and "not run" in err
    assert max(titles(api).values()) == 1  # nothing twice so far

    rerun = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({len({line['key'] for line in first})} done earlier, skipped)" in rerun.stderr
    made = titles(api)
    missing = [n for n in range(1, 201) if made[f"row {n}"] != 1]
    assert not missing, (missing, made.most_common(3))
    final = {line["row"]: line["status"] for line in results(out)}
    assert final == dict.fromkeys(range(1, 201), "ok")


def test_counted_approvals_hold_across_workers_and_reruns(
    tmp_path: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from lam.fleet.job import batch_digest
    from lam.plans import load_plan

    plan = tmp_path / "remove.yaml"
    plan.write_text(REMOVE)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"post": n}) + "\n" for n in range(1, 7)))
    loaded = load_plan(plan)
    digest = batch_digest(loaded, loaded.step("remove"))
    base = ["run", str(plan), "--inputs", str(rows), "--workers", "3", "--engine", "threads",
            "--api", f"posts={api.url}"]  # fmt: skip

    assert main(base) == 3  # no approval: every row held, nothing deleted
    err = capsys.readouterr().err
    assert f"6 row(s) held at step 'remove': run again with --approve remove@{digest}" in err
    assert sum(titles(api).values()) == 6

    approve = ["--approve", f"remove@{digest}", "--max-approved"]
    assert main([*base, *approve, "4"]) == 3  # 4 rows run the step, 2 stay held
    left = sorted(p["id"] for p in api.items())
    assert len(left) == 2, left
    out = results(tmp_path / "rows.results.jsonl")
    assert sum(f"remove@{digest}" in line["used"] for line in out) == 4

    assert main([*base, *approve, "4"]) == 3  # the count goes on from the results file
    assert len(api.items()) == 2
    assert main([*base, *approve, "6"]) == 0  # two more allowed: the last two rows
    assert api.items() == []
    capsys.readouterr()


def test_exit_1_when_a_row_fails_and_the_failure_is_in_its_line(
    tmp_path: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "remove.yaml"
    plan.write_text(
        REMOVE.replace(
            "  - id: remove\n    call: posts.deletePost\n    params: {id: $inputs.post}\n    expect: {status: 200}\n",
            "",
        )
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("post\n1\n99\n2\n")
    argv = ["run", str(plan), "--inputs", str(rows), "--engine", "threads",
            "--results", str(tmp_path / "out" / "r.jsonl"), "--api", f"posts={api.url}"]  # fmt: skip
    assert main(argv) == 1
    capsys.readouterr()
    lines = {line["row"]: line for line in results(tmp_path / "out" / "r.jsonl")}
    assert [lines[n]["status"] for n in (1, 2, 3)] == ["ok", "failed", "ok"]
    assert lines[2]["exit"] == 1 and "404" in lines[2]["error"]
    assert main(argv) == 1  # failed rows are done: not run again
    assert len(results(tmp_path / "out" / "r.jsonl")) == 3


def test_sigterm_to_the_driver_stops_worker_threads_with_exit_4(
    tmp_path: Path, api: JsonServer
) -> None:
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 200)
    out = tmp_path / "rows.results.jsonl"
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows),
            "--engine", "threads", "--workers", "2", "--api", f"posts={api.url}"]  # fmt: skip
    batch = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.read_text().count("\n") < 20) and batch.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(batch.pid, signal.SIGTERM)
        assert batch.wait(timeout=5) == 4
    finally:
        if batch.poll() is None:
            batch.kill()
    done = results(out)
    assert 20 <= len(done) < 200
    assert max(titles(api).values()) == 1


def test_driver_killed_hard_rows_in_flight_settled_from_their_records(
    tmp_path: Path, api: JsonServer
) -> None:
    """SIGKILL: no drain, no last lines. The rows in flight finish in their workers (which then
    stop), their outcomes are lost; the rerun reads their run records instead of running them."""
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 120)
    out = tmp_path / "rows.results.jsonl"
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows),
            "--workers", "2", "--engine", "processes", "--api", f"posts={api.url}"]  # fmt: skip
    batch = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.read_text().count("\n") < 40) and batch.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(timeout=5)
        deadline = time.monotonic() + 10
        while True:  # the workers (and the fork server) notice and end
            try:
                os.killpg(batch.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "workers outlived their driver"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    lines = {line["key"]: line for line in results(out)}
    journal = [json.loads(x) for x in Path(f"{out}.journal").read_text().splitlines()]
    lost = {e["key"]: e for e in journal if e["key"] not in lines}
    assert max(titles(api).values()) == 1

    rerun = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    made = titles(api)
    assert [n for n in range(1, 121) if made[f"row {n}"] != 1] == []
    final = {line["key"]: line for line in results(out)}
    assert {line["status"] for line in final.values()} == {"ok"} and len(final) == 120
    for key, entry in lost.items():  # a lost row whose record ended ok kept that run
        trace = Path(entry["record"], "trace.jsonl").read_text()
        if '"type": "end"' in trace:
            assert final[key]["run_id"] == entry["run_id"]


class _Hanging(BaseHTTPRequestHandler):
    """Takes a POST and never answers it (until the test ends): the write may or may not
    have happened, as far as the client can tell."""

    seen: ClassVar[list[str]] = []
    release = threading.Event()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.seen.append(self.rfile.read(length).decode())
        self.release.wait(30)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_write_sent_and_never_answered_is_unknown_and_never_sent_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 1)
    out = tmp_path / "rows.results.jsonl"
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows),
            "--api", f"posts={url}"]  # fmt: skip
    try:
        batch = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not _Hanging.seen:
            assert time.monotonic() < deadline and batch.poll() is None
            time.sleep(0.02)
        from lam.runtime.registry import live_runs

        batch_id = next(e.run_id for e in live_runs() if e.run_id.startswith("batch-"))
        assert main(["kill", batch_id]) == 0
        _, err = batch.communicate(timeout=10)
        assert batch.returncode == 4, err
        line = results(out)[-1]
        assert line["status"] == "unknown", line
        assert "'add' was sent and never answered" in line["error"]
        assert "row 1 unknown" in err

        rerun = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 1, rerun.stderr
        assert "(1 done earlier, skipped)" in rerun.stderr
        assert len(_Hanging.seen) == 1  # never sent twice
    finally:
        _Hanging.release.set()
        server.shutdown()
    capsys.readouterr()


def test_a_results_file_belongs_to_one_batch(
    tmp_path: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "add.yaml"
    plan.write_text(ADD)
    rows = rows_file(tmp_path, 3)
    tail = ["--inputs", str(rows), "--engine", "threads", "--api", f"posts={api.url}"]
    assert main(["dry-run", str(plan), *tail]) == 0  # the sandbox: nothing reaches json-server
    assert sum(titles(api).values()) == 6
    assert (tmp_path / "rows.dry-run.results.jsonl").read_text().count("\n") == 3
    assert main(["run", str(plan), *tail]) == 0  # its own file: no row passes as done
    assert sum(titles(api).values()) == 9
    other = tmp_path / "other.yaml"
    other.write_text(ADD)
    capsys.readouterr()
    assert main(["run", str(other), *tail, "--results", str(tmp_path / "rows.results.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"rows.results.jsonl:1: this results file is another batch's (plan {plan})" in err
    assert sum(titles(api).values()) == 9
