"""What a caller names by value, checked the same way for the command line and the Python API:
a file that must exist, and ``NAME=URL`` pairs whose URLs are absolute http(s) URLs.

A problem is a :class:`~lam.errors.UsageError` (exit 2) naming what was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from lam.errors import UsageError

__all__ = ["existing_file", "pairs", "url_pairs"]


def existing_file(value: str, *, what: str = "file") -> Path:
    """A path that must name an existing file (not a folder), else a UsageError."""
    path = Path(value)
    if not path.exists():
        raise UsageError(f"{what} not found", file=value, code="not-found")
    if path.is_dir():
        raise UsageError(f"{what} is a directory", file=value, code="not-a-file")
    return path


def pairs(values: Iterable[str] | None, option: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; a malformed pair is a UsageError."""
    out: dict[str, str] = {}
    for item in values or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} takes NAME=VALUE, got {item!r}", code="usage")
        out[name.strip()] = value
    return out


def url_pairs(values: Iterable[str] | None, option: str) -> dict[str, str]:
    """``--app``/``--api`` pairs whose values must be absolute http(s) URLs with a host."""
    out = pairs(values, option)
    for name, value in out.items():
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"{option} {name}={value}: not an http(s) URL with a host "
                "(write NAME=http://HOST[:PORT][/PATH])",
                code="usage",
            )
    return out
