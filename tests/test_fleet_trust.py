"""What a resumed batch trusts, attacked against a real items API on 127.0.0.1 that logs every
request: a results line (or journal line) that hands a row another row's genuine, signed run
record, and a plan edited between two runs of a batch. What must hold: a row passes as done
only on a run record of that row, made with the plan as it is now; the server's own state and
request log show each row's effect once, made by one plan."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mission_apps import ItemsApp, items_server, write_spec, write_yaml

from lam.cli.main import main
from lam.fleet.job import RowJob, batch_digest, plan_digest, run_row
from lam.fleet.rows import read_rows
from lam.plans import load_plan

pytestmark = pytest.mark.integration

ADD: dict[str, Any] = {
    "lam": 1, "name": "add", "inputs": {"title": {"type": "string"}},
    "apis": {"items": {"spec": "items.openapi.yaml"}},
    "steps": [{"id": "make", "call": "items.createItem", "body": {"title": "$inputs.title"},
               "expect": {"status": 201}}],
}  # fmt: skip
WIPE: dict[str, Any] = {
    "lam": 1, "name": "wipe", "inputs": {"id": {"type": "integer"}},
    "apis": {"items": {"spec": "items.openapi.yaml"}},
    "steps": [{"id": "drop", "call": "items.deleteItem", "params": {"id": "$inputs.id"}}],
}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[ItemsApp]:
    with items_server() as app:
        yield app


@pytest.fixture
def items(server: ItemsApp, tmp_path: Path) -> ItemsApp:
    """The module's server, its state and log fresh for each test."""
    with server.lock:
        server.items = {n: {"id": n, "title": f"item {n}"} for n in range(1, 4)}
        server.hits.clear()
    write_spec(tmp_path, server.url)
    return server


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def append(path: Path, document: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(document) + "\n")


def posted(app: ItemsApp) -> list[str]:
    return sorted(str(i["title"]) for i in app.items.values() if i["id"] > 3)


