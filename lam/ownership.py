"""Whether a file or folder can be trusted as the current user's own: the one rule behind the
policy lookup (a planted policy) and the run registry (a planted run entry), as git's
``safe.directory`` has it: owned by this user, and writable by nobody else."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

__all__ = ["foreign_reason"]


def foreign_reason(path: Path) -> str | None:
    """Why ``path`` is not this user's alone (another user owns it, or group or others may
    write it), or None when it is. Raises OSError when it cannot be read. Not checked where
    there are no POSIX owners (Windows)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None or sys.platform == "win32":
        return None
    info = path.stat()
    if info.st_uid != getuid():
        return f"belongs to another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by group or others (chmod go-w {path})"
    return None
