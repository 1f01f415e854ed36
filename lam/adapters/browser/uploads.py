"""The files an upload step sets, handed to the page as their bytes, so a form post carries them
as they are and lam never puts a file into a request.

Chromium hands an intercepted request's body to Playwright without the bytes of a file the
browser reads from disk: a file input set from a path gives a ``multipart/form-data`` part that
is there but empty, and the network guard, which sends state-changing requests on itself
(``route.fetch``, to check where a redirect would lead), would send it empty. Filling such parts
from the run's upload files afterwards (what lam did before) cannot tell them from an empty
``File`` a page script builds under the same name, which then left with the local file's bytes
in it. So an upload step reads its files once, when it sets them (:func:`file_payloads`), and
gives the input files made of those bytes: Chromium keeps them in memory and hands them over
whole, as it does a ``Blob`` a page builds from its own bytes. Every body is then sent as the
page built it, and no request ever makes lam read a file.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import FilePayload

from lam.errors import StepFailed

__all__ = ["MAX_UPLOAD_BYTES", "file_payloads"]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The most an upload step hands a page in all (Playwright's limit on files given as bytes)."""


def file_payloads(paths: Sequence[str]) -> list[FilePayload]:
    """The files at ``paths`` as an input's files: name, type (by extension, as a browser
    guesses it) and bytes. A file that cannot be read, or more than :data:`MAX_UPLOAD_BYTES` in
    all, fails the step before the page gets anything."""
    files = [Path(p) for p in paths]
    try:
        total = sum(f.stat().st_size for f in files)
        if total > MAX_UPLOAD_BYTES:
            raise StepFailed(
                f"upload: {total / 2**20:.1f} MiB is more than the {MAX_UPLOAD_BYTES // 2**20} "
                "MiB lam hands a page",
                code="upload-too-large",
            )
        return [
            FilePayload(
                name=f.name,
                mimeType=mimetypes.guess_type(f.name)[0] or "",
                buffer=f.read_bytes(),
            )
            for f in files
        ]
    except OSError as exc:
        raise StepFailed(
            f"upload: cannot read {exc.filename or paths}: {exc.strerror or exc}",
            code="action-failed",
        ) from None
