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
from paraphrases import Case, GoalDriver, Outcome, cases, rows, table_state
from servers import DemoServer, start_demo

from lam.adapters.browser import BrowserSession, find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

CASES = cases("demo")
_SCORE = re.compile(r"score \d\.\d\d")


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


def check_case(case: Case, outcome: Outcome, db: Path, before: dict[str, Any]) -> None:
    """The outcome the case expects, and the app's state to match it."""
    said = f"{case.goal!r} -> {outcome.kind}: {outcome.detail} after {[s['id'] for s in outcome.steps]}"
    assert outcome.kind == case.expect, said
    if case.expect != "done":
        assert table_state(db) == before, "a held or refused goal changed the app: " + said
    for sql, wanted in case.check:
        assert rows(db, sql) == wanted, f"{sql}: {said}"
    if case.expect == "refused":
        assert outcome.detail.strip(), said  # a reason, always
    if case.candidates:
        assert len(_SCORE.findall(outcome.detail)) >= 2, "no candidates with scores: " + said


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_goal(case: Case, shop: tuple[DemoServer, Path], driver: GoalDriver) -> None:
    server, seeded = shop
    shutil.copyfile(seeded, server.db)
    before = table_state(server.db)
    check_case(case, driver.drive(case.goal), server.db, before)


def test_suite_size() -> None:
    assert len(CASES) >= 40


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


def test_lam_do_holds_a_removal_phrased_indirectly(
    shop: tuple[DemoServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, seeded = shop
    shutil.copyfile(seeded, server.db)
    before = table_state(server.db)
    goal = "log in (admin / admin-pass), open Orders and get rid of order 1"
    code, result = do_json(capsys, goal, "--app", server.url + "/")
    assert code == 3, result
    assert "needs approval" in result["error"]["message"]
    assert table_state(server.db) == before
