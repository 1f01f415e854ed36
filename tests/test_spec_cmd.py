"""``lam spec check`` and ``lam spec ops`` through the real command line entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lam.spec.loader
from lam.cli.main import main

PETSTORE = Path(__file__).resolve().parent.parent / "specs" / "petstore.yaml"
DATA = Path(__file__).resolve().parent / "data" / "specs"


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})


def test_check_clean_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "check", str(PETSTORE)]) == 0
    assert capsys.readouterr().out.strip().endswith(": valid")


def test_check_problems_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {version: '1'}\npaths: {}\n")
    assert main(["spec", "check", str(spec), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["problems"][0]["location"] == "info"
    assert "title" in report["problems"][0]["message"]


def test_check_unloadable_spec_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "check", str(DATA / "cycle.yaml")]) == 1
    out = capsys.readouterr().out
    assert "cycle" in out and "1 problem in" in out


def test_check_missing_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "check", "no/such/spec.yaml"]) == 2
    assert "no/such/spec.yaml: spec not found" in capsys.readouterr().err


def test_ops_lists_operations_with_risk(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lam.risk")
    assert main(["spec", "ops", str(PETSTORE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["operationId"]: r for r in report["operations"]}
    assert len(rows) == 18
    assert rows["getPetById"]["method"] == "GET"
    assert rows["getPetById"]["path"] == "/pet/{petId}"
    assert rows["getPetById"]["risk"] == "read"
    assert rows["deletePet"]["risk"] == "destructive"
    assert all(r["reasons"] for r in rows.values())


def test_ops_table(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lam.risk")
    assert main(["spec", "ops", str(PETSTORE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"lam petstore ({PETSTORE}): 18 operations"
    assert lines[1].split() == ["METHOD", "PATH", "OPERATION", "RISK", "REASONS"]
    delete = next(line for line in lines if "deletePet" in line)
    assert delete.split()[:4] == ["DELETE", "/pet/{petId}", "deletePet", "destructive"]


def test_ops_bad_spec_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "ops", str(DATA / "missing_ref.yaml")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"lam: {DATA / 'missing_ref.yaml'}: #/paths/")
    assert "\n" not in err
