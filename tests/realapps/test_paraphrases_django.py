"""The paraphrase suite on a stock Django admin (issue 13): goals as a new user writes them,
each checked in the admin's own SQLite database (see tests/test_paraphrases.py for the rule).

The module's Django server (tests/realapps/conftest.py) is reset to admin, alice, bob and carol
before each goal; one Chromium serves the module. Goals run in-process through
:mod:`paraphrases`; the issue's first example also runs through ``lam do`` itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from paraphrases import Case, GoalDriver, cases, check_case, table_state

from lam.adapters.browser import BrowserSession, find_chromium
from lam.cli.main import main

from .apps import DjangoAdmin

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

CASES = cases("django")


@pytest.fixture(scope="module")
def driver(django_server: DjangoAdmin) -> Iterator[GoalDriver]:
    with BrowserSession(timeout_ms=5_000) as session:
        yield GoalDriver(session, django_server.url + "/admin/login/")


# (``lam do`` runs first: it starts its own Playwright, which cannot run while the module's
# driver holds one in the same thread.)


def test_lam_do_holds_the_delete_of_a_user_asked_in_plain_words(
    django_admin: DjangoAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example: clause 1 and the password were "not an instruction"; now the
    # sign-in, both openings and the Delete on carol's own page are grounded, and the
    # Delete is held for approval.
    goal = ("Log in with username admin and password admin-pass, then open Users, open carol "
            "and delete the user")  # fmt: skip
    before = table_state(django_admin.db)
    code = main(["do", goal, "--app", f"{django_admin.url}/admin/login/", "--json",
                 "--no-memory", "--no-prompt"])  # fmt: skip
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 3, result
    assert "needs approval" in result["error"]["message"]
    assert "/delete/" not in json.dumps(result.get("results", []))  # held at the link
    assert table_state(django_admin.db) == before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_goal(case: Case, django_admin: DjangoAdmin, driver: GoalDriver) -> None:
    before = table_state(django_admin.db)
    check_case(case, driver.drive(case.goal), django_admin.db, before)


def test_suite_size() -> None:
    assert len(CASES) + len(cases("demo")) >= 80
