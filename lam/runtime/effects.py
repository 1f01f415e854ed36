"""Effects: what a dry run would have done to the live systems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Effect", "EffectLog"]


@dataclass(frozen=True)
class Effect:
    """One state-changing request that a dry run held instead of sending."""

    step: str
    method: str
    url: str
    body: Any
    risk: str
    verdict: str
    answered_by: str = "simulator"  # or "synthetic": the page after it is not the real one

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "method": self.method,
            "url": self.url,
            "body": self.body,
            "risk": self.risk,
            "verdict": self.verdict,
            "answered_by": self.answered_by,
        }


class EffectLog:
    """Collects effects in the order they were held: a dry run's effect sink
    (:class:`lam.runtime.mode.EffectSink`)."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []

    def add(self, effect: Effect) -> None:
        self.effects.append(effect)

    @property
    def held(self) -> tuple[Effect, ...]:
        """The effects held so far, in order."""
        return tuple(self.effects)

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.effects]
