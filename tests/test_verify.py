"""``lam verify``: a real run's record, tampered with in each way an attacker would, is caught
with a message naming what broke (exit 1); an untouched one verifies (exit 0).

Runs are real: API plans against the demo shop, and one UI plan in Chromium for screenshots.
The operator key and the ledger live in the test's own ``LAM_CONFIG_DIR`` (conftest).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.evidence.chain import GENESIS, digest, event_message
from lam.evidence.keys import OperatorKey, load_operator_key
from lam.report import render_report
from lam.runtime.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")
AUTH = {"Authorization": "Bearer {$steps.login.outputs.token}"}
LOGIN = {
    "id": "login",
    "call": "shop.login",
    "body": {"username": "admin", "password": "admin-pass"},
    "outputs": {"token": "$response.body#/token"},
}
browser = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")


# -- making real runs ----------------------------------------------------------------------


def runs(home: Path) -> list[Path]:
    return sorted((home / "runs").glob("*"))


def new_run(home: Path, before: list[Path]) -> Path:
    """The one run folder that appeared (ids made in the same second do not sort by time)."""
    (made,) = set(runs(home)) - set(before)
    return made


def api_run(demo: DemoServer, tmp: Path, *, mode: str = "run") -> Path:
    """A live (or dry) run of login, list, add: exit 0."""
    steps = [
        LOGIN,
        {"id": "list", "call": "shop.listPets", "params": AUTH},
        {"id": "add", "call": "shop.createPet", "params": AUTH,
         "body": {"name": "Biscuit", "species": "dog", "status": "available"}},
    ]  # fmt: skip
    plan = {"lam": 1, "name": "t", "apis": {"shop": {"spec": DEMO_SPEC, "base_url": demo.api}},
            "steps": steps}  # fmt: skip
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    before = runs(tmp / "lam-home")
    assert main([mode, str(path)]) == 0
    return new_run(tmp / "lam-home", before)


def blocked_run(demo: DemoServer, tmp: Path) -> Path:
    """A run the guard stopped mid-way (exit 3): a path parameter that would turn an allowed
    delete into another operation."""
    policy = tmp / "policy.yaml"
    policy.write_text("rules:\n  - match: {api: shop, operation: deletePet}\n    verdict: allow\n")
    steps = [LOGIN, {"id": "remove", "call": "shop.deletePet",
                     "params": {**AUTH, "petId": "$inputs.pet"}}]  # fmt: skip
    plan = {"lam": 1, "name": "t", "apis": {"shop": {"spec": DEMO_SPEC, "base_url": demo.api}},
            "inputs": {"pet": {}}, "steps": steps}  # fmt: skip
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    argv = ["run", str(path), "--policy", str(policy), "--input", "pet=1/../../orders/1"]
    assert main(argv) == 3
    return runs(tmp / "lam-home")[-1]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def ui_run(shop: DemoServer, tmp: Path) -> Path:
    """A UI run in Chromium: four steps, four screenshots."""
    steps = [
        {"id": "open_login", "goto": "shop:/login"},
        {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
        {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
        {"id": "login", "click": {"role": "button", "name": "Log in"}},
    ]
    plan = {"lam": 1, "name": "ui", "apps": {"shop": {"url": "http://127.0.0.1:8321/",
            "api": "shop"}}, "apis": {"shop": {"spec": DEMO_SPEC}}, "steps": steps}  # fmt: skip
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    argv = ["run", str(path), "--app", f"shop={shop.url}/", "--api", f"shop={shop.api}"]
    assert main(argv) == 0
    run_dir = runs(tmp / "lam-home")[-1]
    assert len(list((run_dir / "screenshots").glob("*.png"))) == 4
    return run_dir


# -- reading the verdict -------------------------------------------------------------------


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # what the run printed
    code = main(["verify", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def problems(capsys: pytest.CaptureFixture[str], run_dir: Path) -> str:
    """The problems ``lam verify RUN`` names; it must exit 1."""
    code, result = verify(capsys, str(run_dir))
    assert code == 1, result
    assert result["ok"] is False and result["runs"][0]["status"] == "broken"
    return "; ".join(result["runs"][0]["problems"])


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines()]


def write_events(run_dir: Path, events: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(e) + "\n" for e in events)
    (run_dir / "trace.jsonl").write_text(text)


def old_unkeyed_rechain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attack of issue 10: recompute the plain SHA-256 chain lam used to write."""
    prev = GENESIS
    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k not in ("hash", "sig")}
        event["prev"] = prev
        body = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str).encode()
        event["hash"] = hashlib.sha256(body).hexdigest()
        prev = event["hash"]
        out.append(event)
    return out


