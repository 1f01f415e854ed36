"""A stock Django admin (Django from PyPI, its own login, list, change, add, bulk-action and
delete pages, untouched) driven by lam as a new user would: ``lam validate``, ``lam dry-run``,
``lam run``, ``lam replay`` and ``lam do``. Outcomes are read from the app's own SQLite
database, not from lam's output alone.

One Django server serves the module (reset to admin, alice, bob and carol before each test);
each lam command starts its own Chromium, as a user's would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import lam
from lam.adapters.browser import find_chromium
from lam.cli.main import main

from .apps import DjangoAdmin

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

PLANS = Path(__file__).parent / "plans"
PASSWORD = "admin-pass"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_PASSWORD", PASSWORD)


def lam_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    # (Screenshots of failed or blocked steps only: the suite's time goes to the apps.)
    shots = ["--screenshots", "failures"] if argv[0] in ("run", "dry-run", "replay") else []
    code = main([*argv, *shots, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def said(result: dict[str, Any]) -> str:
    """What went wrong, short: the error and each step's status (for assertion messages)."""
    steps = [f"{s['id']}: {s['status']} {s['error'] or ''}" for s in result.get("results", [])]
    return f"{result.get('error')}\n" + "\n".join(steps)


def on(admin: DjangoAdmin, plan: str) -> list[str]:
    return [str(PLANS / plan), "--app", f"admin={admin.url}/"]


def app_state(admin: DjangoAdmin) -> dict[str, list[tuple[object, ...]]]:
    """Every table but the sign-in's traces (the session row, the admin's last_login): a dry
    run signs in for real, as documented, and changes nothing else."""
    tables = [t for (t,) in admin.rows("SELECT name FROM sqlite_master WHERE type='table'")]
    state = {}
    for table in sorted(map(str, tables)):
        if table == "django_session":
            continue
        columns = [str(c[1]) for c in admin.rows(f"PRAGMA table_info({table})")]
        kept = ", ".join(c for c in columns if c != "last_login")
        state[table] = admin.rows(f"SELECT {kept} FROM {table} ORDER BY 1")
    return state


def test_validate_reads_each_flow(capsys: pytest.CaptureFixture[str]) -> None:
    verdicts: dict[str, dict[str, str]] = {}
    for plan in sorted(PLANS.glob("django_*.yaml")):
        code, result = lam_json(capsys, "validate", str(plan))
        assert result["ok"] and not result["errors"], (plan.name, result)
        verdicts[plan.stem] = {s["id"]: s["verdict"] for s in result["steps"]}
        any_held = any(v != "allow" for v in verdicts[plan.stem].values())
        assert code == (3 if any_held else 0), plan.name  # valid, but held for approval: 3
    assert set(verdicts["django_change_user"].values()) == {"allow"}
    assert set(verdicts["django_add_group"].values()) == {"allow"}
    held = {k: v for k, v in verdicts["django_delete_user"].items() if v != "allow"}
    assert held == {"delete": "approve", "confirm": "approve"}
    held = {k: v for k, v in verdicts["django_bulk_delete"].items() if v != "allow"}
    assert held == {"confirm": "approve"}


def _without_expect(plan: str, step: str, folder: Path) -> Path:
    document = yaml.safe_load((PLANS / plan).read_text(encoding="utf-8"))
    for s in document["steps"]:
        if s["id"] == step:
            s.pop("expect", None)
    path = folder / plan
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


