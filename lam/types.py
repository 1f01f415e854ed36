"""The small shapes that every part of lam agrees on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Classification", "Decision", "Risk", "Verdict"]


class Risk(StrEnum):
    """What an action can do to the world, from harmless to harmful."""

    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]

    @classmethod
    def highest(cls, *risks: Risk) -> Risk:
        return max(risks, key=lambda r: r.rank, default=cls.READ)


_RISK_RANK = {Risk.READ: 0, Risk.WRITE: 1, Risk.DESTRUCTIVE: 2}


class Verdict(StrEnum):
    """What the operator's policy says about an action."""

    ALLOW = "allow"
    APPROVE = "approve"
    DENY = "deny"


@dataclass(frozen=True)
class Classification:
    """A risk class with the reasons that led to it, so a user can see why."""

    risk: Risk
    reasons: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    """The policy's verdict for one action, with the rule or default that gave it."""

    verdict: Verdict
    reasons: tuple[str, ...] = field(default_factory=tuple)
