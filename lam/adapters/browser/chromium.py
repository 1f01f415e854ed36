"""Finding and launching Chromium.

``playwright install`` cannot download browsers everywhere lam runs, so lam looks for a
Chromium the system already has: ``$LAM_CHROMIUM``, then ``chromium`` / ``chromium-browser``
on ``PATH``, then one that Playwright manages, if one was installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from playwright.sync_api import Browser, Playwright

from lam.errors import LamError

__all__ = ["BrowserNotFound", "find_chromium", "launch", "launch_args"]

_NAMES = ("chromium", "chromium-browser")

# Without the background-networking switches Chromium dials Google services at start-up; on a
# closed network those connections are refused and the browser's own requests stall behind them.
_BASE_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)


class BrowserNotFound(LamError):
    """No Chromium could be found to drive."""


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """The path of a Chromium executable, or None when there is none.

    Order: ``LAM_CHROMIUM`` (must name an executable file), ``chromium``/``chromium-browser`` on
    ``PATH``, then a Playwright-managed Chromium in ``PLAYWRIGHT_BROWSERS_PATH`` or its default
    cache folder.
    """
    env = os.environ if env is None else env
    given = env.get("LAM_CHROMIUM")
    if given:
        return given if _executable(Path(given)) else None
    for name in _NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return _playwright_managed(env)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _playwright_managed(env: Mapping[str, str]) -> str | None:
    roots = []
    if env.get("PLAYWRIGHT_BROWSERS_PATH"):
        roots.append(Path(env["PLAYWRIGHT_BROWSERS_PATH"]))
    roots.append(Path(env.get("HOME", str(Path.home()))) / ".cache" / "ms-playwright")
    for root in roots:
        if not root.is_dir():
            continue
        for build in sorted(root.glob("chromium-*"), reverse=True):
            for rel in ("chrome-linux/chrome", "chrome-linux64/chrome"):
                candidate = build / rel
                if _executable(candidate):
                    return str(candidate)
    return None


def launch_args(*, root: bool | None = None) -> list[str]:
    """Command-line switches lam passes to Chromium (``--no-sandbox`` only as root)."""
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    return [*(["--no-sandbox"] if root else []), *_BASE_ARGS]


def launch(
    playwright: Playwright, *, headed: bool = False, executable: str | None = None
) -> Browser:
    """Launch Chromium: headless unless ``headed`` is asked for and a display exists."""
    path = executable or find_chromium()
    if path is None:
        raise BrowserNotFound(
            "no Chromium found: install Debian's chromium (apt-get install chromium) "
            "or set LAM_CHROMIUM to a Chromium executable",
            code="no-browser",
        )
    show = headed and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return playwright.chromium.launch(
        executable_path=path, headless=not show, args=launch_args(), timeout=30_000
    )
