"""The files a run's upload steps chose, put back into the form posts that carry them.

Chromium hands an intercepted request's body to Playwright without the bytes of the files a
``multipart/form-data`` form attaches: the parts are there, their content is empty. A request
the network guard sends on itself (``route.fetch``, to check where a redirect would lead) would
reach the server with empty files. So the run remembers the files its upload steps set
(:meth:`Uploads.add`), and :meth:`Uploads.complete` fills an empty part whose file name is one
of them with that file's bytes. Only files a guarded upload step of this run chose are ever
read; a part naming any other file is left as the browser gave it.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["Uploads"]

_BOUNDARY = re.compile(r"boundary=(?:\"([^\"]+)\"|([^;\s]+))", re.IGNORECASE)
_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)


class Uploads:
    """The files this run's upload steps set, by their name as a form part carries it."""

    def __init__(self) -> None:
        self._files: dict[str, Path] = {}

    def add(self, paths: list[str]) -> None:
        """Remember the files an upload step just set on the page."""
        for path in paths:
            resolved = Path(path).resolve()
            self._files[resolved.name] = resolved

    def complete(self, content_type: str, body: bytes) -> bytes:
        """``body`` with each empty file part this run uploaded filled in; unchanged if there is
        none (not multipart, no boundary, no such part)."""
        if not self._files or "multipart/form-data" not in content_type.lower():
            return body
        found = _BOUNDARY.search(content_type)
        if not found:
            return body
        delimiter = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
        parts = body.split(delimiter)
        changed = False
        for i, part in enumerate(parts):
            head, sep, content = part.partition(b"\r\n\r\n")
            name = _FILENAME.search(head)
            if not sep or not name or content not in (b"\r\n", b""):
                continue
            path = self._files.get(name.group(1).decode("utf-8", "replace"))
            if path is None or not path.is_file():
                continue
            parts[i] = head + sep + path.read_bytes() + b"\r\n"
            changed = True
        return delimiter.join(parts) if changed else body
