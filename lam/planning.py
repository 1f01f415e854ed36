"""From a goal in plain words to a validated plan for a person to review.

Two pipelines, one result type (:class:`PlannedPlan`):

- an API goal (:func:`plan_api_goal`): the rule-based planner proposes the calls from the specs;
  the plan is validated against its specs and the operator's policy before it is handed back;
- a UI goal (:func:`plan_ui_goal`): the goal is done in the sandbox (``lam do`` in a dry run),
  every step grounded on the real page and every state-changing request held, so planning
  changes nothing; the steps that ran are the plan.

A planner that cannot ground the goal, or a plan that does not validate, gives a result with
``ok`` False and says why (``unsure``, ``candidates``, ``errors``): nothing is written.
``lam plan`` (:mod:`lam.cli.plan_cmd`) and :func:`lam.plan` are shells over these.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lam.errors import PlanError, UsageError
from lam.planner.base import ActionModel, ApiTarget, Observation, plan_document
from lam.policy import Policy

__all__ = [
    "PlannedPlan",
    "api_names",
    "plan_api_goal",
    "plan_name",
    "plan_ui_goal",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class PlannedPlan:
    """What planning a goal gave.

    ``document`` is the plan (a mapping, format version 1) and ``text`` the YAML to review or
    write; both are None when ``ok`` is False. ``unsure`` and ``candidates`` say why the
    planner could not ground the goal; ``errors`` are the validation problems of the plan it
    proposed (one line each). A UI goal also gives the dry run it was planned in
    (``dry_run``: its record's folder) and the effects held there.
    """

    ok: bool
    document: dict[str, Any] | None = None
    text: str | None = None
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    unsure: tuple[str, ...] = ()
    candidates: tuple[tuple[str, ...], ...] = ()
    errors: tuple[str, ...] = ()
    dry_run: str | None = None
    effects: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    password_secret: bool = False  # a typed password became $secrets.PASSWORD

    @property
    def steps(self) -> int:
        return len(self.document["steps"]) if self.document else 0


def plan_name(goal: str) -> str:
    """A plan's name from its goal: its first six words, dashed."""
    words = re.findall(r"[A-Za-z0-9]+", goal.lower())[:6]
    return "-".join(words) or "plan"


def api_names(
    given: Sequence[str | Path] | Mapping[str, str | Path], *, single_name: str | None = None
) -> dict[str, Path]:
    """Name each spec: a mapping as given; ``NAME=SPEC`` items by their name; else the spec
    file's stem (``petstore.yaml`` -> ``petstore``). Every spec must be a file."""
    from lam.arguments import existing_file

    items: list[tuple[str, str]] = []
    if isinstance(given, Mapping):
        items = [(name, str(source)) for name, source in given.items()]
    else:
        for item in map(str, given):
            name, sep, source = item.partition("=")
            if not sep or "/" in name or name.endswith((".yaml", ".yml", ".json")):
                name, source = "", item
            items.append((name, source))
    if single_name and len(items) != 1:
        raise UsageError("--api-name needs exactly one --api", code="usage")
    out: dict[str, Path] = {}
    for name, source in items:
        path = existing_file(source, what="spec")
        name = single_name or name or _stem_name(path)
        if not _NAME.match(name):
            raise UsageError(f"API name {name!r} must be a letter then letters, digits, _ or -")
        if name in out:
            raise UsageError(f"two --api named {name!r}; name them with NAME=SPEC", code="usage")
        out[name] = path
    return out


def _stem_name(spec_path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", spec_path.stem).strip("_-")
    return name if name and name[0].isalpha() else f"api_{name}"


def plan_api_goal(
    goal: str,
    apis: Mapping[str, Path],
    *,
    policy: Policy,
    base: Path,
    base_url: str | None = None,
    planner: ActionModel | None = None,
    file_name: str = "<plan>",
) -> PlannedPlan:
    """Plan an API goal over ``apis`` (name -> spec file). ``base`` is the folder the plan will
    live in: its spec paths are written relative to it. The plan is validated (specs and
    ``policy``) before it is returned."""
    from lam.spec import load_spec

    if planner is None:
        from lam.planner.api_goals import ApiGoalPlanner

        planner = ApiGoalPlanner()
    specs = {name: load_spec(path) for name, path in apis.items()}
    proposal = planner.propose(Observation(goal, apis=specs), ())
    if not proposal.grounded:
        return PlannedPlan(
            False,
            confidence=proposal.confidence,
            unsure=tuple(proposal.unsure),
            candidates=tuple(tuple(str(c) for c in group) for group in proposal.candidates),
        )
    base = Path(os.path.abspath(base))
    targets: Mapping[str, ApiTarget] = {
        name: ApiTarget(Path(os.path.relpath(os.path.abspath(path), base)).as_posix(), base_url)
        for name, path in apis.items()
    }
    document = plan_document(plan_name(goal), goal, targets, proposal.steps, inputs=proposal.inputs)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    problems = _problems(text, file_name, base, policy)
    if problems:
        return PlannedPlan(
            False, document, None, proposal.confidence, tuple(proposal.notes), errors=problems
        )
    header = (
        f"# Planned by lam from the goal below (confidence {proposal.confidence:.2f}).\n"
        "# Review it, then: lam validate / lam dry-run / lam run.\n"
    )
    return PlannedPlan(True, document, header + text, proposal.confidence, tuple(proposal.notes))


def _problems(text: str, name: str, base: Path, policy: Policy) -> tuple[str, ...]:
    """The plan's validation problems, one line each (empty when it validates)."""
    from lam.plans import parse_plan
    from lam.validation import validate_loaded

    try:
        plan = parse_plan(text, name=name, base=base)
    except PlanError as exc:
        return (exc.one_line(),)
    report = validate_loaded(plan, [], policy=policy, api_overrides={}, app_overrides={})
    return tuple(f"{e.location}: {e.message}" for e in report.errors)


def plan_ui_goal(
    goal: str,
    app: str,
    *,
    policy: Policy,
    base: Path,
    api: Path | None = None,
    base_url: str | None = None,
) -> PlannedPlan:
    """Plan a UI goal on the app at ``app`` by doing it in the sandbox (optionally with the
    app's backend ``api`` spec). ``base`` is the folder the plan will live in."""
    from lam.agent import DoOptions, do_goal
    from lam.planner.ui_goals import UiGoalPlanner
    from lam.runtime.start import RunOptions

    options = DoOptions(
        goal=goal,
        app_url=app,
        api_spec=api,
        api_base_url=base_url,
        run=RunOptions(policy=policy, dry_run=True),
        planner=UiGoalPlanner(),
    )
    result = do_goal(options)
    effects = tuple(result.run.effects_json or ())
    if result.run.error is not None or result.plan_file is None:
        why = result.run.error.one_line() if result.run.error else "no step was planned"
        return PlannedPlan(False, errors=(why,), dry_run=result.run.directory, effects=effects)
    document = yaml.safe_load(result.plan_file.read_text(encoding="utf-8"))
    document["name"] = plan_name(goal)
    secret = any(step.get("value") == "$secrets.PASSWORD" for step in document["steps"])
    if api is not None:
        rel = Path(os.path.relpath(os.path.abspath(api), os.path.abspath(base))).as_posix()
        document["apis"]["api"]["spec"] = rel
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return PlannedPlan(
        True, document, text, dry_run=result.run.directory, effects=effects, password_secret=secret
    )
