"""Red-team attacks on batches (``lam run PLAN --inputs ROWS``) against a real items API on
127.0.0.1 that logs every request: hostile row values, a column named like an option, counted
approvals under parallel workers and reruns, and a results file an attacker edited. What must
hold: nothing a row or the results file says approves a step or lets more than N rows run a
step approved for N."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mission_apps import ItemsApp, items_server, logging_server, write_spec, write_yaml
from processes import alive, descendants

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.fleet.job import batch_digest, plan_digest
from lam.fleet.rows import read_rows
from lam.plans import load_plan
from lam.runtime.registry import live_runs

pytestmark = pytest.mark.integration

WIPE: dict[str, Any] = {
    "lam": 1, "name": "wipe",
    "inputs": {"id": {"type": "integer"}, "note": {"type": "string", "default": ""}},
    "apis": {"items": {"spec": "items.openapi.yaml"}},
    "steps": [{"id": "drop", "call": "items.deleteItem", "params": {"id": "$inputs.id"}}],
}  # fmt: skip


@pytest.fixture
def items(tmp_path: Path) -> Iterator[ItemsApp]:
    with items_server() as app:
        app.items = {n: {"id": n, "title": f"item {n}"} for n in range(1, 9)}
        write_spec(tmp_path, app.url)
        yield app


def deletes(app: ItemsApp) -> list[str]:
    return [path for method, path in app.hits if method == "DELETE"]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def this_batch(plan: Path) -> dict[str, Any]:
    """The ``batch`` a line of this plan's live batch names (anyone can compute it)."""
    return {"plan": str(plan.resolve()), "plan_sha256": plan_digest(plan), "kind": "run",
            "mode": "live"}  # fmt: skip


def setup(tmp_path: Path, app: ItemsApp, csv: str) -> tuple[list[str], str]:
    plan = write_yaml(tmp_path / "wipe.yaml", WIPE)
    rows = tmp_path / "rows.csv"
    rows.write_text(csv)
    loaded = load_plan(plan)
    digest = batch_digest(loaded, loaded.steps[0])
    argv = ["run", str(plan), "--inputs", str(rows), "--engine", "threads",
            "--api", f"items={app.url}"]  # fmt: skip
    return argv, digest


def test_row_values_that_look_like_approvals_approve_nothing(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_yaml(tmp_path / "wipe.yaml", WIPE)
    loaded = load_plan(plan)
    digest = batch_digest(loaded, loaded.steps[0])
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": 1, "note": f"--approve drop@{digest} --max-approved 99"},
        {"id": 2, "note": f"drop@{digest}"},
        {"id": 3, "note": "approved: true\npolicy: {default: allow}\n\x1b[2J"},
    ]))  # fmt: skip
    argv = ["run", str(plan), "--inputs", str(rows), "--workers", "2", "--engine", "threads",
            "--api", f"items={items.url}"]  # fmt: skip
    assert main(argv) == 3  # every row held at its DELETE
    capsys.readouterr()
    assert deletes(items) == []
    assert set(items.items) == set(range(1, 9))
    out = lines(tmp_path / "rows.results.jsonl")
    assert {line["status"] for line in out} == {"held"}
    assert all(line["used"] == [] for line in out)


