"""MiniWoB++ evaluation of lam's embedded UI planner (no model, no network).

For each task the ``miniwob`` PyPI package ships as HTML, and each seed: serve the page on
127.0.0.1, seed it with ``Math.seedrandom(seed)``, start it with ``core.startEpisodeReal()``,
read the goal from ``core.getUtterance()``, snapshot the page (plus the sightings of the goal's
quoted texts, :mod:`lam.adapters.browser.reveal`), ask :class:`lam.planner.ui_goals.UiGoalPlanner`
for steps, validate them with the default policy and run them with lam's runner under a
LiveGuard, and score the episode by ``WOB_RAW_REWARD_GLOBAL > 0``. A proposal with anything
unsure is not acted on (the episode counts as refused and failed). A proposal that is not
``done`` is carried on after its steps ran, with a fresh observation, up to six rounds.

Each episode is also classified by the rule of docs/miniwob.md (:func:`ordinary_instruction`
on the goal, and no canvas or svg drawing in the task area): the figures are given for the
rule's set, the remainder and all tasks.

    .venv/bin/python benchmarks/miniwob_eval.py --seeds 5 [--tasks click-button,enter-text] [--json]
    .venv/bin/python benchmarks/miniwob_eval.py --markdown RESULT.json

Published figures to compare with (success rate): humans 93.5%; CC-Net 93.5%; Synapse 99.2%
on 64 tasks; agents without a language model 32-77%.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from lam.adapters.browser import BrowserSession, perform, snapshot
from lam.adapters.browser.reveal import sightings, text_blocks
from lam.errors import BlockedError, LamError, StepFailed
from lam.planner.base import HistoryItem, Observation, Proposal, plan_document
from lam.planner.popups import dismissal
from lam.planner.ui_goals import UiGoalPlanner, hints_for
from lam.plans import Plan, parse_plan
from lam.policy import Policy, default_policy
from lam.runtime.context import RunState
from lam.runtime.guard import LiveGuard
from lam.runtime.kill import KillSwitch
from lam.runtime.network_guard import NetworkGuard
from lam.runtime.record import RunRecord
from lam.runtime.runner import Runner
from lam.runtime.screenshots import ScreenshotWriter
from lam.runtime.start import RunOptions
from lam.runtime.ui_step import UiStepExecutor
from lam.types import Verdict
from lam.validation import ValidationReport, declared_hosts, validate_loaded

PLAIN = (
    "click-button", "click-button-sequence", "click-link", "click-option", "click-checkboxes",
    "click-checkboxes-large", "click-checkboxes-transfer", "click-dialog", "click-dialog-2",
    "click-tab", "click-test", "click-test-2", "click-test-transfer", "choose-list",
    "enter-password", "enter-text", "enter-text-dynamic", "focus-text", "focus-text-2",
    "login-user", "unicode-test", "sign-agreement",
)  # fmt: skip
"""The tasks whose goal is a plain instruction (the issue's target set and their kin)."""

# -- the rule: "a goal that is an instruction about ordinary controls" (docs/miniwob.md) ------
CONTROL_VERBS = frozenset(
    ["click", "tap", "press", "push", "hit", "select", "choose", "pick", "check", "uncheck",
     "tick", "enter", "type", "fill", "expand", "close", "switch", "open", "focus", "scroll",
     "wait", "submit", "search", "navigate", "log", "sign", "copy"]
)  # fmt: skip
"""Each sentence (and each part after "then") must begin with one of these."""
JUDGEMENT = re.compile(
    r"\b(?:"
    r"red|green|blue|yellow|white|black|gr[ae]y|aqua|magenta|cyan|orange|purple|pink|brown"
    r"|colou?r(?:ed)?|shades?|shapes?|circles?|squares?|triangles?|rectangles?|figure|digit"
    r"|large|larger|small|smaller|big|bigger"
    r"|cheapest|shortest|longest|greatest|largest|smallest|lowest|highest|ascending|descending"
    r"|increasing|decreasing|less than|more than|greater than|odd|even|total|sum|how many"
    r"|number of|solve|math|similar|correctly|best"
    r"|drag|draw|resize|highlight|hover(?:ed)?|mouse|move|moving|sliders?|color picker"
    r"|game|guess|win|play(?:ing)?"
    r"|value of|corresponds?|the text below|in the order|displayed|last word"
    r")\b",
    re.IGNORECASE,
)
"""Words of judgement: seeing (colour, shape, size), comparing and counting, gestures, games,
and reading a value off the page. A goal with any of them is not about ordinary controls."""
_VISUAL_AREA_JS = "() => !!document.querySelector('#area canvas, #area svg')"


def ordinary_instruction(goal: str) -> str:
    """Why ``goal`` is not an instruction about ordinary controls, or "" when it is.

    Mechanical, from the goal's text: a sentence (not a structured record); each sentence, and
    each part of one after "then", begins with a control verb (``CONTROL_VERBS``; after
    "please", and after "use X to"); "find" only as "find and <verb>" (with an object of its
    own, "find the email by Audrey", it is a search of the page's content); and no word of
    judgement (``JUDGEMENT``). The page half of the rule (no canvas or svg drawing in the task
    area) is checked on the page by the episode.
    """
    if goal.lstrip().startswith("{"):
        return "a structured record, not a sentence"
    found = JUDGEMENT.search(goal)
    if found:
        return f"judgement: {found.group(0)!r}"
    for part in re.split(r"(?<=[.!?])\s+|\bthen\b", goal):
        text = re.sub(r"^[\s,]*(?:and\s+|please\s+|now\s+|finally\s+)*", "", part, flags=re.I)
        text = re.sub(r"^use\s+.+?\s+to\s+", "", text, flags=re.I)
        if not text.strip():
            continue
        first = (re.findall(r"[a-z]+", text.lower()) or [""])[0]
        if first == "find" and re.match(r"find\s+and\s+\w+", text, flags=re.I):
            continue  # "find and click ...": the verb after it names the control
        if first not in CONTROL_VERBS:
            return f"{text.strip()[:50]!r} does not begin with a control verb"
    return ""


_ROUNDS = 6
_SETTLE_MS = 350  # before observing again: jQuery UI opens a submenu 300 ms after the hover
_SETTLE_S = 0.5  # how long a reward may take to show after the last action
_STEP_TIMEOUT_S = 2.0


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
    outside: str = ""  # why the goal is outside the rule's set ("" when inside)
    blocked: bool = False  # the guard stopped a step (destructive without approval)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a real HTTP server) and yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _SharedBrowserExecutor(UiStepExecutor):
    """lam's UI executor acting in the evaluation's browser context.

    The episode is seeded and started in the page before planning, so the executor must act in
    that same page rather than launch a browser of its own; everything else (resolving targets,
    the guard at the element and at the network, screenshots, expectations) is lam's.
    """

    def __init__(
        self, report: ValidationReport, options: RunOptions, session: BrowserSession
    ) -> None:
        super().__init__(report, options)
        self._shared = session

    def _start(self, state: RunState) -> NetworkGuard:
        # What UiStepExecutor._start does, in the evaluation's context instead of a new browser
        # (a public ``session=`` seam on UiStepExecutor would make this override unnecessary).
        if self._net is None:
            net = NetworkGuard(state, [], settle_ms=50)  # no app requests here
            net.attach(self._shared.context)
            self._session, self._net = self._shared, net
            self._shots = ScreenshotWriter(state.record.screenshots, state.record.directory)
        return self._net

    def close(self) -> None:
        if self._shots is not None:
            self._shots.close()
            self._shots = None
        self._session = None  # the shared browser outlives the run
        self._net = None


@dataclass
class Harness:
    """What every episode shares: the browser, the planner, where tasks are served, the policy."""

    session: BrowserSession
    planner: UiGoalPlanner
    base_url: str | None = None  # None: file:// pages acted on with ``perform`` (no runner)
    runs: Path | None = None
    policy: Policy = field(default_factory=default_policy)
    timeout_ms: float = 2_000


def run_episode(
    harness: Harness, task: str, seed: int, rewrite: Callable[[str], str] | None = None
) -> Episode:
    """Play one seeded episode of ``task`` with the embedded planner (``rewrite``: a test's
    change to the page's goal, say to name a control as the page names it)."""
    started = time.perf_counter()
    harness.session.new_context(service_workers="block")  # as lam's runner does
    page = harness.session.page
    if harness.base_url is None:
        page.goto((task_dir() / f"{task}.html").as_uri())
    else:
        page.goto(f"{harness.base_url}/miniwob/{task}.html")
    page.evaluate("s => { Math.seedrandom(s); core.startEpisodeReal(); }", seed)
    goal = str(page.evaluate("() => core.getUtterance()"))
    if rewrite is not None:
        goal = rewrite(goal)
    outside = ordinary_instruction(goal)
    if not outside and page.evaluate(_VISUAL_AREA_JS):
        outside = "the task area draws on a canvas or svg"
    refused, error, blocked = False, "", False
    try:
        if harness.base_url is None:
            refused, error = _play_direct(harness, page, goal)
        else:
            refused, error = _play_through_runner(harness, page, goal, task)
    except BlockedError as err:
        error, blocked = err.one_line(), True
    except LamError as err:
        error = err.one_line()
    except PlaywrightError as err:
        error = str(err).splitlines()[0]
    except Exception as err:  # a planner bug: the episode fails, the run goes on, it is reported
        error = f"crash: {type(err).__name__}: {err}"
    success = _reward(page, wait=not refused) > 0  # nothing was done when it refused
    seconds = time.perf_counter() - started
    blocked = blocked or stopped_by_guard(error)  # (the runner reports a held step as its error)
    return Episode(task, seed, goal, success, refused, seconds, error, outside, blocked)


def _propose(harness: Harness, page: Page, goal: str, history: list[HistoryItem]) -> Proposal:
    if history:  # after steps ran: let what they started (a submenu's delay, a panel) show
        page.wait_for_timeout(_SETTLE_MS)
    # the quoted texts' sightings (shown or behind a tab or a collapsed section) go with the
    # snapshot: a span a script made clickable is not a control the snapshot lists
    seen = sightings(page, split_quoted(goal), outside="#query")  # (#query shows the goal)
    blocks = text_blocks(page, outside="#query")  # table rows and paragraphs, for reading
    observation = Observation(goal=goal, elements=[*snapshot(page), *seen, *blocks], url=page.url)
    return harness.planner.propose(observation, history)


def split_quoted(goal: str) -> list[str]:
    """The goal's double-quoted strings."""
    return [q for q in re.findall(r'"([^"]+)"', goal)]


def _play_direct(harness: Harness, page: Page, goal: str) -> tuple[bool, str]:
    history: list[HistoryItem] = []
    for _ in range(_ROUNDS):
        proposal = _propose(harness, page, goal, history)
        if not proposal.grounded:
            return True, "; ".join(proposal.unsure) or "no steps"
        for step in proposal.steps:
            _perform(page, step, harness.timeout_ms)
            history.append(HistoryItem(step, "ok"))
        if proposal.done:
            break
    return False, ""


def _play_through_runner(harness: Harness, page: Page, goal: str, task: str) -> tuple[bool, str]:
    """Each proposal becomes plan steps, validated with the default policy and run by lam's
    runner under a LiveGuard; a step the policy does not allow stops the episode."""
    assert harness.base_url is not None and harness.runs is not None
    apps = {"miniwob": f"{harness.base_url}/miniwob/"}
    history: list[HistoryItem] = []
    done_steps: list[dict[str, Any]] = []
    proposal = _propose(harness, page, goal, history)
    if not proposal.grounded:
        return True, "; ".join(proposal.unsure) or "no steps"
    plan, report = _plan(task, goal, [*proposal.steps], apps, harness.policy)
    record = RunRecord.create(harness.runs)
    executor = _SharedBrowserExecutor(report, RunOptions(policy=harness.policy), harness.session)
    runner = Runner(
        plan, executors={"ui": executor},
        guard=LiveGuard(harness.policy, declared_hosts=declared_hosts(plan, {}, {}, {}),
                        record=record),
        record=record, kill=KillSwitch(record.directory, harness.runs), inputs={},
        app_urls=apps, api_urls={},
    )  # fmt: skip
    with runner.session():
        for round_ in range(_ROUNDS):
            if round_:
                proposal = _propose(harness, page, goal, history)
                if not proposal.grounded:
                    return True, "; ".join(proposal.unsure) or "no steps"
                plan, report = _plan(task, goal, [*done_steps, *proposal.steps], apps,
                                     harness.policy)  # fmt: skip
            for wanted in proposal.steps:
                _run_one(runner, task, goal, done_steps, wanted, apps, harness.policy)
                # observe again after each action: a popup the step opened is declined, and
                # a value the step set while it opened is set again (lam.planner.popups)
                shown = snapshot(page)
                popup = dismissal(goal, shown)
                if popup is not None:
                    n = len(done_steps)
                    decline = {"id": f"d{n}-click", "click": hints_for(popup, shown)}
                    _run_one(runner, task, goal, done_steps, decline, apps, harness.policy)
                    if any(k in wanted for k in ("fill", "select", "check", "uncheck")):
                        again = {**wanted, "id": f"{wanted['id']}-again{n}"}
                        _run_one(runner, task, goal, done_steps, again, apps, harness.policy)
            history.extend(HistoryItem(s, "ok") for s in proposal.steps)
            if proposal.done:
                break
    if runner.result.error is not None:
        return False, runner.result.error.one_line()
    return False, ""


def _run_one(
    runner: Runner,
    task: str,
    goal: str,
    done: list[dict[str, Any]],
    wanted: dict[str, Any],
    apps: dict[str, str],
    policy: Policy,
) -> None:
    """Validate the plan so far plus ``wanted`` and run ``wanted`` under the guard."""
    plan, report = _plan(task, goal, [*done, wanted], apps, policy)
    step, verdict = plan.steps[-1], report.steps[-1]
    if verdict.verdict is not Verdict.ALLOW:
        raise BlockedError(
            f"{step.id}: {getattr(verdict.verdict, 'value', verdict.verdict)} "
            f"({'; '.join(verdict.reasons)})",
            step=step.id,
        )
    runner.step(step)
    done.append(wanted)


def _plan(
    task: str, goal: str, steps: Sequence[dict[str, Any]], apps: dict[str, str], policy: Policy
) -> tuple[Plan, ValidationReport]:
    timed = [{**s, "timeout": _STEP_TIMEOUT_S} for s in steps]  # episodes are short
    document = plan_document(f"miniwob-{task}", goal, {}, timed, apps=apps)
    plan = parse_plan(json.dumps(document), name=f"miniwob-{task}.json")
    report = validate_loaded(plan, [], policy=policy, api_overrides={}, app_overrides={})
    if report.errors:
        first = report.errors[0]
        raise StepFailed(first.message, location=first.location, code="invalid-plan")
    return plan, report


def _perform(page: Page, step: dict[str, Any], timeout_ms: float) -> None:
    action = next(k for k in step if k not in ("id", "value", "expect", "description"))
    argument = step[action]
    if isinstance(argument, dict):
        perform(page, action, argument, step.get("value"), timeout_ms=timeout_ms, step=step["id"])
    else:
        perform(page, action, None, argument, timeout_ms=timeout_ms, step=step["id"])


def _reward(page: Page, *, wait: bool = True) -> float:
    deadline = time.monotonic() + (_SETTLE_S if wait else 0.0)
    while True:
        try:
            done, raw = page.evaluate("() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL]")
        except PlaywrightError:
            return 0.0
        if done or time.monotonic() > deadline:
            return float(raw)
        page.wait_for_timeout(50)


def evaluate(
    tasks: list[str], seeds: int, *, direct: bool = False, verbose: bool = False
) -> dict[str, Any]:
    """Run every task for ``seeds`` seeds; per-task and overall figures.

    By default each proposal runs through lam's runner (pages served on 127.0.0.1, LiveGuard,
    default policy); ``direct`` performs the steps on file:// pages without the runner.
    """
    per_task: dict[str, Any] = {}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(BrowserSession(timeout_ms=5_000))
        harness = Harness(session, UiGoalPlanner())
        if not direct:
            harness.base_url = stack.enter_context(serve(task_dir().parent))
            harness.runs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for task in tasks:
            episodes = []
            for seed in range(seeds):
                episodes.append(run_episode(harness, task, seed))
                if verbose and not episodes[-1].success:
                    last = episodes[-1]
                    print(f"  {task} seed {seed}: {last.goal!r}: {last.error[:300]}",
                          file=sys.stderr)  # fmt: skip
            wins = sum(e.success for e in episodes)
            per_task[task] = {
                "episodes": len(episodes),
                "successes": wins,
                "refused": sum(e.refused for e in episodes),
                "rate": round(wins / len(episodes), 4),
                "mean_seconds": round(sum(e.seconds for e in episodes) / len(episodes), 3),
                "plain": task in PLAIN,
                "rule": not any(e.outside for e in episodes),
                "outside": next((e.outside for e in episodes if e.outside), ""),
                "acted_failed": sum(not e.success and not e.refused for e in episodes),
                "blocked": sum(e.blocked for e in episodes),
                "failures": [
                    {"seed": e.seed, "goal": e.goal, "refused": e.refused, "error": e.error[:300]}
                    for e in episodes
                    if not e.success
                ],
            }
    rows = per_task.items()
    return {"tasks": per_task, "overall": _overall(per_task),
            "rule": _overall({k: v for k, v in rows if v["rule"]}),
            "remainder": _overall({k: v for k, v in rows if not v["rule"]}),
            "plain": _overall({k: v for k, v in rows if v["plain"]}),
            "seeds": seeds, "mode": "direct" if direct else "runner",
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def stopped_by_guard(error: str) -> bool:
    """Whether an episode's error is the guard holding a step (destructive: needs approval)."""
    return "needs approval" in error or error.startswith("blocked")


def _with_guard_counts(per_task: dict[str, Any]) -> dict[str, Any]:
    """Per-task rows with ``blocked`` counted from the failures' errors (a --json result of
    a run that counted only the planner's own blocks is rendered the same way)."""
    fixed = {}
    for name, row in per_task.items():
        held = sum(
            stopped_by_guard(f["error"]) for f in row.get("failures", []) if not f["refused"]
        )
        acted = sum(not f["refused"] for f in row.get("failures", [])) - held
        fixed[name] = {**row, "blocked": held, "acted_failed": acted}
    return fixed


def _overall(per_task: dict[str, Any]) -> dict[str, Any]:
    episodes = sum(t["episodes"] for t in per_task.values())
    wins = sum(t["successes"] for t in per_task.values())
    return {
        "tasks": len(per_task),
        "episodes": episodes,
        "successes": wins,
        "refused": sum(t["refused"] for t in per_task.values()),
        "acted_failed": sum(t.get("acted_failed", 0) for t in per_task.values()),
        "blocked": sum(t.get("blocked", 0) for t in per_task.values()),
        "rate": round(wins / episodes, 4) if episodes else 0.0,
        "mean_task_rate": round(sum(t["rate"] for t in per_task.values()) / len(per_task), 4)
        if per_task else 0.0,
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    """A --json result as Markdown: the sets, then one row per task (the rule's set first)."""
    per_task = _with_guard_counts(result["tasks"])
    rows = per_task.items()
    result = {**result, "tasks": per_task,
              "rule": _overall({k: v for k, v in rows if v["rule"]}),
              "remainder": _overall({k: v for k, v in rows if not v["rule"]}),
              "overall": _overall(per_task),
              "plain": _overall({k: v for k, v in rows if v["plain"]})}  # fmt: skip
    lines = [
        "| set | tasks | episodes | successes | rate | refused | acted, failed | blocked |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, title in (("rule", "ordinary-control instructions (the rule)"),
                       ("remainder", "the remainder"), ("overall", "all tasks"),
                       ("plain", "the 22 tasks it was built around")):  # fmt: skip
        row = result.get(key)
        if not row or not row["tasks"]:
            continue
        lines.append(
            f"| {title} | {row['tasks']} | {row['episodes']} | {row['successes']} | "
            f"**{row['rate']:.1%}** | {row.get('refused', '')} | {row.get('acted_failed', '')} "
            f"| {row.get('blocked', '')} |"
        )
    lines += ["", "| task | set | successes | refused | acted, failed | rate | mean s |",
              "|---|---|--:|--:|--:|--:|--:|"]  # fmt: skip
    tasks = sorted(result["tasks"].items(), key=lambda kv: (not kv[1].get("rule"), kv[0]))
    for name, row in tasks:
        where = "rule" if row.get("rule") else f"remainder: {row.get('outside', '')}"
        lines.append(
            f"| {name} | {where} | {row['successes']}/{row['episodes']} | {row['refused']} | "
            f"{row.get('acted_failed', '')} | {row['rate']:.0%} | {row['mean_seconds']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--plain", action="store_true", help="only the 22 tasks of the first run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--markdown", metavar="JSON", help="print the table of an earlier --json result and exit"
    )
    parser.add_argument("--verbose", action="store_true", help="print failed episodes")
    parser.add_argument(
        "--direct", action="store_true", help="perform steps on file:// pages without the runner"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text(encoding="utf-8"))))
        return 0
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
    result = evaluate(tasks, args.seeds, direct=args.direct, verbose=args.verbose)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'task':32} {'success':>9} {'refused':>8} {'mean s':>7}  (* the rule's set)")
    for name, row in result["tasks"].items():
        mark = "*" if row["rule"] else " "
        print(f"{mark}{name:31} {row['successes']:>4}/{row['episodes']:<4} "
              f"{row['refused']:>8} {row['mean_seconds']:>7.2f}  {row['outside'][:60]}")  # fmt: skip
    for key in ("rule", "remainder", "plain", "overall"):
        row = result[key]
        if not row["tasks"]:
            continue
        print(f"{key}: {row['successes']}/{row['episodes']} episodes = {row['rate']:.1%} "
              f"over {row['tasks']} tasks (mean per-task {row['mean_task_rate']:.1%})")  # fmt: skip
    print(f"seeds 0..{args.seeds - 1}; mode {result['mode']}; {result['seconds']} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
