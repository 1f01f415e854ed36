"""``lam run PLAN --inputs ROWS --engine ray``: a batch on a local Ray instance against
json-server (npm) on 127.0.0.1, checked in the db.json json-server writes: every row's post
is there once, the results file has every row, a rerun skips what is done, ``lam kill`` stops
the batch and a rerun finishes it without a row's post twice. Ray is a test dependency
(scripts/setup.sh installs ``lam[ray]``): its absence fails here, never skips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray  # noqa: F401  (the engine's dependency: missing, this module fails to import)
from realapps.apps import JsonServer, json_server_over
from servers import free_port

from lam.cli.main import main

pytestmark = pytest.mark.integration

PLAN = Path(__file__).parent / "realapps" / "plans" / "json_server_posts.yaml"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Records and the kill registry of this test's own (``lam kill`` sees no one else's)."""
    monkeypatch.setenv("LAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "registry"))
    return tmp_path


@pytest.fixture
def api(tmp_path: Path) -> Iterator[JsonServer]:
    with json_server_over(tmp_path, {"posts": []}) as server:
        yield server


@pytest.fixture
def slow_api(tmp_path: Path) -> Iterator[JsonServer]:
    """json-server answering each request after 100 ms, so a batch is still going when it
    is killed."""
    with json_server_over(tmp_path, {"posts": []}, delay_ms=100) as server:
        yield server


def rows_file(folder: Path, count: int) -> Path:
    """``count`` rows; each row's post keeps its own title (``new_title`` = ``title``)."""
    path = folder / "rows.csv"
    lines = "".join(f"ray row {n},ray row {n}\n" for n in range(1, count + 1))
    path.write_text("title,new_title\n" + lines)
    return path


def titles(api: JsonServer) -> Counter[str]:
    return Counter(str(p["title"]) for p in api.items())


def results(path: Path) -> dict[str, dict[str, Any]]:
    """Each row's last line in the results file, by key."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {line["key"]: line for line in lines}


def batch_argv(rows: Path, api: JsonServer, results_file: Path) -> list[str]:
    return [
        "run", str(PLAN), "--inputs", str(rows), "--engine", "ray", "--workers", "2",
        "--api", f"posts={api.url}", "--results", str(results_file),
    ]  # fmt: skip


def test_a_batch_on_ray_applies_every_row_once_and_a_rerun_skips_them(
    isolated: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = rows_file(isolated, 20)
    results_file = isolated / "rows.results.jsonl"
    code = main([*batch_argv(rows, api, results_file), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert titles(api) == Counter({f"ray row {n}": 1 for n in range(1, 21)})
    lines = results(results_file)
    assert sorted(line["row"] for line in lines.values()) == list(range(1, 21))
    assert {line["status"] for line in lines.values()} == {"ok"}
    pids = set()
    for line in lines.values():  # each row its own run record, written where LAM_HOME says
        record = Path(line["record"])
        assert record.is_relative_to(isolated / "home" / "runs"), record
        trace = [json.loads(e) for e in (record / "trace.jsonl").read_text().splitlines()]
        assert trace[-1]["type"] == "end" and trace[-1]["status"] == "ok"
        assert (trace[0]["type"], trace[0]["row_key"]) == ("batch-row", line["key"])
        plan = next(e for e in trace if e["type"] == "plan")  # after the row's batch-row event
        assert line["outputs"]["check"]["title"] == plan["inputs"]["title"]
    journal = results_file.with_name(results_file.name + ".journal")
    pids = {json.loads(line)["pid"] for line in journal.read_text().splitlines()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # Ray's worker processes, not ours

    code = main([*batch_argv(rows, api, results_file), "--json"])  # resume: nothing left
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert titles(api) == Counter({f"ray row {n}": 1 for n in range(1, 21)})
    assert len(results_file.read_text().splitlines()) == 20  # no row ran again


def test_lam_kill_stops_a_ray_batch_and_a_rerun_finishes_it_without_a_post_twice(
    isolated: Path, slow_api: JsonServer
) -> None:
    rows = rows_file(isolated, 30)
    results_file = isolated / "rows.results.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    batch = subprocess.Popen(
        [sys.executable, "-m", "lam", *batch_argv(rows, slow_api, results_file)],
        cwd=isolated, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and batch.poll() is None:
            if results_file.exists() and len(results_file.read_text().splitlines()) >= 4:
                break
            time.sleep(0.05)
        assert batch.poll() is None, batch.communicate()
        killed_at = time.monotonic()
        kill = subprocess.run(
            [sys.executable, "-m", "lam", "kill"], cwd=isolated, env=env,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        _out, err = batch.communicate(timeout=30)
        stopped_in = time.monotonic() - killed_at
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 4, (kill.stdout, kill.stderr, err)
    assert stopped_in < 10, stopped_in  # Ray's own shutdown is ~1.5 s of it
    first = results(results_file)
    assert 4 <= len(first) < 30, err
    # (a killed row whose write was answered is said as incomplete at once: lam.fleet.batch)
    assert {line["status"] for line in first.values()} <= {
        "ok",
        "killed",
        "unknown",
        "incomplete",
    }, first
    assert max(titles(slow_api).values()) == 1

    code = main(batch_argv(rows, slow_api, results_file))
    last = results(results_file)
    assert sorted(line["row"] for line in last.values()) == list(range(1, 31))
    done = Counter(line["status"] for line in last.values())
    assert set(done) <= {"ok", "unknown", "incomplete"}, done
    assert code == (0 if set(done) == {"ok"} else 1)
    posts = titles(slow_api)
    assert max(posts.values()) == 1, posts  # no row's post was sent twice
    for line in last.values():
        title = f"ray row {line['row']}"
        if line["status"] == "ok":  # a row cut mid-request may or may not have its post
            assert posts[title] == 1, line
    assert done["ok"] >= 28, done  # only the rows in flight (2 workers) when it was killed


def test_an_address_nobody_answers_on_is_one_line_before_any_row_runs(
    isolated: Path, api: JsonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = rows_file(isolated, 3)
    results_file = isolated / "rows.results.jsonl"
    started = time.monotonic()
    code = main([*batch_argv(rows, api, results_file), "--address", f"127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert time.monotonic() - started < 15
    assert any("--address 127.0.0.1:" in line and "no Ray cluster answers there" in line
               for line in err), err  # fmt: skip
    assert "Traceback" not in "\n".join(err)
    assert titles(api) == Counter()


def test_ray_address_in_the_environment_is_the_cluster_to_join(
    isolated: Path, api: JsonServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")  # nobody there
    code = main(batch_argv(rows_file(isolated, 3), api, isolated / "rows.results.jsonl"))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "RAY_ADDRESS=127.0.0.1:" in err and "no Ray cluster answers there" in err
    assert titles(api) == Counter()


def test_without_ray_installed_the_batch_says_how_to_install_it(
    isolated: Path, api: JsonServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    rows = rows_file(isolated, 3)
    code = main(batch_argv(rows, api, isolated / "rows.results.jsonl"))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "pip install 'lam[ray]'" in err and "Traceback" not in err
    assert titles(api) == Counter()
