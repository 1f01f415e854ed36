"""The one error tree of lam.

Every error lam raises on purpose is a :class:`LamError`. The command line renders any of
them as one line (``file: place: message``) and exits with the error's ``exit_code``; it never
shows a traceback for them.

::

    LamError                      exit 1 unless stated
    ├── UsageError                exit 2: bad option, missing file given on the command line
    ├── DocumentError             a file that cannot be read or parsed (names file and place)
    │   ├── PlanError             a plan that breaks the plan format
    │   ├── SpecError             an OpenAPI document that cannot be loaded or is invalid
    │   ├── PolicyError           exit 2: an operator policy file that is invalid
    │   ├── RecordingError        a recording that cannot be used
    │   └── MissionError          a mission that cannot run as written (lam.mission.model)
    ├── StepFailed                a step failed at run time (names the step)
    ├── GroundingError            a UI target is missing or ambiguous (lists candidates)
    ├── BlockedError              exit 3: a step is denied or lacks its approval
    ├── KilledError               exit 4: stopped by the kill switch
    └── elsewhere, beside the code that raises them: CriterionError (a malformed success
        criterion, lam.criteria), ActionError (an onSuccess/onFailure action,
        lam.runtime.flow), EgressError, EvidenceError, BrowserNotFound, LlmError,
        CannotPlanError (the Python API)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_FAILED",
    "EXIT_KILLED",
    "EXIT_OK",
    "EXIT_USAGE",
    "BlockedError",
    "DocumentError",
    "GroundingError",
    "KilledError",
    "LamError",
    "PlanError",
    "PolicyError",
    "RecordingError",
    "SpecError",
    "StepFailed",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_KILLED = 4


class LamError(Exception):
    """Root of every error lam raises on purpose.

    ``file`` and ``location`` say where the problem is (``location`` is a dotted path such as
    ``steps[3].params.petId`` or ``line 4, column 2``); ``step`` names the plan step involved.
    """

    exit_code: int = EXIT_FAILED

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        location: str | None = None,
        step: str | None = None,
        code: str = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.location = location
        self.step = step
        self.code = code

    def one_line(self) -> str:
        """The error as the command line prints it: ``file: location: message``."""
        step = f"step {self.step!r}" if self.step else None
        parts = [p for p in (self.file, self.location, step) if p]
        text = " ".join(self.message.split())
        return ": ".join([*parts, text])

    def __str__(self) -> str:
        return self.one_line()


class UsageError(LamError):
    """The command was used wrongly: an unknown option, a missing file, a bad NAME=VALUE."""

    exit_code = EXIT_USAGE


class DocumentError(LamError):
    """A file that cannot be read, decoded or parsed, or whose content breaks its schema."""


class PlanError(DocumentError):
    """A plan that breaks the plan format."""


class SpecError(DocumentError):
    """An OpenAPI document that cannot be loaded, resolved or is itself invalid."""


class PolicyError(DocumentError):
    """An operator policy that is invalid. The operator gave it, so it is a usage error."""

    exit_code = EXIT_USAGE


class RecordingError(DocumentError):
    """A recording that cannot be used."""


class StepFailed(LamError):
    """A step failed while running: its request failed, its expectation did not hold."""


class GroundingError(LamError):
    """A UI target matched nothing, or more than one element, so lam will not act on it."""

    def __init__(
        self, message: str, *, candidates: Sequence[str] = (), **kwargs: str | None
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.candidates = tuple(candidates)


class BlockedError(LamError):
    """A step is denied by policy, or needs a human approval it does not have.

    ``steps`` names the steps held; ``approvals`` the ``--approve`` values
    (``STEP@DIGEST``, ``STEP@DIGEST:RISK``) that would let them run, as data, so no caller
    reads them back out of the message (none for a denial: no approval changes that)."""

    exit_code = EXIT_BLOCKED

    def __init__(
        self,
        message: str,
        *,
        steps: Sequence[str] = (),
        approvals: Sequence[str] = (),
        **kwargs: str | None,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.steps = tuple(steps)
        self.approvals = tuple(approvals)


class KilledError(LamError):
    """The kill switch was pulled: the run stopped at a step boundary."""

    exit_code = EXIT_KILLED
