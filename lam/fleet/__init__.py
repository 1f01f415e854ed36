"""Fleets: one plan (or recording) run once per row of a data file, each row its own guarded
run and record, on a pool of workers (:mod:`lam.fleet.engine`) or on Ray
(:mod:`lam.fleet.ray_engine`), driven by :mod:`lam.fleet.batch`.

The seams (docs/scale.md): :class:`~lam.fleet.rows.Row` (one row of inputs),
:class:`~lam.fleet.job.RowJob` and :func:`~lam.fleet.job.run_row` (plain data and a top-level
function, so any process can run a row), :class:`~lam.fleet.job.RowOutcome`, and the
:class:`~lam.fleet.engine.Engine` protocol. Nothing here is imported by lam at start-up.
"""

from __future__ import annotations

__all__: list[str] = []
