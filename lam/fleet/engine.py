"""How rows are run in parallel: the :class:`Engine` protocol and the local engine.

An engine runs :func:`lam.fleet.job.run_row` for each row on up to ``workers`` workers and
hands every outcome to ``on_outcome`` in the driver's thread of choice (the driver serialises
what it does with them). When ``stop`` is set it starts no more rows and stops the rows in
flight (their runs end as killed, at a step boundary or with the request cut: the kill switch
of lam.runtime.kill) and returns within about a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from lam.fleet.job import RowJob, RowOutcome
from lam.fleet.rows import Row

__all__ = ["Engine"]


class Engine(Protocol):
    """Runs a batch's rows. ``job`` for a row may differ between rows only in its approvals;
    the driver gives each row's job through ``job_for`` when it has counted approvals to hand
    out (see :mod:`lam.fleet.batch`)."""

    def run(
        self,
        job: RowJob,
        rows: Sequence[Row],
        workers: int,
        on_outcome: Callable[[RowOutcome], None],
        stop: threading.Event,
    ) -> None:
        """Run every row (unless stopped); call ``on_outcome`` once per row that ran."""
        ...
