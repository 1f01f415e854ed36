"""Which policy is in force, and that nobody can plant one: discovery stops at the project
root or home, ignores files others could write, and every command says what it used."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lam.cli.main import main
from lam.policy_source import discover_policy
from lam.runtime.record import read_trace

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DELETE = EXAMPLES / "petstore_delete.yaml"  # `remove` is destructive: approve by default
PERMISSIVE = "defaults: {destructive: allow}\n"
DEFAULTS_LINE = "policy: built-in defaults (read and write allowed, destructive approve)"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory of the test's own, beside (not above) the folders it works in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def plant(folder: Path, text: str = PERMISSIVE) -> Path:
    (folder / ".lam").mkdir(parents=True, exist_ok=True)
    policy = folder / ".lam" / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    return policy


def validate(
    capsys: pytest.CaptureFixture[str], cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, Any], list[str]]:
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    code = main(["validate", "--json", str(DELETE)])
    out, err = capsys.readouterr()
    return code, json.loads(out), err.splitlines()


def verdict(document: dict[str, Any], step: str) -> str:
    return str(next(s["verdict"] for s in document["steps"] if s["id"] == step))


def test_a_policy_in_a_parent_folder_that_is_no_project_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    plant(shared)  # e.g. /tmp/.lam/policy.yaml, written by anyone
    code, document, err = validate(capsys, shared / "work", monkeypatch)
    assert code == 3 and verdict(document, "remove") == "approve"
    assert err == [DEFAULTS_LINE]
    assert document["policy"] == {"file": None, "sha256": None}
    # the same folder as a project root (it holds .git): now it is the project's policy
    (shared / ".git").mkdir()
    code, document, err = validate(capsys, shared / "work", monkeypatch)
    policy = shared / ".lam" / "policy.yaml"
    digest = hashlib.sha256(policy.read_bytes()).hexdigest()
    assert code == 0 and verdict(document, "remove") == "allow"
    assert err == [f"policy: {policy} (sha256 {digest[:16]})"]
    assert document["policy"] == {"file": str(policy), "sha256": digest}


def test_discovery_stops_at_pyproject_toml(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    plant(outer)
    (outer / ".git").mkdir()
    project = outer / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    found = discover_policy(project / "src")
    assert found.path is None and found.stopped_at == project
    inner = plant(project)
    assert discover_policy(project / "src").path == inner


def test_discovery_stops_at_the_home_directory(tmp_path: Path, _home: Path) -> None:
    plant(tmp_path)  # above home
    work = _home / "work"
    work.mkdir()
    assert discover_policy(work).path is None
    mine = plant(_home)
    assert discover_policy(work).path == mine


def test_a_policy_in_the_working_directory_itself_is_used_outside_any_project(
    tmp_path: Path,
) -> None:
    here = tmp_path / "scratch"
    policy = plant(here)
    assert discover_policy(here).path == policy
    (here / "deeper").mkdir()
    assert discover_policy(here / "deeper").path is None  # its parent is no project root


def test_a_group_writable_policy_is_ignored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    policy = plant(project)
    policy.chmod(0o664)
    code, document, err = validate(capsys, project, monkeypatch)
    assert code == 3 and verdict(document, "remove") == "approve"
    assert err == [
        f"lam: warning: ignoring {policy}: its file {policy} can be written by group or others "
        f"(chmod go-w {policy})",
        DEFAULTS_LINE,
    ]
    policy.chmod(0o644)
    (project / ".lam").chmod(0o777)  # a folder others can write: they can swap the file
    code, _, err = validate(capsys, project, monkeypatch)
    assert code == 3 and "can be written by group or others" in err[0]
    (project / ".lam").chmod(0o755)
    code, _, err = validate(capsys, project, monkeypatch)
    assert code == 0 and err == [f"policy: {policy} (sha256 {_sha(policy)[:16]})"]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_a_policy_owned_by_another_user_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    policy = plant(project)
    os.chown(policy, 65534, 65534)
    code, _, err = validate(capsys, project, monkeypatch)
    assert code == 3
    assert err[0].startswith(f"lam: warning: ignoring {policy}: its file {policy} belongs to")


def test_a_run_says_and_records_the_policy_it_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    policy = plant(project)
    monkeypatch.chdir(project)
    monkeypatch.setenv("PETSTORE_TOKEN", "token-for-the-sandbox")
    assert main(["dry-run", "--json", str(DELETE)]) == 0  # API steps only: nothing is sent
    out, err = capsys.readouterr()
    document = json.loads(out)
    identity = {"file": str(policy), "sha256": _sha(policy)}
    assert document["policy"] == identity
    assert f"policy: {policy} (sha256 {_sha(policy)[:16]})" in err.splitlines()
    plan_event = next(e for e in read_trace(Path(document["record"]) / "trace.jsonl")
                      if e["type"] == "plan")  # fmt: skip
    assert plan_event["policy"] == identity


def test_policy_show_prints_the_effective_policy_and_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    policy = plant(
        project,
        "defaults: {write: approve}\nhosts: ['*.example.com']\nrules:\n"
        "  - match: {method: DELETE, path: /admin/**}\n    verdict: deny\n    note: never\n",
    )
    monkeypatch.chdir(project)
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == f"policy: {policy} (sha256 {_sha(policy)[:16]}, found from the working directory)"
    )
    defaults = (
        "defaults: read allow (lam's default), write approve, destructive approve (lam's default)"
    )
    assert defaults in out
    assert "hosts: the plan's declared apis and apps, and *.example.com" in out
    assert "  rules[0] (method: DELETE, path: /admin/**): deny  # never" in out
    assert main(["policy", "show", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["source"] == {"file": str(policy), "sha256": _sha(policy), "origin": "project"}
    assert document["defaults"]["write"] == {"verdict": "approve", "set_by": "policy"}
    assert document["rules"][0]["match"] == {"method": "DELETE", "path": "/admin/**"}
    assert document["searched"] == f"from the working directory up to {project}"


def test_policy_show_without_a_policy_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(tmp_path)  # a parent that is no project: not looked at
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(DEFAULTS_LINE)
    assert f"in {work} only: no project root or home directory above it" in out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
