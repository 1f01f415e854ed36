"""The operator's approvals for a running MCP session: ``lam approve SESSION STEP@DIGEST``.

An MCP client that cannot ask its person (no elicitation) gets an error naming the held step
and its digest; the operator reads it, and grants it from a terminal. The grant is a file in
the run registry's per-user folder (:func:`lam.runtime.registry.runtime_dir`: owner-only, refused
when another user owns it or others can write it, the rule of :mod:`lam.ownership`), under
``approvals/SESSION/STEP@DIGEST``. The MCP server only reads and removes grants there; nothing
a model sends through a tool can write one (no tool takes a path there, and the browser cannot
open file: URLs).

A grant names the step's digest: it covers the step exactly as the operator saw it, once. The
agent's retry of the same action finds it, and it is removed as it is used.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from lam.errors import UsageError
from lam.ownership import foreign_reason
from lam.runtime.registry import find_runs, runtime_dir

__all__ = ["clear", "grant", "parse_approval", "take"]

_APPROVAL = re.compile(
    r"^[A-Za-z][A-Za-z0-9_\-]{0,99}@[0-9a-f]{10}(?::(?:read|write|destructive))?$"
)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def parse_approval(value: str) -> str:
    """``STEP@DIGEST`` (or ``STEP@DIGEST:RISK``, as lam prints it for a step held for a
    request its page sent), checked; anything else is a usage error (exit 2)."""
    if _APPROVAL.match(value.strip()) is None:
        raise UsageError(
            f"{value!r} is not STEP@DIGEST (the step id and the 10-character digest lam "
            "printed when it held the step, with :RISK when it printed one)",
            code="usage",
        )
    return value.strip()


def _folder(session: str, *, create: bool) -> Path:
    if not _RUN_ID.match(session):
        raise UsageError(f"{session!r} is not a run id", code="usage")
    root = runtime_dir(create=create) / "approvals"
    folder = root / session
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (root, folder):
        try:
            why = foreign_reason(path)
        except FileNotFoundError:
            continue
        if why:
            raise UsageError(
                f"the approvals folder {why}; remove it", file=str(path), code="unsafe-registry"
            )
    return folder


def grant(session: str, approval: str) -> Path:
    """Grant ``STEP@DIGEST`` to the running session ``session`` (a run id or ``last``);
    returns the grant's file. A session that is not running is a usage error."""
    name = parse_approval(approval)
    runs = find_runs(session)
    if not runs:
        raise UsageError(f"no running session {session!r} (see lam kill's registry)", code="usage")
    folder = _folder(runs[-1].run_id, create=True)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    return path


def take(session: str, approval: str) -> bool:
    """Whether the operator granted ``approval`` (``STEP@DIGEST[:RISK]``) to ``session``;
    the grant is used up."""
    if _APPROVAL.match(approval) is None:
        return False
    try:
        folder = _folder(session, create=False)
    except UsageError:
        return False  # an unsafe folder grants nothing
    path = folder / approval
    try:
        if foreign_reason(path):
            return False
        path.unlink()
    except OSError:
        return False
    return True


def clear(session: str) -> None:
    """Remove what is left of a session's grants (when the session ends)."""
    with contextlib.suppress(OSError, UsageError):
        folder = _folder(session, create=False)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
