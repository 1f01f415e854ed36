"""Which step runs next: Arazzo 1.0's success and failure actions, bounded.

A step may carry ``onSuccess`` and ``onFailure``: lists of actions ``{name, type, stepId,
retryAfter, retryLimit, criteria}``. After a step, the first action of the matching list whose
``criteria`` all hold is taken (Arazzo's rule); none taken means the next step in order (after a
success) or the end of the run with the step's failure (after a failure).

- ``end``: the run ends here (as ok after a success; after a failure, with the failure).
- ``goto``: the run continues at ``stepId`` (a step of the same plan).
- ``retry`` (failures only): the step runs again after ``retryAfter`` seconds, at most
  ``retryLimit`` times in a row (1 when not given, as Arazzo says); then the failure stands.

Bounds, so no plan can loop without end: ``retryAfter`` is capped at :data:`MAX_RETRY_AFTER`
and slept in kill-aware slices, and a run executes at most ``max_step_runs`` steps (the plan's
``max_step_runs``, else :data:`DEFAULT_STEP_RUNS`, never fewer than the plan has steps).
Only a step *failure* (a :class:`~lam.errors.StepFailed`: a request that failed, an
``expect`` or a success criterion that did not hold) reaches ``onFailure``: a step the guard
blocked and a kill end the run whatever the actions say. Every execution goes through the
runner's guard exactly as the first did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lam.criteria import Criterion, CriterionError, evaluate, parse_criterion
from lam.errors import LamError, StepFailed
from lam.expressions import Context

if TYPE_CHECKING:
    from lam.plans import Step
    from lam.runtime.kill import KillSwitch

__all__ = [
    "DEFAULT_STEP_RUNS",
    "MAX_RETRY_AFTER",
    "Action",
    "ActionError",
    "choose",
    "parse_actions",
    "walk",
]

MAX_RETRY_AFTER = 30.0
"""Seconds: a longer ``retryAfter`` is cut to this (and the record says so)."""

DEFAULT_STEP_RUNS = 100
"""Step executions a run may make when the plan does not say (``max_step_runs``)."""


ActionType = Literal["end", "goto", "retry"]
_KINDS: dict[str, tuple[ActionType, ...]] = {
    "onSuccess": ("end", "goto"),
    "onFailure": ("end", "goto", "retry"),
}
_KEYS = frozenset({"name", "type", "stepId", "workflowId", "retryAfter", "retryLimit", "criteria"})


class ActionError(LamError):
    """A malformed success or failure action (the location names which)."""


@dataclass(frozen=True)
class Action:
    """One success or failure action, checked."""

    name: str
    type: ActionType
    step_id: str | None = None
    retry_after: float = 0.0
    retry_limit: int = 1
    criteria: tuple[Criterion, ...] = ()


def parse_actions(raw: Any, kind: Literal["onSuccess", "onFailure"]) -> tuple[Action, ...]:
    """The actions of ``onSuccess`` or ``onFailure`` as a plan writes them. A problem is an
    :class:`ActionError` whose ``location`` is relative to the list (``[1].stepId``)."""
    if not isinstance(raw, list):
        raise ActionError(f"{kind} is a list of actions", code="action")
    return tuple(_action(item, kind, f"[{i}]") for i, item in enumerate(raw))


def _action(raw: Any, kind: str, where: str) -> Action:
    def bad(message: str, at: str = "") -> ActionError:
        return ActionError(message, location=where + at, code="action")

    if not isinstance(raw, Mapping):
        raise bad("an action is a mapping {name, type, ...}")
    if "reference" in raw:
        raise bad("a plan writes its actions out; $components references are resolved by "
                  "`lam import`", ".reference")  # fmt: skip
    unknown = sorted(str(k) for k in raw if k not in _KEYS and not str(k).startswith("x-"))
    if unknown:
        raise bad(f"an action takes {', '.join(sorted(_KEYS))}, not {', '.join(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise bad("an action needs a name", ".name")
    kinds = _KINDS[kind]
    action_type = raw.get("type")
    if action_type not in kinds:
        raise bad(f"{kind} actions are {' | '.join(kinds)}, not {action_type!r}", ".type")
    if "workflowId" in raw:
        raise bad("a plan's actions stay within the plan: a goto names a stepId",
                  ".workflowId")  # fmt: skip
    step_id = raw.get("stepId")
    if action_type == "goto" and not isinstance(step_id, str):
        raise bad("a goto needs the stepId it goes to", ".stepId")
    if action_type != "goto" and step_id is not None:
        raise bad(f"an {action_type} action takes no stepId", ".stepId")
    retry_after = raw.get("retryAfter", 0)
    retry_limit = raw.get("retryLimit", 1)
    if action_type != "retry" and ("retryAfter" in raw or "retryLimit" in raw):
        raise bad("retryAfter and retryLimit belong to retry actions")
    if (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, int | float)
        or not (0 <= retry_after < float("inf"))
    ):
        raise bad("retryAfter is a number of seconds, 0 or more", ".retryAfter")
    if isinstance(retry_limit, bool) or not isinstance(retry_limit, int) or retry_limit < 0:
        raise bad("retryLimit is a whole number, 0 or more", ".retryLimit")
    criteria_raw = raw.get("criteria", [])
    if not isinstance(criteria_raw, list):
        raise bad("criteria is a list of Criterion objects", ".criteria")
    criteria = []
    for i, item in enumerate(criteria_raw):
        try:
            criteria.append(parse_criterion(item))
        except CriterionError as exc:
            raise bad(exc.message, f".criteria[{i}]") from None
    return Action(name, action_type, step_id, float(retry_after), retry_limit, tuple(criteria))


def choose(actions: Sequence[Action], context: Context) -> Action | None:
    """The first action whose criteria all hold (an action without criteria always does)."""
    for action in actions:
        if all(evaluate(c, context) for c in action.criteria):
            return action
    return None


def walk(
    steps: Sequence[Step],
    attempt: Callable[[Step], tuple[StepFailed | None, Context]],
    *,
    kill: KillSwitch,
    max_step_runs: int,
    event: Callable[..., object],
) -> None:
    """Run ``steps`` from the first, following their actions, until the run ends.

    ``attempt`` runs one step (through the guard) and returns its failure, if any, with the
    context its criteria are read in (the step's response). A failure no action handles is
    raised; so is anything ``attempt`` raises (a blocked step, a kill)."""
    index = {step.id: i for i, step in enumerate(steps)}
    at = 0
    runs = 0
    retries = 0  # retries of the step at ``at`` in a row
    while at < len(steps):
        step = steps[at]
        if runs >= max_step_runs:
            raise StepFailed(
                f"the run made {runs} step executions, the most it may (max_step_runs: "
                f"{max_step_runs}); step {step.id!r} did not run again. A goto or retry loop "
                "that does not end?",
                step=step.id,
                location=step.place,
                code="step-run-limit",
            )
        runs += 1
        failure, context = attempt(step)
        actions = step.on_failure if failure is not None else step.on_success
        action = choose(actions, context)
        if action is not None:
            event("flow", step=step.id, outcome="failed" if failure else "ok",
                  action=action.name, kind=action.type, to=action.step_id)  # fmt: skip
        if action is None or action.type == "end":
            if failure is not None:
                raise failure
            if action is not None:
                return
            at, retries = at + 1, 0
        elif action.type == "goto":
            at, retries = index[action.step_id or ""], 0
        else:  # retry: an onFailure action only, so there is a failure
            assert failure is not None
            if retries >= action.retry_limit:
                raise failure
            retries += 1
            wait = min(action.retry_after, MAX_RETRY_AFTER)
            if action.retry_after > MAX_RETRY_AFTER:
                event("warning", message=f"step {step.id!r}: retryAfter {action.retry_after}s "
                      f"cut to {MAX_RETRY_AFTER:g}s")  # fmt: skip
            if wait > 0 and kill.sleep(wait):
                kill.check(f"waiting to retry step {step.id!r}", step=step.id)
