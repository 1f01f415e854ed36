"""The paraphrase suite on the demo shop (issue 13): goals as people write them, each checked
in the shop's own database. Benign goals are done; destructive ones reach the destructive
step and stop there (held; ``lam do`` exits 3); goals lam cannot do are refused with a reason,
and ambiguous ones name their candidates with scores (never a guess).

One demo server and one Chromium serve the module; the database is copied back to its seeded
state before each goal. Goals run in-process through :mod:`paraphrases`; a few run through
``lam do`` itself at the end.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paraphrases import Case, GoalDriver, cases, check_case, rows, table_state
from servers import DemoServer, start_demo

from lam.adapters.browser import BrowserSession, find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

CASES = cases("demo")
# Goals the planner does not reach, measured once (docs/planner.md): each still ends safely
# (refused or failed before any change); strict, so a fix shows up here.
KNOWN_MISSES = {
    "tuning-28": "a select's options are not in the snapshot: 'dragon' is found missing when "
    "the step runs (a failed step, nothing changed), not refused by the planner",
    "heldout-16": "'clear out order 1' from the pets list: the planner does not go to the "
    "Orders page on its own (refused: nothing on this page removes 'order 1')",
}


def params(found: list[Case]) -> list[Any]:
    return [
        pytest.param(c, id=c.id, marks=pytest.mark.xfail(reason=KNOWN_MISSES[c.id], strict=True))
        if c.id in KNOWN_MISSES
        else pytest.param(c, id=c.id)
        for c in found
    ]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, Path]]:
    """The demo shop for the module, and a copy of its seeded database."""
    folder = tmp_path_factory.mktemp("paraphrase-shop")
    with start_demo(folder) as server:
        seeded = folder / "seeded.db"
        shutil.copyfile(server.db, seeded)
        yield server, seeded


@pytest.fixture(scope="module")
def driver(shop: tuple[DemoServer, Path]) -> Iterator[GoalDriver]:
    with BrowserSession(timeout_ms=5_000) as session:
        yield GoalDriver(session, shop[0].url + "/")


# (``lam do`` runs first: it starts its own Playwright, which cannot run while the module's
# driver holds one in the same thread.)


# -- through the command, as a user runs it --------------------------------------------------


def do_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["do", *argv, "--json", "--no-memory", "--no-prompt"])
    return code, json.loads(capsys.readouterr().out)


def test_lam_do_signs_in_finds_and_changes_without_writing_the_password(
    shop: tuple[DemoServer, Path], capsys: pytest.CaptureFixture[str], lam_home: Path
) -> None:
    server, seeded = shop
    shutil.copyfile(seeded, server.db)
    goal = "sign in as admin using admin-pass, find Rex and set his species to cat"
    code, result = do_json(capsys, goal, "--app", server.url + "/")
    assert code == 0, result
    assert rows(server.db, "SELECT species FROM pets WHERE name = 'Rex'") == (("cat",),)
    plan = Path(result["plan"]).read_text()
    assert "$secrets.PASSWORD" in plan and "admin-pass" not in plan
    record = Path(result["plan"]).parent
    for written in record.rglob("*"):
        if written.is_file() and written.suffix in (".jsonl", ".json", ".yaml", ".txt"):
            assert "admin-pass" not in written.read_text(errors="replace"), written


def test_lam_do_holds_each_destructive_step_of_a_removal_until_approved(
    shop: tuple[DemoServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # "remove Luna": her Delete, then the confirmation the shop asks for (implied by the
    # removal); each is held (exit 3) until its own approval is given, then Luna is gone.
    server, seeded = shop
    shutil.copyfile(seeded, server.db)
    before = table_state(server.db)
    goal = "sign in as admin/admin-pass and remove Luna"
    argv = [goal, "--app", server.url + "/"]
    approvals: list[str] = []
    for _ in range(2):
        code, result = do_json(capsys, *argv, *approvals)
        assert code == 3 and "needs approval" in result["error"]["message"], result
        assert table_state(server.db) == before
        found = re.search(r"--approve (\S+)", result["error"]["message"])
        assert found is not None, result
        approvals += ["--approve", found.group(1)]
    code, result = do_json(capsys, *argv, *approvals)
    assert code == 0, result
    assert rows(server.db, "SELECT count(*) FROM pets WHERE name = 'Luna'") == ((0,),)


@pytest.mark.parametrize("case", params(CASES))
def test_goal(case: Case, shop: tuple[DemoServer, Path], driver: GoalDriver) -> None:
    server, seeded = shop
    shutil.copyfile(seeded, server.db)
    before = table_state(server.db)
    check_case(case, driver.drive(case.goal), server.db, before)


def test_suite_size() -> None:
    assert len(CASES) >= 40
