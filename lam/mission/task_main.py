"""``python -m lam.mission.task_main ATTEMPT.json``: one attempt of a mission task, in a child.

The supervisor (:mod:`lam.mission.supervisor`) writes the attempt as JSON
(:class:`~lam.mission.launch.TaskAttempt`) and starts this module in a process of its own. It
runs the attempt the way ``lam run``, ``lam replay`` or ``lam do`` would (the same functions of
the Python API, so the same validation, guard, kill switch and run record), with what the
command line cannot say: typed input values, the runs folder, and for a re-planned goal what
failed before (given to the planner as history, never as part of the goal). Nobody answers a
prompt here: a step that needs an approval the attempt does not carry is held (exit 3).

It writes ``NAME.started.json`` (the run id and record folder) as soon as the run record
exists, and ``NAME.result.json`` at the end; the supervisor reads the record itself for the
rest. Exit codes are the run's: 0, 1, 2, 3, 4.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam.errors import EXIT_FAILED, EXIT_USAGE, BlockedError, LamError
from lam.mission.launch import TaskAttempt
from lam.planner.base import ActionModel, HistoryItem, Observation, Proposal

if TYPE_CHECKING:
    from lam.runtime.runner import RunResult

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m lam.mission.task_main ATTEMPT.json", file=sys.stderr)
        return EXIT_USAGE
    attempt = TaskAttempt.from_json(json.loads(Path(args[0]).read_text(encoding="utf-8")))
    try:
        done = _run(attempt)
    except BlockedError as exc:
        needs = list(exc.approvals)
        done = {"status": "held", "exit": exc.exit_code, "error": exc.one_line(), "needs": needs}
    except LamError as exc:
        invalid = type(exc).__name__ == "InvalidPlanError"
        done = {
            "status": "invalid" if invalid else "failed",
            "exit": exc.exit_code,
            "error": _invalid_lines(exc) if invalid else exc.one_line(),
        }
    _write(attempt.file("result.json"), done)
    print(json.dumps(done, default=str))
    return int(done["exit"])


def _run(attempt: TaskAttempt) -> dict[str, Any]:
    from lam import facade

    hooks = facade.Hooks(on_start=lambda record: _started(attempt, record))
    common: dict[str, Any] = {
        "policy": attempt.policy,
        "inputs": dict(attempt.inputs),
        "runs_dir": attempt.runs_dir,
        "hooks": hooks,
        "screenshots": "failures",
    }
    if attempt.kind == "do":
        return _do(attempt)
    source = Path(attempt.source or "")
    _check_budget(attempt, source)
    apps, apis = _declared_overrides(source, attempt)
    common.update(apps=apps, apis=apis)
    if attempt.kind == "replay":
        replayed = facade.replay(
            source, dry_run=attempt.dry_run, approvals=attempt.approvals, **common
        )
        assert replayed.run is not None
        result = replayed.run
        healed = [h.to_json() for h in replayed.healed]
    elif attempt.dry_run:
        result, healed = facade.dry_run(source, **common), []
    else:
        result, healed = facade.run(source, approvals=attempt.approvals, **common), []
    return {**_ended(result), "healed": healed}


def _do(attempt: TaskAttempt) -> dict[str, Any]:
    from lam.agent import DoOptions, do_goal
    from lam.memory import MemoryStore
    from lam.policy_source import operator_policy
    from lam.runtime.start import RunOptions

    policy, _ = operator_policy(Path(attempt.policy) if attempt.policy else None, Path.cwd())
    memory = MemoryStore()  # the one store of this lam home: tasks of a site share it
    planner: ActionModel = _planner(attempt, memory)
    if attempt.note:
        planner = _Informed(planner, attempt.note, attempt.failed_step)
    options = DoOptions(
        goal=attempt.goal or "",
        app_url=attempt.app_url,
        api_spec=Path(attempt.api_spec) if attempt.api_spec else None,
        api_base_url=attempt.api_url,
        run=RunOptions(
            policy=policy,
            approvals=frozenset(attempt.approvals),
            dry_run=attempt.dry_run,
            runs_dir=Path(attempt.runs_dir),
            on_start=lambda record: _started(attempt, record, note=attempt.note),
        ),
        planner=planner,
        max_steps=attempt.max_steps or 25,
        max_seconds=attempt.timeout or 180.0,
        memory=memory,
    )
    return _ended(do_goal(options).run)


def _ended(result: RunResult) -> dict[str, Any]:
    """What the result file says of a run that ended (the supervisor reads its record too)."""
    return {
        "status": str(result.status),
        "exit": result.exit_code,
        "run": result.run_id,
        "record": str(Path(result.directory).resolve()),
        "error": result.error.one_line() if result.error else None,
    }


def _planner(attempt: TaskAttempt, memory: Any) -> ActionModel:
    """The goal's action model, chosen as ``lam do --planner`` chooses: the language model
    (configured by the ``LAM_LLM*`` environment the child inherits) reads and updates the
    shared memory store, so goal tasks on the same site learn from each other."""
    if attempt.planner == "llm":
        from lam.adapters.llm.model import LlmActionModel

        return LlmActionModel(memory=memory)
    if attempt.agent == "ui":
        from lam.planner.ui_goals import UiGoalPlanner

        return UiGoalPlanner()
    from lam.planner.api_goals import ApiGoalPlanner

    return ApiGoalPlanner()


class _Informed:
    """A planner told what failed on the task's previous attempt: the note comes first in
    the history it sees, as a failed item (data about the past, never a step to run) that
    carries the step that failed, when the previous run recorded it, under the id
    ``previous-attempt``: a planner can see which call or element failed, and plan around it."""

    def __init__(
        self, inner: ActionModel, note: str, failed: Mapping[str, Any] | None = None
    ) -> None:
        self.inner = inner
        self.note = HistoryItem({**(failed or {}), "id": "previous-attempt"}, "failed", note)

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        return self.inner.propose(observation, [self.note, *history])


def _check_budget(attempt: TaskAttempt, source: Path) -> None:
    """A plan with more steps than the task's ``max_steps`` does not start."""
    if attempt.max_steps is None:
        return
    document = _document(source)
    steps = document.get("steps") if document else None
    if isinstance(steps, list) and len(steps) > attempt.max_steps:
        raise LamError(
            f"the plan has {len(steps)} steps, more than the task's budget of "
            f"{attempt.max_steps} (x-lam-budget.max_steps)",
            file=str(source),
            code="over-budget",
        )


