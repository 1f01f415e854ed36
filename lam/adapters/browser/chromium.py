"""Finding and launching Chromium.

``playwright install`` cannot download browsers everywhere lam runs, so lam looks for a
Chromium the system already has: ``$LAM_CHROMIUM``, then ``chromium`` / ``chromium-browser``
on ``PATH``, then one that Playwright manages, if one was installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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

# Channels around the guard proxy, switched off when the browser is contained (see
# docs/safety.md and tests/test_egress_channels.py). The proxy judges whatever reaches it; these
# switches keep the browser from sending past it:
# - WebRTC may send UDP straight to a peer; with only proxied UDP allowed, and an HTTP proxy
#   that carries none, it sends nothing (without the switch Chromium 156 sent STUN to a port
#   on 127.0.0.1; --force-webrtc-ip-handling-policy did not stop it);
# - host names resolve to nothing in the browser itself (the proxy resolves them), so DNS
#   prefetch and any channel that dials a name directly reach nobody; 127.0.0.1 (the proxy)
#   stays reachable;
# - hyperlink-auditing pings and domain-reliability reports are not the page's to send.
# Speculation rules and <link rel=prefetch/prerender> are not among them: Chromium 156 sends
# them with Prerender2 and the prefetch features disabled, so the proxy is what stops them.
# Chromium keeps only the last --disable-features, so Playwright's own list is repeated here.
_PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
)  # fmt: skip
_CHANNELS_OFF = ("DnsOverHttps", "AsyncDns")  # no resolver of the browser's own, over HTTPS or not
_CONTAINED_ARGS = (
    "--disable-features=" + ",".join((*_PLAYWRIGHT_DISABLED, *_CHANNELS_OFF)),
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-pings",
    "--disable-domain-reliability",
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


def launch_args(*, root: bool | None = None, contained: bool = False) -> list[str]:
    """Command-line switches lam passes to Chromium (``--no-sandbox`` only as root; with
    ``contained``, the switches that close the channels around a guard proxy)."""
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    return [
        *(["--no-sandbox"] if root else []),
        *_BASE_ARGS,
        *(_CONTAINED_ARGS if contained else ()),
    ]


def launch(
    playwright: Playwright,
    *,
    headed: bool = False,
    executable: str | None = None,
    proxy: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Browser:
    """Launch Chromium: headless unless ``headed`` is asked for and a display exists.

    With ``proxy`` (Playwright's ``{"server": ...}``) every request the browser sends goes to
    it, loopback included, and the channels around it are switched off (:func:`launch_args`).
    """
    path = executable or find_chromium()
    if path is None:
        raise BrowserNotFound(
            "no Chromium found: install Debian's chromium (apt-get install chromium) "
            "or set LAM_CHROMIUM to a Chromium executable",
            code="no-browser",
        )
    show = headed and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    options: dict[str, Any] = {}
    if proxy is not None:
        options["proxy"] = dict(proxy)
    return playwright.chromium.launch(
        executable_path=path,
        headless=not show,
        args=[*launch_args(contained=proxy is not None), *args],
        timeout=30_000,
        **options,
    )
