"""Recording workflows: a person (or a script) drives Chromium, lam writes a plan.

:func:`record` is also ``lam.record`` (loaded on first use, so ``import lam`` stays light).

::

    import lam

    with lam.record("http://127.0.0.1:8000/login", out="recordings/login.yaml") as page:
        page.get_by_label("Username").fill("admin")
        page.get_by_role("button", name="Log in").click()

The recording is a plan: review it, ``lam validate`` it, ``lam run`` it, move it with
``--app app=URL``. See :mod:`lam.recording.writer` for what is written and how.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page

from lam.recording.params import TypedField, parameterize, typed_fields
from lam.recording.session import Recorder
from lam.recording.writer import dump_plan, events_to_plan, write_recording

__all__ = [
    "Recorder",
    "TypedField",
    "dump_plan",
    "events_to_plan",
    "parameterize",
    "record",
    "typed_fields",
    "write_recording",
]


@contextmanager
def record(
    url: str,
    *,
    out: str | Path,
    params: Mapping[str, str] | None = None,
    name: str | None = None,
    headed: bool = False,
) -> Iterator[Page]:
    """Open ``url`` in a recording Chromium and yield its page; write the plan on exit.

    Drive the page as a test would; the recorder sees the same events a person makes.
    ``params`` maps input names to typed fields (see :func:`parameterize`). Nothing is
    written when the block raises (other than Ctrl+C, which ends a recording normally).
    """
    recorder = Recorder(url, out=out, params=params, name=name, headed=headed)
    page = recorder.start()
    try:
        yield page
    except KeyboardInterrupt:
        recorder.stop()
        raise
    except BaseException:
        recorder.stop(write=False)
        raise
    recorder.stop()