def _declared_overrides(
    source: Path, attempt: TaskAttempt
) -> tuple[dict[str, str], dict[str, str]]:
    """The mission's app and api URLs for the names this plan declares (a plan that does not
    name an app is not moved by the mission's)."""
    document = _document(source) or {}
    apps = document.get("apps") if isinstance(document.get("apps"), Mapping) else {}
    apis = document.get("apis") if isinstance(document.get("apis"), Mapping) else {}
    return (
        {k: v for k, v in attempt.apps.items() if k in (apps or {})},
        {k: v for k, v in attempt.apis.items() if k in (apis or {})},
    )


def _document(source: Path) -> dict[str, Any] | None:
    import yaml

    try:
        loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None  # the run's own validation reports it, in its own words
    return loaded if isinstance(loaded, dict) else None


def _started(attempt: TaskAttempt, record: Any, *, note: str | None = None) -> None:
    if note:  # the run's own record says it is a re-plan, and from what
        record.event("re-plan", task=attempt.task, attempt=attempt.attempt, note=note)
    _write(
        attempt.file("started.json"),
        {"run": record.run_id, "record": str(Path(record.directory).resolve()), "pid": os.getpid()},
    )


def _invalid_lines(exc: LamError) -> str:
    from lam.cli.validate_cmd import error_lines

    report = getattr(exc, "report", None)
    if report is None:
        return exc.one_line()
    return "; ".join(error_lines(report)) or exc.one_line()


def _write(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: one line in the log, never a silent death
        print(f"lam: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
