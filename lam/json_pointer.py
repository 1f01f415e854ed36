"""JSON Pointer (RFC 6901): the one implementation lam reads and writes pointers with.

A pointer is ``""`` (the whole document) or ``/`` followed by tokens separated by ``/``; in a
token ``~1`` stands for ``/`` and ``~0`` for ``~`` (:func:`escape`, :func:`unescape`). Into a
list, a token is an index only when it is ``0`` or ASCII digits without a leading zero
(:func:`index`): ``str.isdigit`` also says yes to ``²`` and ``٣``, and ``int("²")`` raises.

::

    >>> join(["paths", "/pets/{id}", "get"])
    '/paths/~1pets~1{id}/get'
    >>> parse("/paths/~1pets~1{id}/get")
    ['paths', '/pets/{id}', 'get']
    >>> resolve({"tags": [{"name": "a"}]}, "/tags/0/name")
    'a'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

__all__ = ["PointerNotFound", "escape", "index", "join", "parse", "resolve", "unescape"]

_INDEX = re.compile(r"0|[1-9][0-9]*", re.ASCII)


class PointerNotFound(LookupError):
    """A pointer that does not reach a value in a document; the message says where it stopped
    (``no key 'name' at #/tags/0``). ``at`` is the part of the pointer that was followed."""

    def __init__(self, message: str, *, at: str) -> None:
        super().__init__(message)
        self.at = at


def escape(token: str | int) -> str:
    """One token as it stands in a pointer: ``a/b~c`` -> ``a~1b~0c``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """One token of a pointer as the key it names: ``a~1b~0c`` -> ``a/b~c`` (``~1`` first, so
    ``~01`` is ``~1``, not ``/``)."""
    return token.replace("~1", "/").replace("~0", "~") if "~" in token else token


def join(tokens: Iterable[str | int]) -> str:
    """The pointer of a path of keys and indexes (``""`` for none)."""
    return "".join("/" + escape(token) for token in tokens)


def parse(pointer: str, *, fragment: bool = False) -> list[str]:
    """The keys a pointer names, unescaped. ``fragment``: the pointer comes from a URI fragment
    (``#/components/schemas/Pet%20Type``), so each token is percent-decoded first.

    Raises ValueError for text that is not a pointer (not empty and not starting with ``/``).
    """
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer is empty or starts with '/', not {pointer[:40]!r}")
    raw = pointer[1:].split("/")
    if fragment:
        raw = [unquote(token) if "%" in token else token for token in raw]
    return [unescape(token) for token in raw]


def index(token: str) -> int | None:
    """The list index a token names (``0``, ``12``), or None (``01``, ``-``, ``²``, ``-1``)."""
    return int(token) if _INDEX.fullmatch(token) else None


def resolve(document: Any, pointer: str | Sequence[str], *, fragment: bool = False) -> Any:
    """The value ``pointer`` (a pointer, or the keys :func:`parse` gives) reaches in
    ``document``.

    Raises PointerNotFound naming where it stopped, or ValueError for text that is not a
    pointer.
    """
    tokens = parse(pointer, fragment=fragment) if isinstance(pointer, str) else pointer
    current = document
    walked = ""
    for token in tokens:
        where = f"#{walked or '/'}"
        if isinstance(current, Mapping):
            if token not in current:
                raise PointerNotFound(f"no key {token!r} at {where}", at=walked)
            current = current[token]
        elif isinstance(current, list):
            i = index(token)
            if i is None or i >= len(current):
                raise PointerNotFound(
                    f"no item {token} at {where} (list of {len(current)})", at=walked
                )
            current = current[i]
        else:
            kind = type(current).__name__
            raise PointerNotFound(f"cannot look up {token!r} in a {kind} at #{walked}", at=walked)
        walked += "/" + escape(token)
    return current
