"""``lam plan GOAL --api SPEC``: a goal in plain words -> a plan for a person to review.

The plan is validated (against its specs and the operator's policy) before it is printed or
written; a planner that cannot ground the goal, or a plan that does not validate, writes nothing
and exits 1 with the candidates it weighed. Exit codes: 0 written · 1 could not plan or invalid ·
2 usage.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from lam.cli.common import add_policy_option, existing_file, load_operator_policy, print_json
from lam.errors import EXIT_FAILED, EXIT_OK, UsageError
from lam.planner.base import ActionModel, ApiTarget, Observation, Proposal, plan_document
from lam.spec import Spec, load_spec

__all__ = ["register", "run"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

# Planners by the kind of target the command line names. The UI planner plugs in here.
PlannerFactory = Callable[[argparse.Namespace], ActionModel]


def _api_planner(args: argparse.Namespace) -> ActionModel:
    from lam.planner.api_goals import ApiGoalPlanner

    return ApiGoalPlanner()


PLANNERS: dict[str, PlannerFactory] = {"api": _api_planner}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="turn a goal into a plan for review",
        description="Turn a goal in plain words into a validated plan (YAML) for review.",
    )
    parser.add_argument("goal", metavar="GOAL", help='what to do, e.g. "list available pets"')
    parser.add_argument(
        "--api",
        action="append",
        metavar="[NAME=]SPEC",
        help="an OpenAPI spec the plan may call (repeatable)",
    )
    parser.add_argument("--api-name", metavar="NAME", help="the plan's name for a single --api")
    parser.add_argument("--base-url", metavar="URL", help="the API's base URL in the plan")
    parser.add_argument("--app", metavar="URL", help="a web app to plan UI steps for")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the plan here")
    parser.add_argument("--json", action="store_true", help="print a JSON result")
    add_policy_option(parser)
    parser.set_defaults(func=run)


def _api_name(spec_path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", spec_path.stem).strip("_-")
    return name if name and name[0].isalpha() else f"api_{name}"


def _apis(args: argparse.Namespace) -> dict[str, Path]:
    given: list[str] = args.api or []
    if args.api_name and len(given) != 1:
        raise UsageError("--api-name needs exactly one --api", code="usage")
    out: dict[str, Path] = {}
    for item in given:
        name, sep, source = item.partition("=")
        if not sep or "/" in name or name.endswith((".yaml", ".yml", ".json")):
            name, source = "", item
        path = existing_file(source, what="spec")
        name = args.api_name or name or _api_name(path)
        if not _NAME.match(name):
            raise UsageError(f"API name {name!r} must be a letter then letters, digits, _ or -")
        if name in out:
            raise UsageError(f"two --api named {name!r}; name them with NAME=SPEC", code="usage")
        out[name] = path
    return out


def _plan_name(goal: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", goal.lower())[:6]
    return "-".join(words) or "plan"


def _unsure(proposal: Proposal, as_json: bool) -> int:
    if as_json:
        print_json(
            {
                "ok": False,
                "confidence": proposal.confidence,
                "unsure": list(proposal.unsure),
                "candidates": [[str(c) for c in group] for group in proposal.candidates],
            }
        )
    for line in proposal.unsure:
        print(f"lam: cannot plan: {line}", file=sys.stderr)
    print("lam: nothing written; say more in the goal (an id, a name, the action)", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """The ``plan`` command."""
    if args.app:
        return _plan_ui(args)
    if not args.api:
        raise UsageError("give --api SPEC (the API the goal is about)", code="usage")
    out = Path(args.output) if args.output else None
    if out is not None and out.is_dir():
        raise UsageError("-o is a directory", file=str(out), code="not-a-file")
    if out is not None and not out.parent.is_dir():
        raise UsageError("-o: no such directory", file=str(out.parent), code="not-found")
    paths = _apis(args)
    specs: dict[str, Spec] = {name: load_spec(path) for name, path in paths.items()}
    policy = load_operator_policy(args.policy)
    planner = PLANNERS["api"](args)
    proposal = planner.propose(Observation(args.goal, apis=specs), ())
    if not proposal.grounded:
        return _unsure(proposal, args.json)
    base = Path(os.path.abspath(out.parent if out else Path.cwd()))
    targets: Mapping[str, ApiTarget] = {
        name: ApiTarget(
            Path(os.path.relpath(os.path.abspath(path), base)).as_posix(), args.base_url
        )
        for name, path in paths.items()
    }
    document = plan_document(
        _plan_name(args.goal), args.goal, targets, proposal.steps, inputs=proposal.inputs
    )
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    problems = _validate(text, out.name if out else "<plan>", base, policy)
    if problems:
        for line in problems:
            print(f"lam: planned steps do not validate: {line}", file=sys.stderr)
        if args.json:
            print_json({"ok": False, "errors": problems, "plan": document})
        return EXIT_FAILED
    header = (
        f"# Planned by lam from the goal below (confidence {proposal.confidence:.2f}).\n"
        "# Review it, then: lam validate / lam dry-run / lam run.\n"
    )
    if out is not None:
        out.write_text(header + text, encoding="utf-8")
    if args.json:
        print_json(
            {
                "ok": True,
                "written": str(out) if out else None,
                "confidence": proposal.confidence,
                "notes": list(proposal.notes),
                "plan": document,
            }
        )
    elif out is None:
        sys.stdout.write(header + text)
    for note in proposal.notes:
        print(f"lam: note: {note}", file=sys.stderr)
    if out is not None and not args.json:
        print(f"lam: wrote {out} ({len(proposal.steps)} steps)", file=sys.stderr)
    return EXIT_OK


def _validate(text: str, name: str, base: Path, policy: Any) -> list[str]:
    """The plan's validation problems, one line each (empty when it validates)."""
    from lam.errors import PlanError
    from lam.plan import parse_plan
    from lam.validate import validate_loaded

    try:
        plan = parse_plan(text, name=name, base=base)
    except PlanError as exc:
        return [exc.one_line()]
    report = validate_loaded(plan, [], policy=policy, api_overrides={}, app_overrides={})
    return [f"{e.location}: {e.message}" for e in report.errors]


