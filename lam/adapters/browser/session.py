"""A browser session: one Chromium, a fresh context per run, and a close that never hangs."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from lam.adapters.browser.chromium import launch

__all__ = ["BrowserSession"]

_CLOSE_GRACE_S = 10.0


class BrowserSession:
    """One Chromium for the life of the session; :meth:`new_context` gives each run a clean slate.

    ::

        with BrowserSession() as session:
            session.page.goto("http://127.0.0.1:8000/")

    With ``proxy`` every request the browser sends goes to that proxy (see
    :func:`~lam.adapters.browser.chromium.launch`); ``trust_ca`` is a CA certificate (PEM) that
    Playwright's own HTTP client (``route.fetch``) trusts, for a proxy that reads HTTPS.

    Closing first asks Chromium politely; if it has not gone after a grace period, a watchdog
    kills the browser processes this session started, so a wedged page cannot hang lam.
    """

    def __init__(
        self,
        *,
        headed: bool = False,
        executable: str | None = None,
        timeout_ms: float = 10_000,
        context_options: dict[str, Any] | None = None,
        proxy: Mapping[str, str] | None = None,
        browser_args: Sequence[str] = (),
        trust_ca: Path | None = None,
    ) -> None:
        self._proxy = dict(proxy) if proxy is not None else None
        self._browser_args = tuple(browser_args)
        self._trust_ca = trust_ca
        self._headed = headed
        self._executable = executable
        self._timeout_ms = timeout_ms
        self._context_options = dict(context_options or {})
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None

    def __enter__(self) -> BrowserSession:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start Playwright and launch Chromium (done by ``with``)."""
        if self._browser is not None:
            return
        with _node_trusts(self._trust_ca):
            self._playwright = sync_playwright().start()
        try:
            self._browser = launch(
                self._playwright,
                headed=self._headed,
                executable=self._executable,
                proxy=self._proxy,
                args=self._browser_args,
            )
        except BaseException:
            self._playwright.stop()
            self._playwright = None
            raise

    @property
    def browser(self) -> Browser:
        """The running browser."""
        if self._browser is None:
            raise RuntimeError("BrowserSession is not started")
        return self._browser

    @property
    def context(self) -> BrowserContext:
        """The current run's context (made on first use)."""
        if self._context is None:
            self.new_context()
        assert self._context is not None
        return self._context

    @property
    def page(self) -> Page:
        """The current run's page (made on first use)."""
        if self._page is None or self._page.is_closed():
            self._page = self.context.new_page()
        return self._page

    def new_context(self, **options: Any) -> BrowserContext:
        """Close the current context, if any, and open a fresh one: no cookies, no storage."""
        if self._context is not None:
            with contextlib.suppress(Exception):
                self._context.close()
        merged = {**self._context_options, **options}
        self._context = self.browser.new_context(**merged)
        self._context.set_default_timeout(self._timeout_ms)
        self._page = None
        return self._context

    def abort(self) -> None:
        """Kill the browser at once, from any thread (lam's kill switch): every pending
        Playwright call then fails instead of waiting out its timeout. :meth:`close` after."""
        _kill_descendants(os.getpid())

    def close(self) -> None:
        """Close everything; kill the browser if it does not go within a grace period."""
        watchdog = threading.Timer(_CLOSE_GRACE_S, _kill_descendants, args=(os.getpid(),))
        watchdog.daemon = True
        watchdog.start()
        try:
            if self._context is not None:
                with contextlib.suppress(Exception):
                    self._context.close()
            if self._browser is not None:
                with contextlib.suppress(Exception):
                    self._browser.close()
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    self._playwright.stop()
        finally:
            watchdog.cancel()
            self._context = self._page = None
            self._browser = None
            self._playwright = None


@contextlib.contextmanager
def _node_trusts(ca: Path | None) -> Iterator[None]:
    """Start Playwright's driver (a Node process) trusting ``ca`` as well as the usual roots:
    Node reads ``NODE_EXTRA_CA_CERTS`` once, when it starts, from its environment."""
    if ca is None:
        yield
        return
    before = os.environ.get("NODE_EXTRA_CA_CERTS")
    os.environ["NODE_EXTRA_CA_CERTS"] = str(ca)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NODE_EXTRA_CA_CERTS", None)
        else:
            os.environ["NODE_EXTRA_CA_CERTS"] = before


def _kill_descendants(root: int) -> None:
    """SIGKILL every Chromium process below ``root`` (Linux /proc; a no-op elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = stat.rfind(")")
        names[int(entry.name)] = stat[stat.find("(") + 1 : name_end]
        parents[int(entry.name)] = int(stat[name_end + 2 :].split()[1])
    doomed: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                frontier.append(child)
                if "chrom" in names.get(child, ""):
                    doomed.append(child)
    for pid in doomed:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