def resign(events: list[dict[str, Any]], key: OperatorKey, run_id: str) -> list[dict[str, Any]]:
    """Re-chain and re-sign with ``key``, as someone holding a key would."""
    prev = GENESIS
    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k not in ("hash", "sig")}
        if "count" in event:
            event["count"] = len(events)
            event["key"] = key.key_id
        event["prev"] = prev
        event["hash"] = digest(event)
        event["sig"] = key.sign(event_message(run_id, event["hash"]))
        prev = event["hash"]
        out.append(event)
    return out


def ledger_path(tmp: Path) -> Path:
    return tmp / "lam-config" / "ledger.jsonl"


# -- intact runs ---------------------------------------------------------------------------


@pytest.mark.integration
def test_a_live_run_and_a_dry_run_verify_intact(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = api_run(demo, tmp_path)
    dry = api_run(demo, tmp_path, mode="dry-run")
    capsys.readouterr()
    for run_dir in (live, dry):
        code, result = verify(capsys, str(run_dir))
        assert code == 0, result
        verdict = result["runs"][0]
        assert verdict["status"] == "intact" and verdict["problems"] == []
        assert verdict["key_id"] == load_operator_key().key_id
    events = read_events(dry)
    assert events[-1]["type"] == "end" and events[-1]["count"] == len(events)
    assert all(isinstance(e["sig"], str) for e in events)
    code, result = verify(capsys, "--all")
    assert code == 0 and [r["status"] for r in result["runs"]] == ["intact", "intact"]
    assert main(["verify", dry.name]) == 0
    assert capsys.readouterr().out.startswith(f"{dry.name}: intact: {len(events)} events")


# -- tampering with the trace --------------------------------------------------------------


@pytest.mark.integration
def test_a_line_deleted_in_the_middle_is_named(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    events = read_events(run_dir)
    write_events(run_dir, events[:4] + events[5:])
    said = problems(capsys, run_dir)
    assert "trace.jsonl line 5 does not follow line 4" in said


@pytest.mark.integration
def test_a_truncated_trace_is_caught_by_the_ledger(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    events = read_events(run_dir)
    write_events(run_dir, events[:-3])  # a clean prefix: its chain and signatures still hold
    said = problems(capsys, run_dir)
    assert f"truncated: the ledger says the run ended with {len(events)} events" in said
    assert f"the trace has {len(events) - 3} and no end" in said


@pytest.mark.integration
def test_a_blocked_run_rewritten_as_ok_with_the_old_unkeyed_chain_is_caught(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = blocked_run(demo, tmp_path)
    capsys.readouterr()
    assert verify(capsys, str(run_dir))[0] == 0  # untouched, it verifies
    events = read_events(run_dir)
    assert events[-1]["status"] == "blocked"
    for event in events:  # the forgery of issue 10
        if event["type"] == "step" and event["step"] == "remove":
            event.update(status="ok", error=None, summary="approved at the interactive prompt")
        if event["type"] == "end":
            event.update(status="ok", error=None, exit_code=0)
    write_events(run_dir, old_unkeyed_rechain(events))
    said = problems(capsys, run_dir)
    assert "trace.jsonl line 1 is not signed" in said
    assert "re-chained with the old unkeyed scheme" in said
    assert "the ledger says the run ended" in said  # the head no longer matches either


@pytest.mark.integration
def test_a_rechain_that_keeps_the_old_signatures_is_caught(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    events = read_events(run_dir)
    events[3]["summary"] = "nothing happened"
    prev = events[2]["hash"]
    for event in events[3:]:  # the new digest rule, followed exactly, but no key
        event["prev"] = prev
        event["hash"] = digest(event)
        prev = event["hash"]
    write_events(run_dir, events)
    said = problems(capsys, run_dir)
    assert "trace.jsonl line 4 has a signature that does not match it" in said


@pytest.mark.integration
def test_a_record_resigned_with_another_key_is_caught(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    forger = OperatorKey.generate()
    events = read_events(run_dir)
    events[-1]["status"] = "ok-and-approved"
    write_events(run_dir, resign(events, forger, run_dir.name))
    said = problems(capsys, run_dir)
    operator = load_operator_key().key_id
    assert f"signed with key {forger.key_id}, not the trusted key {operator}" in said
    assert "re-signed with another key" in said


@pytest.mark.integration
def test_a_record_from_before_signing_does_not_verify(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    events = [{k: v for k, v in e.items() if k not in ("count", "key", "run")}
              for e in read_events(run_dir)]  # fmt: skip
    write_events(run_dir, old_unkeyed_rechain(events))
    assert "line 1 is not signed (a record from before signing" in problems(capsys, run_dir)


# -- tampering with the files a record names -----------------------------------------------


@pytest.mark.integration
@pytest.mark.browser
@browser
def test_a_swapped_screenshot_is_named(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = ui_run(shop, tmp_path)
    capsys.readouterr()
    assert verify(capsys, str(run_dir))[0] == 0
    first, second = sorted((run_dir / "screenshots").glob("*.png"))[:2]
    shutil.copyfile(second, first)  # a real picture of this run, in the wrong place
    said = problems(capsys, run_dir)
    assert f"screenshots/{first.name} (hashed at line" in said and "changed or swapped" in said


@pytest.mark.integration
@pytest.mark.browser
@browser
def test_a_deleted_screenshot_is_named(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = ui_run(shop, tmp_path)
    shot = sorted((run_dir / "screenshots").glob("*.png"))[-1]
    shot.unlink()
    capsys.readouterr()
    said = problems(capsys, run_dir)
    assert f"screenshots/{shot.name} (hashed at line" in said and "is missing" in said


@pytest.mark.integration
@pytest.mark.browser
@browser
def test_a_screenshot_replaced_by_a_symlink_is_refused_by_verify_and_report(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("SECRET-OUTSIDE-THE-RUN")
    run_dir = ui_run(shop, tmp_path)
    shot = sorted((run_dir / "screenshots").glob("*.png"))[0]
    shot.unlink()
    shot.symlink_to(secret)
    capsys.readouterr()
    said = problems(capsys, run_dir)
    assert f"'screenshots/{shot.name}' goes through a symbolic link" in said
    html = render_report(run_dir)
    assert "SECRET-OUTSIDE-THE-RUN" not in html
    import base64

    assert base64.b64encode(b"SECRET-OUTSIDE-THE-RUN").decode()[:16] not in html
    assert "screenshot refused" in html and "broken" in html


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("../../../../../../../../etc/hostname", "climbs out of the run folder"),
        ("/etc/hostname", "is an absolute path"),
        ("screenshots/../../other-run/x.png", "climbs out of the run folder"),
    ],
)
def test_a_path_outside_the_run_is_refused_even_in_a_signed_record(
    name: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Signed by the operator key itself (a bug, or the key's holder): only the path check
    # stands between the record and the file.
    record = RunRecord.create(tmp_path / "lam-home" / "runs")
    record.event("verdicts", steps=[{"id": "open", "kind": "ui", "risk": "read",
                                     "verdict": "allow"}])  # fmt: skip
    record.event("step", step="open", status="ok", summary="goto", seconds=0.1, screenshot=name)
    record.event("end", status="ok", error=None, exit_code=0)
    record.close()
    text = problems(capsys, record.directory)
    assert "line 2 names a file outside the run" in text and said in text
    html = render_report(record.directory)
    assert "screenshot refused" in html
    hostname = Path("/etc/hostname").read_bytes() if Path("/etc/hostname").exists() else b""
    import base64

    if hostname.strip():
        assert base64.b64encode(hostname).decode() not in html
    assert main(["report", str(record.directory), "--verify"]) == 1


# -- deleting runs, tampering with the ledger ----------------------------------------------


@pytest.mark.integration
def test_a_deleted_run_is_named_by_verify_all(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = api_run(demo, tmp_path)
    gone = api_run(demo, tmp_path)
    shutil.rmtree(gone)
    capsys.readouterr()
    code, result = verify(capsys, "--all")
    assert code == 1
    by_run = {r["run"]: r for r in result["runs"]}
    assert by_run[kept.name]["status"] == "intact"
    assert by_run[gone.name]["status"] == "broken"
    assert "deleted: the ledger (line 3) has run" in by_run[gone.name]["problems"][0]
    code, result = verify(capsys, gone.name)
    assert code == 1 and "the folder is gone" in result["runs"][0]["problems"][0]


@pytest.mark.integration
def test_an_edited_ledger_line_is_named(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    path = ledger_path(tmp_path)
    lines = path.read_text().splitlines()
    end = json.loads(lines[1])
    end["events"] -= 2  # as if the run had ended two events earlier
    lines[1] = json.dumps(end)
    path.write_text("\n".join(lines) + "\n")
    said = problems(capsys, run_dir)
    assert f"ledger {path} line 2 was changed after it was written" in said


@pytest.mark.integration
def test_a_ledger_rechained_without_the_key_is_caught(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    path = ledger_path(tmp_path)
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    entries[1]["events"] -= 2
    entries[1]["hash"] = digest(entries[1])
    write_ledger = "".join(json.dumps(e) + "\n" for e in entries)
    path.write_text(write_ledger)
    said = problems(capsys, run_dir)
    assert f"ledger {path} line 2 is not signed by the trusted key" in said


@pytest.mark.integration
def test_deleted_ledger_lines_are_caught(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = api_run(demo, tmp_path)
    second = api_run(demo, tmp_path)
    path = ledger_path(tmp_path)
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    path.write_text("\n".join(lines[:3]) + "\n")  # the second run's end entry
    said = problems(capsys, second)
    assert f"the ledger has no end entry for run {second.name}" in said
    path.write_text("\n".join(lines[1:]) + "\n")  # the first run's start entry
    said = problems(capsys, first)
    assert f"ledger {path} line 1 does not follow line 0" in said
    path.write_text("\n".join(lines[:2]) + "\n")  # the second run's start and end
    said = problems(capsys, second)
    assert f"missing from the ledger {path} (no start entry for run {second.name})" in said


@pytest.mark.integration
def test_a_run_the_ledger_never_saw_is_missing(
    demo: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = api_run(demo, tmp_path)
    ledger_path(tmp_path).unlink()
    said = problems(capsys, run_dir)
    assert "missing from the ledger" in said and "no start entry" in said


# -- runs in progress and runs cut short ---------------------------------------------------


def test_a_run_in_progress_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = RunRecord.create(tmp_path / "lam-home" / "runs")
    record.event("plan", name="p")
    code, result = verify(capsys, str(record.directory))
    assert code == 0 and result["runs"][0]["status"] == "in-progress"
    assert f"process {os.getpid()} is alive" in result["runs"][0]["notes"][0]
    record.close()
    code, result = verify(capsys, str(record.directory))
    assert code == 0 and result["runs"][0]["status"] == "intact"  # sealed at close


def test_a_run_whose_process_died_before_its_end_is_unfinished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = (
        "import os, sys; from pathlib import Path; from lam.runtime.record import RunRecord\n"
        "r = RunRecord.create(Path(sys.argv[1])); r.event('plan', name='p')\n"
        "r.event('step-start', step='a'); print(r.directory, flush=True); os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 9, done.stderr
    run_dir = Path(done.stdout.strip())
    said = problems(capsys, run_dir)
    assert "truncated or unfinished: the trace stops after 2 events with no end" in said


def test_no_event_follows_the_seal(tmp_path: Path) -> None:
    record = RunRecord.create(tmp_path / "runs")
    record.event("end", status="ok")
    with pytest.raises(RuntimeError, match="sealed"):
        record.event("step", step="late")
    record.close()


def test_report_shows_a_record_with_a_garbled_line_as_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = RunRecord.create(tmp_path / "lam-home" / "runs")
    record.event("plan", name="garbled")
    record.event("step", step="open", status="ok", summary="goto")
    record.event("end", status="ok", error=None, exit_code=0)
    lines = record.trace_path.read_text().splitlines()
    lines[1] = '{"type": "step", "step": ["not", "a", "string"'
    record.trace_path.write_text("\n".join(lines) + "\n")
    html = render_report(record.directory)  # no traceback: the rest of the record still shows
    assert "garbled" in html and "trace.jsonl line 2 is not JSON" in html
    assert main(["report", str(record.directory), "--verify"]) == 1
    assert "broken: trace.jsonl line 2 is not JSON" in capsys.readouterr().out
