"""Annotated screenshots for the run record: the page after a UI step, the acted-on element boxed
and labelled with the step id, so a reader of the trace sees what lam touched.

Capturing is the only part a step waits for, and with ``later=True`` not even that: the
DevTools capture is sent at once and its answer collected when the run next needs the page
unchanged no more (:meth:`ScreenshotWriter.ready`, before the next action), so the frame's
read-back and encoding overlap the next step's look-up. :class:`ScreenshotWriter` saves the page's PNG as
it comes and draws the box on a worker thread (Pillow's decode and encode release the GIL), then
replaces the file with the annotated one; :meth:`ScreenshotWriter.flush` waits for every
annotation and runs before the run ends. Once a file's bytes are final (annotated, or left
plain when annotating failed) the writer hands its path to ``on_saved``, which hashes it into
the run record (:meth:`lam.runtime.record.RunRecord.attach`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import CDPSession, Page
from playwright.sync_api import Error as PlaywrightError

__all__ = ["ScreenshotWriter", "annotate", "capture", "take_screenshot"]

Box = tuple[float, float, float, float]  # x, y, width, height in CSS pixels

_CDP_CAPTURE = {"format": "png", "fromSurface": True, "optimizeForSpeed": True}
_COLOURS = {"ok": (22, 130, 60), "failed": (200, 110, 0), "blocked": (200, 20, 20)}


def annotate(
    png: bytes, box: Box | None, label: str, *, status: str = "ok", scale: float = 1.0
) -> bytes:
    """``png`` with ``box`` outlined and ``label`` written on a tab above it (top-left without
    a box). ``scale`` converts CSS pixels to image pixels (the device scale factor)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    draw = ImageDraw.Draw(image)
    colour = _COLOURS.get(status, _COLOURS["failed"])
    font = ImageFont.load_default(size=max(12, round(13 * scale)))
    if box is not None:
        x, y, w, h = (v * scale for v in box)
        x0, y0 = max(0.0, x - 3), max(0.0, y - 3)
        draw.rectangle([x0, y0, x + w + 3, y + h + 3], outline=colour, width=3)
        anchor = (x0, y0)
    else:
        anchor = (0.0, 0.0)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    tab_w, tab_h = right - left + 8, bottom - top + 6
    tx = min(anchor[0], max(0.0, image.width - tab_w))
    ty = anchor[1] - tab_h if anchor[1] >= tab_h else anchor[1]
    draw.rectangle([tx, ty, tx + tab_w, ty + tab_h], fill=colour)
    draw.text((tx + 4, ty + 3 - top), label, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # speed over size: one per step
    return out.getvalue()


def capture(page: Page, cdp: CDPSession | None = None) -> tuple[bytes, float] | None:
    """The viewport as PNG and the device scale (image pixels per CSS pixel), or None when the
    page cannot be captured (closed, crashed).

    With ``cdp`` (a DevTools session of ``page``) the compositor's frame is asked for directly
    (``Page.captureScreenshot``, optimised for speed), which skips Playwright's screenshot
    preparations (font loading, caret) and costs about half; it falls back to
    ``page.screenshot`` when that fails.
    """
    png: bytes | None = None
    if cdp is not None:
        try:
            answer = cdp.send("Page.captureScreenshot", _CDP_CAPTURE)
            png = base64.b64decode(answer["data"])
        except (PlaywrightError, KeyError, ValueError):
            png = None
    try:
        if png is None:
            png = page.screenshot(timeout=5_000, caret="initial")  # "hide": a style round trip
        viewport = page.viewport_size
        if viewport and viewport["width"] and png[12:16] == b"IHDR":
            return png, struct.unpack(">I", png[16:20])[0] / viewport["width"]
        return png, float(page.evaluate("window.devicePixelRatio") or 1.0)
    except PlaywrightError:
        return None


def _send_capture(cdp: CDPSession) -> asyncio.Task[Any] | None:
    """Send ``Page.captureScreenshot`` on ``cdp`` without waiting for the answer: a task on
    Playwright's own loop, which carries it while later calls run (None where it cannot)."""
    try:
        impl = cdp._impl_obj  # the sync API's async object: its send() is the bare call
        task: asyncio.Task[Any] = cdp._loop.create_task(
            impl.send("Page.captureScreenshot", _CDP_CAPTURE, 10_000)
        )
    except Exception:  # another Playwright than this was written for: capture in step
        return None
    return task


def _collect(cdp: CDPSession, task: asyncio.Task[Any]) -> bytes | None:
    """The PNG a :func:`_send_capture` task brought back, waiting for it if need be."""
    try:
        if not task.done():
            from playwright._impl._greenlets import wait_for_future

            wait_for_future(cdp._loop, cdp._dispatcher_fiber, task)
        answer = task.result()
        return base64.b64decode(answer["data"])
    except Exception:  # the page went (a kill, a crash): the caller falls back
        return None


def _label(step: str, status: str) -> str:
    return step if status == "ok" else f"{step} ({status})"


class ScreenshotWriter:
    """Writes a run's screenshots as ``directory/NN-STEP.png``, annotating on a worker thread.

    :meth:`take` saves the page's PNG at once (a run cut short still has it, unboxed) and
    queues the annotated version, which replaces it; :meth:`flush` waits for all of them.
    """

    def __init__(
        self,
        directory: Path,
        run_dir: Path,
        *,
        on_saved: Callable[[Path], object] | None = None,
    ) -> None:
        self.directory = directory
        self.run_dir = run_dir
        self._on_saved = on_saved
        self._number: int | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Path, Future[None]]] = []
        self._cdp: tuple[Page, CDPSession | None] | None = None
        # a capture sent and not yet collected: (task, page, path, box, label, status)
        self._sent: tuple[asyncio.Task[Any], Page, Path, Box | None, str, str] | None = None

    def take(
        self,
        page: Page,
        step: str,
        *,
        box: Box | None = None,
        status: str = "ok",
        later: bool = False,
    ) -> str | None:
        """Capture the page for ``step``; the path relative to the run directory, or None when
        the page cannot be captured (a missing screenshot must not change a step's outcome).

        ``later``: send the capture and return; its picture is collected by :meth:`ready`,
        which the caller runs before anything may change the page.
        """
        self.ready()
        cdp = self._session(page)
        if later and cdp is not None:
            task = _send_capture(cdp)
            if task is not None:
                path = self._next_path(step)
                self._sent = (task, page, path, box, _label(step, status), status)
                return path.relative_to(self.run_dir).as_posix()
        shot = capture(page, cdp)
        if shot is None:
            return None
        path = self._next_path(step)
        self._save(path, shot, box, _label(step, status), status)
        return path.relative_to(self.run_dir).as_posix()

    def ready(self) -> None:
        """Collect the capture :meth:`take` sent (``later``), if any: the page must not change
        before this returns. A capture that failed is taken again now (the page is as it was);
        a page that cannot be captured at all (closed, crashed) leaves none."""
        if self._sent is None:
            return
        task, page, path, box, label, status = self._sent
        self._sent = None
        cdp = self._cdp[1] if self._cdp is not None and self._cdp[0] is page else None
        png = _collect(cdp, task) if cdp is not None else None
        shot = _scaled(page, png) if png is not None else capture(page, None)
        if shot is not None:  # (a missing screenshot must not change a step's outcome)
            self._save(path, shot, box, label, status)

    def _save(
        self, path: Path, shot: tuple[bytes, float], box: Box | None, label: str, status: str
    ) -> None:
        png, scale = shot
        path.write_bytes(png)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lam-screenshots")
        self._pending.append(
            (path, self._pool.submit(_annotate_file, path, png, box, label, status, scale))
        )
        self._saved(wait=False)

    def _session(self, page: Page) -> CDPSession | None:
        """A DevTools session of ``page`` for fast captures (opened once per page), or None
        where one cannot be opened (the plain screenshot is used then)."""
        if self._cdp is None or self._cdp[0] is not page:
            try:
                self._cdp = (page, page.context.new_cdp_session(page))
            except PlaywrightError:
                self._cdp = (page, None)
        return self._cdp[1]

    def flush(self) -> None:
        """Collect a capture still out, then wait until every queued annotation is written (a
        failed one leaves the plain PNG)."""
        try:
            self.ready()
        finally:
            self._saved(wait=True)

    def _saved(self, *, wait: bool) -> None:
        """Hand the files whose bytes are final to ``on_saved``, in the order they were taken
        (all of them when ``wait``; otherwise those done so far)."""
        while self._pending:
            path, future = self._pending[0]
            if not wait and not future.done():
                return
            future.exception()  # waits; the unannotated PNG stays on failure
            self._pending.pop(0)
            if self._on_saved is not None:
                self._on_saved(path)

    def close(self) -> None:
        """Flush and stop the worker thread."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _next_path(self, step: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._number is None:
            self._number = len(list(self.directory.glob("*.png")))
        self._number += 1
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", step)[:60] or "step"
        return self.directory / f"{self._number:02d}-{safe}.png"


def _scaled(page: Page, png: bytes) -> tuple[bytes, float] | None:
    """``png`` with the device scale :func:`capture` gives, or None when it is not a PNG."""
    viewport = page.viewport_size
    if png[12:16] != b"IHDR":
        return None
    if viewport and viewport["width"]:
        return png, struct.unpack(">I", png[16:20])[0] / viewport["width"]
    return png, 1.0


def _annotate_file(
    path: Path, png: bytes, box: Box | None, label: str, status: str, scale: float
) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(annotate(png, box, label, status=status, scale=scale))
    os.replace(partial, path)


def take_screenshot(
    page: Page,
    directory: Path,
    run_dir: Path,
    step: str,
    *,
    box: Box | None = None,
    status: str = "ok",
    on_saved: Callable[[Path], object] | None = None,
) -> str | None:
    """Save the annotated page as ``directory/NN-STEP.png`` now; the path relative to
    ``run_dir``, or None when the page cannot be captured."""
    writer = ScreenshotWriter(directory, run_dir, on_saved=on_saved)
    try:
        return writer.take(page, step, box=box, status=status)
    finally:
        writer.close()
