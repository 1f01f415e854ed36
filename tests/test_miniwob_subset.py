"""A MiniWoB++ subset through the benchmark's own code path: one task per capability of issue 13.

Each episode is what ``benchmarks/miniwob_eval.py`` runs: the task page served on 127.0.0.1,
seeded, its goal read from the page, the embedded planner proposing steps from a snapshot (and
the sightings of the goal's quoted texts), each proposal validated with the default policy and
run by lam's runner under a LiveGuard, the page observed again until the goal is done. The
reward is the task's own. The full run (130 tasks) is a benchmark: docs/miniwob.md.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lam.adapters.browser import BrowserSession
from lam.planner.ui_goals import UiGoalPlanner

pytestmark = [pytest.mark.browser, pytest.mark.integration]

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "miniwob_eval.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("miniwob_eval", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["miniwob_eval"] = module  # (dataclasses look their module up by name)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def harness(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(BrowserSession(timeout_ms=5_000))
        made = bench.Harness(session, UiGoalPlanner())
        made.base_url = stack.enter_context(bench.serve(bench.task_dir().parent))
        made.runs = tmp_path_factory.mktemp("miniwob-runs")
        yield made


# (task, seed): one per capability; each goal is in the rule's set of docs/miniwob.md
CAPABILITIES = [
    pytest.param("enter-date", 0, id="date-into-date-input"),  # "05/20/2010" -> 2010-05-20
    # (times the same way: "9:37 PM" -> 21:37, tests/test_miniwob_conversions.py)
    pytest.param("enter-text-2", 0, id="case-transform"),  # "in all upper case letters"
    pytest.param("choose-date-easy", 0, id="date-through-calendar"),  # read-only datepicker
    pytest.param("use-spinner", 0, id="value-with-the-spinner"),
    pytest.param("click-collapsible-2", 0, id="expand-the-section-that-holds-it"),
    pytest.param("click-tab-2", 0, id="switch-to-the-tab-that-holds-it"),
    pytest.param("click-menu", 1, id="menu-path-hover"),  # "Select Alvera>Terza>Ludovika"
    pytest.param("scroll-text-2", 0, id="scroll-inside-an-element"),
    pytest.param("click-scroll-list", 0, id="several-options-of-a-multiple-select"),
    pytest.param("copy-paste-2", 0, id="copy-one-field-into-another"),
]


@pytest.mark.parametrize(("task", "seed"), CAPABILITIES)
def test_capability_episode_succeeds(bench: ModuleType, harness: Any, task: str, seed: int) -> None:
    episode = bench.run_episode(harness, task, seed)
    assert not episode.outside, f"{task}: outside the rule's set ({episode.outside})"
    assert episode.success, f"{task} seed {seed}: {episode.goal!r}: {episode.error}"
    assert not episode.refused and not episode.blocked


def test_a_popup_that_opens_mid_task_is_declined(bench: ModuleType, harness: Any) -> None:
    # login-user-popup, seed 1: focusing a field opens "Exit to home page? OK / Cancel" and
    # disables the form. The page's button says "OK", so the goal names it as the page does.
    episode = bench.run_episode(
        harness, "login-user-popup", 1, rewrite=lambda g: g.replace("press login", "press OK")
    )
    assert episode.success, episode.error
    assert not episode.refused and not episode.blocked


@pytest.mark.parametrize(
    ("task", "seed", "why"),
    [
        # two buttons say "okay" and the goal says *the* "okay" button
        pytest.param("click-button", 0, "2 elements match equally well", id="twin-buttons"),
        # the link is in no tab (the task wants the emptied tab clicked): not opened at random
        pytest.param("click-tab-2-medium", 0, "no element on the page says", id="text-in-no-tab"),
    ],
)
def test_unsure_grounding_is_refused_with_candidates(
    bench: ModuleType, harness: Any, task: str, seed: int, why: str
) -> None:
    episode = bench.run_episode(harness, task, seed)
    assert episode.refused and not episode.success, episode
    assert why in episode.error
    if "match" in why:  # the candidates and their scores come with the refusal
        assert "score 1.00" in episode.error and episode.error.count('button "okay"') == 2


def test_the_rule_is_mechanical(bench: ModuleType) -> None:
    rule = bench.ordinary_instruction
    assert rule('Enter "Bob" into the text field and press Submit.') == ""
    assert rule('Switch between the tabs to find and click on the link "aliquet".') == ""
    assert rule("Select Alvera>Terza>Ludovika") == ""
    assert "judgement" in rule("Click on the white colored box.")
    assert "judgement" in rule("Drag the circle left then press Submit.")
    assert "judgement" in rule("Solve for x and type your answer into the textbox.")
    assert "control verb" in rule("Find the email by Audrey and forward that email to Hedy.")
    assert "control verb" in rule("Buy ACP stock now.")
    assert "record" in rule("{'utterance': 'Forward to Cathrine the email from Evy.'}")
