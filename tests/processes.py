"""Which processes a test started: every descendant of a pid, found through /proc, and
whether a pid still runs (a zombie, exited but not reaped, does not)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["alive", "descendants"]


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(") ", 1)[1].split()  # state, ppid, pgrp, ...


def descendants(root: int) -> dict[int, str]:
    """Every process below ``root`` (pid -> its command line, cut), children of children too."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents[int(entry)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in found}
        for pid in frontier:
            try:
                found[pid] = (
                    Path(f"/proc/{pid}/cmdline").read_bytes()[:120].decode(errors="replace")
                )
            except OSError:
                found[pid] = "?"
    return found


def alive(pid: int) -> bool:
    """``pid`` runs (exists and is not a zombie)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"
