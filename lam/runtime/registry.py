"""The runs in progress of this user: one small file per run in a per-user runtime folder.

A run registers when it starts (:func:`register`) and removes its entry when it ends, so
``lam kill`` finds it from any directory. The folder is ``$LAM_RUNTIME_DIR``, else
``$XDG_RUNTIME_DIR/lam``, else ``lam-UID`` in the temporary directory; lam creates it
owner-only and refuses one that another user owns or that others can write (a planted entry
would make ``lam kill`` signal a process of the planter's choosing).

An entry whose process is gone, or whose pid now belongs to another process (compared by the
process's start time where ``/proc`` tells it), is stale: listing skips and removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.errors import UsageError
from lam.ownership import foreign_reason

__all__ = [
    "RunEntry",
    "find_runs",
    "live_runs",
    "register",
    "registered",
    "runtime_dir",
    "wait_ended",
]

_SUFFIX = ".json"


@dataclass(frozen=True)
class RunEntry:
    """One registered run: its id, process, record directory and start time."""

    run_id: str
    pid: int
    directory: str
    started: float
    proc_start: str | None = None  # the process's start time in clock ticks (/proc), if known
    path: Path | None = None  # the entry's own file

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pid": self.pid,
            "directory": self.directory,
            "started": self.started,
            "proc_start": self.proc_start,
        }


def runtime_dir(*, create: bool = False) -> Path:
    """The per-user folder of run entries (see the module docstring); a folder that another
    user owns or that group or others can write is refused (exit 2)."""
    chosen = os.environ.get("LAM_RUNTIME_DIR")
    if chosen:
        folder = Path(chosen)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "lam"
    else:
        folder = Path(tempfile.gettempdir()) / f"lam-{_uid()}"
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(folder)
    return folder


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else 0


def _check_private(folder: Path) -> None:
    try:
        foreign = foreign_reason(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(
            f"cannot read the run registry: {exc.strerror}", file=str(folder)
        ) from None
    if foreign:
        raise UsageError(
            "the run registry belongs to another user or others can write it; "
            "remove it or set LAM_RUNTIME_DIR",
            file=str(folder),
            code="unsafe-registry",
        )


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def register(run_id: str, directory: Path) -> Path:
    """Write this process's entry for ``run_id``; returns the entry's path."""
    folder = runtime_dir(create=True)
    entry = RunEntry(
        run_id, os.getpid(), str(Path(directory).resolve()), time.time(), process_start(os.getpid())
    )
    path = folder / f"{run_id}{_SUFFIX}"
    tmp = folder / f".{run_id}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(entry.to_json(), handle)
    os.replace(tmp, path)
    return path


@contextmanager
def registered(run_id: str, directory: Path) -> Iterator[Path]:
    """Registered for the life of the block; the entry is removed however the block ends."""
    path = register(run_id, directory)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _read(path: Path) -> RunEntry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunEntry(
            str(data["run_id"]),
            int(data["pid"]),
            str(data["directory"]),
            float(data["started"]),
            data.get("proc_start"),
            path,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(entry: RunEntry) -> bool:
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not this user's process: not one of this user's runs
    except OSError:
        return False
    if entry.proc_start is not None:
        now = process_start(entry.pid)
        if now is not None and now != entry.proc_start:
            return False  # the pid was reused by another process
    return True


def live_runs() -> list[RunEntry]:
    """Every registered run whose process is still running, oldest first; stale entries
    (and unreadable ones) are removed on the way."""
    folder = runtime_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{_SUFFIX}")):
        entry = _read(path)
        if entry is None or not _alive(entry):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        found.append(entry)
    return sorted(found, key=lambda e: e.started)


def find_runs(run: str | None) -> list[RunEntry]:
    """The live runs ``run`` names: every one for None, the newest for ``last``, else the
    one whose id is ``run`` or whose record directory is the path ``run``."""
    runs = live_runs()
    if run is None:
        return runs
    if run == "last":
        return runs[-1:]
    as_path = str(Path(run).resolve()) if os.sep in run or Path(run).is_dir() else None
    return [e for e in runs if e.run_id == run or (as_path is not None and e.directory == as_path)]


def wait_ended(entries: list[RunEntry], *, timeout: float) -> list[RunEntry]:
    """Wait until each run has ended (its entry removed, or its process gone); returns the
    ones still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    left = list(entries)
    while left:
        left = [e for e in left if e.path is not None and e.path.exists() and _alive(e)]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return left