def _plan_ui(args: argparse.Namespace) -> int:
    """A UI goal is planned by doing it in the sandbox: every step is grounded on the real
    page, and every state-changing request is held, so planning changes nothing."""
    from lam.agent import DoOptions, do_goal
    from lam.planner.ui_goals import UiGoalPlanner
    from lam.run.start import RunOptions

    out = Path(args.output) if args.output else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError("-o must name a file in an existing directory", file=str(out))
    paths = _apis(args)
    if len(paths) > 1:
        raise UsageError("with --app, give at most one --api (the app's backend)", code="usage")
    spec = next(iter(paths.values()), None)
    options = DoOptions(
        goal=args.goal,
        app_url=args.app,
        api_spec=spec,
        api_base_url=args.base_url,
        run=RunOptions(policy=load_operator_policy(args.policy), dry_run=True),
        planner=UiGoalPlanner(),
    )
    result = do_goal(options)
    if result.run.error is not None or result.plan_file is None:
        why = result.run.error.one_line() if result.run.error else "no step was planned"
        print(f"lam: cannot plan: {why}", file=sys.stderr)
        print(f"lam: nothing written; the dry run is in {result.run.directory}", file=sys.stderr)
        return EXIT_FAILED
    document = yaml.safe_load(result.plan_file.read_text(encoding="utf-8"))
    document["name"] = _plan_name(args.goal)
    if any(step.get("value") == "$secrets.PASSWORD" for step in document["steps"]):
        print(
            "lam: the password is not written into the plan: it reads $secrets.PASSWORD, "
            "so set PASSWORD in the environment before lam run",
            file=sys.stderr,
        )
    if spec is not None:
        base = Path(os.path.abspath(out.parent if out else Path.cwd()))
        rel = Path(os.path.relpath(os.path.abspath(spec), base)).as_posix()
        document["apis"]["api"]["spec"] = rel
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    effects = result.run.effects_json or []
    if out is not None:
        out.write_text(text, encoding="utf-8")
    if args.json:
        print_json({"ok": True, "plan": document, "file": str(out) if out else None,
                    "dry_run": result.run.directory, "effects": effects})  # fmt: skip
    elif out is None:
        print(text, end="")
    else:
        print(f"wrote {out} ({len(document['steps'])} steps; dry run in {result.run.directory})")
    from lam.run.sign_in import PASSED_LIVE

    for effect in effects:
        did = "the dry run signed in live:" if effect.get("answered_by") == PASSED_LIVE else None
        print(
            f"lam: {did or 'the plan would'} {effect['method']} {effect['url']} "
            f"({effect['risk']}, {effect['verdict']})",
            file=sys.stderr,
        )
    return EXIT_OK
