"""The operator key and the ledger: owner-only files outside every run folder, created once;
concurrent runs append whole, chained lines; a damaged ledger stops new runs from starting."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lam.cli.main import main
from lam.evidence.chain import GENESIS, digest
from lam.evidence.keys import EvidenceError, load_operator_key, parse_public_key
from lam.evidence.ledger import Ledger
from lam.runtime.record import REDACTED, RunRecord

APPEND = """
import sys
from pathlib import Path
from lam.evidence.notary import Notary
notary = Notary.default()
for i in range(int(sys.argv[1])):
    notary.started(f"{sys.argv[2]}-{i}", Path("/nonexistent") / sys.argv[2])
"""


def config(tmp_path: Path) -> Path:
    return tmp_path / "lam-config"


def test_the_key_is_created_once_owner_only_and_outside_the_run(tmp_path: Path) -> None:
    record = RunRecord.create(tmp_path / "lam-home" / "runs")
    record.close()
    key_file = config(tmp_path) / "operator.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config(tmp_path).stat().st_mode) == 0o700
    assert stat.S_IMODE((config(tmp_path) / "ledger.jsonl").stat().st_mode) == 0o600
    assert not any(record.directory.rglob("*.key"))
    assert b"PRIVATE KEY" not in b"".join(
        p.read_bytes() for p in record.directory.rglob("*") if p.is_file()
    )
    first = load_operator_key().key_id
    RunRecord.create(tmp_path / "lam-home" / "runs").close()
    assert load_operator_key().key_id == first  # the same key, not a new one per run


def test_key_show_prints_the_public_key_and_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["key", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    key = load_operator_key()
    assert shown["key_id"] == key.key_id and len(key.key_id) == 16
    assert parse_public_key(shown["public_key"]) == key.public
    assert shown["private_key_file"] == str(config(tmp_path) / "operator.key")
    assert main(["key", "show"]) == 0
    out = capsys.readouterr().out
    assert f"key id:      {key.key_id}" in out and "PRIVATE" not in out


def test_a_key_others_can_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = load_operator_key()
    assert key.path is not None
    os.chmod(key.path, 0o644)
    with pytest.raises(EvidenceError, match="may be read or written by others"):
        load_operator_key()
    assert main(["key", "show"]) == 1
    assert "chmod 600" in capsys.readouterr().err


def test_verify_without_a_key_does_not_create_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--all"]) == 1
    assert "no operator key at" in capsys.readouterr().err
    assert not (config(tmp_path) / "operator.key").exists()


def test_concurrent_runs_append_whole_chained_lines(tmp_path: Path) -> None:
    load_operator_key()  # created once, before the writers race
    env = {**os.environ}
    procs = [
        subprocess.Popen([sys.executable, "-c", APPEND, "40", f"w{n}"], env=env) for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    lines = (config(tmp_path) / "ledger.jsonl").read_text().splitlines()
    assert len(lines) == 160
    prev = GENESIS
    for number, line in enumerate(lines):
        entry = json.loads(line)
        assert entry["seq"] == number and entry["prev"] == prev and entry["hash"] == digest(entry)
        prev = entry["hash"]
    checked = Ledger().check(load_operator_key().public)
    assert checked.ok, checked.problem
    assert len(checked.starts) == 160


def test_a_torn_ledger_stops_a_new_run_from_starting(tmp_path: Path) -> None:
    RunRecord.create(tmp_path / "runs").close()
    ledger = config(tmp_path) / "ledger.jsonl"
    with ledger.open("a") as handle:
        handle.write('{"seq": 2, "ty')
    with pytest.raises(EvidenceError, match="ends in a torn line"):
        RunRecord.create(tmp_path / "runs")
    assert main(["verify", "--all"]) == 1


def test_a_screenshot_no_writer_handed_over_is_hashed_at_the_seal(tmp_path: Path) -> None:
    record = RunRecord.create(tmp_path / "runs")
    shot = record.screenshots / "01-open.png"
    shot.write_bytes(b"\x89PNG not really")
    record.event("step", step="open", status="ok", screenshot="screenshots/01-open.png")
    record.event("end", status="ok")
    events = [json.loads(line) for line in record.trace_path.read_text().splitlines()]
    assert [e["type"] for e in events] == ["step", "file", "end"]
    assert events[1]["path"] == "screenshots/01-open.png" and events[1]["bytes"] == 15
    assert events[2]["count"] == 3


def test_anti_forgery_tokens_are_redacted_like_credentials(tmp_path: Path) -> None:
    """A dry run's held form bodies carried Django's csrfmiddlewaretoken into the record."""
    record = RunRecord.create(tmp_path / "runs")
    body = {
        "csrfmiddlewaretoken": "abc123secret",
        "authenticity_token": "rails-token",
        "X-XSRF-TOKEN": "angular-token",
        "first_name": "Carol",
    }
    assert record.redact({"body": body}) == {
        "body": {
            "csrfmiddlewaretoken": REDACTED,
            "authenticity_token": REDACTED,
            "X-XSRF-TOKEN": REDACTED,
            "first_name": "Carol",
        }
    }
    record.close()
