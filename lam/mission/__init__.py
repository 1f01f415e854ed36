"""Missions: one Arazzo 1.0 document whose workflows are tasks run under a supervisor.

:mod:`lam.mission.model` holds the values everything agrees on (:class:`Mission`,
:class:`Task`, :class:`MissionOptions`, :class:`MissionError`); :mod:`lam.mission.load` reads
a document into them; :mod:`lam.mission.check` validates a whole mission before anything
runs; the supervisor (:mod:`lam.mission.supervisor`) runs it. No work happens at import.
"""

from __future__ import annotations

from lam.mission.model import Mission, MissionError, MissionOptions, Task, TaskKind

__all__ = ["Mission", "MissionError", "MissionOptions", "Task", "TaskKind"]