@pytest.mark.parametrize("column", ["--approve", "approve", "max_approved", "policy"])
def test_a_column_named_like_an_option_is_refused_before_any_row(
    tmp_path: Path, items: ItemsApp, column: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, _ = setup(tmp_path, items, f"id,{column}\n1,drop@x\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert column in err and "rows.csv:1" in err
    assert items.hits == [] and not (tmp_path / "rows.results.jsonl").exists()


def test_counted_approval_holds_under_four_workers_and_reruns(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, digest = setup(tmp_path, items, "id\n" + "".join(f"{n}\n" for n in range(1, 9)))
    approve = [*argv, "--workers", "4", "--approve", f"drop@{digest}", "--max-approved", "3"]
    assert main(approve) == 3
    assert len(deletes(items)) == 3
    assert main(approve) == 3  # the count goes on from the results file
    assert main([*argv, "--workers", "4", "--approve", f"drop@{digest}",
                 "--max-approved", "3"]) == 3  # fmt: skip
    assert len(deletes(items)) == 3
    capsys.readouterr()
    # the same approval for a plan edited since (another digest) is refused before any row
    other = {**WIPE, "steps": [{**WIPE["steps"][0], "params": {"id": 1}}]}
    write_yaml(tmp_path / "wipe.yaml", other)
    assert main(approve) in (2, 3)
    assert len(deletes(items)) == 3


def test_an_edited_results_file_cannot_reset_the_count(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker who can write the results file drops the ``used`` of the rows that ran the
    approved step: the count must still come from what the rows' run records say."""
    argv, digest = setup(tmp_path, items, "id\n" + "".join(f"{n}\n" for n in range(1, 7)))
    approve = [*argv, "--workers", "2", "--approve", f"drop@{digest}", "--max-approved", "2"]
    assert main(approve) == 3
    assert len(deletes(items)) == 2
    out = tmp_path / "rows.results.jsonl"
    forged = [{**line, "used": []} for line in lines(out)]
    out.write_text("".join(json.dumps(line) + "\n" for line in forged))
    main(approve)
    capsys.readouterr()
    assert len(deletes(items)) == 2, deletes(items)


def test_a_forged_done_line_for_a_row_that_never_ran(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line saying row 2 is ``ok`` with no run record behind it: resume must not take it as
    done (the row's effect would silently never happen)."""
    argv, digest = setup(tmp_path, items, "id\n1\n2\n")
    approve = [*argv, "--approve", f"drop@{digest}", "--max-approved", "5"]
    key = read_rows(tmp_path / "rows.csv", load_plan(tmp_path / "wipe.yaml").inputs)[1].key
    identity = this_batch(tmp_path / "wipe.yaml")
    forged = {"row": 2, "key": key, "status": "ok", "exit": 0, "outputs": {}, "run_id": "run-x",
              "record": None, "error": None, "used": [], "held": [], "seconds": 0.1,
              "batch": identity}  # fmt: skip
    (tmp_path / "rows.results.jsonl").write_text(json.dumps(forged) + "\n")
    assert main(approve) == 2  # refused, naming the line; nothing runs
    err = capsys.readouterr().err
    assert "rows.results.jsonl:1" in err and "row 2 is said to be ok" in err
    assert deletes(items) == []
    (tmp_path / "rows.results.jsonl").unlink()  # as the message says: the line goes, both run
    assert main(approve) == 0
    assert sorted(deletes(items)) == ["/items/1", "/items/2"]
    # a real record of another row, pasted into row 2's line after it ran: still refused
    out = lines(tmp_path / "rows.results.jsonl")
    by_row = {line["row"]: line for line in out}
    held_line = {**by_row[2], "status": "ok", "record": str(tmp_path / "nowhere")}
    with (tmp_path / "rows.results.jsonl").open("a") as handle:
        handle.write(json.dumps(held_line) + "\n")
    assert main(approve) == 2
    capsys.readouterr()


def test_a_results_file_from_another_plan_is_refused(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, digest = setup(tmp_path, items, "id\n1\n")
    other = write_yaml(tmp_path / "other.yaml", {**WIPE, "name": "other"})
    approve = ["--approve", f"drop@{digest}", "--max-approved", "5"]
    assert main(["run", str(other), "--inputs", str(tmp_path / "rows.csv"), "--engine",
                 "threads", "--api", f"items={items.url}", *approve]) == 0  # fmt: skip
    assert deletes(items) == ["/items/1"]
    items.items[1] = {"id": 1, "title": "back"}
    # the same results file for this plan: the other plan's "done" must not count here
    assert main([*argv, *approve]) == 2
    assert "another batch's" in capsys.readouterr().err
    assert deletes(items) == ["/items/1"]


def test_two_identical_rows_are_two_rows(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same values twice: two keys, two runs; a rerun runs neither again, and the count of
    an approval counts both."""
    argv, digest = setup(tmp_path, items, "id\n4\n4\n5\n")
    approve = [*argv, "--workers", "2", "--approve", f"drop@{digest}", "--max-approved", "2"]
    assert main(approve) == 3
    out = lines(tmp_path / "rows.results.jsonl")
    assert len({line["key"] for line in out}) == 3
    assert sorted(line["status"] for line in out) == ["held", "ok", "ok"]
    assert main(approve) == 3
    capsys.readouterr()
    assert deletes(items) == ["/items/4", "/items/4"]


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_row_values_pointing_the_browser_at_another_host_reach_nothing(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """A UI plan opens ``site:{$inputs.path}`` and then ``$inputs.link``: rows whose values
    aim at a second loopback server (a protocol-relative path, a backslash, a full URL, an
    ``@`` for userinfo) fail their own row; that server gets no request at all."""
    with logging_server() as (bystander, other):
        host = other.removeprefix("http://")
        plan = write_yaml(tmp_path / "visit.yaml", {
            "lam": 1, "name": "visit",
            "inputs": {"path": {"type": "string"},
                       "link": {"type": "string", "default": items.url + "/pages/items/1"}},
            "apps": {"site": {"url": items.url + "/"}},
            "steps": [{"id": "open", "goto": "site:{$inputs.path}"},
                      {"id": "follow", "goto": "$inputs.link"}],
        })  # fmt: skip
        rows = tmp_path / "rows.jsonl"
        hostile = [f"//{host}/steal", f"/\\{host}/steal", f"@{host}/steal"]
        values = [{"path": "/pages/items/1"}, *({"path": p} for p in hostile),
                  {"path": "/pages/items/2", "link": f"{other}/steal"},
                  {"path": "/pages/items/2", "link": f"http://user@{host}/steal"}]  # fmt: skip
        rows.write_text("".join(json.dumps(v) + "\n" for v in values))
        code = main(["run", str(plan), "--inputs", str(rows), "--workers", "2",
                     "--app", f"site={items.url}/"])  # fmt: skip
        capsys.readouterr()
        assert code in (1, 3)
        out = {line["row"]: line["status"] for line in lines(tmp_path / "rows.results.jsonl")}
        assert out[1] == "ok"
        assert out[5] != "ok" and out[6] != "ok"
        assert bystander.hits == []


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_lam_kill_of_a_batch_leaves_no_process_and_no_torn_line(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """UI rows in worker processes, each with its browser, stuck on a page that never loads:
    ``lam kill BATCH`` ends the driver, and within 2 s every process it started (workers,
    browsers and their helpers) is gone; the results file and journal are whole lines."""
    plan = write_yaml(tmp_path / "page.yaml", {
        "lam": 1, "name": "page", "inputs": {"n": {"type": "integer"}},
        "apps": {"site": {"url": items.url + "/"}},
        "steps": [{"id": "open", "goto": "site:/slow", "timeout": 60}],
    })  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_text("n\n1\n2\n3\n4\n")
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows), "--workers",
            "2", "--engine", "processes", "--app", f"site={items.url}/"]  # fmt: skip
    driver = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        seen: dict[int, str] = {}
        while time.monotonic() < deadline:
            seen.update(descendants(driver.pid))
            if items.hits.count(("GET", "/slow")) >= 2:
                break
            assert driver.poll() is None, driver.stderr.read() if driver.stderr else ""
            time.sleep(0.05)
        seen.update(descendants(driver.pid))
        assert sum("chrom" in c for c in seen.values()) >= 2, seen
        batch_id = next(e.run_id for e in live_runs() if e.run_id.startswith("batch-"))
        assert main(["kill", batch_id]) == 0
        capsys.readouterr()
        driver.wait(timeout=10)
        until = time.monotonic() + 2.0
        while time.monotonic() < until and [p for p in seen if alive(p)]:
            time.sleep(0.05)
        left = {p: c for p, c in seen.items() if alive(p)}
    finally:
        if driver.poll() is None:
            driver.kill()
    assert left == {}, left
    assert driver.returncode == 4
    for file in (tmp_path / "rows.results.jsonl", tmp_path / "rows.results.jsonl.journal"):
        text = file.read_text()
        assert text.endswith("\n")
        assert all(json.loads(line)["key"] for line in text.splitlines())


def test_counted_approval_holds_across_a_kill_and_a_resume(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three workers, the approved DELETE first, then a read that hangs: the batch is killed
    while three rows hang after their DELETE. The rerun must not hand the approval out again
    (the three rows are ``incomplete``, counted), nor run the DELETE twice."""
    plan = write_yaml(tmp_path / "wipe.yaml", {**WIPE, "steps": [
        *WIPE["steps"], {"id": "wait", "call": "items.slowRead", "timeout": 60}]})  # fmt: skip
    loaded = load_plan(plan)
    digest = batch_digest(loaded, loaded.steps[0])
    rows = tmp_path / "rows.csv"
    rows.write_text("id\n" + "".join(f"{n}\n" for n in range(1, 9)))
    argv = [sys.executable, "-m", "lam", "run", str(plan), "--inputs", str(rows), "--workers",
            "3", "--engine", "threads", "--api", f"items={items.url}",
            "--approve", f"drop@{digest}", "--max-approved", "3"]  # fmt: skip
    driver = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while items.hits.count(("GET", "/slow")) < 3:
            assert time.monotonic() < deadline and driver.poll() is None
            time.sleep(0.05)
        batch_id = next(e.run_id for e in live_runs() if e.run_id.startswith("batch-"))
        assert main(["kill", batch_id]) == 0
        driver.wait(timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 4
    assert len(deletes(items)) == 3
    items.slow_seconds = 0.0  # the reads answer now
    rerun = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    capsys.readouterr()
    assert rerun.returncode in (1, 3), rerun.stderr
    assert len(deletes(items)) == 3, deletes(items)  # none twice, none beyond the count
    last = {line["row"]: line for line in lines(tmp_path / "rows.results.jsonl")}
    assert sum(bool(line["used"]) for line in last.values()) == 3
    assert {last[n]["status"] for n in last if last[n]["used"]} == {"incomplete"}


@pytest.mark.parametrize("forge", ["strip-batch", "claim-this-batch"])
def test_another_plans_results_file_relabelled_is_refused(
    tmp_path: Path, items: ItemsApp, forge: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another plan's batch ran these rows (real records that ended ok); its results file is
    given to this plan's batch with the ``batch`` field stripped, or rewritten to name this
    batch: the rows must not pass as done here."""
    argv, digest = setup(tmp_path, items, "id\n1\n")
    other = write_yaml(tmp_path / "other.yaml", {
        **WIPE, "name": "other",
        "steps": [{"id": "drop", "call": "items.getItem", "params": {"id": "$inputs.id"}}]})  # fmt: skip
    out = tmp_path / "rows.results.jsonl"
    assert main(["run", str(other), "--inputs", str(tmp_path / "rows.csv"), "--engine",
                 "threads", "--api", f"items={items.url}"]) == 0  # fmt: skip
    identity = this_batch(tmp_path / "wipe.yaml")
    forged = []
    for line in lines(out):
        if forge == "strip-batch":
            line.pop("batch")
        else:
            line["batch"] = identity
        forged.append(line)
    out.write_text("".join(json.dumps(line) + "\n" for line in forged))
    capsys.readouterr()
    code = main([*argv, "--approve", f"drop@{digest}", "--max-approved", "5"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "rows.results.jsonl:1" in err
    assert deletes(items) == []


@pytest.mark.parametrize(
    "flag", ["drop", "drop:destructive", "drop@", "drop@ROWDIGEST", "drop@*", "*@DIGEST"]
)
def test_a_counted_approval_must_name_the_steps_batch_digest(
    tmp_path: Path, items: ItemsApp, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No blanket or guessed approval for a batch: without the step's batch digest (a bare
    step, a risk, a wildcard, a row's own digest) the batch stops before any row runs."""
    argv, digest = setup(tmp_path, items, "id\n1\n2\n")
    from lam.plans import step_digest

    loaded = load_plan(tmp_path / "wipe.yaml")
    row = step_digest(loaded, loaded.steps[0], {"id": 1, "note": ""})
    flag = flag.replace("ROWDIGEST", row).replace("DIGEST", digest)
    code = main([*argv, "--approve", flag, "--max-approved", "5"])
    capsys.readouterr()
    assert code in (2, 3)
    assert deletes(items) == [] and not (tmp_path / "rows.results.jsonl").exists()


def test_expression_text_in_a_row_is_sent_as_text(
    tmp_path: Path, items: ItemsApp, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A cell written as expressions (a secret, another input) reaches the server as that
    text; the secret never does."""
    monkeypatch.setenv("LAM_TEST_SECRET", "hunter2-row-secret")
    plan = write_yaml(tmp_path / "add.yaml", {
        "lam": 1, "name": "add", "inputs": {"title": {"type": "string"}},
        "apis": {"items": {"spec": "items.openapi.yaml"}},
        "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "$inputs.title"},
                   "expect": {"status": 201}}],
    })  # fmt: skip
    texts = ["$secrets.LAM_TEST_SECRET", "{$secrets.LAM_TEST_SECRET}", "$inputs.title",
             "${{ secrets.LAM_TEST_SECRET }}"]  # fmt: skip
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"title": t}) + "\n" for t in texts))
    argv = ["run", str(plan), "--inputs", str(rows), "--engine", "threads",
            "--api", f"items={items.url}"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    titles = sorted(i["title"] for i in items.items.values() if i["id"] > 8)
    assert titles == sorted(texts)
    assert "hunter2-row-secret" not in json.dumps(items.items)
