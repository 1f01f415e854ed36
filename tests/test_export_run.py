"""``lam export-run RUN -o FILE`` and ``lam verify FILE``: a run carried to another machine
(another config folder, no operator key there) verifies with the key inside the file, or
with a pinned ``--key``; a tampered export does not."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import DemoServer

from lam.cli.main import main
from lam.evidence.keys import OperatorKey, load_operator_key

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = str(ROOT / "specs" / "demo.yaml")

pytestmark = pytest.mark.integration


def make_export(demo: DemoServer, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A real run against the demo shop (with effects.json, a dry run), exported."""
    steps = [
        {"id": "login", "call": "shop.login",
         "body": {"username": "admin", "password": "admin-pass"},
         "outputs": {"token": "$response.body#/token"}},
        {"id": "list", "call": "shop.listPets",
         "params": {"Authorization": "Bearer {$steps.login.outputs.token}"}},
    ]  # fmt: skip
    plan = {"lam": 1, "name": "t", "apis": {"shop": {"spec": DEMO_SPEC, "base_url": demo.api}},
            "steps": steps}  # fmt: skip
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["dry-run", str(path)]) == 0
    out = tmp / "run.lamrun"
    assert main(["export-run", "last", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    return out


def elsewhere(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another machine: its own empty config folder and runs folder."""
    monkeypatch.setenv("LAM_CONFIG_DIR", str(tmp / "other-config"))
    monkeypatch.setenv("LAM_HOME", str(tmp / "other-home"))


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["verify", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_export_verifies_on_another_machine_with_the_key_it_carries(
    demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bundle = make_export(demo, tmp_path, capsys)
    operator = load_operator_key()
    document = json.loads(bundle.read_text())
    assert document["public_key"] == operator.public.text
    assert {"trace.jsonl", "effects.json"} <= set(document["files"])
    assert [e["type"] for e in document["ledger"]] == ["start", "end"]
    elsewhere(tmp_path, monkeypatch)
    code, result = verify(capsys, str(bundle))
    verdict = result["runs"][0]
    assert code == 0 and verdict["status"] == "intact", verdict
    assert f"trusting key {operator.key_id} carried by" in verdict["notes"][0]
    code, result = verify(capsys, str(bundle), "--key", operator.public.text)
    assert code == 0 and "trusting the pinned key" in result["runs"][0]["notes"][0]
    assert not (tmp_path / "other-config" / "operator.key").exists()


def test_an_export_checked_against_another_pinned_key_fails(
    demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bundle = make_export(demo, tmp_path, capsys)
    elsewhere(tmp_path, monkeypatch)
    other = OperatorKey.generate()
    code, result = verify(capsys, str(bundle), "--key", other.public.text)
    assert code == 1
    said = "; ".join(result["runs"][0]["problems"])
    assert f"not the trusted key {other.key_id} (re-signed with another key)" in said


def test_a_forged_export_signed_by_a_forger_fails_once_the_key_is_pinned(
    demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bundle = make_export(demo, tmp_path, capsys)
    operator = load_operator_key()
    document = json.loads(bundle.read_text())
    forger = OperatorKey.generate()
    document["public_key"] = forger.public.text  # the forger swaps in their own key
    bundle.write_text(json.dumps(document))
    elsewhere(tmp_path, monkeypatch)
    code, result = verify(capsys, str(bundle))
    assert code == 1  # the events are signed by the operator, not by the key it now carries
    assert "signed with key" in result["runs"][0]["problems"][0]
    code, _ = verify(capsys, str(bundle), "--key", operator.public.text)
    assert code == 0  # pinned to the real key, the untouched events still verify


def test_a_file_changed_inside_an_export_is_named(
    demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bundle = make_export(demo, tmp_path, capsys)
    document = json.loads(bundle.read_text())
    document["files"]["effects.json"] = base64.b64encode(b"[]").decode()
    bundle.write_text(json.dumps(document))
    elsewhere(tmp_path, monkeypatch)
    code, result = verify(capsys, str(bundle))
    assert code == 1
    assert "effects.json (hashed at line" in result["runs"][0]["problems"][0]


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/escape.txt"])
def test_an_export_naming_a_file_outside_its_run_is_refused(
    name: str, demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bundle = make_export(demo, tmp_path, capsys)
    document = json.loads(bundle.read_text())
    document["files"][name] = base64.b64encode(b"planted").decode()
    bundle.write_text(json.dumps(document))
    elsewhere(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(["verify", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert f"files: {name!r}" in err  # refused before anything is written


def test_a_file_that_is_not_an_export_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    assert main(["verify", str(junk)]) == 2
    assert "not a run bundle" in capsys.readouterr().err
