"""Planners: goals into plan steps.

:class:`ActionModel` is the interface every planner implements; :class:`ApiGoalPlanner` is the
embedded one for API goals (BM25 over the spec's operations, values from the goal, no model and
no network); :class:`UiGoalPlanner` reads imperative UI goals and grounds them on a page snapshot.
"""

from lam.planner.api_goals import ApiGoalPlanner, split_clauses
from lam.planner.base import (
    ActionModel,
    ApiTarget,
    Candidate,
    HistoryItem,
    Observation,
    Proposal,
    plan_document,
)

__all__ = [
    "ActionModel",
    "ApiGoalPlanner",
    "ApiTarget",
    "Candidate",
    "HistoryItem",
    "Observation",
    "Proposal",
    "UiGoalPlanner",
    "plan_document",
    "split_clauses",
]


def __getattr__(name: str) -> object:
    """UiGoalPlanner is imported on first use: it brings Playwright's types with it."""
    if name == "UiGoalPlanner":
        from lam.planner.ui_goals import UiGoalPlanner

        return UiGoalPlanner
    raise AttributeError(f"module 'lam.planner' has no attribute {name!r}")
