"""``lam mission FILE``: check a whole mission, then run it under the supervisor.

``lam validate FILE`` and ``lam dry-run FILE`` come here too when FILE is a mission
(:func:`lam.mission.load.is_mission`): the first checks it (``--check``), the second runs every
task in the sandbox (``--dry-run``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam.cli.common import (
    add_policy_option,
    add_target_options,
    announce_policy,
    existing_file,
    load_operator_policy,
    pairs,
    print_json,
    table,
    url_pairs,
)
from lam.errors import UsageError

if TYPE_CHECKING:
    from lam.mission.check import MissionReport
    from lam.mission.model import Mission, MissionOptions
    from lam.mission.result import TaskResult
    from lam.policy import Policy

__all__ = [
    "check_and_run",
    "mission_inputs",
    "mission_options",
    "only_tasks",
    "register",
    "render_mission_report",
]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "mission",
        help="run a mission: an Arazzo document whose workflows are tasks, under a supervisor",
        description="Every task is validated first; nothing runs if one is invalid. Exit 0 "
        "every task ok, 1 invalid or a task failed, 2 usage, 3 a task held for approval (its "
        "dependents not run), 4 killed.",
    )
    parser.add_argument("mission", metavar="FILE")
    add_policy_option(parser)
    add_target_options(parser)
    parser.add_argument(
        "--approve", action="append", metavar="TASK.STEP@DIGEST", default=[],
        help="approve one step of one task (repeatable), as lam printed it",
    )  # fmt: skip
    parser.add_argument(
        "--task", action="append", metavar="ID", default=[],
        help="only this task and the tasks it depends on (repeatable)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="run every task in the sandbox")
    parser.add_argument("--check", action="store_true", help="validate only; nothing runs")
    parser.add_argument("--runs-dir", metavar="DIR", help="where run records go")
    parser.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="where task attempts run: child processes here (default), or Ray tasks "
        "(--address; docs/scale.md)",
    )  # fmt: skip
    parser.add_argument("--address", metavar="ADDR", help="with --engine ray: the cluster")
    parser.add_argument(
        "--planner", choices=("embedded", "llm"), default="embedded",
        help="the action model of goal tasks, as lam do --planner (llm: the LAM_LLM* "
        "environment; it reads and updates the memory store the tasks share)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return check_and_run(
        args.mission,
        args,
        check_only=args.check,
        dry_run=args.dry_run,
    )


def check_and_run(file: str, args: argparse.Namespace, *, check_only: bool, dry_run: bool) -> int:
    """Load and check the mission at ``file``; unless ``check_only``, run it.

    ``args`` carries the options ``lam mission``, ``lam validate`` and ``lam dry-run`` share
    (``policy``, ``app``, ``api``, ``json``; ``input``, ``approve``, ``runs_dir`` when given).
    """
    from lam.mission.check import check_mission
    from lam.mission.load import load_mission

    path = existing_file(file, what="mission")
    _refuse_plan_only_options(args)
    mission = load_mission(path)  # a MissionError is one line, exit 1
    policy = load_operator_policy(args.policy, path)
    options = mission_options(mission, args, policy=policy, dry_run=dry_run)
    mission = only_tasks(mission, getattr(args, "task", None) or [])
    folder = Path(tempfile.mkdtemp(prefix="lam-mission-check-"))
    try:
        report = check_mission(
            mission,
            policy=policy,
            options=options,
            folder=folder,
            inputs_final=hasattr(args, "input"),  # lam validate takes no --input
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if report.ok:
        announce_policy(policy)
    for error in report.errors:
        print(f"lam: {error.one_line()}", file=sys.stderr)
    if check_only or not report.ok:
        if args.json:
            print_json(report.to_json())
        else:
            print(render_mission_report(report, dry_run=dry_run))
        return report.exit_code
    if not args.json:
        print(render_mission_report(report, dry_run=dry_run))
    return _supervise(mission, options, as_json=args.json)


def _supervise(mission: Mission, options: MissionOptions, *, as_json: bool) -> int:
    from lam.mission.supervisor import run_mission

    if options.engine == "ray":
        from lam.fleet.ray_launcher import RayLauncher

        with RayLauncher(options.address, workers=len(mission.tasks)) as launcher:
            result = run_mission(mission, options, launcher=launcher)
    else:
        result = run_mission(mission, options)
    if as_json:
        print_json(result.to_json())
        return result.exit_code
    rows = [
        (t.id, t.status, str(t.attempts), t.run_id or "", _why(t)) for t in result.tasks.values()
    ]
    print(f"\nmission {result.mission_id}: {result.status} (record {result.directory})")
    print(table(("task", "status", "attempts", "run", "why"), rows, width=72))
    needs = [f"--approve {n}" for t in result.tasks.values() for n in t.needs]
    if needs:
        print("to run the held tasks, review them, then: " + " ".join(needs))
    return result.exit_code


def _why(task: TaskResult) -> str:
    if task.error or task.needs:
        return task.error or " ".join(task.needs)
    if task.unchecked:  # a dry run's answers made up from the spec: said, never passed
        return f"{len(task.unchecked)} unchecked: {task.unchecked[0]}"
    return ""


# Options of `lam dry-run PLAN` a mission does not take: silently ignored, they would mislead.
_PLAN_ONLY = (("reads", "sandbox", "--reads"), ("seed", 0, "--seed"), ("headed", False,
              "--headed"), ("strict", False, "--strict"), ("screenshots", "all", "--screenshots"))  # fmt: skip


def _refuse_plan_only_options(args: argparse.Namespace) -> None:
    for name, default, option in _PLAN_ONLY:
        if getattr(args, name, default) != default:
            raise UsageError(f"{option} is an option of a plan's run; a mission does not take it")


def mission_options(
    mission: Mission, args: argparse.Namespace, *, policy: Policy, dry_run: bool
) -> MissionOptions:
    """The command line as :class:`MissionOptions`; a bad ``--approve``/``--input`` is a
    usage error (exit 2) before anything is checked or runs."""
    from lam.mission.model import MissionOptions

    inputs = pairs(getattr(args, "input", None), "--input")
    declared = {name for task in mission.tasks for name in task.declared_inputs}
    declared |= mission_inputs(mission)
    for name in inputs:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--input {name}: no task of the mission has such an input "
                             f"(inputs: {known})", code="usage")  # fmt: skip
    approvals: dict[str, set[str]] = {}
    for value in getattr(args, "approve", None) or []:
        task, dot, step = value.partition(".")
        if not dot or not step or task not in mission.ids:
            raise UsageError(
                f"--approve {value}: write TASK.STEP@DIGEST, TASK one of the mission's tasks "
                f"({', '.join(mission.ids)})",
                code="usage",
            )
        approvals.setdefault(task, set()).add(step)
    runs_dir = getattr(args, "runs_dir", None)
    return MissionOptions(
        policy=Path(policy.source) if policy.source else None,
        inputs=inputs,
        approvals={task: frozenset(steps) for task, steps in approvals.items()},
        dry_run=dry_run,
        apps=url_pairs(args.app, "--app"),
        apis=url_pairs(args.api, "--api"),
        runs_dir=Path(runs_dir) if runs_dir else None,
        engine="ray" if getattr(args, "engine", None) == "ray" else "local",
        address=getattr(args, "address", None),
        planner="llm" if getattr(args, "planner", None) == "llm" else "embedded",
    )


def only_tasks(mission: Mission, task_ids: list[str]) -> Mission:
    """The mission cut down to ``--task`` ids and what they depend on; all of it without."""
    if not task_ids:
        return mission
    try:
        return mission.only(task_ids)
    except KeyError as exc:
        from lam.plans import did_you_mean

        name = str(exc.args[0])
        hint = did_you_mean(name, mission.ids) or f" (tasks: {', '.join(mission.ids)})"
        raise UsageError(f"--task {name}: the mission has no such task{hint}") from None


def mission_inputs(mission: Mission) -> set[str]:
    """The names tasks read as ``$inputs.NAME`` in ``x-lam-inputs`` or a goal."""
    from lam.expressions import walk_expressions

    found = set()
    for task in mission.tasks:
        for _, expr in walk_expressions([dict(task.inputs), task.goal]):
            if expr.source == "inputs" and expr.name:
                found.add(expr.name)
    return found


def render_mission_report(report: MissionReport, *, dry_run: bool = False) -> str:
    """The tasks in order with their kind, dependencies and verdicts, then the outcome."""
    mission = report.mission
    layer_of = {t: i for i, layer in enumerate(mission.order()) for t in layer}
    rows = []
    for check in sorted(report.tasks, key=lambda c: (layer_of[c.task.id], c.task.index)):
        task = check.task
        if check.errors:
            state = "invalid"
        elif check.denied:
            state = "denied: " + ", ".join(check.denied)
        elif check.approvals or check.pending:
            state = "needs approval"
        elif task.kind == "goal":
            state = f"planned at run time by the {task.agent} agent"
        else:
            steps = len(check.report.steps) if check.report else 0
            state = f"{steps} step{'' if steps == 1 else 's'} allowed"
        rows.append((task.id, task.kind, ", ".join(task.depends_on), state))
    out = [f"mission {mission.name!r} ({mission.file}): {len(mission.tasks)} tasks"]
    out.append(table(("task", "kind", "depends on", "verdict"), rows))
    out.append("")
    if not report.ok:
        out.append(f"invalid: {len(report.errors)} error(s), each on stderr; nothing ran")
        return "\n".join(out)
    if report.approvals and not dry_run:
        out.append("needs approval: " + " ".join(f"--approve {a}" for a in report.approvals))
    for check in report.tasks:
        for step, waits in check.pending.items():
            out.append(
                f"needs approval: {step}, whose digest covers a value not known yet "
                f"({', '.join(waits)}); lam prints it when the task holds the step"
            )
    if not report.held:
        out.append("valid: every step of every task is allowed")
    elif dry_run:
        out.append("valid; held steps are simulated in the sandbox")
    return "\n".join(out)
