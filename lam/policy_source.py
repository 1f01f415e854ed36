"""Where the policy in force comes from: ``--policy FILE``, else the project's
``.lam/policy.yaml``, else lam's built-in defaults, and how a project policy is found.

Discovery (:func:`discover_policy`) looks in the working directory and its parents, and stops
at the first *project root* (a folder holding ``.git`` or ``pyproject.toml``) or at the home
directory, whichever comes first. When neither is met on the way to the filesystem root, only
the working directory itself counts: a ``.lam/policy.yaml`` in some parent folder (``/tmp``,
a shared drive) is not the operator's, and is not used.

As git does for repositories since its ``safe.directory`` fix, a policy file is ignored, with a
warning, when it or its ``.lam`` folder belongs to another user or can be written by group or
others: whoever can write the policy decides what lam may do. ``--policy FILE`` is the
operator's own choice and is taken as given.

Every command that applies a policy says which one (:meth:`PolicySource.describe`), and a run
records its file and SHA-256 (:meth:`PolicySource.to_json`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from lam.ownership import foreign_reason
from lam.policy import POLICY_FILE, Policy, default_policy, policy_from_data

__all__ = [
    "PROJECT_MARKERS",
    "Discovery",
    "PolicySource",
    "discover_policy",
    "load_policy_file",
    "operator_policy",
    "policy_identity",
    "policy_line",
    "unsafe_reason",
]

PROJECT_MARKERS = (".git", "pyproject.toml")
"""A folder holding one of these is a project root: discovery goes no higher."""


@dataclass(frozen=True)
class Discovery:
    """The outcome of looking for a project policy: the file found (or None), the files
    ignored on the way (with why), and the folder where the search stopped."""

    path: Path | None
    ignored: tuple[str, ...] = ()
    stopped_at: Path | None = None
    bounded: bool = True  # False: no project root or home above, so only the start folder

    def searched(self) -> str:
        """Where the search looked, in words."""
        if not self.bounded:
            return f"in {self.stopped_at} only: no project root or home directory above it"
        return f"from the working directory up to {self.stopped_at}"


@dataclass(frozen=True)
class PolicySource:
    """Which policy is in force and where it came from."""

    origin: Literal["option", "project", "defaults"]
    path: Path | None = None
    sha256: str | None = None
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for stderr: ``policy: FILE (sha256 …, found in the project)``."""
        if self.path is None:
            return "policy: built-in defaults (read and write allowed, destructive approve)"
        how = "--policy" if self.origin == "option" else "found from the working directory"
        return f"policy: {self.path} (sha256 {(self.sha256 or '')[:16]}, {how})"

    def to_json(self) -> dict[str, Any]:
        """``{"file", "sha256", "origin"}``; ``file`` is None for the built-in defaults."""
        return {
            "file": str(self.path) if self.path is not None else None,
            "sha256": self.sha256,
            "origin": self.origin,
        }


def unsafe_reason(policy_file: Path) -> str | None:
    """Why ``policy_file`` (or its folder) cannot be trusted, or None when it can: another
    user owns it, or group or others may write it. (Not checked where there are no POSIX
    owners, on Windows.)"""
    for path, what in ((policy_file, "file"), (policy_file.parent, "folder")):
        try:
            reason = foreign_reason(path)
        except OSError as exc:
            return f"its {what} cannot be read ({exc.strerror})"
        if reason:
            return f"its {what} {path} {reason}"
    return None


def discover_policy(start: Path, *, home: Path | None = None) -> Discovery:
    """The project policy for a command run in ``start`` (a folder, or a file in one).

    See the module docstring for the rule; ``home`` defaults to the user's home directory.
    """
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    try:
        home_dir = (home or Path.home()).resolve()
    except RuntimeError:  # no home directory known
        home_dir = None
    folders: list[Path] = []
    stopped_at = None
    for folder in (here, *here.parents):
        folders.append(folder)
        if folder == home_dir or any((folder / m).exists() for m in PROJECT_MARKERS):
            stopped_at = folder
            break
    bounded = stopped_at is not None
    if stopped_at is None:
        folders = [here]  # outside any project and outside home: this folder only
        stopped_at = here
    ignored: list[str] = []
    for folder in folders:
        candidate = folder / POLICY_FILE
        if not candidate.is_file():
            continue
        why = unsafe_reason(candidate)
        if why is not None:
            ignored.append(f"ignoring {candidate}: {why}")
            continue
        return Discovery(candidate, tuple(ignored), stopped_at, bounded)
    return Discovery(None, tuple(ignored), stopped_at, bounded)


def load_policy_file(path: Path) -> Policy:
    """Read and check a policy file; the policy knows its file and the SHA-256 of the text
    lam read from it (``sha256sum`` of a UTF-8 file without a byte-order mark)."""
    from lam.documents import parse_text, read_text
    from lam.errors import PolicyError

    text = read_text(Path(path), error=PolicyError)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    data = parse_text(text, name=str(path), error=PolicyError)
    return replace(policy_from_data(data, file=str(path)), sha256=digest)


def operator_policy(option: str | Path | None, start: Path) -> tuple[Policy, PolicySource]:
    """The policy in force: ``option`` (``--policy``) if given, else the project's found
    from ``start``, else the built-in defaults; with where it came from."""
    if option:
        policy = load_policy_file(Path(option))
        return policy, PolicySource("option", Path(option).resolve(), policy.sha256)
    found = discover_policy(start)
    if found.path is None:
        return default_policy(), PolicySource("defaults", warnings=found.ignored)
    policy = load_policy_file(found.path)
    return policy, PolicySource("project", found.path, policy.sha256, found.ignored)


def policy_line(policy: Policy) -> str:
    """``policy: FILE (sha256 0123456789abcdef…)``, or ``policy: built-in defaults``."""
    found = policy_identity(policy)
    if found["file"] is None:
        return "policy: built-in defaults (read and write allowed, destructive approve)"
    return f"policy: {found['file']} (sha256 {(found['sha256'] or '?')[:16]})"


def policy_identity(policy: Policy) -> dict[str, Any]:
    """What a run record says about its policy: ``{"file", "sha256"}`` (both None for the
    built-in defaults)."""
    file = str(Path(policy.source).resolve()) if policy.source else None
    return {"file": file, "sha256": policy.sha256 if file else None}
