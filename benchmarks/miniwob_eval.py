"""MiniWoB++ evaluation of lam's embedded UI planner (no model, no network).

For each task the ``miniwob`` PyPI package ships as HTML, and each seed: open the task's
file:// page in headless Chromium, seed it with ``Math.seedrandom(seed)``, start it with
``core.startEpisodeReal()``, read the goal from ``core.getUtterance()``, snapshot the page,
ask :class:`lam.planner.ui_goals.UiGoalPlanner` for steps, perform them, and score the episode
by ``WOB_RAW_REWARD_GLOBAL > 0``. A proposal with anything unsure is not acted on (the episode
counts as refused and failed). A proposal that is not ``done`` is carried on after its steps
ran, with a fresh snapshot, up to four rounds.

    .venv/bin/python benchmarks/miniwob_eval.py --seeds 5 [--tasks click-button,enter-text] [--json]

Published figures to compare with (success rate): humans 93.5%; CC-Net 93.5%; Synapse 99.2%
on 64 tasks; agents without a language model 32-77%.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from lam.adapters.browser import BrowserSession, perform, snapshot
from lam.errors import LamError
from lam.planner.base import HistoryItem, Observation
from lam.planner.ui_goals import UiGoalPlanner

PLAIN = (
    "click-button", "click-button-sequence", "click-link", "click-option", "click-checkboxes",
    "click-checkboxes-large", "click-checkboxes-transfer", "click-dialog", "click-dialog-2",
    "click-tab", "click-test", "click-test-2", "click-test-transfer", "choose-list",
    "enter-password", "enter-text", "enter-text-dynamic", "focus-text", "focus-text-2",
    "login-user", "unicode-test", "sign-agreement",
)  # fmt: skip
"""The tasks whose goal is a plain instruction (the issue's target set and their kin)."""

_ROUNDS = 4
_SETTLE_S = 1.0


def task_dir() -> Path:
    """The folder of MiniWoB task pages inside the installed ``miniwob`` package."""
    import miniwob  # type: ignore[import-untyped]

    return Path(miniwob.__file__).parent / "html" / "miniwob"


def all_tasks() -> list[str]:
    """Every task the package ships, by name."""
    return sorted(p.stem for p in task_dir().glob("*.html"))


@dataclass(frozen=True)
class Episode:
    """One episode's outcome."""

    task: str
    seed: int
    goal: str
    success: bool
    refused: bool
    seconds: float
    error: str = ""


def run_episode(
    page: Page, task: str, seed: int, *, planner: UiGoalPlanner, timeout_ms: float = 2_000
) -> Episode:
    """Play one seeded episode of ``task`` with the embedded planner."""
    started = time.perf_counter()
    page.goto((task_dir() / f"{task}.html").as_uri())
    page.evaluate("s => { Math.seedrandom(s); core.startEpisodeReal(); }", seed)
    goal = str(page.evaluate("() => core.getUtterance()"))
    history: list[HistoryItem] = []
    refused, error = False, ""
    try:
        for _ in range(_ROUNDS):
            observation = Observation(goal=goal, elements=snapshot(page), url=page.url)
            proposal = planner.propose(observation, history)
            if proposal.unsure or not proposal.steps:
                refused = True
                error = "; ".join(proposal.unsure) or "no steps"
                break
            for step in proposal.steps:
                _perform(page, step, timeout_ms)
                history.append(HistoryItem(step, "ok"))
            if proposal.done:
                break
    except LamError as err:
        error = str(err)
    except PlaywrightError as err:
        error = str(err).splitlines()[0]
    success = _reward(page) > 0
    return Episode(task, seed, goal, success, refused, time.perf_counter() - started, error)


def _perform(page: Page, step: dict[str, Any], timeout_ms: float) -> None:
    action = next(k for k in step if k not in ("id", "value", "expect", "description"))
    argument = step[action]
    if isinstance(argument, dict):
        perform(page, action, argument, step.get("value"), timeout_ms=timeout_ms, step=step["id"])
    else:
        perform(page, action, None, argument, timeout_ms=timeout_ms, step=step["id"])


def _reward(page: Page) -> float:
    deadline = time.monotonic() + _SETTLE_S
    while True:
        try:
            done, raw = page.evaluate("() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL]")
        except PlaywrightError:
            return 0.0
        if done or time.monotonic() > deadline:
            return float(raw)
        page.wait_for_timeout(50)


def evaluate(tasks: list[str], seeds: int, *, verbose: bool = False) -> dict[str, Any]:
    """Run every task for ``seeds`` seeds; per-task and overall figures."""
    planner = UiGoalPlanner()
    per_task: dict[str, Any] = {}
    started = time.perf_counter()
    with BrowserSession(timeout_ms=5_000) as session:
        for task in tasks:
            episodes = []
            for seed in range(seeds):
                session.new_context()
                episodes.append(run_episode(session.page, task, seed, planner=planner))
                if verbose and not episodes[-1].success:
                    last = episodes[-1]
                    print(f"  {task} seed {seed}: {last.goal!r}: {last.error[:200]}",
                          file=sys.stderr)  # fmt: skip
            wins = sum(e.success for e in episodes)
            per_task[task] = {
                "episodes": len(episodes),
                "successes": wins,
                "refused": sum(e.refused for e in episodes),
                "rate": round(wins / len(episodes), 4),
                "mean_seconds": round(sum(e.seconds for e in episodes) / len(episodes), 3),
                "plain": task in PLAIN,
            }
    return {"tasks": per_task, "overall": _overall(per_task), "plain": _overall(
        {k: v for k, v in per_task.items() if v["plain"]}
    ), "seeds": seeds, "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def _overall(per_task: dict[str, Any]) -> dict[str, Any]:
    episodes = sum(t["episodes"] for t in per_task.values())
    wins = sum(t["successes"] for t in per_task.values())
    return {
        "tasks": len(per_task),
        "episodes": episodes,
        "successes": wins,
        "rate": round(wins / episodes, 4) if episodes else 0.0,
        "mean_task_rate": round(sum(t["rate"] for t in per_task.values()) / len(per_task), 4)
        if per_task else 0.0,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--plain", action="store_true", help="only the plain-instruction tasks")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print failed episodes")
    args = parser.parse_args(argv)
    try:
        known = all_tasks()
    except ImportError:
        print("miniwob is not installed: pip install miniwob", file=sys.stderr)
        return 2
    tasks = args.tasks.split(",") if args.tasks else list(PLAIN if args.plain else known)
    unknown = [t for t in tasks if t not in known]
    if unknown:
        print(f"unknown task(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    result = evaluate(tasks, args.seeds, verbose=args.verbose)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'task':32} {'success':>9} {'refused':>8} {'mean s':>7}")
    for name, row in result["tasks"].items():
        mark = "*" if row["plain"] else " "
        print(f"{mark}{name:31} {row['successes']:>4}/{row['episodes']:<4} "
              f"{row['refused']:>8} {row['mean_seconds']:>7.2f}")  # fmt: skip
    for key in ("plain", "overall"):
        row = result[key]
        print(f"{key}: {row['successes']}/{row['episodes']} episodes = {row['rate']:.1%} "
              f"over {row['tasks']} tasks (mean per-task {row['mean_task_rate']:.1%})")  # fmt: skip
    print(f"seeds 0..{args.seeds - 1}; {result['seconds']} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
