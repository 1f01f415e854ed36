"""What a step executor is given and what it gives back: the seam between runner and adapters."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lam.errors import StepFailed
from lam.expressions import Context, ExpressionError, resolve_value
from lam.plans import Plan, Step
from lam.runtime.guard import Guard
from lam.runtime.kill import KillSwitch
from lam.runtime.mode import LiveMode, RunMode
from lam.runtime.record import RunRecord

if TYPE_CHECKING:
    from lam.adapters.browser.snapshot import ElementInfo

__all__ = ["STAND_IN", "Observer", "PageView", "RunState", "StepExecutor", "StepOutcome", "read_secret"]


def read_secret(name: str) -> str:
    """A secret by name, from the environment. Never written to a trace."""
    value = os.environ.get(name)
    if value is None:
        raise ExpressionError(f"$secrets.{name}: the environment variable {name} is not set")
    return value


@dataclass
class RunState:
    """Everything an executor may use while running one step."""

    plan: Plan
    inputs: Mapping[str, Any]
    outputs: dict[str, dict[str, Any]]
    guard: Guard
    record: RunRecord
    kill: KillSwitch
    app_urls: Mapping[str, str]
    api_urls: Mapping[str, str]
    strict: bool = False
    secrets: Callable[[str], str] = read_secret  # a dry run may stand placeholders in
    mode: RunMode = field(default_factory=LiveMode)  # live, or the sandbox (lam.runtime.mode)

    def context(self, response: Mapping[str, Any] | None = None) -> Context:
        return Context(self.inputs, self.outputs, self._secret, response)

    def _secret(self, name: str) -> str:
        value = self.secrets(name)
        self.record.add_secret(value)
        return value

    def resolve(self, step: Step, value: Any, where: str) -> Any:
        """Resolve expressions in a step's value; a failure is the step's failure."""
        return self.resolve_with(step, value, where, None)

    def resolve_with(
        self, step: Step, value: Any, where: str, response: Mapping[str, Any] | None
    ) -> Any:
        """Resolve against a response too (for outputs and expect)."""
        try:
            return resolve_value(value, self.context(response))
        except ExpressionError as exc:
            raise StepFailed(
                f"{where}: {exc}", step=step.id, location=f"{step.place}.{where}", code="expression"
            ) from None


STAND_IN = "stand_in"
"""The key of a step's response that says the sandbox made the answer up from the spec."""


@dataclass
class StepOutcome:
    """What one step did. ``response`` feeds ``$response...`` expressions in outputs/expect."""

    summary: str
    response: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    expect_failures: list[str] = field(default_factory=list)
    screenshot: str | None = None
    # a dry run: expectations it could not check truthfully, each with why
    expect_unchecked: list[str] = field(default_factory=list)


class StepExecutor(Protocol):
    """Runs steps of one kind ("api" or "ui") through an adapter."""

    def run_step(self, step: Step, state: RunState) -> StepOutcome: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PageView:
    """What a run's browser shows now: the page's URL, its interactive elements, as the
    snapshot reads them (:func:`lam.adapters.browser.snapshot.snapshot`), and its title."""

    url: str
    elements: tuple[ElementInfo, ...] = ()
    title: str = ""


@runtime_checkable
class Observer(Protocol):
    """An executor that can show what it sees between steps (the UI executor's page)."""

    def observe(self, state: RunState) -> PageView: ...

    def screenshot(self, state: RunState, *, full_page: bool = False, jpeg: bool = False) -> bytes:
        """The page as an image (PNG, or JPEG), taken as it is: no step, nothing recorded."""
        ...
