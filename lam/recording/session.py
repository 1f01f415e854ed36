"""The recording session: Chromium with the recorder injected, events collected, a plan written.

::

    with Recorder("http://127.0.0.1:8000/login", out="recordings/login.yaml") as page:
        page.get_by_label("Username").fill("admin")   # recorded like a person's typing

The recorder (``recorder.js``, with ``snapshot.js`` inside it) runs in every page and frame of
the context and reports each action through an exposed binding. Navigations the user started
(the start URL, a typed URL, ``page.goto``) are told apart from those a click or a key caused by
the Referer header: a browser sends none for a typed address.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, Request

from lam.adapters.browser.session import BrowserSession
from lam.adapters.browser.snapshot import frame_path, snapshot_js, with_safe_dom
from lam.errors import UsageError
from lam.recording.writer import write_recording

__all__ = ["Recorder", "recorder_script"]

_BINDING = "__lamRecord"


@cache
def recorder_script() -> str:
    """The init script: recorder.js called with snapshot.js (one accessible-name logic)."""
    recorder = (resources.files(__package__) / "recorder.js").read_text(encoding="utf-8")
    recorder = with_safe_dom(recorder)
    return f"({recorder.strip().rstrip(';')})({snapshot_js().strip().rstrip(';')});"


class Recorder:
    """Record what happens in a fresh Chromium context; write a plan on exit.

    ``params`` maps an input name to a typed field (label, name, placeholder, id or step id)
    whose recorded value becomes that input's default. ``name`` names the plan (default: the
    output file's stem).
    """

    def __init__(
        self,
        url: str,
        *,
        out: str | Path,
        params: Mapping[str, str] | None = None,
        name: str | None = None,
        headed: bool = False,
        executable: str | None = None,
    ) -> None:
        self.url = url
        self.out = Path(out)
        self.params = dict(params or {})
        self.name = name or self.out.stem.removesuffix(".plan")
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._session = BrowserSession(headed=headed, executable=executable)
        self._page: Page | None = None
        self.written: Path | None = None

    def __enter__(self) -> Page:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(write=exc_type is None or issubclass(exc_type, KeyboardInterrupt))

    def start(self) -> Page:
        """Launch Chromium, inject the recorder, open the start URL; returns the page."""
        self._session.start()
        try:
            context = self._session.context
            context.expose_binding(_BINDING, self._on_event)
            context.add_init_script(recorder_script())
            context.on("page", self._watch)
            page = context.new_page()
            self._page = page
            page.goto(self.url, wait_until="load")
        except PlaywrightError as err:
            self._session.close()
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UsageError(f"cannot open {self.url}: {first}", code="unreachable") from err
        except BaseException:
            self._session.close()
            raise
        return page

    @property
    def page(self) -> Page:
        """The page the recording started on."""
        if self._page is None:
            raise RuntimeError("the recording is not started")
        return self._page

    def wait_until_closed(self) -> None:
        """Block until the person closes every window of the recording (or Ctrl+C)."""
        context = self._session.context
        while True:
            pages = [p for p in context.pages if not p.is_closed()]
            if not pages:
                return
            with contextlib.suppress(PlaywrightError):
                pages[0].wait_for_event("close", timeout=0)

    def stop(self, *, write: bool = True) -> Path | None:
        """Collect typing still in progress, close the browser and write the recording."""
        with contextlib.suppress(PlaywrightError):
            for page in self._session.context.pages:
                self._flush(page)
        self._session.close()
        if not write:
            return None
        with self._lock:
            events = list(self.events)
        self.written = write_recording(
            events, self.out, start_url=self.url, name=self.name, params=self.params
        )
        return self.written

    def _flush(self, page: Page) -> None:
        if page.is_closed():
            return
        for frame in page.frames:
            with contextlib.suppress(PlaywrightError):
                frame.evaluate("() => window.__lamFlush && window.__lamFlush()")
        # the binding calls the flush made are answered asynchronously: let them land
        with contextlib.suppress(PlaywrightError):
            page.evaluate("() => new Promise((r) => setTimeout(r, 50))")

    def _watch(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("domcontentloaded", self._ensure_installed)

    def _ensure_installed(self, page: Page) -> None:
        # A popup's first document is swapped for the page window.open asked for without the
        # init script running again; the script guards itself, so running it twice is harmless.
        for frame in page.frames:
            with contextlib.suppress(PlaywrightError):
                frame.evaluate(recorder_script())

    def _on_request(self, request: Request) -> None:
        if not request.is_navigation_request() or request.redirected_from is not None:
            return
        frame = request.frame
        if frame.parent_frame is not None or request.headers.get("referer"):
            return  # a frame loading, or a click/submit/key (those are recorded themselves)
        if request.method != "GET":
            return
        self._add({"type": "goto", "value": request.url, "url": request.url})

    def _on_event(self, source: Mapping[str, Any], event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return
        if event.get("frame") is None:
            event["frame"] = _frame_path_or_empty(source.get("frame"))
        self._add(event)

    def _add(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)


def _frame_path_or_empty(frame: Frame | None) -> Sequence[str]:
    if frame is None:
        return []
    try:
        return list(frame_path(frame))
    except PlaywrightError:
        return []
