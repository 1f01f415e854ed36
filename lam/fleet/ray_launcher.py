"""Mission task attempts on Ray: a :class:`~lam.mission.launch.TaskLauncher` whose attempts
run as Ray tasks.

Each Ray task does on its node exactly what the local launcher does on this machine: it starts
``python -m lam.mission.task_main ATTEMPT.json`` as a child in its own process group (the
guard proxy one per process, a fooled agent confined to its own process, a stop one signal
to the group, the budget's timeout enforced from outside the child) and reads the outcome from
the child's run record. So an attempt keeps every property the supervisor relies on; Ray only
chooses the node.

A stop is ``ray.cancel``: Ray interrupts the task, which stops its child (SIGTERM to the group,
SIGKILL after the grace) and returns the outcome its record shows. The attempt's work folder
(its command, result and log files) and the records folder must be readable at the same path
on the driver and the nodes: one machine, or a shared folder on a cluster (docs/scale.md).

    with RayLauncher(address=None, workers=4) as launcher:
        run_mission(mission, options, launcher=launcher)
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType
from typing import Any

from lam.errors import EXIT_KILLED
from lam.fleet.ray_engine import import_ray, ray_session
from lam.mission.launch import AttemptOutcome, LocalLauncher, TaskAttempt, read_outcome

__all__ = ["RayLauncher", "ray_attempt"]

_FORCE_AFTER = 10.0  # a stopped task that has not ended by then is force-cancelled


def ray_attempt(attempt: TaskAttempt) -> AttemptOutcome:
    """What a Ray task runs: the attempt as the local launcher runs it, on this node."""
    running = LocalLauncher().start(attempt)
    try:
        return running.wait()
    except KeyboardInterrupt:  # ray.cancel: stop the child, then say how it ended
        running.stop()
        return running.wait()


class RayLauncher:
    """Starts each attempt as a Ray task, on a local Ray instance (``address`` None, with
    ``workers`` CPUs) or the cluster at ``address``. Use it as a context manager: Ray is
    joined on entry and left (a local instance shut down) on exit."""

    def __init__(self, address: str | None = None, *, workers: int = 4) -> None:
        self.address = address
        self.workers = max(1, workers)
        self._ray: Any = None
        self._stack = contextlib.ExitStack()
        self._task: Any = None

    def __enter__(self) -> RayLauncher:
        self._ray = import_ray()
        self._stack.enter_context(ray_session(self._ray, self.address, self.workers))
        self._task = self._ray.remote(num_cpus=1, max_retries=0)(ray_attempt)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        self._stack.close()

    def start(self, attempt: TaskAttempt) -> _RayAttempt:
        """See :class:`lam.mission.launch.TaskLauncher`."""
        if self._task is None:
            raise RuntimeError("RayLauncher is used inside a `with` block")
        return _RayAttempt(self._ray, self._task.remote(attempt), attempt)


class _RayAttempt:
    def __init__(self, ray: Any, ref: Any, attempt: TaskAttempt) -> None:
        self.ray, self.ref, self.attempt = ray, ref, attempt
        self.started = time.monotonic()
        self.stopped_at: float | None = None

    def stop(self) -> None:
        if self.stopped_at is None:
            self.stopped_at = time.monotonic()
            with contextlib.suppress(Exception):
                self.ray.cancel(self.ref, force=False)

    def wait(self) -> AttemptOutcome:
        while True:
            ready, _ = self.ray.wait([self.ref], timeout=0.05)
            if ready:
                break
            if self.stopped_at is not None and time.monotonic() - self.stopped_at > _FORCE_AFTER:
                with contextlib.suppress(Exception):
                    self.ray.cancel(self.ref, force=True)
                self.stopped_at = float("inf")  # once
        try:
            outcome: AttemptOutcome = self.ray.get(self.ref)
        except self.ray.exceptions.RayError as exc:  # cancelled, or the worker died
            outcome = read_outcome(self.attempt, None)  # what its record shows
            if self.stopped_at is not None and outcome.status != "killed":
                outcome.status, outcome.exit_code = "killed", EXIT_KILLED
            elif outcome.error is None:
                outcome.error = f"the Ray task ended without an outcome: {type(exc).__name__}"
        outcome.seconds = round(time.monotonic() - self.started, 3)
        return outcome
