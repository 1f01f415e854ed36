"""The one check that a file a record names stays inside its run folder.

A record is data anyone with write access to the folder could have forged, so every reader
(``lam verify``, ``lam report``, the export) goes through :func:`resolve_in` before it opens a
file a record names: no absolute path, no ``..``, no symbolic link, nothing that resolves
outside the folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from lam.evidence.keys import EvidenceError

__all__ = ["UnsafePath", "resolve_in"]


class UnsafePath(EvidenceError):
    """A record names a file outside its run folder."""


def resolve_in(run_dir: Path, name: object) -> Path:
    """The file ``name`` (relative, ``/``-separated) inside ``run_dir``; raises
    :class:`UnsafePath` for anything that could reach outside it."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        raise UnsafePath(f"{name!r} is not a relative path", code="unsafe-path")
    posix = PurePosixPath(name)
    if posix.is_absolute() or PureWindowsPath(name).drive:
        raise UnsafePath(f"{name!r} is an absolute path", code="unsafe-path")
    if any(part == ".." for part in posix.parts):
        raise UnsafePath(f"{name!r} climbs out of the run folder (..)", code="unsafe-path")
    root = run_dir.resolve()
    candidate = root.joinpath(*posix.parts)
    for step in (candidate, *candidate.parents):
        if step == root:
            break
        if step.is_symlink():
            raise UnsafePath(f"{name!r} goes through a symbolic link", code="unsafe-path")
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafePath(f"{name!r} resolves outside the run folder", code="unsafe-path")
    return resolved