def test_dry_run_changes_nothing(
    django_admin: DjangoAdmin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = app_state(django_admin)
    plan = _without_expect("django_change_user.yaml", "save", tmp_path)
    code, result = lam_json(capsys, "dry-run", str(plan), "--app", f"admin={django_admin.url}/")
    assert code == 0, said(result)
    assert app_state(django_admin) == before
    assert django_admin.users()["alice"] == "Alice"
    sign_in, save = result["effects"]  # the sign-in went out (and says so); the save did not
    assert sign_in["answered_by"] == "live (sign-in)" and sign_in["step"] == "log_in"
    assert save["answered_by"] == "synthetic" and save["body"]["first_name"] == "Alicia"


def test_dry_run_of_a_plan_with_expectations_after_a_write(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # The save's form post is held and answered by a stand-in: its expect cannot be checked
    # truthfully, so it is said to be unchecked (not failed, not passed); the expectations
    # before it, on pages the app really served, are checked.
    before = app_state(django_admin)
    code, result = lam_json(capsys, "dry-run", *on(django_admin, "django_change_user.yaml"))
    assert code == 0, said(result)
    assert app_state(django_admin) == before
    unchecked = {s["id"]: s["unchecked"] for s in result["results"] if s["unchecked"]}
    assert list(unchecked) == ["save"] and "stand-in" in unchecked["save"][0], unchecked
    assert result["unchecked_expectations"] == 1


def test_run_changes_a_user_through_the_change_form(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # The change form has "Save", "Save and add another" and "Save and continue editing":
    # `name: Save` is the first, exactly.
    argv = on(django_admin, "django_change_user.yaml")
    code, result = lam_json(capsys, "run", *argv, "--input", "first_name=Alicia", "--no-prompt")
    assert code == 0, said(result)
    assert django_admin.users() == {"admin": "", "alice": "Alicia", "bob": "Bob", "carol": "Carol"}


def test_run_adds_a_group(django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = lam_json(
        capsys, "run", *on(django_admin, "django_add_group.yaml"), "--no-prompt"
    )
    assert code == 0, said(result)
    assert django_admin.rows("SELECT name FROM auth_group") == [("Editors",)]


def _approvals(error: dict[str, Any]) -> list[str]:
    # (--json gives the same error object for a plan held before it starts and mid-run)
    return re.findall(r"--approve (\S+?)\)?(?:\s|$)", str(error["message"]))


def test_delete_is_held_until_approved(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = on(django_admin, "django_delete_user.yaml")
    before = app_state(django_admin)
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    assert code == 3, result
    flags = _approvals(result["error"])
    assert [f.split("@")[0] for f in flags] == ["delete", "confirm"]
    assert app_state(django_admin) == before  # nothing ran: not even the sign-in
    # Approving only the first is not enough: the confirmation is destructive on its own.
    code, result = lam_json(capsys, "run", *argv, "--approve", flags[0], "--no-prompt")
    assert code == 3 and "carol" in django_admin.users()
    approve = [a for flag in flags for a in ("--approve", flag)]
    code, result = lam_json(capsys, "run", *argv, *approve, "--no-prompt")
    assert code == 0, said(result)
    assert set(django_admin.users()) == {"admin", "alice", "bob"}


def test_bulk_action_is_held_at_go_by_the_guard_at_run_time(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # Django admin's changelist form holds a <select name="action">: form.action is the
    # select, not the URL (DOM clobbering); the guard reads the attribute. The plan is held
    # before it starts for its confirmation step, then, once that is approved, at "Go" by
    # the guard at run time: the form it submits asks for delete_selected.
    argv = on(django_admin, "django_bulk_delete.yaml")
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    (confirm,) = _approvals(result["error"])
    assert code == 3 and confirm.startswith("confirm@")
    code, result = lam_json(capsys, "run", *argv, "--approve", confirm, "--no-prompt")
    (go,) = _approvals(result["error"])
    assert code == 3 and re.fullmatch(r"go@[0-9a-f]{10}:destructive", go), said(result)
    assert result["error"]["step"] == "go" and result["error"]["code"] == "needs-approval"
    assert len(django_admin.users()) == 4  # held: nobody deleted
    steps = {s["id"]: s["status"] for s in result["results"]}
    assert steps["action"] == "ok" and steps["go"] == "blocked", steps


def test_bulk_action_deletes_the_selected_users_once_approved(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # What lam printed when it held "Go", given back, covers it: the step's requests to the
    # plan's hosts up to destructive. A plain `--approve go` approves the click as validated
    # (nothing risky), not the delete its form asks for (see docs/safety.md).
    argv = on(django_admin, "django_bulk_delete.yaml")
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    (confirm,) = _approvals(result["error"])
    code, result = lam_json(capsys, "run", *argv, "--approve", confirm, "--approve", "go")
    assert code == 3 and len(django_admin.users()) == 4, said(result)
    (go,) = _approvals(result["error"])
    approve = ["--approve", confirm, "--approve", go]
    code, result = lam_json(capsys, "run", *argv, *approve, "--no-prompt")
    assert code == 0, said(result)
    assert set(django_admin.users()) == {"admin", "alice"}


def test_a_recording_replays(
    django_admin: DjangoAdmin,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "rename_bob.yaml"
    with lam.record(django_admin.url + "/admin/login/", out=out) as page:
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Users").click()
        page.get_by_role("link", name="bob", exact=True).click()
        page.get_by_label("First name").fill("Robert")
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_text("was changed successfully").wait_for()
    assert django_admin.users()["bob"] == "Robert"
    recording = yaml.safe_load(out.read_text())
    assert PASSWORD not in out.read_text()  # a password field's value is never written
    django_admin.reset()
    monkeypatch.setenv("PASSWORD", PASSWORD)
    assert recording["apps"]["app"]["url"] == django_admin.url + "/admin/login/"
    code, result = lam_json(capsys, "replay", str(out))
    assert code == 0, said(result)
    assert django_admin.users()["bob"] == "Robert"


def test_do_reaches_a_literal_goal(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    goal = (
        f"log in as admin with password '{PASSWORD}', then click Users, click carol, "
        "type 'Caroline' into First name, then click Save"
    )
    code, result = lam_json(
        capsys, "do", goal, "--app", f"{django_admin.url}/admin/login/", "--no-prompt",
        "--no-memory",
    )  # fmt: skip
    assert code == 0, said(result)
    assert django_admin.users()["carol"] == "Caroline"