@pytest.mark.parametrize("forge", ["ok-line", "killed-line", "journal-line"])
def test_another_rows_genuine_record_does_not_mark_a_row_done(
    tmp_path: Path, items: ItemsApp, forge: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows 1 and 2 ran (signed records that ended ok); row 3 is added and handed row 1's
    record: as its ``ok`` line, as a ``killed`` line (which a rerun settles from the record),
    or as its journal entry. The rerun must refuse, naming the line, and send nothing; once
    the line goes, row 3 runs and its item is created once."""
    plan = write_yaml(tmp_path / "add.yaml", ADD)
    rows = tmp_path / "rows.csv"
    rows.write_text("title\nt1\nt2\n")
    argv = ["run", str(plan), "--inputs", str(rows), "--engine", "threads",
            "--api", f"items={items.url}"]  # fmt: skip
    assert main(argv) == 0
    assert posted(items) == ["t1", "t2"]
    rows.write_text("title\nt1\nt2\nt3\n")
    key = read_rows(rows, load_plan(plan).inputs)[2].key
    out = tmp_path / "rows.results.jsonl"
    first = next(line for line in lines(out) if line["row"] == 1)
    stolen = {**first, "row": 3, "key": key}  # row 1's line, batch identity and all
    target = out
    if forge == "killed-line":
        stolen.update(status="killed", exit=4)
    if forge == "journal-line":
        target = tmp_path / "rows.results.jsonl.journal"
        stolen = {"row": 3, "key": key, "run_id": first["run_id"], "record": first["record"],
                  "pid": os.getpid(), "proc_start": None}  # fmt: skip
    append(target, stolen)
    number = len(target.read_text().splitlines())
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{target.name}:{number}" in err, err
    assert "row 1" in err and "delete this line" in err, err
    assert posted(items) == ["t1", "t2"]  # row 3 neither ran nor passed as done
    assert [h for h in items.hits if h[0] == "POST"] == [("POST", "/items")] * 2
    target.write_text("".join(f"{t}\n" for t in target.read_text().splitlines()[:-1]))
    assert main(argv) == 0  # as the message says: the line goes, the row runs
    capsys.readouterr()
    assert posted(items) == ["t1", "t2", "t3"]


def test_a_plan_edited_between_runs_of_a_batch_is_refused(
    tmp_path: Path, items: ItemsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    """Row 1 deletes its item, row 2 is held (the approval counted 1). The plan then gets a
    second step (a POST) that leaves the approved step's digest as it was: resuming must not
    run row 2 with the new plan while row 1 ran the old one. Restored, the batch resumes."""
    plan = write_yaml(tmp_path / "wipe.yaml", WIPE)
    loaded = load_plan(plan)
    digest = batch_digest(loaded, loaded.steps[0])
    rows = tmp_path / "rows.csv"
    rows.write_text("id\n1\n2\n")
    argv = ["run", str(plan), "--inputs", str(rows), "--engine", "threads",
            "--api", f"items={items.url}", "--approve", f"drop@{digest}"]  # fmt: skip
    assert main([*argv, "--max-approved", "1"]) == 3
    assert sorted(items.items) == [2, 3]
    edited = {**WIPE, "steps": [*WIPE["steps"], {
        "id": "mark", "call": "items.createItem", "body": {"title": "second plan"}}]}  # fmt: skip
    write_yaml(plan, edited)
    capsys.readouterr()
    assert main([*argv, "--max-approved", "2"]) == 2
    err = capsys.readouterr().err
    assert "rows.results.jsonl:1" in err and "the plan changed" in err, err
    assert "--results" in err and "restore" in err, err
    assert sorted(items.items) == [2, 3]  # nothing sent with the edited plan
    assert [h[0] for h in items.hits] == ["DELETE"]
    write_yaml(plan, WIPE)  # restored: the same bytes, the same digest
    assert main([*argv, "--max-approved", "2"]) == 0
    capsys.readouterr()
    assert sorted(items.items) == [3]
    assert [h[0] for h in items.hits] == ["DELETE", "DELETE"]
    out = tmp_path / "rows.results.jsonl"  # every line names the plan's digest
    assert all(line["batch"]["plan_sha256"] == plan_digest(plan) for line in lines(out))


def test_a_row_started_after_the_plan_changed_sends_nothing(
    tmp_path: Path, items: ItemsApp
) -> None:
    """The plan is edited while a batch runs: the next row to start finds another file than
    the batch checked and is refused as a usage error (which stops the batch) before its run
    begins; the server gets nothing."""
    plan = write_yaml(tmp_path / "add.yaml", ADD)
    row = read_rows(_csv(tmp_path, "title\nlate\n"), load_plan(plan).inputs)[0]
    job = RowJob(kind="run", path=str(plan), plan_sha256=plan_digest(plan),
                 apis=(("items", items.url),), runs_dir=str(tmp_path / "runs"))  # fmt: skip
    write_yaml(plan, {**ADD, "steps": [{**ADD["steps"][0], "body": {"title": "edited"}}]})
    outcome = run_row(job, row)
    assert outcome.exit_code == 2 and outcome.record is None, outcome
    assert "plan" in str(outcome.error) and "changed" in str(outcome.error)
    assert items.hits == []


def _csv(folder: Path, text: str) -> Path:
    path = folder / "one.csv"
    path.write_text(text)
    return path


IDENTITY = {"plan": "/p/add.yaml", "plan_sha256": "a" * 64, "kind": "run", "mode": "live"}


def _record(tmp_path: Path, bound: dict[str, Any] | None, *, ended: bool = True) -> str:
    """A real signed run record: its ``batch-row`` event (None: a plain ``lam run``'s), the
    plan event, an ``end`` ok (``ended=False``: left open, as a worker that died leaves it)."""
    from lam.runtime.record import RunRecord

    rec = RunRecord.create(tmp_path / "runs")
    if bound is not None:
        rec.event("batch-row", **bound)
    rec.event("plan", file=IDENTITY["plan"], name="add")
    if ended:
        rec.event("end", status="ok", exit_code=0)
        rec.close()
    return str(rec.directory)


def _bound(key: str = "3-k", **changed: Any) -> dict[str, Any]:
    return {"row": int(key.partition("-")[0]), "row_key": key, "kind": "run", "mode": "live",
            "plan_sha256": IDENTITY["plan_sha256"], **changed}  # fmt: skip


@pytest.mark.parametrize(
    ("bound", "status", "said"),
    [
        (_bound("1-k"), "ok", "it is row 1's run, key 1-k"),
        (None, "ok", "it is not the run of a row of a batch"),
        (_bound(plan_sha256="b" * 64), "ok", "its run had plan_sha256 bbbb"),
        (_bound(mode="dry-run"), "ok", "its run had mode dry-run, this batch live"),
        (_bound(plan_sha256="b" * 64), "killed", "restore the plan as it was"),
        (_bound("1-k"), "held", "delete this line"),
        (_bound(mode="dry-run"), "killed", "this batch live): delete this line"),
    ],
)  # fmt: skip
def test_a_line_is_refused_unless_its_record_is_its_rows_run_in_this_batch(
    tmp_path: Path, bound: dict[str, Any] | None, status: str, said: str
) -> None:
    """Row 3's line (its batch identity right) names a genuine, signed record that ended ok:
    of row 1, of no batch, of the plan before an edit, of a dry run. Each is refused, naming
    the line; the record of row 3 itself passes."""
    from lam.errors import UsageError
    from lam.fleet.results import check_batch

    out = tmp_path / "rows.results.jsonl"
    line = {"row": 3, "key": "3-k", "status": status, "exit": 0, "batch": IDENTITY}
    append(out, {**line, "record": _record(tmp_path, bound)})
    with pytest.raises(UsageError) as refused:
        check_batch(out, IDENTITY)
    assert refused.value.file == f"{out}:1" and said in refused.value.message
    out.write_text(json.dumps({**line, "record": _record(tmp_path, _bound())}) + "\n")
    check_batch(out, IDENTITY)  # its own record: no complaint


def test_a_line_naming_no_plan_digest_is_refused(tmp_path: Path) -> None:
    """A line without ``plan_sha256`` (an older lam's, or one stripped of it) cannot say which
    plan its row ran: refused, not taken as this plan's."""
    from lam.errors import UsageError
    from lam.fleet.results import check_batch

    out = tmp_path / "rows.results.jsonl"
    old = {k: v for k, v in IDENTITY.items() if k != "plan_sha256"}
    append(out, {"row": 1, "key": "1-k", "status": "failed", "exit": 1, "batch": old})
    with pytest.raises(UsageError, match="names no plan digest") as refused:
        check_batch(out, IDENTITY)
    assert refused.value.file == f"{out}:1"


def _rechain(record: str, key: str) -> None:
    """Rewrite the record's ``batch-row`` to name row ``key``, then re-hash and re-sign every
    event with a forger's own key (what whoever may write the records folder can do)."""
    from lam.evidence.chain import GENESIS, digest, event_message
    from lam.evidence.keys import OperatorKey

    forger = OperatorKey.generate()
    trace = Path(record, "trace.jsonl")
    prev, out = GENESIS, []
    for event in (json.loads(line) for line in trace.read_text().splitlines()):
        if event["type"] == "batch-row":
            event.update(row=3, row_key=key)
        event["prev"] = prev
        event["hash"] = prev = digest(event)
        event["sig"] = forger.sign(event_message(Path(record).name, event["hash"]))
        out.append(json.dumps(event) + "\n")
    trace.write_text("".join(out))


@pytest.mark.parametrize("status", ["ok", "killed"])
def test_a_record_rewritten_for_another_row_and_re_signed_is_refused(
    tmp_path: Path, status: str
) -> None:
    """Row 1's genuine record, its ``batch-row`` rewritten to say row 3 and the chain re-signed
    with another key: the rerun checks the signature against this machine's operator key."""
    from lam.errors import UsageError
    from lam.fleet.results import check_batch

    record = _record(tmp_path, _bound("1-k"))
    _rechain(record, "3-k")
    out = tmp_path / "rows.results.jsonl"
    append(out, {"row": 3, "key": "3-k", "status": status, "exit": 0, "batch": IDENTITY,
                 "record": record})  # fmt: skip
    with pytest.raises(UsageError, match="not signed by this machine's operator key"):
        check_batch(out, IDENTITY)


def test_a_killed_rows_record_with_a_torn_last_line_still_counts_as_its_own(
    tmp_path: Path,
) -> None:
    """A worker that died mid-line leaves a torn tail: the rest of its record is still its
    row's, signed, and the rerun settles the row from it."""
    from lam.fleet.results import check_batch

    record = _record(tmp_path, _bound(), ended=False)
    with Path(record, "trace.jsonl").open("a") as handle:
        handle.write('{"seq": 2, "type": "step-st')
    out = tmp_path / "rows.results.jsonl"
    append(out, {"row": 3, "key": "3-k", "status": "killed", "exit": 4, "batch": IDENTITY,
                 "record": record})  # fmt: skip
    check_batch(out, IDENTITY)
