"""How servers read a URL path, so risk words and policy rules see what the server will route.

Servers differ: most decode percent-escapes (some twice, behind a proxy), merge repeated
slashes, resolve ``.`` and ``..`` segments, drop ``;matrix`` parameters (Tomcat, Jetty, Spring)
and some fold case or take ``\\`` for ``/`` (IIS). A request path is therefore read in every
way a server may read it: :func:`path_readings` gives them all, :func:`normalize_path` the
fully normalized one. :mod:`lam.risk.http` reads words in these readings and
:mod:`lam.policy` matches path rules against them.
"""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["decode_escapes", "normalize_path", "path_readings", "remove_dot_segments"]

_MAX_DECODES = 8


def decode_escapes(text: str) -> str:
    """``text`` with percent-escapes undone until none are left (``de%256Cete`` is
    ``delete`` to a server that decodes twice), so escapes cannot hide a verb."""
    for _ in range(_MAX_DECODES):
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    return text


def remove_dot_segments(path: str) -> str:
    """``/a/./b/../c`` -> ``/a/c`` (RFC 3986 section 5.2.4); never climbs above the root."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    joined = "/".join(out)
    if path.startswith("/") and not joined.startswith("/"):
        joined = "/" + joined
    return joined


def _tidy(path: str) -> str:
    """Backslashes as slashes, repeated slashes merged, ``;params`` dropped, dots resolved."""
    text = path.replace("\\", "/")
    while "//" in text:
        text = text.replace("//", "/")
    text = "/".join(seg.split(";", 1)[0] for seg in text.split("/"))
    return remove_dot_segments(text) or "/"


def normalize_path(path: str, *, fold_case: bool = False) -> str:
    """The path as the most lenient server routes it: escapes decoded until none are left,
    ``\\`` as ``/``, repeated slashes merged, matrix parameters dropped, dot segments resolved
    (decoding may reveal new ones, so this repeats until nothing changes), lower-cased with
    ``fold_case``."""
    text = path.split("?", 1)[0].split("#", 1)[0]
    for _ in range(_MAX_DECODES):
        tidied = _tidy(decode_escapes(text))
        if tidied == text:
            break
        text = tidied
    return text.lower() if fold_case else text


def path_readings(path: str) -> tuple[str, ...]:
    """Every way a server may read ``path``: as sent, after each round of decoding, and each
    of those tidied (see :func:`normalize_path`), in that order, without repeats."""
    bare = path.split("?", 1)[0].split("#", 1)[0] or "/"
    stages = [bare]
    for _ in range(_MAX_DECODES):
        nxt = unquote(stages[-1])
        if nxt == stages[-1]:
            break
        stages.append(nxt)
    found: list[str] = []
    for text in [*stages, *(_tidy(s) for s in stages), normalize_path(bare)]:
        if text not in found:
            found.append(text)
    return tuple(found)
