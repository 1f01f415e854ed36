"""TodoMVC's vanilla JS implementation (the ``todomvc`` npm package, served as the static files
it ships) through ``lam validate`` and ``lam run``: adding and completing todos, and its
icon-only destroy button (``button.destroy``), which the guard holds as destructive. The app
keeps its todos in localStorage: each plan reloads the page and expects what the app read
back from there (tests/realapps/test_todomvc_page.py reads localStorage itself)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from servers import serve_directory

from lam.adapters.browser import find_chromium
from lam.cli.main import main

from .apps import HERE, NODE_MODULES, npm_missing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

PLANS = HERE / "plans"
VANILLA = NODE_MODULES / "todomvc" / "examples" / "vanillajs"


@pytest.fixture(scope="module")
def todomvc() -> Iterator[str]:
    missing = npm_missing("todomvc")
    if missing:  # scripts/setup.sh installs it; a fresh clone without it is a set-up error
        pytest.fail(missing)
    with serve_directory(VANILLA) as url:
        yield url


def lam_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    # (Screenshots of failed or blocked steps only: the suite's time goes to the apps.)
    shots = ["--screenshots", "failures"] if argv[0] in ("run", "dry-run", "replay") else []
    code = main([*argv, *shots, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_validate_holds_the_icon_only_destroy_button(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = lam_json(capsys, "validate", str(PLANS / "todomvc_add_and_complete.yaml"))
    assert code == 0, result
    code, result = lam_json(capsys, "validate", str(PLANS / "todomvc_destroy.yaml"))
    assert code == 3, result
    held = {s["id"]: s["risk"] for s in result["steps"] if s["verdict"] != "allow"}
    assert held == {"destroy": "destructive"}


def test_run_adds_and_completes_todos(todomvc: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(PLANS / "todomvc_add_and_complete.yaml"), "--app", f"todo={todomvc}"]
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    assert code == 0, result  # the reload's "2 items left" came from localStorage


def test_destroy_is_held_until_approved(todomvc: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(PLANS / "todomvc_destroy.yaml"), "--app", f"todo={todomvc}"]
    code, result = lam_json(capsys, "run", *argv, "--no-prompt")
    assert code == 3, result
    error = result["error"] if isinstance(result["error"], str) else result["error"]["message"]
    (flag,) = re.findall(r"--approve (destroy@[0-9a-f]+)", error)
    code, result = lam_json(capsys, "run", *argv, "--approve", flag, "--no-prompt")
    assert code == 0, result  # after the reload: "1 item left", and it is "Brew tea"
