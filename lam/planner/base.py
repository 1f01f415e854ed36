"""The action-model interface: a goal and what lam sees, in; proposed plan steps, out.

Every planner — the embedded API planner, a UI instruction interpreter, an LLM backend — is an
:class:`ActionModel`: given an :class:`Observation` (the goal, a page snapshot and/or the
operations of some APIs) and the :class:`HistoryItem` list of what ran so far, it returns a
:class:`Proposal` of steps in the plan format's step shape. A planner that cannot ground the goal
says so in ``Proposal.unsure`` with low ``confidence``; callers never act on such a proposal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from lam.spec import Spec

__all__ = [
    "ActionModel",
    "ApiTarget",
    "Candidate",
    "HistoryItem",
    "Observation",
    "Proposal",
    "plan_document",
]


@dataclass(frozen=True)
class Observation:
    """What the planner sees.

    ``elements`` are page snapshot elements (``lam.adapters.browser.snapshot.ElementInfo``) when
    a page is open; ``apis`` maps the plan's API names to loaded specs; ``url`` is the page's.
    """

    goal: str
    elements: Sequence[Any] = ()
    apis: Mapping[str, Spec] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    """One step already tried: the step mapping, how it went, and the error text if it failed."""

    step: Mapping[str, Any]
    status: Literal["ok", "failed", "skipped", "blocked"]
    error: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One thing a goal (or a clause of it) might mean, with its score (higher is better)."""

    ref: str  # "petstore.findPetsByStatus", "shop POST /pets", or a UI locator's text
    score: float
    label: str = ""  # a short human description, e.g. the operation's summary

    def __str__(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"{self.ref}{label} score {self.score:.2f}"


@dataclass(frozen=True)
class Proposal:
    """Steps a planner proposes, how sure it is, and what it could not ground.

    ``steps`` are plan-format step mappings (``id``, one action, ``params``/``body``/...).
    ``done`` says the goal is met once these steps ran. ``unsure`` holds one line per thing the
    planner could not ground (an operation too close to call, a required value missing), naming
    candidates and scores; a proposal with anything in ``unsure`` must not be acted on.
    ``inputs`` are plan inputs the steps refer to (name -> JSON Schema); ``notes`` explain
    choices a reviewer should know about (a value taken from a schema's example).
    """

    steps: tuple[dict[str, Any], ...]
    confidence: float
    done: bool = True
    unsure: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    candidates: tuple[tuple[Candidate, ...], ...] = ()  # per step or clause, best first

    @property
    def grounded(self) -> bool:
        """True when the proposal may be acted on: steps and nothing unsure."""
        return bool(self.steps) and not self.unsure


@runtime_checkable
class ActionModel(Protocol):
    """Anything that turns an observation and a history into proposed steps."""

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        """Propose the next steps (or the whole plan) towards ``observation.goal``."""
        ...


@dataclass(frozen=True)
class ApiTarget:
    """Where a plan's API lives: its spec (a path as the plan should write it) and base URL."""

    spec: str
    base_url: str | None = None


def plan_document(
    name: str,
    goal: str,
    apis: Mapping[str, ApiTarget | tuple[str, str | None]],
    steps: Sequence[Mapping[str, Any]],
    *,
    inputs: Mapping[str, Mapping[str, Any]] | None = None,
    apps: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A full plan mapping (format version 1) for ``steps``, ready to dump as YAML or JSON."""
    document: dict[str, Any] = {"lam": 1, "name": name, "description": goal}
    if inputs:
        document["inputs"] = {k: dict(v) for k, v in inputs.items()}
    if apis:
        declared: dict[str, Any] = {}
        for api_name, target in apis.items():
            spec, base_url = (
                (target.spec, target.base_url) if isinstance(target, ApiTarget) else target
            )
            entry: dict[str, Any] = {"spec": spec}
            if base_url:
                entry["base_url"] = base_url
            declared[api_name] = entry
        document["apis"] = declared
    if apps:
        document["apps"] = {k: {"url": v} for k, v in apps.items()}
    document["steps"] = [dict(s) for s in steps]
    return document
